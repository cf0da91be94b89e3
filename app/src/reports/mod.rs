//! Clinic reports (Professional plans and up): the first one counts the clinic's
//! people and activity. The plan gate is in the access table's feature list.

use crate::shell::PageTitle;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::identity::pages::{HydratedMarker, SignedInShell};

/// The clinic at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFigures {
    pub patients: i64,
    pub staff_by_role: Vec<(String, i64)>,
    pub audit_events_30_days: i64,
    /// Prescribing alerts per rule (shown, overridden); `None` when the plan
    /// has no prescribing.
    #[serde(default)]
    pub medication_alerts: Option<Vec<crate::prescribing::AlertRuleCount>>,
}

#[server(prefix = "/api", endpoint = "clinic_report")]
pub async fn clinic_report() -> Result<ReportFigures, AppError> {
    use crate::identity::auth;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant).await?;
    let mut figures = db::report(&mut tx).await?;
    if crate::plans::db::has_feature(&mut tx, crate::plans::Feature::Prescriptions).await? {
        figures.medication_alerts = Some(crate::prescribing::db::alert_report(&mut tx).await?);
    }
    Ok(figures)
}

#[cfg(feature = "ssr")]
mod db {
    use crate::db::{on_conn, DbError, TenantTx};

    pub async fn report(tx: &mut TenantTx) -> Result<super::ReportFigures, DbError> {
        let since = chrono::Utc::now() - chrono::Duration::days(30);
        let patients = crate::patients::db::count(tx).await?;
        let (tenant, conn) = tx.scoped();
        let (staff_by_role, audit_events_30_days) = on_conn!(conn, |c| {
            let roles = sqlx::query_as::<_, (String, i64)>(
                "SELECT role, count(*) FROM staff_members WHERE tenant_id = $1 AND status = 'active' GROUP BY role ORDER BY role",
            )
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?;
            let events = sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND occurred_at >= $2",
            )
            .bind(tenant)
            .bind(since)
            .fetch_one(&mut *c)
            .await?;
            (roles, events)
        });
        Ok(super::ReportFigures {
            patients,
            staff_by_role,
            audit_events_30_days,
            medication_alerts: None,
        })
    }
}

/// `/staff/reports`.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| clinic_report());
    view! {
        <PageTitle text="Reports"/>
        <SignedInShell testid="reports-page">
            <h1 class="text-xl font-semibold">"Reports"</h1>
            <p class="mt-2 text-sm"><a class="underline" href=crate::site::current_site().href("/reports/scheduling") rel="external" data-testid="scheduling-report-link">"Scheduling: utilisation, no-shows and cancellations (with CSV)"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" data-testid="report-error" class="mt-4 rounded bg-amber-50 p-3 text-sm text-amber-900">{e.message()}</p> }.into_any(),
                    Ok(r) => view! {
                        <dl class="mt-4 grid grid-cols-1 gap-2 sm:grid-cols-2" data-testid="clinic-report">
                            <dt class="font-medium">"Patients"</dt><dd>{r.patients.to_string()}</dd>
                            <dt class="font-medium">"Audit events, last 30 days"</dt><dd>{r.audit_events_30_days.to_string()}</dd>
                            {r.staff_by_role.into_iter().map(|(role, n)| {
                                let label = role
                                    .parse::<crate::identity::Role>()
                                    .map_or(role.clone(), |r| crate::error::sentence(crate::identity::api::role_label(r)));
                                view! { <dt class="font-medium">{format!("Staff on the team: {label}")}</dt><dd>{n.to_string()}</dd> }
                            }).collect_view()}
                        </dl>
                        {r.medication_alerts.map(|rows| view! { <crate::prescribing::pages::AlertReport rows/> })}
                    }.into_any(),
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}

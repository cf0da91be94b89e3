//! Server functions of the platform console. Each needs a platform operator on the
//! platform site (the access table); suspending and plan changes need a super admin.
// A server function takes one argument per form field, so forms with many
// fields make long signatures (in the generated browser client too).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use uuid::Uuid;

use super::{PlatformFigures, TenantListing, TenantRecord};
use crate::error::AppError;
use crate::plans::Plan;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::identity::audit::{self, Actor};
    pub use crate::identity::auth;

    use crate::error::AppError;
    use crate::identity::Viewer;
    use crate::tenancy::{Tenant, TenantId};

    pub fn operator() -> Result<Viewer, AppError> {
        let viewer = auth::viewer()?;
        if crate::site::current_site().tenant.is_some() || auth::platform_role(&viewer).is_none() {
            return Err(AppError::Forbidden.respond());
        }
        Ok(viewer)
    }

    pub fn actor(viewer: &Viewer) -> Actor<'_> {
        Actor::account(viewer.account_id, viewer.email.as_str())
    }

    pub fn listing(t: &Tenant) -> super::TenantListing {
        super::TenantListing {
            id: t.id.into_uuid(),
            slug: t.slug.to_string(),
            name: t.name.clone(),
            kind: t.kind,
            status: t.status,
            plan: t.plan.to_string(),
            created: t.created_at.format("%Y-%m-%d").to_string(),
        }
    }

    pub async fn tenant(db: &crate::db::Db, id: uuid::Uuid) -> Result<Tenant, AppError> {
        let mut tx = db.begin_platform_read().await?;
        crate::tenancy::db::find_by_id(&mut tx, TenantId::from_uuid(id))
            .await?
            .ok_or_else(|| AppError::NotFound.respond())
    }

    /// A date typed in a filter, `YYYY-MM-DD`, as the start of that day (UTC).
    pub fn day(
        field: &str,
        text: Option<String>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .filter(|d| (1900..=9999).contains(&chrono::Datelike::year(d)))
                .map(|d| Some(d.and_time(chrono::NaiveTime::MIN).and_utc()))
                .ok_or_else(|| AppError::field(field, "use a date such as 2026-11-01").respond()),
        }
    }
}

#[server(prefix = "/api", endpoint = "platform_overview")]
pub async fn platform_overview() -> Result<PlatformFigures, AppError> {
    use ssr::*;
    operator()?;
    let db = auth::db()?;
    let now = chrono::Utc::now();
    let weeks = 12;
    let mut tx = db.begin_platform_read().await?;
    let by_status: Vec<_> = crate::tenancy::db::status_counts(&mut tx)
        .await?
        .into_iter()
        .filter_map(|(s, n)| s.parse().ok().map(|s| (s, n)))
        .collect();
    let created =
        crate::tenancy::db::created_since(&mut tx, now - chrono::Duration::weeks(weeks)).await?;
    let arrears = crate::plans::subscriptions::in_arrears(&mut tx)
        .await?
        .into_iter()
        .map(|a| super::ArrearsRow {
            id: a.id,
            slug: a.slug,
            name: a.name,
            status: a.status,
            failed_on: a.payment_failed_at.format("%Y-%m-%d").to_string(),
            read_only_from: a.read_only_from.map(|at| at.format("%Y-%m-%d").to_string()),
        })
        .collect();
    Ok(PlatformFigures {
        tenants: by_status.iter().map(|(_, n)| n).sum(),
        by_status,
        mrr: crate::plans::subscriptions::monthly_revenue(&mut tx).await?,
        billed_by_hand: crate::tenancy::db::monthly_revenue(&mut tx).await?,
        signups: super::weekly(&created, now, weeks),
        arrears,
    })
}

/// Moves the day a clinic in arrears becomes read-only (`YYYY-MM-DD`, UTC
/// midnight): tomorrow at the earliest, 90 days ahead at the latest. Audited.
#[server(prefix = "/api", endpoint = "extend_grace")]
pub async fn extend_grace(id: Uuid, until: String) -> Result<(), AppError> {
    use ssr::*;
    let viewer = operator()?;
    let now = chrono::Utc::now();
    let day = ssr::day("until", Some(until))?
        .ok_or_else(|| AppError::field("until", "give the new date").respond())?;
    if day <= now || day > now + chrono::Duration::days(90) {
        return Err(
            AppError::field("until", "choose a date from tomorrow to 90 days ahead").respond(),
        );
    }
    let db = auth::db()?;
    let t = tenant(&db, id).await?;
    let mut tx = db.begin_platform().await?;
    if !crate::plans::subscriptions::extend_grace(&mut tx, t.id, day).await? {
        return Err(AppError::Invalid(
            "this clinic is not in arrears, or its records already stay open longer".into(),
        )
        .respond());
    }
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        "subscription.grace_extended",
        Some(&format!("{} until {}", t.slug, day.format("%Y-%m-%d"))),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "list_tenants")]
pub async fn list_tenants(
    search: Option<String>,
    status: Option<String>,
    plan: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
) -> Result<Vec<TenantListing>, AppError> {
    use ssr::*;
    operator()?;
    let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = crate::tenancy::db::TenantFilter {
        search: crate::text::search_text("search", search).map_err(AppError::respond)?,
        status: clean(status)
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| AppError::field("status", "choose a status from the list").respond())?,
        plan: clean(plan)
            .map(|p| crate::plans::PlanId::parse(&p))
            .transpose()
            .map_err(|m| AppError::field("plan", m).respond())?,
        created_from: day("created_from", created_from)?,
        created_to: day("created_to", created_to)?.map(|d| d + chrono::Duration::days(1)),
    };
    let db = auth::db()?;
    let mut tx = db.begin_platform_read().await?;
    let tenants = crate::tenancy::db::list(&mut tx, &filter, 200).await?;
    Ok(tenants.iter().map(listing).collect())
}

#[server(prefix = "/api", endpoint = "tenant_detail")]
pub async fn tenant_detail(id: Uuid) -> Result<TenantRecord, AppError> {
    use ssr::*;
    operator()?;
    let db = auth::db()?;
    let t = tenant(&db, id).await?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut tx = db.begin_for_read(t.id).await?;
    let plan = crate::plans::db::plan_of(&mut tx).await?;
    let usage = crate::plans::db::usage(&mut tx).await?;
    let owners = crate::identity::db::owner_emails(&mut tx).await?;
    let now = chrono::Utc::now();
    let support_sessions = super::db::impersonations(&mut tx, 20)
        .await?
        .into_iter()
        .map(|i| super::SupportSession {
            open: i.ended_at.is_none() && i.expires_at > now,
            operator_email: i.operator_email,
            reason: i.reason,
            started: when(i.started_at),
            expires: when(i.ended_at.unwrap_or(i.expires_at)),
        })
        .collect();
    Ok(TenantRecord {
        tenant: listing(&t),
        status_reason: t.status_reason.clone(),
        custom_domain: t.custom_domain.clone(),
        trial_ends: t.trial_ends_at.map(when),
        plan,
        usage,
        owners,
        support_sessions,
    })
}

/// Suspends a clinic: its staff and patients see the suspended page; nothing is
/// deleted.
#[server(prefix = "/api", endpoint = "suspend_tenant")]
pub async fn suspend_tenant(id: Uuid, reason: String) -> Result<(), AppError> {
    use crate::tenancy::TenantStatus;
    use ssr::*;
    let viewer = operator()?;
    let reason = reason.trim().to_owned();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "give the reason for suspending (3 to 500 characters)",
        )
        .respond());
    }
    let db = auth::db()?;
    let t = tenant(&db, id).await?;
    if t.status == TenantStatus::Suspended {
        return Err(AppError::Invalid("this clinic is already suspended".into()).respond());
    }
    let mut tx = db.begin_platform().await?;
    crate::tenancy::db::set_status(&mut tx, t.id, TenantStatus::Suspended, Some(&reason)).await?;
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        "tenant.suspended",
        Some(&format!("{}: {reason}", t.slug)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lets a suspended clinic back in: active, or back in trial while its trial runs.
#[server(prefix = "/api", endpoint = "reactivate_tenant")]
pub async fn reactivate_tenant(id: Uuid) -> Result<(), AppError> {
    use crate::tenancy::TenantStatus;
    use ssr::*;
    let viewer = operator()?;
    let db = auth::db()?;
    let t = tenant(&db, id).await?;
    if t.status.is_served() {
        return Err(AppError::Invalid("this clinic is not suspended".into()).respond());
    }
    let status = if t.trial_ends_at.is_some_and(|end| end > chrono::Utc::now()) {
        TenantStatus::Trial
    } else {
        TenantStatus::Active
    };
    let mut tx = db.begin_platform().await?;
    crate::tenancy::db::set_status(&mut tx, t.id, status, None).await?;
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        "tenant.reactivated",
        Some(&format!("{} → {status}", t.slug)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every plan, retired ones included.
#[server(prefix = "/api", endpoint = "all_plans")]
pub async fn all_plans() -> Result<Vec<Plan>, AppError> {
    use ssr::*;
    operator()?;
    let db = auth::db()?;
    let mut tx = db.begin_platform_read().await?;
    Ok(crate::plans::db::all(&mut tx).await?)
}

/// Creates a plan (`is_new` set) or saves an existing one's terms.
#[server(prefix = "/api", endpoint = "save_plan")]
pub async fn save_plan(
    id: String,
    name: String,
    price: String,
    currency: String,
    max_users: Option<String>,
    max_patients: Option<String>,
    storage_gb: String,
    sort_order: Option<String>,
    features: Option<String>,
    is_new: Option<String>,
) -> Result<(), AppError> {
    use crate::plans::{Feature, PlanId};
    use ssr::*;
    let viewer = operator()?;
    let field = |f: &str, m: &str| AppError::field(f, m).respond();
    let id = PlanId::parse(&id).map_err(|m| AppError::field("id", m).respond())?;
    let price_cents =
        parse_money(&price).ok_or_else(|| field("price", "enter a price such as 99 or 99.50"))?;
    let limit = |f: &'static str, v: Option<String>| -> Result<Option<i64>, AppError> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| {
                    field(
                        f,
                        "enter a whole number above 0, or leave empty for unlimited",
                    )
                }),
        }
    };
    let storage_gb: i64 = storage_gb
        .trim()
        .parse()
        .ok()
        .filter(|g| (1..=100_000).contains(g))
        .ok_or_else(|| field("storage_gb", "enter whole gigabytes from 1 to 100000"))?;
    let features: Vec<Feature> = features
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.parse::<Feature>()
                .map_err(|_| field("features", "unknown feature"))
        })
        .collect::<Result<_, _>>()?;
    let plan = Plan {
        id: id.clone(),
        name: name.trim().to_owned(),
        price_cents,
        currency: currency.trim().to_uppercase(),
        max_users: limit("max_users", max_users)?,
        max_patients: limit("max_patients", max_patients)?,
        storage_bytes: storage_gb * 1024 * 1024 * 1024,
        features,
        sort_order: sort_order
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| field("sort_order", "enter a whole number"))
            })
            .transpose()?
            .unwrap_or(10),
        retired: false,
    };
    plan.validate()
        .map_err(|(f, m)| AppError::field(f, m).respond())?;
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    let creating = is_new.is_some();
    if creating {
        crate::plans::db::create(&mut tx, &plan)
            .await
            .map_err(|e| match e {
                crate::db::DbError::Conflict(_) => {
                    field("id", "a plan with this code or name exists")
                }
                other => other.into(),
            })?;
    } else {
        crate::plans::db::update(&mut tx, &plan).await?;
    }
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        if creating {
            "plan.created"
        } else {
            "plan.updated"
        },
        Some(id.as_str()),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `99`, `99.5`, `99.50` → cents.
#[cfg(any(feature = "ssr", test))]
fn parse_money(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// Takes a plan off sale, or puts it back. Clinics on it keep it.
#[server(prefix = "/api", endpoint = "set_plan_retired")]
pub async fn set_plan_retired(id: String, retired: bool) -> Result<(), AppError> {
    use ssr::*;
    let viewer = operator()?;
    let id = crate::plans::PlanId::parse(&id).map_err(|m| AppError::field("id", m).respond())?;
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    crate::plans::db::set_retired(&mut tx, &id, retired).await?;
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        if retired {
            "plan.retired"
        } else {
            "plan.restored"
        },
        Some(id.as_str()),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens a support session in a clinic: at most 30 minutes, with a reason that the
/// clinic's audit log records. Answers the path to open.
#[server(prefix = "/api", endpoint = "start_support_session")]
pub async fn start_support_session(
    id: Uuid,
    reason: String,
    minutes: String,
) -> Result<String, AppError> {
    use ssr::*;
    let viewer = operator()?;
    let reason = reason.trim().to_owned();
    if reason.chars().count() < 10 || reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "describe why you need access (10 to 500 characters); the clinic will see it",
        )
        .respond());
    }
    let minutes: i64 = minutes
        .trim()
        .parse()
        .ok()
        .filter(|m| (1..=super::MAX_SUPPORT_MINUTES).contains(m))
        .ok_or_else(|| AppError::field("minutes", "choose 1 to 30 minutes").respond())?;
    let db = auth::db()?;
    let t = tenant(&db, id).await?;
    if !t.status.is_served() {
        return Err(AppError::Invalid(
            "this clinic is suspended; reactivate it before opening a support session".into(),
        )
        .respond());
    }
    let expires_at = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    let mut tx = db.begin_for(t.id).await?;
    let impersonation = super::db::start_impersonation(
        &mut tx,
        viewer.account_id,
        viewer.email.as_str(),
        &reason,
        expires_at,
    )
    .await?;
    audit::record(
        &mut tx,
        actor(&viewer),
        "support.session_started",
        Some(&format!("{minutes} min: {reason}")),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    let session = auth::session().await?;
    let mut current = auth::signed_in(&session)
        .await?
        .ok_or_else(|| AppError::Unauthenticated.respond())?;
    current.support = Some(crate::identity::sessions::SupportGrant {
        tenant: t.id,
        impersonation_id: impersonation,
        expires_at,
    });
    auth::store_signed_in(&session, current).await?;
    Ok(crate::forms::landing(format!("/t/{}/staff", t.slug)))
}

/// Ends the operator's support session (from the clinic's banner or the console).
#[server(prefix = "/api", endpoint = "end_support_session")]
pub async fn end_support_session() -> Result<String, AppError> {
    use crate::identity::auth;
    let session = auth::session().await?;
    let mut current = auth::signed_in(&session)
        .await?
        .ok_or_else(|| AppError::Unauthenticated.respond())?;
    let Some(grant) = current.support.take() else {
        return Ok(crate::forms::landing("/admin".into()));
    };
    let db = auth::db()?;
    let mut tx = db.begin_for(grant.tenant).await?;
    super::db::end_impersonation(&mut tx, grant.impersonation_id).await?;
    let viewer = auth::viewer().ok();
    crate::identity::audit::record(
        &mut tx,
        viewer
            .as_ref()
            .map_or(crate::identity::audit::Actor::NOBODY, |v| {
                crate::identity::audit::Actor::account(v.account_id, v.email.as_str())
            }),
        "support.session_ended",
        None,
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    auth::store_signed_in(&session, current).await?;
    Ok(crate::forms::landing("/admin/tenants".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_parses_to_cents() {
        assert_eq!(super::parse_money("99"), Some(9900));
        assert_eq!(super::parse_money("99.5"), Some(9950));
        assert_eq!(super::parse_money("0.07"), Some(7));
        for bad in ["", "-1", "1.234", "1,00", "abc", ".5"] {
            assert_eq!(super::parse_money(bad), None, "{bad}");
        }
    }
}

/// The job queue for operators: counts per state, and the dead jobs (those that
/// used their attempts, or stopped where a blind retry could send twice).
#[server(prefix = "/api", endpoint = "job_queue")]
pub async fn job_queue() -> Result<super::JobQueue, AppError> {
    use crate::jobs::{db as queue, JobState};
    use ssr::*;
    operator()?;
    let db = auth::db()?;
    let mut by_state: Vec<(String, i64)> = Vec::new();
    for (state, _, n) in queue::counts(&db).await? {
        match by_state.iter_mut().find(|(s, _)| *s == state) {
            Some((_, total)) => *total += n,
            None => by_state.push((state, n)),
        }
    }
    let dead = queue::list(&db, JobState::Dead, 50)
        .await?
        .into_iter()
        .map(|j| super::DeadJob {
            id: j.id,
            kind: j.kind,
            attempts: j.attempts,
            ended: j
                .finished_at
                .unwrap_or(j.run_at)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            error: j.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(super::JobQueue { by_state, dead })
}

/// Sends a dead job back to the queue with fresh attempts (super admins: it may
/// send a message a second time).
#[server(prefix = "/api", endpoint = "requeue_job")]
pub async fn requeue_job(id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let viewer = operator()?;
    let allowed = auth::platform_role(&viewer)
        .is_some_and(|r| r.can(crate::identity::permissions::PlatformPermission::TenantsManage));
    if !allowed {
        return Err(AppError::Forbidden.respond());
    }
    let db = auth::db()?;
    let Some(job) = crate::jobs::db::find(&db, id).await? else {
        return Err(AppError::NotFound.respond());
    };
    let mut tx = db.begin_platform().await?;
    if !crate::jobs::db::requeue_in(&mut tx, id, chrono::Utc::now()).await? {
        return Err(AppError::Invalid(
            "this job is not dead: it is queued, running or done".into(),
        )
        .respond());
    }
    audit::record_platform(
        &mut tx,
        actor(&viewer),
        "job.requeued",
        Some(&format!("{} {}", job.kind, job.id)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

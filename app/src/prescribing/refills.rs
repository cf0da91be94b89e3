//! The patient's side of prescribing: their prescriptions in the portal, and
//! refill requests that reach the prescriber's task list (`/staff/refills`).
//! Approving writes a new prescription through the same safety check as any
//! other (a review comes back the same way); declining needs a reason the
//! patient reads.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{PrescriptionStatus, PrescriptionView};
use crate::error::AppError;

/// A refill request as the patient and the prescriber see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub line_id: Uuid,
    pub medicine: String,
    pub note: Option<String>,
    /// "pending", "approved" or "declined".
    pub status: String,
    pub requested: String,
    pub decline_reason: Option<String>,
}

/// The portal's medicines: the patient's prescriptions (without the
/// prescribers' internal notes) and their refill requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnMedicines {
    pub prescriptions: Vec<PrescriptionView>,
    pub refills: Vec<RefillView>,
}

/// The prescriber's task page: waiting requests, and what prints under their name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefillsPanel {
    pub requests: Vec<RefillView>,
    pub qualifications: Option<String>,
    pub registration_number: Option<String>,
}

/// The most refill requests one patient may have waiting.
pub const MAX_PENDING: i64 = 5;

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use crate::db::{DbError, TenantTx};
    use crate::patients::merge::db::RECORD_OF;

    #[derive(sqlx::FromRow)]
    pub struct RefillRow {
        pub id: Uuid,
        pub patient_id: Uuid,
        pub given_name: String,
        pub family_name: String,
        pub line_id: Uuid,
        pub medicine: String,
        pub note: Option<String>,
        pub status: String,
        pub requested_at: DateTime<Utc>,
        pub decline_reason: Option<String>,
    }

    const SELECT: &str = "SELECT r.id, r.patient_id, p.given_name, p.family_name, r.line_id, \
         l.medicine, r.note, r.status, r.requested_at, r.decline_reason FROM refill_requests r \
         JOIN prescription_lines l ON l.tenant_id = r.tenant_id AND l.id = r.line_id \
         JOIN patients p ON p.tenant_id = r.tenant_id AND p.id = r.patient_id";

    pub async fn of_patient(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<RefillRow>, DbError> {
        tx.fetch_all(
            &format!(
                "{SELECT} WHERE r.tenant_id = $1 AND r.patient_id IN {RECORD_OF} ORDER BY r.requested_at DESC"
            ),
            &[patient.into()],
        )
        .await
    }

    pub async fn pending_for(
        tx: &mut TenantTx,
        prescriber: Uuid,
    ) -> Result<Vec<RefillRow>, DbError> {
        tx.fetch_all(
            &format!(
                "{SELECT} WHERE r.tenant_id = $1 AND r.prescriber_id = $2 AND r.status = 'pending' \
                 ORDER BY r.requested_at"
            ),
            &[prescriber.into()],
        )
        .await
    }

    pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<(RefillRow, Uuid)>, DbError> {
        let row: Option<RefillRow> = tx
            .fetch_optional(
                &format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2"),
                &[id.into()],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (prescriber,): (Uuid,) = tx
            .fetch_one(
                "SELECT prescriber_id FROM refill_requests WHERE tenant_id = $1 AND id = $2",
                &[id.into()],
            )
            .await?;
        Ok(Some((row, prescriber)))
    }

    /// The line's prescriber and prescription status, if the line is the patient's.
    pub async fn line_of_patient(
        tx: &mut TenantTx,
        line: Uuid,
        patient: Uuid,
    ) -> Result<Option<(Uuid, String)>, DbError> {
        tx.fetch_optional(
            &format!(
                "SELECT p.prescriber_id, p.status FROM prescription_lines l \
                 JOIN prescriptions p ON p.tenant_id = l.tenant_id AND p.id = l.prescription_id \
                 WHERE l.tenant_id = $1 AND l.patient_id IN {RECORD_OF} AND l.id = $3"
            ),
            &[patient.into(), line.into()],
        )
        .await
    }

    pub async fn pending_count(tx: &mut TenantTx, patient: Uuid) -> Result<i64, DbError> {
        let (n,): (i64,) = tx
            .fetch_one(
                "SELECT count(*) FROM refill_requests WHERE tenant_id = $1 AND patient_id = $2 AND status = 'pending'",
                &[patient.into()],
            )
            .await?;
        Ok(n)
    }

    pub async fn insert(
        tx: &mut TenantTx,
        patient: Uuid,
        line: Uuid,
        prescriber: Uuid,
        note: Option<&str>,
    ) -> Result<(), DbError> {
        tx.execute(
            "INSERT INTO refill_requests (tenant_id, id, patient_id, line_id, prescriber_id, note, status, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
            &[
                Uuid::new_v4().into(),
                patient.into(),
                line.into(),
                prescriber.into(),
                note.into(),
                Utc::now().into(),
            ],
        )
        .await
        .map_err(|e| match e {
            DbError::Sqlx(s) => DbError::conflict_on("medicine: a request for it is already waiting")(s),
            other => other,
        })?;
        Ok(())
    }

    /// Decides a pending request: approved with the new prescription, or declined with a reason.
    pub async fn decide(
        tx: &mut TenantTx,
        id: Uuid,
        by: Uuid,
        approved: Option<Uuid>,
        reason: Option<&str>,
    ) -> Result<(), DbError> {
        tx.execute_one(
            "UPDATE refill_requests SET status = $3, decided_by = $4, decided_at = $5, \
             new_prescription = $6, decline_reason = $7 WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
            &[
                id.into(),
                if approved.is_some() { "approved" } else { "declined" }.into(),
                by.into(),
                Utc::now().into(),
                approved.into(),
                reason.into(),
            ],
        )
        .await
    }
}

#[cfg(feature = "ssr")]
fn view_of(tenant: &crate::tenancy::TenantPublic, r: db::RefillRow) -> RefillView {
    RefillView {
        id: r.id,
        patient_id: r.patient_id,
        patient_name: format!("{} {}", r.given_name, r.family_name),
        line_id: r.line_id,
        medicine: r.medicine,
        note: r.note,
        status: r.status,
        requested: tenant.settings.format_datetime(r.requested_at),
        decline_reason: r.decline_reason,
    }
}

/// The signed-in patient's prescriptions and refill requests. Audited.
#[server(prefix = "/api", endpoint = "my_prescriptions")]
pub async fn my_prescriptions() -> Result<OwnMedicines, AppError> {
    let (tenant, patient, account) = crate::clinical::portal::ssr::own_patient()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    let rows = super::db::for_patient(&mut tx, patient).await?;
    let refills = db::of_patient(&mut tx, patient).await?;
    crate::clinical::portal::ssr::audit_own(
        &mut tx,
        account,
        patient,
        "portal.prescriptions_viewed",
    )
    .await?;
    tx.commit().await?;
    let mut prescriptions = Vec::with_capacity(rows.len());
    for row in rows {
        let mut p = super::api::ssr::view(&tenant, row)?;
        // What the prescriber decided about alerts is for the clinic, not the portal.
        for l in &mut p.lines {
            l.override_reason = None;
            l.override_note = None;
            l.alerts.clear();
        }
        p.check_note = None;
        prescriptions.push(p);
    }
    Ok(OwnMedicines {
        prescriptions,
        refills: refills.into_iter().map(|r| view_of(&tenant, r)).collect(),
    })
}

/// The patient asks for a refill of a line of an active prescription; it goes
/// to the prescriber's task list.
#[server(prefix = "/api", endpoint = "request_refill")]
pub async fn request_refill(line_id: Uuid, note: Option<String>) -> Result<(), AppError> {
    let (tenant, patient, account) = crate::clinical::portal::ssr::own_patient()?;
    let note = crate::clinical::api::ssr::short_text("note", note, 300)?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    let (prescriber, status) = db::line_of_patient(&mut tx, line_id, patient)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    if status != PrescriptionStatus::Active.as_str() {
        return Err(AppError::field(
            "line_id",
            "this prescription has ended; ask the clinic for a new one",
        )
        .respond());
    }
    if db::pending_count(&mut tx, patient).await? >= MAX_PENDING {
        return Err(AppError::field(
            "line_id",
            format!("you already have {MAX_PENDING} refill requests waiting; the clinic will answer them first"),
        )
        .respond());
    }
    db::insert(&mut tx, patient, line_id, prescriber, note.as_deref())
        .await
        .map_err(|e| AppError::from(e).respond())?;
    crate::clinical::portal::ssr::audit_own(&mut tx, account, patient, "portal.refill_requested")
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The signed-in prescriber's waiting refill requests, and the qualifications
/// and registration number their prescriptions print.
#[server(prefix = "/api", endpoint = "refill_requests")]
pub async fn refill_requests() -> Result<RefillsPanel, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let rows = db::pending_for(&mut tx, w.staff_id).await?;
    let (qualifications, registration_number): (Option<String>, Option<String>) = tx
        .fetch_one(
            "SELECT qualifications, registration_number FROM staff_members WHERE tenant_id = $1 AND id = $2",
            &[w.staff_id.into()],
        )
        .await?;
    tx.commit().await?;
    Ok(RefillsPanel {
        requests: rows.into_iter().map(|r| view_of(&w.tenant, r)).collect(),
        qualifications,
        registration_number,
    })
}

/// Approves a refill (a new prescription of the same line, through the safety
/// check: a review comes back as from `prescribe`, answered with `seen`, a
/// reason and `acknowledge`) or declines it with a reason the patient reads.
#[server(prefix = "/api", endpoint = "decide_refill")]
pub async fn decide_refill(
    request_id: Uuid,
    decision: String,
    reason: Option<String>,
    override_reason: Option<String>,
    override_note: Option<String>,
    seen: Option<String>,
    acknowledge: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let (request, prescriber) = db::get(&mut tx, request_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    let line = super::fhir::medicines(&mut tx, request.patient_id)
        .await?
        .requests
        .into_iter()
        .find(|l| l.id == request.line_id)
        .ok_or_else(|| AppError::NotFound.respond())?;
    drop(tx);
    if request.status != "pending" {
        return Err(
            AppError::field("decision", "this request has already been answered").respond(),
        );
    }
    if prescriber != w.staff_id {
        return Err(
            AppError::field("decision", "only the prescriber answers this request").respond(),
        );
    }
    let patient = request.patient_id;
    match decision.as_str() {
        "decline" => {
            let reason = crate::clinical::api::ssr::blank(reason)
                .filter(|r| (3..=500).contains(&r.chars().count()))
                .ok_or_else(|| {
                    AppError::field("reason", "tell the patient why (3 to 500 characters)")
                        .respond()
                })?;
            let mut tx = w.open(patient).await?;
            db::decide(&mut tx, request_id, w.staff_id, None, Some(&reason)).await?;
            w.done(
                tx,
                patient,
                "prescription.refill_declined",
                Some(&request_id.to_string()),
            )
            .await
        }
        "approve" => {
            let form = super::LineForm {
                medicine: line.medicine.clone(),
                dose: super::dose::format_milli(u64::try_from(line.dose_milli).unwrap_or(0)),
                dose_unit: line.dose_unit.clone(),
                route: line.route.clone(),
                frequency: line.frequency.clone(),
                prn_indication: line.prn_indication.clone(),
                duration_days: line.duration_days.map(|d| d.to_string()),
                quantity: Some(line.quantity.to_string()),
                refills: Some(line.refills.to_string()),
                instructions: line.instructions.clone(),
                override_reason,
                override_note,
            };
            let (mut tx, id) = super::api::ssr::write(
                &w,
                super::api::ssr::Draft {
                    patient,
                    lines: vec![form],
                    start_on: None,
                    visit_note_id: None,
                    seen,
                    acknowledge,
                },
            )
            .await?;
            db::decide(&mut tx, request_id, w.staff_id, Some(id), None).await?;
            w.audit(
                &mut tx,
                patient,
                "prescription.created",
                Some(&id.to_string()),
            )
            .await?;
            w.done(
                tx,
                patient,
                "prescription.refill_approved",
                Some(&request_id.to_string()),
            )
            .await
        }
        _ => Err(AppError::field("decision", "approve or decline").respond()),
    }
}

/// The portal's "Medicines" panel: active and past prescriptions with their
/// instructions, a refill button on each active line, and the answers.
#[component]
pub fn OwnMedicinesPanel() -> impl IntoView {
    let data = Resource::new(|| (), |_| my_prescriptions());
    view! {
        <section class="mt-4 rounded-lg border border-slate-200 bg-white p-4" data-testid="my-medicines">
            <h2 class="font-semibold">"Medicines"</h2>
            <crate::forms::PlainFormError path="/api/request_refill"/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match data.await {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(m) => view! { <OwnMedicinesList m/> }.into_any(),
                }})}
            </Suspense>
        </section>
    }
}

#[component]
fn OwnMedicinesList(m: OwnMedicines) -> impl IntoView {
    let pending: Vec<Uuid> = m
        .refills
        .iter()
        .filter(|r| r.status == "pending")
        .map(|r| r.line_id)
        .collect();
    let href = |name: &str| crate::site::current_site().href(&format!("/api/{name}"));
    view! {
        {m.prescriptions.is_empty().then(|| view! { <p class="text-sm text-slate-600">"No prescriptions."</p> })}
        <ul class="mt-2 space-y-3 text-sm">
            {m.prescriptions.into_iter().map(|p| {
                let active = p.status == PrescriptionStatus::Active;
                view! {
                    <li data-testid="my-prescription" data-status=p.status.as_str()>
                        <p class="text-slate-600">{format!("{} · {} · {}", p.written, p.prescriber, p.status.as_str())}</p>
                        <super::pages::PrintLinks id=p.id/>
                        {p.lines.into_iter().map(|l| {
                            let waiting = pending.contains(&l.id);
                            view! {
                                <p class="font-medium">{l.medicine.to_uppercase()}</p>
                                <p>{l.sig}</p>
                                {l.instructions.map(|i| view! { <p class="italic">{i}</p> })}
                                {(active && !waiting).then(|| view! {
                                    <form method="post" action=href("request_refill") class="mt-1">
                                        <input type="hidden" name="line_id" value=l.id.to_string()/>
                                        <button type="submit" class="rounded border border-brand px-2 py-1 text-brand" data-testid="request-refill">"Request a refill"</button>
                                    </form>
                                })}
                                {waiting.then(|| view! { <p class="text-amber-800" data-testid="refill-waiting">"Refill requested"</p> })}
                            }
                        }).collect_view()}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!m.refills.is_empty()).then(|| view! {
            <h3 class="mt-3 font-medium">"Refill requests"</h3>
            <ul class="text-sm" data-testid="my-refills">
                {m.refills.into_iter().map(|r| view! {
                    <li data-testid="my-refill" data-status=r.status.clone()>
                        {format!("{} · {} · {}", r.requested, r.medicine, r.status)}
                        {r.decline_reason.map(|why| format!(": {why}"))}
                    </li>
                }).collect_view()}
            </ul>
        })}
    }
    .into_any()
}

/// `/staff/refills`: the prescriber's waiting refill requests.
#[component]
pub fn RefillsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| refill_requests());
    let path = "/api/decide_refill";
    let review_for = crate::forms::kept(path, "request_id");
    let plain_error =
        crate::forms::refusal(path).filter(|m| serde_json::from_str::<super::Review>(m).is_err());
    view! {
        <crate::shell::PageTitle text="Refill requests"/>
        <crate::identity::pages::SignedInShell testid="refills-page">
            <h1 class="text-xl font-semibold">"Refill requests"</h1>
            {plain_error.map(|m| view! {
                <p role="alert" data-testid="form-error" class="mt-2 rounded bg-red-50 p-3 text-sm text-red-800">{crate::error::sentence(&m)}</p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let review_for = review_for.clone();
                    Suspend::new(async move { match data.await {
                        Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                        Ok(panel) => view! {
                            <PrescriberDetails qualifications=panel.qualifications registration_number=panel.registration_number/>
                            {panel.requests.is_empty().then(|| view! { <p class="mt-4 text-sm" data-testid="no-refills">"No requests waiting."</p> })}
                            <ul class="mt-4 space-y-3" data-testid="refill-list">
                                {panel.requests.into_iter().map(|r| {
                                    let this = review_for == r.id.to_string();
                                    let href = crate::site::current_site().href("/api/decide_refill");
                                    view! {
                                        <li class="rounded-lg border border-slate-200 bg-white p-4" data-testid="refill-request">
                                            <p class="font-semibold">{format!("{} · {}", r.patient_name, r.medicine)}</p>
                                            <p class="text-sm text-slate-600">{format!("Asked {}", r.requested)}{r.note.map(|n| format!(": {n}"))}</p>
                                            <form method="post" action=href class="mt-2 flex flex-wrap items-end gap-2">
                                                <input type="hidden" name="request_id" value=r.id.to_string()/>
                                                {this.then(|| view! { <SafetyReview path/> })}
                                                <button type="submit" name="decision" value="approve" class=crate::identity::pages::BUTTON data-testid="approve-refill">"Approve (new prescription)"</button>
                                                <label class="text-sm">"Reason to decline "
                                                    <input name="reason" class="rounded border border-slate-300 px-2 py-1"/>
                                                </label>
                                                <button type="submit" name="decision" value="decline" class="rounded border border-brand px-2 py-1 text-sm text-brand">"Decline"</button>
                                            </form>
                                        </li>
                                    }.into_any()
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }})
                }}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
}

/// The review a refused approval left: the alerts, and what answering them takes.
#[component]
fn SafetyReview(path: &'static str) -> impl IntoView {
    use super::{AlertLevel, Review};
    let review: Option<Review> =
        crate::forms::refusal(path).and_then(|m| serde_json::from_str(&m).ok());
    review.map(|r| {
        let seen = r.alerts.iter().map(|a| a.key.clone()).collect::<Vec<_>>().join(" ");
        let interrupts = r.alerts.iter().any(|a| a.level == AlertLevel::Interruptive);
        let unchecked = r.alerts.iter().any(|a| a.level == AlertLevel::Unchecked);
        view! {
            <div class="w-full space-y-2" data-testid="safety-review">
                <input type="hidden" name="seen" value=seen/>
                {r.alerts.into_iter().map(|a| view! {
                    <p class=super::pages::alert_class(a.level) data-testid="alert" data-level=a.level.as_str()>
                        <strong>{a.title}</strong>" "{a.detail}
                    </p>
                }).collect_view()}
                {interrupts.then(|| view! {
                    <label class="block text-sm">"Reason to go ahead "
                        <select name="override_reason" class="rounded border border-slate-300 px-2 py-1" data-testid="override-reason">
                            <option value="">"Choose a reason"</option>
                            {super::OVERRIDE_REASONS.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="block text-sm">"Note " <input name="override_note" class="rounded border border-slate-300 px-2 py-1"/></label>
                })}
                {unchecked.then(|| view! {
                    <label class="flex gap-2 text-sm font-semibold text-amber-900">
                        <input type="checkbox" name="acknowledge" value="yes"/>
                        "I acknowledge the check was NOT performed in full."
                    </label>
                })}
            </div>
        }
        .into_any()
    })
}

/// The prescriber's own qualifications and registration number, printed on
/// their prescriptions.
#[component]
fn PrescriberDetails(
    qualifications: Option<String>,
    registration_number: Option<String>,
) -> impl IntoView {
    let path = "/api/set_prescriber_details";
    view! {
        <form method="post" action=crate::site::current_site().href(path) class="mt-3 flex flex-wrap items-end gap-2" data-testid="prescriber-details">
            <crate::forms::PlainFormError path=path/>
            <label class="text-sm">"Qualifications (printed) "
                <input name="qualifications" value=qualifications.unwrap_or_default() placeholder="MBBS, MD" class="rounded border border-slate-300 px-2 py-1"/>
            </label>
            <label class="text-sm">"Registration no. "
                <input name="registration_number" value=registration_number.unwrap_or_default() class="rounded border border-slate-300 px-2 py-1"/>
            </label>
            <button type="submit" class="rounded border border-brand px-2 py-1 text-sm text-brand">"Save"</button>
        </form>
    }
    .into_any()
}

//! The whole medication list: what this clinic prescribed plus what the patient
//! takes from elsewhere (another doctor, over the counter), which the safety
//! checks count like the clinic's own; and medication reconciliation, where a
//! prescriber marks each active medicine continued or stopped at a visit.

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// A medicine taken that this clinic did not prescribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherMedication {
    pub id: Uuid,
    pub medicine: String,
    pub dose: Option<String>,
    pub source: Option<String>,
    pub active: bool,
    pub recorded: String,
    pub recorded_by: String,
    /// Whether the knowledge base recognised what it contains.
    pub checked: bool,
}

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use crate::db::{DbError, TenantTx};
    use crate::patients::merge::db::RECORD_OF;

    #[derive(Debug, Clone, sqlx::FromRow)]
    pub struct Row {
        pub id: Uuid,
        pub medicine: String,
        pub ingredients: String,
        pub dose: Option<String>,
        pub source: Option<String>,
        pub status: String,
        pub recorded_at: DateTime<Utc>,
        pub recorded_by: String,
    }

    pub async fn of_patient(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Row>, DbError> {
        tx.fetch_all(
            &format!(
                "SELECT o.id, o.medicine, o.ingredients, o.dose, o.source, o.status, o.recorded_at, \
                 s.display_name AS recorded_by FROM other_medications o \
                 JOIN staff_members s ON s.tenant_id = o.tenant_id AND s.id = o.recorded_by \
                 WHERE o.tenant_id = $1 AND o.patient_id IN {RECORD_OF} ORDER BY o.recorded_at DESC"
            ),
            &[patient.into()],
        )
        .await
    }

    pub struct NewOther<'a> {
        pub patient: Uuid,
        pub medicine: &'a str,
        pub ingredients: &'a str,
        pub dose: Option<&'a str>,
        pub source: Option<&'a str>,
        pub by: Uuid,
    }

    pub async fn add(tx: &mut TenantTx, o: &NewOther<'_>) -> Result<(), DbError> {
        tx.execute(
            "INSERT INTO other_medications (tenant_id, id, patient_id, medicine, ingredients, dose, source, \
             status, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9)",
            &[
                Uuid::new_v4().into(),
                o.patient.into(),
                o.medicine.into(),
                o.ingredients.into(),
                o.dose.into(),
                o.source.into(),
                o.by.into(),
                Utc::now().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Stops an active medicine of the patient (or of a record merged into it).
    pub async fn stop(tx: &mut TenantTx, id: Uuid, patient: Uuid, by: Uuid) -> Result<(), DbError> {
        tx.execute_one(
            &format!(
                "UPDATE other_medications SET status = 'stopped', stopped_by = $3, stopped_at = $4 \
                 WHERE tenant_id = $1 AND id = $5 AND status = 'active' AND patient_id IN {RECORD_OF}"
            ),
            &[patient.into(), by.into(), Utc::now().into(), id.into()],
        )
        .await
    }

    /// Whether `prescription` is an active prescription of the patient.
    pub async fn is_active_prescription(
        tx: &mut TenantTx,
        prescription: Uuid,
        patient: Uuid,
    ) -> Result<bool, DbError> {
        let found: Option<(i32,)> = tx
            .fetch_optional(
                &format!(
                    "SELECT 1 FROM prescriptions WHERE tenant_id = $1 AND id = $3 AND status = 'active' \
                     AND patient_id IN {RECORD_OF}"
                ),
                &[patient.into(), prescription.into()],
            )
            .await?;
        Ok(found.is_some())
    }

    /// One decision of a review.
    pub async fn record(
        tx: &mut TenantTx,
        patient: Uuid,
        note: Option<Uuid>,
        prescription: Option<Uuid>,
        other: Option<Uuid>,
        decision: &str,
        by: Uuid,
    ) -> Result<(), DbError> {
        tx.execute(
            "INSERT INTO medication_reviews (tenant_id, id, patient_id, visit_note_id, prescription_id, \
             other_medication_id, decision, reviewed_by, reviewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Uuid::new_v4().into(),
                patient.into(),
                note.into(),
                prescription.into(),
                other.into(),
                decision.into(),
                by.into(),
                Utc::now().into(),
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(feature = "ssr")]
pub fn view_of(tenant: &crate::tenancy::TenantPublic, r: db::Row) -> OtherMedication {
    OtherMedication {
        id: r.id,
        checked: !r.ingredients.is_empty(),
        medicine: r.medicine,
        dose: r.dose,
        source: r.source,
        active: r.status == "active",
        recorded: tenant.settings.format_datetime(r.recorded_at),
        recorded_by: r.recorded_by,
    }
}

/// Records a medicine the patient takes that this clinic did not prescribe; the
/// safety checks count it from now on (by the ingredients its name names).
#[server(prefix = "/api", endpoint = "add_other_medication")]
pub async fn add_other_medication(
    patient_id: Uuid,
    medicine: String,
    dose: Option<String>,
    source: Option<String>,
) -> Result<(), AppError> {
    use crate::clinical::api::ssr::short_text;
    let w = crate::patients::api::ssr::writer()?;
    let medicine = short_text("medicine", Some(medicine), 160)?
        .filter(|m| m.chars().count() >= 2)
        .ok_or_else(|| AppError::field("medicine", "name the medicine").respond())?;
    let dose = short_text("dose", dose, 120)?;
    let source = short_text("source", source, 120)?;
    let handle = super::api::ssr::kb();
    let ingredients = handle
        .get()
        .map(|kb| {
            let by_label = kb
                .medicine_by_label(&medicine)
                .map(|m| m.ingredients.clone());
            by_label.unwrap_or_else(|| {
                kb.allergy_targets(&medicine)
                    .into_iter()
                    .filter(|t| !t.starts_with("class:"))
                    .collect()
            })
        })
        .unwrap_or_default()
        .join(" ");
    let mut tx = w.open(patient_id).await?;
    db::add(
        &mut tx,
        &db::NewOther {
            patient: patient_id,
            medicine: &medicine,
            ingredients: &ingredients,
            dose: dose.as_deref(),
            source: source.as_deref(),
            by: w.staff_id,
        },
    )
    .await?;
    w.done(
        tx,
        patient_id,
        "medication.recorded_elsewhere",
        Some(&medicine),
    )
    .await
}

/// Medication reconciliation: `decisions[p<prescription id>]` and
/// `decisions[o<medicine id>]`, each `continued` or `stopped`, optionally at a
/// visit note. A stopped prescription is discontinued; nothing is deleted.
#[server(prefix = "/api", endpoint = "review_medications")]
pub async fn review_medications(
    patient_id: Uuid,
    decisions: Option<HashMap<String, String>>,
    visit_note_id: Option<String>,
) -> Result<(), AppError> {
    use super::PrescriptionStatus;
    let w = crate::patients::api::ssr::writer()?;
    let decisions = decisions.unwrap_or_default();
    if decisions.is_empty() {
        return Err(AppError::field("decisions", "there is nothing to review").respond());
    }
    let mut tx = w.open(patient_id).await?;
    let note = super::api::ssr::visit_note(&mut tx, patient_id, visit_note_id).await?;
    let mut stopped = 0;
    for (key, decision) in &decisions {
        let decision = match decision.as_str() {
            "continued" | "stopped" => decision.as_str(),
            _ => {
                return Err(
                    AppError::field("decisions", "continue or stop each medicine").respond(),
                )
            }
        };
        let unknown = || {
            AppError::field(
                "decisions",
                "a medicine in the review is not this patient's active one",
            )
            .respond()
        };
        let (kind, id) = key.split_at(1.min(key.len()));
        let id = Uuid::parse_str(id).map_err(|_| unknown())?;
        match kind {
            "p" => {
                if !db::is_active_prescription(&mut tx, id, patient_id).await? {
                    return Err(unknown());
                }
                db::record(
                    &mut tx,
                    patient_id,
                    note,
                    Some(id),
                    None,
                    decision,
                    w.staff_id,
                )
                .await?;
                if decision == "stopped" {
                    super::db::end(
                        &mut tx,
                        id,
                        patient_id,
                        PrescriptionStatus::Discontinued,
                        Some("Stopped at a medication review"),
                        w.staff_id,
                    )
                    .await?;
                    w.audit(
                        &mut tx,
                        patient_id,
                        "prescription.discontinued",
                        Some(&id.to_string()),
                    )
                    .await?;
                    stopped += 1;
                }
            }
            "o" => {
                if decision == "stopped" {
                    db::stop(&mut tx, id, patient_id, w.staff_id)
                        .await
                        .map_err(|_| unknown())?;
                    stopped += 1;
                } else if !db::of_patient(&mut tx, patient_id)
                    .await?
                    .iter()
                    .any(|o| o.id == id && o.status == "active")
                {
                    return Err(unknown());
                }
                db::record(
                    &mut tx,
                    patient_id,
                    note,
                    None,
                    Some(id),
                    decision,
                    w.staff_id,
                )
                .await?;
            }
            _ => return Err(unknown()),
        }
    }
    w.done(
        tx,
        patient_id,
        "medication.reviewed",
        Some(&format!("{} reviewed, {stopped} stopped", decisions.len())),
    )
    .await
}

/// The chart's "taken elsewhere" list with its form, and the review form.
#[component]
pub fn OtherAndReview(
    patient_id: Uuid,
    other: Vec<OtherMedication>,
    /// Active prescriptions: id and what they hold.
    active: Vec<(Uuid, String)>,
    can_record: bool,
    can_review: bool,
) -> impl IntoView {
    let href = |name: &str| crate::site::current_site().href(&format!("/api/{name}"));
    let current: Vec<OtherMedication> = other.iter().filter(|o| o.active).cloned().collect();
    let reviewable = !active.is_empty() || !current.is_empty();
    view! {
        <h3 class="mt-4 font-medium">"Taken elsewhere"</h3>
        {if other.is_empty() {
            view! { <p class="text-sm text-slate-600">"None recorded."</p> }.into_any()
        } else {
            view! {
                <ul class="text-sm" data-testid="other-medications">
                    {other.into_iter().map(|o| view! {
                        <li class=if o.active { "" } else { "text-slate-500 line-through" } data-testid="other-medication">
                            {format!("{}{}{} · recorded by {} on {}", o.medicine,
                                o.dose.map(|d| format!(", {d}")).unwrap_or_default(),
                                o.source.map(|s| format!(" ({s})")).unwrap_or_default(), o.recorded_by, o.recorded)}
                            {(!o.checked).then_some(" · not recognised: not checked for interactions")}
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        {can_record.then(|| view! {
            <form method="post" action=href("add_other_medication") class="mt-2 flex flex-wrap items-end gap-2" data-testid="add-other-medication">
                <crate::forms::PlainFormError path="/api/add_other_medication"/>
                <input type="hidden" name="patient_id" value=patient_id.to_string()/>
                <label class="text-sm">"Medicine "<input name="medicine" list="formulary" class="rounded border border-slate-300 px-2 py-1"/></label>
                <label class="text-sm">"Dose "<input name="dose" class="rounded border border-slate-300 px-2 py-1"/></label>
                <label class="text-sm">"From "<input name="source" placeholder="another doctor" class="rounded border border-slate-300 px-2 py-1"/></label>
                <button type="submit" class="rounded border border-brand px-2 py-1 text-sm text-brand">"Record"</button>
            </form>
        })}
        {(can_review && reviewable).then(|| view! {
            <form method="post" action=href("review_medications") class="mt-4 rounded border border-slate-200 p-3" data-testid="medication-review">
                <h3 class="font-medium">"Medication review"</h3>
                <crate::forms::PlainFormError path="/api/review_medications"/>
                <input type="hidden" name="patient_id" value=patient_id.to_string()/>
                {active.into_iter().map(|(id, what)| review_row(format!("p{}", id.simple()), what)).collect_view()}
                {current.into_iter().map(|o| review_row(format!("o{}", o.id.simple()), o.medicine)).collect_view()}
                <button type="submit" class="mt-2 rounded border border-brand px-2 py-1 text-sm text-brand">"Save review"</button>
            </form>
        })}
    }
    .into_any()
}

fn review_row(key: String, what: String) -> AnyView {
    view! {
        <label class="mt-1 flex flex-wrap items-center gap-2 text-sm">
            <select name=format!("decisions[{key}]") class="rounded border border-slate-300 px-2 py-1">
                <option value="continued">"Continue"</option>
                <option value="stopped">"Stop"</option>
            </select>
            {what}
        </label>
    }
    .into_any()
}

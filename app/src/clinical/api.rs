//! Server functions of the chart. Reading a chart is audited in the same
//! transaction as the read: if the audit row cannot be written, nothing is shown.
//! Every write names its patient, is refused for another clinic's ids (404), and
//! is audited.
// Forms post their fields as arguments, one per input.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use uuid::Uuid;

use super::PatientChart;
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    pub use crate::identity::auth;
    pub use crate::patients::api::ssr::writer;

    use crate::error::AppError;

    pub fn blank(v: Option<String>) -> Option<String> {
        v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }

    pub fn field(name: &str, m: impl Into<String>) -> AppError {
        AppError::field(name, m).respond()
    }

    /// An optional date typed as `YYYY-MM-DD` (a date input), not in the future.
    pub fn past_date(
        name: &str,
        v: Option<String>,
        today: chrono::NaiveDate,
    ) -> Result<Option<chrono::NaiveDate>, AppError> {
        let Some(text) = blank(v) else {
            return Ok(None);
        };
        let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| field(name, "enter a date (year, month, day)"))?;
        if date > today {
            return Err(field(name, "the date cannot be in the future"));
        }
        Ok(Some(date))
    }

    /// Free text of a chart entry: plain, bounded.
    pub fn short_text(
        name: &str,
        v: Option<String>,
        max: usize,
    ) -> Result<Option<String>, AppError> {
        let Some(text) = blank(v) else {
            return Ok(None);
        };
        crate::text::plain_name(&text, 1, max)
            .map(Some)
            .map_err(|m| field(name, m))
    }
}

/// The patient's chart, as the chart page shows it. Audited as a read.
#[server(prefix = "/api", endpoint = "chart")]
pub async fn chart(patient_id: Uuid) -> Result<PatientChart, AppError> {
    use crate::identity::permissions::Permission;
    use ssr::*;
    let w = writer()?;
    let mut tx = w.open(patient_id).await?;
    let p = crate::patients::db::get(&mut tx, patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    let allergies = super::db::allergies(&mut tx, patient_id).await?;
    let problems = super::db::problems(&mut tx, patient_id).await?;
    let vitals = super::db::vitals(&mut tx, patient_id, 50).await?;
    let notes = super::db::notes(&mut tx, patient_id).await?;
    let flags = super::db::flags(&mut tx, patient_id).await?;
    let consents = super::db::consents(&mut tx, patient_id).await?;
    let message_opt_outs = crate::channels::db::opt_outs(&mut tx, patient_id).await?;
    let documents = crate::documents::db::for_patient(&mut tx, patient_id, false).await?;
    let lists = crate::patients::db::lists(&mut tx, patient_id).await?;
    let corrections = crate::patients::db::corrections(&mut tx, patient_id).await?;
    let custom_fields = crate::patients::fields::db::values(&mut tx, patient_id).await?;
    let merged_into = crate::patients::merge::db::merged_into(&mut tx, patient_id).await?;
    let mut erasure = crate::patients::erasure::db::state(&mut tx, patient_id).await?;
    erasure.requested_at = erasure
        .requested_at
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| {
            w.tenant
                .settings
                .format_datetime(t.with_timezone(&chrono::Utc))
        });
    let settings = &w.tenant.settings;
    let today = crate::patients::api::ssr::clinic_today(&w.tenant);
    let mut when: Vec<(Uuid, String)> = Vec::new();
    when.extend(
        allergies
            .iter()
            .map(|a| (a.id, settings.format_datetime(a.recorded_at))),
    );
    when.extend(
        problems
            .iter()
            .map(|p| (p.id, settings.format_datetime(p.recorded_at))),
    );
    when.extend(
        vitals
            .iter()
            .map(|v| (v.id, settings.format_datetime(v.taken_at))),
    );
    when.extend(notes.iter().map(|n| {
        (
            n.id,
            settings.format_datetime(n.signed_at.unwrap_or(n.created_at)),
        )
    }));
    when.extend(documents.iter().map(|d| {
        (
            d.id,
            settings.format_datetime(d.approved_at.or(d.reviewed_at).unwrap_or(d.uploaded_at)),
        )
    }));
    let initials: String = [&p.given_name, &p.family_name]
        .iter()
        .filter_map(|n| n.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    let header = super::ChartHeader {
        patient_id,
        name: p.display_name(),
        initials,
        mrn: p.mrn.to_string(),
        sex: p.sex.as_str().to_owned(),
        age: p.age_on(today),
        born: settings.format_day(p.birth_date),
        status: p.status.as_str().to_owned(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        blood_type: p.details.blood_type.map(|b| b.as_str().to_owned()),
        archived: p.archived,
    };
    crate::patients::db::note_recent(&mut tx, w.staff_id, patient_id).await?;
    w.done(tx, patient_id, "chart.viewed", Some(p.mrn.as_str()))
        .await?;
    Ok(PatientChart {
        header,
        record: p,
        lists,
        corrections,
        custom_fields,
        merged_into,
        erasure,
        banner: super::AllergyBanner::of(&allergies),
        flags,
        consents,
        message_opt_outs,
        can_update: w.viewer.can(Permission::PatientsUpdate),
        can_archive: w.viewer.can(Permission::PatientsDelete),
        allergies,
        problems,
        vitals,
        notes,
        documents,
        can_upload: w.viewer.can(Permission::PatientsUpdate),
        can_write: w.viewer.can(Permission::ClinicalWrite),
        can_prescribe: w.viewer.can(Permission::PrescriptionsCreate),
        viewer_staff_id: w.staff_id,
        imperial: crate::patients::api::ssr::clinic_country(&w.tenant) == Some("US"),
        when,
        icd10_version: super::icd10::version().to_owned(),
    })
}

/// Records an allergy (from the common list or free text).
#[server(prefix = "/api", endpoint = "add_allergy")]
pub async fn add_allergy(
    patient_id: Uuid,
    substance: String,
    category: String,
    criticality: String,
    severity: Option<String>,
    reaction: Option<String>,
    onset_on: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let substance = short_text("substance", Some(substance), 120)?.ok_or_else(|| {
        field(
            "substance",
            "name the substance (a medicine, food or other)",
        )
    })?;
    let new = super::db::NewAllergy {
        category: category
            .parse()
            .map_err(|_| field("category", "choose a category"))?,
        criticality: criticality
            .parse()
            .map_err(|_| field("criticality", "choose the criticality"))?,
        severity: blank(severity)
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| field("severity", "choose a severity"))?,
        reaction: short_text("reaction", reaction, 300)?,
        onset_on: past_date(
            "onset_on",
            onset_on,
            crate::patients::api::ssr::clinic_today(&w.tenant),
        )?,
        substance,
    };
    let mut tx = w.open(patient_id).await?;
    super::db::add_allergy(&mut tx, patient_id, &new, w.staff_id).await?;
    w.done(tx, patient_id, "allergy.recorded", Some(&new.substance))
        .await
}

/// Records that the patient has no known allergies (asked, none).
#[server(prefix = "/api", endpoint = "no_known_allergies")]
pub async fn no_known_allergies(patient_id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let mut tx = w.open(patient_id).await?;
    super::db::record_none_known(&mut tx, patient_id, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.done(tx, patient_id, "allergy.none_known", None).await
}

/// Resolves, inactivates, reactivates or marks an allergy entered in error.
#[server(prefix = "/api", endpoint = "set_allergy_status")]
pub async fn set_allergy_status(
    patient_id: Uuid,
    allergy_id: Uuid,
    status: String,
) -> Result<(), AppError> {
    use super::EntryStatus;
    use ssr::*;
    let w = writer()?;
    let status: EntryStatus = status
        .parse()
        .ok()
        .filter(|s| !matches!(s, EntryStatus::Chronic))
        .ok_or_else(|| {
            field(
                "status",
                "choose active, inactive, resolved or entered in error",
            )
        })?;
    let mut tx = w.open(patient_id).await?;
    super::db::set_allergy_status(&mut tx, patient_id, allergy_id, status, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.done(
        tx,
        patient_id,
        "allergy.status_changed",
        Some(status.as_str()),
    )
    .await
}

/// Records a problem: an ICD-10-CM code (its description filled in when left
/// blank) or free text.
#[server(prefix = "/api", endpoint = "add_problem")]
pub async fn add_problem(
    patient_id: Uuid,
    code: Option<String>,
    description: Option<String>,
    onset_on: Option<String>,
    status: Option<String>,
) -> Result<(), AppError> {
    use super::EntryStatus;
    use ssr::*;
    let w = writer()?;
    let coded = match blank(code) {
        None => None,
        Some(typed) => Some(super::icd10::lookup(&typed).ok_or_else(|| {
            field("code", format!("{typed} is not an ICD-10-CM code ({}); leave the code empty to record free text", super::icd10::version()))
        })?),
    };
    let description = short_text("description", description, 300)?
        .or_else(|| coded.map(|(_, d)| d.to_owned()))
        .ok_or_else(|| {
            field(
                "description",
                "describe the problem, or give its ICD-10-CM code",
            )
        })?;
    let status = match blank(status) {
        None => EntryStatus::Active,
        Some(s) => s
            .parse()
            .ok()
            .filter(|s: &EntryStatus| {
                matches!(
                    s,
                    EntryStatus::Active | EntryStatus::Chronic | EntryStatus::Resolved
                )
            })
            .ok_or_else(|| field("status", "choose active, chronic or resolved"))?,
    };
    let onset = past_date(
        "onset_on",
        onset_on,
        crate::patients::api::ssr::clinic_today(&w.tenant),
    )?;
    let mut tx = w.open(patient_id).await?;
    super::db::add_problem(
        &mut tx,
        patient_id,
        coded.map(|(c, _)| c),
        &description,
        onset,
        status,
        w.staff_id,
    )
    .await?;
    w.done(tx, patient_id, "problem.recorded", coded.map(|(c, _)| c))
        .await
}

#[server(prefix = "/api", endpoint = "set_problem_status")]
pub async fn set_problem_status(
    patient_id: Uuid,
    problem_id: Uuid,
    status: String,
) -> Result<(), AppError> {
    use super::EntryStatus;
    use ssr::*;
    let w = writer()?;
    let status: EntryStatus = status
        .parse()
        .ok()
        .filter(|s| !matches!(s, EntryStatus::Inactive))
        .ok_or_else(|| {
            field(
                "status",
                "choose active, chronic, resolved or entered in error",
            )
        })?;
    let mut tx = w.open(patient_id).await?;
    super::db::set_problem_status(&mut tx, patient_id, problem_id, status, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.done(
        tx,
        patient_id,
        "problem.status_changed",
        Some(status.as_str()),
    )
    .await
}

/// Records a set of vital signs, typed in the clinic's units (or `units`).
#[server(prefix = "/api", endpoint = "record_vitals")]
pub async fn record_vitals(
    patient_id: Uuid,
    height: Option<String>,
    weight: Option<String>,
    blood_pressure: Option<String>,
    pulse: Option<String>,
    temperature: Option<String>,
    spo2: Option<String>,
    resp_rate: Option<String>,
    units: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let imperial = match units.as_deref() {
        Some("imperial") => true,
        Some("metric") => false,
        _ => crate::patients::api::ssr::clinic_country(&w.tenant) == Some("US"),
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let (h, wt, bp, pu, te, sp, rr) = (
        text(&height),
        text(&weight),
        text(&blood_pressure),
        text(&pulse),
        text(&temperature),
        text(&spo2),
        text(&resp_rate),
    );
    let measures = super::vitals::parse(&super::vitals::Typed {
        height: &h,
        weight: &wt,
        blood_pressure: &bp,
        pulse: &pu,
        temperature: &te,
        spo2: &sp,
        resp_rate: &rr,
        imperial,
    })
    .map_err(|(name, m)| field(name, m))?;
    let mut tx = w.open(patient_id).await?;
    super::db::add_vitals(
        &mut tx,
        patient_id,
        chrono::Utc::now(),
        &measures,
        w.staff_id,
    )
    .await?;
    w.done(tx, patient_id, "vitals.recorded", None).await
}

/// Saves a visit note: a new draft, or the author's own draft again. With
/// `sign`, signs it too; a signed note never changes again.
#[server(prefix = "/api", endpoint = "save_note")]
pub async fn save_note(
    patient_id: Uuid,
    note_id: Option<Uuid>,
    title: Option<String>,
    subjective: Option<String>,
    objective: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    shareable: Option<String>,
    sign: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let soap = super::Soap {
        subjective: subjective.unwrap_or_default().trim().to_owned(),
        objective: objective.unwrap_or_default().trim().to_owned(),
        assessment: assessment.unwrap_or_default().trim().to_owned(),
        plan: plan.unwrap_or_default().trim().to_owned(),
    };
    soap.validate().map_err(|(name, m)| field(name, m))?;
    let title = short_text("title", title, 120)?.unwrap_or_else(|| "Visit note".into());
    let shareable = shareable.is_some();
    let mut tx = w.open(patient_id).await?;
    let id = match note_id {
        Some(id) => {
            let existing = super::db::note(&mut tx, patient_id, id)
                .await?
                .ok_or_else(|| AppError::NotFound.respond())?;
            refuse_unless_own_draft(&existing, w.staff_id)?;
            super::db::update_draft(
                &mut tx, patient_id, id, w.staff_id, &title, &soap, shareable,
            )
            .await?;
            id
        }
        None => {
            super::db::create_draft(
                &mut tx, patient_id, w.staff_id, None, &title, &soap, shareable,
            )
            .await?
        }
    };
    let action = if sign.is_some() {
        super::db::sign(&mut tx, patient_id, id, w.staff_id).await?;
        "note.signed"
    } else {
        "note.saved"
    };
    w.done(tx, patient_id, action, Some(&id.to_string())).await
}

/// Signs the author's own draft.
#[server(prefix = "/api", endpoint = "sign_note")]
pub async fn sign_note(patient_id: Uuid, note_id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let mut tx = w.open(patient_id).await?;
    let existing = super::db::note(&mut tx, patient_id, note_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    refuse_unless_own_draft(&existing, w.staff_id)?;
    super::db::sign(&mut tx, patient_id, note_id, w.staff_id).await?;
    w.done(tx, patient_id, "note.signed", Some(&note_id.to_string()))
        .await
}

/// Adds a signed addendum to a signed note: the correction or addition stands
/// beside the original, which stays as it was signed.
#[server(prefix = "/api", endpoint = "add_addendum")]
pub async fn add_addendum(patient_id: Uuid, note_id: Uuid, text: String) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let body = text.trim().to_owned();
    if body.is_empty() || body.chars().count() > super::MAX_NOTE_SECTION {
        return Err(field(
            "text",
            format!(
                "write the addendum (at most {} characters)",
                super::MAX_NOTE_SECTION
            ),
        ));
    }
    let mut tx = w.open(patient_id).await?;
    let original = super::db::note(&mut tx, patient_id, note_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    if original.status != super::NoteStatus::Signed {
        return Err(field("text", "this note is still a draft: edit it instead"));
    }
    let soap = super::Soap {
        subjective: body,
        ..super::Soap::default()
    };
    let title = format!("Addendum to {}", original.title);
    let id = super::db::create_draft(
        &mut tx,
        patient_id,
        w.staff_id,
        Some(note_id),
        &title,
        &soap,
        original.shareable,
    )
    .await?;
    super::db::sign(&mut tx, patient_id, id, w.staff_id).await?;
    w.done(
        tx,
        patient_id,
        "note.addendum_signed",
        Some(&note_id.to_string()),
    )
    .await
}

#[cfg(feature = "ssr")]
fn refuse_unless_own_draft(note: &super::Note, staff_id: Uuid) -> Result<(), AppError> {
    if note.status == super::NoteStatus::Signed {
        return Err(AppError::Invalid(
            "this note is signed and cannot be changed; add an addendum instead".into(),
        )
        .respond());
    }
    if note.author_id != staff_id {
        return Err(AppError::Forbidden.respond());
    }
    Ok(())
}

/// The viewer's own notes left unsigned for more than a day, oldest first.
#[server(prefix = "/api", endpoint = "my_unsigned_notes")]
pub async fn my_unsigned_notes() -> Result<Vec<super::Unsigned>, AppError> {
    use ssr::*;
    let w = writer()?;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    let day_ago = chrono::Utc::now() - chrono::Duration::hours(24);
    let mut list = super::db::unsigned_before(&mut tx, w.staff_id, day_ago, 20).await?;
    for n in &mut list {
        n.started = w.tenant.settings.format_date(n.started_at);
    }
    Ok(list)
}

/// Sets a flag on the chart (a note is required for a free-text flag).
#[server(prefix = "/api", endpoint = "set_flag")]
pub async fn set_flag(
    patient_id: Uuid,
    kind: String,
    note: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let kind: super::FlagKind = kind
        .parse()
        .map_err(|_| field("kind", "choose a kind of flag"))?;
    let note = short_text("note", note, 200)?;
    if kind == super::FlagKind::Other && note.is_none() {
        return Err(field("note", "write what the flag says"));
    }
    let mut tx = w.open(patient_id).await?;
    super::db::set_flag(&mut tx, patient_id, kind, note.as_deref(), w.staff_id).await?;
    w.done(tx, patient_id, "flag.set", Some(kind.as_str()))
        .await
}

/// Clears a flag (it stays in the chart's history).
#[server(prefix = "/api", endpoint = "clear_flag")]
pub async fn clear_flag(patient_id: Uuid, flag_id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let mut tx = w.open(patient_id).await?;
    super::db::clear_flag(&mut tx, patient_id, flag_id, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.done(tx, patient_id, "flag.cleared", None).await
}

/// Records that the patient granted or revoked a kind of consent, from a date.
#[server(prefix = "/api", endpoint = "record_consent")]
pub async fn record_consent(
    patient_id: Uuid,
    kind: String,
    decision: String,
    effective_on: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let w = writer()?;
    let kind: super::ConsentKind = kind
        .parse()
        .map_err(|_| field("kind", "choose a kind of consent"))?;
    let granted = match decision.as_str() {
        "granted" => true,
        "revoked" => false,
        _ => return Err(field("decision", "choose granted or revoked")),
    };
    let today = crate::patients::api::ssr::clinic_today(&w.tenant);
    let effective = past_date("effective_on", effective_on, today)?.unwrap_or(today);
    let mut tx = w.open(patient_id).await?;
    super::db::record_consent(&mut tx, patient_id, kind, granted, effective, w.staff_id).await?;
    let action = if granted {
        "consent.granted"
    } else {
        "consent.revoked"
    };
    w.done(tx, patient_id, action, Some(kind.as_str())).await
}

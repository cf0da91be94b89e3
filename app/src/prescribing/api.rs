//! Server functions of prescribing. Each one's rule is in
//! `identity::access::SERVER_FUNCTIONS` (only doctors prescribe, only
//! pharmacists dispense); each names its patient or prescription, answers 404
//! for another clinic's ids, and is audited.

use leptos::prelude::*;
use uuid::Uuid;

use super::{AlertRuleCount, LineForm, MedicationsPanel, QueueItem};
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::collections::HashSet;

    use super::super::checks::Drug;
    use super::super::db::{self, LineRow, NewLine, PrescriptionRow};
    use super::super::dose::{self, Frequency};
    use super::super::kb::{Kb, KbHandle};
    use super::super::{
        reason_needs_note, Alert, AlertLevel, LineForm, PrescriptionStatus, PrescriptionView,
        DOSE_UNITS, OVERRIDE_REASONS, ROUTES,
    };
    use crate::clinical::api::ssr::{blank, field};
    use crate::db::TenantTx;
    use crate::error::AppError;
    use crate::patients::api::ssr::Writer;
    use crate::tenancy::TenantPublic;
    use chrono::NaiveDate;
    use uuid::Uuid;

    /// The most lines one prescription holds.
    pub const MAX_LINES: usize = 20;

    pub fn kb() -> KbHandle {
        leptos::prelude::use_context::<KbHandle>().unwrap_or_else(|| {
            KbHandle(std::sync::Arc::new(Err(
                "the server was started without a knowledge base".into(),
            )))
        })
    }

    /// A line as read from the form, before the safety check.
    pub struct ReadLine {
        pub line: NewLine,
        pub drug: Drug,
    }

    fn line_field(n: usize, name: &str, message: impl Into<String>) -> AppError {
        field(&format!("lines[{n}][{name}]"), message)
    }

    /// Reads and validates one line: medicine (a formulary label, or free text
    /// whose words name the knowledge base's ingredients), dose, route,
    /// frequency, duration, quantity (computed when left blank), refills.
    pub fn read_line(
        kb: Result<&Kb, &str>,
        clinic: &[super::super::formulary::db::Row],
        n: usize,
        f: &LineForm,
    ) -> Result<ReadLine, AppError> {
        let typed = f.medicine.trim();
        let known = kb.ok().and_then(|kb| kb.medicine_by_label(typed));
        let own = clinic
            .iter()
            .find(|m| m.active && m.label().eq_ignore_ascii_case(typed));
        let (medicine, code, ingredients, strength, form, unit, default_route) = match (known, own)
        {
            // The clinic's own medicine: its generic's ingredients (none when unmapped).
            (None, Some(m)) => (
                m.label(),
                m.generic_code.clone(),
                (!m.ingredients.is_empty())
                    .then(|| m.ingredients.split(' ').map(str::to_owned).collect()),
                Some(m.strength.clone()),
                Some(m.form.clone()),
                Some(m.unit.clone()),
                Some(m.route.clone()),
            ),
            (Some(m), _) => (
                m.label(),
                Some(m.id.clone()),
                Some(m.ingredients.clone()),
                Some(m.strength.clone()),
                Some(m.form.clone()),
                Some(m.unit.clone()),
                Some(m.route.clone()),
            ),
            (None, None) => {
                let name = crate::text::plain_name(typed, 2, 160)
                    .map_err(|m| line_field(n, "medicine", m))?;
                // A medicine typed freely is still checked for what it names.
                let named: Vec<String> = kb
                    .ok()
                    .map(|kb| {
                        kb.allergy_targets(&name)
                            .into_iter()
                            .filter(|t| !t.starts_with("class:"))
                            .collect()
                    })
                    .unwrap_or_default();
                let ingredients = (!named.is_empty()).then_some(named);
                (name, None, ingredients, None, None, None, None)
            }
        };
        let dose_milli = dose::parse_milli(&f.dose).map_err(|m| line_field(n, "dose", m))?;
        let dose_unit = f.dose_unit.trim().to_owned();
        if !DOSE_UNITS.contains(&dose_unit.as_str()) {
            return Err(line_field(n, "dose_unit", "choose the dose's unit"));
        }
        let route = blank(Some(f.route.clone()))
            .or(default_route)
            .filter(|r| ROUTES.contains(&r.as_str()))
            .ok_or_else(|| line_field(n, "route", "choose the route"))?;
        let frequency =
            Frequency::parse(&f.frequency).map_err(|m| line_field(n, "frequency", m))?;
        let prn_indication = match frequency {
            Frequency::AsNeeded => Some(
                crate::clinical::api::ssr::short_text(
                    &format!("lines[{n}][prn_indication]"),
                    f.prn_indication.clone(),
                    120,
                )?
                .ok_or_else(|| {
                    line_field(
                        n,
                        "prn_indication",
                        "say what it is taken for when needed (e.g. pain)",
                    )
                })?,
            ),
            _ => None,
        };
        let duration_days = match blank(f.duration_days.clone()) {
            None if matches!(frequency, Frequency::Once | Frequency::AsNeeded) => None,
            None => {
                return Err(line_field(
                    n,
                    "duration_days",
                    "enter the course's length in days",
                ))
            }
            Some(d) => Some(
                d.parse::<u32>()
                    .ok()
                    .filter(|d| (1..=365).contains(d))
                    .ok_or_else(|| {
                        line_field(n, "duration_days", "a course lasts 1 to 365 days")
                    })?,
            ),
        };
        let (quantity, quantity_unit) = quantity(
            n,
            f,
            dose_milli,
            &dose_unit,
            strength.as_deref(),
            unit,
            &frequency,
            duration_days,
        )?;
        let refills = match blank(f.refills.clone()) {
            None => 0,
            Some(r) => r
                .parse::<i64>()
                .ok()
                .filter(|r| (0..=11).contains(r))
                .ok_or_else(|| line_field(n, "refills", "refills are 0 to 11"))?,
        };
        let instructions = blank(f.instructions.clone());
        if instructions
            .as_ref()
            .is_some_and(|i| i.chars().count() > 1000)
        {
            return Err(line_field(
                n,
                "instructions",
                "keep the instructions under 1,000 characters",
            ));
        }
        let drug = Drug {
            name: medicine.clone(),
            ingredients: ingredients.clone(),
        };
        Ok(ReadLine {
            line: NewLine {
                medicine_code: code,
                medicine,
                ingredients: ingredients.map(|i| i.join(" ")).unwrap_or_default(),
                strength,
                form,
                route,
                dose_milli: i64::try_from(dose_milli).unwrap_or(i64::MAX),
                dose_unit,
                frequency: frequency.code(),
                prn_indication,
                duration_days: duration_days.map(i64::from),
                quantity,
                quantity_unit,
                refills,
                instructions,
                override_reason: None,
                override_note: None,
                alerts: Vec::new(),
            },
            drug,
        })
    }

    /// The quantity to dispense: what the course needs when it can be counted
    /// (a typed quantity must cover it, and not exceed twice it), else as typed.
    #[allow(clippy::too_many_arguments)]
    fn quantity(
        n: usize,
        f: &LineForm,
        dose_milli: u64,
        dose_unit: &str,
        strength: Option<&str>,
        unit: Option<String>,
        frequency: &Frequency,
        days: Option<u32>,
    ) -> Result<(i64, String), AppError> {
        let unit = unit.unwrap_or_else(|| dose_unit.to_owned());
        let needed = dose::units_per_dose(dose_milli, dose_unit, strength, &unit)
            .zip(frequency.doses_milli(days))
            .map(|(per_dose, doses)| dose::course_quantity(per_dose, doses));
        let typed = match blank(f.quantity.clone()) {
            None => None,
            Some(q) => Some(
                q.parse::<u64>()
                    .ok()
                    .filter(|q| (1..=100_000).contains(q))
                    .ok_or_else(|| {
                        line_field(n, "quantity", "enter a whole quantity from 1 to 100,000")
                    })?,
            ),
        };
        let quantity = match (typed, needed) {
            (Some(q), Some(need)) if q < need => {
                return Err(line_field(
                    n,
                    "quantity",
                    format!("{q} {unit} does not cover the course: it needs {need}"),
                ))
            }
            (Some(q), Some(need)) if q > need.saturating_mul(2).max(need + 1) => {
                return Err(line_field(
                    n,
                    "quantity",
                    format!("{q} {unit} is more than twice what the course needs ({need})"),
                ))
            }
            (Some(q), _) => q,
            (None, Some(0)) | (None, None) => {
                return Err(line_field(
                    n,
                    "quantity",
                    "enter the quantity to dispense (it cannot be counted from this dose and frequency)",
                ))
            }
            (None, Some(need)) if need > 100_000 => {
                return Err(line_field(n, "quantity", "the course needs more than 100,000: check the dose"))
            }
            (None, Some(need)) => need,
        };
        Ok((i64::try_from(quantity).unwrap_or(i64::MAX), unit))
    }

    /// The override given on a line: a listed reason, and a note when "Other".
    pub fn read_override(
        n: usize,
        f: &LineForm,
    ) -> Result<Option<(String, Option<String>)>, AppError> {
        let Some(reason) = blank(f.override_reason.clone()) else {
            return Ok(None);
        };
        if !OVERRIDE_REASONS.contains(&reason.as_str()) {
            return Err(line_field(
                n,
                "override_reason",
                "choose a reason from the list",
            ));
        }
        let note = blank(f.override_note.clone());
        if note.as_ref().is_some_and(|t| t.chars().count() > 500) {
            return Err(line_field(
                n,
                "override_note",
                "keep the note under 500 characters",
            ));
        }
        if reason_needs_note(&reason) && note.as_ref().is_none_or(|t| t.chars().count() < 5) {
            return Err(line_field(
                n,
                "override_note",
                "explain the reason in a few words",
            ));
        }
        Ok(Some((reason, note)))
    }

    /// The visit note a prescription or review comes from, if one was chosen:
    /// it must be this patient's.
    pub async fn visit_note(
        tx: &mut TenantTx,
        patient: Uuid,
        text: Option<String>,
    ) -> Result<Option<Uuid>, AppError> {
        let Some(text) = blank(text) else {
            return Ok(None);
        };
        let note = text
            .parse::<Uuid>()
            .map_err(|_| field("visit_note_id", "choose a visit note"))?;
        if crate::clinical::db::note(tx, patient, note)
            .await?
            .is_none()
        {
            return Err(field("visit_note_id", "that note is not this patient's"));
        }
        Ok(Some(note))
    }

    /// The patient's latest visit notes (not addenda), newest first, as the
    /// prescription form offers them.
    pub async fn note_choices(
        tenant: &TenantPublic,
        tx: &mut TenantTx,
        patient: Uuid,
    ) -> Result<Vec<super::super::NoteChoice>, AppError> {
        let settings = &tenant.settings;
        Ok(crate::clinical::db::notes(tx, patient)
            .await?
            .into_iter()
            .filter(|n| n.addendum_to.is_none())
            .take(20)
            .map(|n| {
                let day =
                    settings.format_day(n.created_at.with_timezone(&settings.tz()).date_naive());
                let draft = if n.signed_at.is_none() {
                    " (draft)"
                } else {
                    ""
                };
                super::super::NoteChoice {
                    id: n.id,
                    label: format!("{} · {day} · {}{draft}", n.title, n.author),
                }
            })
            .collect())
    }

    /// Keys the prescriber has already been shown (posted back as `seen`).
    pub fn seen_keys(text: Option<String>) -> HashSet<String> {
        text.unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Whether the alerts let the prescription be saved as posted: every alert
    /// that needs an answer was shown and answered.
    pub fn may_save(
        alerts: &[Alert],
        seen: &HashSet<String>,
        overrides: &[Option<(String, Option<String>)>],
        acknowledged: bool,
    ) -> bool {
        alerts.iter().all(|a| match a.level {
            AlertLevel::Warning => true,
            AlertLevel::Unchecked => acknowledged && seen.contains(&a.key),
            AlertLevel::Interruptive => {
                seen.contains(&a.key)
                    && a.line
                        .and_then(|n| overrides.get(n))
                        .is_some_and(Option::is_some)
            }
        })
    }

    /// The start date: today where the clinic is when blank; at most 30 days
    /// back and a year ahead.
    pub fn read_start_on(
        tenant: &TenantPublic,
        text: Option<String>,
    ) -> Result<NaiveDate, AppError> {
        let today = crate::patients::api::ssr::clinic_today(tenant);
        let Some(text) = blank(text) else {
            return Ok(today);
        };
        let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| field("start_on", "enter a date (year, month, day)"))?;
        if date < today - chrono::Duration::days(30) || date > today + chrono::Duration::days(365) {
            return Err(field(
                "start_on",
                "the start date is at most 30 days back and a year ahead",
            ));
        }
        Ok(date)
    }

    pub fn view(
        tenant: &TenantPublic,
        (head, lines): (PrescriptionRow, Vec<LineRow>),
    ) -> Result<PrescriptionView, AppError> {
        let settings = &tenant.settings;
        Ok(PrescriptionView {
            id: head.id,
            patient_id: head.patient_id,
            status: head
                .status
                .parse::<PrescriptionStatus>()
                .map_err(|_| AppError::Internal)?,
            written: settings.format_datetime(head.written_at),
            start_on: settings.format_day(head.start_on),
            prescriber: head.prescriber,
            check_status: head.check_status,
            check_note: head.check_note,
            kb_version: head.kb_version,
            end_reason: head.end_reason,
            from_note: head.note_title.map(|title| {
                let day = head
                    .note_at
                    .map(|at| settings.format_day(at.with_timezone(&settings.tz()).date_naive()))
                    .unwrap_or_default();
                format!("Visit note “{title}”, {day}")
            }),
            lines: lines
                .into_iter()
                .map(|l| l.into_view().map_err(AppError::from))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A prescription as posted: its patient, lines and the prescriber's answers
    /// to an earlier review.
    pub struct Draft {
        pub patient: Uuid,
        pub lines: Vec<LineForm>,
        pub start_on: Option<String>,
        pub visit_note_id: Option<String>,
        pub seen: Option<String>,
        pub acknowledge: Option<String>,
    }

    /// Checks and writes a prescription; answers the open transaction (the
    /// caller audits and commits) and its id. When alerts need answers, records
    /// them as shown, commits that, and refuses with the review.
    pub async fn write(w: &Writer, d: Draft) -> Result<(TenantTx, Uuid), AppError> {
        use super::super::Review;
        let patient_id = d.patient;
        let handle = kb();
        let kb = handle.get();
        let forms: Vec<LineForm> = d.lines.into_iter().filter(|l| !l.is_blank()).collect();
        if forms.is_empty() {
            return Err(
                AppError::field("lines[0][medicine]", "add at least one medicine").respond(),
            );
        }
        if forms.len() > MAX_LINES {
            return Err(AppError::Invalid(format!(
                "a prescription holds at most {MAX_LINES} medicines"
            ))
            .respond());
        }
        let start_on = read_start_on(&w.tenant, d.start_on).map_err(AppError::respond)?;
        let mut tx = w.open(patient_id).await?;
        let note = visit_note(&mut tx, patient_id, d.visit_note_id).await?;
        let clinic = super::super::formulary::db::all(&mut tx).await?;
        let mut read = Vec::with_capacity(forms.len());
        let mut overrides = Vec::with_capacity(forms.len());
        for (n, f) in forms.iter().enumerate() {
            read.push(read_line(kb, &clinic, n, f).map_err(AppError::respond)?);
            overrides.push(read_override(n, f).map_err(AppError::respond)?);
        }
        let allergies = crate::clinical::db::allergies(&mut tx, patient_id).await?;
        let current = super::super::db::current_drugs(&mut tx, patient_id).await?;
        let drugs: Vec<_> = read.iter().map(|r| r.drug.clone()).collect();
        let settings = w.tenant.settings.clone();
        let review = super::super::checks::check(kb, &allergies, &current, &drugs, &|t| {
            settings.format_datetime(t)
        });
        let seen = seen_keys(d.seen);
        let acknowledged = d.acknowledge.is_some_and(|a| !a.is_empty());
        if !may_save(&review.alerts, &seen, &overrides, acknowledged) {
            let fresh: Vec<_> = review
                .alerts
                .iter()
                .filter(|a| !seen.contains(&a.key))
                .map(|a| (a, "shown", None))
                .collect();
            super::super::db::record_alerts(
                &mut tx,
                patient_id,
                None,
                review.kb_version.as_deref(),
                w.staff_id,
                &fresh,
            )
            .await?;
            tx.commit().await?;
            let review = serde_json::to_string(&review).map_err(|_| AppError::Internal)?;
            return Err(AppError::field("alerts", review).respond());
        }
        let Review {
            alerts,
            kb_version,
            not_performed,
        } = review;
        let id = Uuid::new_v4();
        let mut new_lines = Vec::with_capacity(read.len());
        for (n, (r, o)) in read.into_iter().zip(overrides.iter()).enumerate() {
            let mut line = r.line;
            line.alerts = alerts
                .iter()
                .filter(|a| a.line == Some(n))
                .cloned()
                .collect();
            if line
                .alerts
                .iter()
                .any(|a| a.level == AlertLevel::Interruptive)
            {
                if let Some((reason, note)) = o {
                    line.override_reason = Some(reason.clone());
                    line.override_note = note.clone();
                }
            }
            new_lines.push(line);
        }
        let check_status = if kb.is_err() {
            "not-performed"
        } else if not_performed.is_some() {
            "partial"
        } else {
            "performed"
        };
        super::super::db::insert(
            &mut tx,
            &NewPrescription {
                id,
                patient: patient_id,
                prescriber: w.staff_id,
                visit_note: note,
                start_on,
                kb_version: kb_version.clone(),
                check_status,
                check_note: not_performed,
                lines: new_lines,
            },
        )
        .await?;
        let mut events = Vec::new();
        for a in &alerts {
            let reason = a
                .line
                .and_then(|n| overrides.get(n))
                .and_then(Option::as_ref)
                .map(|(r, note)| match note {
                    Some(note) => format!("{r}: {note}"),
                    None => r.clone(),
                });
            match a.level {
                AlertLevel::Interruptive => events.push((a, "overridden", reason)),
                AlertLevel::Unchecked => events.push((a, "acknowledged", None)),
                AlertLevel::Warning if !seen.contains(&a.key) => events.push((a, "shown", None)),
                AlertLevel::Warning => {}
            }
        }
        let as_args: Vec<_> = events
            .iter()
            .map(|(a, outcome, reason)| (*a, *outcome, reason.as_deref()))
            .collect();
        super::super::db::record_alerts(
            &mut tx,
            patient_id,
            Some(id),
            kb_version.as_deref(),
            w.staff_id,
            &as_args,
        )
        .await?;
        for (a, outcome, _) in &events {
            let action = if *outcome == "overridden" {
                "prescription.alert_overridden"
            } else if *outcome == "acknowledged" {
                "prescription.unchecked_acknowledged"
            } else {
                continue;
            };
            w.audit(&mut tx, patient_id, action, Some(&a.rule)).await?;
        }
        Ok((tx, id))
    }

    pub use db::NewPrescription;
}

/// The chart's medicines: the patient's prescriptions and the formulary to
/// prescribe from. Audited as a read of the record.
#[server(prefix = "/api", endpoint = "medications")]
pub async fn medications(patient_id: Uuid) -> Result<MedicationsPanel, AppError> {
    use crate::identity::permissions::Permission;
    use crate::patients::api::ssr::writer;
    let w = writer()?;
    let kb = ssr::kb();
    let mut tx = w.open(patient_id).await?;
    let rows = super::db::for_patient(&mut tx, patient_id).await?;
    let other = super::review::db::of_patient(&mut tx, patient_id).await?;
    let notes = ssr::note_choices(&w.tenant, &mut tx, patient_id).await?;
    let own: Vec<String> = super::formulary::db::all(&mut tx)
        .await?
        .into_iter()
        .filter(|m| m.active)
        .map(|m| m.label())
        .collect();
    let prescriptions = rows
        .into_iter()
        .map(|r| ssr::view(&w.tenant, r))
        .collect::<Result<Vec<_>, _>>()?;
    w.done(tx, patient_id, "prescriptions.viewed", None).await?;
    let (mut formulary, kb_version) = match kb.get() {
        Ok(kb) => (
            kb.medicines.iter().map(|m| m.label()).collect::<Vec<_>>(),
            Some(kb.version.clone()),
        ),
        Err(_) => (Vec::new(), None),
    };
    formulary.extend(own);
    Ok(MedicationsPanel {
        prescriptions,
        formulary,
        kb_version,
        can_prescribe: w.viewer.can(Permission::PrescriptionsCreate),
        can_record: w.viewer.can(Permission::ClinicalWrite),
        other: other
            .into_iter()
            .map(|o| super::review::view_of(&w.tenant, o))
            .collect(),
        today: crate::patients::api::ssr::clinic_today(&w.tenant).to_string(),
        notes,
    })
}

/// Writes a prescription after the safety check; answers its id. A call whose
/// alerts need an answer saves nothing and is refused with the alerts: the
/// error is `Field("alerts", <Review as JSON>)`, which the chart's form (a plain
/// post, shown again after the redirect) reads back. The prescriber then posts
/// again with the shown keys in `seen`, a reason on each line with an
/// interruptive alert, and `acknowledge` for a check that could not run.
#[server(prefix = "/api", endpoint = "prescribe")]
pub async fn prescribe(
    patient_id: Uuid,
    lines: Option<Vec<LineForm>>,
    start_on: Option<String>,
    visit_note_id: Option<String>,
    seen: Option<String>,
    acknowledge: Option<String>,
) -> Result<Uuid, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (tx, id) = ssr::write(
        &w,
        ssr::Draft {
            patient: patient_id,
            lines: lines.unwrap_or_default(),
            start_on,
            visit_note_id,
            seen,
            acknowledge,
        },
    )
    .await?;
    w.done(
        tx,
        patient_id,
        "prescription.created",
        Some(&id.to_string()),
    )
    .await?;
    Ok(id)
}

/// Ends an active prescription: `completed`, or `discontinued` with a reason.
/// Nothing is deleted.
#[server(prefix = "/api", endpoint = "end_prescription")]
pub async fn end_prescription(
    patient_id: Uuid,
    prescription_id: Uuid,
    status: String,
    reason: Option<String>,
) -> Result<(), AppError> {
    use super::PrescriptionStatus;
    use crate::patients::api::ssr::writer;
    let w = writer()?;
    let status = status
        .parse::<PrescriptionStatus>()
        .ok()
        .filter(|s| *s != PrescriptionStatus::Active)
        .ok_or_else(|| AppError::field("status", "choose completed or discontinued").respond())?;
    let reason = crate::clinical::api::ssr::blank(reason);
    if status == PrescriptionStatus::Discontinued
        && !reason
            .as_ref()
            .is_some_and(|r| (3..=500).contains(&r.chars().count()))
    {
        return Err(
            AppError::field("reason", "say why it is discontinued (3 to 500 characters)").respond(),
        );
    }
    let reason = reason.filter(|_| status == PrescriptionStatus::Discontinued);
    let mut tx = w.open(patient_id).await?;
    super::db::end(
        &mut tx,
        prescription_id,
        patient_id,
        status,
        reason.as_deref(),
        w.staff_id,
    )
    .await
    .map_err(|e| match e {
        crate::db::DbError::NotFound => AppError::field(
            "status",
            "this prescription is not active (or not this patient's)",
        )
        .respond(),
        other => AppError::from(other).respond(),
    })?;
    let action = match status {
        PrescriptionStatus::Discontinued => "prescription.discontinued",
        _ => "prescription.completed",
    };
    w.done(tx, patient_id, action, Some(&prescription_id.to_string()))
        .await
}

/// The pharmacy's queue: active prescriptions with something left to dispense.
#[server(prefix = "/api", endpoint = "dispensing_queue")]
pub async fn dispensing_queue() -> Result<Vec<QueueItem>, AppError> {
    use crate::identity::audit::{self, Actor};
    use crate::patients::api::ssr::writer;
    let w = writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let rows = super::db::queue(&mut tx, 200).await?;
    let mut items = Vec::with_capacity(rows.len());
    for (head, lines, patient_name, mrn) in rows {
        items.push(QueueItem {
            patient_name,
            mrn,
            prescription: ssr::view(&w.tenant, (head, lines))?,
        });
    }
    audit::record(
        &mut tx,
        Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        "prescriptions.queue_viewed",
        Some(&items.len().to_string()),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(items)
}

/// Records a full or partial dispensing of one line: never more than
/// prescribed × (refills + 1), never from an ended prescription, never stock
/// past its expiry.
#[server(prefix = "/api", endpoint = "dispense")]
pub async fn dispense(
    prescription_id: Uuid,
    line_id: Uuid,
    quantity: String,
    batch: String,
    expires_on: String,
) -> Result<(), AppError> {
    use super::PrescriptionStatus;
    use crate::patients::api::ssr::{clinic_today, writer};
    let w = writer()?;
    let quantity = quantity
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (1..=100_000).contains(q))
        .ok_or_else(|| AppError::field("quantity", "enter a whole quantity").respond())?;
    let batch = crate::text::plain_name(batch.trim(), 1, 40)
        .map_err(|m| AppError::field("batch", m).respond())?;
    let expires_on = chrono::NaiveDate::parse_from_str(expires_on.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field("expires_on", "enter the expiry date").respond())?;
    if expires_on < clinic_today(&w.tenant) {
        return Err(
            AppError::field("expires_on", "this batch has expired: do not dispense it").respond(),
        );
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let (head, lines) = super::db::get(&mut tx, prescription_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    drop(tx);
    let patient = head.patient_id;
    let mut tx = w.open(patient).await?;
    let status = head
        .status
        .parse::<PrescriptionStatus>()
        .map_err(|_| AppError::Internal)?;
    if status != PrescriptionStatus::Active {
        return Err(AppError::field(
            "quantity",
            format!(
                "this prescription is {}: nothing more can be dispensed",
                status.as_str()
            ),
        )
        .respond());
    }
    let line = lines
        .into_iter()
        .find(|l| l.id == line_id)
        .ok_or_else(|| AppError::NotFound.respond())?;
    let allowed = i64::from(line.quantity) * (i64::from(line.refills) + 1);
    let left = allowed - line.dispensed;
    if quantity > left {
        return Err(AppError::field(
            "quantity",
            format!(
                "only {left} {} of {} remain to dispense (prescribed {} with {} refill(s))",
                line.quantity_unit, line.medicine, line.quantity, line.refills
            ),
        )
        .respond());
    }
    super::db::dispense(
        &mut tx,
        &super::db::NewDispensing {
            prescription: prescription_id,
            line: line_id,
            patient,
            quantity,
            batch: &batch,
            expires_on,
            by: w.staff_id,
        },
    )
    .await
    .map_err(|e| {
        if e.is_final_record() {
            // Another pharmacist dispensed in the meantime, or it was just discontinued.
            AppError::field("quantity", "this would dispense more than prescribed, or the prescription has just ended; reload the queue").respond()
        } else {
            AppError::from(e).respond()
        }
    })?;
    w.done(
        tx,
        patient,
        "prescription.dispensed",
        Some(&format!("{prescription_id} {quantity}")),
    )
    .await
}

/// Owners' report: alerts shown and overridden per rule, to find the noise.
#[server(prefix = "/api", endpoint = "medication_alert_report")]
pub async fn medication_alert_report() -> Result<Vec<AlertRuleCount>, AppError> {
    let (tenant, _viewer, _) = crate::patients::api::ssr::staff()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    let report = super::db::alert_report(&mut tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// Sets the signed-in prescriber's qualifications ("MBBS, MD") and
/// registration number, printed on their prescriptions.
#[server(prefix = "/api", endpoint = "set_prescriber_details")]
pub async fn set_prescriber_details(
    qualifications: Option<String>,
    registration_number: Option<String>,
) -> Result<(), AppError> {
    use crate::clinical::api::ssr::short_text;
    use crate::identity::audit::{self, Actor};
    let w = crate::patients::api::ssr::writer()?;
    let qualifications = short_text("qualifications", qualifications, 120)?;
    let registration = short_text("registration_number", registration_number, 40)?;
    if qualifications
        .as_ref()
        .is_some_and(|q| q.chars().count() < 2)
    {
        return Err(AppError::field("qualifications", "at least 2 characters").respond());
    }
    if registration.as_ref().is_some_and(|q| q.chars().count() < 2) {
        return Err(AppError::field("registration_number", "at least 2 characters").respond());
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    tx.execute_one(
        "UPDATE staff_members SET qualifications = $3, registration_number = $4 WHERE tenant_id = $1 AND id = $2",
        &[
            w.staff_id.into(),
            qualifications.as_deref().into(),
            registration.as_deref().into(),
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        "staff.prescriber_details_changed",
        None,
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

//! Prescribing queries. Every one takes a [`TenantTx`]; nothing here updates a
//! line or deletes anything outside the retention purge. A prescription of a
//! record merged away is read through the survivor (`RECORD_OF`), like notes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::checks::Drug;
use super::{Alert, AlertRuleCount, LineView, PrescriptionStatus};
use crate::db::{DbError, TenantTx};
use crate::patients::merge::db::RECORD_OF;

/// A line ready to be written: validated, its quantity settled, its alerts known.
pub struct NewLine {
    pub medicine_code: Option<String>,
    pub medicine: String,
    /// Space-separated knowledge-base ingredient ids ('' when unknown).
    pub ingredients: String,
    pub strength: Option<String>,
    pub form: Option<String>,
    pub route: String,
    pub dose_milli: i64,
    pub dose_unit: String,
    pub frequency: String,
    pub prn_indication: Option<String>,
    pub duration_days: Option<i64>,
    pub quantity: i64,
    pub quantity_unit: String,
    pub refills: i64,
    pub instructions: Option<String>,
    pub override_reason: Option<String>,
    pub override_note: Option<String>,
    pub alerts: Vec<Alert>,
}

pub struct NewPrescription {
    pub id: Uuid,
    pub patient: Uuid,
    pub prescriber: Uuid,
    pub visit_note: Option<Uuid>,
    pub start_on: NaiveDate,
    pub kb_version: Option<String>,
    /// "performed", "partial" or "not-performed".
    pub check_status: &'static str,
    pub check_note: Option<String>,
    pub lines: Vec<NewLine>,
}

pub async fn insert(tx: &mut TenantTx, p: &NewPrescription) -> Result<(), DbError> {
    let now = Utc::now();
    let acknowledged = (p.check_status != "performed").then_some(p.prescriber);
    tx.execute(
        "INSERT INTO prescriptions (tenant_id, id, patient_id, prescriber_id, visit_note_id, status, \
         written_at, start_on, kb_version, check_status, check_note, acknowledged_by) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11)",
        &[
            p.id.into(),
            p.patient.into(),
            p.prescriber.into(),
            p.visit_note.into(),
            now.into(),
            p.start_on.into(),
            p.kb_version.as_deref().into(),
            p.check_status.into(),
            p.check_note.as_deref().into(),
            acknowledged.into(),
        ],
    )
    .await?;
    for (position, l) in p.lines.iter().enumerate() {
        let alerts = serde_json::to_string(&l.alerts)
            .map_err(|e| DbError::Invalid(format!("alerts: {e}")))?;
        tx.execute(
            "INSERT INTO prescription_lines (tenant_id, id, prescription_id, patient_id, position, \
             medicine_code, medicine, ingredients, strength, form, route, dose_milli, dose_unit, \
             frequency, prn_indication, duration_days, quantity, quantity_unit, refills, instructions, \
             override_reason, override_note, alerts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
            &[
                Uuid::new_v4().into(),
                p.id.into(),
                p.patient.into(),
                i64::try_from(position).unwrap_or(i64::MAX).into(),
                l.medicine_code.as_deref().into(),
                l.medicine.as_str().into(),
                l.ingredients.as_str().into(),
                l.strength.as_deref().into(),
                l.form.as_deref().into(),
                l.route.as_str().into(),
                l.dose_milli.into(),
                l.dose_unit.as_str().into(),
                l.frequency.as_str().into(),
                l.prn_indication.as_deref().into(),
                l.duration_days.into(),
                l.quantity.into(),
                l.quantity_unit.as_str().into(),
                l.refills.into(),
                l.instructions.as_deref().into(),
                l.override_reason.as_deref().into(),
                l.override_note.as_deref().into(),
                alerts.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Records alerts shown or acted on, for the owners' report.
pub async fn record_alerts(
    tx: &mut TenantTx,
    patient: Uuid,
    prescription: Option<Uuid>,
    kb_version: Option<&str>,
    staff: Uuid,
    alerts: &[(&Alert, &'static str, Option<&str>)],
) -> Result<(), DbError> {
    let now = Utc::now();
    for (alert, outcome, reason) in alerts {
        tx.execute(
            "INSERT INTO medication_alerts (tenant_id, id, patient_id, prescription_id, rule, level, \
             outcome, reason, kb_version, staff_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                Uuid::new_v4().into(),
                patient.into(),
                prescription.into(),
                alert.rule.as_str().into(),
                alert.level.as_str().into(),
                (*outcome).into(),
                (*reason).into(),
                kb_version.into(),
                staff.into(),
                now.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// What the patient takes now: the lines of their active prescriptions.
pub async fn current_drugs(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Drug>, DbError> {
    let rows: Vec<(String, String)> = tx
        .fetch_all(
            &format!(
                "SELECT l.medicine, l.ingredients FROM prescription_lines l \
                 JOIN prescriptions p ON p.tenant_id = l.tenant_id AND p.id = l.prescription_id \
                 WHERE l.tenant_id = $1 AND p.status = 'active' AND l.patient_id IN {RECORD_OF} \
                 ORDER BY p.written_at, l.position"
            ),
            &[patient.into()],
        )
        .await?;
    let other: Vec<(String, String)> = tx
        .fetch_all(
            &format!(
                "SELECT medicine, ingredients FROM other_medications \
                 WHERE tenant_id = $1 AND status = 'active' AND patient_id IN {RECORD_OF} ORDER BY recorded_at"
            ),
            &[patient.into()],
        )
        .await?;
    Ok(rows
        .into_iter()
        .chain(other)
        .map(|(name, ingredients)| Drug {
            name,
            ingredients: (!ingredients.is_empty())
                .then(|| ingredients.split(' ').map(str::to_owned).collect()),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
pub struct PrescriptionRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub status: String,
    pub written_at: DateTime<Utc>,
    pub start_on: NaiveDate,
    pub prescriber: String,
    pub check_status: String,
    pub check_note: Option<String>,
    pub kb_version: Option<String>,
    pub end_reason: Option<String>,
    /// The visit note it was written from, if any.
    pub note_title: Option<String>,
    pub note_at: Option<DateTime<Utc>>,
}

#[derive(Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub medicine: String,
    pub route: String,
    pub dose_milli: i64,
    pub dose_unit: String,
    pub frequency: String,
    pub prn_indication: Option<String>,
    pub duration_days: Option<i32>,
    pub quantity: i32,
    pub quantity_unit: String,
    pub refills: i32,
    pub instructions: Option<String>,
    pub override_reason: Option<String>,
    pub override_note: Option<String>,
    pub alerts: String,
    pub dispensed: i64,
}

impl LineRow {
    pub fn into_view(self) -> Result<LineView, DbError> {
        let alerts: Vec<Alert> = serde_json::from_str(&self.alerts)
            .map_err(|e| DbError::Corrupt(format!("prescription line alerts: {e}")))?;
        let frequency = super::dose::Frequency::parse(&self.frequency)
            .map(|f| f.describe())
            .unwrap_or(self.frequency);
        let dose = super::dose::format_milli(u64::try_from(self.dose_milli).unwrap_or(0));
        let mut sig = format!("{dose} {}, {}, {frequency}", self.dose_unit, self.route);
        if let Some(why) = &self.prn_indication {
            sig.push_str(&format!(" for {why}"));
        }
        if let Some(days) = self.duration_days {
            sig.push_str(&format!(", {days} day{}", if days == 1 { "" } else { "s" }));
        }
        Ok(LineView {
            id: self.id,
            medicine: self.medicine,
            sig,
            allowed: i64::from(self.quantity) * (i64::from(self.refills) + 1),
            quantity: i64::from(self.quantity),
            quantity_unit: self.quantity_unit,
            refills: i64::from(self.refills),
            instructions: self.instructions,
            override_reason: self.override_reason,
            override_note: self.override_note,
            alerts,
            dispensed: self.dispensed,
        })
    }
}

const SELECT_PRESCRIPTIONS: &str = "SELECT p.id, p.patient_id, p.status, p.written_at, p.start_on, \
     s.display_name AS prescriber, p.check_status, p.check_note, p.kb_version, p.end_reason, \
     n.title AS note_title, n.created_at AS note_at \
     FROM prescriptions p JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.prescriber_id \
     LEFT JOIN visit_notes n ON n.tenant_id = p.tenant_id AND n.id = p.visit_note_id";

const SELECT_LINES: &str = "SELECT l.id, l.prescription_id, l.medicine, l.route, l.dose_milli, l.dose_unit, \
     l.frequency, l.prn_indication, l.duration_days, l.quantity, l.quantity_unit, l.refills, \
     l.instructions, l.override_reason, l.override_note, l.alerts, \
     (SELECT coalesce(sum(d.quantity), 0) FROM dispensings d WHERE d.tenant_id = l.tenant_id AND d.line_id = l.id) AS dispensed \
     FROM prescription_lines l";

/// A patient's prescriptions (newest first) with their lines.
pub async fn for_patient(
    tx: &mut TenantTx,
    patient: Uuid,
) -> Result<Vec<(PrescriptionRow, Vec<LineRow>)>, DbError> {
    let heads: Vec<PrescriptionRow> = tx
        .fetch_all(
            &format!(
                "{SELECT_PRESCRIPTIONS} WHERE p.tenant_id = $1 AND p.patient_id IN {RECORD_OF} \
                 ORDER BY p.written_at DESC"
            ),
            &[patient.into()],
        )
        .await?;
    let lines: Vec<LineRow> = tx
        .fetch_all(
            &format!(
                "{SELECT_LINES} WHERE l.tenant_id = $1 AND l.patient_id IN {RECORD_OF} ORDER BY l.position"
            ),
            &[patient.into()],
        )
        .await?;
    Ok(attach(heads, lines))
}

fn attach(
    heads: Vec<PrescriptionRow>,
    lines: Vec<LineRow>,
) -> Vec<(PrescriptionRow, Vec<LineRow>)> {
    let mut by_head: HashMap<Uuid, Vec<LineRow>> = HashMap::new();
    for l in lines {
        by_head.entry(l.prescription_id).or_default().push(l);
    }
    heads
        .into_iter()
        .map(|h| {
            let lines = by_head.remove(&h.id).unwrap_or_default();
            (h, lines)
        })
        .collect()
}

/// One prescription with its lines, if it is this clinic's.
pub async fn get(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<(PrescriptionRow, Vec<LineRow>)>, DbError> {
    let head: Option<PrescriptionRow> = tx
        .fetch_optional(
            &format!("{SELECT_PRESCRIPTIONS} WHERE p.tenant_id = $1 AND p.id = $2"),
            &[id.into()],
        )
        .await?;
    let Some(head) = head else {
        return Ok(None);
    };
    let lines: Vec<LineRow> = tx
        .fetch_all(
            &format!("{SELECT_LINES} WHERE l.tenant_id = $1 AND l.prescription_id = $2 ORDER BY l.position"),
            &[id.into()],
        )
        .await?;
    Ok(Some((head, lines)))
}

/// Active prescriptions with something left to dispense, oldest first, with
/// their patients' names and record numbers.
pub async fn queue(
    tx: &mut TenantTx,
    limit: i64,
) -> Result<Vec<(PrescriptionRow, Vec<LineRow>, String, String)>, DbError> {
    let heads: Vec<PrescriptionRow> = tx
        .fetch_all(
            &format!(
                "{SELECT_PRESCRIPTIONS} WHERE p.tenant_id = $1 AND p.status = 'active' \
                 AND EXISTS (SELECT 1 FROM prescription_lines l WHERE l.tenant_id = p.tenant_id \
                   AND l.prescription_id = p.id AND l.quantity * (l.refills + 1) > \
                   (SELECT coalesce(sum(d.quantity), 0) FROM dispensings d WHERE d.tenant_id = l.tenant_id AND d.line_id = l.id)) \
                 ORDER BY p.written_at LIMIT $2"
            ),
            &[limit.into()],
        )
        .await?;
    let mut out = Vec::with_capacity(heads.len());
    for head in heads {
        let (given, family, mrn): (String, String, String) = tx
            .fetch_one(
                "SELECT given_name, family_name, mrn FROM patients WHERE tenant_id = $1 AND id = $2",
                &[head.patient_id.into()],
            )
            .await?;
        let lines: Vec<LineRow> = tx
            .fetch_all(
                &format!(
                    "{SELECT_LINES} WHERE l.tenant_id = $1 AND l.prescription_id = $2 ORDER BY l.position"
                ),
                &[head.id.into()],
            )
            .await?;
        out.push((head, lines, format!("{given} {family}"), mrn));
    }
    Ok(out)
}

/// Ends an active prescription: completed, or discontinued with a reason.
pub async fn end(
    tx: &mut TenantTx,
    id: Uuid,
    patient: Uuid,
    status: PrescriptionStatus,
    reason: Option<&str>,
    by: Uuid,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE prescriptions SET status = $3, end_reason = $4, ended_by = $5, ended_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'active' AND patient_id IN \
         (SELECT r.id FROM patients r WHERE r.tenant_id = $1 AND (r.id = $7 OR r.merged_into = $7))",
        &[
            id.into(),
            status.as_str().into(),
            reason.into(),
            by.into(),
            Utc::now().into(),
            patient.into(),
        ],
    )
    .await
}

pub struct NewDispensing<'a> {
    pub prescription: Uuid,
    pub line: Uuid,
    pub patient: Uuid,
    pub quantity: i64,
    pub batch: &'a str,
    pub expires_on: NaiveDate,
    pub by: Uuid,
}

pub async fn dispense(tx: &mut TenantTx, d: &NewDispensing<'_>) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO dispensings (tenant_id, id, line_id, prescription_id, patient_id, quantity, batch, \
         expires_on, dispensed_by, dispensed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            Uuid::new_v4().into(),
            d.line.into(),
            d.prescription.into(),
            d.patient.into(),
            d.quantity.into(),
            d.batch.into(),
            d.expires_on.into(),
            d.by.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Alerts per rule: how often shown, how often overridden.
pub async fn alert_report(tx: &mut TenantTx) -> Result<Vec<AlertRuleCount>, DbError> {
    let rows: Vec<(String, String, i64, i64)> = tx
        .fetch_all(
            "SELECT rule, level, \
             sum(CASE WHEN outcome = 'shown' THEN 1 ELSE 0 END), \
             sum(CASE WHEN outcome = 'overridden' THEN 1 ELSE 0 END) \
             FROM medication_alerts WHERE tenant_id = $1 GROUP BY rule, level \
             ORDER BY 3 DESC, rule",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(rule, level, shown, overridden)| AlertRuleCount {
            rule,
            level,
            shown,
            overridden,
        })
        .collect())
}

/// The purge's part: deletes a record's prescribing rows (the database allows
/// it only once the record's retention has ended). Runs before the notes go,
/// since a prescription may name the visit note it came from.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    // Dependants first; table names come from this constant list, never from input.
    for table in [
        "refill_requests",
        "dispensings",
        "medication_alerts",
        "medication_reviews",
        "prescription_lines",
        "prescriptions",
        "other_medications",
    ] {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND patient_id = $2");
        tx.execute(&sql, &[patient.into()]).await?;
    }
    Ok(())
}

/// A clinic's own medicine or brand, mapped to the knowledge base's ingredients.
pub struct NewMedicine<'a> {
    pub name: &'a str,
    pub generic_code: Option<&'a str>,
    pub ingredients: &'a str,
    pub strength: &'a str,
    pub form: &'a str,
    pub route: &'a str,
    pub unit: &'a str,
}

pub async fn add_medicine(
    tx: &mut TenantTx,
    m: &NewMedicine<'_>,
    by: Uuid,
) -> Result<Uuid, DbError> {
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO clinic_medicines (tenant_id, id, name, generic_code, ingredients, strength, form, \
         route, unit, active, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            id.into(),
            m.name.into(),
            m.generic_code.into(),
            m.ingredients.into(),
            m.strength.into(),
            m.form.into(),
            m.route.into(),
            m.unit.into(),
            true.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(|e| match e {
        DbError::Sqlx(s) => DbError::conflict_on("name, strength and form")(s),
        other => other,
    })?;
    Ok(id)
}

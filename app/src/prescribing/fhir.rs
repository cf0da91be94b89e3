//! Prescriptions in the FHIR R4 export: one `MedicationRequest` per line (with
//! `dosageInstruction` and `dispenseRequest`) and one `MedicationDispense` per
//! dispensing. The patient's copy leaves out the prescriber's override notes.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::dose::{format_milli, Frequency};
use crate::db::{DbError, TenantTx};
use crate::patients::merge::db::RECORD_OF;

/// One prescription line with what FHIR needs of its prescription.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub status: String,
    pub written_at: DateTime<Utc>,
    pub start_on: NaiveDate,
    pub prescriber: String,
    pub end_reason: Option<String>,
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
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DispenseRow {
    pub id: Uuid,
    pub line_id: Uuid,
    pub medicine: String,
    pub quantity: i32,
    pub quantity_unit: String,
    pub batch: String,
    pub expires_on: NaiveDate,
    pub dispensed_by: String,
    pub dispensed_at: DateTime<Utc>,
}

/// A patient's prescription lines and dispensings, for the export.
#[derive(Debug, Clone, Default)]
pub struct Medicines {
    pub requests: Vec<RequestRow>,
    pub dispenses: Vec<DispenseRow>,
}

pub async fn medicines(tx: &mut TenantTx, patient: Uuid) -> Result<Medicines, DbError> {
    let requests = tx
        .fetch_all(
            &format!(
                "SELECT l.id, l.prescription_id, p.status, p.written_at, p.start_on, \
                 s.display_name AS prescriber, p.end_reason, l.medicine, l.route, l.dose_milli, \
                 l.dose_unit, l.frequency, l.prn_indication, l.duration_days, l.quantity, \
                 l.quantity_unit, l.refills, l.instructions, l.override_reason, l.override_note \
                 FROM prescription_lines l \
                 JOIN prescriptions p ON p.tenant_id = l.tenant_id AND p.id = l.prescription_id \
                 JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.prescriber_id \
                 WHERE l.tenant_id = $1 AND l.patient_id IN {RECORD_OF} \
                 ORDER BY p.written_at, l.position"
            ),
            &[patient.into()],
        )
        .await?;
    let dispenses = tx
        .fetch_all(
            &format!(
                "SELECT d.id, d.line_id, l.medicine, d.quantity, l.quantity_unit, d.batch, \
                 d.expires_on, s.display_name AS dispensed_by, d.dispensed_at \
                 FROM dispensings d \
                 JOIN prescription_lines l ON l.tenant_id = d.tenant_id AND l.id = d.line_id \
                 JOIN staff_members s ON s.tenant_id = d.tenant_id AND s.id = d.dispensed_by \
                 WHERE d.tenant_id = $1 AND d.patient_id IN {RECORD_OF} ORDER BY d.dispensed_at"
            ),
            &[patient.into()],
        )
        .await?;
    Ok(Medicines {
        requests,
        dispenses,
    })
}

const UCUM: &str = "http://unitsofmeasure.org";

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A decimal from thousandths, as a JSON number.
fn decimal(milli: i64) -> Value {
    let text = format_milli(u64::try_from(milli).unwrap_or(0));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn days(n: i32) -> Value {
    json!({ "value": n, "unit": "days", "system": UCUM, "code": "d" })
}

/// `Timing.repeat` for a frequency (FHIR event-timing codes for "1-0-1").
fn timing(f: &Frequency, duration_days: Option<i32>) -> Option<Value> {
    let mut repeat = match f {
        Frequency::TimesOfDay(parts) => {
            let when: Vec<&str> = super::dose::dosed_times(parts).map(|t| t.1).collect();
            json!({ "when": when })
        }
        Frequency::EveryHours(n) => json!({ "frequency": 1, "period": n, "periodUnit": "h" }),
        Frequency::TimesADay(n) => json!({ "frequency": n, "period": 1, "periodUnit": "d" }),
        Frequency::Weekly => json!({ "frequency": 1, "period": 1, "periodUnit": "wk" }),
        Frequency::Once => json!({ "count": 1 }),
        Frequency::AsNeeded => return None,
    };
    if let Some(n) = duration_days {
        repeat["boundsDuration"] = days(n);
    }
    Some(json!({ "repeat": repeat }))
}

fn request(r: &RequestRow, subject: &Value, staff: bool) -> Value {
    let frequency = Frequency::parse(&r.frequency).ok();
    let mut dosage = json!({
        "text": format!("{} {}, {}, {}", format_milli(u64::try_from(r.dose_milli).unwrap_or(0)), r.dose_unit, r.route,
            frequency.as_ref().map_or_else(|| r.frequency.clone(), Frequency::describe)),
        "route": { "text": r.route },
        "doseAndRate": [{ "doseQuantity": { "value": decimal(r.dose_milli), "unit": r.dose_unit } }],
    });
    if let Some(i) = &r.instructions {
        dosage["patientInstruction"] = json!(i);
    }
    if let Some(t) = frequency.as_ref().and_then(|f| timing(f, r.duration_days)) {
        dosage["timing"] = t;
    }
    if let Some(why) = &r.prn_indication {
        dosage["asNeededCodeableConcept"] = json!({ "text": why });
    }
    let mut dispense = json!({
        "validityPeriod": { "start": r.start_on.format("%Y-%m-%d").to_string() },
        "numberOfRepeatsAllowed": r.refills,
        "quantity": { "value": r.quantity, "unit": r.quantity_unit },
    });
    if let Some(n) = r.duration_days {
        dispense["expectedSupplyDuration"] = days(n);
    }
    let mut resource = json!({
        "resourceType": "MedicationRequest",
        "id": r.id.to_string(),
        "status": match r.status.as_str() {
            "discontinued" => "stopped",
            "completed" => "completed",
            _ => "active",
        },
        "intent": "order",
        "medicationCodeableConcept": { "text": r.medicine },
        "subject": subject,
        "authoredOn": instant(r.written_at),
        "requester": { "display": r.prescriber },
        "groupIdentifier": { "value": r.prescription_id.to_string() },
        "dosageInstruction": [dosage],
        "dispenseRequest": dispense,
    });
    if let Some(why) = &r.end_reason {
        resource["statusReason"] = json!({ "text": why });
    }
    if let (true, Some(reason)) = (staff, &r.override_reason) {
        let note = r
            .override_note
            .as_ref()
            .map_or_else(|| reason.clone(), |n| format!("{reason}: {n}"));
        resource["note"] = json!([{ "text": format!("Safety alert overridden: {note}") }]);
    }
    resource
}

fn dispense(d: &DispenseRow, subject: &Value) -> Value {
    json!({
        "resourceType": "MedicationDispense",
        "id": d.id.to_string(),
        "status": "completed",
        "medicationCodeableConcept": { "text": d.medicine },
        "subject": subject,
        "authorizingPrescription": [{ "reference": format!("MedicationRequest/{}", d.line_id) }],
        "quantity": { "value": d.quantity, "unit": d.quantity_unit },
        "whenHandedOver": instant(d.dispensed_at),
        "performer": [{ "actor": { "display": d.dispensed_by } }],
        "note": [{ "text": format!("Batch {}, expires {}", d.batch, d.expires_on.format("%Y-%m-%d")) }],
    })
}

/// The resources for the bundle; `staff` includes the prescribers' override notes.
pub fn resources(m: &Medicines, subject: &Value, staff: bool) -> Vec<Value> {
    m.requests
        .iter()
        .map(|r| request(r, subject, staff))
        .chain(m.dispenses.iter().map(|d| dispense(d, subject)))
        .collect()
}

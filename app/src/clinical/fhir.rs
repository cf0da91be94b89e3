//! The patient's record as a FHIR R4 `Bundle` (`GET /fhir/R4/Patient/{id}/$everything`):
//! Patient, AllergyIntolerance, Condition, Observation (vital signs, LOINC codes,
//! UCUM units), Encounter (one per signed visit note) and DocumentReference (with
//! size and SHA-1 hash, as FHIR's `Attachment` carries it), MedicationRequest and
//! MedicationDispense (`prescribing::fhir`).
//!
//! Staff who may read patients get the whole record; the patient gets what the
//! clinic released to them (no drafts, only approved documents). Every export is
//! audited before it is answered.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::vitals::{Measures, Reading};
use super::{Allergy, AllergyCategory, EntryStatus, Note, NoteStatus, Problem};
use crate::db::Db;
use crate::documents::{PatientDocument, ReviewStatus};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::permissions::Permission;
use crate::identity::Standing;
use crate::patients::{Patient, PatientStatus, Sex};
use crate::site::SiteInfo;

pub const CONTENT_TYPE: &str = "application/fhir+json";

const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const SNOMED: &str = "http://snomed.info/sct";

/// What the bundle is made of.
pub struct Record {
    pub patient: Patient,
    pub lists: crate::patients::lists::RegistryLists,
    pub allergies: Vec<Allergy>,
    pub problems: Vec<Problem>,
    pub vitals: Vec<Reading>,
    pub notes: Vec<Note>,
    pub documents: Vec<PatientDocument>,
    pub medicines: crate::prescribing::fhir::Medicines,
}

/// Who asked, and so how much of the record they get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Patient,
}

/// The `$everything` bundle for `patient_id`, for whoever is signed in on `site`.
/// Another clinic's patient, or a record this person may not have, is `NotFound`.
pub async fn everything(
    db: &Db,
    site: &SiteInfo,
    meta: &RequestMeta,
    patient_id: Uuid,
) -> Result<Value, AppError> {
    let (record, audience) = gather(db, site, meta, patient_id, "FHIR R4 $everything").await?;
    Ok(bundle(
        &record,
        audience,
        &site_base(site, meta),
        Utc::now(),
    ))
}

/// The clinic site's absolute address (no trailing slash), as bundles need.
fn site_base(site: &SiteInfo, meta: &RequestMeta) -> String {
    format!("{}{}", meta.origin, site.href(""))
        .trim_end_matches('/')
        .to_owned()
}

/// The most document bytes one archive carries; a larger record is exported as
/// the bundle and its documents one by one.
pub const MAX_ZIP_DOCUMENT_BYTES: i64 = 200 * 1024 * 1024;

/// The whole record as one zip: `record.fhir.json` (the `$everything` bundle) and
/// the documents this person may have under `documents/`. Audited as one export.
pub async fn record_zip(
    db: &Db,
    storage: &crate::storage::Storage,
    site: &SiteInfo,
    meta: &RequestMeta,
    patient_id: Uuid,
) -> Result<Vec<u8>, AppError> {
    use crate::documents::zip::{dos_time, ZipWriter};
    let (record, audience) = gather(db, site, meta, patient_id, "whole record (zip)").await?;
    let tenant = site.tenant.as_ref().ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let bundle = bundle(&record, audience, &site_base(site, meta), now);
    let when = dos_time(now.with_timezone(&tenant.settings.tz()).naive_local());
    let files: Vec<&PatientDocument> = record
        .documents
        .iter()
        .filter(|d| d.status != ReviewStatus::EnteredInError)
        .collect();
    let total: i64 = files.iter().map(|d| d.size_bytes).sum();
    if total > MAX_ZIP_DOCUMENT_BYTES {
        return Err(AppError::Invalid(
            "the documents are too large for one archive: download the FHIR record and the documents one by one".into(),
        ));
    }
    let mut zip = ZipWriter::default();
    let json = serde_json::to_vec_pretty(&bundle).map_err(|_| AppError::Internal)?;
    zip.add("record.fhir.json", &json, when)
        .map_err(|m| AppError::Invalid(m.into()))?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    for (i, d) in files.iter().enumerate() {
        let Some((_, key)) = crate::documents::db::get(&mut tx, d.id).await? else {
            continue;
        };
        let bytes = storage
            .get(&key)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "document read failed");
                AppError::Internal
            })?
            .ok_or_else(|| {
                tracing::error!(document = %d.id, "a filed document's bytes are missing");
                AppError::Internal
            })?;
        let kind = crate::documents::FileType::sniff(&bytes).map_err(|_| AppError::Internal)?;
        let name = format!(
            "documents/{:02}-{}",
            i + 1,
            crate::documents::download_name(&d.file_name, kind)
        );
        zip.add(&name, &bytes, when)
            .map_err(|m| AppError::Invalid(m.into()))?;
    }
    tx.commit().await?;
    Ok(zip.finish())
}

/// Reads the record for whoever is signed in on `site` (staff who may read
/// patients and see this one; the patient for their own record) and audits the
/// export, naming `what`.
async fn gather(
    db: &Db,
    site: &SiteInfo,
    meta: &RequestMeta,
    patient_id: Uuid,
    what: &str,
) -> Result<(Record, Audience), AppError> {
    let tenant = site.tenant.as_ref().ok_or(AppError::NotFound)?;
    let viewer = site.viewer.as_ref().ok_or(AppError::Unauthenticated)?;
    if viewer.support.is_some() {
        return Err(AppError::Forbidden);
    }
    let (audience, role) = match viewer.standing {
        Standing::Staff { role, .. } if role.can(Permission::PatientsRead) => {
            (Audience::Staff, Some(role.as_str()))
        }
        Standing::Patient { patient_id: own } if own == patient_id => (Audience::Patient, None),
        Standing::Patient { .. } => return Err(AppError::NotFound),
        _ => return Err(AppError::Forbidden),
    };
    let mut tx = db.begin_for(tenant.id).await?;
    let patient = crate::patients::db::get(&mut tx, patient_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if audience == Audience::Staff {
        crate::patients::api::ssr::ensure_visible(&mut tx, viewer, patient_id)
            .await
            .map_err(|_| AppError::NotFound)?;
    }
    let record = Record {
        lists: crate::patients::db::lists(&mut tx, patient_id).await?,
        allergies: super::db::allergies(&mut tx, patient_id).await?,
        problems: super::db::problems(&mut tx, patient_id).await?,
        vitals: super::db::vitals(&mut tx, patient_id, i64::from(i32::MAX)).await?,
        notes: super::db::notes(&mut tx, patient_id).await?,
        documents: crate::documents::db::for_patient(
            &mut tx,
            patient_id,
            audience == Audience::Patient,
        )
        .await?,
        medicines: crate::prescribing::fhir::medicines(&mut tx, patient_id).await?,
        patient,
    };
    audit::record_for_patient(
        &mut tx,
        Actor::account(viewer.account_id, viewer.email.as_str()),
        role,
        patient_id,
        match audience {
            Audience::Staff => "record.exported",
            Audience::Patient => "portal.record_exported",
        },
        Some(what),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok((record, audience))
}

/// The bundle itself: a `collection` whose first entry is the Patient. `base` is
/// the clinic site's absolute address (no trailing slash).
pub fn bundle(r: &Record, audience: Audience, base: &str, now: DateTime<Utc>) -> Value {
    let subject = json!({ "reference": format!("Patient/{}", r.patient.id) });
    let mut resources = vec![patient(&r.patient, &r.lists)];
    resources.extend(r.allergies.iter().map(|a| allergy(a, &subject)));
    resources.extend(r.problems.iter().map(|p| condition(p, &subject)));
    for reading in &r.vitals {
        resources.extend(observations(reading, &subject));
    }
    resources.extend(
        r.notes
            .iter()
            .filter(|n| n.status == NoteStatus::Signed && n.addendum_to.is_none())
            .map(|n| encounter(n, &subject)),
    );
    resources.extend(crate::prescribing::fhir::resources(
        &r.medicines,
        &subject,
        audience == Audience::Staff,
    ));
    resources.extend(
        r.documents
            .iter()
            .filter(|d| audience == Audience::Staff || d.status == ReviewStatus::Approved)
            .map(|d| document(d, &subject, base)),
    );
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let url = format!(
                "{base}/fhir/R4/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({ "fullUrl": url, "resource": resource })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "meta": { "lastUpdated": instant(now) },
        "type": "collection",
        "timestamp": instant(now),
        "entry": entries,
    })
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn patient(p: &Patient, lists: &crate::patients::lists::RegistryLists) -> Value {
    let mut telecom = Vec::new();
    if let Some(phone) = &p.phone {
        telecom.push(json!({ "system": "phone", "value": phone }));
    }
    if let Some(email) = &p.email {
        telecom.push(json!({ "system": "email", "value": email }));
    }
    let mut name = json!({ "use": "official", "family": p.family_name, "given": [p.given_name] });
    if let Some(pref) = &p.details.preferred_name {
        name = json!([name, { "use": "usual", "given": [pref] }]);
    } else {
        name = json!([name]);
    }
    let mut v = json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "identifier": [{
            "use": "usual",
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR" }], "text": "Medical record number" },
            "system": "urn:medisync:mrn",
            "value": p.mrn.as_str(),
        }],
        "active": !p.archived && p.status != PatientStatus::Inactive,
        "name": name,
        "gender": match p.sex {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        },
        "birthDate": day(p.birth_date),
    });
    if !telecom.is_empty() {
        v["telecom"] = json!(telecom);
    }
    if let Some(ids) = v["identifier"].as_array_mut() {
        ids.extend(lists.identifiers.iter().map(
            |i| json!({ "use": "secondary", "type": { "text": i.system }, "value": i.value }),
        ));
    }
    if !lists.contacts.is_empty() {
        v["contact"] = json!(lists
            .contacts
            .iter()
            .map(|k| json!({
                "relationship": [{ "text": k.relation }],
                "name": { "text": k.name },
                "telecom": [{ "system": "phone", "value": k.phone, "rank": if k.primary { 1 } else { 2 } }],
            }))
            .collect::<Vec<_>>());
    }
    if let Some(address) = &p.details.address {
        v["address"] = json!([{ "text": address }]);
    }
    if let Some(language) = &p.details.preferred_language {
        v["communication"] = json!([{ "language": { "text": language }, "preferred": true }]);
    }
    if let Some(died) = p.deceased_on {
        v["deceasedDateTime"] = json!(day(died));
    }
    v
}

/// The clinical and verification status of an entry: an entry in error carries
/// no clinical status (FHIR's invariant), only its verification status.
fn statuses(status: EntryStatus, clinical_system: &str) -> (Option<Value>, Value) {
    let verification_system = if clinical_system.contains("allergy") {
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
    } else {
        "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    };
    let coded =
        |system: &str, code: &str| json!({ "coding": [{ "system": system, "code": code }] });
    let clinical = match status {
        EntryStatus::Active | EntryStatus::Chronic => Some("active"),
        EntryStatus::Inactive => Some("inactive"),
        EntryStatus::Resolved => Some("resolved"),
        EntryStatus::EnteredInError => None,
    };
    let verification = if status == EntryStatus::EnteredInError {
        "entered-in-error"
    } else {
        "confirmed"
    };
    (
        clinical.map(|c| coded(clinical_system, c)),
        coded(verification_system, verification),
    )
}

fn allergy(a: &Allergy, subject: &Value) -> Value {
    let (clinical, verification) = statuses(
        a.status,
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
    );
    let code = if a.none_known {
        json!({ "coding": [{ "system": SNOMED, "code": "716186003", "display": "No known allergy" }], "text": "No known allergies" })
    } else {
        json!({ "text": a.substance })
    };
    let mut v = json!({
        "resourceType": "AllergyIntolerance",
        "id": a.id.to_string(),
        "verificationStatus": verification,
        "code": code,
        "patient": subject,
        "recordedDate": instant(a.recorded_at),
    });
    if let Some(c) = clinical {
        v["clinicalStatus"] = c;
    }
    if !a.none_known {
        v["criticality"] = json!(a.criticality.as_str());
        let category = match a.category {
            AllergyCategory::Medication => Some("medication"),
            AllergyCategory::Food => Some("food"),
            AllergyCategory::Environment => Some("environment"),
            AllergyCategory::Biologic => Some("biologic"),
            AllergyCategory::Other => None,
        };
        if let Some(c) = category {
            v["category"] = json!([c]);
        }
    }
    if let Some(onset) = a.onset_on {
        v["onsetDateTime"] = json!(day(onset));
    }
    if let Some(reaction) = &a.reaction {
        let mut r = json!({ "manifestation": [{ "text": reaction }] });
        if let Some(s) = a.severity {
            r["severity"] = json!(s.as_str());
        }
        v["reaction"] = json!([r]);
    }
    v
}

fn condition(p: &Problem, subject: &Value) -> Value {
    let (clinical, verification) = statuses(
        p.status,
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
    );
    let mut code = json!({ "text": p.description });
    if let Some(c) = &p.code {
        code["coding"] = json!([{ "system": ICD10CM, "code": c, "display": p.description }]);
    }
    let mut v = json!({
        "resourceType": "Condition",
        "id": p.id.to_string(),
        "verificationStatus": verification,
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "problem-list-item",
        }] }],
        "code": code,
        "subject": subject,
        "recordedDate": instant(p.recorded_at),
    });
    if let Some(c) = clinical {
        v["clinicalStatus"] = c;
    }
    if let Some(onset) = p.onset_on {
        v["onsetDateTime"] = json!(day(onset));
    }
    v
}

/// One vital sign: its LOINC code and name, and its UCUM unit.
struct Vital {
    loinc: &'static str,
    name: &'static str,
    unit: &'static str,
    value: f64,
}

fn quantity(value: f64, unit: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": UCUM, "code": unit })
}

fn coding(loinc: &str, name: &str) -> Value {
    json!({ "coding": [{ "system": LOINC, "code": loinc, "display": name }], "text": name })
}

/// One Observation per measure of the reading (blood pressure as one panel).
fn observations(r: &Reading, subject: &Value) -> Vec<Value> {
    let m: &Measures = &r.measures;
    let mut single = Vec::new();
    let mut push = |loinc, name, unit, value: Option<f64>| {
        if let Some(value) = value {
            single.push(Vital {
                loinc,
                name,
                unit,
                value,
            });
        }
    };
    push(
        "8302-2",
        "Body height",
        "cm",
        m.height_mm.map(|v| f64::from(v) / 10.0),
    );
    push(
        "29463-7",
        "Body weight",
        "kg",
        m.weight_g.map(|v| f64::from(v) / 1000.0),
    );
    push("39156-5", "Body mass index", "kg/m2", m.bmi());
    push("8867-4", "Heart rate", "/min", m.pulse.map(f64::from));
    push(
        "8310-5",
        "Body temperature",
        "Cel",
        m.temperature_dc.map(|v| f64::from(v) / 10.0),
    );
    push(
        "59408-5",
        "Oxygen saturation in arterial blood by pulse oximetry",
        "%",
        m.spo2.map(f64::from),
    );
    push(
        "9279-1",
        "Respiratory rate",
        "/min",
        m.resp_rate.map(f64::from),
    );
    let base = |id: String, code: Value| {
        json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
                "display": "Vital Signs",
            }] }],
            "code": code,
            "subject": subject,
            "effectiveDateTime": instant(r.taken_at),
        })
    };
    let mut out: Vec<Value> = single
        .into_iter()
        .map(|v| {
            let mut o = base(member_id(r.id, v.loinc), coding(v.loinc, v.name));
            o["valueQuantity"] = quantity(v.value, v.unit);
            o
        })
        .collect();
    if let (Some(sys), Some(dia)) = (m.systolic, m.diastolic) {
        let mut o = base(
            member_id(r.id, "85354-9"),
            coding("85354-9", "Blood pressure panel with all children optional"),
        );
        o["component"] = json!([
            { "code": coding("8480-6", "Systolic blood pressure"), "valueQuantity": quantity(f64::from(sys), "mm[Hg]") },
            { "code": coding("8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(f64::from(dia), "mm[Hg]") },
        ]);
        out.push(o);
    }
    out
}

/// A stable id for one measure of a reading: the same export twice names the
/// same Observation.
fn member_id(reading: Uuid, loinc: &str) -> String {
    format!("{reading}-{loinc}")
}

fn encounter(n: &Note, subject: &Value) -> Value {
    let when = instant(n.signed_at.unwrap_or(n.created_at));
    json!({
        "resourceType": "Encounter",
        "id": n.id.to_string(),
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [{ "text": n.title }],
        "subject": subject,
        "participant": [{ "individual": { "display": n.author } }],
        "period": { "start": instant(n.created_at), "end": when },
    })
}

fn document(d: &PatientDocument, subject: &Value, base: &str) -> Value {
    let status = if d.status == ReviewStatus::EnteredInError {
        "entered-in-error"
    } else {
        "current"
    };
    let mut attachment = json!({
        "contentType": d.content_type,
        "url": format!("{base}{}", crate::documents::download_path(d.id)),
        "size": d.size_bytes,
        "title": d.file_name,
        "creation": instant(d.uploaded_at),
    });
    if !d.sha1.is_empty() {
        attachment["hash"] = json!(d.sha1);
    }
    let mut v = json!({
        "resourceType": "DocumentReference",
        "id": d.id.to_string(),
        "status": status,
        "docStatus": if d.status == ReviewStatus::Approved { "final" } else { "preliminary" },
        "type": { "text": d.kind.label() },
        "subject": subject,
        "date": instant(d.uploaded_at),
        "description": d.title,
        "content": [{ "attachment": attachment }],
    });
    if let Some(r) = d.report_date {
        v["context"] = json!({ "period": { "start": day(r) } });
    }
    v
}

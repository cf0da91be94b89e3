//! The record as FHIR R4 (issue 12): `GET /fhir/R4/Patient/{id}/$everything`
//! answers a Bundle that an independent validator (PyPI fhir.resources, R4B)
//! accepts resource by resource, with LOINC-coded vitals in UCUM units and
//! documents with their size and hash; for the clinic's staff and the patient
//! themselves only, every export audited.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::raw_pool;
use crate::self_service::{patient_of, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{Browser, Reply};
use support::TestDb;

on_both_backends!(
    the_whole_record_exports_as_a_valid_fhir_bundle,
    the_export_is_for_the_clinic_and_the_patient_only,
    the_whole_record_downloads_as_one_zip_with_its_documents,
);

fn everything_path(patient: &str) -> String {
    format!("/t/acme/fhir/R4/Patient/{patient}/$everything")
}

async fn call_ok(b: &Browser, name: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let r = b
        .call("localhost", &format!("/t/acme/api/{name}"), form)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
    r.json()
}

/// Runs the independent validator on `bundle`; panics with its findings.
fn assert_valid_fhir(bundle: &str) {
    use std::io::Write;
    let python = std::env::var("MEDISYNC_FHIR_PYTHON")
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/fhir_validate.py");
    let mut child = std::process::Command::new(&python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("the FHIR validator could not start ({python}): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bundle.as_bytes())
        .expect("write bundle");
    let out = child.wait_with_output().expect("validator");
    assert!(
        out.status.success(),
        "the FHIR validator refused the bundle (exit {:?}; run scripts/setup.sh if it is missing):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

fn resources<'a>(bundle: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| &e["resource"])
                .filter(|r| r["resourceType"] == kind)
                .collect()
        })
        .unwrap_or_default()
}

async fn upload_pdf(b: &Browser, patient: &str, title: &str, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new()
        .text("patient_id", patient.to_owned())
        .text("kind", "lab_report")
        .text("title", title.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("report.pdf"),
        );
    let res = b
        .client
        .post(format!("http://{}/t/acme/api/upload_document", b.addr))
        .header("host", format!("localhost:{}", b.addr.port()))
        .header("origin", format!("http://localhost:{}", b.addr.port()))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<String>().await.expect("id")
}

/// A chart with one of everything, on the fixture clinic's portal patient.
async fn a_full_chart(doctor: &Browser, nurse: &Browser) -> (String, Vec<u8>) {
    let found = call_ok(doctor, "list_patients", &[("query", "MRN-1")]).await;
    let p = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    call_ok(
        doctor,
        "add_allergy",
        &[
            ("patient_id", &p),
            ("substance", "Penicillins"),
            ("category", "medication"),
            ("criticality", "high"),
            ("severity", "severe"),
            ("reaction", "Hives"),
            ("onset_on", "2015-06-01"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "add_allergy",
        &[
            ("patient_id", &p),
            ("substance", "Latex"),
            ("category", "other"),
            ("criticality", "low"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "add_problem",
        &[
            ("patient_id", &p),
            ("code", "E11.9"),
            ("onset_on", "2020-01-15"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "add_problem",
        &[
            ("patient_id", &p),
            ("description", "Knee pain after a fall"),
        ],
    )
    .await;
    call_ok(
        nurse,
        "record_vitals",
        &[
            ("patient_id", &p),
            ("units", "metric"),
            ("height", "172"),
            ("weight", "70.5"),
            ("blood_pressure", "128/82"),
            ("pulse", "71"),
            ("temperature", "37.2"),
            ("spo2", "98"),
            ("resp_rate", "14"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "save_note",
        &[
            ("patient_id", &p),
            ("title", "Diabetes review"),
            ("plan", "HbA1c in three months"),
            ("sign", "yes"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "save_note",
        &[
            ("patient_id", &p),
            ("title", "Draft"),
            ("plan", "Unfinished"),
        ],
    )
    .await;
    let bytes = b"%PDF-1.4\n% HbA1c 7.1 %\n%%EOF\n".to_vec();
    let approved = upload_pdf(doctor, &p, "HbA1c", bytes.clone()).await;
    call_ok(
        doctor,
        "review_document",
        &[
            ("patient_id", &p),
            ("document_id", &approved),
            ("decision", "approved"),
        ],
    )
    .await;
    upload_pdf(
        doctor,
        &p,
        "Unreviewed scan",
        b"%PDF-1.4\n% pending\n".to_vec(),
    )
    .await;
    call_ok(
        doctor,
        "add_emergency_contact",
        &[
            ("patient_id", &p),
            ("name", "Ravi Nair"),
            ("relation", "brother"),
            ("phone", "+12125550100"),
            ("primary", "yes"),
        ],
    )
    .await;
    call_ok(
        doctor,
        "add_identifier",
        &[
            ("patient_id", &p),
            ("system", "National ID"),
            ("value", "123-45-6789"),
        ],
    )
    .await;
    // Two prescriptions (one as needed), the first part dispensed.
    use crate::prescribing::{prescribe_answering_alerts, rx_line};
    let mut lines = rx_line(0, "Paracetamol 500 mg tablet", "1", "tablet", "1-0-1", "5");
    lines.push(("lines[0][refills]".into(), "1".into()));
    lines.push(("lines[0][instructions]".into(), "After food".into()));
    lines.extend(rx_line(
        1,
        "Ibuprofen 400 mg tablet",
        "400",
        "mg",
        "as needed",
        "",
    ));
    lines.push(("lines[1][prn_indication]".into(), "knee pain".into()));
    lines.push(("lines[1][quantity]".into(), "12".into()));
    prescribe_answering_alerts(doctor, &p, &lines).await;
    (p, bytes)
}

async fn the_whole_record_exports_as_a_valid_fhir_bundle(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = support::server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let (p, bytes) = a_full_chart(&doctor, &nurse).await;
    let pharmacist = staff_of(addr, "acme", Role::Pharmacist).await;
    let queue = pharmacist.api_ok("acme", "dispensing_queue", &[]).await;
    let rx = &queue[0]["prescription"];
    let line = rx["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["medicine"] == "Paracetamol 500 mg tablet")
        .expect("paracetamol line");
    pharmacist
        .api_ok(
            "acme",
            "dispense",
            &[
                ("prescription_id", rx["id"].as_str().expect("id")),
                ("line_id", line["id"].as_str().expect("line")),
                ("quantity", "6"),
                ("batch", "PCM-1"),
                ("expires_on", "2099-01-01"),
            ],
        )
        .await;

    let r: Reply = doctor.get("localhost", &everything_path(&p)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/fhir+json");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_valid_fhir(&r.body);
    let bundle = r.json();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "Patient");
    let me = &bundle["entry"][0]["resource"];
    assert_eq!(me["id"], p.as_str());
    assert_eq!(me["contact"][0]["name"]["text"], "Ravi Nair");
    assert_eq!(me["contact"][0]["telecom"][0]["value"], "+12125550100");
    assert_eq!(me["identifier"][1]["type"]["text"], "National ID");
    assert_eq!(me["identifier"][1]["value"], "123-45-6789");
    for entry in bundle["entry"].as_array().expect("entries") {
        let url = entry["fullUrl"].as_str().unwrap_or_default();
        assert!(
            url.starts_with("http://localhost:") && url.contains("/t/acme/fhir/R4/"),
            "{url}"
        );
    }

    // Prescriptions: structured dosage and dispense request; what was dispensed.
    let requests = resources(&bundle, "MedicationRequest");
    assert_eq!(requests.len(), 2);
    let para = requests
        .iter()
        .find(|r| r["medicationCodeableConcept"]["text"] == "Paracetamol 500 mg tablet")
        .expect("paracetamol");
    assert_eq!(para["status"], "active");
    assert_eq!(para["dispenseRequest"]["quantity"]["value"], 10);
    assert_eq!(para["dispenseRequest"]["numberOfRepeatsAllowed"], 1);
    assert_eq!(
        para["dosageInstruction"][0]["timing"]["repeat"]["when"],
        serde_json::json!(["MORN", "NIGHT"])
    );
    assert_eq!(
        para["dosageInstruction"][0]["patientInstruction"],
        "After food"
    );
    let prn = requests
        .iter()
        .find(|r| r["medicationCodeableConcept"]["text"] == "Ibuprofen 400 mg tablet")
        .expect("ibuprofen");
    assert_eq!(
        prn["dosageInstruction"][0]["asNeededCodeableConcept"]["text"],
        "knee pain"
    );
    let dispenses = resources(&bundle, "MedicationDispense");
    assert_eq!(dispenses.len(), 1);
    assert_eq!(dispenses[0]["quantity"]["value"], 6);
    assert_eq!(
        dispenses[0]["authorizingPrescription"][0]["reference"],
        format!("MedicationRequest/{}", para["id"].as_str().expect("id"))
    );

    // Both allergies (one of a category FHIR does not list); the ICD-10-CM problem coded.
    let allergies = resources(&bundle, "AllergyIntolerance");
    assert_eq!(allergies.len(), 2);
    let penicillin = allergies
        .iter()
        .find(|a| a["code"]["text"] == "Penicillins" && a["reaction"].is_array())
        .expect("penicillin");
    assert_eq!(penicillin["criticality"], "high");
    assert_eq!(penicillin["reaction"][0]["severity"], "severe");
    let conditions = resources(&bundle, "Condition");
    assert!(conditions.iter().any(|c| c["code"]["coding"][0]["system"]
        == "http://hl7.org/fhir/sid/icd-10-cm"
        && c["code"]["coding"][0]["code"] == "E11.9"));
    assert!(conditions
        .iter()
        .any(|c| c["code"]["text"] == "Knee pain after a fall" && c["code"]["coding"].is_null()));

    // Vitals: LOINC codes and UCUM units, blood pressure as one panel.
    let observations = resources(&bundle, "Observation");
    let value_of = |loinc: &str| {
        observations
            .iter()
            .find(|o| o["code"]["coding"][0]["code"] == loinc)
            .map(|o| {
                (
                    o["valueQuantity"]["value"].as_f64().unwrap_or(f64::NAN),
                    o["valueQuantity"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    o["valueQuantity"]["system"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("no observation {loinc}"))
    };
    let ucum = "http://unitsofmeasure.org".to_owned();
    assert_eq!(value_of("8302-2"), (172.0, "cm".into(), ucum.clone()));
    assert_eq!(value_of("29463-7"), (70.5, "kg".into(), ucum.clone()));
    assert_eq!(value_of("39156-5"), (23.8, "kg/m2".into(), ucum.clone()));
    assert_eq!(value_of("8867-4"), (71.0, "/min".into(), ucum.clone()));
    assert_eq!(value_of("8310-5"), (37.2, "Cel".into(), ucum.clone()));
    assert_eq!(value_of("59408-5"), (98.0, "%".into(), ucum.clone()));
    assert_eq!(value_of("9279-1"), (14.0, "/min".into(), ucum.clone()));
    let bp = observations
        .iter()
        .find(|o| o["code"]["coding"][0]["code"] == "85354-9")
        .expect("blood pressure panel");
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], 128.0);
    assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");

    // Signed notes are encounters; drafts are not.
    let encounters = resources(&bundle, "Encounter");
    assert_eq!(encounters.len(), 1, "{encounters:?}");
    assert_eq!(encounters[0]["type"][0]["text"], "Diabetes review");

    // Documents with size and FHIR's SHA-1 hash; staff see pending ones too.
    let documents = resources(&bundle, "DocumentReference");
    assert_eq!(documents.len(), 2, "the approved and the pending one");
    let hba1c = documents
        .iter()
        .find(|d| d["description"] == "HbA1c")
        .expect("the approved report");
    let attachment = &hba1c["content"][0]["attachment"];
    assert_eq!(attachment["size"].as_u64(), Some(bytes.len() as u64));
    let sha1 = {
        use sha1::Digest;
        data_encoding::BASE64.encode(&sha1::Sha1::digest(&bytes))
    };
    assert_eq!(attachment["hash"].as_str(), Some(sha1.as_str()));
    assert_eq!(hba1c["docStatus"], "final");
    let download = attachment["url"].as_str().unwrap_or_default();
    assert!(download.ends_with("/download"), "{download}");

    // The export is audited.
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'record.exported'")
            .await,
        1
    );
}

async fn the_export_is_for_the_clinic_and_the_patient_only(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = support::server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let (p, _) = a_full_chart(&doctor, &nurse).await;

    // The patient: their own record, as released to them.
    let patient = patient_of(addr, "acme").await;
    let own = patient.get("localhost", &everything_path(&p)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_valid_fhir(&own.body);
    let bundle = own.json();
    let titles: Vec<&str> = resources(&bundle, "DocumentReference")
        .iter()
        .filter_map(|d| d["description"].as_str())
        .collect();
    assert_eq!(titles, vec!["HbA1c"], "only approved documents");

    // Anyone else's record, for the patient: not found.
    let someone_else = call_ok(
        &doctor,
        "register_patient",
        &[
            ("given_name", "Other"),
            ("family_name", "Person"),
            ("birth_date", "1970-01-01"),
            ("sex", "male"),
        ],
    )
    .await;
    let other_id = someone_else
        .as_str()
        .and_then(|landing| landing.rsplit('/').next())
        .expect("new chart")
        .to_owned();
    let r = patient.get("localhost", &everything_path(&other_id)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");

    // Signed out: 401; another clinic's staff: their session does not count
    // here, and at their own clinic the id is not found.
    let nobody = Browser::new(addr);
    let r = nobody.get("localhost", &everything_path(&p)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
    let theirs = staff_of(addr, "other", Role::Owner).await;
    assert_eq!(
        theirs.get("localhost", &everything_path(&p)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let at_theirs = theirs
        .get(
            "localhost",
            &format!("/t/other/fhir/R4/Patient/{p}/$everything"),
        )
        .await;
    assert_eq!(at_theirs.status, StatusCode::NOT_FOUND);
    for bad in ["nonsense", "0190aaaa-0000-7000-8000-000000000000"] {
        assert_eq!(
            doctor.get("localhost", &everything_path(bad)).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'portal.record_exported'")
            .await,
        1
    );
}

/// Opens a zip with Python's own `zipfile` (an independent reader that checks
/// every CRC): its file names and its `record.fhir.json`.
fn read_zip(bytes: &[u8]) -> (Vec<String>, String) {
    use std::io::Write;
    let script = "import io, json, sys, zipfile\n\
        z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
        bad = z.testzip()\n\
        assert bad is None, f'corrupt entry {bad}'\n\
        print(json.dumps({'names': z.namelist(), 'record': z.read('record.fhir.json').decode()}))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write zip");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names = v["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    (names, v["record"].as_str().unwrap_or_default().to_owned())
}

async fn zip_of(
    b: &Browser,
    slug: &str,
    patient: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = b
        .client
        .get(format!(
            "http://{}/t/{slug}/records/{patient}/download",
            b.addr
        ))
        .header("host", format!("localhost:{}", b.addr.port()))
        .send()
        .await
        .expect("zip");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.expect("bytes").to_vec())
}

async fn the_whole_record_downloads_as_one_zip_with_its_documents(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = support::server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let (p, _) = a_full_chart(&doctor, &nurse).await;

    let (status, headers, bytes) = zip_of(&doctor, "acme", &p).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"health-record.zip\""
    );
    let (names, record) = read_zip(&bytes);
    assert_eq!(
        names,
        vec![
            "record.fhir.json",
            "documents/01-report.pdf",
            "documents/02-report.pdf"
        ],
        "the bundle and both documents (staff see pending ones too)"
    );
    assert_valid_fhir(&record);

    // The patient's zip holds what was released to them.
    let patient = patient_of(addr, "acme").await;
    let (status, _, bytes) = zip_of(&patient, "acme", &p).await;
    assert_eq!(status, StatusCode::OK);
    let (names, _) = read_zip(&bytes);
    assert_eq!(names, vec!["record.fhir.json", "documents/01-report.pdf"]);

    // Nobody else: signed out goes to sign-in; another clinic's staff find nothing.
    assert_eq!(
        zip_of(&Browser::new(addr), "acme", &p).await.0,
        StatusCode::SEE_OTHER
    );
    let theirs = staff_of(addr, "other", Role::Owner).await;
    assert_eq!(zip_of(&theirs, "other", &p).await.0, StatusCode::NOT_FOUND);
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE target = 'whole record (zip)'")
            .await,
        2
    );
}

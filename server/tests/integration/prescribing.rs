//! Prescribing and medication safety (issue 13): the check runs on the server
//! and never passes silently; interruptive alerts need a reason, stored and
//! audited; dispensing never exceeds what was prescribed, held by the database;
//! only doctors prescribe and only pharmacists dispense.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::raw_pool;
use crate::self_service::{field_of, patient_of, register, staff_of};
use crate::support;
use app::db::Backend;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    a_penicillin_allergy_interrupts_amoxicillin_until_a_reason_is_given,
    interactions_interrupt_when_high_and_only_inform_when_moderate,
    a_check_that_cannot_run_says_so_and_needs_an_acknowledgement,
    prescriptions_are_validated_and_quantities_counted,
    dispensing_never_exceeds_the_prescription,
    the_database_keeps_prescriptions_and_dispensing_honest,
    only_doctors_prescribe_and_only_pharmacists_dispense,
    a_patient_asks_for_a_refill_and_the_prescriber_answers,
    a_prescription_prints_and_downloads_as_a_pdf_in_any_script,
    a_clinic_brand_is_checked_as_the_generic_it_contains,
    medicines_from_elsewhere_are_checked_and_a_review_stops_or_continues_each,
    a_prescription_is_written_from_a_visit_note_of_the_patient,
);

const AMOXICILLIN: &str = "Amoxicillin 500 mg capsule";
const WARFARIN: &str = "Warfarin 5 mg tablet";
const IBUPROFEN: &str = "Ibuprofen 400 mg tablet";
const PARACETAMOL: &str = "Paracetamol 500 mg tablet";

/// One line of a prescription form: medicine, dose and unit, frequency, days.
fn line(
    n: usize,
    medicine: &str,
    dose: &str,
    unit: &str,
    frequency: &str,
    days: &str,
) -> Vec<(String, String)> {
    [
        ("medicine", medicine),
        ("dose", dose),
        ("dose_unit", unit),
        ("frequency", frequency),
        ("duration_days", days),
    ]
    .iter()
    .map(|(k, v)| (format!("lines[{n}][{k}]"), (*v).to_owned()))
    .collect()
}

async fn prescribe(b: &Browser, patient: &str, fields: &[(String, String)]) -> Reply {
    let mut form: Vec<(&str, &str)> = vec![("patient_id", patient)];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    b.api("acme", "prescribe", &form).await
}

/// The review a refused prescription carries: `Field("alerts", <json>)`.
fn review(r: &Reply) -> serde_json::Value {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(field_of(r), "alerts", "{}", r.body);
    serde_json::from_str(r.json()["Field"][1].as_str().expect("review")).expect("review json")
}

fn alerts(review: &serde_json::Value) -> Vec<(String, String)> {
    review["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["level"].as_str().unwrap_or_default().to_owned(),
                a["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every alert key of a review, as the form posts them back in `seen`.
fn seen(review: &serde_json::Value) -> (String, String) {
    let keys: Vec<&str> = review["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    ("seen".to_owned(), keys.join(" "))
}

fn with(mut a: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    a.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    a
}

async fn medicines(b: &Browser, patient: &str) -> serde_json::Value {
    b.api_ok("acme", "medications", &[("patient_id", patient)])
        .await
}

async fn record_allergy(doctor: &Browser, patient: &str, substance: &str, criticality: &str) {
    doctor
        .api_ok(
            "acme",
            "add_allergy",
            &[
                ("patient_id", patient),
                ("substance", substance),
                ("category", "medication"),
                ("criticality", criticality),
                ("severity", "severe"),
                ("reaction", "hives and wheeze"),
            ],
        )
        .await;
}

async fn no_known_allergies(doctor: &Browser, patient: &str) {
    doctor
        .api_ok("acme", "no_known_allergies", &[("patient_id", patient)])
        .await;
}

async fn a_penicillin_allergy_interrupts_amoxicillin_until_a_reason_is_given(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let pharmacist = staff_of(addr, "acme", Role::Pharmacist).await;
    let patient = register(&doctor, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    record_allergy(&doctor, &patient, "Penicillins", "high").await;

    let amoxicillin = line(0, AMOXICILLIN, "500", "mg", "1-0-1", "5");
    let first = review(&prescribe(&doctor, &patient, &amoxicillin).await);
    assert_eq!(
        alerts(&first),
        vec![("Interruptive".into(), "allergy:penicillins".into())]
    );
    let alert = &first["alerts"][0];
    let detail = alert["detail"].as_str().expect("detail");
    assert!(alert["title"]
        .as_str()
        .expect("title")
        .contains("Penicillins"));
    assert!(
        detail.contains("hives and wheeze")
            && detail.contains("severe")
            && detail.contains("Recorded by"),
        "{detail}"
    );
    assert!(first["kb_version"].is_string());
    assert!(medicines(&doctor, &patient).await["prescriptions"]
        .as_array()
        .expect("list")
        .is_empty());

    // Seen, but no reason: still refused.
    let again = review(&prescribe(&doctor, &patient, &with(amoxicillin.clone(), &[])).await);
    let (k, v) = seen(&again);
    let no_reason = prescribe(&doctor, &patient, &with(amoxicillin.clone(), &[(&k, &v)])).await;
    assert_eq!(field_of(&no_reason), "alerts");
    // "Other" needs a note.
    let other = prescribe(
        &doctor,
        &patient,
        &with(
            amoxicillin.clone(),
            &[
                (&k, &v),
                ("lines[0][override_reason]", "Other (explained in the note)"),
            ],
        ),
    )
    .await;
    assert_eq!(
        field_of(&other),
        "lines[0][override_note]",
        "{}",
        other.body
    );
    // A reason from the list: saved, with the reason on the line.
    let saved = prescribe(
        &doctor,
        &patient,
        &with(
            amoxicillin,
            &[
                (&k, &v),
                (
                    "lines[0][override_reason]",
                    "Tolerated this medicine before",
                ),
            ],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let list = medicines(&doctor, &patient).await;
    let line0 = &list["prescriptions"][0]["lines"][0];
    assert_eq!(line0["override_reason"], "Tolerated this medicine before");
    assert_eq!(line0["quantity"], 10, "1 capsule twice a day for 5 days");
    assert_eq!(line0["alerts"][0]["rule"], "allergy:penicillins");
    assert_eq!(list["prescriptions"][0]["check_status"], "performed");

    // The pharmacist's queue shows the override.
    let queue = pharmacist.api_ok("acme", "dispensing_queue", &[]).await;
    let item = queue
        .as_array()
        .expect("queue")
        .iter()
        .find(|i| i["prescription"]["patient_id"] == patient.as_str())
        .expect("in the queue");
    assert_eq!(
        item["prescription"]["lines"][0]["override_reason"],
        "Tolerated this medicine before"
    );

    // Audited, and counted for the owners' report.
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count(
            "SELECT count(*) FROM audit_events WHERE action = 'prescription.alert_overridden'"
        )
        .await,
        1
    );
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let figures = owner.api_ok("acme", "clinic_report", &[]).await;
    assert!(figures["medication_alerts"]
        .as_array()
        .expect("the reports page shows the alerts")
        .iter()
        .any(|r| r["rule"] == "allergy:penicillins"));
    let report = owner.api_ok("acme", "medication_alert_report", &[]).await;
    let rule = report
        .as_array()
        .expect("report")
        .iter()
        .find(|r| r["rule"] == "allergy:penicillins")
        .expect("rule counted");
    assert_eq!(
        (rule["shown"].as_i64(), rule["overridden"].as_i64()),
        (Some(2), Some(1)),
        "{report}"
    );
}

async fn interactions_interrupt_when_high_and_only_inform_when_moderate(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let patient = register(&doctor, "acme", "Ben", "Adeyemi", "1950-06-07", &[]).await;
    no_known_allergies(&doctor, &patient).await;

    // Warfarin alone: nothing to say, saved at once.
    let saved = prescribe(
        &doctor,
        &patient,
        &line(0, WARFARIN, "1", "tablet", "0-0-1", "30"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // Ibuprofen against the active warfarin: interruptive.
    let ibuprofen = line(0, IBUPROFEN, "400", "mg", "1-1-1", "5");
    let r = review(&prescribe(&doctor, &patient, &ibuprofen).await);
    assert!(
        alerts(&r).contains(&("Interruptive".into(), "interaction:warfarin+nsaids".into())),
        "{r}"
    );
    // Both in one prescription: the same alert.
    let other = register(&doctor, "acme", "Cy", "Bello", "1951-06-07", &[]).await;
    no_known_allergies(&doctor, &other).await;
    let mut both = line(0, WARFARIN, "1", "tablet", "0-0-1", "30");
    both.extend(line(1, IBUPROFEN, "400", "mg", "1-1-1", "5"));
    let r = review(&prescribe(&doctor, &other, &both).await);
    assert!(alerts(&r).contains(&("Interruptive".into(), "interaction:warfarin+nsaids".into())));
    // A free-text name that names a known ingredient is still checked.
    let gel = line(0, "ibuprofen gel", "1", "application", "1-1-1", "5");
    // A typed medicine has no route of its own: the prescriber chooses it.
    let no_route = prescribe(&doctor, &patient, &gel).await;
    assert_eq!(field_of(&no_route), "lines[0][route]", "{}", no_route.body);
    let typed = review(
        &prescribe(
            &doctor,
            &patient,
            &with(gel, &[("lines[0][route]", "topical")]),
        )
        .await,
    );
    assert!(
        alerts(&typed).contains(&("Interruptive".into(), "interaction:warfarin+nsaids".into())),
        "{typed}"
    );
    // Safe medicines raise nothing and save at once.
    let safe = prescribe(
        &doctor,
        &other,
        &line(0, PARACETAMOL, "1", "tablet", "1-1-1", "3"),
    )
    .await;
    assert_eq!(safe.status, StatusCode::OK, "{}", safe.body);
    // The same medicine twice: a warning kept on the line, not a stop.
    let twice = prescribe(
        &doctor,
        &other,
        &line(0, PARACETAMOL, "1", "tablet", "1-0-1", "3"),
    )
    .await;
    assert_eq!(twice.status, StatusCode::OK, "{}", twice.body);
    let list = medicines(&doctor, &other).await;
    let rules: Vec<&str> = list["prescriptions"][0]["lines"][0]["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert_eq!(rules, vec!["duplicate:paracetamol"]);
}

async fn a_check_that_cannot_run_says_so_and_needs_an_acknowledgement(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    // Allergies never recorded: the allergy check cannot run.
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let patient = register(&doctor, "acme", "Dee", "Nwosu", "1990-01-01", &[]).await;
    let para = line(0, PARACETAMOL, "1", "tablet", "1-0-1", "3");
    let r = review(&prescribe(&doctor, &patient, &para).await);
    assert_eq!(
        alerts(&r),
        vec![("Unchecked".into(), "allergies-not-recorded".into())]
    );
    let (k, v) = seen(&r);
    let unacknowledged = prescribe(&doctor, &patient, &with(para.clone(), &[(&k, &v)])).await;
    assert_eq!(field_of(&unacknowledged), "alerts");
    let saved = prescribe(
        &doctor,
        &patient,
        &with(para, &[(&k, &v), ("acknowledge", "yes")]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let list = medicines(&doctor, &patient).await;
    assert_eq!(list["prescriptions"][0]["check_status"], "partial");

    // A medicine the knowledge base does not know.
    no_known_allergies(&doctor, &patient).await;
    let tonic = with(
        line(0, "Herbal tonic X", "10", "ml", "1-0-1", "3"),
        &[("lines[0][route]", "oral")],
    );
    let r = review(&prescribe(&doctor, &patient, &tonic).await);
    assert_eq!(
        alerts(&r),
        vec![("Unchecked".into(), "unknown-medicine".into())]
    );

    // No knowledge base at all: nothing was checked, and the screen says so.
    let broken = server::start(&t.db, |c| {
        c.knowledge_base = Some("/nonexistent/medisync-kb.json".into());
    })
    .await;
    let doctor = staff_of(broken, "acme", Role::Doctor).await;
    let panel = medicines(&doctor, &patient).await;
    assert!(panel["kb_version"].is_null());
    // Without the formulary a name is just text, so the route is chosen.
    let warfarin = with(
        line(0, WARFARIN, "1", "tablet", "0-0-1", "30"),
        &[("lines[0][route]", "oral")],
    );
    let r = review(&prescribe(&doctor, &patient, &warfarin).await);
    assert_eq!(
        r["alerts"][0]["title"],
        "Allergy/interaction check NOT performed"
    );
    assert!(r["kb_version"].is_null());
    let (k, v) = seen(&r);
    let saved = prescribe(
        &doctor,
        &patient,
        &with(warfarin, &[(&k, &v), ("acknowledge", "yes")]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let list = medicines(&doctor, &patient).await;
    let newest = &list["prescriptions"][0];
    assert_eq!(newest["check_status"], "not-performed");
    assert!(newest["kb_version"].is_null());
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'prescription.unchecked_acknowledged'").await,
        2
    );
}

async fn prescriptions_are_validated_and_quantities_counted(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let patient = register(&doctor, "acme", "Eve", "Mensah", "2019-01-01", &[]).await;
    no_known_allergies(&doctor, &patient).await;
    for (fields, field) in [
        (
            line(0, PARACETAMOL, "0", "tablet", "1-0-1", "3"),
            "lines[0][dose]",
        ),
        (
            line(0, PARACETAMOL, "-1", "tablet", "1-0-1", "3"),
            "lines[0][dose]",
        ),
        (
            line(0, PARACETAMOL, "1", "spoonful", "1-0-1", "3"),
            "lines[0][dose_unit]",
        ),
        (
            line(0, PARACETAMOL, "1", "tablet", "often", "3"),
            "lines[0][frequency]",
        ),
        (
            line(0, PARACETAMOL, "1", "tablet", "1-0-1", "400"),
            "lines[0][duration_days]",
        ),
        (
            line(0, PARACETAMOL, "1", "tablet", "1-0-1", ""),
            "lines[0][duration_days]",
        ),
        (
            line(0, PARACETAMOL, "1", "tablet", "as needed", ""),
            "lines[0][prn_indication]",
        ),
        (
            with(
                line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
                &[("lines[0][quantity]", "4")],
            ),
            "lines[0][quantity]",
        ),
        (
            with(
                line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
                &[("lines[0][quantity]", "500")],
            ),
            "lines[0][quantity]",
        ),
        (
            with(
                line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
                &[("lines[0][refills]", "12")],
            ),
            "lines[0][refills]",
        ),
        (vec![], "lines[0][medicine]"),
    ] {
        let r = prescribe(&doctor, &patient, &fields).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{}", r.body);
    }
    // Counted: 250 mg of a 250 mg/5 ml suspension three times a day for 5 days is 75 ml.
    let syrup = prescribe(
        &doctor,
        &patient,
        &line(
            0,
            "Amoxicillin 250 mg/5 ml suspension",
            "250",
            "mg",
            "1-1-1",
            "5",
        ),
    )
    .await;
    assert_eq!(syrup.status, StatusCode::OK, "{}", syrup.body);
    // As needed: the quantity is typed.
    let prn = prescribe(
        &doctor,
        &patient,
        &with(
            line(0, PARACETAMOL, "1", "tablet", "as needed", ""),
            &[
                ("lines[0][prn_indication]", "fever"),
                ("lines[0][quantity]", "12"),
            ],
        ),
    )
    .await;
    assert_eq!(prn.status, StatusCode::OK, "{}", prn.body);
    let list = medicines(&doctor, &patient).await;
    let quantities: Vec<(i64, String)> = list["prescriptions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| {
            let l = &p["lines"][0];
            (
                l["quantity"].as_i64().unwrap_or_default(),
                l["sig"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(quantities[0].0, 12);
    assert!(
        quantities[0].1.contains("as needed for fever"),
        "{quantities:?}"
    );
    assert_eq!(quantities[1].0, 75);
}

/// A doctor prescribes 10 tablets with one refill for a new patient; answers
/// (patient, prescription id, line id).
async fn dispensable(doctor: &Browser) -> (String, String, String) {
    let patient = register(doctor, "acme", "Fay", "Osei", "1970-01-01", &[]).await;
    no_known_allergies(doctor, &patient).await;
    let r = prescribe(
        doctor,
        &patient,
        &with(
            line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
            &[("lines[0][refills]", "1")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = medicines(doctor, &patient).await;
    let p = &list["prescriptions"][0];
    (
        patient,
        p["id"].as_str().expect("id").to_owned(),
        p["lines"][0]["id"].as_str().expect("line").to_owned(),
    )
}

async fn dispensing_never_exceeds_the_prescription(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let pharmacist = staff_of(addr, "acme", Role::Pharmacist).await;
    let (patient, id, line) = dispensable(&doctor).await;
    let dispense = |q: &'static str, expires: &'static str| {
        let (id, line) = (id.clone(), line.clone());
        let pharmacist = &pharmacist;
        async move {
            pharmacist
                .api(
                    "acme",
                    "dispense",
                    &[
                        ("prescription_id", &id),
                        ("line_id", &line),
                        ("quantity", q),
                        ("batch", "B-42"),
                        ("expires_on", expires),
                    ],
                )
                .await
        }
    };
    // Expired stock is refused.
    let expired = dispense("4", "2020-01-01").await;
    assert_eq!(field_of(&expired), "expires_on", "{}", expired.body);
    // Part, then the rest of the first fill and the refill (20 in all).
    for q in ["4", "6", "10"] {
        let r = dispense(q, "2099-12-31").await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
    }
    let over = dispense("1", "2099-12-31").await;
    assert_eq!(field_of(&over), "quantity", "{}", over.body);
    assert!(over.body.contains("only 0"), "{}", over.body);
    let list = medicines(&doctor, &patient).await;
    assert_eq!(list["prescriptions"][0]["lines"][0]["dispensed"], 20);
    // Fully dispensed: out of the queue.
    let queue = pharmacist.api_ok("acme", "dispensing_queue", &[]).await;
    assert!(queue
        .as_array()
        .expect("queue")
        .iter()
        .all(|i| i["prescription"]["id"] != id.as_str()));

    // A discontinued prescription dispenses nothing.
    let (patient, id, line) = dispensable(&doctor).await;
    let no_reason = doctor
        .api(
            "acme",
            "end_prescription",
            &[
                ("patient_id", &patient),
                ("prescription_id", &id),
                ("status", "discontinued"),
            ],
        )
        .await;
    assert_eq!(field_of(&no_reason), "reason");
    doctor
        .api_ok(
            "acme",
            "end_prescription",
            &[
                ("patient_id", &patient),
                ("prescription_id", &id),
                ("status", "discontinued"),
                ("reason", "Rash appeared"),
            ],
        )
        .await;
    let r = pharmacist
        .api(
            "acme",
            "dispense",
            &[
                ("prescription_id", &id),
                ("line_id", &line),
                ("quantity", "1"),
                ("batch", "B-1"),
                ("expires_on", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(field_of(&r), "quantity", "{}", r.body);
    assert!(r.body.contains("discontinued"), "{}", r.body);
    // Ended once, ended for good.
    let again = doctor
        .api(
            "acme",
            "end_prescription",
            &[
                ("patient_id", &patient),
                ("prescription_id", &id),
                ("status", "completed"),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    let list = medicines(&doctor, &patient).await;
    assert_eq!(list["prescriptions"][0]["status"], "Discontinued");
    assert_eq!(list["prescriptions"][0]["end_reason"], "Rash appeared");
}

async fn the_database_keeps_prescriptions_and_dispensing_honest(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let (patient, id, _) = dispensable(&doctor).await;
    // A review leaves alert records behind.
    let tonic = with(
        line(0, "Herbal tonic X", "10", "ml", "1-0-1", "3"),
        &[("lines[0][route]", "oral")],
    );
    review(&prescribe(&doctor, &patient, &tonic).await);
    let raw = raw_pool(t).await;
    assert!(raw.count("SELECT count(*) FROM medication_alerts").await > 0);
    let new_id = match t.backend {
        Backend::Sqlite => "randomblob(16)",
        Backend::Postgres => "gen_random_uuid()",
    };
    // More than prescribed × (refills + 1), around the application.
    let over = format!(
        "INSERT INTO dispensings (tenant_id, id, line_id, prescription_id, patient_id, quantity, batch, \
         expires_on, dispensed_by, dispensed_at) SELECT l.tenant_id, {new_id}, l.id, l.prescription_id, \
         l.patient_id, 21, 'RAW', '2099-01-01', p.prescriber_id, '2026-01-01T00:00:00Z' \
         FROM prescription_lines l JOIN prescriptions p ON p.tenant_id = l.tenant_id AND p.id = l.prescription_id \
         WHERE l.medicine = '{PARACETAMOL}'"
    );
    assert!(
        raw.execute(&over).await.is_err(),
        "over-dispensing must be refused"
    );
    let within = over.replace(", 21, 'RAW'", ", 20, 'RAW'");
    assert_eq!(
        raw.execute(&within).await.expect("within the prescription"),
        1
    );
    for refused in [
        "UPDATE prescription_lines SET quantity = 999",
        "UPDATE dispensings SET quantity = 1",
        "DELETE FROM dispensings",
        "DELETE FROM prescription_lines",
        "DELETE FROM prescriptions",
        "DELETE FROM medication_alerts",
        "UPDATE prescriptions SET start_on = '2020-01-01'",
        "UPDATE prescriptions SET kb_version = 'forged'",
        "UPDATE prescriptions SET check_note = 'nothing to see'",
        "UPDATE prescriptions SET status = 'discontinued', ended_at = '2026-01-01T00:00:00Z'",
    ] {
        assert!(
            raw.execute(refused).await.is_err(),
            "{refused} must be refused"
        );
    }
    doctor
        .api_ok(
            "acme",
            "end_prescription",
            &[
                ("patient_id", &patient),
                ("prescription_id", &id),
                ("status", "completed"),
            ],
        )
        .await;
    // An ended prescription stays ended and dispenses nothing more.
    assert!(raw
        .execute("UPDATE prescriptions SET status = 'active', ended_at = NULL, ended_by = NULL WHERE status = 'completed'")
        .await
        .is_err());
    let after = over.replace(", 21, 'RAW'", ", 1, 'RAW'");
    assert!(
        raw.execute(&after).await.is_err(),
        "nothing dispensed from an ended prescription"
    );
}

async fn only_doctors_prescribe_and_only_pharmacists_dispense(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let (patient, id, line) = dispensable(&doctor).await;
    let para = line_fields();
    for role in [
        Role::Nurse,
        Role::Pharmacist,
        Role::Receptionist,
        Role::Owner,
    ] {
        let b = staff_of(addr, "acme", role).await;
        let r = prescribe(&b, &patient, &para).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{role:?} prescribes: {}",
            r.body
        );
    }
    for role in [Role::Doctor, Role::Nurse, Role::Owner] {
        let b = staff_of(addr, "acme", role).await;
        let r = b
            .api(
                "acme",
                "dispense",
                &[
                    ("prescription_id", &id),
                    ("line_id", &line),
                    ("quantity", "1"),
                    ("batch", "B"),
                    ("expires_on", "2099-01-01"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{role:?} dispenses: {}",
            r.body
        );
    }
    // Nurses read the medicines.
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    assert_eq!(medicines(&nurse, &patient).await["can_prescribe"], false);
    // Another clinic's ids are not found.
    let other = staff_of(addr, "globex", Role::Doctor).await;
    let r = other
        .api("globex", "medications", &[("patient_id", &patient)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let mut form: Vec<(&str, &str)> = vec![("patient_id", &patient)];
    form.extend(para.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = other.api("globex", "prescribe", &form).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let pharmacist = staff_of(addr, "globex", Role::Pharmacist).await;
    let r = pharmacist
        .api(
            "globex",
            "dispense",
            &[
                ("prescription_id", &id),
                ("line_id", &line),
                ("quantity", "1"),
                ("batch", "B"),
                ("expires_on", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let queue = pharmacist.api_ok("globex", "dispensing_queue", &[]).await;
    assert!(queue
        .as_array()
        .expect("queue")
        .iter()
        .all(|i| i["prescription"]["id"] != id.as_str()));
}

fn line_fields() -> Vec<(String, String)> {
    line(0, PARACETAMOL, "1", "tablet", "1-0-1", "3")
}

/// Prescribes `fields` for `patient`, answering whatever review comes back as a
/// prescriber who read it (a listed reason on each line, the acknowledgement).
pub(crate) async fn prescribe_answering_alerts(
    doctor: &Browser,
    patient: &str,
    fields: &[(String, String)],
) {
    let first = prescribe(doctor, patient, fields).await;
    if first.status == StatusCode::OK {
        return;
    }
    let r = review(&first);
    let (k, v) = seen(&r);
    let mut answered = with(fields.to_vec(), &[(&k, &v), ("acknowledge", "yes")]);
    for n in 0..20 {
        answered.push((
            format!("lines[{n}][override_reason]"),
            "Benefit outweighs the risk; will monitor".into(),
        ));
    }
    let saved = prescribe(doctor, patient, &answered).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// [`line`], public to other areas' tests.
pub(crate) fn rx_line(
    n: usize,
    medicine: &str,
    dose: &str,
    unit: &str,
    frequency: &str,
    days: &str,
) -> Vec<(String, String)> {
    line(n, medicine, dose, unit, frequency, days)
}

async fn a_patient_asks_for_a_refill_and_the_prescriber_answers(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let found = doctor
        .api_ok("acme", "list_patients", &[("query", "MRN-1")])
        .await;
    let patient = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    record_allergy(&doctor, &patient, "Penicillins", "high").await;
    prescribe_answering_alerts(
        &doctor,
        &patient,
        &line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
    )
    .await;
    prescribe_answering_alerts(
        &doctor,
        &patient,
        &line(0, AMOXICILLIN, "500", "mg", "1-0-1", "5"),
    )
    .await;

    // The portal shows the prescriptions, without the prescriber's override note.
    let me = patient_of(addr, "acme").await;
    let mine = me.api_ok("acme", "my_prescriptions", &[]).await;
    let lines: Vec<&serde_json::Value> = mine["prescriptions"]
        .as_array()
        .expect("prescriptions")
        .iter()
        .map(|p| &p["lines"][0])
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l["override_reason"].is_null() && l["alerts"] == serde_json::json!([])));
    let line_of = |name: &str| {
        lines
            .iter()
            .find(|l| l["medicine"] == name)
            .and_then(|l| l["id"].as_str())
            .expect("line")
            .to_owned()
    };
    let (para, amox) = (line_of(PARACETAMOL), line_of(AMOXICILLIN));

    // Another patient's line, or another clinic's, is not found; one request per line.
    let other = register(&doctor, "acme", "Gus", "Addo", "1960-01-01", &[]).await;
    no_known_allergies(&doctor, &other).await;
    prescribe_answering_alerts(
        &doctor,
        &other,
        &line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
    )
    .await;
    let theirs = medicines(&doctor, &other).await["prescriptions"][0]["lines"][0]["id"]
        .as_str()
        .expect("line")
        .to_owned();
    let r = me
        .api("acme", "request_refill", &[("line_id", &theirs)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    me.api_ok(
        "acme",
        "request_refill",
        &[("line_id", &para), ("note", "Running low")],
    )
    .await;
    let twice = me
        .api("acme", "request_refill", &[("line_id", &para)])
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    me.api_ok("acme", "request_refill", &[("line_id", &amox)])
        .await;
    let stranger = patient_of(addr, "globex").await;
    let r = stranger
        .api("globex", "request_refill", &[("line_id", &amox)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // On the prescriber's list; another doctor's list does not have them.
    let tasks = doctor.api_ok("acme", "refill_requests", &[]).await;
    let tasks = tasks["requests"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 2);
    let task = |medicine: &str| {
        tasks
            .iter()
            .find(|t| t["medicine"] == medicine)
            .and_then(|t| t["id"].as_str())
            .expect("task")
            .to_owned()
    };
    assert_eq!(
        tasks
            .iter()
            .find(|t| t["medicine"] == PARACETAMOL)
            .expect("task")["note"],
        "Running low"
    );

    // Declining needs a reason the patient reads.
    let no_reason = doctor
        .api(
            "acme",
            "decide_refill",
            &[("request_id", &task(PARACETAMOL)), ("decision", "decline")],
        )
        .await;
    assert_eq!(field_of(&no_reason), "reason");
    doctor
        .api_ok(
            "acme",
            "decide_refill",
            &[
                ("request_id", &task(PARACETAMOL)),
                ("decision", "decline"),
                ("reason", "Please book a review first"),
            ],
        )
        .await;
    // Approving the amoxicillin runs the check again: the allergy interrupts.
    let amox_task = task(AMOXICILLIN);
    let first = doctor
        .api(
            "acme",
            "decide_refill",
            &[("request_id", &amox_task), ("decision", "approve")],
        )
        .await;
    let r = review(&first);
    assert!(
        alerts(&r).contains(&("Interruptive".into(), "allergy:penicillins".into())),
        "{r}"
    );
    let (k, v) = seen(&r);
    doctor
        .api_ok(
            "acme",
            "decide_refill",
            &[
                ("request_id", &amox_task),
                ("decision", "approve"),
                (&k, &v),
                ("override_reason", "Tolerated this medicine before"),
            ],
        )
        .await;
    let again = doctor
        .api(
            "acme",
            "decide_refill",
            &[("request_id", &amox_task), ("decision", "approve")],
        )
        .await;
    assert_eq!(field_of(&again), "decision", "{}", again.body);

    // The patient reads both answers; the approval is a new prescription.
    let mine = me.api_ok("acme", "my_prescriptions", &[]).await;
    let states: Vec<(String, String)> = mine["refills"]
        .as_array()
        .expect("refills")
        .iter()
        .map(|r| {
            (
                r["medicine"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&(PARACETAMOL.into(), "declined".into())));
    assert!(states.contains(&(AMOXICILLIN.into(), "approved".into())));
    let declined = mine["refills"]
        .as_array()
        .expect("refills")
        .iter()
        .find(|r| r["status"] == "declined")
        .expect("declined");
    assert_eq!(declined["decline_reason"], "Please book a review first");
    assert_eq!(mine["prescriptions"].as_array().expect("list").len(), 3);
    let list = medicines(&doctor, &patient).await;
    assert_eq!(
        list["prescriptions"][0]["lines"][0]["override_reason"],
        "Tolerated this medicine before"
    );
}

/// The text of a PDF, as `pdftotext` (poppler) reads it.
fn pdf_text(bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("medisync-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("p.pdf");
    std::fs::write(&file, bytes).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext is needed to read PDFs back (scripts/setup.sh installs poppler-utils): {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 text")
}

async fn a_prescription_prints_and_downloads_as_a_pdf_in_any_script(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    // The letterhead carries the clinic's address: its clinic location's.
    let admin = staff_of(addr, "acme", Role::Admin).await;
    for (name, kind, address) in [
        ("Ward", "hospital", "1 Hospital Road"),
        ("Main branch", "clinic", "12 Park Street, Kolkata 700016"),
    ] {
        admin
            .api_ok(
                "acme",
                "add_location",
                &[
                    ("name", name),
                    ("kind", kind),
                    ("time_zone", "Asia/Kolkata"),
                    ("address", address),
                ],
            )
            .await;
    }
    let names = [("रमेश", "कुमार"), ("முருகன்", "செல்வம்")];
    for (given, family) in names {
        let patient = register(&doctor, "acme", given, family, "1975-05-05", &[]).await;
        record_allergy(&doctor, &patient, "Penicillins", "high").await;
        let mut lines = line(0, AMOXICILLIN, "500", "mg", "1-0-1", "5");
        lines.push(("lines[0][instructions]".into(), "खाने के बाद लें".into()));
        prescribe_answering_alerts(&doctor, &patient, &lines).await;
        let id = medicines(&doctor, &patient).await["prescriptions"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();

        // The PDF: shaped text that reads back as written; the clinic's copy shows the override.
        let pdf = doctor
            .get("localhost", &format!("/t/acme/prescriptions/{id}/pdf"))
            .await;
        assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        let res = doctor
            .client
            .get(format!(
                "http://{}/t/acme/prescriptions/{id}/pdf?size=a5",
                doctor.addr
            ))
            .header("host", format!("localhost:{}", doctor.addr.port()))
            .send()
            .await
            .expect("pdf");
        let bytes = res.bytes().await.expect("bytes");
        assert!(bytes.starts_with(b"%PDF-"));
        let text = pdf_text(&bytes);
        let name = format!("{given} {family}");
        // Every character comes back, in order. (Poppler's layout adds a space
        // after a Devanagari cluster whose vowel sign sits left of its advance,
        // "कु मार", so spaces are left out of the comparison of Indic text.)
        let bare = |t: &str| t.split_whitespace().collect::<String>();
        assert!(
            bare(&text).contains(&bare(&name)),
            "the patient's name {name} is not in the PDF's text:\n{text}"
        );
        assert!(bare(&text).contains(&bare("खाने के बाद लें")), "{text}");
        assert!(!text.contains('\u{FFFD}'), "{text}");
        assert!(text.contains("AMOXICILLIN 500 MG CAPSULE"), "{text}");
        assert!(text.contains("Alert overridden"), "{text}");
        assert!(text.contains("acme clinic"), "{text}");
        assert!(text.contains("12 Park Street, Kolkata 700016"), "{text}");
        assert!(!text.contains("Hospital Road"), "{text}");

        // The print page, on A5.
        let page = doctor
            .get(
                "localhost",
                &format!("/t/acme/prescriptions/{id}/print?size=a5"),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("data-size=\"a5\"") && page.body.contains("size: A5"),
            "{}",
            page.body
        );
        assert!(page.body.contains(&name) && page.body.contains("clinic copy"));
        assert!(page.body.contains("12 Park Street, Kolkata 700016"));
    }

    // The patient's own copy, from the portal, leaves the override out.
    let found = doctor
        .api_ok("acme", "list_patients", &[("query", "MRN-1")])
        .await;
    let own = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    record_allergy(&doctor, &own, "Penicillins", "high").await;
    prescribe_answering_alerts(
        &doctor,
        &own,
        &line(0, AMOXICILLIN, "500", "mg", "1-0-1", "5"),
    )
    .await;
    let id = medicines(&doctor, &own).await["prescriptions"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let me = patient_of(addr, "acme").await;
    let page = me
        .get("localhost", &format!("/t/acme/prescriptions/{id}/print"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("patient copy") && !page.body.contains("Alert overridden"));
    // Someone else's prescription, another clinic, or nobody: not found, or sign in.
    let other = register(&doctor, "acme", "Hal", "Quist", "1980-01-01", &[]).await;
    no_known_allergies(&doctor, &other).await;
    prescribe_answering_alerts(
        &doctor,
        &other,
        &line(0, PARACETAMOL, "1", "tablet", "1-0-1", "3"),
    )
    .await;
    let theirs = medicines(&doctor, &other).await["prescriptions"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = me
        .get("localhost", &format!("/t/acme/prescriptions/{theirs}/pdf"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let stranger = staff_of(addr, "globex", Role::Doctor).await;
    let r = stranger
        .get("localhost", &format!("/t/globex/prescriptions/{id}/print"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let nobody = Browser::new(addr);
    let r = nobody
        .get("localhost", &format!("/t/acme/prescriptions/{id}/pdf"))
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    let raw = raw_pool(t).await;
    assert!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'prescription.printed'")
            .await
            >= 4
    );
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'portal.prescription_printed'")
            .await,
        1
    );
}

async fn a_clinic_brand_is_checked_as_the_generic_it_contains(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let add = |name: &'static str, generic: &'static str| {
        let owner = &owner;
        async move {
            owner
                .api(
                    "acme",
                    "add_clinic_medicine",
                    &[
                        ("name", name),
                        ("strength", "500 mg"),
                        ("form", "capsule"),
                        ("route", "oral"),
                        ("generic", generic),
                    ],
                )
                .await
        }
    };
    let r = add("Amoxil", AMOXICILLIN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = add("Mystery", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let wrong = add("Oddity", "Not a medicine 1 mg tablet").await;
    assert_eq!(field_of(&wrong), "generic", "{}", wrong.body);
    let twice = add("amoxil", AMOXICILLIN).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    // Doctors prescribe from it but do not edit it.
    let r = doctor
        .api(
            "acme",
            "add_clinic_medicine",
            &[
                ("name", "X"),
                ("strength", "1 mg"),
                ("form", "tablet"),
                ("route", "oral"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let list = owner.api_ok("acme", "clinic_medicines", &[]).await;
    let amoxil = list["medicines"]
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["label"] == "Amoxil 500 mg capsule")
        .expect("amoxil");
    assert_eq!(amoxil["generic"], AMOXICILLIN);

    // The brand carries the generic's ingredients into the allergy check.
    let patient = register(&doctor, "acme", "Ivy", "Mensah", "1990-03-03", &[]).await;
    record_allergy(&doctor, &patient, "Penicillins", "high").await;
    let r = review(
        &prescribe(
            &doctor,
            &patient,
            &line(0, "Amoxil 500 mg capsule", "1", "capsule", "1-0-1", "5"),
        )
        .await,
    );
    assert!(
        alerts(&r).contains(&("Interruptive".into(), "allergy:penicillins".into())),
        "{r}"
    );
    // An unmapped one is prescribable, and says it could not be checked.
    let r = review(
        &prescribe(
            &doctor,
            &patient,
            &line(0, "Mystery 500 mg capsule", "1", "capsule", "1-0-1", "5"),
        )
        .await,
    );
    assert!(
        alerts(&r).contains(&("Unchecked".into(), "unknown-medicine".into())),
        "{r}"
    );
    // The medicines panel offers the clinic's own; a retired one is no longer offered.
    let panel = medicines(&doctor, &patient).await;
    assert!(panel["formulary"]
        .as_array()
        .expect("formulary")
        .iter()
        .any(|m| m == "Amoxil 500 mg capsule"));
    owner
        .api_ok(
            "acme",
            "set_clinic_medicine_active",
            &[
                ("medicine_id", amoxil["id"].as_str().expect("id")),
                ("active", "false"),
            ],
        )
        .await;
    let panel = medicines(&doctor, &patient).await;
    assert!(!panel["formulary"]
        .as_array()
        .expect("formulary")
        .iter()
        .any(|m| m == "Amoxil 500 mg capsule"));
    // Another clinic neither sees nor changes it.
    let other = staff_of(addr, "globex", Role::Owner).await;
    let theirs = other.api_ok("globex", "clinic_medicines", &[]).await;
    assert!(theirs["medicines"]
        .as_array()
        .expect("list")
        .iter()
        .all(|m| m["label"] != "Amoxil 500 mg capsule"));
    let r = other
        .api(
            "globex",
            "set_clinic_medicine_active",
            &[
                ("medicine_id", amoxil["id"].as_str().expect("id")),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

async fn medicines_from_elsewhere_are_checked_and_a_review_stops_or_continues_each(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let patient = register(&doctor, "acme", "Joy", "Tetteh", "1948-08-08", &[]).await;
    no_known_allergies(&doctor, &patient).await;
    // A nurse records what another doctor prescribed.
    nurse
        .api_ok(
            "acme",
            "add_other_medication",
            &[
                ("patient_id", &patient),
                ("medicine", "Warfarin 5 mg tablet"),
                ("dose", "1 at night"),
                ("source", "cardiologist"),
            ],
        )
        .await;
    nurse
        .api_ok(
            "acme",
            "add_other_medication",
            &[
                ("patient_id", &patient),
                ("medicine", "Grandma's herbal tea"),
            ],
        )
        .await;
    let r = nurse
        .api(
            "acme",
            "add_other_medication",
            &[("patient_id", &patient), ("medicine", " ")],
        )
        .await;
    assert_eq!(field_of(&r), "medicine");
    // It counts in the interaction check.
    let r = review(
        &prescribe(
            &doctor,
            &patient,
            &line(0, IBUPROFEN, "400", "mg", "1-1-1", "5"),
        )
        .await,
    );
    assert!(
        alerts(&r).contains(&("Interruptive".into(), "interaction:warfarin+nsaids".into())),
        "{r}"
    );
    prescribe_answering_alerts(
        &doctor,
        &patient,
        &line(0, PARACETAMOL, "1", "tablet", "1-0-1", "5"),
    )
    .await;
    let panel = medicines(&doctor, &patient).await;
    let other = panel["other"].as_array().expect("other").clone();
    assert_eq!(other.len(), 2);
    let tea = other
        .iter()
        .find(|o| o["medicine"] == "Grandma's herbal tea")
        .expect("tea");
    assert_eq!(tea["checked"], false);
    let warfarin = other
        .iter()
        .find(|o| o["medicine"] == "Warfarin 5 mg tablet")
        .expect("warfarin");
    let rx = panel["prescriptions"][0]["id"]
        .as_str()
        .expect("rx")
        .to_owned();

    // The review: stop the paracetamol and the warfarin, continue the tea.
    let keys = [
        format!("decisions[p{}]", rx.replace('-', "")),
        format!(
            "decisions[o{}]",
            warfarin["id"].as_str().expect("id").replace('-', "")
        ),
        format!(
            "decisions[o{}]",
            tea["id"].as_str().expect("id").replace('-', "")
        ),
    ];
    // Nurses record medicines but do not stop prescriptions.
    let r = nurse
        .api(
            "acme",
            "review_medications",
            &[("patient_id", &patient), (&keys[0], "stopped")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let bad = doctor
        .api(
            "acme",
            "review_medications",
            &[("patient_id", &patient), (&keys[0], "maybe")],
        )
        .await;
    assert_eq!(field_of(&bad), "decisions");
    let stranger = format!("decisions[p{}]", uuid::Uuid::new_v4().simple());
    let bad = doctor
        .api(
            "acme",
            "review_medications",
            &[("patient_id", &patient), (&stranger, "continued")],
        )
        .await;
    assert_eq!(field_of(&bad), "decisions");
    doctor
        .api_ok(
            "acme",
            "review_medications",
            &[
                ("patient_id", &patient),
                (&keys[0], "stopped"),
                (&keys[1], "stopped"),
                (&keys[2], "continued"),
            ],
        )
        .await;
    let panel = medicines(&doctor, &patient).await;
    assert_eq!(panel["prescriptions"][0]["status"], "Discontinued");
    assert_eq!(
        panel["prescriptions"][0]["end_reason"],
        "Stopped at a medication review"
    );
    let states: Vec<(String, bool)> = panel["other"]
        .as_array()
        .expect("other")
        .iter()
        .map(|o| {
            (
                o["medicine"].as_str().unwrap_or_default().to_owned(),
                o["active"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert!(states.contains(&("Warfarin 5 mg tablet".into(), false)));
    assert!(states.contains(&("Grandma's herbal tea".into(), true)));
    // With the warfarin stopped, ibuprofen no longer meets it.
    let r = prescribe(
        &doctor,
        &patient,
        &line(0, IBUPROFEN, "400", "mg", "1-1-1", "5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM medication_reviews WHERE decision = 'stopped'")
            .await,
        2
    );
    assert!(raw
        .execute("UPDATE medication_reviews SET decision = 'continued'")
        .await
        .is_err());
}

/// Writes and signs a visit note titled `title` for `patient`; answers its id.
async fn signed_note(doctor: &Browser, patient: &str, title: &str) -> String {
    let saved = doctor
        .call(
            "localhost",
            "/t/acme/api/save_note",
            &[
                ("patient_id", patient),
                ("title", title),
                ("subjective", "Sore throat for three days"),
                ("plan", "Antibiotics"),
                ("sign", "yes"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let panel = medicines(doctor, patient).await;
    panel["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .find(|n| n["label"].as_str().is_some_and(|l| l.starts_with(title)))
        .and_then(|n| n["id"].as_str())
        .expect("the note is offered")
        .to_owned()
}

async fn a_prescription_is_written_from_a_visit_note_of_the_patient(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let patient = register(&doctor, "acme", "Nila", "Raman", "1990-03-04", &[]).await;
    let other = register(&doctor, "acme", "Omar", "Haddad", "1970-07-08", &[]).await;
    no_known_allergies(&doctor, &patient).await;
    let note = signed_note(&doctor, &patient, "Throat review").await;
    let theirs = signed_note(&doctor, &other, "Knee review").await;
    let offered = medicines(&doctor, &patient).await["notes"].clone();
    assert_eq!(
        offered.as_array().map(Vec::len),
        Some(1),
        "only this patient's notes: {offered}"
    );

    // Another patient's note, or no note at all by that id: refused by field.
    for wrong in [
        theirs.as_str(),
        "00000000-0000-4000-8000-000000000000",
        "yesterday",
    ] {
        let r = prescribe(
            &doctor,
            &patient,
            &with(line_fields(), &[("visit_note_id", wrong)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(field_of(&r), "visit_note_id");
    }
    assert!(medicines(&doctor, &patient).await["prescriptions"]
        .as_array()
        .expect("list")
        .is_empty());

    // From the note: the prescription names it, for every reader of the chart.
    let saved = prescribe(
        &doctor,
        &patient,
        &with(line_fields(), &[("visit_note_id", &note)]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for reader in [&doctor, &nurse] {
        let from = medicines(reader, &patient).await["prescriptions"][0]["from_note"].clone();
        assert!(
            from.as_str()
                .is_some_and(|f| f.starts_with("Visit note “Throat review”")),
            "{from}"
        );
    }
    // The chart offers "Prescribe from this note" to the prescriber only, and the
    // form then starts with that note chosen.
    let chart = format!("/t/acme/staff/patients/{patient}");
    let page = doctor.get("localhost", &chart).await;
    assert!(
        page.body.contains("data-testid=\"prescribe-from-note\""),
        "{}",
        page.body
    );
    let chosen = doctor
        .get("localhost", &format!("{chart}?from_note={note}"))
        .await;
    assert!(
        chosen
            .body
            .contains(&format!("<option value=\"{note}\" selected")),
        "{}",
        chosen.body
    );
    let page = nurse.get("localhost", &chart).await;
    assert!(!page.body.contains("prescribe-from-note"));
}

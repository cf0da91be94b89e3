//! Erasure and retention (issue 12): the patient asks from the portal; an
//! administrator carries it out: the portal account goes, marketing consent is
//! revoked, and the record is restricted: out of lists, opened only by an
//! administrator with a reason, until the retention date; then the daily purge
//! deletes it, leaving a tombstone. Before that date the database refuses to
//! delete any of it, whoever asks.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::raw_pool;
use crate::self_service::{field_of, patient_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    the_patient_asks_and_an_administrator_restricts_the_record,
    the_purge_deletes_a_record_only_after_its_retention_and_leaves_a_tombstone,
);

async fn post(b: &Browser, name: &str, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", &format!("/t/acme/api/{name}"), form)
        .await
}

async fn ok(b: &Browser, name: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let r = post(b, name, form).await;
    assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
    r.json()
}

async fn the_patient_asks_and_an_administrator_restricts_the_record(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let patient = patient_of(addr, "acme").await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let found = ok(&doctor, "list_patients", &[("query", "MRN-1")]).await;
    let id = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    ok(
        &doctor,
        "record_consent",
        &[
            ("patient_id", &id),
            ("kind", "marketing"),
            ("decision", "granted"),
        ],
    )
    .await;

    // The request from the portal shows on the chart.
    ok(&patient, "request_erasure", &[]).await;
    let chart = ok(&doctor, "chart", &[("patient_id", &id)]).await;
    assert!(
        chart["erasure"]["requested_at"].is_string(),
        "{}",
        chart["erasure"]
    );

    // Only administrators carry it out; the form names what to fix.
    let refused = post(
        &doctor,
        "erase_patient",
        &[("patient_id", &id), ("confirm", "yes")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for (form, field) in [
        (vec![("patient_id", id.as_str())], "confirm"),
        (
            vec![
                ("patient_id", id.as_str()),
                ("retain_until", "2001-01-01"),
                ("confirm", "yes"),
            ],
            "retain_until",
        ),
        (
            vec![
                ("patient_id", id.as_str()),
                ("retain_until", "soon"),
                ("confirm", "yes"),
            ],
            "retain_until",
        ),
    ] {
        let r = post(&admin, "erase_patient", &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(field_of(&r), field);
    }
    ok(
        &admin,
        "erase_patient",
        &[("patient_id", &id), ("confirm", "yes")],
    )
    .await;

    // The portal account is gone from the record and signed out.
    assert_ne!(
        post(&patient, "my_record", &[]).await.status,
        StatusCode::OK
    );
    // Out of lists and search.
    let found = ok(&doctor, "list_patients", &[("query", "MRN-1")]).await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(0));
    // Nobody reads it without a reason: not the doctor, not the FHIR export,
    // not an administrator until they give one.
    for b in [&doctor, &admin] {
        let r = post(b, "chart", &[("patient_id", &id)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(field_of(&r), "restricted");
    }
    let export = doctor
        .get(
            "localhost",
            &format!("/t/acme/fhir/R4/Patient/{id}/$everything"),
        )
        .await;
    assert_ne!(export.status, StatusCode::OK);
    let short = post(
        &admin,
        "open_restricted",
        &[("patient_id", &id), ("reason", "audit")],
    )
    .await;
    assert_eq!(field_of(&short), "reason");
    let by_doctor = post(
        &doctor,
        "open_restricted",
        &[
            ("patient_id", &id),
            ("reason", "Court order 2026/118 asks for the record"),
        ],
    )
    .await;
    assert_eq!(by_doctor.status, StatusCode::FORBIDDEN);
    ok(
        &admin,
        "open_restricted",
        &[
            ("patient_id", &id),
            ("reason", "Court order 2026/118 asks for the record"),
        ],
    )
    .await;
    let chart = ok(&admin, "chart", &[("patient_id", &id)]).await;
    let until = chart["erasure"]["retain_until"]
        .as_str()
        .expect("retained until");
    let today = chrono::Utc::now().date_naive();
    let years = until[..4].parse::<i32>().expect("year") - chrono::Datelike::year(&today);
    assert_eq!(years, 10, "kept ten years by default: {until}");
    let marketing = chart["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .find(|c| {
            c["kind"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("marketing"))
        })
        .cloned()
        .expect("marketing consent");
    assert_eq!(marketing["granted"], false, "marketing consent revoked");
    // The opening is the administrator's own: the doctor is still refused.
    assert_eq!(
        post(&doctor, "chart", &[("patient_id", &id)]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count(
            "SELECT count(*) FROM audit_events WHERE action IN \
             ('portal.erasure_requested', 'patient.erased', 'patient.restricted_opened')"
        )
        .await,
        3
    );
}

async fn the_purge_deletes_a_record_only_after_its_retention_and_leaves_a_tombstone(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let leaving = register(&doctor, "acme", "Lena", "Novak", "1970-07-07", &[]).await;
    let staying = register(&doctor, "acme", "Tomas", "Novak", "1972-02-02", &[]).await;
    for p in [&leaving, &staying] {
        ok(
            &doctor,
            "add_allergy",
            &[
                ("patient_id", p),
                ("substance", "Latex"),
                ("category", "environment"),
                ("criticality", "low"),
            ],
        )
        .await;
        ok(
            &doctor,
            "record_vitals",
            &[("patient_id", p), ("pulse", "64")],
        )
        .await;
        ok(
            &doctor,
            "record_consent",
            &[
                ("patient_id", p),
                ("kind", "treatment"),
                ("decision", "granted"),
            ],
        )
        .await;
        ok(
            &doctor,
            "save_note",
            &[
                ("patient_id", p),
                ("title", "Visit"),
                ("subjective", "Well"),
                ("sign", "yes"),
            ],
        )
        .await;
    }
    let note = ok(&doctor, "chart", &[("patient_id", &leaving)]).await["notes"][0]["id"]
        .as_str()
        .expect("note")
        .to_owned();
    ok(
        &doctor,
        "add_addendum",
        &[
            ("patient_id", &leaving),
            ("note_id", &note),
            ("text", "Seen again"),
        ],
    )
    .await;
    ok(
        &admin,
        "erase_patient",
        &[("patient_id", &leaving), ("confirm", "yes")],
    )
    .await;

    // Before retention ends, nothing clinical can be deleted, around the
    // application too.
    let raw = raw_pool(t).await;
    for table in ["allergies", "vitals", "visit_notes", "patient_consents"] {
        assert!(
            raw.execute(&format!("DELETE FROM {table}")).await.is_err(),
            "{table}: deleted before retention"
        );
    }
    let storage = app::storage::Storage::local(
        &std::env::temp_dir().join(format!("medisync-purge-{}", uuid::Uuid::now_v7())),
    )
    .expect("storage");
    let none = app::patients::erasure::purge_due(&t.db, &storage)
        .await
        .expect("purge");
    assert_eq!(none.records, 0, "nothing is due yet");

    // Once the retention date has passed, the daily purge deletes the record's
    // rows and leaves a tombstone; nobody else's rows are touched.
    raw.execute("UPDATE patients SET retain_until = '2001-01-01' WHERE restricted_at IS NOT NULL")
        .await
        .expect("backdate the retention");
    let done = app::patients::erasure::purge_due(&t.db, &storage)
        .await
        .expect("purge");
    assert_eq!(done.records, 1);
    let rows_of = |table: &str, who: &str| {
        format!("SELECT count(*) FROM {table} WHERE patient_id IN (SELECT id FROM patients WHERE given_name = '{who}')")
    };
    for table in ["allergies", "vitals", "visit_notes", "patient_consents"] {
        assert_eq!(raw.count(&rows_of(table, "Purged")).await, 0, "{table}");
        assert!(raw.count(&rows_of(table, "Tomas")).await >= 1, "{table}");
    }
    assert_eq!(
        raw.count("SELECT count(*) FROM patients WHERE purged_at IS NOT NULL AND given_name = 'Purged' AND email IS NULL")
            .await,
        1
    );
    assert_eq!(
        raw.count("SELECT count(*) FROM patients WHERE given_name = 'Lena'")
            .await,
        0
    );
    // The audit trail stays whole, with the purge in it.
    assert!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'patient.purged'")
            .await
            == 1
    );
    let reports = app::identity::audit::verify_tenants(&t.db, Some("acme"))
        .await
        .expect("verify");
    assert!(
        reports.iter().all(|(_, r)| r.broken.is_none()),
        "{reports:?}"
    );
    // The other patient's record still cannot be deleted.
    assert!(raw.execute("DELETE FROM allergies").await.is_err());
}

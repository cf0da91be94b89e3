//! The registry's lists (issue 12): emergency contacts, insurance entries and
//! identifiers from other systems. One primary at a time (held by the
//! database), one patient per identifier in a clinic, entries removed by marking
//! them (kept, never deleted), every field checked and named.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::{id_literal, raw_pool};
use crate::self_service::{field_of, patient_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    contacts_insurance_and_identifiers_keep_one_primary_and_their_history,
    each_person_finds_the_charts_they_opened_last,
    the_patient_asks_for_a_correction_and_reads_the_answer,
    doctors_see_only_their_own_patients_when_the_clinic_says_so,
    record_numbers_and_retention_follow_the_clinics_settings,
);

async fn post(b: &Browser, name: &str, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", &format!("/t/acme/api/{name}"), form)
        .await
}

async fn lists_of(b: &Browser, patient: &str) -> serde_json::Value {
    let r = post(b, "chart", &[("patient_id", patient)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["lists"].clone()
}

async fn contacts_insurance_and_identifiers_keep_one_primary_and_their_history(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let found = post(&desk, "list_patients", &[("query", "MRN-1")])
        .await
        .json();
    let p = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    let second = post(
        &desk,
        "register_patient",
        &[
            ("given_name", "Second"),
            ("family_name", "Patient"),
            ("birth_date", "1980-02-02"),
            ("sex", "female"),
        ],
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let q = second
        .json()
        .as_str()
        .and_then(|l| l.rsplit('/').next().map(str::to_owned))
        .expect("second patient");

    // Contacts: the newest primary wins; the phone is normalised.
    for (name, primary) in [
        ("Ravi Nair", "yes"),
        ("Meera Nair", "yes"),
        ("Old Friend", ""),
    ] {
        let r = post(
            &desk,
            "add_emergency_contact",
            &[
                ("patient_id", &p),
                ("name", name),
                ("relation", "family"),
                ("phone", "+44 20 7946 0958"),
                ("primary", primary),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let lists = lists_of(&desk, &p).await;
    let contacts = lists["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 3);
    assert_eq!(contacts[0]["name"], "Meera Nair");
    assert_eq!(contacts[0]["primary"], true);
    assert_eq!(
        contacts.iter().filter(|c| c["primary"] == true).count(),
        1,
        "one primary"
    );
    assert_eq!(contacts[0]["phone"], "+442079460958");

    // Every field is checked and named.
    for (form, field) in [
        (
            vec![
                ("name", "R"),
                ("relation", "son"),
                ("phone", "+442079460958"),
            ],
            "name",
        ),
        (
            vec![
                ("name", "Ravi"),
                ("relation", ""),
                ("phone", "+442079460958"),
            ],
            "relation",
        ),
        (
            vec![("name", "Ravi"), ("relation", "son"), ("phone", "call me")],
            "phone",
        ),
        (
            vec![
                ("name", "<b>Ravi</b>"),
                ("relation", "son"),
                ("phone", "+442079460958"),
            ],
            "name",
        ),
    ] {
        let mut form = form;
        form.push(("patient_id", &p));
        let r = post(&desk, "add_emergency_contact", &form).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.into()),
            "{}",
            r.body
        );
    }

    // Insurance: dates of cover in order.
    let bad = post(
        &desk,
        "add_insurance",
        &[
            ("patient_id", &p),
            ("provider", "Bupa"),
            ("policy_number", "B-1"),
            ("valid_from", "2026-06-01"),
            ("valid_to", "2026-01-01"),
        ],
    )
    .await;
    assert_eq!(
        (bad.status, field_of(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, "valid_to".into())
    );
    let good = post(
        &desk,
        "add_insurance",
        &[
            ("patient_id", &p),
            ("provider", "Bupa"),
            ("policy_number", "B-1"),
            ("group_number", "G7"),
            ("valid_from", "2026-01-01"),
            ("primary", "yes"),
        ],
    )
    .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    let lists = lists_of(&desk, &p).await;
    assert_eq!(lists["insurance"][0]["group_number"], "G7");

    // Identifiers: one patient per identifier in the clinic.
    let national = [("system", "National ID"), ("value", "AB 12 34 56 C")];
    let first = post(
        &desk,
        "add_identifier",
        &[[("patient_id", p.as_str())].as_slice(), &national].concat(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let clash = post(
        &desk,
        "add_identifier",
        &[[("patient_id", q.as_str())].as_slice(), &national].concat(),
    )
    .await;
    assert_eq!(
        (clash.status, field_of(&clash)),
        (StatusCode::UNPROCESSABLE_ENTITY, "value".into())
    );

    // Removing keeps the row: the identifier is free again, the history stays.
    let lists = lists_of(&desk, &p).await;
    let id = lists["identifiers"][0]["id"]
        .as_str()
        .expect("identifier")
        .to_owned();
    let removed = post(
        &desk,
        "remove_registry_entry",
        &[
            ("patient_id", &p),
            ("list", "identifier"),
            ("entry_id", &id),
        ],
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(
        lists_of(&desk, &p).await["identifiers"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let again = post(
        &desk,
        "remove_registry_entry",
        &[
            ("patient_id", &p),
            ("list", "identifier"),
            ("entry_id", &id),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let moved = post(
        &desk,
        "add_identifier",
        &[[("patient_id", q.as_str())].as_slice(), &national].concat(),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);

    // Around the application: the rows are kept, one primary is a database rule.
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM patient_identifiers WHERE removed_at IS NOT NULL")
            .await,
        1
    );
    let patient = id_literal(t, &p);
    assert!(
        raw.execute(&format!(
            "DELETE FROM patient_contacts WHERE patient_id = {patient}"
        ))
        .await
        .is_err(),
        "contacts are never deleted"
    );
    let truthy = match t.backend {
        app::db::Backend::Sqlite => "1",
        app::db::Backend::Postgres => "true",
    };
    assert!(
        raw.execute(&format!(
            "UPDATE patient_contacts SET is_primary = {truthy} WHERE patient_id = {patient}"
        ))
        .await
        .is_err(),
        "two primary contacts"
    );

    // Another clinic's patient: not found; billing may not edit the registry.
    let theirs = staff_of(addr, "other", Role::Receptionist).await;
    let r = theirs
        .call(
            "localhost",
            "/t/other/api/add_identifier",
            &[
                ("patient_id", p.as_str()),
                ("system", "National ID"),
                ("value", "X1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let r = post(
        &billing,
        "add_identifier",
        &[
            ("patient_id", &p),
            ("system", "National ID"),
            ("value", "X2"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn each_person_finds_the_charts_they_opened_last(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let names = [
        "Alba", "Bruno", "Chiara", "Dario", "Elena", "Fabio", "Giulia", "Hugo", "Irene", "Jonas",
        "Klara", "Luca",
    ];
    let mut ids = Vec::new();
    for (i, given) in names.iter().enumerate() {
        let birth = format!("19{:02}-03-04", 50 + i);
        let r = post(
            &doctor,
            "register_patient",
            &[
                ("given_name", given),
                ("family_name", "Rossi"),
                ("birth_date", &birth),
                ("sex", "other"),
                ("confirm_new", "yes"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let id = r
            .json()
            .as_str()
            .and_then(|l| l.rsplit('/').next().map(str::to_owned))
            .expect("chart address");
        ids.push(id);
    }
    let recent = |b: Browser| async move {
        let r = post(&b, "recent_patients", &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        recent(doctor.clone()).await.is_empty(),
        "nothing opened yet"
    );
    for id in &ids {
        lists_of(&doctor, id).await;
    }
    // Opening one again moves it to the front; only the newest ten are kept.
    lists_of(&doctor, &ids[5]).await;
    let seen = recent(doctor.clone()).await;
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert_eq!(seen[0], "Fabio Rossi");
    assert_eq!(seen[1], "Luca Rossi");
    assert!(!seen.contains(&"Alba Rossi".to_owned()) && !seen.contains(&"Bruno Rossi".to_owned()));
    // Each person's own list.
    assert!(recent(nurse.clone()).await.is_empty());
    lists_of(&nurse, &ids[0]).await;
    assert_eq!(recent(nurse).await, vec!["Alba Rossi".to_owned()]);
    // An archived record leaves the list.
    let archived = post(
        &owner,
        "set_patient_archived",
        &[("patient_id", ids[5].as_str()), ("archived", "true")],
    )
    .await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    assert_eq!(
        recent(doctor).await.first().map(String::as_str),
        Some("Luca Rossi")
    );
}

async fn the_patient_asks_for_a_correction_and_reads_the_answer(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let found = post(&desk, "list_patients", &[("query", "MRN-1")])
        .await
        .json();
    let p = found["items"][0]["id"]
        .as_str()
        .expect("patient")
        .to_owned();
    let patient = patient_of(addr, "acme").await;

    // Checked, then filed; staff may not file one, nor decide one from the portal.
    let short = post(&patient, "request_correction", &[("message", "no")]).await;
    assert_eq!(
        (short.status, field_of(&short)),
        (StatusCode::UNPROCESSABLE_ENTITY, "message".into())
    );
    for message in ["My surname is spelt Nayar", "I moved to 12 Elm Street"] {
        let r = post(&patient, "request_correction", &[("message", message)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        post(&desk, "request_correction", &[("message", "staff cannot")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The chart shows them; declining needs a reason the patient will read.
    let chart = post(&desk, "chart", &[("patient_id", &p)]).await.json();
    let requests = chart["corrections"].as_array().cloned().unwrap_or_default();
    assert_eq!(requests.len(), 2);
    let (moved, surname) = (
        requests[0]["id"].as_str().unwrap_or_default(),
        requests[1]["id"].as_str().unwrap_or_default(),
    );
    let decide = |id: &str, decision: &str, response: &str| {
        let (desk, p, id, decision, response) = (
            desk.clone(),
            p.clone(),
            id.to_owned(),
            decision.to_owned(),
            response.to_owned(),
        );
        async move {
            post(
                &desk,
                "decide_correction",
                &[
                    ("patient_id", &p),
                    ("request_id", &id),
                    ("decision", &decision),
                    ("response", &response),
                ],
            )
            .await
        }
    };
    let bare = decide(surname, "declined", "").await;
    assert_eq!(
        (bare.status, field_of(&bare)),
        (StatusCode::UNPROCESSABLE_ENTITY, "response".into())
    );
    assert_eq!(
        decide(surname, "declined", "Your passport says Nair")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(decide(moved, "corrected", "").await.status, StatusCode::OK);
    assert_eq!(
        decide(moved, "declined", "twice").await.status,
        StatusCode::NOT_FOUND,
        "a closed request stays closed"
    );

    // The patient reads the answers in the portal.
    let own = post(&patient, "my_chart", &[]).await.json();
    let lines: Vec<String> = own["corrections"]
        .as_array()
        .expect("corrections")
        .iter()
        .map(|l| {
            format!(
                "{} => {}",
                l["title"].as_str().unwrap_or_default(),
                l["detail"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        lines.contains(
            &"My surname is spelt Nayar => not changed: Your passport says Nair".to_owned()
        ),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"I moved to 12 Elm Street => corrected".to_owned()),
        "{lines:?}"
    );

    // At most five wait at once.
    for i in 0..5 {
        let r = post(
            &patient,
            "request_correction",
            &[("message", &format!("Request number {i}"))],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let more = post(
        &patient,
        "request_correction",
        &[("message", "One request too many")],
    )
    .await;
    assert_eq!(
        (more.status, field_of(&more)),
        (StatusCode::UNPROCESSABLE_ENTITY, "message".into())
    );
}

async fn doctors_see_only_their_own_patients_when_the_clinic_says_so(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let register = |given: &'static str| {
        let desk = desk.clone();
        async move {
            let r = post(
                &desk,
                "register_patient",
                &[
                    ("given_name", given),
                    ("family_name", "Visibility"),
                    ("birth_date", "1977-07-07"),
                    ("sex", "female"),
                    ("confirm_new", "yes"),
                ],
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.json()
                .as_str()
                .and_then(|l| l.rsplit('/').next().map(str::to_owned))
                .expect("chart address")
        }
    };
    let seen = register("Seenby").await;
    let other = register("Notseen").await;
    let note = post(
        &doctor,
        "save_note",
        &[
            ("patient_id", &seen),
            ("title", "Visit"),
            ("plan", "Rest"),
            ("sign", "yes"),
        ],
    )
    .await;
    assert_eq!(note.status, StatusCode::OK, "{}", note.body);
    let filed = {
        let form = reqwest::multipart::Form::new()
            .text("patient_id", other.clone())
            .text("kind", "other")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("x.pdf"),
            );
        desk.client
            .post(format!("http://{addr}/t/acme/api/upload_document"))
            .header("host", format!("localhost:{}", addr.port()))
            .header("origin", format!("http://localhost:{}", addr.port()))
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .json::<String>()
            .await
            .expect("document id")
    };

    let names = |b: Browser, query: &'static str| async move {
        let r = post(&b, "list_patients", &[("query", query)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    // Off by default: everyone sees everyone.
    assert_eq!(names(doctor.clone(), "visibility").await.len(), 2);

    let on = post(
        &owner,
        "set_security_policy",
        &[("doctors_see_own_patients", "on")],
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let policy = post(&owner, "clinic_security_policy", &[]).await.json();
    assert_eq!(policy["doctors_see_own_patients"], true);

    // The doctor: only the patient whose note they wrote, by list, search and address.
    assert_eq!(
        names(doctor.clone(), "visibility").await,
        vec!["Seenby Visibility".to_owned()]
    );
    assert!(names(doctor.clone(), "notseen").await.is_empty());
    assert!(!names(doctor.clone(), "")
        .await
        .contains(&"Notseen Visibility".to_owned()));
    assert_eq!(
        post(&doctor, "chart", &[("patient_id", &seen)])
            .await
            .status,
        StatusCode::OK
    );
    for (name, form) in [
        ("chart", vec![("patient_id", other.as_str())]),
        (
            "add_problem",
            vec![("patient_id", other.as_str()), ("description", "Knee pain")],
        ),
        (
            "invite_patient",
            vec![("patient_id", other.as_str()), ("email", "x@example.com")],
        ),
    ] {
        assert_eq!(
            post(&doctor, name, &form).await.status,
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
    assert_eq!(
        doctor
            .get(
                "localhost",
                &format!("/t/acme/fhir/R4/Patient/{other}/$everything")
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        doctor
            .get("localhost", &format!("/t/acme/documents/{filed}/download"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A patient the doctor registers is theirs.
    let mine = post(
        &doctor,
        "register_patient",
        &[
            ("given_name", "Mine"),
            ("family_name", "Visibility"),
            ("birth_date", "1990-01-01"),
            ("sex", "male"),
            ("confirm_new", "yes"),
        ],
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(names(doctor.clone(), "visibility").await.len(), 2);

    // Everyone else still sees everyone; turning it off gives the doctor all back.
    assert_eq!(names(nurse.clone(), "visibility").await.len(), 3);
    assert_eq!(
        post(&nurse, "chart", &[("patient_id", &other)])
            .await
            .status,
        StatusCode::OK
    );
    let off = post(&owner, "set_security_policy", &[]).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(names(doctor.clone(), "visibility").await.len(), 3);
    assert_eq!(
        post(&doctor, "chart", &[("patient_id", &other)])
            .await
            .status,
        StatusCode::OK
    );
}

async fn record_numbers_and_retention_follow_the_clinics_settings(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let save = |prefix: &'static str, years: &'static str| {
        let owner = &owner;
        async move {
            post(
                owner,
                "save_clinic_settings",
                &[
                    ("name", "Acme Care"),
                    ("timezone", "UTC"),
                    ("currency", "USD"),
                    ("language", "en"),
                    ("date_format", "%Y-%m-%d"),
                    ("days", "mon,tue,wed"),
                    ("mrn_prefix", prefix),
                    ("retention_years", years),
                ],
            )
            .await
        }
    };
    let mrn_of = |id: String| {
        let owner = &owner;
        async move {
            let chart = post(owner, "chart", &[("patient_id", &id)]).await;
            assert_eq!(chart.status, StatusCode::OK, "{}", chart.body);
            chart.json()["header"]["mrn"]
                .as_str()
                .expect("record number")
                .to_owned()
        }
    };
    let before = register(&owner, "acme", "Ana", "Before", "1970-01-01", &[]).await;
    let first = mrn_of(before).await;
    assert!(first.starts_with("ACME-"), "the address's letters: {first}");

    for (prefix, years, field) in [
        ("-RX", "10", "mrn_prefix"),
        ("RX 1", "10", "mrn_prefix"),
        ("ABCDEFGHIJK", "10", "mrn_prefix"),
        ("RX-", "0", "retention_years"),
        ("RX-", "101", "retention_years"),
        ("RX-", "ten", "retention_years"),
    ] {
        let r = save(prefix, years).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{prefix} {years}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{prefix} {years}");
    }
    let saved = save("rx-", "7").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.json()["mrn_prefix"], "RX-");

    // New patients take the new prefix; the series' numbering goes on.
    let after = register(&owner, "acme", "Bea", "After", "1971-01-01", &[]).await;
    let second = mrn_of(after.clone()).await;
    let number = |mrn: &str| -> u64 {
        mrn.rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("number")
    };
    assert!(second.starts_with("RX-"), "{second}");
    assert_eq!(number(&second), number(&first) + 1, "{first} then {second}");

    // An erasure without a date keeps the record the clinic's years.
    let erased = post(
        &admin,
        "erase_patient",
        &[("patient_id", &after), ("confirm", "yes")],
    )
    .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    let opened = post(
        &admin,
        "open_restricted",
        &[
            ("patient_id", &after),
            ("reason", "Checking the retention date"),
        ],
    )
    .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let chart = post(&admin, "chart", &[("patient_id", &after)])
        .await
        .json();
    let until = chart["erasure"]["retain_until"]
        .as_str()
        .expect("retained until");
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        until[..4].parse::<i32>().expect("year") - chrono::Datelike::year(&today),
        7,
        "{until}"
    );

    // Clearing the prefix goes back to the address's letters.
    let cleared = save("", "7").await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let third = register(&owner, "acme", "Cai", "Later", "1972-01-01", &[]).await;
    let third = mrn_of(third).await;
    assert!(third.starts_with("ACME-"), "{third}");
    assert_eq!(number(&third), number(&second) + 1, "{second} then {third}");

    // The database holds the same rules, whoever writes.
    let raw = raw_pool(t).await;
    for sql in [
        "UPDATE tenants SET mrn_prefix = '-X'",
        "UPDATE tenants SET mrn_prefix = 'lower-'",
        "UPDATE tenants SET mrn_prefix = 'ABCDEFGHIJK'",
        "UPDATE tenants SET retention_years = 0",
        "UPDATE tenants SET retention_years = 101",
    ] {
        assert!(raw.execute(sql).await.is_err(), "{sql}");
    }
    assert!(raw
        .execute("UPDATE tenants SET mrn_prefix = 'OK-1', retention_years = 25")
        .await
        .is_ok());
}

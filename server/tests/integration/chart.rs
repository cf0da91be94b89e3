//! Patients and the chart (issue 12): the registry's rules and search, the chart's
//! entries, signed notes that nothing can change, every read audited, and an
//! audit trail whose hash chain shows any change made behind the application's back.

use reqwest::StatusCode;

use app::db::Backend;
use app::identity::Role;

use crate::self_service::{field_of, patient_of, staff_of};
use crate::support;
use support::fixtures::{clinic, staffed_clinic};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    the_front_desk_registers_patients_numbered_from_the_clinics_series,
    one_box_finds_patients_by_name_number_phone_email_and_birth_date,
    a_near_duplicate_is_shown_before_saving,
    the_chart_records_allergies_problems_vitals_and_refuses_nonsense,
    a_signed_note_never_changes_and_grows_only_by_addenda,
    every_chart_read_is_audited_and_the_chain_shows_tampering,
    another_clinics_patient_is_not_found_anywhere_on_the_chart,
    the_plans_patient_limit_applies_to_registration,
    the_patient_sees_their_chart_and_who_has_looked_at_it,
    flags_show_on_the_chart_and_consents_keep_their_history,
    an_archived_patient_leaves_the_lists_and_comes_back_whole,
    the_front_desk_corrects_details_and_search_follows,
);

async fn register(b: &Browser, form: &[(&str, &str)]) -> server::Reply {
    b.call("localhost", "/t/acme/api/register_patient", form)
        .await
}

fn patient_id_of(reply: &server::Reply) -> String {
    let landing = reply.json().as_str().unwrap_or_default().to_owned();
    landing
        .rsplit('/')
        .next()
        .filter(|id| id.len() == 36)
        .unwrap_or_else(|| panic!("no chart address in {}", reply.body))
        .to_owned()
}

async fn chart(b: &Browser, patient: &str) -> serde_json::Value {
    let r = b
        .call("localhost", "/t/acme/api/chart", &[("patient_id", patient)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn the_front_desk_registers_patients_numbered_from_the_clinics_series(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let ada = register(
        &desk,
        &[
            ("given_name", "Ada"),
            ("family_name", "Lovelace"),
            ("birth_date", "1985-12-10"),
            ("sex", "female"),
            ("phone", "+44 20 7946 0958"),
            ("email", "Ada@Example.com"),
            ("blood_type", "O+"),
        ],
    )
    .await;
    assert_eq!(ada.status, StatusCode::OK, "{}", ada.body);
    let second = register(
        &desk,
        &[
            ("given_name", "Grace"),
            ("family_name", "Hopper"),
            ("birth_date", "1966-12-09"),
            ("sex", "female"),
        ],
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let first = chart(&doctor, &patient_id_of(&ada)).await;
    let next = chart(&doctor, &patient_id_of(&second)).await;
    assert_eq!(first["header"]["mrn"], "ACME-000001");
    assert_eq!(next["header"]["mrn"], "ACME-000002");
    assert_eq!(first["header"]["blood_type"], "O+");
    // A typed number is kept, and must be free.
    let typed = register(
        &desk,
        &[
            ("mrn", "old-77"),
            ("given_name", "Alan"),
            ("family_name", "Turing"),
            ("birth_date", "1954-06-07"),
            ("sex", "male"),
        ],
    )
    .await;
    assert_eq!(typed.status, StatusCode::OK, "{}", typed.body);
    assert_eq!(
        chart(&doctor, &patient_id_of(&typed)).await["header"]["mrn"],
        "OLD-77"
    );
    let taken = register(
        &desk,
        &[
            ("mrn", "OLD-77"),
            ("given_name", "Alonzo"),
            ("family_name", "Church"),
            ("birth_date", "1903-06-14"),
            ("sex", "male"),
        ],
    )
    .await;
    assert_eq!(
        (taken.status, field_of(&taken)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mrn".into())
    );

    // Every rule names its field.
    let base = [
        ("given_name", "Edsger"),
        ("family_name", "Dijkstra"),
        ("birth_date", "1930-05-11"),
        ("sex", "male"),
    ];
    for (field, value) in [
        ("given_name", "E"),
        ("family_name", "<b>x</b>"),
        ("birth_date", "2999-01-01"),
        ("birth_date", "11/05/1930x"),
        ("sex", "robot"),
        ("phone", "call me"),
        ("email", "not-an-email"),
        ("blood_type", "Z+"),
        ("mrn", "has space"),
    ] {
        let mut form: Vec<(&str, &str)> =
            base.iter().filter(|(k, _)| *k != field).copied().collect();
        form.push((field, value));
        let r = register(&desk, &form).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{field}={value}: {}",
            r.body
        );
    }
    // A billing clerk may read patients but not register them.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    assert_eq!(
        register(&billing, &base).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn one_box_finds_patients_by_name_number_phone_email_and_birth_date(t: &TestDb) {
    let acme = staffed_clinic(&t.db, "acme").await;
    // A London clinic: local numbers are British.
    let mut platform = t.db.begin_platform().await.expect("begin");
    let settings = app::tenancy::TenantSettings {
        timezone: "Europe/London".into(),
        ..acme.tenant.settings.clone()
    };
    app::tenancy::db::set_settings(&mut platform, acme.tenant.id, &acme.tenant.name, &settings)
        .await
        .expect("settings");
    platform.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    for (given, family, born, phone, email) in [
        (
            "Zoë",
            "O'Brien-Smith",
            "1981-01-02",
            "020 7946 0958",
            "zoe@example.com",
        ),
        (
            "John",
            "Smith",
            "1975-03-04",
            "+1 212 555 0142",
            "john@example.org",
        ),
        (
            "Amara",
            "Okafor",
            "1990-07-08",
            "+234 803 123 4567",
            "amara@example.net",
        ),
    ] {
        let r = register(
            &desk,
            &[
                ("given_name", given),
                ("family_name", family),
                ("birth_date", born),
                ("sex", "unknown"),
                ("phone", phone),
                ("email", email),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let find = |q: &'static str| {
        let desk = &desk;
        async move {
            let r = desk
                .call("localhost", "/t/acme/api/list_patients", &[("query", q)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
            let mut names: Vec<String> = r.json()["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    let zoe = vec!["Zoë O'Brien-Smith".to_owned()];
    for q in [
        "zoe",
        "ZOË",
        "smith zoe",
        "obrien",
        "brien-smith",
        "zo smi",
        "zoe@example",
        "1981-01-02",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
    ] {
        assert_eq!(find(q).await, zoe, "{q}");
    }
    assert_eq!(
        find("smith").await,
        vec!["John Smith".to_owned(), "Zoë O'Brien-Smith".to_owned()]
    );
    assert_eq!(
        find("+1 (212) 555-0142").await,
        vec!["John Smith".to_owned()]
    );
    assert_eq!(find("acme-000003").await, vec!["Amara Okafor".to_owned()]);
    assert!(find("smyth").await.is_empty());
    assert!(
        find("%").await.is_empty(),
        "no wildcard reaches the database"
    );

    // Pages in the seeds' shape.
    let all = desk
        .call("localhost", "/t/acme/api/list_patients", &[("page", "1")])
        .await
        .json();
    // The fixture's own patient (MRN-1) and the three above.
    assert_eq!(
        (
            all["total_items"].as_u64(),
            all["total_pages"].as_u64(),
            all["page"].as_u64(),
            all["has_next"].as_bool(),
            all["has_prev"].as_bool()
        ),
        (Some(4), Some(1), Some(1), Some(false), Some(false)),
        "{all}"
    );
    let beyond = desk
        .call("localhost", "/t/acme/api/list_patients", &[("page", "9")])
        .await
        .json();
    assert_eq!(beyond["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(beyond["has_prev"].as_bool(), Some(true));
}

async fn a_near_duplicate_is_shown_before_saving(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let form = [
        ("given_name", "Maria"),
        ("family_name", "García"),
        ("birth_date", "1970-02-03"),
        ("sex", "female"),
    ];
    assert_eq!(register(&desk, &form).await.status, StatusCode::OK);
    // Same birth date, same family name (accent dropped), another given name.
    let near = [
        ("given_name", "Marta"),
        ("family_name", "Garcia"),
        ("birth_date", "1970-02-03"),
        ("sex", "female"),
    ];
    let warned = register(&desk, &near).await;
    assert_eq!(
        (warned.status, field_of(&warned)),
        (StatusCode::UNPROCESSABLE_ENTITY, "confirm_new".into())
    );
    assert!(warned.body.contains("Maria García"), "{}", warned.body);
    let mut confirmed = near.to_vec();
    confirmed.push(("confirm_new", "yes"));
    assert_eq!(register(&desk, &confirmed).await.status, StatusCode::OK);
    // The same phone is a candidate whatever the name.
    let phone = [
        ("given_name", "Pedro"),
        ("family_name", "Alvarez"),
        ("birth_date", "1990-01-01"),
        ("sex", "male"),
        ("phone", "+34 612 345 678"),
    ];
    assert_eq!(register(&desk, &phone).await.status, StatusCode::OK);
    let same_phone = [
        ("given_name", "Lucia"),
        ("family_name", "Fernandez"),
        ("birth_date", "1992-05-05"),
        ("sex", "female"),
        ("phone", "0034 612 345 678"),
    ];
    let warned = register(&desk, &same_phone).await;
    assert_eq!(field_of(&warned), "confirm_new", "{}", warned.body);

    // Without JavaScript the warning comes back on the page with what was typed.
    let plain = desk
        .post_plainly(
            "localhost",
            "/t/acme/api/register_patient",
            "/t/acme/staff/patients",
            &near,
        )
        .await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
    let page = desk.get("localhost", "/t/acme/staff/patients").await;
    assert!(
        page.body.contains("data-testid=\"duplicate-warning\""),
        "no duplicate warning shown"
    );
    assert!(
        page.body.contains("value=\"Marta\""),
        "what was typed is kept"
    );
}

async fn the_chart_records_allergies_problems_vitals_and_refuses_nonsense(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let patient = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let p = patient.as_str();
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let post = |b: &Browser, fn_name: &str, form: Vec<(&'static str, &str)>| {
        let path = format!("/t/acme/api/{fn_name}");
        let b = b.clone();
        let form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            b.call("localhost", &path, &pairs).await
        }
    };
    // Not asked, then none known, then an allergy retires "none known".
    assert_eq!(chart(&doctor, p).await["banner"], "NotYetAsked");
    assert_eq!(
        post(&doctor, "no_known_allergies", vec![("patient_id", p)])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(chart(&doctor, p).await["banner"], "NoneKnown");
    let again = post(&doctor, "no_known_allergies", vec![("patient_id", p)]).await;
    assert!(
        again.status.is_client_error(),
        "one statement at a time: {}",
        again.body
    );
    let added = post(
        &doctor,
        "add_allergy",
        vec![
            ("patient_id", p),
            ("substance", "Penicillins"),
            ("category", "medication"),
            ("criticality", "high"),
            ("severity", "severe"),
            ("reaction", "Hives"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let c = chart(&doctor, p).await;
    assert_eq!(c["banner"]["Allergies"], serde_json::json!(["Penicillins"]));
    let nka = c["allergies"]
        .as_array()
        .expect("allergies")
        .iter()
        .find(|a| a["none_known"] == true)
        .cloned()
        .expect("nka kept");
    assert_eq!(nka["status"], "Inactive", "retired, not deleted");
    let refused = post(&doctor, "no_known_allergies", vec![("patient_id", p)]).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );

    // Problems: a code fills its description; an unknown code is refused.
    let coded = post(
        &doctor,
        "add_problem",
        vec![("patient_id", p), ("code", "e119")],
    )
    .await;
    assert_eq!(coded.status, StatusCode::OK, "{}", coded.body);
    let problem = &chart(&doctor, p).await["problems"][0];
    assert_eq!(
        (problem["code"].as_str(), problem["description"].as_str()),
        (
            Some("E11.9"),
            Some("Type 2 diabetes mellitus without complications")
        )
    );
    let unknown = post(
        &doctor,
        "add_problem",
        vec![("patient_id", p), ("code", "X99.999")],
    )
    .await;
    assert_eq!(field_of(&unknown), "code");
    assert_eq!(
        post(
            &doctor,
            "add_problem",
            vec![("patient_id", p), ("description", "Chronic low back pain")]
        )
        .await
        .status,
        StatusCode::OK
    );

    // Vitals: the nurse records them; implausible values are refused by field.
    let vitals = post(
        &nurse,
        "record_vitals",
        vec![
            ("patient_id", p),
            ("units", "metric"),
            ("height", "170"),
            ("weight", "70"),
            ("blood_pressure", "120/80"),
            ("temperature", "37.2"),
        ],
    )
    .await;
    assert_eq!(vitals.status, StatusCode::OK, "{}", vitals.body);
    for (field, value) in [
        ("temperature", "986"),
        ("blood_pressure", "80/120"),
        ("spo2", "140"),
        ("weight", "0"),
    ] {
        let r = post(
            &nurse,
            "record_vitals",
            vec![("patient_id", p), ("units", "metric"), (field, value)],
        )
        .await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{field}={value}"
        );
    }
    let reading = &chart(&nurse, p).await["vitals"][0]["measures"];
    assert_eq!(
        (
            reading["height_mm"].as_i64(),
            reading["weight_g"].as_i64(),
            reading["temperature_dc"].as_i64()
        ),
        (Some(1700), Some(70_000), Some(372))
    );

    // The database refuses an implausible value even from raw SQL.
    let raw = raw_pool(t).await;
    let sql_refused = raw.execute("UPDATE vitals SET temperature_dc = 9860").await;
    assert!(
        sql_refused.is_err(),
        "a temperature of 986 °C is refused by a check constraint"
    );

    // Only clinicians write the chart; the front desk may read it.
    let by_desk = post(
        &desk,
        "add_allergy",
        vec![
            ("patient_id", p),
            ("substance", "Latex"),
            ("category", "environment"),
            ("criticality", "low"),
        ],
    )
    .await;
    assert_eq!(by_desk.status, StatusCode::FORBIDDEN);
    assert_eq!(chart(&desk, p).await["can_write"], false);
}

async fn a_signed_note_never_changes_and_grows_only_by_addenda(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let patient = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let save = |b: &Browser, extra: &[(&'static str, &str)]| {
        let mut form = vec![("patient_id", patient.clone())];
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let b = b.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.call("localhost", "/t/acme/api/save_note", &pairs).await
        }
    };
    assert_eq!(
        save(&doctor, &[("title", "First visit")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty note is refused"
    );
    assert_eq!(
        save(
            &doctor,
            &[("title", "First visit"), ("subjective", "Cough for a week")]
        )
        .await
        .status,
        StatusCode::OK
    );
    let note = chart(&doctor, &patient).await["notes"][0].clone();
    let note_id = note["id"].as_str().expect("id").to_owned();
    assert_eq!(note["status"], "Draft");
    // Another clinician cannot edit the doctor's draft.
    let by_nurse = save(&nurse, &[("note_id", &note_id), ("subjective", "Changed")]).await;
    assert_eq!(by_nurse.status, StatusCode::FORBIDDEN, "{}", by_nurse.body);
    // The author edits and signs.
    let signed = save(
        &doctor,
        &[
            ("note_id", &note_id),
            ("title", "First visit"),
            ("subjective", "Cough for a week"),
            ("plan", "Chest X-ray"),
            ("sign", "yes"),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let note = chart(&doctor, &patient).await["notes"][0].clone();
    assert_eq!(note["status"], "Signed");
    let hash = note["content_sha256"].as_str().expect("hash").to_owned();
    assert_eq!(hash.len(), 64);

    // Refused from every path: the server function, signing twice, raw SQL as the app role.
    let edit = save(
        &doctor,
        &[("note_id", &note_id), ("subjective", "Rewritten")],
    )
    .await;
    assert_eq!(
        edit.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        edit.body
    );
    assert!(edit.body.contains("addendum"), "{}", edit.body);
    let twice = doctor
        .call(
            "localhost",
            "/t/acme/api/sign_note",
            &[("patient_id", &patient), ("note_id", &note_id)],
        )
        .await;
    assert!(twice.status.is_client_error());
    let raw = raw_pool(t).await;
    let update = raw
        .execute("UPDATE visit_notes SET subjective = 'forged' WHERE status = 'signed'")
        .await;
    assert!(
        update.is_err(),
        "the database refuses to change a signed note"
    );
    let delete = raw
        .execute("DELETE FROM visit_notes WHERE status = 'signed'")
        .await;
    assert!(delete.is_err(), "nor delete it");

    // An addendum is its own signed entry, linked; the original is unchanged.
    let addendum = doctor
        .call(
            "localhost",
            "/t/acme/api/add_addendum",
            &[
                ("patient_id", &patient),
                ("note_id", &note_id),
                ("text", "X-ray clear."),
            ],
        )
        .await;
    assert_eq!(addendum.status, StatusCode::OK, "{}", addendum.body);
    let notes = chart(&doctor, &patient).await["notes"].clone();
    let original = notes
        .as_array()
        .expect("notes")
        .iter()
        .find(|n| n["id"] == note_id.as_str())
        .expect("original");
    assert_eq!(
        (
            original["soap"]["subjective"].as_str(),
            original["content_sha256"].as_str()
        ),
        (Some("Cough for a week"), Some(hash.as_str()))
    );
    let added = notes
        .as_array()
        .expect("notes")
        .iter()
        .find(|n| n["addendum_to"] == note_id.as_str())
        .expect("addendum");
    assert_eq!(added["status"], "Signed");
    assert_eq!(added["soap"]["subjective"], "X-ray clear.");
    // A draft cannot take an addendum (it is edited instead).
    assert_eq!(
        save(&doctor, &[("subjective", "Second visit")])
            .await
            .status,
        StatusCode::OK
    );
    let draft_id = chart(&doctor, &patient).await["notes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let on_draft = doctor
        .call(
            "localhost",
            "/t/acme/api/add_addendum",
            &[
                ("patient_id", &patient),
                ("note_id", &draft_id),
                ("text", "x"),
            ],
        )
        .await;
    assert_eq!(on_draft.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn every_chart_read_is_audited_and_the_chain_shows_tampering(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let patient = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    chart(&doctor, &patient).await;
    chart(&nurse, &patient).await;
    chart(&doctor, &patient).await;
    let raw = raw_pool(t).await;
    let reads: Vec<(Option<String>, Option<String>)> = raw
        .fetch_strings(
            "SELECT actor_email, actor_role FROM audit_events WHERE action = 'chart.viewed' ORDER BY occurred_at, id",
        )
        .await;
    assert_eq!(
        reads,
        vec![
            (Some("doctor@acme.example".into()), Some("doctor".into())),
            (Some("nurse@acme.example".into()), Some("nurse".into())),
            (Some("doctor@acme.example".into()), Some("doctor".into())),
        ]
    );

    // The chain is intact, then is broken by a change made around the application.
    let verify = || app::identity::audit::verify_tenants(&t.db, Some("acme"));
    let intact = verify().await.expect("verify");
    assert_eq!(intact[0].1.broken, None, "{intact:?}");
    assert!(intact[0].1.events >= 5, "{intact:?}");

    // The application role itself can neither change nor delete an event.
    assert!(raw
        .execute("UPDATE audit_events SET action = 'x'")
        .await
        .is_err());
    assert!(raw.execute("DELETE FROM audit_events").await.is_err());

    let victim = raw
        .fetch_strings("SELECT id, action FROM audit_events WHERE action = 'chart.viewed' ORDER BY occurred_at LIMIT 1")
        .await[0]
        .0
        .clone()
        .expect("id");
    tamper(
        t,
        &format!(
            "UPDATE audit_events SET actor_email = 'someone@else.example' WHERE id = {}",
            id_literal(t, &victim)
        ),
    )
    .await;
    let broken = verify().await.expect("verify");
    let problem = broken[0].1.broken.clone().expect("the change is found");
    assert!(problem.contains(&victim), "{problem}");

    // The command operators run says so, and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medisync"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MEDISYNC_CONFIG", "/nonexistent/Leptos.toml")
        .env("DATABASE_URL", &t.app_url)
        .args(["audit", "verify", "--tenant", "acme"])
        .output()
        .expect("run medisync");
    assert!(
        !out.status.success(),
        "audit verify must fail on a broken chain"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("BROKEN") && stdout.contains(&victim),
        "{stdout}"
    );
}

async fn another_clinics_patient_is_not_found_anywhere_on_the_chart(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let other = clinic(&t.db, "globex", "doc@globex.example").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let theirs = other.patient.id.to_string();
    let note_id = uuid::Uuid::now_v7().to_string();
    for (name, form) in [
        ("chart", vec![("patient_id", theirs.as_str())]),
        (
            "add_allergy",
            vec![
                ("patient_id", theirs.as_str()),
                ("substance", "Latex"),
                ("category", "environment"),
                ("criticality", "low"),
            ],
        ),
        ("no_known_allergies", vec![("patient_id", theirs.as_str())]),
        (
            "add_problem",
            vec![("patient_id", theirs.as_str()), ("description", "Asthma")],
        ),
        (
            "record_vitals",
            vec![("patient_id", theirs.as_str()), ("pulse", "70")],
        ),
        (
            "save_note",
            vec![("patient_id", theirs.as_str()), ("subjective", "x")],
        ),
        (
            "sign_note",
            vec![
                ("patient_id", theirs.as_str()),
                ("note_id", note_id.as_str()),
            ],
        ),
        (
            "add_addendum",
            vec![
                ("patient_id", theirs.as_str()),
                ("note_id", note_id.as_str()),
                ("text", "x"),
            ],
        ),
        (
            "set_allergy_status",
            vec![
                ("patient_id", theirs.as_str()),
                ("allergy_id", note_id.as_str()),
                ("status", "resolved"),
            ],
        ),
        (
            "set_problem_status",
            vec![
                ("patient_id", theirs.as_str()),
                ("problem_id", note_id.as_str()),
                ("status", "resolved"),
            ],
        ),
    ] {
        let r = doctor
            .call("localhost", &format!("/t/acme/api/{name}"), &form)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}: {}", r.body);
    }
    let page = doctor
        .get("localhost", &format!("/t/acme/staff/patients/{theirs}"))
        .await;
    assert!(
        !page.body.contains("globex"),
        "nothing of the other clinic's patient is shown"
    );
    // Their chart is untouched.
    let mut tx = t.db.begin_for_read(other.tenant.id).await.expect("tx");
    assert_eq!(
        app::clinical::db::allergies(&mut tx, other.patient.id)
            .await
            .expect("allergies")
            .len(),
        1
    );
    assert_eq!(
        app::clinical::db::notes(&mut tx, other.patient.id)
            .await
            .expect("notes")
            .len(),
        1
    );
}

async fn the_plans_patient_limit_applies_to_registration(t: &TestDb) {
    let acme = staffed_clinic(&t.db, "acme").await;
    // Starter holds 500 patients; the fixture has one.
    let mut platform = t.db.begin_platform().await.expect("begin");
    app::plans::db::set_tenant_plan(
        &mut platform,
        acme.tenant.id,
        &app::plans::PlanId::parse("starter").expect("plan"),
    )
    .await
    .expect("plan");
    platform.commit().await.expect("commit");
    let mut tx = t.db.begin_for(acme.tenant.id).await.expect("tx");
    for i in 0..499 {
        let mrn = format!("BULK-{i}");
        app::patients::db::create(
            &mut tx,
            &support::fixtures::new_patient(&mrn, "Bulk", &format!("Patient{i}"), None),
        )
        .await
        .expect("patient");
    }
    tx.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let r = register(
        &desk,
        &[
            ("given_name", "One"),
            ("family_name", "Toomany"),
            ("birth_date", "2000-01-01"),
            ("sex", "male"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYMENT_REQUIRED, "{}", r.body);
    assert!(r.body.to_lowercase().contains("patient"), "{}", r.body);
}

async fn the_patient_sees_their_chart_and_who_has_looked_at_it(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let found = doctor
        .call(
            "localhost",
            "/t/acme/api/list_patients",
            &[("query", "MRN-1")],
        )
        .await
        .json();
    let p = found["items"][0]["id"]
        .as_str()
        .expect("the portal patient")
        .to_owned();
    let call = |b: &Browser, name: &str, form: Vec<(&'static str, String)>| {
        let (b, path) = (b.clone(), format!("/t/acme/api/{name}"));
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = b.call("localhost", &path, &pairs).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        }
    };
    call(
        &doctor,
        "add_allergy",
        vec![
            ("patient_id", p.clone()),
            ("substance", "Peanut".into()),
            ("category", "food".into()),
            ("criticality", "high".into()),
            ("reaction", "Anaphylaxis".into()),
        ],
    )
    .await;
    call(
        &nurse,
        "record_vitals",
        vec![
            ("patient_id", p.clone()),
            ("units", "metric".into()),
            ("pulse", "71".into()),
        ],
    )
    .await;
    call(
        &doctor,
        "save_note",
        vec![
            ("patient_id", p.clone()),
            ("title", "Shared visit".into()),
            ("plan", "Rest and fluids".into()),
            ("shareable", "yes".into()),
            ("sign", "yes".into()),
        ],
    )
    .await;
    call(
        &doctor,
        "save_note",
        vec![
            ("patient_id", p.clone()),
            ("title", "Private visit".into()),
            ("plan", "Internal only".into()),
            ("sign", "yes".into()),
        ],
    )
    .await;
    call(
        &doctor,
        "save_note",
        vec![
            ("patient_id", p.clone()),
            ("title", "Shared draft".into()),
            ("plan", "Not signed".into()),
            ("shareable", "yes".into()),
        ],
    )
    .await;
    let _ = chart(&nurse, &p).await;

    let patient = patient_of(addr, "acme").await;
    let own = patient.call("localhost", "/t/acme/api/my_chart", &[]).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let own = own.json();
    assert!(
        own["allergies"]
            .as_str()
            .unwrap_or_default()
            .contains("Peanut"),
        "{own}"
    );
    assert!(
        own["vitals"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Pulse: 71"),
        "{own}"
    );
    let titles: Vec<&str> = own["summaries"]
        .as_array()
        .expect("summaries")
        .iter()
        .filter_map(|s| s["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        vec!["Shared visit"],
        "only signed notes marked shareable"
    );

    let log = patient
        .call("localhost", "/t/acme/api/my_access_log", &[])
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let entries = log.json();
    let seen: Vec<(String, String)> = entries
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap_or_default().to_owned(),
                e["what"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        seen.contains(&("nurse".into(), "Opened a patient's chart".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("doctor".into(), "Recorded an allergy".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("nurse".into(), "Recorded vital signs".into())),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(_, what)| what.contains("own record")),
        "the patient's own reads are not staff accesses"
    );
    assert!(entries
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["who"].as_str().is_some_and(|w| !w.is_empty())));

    // Staff cannot call the patient's functions, nor a patient the staff's.
    assert_eq!(
        doctor
            .call("localhost", "/t/acme/api/my_access_log", &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patient
            .call("localhost", "/t/acme/api/chart", &[("patient_id", &p)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn flags_show_on_the_chart_and_consents_keep_their_history(t: &TestDb) {
    // On the heap: this test's future is larger than a test thread's stack.
    Box::pin(flags_and_consents(t)).await;
}

async fn flags_and_consents(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let p = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let post = |form: Vec<(&'static str, &str)>, name: &'static str| {
        let desk = desk.clone();
        let form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            desk.call("localhost", &format!("/t/acme/api/{name}"), &pairs)
                .await
        }
    };
    assert_eq!(
        post(vec![("patient_id", &p), ("kind", "dnr")], "set_flag")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post(
            vec![
                ("patient_id", &p),
                ("kind", "infection_control"),
                ("note", "MRSA")
            ],
            "set_flag"
        )
        .await
        .status,
        StatusCode::OK
    );
    let other = post(vec![("patient_id", &p), ("kind", "other")], "set_flag").await;
    assert_eq!(
        (other.status, field_of(&other)),
        (StatusCode::UNPROCESSABLE_ENTITY, "note".into())
    );
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let c = chart(&doctor, &p).await;
    let texts: Vec<&str> = c["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f["cleared"] == false)
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(texts.len(), 2, "{c}");
    let dnr = c["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["kind"] == "Dnr")
        .expect("dnr");
    assert_eq!(dnr["set_by"], "receptionist", "who set it is kept");
    let cleared = post(
        vec![
            ("patient_id", &p),
            ("flag_id", dnr["id"].as_str().expect("id")),
        ],
        "clear_flag",
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let c = chart(&doctor, &p).await;
    assert_eq!(
        c["flags"].as_array().map(Vec::len),
        Some(2),
        "a cleared flag stays in the history"
    );
    // The page shows the current flags as a banner.
    let page = doctor
        .get("localhost", &format!("/t/acme/staff/patients/{p}"))
        .await;
    assert!(
        page.body.contains("data-testid=\"flag-banner\""),
        "no flag banner"
    );
    assert!(page.body.contains("Infection control: MRSA"));

    for (decision, date) in [("granted", "2026-01-05"), ("revoked", "2026-02-01")] {
        let r = post(
            vec![
                ("patient_id", &p),
                ("kind", "marketing"),
                ("decision", decision),
                ("effective_on", date),
            ],
            "record_consent",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let future = post(
        vec![
            ("patient_id", &p),
            ("kind", "telehealth"),
            ("decision", "granted"),
            ("effective_on", "2999-01-01"),
        ],
        "record_consent",
    )
    .await;
    assert_eq!(field_of(&future), "effective_on");
    let consents = chart(&doctor, &p).await["consents"].clone();
    assert_eq!(consents.as_array().map(Vec::len), Some(1), "{consents}");
    assert_eq!(
        (
            consents[0]["kind"].as_str(),
            consents[0]["granted"].as_bool()
        ),
        (Some("Marketing"), Some(false))
    );
    // The history cannot be rewritten, even with raw SQL as the application.
    let raw = raw_pool(t).await;
    assert!(raw
        .execute("UPDATE patient_consents SET granted = NOT granted")
        .await
        .is_err());
    assert!(raw.execute("DELETE FROM patient_consents").await.is_err());
    // A billing clerk may not set flags.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let refused = billing
        .call(
            "localhost",
            "/t/acme/api/set_flag",
            &[("patient_id", &p), ("kind", "vip")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn an_archived_patient_leaves_the_lists_and_comes_back_whole(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let p = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let allergy = doctor
        .call(
            "localhost",
            "/t/acme/api/add_allergy",
            &[
                ("patient_id", &p),
                ("substance", "Latex"),
                ("category", "environment"),
                ("criticality", "low"),
            ],
        )
        .await;
    assert_eq!(allergy.status, StatusCode::OK);
    let found = |b: &Browser| {
        let b = b.clone();
        Box::pin(async move {
            b.call(
                "localhost",
                "/t/acme/api/list_patients",
                &[("query", "lovelace")],
            )
            .await
            .json()["total_items"]
                .as_u64()
        })
    };
    assert_eq!(found(&desk).await, Some(1));
    // Only administrators archive.
    let by_desk = desk
        .call(
            "localhost",
            "/t/acme/api/set_patient_archived",
            &[("patient_id", &p), ("archived", "true")],
        )
        .await;
    assert_eq!(by_desk.status, StatusCode::FORBIDDEN);
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let archived = owner
        .call(
            "localhost",
            "/t/acme/api/set_patient_archived",
            &[("patient_id", &p), ("archived", "true")],
        )
        .await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    assert_eq!(
        found(&desk).await,
        Some(0),
        "archived records leave lists and search"
    );
    let c = chart(&doctor, &p).await;
    assert_eq!(
        (
            c["header"]["archived"].as_bool(),
            c["allergies"].as_array().map(Vec::len)
        ),
        (Some(true), Some(1)),
        "the record is whole"
    );
    let restored = owner
        .call(
            "localhost",
            "/t/acme/api/set_patient_archived",
            &[("patient_id", &p), ("archived", "false")],
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(found(&desk).await, Some(1));
}

async fn the_front_desk_corrects_details_and_search_follows(t: &TestDb) {
    Box::pin(corrects_details(t)).await;
}

async fn corrects_details(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let p = patient_id_of(
        &register(
            &desk,
            &[
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("birth_date", "1985-12-10"),
                ("sex", "female"),
            ],
        )
        .await,
    );
    let base = [
        ("patient_id", p.as_str()),
        ("given_name", "Ada"),
        ("family_name", "King"),
        ("birth_date", "1985-12-10"),
        ("sex", "female"),
        ("phone", "+44 20 7946 0000"),
        ("status", "active"),
    ];
    let update = |extra: Vec<(&'static str, &'static str)>| {
        let desk = desk.clone();
        let mut form: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in extra {
            form.retain(|(name, _)| name != k);
            form.push((k.to_owned(), v.to_owned()));
        }
        Box::pin(async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            desk.call("localhost", "/t/acme/api/update_patient", &pairs)
                .await
        })
    };
    let saved = update(vec![]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let find = |q: &'static str| {
        let desk = desk.clone();
        Box::pin(async move {
            desk.call("localhost", "/t/acme/api/list_patients", &[("query", q)])
                .await
                .json()["total_items"]
                .as_u64()
        })
    };
    assert_eq!(find("king").await, Some(1), "the new name is searchable");
    assert_eq!(find("lovelace").await, Some(0), "the old name is not");
    assert_eq!(find("+44 20 7946 0000").await, Some(1));
    for (extra, field) in [
        (vec![("status", "deceased")], "deceased_on"),
        (
            vec![("status", "deceased"), ("deceased_on", "1980-01-01")],
            "deceased_on",
        ),
        (vec![("given_name", "A")], "given_name"),
        (vec![("status", "gone")], "status"),
    ] {
        let r = update(extra).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{}",
            r.body
        );
    }
    let died = update(vec![("status", "deceased"), ("deceased_on", "2026-01-02")]).await;
    assert_eq!(died.status, StatusCode::OK, "{}", died.body);
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    assert_eq!(chart(&doctor, &p).await["header"]["status"], "deceased");
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let refused = billing
        .call("localhost", "/t/acme/api/update_patient", &base)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

// ----------------------------------------------------------------- raw SQL --

/// A connection as the application's own role, around the repository layer:
/// PostgreSQL's application login (under RLS, with no tenant set it sees no rows,
/// so statements that must be refused by triggers or grants are still tried on
/// every row they could reach), or the SQLite file itself.
pub(crate) enum RawPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

pub(crate) async fn raw_pool(t: &TestDb) -> RawPool {
    match t.backend {
        Backend::Sqlite => {
            RawPool::Sqlite(sqlx::SqlitePool::connect(&t.app_url).await.expect("sqlite"))
        }
        Backend::Postgres => {
            RawPool::Postgres(sqlx::PgPool::connect(&t.app_url).await.expect("pg"))
        }
    }
}

impl RawPool {
    /// Runs `sql` with every tenant's rows in reach (PostgreSQL: as each tenant in turn).
    pub(crate) async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            RawPool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            RawPool::Postgres(p) => {
                let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
                    .fetch_all(p)
                    .await?;
                let mut total = 0;
                for tenant in tenants {
                    let mut tx = p.begin().await?;
                    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                        .bind(tenant.to_string())
                        .execute(&mut *tx)
                        .await?;
                    total += sqlx::query(sql).execute(&mut *tx).await?.rows_affected();
                    tx.commit().await?;
                }
                Ok(total)
            }
        }
    }

    /// A `count(*)` query's total across tenants.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        match self {
            RawPool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.expect("count"),
            RawPool::Postgres(p) => {
                let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
                    .fetch_all(p)
                    .await
                    .expect("tenants");
                let mut total = 0;
                for tenant in tenants {
                    let mut tx = p.begin().await.expect("tx");
                    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                        .bind(tenant.to_string())
                        .execute(&mut *tx)
                        .await
                        .expect("tenant");
                    let n: i64 = sqlx::query_scalar(sql)
                        .fetch_one(&mut *tx)
                        .await
                        .expect("count");
                    total += n;
                }
                total
            }
        }
    }

    /// Two text columns of every row `sql` returns, across tenants.
    async fn fetch_strings(&self, sql: &str) -> Vec<(Option<String>, Option<String>)> {
        match self {
            RawPool::Sqlite(p) => {
                let rows: Vec<(Option<String>, Option<String>)> =
                    sqlx::query_as(&sql.replace("SELECT id,", "SELECT lower(hex(id)),"))
                        .fetch_all(p)
                        .await
                        .expect("select");
                rows.into_iter()
                    .map(|(a, b)| (a.map(|h| hyphenate(&h)), b))
                    .collect()
            }
            RawPool::Postgres(p) => {
                let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
                    .fetch_all(p)
                    .await
                    .expect("tenants");
                let mut out = Vec::new();
                for tenant in tenants {
                    let mut tx = p.begin().await.expect("tx");
                    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                        .bind(tenant.to_string())
                        .execute(&mut *tx)
                        .await
                        .expect("tenant");
                    let rows: Vec<(Option<String>, Option<String>)> =
                        sqlx::query_as(&sql.replace("SELECT id,", "SELECT id::text,"))
                            .fetch_all(&mut *tx)
                            .await
                            .expect("select");
                    out.extend(rows);
                }
                out
            }
        }
    }
}

/// `0123…` (32 hex digits) as a hyphenated UUID.
fn hyphenate(hex: &str) -> String {
    hex.parse::<uuid::Uuid>()
        .map(|u| u.to_string())
        .unwrap_or_else(|_| hex.to_owned())
}

/// A UUID as a literal of the backend's SQL.
pub(crate) fn id_literal(t: &TestDb, id: &str) -> String {
    match t.backend {
        Backend::Sqlite => format!("X'{}'", id.replace('-', "")),
        Backend::Postgres => format!("'{id}'::uuid"),
    }
}

/// Changes audit rows the way an intruder with the database's keys would: as the
/// PostgreSQL superuser, or on SQLite with the append-only triggers dropped.
async fn tamper(t: &TestDb, sql: &str) {
    match t.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await.expect("sqlite");
            sqlx::query("DROP TRIGGER audit_events_append_only_update")
                .execute(&pool)
                .await
                .expect("drop trigger");
            sqlx::query(sql).execute(&pool).await.expect("tamper");
        }
        Backend::Postgres => {
            let pool = t.superuser_pool().await;
            sqlx::query(sql).execute(&pool).await.expect("tamper");
        }
    }
}

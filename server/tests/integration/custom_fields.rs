//! Custom patient fields (issue 12): administrators define them; the patient
//! forms show and check them; searchable ones are found from the search box;
//! retiring one keeps its values; another clinic never sees them.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::raw_pool;
use crate::self_service::{field_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    a_clinic_defines_its_own_patient_fields_and_the_forms_check_them,
    field_values_are_kept_never_deleted_and_stay_in_their_clinic,
);

async fn post(b: &Browser, slug: &str, name: &str, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", &format!("/t/{slug}/api/{name}"), form)
        .await
}

async fn fields(b: &Browser, slug: &str) -> Vec<serde_json::Value> {
    let r = post(b, slug, "patient_fields", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json().as_array().expect("fields").clone()
}

fn id_of(fields: &[serde_json::Value], label: &str) -> String {
    fields
        .iter()
        .find(|f| f["label"] == label)
        .and_then(|f| f["id"].as_str())
        .unwrap_or_else(|| panic!("no field {label}"))
        .to_owned()
}

fn input(id: &str) -> String {
    format!("custom[f{}]", id.replace('-', ""))
}

async fn search(b: &Browser, query: &str) -> Vec<String> {
    let r = post(b, "acme", "list_patients", &[("query", query)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Defines the three fields the tests use: a required searchable text, an
/// optional choice and an optional yes/no.
async fn define_fields(admin: &Browser) {
    for form in [
        vec![
            ("label", "NHIS number"),
            ("kind", "text"),
            ("required", "yes"),
            ("searchable", "yes"),
        ],
        vec![
            ("label", "Referral source"),
            ("kind", "choice"),
            ("choices", "Walk-in\nDoctor referral\nWebsite"),
        ],
        vec![("label", "Smoker"), ("kind", "yes_no")],
    ] {
        let r = post(admin, "acme", "define_patient_field", &form).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

async fn a_clinic_defines_its_own_patient_fields_and_the_forms_check_them(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;

    // Only administrators define fields.
    let refused = post(
        &desk,
        "acme",
        "define_patient_field",
        &[("label", "Shoe size"), ("kind", "number")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    define_fields(&admin).await;

    // A definition is checked, and names the input to fix.
    for (form, field) in [
        (vec![("label", "N"), ("kind", "text")], "label"),
        (vec![("label", "nhis NUMBER"), ("kind", "text")], "label"),
        (vec![("label", "Colour"), ("kind", "colour")], "kind"),
        (
            vec![
                ("label", "Ward"),
                ("kind", "choice"),
                ("choices", "Only one"),
            ],
            "choices",
        ),
        (
            vec![("label", "Ward"), ("kind", "text"), ("choices", "A\nB")],
            "choices",
        ),
    ] {
        let r = post(&admin, "acme", "define_patient_field", &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{form:?}");
    }

    // The front desk reads the definitions for its forms, in order.
    let list = fields(&desk, "acme").await;
    let labels: Vec<&str> = list.iter().filter_map(|f| f["label"].as_str()).collect();
    assert_eq!(labels, ["NHIS number", "Referral source", "Smoker"]);
    let (nhis, source, smoker) = (
        input(&id_of(&list, "NHIS number")),
        input(&id_of(&list, "Referral source")),
        input(&id_of(&list, "Smoker")),
    );

    // Registration: the required field must be filled, every value checked.
    let base = [
        ("given_name", "Kofi"),
        ("family_name", "Mensah"),
        ("birth_date", "1975-05-05"),
        ("sex", "male"),
    ];
    for (extra, field) in [
        (vec![], nhis.as_str()),
        (vec![(nhis.as_str(), "   ")], nhis.as_str()),
        (
            vec![(nhis.as_str(), "GH-5521"), (source.as_str(), "Newspaper")],
            source.as_str(),
        ),
        (
            vec![(nhis.as_str(), "GH-5521"), (smoker.as_str(), "sometimes")],
            smoker.as_str(),
        ),
    ] {
        let mut form = base.to_vec();
        form.extend(extra.iter().copied());
        let r = post(&desk, "acme", "register_patient", &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{form:?}");
    }
    let kofi = register(
        &desk,
        "acme",
        "Kofi",
        "Mensah",
        "1975-05-05",
        &[
            (nhis.as_str(), "GH-5521 A"),
            (source.as_str(), "doctor referral"),
        ],
    )
    .await;

    // The chart shows every field, with one spelling of each value.
    let chart = post(&desk, "acme", "chart", &[("patient_id", &kofi)]).await;
    let values: Vec<(String, serde_json::Value)> = chart.json()["custom_fields"]
        .as_array()
        .expect("custom fields")
        .iter()
        .map(|v| {
            (
                v["field"]["label"].as_str().unwrap_or_default().to_owned(),
                v["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("NHIS number".to_owned(), serde_json::json!("GH-5521 A")),
            (
                "Referral source".to_owned(),
                serde_json::json!("Doctor referral")
            ),
            ("Smoker".to_owned(), serde_json::Value::Null),
        ]
    );

    // A searchable field is found from the search box, in any case; a
    // non-searchable one is not.
    assert_eq!(search(&desk, "gh-5521").await, [kofi.as_str()]);
    assert_eq!(search(&desk, "GH-5521 a").await, [kofi.as_str()]);
    assert!(search(&desk, "doctor referral").await.is_empty());

    // Correcting the details changes the values and what search finds.
    let mut form = vec![
        ("patient_id", kofi.as_str()),
        ("given_name", "Kofi"),
        ("family_name", "Mensah"),
        ("birth_date", "1975-05-05"),
        ("sex", "male"),
        ("status", "active"),
        (nhis.as_str(), "GH-7700"),
        (smoker.as_str(), "no"),
    ];
    let updated = post(&desk, "acme", "update_patient", &form).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert!(search(&desk, "GH-5521").await.is_empty());
    assert_eq!(search(&desk, "gh-7700").await, [kofi.as_str()]);
    form.retain(|(k, _)| *k != nhis.as_str());
    let cleared = post(&desk, "acme", "update_patient", &form).await;
    assert_eq!(cleared.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_of(&cleared),
        nhis,
        "a required field cannot be cleared"
    );

    // A field no longer wanted is retired: off the forms, its values kept.
    let nhis_id = id_of(&list, "NHIS number");
    let r = post(
        &desk,
        "acme",
        "retire_patient_field",
        &[("field_id", &nhis_id)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(
        &admin,
        "acme",
        "retire_patient_field",
        &[("field_id", &nhis_id)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(fields(&desk, "acme").await.len(), 2);
    register(&desk, "acme", "Ama", "Owusu", "1990-01-01", &[]).await;
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM patient_field_values WHERE value = 'GH-7700'")
            .await,
        1
    );
    // The name of a retired field is free again.
    let again = post(
        &admin,
        "acme",
        "define_patient_field",
        &[("label", "NHIS number"), ("kind", "text")],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

async fn field_values_are_kept_never_deleted_and_stay_in_their_clinic(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    define_fields(&admin).await;
    let acme_fields = fields(&admin, "acme").await;
    let nhis = input(&id_of(&acme_fields, "NHIS number"));
    register(
        &admin,
        "acme",
        "Kofi",
        "Mensah",
        "1975-05-05",
        &[(nhis.as_str(), "GH-1")],
    )
    .await;

    // Another clinic has none of them, and cannot write to them.
    let other = staff_of(addr, "other", Role::Admin).await;
    assert!(fields(&other, "other").await.is_empty());
    let r = post(
        &other,
        "other",
        "register_patient",
        &[
            ("given_name", "Efua"),
            ("family_name", "Boateng"),
            ("birth_date", "1980-01-01"),
            ("sex", "female"),
            (nhis.as_str(), "GH-2"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(field_of(&r), "custom");

    // Around the application, values and definitions cannot be deleted.
    let raw = raw_pool(t).await;
    assert!(raw
        .execute("DELETE FROM patient_field_values")
        .await
        .is_err());
    assert!(raw
        .execute("DELETE FROM patient_field_definitions")
        .await
        .is_err());
    assert_eq!(
        raw.count("SELECT count(*) FROM patient_field_values WHERE value = 'GH-1'")
            .await,
        1
    );
}

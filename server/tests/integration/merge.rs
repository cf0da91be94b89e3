//! Merging duplicate records (issue 12): an administrator merges one record of a
//! person into another; everything that can move moves to the survivor, signed
//! notes stay as signed and show on the survivor's chart, and the merged record
//! stays as an archived tombstone pointing at the survivor, held by the database.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::raw_pool;
use crate::self_service::{field_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    an_administrator_merges_a_duplicate_and_the_survivor_keeps_everything,
    a_merged_record_stays_a_tombstone_behind_the_application,
);

async fn post(b: &Browser, name: &str, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", &format!("/t/acme/api/{name}"), form)
        .await
}

async fn ok(b: &Browser, name: &str, form: &[(&str, &str)]) {
    let r = post(b, name, form).await;
    assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
}

async fn chart(b: &Browser, patient: &str) -> serde_json::Value {
    let r = post(b, "chart", &[("patient_id", patient)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

fn texts(list: &serde_json::Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e[key].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// Two records of one person: the survivor with a primary contact, the
/// duplicate with an allergy, a problem, vitals, a primary contact, a signed
/// note and a draft. Answers (survivor, duplicate, duplicate's record number).
async fn two_records(
    admin: &Browser,
    doctor: &Browser,
    desk: &Browser,
) -> (String, String, String) {
    // A clinic field: the survivor leaves it empty, the duplicate fills it in.
    ok(
        admin,
        "define_patient_field",
        &[("label", "Insurance number"), ("kind", "text")],
    )
    .await;
    let fields = post(desk, "patient_fields", &[]).await.json();
    let field = fields[0]["id"]
        .as_str()
        .expect("a clinic field")
        .replace('-', "");
    let input = format!("custom[f{field}]");
    let survivor = register(
        desk,
        "acme",
        "Adaeze",
        "Okafor",
        "1985-03-14",
        &[(input.as_str(), "")],
    )
    .await;
    let duplicate = register(
        desk,
        "acme",
        "Ada",
        "Okafor",
        "1985-03-14",
        &[(input.as_str(), "NI-4471")],
    )
    .await;
    for (p, name) in [(&survivor, "Chidi Okafor"), (&duplicate, "Ngozi Okafor")] {
        ok(
            desk,
            "add_emergency_contact",
            &[
                ("patient_id", p),
                ("name", name),
                ("relation", "sibling"),
                ("phone", "+442079460958"),
                ("primary", "yes"),
            ],
        )
        .await;
    }
    ok(doctor, "no_known_allergies", &[("patient_id", &survivor)]).await;
    ok(
        doctor,
        "add_allergy",
        &[
            ("patient_id", &duplicate),
            ("substance", "Penicillin"),
            ("category", "medication"),
            ("criticality", "high"),
        ],
    )
    .await;
    ok(
        doctor,
        "add_problem",
        &[("patient_id", &duplicate), ("description", "Asthma")],
    )
    .await;
    ok(
        doctor,
        "record_vitals",
        &[("patient_id", &duplicate), ("pulse", "72")],
    )
    .await;
    ok(
        doctor,
        "save_note",
        &[
            ("patient_id", &duplicate),
            ("title", "Signed visit"),
            ("subjective", "Wheeze"),
            ("sign", "yes"),
        ],
    )
    .await;
    ok(
        doctor,
        "save_note",
        &[
            ("patient_id", &duplicate),
            ("title", "Draft visit"),
            ("subjective", "Follow-up"),
        ],
    )
    .await;
    let mrn = chart(desk, &duplicate).await["header"]["mrn"]
        .as_str()
        .expect("mrn")
        .to_owned();
    (survivor, duplicate, mrn)
}

async fn an_administrator_merges_a_duplicate_and_the_survivor_keeps_everything(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let (survivor, duplicate, mrn) = two_records(&admin, &doctor, &desk).await;
    let survivor_mrn = chart(&desk, &survivor).await["header"]["mrn"]
        .as_str()
        .expect("mrn")
        .to_owned();

    // Only administrators merge; the form names what to fix.
    let form = |mrn: &str, confirm: bool| {
        let mut f = vec![
            ("survivor_id", survivor.clone()),
            ("merged_mrn", mrn.to_owned()),
        ];
        if confirm {
            f.push(("confirm", "yes".to_owned()));
        }
        f
    };
    let call = |b: &Browser, f: Vec<(&'static str, String)>| {
        let b = b.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&b, "merge_patients", &pairs).await
        }
    };
    for who in [&desk, &doctor] {
        assert_eq!(
            call(who, form(&mrn, true)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    for (f, field) in [
        (form(&mrn, false), "confirm"),
        (form("NO-SUCH-1", true), "merged_mrn"),
        (form(&survivor_mrn, true), "merged_mrn"),
    ] {
        let r = call(&admin, f).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(field_of(&r), field);
    }
    let merged = call(&admin, form(&mrn, true)).await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);

    // The survivor's chart holds everything of both.
    let c = chart(&doctor, &survivor).await;
    let allergies = c["allergies"].as_array().expect("allergies");
    let active: Vec<&serde_json::Value> = allergies
        .iter()
        .filter(|a| a["status"] == "Active" || a["status"] == "active")
        .collect();
    assert_eq!(
        active.len(),
        1,
        "only the penicillin allergy is current: {allergies:?}"
    );
    assert_eq!(active[0]["substance"], "Penicillin");
    assert!(
        c["banner"].to_string().contains("Penicillin"),
        "{}",
        c["banner"]
    );
    assert_eq!(texts(&c["problems"], "description"), ["Asthma"]);
    assert_eq!(c["vitals"].as_array().expect("vitals").len(), 1);
    assert_eq!(texts(&c["notes"], "title"), ["Draft visit", "Signed visit"]);
    let contacts = c["lists"]["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 2);
    let primary: Vec<&serde_json::Value> =
        contacts.iter().filter(|x| x["primary"] == true).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(
        primary[0]["name"], "Chidi Okafor",
        "the survivor's primary stays"
    );
    let custom = &c["custom_fields"][0];
    assert_eq!(
        custom["value"], "NI-4471",
        "the duplicate's value fills the survivor's empty field"
    );
    let identifiers = &c["lists"]["identifiers"];
    assert_eq!(texts(identifiers, "value"), [mrn.as_str()]);

    // A signed note of the merged record takes an addendum from the survivor.
    let signed = c["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .find(|n| n["title"] == "Signed visit")
        .and_then(|n| n["id"].as_str())
        .expect("signed note")
        .to_owned();
    ok(
        &doctor,
        "add_addendum",
        &[
            ("patient_id", &survivor),
            ("note_id", &signed),
            ("text", "Spirometry normal"),
        ],
    )
    .await;

    // The old record number finds the survivor; the tombstone is out of lists.
    let found = post(&desk, "list_patients", &[("query", &mrn)])
        .await
        .json();
    let ids = texts(&found["items"], "id");
    assert_eq!(ids, [survivor.as_str()]);

    // The tombstone's chart points at the survivor and cannot be restored or
    // merged again.
    let tomb = chart(&admin, &duplicate).await;
    assert_eq!(tomb["merged_into"][0], survivor.as_str());
    assert_eq!(tomb["merged_into"][1], survivor_mrn.as_str());
    let restore = post(
        &admin,
        "set_patient_archived",
        &[("patient_id", &duplicate), ("archived", "false")],
    )
    .await;
    assert_eq!(
        restore.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        restore.body
    );
    let again = call(&admin, form(&mrn, true)).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );

    // Audited on both records.
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action IN ('patient.merged', 'patient.merged_away')")
            .await,
        2
    );
}

async fn a_merged_record_stays_a_tombstone_behind_the_application(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let (survivor, _duplicate, mrn) = two_records(&admin, &doctor, &desk).await;
    ok(
        &admin,
        "merge_patients",
        &[
            ("survivor_id", &survivor),
            ("merged_mrn", &mrn),
            ("confirm", "yes"),
        ],
    )
    .await;
    let raw = raw_pool(t).await;
    // A tombstone cannot be brought back, pointed at itself, or be left without
    // its pointer's who and when.
    for forged in [
        "UPDATE patients SET archived_at = NULL WHERE merged_into IS NOT NULL",
        "UPDATE patients SET merged_into = id WHERE merged_into IS NOT NULL",
        "UPDATE patients SET merged_at = NULL WHERE merged_into IS NOT NULL",
    ] {
        assert!(raw.execute(forged).await.is_err(), "{forged}");
    }
    // The signed note was not moved and still cannot be.
    assert!(raw
        .execute("UPDATE visit_notes SET patient_id = (SELECT merged_into FROM patients WHERE merged_into IS NOT NULL) WHERE status = 'signed'")
        .await
        .is_err());
    assert_eq!(
        raw.count("SELECT count(*) FROM patients WHERE merged_into IS NOT NULL AND archived_at IS NOT NULL")
            .await,
        1
    );
}

//! Importing patients from a CSV file (issue 12): the columns are matched by
//! their names (and as the clinic matched them last time), the first rows are
//! previewed with their problems, the run imports what passes the registry's
//! rules and reports every row it left out with why (a bad field, a record
//! number in use, a possible duplicate of a registered patient or of an earlier
//! row); the plan's limit stops a run, which then resumes without doing a row
//! twice, or is rolled back as a whole. Owners and admins only, and
//! only ever their own clinic's imports.

use chrono::Utc;
use reqwest::StatusCode;

use app::identity::Role;
use app::jobs::kinds;
use server::worker::{Handlers, Worker};

use crate::self_service::{register, set_plan, staff_of};
use crate::support;
use support::fixtures::{clinic, staffed_clinic};
use support::server::{self as test_server, Browser, Reply};
use support::TestDb;

on_both_backends!(
    a_clinic_imports_a_file_and_gets_a_report_of_the_rows_left_out,
    the_plan_limit_stops_a_run_that_then_resumes_without_doing_a_row_twice,
    an_import_brings_contacts_insurance_and_identifiers_and_its_rollback_takes_them,
    imports_are_for_those_who_run_the_clinic_and_only_its_own,
    files_and_reports_of_old_imports_are_forgotten,
);

const IMPORTS: &str = "/t/acme/patients/import";

fn import_worker(db: &app::db::Db) -> Worker {
    let db2 = db.clone();
    let handlers = Handlers::default().on(kinds::PATIENT_IMPORT, move |job, _| {
        let db = db2.clone();
        async move { app::patients::import::run::run(&db, &job).await }
    });
    Worker::new(db.clone(), "imports", handlers)
}

/// Runs every import job due now; answers how many ran.
async fn drain(worker: &Worker) -> usize {
    let mut ran = 0;
    while worker.run_one(Utc::now()).await.expect("run").is_some() {
        ran += 1;
    }
    ran
}

async fn upload(b: &Browser, slug: &str, name: &str, csv: &[u8]) -> Reply {
    let part = reqwest::multipart::Part::bytes(csv.to_vec())
        .file_name(name.to_owned())
        .mime_str("text/csv")
        .expect("mime");
    let res = b
        .client
        .post(format!("http://{}/t/{slug}/patients/import", b.addr))
        .header("host", format!("localhost:{}", b.addr.port()))
        .header("origin", format!("http://localhost:{}", b.addr.port()))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    let (status, headers) = (res.status(), res.headers().clone());
    Reply {
        status,
        headers,
        body: res.text().await.expect("body"),
    }
}

/// Uploads `csv`; answers the new import's address.
async fn uploaded(b: &Browser, csv: &str) -> String {
    let r = upload(b, "acme", "patients.csv", csv.as_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location();
    assert!(to.starts_with(&format!("{IMPORTS}/")), "{to}");
    to
}

async fn page(b: &Browser, at: &str) -> String {
    let r = b.get("localhost", at).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    r.body
}

/// The column (index) the page's mapping form has chosen for `field`.
fn chosen(page: &str, field: &str) -> Option<String> {
    let select = page
        .split(&format!("name=\"map_{field}\""))
        .nth(1)?
        .split("</select>")
        .next()?;
    select
        .split("<option value=\"")
        .find(|o| o.contains("\" selected"))
        .and_then(|o| o.split('"').next())
        .map(str::to_owned)
}

fn state_of(page: &str) -> String {
    page.split("data-state=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("state")
        .to_owned()
}

async fn step(b: &Browser, at: &str, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", at, form).await
}

/// The mapping of the first test's file, as a form.
fn mapping(date_format: &str) -> Vec<(&str, &str)> {
    vec![
        ("map_family_name", "0"),
        ("map_given_name", "1"),
        ("map_birth_date", "2"),
        ("map_sex", "3"),
        ("map_phone", "4"),
        ("map_email", "5"),
        ("map_mrn", "6"),
        ("date_format", date_format),
    ]
}

async fn found(b: &Browser, query: &str) -> Vec<serde_json::Value> {
    let list = b
        .api_ok("acme", "list_patients", &[("query", query), ("page", "1")])
        .await;
    list["items"].as_array().expect("items").clone()
}

async fn a_clinic_imports_a_file_and_gets_a_report_of_the_rows_left_out(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let taken = register(
        &desk,
        "acme",
        "Bola",
        "Adeyemi",
        "1975-06-07",
        &[("mrn", "OLD-7")],
    )
    .await;
    assert!(!taken.is_empty());

    // Another system's export: its own headers, day-first dates, a quoted
    // address-like name, and a column MediSync has no name for ("Chart").
    let csv = "Surname,First Name,D.O.B.,Gender,Mobile,E-mail,Chart\r\n\
        Lovelace,Ada,10/12/1985,F,+44 20 7946 0958,ada@example.com,\r\n\
        Turing,Alan,23/06/1912,M,,,OLD-9\r\n\
        X,Short,01/01/1990,M,,,\r\n\
        Hopper,Grace,09/12/1906,F,,not-an-email,\r\n\
        Okafor,Ada,03/02/1980,F,,,\r\n\
        Lovelace,Augusta,01/01/1990,F,,ADA@example.com,\r\n\
        Adeyemi,Tunde,08/08/1988,M,,,OLD-7\r\n\
        \"Nwosu-Eze\",Chidi,11/10/1990,male,,,\r\n";
    let at = uploaded(&admin, csv).await;
    let first = page(&admin, &at).await;
    assert_eq!(state_of(&first), "mapping");
    assert_eq!(chosen(&first, "family_name").as_deref(), Some("0"));
    assert_eq!(chosen(&first, "given_name").as_deref(), Some("1"));
    assert_eq!(chosen(&first, "birth_date").as_deref(), Some("2"));
    assert_eq!(chosen(&first, "sex").as_deref(), Some("3"));
    assert_eq!(chosen(&first, "phone").as_deref(), Some("4"));
    assert_eq!(chosen(&first, "email").as_deref(), Some("5"));
    assert_eq!(chosen(&first, "mrn"), None, "\"Chart\" is not a known name");

    // Read with ISO dates, the day-first dates do not read: the preview says so.
    let r = step(
        &admin,
        &at,
        &[mapping("%Y-%m-%d").as_slice(), &[("step", "map")]].concat(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let checked = page(&admin, &at).await;
    assert!(checked.contains("date of birth: not a date"), "{checked}");
    assert_eq!(chosen(&checked, "mrn").as_deref(), Some("6"));

    let r = step(
        &admin,
        &at,
        &[mapping("%d/%m/%Y").as_slice(), &[("step", "map")]].concat(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let checked = page(&admin, &at).await;
    assert!(checked.contains("data-testid=\"import-preview\""));
    assert!(
        checked.contains("5 of 8 rows read well; 3 have a problem"),
        "{checked}"
    );
    assert!(
        checked.contains("family name"),
        "row 4's one-letter family name: {checked}"
    );
    assert!(
        checked.contains("repeats row 2 of this file"),
        "row 7's email: {checked}"
    );
    assert!(checked.contains("email:"), "{checked}");

    // Nothing is imported before the run.
    assert!(found(&admin, "lovelace").await.is_empty());
    let r = step(
        &admin,
        &at,
        &[mapping("%d/%m/%Y").as_slice(), &[("step", "start")]].concat(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&page(&admin, &at).await), "running");
    // A running import's page keeps itself up to date.
    assert!(page(&admin, &at).await.contains("http-equiv=\"refresh\""));
    // The run's job is on the queue, and one run does it all.
    assert_eq!(drain(&import_worker(&t.db)).await, 1);

    let done = page(&admin, &at).await;
    assert_eq!(state_of(&done), "done");
    assert!(
        done.contains("8 of 8 rows done: 3 imported, 5 not imported."),
        "{done}"
    );
    // The imported patients are in the registry: numbered from the clinic's
    // series unless the file gave a number, found by the search box.
    let ada = found(&admin, "lovelace ada").await;
    assert_eq!(ada.len(), 1, "{ada:?}");
    assert!(ada[0]["mrn"].as_str().expect("mrn").starts_with("ACME-"));
    let alan = found(&admin, "turing").await;
    assert_eq!(alan[0]["mrn"], "OLD-9");
    assert_eq!(found(&admin, "nwosu").await.len(), 1);
    assert_eq!(
        found(&admin, "+442079460958").await.len(),
        1,
        "phone normalised"
    );

    // The report: the file's own columns, the row number and the reason.
    let report_at = format!("{at}/report.csv");
    let report = admin.get("localhost", &report_at).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.headers["content-disposition"]
        .to_str()
        .expect("disposition")
        .starts_with("attachment;"));
    let lines: Vec<&str> = report.body.lines().collect();
    assert_eq!(
        lines[0],
        "Surname,First Name,D.O.B.,Gender,Mobile,E-mail,Chart,Row in file,Why it was not imported"
    );
    let reason = |row: u32| {
        lines
            .iter()
            .find(|l| l.contains(&format!(",{row},")))
            .unwrap_or_else(|| panic!("row {row} in {lines:?}"))
            .to_string()
    };
    assert!(reason(4).contains("family name"), "{}", reason(4));
    assert!(reason(5).contains("email"), "{}", reason(5));
    assert!(
        reason(6).contains("may already be registered"),
        "{}",
        reason(6)
    );
    assert!(reason(7).contains("repeats row 2"), "{}", reason(7));
    assert!(
        reason(8).contains("record number OLD-7 is in use"),
        "{}",
        reason(8)
    );
    assert_eq!(lines.len(), 6);

    // The next file with the same odd header is matched as this one was.
    let next = uploaded(
        &admin,
        "Surname,First Name,D.O.B.,Gender,Chart\nKing,Augusta,10/12/1985,F,Z-1\n",
    )
    .await;
    assert_eq!(
        chosen(&page(&admin, &next).await, "mrn").as_deref(),
        Some("4")
    );

    // Rolling back needs the box ticked, then removes exactly what it added.
    let r = step(&admin, &at, &[("step", "rollback")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("tick the box"), "{}", r.body);
    let r = step(&admin, &at, &[("step", "rollback"), ("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let back = page(&admin, &r.location()).await;
    assert_eq!(state_of(&back), "rolled_back");
    assert!(back.contains("3 imported patients removed"), "{back}");
    assert!(found(&admin, "lovelace").await.is_empty());
    assert!(found(&admin, "turing").await.is_empty());
    assert_eq!(
        found(&admin, "okafor").await.len(),
        1,
        "registered patients stay"
    );
    assert_eq!(found(&admin, "adeyemi").await.len(), 1);
    let again = step(&admin, &at, &[("step", "rollback"), ("confirm", "yes")]).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
}

/// Uploads `csv`, takes the guessed mapping with ISO dates, runs the import
/// and answers its address and its finished page.
async fn imported_as_guessed(t: &TestDb, b: &Browser, csv: &str) -> (String, String) {
    let at = uploaded(b, csv).await;
    let first = page(b, &at).await;
    let mut form: Vec<(String, String)> = app::patients::import::Field::ALL
        .into_iter()
        .filter_map(|f| chosen(&first, f.key()).map(|c| (format!("map_{}", f.key()), c)))
        .collect();
    form.push(("date_format".into(), "%Y-%m-%d".into()));
    form.push(("step".into(), "start".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = step(b, &at, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(drain(&import_worker(&t.db)).await, 1);
    let done = page(b, &at).await;
    assert_eq!(state_of(&done), "done", "{done}");
    (at, done)
}

/// How many of the clinic's emergency contacts, insurance entries and
/// identifiers came from an import.
async fn imported_entries(t: &TestDb, slug: &str) -> [i64; 3] {
    let tenant = crate::self_service::tenant(t, slug).await;
    let mut tx = t.db.begin_for(tenant.id).await.expect("begin");
    let mut counts = [0; 3];
    for (n, table) in [
        "patient_contacts",
        "patient_insurance",
        "patient_identifiers",
    ]
    .into_iter()
    .enumerate()
    {
        let (c,): (i64,) = tx
            .fetch_one(
                &format!(
                    "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND import_id IS NOT NULL"
                ),
                &[],
            )
            .await
            .expect("count");
        counts[n] = c;
    }
    tx.commit().await.expect("commit");
    counts
}

async fn an_import_brings_contacts_insurance_and_identifiers_and_its_rollback_takes_them(
    t: &TestDb,
) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;

    // The usual names of next of kin, insurance and another system's number
    // are matched; the identifier's header names its system.
    let csv =
        "Given,Family,DOB,Sex,Next of kin,NOK phone,Relationship,Insurer,Policy No,NHS number\n\
        Ada,Lovelace,1985-12-10,F,Bo Lovelace,+44 7700 900123,Brother,Acme Health,P-1,9434765919\n\
        Alan,Turing,1912-06-23,M,,,,,,4857773456\n\
        Grace,Hopper,1906-12-09,F,Vince Hopper,not a phone,,,,\n\
        Mary,Seacole,1905-11-23,F,,,,,,9434765919\n\
        Rosa,Parks,1913-02-04,F,,,,Acme Health,,\n";
    let (first, done) = imported_as_guessed(t, &admin, csv).await;
    assert!(
        done.contains("5 of 5 rows done: 2 imported, 3 not imported."),
        "{done}"
    );
    let report = admin
        .get("localhost", &format!("{first}/report.csv"))
        .await
        .body;
    for (row, why) in [
        (4, "emergency contact's phone"),
        (5, "repeats row 2"),
        (6, "insurance policy number: empty"),
    ] {
        let line = report
            .lines()
            .find(|l| l.contains(&format!(",{row},")))
            .unwrap_or_else(|| panic!("row {row} in {report}"));
        assert!(line.contains(why), "{line}");
    }

    // The entries are on the patients' lists, primary, and the identifier
    // finds its patient from the search box.
    let ada = found(&admin, "9434765919").await;
    assert_eq!(ada.len(), 1, "{ada:?}");
    assert!(
        ada[0]["name"].as_str().expect("name").contains("Lovelace"),
        "{ada:?}"
    );
    let id = ada[0]["id"].as_str().expect("id").to_owned();
    let lists = admin
        .api_ok("acme", "chart", &[("patient_id", id.as_str())])
        .await["lists"]
        .clone();
    assert_eq!(lists["contacts"][0]["name"], "Bo Lovelace");
    assert_eq!(lists["contacts"][0]["relation"], "Brother");
    assert_eq!(lists["contacts"][0]["phone"], "+447700900123");
    assert_eq!(lists["contacts"][0]["primary"], true);
    assert_eq!(lists["insurance"][0]["provider"], "Acme Health");
    assert_eq!(lists["insurance"][0]["policy_number"], "P-1");
    assert_eq!(lists["identifiers"][0]["system"], "NHS number");
    assert_eq!(imported_entries(t, "acme").await, [1, 1, 2]);

    // A later file: an identifier a registered patient holds is refused.
    let (second, done) = imported_as_guessed(
        t,
        &admin,
        "Given,Family,DOB,Sex,NHS number,Next of kin,NOK phone\n\
         Mary,Seacole,1905-11-23,F,4857773456,,\n\
         Rosalind,Franklin,1920-07-25,F,1234567890,Ursula Franklin,+44 7700 900456\n",
    )
    .await;
    assert!(done.contains("1 imported, 1 not imported"), "{done}");
    let report = admin
        .get("localhost", &format!("{second}/report.csv"))
        .await
        .body;
    assert!(
        report.contains("NHS number 4857773456 belongs to a registered patient"),
        "{report}"
    );
    assert_eq!(imported_entries(t, "acme").await, [2, 1, 3]);

    // The database keeps an import's entries: raw SQL as the application
    // cannot delete them while the import stands.
    let tenant = crate::self_service::tenant(t, "acme").await;
    for table in [
        "patient_contacts",
        "patient_insurance",
        "patient_identifiers",
    ] {
        let mut tx = t.db.begin_for(tenant.id).await.expect("begin");
        let refused = tx
            .execute(
                &format!("DELETE FROM {table} WHERE tenant_id = $1 AND import_id IS NOT NULL"),
                &[],
            )
            .await;
        assert!(refused.is_err(), "{table}: {refused:?}");
    }

    // Staff add a contact to an imported patient: that import can no longer be
    // rolled back (the contact is theirs), and says why.
    let alan = found(&admin, "turing").await;
    let alan = alan[0]["id"].as_str().expect("id");
    admin
        .api_ok(
            "acme",
            "add_emergency_contact",
            &[
                ("patient_id", alan),
                ("name", "Sara Turing"),
                ("relation", "Mother"),
                ("phone", "+44 7700 900789"),
            ],
        )
        .await;
    let r = step(&admin, &first, &[("step", "rollback"), ("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("can no longer be rolled back"),
        "{}",
        r.body
    );
    assert_eq!(imported_entries(t, "acme").await, [2, 1, 3], "nothing went");

    // The second import rolls back whole: its patient and her entries.
    let r = step(&admin, &second, &[("step", "rollback"), ("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(found(&admin, "franklin").await.is_empty());
    assert!(found(&admin, "1234567890").await.is_empty());
    assert_eq!(imported_entries(t, "acme").await, [1, 1, 2]);

    // PostgreSQL: a run leaves the registry analysed, so that the foreign-key
    // checks of later chunks are not planned against a table never analysed
    // (they would read the clinic's whole range for every row).
    if matches!(t.backend, app::db::Backend::Postgres) {
        let pool = sqlx::PgPool::connect(&t.app_url).await.expect("pg");
        let (tuples,): (f64,) = sqlx::query_as(
            "SELECT reltuples::float8 FROM pg_class WHERE oid = 'patients'::regclass",
        )
        .fetch_one(&pool)
        .await
        .expect("reltuples");
        assert!(tuples >= 1.0, "patients never analysed: {tuples}");
    }
}

/// `n` distinct, valid rows.
fn rows(n: usize) -> String {
    let mut csv = String::from("Given,Family,DOB,Sex\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Pat{i},Family{i},19{:02}-0{}-1{},{}\n",
            i % 100,
            1 + i % 9,
            i % 10,
            ["F", "M"][i % 2]
        ));
    }
    csv
}

async fn imported(t: &TestDb, slug: &str) -> i64 {
    let tenant = crate::self_service::tenant(t, slug).await;
    let mut tx = t.db.begin_for(tenant.id).await.expect("begin");
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT count(*) FROM patients WHERE tenant_id = $1 AND import_id IS NOT NULL",
            &[],
        )
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    n
}

async fn the_plan_limit_stops_a_run_that_then_resumes_without_doing_a_row_twice(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    set_plan(t, "acme", "starter").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let start = [
        ("map_given_name", "0"),
        ("map_family_name", "1"),
        ("map_birth_date", "2"),
        ("map_sex", "3"),
        ("date_format", "%Y-%m-%d"),
        ("step", "start"),
    ];

    // More rows than the plan holds: refused before anything starts.
    let big = uploaded(&owner, &rows(501)).await;
    let r = step(&owner, &big, &start).await;
    assert_eq!(r.status, StatusCode::PAYMENT_REQUIRED, "{}", r.body);
    assert_eq!(state_of(&r.body), "mapping");

    // 450 fit when started; by the time the run comes, the front desk has
    // registered 60 more, and the run stops with the plan's message.
    let at = uploaded(&owner, &rows(450)).await;
    let r = step(&owner, &at, &start).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for i in 0..60 {
        let given = format!("Walkin{i}");
        register(&owner, "acme", &given, "Desk", "1970-01-01", &[]).await;
    }
    drain(&import_worker(&t.db)).await;
    let stopped = page(&owner, &at).await;
    assert_eq!(state_of(&stopped), "stopped");
    assert!(
        stopped.contains("data-testid=\"import-stop-reason\""),
        "{stopped}"
    );
    assert!(stopped.to_lowercase().contains("upgrade"), "{stopped}");
    assert_eq!(imported(t, "acme").await, 0);

    // After the upgrade it resumes; a second job for the same import (two
    // workers, a retried start) finds nothing left to do.
    set_plan(t, "acme", "professional").await;
    let r = step(&owner, &at, &[("step", "resume")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let worker = import_worker(&t.db);
    assert_eq!(drain(&worker).await, 1);
    let done = page(&owner, &at).await;
    assert_eq!(state_of(&done), "done");
    assert!(
        done.contains("450 of 450 rows done: 450 imported, 0 not imported."),
        "{done}"
    );
    assert_eq!(imported(t, "acme").await, 450);
    let tenant = crate::self_service::tenant(t, "acme").await;
    {
        let mut tx = t.db.begin_for(tenant.id).await.expect("begin");
        let import: uuid::Uuid = at.rsplit('/').next().expect("id").parse().expect("uuid");
        app::jobs::db::enqueue(
            tx.platform(),
            &app::patients::import::run::job(tenant.id, import),
        )
        .await
        .expect("enqueue");
        tx.commit().await.expect("commit");
    }
    assert_eq!(drain(&worker).await, 1);
    assert_eq!(imported(t, "acme").await, 450, "no row twice");
    // Resuming a finished import is refused.
    let r = step(&owner, &at, &[("step", "resume")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn imports_are_for_those_who_run_the_clinic_and_only_its_own(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let at = uploaded(&admin, &rows(3)).await;

    for role in [
        Role::Manager,
        Role::Doctor,
        Role::Receptionist,
        Role::Nurse,
        Role::Billing,
    ] {
        let b = staff_of(addr, "acme", role).await;
        for path in [IMPORTS.to_owned(), at.clone(), format!("{at}/report.csv")] {
            let r = b.get("localhost", &path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
        let r = upload(&b, "acme", "x.csv", rows(1).as_bytes()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} upload");
    }
    for role in [Role::Owner] {
        let b = staff_of(addr, "acme", role).await;
        assert_eq!(
            b.get("localhost", IMPORTS).await.status,
            StatusCode::OK,
            "{role:?}"
        );
    }
    let signed_out = Browser::new(addr).get("localhost", IMPORTS).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);

    // Another clinic's admin: the import does not exist there.
    let theirs = staff_of(addr, "other", Role::Admin).await;
    let id = at.rsplit('/').next().expect("id");
    for path in [
        format!("/t/other/patients/import/{id}"),
        format!("/t/other/patients/import/{id}/report.csv"),
        "/t/other/patients/import/not-an-id".to_owned(),
    ] {
        let r = theirs.get("localhost", &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = step(
        &theirs,
        &format!("/t/other/patients/import/{id}"),
        &[("step", "start")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = page(&theirs, "/t/other/patients/import").await;
    assert!(!list.contains(id), "another clinic's import is not listed");

    // Files that are not patients' CSVs get a reason, never a 500.
    for (bytes, expected) in [
        (&b""[..], "choose a CSV file"),
        (b"Given,Family\n", "no patients under it"),
        (b"Given,Family\n\xff\xfe,x\n", "UTF-8"),
        (b"%PDF-1.7\n\0\0", "not a CSV file"),
    ] {
        let r = upload(&admin, "acme", "bad.csv", bytes).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bytes:?}: {}",
            r.body
        );
        assert!(r.body.contains(expected), "{bytes:?}: {}", r.body);
    }
    // A mapping without the required fields cannot start.
    let r = step(
        &admin,
        &at,
        &[
            ("step", "start"),
            ("date_format", "%Y-%m-%d"),
            ("map_given_name", "0"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("choose the column for"), "{}", r.body);
    let r = step(
        &admin,
        &at,
        &[
            ("step", "map"),
            ("date_format", "%Y-%m-%d"),
            ("map_given_name", "9"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// The daily purge forgets what an import copied from its file once it is old:
/// the rows of its report and the file itself; one left unfinished is closed.
async fn files_and_reports_of_old_imports_are_forgotten(t: &TestDb) {
    use app::patients::import::db;
    // The fixture clinic holds an import waiting for its mapping, with a report row.
    let c = clinic(&t.db, "acme", "doc@acme.example").await;
    let mut tx = t.db.begin_for(c.tenant.id).await.expect("begin");
    let old = db::recent(&mut tx, 10).await.expect("imports");
    assert_eq!(old.len(), 1);
    let id = old[0].id;
    assert_eq!(db::rejected(&mut tx, id).await.expect("report").len(), 1);
    // Not yet old: nothing changes.
    let yesterday = Utc::now() - chrono::Duration::days(1);
    db::forget_old(&mut tx, yesterday).await.expect("forget");
    assert_eq!(db::rejected(&mut tx, id).await.expect("report").len(), 1);
    assert!(!db::content(&mut tx, id).await.expect("file").is_empty());
    // Old: the report and the file go; the unfinished import is closed.
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    assert_eq!(db::forget_old(&mut tx, tomorrow).await.expect("forget"), 1);
    assert!(db::rejected(&mut tx, id).await.expect("report").is_empty());
    assert!(db::content(&mut tx, id).await.expect("file").is_empty());
    let closed = db::get(&mut tx, id).await.expect("get").expect("import");
    assert_eq!(closed.state, app::patients::import::ImportState::Done);
    assert!(closed.message.expect("why").contains("left unfinished"));
    tx.commit().await.expect("commit");
}

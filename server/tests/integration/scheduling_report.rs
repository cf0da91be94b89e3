//! The scheduling report (issue 14): utilisation per practitioner and location,
//! no-show and cancellation rates, lead time and new against returning
//! patients, on the page and as CSV, for those who read the clinic's reports.

use reqwest::StatusCode;

use app::identity::Role;

use crate::scheduling::{book, day, free_starts, next_monday, set_up_in};
use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser};
use support::TestDb;

on_both_backends!(the_report_counts_hours_visits_and_patients_for_its_period,);

/// The CSV's rows as fields (the header first); quotes removed.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    body.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

async fn the_report_counts_hours_visits_and_patients_for_its_period(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    // The doctor works Mondays 09:00–12:00 at the branch: three hours a Monday.
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let ada = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let bola = register(&desk, "acme", "Bola", "Adeyemi", "1975-06-07", &[]).await;
    let monday = next_monday();
    let starts = free_starts(&day(&desk, &s, monday).await);
    let mut visits = Vec::new();
    for (patient, start) in [(&ada, &starts[0]), (&bola, &starts[1]), (&ada, &starts[2])] {
        let id = book(&desk, &s, patient, start).await.json();
        visits.push(id.as_str().expect("appointment id").to_owned());
    }
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[
            ("appointment_id", &visits[2]),
            ("status", "cancelled"),
            ("reason", "The patient called"),
        ],
    )
    .await;

    let csv_path = format!("/t/acme/reports/scheduling.csv?from={monday}&to={monday}");
    let csv = admin.get("localhost", &csv_path).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let rows = csv_rows(&csv.body);
    assert_eq!(
        rows[0][..5],
        [
            "practitioner",
            "location",
            "available_hours",
            "booked_hours",
            "utilisation_percent"
        ]
    );
    assert_eq!(
        rows.len(),
        3,
        "the doctor at the branch, and the totals: {rows:?}"
    );
    let doctor = &rows[1];
    assert_eq!(doctor[1], "Main branch");
    // 3 h open, two 30-minute visits kept: an hour booked, a third used.
    assert_eq!(
        doctor[2..=11],
        [
            "3.00",
            "1.00",
            "33",
            "3",
            "0",
            "0",
            "",
            "1",
            "33",
            &monday.to_string()
        ]
    );
    assert_eq!(rows[2][0], "All");
    assert_eq!(rows[2][2..=5], doctor[2..=5]);

    // The page says the same, with both patients new to the clinic.
    let page = admin
        .get(
            "localhost",
            &format!("/t/acme/reports/scheduling?from={monday}&to={monday}"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("2 new, 0 returning"), "{}", page.body);
    assert!(page.body.contains(">33%<"));

    // The week after: nothing booked, the hours still open; nobody seen.
    let later = monday + chrono::Duration::days(7);
    let next = csv_rows(
        &admin
            .get(
                "localhost",
                &format!("/t/acme/reports/scheduling.csv?from={later}&to={later}"),
            )
            .await
            .body,
    );
    assert_eq!(next[1][2..=5], ["3.00", "0.00", "0", "0"]);

    // A period that makes no sense is named, never a failure.
    let wrong = admin
        .get("localhost", "/t/acme/reports/scheduling?from=2026-02-30")
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("YYYY-MM-DD"));
    let long = admin
        .get(
            "localhost",
            "/t/acme/reports/scheduling.csv?from=2020-01-01&to=2026-01-01",
        )
        .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Only those who read reports; another clinic's staff see their own.
    assert_eq!(
        desk.get("localhost", &csv_path).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Browser::new(addr).get("localhost", &csv_path).await.status,
        StatusCode::SEE_OTHER
    );
    let rival = staff_of(addr, "globex", Role::Admin).await;
    let theirs = rival
        .get(
            "localhost",
            &format!("/t/globex/reports/scheduling.csv?from={monday}&to={monday}"),
        )
        .await;
    assert_eq!(
        csv_rows(&theirs.body).len(),
        2,
        "only their totals: {}",
        theirs.body
    );
    let not_theirs = rival.get("localhost", &csv_path).await;
    assert!(
        matches!(
            not_theirs.status,
            StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
        ),
        "acme's report is not theirs: {}",
        not_theirs.status
    );
    assert!(!not_theirs.body.contains("Main branch"));
}

//! A practitioner's own views of their day (issue 14). The private calendar
//! feed: a doctor makes a link, their calendar app reads valid iCalendar with
//! initials only, changes and cancellations follow, a new link kills the old
//! one, and a revoked or foreign link opens nothing. The dashboard's "Today":
//! the doctor's own visits, the whole clinic's for the front desk.

use reqwest::StatusCode;

use app::identity::Role;

use crate::scheduling::{add_hours, book, day, free_starts, next_monday, set_up_in};
use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser};
use support::TestDb;

on_both_backends!(
    a_practitioner_subscribes_to_a_private_feed_and_revokes_it,
    the_dashboard_lists_today_for_the_signed_in_person,
);

/// The feed's path (`/t/acme/calendar/….ics`) in the page that made it.
fn feed_path(page: &str) -> String {
    let url = page
        .split("data-testid=\"feed-url\"")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no feed address in {page}"));
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    path[path.find('/').expect("a path")..].to_owned()
}

async fn make_link(doctor: &Browser) -> String {
    let made = doctor
        .call("localhost", "/t/acme/calendar/feed", &[("action", "renew")])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    feed_path(&made.body)
}

async fn a_practitioner_subscribes_to_a_private_feed_and_revokes_it(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let patient = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let monday = next_monday();
    let start = free_starts(&day(&desk, &s, monday).await)[0].clone();
    let visit = book(&desk, &s, &patient, &start).await.json();
    let visit = visit.as_str().expect("appointment id").to_owned();

    let off = doctor.get("localhost", "/t/acme/calendar/feed").await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert!(off.body.contains("data-testid=\"feed-make\"") && !off.body.contains("feed-on"));
    let path = make_link(&doctor).await;
    assert!(
        path.starts_with("/t/acme/calendar/") && path.ends_with(".ics"),
        "{path}"
    );

    // The calendar app holds no session: the secret in the address is enough.
    let app = Browser::new(addr);
    let ics = app.get("localhost", &path).await;
    assert_eq!(ics.status, StatusCode::OK, "{}", ics.body);
    assert_eq!(
        ics.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/calendar; charset=utf-8")
    );
    let begins: chrono::DateTime<chrono::Utc> = start.parse().expect("start");
    let body = ics.body.replace("\r\n ", "");
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n") && body.ends_with("END:VCALENDAR\r\n"));
    assert!(body.contains(&format!("DTSTART:{}\r\n", begins.format("%Y%m%dT%H%M%SZ"))));
    assert!(body.contains("SUMMARY:Consultation · A. O.\r\n"), "{body}");
    assert!(body.contains(&format!("UID:{visit}@")));
    assert!(
        !body.contains("Okafor") && !body.contains("Ada"),
        "initials only: {body}"
    );
    assert!(ics.body.split("\r\n").all(|l| l.len() <= 75));

    // A cancellation reaches the calendar as a newer version of the entry.
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[
            ("appointment_id", &visit),
            ("status", "cancelled"),
            ("reason", "The patient called"),
        ],
    )
    .await;
    let after = app.get("localhost", &path).await.body;
    assert!(
        after.contains("STATUS:CANCELLED") && after.contains("SEQUENCE:2"),
        "{after}"
    );

    // The page now says the feed is on, and never shows the address again.
    let on = doctor.get("localhost", "/t/acme/calendar/feed").await;
    assert!(on.body.contains("feed-on") && !on.body.contains(&path));

    // A new link kills the old one; turning the feed off kills the new one.
    let renewed = make_link(&doctor).await;
    assert_ne!(renewed, path);
    assert_eq!(
        app.get("localhost", &path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("localhost", &renewed).await.status, StatusCode::OK);
    let off = doctor
        .call(
            "localhost",
            "/t/acme/calendar/feed",
            &[("action", "revoke")],
        )
        .await;
    assert!(off.body.contains("Your feed is off"), "{}", off.body);
    assert_eq!(
        app.get("localhost", &renewed).await.status,
        StatusCode::NOT_FOUND
    );

    // Another clinic's address with this clinic's secret opens nothing.
    let again = make_link(&doctor).await;
    let elsewhere = again.replace("/t/acme/", "/t/globex/");
    assert_eq!(
        app.get("localhost", &elsewhere).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in ["/t/acme/calendar/nothing.ics", "/t/acme/calendar/nothing"] {
        assert_eq!(
            app.get("localhost", bad).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }

    // Only practitioners have a calendar; strangers are sent to sign in.
    let page = desk.get("localhost", "/t/acme/calendar/feed").await;
    assert!(
        page.body.contains("Only staff who see patients"),
        "{}",
        page.body
    );
    let r = desk
        .call("localhost", "/t/acme/calendar/feed", &[("action", "renew")])
        .await;
    assert!(!r.body.contains("feed-url"), "{}", r.body);
    let r = app.get("localhost", "/t/acme/calendar/feed").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/t/acme/signin");
}

async fn the_dashboard_lists_today_for_the_signed_in_person(t: &TestDb) {
    use chrono::Datelike;
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let today = chrono::Utc::now().date_naive();
    let weekday = today.weekday().number_from_monday();
    add_hours(
        &admin,
        "acme",
        (&s.doctor, &s.location),
        ("clinic", weekday),
        ("00:00", "24:00"),
    )
    .await;
    let empty = doctor.api_ok("acme", "dashboard_counts", &[]).await;
    assert_eq!(empty["today"], serde_json::json!([]), "{empty}");

    let patient = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let start = free_starts(&day(&desk, &s, today).await)[0].clone();
    assert_eq!(
        book(&desk, &s, &patient, &start).await.status,
        StatusCode::OK
    );

    let mine = doctor.api_ok("acme", "dashboard_counts", &[]).await;
    assert_eq!(mine["today"][0]["patient"], "Ada Okafor", "{mine}");
    assert_eq!(mine["today"][0]["what"], "Consultation");
    assert_eq!(mine["today"][0]["status"], "Booked");
    let desk_view = desk.api_ok("acme", "dashboard_counts", &[]).await;
    let what = desk_view["today"][0]["what"]
        .as_str()
        .expect("what")
        .to_owned();
    assert!(
        what.starts_with("Consultation · "),
        "the front desk sees whose visit: {what}"
    );
    assert_eq!(
        mine["queue"],
        serde_json::json!([]),
        "nobody has arrived yet"
    );

    // Once the patient arrives, the waiting room is on the panel too.
    let visit = day(&desk, &s, today).await["columns"][0]["appointments"][0]["id"]
        .as_str()
        .expect("the visit")
        .to_owned();
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[("appointment_id", &visit), ("status", "arrived")],
    )
    .await;
    let mine = doctor.api_ok("acme", "dashboard_counts", &[]).await;
    assert_eq!(
        mine["queue"],
        serde_json::json!([{"time": "Token 1", "patient": "Ada Okafor", "what": "", "status": "Waiting"}]),
        "{mine}"
    );
    let desk_view = desk.api_ok("acme", "dashboard_counts", &[]).await;
    assert_eq!(desk_view["queue"][0]["time"], "Token 1", "{desk_view}");
    assert!(
        !desk_view["queue"][0]["what"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "the front desk sees whose line: {desk_view}"
    );
    let other = billing.api_ok("acme", "dashboard_counts", &[]).await;
    assert!(
        other["today"].is_null() && other["queue"].is_null(),
        "billing staff do not book: {other}"
    );
}

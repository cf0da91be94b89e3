//! Patient messages (issue 16): a booking is confirmed after a short grace and
//! reminded once, by the clinic's rules, at the right local time; moves and
//! cancellations are told, an undo within the grace says nothing, a cancelled
//! visit is never reminded; quiet hours hold a reminder until morning or skip
//! it when it would come too late; two senders racing send one message; the
//! set-up's input is checked and named. Time is the worker's clock, moved by
//! the tests.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use ::server::worker::{Handlers, Worker};
use app::identity::Role;
use app::jobs::{kinds, Done, JobState};
use app::mail::StoredMessage;

use crate::scheduling::{book, day, free_starts, next_monday, set_up_in, Setup};
use crate::self_service::{field_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser};
use support::TestDb;

on_both_backends!(
    a_booked_visit_is_confirmed_then_reminded_once_at_its_local_time,
    moves_and_cancellations_are_told_and_an_undo_within_the_grace_says_nothing,
    a_visit_cancelled_within_the_grace_gets_no_message_at_all,
    quiet_hours_hold_a_reminder_until_morning_or_skip_it_when_too_late,
    two_senders_racing_for_one_message_send_it_once,
    a_patient_who_asked_for_no_email_gets_none_until_they_change_their_mind,
    the_messaging_set_up_checks_and_names_its_input,
);

const PATIENT_EMAIL: &str = "ada.okafor@example.com";

pub fn message_worker(db: &app::db::Db, name: &str) -> Worker {
    let db2 = db.clone();
    let handlers = Handlers::default().on(kinds::PATIENT_MESSAGE, move |job, now| {
        let db = db2.clone();
        async move { app::engagement::send::run(&db, "http://localhost:3000", &job, now).await }
    });
    Worker::new(db.clone(), name, handlers)
}

/// Runs every message due at `now`; answers how many ran.
pub async fn drain(worker: &Worker, now: DateTime<Utc>) -> usize {
    let mut ran = 0;
    while worker.run_one(now).await.expect("run").is_some() {
        ran += 1;
    }
    ran
}

/// The emails to the patient, oldest first.
async fn mails(t: &TestDb) -> Vec<StoredMessage> {
    let mut all: Vec<StoredMessage> = app::mail::recent(&t.db, 200)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|m| m.to_address == PATIENT_EMAIL)
        .collect();
    all.reverse();
    all
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

/// Turns the clinic's booking updates on, sent at any hour (quiet hours have
/// their own test, and the grace period runs on the wall clock).
pub async fn updates_at_any_hour(admin: &Browser) {
    admin
        .api_ok(
            "acme",
            "save_messaging_hours",
            &[
                ("send_from", "00:00"),
                ("send_until", "24:00"),
                ("updates", "on"),
            ],
        )
        .await;
}

/// A clinic set up in `tz`, its front desk, and a patient with an email.
/// Messages may go at any hour (quiet hours have their own test, and the
/// grace period runs on the wall clock).
pub async fn clinic(t: &TestDb, tz: &str) -> (Browser, Browser, Setup, String) {
    clinic_with(t, tz, |_| {}).await
}

/// [`clinic`] on a server whose configuration `tweak` changes.
pub async fn clinic_with(
    t: &TestDb,
    tz: &str,
    tweak: impl FnOnce(&mut ::server::config::Config),
) -> (Browser, Browser, Setup, String) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, tweak).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", tz).await;
    updates_at_any_hour(&admin).await;
    let patient = register(
        &desk,
        "acme",
        "Ada",
        "Okafor",
        "1980-02-03",
        &[("email", PATIENT_EMAIL)],
    )
    .await;
    (admin, desk, s, patient)
}

/// Books the patient at `start`; answers the appointment's id.
pub async fn booked(desk: &Browser, s: &Setup, patient: &str, start: &str) -> String {
    let reply = book(desk, s, patient, start).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json().as_str().expect("id").to_owned()
}

pub async fn cancel(desk: &Browser, id: &str, reason: &str) {
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[
            ("appointment_id", id),
            ("status", "cancelled"),
            ("reason", reason),
        ],
    )
    .await;
}

/// Some message on the calendar gives `reason`.
fn assert_said(shown: &[(String, String, String)], reason: &str) {
    assert!(shown.iter().any(|m| m.2 == reason), "{reason}: {shown:?}");
}

pub fn messages(day: &serde_json::Value) -> Vec<(String, String, String)> {
    day["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["what"].as_str().unwrap_or_default().to_owned(),
                m["state"].as_str().unwrap_or_default().to_owned(),
                m["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn a_booked_visit_is_confirmed_then_reminded_once_at_its_local_time(t: &TestDb) {
    let (_, desk, s, patient) = clinic(t, "UTC").await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    let booked = book(&desk, &s, &patient, &free[1]).await;
    assert_eq!(booked.status, StatusCode::OK, "{}", booked.body);
    let starts = at(&free[1]);
    let worker = message_worker(&t.db, "w1");

    // Within the grace nothing goes; after it, the booking's details.
    assert_eq!(drain(&worker, Utc::now()).await, 0);
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    let sent = mails(t).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].subject.starts_with("Appointment booked"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].text_body.contains("09:30"), "{}", sent[0].text_body);
    assert!(
        sent[0].text_body.contains("/t/acme/portal"),
        "{}",
        sent[0].text_body
    );
    // Nothing about the visit itself: not its kind, not who sees the patient.
    assert!(!sent[0].text_body.contains("Consultation"));
    assert!(!sent[0].text_body.to_lowercase().contains("okafor"));

    // The clinic's default rule: a day before, by email; once.
    let due = starts - Duration::hours(24);
    assert_eq!(drain(&worker, due - Duration::minutes(1)).await, 0);
    assert_eq!(drain(&worker, due).await, 1);
    assert_eq!(drain(&worker, starts - Duration::hours(1)).await, 0);
    let sent = mails(t).await;
    assert_eq!(sent.len(), 2);
    assert!(sent[1].subject.starts_with("Appointment reminder"));
    assert!(sent[1].text_body.contains("09:30"));

    // The front desk sees both, and what became of them.
    let shown = messages(&day(&desk, &s, monday).await);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[0].0, "Reminder by email");
    assert!(shown[0].1.starts_with("sent "), "{shown:?}");
    assert_eq!(shown[1].0, "Booking details by email");
    assert!(shown[1].1.contains("on its way"), "no SMTP here: {shown:?}");
}

async fn moves_and_cancellations_are_told_and_an_undo_within_the_grace_says_nothing(t: &TestDb) {
    let (_, desk, s, patient) = clinic(t, "UTC").await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    let id = booked(&desk, &s, &patient, &free[1]).await;
    let worker = message_worker(&t.db, "w1");
    let after_grace = || Utc::now() + Duration::minutes(3);
    drain(&worker, after_grace()).await;
    let move_to = |start: String| {
        let (desk, id) = (&desk, id.clone());
        async move {
            desk.api_ok(
                "acme",
                "reschedule_appointment",
                &[("appointment_id", &id), ("starts_at", &start)],
            )
            .await;
        }
    };

    move_to(free[3].clone()).await;
    drain(&worker, after_grace()).await;
    let sent = mails(t).await;
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].subject.starts_with("Appointment moved"),
        "{}",
        sent[1].subject
    );
    assert!(sent[1].text_body.contains("10:30"));

    // Moved away and back before anyone was told: nothing to say.
    move_to(free[4].clone()).await;
    move_to(free[3].clone()).await;
    assert_eq!(drain(&worker, after_grace()).await, 2);
    assert_eq!(mails(t).await.len(), 2);

    cancel(&desk, &id, "Patient is travelling").await;
    drain(&worker, after_grace()).await;
    let sent = mails(t).await;
    assert_eq!(sent.len(), 3);
    assert!(sent[2].subject.starts_with("Appointment cancelled"));
    assert!(
        !sent[2].text_body.contains("travelling"),
        "the reason stays in the clinic"
    );

    // No reminder for any of the times it had.
    for start in [&free[1], &free[3], &free[4]] {
        drain(&worker, at(start) - Duration::hours(24)).await;
    }
    assert_eq!(mails(t).await.len(), 3);
    let shown = messages(&day(&desk, &s, monday).await);
    let reminders: Vec<_> = shown
        .iter()
        .filter(|m| m.0.starts_with("Reminder"))
        .collect();
    assert!(!reminders.is_empty());
    assert!(
        reminders.iter().all(|m| m.1 == "cancelled"),
        "{reminders:?}"
    );
    assert_said(&shown, "the visit was moved");
    assert_said(&shown, "the visit is cancelled");
    assert_said(&shown, "nothing changed since the patient was last told");
}

async fn a_visit_cancelled_within_the_grace_gets_no_message_at_all(t: &TestDb) {
    let (_, desk, s, patient) = clinic(t, "UTC").await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    let id = booked(&desk, &s, &patient, &free[0]).await;
    cancel(&desk, &id, "Booked by mistake").await;
    let worker = message_worker(&t.db, "w1");
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 2);
    drain(&worker, at(&free[0]) - Duration::hours(24)).await;
    assert!(mails(t).await.is_empty());
    let shown = messages(&day(&desk, &s, monday).await);
    assert_said(&shown, "cancelled before the patient was told of it");
}

async fn quiet_hours_hold_a_reminder_until_morning_or_skip_it_when_too_late(t: &TestDb) {
    // Kolkata, UTC+05:30. Messages from 08:45; one reminder, 2 hours ahead.
    let (admin, desk, s, patient) = clinic(t, "Asia/Kolkata").await;
    admin
        .api_ok(
            "acme",
            "save_messaging_hours",
            &[
                ("send_from", "08:45"),
                ("send_until", "21:00"),
                ("updates", "off"),
            ],
        )
        .await;
    admin
        .api_ok(
            "acme",
            "remove_reminder_rule",
            &[("minutes_before", "1440"), ("channel", "email")],
        )
        .await;
    admin
        .api_ok(
            "acme",
            "add_reminder_rule",
            &[("amount", "2"), ("unit", "hours"), ("channel", "email")],
        )
        .await;
    let other = register(
        &desk,
        "acme",
        "Ben",
        "Osei",
        "1975-05-05",
        &[("email", "ben@example.com")],
    )
    .await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    // 09:00 and 09:30 local: reminders due 07:00 and 07:30, both before 08:45.
    let (nine, half_past) = (at(&free[0]), at(&free[1]));
    assert_eq!(
        nine.with_timezone(&chrono_tz::Asia::Kolkata)
            .format("%H:%M")
            .to_string(),
        "09:00"
    );
    assert_eq!(
        book(&desk, &s, &other, &free[0]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        book(&desk, &s, &patient, &free[1]).await.status,
        StatusCode::OK
    );
    let worker = message_worker(&t.db, "w1");
    assert_eq!(
        drain(&worker, Utc::now() + Duration::minutes(3)).await,
        0,
        "updates are off"
    );

    // 07:00: the 09:00 visit's reminder could go at 08:45 at the earliest,
    // 15 minutes ahead: too late, skipped and recorded.
    assert_eq!(drain(&worker, nine - Duration::hours(2)).await, 1);
    // 07:30: the 09:30 visit's reminder waits for 08:45.
    let held = worker
        .run_one(half_past - Duration::hours(2))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(held.state, Some(JobState::Queued));
    let opening = half_past - Duration::minutes(45);
    assert_eq!(drain(&worker, opening - Duration::seconds(1)).await, 0);
    assert_eq!(drain(&worker, opening).await, 1);

    let sent = mails(t).await;
    assert_eq!(sent.len(), 1, "only the 09:30 visit's reminder");
    assert!(
        sent[0].text_body.contains("09:30"),
        "local time: {}",
        sent[0].text_body
    );
    let all = app::mail::recent(&t.db, 50).await.expect("outbox");
    assert!(all.iter().all(|m| m.to_address != "ben@example.com"));
    let shown = messages(&day(&desk, &s, monday).await);
    assert!(
        shown
            .iter()
            .any(|m| m.1 == "not sent" && m.2 == "quiet hours until 08:45, too late for the visit"),
        "{shown:?}"
    );
}

async fn two_senders_racing_for_one_message_send_it_once(t: &TestDb) {
    let (_, desk, s, patient) = clinic(t, "UTC").await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    assert_eq!(
        book(&desk, &s, &patient, &free[0]).await.status,
        StatusCode::OK
    );
    let due = app::jobs::db::list(&t.db, JobState::Queued, 10)
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.kind == kinds::PATIENT_MESSAGE)
        .min_by_key(|j| j.run_at)
        .expect("the update's job");
    // Two senders at once on the same message, outside the queue's own guard.
    let other = app::db::Db::connect(&app::db::DbOptions::new(&t.app_url))
        .await
        .expect("second pool");
    let now = Utc::now() + Duration::minutes(3);
    let (a, b) = tokio::join!(
        app::engagement::send::run(&t.db, "http://localhost:3000", &due, now),
        app::engagement::send::run(&other, "http://localhost:3000", &due, now),
    );
    assert!(
        matches!((&a, &b), (Ok(Done::Finished), _) | (_, Ok(Done::Finished))),
        "{a:?} {b:?}"
    );
    assert_eq!(mails(t).await.len(), 1);
    // The queue's own run of that job then finds it sent.
    let worker = message_worker(&t.db, "w1");
    drain(&worker, now).await;
    assert_eq!(mails(t).await.len(), 1);
    other.close().await;
}

async fn the_messaging_set_up_checks_and_names_its_input(t: &TestDb) {
    let (admin, desk, _, _) = clinic(t, "UTC").await;
    for (form, field) in [
        (
            vec![("amount", "0"), ("unit", "hours"), ("channel", "email")],
            "amount",
        ),
        (
            vec![("amount", "31"), ("unit", "days"), ("channel", "email")],
            "amount",
        ),
        (
            vec![("amount", "2"), ("unit", "weeks"), ("channel", "email")],
            "unit",
        ),
        (
            vec![("amount", "2"), ("unit", "hours"), ("channel", "sms")],
            "channel",
        ),
        (
            vec![("amount", "two"), ("unit", "hours"), ("channel", "email")],
            "amount",
        ),
    ] {
        let r = admin.api("acme", "add_reminder_rule", &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{form:?}");
    }
    for (from, until, field) in [
        ("22:00", "21:00", "send_until"),
        ("08:00", "08:30", "send_until"),
        ("25:00", "21:00", "send_from"),
        ("8am", "21:00", "send_from"),
    ] {
        let r = admin
            .api(
                "acme",
                "save_messaging_hours",
                &[("send_from", from), ("send_until", until)],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{from}-{until}: {}",
            r.body
        );
        assert_eq!(field_of(&r), field, "{from}-{until}");
    }
    // The front desk reads reminders on the calendar but does not set them.
    let refused = desk
        .api(
            "acme",
            "add_reminder_rule",
            &[("amount", "2"), ("unit", "hours"), ("channel", "email")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    admin
        .api_ok(
            "acme",
            "add_reminder_rule",
            &[("amount", "2"), ("unit", "hours"), ("channel", "email")],
        )
        .await;
    admin
        .api_ok(
            "acme",
            "save_messaging_hours",
            &[("send_from", "09:00"), ("send_until", "20:00")],
        )
        .await;
    let setup = admin.api_ok("acme", "scheduling_setup", &[]).await;
    let messaging = &setup["messaging"];
    assert_eq!(messaging["window"]["from_min"], 540);
    assert_eq!(messaging["updates"], false, "an unticked box is off");
    let rules: Vec<i64> = messaging["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["minutes_before"].as_i64().expect("minutes"))
        .collect();
    assert_eq!(
        rules,
        vec![1440, 120],
        "the default stays, the new one joins"
    );
    let gone = admin
        .api(
            "acme",
            "remove_reminder_rule",
            &[("minutes_before", "45"), ("channel", "email")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
}

async fn a_patient_who_asked_for_no_email_gets_none_until_they_change_their_mind(t: &TestDb) {
    let (_, desk, s, patient) = clinic(t, "UTC").await;
    let opt = |choice: &'static str| {
        let (desk, patient) = (&desk, patient.clone());
        async move {
            desk.api(
                "acme",
                "set_message_opt_out",
                &[
                    ("patient_id", &patient),
                    ("channel", "email"),
                    ("choice", choice),
                ],
            )
            .await
        }
    };
    let bad = opt("maybe").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&bad), "choice");
    assert_eq!(opt("off").await.status, StatusCode::OK);
    let chart = desk
        .api_ok("acme", "chart", &[("patient_id", &patient)])
        .await;
    assert_eq!(chart["message_opt_outs"], serde_json::json!(["Email"]));

    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    booked(&desk, &s, &patient, &free[0]).await;
    let worker = message_worker(&t.db, "w1");
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    drain(&worker, at(&free[0]) - Duration::hours(24)).await;
    assert!(mails(t).await.is_empty());
    let shown = messages(&day(&desk, &s, monday).await);
    assert!(
        shown
            .iter()
            .all(|m| m.1 == "not sent" && m.2 == "the patient asked for no messages by email"),
        "{shown:?}"
    );

    // Back on: the next booking is told.
    assert_eq!(opt("on").await.status, StatusCode::OK);
    booked(&desk, &s, &patient, &free[2]).await;
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    assert_eq!(mails(t).await.len(), 1);
}

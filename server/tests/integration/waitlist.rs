//! The waitlist (issue 14 ★): the desk puts patients on it; a cancellation
//! frees time, and after the debounce it is offered by email to the first
//! three waiting, held for them (nobody else can book it); the first to accept
//! books it and the others are told it was taken; time freed and taken again
//! within the debounce is offered to nobody; an offer nobody answers expires
//! and the time is free again.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use ::server::worker::{Handlers, Worker};
use app::identity::Role;
use app::jobs::kinds;

use crate::scheduling::{add_hours, book, day, free_starts, next_monday, set_up_in, Setup};
use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser};
use support::TestDb;

on_both_backends!(
    freed_time_goes_to_the_waitlist_first_come_first_served,
    a_patient_joins_the_waitlist_from_the_portal_and_leaves_it,
    new_hours_are_offered_to_the_waitlist,
    leave_taken_back_is_offered_to_the_waitlist,
);

const ORIGIN: &str = "http://localhost:3000";

fn waitlist_worker(db: &app::db::Db) -> Worker {
    let (freed, expire) = (db.clone(), db.clone());
    let handlers = Handlers::default()
        .on(kinds::WAITLIST_FREED, move |job, now| {
            let db = freed.clone();
            async move { app::scheduling::waitlist::offers::run_freed(&db, ORIGIN, &job, now).await }
        })
        .on(kinds::WAITLIST_EXPIRE, move |job, now| {
            let db = expire.clone();
            async move { app::scheduling::waitlist::offers::run_expire(&db, ORIGIN, &job, now).await }
        });
    Worker::new(db.clone(), "waitlist-test", handlers)
}

async fn drain(worker: &Worker, now: DateTime<Utc>) -> usize {
    let mut ran = 0;
    while worker.run_one(now).await.expect("run").is_some() {
        ran += 1;
    }
    ran
}

/// The offer links mailed to `to`, oldest first, as paths.
async fn offers_to(t: &TestDb, to: &str) -> Vec<String> {
    let mut links: Vec<String> = app::mail::recent(&t.db, 500)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|m| m.to_address == to && m.subject.starts_with("A time has opened up"))
        .map(|m| {
            let at = m.text_body.find("/t/acme/waitlist/offer/").expect("a link");
            m.text_body[at..]
                .split_whitespace()
                .next()
                .expect("link")
                .to_owned()
        })
        .collect();
    links.reverse();
    links
}

async fn mails_titled(t: &TestDb, to: &str, subject: &str) -> usize {
    app::mail::recent(&t.db, 500)
        .await
        .expect("outbox")
        .iter()
        .filter(|m| m.to_address == to && m.subject.starts_with(subject))
        .count()
}

async fn join_as_desk(desk: &Browser, s: &Setup, patient: &str, until: chrono::NaiveDate) {
    let r = desk
        .call(
            "localhost",
            "/t/acme/waitlist",
            &[
                ("action", "add"),
                ("patient", patient),
                ("type", &s.kind),
                ("location", &s.location),
                ("practitioner", ""),
                ("from", &Utc::now().date_naive().to_string()),
                ("until", &until.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

async fn cancel(desk: &Browser, visit: &str) {
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[
            ("appointment_id", visit),
            ("status", "cancelled"),
            ("reason", "The patient called"),
        ],
    )
    .await;
}

async fn book_at(desk: &Browser, s: &Setup, patient: &str, start: &str) -> String {
    let r = book(desk, s, patient, start).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json().as_str().expect("appointment id").to_owned()
}

fn states(page: &str) -> Vec<String> {
    page.split("data-testid=\"waitlist-entry\" data-state=\"")
        .skip(1)
        .map(|r| r.split('"').next().expect("state").to_owned())
        .collect()
}

/// Acme, where the set-up's doctor works Mondays 09:00–12:00 (30-minute
/// visits), with its administrator and front desk.
async fn clinic_with_hours(t: &TestDb) -> (std::net::SocketAddr, Browser, Browser, Setup) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    (addr, admin, desk, s)
}

/// Registers a patient "`given` Waiter" mailed at `given`@example.com (lower case).
async fn waiter(desk: &Browser, given: &str, born: &str) -> String {
    let mail = format!("{}@example.com", given.to_lowercase());
    register(desk, "acme", given, "Waiter", born, &[("email", &mail)]).await
}

async fn freed_time_goes_to_the_waitlist_first_come_first_served(t: &TestDb) {
    let (addr, _admin, desk, s) = clinic_with_hours(t).await;
    // The set-up's new hours are offered to nobody: nobody waits yet.
    let worker = waitlist_worker(&t.db);
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    let email = |name: &str| format!("{}@example.com", name.to_lowercase());
    let mut patients = Vec::new();
    for (given, born) in [
        ("Ada", "1980-02-03"),
        ("Bola", "1975-06-07"),
        ("Chidi", "1990-10-11"),
        ("Dayo", "1985-01-02"),
        ("Emeka", "1970-03-04"),
    ] {
        patients.push(waiter(&desk, given, born).await);
    }
    let (ada, bola, chidi, dayo, emeka) = (
        &patients[0],
        &patients[1],
        &patients[2],
        &patients[3],
        &patients[4],
    );
    let monday = next_monday();
    let starts = free_starts(&day(&desk, &s, monday).await);
    let nine = starts[0].clone();

    // Dayo holds 09:00; three patients wait, in this order.
    let visit = book_at(&desk, &s, dayo, &nine).await;
    let until = monday + Duration::days(7);
    for p in [ada, bola, chidi] {
        join_as_desk(&desk, &s, p, until).await;
    }
    let again = desk
        .call(
            "localhost",
            "/t/acme/waitlist",
            &[
                ("action", "add"),
                ("patient", ada),
                ("type", &s.kind),
                ("location", &s.location),
                ("from", &Utc::now().date_naive().to_string()),
                ("until", &until.to_string()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.contains("already on the waitlist"),
        "{}",
        again.body
    );

    // The cancellation is offered only after the debounce …
    cancel(&desk, &visit).await;
    assert_eq!(drain(&worker, Utc::now()).await, 0);
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    // … to all three at once, and held: nobody else can book 09:00 now.
    for name in ["ada", "bola", "chidi"] {
        assert_eq!(offers_to(t, &email(name)).await.len(), 1, "{name}");
    }
    assert!(!free_starts(&day(&desk, &s, monday).await).contains(&nine));
    let held = book(&desk, &s, emeka, &nine).await;
    assert_ne!(
        held.status,
        StatusCode::OK,
        "the held time is not for the desk to give away"
    );
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    assert_eq!(states(&page), ["offered", "offered", "offered"]);

    // The offer's page shows the time without a session; Bola books it first.
    let stranger = Browser::new(addr);
    let bolas = &offers_to(t, &email("bola")).await[0];
    let shown = stranger.get("localhost", bolas).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(
        shown.body.contains("data-testid=\"offer-accept\"") && shown.body.contains("Consultation")
    );
    assert!(!shown.body.contains("Ada") && !shown.body.contains("Chidi"));
    let booked = stranger.call("localhost", bolas, &[]).await;
    assert_eq!(booked.status, StatusCode::OK, "{}", booked.body);
    assert!(booked.body.contains("offer-booked"));
    let calendar = day(&desk, &s, monday).await;
    let bolas_visit = calendar["columns"][0]["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .any(|a| a["patient_id"] == bola.as_str() && a["status"] == "Booked");
    assert!(bolas_visit, "{calendar}");
    // The others are told, stay on the list, and their links say so.
    for name in ["ada", "chidi"] {
        assert_eq!(
            mails_titled(t, &email(name), "The time was taken").await,
            1,
            "{name}"
        );
    }
    let adas = &offers_to(t, &email("ada")).await[0];
    let late = stranger.call("localhost", adas, &[]).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body.contains("offer-taken"));
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    assert_eq!(states(&page), ["waiting", "booked", "waiting"]);
    assert_eq!(
        stranger
            .get("localhost", "/t/acme/waitlist/offer/nothing-here")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Freed and taken again within the debounce: no offer goes out.
    let half_past = starts[1].clone();
    let visit = book_at(&desk, &s, dayo, &half_past).await;
    cancel(&desk, &visit).await;
    book_at(&desk, &s, emeka, &half_past).await;
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    assert_eq!(
        offers_to(t, &email("ada")).await.len(),
        1,
        "nothing new offered"
    );

    // An offer nobody answers expires, and the time is free again.
    let ten = starts[2].clone();
    let visit = book_at(&desk, &s, dayo, &ten).await;
    cancel(&desk, &visit).await;
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    assert_eq!(offers_to(t, &email("ada")).await.len(), 2);
    assert_eq!(offers_to(t, &email("chidi")).await.len(), 2);
    assert!(!free_starts(&day(&desk, &s, monday).await).contains(&ten));
    // (The 09:00 offers' end runs too, and finds them answered.)
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(70)).await, 2);
    assert!(free_starts(&day(&desk, &s, monday).await).contains(&ten));
    let expired = stranger
        .get("localhost", &offers_to(t, &email("ada")).await[1])
        .await;
    assert!(expired.body.contains("offer-expired"), "{}", expired.body);
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    assert_eq!(states(&page), ["waiting", "booked", "waiting"]);

    // Withdrawn entries are not offered anything more.
    let entry = page
        .split("name=\"entry\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an entry");
    let gone = desk
        .call(
            "localhost",
            "/t/acme/waitlist",
            &[("action", "withdraw"), ("entry", entry)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(
        states(&desk.get("localhost", "/t/acme/waitlist").await.body),
        ["withdrawn", "booked", "waiting"]
    );

    // Only staff who book work the list.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    assert_eq!(
        billing.get("localhost", "/t/acme/waitlist").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn a_patient_joins_the_waitlist_from_the_portal_and_leaves_it(t: &TestDb) {
    let (_visitor, _admin, desk, s) = crate::booking::online_clinic(t, true).await;
    let patient = crate::self_service::patient_of(desk.addr, "acme").await;
    let mine = patient.get("localhost", "/t/acme/book/mine").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(
        mine.body.contains("data-testid=\"waitlist-join\""),
        "{}",
        mine.body
    );
    let today = Utc::now().date_naive().to_string();
    let until = (next_monday() + Duration::days(7)).to_string();
    let join = |from: String, until: String| {
        let (patient, s) = (&patient, &s);
        async move {
            patient
                .call(
                    "localhost",
                    "/t/acme/book/waitlist",
                    &[
                        ("action", "join"),
                        ("type", s.kind.as_str()),
                        ("location", s.location.as_str()),
                        ("practitioner", ""),
                        ("from", from.as_str()),
                        ("until", until.as_str()),
                    ],
                )
                .await
        }
    };
    let backwards = join(until.clone(), today.clone()).await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards
            .body
            .to_lowercase()
            .contains("the last date is before the first"),
        "{}",
        backwards.body
    );
    let joined = join(today.clone(), until.clone()).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(joined.headers["location"], "/t/acme/book/mine?done=waiting");
    let twice = join(today.clone(), until.clone()).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice
        .body
        .to_lowercase()
        .contains("already on the waitlist"));
    let mine = patient
        .get("localhost", "/t/acme/book/mine?done=waiting")
        .await
        .body;
    assert!(
        mine.contains("You are on the waitlist") && mine.contains("data-testid=\"my-waitlist\"")
    );
    // The desk sees the entry.
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    assert_eq!(states(&page), ["waiting"]);

    // Another patient's entry is not theirs to withdraw.
    let other = register(
        &desk,
        "acme",
        "Ngozi",
        "Other",
        "1960-01-01",
        &[("email", "ngozi@example.com")],
    )
    .await;
    join_as_desk(&desk, &s, &other, next_monday() + Duration::days(7)).await;
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    let entries: Vec<&str> = page
        .split("name=\"entry\" value=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    let own = mine
        .split("name=\"entry\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("own entry");
    let theirs = entries
        .iter()
        .find(|e| **e != own)
        .expect("the other entry");
    let refused = patient
        .call(
            "localhost",
            "/t/acme/book/waitlist",
            &[("action", "withdraw"), ("entry", theirs)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    let left = patient
        .call(
            "localhost",
            "/t/acme/book/waitlist",
            &[("action", "withdraw"), ("entry", own)],
        )
        .await;
    assert_eq!(left.headers["location"], "/t/acme/book/mine?done=left");
    let page = desk.get("localhost", "/t/acme/waitlist").await.body;
    assert_eq!(states(&page), ["withdrawn", "waiting"]);
}

async fn new_hours_are_offered_to_the_waitlist(t: &TestDb) {
    let (addr, admin, desk, s) = clinic_with_hours(t).await;
    let ada = waiter(&desk, "Ada", "1980-02-03").await;
    let bola = waiter(&desk, "Bola", "1975-06-07").await;
    let monday = next_monday();
    let tuesday = monday + Duration::days(1);
    // The set-up's hours were new time, offered to nobody: nobody waited.
    let worker = waitlist_worker(&t.db);
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    join_as_desk(&desk, &s, &ada, monday + Duration::days(7)).await;
    assert_eq!(
        drain(&worker, Utc::now() + Duration::minutes(3)).await,
        0,
        "nothing new yet"
    );

    // Extra hours on a Tuesday (the doctor's day off): offered after the debounce.
    admin
        .api_ok(
            "acme",
            "add_day_off",
            &[
                ("kind", "extra"),
                ("staff_id", &s.doctor),
                ("location_id", &s.location),
                ("first_day", &tuesday.to_string()),
                ("start", "14:00"),
                ("end", "15:00"),
            ],
        )
        .await;
    assert_eq!(drain(&worker, Utc::now()).await, 0);
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    let adas = offers_to(t, "ada@example.com").await;
    assert_eq!(adas.len(), 1);
    let shown = Browser::new(addr).get("localhost", &adas[0]).await;
    assert!(shown.body.contains("14:00"), "{}", shown.body);

    // New weekly hours likewise open time for those waiting.
    join_as_desk(&desk, &s, &bola, monday + Duration::days(14)).await;
    add_hours(
        &admin,
        "acme",
        (&s.doctor, &s.location),
        ("clinic", 3),
        ("09:00", "10:00"),
    )
    .await;
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    assert_eq!(offers_to(t, "bola@example.com").await.len(), 1);
    // Rounds are not time for patients: nothing is offered for them.
    add_hours(
        &admin,
        "acme",
        (&s.doctor, &s.location),
        ("rounds", 4),
        ("13:00", "15:00"),
    )
    .await;
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 0);
}

/// Removes the first day off of `kind` listed on the set-up page.
async fn take_back(admin: &Browser, kind: &str) {
    let id = day_off_id(admin, kind).await;
    admin
        .api_ok("acme", "remove_day_off", &[("kind", kind), ("id", &id)])
        .await;
}

/// The id of the first day off of `kind` listed on the set-up page.
async fn day_off_id(admin: &Browser, kind: &str) -> String {
    let page = admin.get("localhost", "/t/acme/staff/scheduling").await;
    let marker = format!("name=\"kind\" value=\"{kind}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {kind}: {}", page.body));
    let rest = &page.body[at..];
    let field = "name=\"id\" value=\"";
    let id = &rest[rest.find(field).expect("an id") + field.len()..];
    id[..36].to_owned()
}

async fn add_day_off(admin: &Browser, fields: &[(&str, &str)]) {
    admin.api_ok("acme", "add_day_off", fields).await;
}

async fn leave_taken_back_is_offered_to_the_waitlist(t: &TestDb) {
    let (addr, admin, desk, s) = clinic_with_hours(t).await;
    let ada = waiter(&desk, "Ada", "1980-02-03").await;
    let worker = waitlist_worker(&t.db);
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    let monday = next_monday() + Duration::days(7);
    let day = monday.to_string();
    // Leave, a holiday and a closed morning (all its hours) on one Monday: nothing is new time.
    add_day_off(
        &admin,
        &[
            ("kind", "leave"),
            ("staff_id", &s.doctor),
            ("first_day", &day),
        ],
    )
    .await;
    add_day_off(
        &admin,
        &[
            ("kind", "holiday"),
            ("location_id", &s.location),
            ("first_day", &day),
            ("note", "Founders' day"),
        ],
    )
    .await;
    add_day_off(
        &admin,
        &[
            ("kind", "closed"),
            ("staff_id", &s.doctor),
            ("first_day", &day),
            ("start", "09:00"),
            ("end", "12:00"),
        ],
    )
    .await;
    join_as_desk(&desk, &s, &ada, monday + Duration::days(1)).await;
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 0);

    // Each taken back gives the Monday's hours back: each is offered after the
    // debounce (the offer job books nothing while the day is still closed).
    for kind in ["leave", "holiday"] {
        take_back(&admin, kind).await;
        assert_eq!(drain(&worker, Utc::now()).await, 0, "debounced");
        assert_eq!(
            drain(&worker, Utc::now() + Duration::minutes(3)).await,
            1,
            "{kind}"
        );
    }
    assert!(
        offers_to(t, "ada@example.com").await.is_empty(),
        "the morning is still closed"
    );
    take_back(&admin, "override").await;
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 1);
    let adas = offers_to(t, "ada@example.com").await;
    assert_eq!(adas.len(), 1, "the Monday is open again and offered");
    let shown = Browser::new(addr).get("localhost", &adas[0]).await;
    assert!(shown.body.contains("09:00"), "{}", shown.body);

    // Extra hours taken back give nothing back.
    add_day_off(
        &admin,
        &[
            ("kind", "extra"),
            ("staff_id", &s.doctor),
            ("location_id", &s.location),
            ("first_day", &day),
            ("start", "14:00"),
            ("end", "15:00"),
        ],
    )
    .await;
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    take_back(&admin, "override").await;
    assert_eq!(drain(&worker, Utc::now() + Duration::minutes(3)).await, 0);
}

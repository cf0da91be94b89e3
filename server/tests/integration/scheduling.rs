//! Scheduling (issue 14): an administrator sets up locations, a practitioner's
//! hours and visit types; the front desk books from the engine's free times;
//! a practitioner can never be booked twice, even when fifty people take one
//! slot at once or the application is bypassed; a group admits exactly its
//! capacity; an appointment's life is kept as a history.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::StatusCode;

use app::db::Backend;
use app::identity::Role;

use crate::self_service::{field_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    the_front_desk_books_a_free_time_and_the_calendar_shows_it,
    fifty_people_taking_one_slot_get_exactly_one_booking,
    the_database_refuses_double_booking_with_the_application_bypassed,
    a_group_session_admits_exactly_its_capacity,
    an_appointment_moves_through_its_life_and_keeps_its_history,
    set_up_input_is_checked_and_named,
    a_series_books_what_is_free_at_the_same_local_time_and_reports_the_rest,
    weekly_hours_are_bookable_only_while_the_location_is_open,
);

/// What a set-up leaves: the location, the visit type and the doctor.
#[derive(Clone)]
pub(crate) struct Setup {
    pub location: String,
    pub kind: String,
    pub doctor: String,
}

/// Clinic `acme` with the [`set_up_in`] branch in `tz` (30-minute visits):
/// the server, its administrator and a member of the desk in `role`.
async fn open_clinic(
    t: &TestDb,
    role: Role,
    tz: &str,
) -> (std::net::SocketAddr, Browser, Browser, Setup) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", role).await;
    let s = set_up_in(&admin, "30", "1", tz).await;
    (addr, admin, desk, s)
}

/// The Monday at least three days after today (UTC: the test clinics' zone).
pub(crate) fn next_monday() -> NaiveDate {
    let mut d = Utc::now().date_naive() + Duration::days(3);
    while d.weekday().number_from_monday() != 1 {
        d += Duration::days(1);
    }
    d
}

/// Sets up a branch where the doctor works Mondays 09:00–12:00, and a visit
/// type of `minutes` (with `capacity` places) the doctor offers there.
async fn set_up(admin: &Browser, minutes: &str, capacity: &str) -> Setup {
    set_up_in(admin, minutes, capacity, "UTC").await
}

/// [`set_up`] with the branch in time zone `tz`.
pub(crate) async fn set_up_in(admin: &Browser, minutes: &str, capacity: &str, tz: &str) -> Setup {
    let doctor = doctor_of(admin, "acme").await;
    set_up_for(admin, "acme", &doctor, (minutes, capacity), tz).await
}

/// Adds weekly hours (`kind` "clinic" or "rounds") for (staff, location) on
/// `weekday` (1 = Monday) from `hours.0` to `hours.1`, as clinic `slug`'s
/// administrator.
pub(crate) async fn add_hours(
    admin: &Browser,
    slug: &str,
    (staff, location): (&str, &str),
    (kind, weekday): (&str, u32),
    (start, end): (&str, &str),
) {
    let day = format!("days[d{weekday}]");
    admin
        .api_ok(
            slug,
            "add_hours",
            &[
                ("staff_id", staff),
                ("location_id", location),
                ("kind", kind),
                (day.as_str(), "on"),
                ("start", start),
                ("end", end),
            ],
        )
        .await;
}

/// The booking form's fields for `patient` with the set-up's doctor at `start`.
fn visit_form<'a>(s: &'a Setup, patient: &'a str, start: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("patient_id", patient),
        ("staff_id", &s.doctor),
        ("location_id", &s.location),
        ("type_id", &s.kind),
        ("starts_at", start),
    ]
}

/// The staff id of clinic `slug`'s (first) doctor, as its administrator sees it.
pub(crate) async fn doctor_of(admin: &Browser, slug: &str) -> String {
    admin.api_ok(slug, "scheduling_setup", &[]).await["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .find(|s| s["role"] == "doctor")
        .and_then(|s| s["staff_id"].as_str())
        .expect("a doctor")
        .to_owned()
}

/// Sets up, in clinic `slug`, a branch in `tz` where staff member `doctor`
/// works Mondays 09:00–12:00, and a visit type of (minutes, places) the
/// doctor offers there.
pub(crate) async fn set_up_for(
    admin: &Browser,
    slug: &str,
    doctor: &str,
    (minutes, capacity): (&str, &str),
    tz: &str,
) -> Setup {
    let location = admin
        .api_ok(
            slug,
            "add_location",
            &[
                ("name", "Main branch"),
                ("kind", "clinic"),
                ("time_zone", tz),
            ],
        )
        .await;
    let location = location.as_str().expect("location id").to_owned();
    admin
        .api_ok(
            slug,
            "save_practitioner",
            &[
                ("staff_id", doctor),
                ("specialty", "Family medicine"),
                ("fee", "40.00"),
            ],
        )
        .await;
    add_hours(
        admin,
        slug,
        (doctor, &location),
        ("clinic", 1),
        ("09:00", "12:00"),
    )
    .await;
    let doctor_box = format!("practitioners[s{doctor}]");
    let location_box = format!("locations[l{location}]");
    let kind = admin
        .api_ok(
            slug,
            "save_appointment_type",
            &[
                ("name", "Consultation"),
                ("duration_min", minutes),
                ("capacity", capacity),
                ("price", "40"),
                (doctor_box.as_str(), "on"),
                (location_box.as_str(), "on"),
            ],
        )
        .await;
    Setup {
        location,
        kind: kind.as_str().expect("type id").to_owned(),
        doctor: doctor.to_owned(),
    }
}

pub(crate) async fn day(b: &Browser, s: &Setup, date: NaiveDate) -> serde_json::Value {
    day_at(b, "acme", s, date).await
}

/// Clinic `slug`'s day calendar at the set-up's branch, with its type's free times.
pub(crate) async fn day_at(
    b: &Browser,
    slug: &str,
    s: &Setup,
    date: NaiveDate,
) -> serde_json::Value {
    b.api_ok(
        slug,
        "day_calendar",
        &[
            ("date", &date.to_string()),
            ("location_id", &s.location),
            ("type_id", &s.kind),
        ],
    )
    .await
}

pub(crate) fn free_starts(day: &serde_json::Value) -> Vec<String> {
    day["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .flat_map(|c| c["free"].as_array().expect("free").iter())
        .map(|s| s["start"].as_str().expect("start").to_owned())
        .collect()
}

fn appointments(day: &serde_json::Value) -> Vec<serde_json::Value> {
    day["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .flat_map(|c| c["appointments"].as_array().expect("appointments").clone())
        .collect()
}

pub(crate) async fn book(b: &Browser, s: &Setup, patient: &str, start: &str) -> server::Reply {
    book_at(b, "acme", s, patient, start).await
}

/// Books `patient` with the set-up's doctor in clinic `slug`.
pub(crate) async fn book_at(
    b: &Browser,
    slug: &str,
    s: &Setup,
    patient: &str,
    start: &str,
) -> server::Reply {
    b.api(slug, "book_appointment", &visit_form(s, patient, start))
        .await
}

async fn the_front_desk_books_a_free_time_and_the_calendar_shows_it(t: &TestDb) {
    let (addr, admin, desk, s) = open_clinic(t, Role::Receptionist, "UTC").await;
    let patient = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let monday = next_monday();

    let before = day(&desk, &s, monday).await;
    let free = free_starts(&before);
    assert_eq!(free.len(), 6, "09:00 to 12:00 in half hours: {free:?}");
    assert!(free[0].contains("T09:00:00"), "{free:?}");
    // Tuesday: nobody works here.
    assert!(free_starts(&day(&desk, &s, monday + Duration::days(1)).await).is_empty());

    // The booking form's search is posted and kept in the session; the day
    // then lists who matches (nothing of it travels in an address).
    desk.api_ok("acme", "booking_search", &[("query", "okafor")])
        .await;
    let found = day(&desk, &s, monday).await;
    assert_eq!(found["search"], "okafor");
    assert_eq!(found["found"][0]["name"], "Ada Okafor", "{found}");
    let booked = book(&desk, &s, &patient, &free[1]).await;
    assert_eq!(booked.status, StatusCode::OK, "{}", booked.body);
    let after = day(&desk, &s, monday).await;
    assert!(after["search"].is_null(), "a booking clears the search");
    assert_eq!(free_starts(&after).len(), 5);
    assert!(!free_starts(&after).contains(&free[1]));
    let shown = appointments(&after);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["patient"], "Ada Okafor");
    assert_eq!(shown[0]["time"], "09:30–10:00");
    assert_eq!(shown[0]["status"], "Booked");

    // The same time again: taken, with what is free instead.
    let again = book(&desk, &s, &patient, &free[1]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let message = again.json()["Taken"].as_str().expect("taken").to_owned();
    assert!(
        message.contains("just taken") && message.contains("10:00"),
        "{message}"
    );

    // A time outside the hours, and one in the past, are refused by name.
    let late = format!("{}T13:00:00+00:00", monday);
    let r = book(&desk, &s, &patient, &late).await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "starts_at".into()),
        "{}",
        r.body
    );
    let past = format!("{}T09:00:00+00:00", monday - Duration::days(14));
    let r = book(&desk, &s, &patient, &past).await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "starts_at".into()),
        "{}",
        r.body
    );
    let r = book(&desk, &s, &patient, "tomorrow at nine").await;
    assert_eq!(field_of(&r), "starts_at", "{}", r.body);

    // Cancelling needs a reason and frees the time.
    let id = shown[0]["id"].as_str().expect("id");
    let r = desk
        .api(
            "acme",
            "set_appointment_status",
            &[("appointment_id", id), ("status", "cancelled")],
        )
        .await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason".into())
    );
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[
            ("appointment_id", id),
            ("status", "cancelled"),
            ("reason", "Patient is travelling"),
        ],
    )
    .await;
    assert_eq!(free_starts(&day(&desk, &s, monday).await).len(), 6);

    // Leave removes the day; a pharmacist cannot book; another clinic cannot see it.
    admin
        .api_ok(
            "acme",
            "add_day_off",
            &[
                ("kind", "leave"),
                ("staff_id", &s.doctor),
                ("first_day", &monday.to_string()),
            ],
        )
        .await;
    assert!(free_starts(&day(&desk, &s, monday).await).is_empty());
    let pharmacist = staff_of(addr, "acme", Role::Pharmacist).await;
    assert_eq!(
        book(&pharmacist, &s, &patient, &free[0]).await.status,
        StatusCode::FORBIDDEN
    );
    staffed_clinic(&t.db, "other").await;
    let stranger = staff_of(addr, "other", Role::Receptionist).await;
    let r = stranger
        .api(
            "other",
            "book_appointment",
            &[
                ("patient_id", &patient),
                ("staff_id", &s.doctor),
                ("location_id", &s.location),
                ("type_id", &s.kind),
                ("starts_at", &free[0]),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

async fn fifty_people_taking_one_slot_get_exactly_one_booking(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let s = set_up(&admin, "20", "1").await;
    let mut desks = Vec::new();
    for role in [
        Role::Receptionist,
        Role::Nurse,
        Role::Manager,
        Role::Owner,
        Role::Admin,
    ] {
        desks.push(staff_of(addr, "acme", role).await);
    }
    let patient = register(&desks[0], "acme", "Ben", "Adeyemi", "1975-06-01", &[]).await;
    let monday = next_monday();
    let free = free_starts(&day(&desks[0], &s, monday).await);
    // Three rounds, three different slots.
    for start in free.iter().take(3) {
        let attempts = (0..50).map(|i| book(&desks[i % desks.len()], &s, &patient, start));
        let replies = futures_util::future::join_all(attempts).await;
        let won = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        let taken: Vec<&server::Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .collect();
        assert_eq!(won, 1, "exactly one booking for {start}");
        assert_eq!(
            taken.len(),
            49,
            "{:?}",
            replies.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
        );
        for r in taken {
            let m = r.json()["Taken"].as_str().unwrap_or_default().to_owned();
            assert!(m.contains("just taken") && m.contains("free next"), "{m}");
        }
    }
    let shown = appointments(&day(&desks[0], &s, monday).await);
    assert_eq!(shown.len(), 3);
}

/// Runs `sql` with `binds` as the application's database role, inside the
/// tenant (PostgreSQL's row-level security needs it), bypassing the application.
pub(crate) async fn raw(
    t: &TestDb,
    tenant: uuid::Uuid,
    sql: &str,
    binds: &[uuid::Uuid],
) -> Result<u64, sqlx::Error> {
    match t.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await?;
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            Ok(q.execute(&pool).await?.rows_affected())
        }
        Backend::Postgres => {
            let mut tx = t.app_tx_in(tenant).await?;
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let n = q.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        }
    }
}

const COPY: &str = "INSERT INTO appointments (tenant_id, id, patient_id, staff_id, location_id, type_id, starts_at, \
     ends_at, occupied_from, occupied_until, occupancy, capacity, status, notes, visit_note_id, series_id, booked_via, \
     booked_by, cancel_reason, created_at, updated_at) SELECT tenant_id, $1, patient_id, staff_id, location_id, type_id, \
     starts_at, ends_at, occupied_from, occupied_until, $2, capacity, status, notes, visit_note_id, series_id, booked_via, \
     booked_by, cancel_reason, created_at, updated_at FROM appointments WHERE id = $3";

async fn the_database_refuses_double_booking_with_the_application_bypassed(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let tenant = clinic.tenant.id.into_uuid();
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let s = set_up(&admin, "30", "1").await;
    let patient = register(&admin, "acme", "Cleo", "Mensah", "1990-01-01", &[]).await;
    let monday = next_monday();
    let free = free_starts(&day(&admin, &s, monday).await);
    let booked = book(&admin, &s, &patient, &free[0]).await;
    let id: uuid::Uuid = booked.json().as_str().expect("id").parse().expect("uuid");

    // A copy of the booking, under its own id: the same practitioner, the same time.
    let copy = uuid::Uuid::now_v7();
    let refused = raw(t, tenant, COPY, &[copy, copy, id]).await;
    assert!(
        refused.is_err(),
        "an overlapping appointment was written: {refused:?}"
    );
    // Claiming to share its occupancy while single: refused too.
    let refused = raw(t, tenant, COPY, &[copy, id, id]).await;
    assert!(
        refused.is_err(),
        "a second seat of a single appointment was written"
    );
    // Moving another booking onto it.
    let second = book(&admin, &s, &patient, &free[2]).await;
    let second: uuid::Uuid = second.json().as_str().expect("id").parse().expect("uuid");
    let moved = raw(
        t,
        tenant,
        "UPDATE appointments SET starts_at = (SELECT starts_at FROM appointments WHERE id = $2), \
         ends_at = (SELECT ends_at FROM appointments WHERE id = $2), \
         occupied_from = (SELECT occupied_from FROM appointments WHERE id = $2), \
         occupied_until = (SELECT occupied_until FROM appointments WHERE id = $2) WHERE id = $1",
        &[second, id],
    )
    .await;
    assert!(moved.is_err(), "an appointment was moved onto another");
    // Once the first is cancelled, the time is free again, for the database too.
    admin
        .api_ok(
            "acme",
            "set_appointment_status",
            &[
                ("appointment_id", &id.to_string()),
                ("status", "cancelled"),
                ("reason", "Booked in error"),
            ],
        )
        .await;
    assert_eq!(
        raw(t, tenant, COPY, &[copy, copy, second]).await.ok(),
        None,
        "still overlaps the second"
    );
    let fresh = book(&admin, &s, &patient, &free[0]).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    // Nothing is deleted.
    let deleted = raw(t, tenant, "DELETE FROM appointments WHERE id = $1", &[id]).await;
    assert!(
        deleted.map_or(true, |n| n == 0),
        "an appointment was deleted"
    );
}

async fn a_group_session_admits_exactly_its_capacity(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let s = set_up(&admin, "60", "3").await;
    let monday = next_monday();
    let start = free_starts(&day(&admin, &s, monday).await)[0].clone();
    let mut patients = Vec::new();
    for (i, name) in ["Dara", "Eli", "Fen", "Gus"].iter().enumerate() {
        patients.push(register(&admin, "acme", name, "Group", &format!("198{i}-03-04"), &[]).await);
    }
    let replies =
        futures_util::future::join_all(patients.iter().map(|p| book(&admin, &s, p, &start))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        3,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .count(),
        1
    );
    let shown = day(&admin, &s, monday).await;
    assert!(
        !free_starts(&shown).contains(&start),
        "a full session is not offered"
    );
    // With the application bypassed, a fourth seat is refused too.
    let seat: uuid::Uuid = replies
        .iter()
        .find(|r| r.status == StatusCode::OK)
        .and_then(|r| r.json().as_str().map(str::to_owned))
        .expect("a seat")
        .parse()
        .expect("uuid");
    let occupancy: uuid::Uuid = {
        let mut tx = t.db.begin_for(clinic.tenant.id).await.expect("tx");
        let row: (uuid::Uuid,) = tx
            .fetch_one(
                "SELECT occupancy FROM appointments WHERE tenant_id = $1 AND id = $2",
                &[seat.into()],
            )
            .await
            .expect("occupancy");
        row.0
    };
    let fourth = uuid::Uuid::now_v7();
    let refused = raw(
        t,
        clinic.tenant.id.into_uuid(),
        COPY,
        &[fourth, occupancy, seat],
    )
    .await;
    assert!(refused.is_err(), "a fourth seat was written");
}

async fn an_appointment_moves_through_its_life_and_keeps_its_history(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up(&admin, "30", "1").await;
    let patient = register(&desk, "acme", "Hana", "Ito", "1988-08-08", &[]).await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    let id = book(&desk, &s, &patient, &free[0])
        .await
        .json()
        .as_str()
        .expect("id")
        .to_owned();

    // Moved to a later time: the old one is free again.
    desk.api_ok(
        "acme",
        "reschedule_appointment",
        &[("appointment_id", &id), ("starts_at", &free[3])],
    )
    .await;
    let now = day(&desk, &s, monday).await;
    assert!(free_starts(&now).contains(&free[0]));
    assert_eq!(appointments(&now)[0]["time"], "10:30–11:00");

    let step = |status: &'static str| {
        let (desk, id) = (&desk, id.clone());
        async move {
            desk.api(
                "acme",
                "set_appointment_status",
                &[("appointment_id", &id), ("status", status)],
            )
            .await
        }
    };
    // Completed cannot come before arrival.
    assert_eq!(
        step("completed").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    for status in ["arrived", "in_consultation", "completed"] {
        let r = step(status).await;
        assert_eq!(r.status, StatusCode::OK, "{status}: {}", r.body);
    }
    // A finished visit cannot be cancelled or moved.
    let r = desk
        .api(
            "acme",
            "set_appointment_status",
            &[
                ("appointment_id", &id),
                ("status", "cancelled"),
                ("reason", "Too late"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = desk
        .api(
            "acme",
            "reschedule_appointment",
            &[("appointment_id", &id), ("starts_at", &free[1])],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // The history: booked, moved, arrived, in consultation, completed; each audited.
    let mut tx = t.db.begin_for(clinic.tenant.id).await.expect("tx");
    let id: uuid::Uuid = id.parse().expect("uuid");
    let history: Vec<(String, Option<String>)> = tx
        .fetch_all(
            "SELECT status, reason FROM appointment_events WHERE tenant_id = $1 AND appointment_id = $2 ORDER BY at, id",
            &[id.into()],
        )
        .await
        .expect("history");
    let statuses: Vec<&str> = history.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "booked",
            "booked",
            "arrived",
            "in_consultation",
            "completed"
        ]
    );
    assert_eq!(history[1].1.as_deref(), Some("moved"));
    let audited: Vec<(String,)> = tx
        .fetch_all(
            "SELECT action FROM audit_events WHERE tenant_id = $1 AND action LIKE 'appointment.%' ORDER BY occurred_at",
            &[],
        )
        .await
        .expect("audit");
    assert_eq!(audited.len(), 5, "{audited:?}");
    // The history cannot be rewritten, even bypassing the application.
    drop(tx);
    let rewritten = raw(
        t,
        clinic.tenant.id.into_uuid(),
        "UPDATE appointment_events SET status = 'cancelled' WHERE appointment_id = $1",
        &[id],
    )
    .await;
    assert!(rewritten.is_err(), "the history was rewritten");
}

async fn set_up_input_is_checked_and_named(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    for (name, form, field) in [
        (
            "add_location",
            vec![("name", "X"), ("kind", "clinic")],
            "name",
        ),
        (
            "add_location",
            vec![("name", "Annex"), ("kind", "castle")],
            "kind",
        ),
        (
            "add_location",
            vec![
                ("name", "Annex"),
                ("kind", "clinic"),
                ("time_zone", "Mars/Olympus"),
            ],
            "time_zone",
        ),
        (
            "save_scheduling_rules",
            vec![
                ("min_notice_min", "-5"),
                ("max_days_ahead", "30"),
                ("hold_minutes", "10"),
            ],
            "min_notice_min",
        ),
        (
            "save_scheduling_rules",
            vec![
                ("min_notice_min", "60"),
                ("max_days_ahead", "9999"),
                ("hold_minutes", "10"),
            ],
            "max_days_ahead",
        ),
    ] {
        let r = admin.api("acme", name, &form).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{name} {form:?}: {}",
            r.body
        );
    }
    let s = set_up(&admin, "15", "1").await;
    let doctor_box = format!("practitioners[s{}]", s.doctor);
    let location_box = format!("locations[l{}]", s.location);
    for (form, field) in [
        (
            vec![("name", "Quick"), ("duration_min", "0")],
            "duration_min",
        ),
        (
            vec![("name", "Quick"), ("duration_min", "15"), ("price", "-3")],
            "price",
        ),
        (
            vec![("name", "Quick"), ("duration_min", "15"), ("colour", "red")],
            "colour",
        ),
        (
            vec![("name", "Quick"), ("duration_min", "15"), ("capacity", "0")],
            "capacity",
        ),
    ] {
        let mut form = form;
        form.push((doctor_box.as_str(), "on"));
        form.push((location_box.as_str(), "on"));
        let r = admin.api("acme", "save_appointment_type", &form).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{form:?}: {}",
            r.body
        );
    }
    let r = admin
        .api(
            "acme",
            "save_appointment_type",
            &[
                ("name", "Lonely"),
                ("duration_min", "15"),
                (location_box.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(field_of(&r), "practitioners", "{}", r.body);
    for (form, field) in [
        (
            vec![("start", "13:00"), ("end", "09:00"), ("days[d2]", "on")],
            "end",
        ),
        (
            vec![("start", "25:00"), ("end", "26:00"), ("days[d2]", "on")],
            "start",
        ),
        (vec![("start", "09:00"), ("end", "10:00")], "days"),
    ] {
        let mut form = form;
        form.extend([
            ("staff_id", s.doctor.as_str()),
            ("location_id", s.location.as_str()),
            ("kind", "clinic"),
        ]);
        let r = admin.api("acme", "add_hours", &form).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{form:?}: {}",
            r.body
        );
    }
    // The same name twice is a clear conflict, not a failure.
    let r = admin
        .api(
            "acme",
            "add_location",
            &[("name", "main BRANCH"), ("kind", "clinic")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Only administrators set up; the front desk may not.
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    assert_eq!(
        desk.api(
            "acme",
            "add_location",
            &[("name", "Annex"), ("kind", "clinic")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

/// The desk's form for a series of `times` visits, every `every` weeks.
async fn book_series(
    b: &Browser,
    s: &Setup,
    patient: &str,
    start: &str,
    (every, times): (&str, &str),
) -> server::Reply {
    b.api(
        "acme",
        "book_series",
        &[
            visit_form(s, patient, start),
            vec![("every_weeks", every), ("times", times)],
        ]
        .concat(),
    )
    .await
}

async fn a_series_books_what_is_free_at_the_same_local_time_and_reports_the_rest(t: &TestDb) {
    use chrono::TimeZone;
    let (addr, admin, desk, s) = open_clinic(t, Role::Nurse, "Europe/London").await;
    let patient = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let other = register(&desk, "acme", "Bea", "Mensah", "1975-03-04", &[]).await;
    let monday = next_monday();
    let london = chrono_tz::Europe::London;
    let ten_on = |day: NaiveDate| {
        london
            .from_local_datetime(&day.and_hms_opt(10, 0, 0).expect("10:00"))
            .earliest()
            .expect("10:00 exists")
            .to_rfc3339()
    };
    // Every two weeks, 26 times: a year, so both clock changes fall inside.
    let dates: Vec<NaiveDate> = (0..26).map(|n| monday + Duration::weeks(2 * n)).collect();
    let offsets: std::collections::BTreeSet<String> =
        dates.iter().map(|d| ten_on(*d)[19..].to_owned()).collect();
    assert_eq!(
        offsets.len(),
        2,
        "the series spans a clock change: {offsets:?}"
    );

    // The third date is taken by another patient; the fifth the doctor is away.
    let r = book(&desk, &s, &other, &ten_on(dates[2])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    admin
        .api_ok(
            "acme",
            "add_day_off",
            &[
                ("kind", "leave"),
                ("staff_id", &s.doctor),
                ("first_day", &dates[4].to_string()),
            ],
        )
        .await;

    // Input is checked by name.
    for (every, times, field) in [
        ("9", "6", "every_weeks"),
        ("1", "1", "times"),
        ("1", "27", "times"),
        ("x", "6", "every_weeks"),
    ] {
        let r = book_series(&desk, &s, &patient, &ten_on(dates[0]), (every, times)).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.into()),
            "{every} × {times}: {}",
            r.body
        );
    }
    // Outside the hours every time: refused as a whole, nothing kept.
    let late = format!("{monday}T13:00:00+00:00");
    let r = book_series(&desk, &s, &patient, &late, ("1", "3")).await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "starts_at".into()),
        "{}",
        r.body
    );

    let r = book_series(&desk, &s, &patient, &ten_on(dates[0]), ("2", "26")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let series = r.json().as_str().expect("series id").to_owned();
    let shown = desk
        .api_ok(
            "acme",
            "day_calendar",
            &[
                ("date", &monday.to_string()),
                ("location_id", &s.location),
                ("type_id", &s.kind),
                ("series", &series),
            ],
        )
        .await;
    let report = &shown["series"];
    assert_eq!(
        report["summary"], "Ada Okafor, every 2 weeks: 24 of 26 visits booked",
        "{report}"
    );
    let booked: Vec<&str> = report["booked"]
        .as_array()
        .expect("booked")
        .iter()
        .map(|b| b.as_str().expect("line"))
        .collect();
    assert_eq!(booked.len(), 24);
    // At 10:00 local every time, on both sides of the clock changes.
    assert!(
        booked
            .iter()
            .all(|b| b.contains("10:00–10:30") && b.ends_with("Booked")),
        "{booked:?}"
    );
    let missed: Vec<&str> = report["missed"]
        .as_array()
        .expect("missed")
        .iter()
        .map(|m| m.as_str().expect("line"))
        .collect();
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert!(
        missed[0].starts_with(&dates[2].format("%a %-d %b %Y").to_string())
            && missed[0].contains("taken"),
        "{missed:?}"
    );
    assert!(
        missed[1].starts_with(&dates[4].format("%a %-d %b %Y").to_string())
            && missed[1].contains("hours"),
        "{missed:?}"
    );
    // Each date of the series is on the calendar at 10:00 local.
    let summer = dates
        .iter()
        .find(|d| ten_on(**d).ends_with("+01:00"))
        .expect("a summer date");
    let on_summer = day(&desk, &s, *summer).await;
    let visits = appointments(&on_summer);
    assert_eq!(visits.len(), 1, "{on_summer}");
    assert_eq!(
        (visits[0]["patient"].as_str(), visits[0]["time"].as_str()),
        (Some("Ada Okafor"), Some("10:00–10:30"))
    );

    // Another clinic cannot read the report; the pharmacist cannot book a series.
    staffed_clinic(&t.db, "other").await;
    let other_admin = staff_of(addr, "other", Role::Admin).await;
    let other_doctor = doctor_of(&other_admin, "other").await;
    set_up_for(&other_admin, "other", &other_doctor, ("30", "1"), "UTC").await;
    let theirs = other_admin
        .api_ok("other", "day_calendar", &[("series", &series)])
        .await;
    assert!(theirs["location"].is_object(), "{theirs}");
    assert!(theirs["series"].is_null(), "{theirs}");
    let pharmacist = staff_of(addr, "acme", Role::Pharmacist).await;
    let r = book_series(&pharmacist, &s, &patient, &ten_on(dates[1]), ("1", "2")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn weekly_hours_are_bookable_only_while_the_location_is_open(t: &TestDb) {
    let (addr, admin, desk, s) = open_clinic(t, Role::Receptionist, "UTC").await;
    let monday = next_monday();
    assert_eq!(free_starts(&day(&desk, &s, monday).await).len(), 6);

    // Checked by name.
    let r = add_opening(&admin, &s, "days[d9]", ("10:00", "18:00")).await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "days".into()),
        "{}",
        r.body
    );
    let r = add_opening(&admin, &s, "days[d1]", ("18:00", "10:00")).await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "end".into()),
        "{}",
        r.body
    );
    let r = add_opening(&admin, &s, "days[d1]", ("ten", "18:00")).await;
    assert_eq!(field_of(&r), "start", "{}", r.body);
    // The front desk cannot change them.
    let r = add_opening(&desk, &s, "days[d1]", ("10:00", "18:00")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Open from 10:00 on Mondays: the doctor's 09:00–10:00 is no longer bookable.
    let r = add_opening(&admin, &s, "days[d1]", ("10:00", "18:00")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let free = free_starts(&day(&desk, &s, monday).await);
    assert_eq!(free.len(), 4, "{free:?}");
    assert!(free[0].contains("T10:00:00"), "{free:?}");
    let r = book(
        &desk,
        &s,
        &register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await,
        &format!("{monday}T09:00:00+00:00"),
    )
    .await;
    assert_eq!(
        (r.status, field_of(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "starts_at".into()),
        "{}",
        r.body
    );
    // Shown on the set-up, and removable.
    let setup = admin.api_ok("acme", "scheduling_setup", &[]).await;
    assert_eq!(setup["opening"][0]["text"], "Monday 10:00–18:00", "{setup}");
    let id = setup["opening"][0]["id"].as_str().expect("id").to_owned();
    admin
        .api_ok("acme", "remove_opening_hours", &[("opening_id", &id)])
        .await;
    assert_eq!(free_starts(&day(&desk, &s, monday).await).len(), 6);
    // Another clinic's administrator cannot remove them.
    let r = add_opening(&admin, &s, "days[d1]", ("10:00", "18:00")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = admin.api_ok("acme", "scheduling_setup", &[]).await["opening"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    staffed_clinic(&t.db, "other").await;
    let stranger = staff_of(addr, "other", Role::Admin).await;
    let r = stranger
        .api("other", "remove_opening_hours", &[("opening_id", &id)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(free_starts(&day(&desk, &s, monday).await).len(), 4);
}

/// The set-up's form for opening hours at the set-up's branch, as `who`.
async fn add_opening(
    who: &Browser,
    s: &Setup,
    day: &str,
    (start, end): (&str, &str),
) -> server::Reply {
    who.api(
        "acme",
        "add_opening_hours",
        &[
            ("location_id", s.location.as_str()),
            (day, "on"),
            ("start", start),
            ("end", end),
        ],
    )
    .await
}

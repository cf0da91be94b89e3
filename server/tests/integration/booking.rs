//! Online booking on the clinic's public page, `/book` (issue 14): a visitor
//! sees the soonest free times, picks one (it is held for them), proves their
//! email with a code, is registered and booked, gets the confirmation with its
//! calendar entry, and cancels through their own link. Nothing on the public
//! pages tells of another patient; a returning patient is never linked by
//! itself; wrong codes run out; one clinic's link opens nothing at another.

use chrono::{Duration, Utc};
use reqwest::StatusCode;

use app::identity::Role;

use crate::engagement::{drain, message_worker, updates_at_any_hour};
use crate::scheduling::{day, free_starts, next_monday, set_up_in, Setup};
use crate::self_service::{patient_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser};
use support::TestDb;

on_both_backends!(
    a_new_patient_books_online_confirms_by_code_and_cancels_by_link,
    a_returning_patient_is_noted_for_the_front_desk_never_linked_by_itself,
    wrong_codes_run_out_and_a_lapsed_hold_frees_the_time,
    the_public_page_is_off_until_the_clinic_turns_it_on_and_links_stay_in_their_clinic,
    a_signed_in_patient_books_moves_and_cancels_their_own_visits_without_a_code,
);

const VISITOR: &str = "new.patient@example.com";

thread_local! {
    /// The clinic the running test set up (each test runs on its own thread).
    static TENANT: std::cell::Cell<Option<app::ids::TenantId>> = const { std::cell::Cell::new(None) };
}

fn tenant() -> app::ids::TenantId {
    TENANT.with(std::cell::Cell::get).expect("an online clinic")
}

/// A clinic whose doctor and visit type are offered online, with its public
/// page on; answers the admin, the front desk and the set-up.
pub(crate) async fn online_clinic(
    t: &TestDb,
    slug_public: bool,
) -> (Browser, Browser, Browser, Setup) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    TENANT.with(|c| c.set(Some(clinic.tenant.id)));
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    admin
        .api_ok(
            "acme",
            "save_practitioner",
            &[
                ("staff_id", &s.doctor),
                ("specialty", "Family medicine"),
                ("fee", "40.00"),
                ("bookable_online", "on"),
                ("active", "on"),
            ],
        )
        .await;
    let doctor_box = format!("practitioners[s{}]", s.doctor);
    let location_box = format!("locations[l{}]", s.location);
    admin
        .api_ok(
            "acme",
            "save_appointment_type",
            &[
                ("type_id", &s.kind),
                ("name", "Consultation"),
                ("duration_min", "30"),
                ("capacity", "1"),
                ("price", "40"),
                ("online_bookable", "on"),
                (doctor_box.as_str(), "on"),
                (location_box.as_str(), "on"),
            ],
        )
        .await;
    let mut rules = vec![
        ("min_notice_min", "60"),
        ("max_days_ahead", "60"),
        ("hold_minutes", "10"),
        ("same_day_online", "on"),
    ];
    if slug_public {
        rules.push(("public_booking", "on"));
    }
    admin.api_ok("acme", "save_scheduling_rules", &rules).await;
    updates_at_any_hour(&admin).await;
    (Browser::new(addr), admin, desk, s)
}

/// Every `href` of the links marked `testid` in `html`, unescaped.
fn links(html: &str, testid: &str) -> Vec<String> {
    let marker = format!("data-testid=\"{testid}\"");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| rest.split("href=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

fn query_value(url: &str, key: &str) -> String {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {url}"))
        .to_owned()
}

/// The hidden pick fields of a details link (`?type=&location=&staff=&start=`).
fn pick(link: &str) -> Vec<(String, String)> {
    ["type", "location", "staff", "start"]
        .iter()
        .map(|k| ((*k).to_owned(), query_value(link, k)))
        .collect()
}

async fn post(b: &Browser, path: &str, form: &[(String, String)]) -> test_server::Reply {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.call("localhost", path, &form).await
}

fn details(
    link: &str,
    given: &str,
    family: &str,
    born: &str,
    email: &str,
) -> Vec<(String, String)> {
    let mut form = pick(link);
    for (k, v) in [
        ("given_name", given),
        ("family_name", family),
        ("birth_date", born),
        ("sex", "female"),
        ("email", email),
        ("phone", ""),
    ] {
        form.push((k.to_owned(), v.to_owned()));
    }
    form
}

/// Posts the details step for the time of `link`.
async fn send_details(
    b: &Browser,
    link: &str,
    given: &str,
    family: &str,
    born: &str,
    email: &str,
) -> test_server::Reply {
    post(
        b,
        "/t/acme/book/details",
        &details(link, given, family, born, email),
    )
    .await
}

/// Another visitor asks for the time of `link`: refused while it is held.
async fn rival_is_refused(visitor: &Browser, link: &str) -> test_server::Reply {
    let r = send_details(
        &Browser::new(visitor.addr),
        link,
        "Ola",
        "Nowak",
        "1985-03-04",
        "ola@example.com",
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    r
}

/// Posts `code` for booking request `request`.
async fn send_code(
    b: &Browser,
    request: impl Into<String>,
    code: impl Into<String>,
) -> test_server::Reply {
    post(
        b,
        "/t/acme/book/verify",
        &[
            ("request".into(), request.into()),
            ("code".into(), code.into()),
        ],
    )
    .await
}

/// The six-digit code in the newest email to `to`.
async fn code_for(t: &TestDb, to: &str) -> String {
    let mail = crate::self_service::last_mail_to(t, to).await;
    assert_eq!(mail.subject.split(" · ").next(), Some("Your booking code"));
    mail.text_body
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {}", mail.text_body))
        .to_owned()
}

/// The first of Monday's times on the public page's week of the visit type.
async fn monday_time(visitor: &Browser, s: &Setup) -> String {
    let monday = next_monday();
    let page = visitor
        .get(
            "localhost",
            &format!("/t/acme/book?type={}&from={monday}", s.kind),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    links(&page.body, "book-time")
        .into_iter()
        .next()
        .expect("a free time on Monday")
}

async fn a_new_patient_books_online_confirms_by_code_and_cancels_by_link(t: &TestDb) {
    let (visitor, _admin, desk, s) = online_clinic(t, true).await;
    // Someone already booked on Monday: the public never learns who.
    let other = register(&desk, "acme", "Zebulon", "Quincey", "1970-05-06", &[]).await;
    let monday = next_monday();
    let first = free_starts(&day(&desk, &s, monday).await)[0].clone();
    crate::scheduling::book(&desk, &s, &other, &first).await;

    let home = visitor.get("localhost", "/t/acme/book").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Consultation"), "{}", home.body);
    assert!(
        !home.body.contains("<script"),
        "the public page carries no script"
    );
    let soonest = links(&home.body, "book-time");
    assert!(!soonest.is_empty() && soonest.len() <= 3, "{soonest:?}");
    let link = monday_time(&visitor, &s).await;
    assert!(link.contains("/t/acme/book/details?"), "{link}");
    let week = visitor
        .get(
            "localhost",
            &format!("/t/acme/book?type={}&from={monday}", s.kind),
        )
        .await;
    for page in [&home.body, &week.body] {
        assert!(!page.contains("Zebulon") && !page.contains("Quincey"));
    }
    // Monday 09:00 is taken: the first time offered is 09:30.
    assert!(
        week.body.contains(">09:30<") && !week.body.contains(">09:00<"),
        "{}",
        week.body
    );

    let form_page = visitor.get("localhost", &link).await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.body);
    assert!(form_page.body.contains("Send me a code"));

    // Bad input is named, and what was typed comes back.
    let bad = send_details(
        &visitor,
        &link,
        "Mina",
        "Sato",
        "1990-01-02",
        "not-an-email",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("aria-invalid=\"true\"") && bad.body.contains("value=\"Mina\""));
    let future = (Utc::now() + Duration::days(30)).date_naive().to_string();
    let r = send_details(&visitor, &link, "Mina", "Sato", &future, VISITOR).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("birth"), "{}", r.body);

    let sent = send_details(&visitor, &link, "Mina", "Sato", "1990-01-02", VISITOR).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let verify = sent.location();
    assert!(
        verify.starts_with("/t/acme/book/verify?request="),
        "{verify}"
    );
    let code_mail = crate::self_service::last_mail_to(t, VISITOR).await;
    assert!(
        !code_mail.text_body.contains("Mina") && !code_mail.text_body.contains("09:30"),
        "the code email says nothing of who or when: {}",
        code_mail.text_body
    );
    let code = code_for(t, VISITOR).await;

    // Held: the front desk's calendar no longer offers it, nor does the public page.
    let start = query_value(&link, "start");
    let held_at = chrono::DateTime::from_timestamp(start.parse().expect("start"), 0).expect("time");
    let desk_free = free_starts(&day(&desk, &s, monday).await);
    assert!(
        !desk_free
            .iter()
            .any(|f| f.parse::<chrono::DateTime<Utc>>().ok() == Some(held_at)),
        "{desk_free:?}"
    );
    let taken = rival_is_refused(&visitor, &link).await;
    assert!(taken.body.contains("just taken"), "{}", taken.body);

    let request = query_value(&verify, "request");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = send_code(&visitor, request.clone(), wrong).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("not right") && r.body.contains("4 tries left"),
        "{}",
        r.body
    );
    let booked = send_code(&visitor, request.clone(), code.clone()).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let manage = booked.location();
    assert!(manage.starts_with("/t/acme/book/manage?token="), "{manage}");
    let page = visitor.get("localhost", &manage).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("is booked") && page.body.contains("Cancel this booking"));
    assert_eq!(
        page.headers
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    // The same code again finds nothing open.
    let again = send_code(&visitor, request, code).await;
    assert!(
        again.status.is_client_error() && again.body.contains("no longer open"),
        "{}",
        again.body
    );

    // The confirmation: the calendar entry attached, and the private link.
    let confirmation = crate::self_service::last_mail_to(t, VISITOR).await;
    assert!(
        confirmation.subject.starts_with("Appointment booked"),
        "{}",
        confirmation.subject
    );
    assert_eq!(
        confirmation.attachment_name.as_deref(),
        Some("appointment.ics")
    );
    let ics = confirmation
        .attachment_body
        .clone()
        .expect("calendar entry");
    let dtstart = format!("DTSTART:{}", held_at.format("%Y%m%dT%H%M%SZ"));
    assert!(
        ics.contains("BEGIN:VEVENT\r\n")
            && ics.contains(&dtstart)
            && ics.contains("STATUS:CONFIRMED"),
        "{ics}"
    );
    assert!(confirmation
        .text_body
        .contains("/t/acme/book/manage?token="));

    // The front desk sees the new patient's visit, marked as booked online.
    let calendar = day(&desk, &s, monday).await;
    let visit = calendar["columns"][0]["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .find(|a| a["patient"] == "Mina Sato")
        .cloned()
        .expect("the online booking on the calendar");
    assert!(visit["notes"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Booked online by a new patient."));
    // What the visitor typed is the patient's record now, not the request's.
    let typed: i64 = raw_count(t, "SELECT COUNT(*) FROM online_bookings WHERE tenant_id = $1 AND (given_name IS NOT NULL OR email IS NOT NULL)").await;
    assert_eq!(typed, 0);

    // The clinic's own "booked" update does not repeat the confirmation.
    let worker = message_worker(&t.db, "booking-test");
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    let to_visitor = mails_to(t, VISITOR).await;
    assert_eq!(to_visitor, 2, "the code and the confirmation, nothing more");

    // Cancelling through the link frees the time and tells the patient, with
    // the calendar entry marked cancelled.
    let token = query_value(&manage, "token");
    let cancelled = post(
        &visitor,
        "/t/acme/book/cancel",
        &[("token".into(), token.clone())],
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(
        cancelled.body.contains("Your booking is cancelled")
            && cancelled.body.contains(">Cancelled<")
    );
    assert!(free_starts(&day(&desk, &s, monday).await)
        .iter()
        .any(|f| f.parse::<chrono::DateTime<Utc>>().ok() == Some(held_at)));
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    let told = crate::self_service::last_mail_to(t, VISITOR).await;
    assert!(
        told.subject.starts_with("Appointment cancelled"),
        "{}",
        told.subject
    );
    assert!(told
        .attachment_body
        .expect("entry")
        .contains("STATUS:CANCELLED"));
    let twice = post(&visitor, "/t/acme/book/cancel", &[("token".into(), token)]).await;
    assert_eq!(
        twice.status,
        StatusCode::OK,
        "cancelling again changes nothing: {}",
        twice.body
    );
}

async fn mails_to(t: &TestDb, to: &str) -> usize {
    app::mail::recent(&t.db, 200)
        .await
        .expect("outbox")
        .iter()
        .filter(|m| m.to_address == to)
        .count()
}

/// One number the clinic's data answers (`$1` is the clinic).
async fn raw_count(t: &TestDb, sql: &str) -> i64 {
    let mut tx = t.db.begin_for(tenant()).await.expect("begin");
    let (n,): (i64,) = tx.fetch_one(sql, &[]).await.expect("count");
    n
}

async fn a_returning_patient_is_noted_for_the_front_desk_never_linked_by_itself(t: &TestDb) {
    let (visitor, _admin, desk, s) = online_clinic(t, true).await;
    register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let link = monday_time(&visitor, &s).await;
    let sent = send_details(
        &visitor,
        &link,
        "Ada",
        "Okafor",
        "1980-02-03",
        "ada@example.com",
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let request = query_value(&sent.location(), "request");
    let code = code_for(t, "ada@example.com").await;
    let booked = send_code(&visitor, request, code).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);

    let found = desk
        .api_ok("acme", "list_patients", &[("query", "okafor")])
        .await;
    assert_eq!(
        found["total_items"], 2,
        "a second record, for staff to merge: {found}"
    );
    let calendar = day(&desk, &s, next_monday()).await;
    let note = calendar["columns"][0]["appointments"][0]["notes"]
        .as_str()
        .expect("notes")
        .to_owned();
    assert!(
        note.contains("Possibly the same person as Ada Okafor") && note.contains("merge"),
        "{note}"
    );
}

async fn wrong_codes_run_out_and_a_lapsed_hold_frees_the_time(t: &TestDb) {
    let (visitor, _admin, desk, s) = online_clinic(t, true).await;
    let link = monday_time(&visitor, &s).await;
    let sent = send_details(&visitor, &link, "Mina", "Sato", "1990-01-02", VISITOR).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let request = query_value(&sent.location(), "request");
    let code = code_for(t, VISITOR).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let r = send_code(&visitor, request.clone(), wrong).await;
        if left > 0 {
            assert!(r.body.contains(&format!("{left} tr")), "{left}: {}", r.body);
        } else {
            assert!(
                r.body.to_lowercase().contains("too many wrong codes"),
                "{}",
                r.body
            );
        }
    }
    // Even the right code is too late now, and the time is free again.
    let r = send_code(&visitor, request, code).await;
    assert!(
        r.body.contains("no longer open") || r.body.contains("too many"),
        "{}",
        r.body
    );
    let start = query_value(&link, "start");
    let at = chrono::DateTime::from_timestamp(start.parse().expect("start"), 0).expect("time");
    assert!(free_starts(&day(&desk, &s, next_monday()).await)
        .iter()
        .any(|f| f.parse::<chrono::DateTime<Utc>>().ok() == Some(at)));

    // A hold that lapses gives the time to the next visitor.
    let held = send_details(&visitor, &link, "Mina", "Sato", "1990-01-02", VISITOR).await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.body);
    rival_is_refused(&visitor, &link).await;
    let mut tx = t.db.begin_for(tenant()).await.expect("begin");
    tx.execute(
        "UPDATE slot_holds SET held_until = $2 WHERE tenant_id = $1",
        &[(Utc::now() - Duration::minutes(1)).into()],
    )
    .await
    .expect("lapse the hold");
    tx.commit().await.expect("commit");
    let r = send_details(
        &Browser::new(visitor.addr),
        &link,
        "Ola",
        "Nowak",
        "1985-03-04",
        "ola@example.com",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the lapsed hold gave way: {}",
        r.body
    );
}

async fn the_public_page_is_off_until_the_clinic_turns_it_on_and_links_stay_in_their_clinic(
    t: &TestDb,
) {
    let (visitor, admin, _desk, s) = online_clinic(t, false).await;
    for path in ["/t/acme/book", "/t/acme/book?type=x"] {
        let r = visitor.get("localhost", path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(r.body.contains("does not take bookings online"));
    }
    admin
        .api_ok(
            "acme",
            "save_scheduling_rules",
            &[
                ("min_notice_min", "60"),
                ("max_days_ahead", "60"),
                ("hold_minutes", "10"),
                ("public_booking", "on"),
            ],
        )
        .await;
    let link = monday_time(&visitor, &s).await;
    let sent = send_details(&visitor, &link, "Mina", "Sato", "1990-01-02", VISITOR).await;
    let request = query_value(&sent.location(), "request");
    let code = code_for(t, VISITOR).await;
    let booked = send_code(&visitor, request, code).await;
    let token = query_value(&booked.location(), "token");

    // Another clinic: the same link and token open nothing there.
    staffed_clinic(&t.db, "globex").await;
    let r = visitor
        .get("localhost", &format!("/t/globex/book/manage?token={token}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = post(
        &visitor,
        "/t/globex/book/cancel",
        &[("token".into(), token.clone())],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A made-up token, an unreadable time and the platform's own address.
    let r = visitor
        .get("localhost", "/t/acme/book/manage?token=nothing")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = visitor
        .get(
            "localhost",
            &format!("/t/acme/book/details?type={}&start=soon", s.kind),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = visitor.get("localhost", "/book").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Still booked at acme.
    let r = visitor
        .get("localhost", &format!("/t/acme/book/manage?token={token}"))
        .await;
    assert!(r.body.contains(">Booked<"), "{}", r.body);
}

async fn a_signed_in_patient_books_moves_and_cancels_their_own_visits_without_a_code(t: &TestDb) {
    let (visitor, _admin, desk, s) = online_clinic(t, true).await;
    let patient = patient_of(visitor.addr, "acme").await;
    let monday = next_monday();
    let week = patient
        .get(
            "localhost",
            &format!("/t/acme/book?type={}&from={monday}", s.kind),
        )
        .await;
    assert!(week.body.contains("Your appointments"), "{}", week.body);
    let times = links(&week.body, "book-time");
    let form = patient.get("localhost", &times[0]).await;
    assert!(
        form.body.contains("data-testid=\"book-own\"") && !form.body.contains("name=\"email\""),
        "{}",
        form.body
    );

    let booked = post(&patient, "/t/acme/book/details", &pick(&times[0])).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    assert_eq!(booked.location(), "/t/acme/book/mine?done=booked");
    let mine = patient.get("localhost", "/t/acme/book/mine").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let moves = links(&mine.body, "book-move");
    assert_eq!(moves.len(), 1, "{}", mine.body);

    // Moving: the week carries the visit along, and the visit moves.
    let id = query_value(&moves[0], "move");
    let week = patient
        .get(
            "localhost",
            &format!("/t/acme/book?type={}&from={monday}&move={id}", s.kind),
        )
        .await;
    let times = links(&week.body, "book-time");
    assert!(
        times.iter().all(|t| t.contains(&format!("move={id}"))),
        "{times:?}"
    );
    let mut form = pick(&times[1]);
    form.push(("move".into(), id.clone()));
    let moved = post(&patient, "/t/acme/book/details", &form).await;
    assert_eq!(
        moved.location(),
        "/t/acme/book/mine?done=moved",
        "{}",
        moved.body
    );
    let calendar = day(&desk, &s, monday).await;
    let visits = calendar["columns"][0]["appointments"]
        .as_array()
        .expect("visits")
        .clone();
    assert_eq!(visits.len(), 1, "moved, not booked twice: {visits:?}");
    let start = query_value(&times[1], "start");
    let at = chrono::DateTime::from_timestamp(start.parse().expect("start"), 0).expect("time");
    assert_eq!(
        visits[0]["starts_at"]
            .as_str()
            .and_then(|v| v.parse::<chrono::DateTime<Utc>>().ok()),
        Some(at)
    );

    // Someone else's visit is not theirs to cancel.
    let other = register(&desk, "acme", "Zebulon", "Quincey", "1970-05-06", &[]).await;
    let first = free_starts(&day(&desk, &s, monday).await)[0].clone();
    let r = crate::scheduling::book(&desk, &s, &other, &first).await;
    let other_visit = r.json().as_str().expect("id").to_owned();
    let r = post(
        &patient,
        "/t/acme/book/cancel",
        &[("appointment".into(), other_visit)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let r = post(
        &patient,
        "/t/acme/book/cancel",
        &[("appointment".into(), id)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Your visit is cancelled") && r.body.contains(">Cancelled<"),
        "{}",
        r.body
    );
    // No code was needed, so none was sent.
    let codes = app::mail::recent(&t.db, 200)
        .await
        .expect("outbox")
        .iter()
        .filter(|m| m.subject.starts_with("Your booking code"))
        .count();
    assert_eq!(codes, 0);
    // Signed out, "your appointments" asks for the portal's sign-in.
    let r = visitor.get("localhost", "/t/acme/book/mine").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/t/acme/portal/signin");
}

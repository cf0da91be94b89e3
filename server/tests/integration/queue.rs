//! The waiting-room queue (issue 14): walk-ins get the next token of a
//! practitioner's day, appointment holders join when marked arrived, the desk
//! calls, starts, finishes and skips (the third skip is a no-show) and the
//! calendar follows; the waiting room's screen shows tokens, never names, and
//! stays live over server-sent events; tokens stay unique when desks give them
//! at once, down to the database.

use std::time::Duration;

use reqwest::StatusCode;

use app::db::Backend;
use app::identity::Role;

use crate::chart::raw_pool;
use crate::scheduling::{book, free_starts, next_monday, set_up_in, Setup};
use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self as test_server, Browser, Reply};
use support::TestDb;

on_both_backends!(
    walk_ins_and_arrivals_share_one_line_that_the_desk_works,
    the_waiting_room_screen_shows_tokens_live_and_only_to_its_link,
    tokens_stay_unique_when_desks_give_them_at_once,
);

const QUEUE: &str = "/t/acme/queue";

async fn desk_page(b: &Browser) -> String {
    let page = b.get("localhost", QUEUE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
}

async fn post(b: &Browser, form: &[(&str, &str)]) -> Reply {
    b.call("localhost", QUEUE, form).await
}

/// Gives `patient` a token with the set-up's doctor; answers the token.
async fn walk_in(b: &Browser, s: &Setup, patient: &str) -> u32 {
    let r = post(
        b,
        &[
            ("action", "issue"),
            ("patient", patient),
            ("practitioner", &s.doctor),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers["location"].to_str().expect("location");
    to.split("token=")
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no token in {to}"))
}

/// The rows of the desk page: (token, state), in line order.
fn rows(page: &str) -> Vec<(u32, String)> {
    page.split("data-testid=\"queue-entry\"")
        .skip(1)
        .map(|row| {
            let attr = |name: &str| {
                row.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .expect("attribute")
                    .to_owned()
            };
            (
                attr("data-token").parse().expect("token"),
                attr("data-state"),
            )
        })
        .collect()
}

/// The entry id behind `token` on the desk page.
fn entry_of(page: &str, token: u32) -> String {
    let row = page
        .split("data-testid=\"queue-entry\"")
        .find(|r| r.starts_with(&format!(" data-token=\"{token}\"")))
        .unwrap_or_else(|| panic!("no token {token} in {page}"));
    row.split("name=\"entry\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("entry id")
        .to_owned()
}

async fn act(b: &Browser, token: u32, what: &str) -> Reply {
    let entry = entry_of(&desk_page(b).await, token);
    post(b, &[("action", "act"), ("entry", &entry), ("do", what)]).await
}

async fn act_ok(b: &Browser, token: u32, what: &str) {
    let r = act(b, token, what).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "{what} {token}: {}",
        r.body
    );
}

fn state_of(page: &str, token: u32) -> String {
    rows(page)
        .into_iter()
        .find(|(t, _)| *t == token)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no token {token}"))
}

async fn appointment_status(b: &Browser, s: &Setup, id: &str, date: chrono::NaiveDate) -> String {
    let day = crate::scheduling::day(b, s, date).await;
    day["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .flat_map(|c| c["appointments"].as_array().expect("appointments").clone())
        .find(|a| a["id"] == id)
        .map(|a| a["status"].as_str().expect("status").to_owned())
        .expect("the appointment")
}

async fn walk_ins_and_arrivals_share_one_line_that_the_desk_works(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let ada = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let bola = register(&desk, "acme", "Bola", "Adeyemi", "1975-06-07", &[]).await;
    let chidi = register(&desk, "acme", "Chidi", "Nwosu", "1990-10-11", &[]).await;

    // The desk finds the walk-in by name; the search never travels in the address.
    let found = post(&desk, &[("action", "search"), ("query", "okafor")]).await;
    assert_eq!(found.status, StatusCode::SEE_OTHER, "{}", found.body);
    assert_eq!(found.headers["location"], QUEUE);
    let page = desk_page(&desk).await;
    assert!(page.contains("data-testid=\"queue-found\"") && page.contains("Ada Okafor"));
    assert!(page.contains(&format!("<option value=\"{}\">", s.doctor)));

    assert_eq!(walk_in(&desk, &s, &ada).await, 1);
    assert_eq!(walk_in(&desk, &s, &bola).await, 2);
    let twice = post(
        &desk,
        &[
            ("action", "issue"),
            ("patient", &ada),
            ("practitioner", &s.doctor),
        ],
    )
    .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        twice.body.contains("already in") && twice.body.contains("token 1"),
        "{}",
        twice.body
    );
    for (form, why) in [
        (
            vec![
                ("action", "issue"),
                ("patient", "nobody"),
                ("practitioner", s.doctor.as_str()),
            ],
            "a bad id",
        ),
        (
            vec![("action", "act"), ("entry", &ada), ("do", "call")],
            "not an entry",
        ),
        (
            vec![("action", "act"), ("entry", &ada), ("do", "teleport")],
            "no such step",
        ),
        (vec![("action", "dance")], "no such action"),
    ] {
        let r = post(&desk, &form).await;
        assert!(
            r.status.is_client_error() && r.body.contains("queue-error"),
            "{why}: {} {}",
            r.status,
            r.body
        );
    }

    // An appointment holder joins when marked arrived, placed at the booked time.
    let monday = next_monday();
    let start = free_starts(&crate::scheduling::day(&desk, &s, monday).await)[0].clone();
    let visit = book(&desk, &s, &chidi, &start).await.json();
    let visit = visit.as_str().expect("appointment id").to_owned();
    desk.api_ok(
        "acme",
        "set_appointment_status",
        &[("appointment_id", &visit), ("status", "arrived")],
    )
    .await;
    let page = desk_page(&desk).await;
    assert_eq!(
        rows(&page),
        [
            (1, "waiting".into()),
            (2, "waiting".into()),
            (3, "waiting".into())
        ]
    );
    assert!(page.contains("Walk-in") && page.contains("Booked "));
    assert!(
        page.contains("about 15 min"),
        "a first estimate before any visit ends"
    );

    // Token 1 does not answer three calls: a no-show, who may come back.
    for skip in 1..=3 {
        act_ok(&desk, 1, "call").await;
        act_ok(&desk, 1, "skip").await;
        let expected = if skip < 3 { "waiting" } else { "no_show" };
        assert_eq!(
            state_of(&desk_page(&desk).await, 1),
            expected,
            "after skip {skip}"
        );
    }
    let wrong = act(&desk, 1, "finish").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("cannot be given"), "{}", wrong.body);

    // Token 2 is seen; then the appointment holder, whose visit follows on the calendar.
    act_ok(&desk, 2, "call").await;
    act_ok(&desk, 2, "start").await;
    assert_eq!(
        rows(&desk_page(&desk).await)[0],
        (2, "in_consultation".into())
    );
    act_ok(&desk, 2, "finish").await;
    act_ok(&desk, 3, "start").await;
    assert_eq!(
        appointment_status(&desk, &s, &visit, monday).await,
        "InConsultation"
    );
    act_ok(&desk, 3, "finish").await;
    assert_eq!(
        appointment_status(&desk, &s, &visit, monday).await,
        "Completed"
    );
    act_ok(&desk, 1, "requeue").await;
    assert_eq!(
        rows(&desk_page(&desk).await),
        [
            (1, "waiting".into()),
            (2, "done".into()),
            (3, "done".into())
        ]
    );

    // Every step is on the patients' access logs.
    let raw = raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'queue.joined'")
            .await,
        2
    );
    assert!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'queue.changed'")
            .await
            >= 12
    );
    // The database refuses a second token 1 that day, around the application.
    let new_id = match t.backend {
        Backend::Sqlite => "randomblob(16)",
        Backend::Postgres => "gen_random_uuid()",
    };
    let copy = format!(
        "INSERT INTO queue_entries (tenant_id, id, staff_id, session_date, token, patient_id, state, skips, \
         line_at, joined_at, updated_at) SELECT tenant_id, {new_id}, staff_id, session_date, token, patient_id, \
         'waiting', 0, line_at, joined_at, updated_at FROM queue_entries WHERE token = 1"
    );
    assert!(
        raw.execute(&copy).await.is_err(),
        "a token is given once a day"
    );
    assert!(
        raw.execute("UPDATE queue_entries SET state = 'called', skips = 4")
            .await
            .is_err(),
        "skips stop at three"
    );

    // Who may work the queue: the front desk and clinicians; not billing.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    assert_eq!(
        billing.get("localhost", QUEUE).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&billing, &[("action", "search"), ("query", "ada")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let stranger = Browser::new(addr);
    let out = stranger.get("localhost", QUEUE).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!out.body.contains("Okafor"));
}

/// The screen's path (`/t/acme/queue/board/…`) in the page that made it.
fn board_path(page: &str) -> String {
    let url = page
        .split("data-testid=\"queue-board-url\"")
        .next()
        .and_then(|before| before.rsplit("value=\"").next())
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no screen address in {page}"));
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    path[path.find('/').expect("a path")..].to_owned()
}

/// The first `board` event the screen's stream sends after `skip` events.
async fn next_board_event(b: &Browser, path: &str, skip: usize) -> String {
    let mut res = b
        .client
        .get(format!("http://{}{path}/events", b.addr))
        .header("host", format!("localhost:{}", b.addr.port()))
        .send()
        .await
        .expect("events");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    let mut seen = String::new();
    let mut events = 0;
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), res.chunk())
            .await
            .expect("an event within 20 s")
            .expect("stream")
            .expect("more");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = seen.find("\n\n") {
            let event: String = seen.drain(..end + 2).collect();
            if event.contains("event: board") {
                if events == skip {
                    return event;
                }
                events += 1;
            }
        }
    }
}

async fn the_waiting_room_screen_shows_tokens_live_and_only_to_its_link(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let ada = register(&desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let bola = register(&desk, "acme", "Bola", "Adeyemi", "1975-06-07", &[]).await;
    walk_in(&desk, &s, &ada).await;

    let made = post(&desk, &[("action", "board"), ("board", "renew")]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let path = board_path(&made.body);
    assert!(path.starts_with("/t/acme/queue/board/"), "{path}");
    let on = desk_page(&desk).await;
    assert!(!on.contains(&path), "the address is shown once only");

    // The screen needs no session; it shows the token and the doctor, no name.
    let screen = Browser::new(addr);
    let board = screen.get("localhost", &path).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    assert!(
        board.body.contains("data-testid=\"board-next\">1<"),
        "{}",
        board.body
    );
    for name in ["Okafor", "Ada", "Adeyemi"] {
        assert!(!board.body.contains(name), "{name} on the screen");
    }
    let csp = board.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("nonce");
    assert!(board.body.contains(&format!("<script nonce=\"{nonce}\">")));
    assert_eq!(board.headers["referrer-policy"], "no-referrer");

    // Live: the stream sends the board, then a new one when the line changes.
    let first = next_board_event(&screen, &path, 0).await;
    assert!(first.contains("board-next\">1<"), "{first}");
    let later = {
        let (screen, path) = (screen.clone(), path.clone());
        tokio::spawn(async move { next_board_event(&screen, &path, 1).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    walk_in(&desk, &s, &bola).await;
    act_ok(&desk, 1, "call").await;
    let changed = later.await.expect("stream task");
    assert!(
        changed.contains("board-called\">1<") || changed.contains("board-next\">1 · 2<"),
        "{changed}"
    );
    assert!(!changed.contains("Adeyemi") && !changed.contains("Okafor"));

    // Another clinic's site does not open it; a wrong secret opens nothing; a
    // turned-off screen stops.
    let elsewhere = path.replace("/t/acme/", "/t/globex/");
    assert_eq!(
        screen.get("localhost", &elsewhere).await.status,
        StatusCode::NOT_FOUND
    );
    let guessed = format!("{}x", path);
    assert_eq!(
        screen.get("localhost", &guessed).await.status,
        StatusCode::NOT_FOUND
    );
    let off = post(&desk, &[("action", "board"), ("board", "revoke")]).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        screen.get("localhost", &path).await.status,
        StatusCode::NOT_FOUND
    );
    let events = screen.get("localhost", &format!("{path}/events")).await;
    assert_eq!(events.status, StatusCode::NOT_FOUND);
}

async fn tokens_stay_unique_when_desks_give_them_at_once(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = test_server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let mut patients = Vec::new();
    for (i, given) in [
        "Ada", "Bola", "Chidi", "Dayo", "Emeka", "Funmi", "Gozie", "Hauwa",
    ]
    .iter()
    .enumerate()
    {
        let birth = format!("198{i}-01-0{}", i + 1);
        patients.push(register(&desk, "acme", given, "Walker", &birth, &[]).await);
    }
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let desks = [&desk, &nurse];
    let given = futures_util::future::join_all(
        patients
            .iter()
            .enumerate()
            .map(|(i, p)| walk_in(desks[i % 2], &s, p)),
    )
    .await;
    let mut tokens = given.clone();
    tokens.sort_unstable();
    assert_eq!(tokens, (1..=8).collect::<Vec<u32>>(), "given: {given:?}");
}

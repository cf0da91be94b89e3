//! Outgoing mail: stored in the outbox with the action that caused it, then
//! delivered over a real SMTP conversation (to a local SMTP server in this test).

use crate::support;

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use ::server::mailer::Mailer;
use ::server::worker::{Handlers, Worker};
use app::identity::Role;
use app::jobs::{db as queue, kinds, JobState};
use chrono::{Duration, Utc};
use support::fixtures::{staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

/// A minimal SMTP server: records each message's envelope and data. Recipients
/// name how it behaves: "refuse" gets 550 (permanent), "busy" gets 451 the first
/// time (transient), and "swallow" has its first message taken in and never
/// answered, as when a connection dies after the server accepted the data.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let first_time = Arc::new(Mutex::new(std::collections::HashSet::<String>::new()));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (store, first_time) = (store.clone(), first_time.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
                let (mut rcpt, mut in_data, mut data) = (String::new(), false, String::new());
                // Whether this recipient is seen for the first time.
                let novel = |what: &str| first_time.lock().expect("lock").insert(what.to_owned());
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store
                                .lock()
                                .expect("lock")
                                .push((rcpt.clone(), data.clone()));
                            if rcpt.contains("swallow") && novel(&format!("data {rcpt}")) {
                                std::future::pending::<()>().await;
                            }
                            let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test.local\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        b"250 2.1.0 ok\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line.clone();
                        if line.contains("refuse") {
                            b"550 5.1.1 no such user\r\n"
                        } else if line.contains("busy") && novel(&line) {
                            b"451 4.3.0 try again later\r\n"
                        } else {
                            b"250 2.1.5 ok\r\n"
                        }
                    } else if upper == "DATA" {
                        in_data = true;
                        data.clear();
                        b"354 go ahead\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 ok\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, received)
}

/// A worker that delivers mail to the test SMTP server on `port`.
fn mail_worker(db: &app::db::Db, name: &str, port: u16) -> Worker {
    let mailer = Mailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "MediSync <no-reply@medisync.test>",
    )
    .expect("mailer");
    let db2 = db.clone();
    let handlers = Handlers::default().on(kinds::MAIL_DELIVERY, move |job, _| {
        let (db, mailer) = (db2.clone(), mailer.clone());
        async move { ::server::mailer::deliver(&db, &mailer, &job).await }
    });
    Worker::new(db.clone(), name, handlers)
}

/// Signs in clinic-a's admin and invites each address (each invitation is a
/// mail); answers the admin's browser.
async fn invite(t: &TestDb, emails: &[&str]) -> Browser {
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = Browser::new(addr);
    admin
        .sign_in(
            "localhost",
            "/t/clinic-a",
            &staff_email(Role::Admin, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    for email in emails {
        let sent = admin
            .call(
                "localhost",
                "/t/clinic-a/api/invite_staff",
                &[("email", email), ("role", "nurse")],
            )
            .await;
        assert_eq!(sent.status, reqwest::StatusCode::OK, "{}", sent.body);
    }
    admin
}

on_both_backends!(an_invitation_is_stored_then_delivered_over_smtp_in_the_clinics_colors);

async fn an_invitation_is_stored_then_delivered_over_smtp_in_the_clinics_colors(t: &TestDb) {
    let admin = invite(t, &["new.nurse@example.com", "refuse@example.com"]).await;
    let bad = admin
        .call(
            "localhost",
            "/t/clinic-a/api/invite_staff",
            &[("email", "not an email"), ("role", "nurse")],
        )
        .await;
    assert_eq!(bad.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["Field"][0], "email", "{}", bad.body);
    assert_eq!(
        app::mail::pending(&t.db, 10).await.expect("pending").len(),
        2
    );

    let (port, received) = smtp_server().await;
    let worker = mail_worker(&t.db, "w1", port);
    let mut states = Vec::new();
    while let Some(ran) = worker.run_one(Utc::now()).await.expect("run") {
        states.push(ran.state);
    }
    states.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(states, vec![Some(JobState::Dead), Some(JobState::Done)]);

    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1);
    let (rcpt, data) = &received[0];
    assert!(rcpt.contains("new.nurse@example.com"), "{rcpt}");
    assert!(data.contains("Subject: You are invited"), "{data}");
    assert!(
        data.contains("/t/clinic-a/invite?token="),
        "the link points at the clinic"
    );
    assert!(data.contains("text/html"), "an HTML part");
    assert!(data.contains("Message-ID: <"), "{data}");

    // The refused one (550: permanent) is not retried; operators see why.
    let pending = app::mail::pending(&t.db, 10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].to_address, "refuse@example.com");
    let dead = queue::list(&t.db, JobState::Dead, 10).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{dead:?}"
    );
}

on_both_backends!(a_refusal_for_now_is_tried_again_later_and_delivered_once);

async fn a_refusal_for_now_is_tried_again_later_and_delivered_once(t: &TestDb) {
    let _ = invite(t, &["busy@example.com"]).await;
    let (port, received) = smtp_server().await;
    let worker = mail_worker(&t.db, "w1", port);
    let now = Utc::now();
    let first = worker.run_one(now).await.expect("run").expect("ran");
    let job = queue::find(&t.db, first.job.id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!(first.state, Some(JobState::Queued), "451: later; {job:?}");
    assert!(
        worker.run_one(now).await.expect("run").is_none(),
        "not at once"
    );
    let second = worker
        .run_one(now + Duration::seconds(31))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(second.state, Some(JobState::Done));
    assert_eq!(received.lock().expect("lock").len(), 1);
    assert!(app::mail::pending(&t.db, 10)
        .await
        .expect("pending")
        .is_empty());
}

on_both_backends!(a_worker_killed_mid_conversation_never_causes_a_second_message);

async fn a_worker_killed_mid_conversation_never_causes_a_second_message(t: &TestDb) {
    let _ = invite(t, &["swallow@example.com"]).await;
    let (port, received) = smtp_server().await;
    let now = Utc::now();

    // The server takes the message in; the worker dies before it hears back.
    let doomed = mail_worker(&t.db, "doomed", port);
    let task = tokio::spawn(async move { doomed.run_one(now).await });
    for _ in 0..200 {
        if !received.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(received.lock().expect("lock").len(), 1, "the server has it");
    task.abort();
    let _ = task.await;

    // Another worker takes the job after the lease: it cannot know whether the
    // message arrived, so it does not send it again, and says so.
    let survivor = mail_worker(&t.db, "survivor", port);
    let later = now + ::server::worker::LEASE + Duration::seconds(1);
    let ran = survivor.run_one(later).await.expect("run").expect("ran");
    assert_eq!(ran.state, Some(JobState::Dead));
    assert_eq!(received.lock().expect("lock").len(), 1, "no second message");
    let dead = queue::find(&t.db, ran.job.id)
        .await
        .expect("find")
        .expect("job");
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("not sent again"),
        "{dead:?}"
    );

    // An operator who checked decides to send it anyway.
    assert!(queue::requeue(&t.db, dead.id, Utc::now())
        .await
        .expect("requeue"));
    let ran = survivor.run_one(later).await.expect("run").expect("ran");
    assert_eq!(ran.state, Some(JobState::Done));
    assert_eq!(received.lock().expect("lock").len(), 2);
    assert!(app::mail::pending(&t.db, 10)
        .await
        .expect("pending")
        .is_empty());
}

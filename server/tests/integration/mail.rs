//! Outgoing mail: stored in the outbox with the action that caused it, then
//! delivered over a real SMTP conversation (to a local SMTP server in this test).

use crate::support;

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use app::identity::Role;
use support::fixtures::{staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

/// A minimal SMTP server: records each message's envelope and data; refuses
/// recipients containing "refuse" with 550.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
                let (mut rcpt, mut in_data, mut data) = (String::new(), false, String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store
                                .lock()
                                .expect("lock")
                                .push((rcpt.clone(), data.clone()));
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

on_both_backends!(an_invitation_is_stored_then_delivered_over_smtp_in_the_clinics_colors);

async fn an_invitation_is_stored_then_delivered_over_smtp_in_the_clinics_colors(t: &TestDb) {
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
    for email in ["new.nurse@example.com", "refuse@example.com"] {
        let sent = admin
            .call(
                "localhost",
                "/t/clinic-a/api/invite_staff",
                &[("email", email), ("role", "nurse")],
            )
            .await;
        assert_eq!(sent.status, reqwest::StatusCode::OK, "{}", sent.body);
    }
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
    let transport =
        ::server::mailer::transport(&format!("smtp://127.0.0.1:{port}")).expect("transport");
    let from = "MediSync <no-reply@medisync.test>".parse().expect("from");
    let delivered = ::server::mailer::deliver_pending(&t.db, &transport, &from)
        .await
        .expect("deliver");
    assert_eq!(delivered, 1);

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

    // The refused one stays in the outbox with its error, to be retried.
    let pending = app::mail::pending(&t.db, 10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].to_address, "refuse@example.com");
}

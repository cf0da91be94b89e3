//! The outbox worker: delivers stored messages over SMTP when `mail.smtp_url` is
//! set. A failed delivery stays in the outbox and is retried (up to 10 attempts).

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use app::db::Db;
use app::mail::{self, StoredMessage};

/// Builds the transport from a URL: `smtp://user:pass@host:587?tls=required`,
/// `smtps://host:465`, or `smtp://host:25` for a local relay without TLS.
pub fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|b| b.timeout(Some(Duration::from_secs(20))).build())
        .map_err(|e| format!("invalid mail.smtp_url: {e}"))
}

fn build(from: &Mailbox, stored: &StoredMessage) -> Result<Message, String> {
    let to: Mailbox = stored
        .to_address
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(stored.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(stored.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(stored.html_body.clone()),
                ),
        )
        .map_err(|e| format!("message: {e}"))
}

/// Sends what is pending once; returns how many were delivered.
pub async fn deliver_pending(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> Result<usize, app::db::DbError> {
    let mut delivered = 0;
    for stored in mail::pending(db, 50).await? {
        let outcome = match build(from, &stored) {
            Ok(message) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match &outcome {
            Ok(()) => delivered += 1,
            // The address is PII: log the message id only.
            Err(e) => tracing::warn!(id = %stored.id, error = %e, "mail delivery failed"),
        }
        mail::mark(db, stored.id, outcome.err().as_deref()).await?;
    }
    Ok(delivered)
}

/// Runs the worker until the process ends.
pub fn spawn(db: Db, url: String, from: String) -> Result<(), String> {
    let transport = transport(&url)?;
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("invalid mail.from: {e}"))?;
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_pending(&db, &transport, &from).await {
                tracing::error!(error = %e, "outbox worker");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    Ok(())
}

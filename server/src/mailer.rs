//! Mail delivery, as the job queue's `mail-delivery` handler: one stored message
//! per job, over SMTP when `mail.smtp_url` is set.
//!
//! At most once (see `app::mail`): the message is marked before the SMTP
//! conversation. A refusal or an unreachable server is known not to have
//! delivered it, so the job is tried again later (or given up at once when the
//! refusal is permanent); a conversation that breaks after it began may have
//! delivered it, so it is not sent again and the job is left dead for an
//! operator to decide.

use std::time::Duration;

use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use app::db::Db;
use app::jobs::{Done, Failure, Job};
use app::mail::{self, Delivery, DeliveryOutcome, StoredMessage};

/// Builds the transport from a URL: `smtp://user:pass@host:587?tls=required`,
/// `smtps://host:465`, or `smtp://host:25` for a local relay without TLS.
pub fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|b| b.timeout(Some(Duration::from_secs(20))).build())
        .map_err(|e| format!("invalid mail.smtp_url: {e}"))
}

/// What the mail handler needs.
#[derive(Clone)]
pub struct Mailer {
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
    pub from: Mailbox,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        Ok(Self {
            transport: transport(url)?,
            from: from
                .parse()
                .map_err(|e| format!("invalid mail.from: {e}"))?,
        })
    }
}

fn build(from: &Mailbox, stored: &StoredMessage) -> Result<Message, String> {
    let to: Mailbox = stored
        .to_address
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    let host = from.email.domain();
    Message::builder()
        .from(from.clone())
        .to(to)
        // The outbox id: a receiving system that sees it twice knows it is one message.
        .message_id(Some(format!("<{}@{host}>", stored.id)))
        .subject(stored.subject.clone())
        .multipart(body(stored)?)
        .map_err(|e| format!("message: {e}"))
}

/// Text and HTML as alternatives, and the attachment beside them when there is one.
fn body(stored: &StoredMessage) -> Result<MultiPart, String> {
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(stored.text_body.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(stored.html_body.clone()),
        );
    let (Some(name), Some(kind), Some(content)) = (
        &stored.attachment_name,
        &stored.attachment_type,
        &stored.attachment_body,
    ) else {
        return Ok(alternative);
    };
    let kind = ContentType::parse(kind).map_err(|e| format!("attachment type: {e}"))?;
    Ok(MultiPart::mixed()
        .multipart(alternative)
        .singlepart(Attachment::new(name.clone()).body(content.clone(), kind)))
}

fn db_failure(e: app::db::DbError) -> Failure {
    Failure::Retry(format!("database: {e}"))
}

/// Delivers the message a `mail-delivery` job names.
pub async fn deliver(db: &Db, mailer: &Mailer, job: &Job) -> Result<Done, Failure> {
    let id: uuid::Uuid = job
        .payload
        .parse()
        .map_err(|_| Failure::Permanent("the job does not name a message".into()))?;
    let stored = match mail::begin_delivery(db, id, job.requeued_at)
        .await
        .map_err(db_failure)?
    {
        Delivery::Done => return Ok(Done::Finished),
        Delivery::Uncertain => {
            return Err(Failure::Permanent(
                "an earlier attempt stopped during the SMTP conversation and the message may \
                 have arrived; not sent again (send the job back to the queue to send it anyway)"
                    .into(),
            ))
        }
        Delivery::Send(stored) => stored,
    };
    let message = match build(&mailer.from, &stored) {
        Ok(message) => message,
        Err(e) => {
            mail::end_delivery(db, id, DeliveryOutcome::NotSent(&e))
                .await
                .map_err(db_failure)?;
            return Err(Failure::Permanent(e));
        }
    };
    // Is the server there at all? If not, nothing was sent and a later try is safe.
    if let Err(e) = mailer.transport.test_connection().await {
        let e = format!("SMTP server unreachable: {e}");
        mail::end_delivery(db, id, DeliveryOutcome::NotSent(&e))
            .await
            .map_err(db_failure)?;
        return Err(Failure::Retry(e));
    }
    match mailer.transport.send(message).await {
        Ok(_) => {
            mail::end_delivery(db, id, DeliveryOutcome::Sent)
                .await
                .map_err(db_failure)?;
            Ok(Done::Finished)
        }
        // The server answered with a refusal (4xx, 5xx): nothing was accepted.
        Err(e) if e.status().is_some() => {
            let text = e.to_string();
            mail::end_delivery(db, id, DeliveryOutcome::NotSent(&text))
                .await
                .map_err(db_failure)?;
            if e.is_permanent() {
                Err(Failure::Permanent(text))
            } else {
                Err(Failure::Retry(text))
            }
        }
        Err(e) => {
            let text = format!("the SMTP conversation broke off, outcome unknown: {e}");
            mail::end_delivery(db, id, DeliveryOutcome::Unknown(&text))
                .await
                .map_err(db_failure)?;
            Err(Failure::Permanent(text))
        }
    }
}

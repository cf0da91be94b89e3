//! Outgoing email. Every message is written to the `mail_outbox` table inside the
//! transaction that caused it, together with its delivery job (`crate::jobs`), so a
//! rolled-back action never sends mail and a crash never loses one; the server's
//! workers deliver it over SMTP when configured. Without SMTP, messages stay in the
//! outbox and development mode lists them at `/dev/mailbox`.
//!
//! At most once: a delivery marks the message `sending_at` (committed) before it
//! talks to the SMTP server, and records the outcome after. A worker that finds a
//! message marked and without outcome cannot know whether its predecessor's
//! conversation went through, so it does not send it again; an operator who
//! sends the job back to the queue decides otherwise.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{on_conn, DbError, PlatformTx};
use crate::identity::Email;
use crate::jobs::{self, kinds, NewJob};
use crate::tenancy::TenantPublic;

/// A message ready to store.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachment: Option<Attachment>,
}

/// A file sent with a message (an appointment's calendar entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub body: String,
}

impl Message {
    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachment = Some(attachment);
        self
    }
}

/// A stored message, as the outbox worker and the dev mailbox read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StoredMessage {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub attachment_name: Option<String>,
    pub attachment_type: Option<String>,
    pub attachment_body: Option<String>,
}

use crate::text::escape_html as escape;

/// A message in the clinic's colors and name (or MediSync's, for platform mail),
/// with one call to action.
pub fn branded(
    tenant: Option<&TenantPublic>,
    to: &Email,
    subject: &str,
    lines: &[&str],
    action: (&str, &str),
) -> Message {
    let (label, url) = action;
    let sender = tenant.map_or("MediSync", |t| t.name.as_str());
    let (primary, on_primary) = tenant.map_or(("#0f766e".to_owned(), "#ffffff".to_owned()), |t| {
        (
            t.branding.primary_color.to_string(),
            t.branding.primary_color.readable_text().to_string(),
        )
    });
    let logo = tenant
        .and_then(|t| t.branding.logo_url.as_deref())
        .filter(|u| u.starts_with("https://"))
        .map(|u| format!(r#"<img src="{}" alt="" height="32" style="vertical-align:middle;margin-right:8px">"#, escape(u)))
        .unwrap_or_default();
    let paragraphs: String = lines
        .iter()
        .map(|l| format!("<p style=\"margin:0 0 12px\">{}</p>", escape(l)))
        .collect();
    let html = format!(
        r#"<!doctype html><html><body style="margin:0;font-family:system-ui,sans-serif;color:#111827">
<div data-brand="{primary}" style="background:{primary};color:{on_primary};padding:16px 24px;font-size:18px;font-weight:600">{logo}{sender}</div>
<div style="padding:24px;max-width:560px">{paragraphs}
<p><a href="{url}" style="display:inline-block;background:{primary};color:{on_primary};padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600">{label}</a></p>
<p style="font-size:12px;color:#4b5563">If the button does not work, open this address: {url}</p></div></body></html>"#,
        primary = escape(&primary),
        on_primary = escape(&on_primary),
        sender = escape(sender),
        label = escape(label),
        url = escape(url),
    );
    let text = format!("{sender}\n\n{}\n\n{label}: {url}\n", lines.join("\n\n"));
    Message {
        to: to.clone(),
        subject: format!("{subject} · {sender}"),
        text,
        html,
        attachment: None,
    }
}

/// Stores a message in the outbox, and its delivery job, on the caller's
/// transaction; answers its outbox id.
pub(crate) async fn enqueue(tx: &mut PlatformTx, message: &Message) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_address, subject, text_body, html_body, created_at, \
             attachment_name, attachment_type, attachment_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(message.to.as_str())
        .bind(&message.subject)
        .bind(&message.text)
        .bind(&message.html)
        .bind(now)
        .bind(message.attachment.as_ref().map(|a| a.name.as_str()))
        .bind(message.attachment.as_ref().map(|a| a.content_type.as_str()))
        .bind(message.attachment.as_ref().map(|a| a.body.as_str()))
        .execute(c)
        .await?;
    });
    let job = NewJob::new(kinds::MAIL_DELIVERY, format!("mail:{id}"), now).payload(id.to_string());
    jobs::db::enqueue(tx, &job).await?;
    Ok(id)
}

/// Newest first, for the development mailbox.
pub async fn recent(db: &crate::db::Db, limit: i64) -> Result<Vec<StoredMessage>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, StoredMessage>(
            "SELECT id, to_address, subject, text_body, html_body, created_at, sent_at, \
             attachment_name, attachment_type, attachment_body \
             FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

/// Messages not yet delivered, oldest first.
pub async fn pending(db: &crate::db::Db, limit: i64) -> Result<Vec<StoredMessage>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, StoredMessage>(
            "SELECT id, to_address, subject, text_body, html_body, created_at, sent_at, \
             attachment_name, attachment_type, attachment_body \
             FROM mail_outbox WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

/// What a delivery attempt should do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Send it: it is now marked as being sent.
    Send(Box<StoredMessage>),
    /// Nothing: it was sent already, or is gone.
    Done,
    /// Not again: an earlier attempt began and left no outcome.
    Uncertain,
}

/// Marks message `id` as being sent, unless it was sent or an earlier attempt
/// began after `requeued_at` (the operator's last word) without an outcome.
pub async fn begin_delivery(
    db: &crate::db::Db,
    id: Uuid,
    requeued_at: Option<DateTime<Utc>>,
) -> Result<Delivery, DbError> {
    let mut tx = db.begin_platform().await?;
    let found = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (Option<DateTime<Utc>>, Option<DateTime<Utc>>)>(
            "SELECT sent_at, sending_at FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    let Some((sent_at, sending_at)) = found else {
        return Ok(Delivery::Done);
    };
    if sent_at.is_some() {
        return Ok(Delivery::Done);
    }
    if sending_at.is_some_and(|began| requeued_at.is_none_or(|decided| began > decided)) {
        return Ok(Delivery::Uncertain);
    }
    let now = Utc::now();
    let stored = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, StoredMessage>(
            "UPDATE mail_outbox SET sending_at = $2, attempts = attempts + 1 WHERE id = $1 \
             RETURNING id, to_address, subject, text_body, html_body, created_at, sent_at, \
             attachment_name, attachment_type, attachment_body",
        )
        .bind(id)
        .bind(now)
        .fetch_one(c)
        .await?
    });
    tx.commit().await?;
    Ok(Delivery::Send(Box::new(stored)))
}

/// Records how a delivery that began ended: sent, known not sent (`Some(error)`,
/// so the message may be tried again), or unknown (`None` error and not sent:
/// the mark stays, and the message is not sent again).
pub async fn end_delivery(
    db: &crate::db::Db,
    id: Uuid,
    outcome: DeliveryOutcome<'_>,
) -> Result<(), DbError> {
    let now = Utc::now();
    let (sent_at, keep_mark, error) = match outcome {
        DeliveryOutcome::Sent => (Some(now), true, None),
        DeliveryOutcome::NotSent(e) => (None, false, Some(e)),
        DeliveryOutcome::Unknown(e) => (None, true, Some(e)),
    };
    let mut tx = db.begin_platform().await?;
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $2, last_error = $3, \
             sending_at = CASE WHEN $4 THEN sending_at ELSE NULL END WHERE id = $1",
        )
        .bind(id)
        .bind(sent_at)
        .bind(error)
        .bind(keep_mark)
        .execute(c)
        .await?;
    });
    tx.commit().await
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum DeliveryOutcome<'a> {
    Sent,
    /// The server refused it or could not be reached: nothing was delivered.
    NotSent(&'a str),
    /// The conversation broke after the message may have been accepted.
    Unknown(&'a str),
}

//! Outgoing email. Every message is written to the `mail_outbox` table inside the
//! transaction that caused it, so a rolled-back action never sends mail and a crash
//! never loses one; the server's mail worker delivers it over SMTP when configured.
//! Without SMTP, messages stay in the outbox and development mode lists them at
//! `/dev/mailbox`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{on_conn, DbError, Tx};
use crate::identity::Email;
use crate::tenancy::TenantPublic;

/// A message ready to store.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
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
    }
}

/// Stores a message in the outbox on the caller's transaction.
pub(crate) async fn enqueue(tx: &mut Tx, message: &Message) -> Result<(), DbError> {
    on_conn!(tx, |c| {
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_address, subject, text_body, html_body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(message.to.as_str())
        .bind(&message.subject)
        .bind(&message.text)
        .bind(&message.html)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Newest first, for the development mailbox.
pub async fn recent(db: &crate::db::Db, limit: i64) -> Result<Vec<StoredMessage>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, StoredMessage>(
            "SELECT id, to_address, subject, text_body, html_body, created_at, sent_at \
             FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

/// Messages not yet delivered, oldest first, skipping ones that failed too often.
pub async fn pending(db: &crate::db::Db, limit: i64) -> Result<Vec<StoredMessage>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, StoredMessage>(
            "SELECT id, to_address, subject, text_body, html_body, created_at, sent_at \
             FROM mail_outbox WHERE sent_at IS NULL AND attempts < 10 \
             ORDER BY created_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

/// Records a delivery attempt's outcome.
pub async fn mark(db: &crate::db::Db, id: Uuid, error: Option<&str>) -> Result<(), DbError> {
    let mut tx = db.begin_platform().await?;
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, \
             sent_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    tx.commit().await
}

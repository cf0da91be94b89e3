//! Providers' webhooks. Twilio: delivery reports (`POST /webhooks/twilio/status`)
//! and incoming texts (`POST /webhooks/twilio/inbound`, for STOP and START).
//! WhatsApp: `GET /webhooks/whatsapp` (Meta's verification handshake) and
//! `POST /webhooks/whatsapp` (statuses and incoming messages, signed with the
//! platform app's secret, routed to a clinic by `phone_number_id`).
//!
//! The clinic is found by the `AccountSid` parameter; the request is believed
//! only if `X-Twilio-Signature` is that account's signature over the configured
//! public URL (never the request's Host, which a TLS proxy rewrites) and the
//! parameters. Otherwise nothing is read or written.

use chrono::{DateTime, Utc};

use super::Channel;
use super::{db, twilio, whatsapp, DeliveryState};
use crate::db::{Db, DbError, TenantTx};

/// Delivery reports (stable address).
pub const TWILIO_STATUS_PATH: &str = "/webhooks/twilio/status";
/// Incoming texts (stable address; set it as the number's messaging webhook).
pub const TWILIO_INBOUND_PATH: &str = "/webhooks/twilio/inbound";

/// Meta's verification handshake and events (stable address).
pub const WHATSAPP_PATH: &str = "/webhooks/whatsapp";

/// How a webhook was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Believed and handled (or already handled before).
    Handled,
    /// No such account here, or the signature is not its signature.
    NotBelieved,
    /// Signed, but missing what it must carry.
    Incomplete,
}

/// Words by which a patient stops or restarts texts (Twilio's defaults).
const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Finds the clinic and checks the signature; the clinic's transaction when
/// the request is believed.
async fn believe(
    db: &Db,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<Option<TenantTx>, DbError> {
    let (Some(signature), Some(sid)) = (signature, param(params, "AccountSid")) else {
        return Ok(None);
    };
    let mut read = db.begin_platform_read().await?;
    let tenant = db::tenant_of_twilio_account(&mut read, sid).await?;
    drop(read);
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    let mut tx = db.begin_for(tenant).await?;
    let Some(account) = db::twilio_account(&mut tx).await? else {
        return Ok(None);
    };
    if account.sid != sid || !twilio::verify(&account.token, url, params, signature) {
        return Ok(None);
    }
    Ok(Some(tx))
}

/// A delivery report: moves the text forward. `url` is the configured public
/// URL of the status address.
pub async fn twilio_status(
    db: &Db,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Received, DbError> {
    let Some(mut tx) = believe(db, url, params, signature).await? else {
        return Ok(Received::NotBelieved);
    };
    let (Some(sid), Some(status)) = (param(params, "MessageSid"), param(params, "MessageStatus"))
    else {
        return Ok(Received::Incomplete);
    };
    let Some(state) = twilio::state_of(status) else {
        return Ok(Received::Handled);
    };
    let code = param(params, "ErrorCode").filter(|c| !c.is_empty());
    let error = code.map(|c| format!("Twilio error {c}"));
    db::report(&mut tx, sid, state, error.as_deref(), now).await?;
    if code == Some(&twilio::UNSUBSCRIBED_RECIPIENT.to_string()) && state == DeliveryState::Failed {
        if let Some(to) = param(params, "To") {
            db::patient_said(&mut tx, to, Channel::Sms, true, now).await?;
        }
    }
    tx.commit().await?;
    Ok(Received::Handled)
}

/// An incoming text: STOP opts its sender out of SMS, START back in; anything
/// else is not read (the clinic's staff inbox is elsewhere). Each message is
/// handled once.
pub async fn twilio_inbound(
    db: &Db,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Received, DbError> {
    let Some(mut tx) = believe(db, url, params, signature).await? else {
        return Ok(Received::NotBelieved);
    };
    let (Some(sid), Some(from)) = (param(params, "MessageSid"), param(params, "From")) else {
        return Ok(Received::Incomplete);
    };
    if !db::first_receipt(tx.platform(), "twilio", sid).await? {
        return Ok(Received::Handled);
    }
    let word = param(params, "OptOutType")
        .or_else(|| param(params, "Body"))
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    let stop = if STOP_WORDS.contains(&word.as_str()) {
        Some(true)
    } else if START_WORDS.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    };
    if let Some(stop) = stop {
        db::patient_said(&mut tx, from, Channel::Sms, stop, now).await?;
    }
    tx.commit().await?;
    Ok(Received::Handled)
}

/// Meta's handshake: `hub.mode=subscribe` with the configured verify token
/// answers `hub.challenge`; anything else, nothing. An empty configured token
/// verifies nothing.
pub fn whatsapp_handshake(verify_token: &str, params: &[(String, String)]) -> Option<String> {
    let given = param(params, "hub.verify_token")?;
    let same = !verify_token.is_empty()
        && given.len() == verify_token.len()
        && given
            .bytes()
            .zip(verify_token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    (same && param(params, "hub.mode") == Some("subscribe")).then(|| {
        param(params, "hub.challenge")
            .unwrap_or_default()
            .to_owned()
    })
}

/// A signed event: delivery statuses move texts forward; incoming messages
/// open the 24-hour window and may say STOP or START. Each message id is
/// handled once. Events for a number no clinic has connected are dropped.
pub async fn whatsapp_event(
    db: &Db,
    app_secret: &str,
    body: &[u8],
    signature: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Received, DbError> {
    if !signature.is_some_and(|s| whatsapp::verify(app_secret, body, s)) {
        return Ok(Received::NotBelieved);
    }
    let Ok(note) = serde_json::from_slice::<whatsapp::Notification>(body) else {
        return Ok(Received::Incomplete);
    };
    if note.object != "whatsapp_business_account" {
        return Ok(Received::Handled);
    }
    for change in note.entry.iter().flat_map(|e| &e.changes) {
        let Some(value) = change.value.as_ref().filter(|_| change.field == "messages") else {
            continue;
        };
        let Some(number) = value.metadata.as_ref().map(|m| m.phone_number_id.as_str()) else {
            continue;
        };
        let mut read = db.begin_platform_read().await?;
        let tenant = db::tenant_of_whatsapp_number(&mut read, number).await?;
        drop(read);
        let Some(tenant) = tenant else {
            tracing::warn!("WhatsApp event for a number no clinic has connected");
            continue;
        };
        let mut tx = db.begin_for(tenant).await?;
        for status in &value.statuses {
            let Some(state) = whatsapp::state_of(&status.status) else {
                continue;
            };
            let error = status.errors.first().map(|e| match (&e.code, &e.title) {
                (Some(code), Some(title)) => format!("WhatsApp error {code}: {title}"),
                (Some(code), None) => format!("WhatsApp error {code}"),
                (None, _) => "WhatsApp reported an error".to_owned(),
            });
            db::report(&mut tx, &status.id, state, error.as_deref(), now).await?;
        }
        for message in &value.messages {
            if !db::first_receipt(tx.platform(), "whatsapp", &message.id).await? {
                continue;
            }
            let Ok(phone) = crate::patients::phone::normalize(&format!("+{}", message.from), None)
            else {
                continue;
            };
            db::note_whatsapp_inbound(&mut tx, &phone, now).await?;
            let word = message.words().trim().to_ascii_uppercase();
            if STOP_WORDS.contains(&word.as_str()) {
                db::patient_said(&mut tx, &phone, super::Channel::Whatsapp, true, now).await?;
            } else if START_WORDS.contains(&word.as_str()) {
                db::patient_said(&mut tx, &phone, super::Channel::Whatsapp, false, now).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(Received::Handled)
}

//! Server functions of the clinic's SMS connection (plain forms on the
//! scheduling set-up page; settings managers only, by the access table).

use leptos::prelude::*;

use crate::error::AppError;

/// Connects the clinic's Twilio account: account SID, auth token (sealed at
/// rest, never shown again) and the number or messaging service to send from.
#[server(prefix = "/api", endpoint = "connect_sms")]
pub async fn connect_sms(
    account_sid: String,
    auth_token: String,
    sender: String,
) -> Result<(), AppError> {
    use crate::forms::input::field;
    let w = crate::patients::api::ssr::writer()?;
    let sid = account_sid.trim();
    if !super::twilio::is_account_sid(sid) {
        return Err(field(
            "account_sid",
            "the account SID is AC followed by 32 letters and digits (Twilio console, Account info)",
        ));
    }
    let token = auth_token.trim();
    if !(16..=128).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field(
            "auth_token",
            "paste the auth token from the Twilio console (Account info)",
        ));
    }
    let Some(sender) = super::twilio::sender(&sender) else {
        return Err(field(
            "sender",
            "give the sending number with its country code (+14155550100) or a messaging service SID (MG…)",
        ));
    };
    let account = super::twilio::Account {
        sid: sid.to_owned(),
        token: token.to_owned(),
        sender,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::connect_twilio(&mut tx, &account, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    let hint = format!("Twilio …{}", &account.sid[30..]);
    w.finish(tx, "messaging.channel_connected", Some(&hint))
        .await
}

#[server(prefix = "/api", endpoint = "disconnect_sms")]
pub async fn disconnect_sms() -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::disconnect_twilio(&mut tx).await?;
    w.finish(tx, "messaging.channel_disconnected", Some("sms"))
        .await
}

/// Sends a test text to a number the clinic gives; its fate shows on the
/// set-up page.
#[server(prefix = "/api", endpoint = "send_test_sms")]
pub async fn send_test_sms(to: String) -> Result<(), AppError> {
    use crate::forms::input::field;
    let w = crate::patients::api::ssr::writer()?;
    let country = crate::patients::api::ssr::clinic_country(&w.tenant);
    let to = crate::patients::phone::normalize(&to, country).map_err(|e| field("to", &e))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    if super::db::twilio_account(&mut tx).await?.is_none() {
        return Err(field("to", "connect SMS first"));
    }
    let body = format!(
        "Test message from {} (MediSync): texts to patients are working.",
        w.tenant.name
    );
    let now = chrono::Utc::now();
    super::db::queue_text(&mut tx, super::Channel::Sms, None, &to, &body, now).await?;
    w.finish(tx, "messaging.test_sent", Some("sms")).await
}

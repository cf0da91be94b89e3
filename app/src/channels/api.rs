//! Server functions of the clinic's SMS and WhatsApp connections (plain forms
//! on the scheduling set-up page; settings managers only, by the access table).

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
    ssr::send_test(super::Channel::Sms, &to).await
}

/// Connects the clinic's WhatsApp number (Meta's phone number id and an access
/// token, sealed at rest) and the approved template sent outside the 24-hour
/// window (optional).
#[server(prefix = "/api", endpoint = "connect_whatsapp")]
pub async fn connect_whatsapp(
    phone_number_id: String,
    access_token: String,
    template_name: Option<String>,
    template_language: Option<String>,
) -> Result<(), AppError> {
    use super::whatsapp;
    use crate::forms::input::field;
    let w = crate::patients::api::ssr::writer()?;
    let id = phone_number_id.trim();
    if !whatsapp::is_phone_number_id(id) {
        return Err(field(
            "phone_number_id",
            "the phone number id is the number Meta shows under WhatsApp, API setup (digits only)",
        ));
    }
    let token = access_token.trim();
    if !(20..=1024).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field(
            "access_token",
            "paste the access token of the clinic's WhatsApp system user",
        ));
    }
    let name = template_name
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let language = template_language
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let template = match (name, language) {
        (None, None) => None,
        (Some(n), _) if !whatsapp::is_template_name(n) => return Err(field(
            "template_name",
            "a template name has lowercase letters, digits and underscores, as in Meta's manager",
        )),
        (Some(n), Some(l)) if whatsapp::is_language(l) => Some((n.to_owned(), l.to_owned())),
        (Some(_), _) => {
            return Err(field(
                "template_language",
                "give the template's language code, such as en or en_US",
            ))
        }
        (None, Some(_)) => {
            return Err(field(
                "template_name",
                "name the approved template, or leave both empty",
            ))
        }
    };
    let account = whatsapp::Account {
        phone_number_id: id.to_owned(),
        token: token.to_owned(),
        template,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::connect_whatsapp(&mut tx, &account, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "messaging.channel_connected", Some("whatsapp"))
        .await
}

#[server(prefix = "/api", endpoint = "disconnect_whatsapp")]
pub async fn disconnect_whatsapp() -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::disconnect_whatsapp(&mut tx).await?;
    w.finish(tx, "messaging.channel_disconnected", Some("whatsapp"))
        .await
}

#[server(prefix = "/api", endpoint = "send_test_whatsapp")]
pub async fn send_test_whatsapp(to: String) -> Result<(), AppError> {
    ssr::send_test(super::Channel::Whatsapp, &to).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    use crate::forms::input::field;

    /// Queues a test text by `channel` to the number given.
    pub async fn send_test(channel: super::super::Channel, to: &str) -> Result<(), AppError> {
        let w = crate::patients::api::ssr::writer()?;
        let country = crate::patients::api::ssr::clinic_country(&w.tenant);
        let to = crate::patients::phone::normalize(to, country).map_err(|e| field("to", &e))?;
        let db = crate::identity::auth::db()?;
        let mut tx = db.begin_for(w.tenant.id).await?;
        if !super::super::db::is_connected(&mut tx, channel).await? {
            return Err(field("to", &format!("connect {} first", channel.label())));
        }
        let body = format!(
            "Test message from {} (MediSync): texts to patients are working.",
            w.tenant.name
        );
        let now = chrono::Utc::now();
        super::super::db::queue_text(&mut tx, channel, None, &to, &body, now).await?;
        w.finish(tx, "messaging.test_sent", Some(channel.as_str()))
            .await
    }
}

//! Server functions of the messaging set-up (plain forms on the scheduling
//! set-up page; settings managers only, by the access table).

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
mod ssr {
    use super::super::{Channel, ReminderRule};
    use crate::error::AppError;
    pub use crate::forms::input::{checked, field};

    /// "HH:MM" as minutes of the day.
    pub fn clock(name: &str, text: &str) -> Result<i32, AppError> {
        crate::scheduling::parse_clock(text)
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(|| field(name, "give the time as HH:MM (24-hour)"))
    }

    /// A rule from the form: an amount, a unit, a channel.
    pub fn rule(amount: &str, unit: &str, channel: &str) -> Result<ReminderRule, AppError> {
        let n: i32 = amount
            .trim()
            .parse()
            .map_err(|_| field("amount", "give a whole number"))?;
        let per = match unit {
            "minutes" => 1,
            "hours" => 60,
            "days" => 1440,
            _ => return Err(field("unit", "choose minutes, hours or days")),
        };
        let minutes = n
            .checked_mul(per)
            .filter(|m| (15..=30 * 1440).contains(m))
            .ok_or_else(|| {
                field(
                    "amount",
                    "a reminder goes between 15 minutes and 30 days before",
                )
            })?;
        let channel: Channel = channel
            .parse()
            .map_err(|_| field("channel", "choose a channel"))?;
        Ok(ReminderRule {
            id: None,
            minutes_before: minutes,
            channel,
        })
    }
}

/// When messages may arrive, and whether patients hear of bookings, moves and
/// cancellations.
#[server(prefix = "/api", endpoint = "save_messaging_hours")]
pub async fn save_messaging_hours(
    send_from: String,
    send_until: String,
    updates: Option<String>,
    updates_sms: Option<String>,
    updates_whatsapp: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let from = ssr::clock("send_from", &send_from)?;
    let until = ssr::clock("send_until", &send_until)?;
    let window = super::SendWindow::new(from, until).map_err(|e| ssr::field("send_until", e))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let by = (ssr::checked(&updates_sms), ssr::checked(&updates_whatsapp));
    use crate::channels::{db::is_connected, Channel};
    if by.0 && !is_connected(&mut tx, Channel::Sms).await? {
        return Err(ssr::field("updates_sms", "connect SMS first"));
    }
    if by.1 && !is_connected(&mut tx, Channel::Whatsapp).await? {
        return Err(ssr::field("updates_whatsapp", "connect WhatsApp first"));
    }
    super::db::save_window(&mut tx, window, ssr::checked(&updates), by).await?;
    w.finish(tx, "messaging.settings_changed", Some(&window.label()))
        .await
}

#[server(prefix = "/api", endpoint = "add_reminder_rule")]
pub async fn add_reminder_rule(
    amount: String,
    unit: String,
    channel: String,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let rule = ssr::rule(&amount, &unit, &channel)?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    if rule.channel != super::Channel::Email
        && !crate::channels::db::is_connected(&mut tx, rule.channel).await?
    {
        let why = format!("connect {} first", rule.channel.label());
        return Err(ssr::field("channel", &why));
    }
    let existing = super::db::setup(&mut tx).await?;
    if existing.rules.len() >= 5 && !existing.rules.contains(&rule) {
        return Err(ssr::field("amount", "at most five reminders per visit"));
    }
    super::db::add_rule(&mut tx, rule.minutes_before, rule.channel).await?;
    w.finish(tx, "messaging.settings_changed", Some(&rule.label()))
        .await
}

#[server(prefix = "/api", endpoint = "remove_reminder_rule")]
pub async fn remove_reminder_rule(minutes_before: String, channel: String) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let minutes: i32 = minutes_before
        .parse()
        .map_err(|_| ssr::field("minutes_before", "no such reminder"))?;
    let channel: super::Channel = channel
        .parse()
        .map_err(|_| ssr::field("channel", "no such reminder"))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::remove_rule(&mut tx, minutes, channel)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "messaging.settings_changed", None).await
}

/// Records a patient's wish to get no messages by a channel, or to get them
/// again (`choice`: `off` or `on`).
#[server(prefix = "/api", endpoint = "set_message_opt_out")]
pub async fn set_message_opt_out(
    patient_id: uuid::Uuid,
    channel: String,
    choice: String,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let channel: super::Channel = channel
        .parse()
        .map_err(|_| ssr::field("channel", "choose a channel"))?;
    let out = match choice.as_str() {
        "off" => true,
        "on" => false,
        _ => return Err(ssr::field("choice", "choose on or off")),
    };
    let mut tx = w.open(patient_id).await?;
    crate::channels::db::set_opt_out(&mut tx, patient_id, channel, out, w.staff_id).await?;
    let action = if out {
        "messages.opted_out"
    } else {
        "messages.opted_in"
    };
    w.done(tx, patient_id, action, Some(channel.as_str())).await
}

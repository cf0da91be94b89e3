//! Messaging set-up and patient messages: planning, claiming, history.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Channel, MessageKind, MessageLine, MessageStatus, MessagingSetup, ReminderRule, SendWindow,
    GRACE,
};
use crate::db::{DbError, TenantTx};
use crate::jobs::{self, kinds, NewJob};
use crate::scheduling::AppointmentStatus;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    send_from: i64,
    send_until: i64,
    updates: bool,
    updates_sms: bool,
    updates_whatsapp: bool,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    minutes_before: i64,
    channel: String,
}

/// The clinic's set-up; the defaults until it changes anything.
pub async fn setup(tx: &mut TenantTx) -> Result<MessagingSetup, DbError> {
    let Some(row) = tx
        .fetch_optional::<SettingsRow>(
            "SELECT CAST(send_from AS BIGINT) AS send_from, CAST(send_until AS BIGINT) AS send_until, \
             updates, updates_sms, updates_whatsapp FROM messaging_settings WHERE tenant_id = $1",
            &[],
        )
        .await?
    else {
        return Ok(MessagingSetup::default());
    };
    let rules: Vec<RuleRow> = tx
        .fetch_all(
            "SELECT CAST(minutes_before AS BIGINT) AS minutes_before, channel FROM reminder_rules \
             WHERE tenant_id = $1 ORDER BY minutes_before DESC, channel",
            &[],
        )
        .await?;
    Ok(MessagingSetup {
        window: SendWindow {
            from_min: i32::try_from(row.send_from).unwrap_or(8 * 60),
            until_min: i32::try_from(row.send_until).unwrap_or(21 * 60),
        },
        updates: row.updates,
        updates_sms: row.updates_sms,
        updates_whatsapp: row.updates_whatsapp,
        rules: rules
            .into_iter()
            .filter_map(|r| {
                Some(ReminderRule {
                    id: None,
                    minutes_before: i32::try_from(r.minutes_before).ok()?,
                    channel: r.channel.parse().ok()?,
                })
            })
            .collect(),
    })
}

/// Writes the defaults down before the first change, so a change edits them.
async fn materialize(tx: &mut TenantTx) -> Result<(), DbError> {
    let defaults = MessagingSetup::default();
    let now = Utc::now();
    let created = tx
        .execute(
            "INSERT INTO messaging_settings (tenant_id, send_from, send_until, updates, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO NOTHING",
            &[
                defaults.window.from_min.into(),
                defaults.window.until_min.into(),
                defaults.updates.into(),
                now.into(),
            ],
        )
        .await?;
    if created == 1 {
        for rule in &defaults.rules {
            insert_rule(tx, rule.minutes_before, rule.channel).await?;
        }
    }
    Ok(())
}

pub async fn save_window(
    tx: &mut TenantTx,
    window: SendWindow,
    updates: bool,
    by: (bool, bool),
) -> Result<(), DbError> {
    materialize(tx).await?;
    tx.execute_one(
        "UPDATE messaging_settings SET send_from = $2, send_until = $3, updates = $4, updated_at = $5, \
         updates_sms = $6, updates_whatsapp = $7 WHERE tenant_id = $1",
        &[
            window.from_min.into(),
            window.until_min.into(),
            updates.into(),
            Utc::now().into(),
            by.0.into(),
            by.1.into(),
        ],
    )
    .await
}

/// Adds a rule; one that exists already is left as it is.
pub async fn add_rule(
    tx: &mut TenantTx,
    minutes_before: i32,
    channel: Channel,
) -> Result<(), DbError> {
    materialize(tx).await?;
    insert_rule(tx, minutes_before, channel).await
}

async fn insert_rule(
    tx: &mut TenantTx,
    minutes_before: i32,
    channel: Channel,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO reminder_rules (tenant_id, id, minutes_before, channel, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, minutes_before, channel) DO NOTHING",
        &[
            Uuid::now_v7().into(),
            minutes_before.into(),
            channel.as_str().into(),
            Utc::now().into(),
        ],
    )
    .await
    .map(drop)
}

/// Removes a rule. Reminders it already planned still go, unless their visit
/// changes.
pub async fn remove_rule(
    tx: &mut TenantTx,
    minutes_before: i32,
    channel: Channel,
) -> Result<(), DbError> {
    materialize(tx).await?;
    tx.execute_one(
        "DELETE FROM reminder_rules WHERE tenant_id = $1 AND minutes_before = $2 AND channel = $3",
        &[minutes_before.into(), channel.as_str().into()],
    )
    .await
}

/// Plans (and cancels) the patient's messages after a step of an appointment's
/// history, in that step's transaction: reminders by the clinic's rules for the
/// visit's current time, and an update after the grace period.
pub async fn appointment_changed(
    tx: &mut TenantTx,
    appointment: Uuid,
    status: AppointmentStatus,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let Some(a) = crate::scheduling::db::appointment(tx, appointment).await? else {
        return Ok(());
    };
    let booked = status == AppointmentStatus::Booked;
    let detail = if booked {
        "the visit was moved".to_owned()
    } else {
        format!("the visit is {}", status.label().to_lowercase())
    };
    tx.execute(
        "UPDATE patient_messages SET status = 'cancelled', detail = $4 WHERE tenant_id = $1 \
         AND appointment_id = $2 AND kind = 'appointment_reminder' AND status = 'scheduled' \
         AND (about_starts_at <> $3 OR $5)",
        &[
            appointment.into(),
            a.starts_at.into(),
            detail.as_str().into(),
            (!booked).into(),
        ],
    )
    .await?;
    if a.starts_at <= now {
        return Ok(());
    }
    let setup = setup(tx).await?;
    if booked {
        for rule in &setup.rules {
            let due = a.starts_at - chrono::Duration::minutes(i64::from(rule.minutes_before));
            if due <= now {
                continue;
            }
            let key = format!(
                "reminder:{appointment}:{}:{}:{}",
                rule.minutes_before,
                rule.channel,
                a.starts_at.timestamp()
            );
            let planned = Planned {
                key: &key,
                patient: a.patient_id,
                appointment,
                kind: MessageKind::Reminder,
                channel: rule.channel,
                about: a.starts_at,
                due,
            };
            plan(tx, &planned).await?;
        }
    }
    if setup.updates && (booked || status == AppointmentStatus::Cancelled) {
        let mut channels = vec![Channel::Email];
        if setup.updates_sms {
            channels.push(Channel::Sms);
        }
        if setup.updates_whatsapp {
            channels.push(Channel::Whatsapp);
        }
        for channel in channels {
            let key = format!("update:{appointment}:{channel}:{}", Uuid::now_v7());
            let planned = Planned {
                key: &key,
                patient: a.patient_id,
                appointment,
                kind: MessageKind::Update,
                channel,
                about: a.starts_at,
                due: now + GRACE,
            };
            plan(tx, &planned).await?;
        }
    }
    Ok(())
}

struct Planned<'a> {
    key: &'a str,
    patient: Uuid,
    appointment: Uuid,
    kind: MessageKind,
    channel: Channel,
    about: DateTime<Utc>,
    due: DateTime<Utc>,
}

/// Records a message and queues its sending; a key planned before is left alone.
async fn plan(tx: &mut TenantTx, m: &Planned<'_>) -> Result<(), DbError> {
    let id = Uuid::now_v7();
    let inserted = tx
        .execute(
            "INSERT INTO patient_messages (tenant_id, id, message_key, patient_id, appointment_id, kind, \
             channel, about_starts_at, status, due_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $10) \
             ON CONFLICT (tenant_id, message_key) WHERE status IN ('scheduled', 'sent') DO NOTHING",
            &[
                id.into(),
                m.key.into(),
                m.patient.into(),
                m.appointment.into(),
                m.kind.as_str().into(),
                m.channel.as_str().into(),
                m.about.into(),
                m.due.into(),
                Utc::now().into(),
            ],
        )
        .await?;
    if inserted == 1 {
        let tenant = tx.tenant_id();
        let job = NewJob::new(
            kinds::PATIENT_MESSAGE,
            format!("message:{tenant}:{id}"),
            m.due,
        )
        .payload(format!("{tenant}/{id}"));
        jobs::db::enqueue(tx.platform(), &job).await?;
    }
    Ok(())
}

/// Records an update the booking itself emailed at once (an online booking's
/// confirmation), so the planned "appointment booked" update finds the patient
/// told and does not repeat it.
pub async fn told_by_email(
    tx: &mut TenantTx,
    patient: Uuid,
    appointment: Uuid,
    about: DateTime<Utc>,
    mail: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute_one(
        "INSERT INTO patient_messages (tenant_id, id, message_key, patient_id, appointment_id, kind, channel, \
         about_starts_at, status, due_at, created_at, sent_at, told, mail_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent', $9, $9, $9, 'booked', $10)",
        &[
            Uuid::now_v7().into(),
            format!("confirmation:{appointment}").as_str().into(),
            patient.into(),
            appointment.into(),
            MessageKind::Update.as_str().into(),
            Channel::Email.as_str().into(),
            about.into(),
            now.into(),
            mail.into(),
        ],
    )
    .await
}

/// A planned message, as the sender reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub kind: String,
    pub channel: String,
    pub about_starts_at: Option<DateTime<Utc>>,
    pub status: String,
    pub due_at: DateTime<Utc>,
}

pub async fn message(tx: &mut TenantTx, id: Uuid) -> Result<Option<MessageRow>, DbError> {
    tx.fetch_optional(
        "SELECT id, patient_id, appointment_id, kind, channel, about_starts_at, status, due_at \
         FROM patient_messages WHERE tenant_id = $1 AND id = $2",
        &[id.into()],
    )
    .await
}

/// What the patient was last told about an appointment by an update on this
/// channel: booked (at that time) or cancelled.
pub async fn last_told(
    tx: &mut TenantTx,
    appointment: Uuid,
    channel: Channel,
) -> Result<Option<(String, DateTime<Utc>)>, DbError> {
    tx.fetch_optional(
        "SELECT told, about_starts_at FROM patient_messages WHERE tenant_id = $1 AND appointment_id = $2 \
         AND kind = 'appointment_update' AND status = 'sent' AND channel = $3 \
         ORDER BY sent_at DESC, id DESC LIMIT 1",
        &[appointment.into(), channel.as_str().into()],
    )
    .await
}

/// Holds a scheduled message back until `at` (quiet hours).
pub async fn hold(
    tx: &mut TenantTx,
    id: Uuid,
    at: DateTime<Utc>,
    why: &str,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE patient_messages SET due_at = $3, detail = $4 WHERE tenant_id = $1 AND id = $2 \
         AND status = 'scheduled'",
        &[id.into(), at.into(), why.into()],
    )
    .await
    .map(drop)
}

/// Ends a scheduled message without sending it, saying why.
pub async fn skip(tx: &mut TenantTx, id: Uuid, why: &str) -> Result<(), DbError> {
    tx.execute(
        "UPDATE patient_messages SET status = 'skipped', detail = $3 WHERE tenant_id = $1 AND id = $2 \
         AND status = 'scheduled'",
        &[id.into(), why.into()],
    )
    .await
    .map(drop)
}

/// What a sent message became: an email in the outbox, or a text.
#[derive(Debug, Clone, Copy)]
pub enum Handed {
    Mail(Uuid),
    Text(Uuid),
}

/// Claims a scheduled message as sent, with what it told and what it became;
/// `false` when it was no longer scheduled (then nothing may be sent).
pub async fn mark_sent(
    tx: &mut TenantTx,
    id: Uuid,
    told: Option<&str>,
    about: DateTime<Utc>,
    handed: Handed,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let (mail_id, delivery_id) = match handed {
        Handed::Mail(m) => (Some(m), None),
        Handed::Text(t) => (None, Some(t)),
    };
    Ok(tx
        .execute(
            "UPDATE patient_messages SET status = 'sent', sent_at = $3, told = $4, about_starts_at = $5, \
             mail_id = $6, delivery_id = $7, detail = NULL WHERE tenant_id = $1 AND id = $2 \
             AND status = 'scheduled'",
            &[
                id.into(),
                now.into(),
                told.into(),
                about.into(),
                mail_id.into(),
                delivery_id.into(),
            ],
        )
        .await?
        == 1)
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    appointment_id: Uuid,
    kind: String,
    channel: String,
    status: String,
    due_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    told: Option<String>,
    detail: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    delivery_error: Option<String>,
    text_state: Option<String>,
    text_error: Option<String>,
}

/// The messages of these appointments, oldest first, in words, with times in
/// `tz` (the calendar's location).
pub async fn history(
    tx: &mut TenantTx,
    appointments: &[Uuid],
    tz: chrono_tz::Tz,
) -> Result<Vec<MessageLine>, DbError> {
    let mut lines = Vec::new();
    // One statement per appointment keeps every value a bind parameter; a day
    // holds tens of appointments.
    for appointment in appointments {
        let rows: Vec<HistoryRow> = tx
            .fetch_all(
                "SELECT m.appointment_id, m.kind, m.channel, m.status, m.due_at, m.sent_at, m.told, \
                 m.detail, o.sent_at AS delivered_at, o.last_error AS delivery_error, \
                 d.state AS text_state, d.error AS text_error \
                 FROM patient_messages m LEFT JOIN mail_outbox o ON o.id = m.mail_id \
                 LEFT JOIN channel_deliveries d ON d.tenant_id = m.tenant_id AND d.id = m.delivery_id \
                 WHERE m.tenant_id = $1 AND m.appointment_id = $2 ORDER BY m.created_at, m.id",
                &[(*appointment).into()],
            )
            .await?;
        lines.extend(rows.into_iter().map(|r| line(r, tz)));
    }
    Ok(lines)
}

fn line(r: HistoryRow, tz: chrono_tz::Tz) -> MessageLine {
    let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string();
    let channel = r.channel.parse::<Channel>().map_or("?", |c| c.label());
    let what = match (r.kind.parse::<MessageKind>(), r.told.as_deref()) {
        (Ok(MessageKind::Reminder), _) => format!("Reminder by {channel}"),
        (_, Some("cancelled")) => format!("Cancellation by {channel}"),
        (_, Some(_)) => format!("Booking details by {channel}"),
        _ => format!("Update by {channel}"),
    };
    let state = match r.status.parse::<MessageStatus>() {
        Ok(MessageStatus::Scheduled) => format!("scheduled for {}", at(r.due_at)),
        Ok(MessageStatus::Sent) if r.text_state.is_some() => {
            let sent = r.sent_at.map(at).unwrap_or_default();
            let state = r
                .text_state
                .as_deref()
                .and_then(|s| s.parse::<crate::channels::DeliveryState>().ok())
                .map_or("?", |s| s.label());
            format!("sent {sent} · {state}")
        }
        Ok(MessageStatus::Sent) => {
            let sent = r.sent_at.map(at).unwrap_or_default();
            match (r.delivered_at, &r.delivery_error) {
                (Some(d), _) => format!("sent {sent} · delivered to the mail server {}", at(d)),
                (None, Some(_)) => format!("sent {sent} · delivery failing"),
                (None, None) => format!("sent {sent} · on its way"),
            }
        }
        Ok(MessageStatus::Skipped) => "not sent".to_owned(),
        Ok(MessageStatus::Cancelled) => "cancelled".to_owned(),
        Err(_) => r.status,
    };
    MessageLine {
        appointment_id: r.appointment_id,
        what,
        state,
        detail: r.detail.or(r.delivery_error).or(r.text_error),
    }
}

/// The retention purge: a record's messages and wishes.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    crate::channels::db::purge(tx, patient).await?;
    for table in ["patient_messages"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE tenant_id = $1 AND patient_id = $2"),
            &[patient.into()],
        )
        .await?;
    }
    Ok(())
}

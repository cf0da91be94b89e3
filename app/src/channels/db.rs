//! Connections, texts and what became of them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Channel;
use super::DeliveryState;
use super::{twilio, whatsapp};
use crate::db::{DbError, PlatformTx, TenantTx};
use crate::ids::TenantId;
use crate::jobs::{self, kinds, NewJob};

/// The seal's context: the clinic and channel, so a sealed secret copied to
/// another row does not open.
fn seal_context(tenant: TenantId, channel: Channel) -> Vec<u8> {
    format!("channel:{tenant}:{channel}").into_bytes()
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    account: String,
    sender: String,
    secret_sealed: String,
    template_name: Option<String>,
    template_language: Option<String>,
}

/// The clinic's connection for `channel`, its secret opened. A secret that
/// does not open (the installation's key changed) is an error, said loudly.
async fn connection(
    tx: &mut TenantTx,
    channel: Channel,
) -> Result<Option<(ConnectionRow, String)>, DbError> {
    let Some(row) = tx
        .fetch_optional::<ConnectionRow>(
            "SELECT account, sender, secret_sealed, template_name, template_language \
             FROM messaging_channels WHERE tenant_id = $1 AND channel = $2",
            &[channel.as_str().into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let secret =
        crate::identity::secrets::open(&row.secret_sealed, &seal_context(tx.tenant_id(), channel))
            .ok_or_else(|| {
                DbError::Corrupt(format!(
                    "the {} provider's secret does not open with this installation's key",
                    channel.label()
                ))
            })?;
    Ok(Some((row, secret)))
}

/// The clinic's Twilio account; `None` when SMS is not connected.
pub async fn twilio_account(tx: &mut TenantTx) -> Result<Option<twilio::Account>, DbError> {
    Ok(connection(tx, Channel::Sms)
        .await?
        .map(|(row, token)| twilio::Account {
            sid: row.account,
            token,
            sender: row.sender,
        }))
}

/// The clinic's WhatsApp number; `None` when WhatsApp is not connected.
pub async fn whatsapp_account(tx: &mut TenantTx) -> Result<Option<whatsapp::Account>, DbError> {
    Ok(connection(tx, Channel::Whatsapp)
        .await?
        .map(|(row, token)| whatsapp::Account {
            phone_number_id: row.account,
            token,
            template: row.template_name.zip(row.template_language),
        }))
}

/// Whether the channel is connected.
pub async fn is_connected(tx: &mut TenantTx, channel: Channel) -> Result<bool, DbError> {
    Ok(connection(tx, channel).await?.is_some())
}

/// Connects (or reconnects) the clinic's WhatsApp number. A number another
/// clinic has connected is refused: webhooks find their clinic by it.
pub async fn connect_whatsapp(
    tx: &mut TenantTx,
    account: &whatsapp::Account,
    staff: Uuid,
) -> Result<(), DbError> {
    let sealed = crate::identity::secrets::seal(
        &account.token,
        &seal_context(tx.tenant_id(), Channel::Whatsapp),
    );
    let tenant = tx.tenant_id().into_uuid();
    let id = account.phone_number_id.clone();
    crate::db::on_conn!(tx.platform().conn(), |c| {
        sqlx::query("UPDATE tenants SET whatsapp_phone_number_id = $2 WHERE id = $1")
            .bind(tenant)
            .bind(&id)
            .execute(c)
            .await
            .map_err(DbError::conflict_on(
                "WhatsApp number (another clinic uses it)",
            ))?
            .rows_affected()
    });
    let (name, language) = account.template.clone().unzip();
    tx.execute(
        "INSERT INTO messaging_channels (tenant_id, channel, provider, account, sender, secret_sealed, \
         template_name, template_language, connected_at, connected_by) \
         VALUES ($1, 'whatsapp', 'whatsapp_cloud', $2, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, channel) DO UPDATE SET provider = 'whatsapp_cloud', account = $2, \
         sender = $2, secret_sealed = $3, template_name = $4, template_language = $5, \
         connected_at = $6, connected_by = $7",
        &[
            account.phone_number_id.as_str().into(),
            sealed.as_str().into(),
            name.as_deref().into(),
            language.as_deref().into(),
            Utc::now().into(),
            staff.into(),
        ],
    )
    .await
    .map(drop)
}

/// Disconnects WhatsApp.
pub async fn disconnect_whatsapp(tx: &mut TenantTx) -> Result<(), DbError> {
    let tenant = tx.tenant_id().into_uuid();
    crate::db::on_conn!(tx.platform().conn(), |c| {
        sqlx::query("UPDATE tenants SET whatsapp_phone_number_id = NULL WHERE id = $1")
            .bind(tenant)
            .execute(c)
            .await?
            .rows_affected()
    });
    tx.execute(
        "DELETE FROM messaging_channels WHERE tenant_id = $1 AND channel = 'whatsapp'",
        &[],
    )
    .await
    .map(drop)
}

/// The clinic whose WhatsApp number this is.
pub async fn tenant_of_whatsapp_number(
    tx: &mut PlatformTx,
    phone_number_id: &str,
) -> Result<Option<TenantId>, DbError> {
    let found = crate::db::on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (Uuid,)>("SELECT id FROM tenants WHERE whatsapp_phone_number_id = $1")
            .bind(phone_number_id)
            .fetch_optional(c)
            .await?
    });
    Ok(found.map(|(id,)| TenantId::from_uuid(id)))
}

/// Notes a message from `phone` (E.164) to the clinic's WhatsApp number: it
/// opens the 24-hour window.
pub async fn note_whatsapp_inbound(
    tx: &mut TenantTx,
    phone: &str,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO whatsapp_windows (tenant_id, phone, last_inbound_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, phone) DO UPDATE SET last_inbound_at = $3 \
         WHERE whatsapp_windows.last_inbound_at < $3",
        &[phone.into(), at.into()],
    )
    .await
    .map(drop)
}

/// Whether free text may go to `phone` by WhatsApp at `now`.
pub async fn whatsapp_window_open(
    tx: &mut TenantTx,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let found: Option<(DateTime<Utc>,)> = tx
        .fetch_optional(
            "SELECT last_inbound_at FROM whatsapp_windows WHERE tenant_id = $1 AND phone = $2",
            &[phone.into()],
        )
        .await?;
    Ok(found.is_some_and(|(at,)| now - at < chrono::Duration::hours(24)))
}

/// Connects (or reconnects) the clinic's Twilio account. An account another
/// clinic has connected is refused: webhooks find their clinic by account.
pub async fn connect_twilio(
    tx: &mut TenantTx,
    account: &twilio::Account,
    staff: Uuid,
) -> Result<(), DbError> {
    let sealed =
        crate::identity::secrets::seal(&account.token, &seal_context(tx.tenant_id(), Channel::Sms));
    let tenant = tx.tenant_id().into_uuid();
    let sid = account.sid.clone();
    crate::db::on_conn!(tx.platform().conn(), |c| {
        sqlx::query("UPDATE tenants SET twilio_account_sid = $2 WHERE id = $1")
            .bind(tenant)
            .bind(&sid)
            .execute(c)
            .await
            .map_err(DbError::conflict_on(
                "Twilio account (another clinic uses it)",
            ))?
            .rows_affected()
    });
    tx.execute(
        "INSERT INTO messaging_channels (tenant_id, channel, provider, account, sender, secret_sealed, \
         connected_at, connected_by) VALUES ($1, 'sms', 'twilio', $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, channel) DO UPDATE SET provider = 'twilio', account = $2, sender = $3, \
         secret_sealed = $4, connected_at = $5, connected_by = $6",
        &[
            account.sid.as_str().into(),
            account.sender.as_str().into(),
            sealed.as_str().into(),
            Utc::now().into(),
            staff.into(),
        ],
    )
    .await
    .map(drop)
}

/// Disconnects SMS. Texts already queued fail with a reason when their turn comes.
pub async fn disconnect_twilio(tx: &mut TenantTx) -> Result<(), DbError> {
    let tenant = tx.tenant_id().into_uuid();
    crate::db::on_conn!(tx.platform().conn(), |c| {
        sqlx::query("UPDATE tenants SET twilio_account_sid = NULL WHERE id = $1")
            .bind(tenant)
            .execute(c)
            .await?
            .rows_affected()
    });
    tx.execute(
        "DELETE FROM messaging_channels WHERE tenant_id = $1 AND channel = 'sms'",
        &[],
    )
    .await
    .map(drop)
}

/// The clinic whose Twilio account this is.
pub async fn tenant_of_twilio_account(
    tx: &mut PlatformTx,
    sid: &str,
) -> Result<Option<TenantId>, DbError> {
    let found = crate::db::on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (Uuid,)>("SELECT id FROM tenants WHERE twilio_account_sid = $1")
            .bind(sid)
            .fetch_optional(c)
            .await?
    });
    Ok(found.map(|(id,)| TenantId::from_uuid(id)))
}

/// Queues a text to `to` (E.164) and its delivery job, in the caller's
/// transaction. Returns the text's id.
pub async fn queue_text(
    tx: &mut TenantTx,
    channel: Channel,
    patient: Option<Uuid>,
    to: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO channel_deliveries (tenant_id, id, channel, patient_id, to_address, body, state, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7)",
        &[
            id.into(),
            channel.as_str().into(),
            patient.into(),
            to.into(),
            body.into(),
            now.into(),
        ],
    )
    .await?;
    let tenant = tx.tenant_id();
    let job = NewJob::new(kinds::TEXT_DELIVERY, format!("text:{tenant}:{id}"), now)
        .payload(format!("{tenant}/{id}"));
    jobs::db::enqueue(tx.platform(), &job).await?;
    Ok(id)
}

/// A text as its delivery job reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Text {
    pub id: Uuid,
    pub channel: String,
    pub patient_id: Option<Uuid>,
    pub to_address: String,
    pub body: String,
    pub state: String,
    pub sending_at: Option<DateTime<Utc>>,
}

/// What the delivery job may do with a text.
pub enum Begin {
    /// Gone, or already past sending.
    Done,
    /// An earlier attempt began sending and its outcome is unknown.
    Uncertain,
    Send(Text),
}

/// Marks a queued text `sending` (the caller commits before calling the
/// provider). A text found `sending` is uncertain, unless an operator sent its
/// job back to the queue after that attempt began.
pub async fn begin(
    tx: &mut TenantTx,
    id: Uuid,
    requeued_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Begin, DbError> {
    let Some(text) = tx
        .fetch_optional::<Text>(
            "SELECT id, channel, patient_id, to_address, body, state, sending_at \
             FROM channel_deliveries WHERE tenant_id = $1 AND id = $2",
            &[id.into()],
        )
        .await?
    else {
        return Ok(Begin::Done);
    };
    let state: DeliveryState = text.state.parse().unwrap_or(DeliveryState::Unknown);
    let operator_says_again =
        |began: Option<DateTime<Utc>>| matches!((began, requeued_at), (Some(b), Some(r)) if r > b);
    match state {
        DeliveryState::Queued => {}
        DeliveryState::Sending | DeliveryState::Unknown if operator_says_again(text.sending_at) => {
        }
        DeliveryState::Sending => return Ok(Begin::Uncertain),
        _ => return Ok(Begin::Done),
    }
    tx.execute_one(
        "UPDATE channel_deliveries SET state = 'sending', sending_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2",
        &[id.into(), now.into()],
    )
    .await?;
    Ok(Begin::Send(text))
}

/// Records how a send ended.
pub async fn finish(
    tx: &mut TenantTx,
    id: Uuid,
    state: DeliveryState,
    provider_id: Option<&str>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let error = error.map(|e| e.chars().take(500).collect::<String>());
    tx.execute(
        "UPDATE channel_deliveries SET state = $3, provider_id = COALESCE($4, provider_id), error = $5, \
         updated_at = $6 WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            state.as_str().into(),
            provider_id.into(),
            error.as_deref().into(),
            now.into(),
        ],
    )
    .await
    .map(drop)
}

/// Puts a text whose send is known not to have happened back to `queued`.
pub async fn unsend(tx: &mut TenantTx, id: Uuid, error: &str) -> Result<(), DbError> {
    let error: String = error.chars().take(500).collect();
    tx.execute(
        "UPDATE channel_deliveries SET state = 'queued', sending_at = NULL, error = $3, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2 AND state = 'sending'",
        &[id.into(), error.as_str().into(), Utc::now().into()],
    )
    .await
    .map(drop)
}

#[derive(sqlx::FromRow)]
struct Progress {
    id: Uuid,
    state: String,
}

/// A provider's report on a text it took: moves the text forward only.
/// Answers whether the text is this clinic's.
pub async fn report(
    tx: &mut TenantTx,
    provider_id: &str,
    state: DeliveryState,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let Some(row) = tx
        .fetch_optional::<Progress>(
            "SELECT id, state FROM channel_deliveries WHERE tenant_id = $1 AND provider_id = $2",
            &[provider_id.into()],
        )
        .await?
    else {
        return Ok(false);
    };
    let current: DeliveryState = row.state.parse().unwrap_or(DeliveryState::Unknown);
    if state.rank() > current.rank() {
        finish(tx, row.id, state, None, error, now).await?;
    }
    Ok(true)
}

/// The patient a text went to, if any.
pub async fn patient_of(tx: &mut TenantTx, id: Uuid) -> Result<Option<Uuid>, DbError> {
    let found: Option<(Option<Uuid>,)> = tx
        .fetch_optional(
            "SELECT patient_id FROM channel_deliveries WHERE tenant_id = $1 AND id = $2",
            &[id.into()],
        )
        .await?;
    Ok(found.and_then(|(p,)| p))
}

#[derive(sqlx::FromRow)]
struct TestRow {
    channel: String,
    to_address: String,
    state: String,
    error: Option<String>,
    created_at: DateTime<Utc>,
}

/// The clinic's last test texts: to, state (with the error), when (in `tz`).
pub async fn recent_tests(
    tx: &mut TenantTx,
    tz: chrono_tz::Tz,
) -> Result<Vec<(String, String, String)>, DbError> {
    let rows: Vec<TestRow> = tx
        .fetch_all(
            "SELECT channel, to_address, state, error, created_at FROM channel_deliveries \
             WHERE tenant_id = $1 AND patient_id IS NULL ORDER BY created_at DESC, id DESC LIMIT 5",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = r.state.parse().unwrap_or(DeliveryState::Unknown).label();
            let state = match r.error {
                Some(e) => format!("{state}: {e}"),
                None => state.to_owned(),
            };
            let at = r.created_at.with_timezone(&tz).format("%a %-d %b %H:%M");
            let channel = r.channel.parse::<Channel>().map_or("?", |c| c.label());
            (
                format!("{} by {channel}", r.to_address),
                state,
                at.to_string(),
            )
        })
        .collect())
}

/// Records a patient's own STOP (or START) for every record of the clinic
/// with this phone number. Answers how many records it touched.
pub async fn patient_said(
    tx: &mut TenantTx,
    phone: &str,
    channel: Channel,
    stop: bool,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let patients: Vec<(Uuid,)> = tx
        .fetch_all(
            "SELECT id FROM patients WHERE tenant_id = $1 AND phone = $2",
            &[phone.into()],
        )
        .await?;
    for (patient,) in &patients {
        let changed = if stop {
            tx.execute(
                "INSERT INTO patient_message_optouts (tenant_id, patient_id, channel, opted_out_at, \
                 recorded_by, source) VALUES ($1, $2, $3, $4, NULL, 'patient') \
                 ON CONFLICT (tenant_id, patient_id, channel) DO NOTHING",
                &[(*patient).into(), channel.as_str().into(), now.into()],
            )
            .await?
        } else {
            tx.execute(
                "DELETE FROM patient_message_optouts WHERE tenant_id = $1 AND patient_id = $2 \
                 AND channel = $3",
                &[(*patient).into(), channel.as_str().into()],
            )
            .await?
        };
        if changed > 0 {
            let action = if stop {
                "messages.patient_stopped"
            } else {
                "messages.patient_restarted"
            };
            crate::identity::audit::record_for_patient(
                tx,
                crate::identity::audit::Actor::NOBODY,
                None,
                *patient,
                action,
                Some(channel.as_str()),
                &crate::identity::audit::RequestMeta::default(),
            )
            .await?;
        }
    }
    Ok(patients.len() as u64)
}

/// Notes a webhook event as handled; `false` when it was handled before.
pub async fn first_receipt(
    tx: &mut PlatformTx,
    provider: &str,
    event_id: &str,
) -> Result<bool, DbError> {
    let inserted = crate::db::on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(provider)
        .bind(event_id)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// The channels a patient asked not to be messaged by.
pub async fn opt_outs(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Channel>, DbError> {
    let rows: Vec<(String,)> = tx
        .fetch_all(
            "SELECT channel FROM patient_message_optouts WHERE tenant_id = $1 AND patient_id = $2 \
             ORDER BY channel",
            &[patient.into()],
        )
        .await?;
    Ok(rows.into_iter().filter_map(|(c,)| c.parse().ok()).collect())
}

/// Records that the patient wants no messages by `channel` (`out`), or wants
/// them again.
pub async fn set_opt_out(
    tx: &mut TenantTx,
    patient: Uuid,
    channel: Channel,
    out: bool,
    staff: Uuid,
) -> Result<(), DbError> {
    if out {
        tx.execute(
            "INSERT INTO patient_message_optouts (tenant_id, patient_id, channel, opted_out_at, recorded_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, patient_id, channel) DO NOTHING",
            &[patient.into(), channel.as_str().into(), Utc::now().into(), staff.into()],
        )
        .await?;
    } else {
        tx.execute(
            "DELETE FROM patient_message_optouts WHERE tenant_id = $1 AND patient_id = $2 AND channel = $3",
            &[patient.into(), channel.as_str().into()],
        )
        .await?;
    }
    Ok(())
}

/// Removes a patient's texts and wishes (the record's purge).
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM whatsapp_windows WHERE tenant_id = $1 AND phone IN \
         (SELECT p.phone FROM patients p WHERE p.tenant_id = $1 AND p.id = $2)",
        &[patient.into()],
    )
    .await?;
    for table in ["channel_deliveries", "patient_message_optouts"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE tenant_id = $1 AND patient_id = $2"),
            &[patient.into()],
        )
        .await?;
    }
    Ok(())
}

/// What the set-up page shows: the connection (never its secret) and the last
/// test texts.
pub async fn setup(tx: &mut TenantTx, tz: chrono_tz::Tz) -> Result<super::TextSetup, DbError> {
    let connected: Option<(String, String)> = tx
        .fetch_optional(
            "SELECT account, sender FROM messaging_channels WHERE tenant_id = $1 AND channel = 'sms'",
            &[],
        )
        .await?;
    let whatsapp: Option<(String, Option<String>)> = tx
        .fetch_optional(
            "SELECT account, template_name FROM messaging_channels WHERE tenant_id = $1 \
             AND channel = 'whatsapp'",
            &[],
        )
        .await?;
    Ok(super::TextSetup {
        connected: connected.map(|(account, sender)| {
            let tail = account.chars().rev().take(4).collect::<Vec<_>>();
            (tail.into_iter().rev().collect(), sender)
        }),
        whatsapp: whatsapp.map(|(id, template)| (id, template.unwrap_or_default())),
        tests: recent_tests(tx, tz).await?,
    })
}

/// Forgets webhook receipts older than `before` (providers retry for hours, not
/// weeks). Answers how many went.
pub async fn prune_receipts(db: &crate::db::Db, before: DateTime<Utc>) -> Result<u64, DbError> {
    let mut tx = db.begin_platform().await?;
    let gone = crate::db::on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM webhook_receipts WHERE received_at < $1")
            .bind(before)
            .execute(c)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(gone)
}

//! The `text-delivery` job: hands one text to its provider, at most once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{self, Begin};
use super::Channel;
use super::{twilio, whatsapp, Sent};
use super::{DeliveryState, Providers};
use crate::db::{Db, DbError};
use crate::ids::TenantId;
use crate::jobs::{Done, Failure, Job};

fn retry(e: DbError) -> Failure {
    Failure::Retry(format!("database: {e}"))
}

/// Runs one `text-delivery` job (payload `tenant/text`) as of `now`.
pub async fn run(
    db: &Db,
    providers: &Providers,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Done, Failure> {
    let Some((tenant, id)) = job
        .payload
        .split_once('/')
        .and_then(|(t, m)| Some((t.parse::<Uuid>().ok()?, m.parse::<Uuid>().ok()?)))
    else {
        return Err(Failure::Permanent("the job does not name a text".into()));
    };
    let tenant = TenantId::from_uuid(tenant);
    // Step 1, committed before the provider hears of it: the per-message mark.
    let mut tx = db.begin_for(tenant).await.map_err(retry)?;
    let text = match db::begin(&mut tx, id, job.requeued_at, now)
        .await
        .map_err(retry)?
    {
        Begin::Done => return Ok(Done::Finished),
        Begin::Uncertain => {
            let why = "an earlier attempt stopped while handing the text to the provider, and it \
                       may have gone out; not sent again (send the job back to the queue to send it anyway)";
            db::finish(&mut tx, id, DeliveryState::Unknown, None, Some(why), now)
                .await
                .map_err(retry)?;
            tx.commit().await.map_err(retry)?;
            return Err(Failure::Permanent(why.into()));
        }
        Begin::Send(text) => text,
    };
    let channel: Channel = text.channel.parse().unwrap_or(Channel::Sms);
    let call = match channel {
        Channel::Sms => db::twilio_account(&mut tx)
            .await
            .map_err(retry)?
            .map(Call::Sms),
        Channel::Whatsapp => match db::whatsapp_account(&mut tx).await.map_err(retry)? {
            None => None,
            Some(account) => {
                let open = db::whatsapp_window_open(&mut tx, &text.to_address, now)
                    .await
                    .map_err(retry)?;
                if !open && account.template.is_none() {
                    let why = "outside WhatsApp's 24-hour window, and no approved template is set";
                    db::finish(&mut tx, id, DeliveryState::Failed, None, Some(why), now)
                        .await
                        .map_err(retry)?;
                    tx.commit().await.map_err(retry)?;
                    return Ok(Done::Finished);
                }
                let clinic = crate::tenancy::db::find_by_id(tx.platform(), tenant)
                    .await
                    .map_err(retry)?
                    .map(|t| t.name)
                    .unwrap_or_default();
                Some(Call::Whatsapp {
                    account,
                    open,
                    clinic,
                })
            }
        },
        Channel::Email => None,
    };
    let Some(call) = call else {
        let why = format!("{} is not connected", channel.label());
        db::finish(&mut tx, id, DeliveryState::Failed, None, Some(&why), now)
            .await
            .map_err(retry)?;
        tx.commit().await.map_err(retry)?;
        return Ok(Done::Finished);
    };
    tx.commit().await.map_err(retry)?;

    // Step 2: the provider.
    let sent = match &call {
        Call::Sms(account) => {
            twilio::send(
                &providers.http,
                &providers.twilio_api,
                account,
                &text.to_address,
                &text.body,
                &providers.twilio_status_url(),
            )
            .await
        }
        Call::Whatsapp {
            account,
            open,
            clinic,
        } => {
            let content = match (&account.template, open) {
                (Some((name, language)), false) => whatsapp::Content::Template {
                    name,
                    language,
                    clinic,
                },
                _ => whatsapp::Content::Text(&text.body),
            };
            whatsapp::send(
                &providers.http,
                &providers.whatsapp_api,
                account,
                &text.to_address,
                &content,
            )
            .await
        }
    };

    // Step 3: what came of it.
    let mut tx = db.begin_for(tenant).await.map_err(retry)?;
    let outcome = match sent {
        Sent::Accepted {
            id: provider_id,
            status,
        } => {
            let state = match channel {
                Channel::Whatsapp => whatsapp::state_of(&status),
                _ => twilio::state_of(&status),
            }
            .unwrap_or(DeliveryState::Accepted);
            db::finish(&mut tx, id, state, Some(&provider_id), None, now)
                .await
                .map_err(retry)?;
            Ok(Done::Finished)
        }
        Sent::Refused {
            code,
            message,
            retry: true,
        } => {
            let why = refusal(channel, code, &message);
            db::unsend(&mut tx, id, &why).await.map_err(retry)?;
            // The operators' queue gets no provider text: it may name the number.
            Err(Failure::Retry(format!(
                "{} asked to wait (code {})",
                provider(channel),
                code.map_or_else(|| "none".into(), |c| c.to_string())
            )))
        }
        Sent::Refused { code, message, .. } => {
            let why = refusal(channel, code, &message);
            db::finish(&mut tx, id, DeliveryState::Failed, None, Some(&why), now)
                .await
                .map_err(retry)?;
            if channel == Channel::Sms && code == Some(twilio::UNSUBSCRIBED_RECIPIENT) {
                // The patient texted STOP to this number: record it on their chart.
                db::patient_said(&mut tx, &text.to_address, Channel::Sms, true, now)
                    .await
                    .map_err(retry)?;
            }
            Ok(Done::Finished)
        }
        Sent::Unreachable(why) => {
            db::unsend(&mut tx, id, &why).await.map_err(retry)?;
            Err(Failure::Retry(why))
        }
        Sent::Unknown(why) => {
            db::finish(&mut tx, id, DeliveryState::Unknown, None, Some(&why), now)
                .await
                .map_err(retry)?;
            Err(Failure::Permanent(format!(
                "{}'s answer was lost and the text may have gone; not sent again (the \
                 clinic's message history has the detail; send the job back to the queue \
                 to send it anyway)",
                provider(channel)
            )))
        }
    };
    tx.commit().await.map_err(retry)?;
    outcome
}

fn provider(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        _ => "Twilio",
    }
}

fn refusal(channel: Channel, code: Option<i64>, message: &str) -> String {
    let who = provider(channel);
    match code {
        Some(code) => format!("{who} refused it ({code}): {message}"),
        None => format!("{who} refused it: {message}"),
    }
}

/// The provider call a text needs.
enum Call {
    Sms(twilio::Account),
    Whatsapp {
        account: whatsapp::Account,
        /// Inside the 24-hour window: free text may go.
        open: bool,
        clinic: String,
    },
}

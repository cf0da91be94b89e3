//! The `patient-message` job: looks again at a planned message at the time it
//! is due, then sends it, holds it for quiet hours, or ends it with a reason.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{self, MessageRow};
use super::quiet::{decide, Timing};
use super::{Channel, MessageKind, MessageStatus, REMINDER_LEAD};
use crate::db::{Db, DbError, TenantTx};
use crate::identity::Email;
use crate::jobs::{Done, Failure, Job};
use crate::patients::PatientStatus;
use crate::scheduling::AppointmentStatus;
use crate::tenancy::{db as tenants, Tenant, TenantId};

fn retry(e: DbError) -> Failure {
    Failure::Retry(format!("database: {e}"))
}

/// What the message will say, once it is sure to go.
enum News {
    Reminder,
    Booked,
    Moved,
    Cancelled,
}

/// What to do with the message now.
enum Verdict {
    Send { news: News, deadline: DateTime<Utc> },
    Skip(String),
}

/// Runs one `patient-message` job (payload `tenant/message`) as of `now`.
pub async fn run(db: &Db, origin: &str, job: &Job, now: DateTime<Utc>) -> Result<Done, Failure> {
    let Some((tenant, message)) = job
        .payload
        .split_once('/')
        .and_then(|(t, m)| Some((t.parse::<Uuid>().ok()?, m.parse::<Uuid>().ok()?)))
    else {
        return Err(Failure::Permanent("the job does not name a message".into()));
    };
    let mut read = db.begin_platform_read().await.map_err(retry)?;
    let Some(tenant) = tenants::find_by_id(&mut read, TenantId::from_uuid(tenant))
        .await
        .map_err(retry)?
    else {
        return Ok(Done::Finished);
    };
    drop(read);
    let mut tx = db.begin_for(tenant.id).await.map_err(retry)?;
    let done = handle(&mut tx, &tenant, message, origin, now)
        .await
        .map_err(retry)?;
    tx.commit().await.map_err(retry)?;
    Ok(done)
}

async fn handle(
    tx: &mut TenantTx,
    tenant: &Tenant,
    id: Uuid,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Done, DbError> {
    let Some(m) = db::message(tx, id).await? else {
        return Ok(Done::Finished);
    };
    if m.status.parse::<MessageStatus>() != Ok(MessageStatus::Scheduled) {
        return Ok(Done::Finished);
    }
    let Some(appointment_id) = m.appointment_id else {
        db::skip(tx, id, "it names no appointment").await?;
        return Ok(Done::Finished);
    };
    let Some(a) = crate::scheduling::db::appointment(tx, appointment_id).await? else {
        db::skip(tx, id, "the appointment is gone").await?;
        return Ok(Done::Finished);
    };
    if !tenant.status.is_served() {
        db::skip(tx, id, "the clinic's account is suspended").await?;
        return Ok(Done::Finished);
    }
    let status: AppointmentStatus = a.status.parse().unwrap_or(AppointmentStatus::Booked);
    let (news, deadline) = match verdict(tx, &m, status, a.starts_at, appointment_id).await? {
        Verdict::Skip(why) => {
            db::skip(tx, id, &why).await?;
            return Ok(Done::Finished);
        }
        Verdict::Send { news, deadline } => (news, deadline),
    };
    let tz: chrono_tz::Tz = a.time_zone.parse().unwrap_or_else(|_| tenant.settings.tz());
    let setup = db::setup(tx).await?;
    match decide(now, deadline, tz, setup.window) {
        Timing::Now => {}
        Timing::Wait(at) => {
            let why = format!(
                "held for quiet hours ({} sending hours)",
                setup.window.label()
            );
            db::hold(tx, id, at, &why).await?;
            return Ok(Done::Later(at));
        }
        Timing::TooLate(at) => {
            let opens = at.with_timezone(&tz).format("%H:%M");
            let why = format!("quiet hours until {opens}, too late for the visit");
            db::skip(tx, id, &why).await?;
            return Ok(Done::Finished);
        }
    }
    let channel: Channel = m.channel.parse().unwrap_or(Channel::Email);
    let Some(patient) = crate::patients::db::get(tx, m.patient_id).await? else {
        db::skip(tx, id, "the patient's record is gone").await?;
        return Ok(Done::Finished);
    };
    if crate::channels::db::opt_outs(tx, patient.id)
        .await?
        .contains(&channel)
    {
        let why = format!("the patient asked for no messages by {}", channel.label());
        db::skip(tx, id, &why).await?;
        return Ok(Done::Finished);
    }
    if patient.status == PatientStatus::Deceased {
        db::skip(tx, id, "the patient is recorded as deceased").await?;
        return Ok(Done::Finished);
    }
    let (date, time) = tenant.settings.format_datetime_in(a.starts_at, tz);
    let handed = match channel {
        Channel::Sms | Channel::Whatsapp => {
            if !crate::channels::db::is_connected(tx, channel).await? {
                let why = format!("{} is not connected", channel.label());
                db::skip(tx, id, &why).await?;
                return Ok(Done::Finished);
            }
            let Some(to) = patient.phone.as_deref() else {
                db::skip(tx, id, "no phone number on record").await?;
                return Ok(Done::Finished);
            };
            let body = text(tenant, &news, origin);
            let text_id =
                crate::channels::db::queue_text(tx, channel, Some(patient.id), to, &body, now)
                    .await?;
            db::Handed::Text(text_id)
        }
        Channel::Email => {
            let Some(to) = patient.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
                db::skip(tx, id, "no email address on record").await?;
                return Ok(Done::Finished);
            };
            let mut email = compose(tenant, &to, &news, &date, &time, origin);
            if !matches!(news, News::Reminder) {
                // Booked, moved or cancelled: the calendar entry comes along.
                let ics = crate::scheduling::ics::attachment(tx, &tenant.name, &a, origin).await?;
                email = email.with_attachment(ics);
            }
            db::Handed::Mail(crate::mail::enqueue(tx.platform(), &email).await?)
        }
    };
    let told = match news {
        News::Reminder => None,
        News::Cancelled => Some("cancelled"),
        News::Booked | News::Moved => Some("booked"),
    };
    if !db::mark_sent(tx, id, told, a.starts_at, handed, now).await? {
        // Claimed meanwhile: this transaction must not commit its email or text.
        return Err(DbError::Conflict("message"));
    }
    Ok(Done::Finished)
}

/// Looks at the message against the appointment as it is now.
async fn verdict(
    tx: &mut TenantTx,
    m: &MessageRow,
    status: AppointmentStatus,
    starts_at: DateTime<Utc>,
    appointment: Uuid,
) -> Result<Verdict, DbError> {
    let kind: MessageKind = m.kind.parse().unwrap_or(MessageKind::Update);
    let channel: Channel = m.channel.parse().unwrap_or(Channel::Email);
    Ok(match kind {
        MessageKind::Reminder => {
            if status != AppointmentStatus::Booked {
                Verdict::Skip(format!("the visit is {}", status.label().to_lowercase()))
            } else if m.about_starts_at != Some(starts_at) {
                Verdict::Skip("the visit was moved".into())
            } else {
                Verdict::Send {
                    news: News::Reminder,
                    deadline: starts_at - REMINDER_LEAD,
                }
            }
        }
        MessageKind::Update => {
            let now_state = match status {
                AppointmentStatus::Booked => "booked",
                AppointmentStatus::Cancelled => "cancelled",
                other => {
                    return Ok(Verdict::Skip(format!(
                        "the visit is {}",
                        other.label().to_lowercase()
                    )))
                }
            };
            let told = db::last_told(tx, appointment, channel).await?;
            let news = match (told.as_ref().map(|(t, at)| (t.as_str(), *at)), now_state) {
                (Some((t, at)), now) if t == now && (now == "cancelled" || at == starts_at) => {
                    return Ok(Verdict::Skip(
                        "nothing changed since the patient was last told".into(),
                    ))
                }
                (None | Some(("cancelled", _)), "cancelled") => {
                    return Ok(Verdict::Skip(
                        "cancelled before the patient was told of it".into(),
                    ))
                }
                (None | Some(("cancelled", _)), _) => News::Booked,
                (Some(_), "cancelled") => News::Cancelled,
                (Some(_), _) => News::Moved,
            };
            Verdict::Send {
                news,
                deadline: starts_at,
            }
        }
    })
}

/// The email: the clinic, the date and time, a link to the portal; nothing about
/// the visit's kind, practitioner or reason.
fn compose(
    tenant: &Tenant,
    to: &Email,
    news: &News,
    date: &str,
    time: &str,
    origin: &str,
) -> crate::mail::Message {
    let clinic = &tenant.name;
    let (subject, line) = match news {
        News::Reminder => (
            "Appointment reminder",
            format!("This is a reminder of your appointment at {clinic} on {date} at {time}."),
        ),
        News::Booked => (
            "Appointment booked",
            format!("Your appointment at {clinic} is booked for {date} at {time}."),
        ),
        News::Moved => (
            "Appointment moved",
            format!("Your appointment at {clinic} has moved to {date} at {time}."),
        ),
        News::Cancelled => (
            "Appointment cancelled",
            format!("Your appointment at {clinic} on {date} at {time} is cancelled."),
        ),
    };
    let link = format!("{origin}/t/{}/portal", tenant.slug);
    crate::mail::branded(
        Some(&tenant.public()),
        to,
        subject,
        &[
            &line,
            "To see or change your appointments, sign in to the patient portal.",
        ],
        ("Open the patient portal", &link),
    )
}

/// A text says only that there is news from the clinic, with the portal link:
/// no date, practitioner or reason (texts are read on lock screens).
fn text(tenant: &Tenant, news: &News, origin: &str) -> String {
    let what = match news {
        News::Reminder => "a reminder of your upcoming appointment",
        News::Booked => "your appointment is booked",
        News::Moved => "your appointment has changed",
        News::Cancelled => "your appointment is cancelled",
    };
    format!(
        "{}: {what}. Details: {origin}/t/{}/portal Reply STOP to opt out.",
        tenant.name, tenant.slug
    )
}

//! Offering freed time to the waitlist, and answering an offer.
//!
//! Freeing time (a cancellation or a move, in `scheduling::db`) queues a
//! [`kinds::WAITLIST_FREED`] job in the same transaction, due after the
//! debounce. The job looks at the freed span again: the slot engine (which
//! counts open offers as busy) finds free slots inside it for the waiting
//! entries, in the order they joined; each slot is offered to up to
//! [`OFFER_BATCH`] entries at once, by email with a private link, and an
//! [`kinds::WAITLIST_EXPIRE`] job is queued for the end of the window. When it
//! runs, offers still open expire, their entries wait again, and the span is
//! offered anew to those not yet offered that time.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::db::{self, Entry, NewOffer};
use super::{EntryState, OfferState, DEBOUNCE, OFFER_BATCH};
use crate::db::{Db, DbError, TenantTx};
use crate::error::AppError;
use crate::identity::{secrets, Email};
use crate::jobs::{self, kinds, Done, Failure, Job, NewJob};
use crate::scheduling::api::ssr::{self as engine, Booker};
use crate::scheduling::api::ssr_book::{self, Refusal};
use crate::scheduling::db as sched;
use crate::scheduling::slots::{self, Span};
use crate::tenancy::{db as tenants, TenantId, TenantPublic};

/// The most slots one freed span is offered as (a long cancelled block).
const MOST_SLOTS: usize = 8;

/// Freed time of `staff` at `location`: what the jobs carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freed {
    pub staff: Uuid,
    pub location: Uuid,
    pub span: Span,
}

impl Freed {
    fn payload(&self, tenant: impl std::fmt::Display) -> String {
        format!(
            "{tenant}/{}/{}/{}/{}",
            self.staff,
            self.location,
            self.span.start.timestamp_micros(),
            self.span.end.timestamp_micros()
        )
    }

    fn parse(payload: &str) -> Option<(Uuid, Self)> {
        let mut parts = payload.split('/');
        let mut id = || parts.next()?.parse::<Uuid>().ok();
        let (tenant, staff, location) = (id()?, id()?, id()?);
        let mut time = || DateTime::from_timestamp_micros(parts.next()?.parse().ok()?);
        let (start, end) = (time()?, time()?);
        Some((
            tenant,
            Self {
                staff,
                location,
                span: Span::new(start, end),
            },
        ))
    }
}

/// Queues the look at freed time (after the debounce), in `tx`.
pub async fn freed(tx: &mut TenantTx, f: Freed, now: DateTime<Utc>) -> Result<(), DbError> {
    let tenant = tx.tenant_id();
    let job = NewJob::new(
        kinds::WAITLIST_FREED,
        format!(
            "waitlist-freed:{tenant}:{}:{}:{}:{}",
            f.staff,
            f.location,
            f.span.start.timestamp_micros(),
            now.timestamp_micros()
        ),
        now + DEBOUNCE,
    )
    .payload(f.payload(tenant));
    jobs::db::enqueue(tx.platform(), &job).await?;
    Ok(())
}

fn retry(e: impl std::fmt::Display) -> Failure {
    Failure::Retry(e.to_string())
}

async fn tenant_of(db: &Db, id: Uuid) -> Result<Option<TenantPublic>, DbError> {
    let mut read = db.begin_platform_read().await?;
    let tenant = tenants::find_by_id(&mut read, TenantId::from_uuid(id)).await?;
    Ok(tenant.map(|t| t.public()))
}

/// The [`kinds::WAITLIST_FREED`] job: offers the freed time.
pub async fn run_freed(
    db: &Db,
    origin: &str,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Done, Failure> {
    let Some((tenant, freed)) = Freed::parse(&job.payload) else {
        return Err(Failure::Permanent(
            "the job does not name freed time".into(),
        ));
    };
    let Some(tenant) = tenant_of(db, tenant).await.map_err(retry)? else {
        return Ok(Done::Finished);
    };
    let mut tx = db.begin_for(tenant.id).await.map_err(retry)?;
    offer_time(&mut tx, &tenant, freed, origin, now)
        .await
        .map_err(retry)?;
    tx.commit().await.map_err(retry)?;
    Ok(Done::Finished)
}

/// The [`kinds::WAITLIST_EXPIRE`] job: offers of a time whose window ended
/// expire, and the time goes to the next in line.
pub async fn run_expire(
    db: &Db,
    origin: &str,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Done, Failure> {
    let Some((payload, slot)) = job.payload.rsplit_once('/') else {
        return Err(Failure::Permanent("the job does not name an offer".into()));
    };
    let (Some((tenant, freed)), Some(slot)) = (
        Freed::parse(payload),
        slot.parse().ok().and_then(DateTime::from_timestamp_micros),
    ) else {
        return Err(Failure::Permanent("the job does not name an offer".into()));
    };
    let Some(tenant) = tenant_of(db, tenant).await.map_err(retry)? else {
        return Ok(Done::Finished);
    };
    let mut tx = db.begin_for(tenant.id).await.map_err(retry)?;
    let open = db::open_offers_of(&mut tx, freed.staff, slot)
        .await
        .map_err(retry)?;
    let mut expired = false;
    for o in open.iter().filter(|o| o.expires_at <= now) {
        db::set_offer(&mut tx, o.id, OfferState::Expired, now)
            .await
            .map_err(retry)?;
        wait_again(&mut tx, o.entry_id, now).await.map_err(retry)?;
        expired = true;
    }
    if expired {
        offer_time(&mut tx, &tenant, freed, origin, now)
            .await
            .map_err(retry)?;
    }
    tx.commit().await.map_err(retry)?;
    Ok(Done::Finished)
}

/// An offered entry with no other open offer waits again.
async fn wait_again(tx: &mut TenantTx, entry: Uuid, now: DateTime<Utc>) -> Result<(), DbError> {
    let Some(e) = db::entry(tx, entry).await? else {
        return Ok(());
    };
    if e.state() == EntryState::Offered && db::open_offers_of_entry(tx, entry).await?.is_empty() {
        db::set_entry(tx, entry, EntryState::Waiting, None, now).await?;
    }
    Ok(())
}

/// Offers the free slots inside `f.span` to the waiting entries, in the order
/// they joined; answers how many offers went out.
pub async fn offer_time(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    f: Freed,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let Some(location) = sched::location(tx, f.location).await?.filter(|l| l.active) else {
        return Ok(0);
    };
    let tz = location.tz();
    let days = local_days(tz, f.span);
    let rules = sched::rules(tx).await?;
    // The patient books within the clinic's online rules (notice, window).
    let bounds = engine::bounds(Booker::Patient, &rules, tz, now);
    let minutes = db::offer_minutes(tx).await?;
    let mut sent = 0;
    for day in days {
        let mut waiting = db::waiting_for(tx, f.location, f.staff, day).await?;
        for _ in 0..MOST_SLOTS {
            let Some((slot, batch)) =
                next_offer(tx, tenant, &location, f, &waiting, day, bounds).await?
            else {
                break;
            };
            let expires_at = now + Duration::minutes(minutes.into());
            for e in &batch {
                make_offer(tx, tenant, e, f.staff, &slot, expires_at, origin, now).await?;
                sent += 1;
            }
            waiting.retain(|w| batch.iter().all(|b| b.id != w.id));
            let job = NewJob::new(
                kinds::WAITLIST_EXPIRE,
                format!(
                    "waitlist-expire:{}:{}:{}:{}",
                    tx.tenant_id(),
                    f.staff,
                    slot.start.timestamp_micros(),
                    now.timestamp_micros()
                ),
                expires_at,
            )
            .payload(format!(
                "{}/{}",
                f.payload(tx.tenant_id()),
                slot.start.timestamp_micros()
            ));
            jobs::db::enqueue(tx.platform(), &job).await?;
        }
    }
    Ok(sent)
}

/// The most days one span is offered over (new weekly hours open weeks).
const MOST_DAYS: usize = 62;

/// The local dates a span touches (at most [`MOST_DAYS`]).
fn local_days(tz: Tz, span: Span) -> Vec<NaiveDate> {
    let first = span.start.with_timezone(&tz).date_naive();
    let last = (span.end - Duration::seconds(1))
        .with_timezone(&tz)
        .date_naive();
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .take(MOST_DAYS)
        .collect()
}

/// The first free slot inside the span for the first waiting entry that has
/// one, with the entries (of the same visit type, up to the batch) it goes to.
async fn next_offer(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    location: &sched::LocationRow,
    f: Freed,
    waiting: &[Entry],
    day: NaiveDate,
    bounds: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Option<(slots::Slot, Vec<Entry>)>, DbError> {
    for first in waiting {
        let Some(slot) = free_slot_for(tx, tenant, location, f, first, day, bounds).await? else {
            continue;
        };
        let mut batch = Vec::new();
        for e in waiting.iter().filter(|e| e.type_id == first.type_id) {
            if batch.len() == OFFER_BATCH {
                break;
            }
            if !db::was_offered(tx, e.id, f.staff, slot.start).await? {
                batch.push(e.clone());
            }
        }
        return Ok(Some((slot, batch)));
    }
    Ok(None)
}

async fn free_slot_for(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    location: &sched::LocationRow,
    f: Freed,
    e: &Entry,
    day: NaiveDate,
    bounds: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Option<slots::Slot>, DbError> {
    let Some(t) = sched::appointment_type(tx, e.type_id)
        .await?
        .filter(|t| t.active)
    else {
        return Ok(None);
    };
    let offers_it = engine::offering(tx, e.type_id, f.location)
        .await
        .map_err(|e| DbError::Invalid(e.to_string()))?
        .contains(&f.staff);
    if !offers_it {
        return Ok(None);
    }
    let wanted = engine::wanted(&t, location, (day, day), bounds);
    let schedules = sched::schedules(tx, &[f.staff], day, day, tenant.settings.tz()).await?;
    for (_, schedule) in &schedules {
        for slot in slots::free_slots(schedule, &wanted) {
            let inside = f.span.start <= slot.start && slot.end <= f.span.end;
            if inside && !db::was_offered(tx, e.id, f.staff, slot.start).await? {
                return Ok(Some(slot));
            }
        }
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
async fn make_offer(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    e: &Entry,
    staff: Uuid,
    slot: &slots::Slot,
    expires_at: DateTime<Utc>,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (token, hash) = secrets::new_token();
    let t = sched::appointment_type(tx, e.type_id).await?;
    let (before, after) = t.map_or((0, 0), |t| (t.buffer_before_min, t.buffer_after_min));
    db::insert_offer(
        tx,
        &NewOffer {
            entry: e.id,
            staff,
            starts_at: slot.start,
            occupied: (
                slot.start - Duration::minutes(before.into()),
                slot.end + Duration::minutes(after.into()),
            ),
            token_hash: &hash,
            expires_at,
        },
        now,
    )
    .await?;
    db::set_entry(tx, e.id, EntryState::Offered, None, now).await?;
    let Some(to) = e.email.as_deref().and_then(|m| Email::parse(m).ok()) else {
        return Ok(());
    };
    let until = tenant.settings.format_datetime(expires_at);
    let link = format!("{origin}/t/{}/waitlist/offer/{token}", tenant.slug);
    // No visit, practitioner or time in the message: the link shows them.
    let message = crate::mail::branded(
        Some(tenant),
        &to,
        "A time has opened up",
        &[
            &format!(
                "A time you were waiting for at {} has become free.",
                tenant.name
            ),
            &format!("It is held for you until {until}. Open the link to see it and book it."),
        ],
        ("See the time", &link),
    );
    crate::mail::enqueue(tx.platform(), &message).await?;
    Ok(())
}

/// What an offer's page shows.
#[derive(Debug, Clone)]
pub struct Shown {
    pub offer: db::Offer,
    pub type_name: String,
    pub practitioner: String,
    pub location: String,
    pub date: String,
    pub time: String,
    pub held_until: String,
}

/// The offer a link opens, with what it offers.
pub async fn show(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    token: &str,
) -> Result<Option<Shown>, DbError> {
    let Some(offer) = db::offer_by_token(tx, &secrets::digest(token)).await? else {
        return Ok(None);
    };
    let Some(entry) = db::entry(tx, offer.entry_id).await? else {
        return Ok(None);
    };
    let names: Option<(String,)> = tx
        .fetch_optional(
            "SELECT display_name FROM staff_members WHERE tenant_id = $1 AND id = $2",
            &[offer.staff_id.into()],
        )
        .await?;
    let location = sched::location(tx, offer.location_id).await?;
    let tz = location
        .as_ref()
        .map_or_else(|| tenant.settings.tz(), sched::LocationRow::tz);
    let (date, time) = tenant.settings.format_datetime_in(offer.starts_at, tz);
    Ok(Some(Shown {
        held_until: tenant.settings.format_datetime(offer.expires_at),
        type_name: entry.type_name,
        practitioner: names.map(|n| n.0).unwrap_or_default(),
        location: entry.location,
        date,
        time,
        offer,
    }))
}

/// How answering an offer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Booked(Uuid),
    /// Someone else booked the time first.
    Taken,
    Expired,
}

/// Books the offered time for its patient: the first to accept gets it, the
/// others are told it was taken.
pub async fn accept(
    database: &Db,
    tenant: &TenantPublic,
    token: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Answer, AppError> {
    let mut tx = database.begin_for(tenant.id).await?;
    let offer = db::offer_by_token(&mut tx, &secrets::digest(token))
        .await?
        .ok_or(AppError::NotFound)?;
    match offer.state() {
        OfferState::Accepted => {
            return Ok(Answer::Booked(offer.appointment_id.unwrap_or_default()))
        }
        OfferState::Taken => return Ok(Answer::Taken),
        OfferState::Expired => return Ok(Answer::Expired),
        OfferState::Open if offer.expires_at <= now => return Ok(Answer::Expired),
        OfferState::Open => {}
    }
    // Release the time held for this offer and its siblings, then book it.
    let siblings = db::open_offers_of(&mut tx, offer.staff_id, offer.starts_at).await?;
    for o in &siblings {
        let state = if o.id == offer.id {
            OfferState::Accepted
        } else {
            OfferState::Taken
        };
        db::set_offer(&mut tx, o.id, state, now).await?;
    }
    let booked = ssr_book::book(
        &mut tx,
        tenant,
        ssr_book::Request {
            patient: offer.patient_id,
            staff: offer.staff_id,
            location: offer.location_id,
            type_id: offer.type_id,
            starts_at: offer.starts_at,
            notes: Some("Booked from the waitlist."),
            booker: Booker::Patient,
            booked_by: None,
            moving: None,
            series: None,
        },
    )
    .await;
    let appointment = match booked {
        Ok(id) => id,
        Err(Refusal::Taken) => {
            drop(tx);
            return lost(database, tenant, offer.id, offer.entry_id, now).await;
        }
        Err(Refusal::Error(e)) => return Err(e),
    };
    db::set_entry(
        &mut tx,
        offer.entry_id,
        EntryState::Booked,
        Some(appointment),
        now,
    )
    .await?;
    for o in siblings.iter().filter(|o| o.id != offer.id) {
        wait_again(&mut tx, o.entry_id, now).await?;
        tell_taken(&mut tx, tenant, o.entry_id, origin).await?;
    }
    tx.commit().await?;
    Ok(Answer::Booked(appointment))
}

/// The time went to someone outside the waitlist first: this offer is taken
/// and its entry waits again.
async fn lost(
    database: &Db,
    tenant: &TenantPublic,
    offer: Uuid,
    entry: Uuid,
    now: DateTime<Utc>,
) -> Result<Answer, AppError> {
    let mut tx = database.begin_for(tenant.id).await?;
    db::set_offer(&mut tx, offer, OfferState::Taken, now).await?;
    wait_again(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(Answer::Taken)
}

async fn tell_taken(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    entry: Uuid,
    origin: &str,
) -> Result<(), DbError> {
    let Some(e) = db::entry(tx, entry).await? else {
        return Ok(());
    };
    let Some(to) = e.email.as_deref().and_then(|m| Email::parse(m).ok()) else {
        return Ok(());
    };
    let message = crate::mail::branded(
        Some(tenant),
        &to,
        "The time was taken",
        &[
            &format!(
                "Another patient booked the time {} offered you first.",
                tenant.name
            ),
            "You are still on the waitlist; we will write again when another time frees up.",
        ],
        ("Book online", &format!("{origin}/t/{}/book", tenant.slug)),
    );
    crate::mail::enqueue(tx.platform(), &message).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_time_survives_its_trip_through_a_job() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let f = Freed {
            staff: Uuid::now_v7(),
            location: Uuid::now_v7(),
            span: Span::new(at("2026-03-29T00:30:00Z"), at("2026-03-29T03:00:00Z")),
        };
        let tenant = Uuid::now_v7();
        assert_eq!(Freed::parse(&f.payload(tenant)), Some((tenant, f)));
        assert_eq!(Freed::parse("nonsense"), None);
        assert_eq!(Freed::parse(&format!("{tenant}/x/y/1/2")), None);
    }

    #[test]
    fn a_span_touches_the_local_days_it_crosses() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let kolkata: Tz = "Asia/Kolkata".parse().expect("zone");
        // 17:00–19:30 UTC is 22:30–01:00 in India: two local days.
        let days = local_days(
            kolkata,
            Span::new(at("2026-05-01T17:00:00Z"), at("2026-05-01T19:30:00Z")),
        );
        assert_eq!(days.len(), 2);
        // Ending exactly at local midnight stays on one day.
        let one = local_days(
            kolkata,
            Span::new(at("2026-05-01T17:30:00Z"), at("2026-05-01T18:30:00Z")),
        );
        assert_eq!(one.len(), 1);
    }
}

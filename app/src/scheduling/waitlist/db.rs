//! The waitlist's rows, always through a [`TenantTx`].

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{EntryState, OfferState, DEFAULT_OFFER_MINUTES};
use crate::db::{DbError, TenantTx};

/// A new entry.
pub struct NewEntry {
    pub patient: Uuid,
    pub type_id: Uuid,
    pub location: Uuid,
    pub staff: Option<Uuid>,
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub via: &'static str,
    pub by: Option<Uuid>,
    /// Where offers are sent.
    pub email: String,
}

pub async fn add(tx: &mut TenantTx, e: &NewEntry, now: DateTime<Utc>) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute_one(
        "INSERT INTO waitlist_entries (tenant_id, id, patient_id, type_id, location_id, staff_id, from_date, \
         until_date, state, joined_via, created_by, created_at, updated_at, notify_email) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $9, $10, $11, $11, $12)",
        &[
            id.into(),
            e.patient.into(),
            e.type_id.into(),
            e.location.into(),
            e.staff.into(),
            e.from.into(),
            e.until.into(),
            e.via.into(),
            e.by.into(),
            now.into(),
            e.email.as_str().into(),
        ],
    )
    .await?;
    Ok(id)
}

/// An entry as the desk sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub mrn: String,
    pub email: Option<String>,
    pub type_id: Uuid,
    pub type_name: String,
    pub location_id: Uuid,
    pub location: String,
    pub staff_id: Option<Uuid>,
    pub practitioner: Option<String>,
    pub from_date: NaiveDate,
    pub until_date: NaiveDate,
    pub state: String,
    pub appointment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Entry {
    pub fn state(&self) -> EntryState {
        self.state.parse().unwrap_or(EntryState::Withdrawn)
    }
}

const SELECT_ENTRIES: &str = "SELECT w.id, w.patient_id, p.given_name, p.family_name, p.mrn, w.notify_email AS email, w.type_id, \
     t.name AS type_name, w.location_id, l.name AS location, w.staff_id, s.display_name AS practitioner, \
     w.from_date, w.until_date, w.state, w.appointment_id, w.created_at FROM waitlist_entries w \
     JOIN patients p ON p.tenant_id = w.tenant_id AND p.id = w.patient_id \
     JOIN appointment_types t ON t.tenant_id = w.tenant_id AND t.id = w.type_id \
     JOIN locations l ON l.tenant_id = w.tenant_id AND l.id = w.location_id \
     LEFT JOIN staff_members s ON s.tenant_id = w.tenant_id AND s.id = w.staff_id";

pub async fn entry(tx: &mut TenantTx, id: Uuid) -> Result<Option<Entry>, DbError> {
    tx.fetch_optional(
        &format!("{SELECT_ENTRIES} WHERE w.tenant_id = $1 AND w.id = $2"),
        &[id.into()],
    )
    .await
}

/// The entries still waiting or offered, and those closed since `since`, in
/// the order they joined.
pub async fn list(tx: &mut TenantTx, since: DateTime<Utc>) -> Result<Vec<Entry>, DbError> {
    tx.fetch_all(
        &format!(
            "{SELECT_ENTRIES} WHERE w.tenant_id = $1 AND (w.state IN ('waiting', 'offered') OR w.updated_at >= $2) \
             ORDER BY w.created_at, w.id LIMIT 500"
        ),
        &[since.into()],
    )
    .await
}

/// A patient's own entries (the portal), newest first.
pub async fn of_patient(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Entry>, DbError> {
    tx.fetch_all(
        &format!(
            "{SELECT_ENTRIES} WHERE w.tenant_id = $1 AND w.patient_id = $2 ORDER BY w.created_at DESC LIMIT 50"
        ),
        &[patient.into()],
    )
    .await
}

/// Whether the patient already waits for this type at this location.
pub async fn already_waiting(tx: &mut TenantTx, e: &NewEntry) -> Result<bool, DbError> {
    let row: Option<(i32,)> = tx
        .fetch_optional(
            "SELECT 1 FROM waitlist_entries WHERE tenant_id = $1 AND patient_id = $2 AND type_id = $3 \
             AND location_id = $4 AND state IN ('waiting', 'offered') AND until_date >= $5",
            &[e.patient.into(), e.type_id.into(), e.location.into(), e.from.into()],
        )
        .await?;
    Ok(row.is_some())
}

pub async fn set_entry(
    tx: &mut TenantTx,
    id: Uuid,
    state: EntryState,
    appointment: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE waitlist_entries SET state = $3, appointment_id = $4, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            state.as_str().into(),
            appointment.into(),
            now.into(),
        ],
    )
    .await
}

/// Entries waiting (with an email to be told at) for time of `staff` at
/// `location` on `day`, in the order they joined.
pub async fn waiting_for(
    tx: &mut TenantTx,
    location: Uuid,
    staff: Uuid,
    day: NaiveDate,
) -> Result<Vec<Entry>, DbError> {
    tx.fetch_all(
        &format!(
            "{SELECT_ENTRIES} WHERE w.tenant_id = $1 AND w.state = 'waiting' AND w.location_id = $2 \
             AND (w.staff_id IS NULL OR w.staff_id = $3) AND w.from_date <= $4 AND w.until_date >= $4 \
             AND p.archived_at IS NULL ORDER BY w.created_at, w.id LIMIT 200"
        ),
        &[location.into(), staff.into(), day.into()],
    )
    .await
}

/// Whether `entry` was ever offered `staff`'s time at `starts_at`.
pub async fn was_offered(
    tx: &mut TenantTx,
    entry: Uuid,
    staff: Uuid,
    starts_at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let row: Option<(i32,)> = tx
        .fetch_optional(
            "SELECT 1 FROM waitlist_offers WHERE tenant_id = $1 AND entry_id = $2 AND staff_id = $3 \
             AND starts_at = $4",
            &[entry.into(), staff.into(), starts_at.into()],
        )
        .await?;
    Ok(row.is_some())
}

/// One offer of a time to an entry.
pub struct NewOffer<'a> {
    pub entry: Uuid,
    pub staff: Uuid,
    pub starts_at: DateTime<Utc>,
    pub occupied: (DateTime<Utc>, DateTime<Utc>),
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_offer(
    tx: &mut TenantTx,
    o: &NewOffer<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute_one(
        "INSERT INTO waitlist_offers (tenant_id, id, entry_id, staff_id, starts_at, occupied_from, occupied_until, \
         token_hash, state, offered_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10)",
        &[
            id.into(),
            o.entry.into(),
            o.staff.into(),
            o.starts_at.into(),
            o.occupied.0.into(),
            o.occupied.1.into(),
            o.token_hash.into(),
            now.into(),
            o.expires_at.into(),
        ],
    )
    .await?;
    Ok(id)
}

/// An offer, with what it offers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Offer {
    pub id: Uuid,
    pub entry_id: Uuid,
    pub staff_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub patient_id: Uuid,
    pub type_id: Uuid,
    pub location_id: Uuid,
    pub appointment_id: Option<Uuid>,
}

impl Offer {
    pub fn state(&self) -> OfferState {
        self.state.parse().unwrap_or(OfferState::Expired)
    }
}

const SELECT_OFFERS: &str =
    "SELECT o.id, o.entry_id, o.staff_id, o.starts_at, o.state, o.expires_at, \
     w.patient_id, w.type_id, w.location_id, w.appointment_id FROM waitlist_offers o \
     JOIN waitlist_entries w ON w.tenant_id = o.tenant_id AND w.id = o.entry_id";

pub async fn offer_by_token(tx: &mut TenantTx, token_hash: &str) -> Result<Option<Offer>, DbError> {
    tx.fetch_optional(
        &format!("{SELECT_OFFERS} WHERE o.tenant_id = $1 AND o.token_hash = $2"),
        &[token_hash.into()],
    )
    .await
}

/// The open offers of `staff`'s time at `starts_at`.
pub async fn open_offers_of(
    tx: &mut TenantTx,
    staff: Uuid,
    starts_at: DateTime<Utc>,
) -> Result<Vec<Offer>, DbError> {
    tx.fetch_all(
        &format!(
            "{SELECT_OFFERS} WHERE o.tenant_id = $1 AND o.staff_id = $2 AND o.starts_at = $3 AND o.state = 'open'"
        ),
        &[staff.into(), starts_at.into()],
    )
    .await
}

/// The open offers of an entry.
pub async fn open_offers_of_entry(tx: &mut TenantTx, entry: Uuid) -> Result<Vec<Offer>, DbError> {
    tx.fetch_all(
        &format!("{SELECT_OFFERS} WHERE o.tenant_id = $1 AND o.entry_id = $2 AND o.state = 'open'"),
        &[entry.into()],
    )
    .await
}

pub async fn set_offer(
    tx: &mut TenantTx,
    id: Uuid,
    state: OfferState,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE waitlist_offers SET state = $3, answered_at = $4 WHERE tenant_id = $1 AND id = $2",
        &[id.into(), state.as_str().into(), now.into()],
    )
    .await
}

/// How long the clinic's offers hold their time, in minutes.
pub async fn offer_minutes(tx: &mut TenantTx) -> Result<i32, DbError> {
    let row: Option<(i32,)> = tx
        .fetch_optional(
            "SELECT waitlist_offer_minutes FROM scheduling_settings WHERE tenant_id = $1",
            &[],
        )
        .await?;
    Ok(row.map_or(DEFAULT_OFFER_MINUTES, |r| r.0))
}

pub async fn set_offer_minutes(tx: &mut TenantTx, minutes: i32) -> Result<(), DbError> {
    // The settings row exists once the clinic's rules are saved (defaults otherwise).
    let rules = crate::scheduling::db::rules(tx).await?;
    crate::scheduling::db::save_rules(tx, &rules).await?;
    tx.execute_one(
        "UPDATE scheduling_settings SET waitlist_offer_minutes = $2 WHERE tenant_id = $1",
        &[minutes.into()],
    )
    .await
}

/// The retention purge and erasure: a record's waitlist entries and offers.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM waitlist_offers WHERE tenant_id = $1 AND entry_id IN \
         (SELECT id FROM waitlist_entries WHERE tenant_id = $1 AND patient_id = $2)",
        &[patient.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM waitlist_entries WHERE tenant_id = $1 AND patient_id = $2",
        &[patient.into()],
    )
    .await?;
    Ok(())
}

//! Online booking requests and held times, always through a [`TenantTx`].

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::db::{DbError, TenantTx};
use crate::patients::NewPatient;

/// A request waiting for its emailed code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub id: Uuid,
    pub type_id: Uuid,
    pub staff_id: Uuid,
    pub location_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub email: String,
    pub phone: Option<String>,
    pub code_hash: String,
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
}

/// The time a request asks for.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    pub type_id: Uuid,
    pub staff_id: Uuid,
    pub location_id: Uuid,
    pub starts_at: DateTime<Utc>,
}

/// Unconfirmed requests are kept a day past their expiry (so a late code is
/// told it expired), then dropped with what was typed in them.
const KEPT_AFTER_EXPIRY: Duration = Duration::days(1);

/// Drops stale requests, and `email`'s own pending ones (a visitor who picks
/// again releases the time they held).
pub async fn clear_stale(
    tx: &mut TenantTx,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM online_bookings WHERE tenant_id = $1 AND confirmed_at IS NULL \
         AND (expires_at < $2 OR email = $3)",
        &[(now - KEPT_AFTER_EXPIRY).into(), email.into()],
    )
    .await?;
    Ok(())
}

/// Records a request for `pick` with what was typed; the code is stored hashed.
pub async fn insert_request(
    tx: &mut TenantTx,
    id: Uuid,
    pick: &Pick,
    who: &NewPatient,
    code_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO online_bookings (tenant_id, id, type_id, staff_id, location_id, starts_at, given_name, \
         family_name, birth_date, sex, email, phone, code_hash, attempts, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15)",
        &[
            id.into(),
            pick.type_id.into(),
            pick.staff_id.into(),
            pick.location_id.into(),
            pick.starts_at.into(),
            who.given_name.as_str().into(),
            who.family_name.as_str().into(),
            who.birth_date.into(),
            who.sex.as_str().into(),
            who.email.as_deref().into(),
            who.phone.as_deref().into(),
            code_hash.into(),
            expires_at.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Holds the time of request `request` until `until`. A time someone else
/// holds is refused by the database ([`is_held`]).
pub async fn hold(
    tx: &mut TenantTx,
    request: Uuid,
    staff: Uuid,
    starts_at: DateTime<Utc>,
    occupied: (DateTime<Utc>, DateTime<Utc>),
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    // A lapsed hold of that time gives way.
    tx.execute(
        "DELETE FROM slot_holds WHERE tenant_id = $1 AND staff_id = $2 AND starts_at = $3 AND held_until <= $4",
        &[staff.into(), starts_at.into(), now.into()],
    )
    .await?;
    tx.execute(
        "INSERT INTO slot_holds (tenant_id, request_id, staff_id, starts_at, occupied_from, occupied_until, \
         held_until) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            request.into(),
            staff.into(),
            starts_at.into(),
            occupied.0.into(),
            occupied.1.into(),
            until.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Whether the database refused a hold because the time is held already.
pub fn is_held(e: &DbError) -> bool {
    matches!(e, DbError::Sqlx(sqlx::Error::Database(d)) if d.is_unique_violation())
}

pub async fn release(tx: &mut TenantTx, request: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM slot_holds WHERE tenant_id = $1 AND request_id = $2",
        &[request.into()],
    )
    .await?;
    Ok(())
}

pub async fn pending(tx: &mut TenantTx, id: Uuid) -> Result<Option<Pending>, DbError> {
    tx.fetch_optional(
        "SELECT id, type_id, staff_id, location_id, starts_at, given_name, family_name, birth_date, sex, email, \
         phone, code_hash, attempts, expires_at FROM online_bookings \
         WHERE tenant_id = $1 AND id = $2 AND confirmed_at IS NULL",
        &[id.into()],
    )
    .await
}

/// Counts a wrong code; answers the tries used.
pub async fn count_attempt(tx: &mut TenantTx, id: Uuid) -> Result<i32, DbError> {
    let (n,): (i32,) = tx
        .fetch_one(
            "UPDATE online_bookings SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2 \
             AND confirmed_at IS NULL RETURNING attempts",
            &[id.into()],
        )
        .await?;
    Ok(n)
}

pub async fn drop_request(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM online_bookings WHERE tenant_id = $1 AND id = $2 AND confirmed_at IS NULL",
        &[id.into()],
    )
    .await?;
    Ok(())
}

/// Marks the request booked: it keeps the appointment and the hashed link, and
/// forgets what was typed (it is the patient's record now).
pub async fn confirm(
    tx: &mut TenantTx,
    id: Uuid,
    appointment: Uuid,
    manage_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE online_bookings SET confirmed_at = $3, appointment_id = $4, manage_hash = $5, given_name = NULL, \
         family_name = NULL, birth_date = NULL, sex = NULL, email = NULL, phone = NULL \
         WHERE tenant_id = $1 AND id = $2 AND confirmed_at IS NULL",
        &[id.into(), now.into(), appointment.into(), manage_hash.into()],
    )
    .await
}

/// The appointment a "manage your booking" link stands for.
pub async fn appointment_of_link(
    tx: &mut TenantTx,
    manage_hash: &str,
) -> Result<Option<Uuid>, DbError> {
    let found: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT appointment_id FROM online_bookings WHERE tenant_id = $1 AND manage_hash = $2",
            &[manage_hash.into()],
        )
        .await?;
    Ok(found.map(|r| r.0))
}

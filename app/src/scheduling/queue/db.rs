//! The queue's rows, always through a [`TenantTx`].

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{Entry, Line, QueueState, DEFAULT_CONSULTATION_MINUTES};
use crate::db::{DbError, TenantTx};
use crate::identity::secrets;

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    staff_id: Uuid,
    token: i32,
    patient_id: Uuid,
    given_name: String,
    family_name: String,
    mrn: String,
    appointment_id: Option<Uuid>,
    booked_at: Option<DateTime<Utc>>,
    state: String,
    skips: i32,
    line_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl EntryRow {
    fn entry(self) -> Result<Entry, DbError> {
        Ok(Entry {
            id: self.id,
            staff_id: self.staff_id,
            token: self.token,
            patient_id: self.patient_id,
            patient_name: format!("{} {}", self.given_name, self.family_name),
            mrn: self.mrn,
            appointment_id: self.appointment_id,
            booked_at: self.booked_at,
            state: self
                .state
                .parse()
                .map_err(|_| DbError::Corrupt(format!("queue state {}", self.state)))?,
            skips: self.skips,
            line_at: self.line_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

const SELECT_ENTRIES: &str =
    "SELECT q.id, q.staff_id, q.token, q.patient_id, p.given_name, p.family_name, \
     p.mrn, q.appointment_id, a.starts_at AS booked_at, q.state, q.skips, q.line_at, q.started_at, \
     q.finished_at FROM queue_entries q \
     JOIN patients p ON p.tenant_id = q.tenant_id AND p.id = q.patient_id \
     LEFT JOIN appointments a ON a.tenant_id = q.tenant_id AND a.id = q.appointment_id";

/// The entry with this id.
pub async fn entry(tx: &mut TenantTx, id: Uuid) -> Result<Option<Entry>, DbError> {
    let row: Option<EntryRow> = tx
        .fetch_optional(
            &format!("{SELECT_ENTRIES} WHERE q.tenant_id = $1 AND q.id = $2"),
            &[id.into()],
        )
        .await?;
    row.map(EntryRow::entry).transpose()
}

/// The live entry of `patient` in `staff`'s line on `date`, if any.
pub async fn live_token(
    tx: &mut TenantTx,
    staff: Uuid,
    patient: Uuid,
    date: NaiveDate,
) -> Result<Option<i32>, DbError> {
    let row: Option<(i32,)> = tx
        .fetch_optional(
            "SELECT token FROM queue_entries WHERE tenant_id = $1 AND staff_id = $2 AND patient_id = $3 \
             AND session_date = $4 AND state IN ('waiting', 'called', 'in_consultation')",
            &[staff.into(), patient.into(), date.into()],
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// Makes other desks wait to give `staff` a token until this transaction ends
/// (SQLite's writers already wait for each other), so the next token is never
/// taken twice; the token's unique index is the backstop.
pub async fn lock_line(tx: &mut TenantTx, staff: Uuid) -> Result<(), DbError> {
    if tx.backend() == crate::db::Backend::Postgres {
        tx.fetch_optional::<(i32,)>(
            "SELECT 1 FROM practitioners WHERE tenant_id = $1 AND staff_id = $2 FOR UPDATE",
            &[staff.into()],
        )
        .await?;
    }
    Ok(())
}

/// A new entry with the next token of `staff`'s day (after [`lock_line`]);
/// answers the token.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut TenantTx,
    staff: Uuid,
    date: NaiveDate,
    patient: Uuid,
    appointment: Option<Uuid>,
    line_at: DateTime<Utc>,
    now: DateTime<Utc>,
    by: Option<Uuid>,
) -> Result<i32, DbError> {
    let row: (i32,) = tx
        .fetch_one(
            "INSERT INTO queue_entries (tenant_id, id, staff_id, session_date, token, patient_id, \
             appointment_id, state, skips, line_at, joined_at, updated_at, created_by) \
             SELECT $1, $2, $3, $4, CAST(COALESCE(MAX(token), 0) + 1 AS INTEGER), $5, $6, 'waiting', 0, \
             $7, $8, $8, $9 FROM queue_entries WHERE tenant_id = $1 AND staff_id = $3 AND session_date = $4 \
             RETURNING token",
            &[
                Uuid::now_v7().into(),
                staff.into(),
                date.into(),
                patient.into(),
                appointment.into(),
                line_at.into(),
                now.into(),
                by.into(),
            ],
        )
        .await
        .map_err(|e| match e {
            DbError::Sqlx(e) => DbError::conflict_on("token")(e),
            e => e,
        })?;
    Ok(row.0)
}

/// The entry an appointment made, if it has one.
pub async fn of_appointment(
    tx: &mut TenantTx,
    appointment: Uuid,
) -> Result<Option<Entry>, DbError> {
    let row: Option<EntryRow> = tx
        .fetch_optional(
            &format!("{SELECT_ENTRIES} WHERE q.tenant_id = $1 AND q.appointment_id = $2"),
            &[appointment.into()],
        )
        .await?;
    row.map(EntryRow::entry).transpose()
}

/// Moves an entry to `state` with `skips`, stamping the times that state
/// implies; `line_at` moves it in the line when given.
pub async fn set(
    tx: &mut TenantTx,
    id: Uuid,
    state: QueueState,
    skips: i32,
    line_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let finished = matches!(
        state,
        QueueState::Done | QueueState::NoShow | QueueState::Left
    );
    tx.execute_one(
        "UPDATE queue_entries SET state = $3, skips = $4, line_at = COALESCE($5, line_at), \
         called_at = CASE WHEN $3 = 'called' THEN $6 ELSE called_at END, \
         started_at = CASE WHEN $3 = 'in_consultation' THEN $6 WHEN $3 = 'waiting' THEN NULL \
         ELSE started_at END, \
         finished_at = CASE WHEN $7 THEN $6 ELSE NULL END, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            state.as_str().into(),
            skips.into(),
            line_at.into(),
            now.into(),
            finished.into(),
        ],
    )
    .await
}

#[derive(sqlx::FromRow)]
struct PractitionerName {
    staff_id: Uuid,
    name: String,
}

#[derive(sqlx::FromRow)]
struct Average {
    staff_id: Uuid,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
}

/// Every active practitioner's line on `date` (those in `only`, when given),
/// each in order.
pub async fn day(
    tx: &mut TenantTx,
    date: NaiveDate,
    only: Option<Uuid>,
) -> Result<Vec<Line>, DbError> {
    let names: Vec<PractitionerName> = tx
        .fetch_all(
            "SELECT p.staff_id, s.display_name AS name FROM practitioners p \
             JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.staff_id \
             WHERE p.tenant_id = $1 AND p.active AND s.status = 'active' ORDER BY lower(s.display_name)",
            &[],
        )
        .await?;
    let rows: Vec<EntryRow> = tx
        .fetch_all(
            &format!("{SELECT_ENTRIES} WHERE q.tenant_id = $1 AND q.session_date = $2"),
            &[date.into()],
        )
        .await?;
    let finished: Vec<Average> = tx
        .fetch_all(
            "SELECT staff_id, started_at, finished_at FROM queue_entries WHERE tenant_id = $1 \
             AND session_date = $2 AND state = 'done' AND started_at IS NOT NULL",
            &[date.into()],
        )
        .await?;
    let mut entries = rows
        .into_iter()
        .map(EntryRow::entry)
        .collect::<Result<Vec<_>, _>>()?;
    let mut lines = Vec::new();
    for p in names
        .into_iter()
        .filter(|p| only.is_none_or(|o| o == p.staff_id))
    {
        let (mine, rest): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.staff_id == p.staff_id);
        entries = rest;
        let lengths: Vec<i64> = finished
            .iter()
            .filter(|f| f.staff_id == p.staff_id)
            .map(|f| (f.finished_at - f.started_at).num_minutes().max(1))
            .collect();
        let average_minutes = if lengths.is_empty() {
            DEFAULT_CONSULTATION_MINUTES
        } else {
            lengths.iter().sum::<i64>() / i64::try_from(lengths.len()).unwrap_or(1)
        };
        let mut line = Line {
            staff_id: p.staff_id,
            practitioner: p.name,
            entries: mine,
            average_minutes,
        };
        line.sort();
        lines.push(line);
    }
    Ok(lines)
}

/// A fingerprint of `date`'s queue: it changes whenever an entry does, so
/// the waiting-room screen is sent a new board only then.
pub async fn revision(tx: &mut TenantTx, date: NaiveDate) -> Result<String, DbError> {
    let row: (i64, Option<DateTime<Utc>>) = tx
        .fetch_one(
            "SELECT COUNT(*), MAX(updated_at) FROM queue_entries WHERE tenant_id = $1 AND session_date = $2",
            &[date.into()],
        )
        .await?;
    Ok(format!(
        "{}-{}",
        row.0,
        row.1.map_or(0, |t| t.timestamp_micros())
    ))
}

/// The retention purge and erasure: a record's queue entries.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM queue_entries WHERE tenant_id = $1 AND patient_id = $2",
        &[patient.into()],
    )
    .await?;
    Ok(())
}

/// When the waiting-room screen's link was made, if there is one.
pub async fn board_made_at(tx: &mut TenantTx) -> Result<Option<DateTime<Utc>>, DbError> {
    let row: Option<(DateTime<Utc>,)> = tx
        .fetch_optional(
            "SELECT created_at FROM queue_boards WHERE tenant_id = $1",
            &[],
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// A new secret for the screen's link (the old link stops working).
pub async fn renew_board(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<String, DbError> {
    let (token, hash) = secrets::new_token();
    tx.execute(
        "INSERT INTO queue_boards (tenant_id, token_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET token_hash = excluded.token_hash, \
         created_at = excluded.created_at",
        &[hash.as_str().into(), now.into()],
    )
    .await?;
    Ok(token)
}

/// Turns the screen's link off; answers whether it was on.
pub async fn revoke_board(tx: &mut TenantTx) -> Result<bool, DbError> {
    Ok(tx
        .execute("DELETE FROM queue_boards WHERE tenant_id = $1", &[])
        .await?
        > 0)
}

/// Whether `token` opens this clinic's screen.
pub async fn is_board(tx: &mut TenantTx, token: &str) -> Result<bool, DbError> {
    let row: Option<(i32,)> = tx
        .fetch_optional(
            "SELECT 1 FROM queue_boards WHERE tenant_id = $1 AND token_hash = $2",
            &[secrets::digest(token).as_str().into()],
        )
        .await?;
    Ok(row.is_some())
}

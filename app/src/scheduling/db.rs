//! Scheduling queries. Every one takes a [`TenantTx`]. Appointments are never
//! deleted outside the retention purge; their history is written once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::slots::{
    self, BlockKind, Busy, DayOverride, Group, Opening, Schedule, Span, WeeklyBlock,
};
use super::{AppointmentStatus, Location};
use crate::db::{DbError, TenantTx};

// ---------------------------------------------------------------- settings --

/// The clinic's booking rules.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rules {
    pub min_notice_min: i32,
    pub max_days_ahead: i32,
    pub same_day_online: bool,
    pub overbooking: bool,
    pub hold_minutes: i32,
    pub public_booking: bool,
    pub see_all_calendars: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            min_notice_min: 60,
            max_days_ahead: 90,
            same_day_online: true,
            overbooking: false,
            hold_minutes: 10,
            public_booking: false,
            see_all_calendars: true,
        }
    }
}

pub async fn rules(tx: &mut TenantTx) -> Result<Rules, DbError> {
    Ok(tx
        .fetch_optional(
            "SELECT min_notice_min, max_days_ahead, same_day_online, overbooking, hold_minutes, \
             public_booking, see_all_calendars FROM scheduling_settings WHERE tenant_id = $1",
            &[],
        )
        .await?
        .unwrap_or_default())
}

pub async fn save_rules(tx: &mut TenantTx, r: &Rules) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO scheduling_settings (tenant_id, min_notice_min, max_days_ahead, same_day_online, \
         overbooking, hold_minutes, public_booking, see_all_calendars) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id) DO UPDATE SET min_notice_min = excluded.min_notice_min, \
         max_days_ahead = excluded.max_days_ahead, same_day_online = excluded.same_day_online, \
         overbooking = excluded.overbooking, hold_minutes = excluded.hold_minutes, \
         public_booking = excluded.public_booking, see_all_calendars = excluded.see_all_calendars",
        &[
            r.min_notice_min.into(),
            r.max_days_ahead.into(),
            r.same_day_online.into(),
            r.overbooking.into(),
            r.hold_minutes.into(),
            r.public_booking.into(),
            r.see_all_calendars.into(),
        ],
    )
    .await
    .map(drop)
}

// --------------------------------------------------------------- locations --

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LocationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub address: Option<String>,
    pub time_zone: String,
    pub active: bool,
}

impl LocationRow {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn view(&self) -> Location {
        Location {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            address: self.address.clone(),
            time_zone: self.time_zone.clone(),
            active: self.active,
        }
    }
}

pub async fn locations(tx: &mut TenantTx) -> Result<Vec<LocationRow>, DbError> {
    tx.fetch_all(
        "SELECT id, name, kind, address, time_zone, active FROM locations WHERE tenant_id = $1 \
         ORDER BY active DESC, lower(name)",
        &[],
    )
    .await
}

/// The address a clinic's printed papers carry: that of its first active
/// clinic location with one (else a hospital's, else any active location's).
pub async fn letterhead_address(tx: &mut TenantTx) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = tx
        .fetch_optional(
            "SELECT address FROM locations WHERE tenant_id = $1 AND active \
             AND address IS NOT NULL AND address <> '' \
             ORDER BY CASE kind WHEN 'clinic' THEN 0 WHEN 'hospital' THEN 1 ELSE 2 END, created_at, id \
             LIMIT 1",
            &[],
        )
        .await?;
    Ok(row.map(|(a,)| a))
}

pub async fn location(tx: &mut TenantTx, id: Uuid) -> Result<Option<LocationRow>, DbError> {
    tx.fetch_optional(
        "SELECT id, name, kind, address, time_zone, active FROM locations WHERE tenant_id = $1 AND id = $2",
        &[id.into()],
    )
    .await
}

pub struct NewLocation<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub address: Option<&'a str>,
    pub time_zone: &'a str,
}

pub async fn add_location(tx: &mut TenantTx, l: &NewLocation<'_>) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO locations (tenant_id, id, name, kind, address, time_zone, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            id.into(),
            l.name.into(),
            l.kind.into(),
            l.address.into(),
            l.time_zone.into(),
            true.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(unique("location name"))?;
    Ok(id)
}

pub async fn set_location_active(tx: &mut TenantTx, id: Uuid, active: bool) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE locations SET active = $3 WHERE tenant_id = $1 AND id = $2",
        &[id.into(), active.into()],
    )
    .await
}

/// A unique violation as [`DbError::Conflict`], anything else unchanged.
fn unique(what: &'static str) -> impl Fn(DbError) -> DbError {
    move |e| match e {
        DbError::Sqlx(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            DbError::Conflict(what)
        }
        other => other,
    }
}

// ----------------------------------------------------------- practitioners --

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PractitionerRow {
    pub staff_id: Uuid,
    pub name: String,
    pub role: String,
    pub specialty: Option<String>,
    pub bio: Option<String>,
    pub fee_minor: i64,
    pub currency: String,
    pub bookable_online: bool,
    pub active: bool,
}

pub async fn practitioners(tx: &mut TenantTx) -> Result<Vec<PractitionerRow>, DbError> {
    tx.fetch_all(
        "SELECT p.staff_id, s.display_name AS name, s.role, p.specialty, p.bio, p.fee_minor, p.currency, \
         p.bookable_online, (p.active AND s.status = 'active') AS active \
         FROM practitioners p JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.staff_id \
         WHERE p.tenant_id = $1 ORDER BY lower(s.display_name)",
        &[],
    )
    .await
}

pub struct ProfileInput<'a> {
    pub staff_id: Uuid,
    pub specialty: Option<&'a str>,
    pub bio: Option<&'a str>,
    pub fee_minor: i64,
    pub currency: &'a str,
    pub bookable_online: bool,
    pub active: bool,
}

pub async fn save_practitioner(tx: &mut TenantTx, p: &ProfileInput<'_>) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO practitioners (tenant_id, staff_id, specialty, bio, fee_minor, currency, bookable_online, active) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, staff_id) DO UPDATE SET \
         specialty = excluded.specialty, bio = excluded.bio, fee_minor = excluded.fee_minor, \
         currency = excluded.currency, bookable_online = excluded.bookable_online, active = excluded.active",
        &[
            p.staff_id.into(),
            p.specialty.into(),
            p.bio.into(),
            p.fee_minor.into(),
            p.currency.into(),
            p.bookable_online.into(),
            p.active.into(),
        ],
    )
    .await
    .map(drop)
}

// ------------------------------------------------------- appointment types --

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TypeRow {
    pub id: Uuid,
    pub name: String,
    pub duration_min: i32,
    pub buffer_before_min: i32,
    pub buffer_after_min: i32,
    pub price_minor: i64,
    pub currency: String,
    pub capacity: i32,
    pub colour: String,
    pub online_bookable: bool,
    pub active: bool,
    /// The catalog service a visit of this type is billed as.
    pub service_id: Option<Uuid>,
}

const TYPE_COLUMNS: &str =
    "id, name, duration_min, buffer_before_min, buffer_after_min, price_minor, \
     currency, capacity, colour, online_bookable, active, service_id";

pub async fn types(tx: &mut TenantTx) -> Result<Vec<super::AppointmentType>, DbError> {
    let rows: Vec<TypeRow> = tx
        .fetch_all(
            &format!(
                "SELECT {TYPE_COLUMNS} FROM appointment_types WHERE tenant_id = $1 ORDER BY active DESC, lower(name)"
            ),
            &[],
        )
        .await?;
    let staff: Vec<(Uuid, Uuid)> = tx
        .fetch_all(
            "SELECT type_id, staff_id FROM appointment_type_practitioners WHERE tenant_id = $1",
            &[],
        )
        .await?;
    let places: Vec<(Uuid, Uuid)> = tx
        .fetch_all(
            "SELECT type_id, location_id FROM appointment_type_locations WHERE tenant_id = $1",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| super::AppointmentType {
            practitioners: staff
                .iter()
                .filter(|(ty, _)| *ty == t.id)
                .map(|(_, s)| *s)
                .collect(),
            locations: places
                .iter()
                .filter(|(ty, _)| *ty == t.id)
                .map(|(_, l)| *l)
                .collect(),
            id: t.id,
            name: t.name,
            duration_min: u32::try_from(t.duration_min).unwrap_or(0),
            buffer_before_min: u32::try_from(t.buffer_before_min).unwrap_or(0),
            buffer_after_min: u32::try_from(t.buffer_after_min).unwrap_or(0),
            price_minor: t.price_minor,
            currency: t.currency,
            capacity: u32::try_from(t.capacity).unwrap_or(1),
            colour: t.colour,
            online_bookable: t.online_bookable,
            active: t.active,
            service_id: t.service_id,
        })
        .collect())
}

pub async fn appointment_type(tx: &mut TenantTx, id: Uuid) -> Result<Option<TypeRow>, DbError> {
    tx.fetch_optional(
        &format!("SELECT {TYPE_COLUMNS} FROM appointment_types WHERE tenant_id = $1 AND id = $2"),
        &[id.into()],
    )
    .await
}

pub struct TypeInput<'a> {
    pub name: &'a str,
    pub duration_min: i64,
    pub buffer_before_min: i64,
    pub buffer_after_min: i64,
    pub price_minor: i64,
    pub currency: &'a str,
    pub capacity: i64,
    pub colour: &'a str,
    pub online_bookable: bool,
    pub service_id: Option<Uuid>,
    pub practitioners: &'a [Uuid],
    pub locations: &'a [Uuid],
}

/// Adds a type (`id` None) or changes one, with who and where offer it.
pub async fn save_type(
    tx: &mut TenantTx,
    id: Option<Uuid>,
    t: &TypeInput<'_>,
) -> Result<Uuid, DbError> {
    let id = match id {
        Some(id) => {
            tx.execute_one(
                "UPDATE appointment_types SET name = $3, duration_min = $4, buffer_before_min = $5, \
                 buffer_after_min = $6, price_minor = $7, currency = $8, capacity = $9, colour = $10, \
                 online_bookable = $11, service_id = $12 WHERE tenant_id = $1 AND id = $2",
                &[
                    id.into(),
                    t.name.into(),
                    t.duration_min.into(),
                    t.buffer_before_min.into(),
                    t.buffer_after_min.into(),
                    t.price_minor.into(),
                    t.currency.into(),
                    t.capacity.into(),
                    t.colour.into(),
                    t.online_bookable.into(),
                    t.service_id.into(),
                ],
            )
            .await
            .map_err(unique("appointment type name"))?;
            id
        }
        None => {
            let id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO appointment_types (tenant_id, id, name, duration_min, buffer_before_min, \
                 buffer_after_min, price_minor, currency, capacity, colour, online_bookable, active, created_at, \
                 service_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                &[
                    id.into(),
                    t.name.into(),
                    t.duration_min.into(),
                    t.buffer_before_min.into(),
                    t.buffer_after_min.into(),
                    t.price_minor.into(),
                    t.currency.into(),
                    t.capacity.into(),
                    t.colour.into(),
                    t.online_bookable.into(),
                    true.into(),
                    Utc::now().into(),
                    t.service_id.into(),
                ],
            )
            .await
            .map_err(unique("appointment type name"))?;
            id
        }
    };
    tx.execute(
        "DELETE FROM appointment_type_practitioners WHERE tenant_id = $1 AND type_id = $2",
        &[id.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM appointment_type_locations WHERE tenant_id = $1 AND type_id = $2",
        &[id.into()],
    )
    .await?;
    for staff in t.practitioners {
        tx.execute(
            "INSERT INTO appointment_type_practitioners (tenant_id, type_id, staff_id) VALUES ($1, $2, $3)",
            &[id.into(), (*staff).into()],
        )
        .await?;
    }
    for location in t.locations {
        tx.execute(
            "INSERT INTO appointment_type_locations (tenant_id, type_id, location_id) VALUES ($1, $2, $3)",
            &[id.into(), (*location).into()],
        )
        .await?;
    }
    Ok(id)
}

pub async fn set_type_active(tx: &mut TenantTx, id: Uuid, active: bool) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE appointment_types SET active = $3 WHERE tenant_id = $1 AND id = $2",
        &[id.into(), active.into()],
    )
    .await
}

// ------------------------------------------------------------------- hours --

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlockRow {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub location_id: Uuid,
    pub time_zone: String,
    pub kind: String,
    pub weekday: i32,
    pub start_min: i32,
    pub end_min: i32,
    pub every_weeks: i32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

pub struct NewBlock {
    pub staff_id: Uuid,
    pub location_id: Uuid,
    pub kind: &'static str,
    pub weekday: i64,
    pub start_min: i64,
    pub end_min: i64,
    pub every_weeks: i64,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

pub async fn add_block(tx: &mut TenantTx, b: &NewBlock) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO availability_blocks (tenant_id, id, staff_id, location_id, kind, weekday, start_min, \
         end_min, every_weeks, valid_from, valid_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            id.into(),
            b.staff_id.into(),
            b.location_id.into(),
            b.kind.into(),
            b.weekday.into(),
            b.start_min.into(),
            b.end_min.into(),
            b.every_weeks.into(),
            b.valid_from.into(),
            b.valid_until.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(id)
}

pub async fn remove_block(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    tx.execute_one(
        "DELETE FROM availability_blocks WHERE tenant_id = $1 AND id = $2",
        &[id.into()],
    )
    .await
}

/// The hours of `staff` only (the engine's read).
async fn blocks_of(tx: &mut TenantTx, staff: &[Uuid]) -> Result<Vec<BlockRow>, DbError> {
    if staff.is_empty() {
        return Ok(Vec::new());
    }
    tx.fetch_all(
        &format!(
            "SELECT b.id, b.staff_id, b.location_id, l.time_zone, b.kind, b.weekday, b.start_min, b.end_min, \
             b.every_weeks, b.valid_from, b.valid_until FROM availability_blocks b \
             JOIN locations l ON l.tenant_id = b.tenant_id AND l.id = b.location_id \
             WHERE b.tenant_id = $1 AND b.staff_id IN ({}) ORDER BY b.staff_id, b.weekday, b.start_min",
            placeholders(2, staff.len())
        ),
        &staff_args(staff, Vec::new()),
    )
    .await
}

pub async fn blocks(tx: &mut TenantTx) -> Result<Vec<BlockRow>, DbError> {
    tx.fetch_all(
        "SELECT b.id, b.staff_id, b.location_id, l.time_zone, b.kind, b.weekday, b.start_min, b.end_min, \
         b.every_weeks, b.valid_from, b.valid_until FROM availability_blocks b \
         JOIN locations l ON l.tenant_id = b.tenant_id AND l.id = b.location_id \
         WHERE b.tenant_id = $1 ORDER BY b.staff_id, b.weekday, b.start_min",
        &[],
    )
    .await
}

pub struct NewOverride<'a> {
    pub staff_id: Uuid,
    pub location_id: Option<Uuid>,
    pub on_date: NaiveDate,
    pub open: bool,
    pub start_min: i64,
    pub end_min: i64,
    pub note: Option<&'a str>,
}

pub async fn add_override(tx: &mut TenantTx, o: &NewOverride<'_>) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO availability_overrides (tenant_id, id, staff_id, location_id, on_date, open, start_min, \
         end_min, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            Uuid::now_v7().into(),
            o.staff_id.into(),
            o.location_id.into(),
            o.on_date.into(),
            o.open.into(),
            o.start_min.into(),
            o.end_min.into(),
            o.note.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map(drop)
}

pub async fn add_leave(
    tx: &mut TenantTx,
    staff: Uuid,
    first: NaiveDate,
    last: NaiveDate,
    reason: Option<&str>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO practitioner_leave (tenant_id, id, staff_id, first_day, last_day, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Uuid::now_v7().into(),
            staff.into(),
            first.into(),
            last.into(),
            reason.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map(drop)
}

pub async fn add_holiday(
    tx: &mut TenantTx,
    location: Option<Uuid>,
    on: NaiveDate,
    name: &str,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO clinic_holidays (tenant_id, id, location_id, on_date, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Uuid::now_v7().into(),
            location.into(),
            on.into(),
            name.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map(drop)
}

/// Days off coming up: leave, holidays and one-day changes from `from` on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayOff {
    pub kind: String,
    pub id: Uuid,
    pub staff_id: Option<Uuid>,
    pub location_id: Option<Uuid>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub open: bool,
    pub start_min: i32,
    pub end_min: i32,
    pub note: Option<String>,
}

/// Every day off of the clinic, one shape for the three tables ($1: the tenant).
const DAYS_OFF: &str = "SELECT 'leave' AS kind, id, staff_id, NULL AS location_id, first_day, last_day, \
     false AS open, 0 AS start_min, 1440 AS end_min, reason AS note \
     FROM practitioner_leave WHERE tenant_id = $1 \
     UNION ALL SELECT 'holiday', id, NULL, location_id, on_date, on_date, false, 0, 1440, name \
     FROM clinic_holidays WHERE tenant_id = $1 \
     UNION ALL SELECT 'override', id, staff_id, location_id, on_date, on_date, open, start_min, end_min, note \
     FROM availability_overrides WHERE tenant_id = $1";

pub async fn days_off(tx: &mut TenantTx, from: NaiveDate) -> Result<Vec<DayOff>, DbError> {
    tx.fetch_all(
        &format!(
            "SELECT * FROM ({DAYS_OFF}) d WHERE d.last_day >= $2 ORDER BY d.first_day, d.kind"
        ),
        &[from.into()],
    )
    .await
}

/// Removes a day off; answers what it was (so the time it gives back can be
/// offered).
pub async fn remove_day_off(tx: &mut TenantTx, kind: &str, id: Uuid) -> Result<DayOff, DbError> {
    let table = match kind {
        "leave" => "practitioner_leave",
        "holiday" => "clinic_holidays",
        "override" => "availability_overrides",
        _ => return Err(DbError::NotFound),
    };
    let removed: DayOff = tx
        .fetch_optional(
            &format!("SELECT * FROM ({DAYS_OFF}) d WHERE d.kind = $2 AND d.id = $3"),
            &[kind.into(), id.into()],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    tx.execute_one(
        &format!("DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"),
        &[id.into()],
    )
    .await?;
    Ok(removed)
}

// --------------------------------------------------------- the engine's input --

#[derive(Debug, Clone, sqlx::FromRow)]
struct BusyRow {
    staff_id: Uuid,
    type_id: Uuid,
    /// Read for group sessions only (a single visit's start is not needed,
    /// and reading fewer times matters on SQLite, where each is parsed text).
    starts_at: Option<DateTime<Utc>>,
    occupied_from: DateTime<Utc>,
    occupied_until: DateTime<Utc>,
    capacity: i32,
    occupancy: Uuid,
}

/// Everything the slot engine needs of `staff` between local dates `first` and
/// `last` (in `clinic_tz` for leave): one schedule per practitioner.
pub async fn schedules(
    tx: &mut TenantTx,
    staff: &[Uuid],
    first: NaiveDate,
    last: NaiveDate,
    clinic_tz: Tz,
) -> Result<Vec<(Uuid, Schedule)>, DbError> {
    let mut out: Vec<(Uuid, Schedule)> = staff.iter().map(|s| (*s, Schedule::default())).collect();
    let index = |out: &Vec<(Uuid, Schedule)>, s: Uuid| out.iter().position(|(id, _)| *id == s);
    let (from_day, to_day) = (first - Duration::days(2), last + Duration::days(2));
    for b in blocks_of(tx, staff).await? {
        let Some(i) = index(&out, b.staff_id) else {
            continue;
        };
        out[i].1.blocks.push(WeeklyBlock {
            location: b.location_id,
            tz: b.time_zone.parse().unwrap_or(clinic_tz),
            kind: if b.kind == "rounds" {
                BlockKind::Rounds
            } else {
                BlockKind::Clinic
            },
            weekday: u32::try_from(b.weekday).unwrap_or(0),
            start_min: u32::try_from(b.start_min).unwrap_or(0),
            end_min: u32::try_from(b.end_min).unwrap_or(0),
            every_weeks: u32::try_from(b.every_weeks).unwrap_or(1),
            from: b.valid_from,
            until: b.valid_until,
        });
    }
    let zones: Vec<(Uuid, String)> = tx
        .fetch_all(
            "SELECT id, time_zone FROM locations WHERE tenant_id = $1",
            &[],
        )
        .await?;
    let zone_of = |l: Option<Uuid>| {
        l.and_then(|l| zones.iter().find(|(id, _)| *id == l))
            .and_then(|(_, z)| z.parse().ok())
            .unwrap_or(clinic_tz)
    };
    let overrides: Vec<(Uuid, Option<Uuid>, NaiveDate, bool, i32, i32)> = tx
        .fetch_all(
            "SELECT staff_id, location_id, on_date, open, start_min, end_min FROM availability_overrides \
             WHERE tenant_id = $1 AND on_date BETWEEN $2 AND $3",
            &[from_day.into(), to_day.into()],
        )
        .await?;
    for (staff_id, location, day, open, start, end) in overrides {
        let Some(i) = index(&out, staff_id) else {
            continue;
        };
        out[i].1.overrides.push(DayOverride {
            location,
            tz: zone_of(location),
            day,
            open,
            start_min: u32::try_from(start).unwrap_or(0),
            end_min: u32::try_from(end).unwrap_or(0),
        });
    }
    let leave: Vec<(Uuid, NaiveDate, NaiveDate)> = tx
        .fetch_all(
            "SELECT staff_id, first_day, last_day FROM practitioner_leave \
             WHERE tenant_id = $1 AND last_day >= $2 AND first_day <= $3",
            &[from_day.into(), to_day.into()],
        )
        .await?;
    for (staff_id, first_day, last_day) in leave {
        let Some(i) = index(&out, staff_id) else {
            continue;
        };
        out[i].1.away.push(Span::new(
            slots::instant(clinic_tz, first_day, 0),
            slots::instant(clinic_tz, last_day, 1440),
        ));
    }
    let opening = opening_hours(tx).await?;
    for (_, schedule) in &mut out {
        schedule.opening = opening
            .iter()
            .map(|o| Opening {
                location: o.location_id,
                tz: zone_of(Some(o.location_id)),
                weekday: u32::try_from(o.weekday).unwrap_or(0),
                start_min: u32::try_from(o.start_min).unwrap_or(0),
                end_min: u32::try_from(o.end_min).unwrap_or(0),
            })
            .collect();
    }
    let holidays: Vec<(Option<Uuid>, NaiveDate)> = tx
        .fetch_all(
            "SELECT location_id, on_date FROM clinic_holidays WHERE tenant_id = $1 AND on_date BETWEEN $2 AND $3",
            &[from_day.into(), to_day.into()],
        )
        .await?;
    for (location, day) in holidays {
        // A holiday closes the location's hours that day (or every location's).
        for (_, schedule) in &mut out {
            schedule.overrides.push(DayOverride {
                location,
                tz: zone_of(location),
                day,
                open: false,
                start_min: 0,
                end_min: 1440,
            });
        }
    }
    let from = slots::instant(chrono_tz::UTC, from_day, 0);
    let until = slots::instant(chrono_tz::UTC, to_day, 1440);
    // Everyone's visits, busy time elsewhere and holds in three statements (not
    // three per practitioner: "any practitioner" asks for fifty).
    let mut visits = visits_busy(tx, staff, from, until).await?;
    let elsewhere = busy_elsewhere(tx, staff, from, until).await?;
    let held = held(tx, staff, from, until).await?;
    for (staff_id, schedule) in &mut out {
        schedule.busy = visits.remove(staff_id).unwrap_or_default();
        // Busy at another clinic; held for someone finishing an online booking,
        // or offered to the waitlist, until the hold or the offer ends.
        schedule.busy.extend(
            elsewhere
                .iter()
                .chain(held.iter())
                .filter(|(s, _)| s == staff_id)
                .map(|(_, span)| Busy {
                    span: *span,
                    group: None,
                }),
        );
        schedule.busy.sort_by_key(|b| b.span.start);
    }
    Ok(out)
}

/// `$first, $first+1, …`: one bound placeholder per value (never spliced values).
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement about `staff` between two times: the staff are `$2…` (the
/// list answered), the times `$a` and `$b` just after; nothing when nobody is
/// asked about.
fn window(staff: &[Uuid]) -> Option<(String, usize, usize)> {
    let n = staff.len();
    (n > 0).then(|| (placeholders(2, n), n + 2, n + 3))
}

/// The arguments of a [`window`]: the staff, `from`, `until`, then `more`.
fn window_args<'a>(
    staff: &[Uuid],
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    more: Vec<crate::db::Arg<'a>>,
) -> Vec<crate::db::Arg<'a>> {
    staff_args(
        staff,
        [from.into(), until.into()]
            .into_iter()
            .chain(more)
            .collect(),
    )
}

/// The values of `staff` as arguments, then `more`.
fn staff_args<'a>(staff: &[Uuid], more: Vec<crate::db::Arg<'a>>) -> Vec<crate::db::Arg<'a>> {
    staff.iter().map(|s| (*s).into()).chain(more).collect()
}

/// The busy stretches of the visits of `staff` between `from` and `until`, per
/// practitioner.
///
/// On SQLite every row read costs far more than the query (the driver hands
/// rows over one by one and each time is text to parse): 10,000 visits of a
/// week's "any practitioner" took 40 ms. Single visits are therefore read as one
/// concatenated row per practitioner; group sessions, whose seats are counted,
/// are read row by row as on PostgreSQL.
async fn visits_busy(
    tx: &mut TenantTx,
    staff: &[Uuid],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<HashMap<Uuid, Vec<Busy>>, DbError> {
    let mut out: HashMap<Uuid, Vec<Busy>> = HashMap::new();
    let Some((list, a, b)) = window(staff) else {
        return Ok(out);
    };
    let sqlite = tx.backend() == crate::db::Backend::Sqlite;
    let rows: Vec<BusyRow> = tx
        .fetch_all(
            &format!(
                "SELECT staff_id, type_id, CASE WHEN capacity > 1 THEN starts_at END AS starts_at, occupied_from, \
                 occupied_until, capacity, occupancy \
                 FROM appointments WHERE tenant_id = $1 AND staff_id IN ({list}) AND status <> 'cancelled' \
                 AND occupied_until > ${a} AND occupied_from < ${b}{} ORDER BY occupied_from",
                if sqlite { " AND capacity > 1" } else { "" }
            ),
            &window_args(staff, (from, until), Vec::new()),
        )
        .await?;
    let mut by_staff: HashMap<Uuid, Vec<BusyRow>> = HashMap::new();
    for row in rows {
        by_staff.entry(row.staff_id).or_default().push(row);
    }
    for (staff_id, rows) in by_staff {
        out.insert(staff_id, busy(rows.iter()));
    }
    if sqlite {
        let singles: Vec<(Uuid, String)> = tx
            .fetch_all(
                &format!(
                    "SELECT staff_id, group_concat(occupied_from || '|' || occupied_until, ',') \
                     FROM appointments WHERE tenant_id = $1 AND staff_id IN ({list}) AND status <> 'cancelled' \
                     AND capacity <= 1 AND occupied_until > ${a} AND occupied_from < ${b} GROUP BY staff_id"
                ),
                &window_args(staff, (from, until), Vec::new()),
            )
            .await?;
        for (staff_id, spans) in singles {
            let mine = out.entry(staff_id).or_default();
            for pair in spans.split(',') {
                mine.push(Busy {
                    span: stored_span(pair)?,
                    group: None,
                });
            }
        }
    }
    Ok(out)
}

/// `"<from>|<until>"` as SQLite stores the two times (RFC 3339 text; the
/// zone-less forms sqlx also reads, `2026-12-04 07:00:00`, as UTC).
fn stored_span(pair: &str) -> Result<Span, DbError> {
    let time = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(
                    &text.replacen(' ', "T", 1),
                    "%Y-%m-%dT%H:%M:%S%.f",
                )
                .map(|t| t.and_utc())
            })
            .map_err(|_| DbError::Corrupt(format!("an appointment's time {text:?}")))
    };
    let (start, end) = pair
        .split_once('|')
        .ok_or_else(|| DbError::Corrupt(format!("an appointment's times {pair:?}")))?;
    Ok(Span::new(time(start)?, time(end)?))
}

/// Times of `staff` held for someone finishing an online booking, or offered
/// to the waitlist, that have not run out.
async fn held(
    tx: &mut TenantTx,
    staff: &[Uuid],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(Uuid, Span)>, DbError> {
    let Some((list, a, b)) = window(staff) else {
        return Ok(Vec::new());
    };
    let now = b + 1;
    let rows: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = tx
        .fetch_all(
            &format!(
                "SELECT staff_id, occupied_from, occupied_until FROM slot_holds WHERE tenant_id = $1 \
                 AND staff_id IN ({list}) AND held_until > ${now} AND occupied_until > ${a} AND occupied_from < ${b} \
                 UNION ALL SELECT staff_id, occupied_from, occupied_until FROM waitlist_offers WHERE tenant_id = $1 \
                 AND staff_id IN ({list}) AND state = 'open' AND expires_at > ${now} AND occupied_until > ${a} \
                 AND occupied_from < ${b}"
            ),
            &window_args(staff, (from, until), vec![Utc::now().into()]),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(s, start, end)| (s, Span::new(start, end)))
        .collect())
}

/// When each of `staff` (people who may also work at other clinics) is busy
/// there, between `from` and `until`: start and end only, nothing of the other
/// clinic or its visit. PostgreSQL answers through `busy_elsewhere`, the one
/// way past row-level security to other clinics' rows; SQLite reads the
/// projection. Either way the index skips the person's own clinic.
pub async fn busy_elsewhere(
    tx: &mut TenantTx,
    staff: &[Uuid],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(Uuid, Span)>, DbError> {
    let Some((list, a, b)) = window(staff) else {
        return Ok(Vec::new());
    };
    let sql = match tx.backend() {
        crate::db::Backend::Postgres => {
            let values: Vec<String> = (2..a).map(|i| format!("(${i}::uuid)")).collect();
            format!(
                "SELECT v.staff_id, b.busy_from, b.busy_until FROM (VALUES {}) AS v (staff_id) \
                 CROSS JOIN LATERAL busy_elsewhere($1, v.staff_id, ${a}, ${b}) b",
                values.join(", ")
            )
        }
        crate::db::Backend::Sqlite => {
            let side = |cmp: &str| {
                format!(
                    "SELECT s.id, b.occupied_from, b.occupied_until FROM staff_members s \
                     JOIN account_busy b ON b.account_id = s.account_id AND b.tenant_id {cmp} s.tenant_id \
                     WHERE s.tenant_id = $1 AND s.id IN ({list}) AND b.occupied_until > ${a} AND b.occupied_from < ${b}"
                )
            };
            format!("{} UNION ALL {}", side("<"), side(">"))
        }
    };
    let rows: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = tx
        .fetch_all(&sql, &window_args(staff, (from, until), Vec::new()))
        .await?;
    let mut out: Vec<(Uuid, Span)> = rows
        .into_iter()
        .map(|(s, start, end)| (s, Span::new(start, end)))
        .collect();
    out.sort_by_key(|(_, span)| span.start);
    Ok(out)
}

/// One busy stretch per occupancy: a group session's seats count together.
fn busy<'a>(rows: impl Iterator<Item = &'a BusyRow>) -> Vec<Busy> {
    let mut out: Vec<(Uuid, Busy)> = Vec::new();
    for r in rows {
        if r.capacity > 1 {
            if let Some((_, b)) = out.iter_mut().rev().find(|(o, _)| *o == r.occupancy) {
                if let Some(g) = &mut b.group {
                    g.seats_left = g.seats_left.saturating_sub(1);
                }
                continue;
            }
        }
        let group = r.starts_at.filter(|_| r.capacity > 1).map(|start| Group {
            type_id: r.type_id,
            start,
            seats_left: u32::try_from(r.capacity - 1).unwrap_or(0),
        });
        out.push((
            r.occupancy,
            Busy {
                span: Span::new(r.occupied_from, r.occupied_until),
                group,
            },
        ));
    }
    out.into_iter().map(|(_, b)| b).collect()
}

// ------------------------------------------------------------ appointments --

pub struct NewAppointment<'a> {
    pub id: Uuid,
    pub patient: Uuid,
    pub staff: Uuid,
    pub location: Uuid,
    pub type_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub occupied_from: DateTime<Utc>,
    pub occupied_until: DateTime<Utc>,
    pub occupancy: Uuid,
    pub capacity: i64,
    pub notes: Option<&'a str>,
    pub series: Option<Uuid>,
    pub via: &'static str,
    pub booked_by: Option<Uuid>,
}

impl NewAppointment<'static> {
    /// A visit of one place without buffers, booked at the desk: what the demo
    /// data, the benchmark and test fixtures write.
    pub fn at_desk(
        patient: Uuid,
        staff: Uuid,
        location: Uuid,
        type_id: Uuid,
        starts_at: DateTime<Utc>,
        minutes: i64,
    ) -> Self {
        let id = Uuid::now_v7();
        let ends_at = starts_at + Duration::minutes(minutes);
        Self {
            id,
            patient,
            staff,
            location,
            type_id,
            starts_at,
            ends_at,
            occupied_from: starts_at,
            occupied_until: ends_at,
            occupancy: id,
            capacity: 1,
            notes: None,
            series: None,
            via: "desk",
            booked_by: None,
        }
    }
}

/// Whether the database refused a booking because the time is taken (the
/// exclusion constraint, SQLite's trigger) or the group session is full.
pub fn is_taken(e: &DbError) -> bool {
    let DbError::Sqlx(sqlx::Error::Database(d)) = e else {
        return false;
    };
    d.code().as_deref() == Some("23P01")
        || d.code().as_deref() == Some("MS002")
        || d.message().contains("double booking")
        || d.message().contains("group session is full")
}

/// Bookings of one person, at any clinic, take turns (PostgreSQL): two
/// transactions checking an exclusion constraint at the same moment can each
/// wait for the other (a deadlock) instead of one being told the time is
/// taken. The lock is the one `project_account_busy` takes; SQLite's writers
/// already take turns.
async fn take_turns_for(tx: &mut TenantTx, staff: Uuid) -> Result<(), DbError> {
    if tx.backend() == crate::db::Backend::Postgres {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('account_busy:' || account_id::text, 0)) \
             FROM staff_members WHERE tenant_id = $1 AND id = $2",
            &[staff.into()],
        )
        .await?;
    }
    Ok(())
}

pub async fn insert(tx: &mut TenantTx, a: &NewAppointment<'_>) -> Result<(), DbError> {
    take_turns_for(tx, a.staff).await?;
    let now = Utc::now();
    tx.execute(
        "INSERT INTO appointments (tenant_id, id, patient_id, staff_id, location_id, type_id, starts_at, ends_at, \
         occupied_from, occupied_until, occupancy, capacity, status, notes, series_id, booked_via, booked_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'booked', $13, $14, \
         $15, $16, $17, $17)",
        &[
            a.id.into(),
            a.patient.into(),
            a.staff.into(),
            a.location.into(),
            a.type_id.into(),
            a.starts_at.into(),
            a.ends_at.into(),
            a.occupied_from.into(),
            a.occupied_until.into(),
            a.occupancy.into(),
            a.capacity.into(),
            a.notes.into(),
            a.series.into(),
            a.via.into(),
            a.booked_by.into(),
            now.into(),
        ],
    )
    .await?;
    event(
        tx,
        a.id,
        a.patient,
        AppointmentStatus::Booked,
        a.starts_at,
        None,
        a.booked_by,
    )
    .await
}

/// The group session of `type_id` that `staff` starts at `start`, if any: its occupancy.
pub async fn group_session(
    tx: &mut TenantTx,
    staff: Uuid,
    type_id: Uuid,
    start: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    // Two people taking the first seats at once must join one session, not
    // start two that overlap: the second waits for the first (PostgreSQL;
    // SQLite's single writer already orders them).
    if tx.backend() == crate::db::Backend::Postgres {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text || $3::text || $4::text, 3))",
            &[staff.into(), type_id.into(), start.into()],
        )
        .await?;
    }
    let row: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT occupancy FROM appointments WHERE tenant_id = $1 AND staff_id = $2 AND type_id = $3 \
             AND starts_at = $4 AND status <> 'cancelled' AND capacity > 1 LIMIT 1",
            &[staff.into(), type_id.into(), start.into()],
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// Records a step of an appointment's history, and lets engagement plan the
/// patient's messages for it (reminders, word of the change) in the same
/// transaction.
pub async fn event(
    tx: &mut TenantTx,
    appointment: Uuid,
    patient: Uuid,
    status: AppointmentStatus,
    starts_at: DateTime<Utc>,
    reason: Option<&str>,
    staff: Option<Uuid>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO appointment_events (tenant_id, id, appointment_id, patient_id, status, starts_at, reason, \
         staff_id, by_patient, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            Uuid::now_v7().into(),
            appointment.into(),
            patient.into(),
            status.as_str().into(),
            starts_at.into(),
            reason.into(),
            staff.into(),
            staff.is_none().into(),
            Utc::now().into(),
        ],
    )
    .await?;
    crate::engagement::db::appointment_changed(tx, appointment, status, Utc::now()).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub mrn: String,
    pub staff_id: Uuid,
    pub practitioner: String,
    pub location_id: Uuid,
    pub location: String,
    pub time_zone: String,
    pub type_id: Uuid,
    pub type_name: String,
    pub colour: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: String,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    pub capacity: i32,
    pub occupancy: Uuid,
}

const SELECT_APPOINTMENTS: &str = "SELECT a.id, a.patient_id, p.given_name, p.family_name, p.mrn, a.staff_id, \
     s.display_name AS practitioner, a.location_id, l.name AS location, l.time_zone, a.type_id, t.name AS type_name, \
     t.colour, a.starts_at, a.ends_at, a.status, a.notes, a.cancel_reason, a.capacity, a.occupancy \
     FROM appointments a \
     JOIN patients p ON p.tenant_id = a.tenant_id AND p.id = a.patient_id \
     JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id \
     JOIN locations l ON l.tenant_id = a.tenant_id AND l.id = a.location_id \
     JOIN appointment_types t ON t.tenant_id = a.tenant_id AND t.id = a.type_id";

/// How many steps the appointment's history has: its calendar entry's `SEQUENCE`.
pub async fn revision(tx: &mut TenantTx, id: Uuid) -> Result<u32, DbError> {
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM appointment_events WHERE tenant_id = $1 AND appointment_id = $2",
            &[id.into()],
        )
        .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub async fn appointment(tx: &mut TenantTx, id: Uuid) -> Result<Option<AppointmentRow>, DbError> {
    tx.fetch_optional(
        &format!("{SELECT_APPOINTMENTS} WHERE a.tenant_id = $1 AND a.id = $2"),
        &[id.into()],
    )
    .await
}

/// Appointments starting in `[from, until)`, at one location or all.
pub async fn between(
    tx: &mut TenantTx,
    location: Option<Uuid>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<AppointmentRow>, DbError> {
    tx.fetch_all(
        &format!(
            "{SELECT_APPOINTMENTS} WHERE a.tenant_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3 \
             AND ($4 IS NULL OR a.location_id = $4) ORDER BY a.starts_at, s.display_name"
        ),
        &[from.into(), until.into(), location.into()],
    )
    .await
}

/// A patient's appointments, newest first.
pub async fn of_patient(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<AppointmentRow>, DbError> {
    tx.fetch_all(
        &format!("{SELECT_APPOINTMENTS} WHERE a.tenant_id = $1 AND a.patient_id = $2 ORDER BY a.starts_at DESC LIMIT 50"),
        &[patient.into()],
    )
    .await
}

// ---------------------------------------------------------- opening hours --

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpeningRow {
    pub id: Uuid,
    pub location_id: Uuid,
    pub weekday: i32,
    pub start_min: i32,
    pub end_min: i32,
}

/// Every location's opening hours, by location, weekday and time.
pub async fn opening_hours(tx: &mut TenantTx) -> Result<Vec<OpeningRow>, DbError> {
    tx.fetch_all(
        "SELECT id, location_id, weekday, start_min, end_min FROM location_hours WHERE tenant_id = $1 \
         ORDER BY location_id, weekday, start_min",
        &[],
    )
    .await
}

pub async fn add_opening(
    tx: &mut TenantTx,
    location: Uuid,
    weekday: i64,
    (start_min, end_min): (i64, i64),
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO location_hours (tenant_id, id, location_id, weekday, start_min, end_min) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            id.into(),
            location.into(),
            weekday.into(),
            start_min.into(),
            end_min.into(),
        ],
    )
    .await?;
    Ok(id)
}

pub async fn remove_opening(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    tx.execute_one(
        "DELETE FROM location_hours WHERE tenant_id = $1 AND id = $2",
        &[id.into()],
    )
    .await
}

// ------------------------------------------------------------------ series --

/// A recurring series booked at the desk.
pub struct NewSeries {
    pub id: Uuid,
    pub patient: Uuid,
    pub staff: Uuid,
    pub location: Uuid,
    pub type_id: Uuid,
    pub first_start: DateTime<Utc>,
    pub every_weeks: u32,
    pub times: u32,
    pub created_by: Uuid,
}

pub async fn insert_series(tx: &mut TenantTx, s: &NewSeries) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO appointment_series (tenant_id, id, patient_id, staff_id, location_id, type_id, first_start, \
         every_weeks, times, missed, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11)",
        &[
            s.id.into(),
            s.patient.into(),
            s.staff.into(),
            s.location.into(),
            s.type_id.into(),
            s.first_start.into(),
            i64::from(s.every_weeks).into(),
            i64::from(s.times).into(),
            s.created_by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map(drop)
}

/// Records the dates of series `id` that could not be booked (a line each).
pub async fn set_series_missed(tx: &mut TenantTx, id: Uuid, missed: &str) -> Result<(), DbError> {
    tx.execute(
        "UPDATE appointment_series SET missed = $3 WHERE tenant_id = $1 AND id = $2",
        &[id.into(), missed.into()],
    )
    .await
    .map(drop)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeriesRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub staff_id: Uuid,
    pub every_weeks: i32,
    pub times: i32,
    pub missed: String,
}

pub async fn series(tx: &mut TenantTx, id: Uuid) -> Result<Option<SeriesRow>, DbError> {
    tx.fetch_optional(
        "SELECT id, patient_id, staff_id, every_weeks, times, missed FROM appointment_series \
         WHERE tenant_id = $1 AND id = $2",
        &[id.into()],
    )
    .await
}

/// The appointments of series `id`, in order.
pub async fn of_series(tx: &mut TenantTx, id: Uuid) -> Result<Vec<AppointmentRow>, DbError> {
    tx.fetch_all(
        &format!("{SELECT_APPOINTMENTS} WHERE a.tenant_id = $1 AND a.series_id = $2 ORDER BY a.starts_at"),
        &[id.into()],
    )
    .await
}

pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: AppointmentStatus,
    reason: Option<&str>,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE appointments SET status = $3, cancel_reason = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
        &[id.into(), status.as_str().into(), reason.into(), Utc::now().into()],
    )
    .await?;
    if status == AppointmentStatus::Cancelled {
        time_freed(tx, id).await?;
    }
    Ok(())
}

/// The time an appointment occupies, offered to the waitlist once it is free.
async fn time_freed(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    let row: Option<(Uuid, Uuid, DateTime<Utc>, DateTime<Utc>)> = tx
        .fetch_optional(
            "SELECT staff_id, location_id, occupied_from, occupied_until FROM appointments \
             WHERE tenant_id = $1 AND id = $2",
            &[id.into()],
        )
        .await?;
    let Some((staff, location, from, until)) = row else {
        return Ok(());
    };
    let freed = super::waitlist::offers::Freed {
        staff,
        location,
        span: Span::new(from, until),
    };
    super::waitlist::offers::freed(tx, freed, Utc::now()).await
}

/// Moves an appointment to the time (and occupancy) `to` describes.
pub async fn move_to(tx: &mut TenantTx, id: Uuid, to: &NewAppointment<'_>) -> Result<(), DbError> {
    // The time it leaves goes to the waitlist.
    time_freed(tx, id).await?;
    take_turns_for(tx, to.staff).await?;
    tx.execute_one(
        "UPDATE appointments SET staff_id = $3, starts_at = $4, ends_at = $5, occupied_from = $6, \
         occupied_until = $7, occupancy = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            to.staff.into(),
            to.starts_at.into(),
            to.ends_at.into(),
            to.occupied_from.into(),
            to.occupied_until.into(),
            to.occupancy.into(),
            Utc::now().into(),
        ],
    )
    .await
}

/// The retention purge: a record's appointments and their history.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    super::queue::db::purge(tx, patient).await?;
    super::waitlist::db::purge(tx, patient).await?;
    tx.execute(
        "DELETE FROM online_bookings WHERE tenant_id = $1 AND appointment_id IN \
         (SELECT id FROM appointments WHERE tenant_id = $1 AND patient_id = $2)",
        &[patient.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM appointment_events WHERE tenant_id = $1 AND patient_id = $2",
        &[patient.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM appointments WHERE tenant_id = $1 AND patient_id = $2",
        &[patient.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM appointment_series WHERE tenant_id = $1 AND patient_id = $2",
        &[patient.into()],
    )
    .await?;
    Ok(())
}

/// How long the booking form remembers a search.
const SEARCH_KEPT_MINUTES: i64 = 30;

/// What `staff` last searched for in the booking form, if recent.
pub async fn booking_search(tx: &mut TenantTx, staff: Uuid) -> Result<Option<String>, DbError> {
    let since = Utc::now() - Duration::minutes(SEARCH_KEPT_MINUTES);
    let row: Option<(String,)> = tx
        .fetch_optional(
            "SELECT query FROM booking_searches WHERE tenant_id = $1 AND staff_id = $2 AND saved_at > $3",
            &[staff.into(), since.into()],
        )
        .await?;
    Ok(row.map(|(q,)| q))
}

/// Remembers (or with `None` forgets) the booking form's search for `staff`.
pub async fn set_booking_search(
    tx: &mut TenantTx,
    staff: Uuid,
    query: Option<&str>,
) -> Result<(), DbError> {
    match query {
        Some(q) => {
            tx.execute(
                "INSERT INTO booking_searches (tenant_id, staff_id, query, saved_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, staff_id) DO UPDATE SET query = excluded.query, saved_at = excluded.saved_at",
                &[staff.into(), q.into(), Utc::now().into()],
            )
            .await?
        }
        None => {
            tx.execute(
                "DELETE FROM booking_searches WHERE tenant_id = $1 AND staff_id = $2",
                &[staff.into()],
            )
            .await?
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_read_back_as_sqlite_holds_them() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        let span =
            stored_span("2026-10-25T00:30:00+00:00|2026-10-25T01:30:00.250+00:00").expect("a span");
        assert_eq!(
            span,
            Span::new(at("2026-10-25T00:30:00Z"), at("2026-10-25T01:30:00.250Z"))
        );
        assert_eq!(
            stored_span("2026-10-25 00:30:00|2026-10-25 01:30:00.250").expect("zone-less"),
            span
        );
        for bad in [
            "",
            "2026-10-25T00:30:00+00:00",
            "x|y",
            "2026-13-01T00:00:00Z|2026-10-25T01:30:00Z",
        ] {
            assert!(
                matches!(stored_span(bad), Err(DbError::Corrupt(_))),
                "{bad}"
            );
        }
    }
}

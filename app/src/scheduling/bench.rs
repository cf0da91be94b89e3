//! The slot engine's benchmark (`medisync bench-slots`, run by
//! `scripts/bench-slots` on both databases): a throw-away clinic in
//! Europe/London whose first practitioner holds 2,000 appointments inside the
//! 30 days asked for, beside 49 colleagues with a fuller week each. It times
//! what a request does: open a read transaction, read the schedules and
//! bookings, compute the free slots.

use std::time::{Duration as Elapsed, Instant};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::{db, slots};
use crate::db::{Db, DbError};
use crate::identity::{self, Email, Role};
use crate::tenancy::{self, Branding, NewTenant, Slug, TenantKind, TenantSettings, TenantStatus};

/// How much the benchmark creates and how often it measures.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub practitioners: usize,
    pub appointments: usize,
    pub runs: usize,
}

const ZONE: &str = "Europe/London";
/// Hours: 07:00–21:00, Monday to Saturday; visits of 10 minutes.
const OPEN: u32 = 7 * 60;
const CLOSE: u32 = 21 * 60;
const MINUTES: u32 = 10;

pub async fn run(db: &Db, shape: Shape) -> Result<String, DbError> {
    let tz: chrono_tz::Tz = ZONE.parse().map_err(|_| DbError::Invalid("zone".into()))?;
    let suffix = Uuid::now_v7().simple().to_string();
    let slug = format!("bench-slots-{}", &suffix[suffix.len() - 8..]);
    let mut platform = db.begin_platform().await?;
    let tenant = tenancy::db::create(
        &mut platform,
        &NewTenant {
            slug: Slug::parse(&slug).map_err(|e| DbError::Invalid(e.to_string()))?,
            name: "Slot benchmark clinic".into(),
            kind: TenantKind::Clinic,
            status: TenantStatus::Active,
            branding: Branding::default(),
            settings: TenantSettings {
                timezone: ZONE.into(),
                ..TenantSettings::default()
            },
            plan: crate::plans::PlanId::parse("enterprise").map_err(DbError::Invalid)?,
            trial_ends_at: None,
        },
    )
    .await?;
    let mut accounts = Vec::new();
    for i in 0..shape.practitioners {
        let email = Email::parse(&format!("doctor{i}@{slug}.example")).map_err(DbError::Invalid)?;
        accounts.push(
            identity::db::create_account(&mut platform, &email, &format!("Dr. Bench {i}")).await?,
        );
    }
    platform.commit().await?;

    let mut tx = db.begin_for(tenant.id).await?;
    let mut staff = Vec::new();
    for account in &accounts {
        staff.push(
            identity::db::add_staff(&mut tx, account, Role::Doctor)
                .await?
                .id,
        );
    }
    let location = db::add_location(
        &mut tx,
        &db::NewLocation {
            name: "Bench branch",
            kind: "clinic",
            address: None,
            time_zone: ZONE,
        },
    )
    .await?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    for s in &staff {
        db::save_practitioner(
            &mut tx,
            &db::ProfileInput {
                staff_id: *s,
                specialty: None,
                bio: None,
                fee_minor: 0,
                currency: "GBP",
                bookable_online: true,
                active: true,
            },
        )
        .await?;
        for weekday in 1..=6 {
            db::add_block(
                &mut tx,
                &db::NewBlock {
                    staff_id: *s,
                    location_id: location,
                    kind: "clinic",
                    weekday,
                    start_min: OPEN.into(),
                    end_min: CLOSE.into(),
                    every_weeks: 1,
                    valid_from: today - Duration::days(7),
                    valid_until: None,
                },
            )
            .await?;
        }
    }
    let kind = db::save_type(
        &mut tx,
        None,
        &db::TypeInput {
            name: "Bench visit",
            duration_min: MINUTES.into(),
            buffer_before_min: 0,
            buffer_after_min: 0,
            price_minor: 0,
            currency: "GBP",
            capacity: 1,
            colour: "#0f766e",
            online_bookable: true,
            service_id: None,
            practitioners: &staff,
            locations: &[location],
        },
    )
    .await?;
    let patient = crate::patients::db::create(
        &mut tx,
        &crate::patients::NewPatient {
            mrn: crate::patients::Mrn::parse("BENCH-1").map_err(DbError::Invalid)?,
            given_name: "Bench".into(),
            family_name: "Patient".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 1)
                .ok_or_else(|| DbError::Invalid("date".into()))?,
            sex: crate::patients::Sex::Other,
            email: None,
            phone: None,
            primary_staff_id: None,
            details: Default::default(),
        },
    )
    .await?
    .id;
    let first = today + Duration::days(1);
    let month = first + Duration::days(29);
    // The first practitioner: `appointments` visits inside the 30 days, every
    // working-day time but an evenly spread few left free.
    let times = working_times(tz, first, month);
    let keep = shape.appointments.min(times.len());
    let step = times.len() as f64 / keep.max(1) as f64;
    let mut written = 0;
    for i in 0..keep {
        let at = times[((i as f64) * step) as usize];
        book(&mut tx, staff[0], location, kind, patient, at).await?;
        written += 1;
    }
    // Every colleague: every third time of the first week taken.
    let week = working_times(tz, first, first + Duration::days(6));
    for s in staff.iter().skip(1) {
        for at in week.iter().step_by(3) {
            book(&mut tx, *s, location, kind, patient, *at).await?;
            written += 1;
        }
    }
    tx.commit().await?;

    let location_row = {
        let mut tx = db.begin_for_read(tenant.id).await?;
        let l = db::location(&mut tx, location)
            .await?
            .ok_or(DbError::NotFound)?;
        let t = db::appointment_type(&mut tx, kind)
            .await?
            .ok_or(DbError::NotFound)?;
        tx.commit().await?;
        (l, t)
    };
    let (l, t) = location_row;
    let bounds = (
        slots::instant(tz, first, 0),
        slots::instant(tz, month, 1440) + Duration::days(1),
    );
    let month_wanted = super::api::ssr::wanted(&t, &l, (first, month), bounds);
    let week_wanted = super::api::ssr::wanted(&t, &l, (first, first + Duration::days(6)), bounds);
    let one = [staff[0]];
    let mut month_times = Vec::new();
    let mut week_times = Vec::new();
    let mut found = (0, 0);
    for _ in 0..shape.runs {
        let started = Instant::now();
        found.0 = free_count(db, tenant.id, &one, &month_wanted, tz).await?;
        month_times.push(started.elapsed());
        let started = Instant::now();
        found.1 = free_count(db, tenant.id, &staff, &week_wanted, tz).await?;
        week_times.push(started.elapsed());
    }
    Ok(format!(
        "| query | runs | free slots | p50 | p95 | max |\n|---|---|---|---|---|---|\n\
         | 30 days, one practitioner with {} appointments in them | {} | {} | {} | {} | {} |\n\
         | 7 days, any of {} practitioners | {} | {} | {} | {} | {} |\n\
         ({written} appointments written; clinic {slug}, {ZONE})",
        keep,
        shape.runs,
        found.0,
        ms(percentile(&mut month_times, 50)),
        ms(percentile(&mut month_times, 95)),
        ms(percentile(&mut month_times, 100)),
        staff.len(),
        shape.runs,
        found.1,
        ms(percentile(&mut week_times, 50)),
        ms(percentile(&mut week_times, 95)),
        ms(percentile(&mut week_times, 100)),
    ))
}

/// Every visit time of the working days (Monday–Saturday) from `first` to `last`.
fn working_times(
    tz: chrono_tz::Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<chrono::DateTime<Utc>> {
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        if day.weekday().number_from_monday() <= 6 {
            let mut m = OPEN;
            while m + MINUTES <= CLOSE {
                out.push(slots::instant(tz, day, m));
                m += MINUTES;
            }
        }
        day += Duration::days(1);
    }
    out
}

async fn book(
    tx: &mut crate::db::TenantTx,
    staff: Uuid,
    location: Uuid,
    kind: Uuid,
    patient: Uuid,
    at: chrono::DateTime<Utc>,
) -> Result<(), DbError> {
    db::insert(
        tx,
        &db::NewAppointment::at_desk(patient, staff, location, kind, at, MINUTES.into()),
    )
    .await
}

/// What one request does: a read transaction, the schedules, the engine.
async fn free_count(
    db: &Db,
    tenant: tenancy::TenantId,
    staff: &[Uuid],
    wanted: &slots::Wanted,
    tz: chrono_tz::Tz,
) -> Result<usize, DbError> {
    let mut tx = db.begin_for_read(tenant).await?;
    let schedules = db::schedules(&mut tx, staff, wanted.first_day, wanted.last_day, tz).await?;
    tx.commit().await?;
    Ok(schedules
        .iter()
        .map(|(_, s)| slots::free_slots(s, wanted).len())
        .sum())
}

fn percentile(times: &mut [Elapsed], p: usize) -> Elapsed {
    times.sort();
    if times.is_empty() {
        return Elapsed::ZERO;
    }
    let i = ((times.len() * p).div_ceil(100)).clamp(1, times.len()) - 1;
    times[i]
}

fn ms(d: Elapsed) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

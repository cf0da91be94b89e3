//! Slots, booking and an appointment's life, for the front desk.
//!
//! Booking checks the slot with the engine inside the writing transaction
//! (SQLite's writers are serialised) and the database refuses what overlaps
//! anyway (PostgreSQL's exclusion constraint): of fifty people taking one slot
//! at once, one gets it and the others are told it was just taken, with the
//! next free times.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use super::AppointmentStatus;
use super::DayView;
#[cfg(feature = "ssr")]
use super::PatientChoice;
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod ssr {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use chrono_tz::Tz;
    use uuid::Uuid;

    use super::super::db::{self, LocationRow, TypeRow};
    use super::super::slots::{self, Slot, Wanted};
    use super::super::SlotView;
    use crate::db::TenantTx;
    use crate::error::AppError;

    /// Who is booking: the front desk may fill today's earlier times and book
    /// far ahead; patients keep to the clinic's notice and window.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Booker {
        Desk,
        /// A signed-in patient, in the portal.
        Patient,
        /// A visitor on the clinic's public booking page (`/book`).
        Online,
    }

    /// The bounds `booker` books within, from `now`.
    pub fn bounds(
        booker: Booker,
        rules: &db::Rules,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let today = now.with_timezone(&tz).date_naive();
        match booker {
            Booker::Desk => (slots::instant(tz, today, 0), now + Duration::days(730)),
            Booker::Patient | Booker::Online => {
                let notice = now + Duration::minutes(rules.min_notice_min.into());
                let earliest = if rules.same_day_online {
                    notice
                } else {
                    notice.max(slots::instant(tz, today, 1440))
                };
                (
                    earliest,
                    slots::instant(tz, today, 1440) + Duration::days(rules.max_days_ahead.into()),
                )
            }
        }
    }

    pub fn wanted(
        t: &TypeRow,
        location: &LocationRow,
        days: (NaiveDate, NaiveDate),
        bounds: (DateTime<Utc>, DateTime<Utc>),
    ) -> Wanted {
        Wanted {
            type_id: t.id,
            location: location.id,
            tz: location.tz(),
            duration_min: u32::try_from(t.duration_min).unwrap_or(15),
            buffer_before_min: u32::try_from(t.buffer_before_min).unwrap_or(0),
            buffer_after_min: u32::try_from(t.buffer_after_min).unwrap_or(0),
            capacity: u32::try_from(t.capacity).unwrap_or(1),
            first_day: days.0,
            last_day: days.1,
            not_before: bounds.0,
            before: bounds.1,
        }
    }

    /// Free slots of each of `staff` (those offering the type there) over `days`.
    pub async fn free(
        tx: &mut TenantTx,
        clinic_tz: Tz,
        staff: &[Uuid],
        wanted: &Wanted,
    ) -> Result<Vec<(Uuid, Slot)>, AppError> {
        let schedules =
            db::schedules(tx, staff, wanted.first_day, wanted.last_day, clinic_tz).await?;
        let mut out: Vec<(Uuid, Slot)> = schedules
            .iter()
            .flat_map(|(id, s)| {
                slots::free_slots(s, wanted)
                    .into_iter()
                    .map(move |slot| (*id, slot))
            })
            .collect();
        out.sort_by_key(|(_, s)| s.start);
        Ok(out)
    }

    pub fn view(tz: Tz, staff: Uuid, slot: &Slot) -> SlotView {
        let local = slot.start.with_timezone(&tz);
        SlotView {
            start: slot.start,
            staff_id: staff,
            time: local.format("%H:%M").to_string(),
            day: local.format("%a %-d %b").to_string(),
            offset: local.format("%:z").to_string(),
            seats_left: slot.seats_left,
        }
    }

    /// Who offers `t` at `location` (active practitioners only).
    pub async fn offering(
        tx: &mut TenantTx,
        type_id: Uuid,
        location: Uuid,
    ) -> Result<Vec<Uuid>, AppError> {
        let rows: Vec<(Uuid,)> = tx
            .fetch_all(
                "SELECT tp.staff_id FROM appointment_type_practitioners tp \
                 JOIN practitioners p ON p.tenant_id = tp.tenant_id AND p.staff_id = tp.staff_id \
                 JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.staff_id \
                 WHERE tp.tenant_id = $1 AND tp.type_id = $2 AND p.active AND s.status = 'active' \
                 AND EXISTS (SELECT 1 FROM appointment_type_locations tl WHERE tl.tenant_id = tp.tenant_id \
                 AND tl.type_id = tp.type_id AND tl.location_id = $3) ORDER BY s.display_name",
                &[type_id.into(), location.into()],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The next free times near a taken one, for the "just taken" answer.
    pub async fn alternatives(
        db: &crate::db::Db,
        tenant: crate::ids::TenantId,
        clinic_tz: Tz,
        type_id: Uuid,
        location_id: Uuid,
        booker: Booker,
        around: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let mut tx = db.begin_for_read(tenant).await?;
        let (Some(t), Some(location)) = (
            db::appointment_type(&mut tx, type_id).await?,
            db::location(&mut tx, location_id).await?,
        ) else {
            return Ok(String::new());
        };
        let rules = db::rules(&mut tx).await?;
        let staff = offering(&mut tx, type_id, location_id).await?;
        let day = around.with_timezone(&location.tz()).date_naive();
        let bounds = bounds(booker, &rules, location.tz(), Utc::now());
        let w = wanted(&t, &location, (day, day + Duration::days(6)), bounds);
        let found = free(&mut tx, clinic_tz, &staff, &w).await?;
        let names = db::practitioners(&mut tx).await?;
        tx.commit().await?;
        let text: Vec<String> = found
            .iter()
            .filter(|(_, s)| s.start >= around)
            .take(3)
            .map(|(staff, s)| {
                let v = view(location.tz(), *staff, s);
                let who = names
                    .iter()
                    .find(|p| p.staff_id == *staff)
                    .map_or("", |p| p.name.as_str());
                format!("{} {} with {who}", v.day, v.time)
            })
            .collect();
        Ok(text.join("; "))
    }

    /// "That time was just taken", with what is free next.
    pub fn taken(alternatives: &str) -> AppError {
        let message = if alternatives.is_empty() {
            "that time was just taken, and nothing else is free in the next week".to_owned()
        } else {
            format!("that time was just taken; free next: {alternatives}")
        };
        AppError::Taken(message).respond()
    }
}

/// The front desk's day at one location: a column per practitioner with their
/// appointments and, for the chosen type, their free times.
#[server(prefix = "/api", endpoint = "day_calendar")]
pub async fn day_calendar(
    date: Option<String>,
    location_id: Option<Uuid>,
    type_id: Option<Uuid>,
    series: Option<Uuid>,
) -> Result<DayView, AppError> {
    use super::{db, Column, PractitionerRef};
    use crate::identity::permissions::Permission;
    use chrono::{NaiveDate, Utc};
    let w = crate::patients::api::ssr::writer()?;
    let clinic_tz = w.tenant.settings.tz();
    let date = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => crate::patients::api::ssr::clinic_today(&w.tenant),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::field("date", "give the date as YYYY-MM-DD").respond())?,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    // The booking form's search waits in the database, never in the address:
    // what is typed there names a patient.
    let query = db::booking_search(&mut tx, w.staff_id).await?;
    let found = match &query {
        Some(q) => crate::patients::db::search(&mut tx, q, 8)
            .await?
            .into_iter()
            .map(|p| PatientChoice {
                id: p.id,
                name: format!("{} {}", p.given_name, p.family_name),
                mrn: p.mrn.to_string(),
                born: Some(w.tenant.settings.format_day(p.birth_date)),
            })
            .collect(),
        None => Vec::new(),
    };
    let locations = db::locations(&mut tx).await?;
    let active: Vec<&db::LocationRow> = locations.iter().filter(|l| l.active).collect();
    let location = match location_id {
        Some(id) => Some(
            active
                .iter()
                .find(|l| l.id == id)
                .copied()
                .ok_or_else(|| AppError::NotFound.respond())?,
        ),
        // A clinic (where patients are seen) before a hospital (rounds) or a
        // virtual room.
        None => active
            .iter()
            .find(|l| l.kind == "clinic")
            .or_else(|| active.first())
            .copied(),
    };
    let types: Vec<super::AppointmentType> = db::types(&mut tx)
        .await?
        .into_iter()
        .filter(|t| t.active)
        .collect();
    let can_setup = w.viewer.can(Permission::SettingsManage);
    let Some(location) = location else {
        tx.commit().await?;
        return Ok(DayView {
            date,
            date_label: date.format("%A %-d %B %Y").to_string(),
            location: None,
            locations: vec![],
            types,
            type_id: None,
            columns: vec![],
            needs_setup: true,
            can_setup,
            found,
            search: query,
            can_invoice: w.viewer.can(Permission::PaymentsTake),
            messages: vec![],
            series: None,
        });
    };
    let rules = db::rules(&mut tx).await?;
    let tz = location.tz();
    let mut practitioners: Vec<db::PractitionerRow> = db::practitioners(&mut tx)
        .await?
        .into_iter()
        .filter(|p| p.active)
        .collect();
    // A doctor sees their own column unless the clinic shares calendars.
    let own_only = w.role == "doctor" && !rules.see_all_calendars;
    if own_only {
        practitioners.retain(|p| p.staff_id == w.staff_id);
    }
    let here: Vec<super::AppointmentType> = types
        .iter()
        .filter(|t| t.locations.contains(&location.id))
        .cloned()
        .collect();
    let chosen = type_id
        .and_then(|id| here.iter().find(|t| t.id == id))
        .or_else(|| here.first())
        .cloned();
    let (from, until) = (
        super::slots::instant(tz, date, 0),
        super::slots::instant(tz, date, 1440),
    );
    let appointments = db::between(&mut tx, Some(location.id), from, until).await?;
    let mut free: Vec<(Uuid, super::slots::Slot)> = Vec::new();
    if let Some(t) = &chosen {
        let row = db::appointment_type(&mut tx, t.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let bounds = ssr::bounds(ssr::Booker::Desk, &rules, tz, Utc::now());
        let wanted = ssr::wanted(&row, location, (date, date), bounds);
        let staff: Vec<Uuid> = practitioners
            .iter()
            .filter(|p| t.practitioners.contains(&p.staff_id))
            .map(|p| p.staff_id)
            .collect();
        free = ssr::free(&mut tx, clinic_tz, &staff, &wanted).await?;
    }
    let shown: Vec<Uuid> = appointments
        .iter()
        .filter(|a| practitioners.iter().any(|p| p.staff_id == a.staff_id))
        .map(|a| a.id)
        .collect();
    let messages = crate::engagement::db::history(&mut tx, &shown, tz).await?;
    let everyone: Vec<Uuid> = practitioners.iter().map(|p| p.staff_id).collect();
    let elsewhere: Vec<(Uuid, String)> = db::busy_elsewhere(&mut tx, &everyone, from, until)
        .await?
        .into_iter()
        .map(|(staff, span)| {
            let (start, end) = (span.start.with_timezone(&tz), span.end.with_timezone(&tz));
            (
                staff,
                format!("{}–{}", start.format("%H:%M"), end.format("%H:%M")),
            )
        })
        .collect();
    let series = match series {
        Some(id) => series_report(&mut tx, id, &w.tenant, own_only.then_some(w.staff_id)).await?,
        None => None,
    };
    tx.commit().await?;
    let columns = practitioners
        .iter()
        .filter(|p| {
            appointments.iter().any(|a| a.staff_id == p.staff_id)
                || free.iter().any(|(s, _)| *s == p.staff_id)
                || elsewhere.iter().any(|(s, _)| *s == p.staff_id)
        })
        .map(|p| Column {
            practitioner: PractitionerRef {
                staff_id: p.staff_id,
                name: p.name.clone(),
                specialty: p.specialty.clone(),
            },
            appointments: appointments
                .iter()
                .filter(|a| a.staff_id == p.staff_id)
                .map(|a| appointment_view(a, &w.tenant))
                .collect(),
            free: free
                .iter()
                .filter(|(s, _)| *s == p.staff_id)
                .map(|(s, slot)| ssr::view(tz, *s, slot))
                .collect(),
            elsewhere: elsewhere
                .iter()
                .filter(|(s, _)| *s == p.staff_id)
                .map(|(_, t)| t.clone())
                .collect(),
        })
        .collect();
    Ok(DayView {
        date,
        date_label: date.format("%A %-d %B %Y").to_string(),
        location: Some(location.view()),
        locations: active.iter().map(|l| l.view()).collect(),
        types: here,
        type_id: chosen.map(|t| t.id),
        columns,
        needs_setup: false,
        can_setup,
        found,
        search: query,
        can_invoice: w.viewer.can(Permission::PaymentsTake),
        messages,
        series,
    })
}

/// The report of series `id` (for a doctor who sees only their own calendar,
/// only their own series).
#[cfg(feature = "ssr")]
async fn series_report(
    tx: &mut crate::db::TenantTx,
    id: Uuid,
    tenant: &crate::tenancy::TenantPublic,
    only_of: Option<Uuid>,
) -> Result<Option<super::SeriesReport>, AppError> {
    let Some(row) = super::db::series(tx, id)
        .await?
        .filter(|s| only_of.is_none_or(|staff| staff == s.staff_id))
    else {
        return Ok(None);
    };
    let visits = super::db::of_series(tx, id).await?;
    let who = visits
        .first()
        .map(|a| format!("{} {}", a.given_name, a.family_name))
        .unwrap_or_default();
    let every = match row.every_weeks {
        1 => "every week".to_owned(),
        n => format!("every {n} weeks"),
    };
    let booked: Vec<String> = visits
        .iter()
        .map(|a| {
            let v = appointment_view(a, tenant);
            format!("{} {} · {}", v.day, v.time, v.status.label())
        })
        .collect();
    let missed: Vec<String> = row
        .missed
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(day, why)| {
            let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_or(day.to_owned(), |d| d.format("%a %-d %b %Y").to_string());
            format!("{day}: {why}")
        })
        .collect();
    Ok(Some(super::SeriesReport {
        summary: format!(
            "{who}, {every}: {} of {} visits booked",
            booked.len(),
            row.times
        ),
        booked,
        missed,
    }))
}

#[cfg(feature = "ssr")]
fn appointment_view(
    a: &super::db::AppointmentRow,
    tenant: &crate::tenancy::TenantPublic,
) -> super::AppointmentView {
    let tz: chrono_tz::Tz = a.time_zone.parse().unwrap_or_else(|_| tenant.settings.tz());
    let (start, end) = (a.starts_at.with_timezone(&tz), a.ends_at.with_timezone(&tz));
    super::AppointmentView {
        id: a.id,
        patient_id: a.patient_id,
        patient: format!("{} {}", a.given_name, a.family_name),
        mrn: a.mrn.clone(),
        staff_id: a.staff_id,
        practitioner: a.practitioner.clone(),
        location: a.location.clone(),
        type_name: a.type_name.clone(),
        colour: a.colour.clone(),
        starts_at: a.starts_at,
        time: format!("{}–{}", start.format("%H:%M"), end.format("%H:%M")),
        day: start.format("%a %-d %b %Y").to_string(),
        status: a.status.parse().unwrap_or(AppointmentStatus::Booked),
        notes: a.notes.clone(),
        cancel_reason: a.cancel_reason.clone(),
    }
}

/// Remembers what the booking form searched for (in the database: a
/// patient's name or phone never travels in an address); the calendar then
/// lists the matching patients beside the chosen time. Sent back to the page
/// it came from.
#[server(prefix = "/api", endpoint = "booking_search")]
pub async fn booking_search(query: String) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let query = crate::text::search_text("query", Some(query))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::set_booking_search(&mut tx, w.staff_id, query.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

/// Books `patient_id` with `staff_id` at `starts_at` (RFC 3339) for a type at a
/// location. Refused with the next free times when the slot was just taken.
#[server(prefix = "/api", endpoint = "book_appointment")]
pub async fn book_appointment(
    patient_id: Uuid,
    staff_id: Uuid,
    location_id: Uuid,
    type_id: Uuid,
    starts_at: String,
    notes: Option<String>,
) -> Result<Uuid, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let starts_at = parse_start(&starts_at)?;
    let notes = clean_notes(notes)?;
    let db = crate::identity::auth::db()?;
    let mut tx = w.open(patient_id).await?;
    let booked = ssr_book::book(
        &mut tx,
        &w.tenant,
        ssr_book::Request {
            patient: patient_id,
            staff: staff_id,
            location: location_id,
            type_id,
            starts_at,
            notes: notes.as_deref(),
            booker: ssr::Booker::Desk,
            booked_by: Some(w.staff_id),
            moving: None,
            series: None,
        },
    )
    .await;
    match booked {
        Ok(id) => {
            w.audit(
                &mut tx,
                patient_id,
                "appointment.booked",
                Some(&id.to_string()),
            )
            .await?;
            super::db::set_booking_search(&mut tx, w.staff_id, None).await?;
            tx.commit().await?;
            Ok(id)
        }
        Err(ssr_book::Refusal::Taken) => {
            drop(tx);
            let alt = ssr::alternatives(
                &db,
                w.tenant.id,
                w.tenant.settings.tz(),
                type_id,
                location_id,
                ssr::Booker::Desk,
                starts_at,
            )
            .await?;
            Err(ssr::taken(&alt))
        }
        Err(ssr_book::Refusal::Error(e)) => Err(e.respond()),
    }
}

/// Books `patient_id` every `every_weeks` weeks, `times` visits in all, from
/// `starts_at`, each at the same local time (10:00 stays 10:00 when the clocks
/// change). Dates that cannot be booked are skipped and recorded with why; the
/// calendar then shows the series' report. Refused as a whole only when no
/// date could be booked, or when the database refuses one the engine found
/// free (someone took it meanwhile: nothing is booked, and the desk retries).
#[server(prefix = "/api", endpoint = "book_series")]
pub async fn book_series(
    patient_id: Uuid,
    staff_id: Uuid,
    location_id: Uuid,
    type_id: Uuid,
    starts_at: String,
    every_weeks: String,
    times: String,
) -> Result<Uuid, AppError> {
    use chrono::Timelike;
    let w = crate::patients::api::ssr::writer()?;
    let starts_at = parse_start(&starts_at)?;
    let every = series_number(
        &every_weeks,
        "every_weeks",
        1..=4,
        "repeat every 1 to 4 weeks",
    )?;
    let times = series_number(&times, "times", 2..=26, "a series has 2 to 26 visits")?;
    let mut tx = w.open(patient_id).await?;
    let location = super::db::location(&mut tx, location_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    let tz = location.tz();
    let first = starts_at.with_timezone(&tz);
    let minute = first.hour() * 60 + first.minute();
    let series = Uuid::now_v7();
    super::db::insert_series(
        &mut tx,
        &super::db::NewSeries {
            id: series,
            patient: patient_id,
            staff: staff_id,
            location: location_id,
            type_id,
            first_start: starts_at,
            every_weeks: every,
            times,
            created_by: w.staff_id,
        },
    )
    .await?;
    let mut missed = Vec::new();
    for (day, at) in super::slots::series_starts(tz, first.date_naive(), minute, every, times) {
        let request = ssr_book::Request {
            patient: patient_id,
            staff: staff_id,
            location: location_id,
            type_id,
            starts_at: at,
            notes: None,
            booker: ssr::Booker::Desk,
            booked_by: Some(w.staff_id),
            moving: None,
            series: Some(series),
        };
        let new = match ssr_book::check(&mut tx, &w.tenant, request).await {
            Ok(new) => new,
            Err(ssr_book::Refusal::Taken) => {
                missed.push(format!("{day}\tthe time is taken"));
                continue;
            }
            Err(ssr_book::Refusal::Error(AppError::Field(_, why))) => {
                missed.push(format!("{day}\t{why}"));
                continue;
            }
            Err(ssr_book::Refusal::Error(e)) => return Err(e.respond()),
        };
        match ssr_book::write(&mut tx, &new, None).await {
            Ok(id) => {
                w.audit(&mut tx, patient_id, "appointment.booked", Some(&id.to_string()))
                    .await?
            }
            Err(ssr_book::Refusal::Taken) => {
                return Err(AppError::Taken(
                    "a time in the series was just taken by someone else; nothing was booked, please try again"
                        .into(),
                )
                .respond())
            }
            Err(ssr_book::Refusal::Error(e)) => return Err(e.respond()),
        }
    }
    if missed.len() == times as usize {
        return Err(AppError::field(
            "starts_at",
            "none of the series' dates could be booked; choose another time or fewer visits",
        )
        .respond());
    }
    super::db::set_series_missed(&mut tx, series, &missed.join("\n")).await?;
    super::db::set_booking_search(&mut tx, w.staff_id, None).await?;
    tx.commit().await?;
    crate::forms::lands_on(&crate::site::current_site().href(&format!(
        "/staff/calendar?date={}&location={location_id}&type={type_id}&series={series}",
        first.date_naive()
    )));
    Ok(series)
}

/// A whole number of a series' form within `range`, or the field's message.
#[cfg(feature = "ssr")]
fn series_number(
    text: &str,
    field: &str,
    range: std::ops::RangeInclusive<u32>,
    message: &str,
) -> Result<u32, AppError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| AppError::field(field, message).respond())
}

#[cfg(feature = "ssr")]
fn parse_start(text: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| AppError::field("starts_at", "choose a time from the calendar").respond())
}

#[cfg(feature = "ssr")]
fn clean_notes(notes: Option<String>) -> Result<Option<String>, AppError> {
    let notes = notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(AppError::field("notes", "keep the note under 1,000 characters").respond());
    }
    Ok(notes)
}

#[cfg(feature = "ssr")]
pub mod ssr_book {
    //! The booking itself, shared by the desk, the portal and moves.
    use chrono::{DateTime, Duration, Utc};
    use uuid::Uuid;

    use super::super::db::{self, NewAppointment};
    use super::ssr::{self, Booker};
    use crate::db::TenantTx;
    use crate::error::AppError;

    pub struct Request<'a> {
        pub patient: Uuid,
        pub staff: Uuid,
        pub location: Uuid,
        pub type_id: Uuid,
        pub starts_at: DateTime<Utc>,
        pub notes: Option<&'a str>,
        pub booker: Booker,
        pub booked_by: Option<Uuid>,
        /// Moving this appointment rather than booking a new one.
        pub moving: Option<Uuid>,
        /// The recurring series this booking is part of.
        pub series: Option<Uuid>,
    }

    pub enum Refusal {
        /// Someone else has that time (or the group is full).
        Taken,
        Error(AppError),
    }

    impl From<AppError> for Refusal {
        fn from(e: AppError) -> Self {
            Refusal::Error(e)
        }
    }

    impl From<crate::db::DbError> for Refusal {
        fn from(e: crate::db::DbError) -> Self {
            Refusal::Error(e.into())
        }
    }

    /// Checks the slot with the engine and writes the appointment (or moves
    /// `moving` there) inside `tx`.
    pub async fn book(
        tx: &mut TenantTx,
        tenant: &crate::tenancy::TenantPublic,
        r: Request<'_>,
    ) -> Result<Uuid, Refusal> {
        let moving = r.moving;
        let new = check(tx, tenant, r).await?;
        write(tx, &new, moving).await
    }

    /// Writes what [`check`] found free. A refusal here comes from the
    /// database (someone took the time in between): on PostgreSQL the
    /// transaction is then spent.
    pub async fn write(
        tx: &mut TenantTx,
        new: &NewAppointment<'_>,
        moving: Option<Uuid>,
    ) -> Result<Uuid, Refusal> {
        let written = match moving {
            None => db::insert(tx, new).await,
            Some(id) => db::move_to(tx, id, new).await,
        };
        match written {
            Ok(()) => Ok(new.id),
            Err(e) if db::is_taken(&e) => Err(Refusal::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the slot with the engine, writing nothing: the appointment to
    /// write, or why not (the transaction stays usable).
    pub async fn check<'a>(
        tx: &mut TenantTx,
        tenant: &crate::tenancy::TenantPublic,
        r: Request<'a>,
    ) -> Result<NewAppointment<'a>, Refusal> {
        let not_found = || Refusal::Error(AppError::NotFound.respond());
        let t = db::appointment_type(tx, r.type_id)
            .await?
            .filter(|t| t.active)
            .ok_or_else(not_found)?;
        let location = db::location(tx, r.location)
            .await?
            .filter(|l| l.active)
            .ok_or_else(not_found)?;
        if !ssr::offering(tx, r.type_id, r.location)
            .await?
            .contains(&r.staff)
        {
            return Err(AppError::field(
                "staff_id",
                "that practitioner does not offer this visit here",
            )
            .into());
        }
        let rules = db::rules(tx).await?;
        let tz = location.tz();
        let day = r.starts_at.with_timezone(&tz).date_naive();
        let bounds = ssr::bounds(r.booker, &rules, tz, Utc::now());
        let wanted = ssr::wanted(&t, &location, (day, day), bounds);
        let mut schedules = db::schedules(tx, &[r.staff], day, day, tenant.settings.tz()).await?;
        let Some((_, mut schedule)) = schedules.pop() else {
            return Err(not_found());
        };
        if let Some(moving) = r.moving {
            // Its own time does not stand in its way.
            if let Some(old) = db::appointment(tx, moving).await? {
                schedule
                    .busy
                    .retain(|b| !(b.span.start <= old.starts_at && old.ends_at <= b.span.end));
            }
        }
        let free = super::super::slots::free_slots(&schedule, &wanted);
        let Some(slot) = free.iter().find(|s| s.start == r.starts_at) else {
            let mut open = schedule.clone();
            open.busy.clear();
            let within_hours = super::super::slots::free_slots(&open, &wanted)
                .iter()
                .any(|s| s.start == r.starts_at);
            return Err(if within_hours {
                Refusal::Taken
            } else if r.starts_at < bounds.0 || r.starts_at >= bounds.1 {
                AppError::field(
                    "starts_at",
                    "that time is outside the times that can be booked now",
                )
                .into()
            } else {
                AppError::field(
                    "starts_at",
                    "that time is not within the practitioner's hours for this visit",
                )
                .into()
            });
        };
        // A group visit joins the session already started at that time, if any
        // (looked up under a lock, so two first seats cannot start two).
        let occupancy = if t.capacity > 1 {
            db::group_session(tx, r.staff, r.type_id, slot.start).await?
        } else {
            None
        };
        let id = r.moving.unwrap_or_else(Uuid::now_v7);
        let new = NewAppointment {
            id,
            patient: r.patient,
            staff: r.staff,
            location: r.location,
            type_id: r.type_id,
            starts_at: slot.start,
            ends_at: slot.end,
            occupied_from: slot.start - Duration::minutes(t.buffer_before_min.into()),
            occupied_until: slot.end + Duration::minutes(t.buffer_after_min.into()),
            occupancy: occupancy.unwrap_or(id),
            capacity: t.capacity.into(),
            notes: r.notes,
            series: r.series,
            via: match r.booker {
                Booker::Desk => "desk",
                Booker::Patient => "portal",
                Booker::Online => "online",
            },
            booked_by: r.booked_by,
        };
        Ok(new)
    }
}

/// Moves an open appointment to another time (and practitioner).
#[server(prefix = "/api", endpoint = "reschedule_appointment")]
pub async fn reschedule_appointment(
    appointment_id: Uuid,
    starts_at: String,
    staff_id: Option<Uuid>,
) -> Result<(), AppError> {
    use super::db;
    let w = crate::patients::api::ssr::writer()?;
    let starts_at = parse_start(&starts_at)?;
    let database = crate::identity::auth::db()?;
    let mut tx = database.begin_for(w.tenant.id).await?;
    let old = db::appointment(&mut tx, appointment_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    drop(tx);
    let mut tx = w.open(old.patient_id).await?;
    let status: AppointmentStatus = old.status.parse().map_err(|_| AppError::Internal)?;
    if status != AppointmentStatus::Booked {
        return Err(AppError::Invalid(format!(
            "a {} appointment cannot be moved",
            status.label().to_lowercase()
        ))
        .respond());
    }
    let staff = staff_id.unwrap_or(old.staff_id);
    let moved = ssr_book::book(
        &mut tx,
        &w.tenant,
        ssr_book::Request {
            patient: old.patient_id,
            staff,
            location: old.location_id,
            type_id: old.type_id,
            starts_at,
            notes: old.notes.as_deref(),
            booker: ssr::Booker::Desk,
            booked_by: Some(w.staff_id),
            moving: Some(appointment_id),
            series: None,
        },
    )
    .await;
    match moved {
        Ok(_) => {
            db::event(
                &mut tx,
                appointment_id,
                old.patient_id,
                AppointmentStatus::Booked,
                starts_at,
                Some("moved"),
                Some(w.staff_id),
            )
            .await?;
            w.audit(
                &mut tx,
                old.patient_id,
                "appointment.moved",
                Some(&appointment_id.to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        Err(ssr_book::Refusal::Taken) => {
            drop(tx);
            let alt = ssr::alternatives(
                &database,
                w.tenant.id,
                w.tenant.settings.tz(),
                old.type_id,
                old.location_id,
                ssr::Booker::Desk,
                starts_at,
            )
            .await?;
            Err(ssr::taken(&alt))
        }
        Err(ssr_book::Refusal::Error(e)) => Err(e.respond()),
    }
}

/// Moves an appointment along its life (arrived, in consultation, completed,
/// no-show), or cancels it with a reason.
#[server(prefix = "/api", endpoint = "set_appointment_status")]
pub async fn set_appointment_status(
    appointment_id: Uuid,
    status: String,
    reason: Option<String>,
) -> Result<(), AppError> {
    use super::db;
    let w = crate::patients::api::ssr::writer()?;
    let to: AppointmentStatus = status
        .parse()
        .map_err(|_| AppError::field("status", "choose a status from the list").respond())?;
    let database = crate::identity::auth::db()?;
    let mut tx = database.begin_for(w.tenant.id).await?;
    let a = db::appointment(&mut tx, appointment_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    drop(tx);
    let mut tx = w.open(a.patient_id).await?;
    let from: AppointmentStatus = a.status.parse().map_err(|_| AppError::Internal)?;
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let allowed = if to == AppointmentStatus::Cancelled {
        from.is_open()
    } else {
        from.next().contains(&to)
    };
    if !allowed {
        return Err(AppError::Invalid(format!(
            "a {} appointment cannot become {}",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        ))
        .respond());
    }
    if to == AppointmentStatus::Cancelled {
        match reason.as_deref().map(|r| r.chars().count()) {
            Some(3..=300) => {}
            _ => {
                return Err(AppError::field(
                    "reason",
                    "say why it is cancelled (3 to 300 characters)",
                )
                .respond())
            }
        }
    }
    let cancel_reason = (to == AppointmentStatus::Cancelled)
        .then_some(reason.as_deref())
        .flatten();
    db::set_status(&mut tx, appointment_id, to, cancel_reason).await?;
    db::event(
        &mut tx,
        appointment_id,
        a.patient_id,
        to,
        a.starts_at,
        reason.as_deref(),
        Some(w.staff_id),
    )
    .await?;
    // Arriving joins the waiting-room queue; the queue follows every later step.
    super::queue::desk::follow_appointment(
        &mut tx,
        &w.tenant,
        &a,
        to,
        Some(w.staff_id),
        chrono::Utc::now(),
    )
    .await?;
    let action = if to == AppointmentStatus::Cancelled {
        "appointment.cancelled"
    } else {
        "appointment.status_changed"
    };
    w.audit(&mut tx, a.patient_id, action, Some(to.as_str()))
        .await?;
    tx.commit().await?;
    Ok(())
}

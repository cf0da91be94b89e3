//! The administrators' scheduling set-up (`/staff/scheduling`): locations,
//! practitioner profiles and their weekly hours and rounds, appointment types,
//! days off, and the clinic's booking rules. Every form is a plain form that
//! works before the page's code arrives.
// A server function's arguments are its form's fields, one each.
#![allow(clippy::too_many_arguments)]

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AppointmentType, Location};
use crate::error::AppError;
use crate::money::format_amount;
#[cfg(feature = "ssr")]
use crate::money::parse_amount;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    pub id: Uuid,
    pub location: String,
    pub rounds: bool,
    /// "Monday 09:00–13:00, every 2 weeks".
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSetup {
    pub staff_id: Uuid,
    pub name: String,
    pub role: String,
    pub practitioner: bool,
    pub specialty: Option<String>,
    pub fee: String,
    pub bookable_online: bool,
    pub active: bool,
    pub hours: Vec<Hours>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOffView {
    pub kind: String,
    pub id: Uuid,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    pub min_notice_min: i32,
    pub max_days_ahead: i32,
    pub same_day_online: bool,
    pub hold_minutes: i32,
    pub see_all_calendars: bool,
    pub public_booking: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupView {
    pub locations: Vec<Location>,
    pub types: Vec<AppointmentType>,
    pub staff: Vec<StaffSetup>,
    pub days_off: Vec<DayOffView>,
    pub rules: RulesView,
    pub clinic_time_zone: String,
    pub currency: String,
    /// Reminders and word of changes to patients (engagement).
    pub messaging: crate::engagement::MessagingSetup,
    /// The clinic's SMS and WhatsApp connections (channels).
    pub texts: crate::channels::TextSetup,
    /// The catalog's active services, which a visit type may be billed as.
    pub services: Vec<crate::billing::Service>,
    /// Locations' opening hours ("Monday 08:00–18:00" at a location).
    pub opening: Vec<Hours>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    pub use crate::forms::input::{checked, date, field, number, optional};

    pub fn minutes(name: &str, text: &str) -> Result<u32, AppError> {
        super::super::parse_clock(text)
            .ok_or_else(|| field(name, "give the time as HH:MM (24-hour)"))
    }
}

#[server(prefix = "/api", endpoint = "scheduling_setup")]
pub async fn scheduling_setup() -> Result<SetupView, AppError> {
    use super::{clock, db, WEEKDAYS};
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    let locations = db::locations(&mut tx).await?;
    let types = db::types(&mut tx).await?;
    let profiles = db::practitioners(&mut tx).await?;
    let blocks = db::blocks(&mut tx).await?;
    let opening = db::opening_hours(&mut tx).await?;
    let today = crate::patients::api::ssr::clinic_today(&w.tenant);
    let days_off = db::days_off(&mut tx, today).await?;
    let rules = db::rules(&mut tx).await?;
    let messaging = crate::engagement::db::setup(&mut tx).await?;
    let texts = crate::channels::db::setup(&mut tx, w.tenant.settings.tz()).await?;
    let mut services = crate::billing::db::services(&mut tx).await?;
    services.retain(|s| s.active);
    let staff: Vec<(Uuid, String, String)> = tx
        .fetch_all(
            "SELECT id, display_name, role FROM staff_members WHERE tenant_id = $1 AND status = 'active' \
             AND role IN ('owner', 'admin', 'manager', 'doctor', 'nurse') ORDER BY lower(display_name)",
            &[],
        )
        .await?;
    tx.commit().await?;
    let currency = w.tenant.settings.currency.clone();
    let place = |id: Uuid| {
        locations
            .iter()
            .find(|l| l.id == id)
            .map_or_else(String::new, |l| l.name.clone())
    };
    let who = |id: Option<Uuid>| {
        id.and_then(|id| profiles.iter().find(|p| p.staff_id == id))
            .map_or_else(String::new, |p| p.name.clone())
    };
    let staff = staff
        .into_iter()
        .map(|(id, name, role)| {
            let profile = profiles.iter().find(|p| p.staff_id == id);
            StaffSetup {
                staff_id: id,
                name,
                role,
                practitioner: profile.is_some(),
                specialty: profile.and_then(|p| p.specialty.clone()),
                fee: profile.map_or_else(String::new, |p| format_amount(p.fee_minor, &p.currency)),
                bookable_online: profile.is_some_and(|p| p.bookable_online),
                active: profile.is_some_and(|p| p.active),
                hours: blocks
                    .iter()
                    .filter(|b| b.staff_id == id)
                    .map(|b| Hours {
                        id: b.id,
                        location: place(b.location_id),
                        rounds: b.kind == "rounds",
                        text: format!(
                            "{} {}–{}{}{}",
                            WEEKDAYS
                                .get((b.weekday - 1).clamp(0, 6) as usize)
                                .copied()
                                .unwrap_or(""),
                            clock(u32::try_from(b.start_min).unwrap_or(0)),
                            clock(u32::try_from(b.end_min).unwrap_or(0)),
                            if b.every_weeks > 1 {
                                format!(", every {} weeks", b.every_weeks)
                            } else {
                                String::new()
                            },
                            b.valid_until
                                .map(|u| format!(", until {u}"))
                                .unwrap_or_default(),
                        ),
                    })
                    .collect(),
            }
        })
        .collect();
    let days_off = days_off
        .into_iter()
        .map(|d| DayOffView {
            text: match d.kind.as_str() {
                "leave" => format!(
                    "{}: leave {} to {}{}",
                    who(d.staff_id),
                    d.first_day,
                    d.last_day,
                    d.note.map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                "holiday" => format!(
                    "{}: {} closed{}",
                    d.first_day,
                    d.location_id
                        .map_or_else(|| "every location".to_owned(), place),
                    d.note.map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                _ => format!(
                    "{}: {} {} {}–{} at {}",
                    d.first_day,
                    who(d.staff_id),
                    if d.open { "extra hours" } else { "closed" },
                    clock(u32::try_from(d.start_min).unwrap_or(0)),
                    clock(u32::try_from(d.end_min).unwrap_or(0)),
                    d.location_id
                        .map_or_else(|| "every location".to_owned(), place),
                ),
            },
            kind: d.kind,
            id: d.id,
        })
        .collect();
    Ok(SetupView {
        locations: locations.iter().map(|l| l.view()).collect(),
        types,
        staff,
        days_off,
        rules: RulesView {
            min_notice_min: rules.min_notice_min,
            max_days_ahead: rules.max_days_ahead,
            same_day_online: rules.same_day_online,
            hold_minutes: rules.hold_minutes,
            see_all_calendars: rules.see_all_calendars,
            public_booking: rules.public_booking,
        },
        clinic_time_zone: w.tenant.settings.timezone.clone(),
        currency,
        messaging,
        texts,
        services,
        opening: opening
            .iter()
            .map(|o| Hours {
                id: o.id,
                location: place(o.location_id),
                rounds: false,
                text: format!(
                    "{} {}–{}",
                    WEEKDAYS
                        .get((o.weekday - 1).clamp(0, 6) as usize)
                        .copied()
                        .unwrap_or(""),
                    clock(u32::try_from(o.start_min).unwrap_or(0)),
                    clock(u32::try_from(o.end_min).unwrap_or(0)),
                ),
            })
            .collect(),
    })
}

#[server(prefix = "/api", endpoint = "add_location")]
pub async fn add_location(
    name: String,
    kind: String,
    address: Option<String>,
    time_zone: Option<String>,
) -> Result<Uuid, AppError> {
    use super::LocationKind;
    let w = crate::patients::api::ssr::writer()?;
    let name = crate::text::plain_name(name.trim(), 2, 80).map_err(|m| ssr::field("name", &m))?;
    let kind: LocationKind = kind
        .parse()
        .map_err(|_| ssr::field("kind", "choose clinic, hospital or virtual"))?;
    let address = ssr::optional("address", address, 300)?;
    let zone = ssr::optional("time_zone", time_zone, 64)?
        .unwrap_or_else(|| w.tenant.settings.timezone.clone());
    if zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ssr::field(
            "time_zone",
            "use an IANA time zone such as Europe/London or Asia/Kolkata",
        ));
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let id = super::db::add_location(
        &mut tx,
        &super::db::NewLocation {
            name: &name,
            kind: kind.as_str(),
            address: address.as_deref(),
            time_zone: &zone,
        },
    )
    .await
    .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "location.added", Some(&name)).await?;
    Ok(id)
}

/// Opening hours for a location on the ticked weekdays.
#[server(prefix = "/api", endpoint = "add_opening_hours")]
pub async fn add_opening_hours(
    location_id: Uuid,
    days: Option<HashMap<String, String>>,
    start: String,
    end: String,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let weekdays = ticked_weekdays(days)?;
    let (start, end) = (ssr::minutes("start", &start)?, ssr::minutes("end", &end)?);
    if end <= start {
        return Err(ssr::field(
            "end",
            "the end must be after the start (opening hours cannot cross midnight)",
        ));
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let place = super::db::location(&mut tx, location_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    for weekday in weekdays {
        super::db::add_opening(&mut tx, location_id, weekday, (start.into(), end.into())).await?;
    }
    w.finish(tx, "location.hours_changed", Some(&place.name))
        .await
}

#[server(prefix = "/api", endpoint = "remove_opening_hours")]
pub async fn remove_opening_hours(opening_id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::remove_opening(&mut tx, opening_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "location.hours_changed", Some(&opening_id.to_string()))
        .await
}

/// The weekdays (1 = Monday … 7) ticked in a form's `days[dN]` boxes.
#[cfg(feature = "ssr")]
fn ticked_weekdays(days: Option<HashMap<String, String>>) -> Result<Vec<i64>, AppError> {
    let mut weekdays: Vec<i64> = days
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| ssr::checked(&Some(v.clone())))
        .filter_map(|(k, _)| k.strip_prefix('d')?.parse::<i64>().ok())
        .filter(|d| (1..=7).contains(d))
        .collect();
    weekdays.sort_unstable();
    if weekdays.is_empty() {
        return Err(ssr::field("days", "tick at least one day"));
    }
    Ok(weekdays)
}

#[server(prefix = "/api", endpoint = "set_location_active")]
pub async fn set_location_active(location_id: Uuid, active: bool) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::set_location_active(&mut tx, location_id, active)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    let action = if active {
        "location.restored"
    } else {
        "location.retired"
    };
    w.finish(tx, action, Some(&location_id.to_string())).await
}

/// Makes a staff member bookable (or changes their profile).
#[server(prefix = "/api", endpoint = "save_practitioner")]
pub async fn save_practitioner(
    staff_id: Uuid,
    specialty: Option<String>,
    bio: Option<String>,
    fee: Option<String>,
    bookable_online: Option<String>,
    active: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let specialty = ssr::optional("specialty", specialty, 80)?;
    if specialty.as_ref().is_some_and(|s| s.chars().count() < 2) {
        return Err(ssr::field("specialty", "give at least 2 characters"));
    }
    let bio = ssr::optional("bio", bio, 1000)?;
    let currency = w.tenant.settings.currency.clone();
    let fee = match fee.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => 0,
        Some(f) => parse_amount(f, &currency)
            .filter(|m| *m <= 100_000_000)
            .ok_or_else(|| ssr::field("fee", "give the fee as an amount such as 45 or 45.50"))?,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let known: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM staff_members WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
            &[staff_id.into()],
        )
        .await?;
    if known.is_none() {
        return Err(AppError::NotFound.respond());
    }
    super::db::save_practitioner(
        &mut tx,
        &super::db::ProfileInput {
            staff_id,
            specialty: specialty.as_deref(),
            bio: bio.as_deref(),
            fee_minor: fee,
            currency: &currency,
            bookable_online: ssr::checked(&bookable_online),
            active: active.is_none() || ssr::checked(&active),
        },
    )
    .await?;
    w.finish(tx, "practitioner.saved", Some(&staff_id.to_string()))
        .await
}

/// Adds or changes an appointment type; `practitioners[s<id>]` and
/// `locations[l<id>]` (checkboxes) say who offers it where. (A key starting
/// with a letter: a leading digit would read as a list index.)
#[server(prefix = "/api", endpoint = "save_appointment_type")]
pub async fn save_appointment_type(
    type_id: Option<Uuid>,
    name: String,
    duration_min: String,
    buffer_before_min: Option<String>,
    buffer_after_min: Option<String>,
    price: Option<String>,
    capacity: Option<String>,
    colour: Option<String>,
    online_bookable: Option<String>,
    service_id: Option<String>,
    practitioners: Option<HashMap<String, String>>,
    locations: Option<HashMap<String, String>>,
) -> Result<Uuid, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let name = crate::text::plain_name(name.trim(), 2, 80).map_err(|m| ssr::field("name", &m))?;
    let duration = ssr::number("duration_min", &duration_min, 5..=480)?;
    let or_zero = |v: Option<String>| {
        v.filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "0".into())
    };
    let before = ssr::number("buffer_before_min", &or_zero(buffer_before_min), 0..=120)?;
    let after = ssr::number("buffer_after_min", &or_zero(buffer_after_min), 0..=120)?;
    let capacity = ssr::number(
        "capacity",
        &capacity
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "1".into()),
        1..=100,
    )?;
    let currency = w.tenant.settings.currency.clone();
    let service_id = match service_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(
            s.parse::<Uuid>()
                .map_err(|_| ssr::field("service_id", "choose a service from the list"))?,
        ),
    };
    let mut price = match price.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => 0,
        Some(p) => parse_amount(p, &currency)
            .filter(|m| *m <= super::MAX_VISIT_PRICE_MINOR)
            .ok_or_else(|| {
                ssr::field("price", "give the price as an amount such as 45 or 45.50")
            })?,
    };
    let colour = colour
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "#0f766e".into());
    if colour.len() != 7
        || !colour.starts_with('#')
        || !colour[1..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ssr::field("colour", "choose a colour such as #0f766e"));
    }
    let ids = |m: Option<HashMap<String, String>>, prefix: char| -> Vec<Uuid> {
        m.unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| ssr::checked(&Some(v.clone())))
            .filter_map(|(k, _)| k.strip_prefix(prefix)?.parse().ok())
            .collect()
    };
    let (staff, places) = (ids(practitioners, 's'), ids(locations, 'l'));
    if staff.is_empty() {
        return Err(ssr::field(
            "practitioners",
            "tick at least one practitioner who offers it",
        ));
    }
    if places.is_empty() {
        return Err(ssr::field(
            "locations",
            "tick at least one location where it is offered",
        ));
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let known_staff = super::db::practitioners(&mut tx).await?;
    let known_places = super::db::locations(&mut tx).await?;
    if !staff
        .iter()
        .all(|s| known_staff.iter().any(|p| p.staff_id == *s))
        || !places
            .iter()
            .all(|l| known_places.iter().any(|p| p.id == *l))
    {
        return Err(AppError::NotFound.respond());
    }
    if let Some(service) = service_id {
        // A visit billed as a service costs what the service costs.
        price = billed_price(&mut tx, service).await?;
    }
    let id = super::db::save_type(
        &mut tx,
        type_id,
        &super::db::TypeInput {
            name: &name,
            duration_min: duration,
            buffer_before_min: before,
            buffer_after_min: after,
            price_minor: price,
            currency: &currency,
            capacity,
            colour: &colour,
            online_bookable: ssr::checked(&online_bookable),
            service_id,
            practitioners: &staff,
            locations: &places,
        },
    )
    .await
    .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "appointment_type.saved", Some(&name)).await?;
    Ok(id)
}

/// The price of an active catalog service of the clinic that a visit type
/// may be billed as, or the field's message.
#[cfg(feature = "ssr")]
async fn billed_price(tx: &mut crate::db::TenantTx, service: Uuid) -> Result<i64, AppError> {
    match crate::billing::db::service(tx, service).await? {
        Some(s) if s.active && s.price_minor <= super::MAX_VISIT_PRICE_MINOR => Ok(s.price_minor),
        Some(s) if s.active => Err(ssr::field(
            "service_id",
            "this service costs more than a visit type may; choose another or change its price",
        )),
        _ => Err(ssr::field(
            "service_id",
            "choose an active service from the list",
        )),
    }
}

#[server(prefix = "/api", endpoint = "set_appointment_type_active")]
pub async fn set_appointment_type_active(type_id: Uuid, active: bool) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::set_type_active(&mut tx, type_id, active)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "appointment_type.saved", Some(&type_id.to_string()))
        .await
}

/// Adds weekly hours (or rounds) on the ticked `days[d1]` … `days[d7]`
/// (Monday … Sunday).
#[server(prefix = "/api", endpoint = "add_hours")]
pub async fn add_hours(
    staff_id: Uuid,
    location_id: Uuid,
    kind: String,
    days: Option<HashMap<String, String>>,
    start: String,
    end: String,
    every_weeks: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let kind: &'static str = match kind.as_str() {
        "clinic" => "clinic",
        "rounds" => "rounds",
        _ => return Err(ssr::field("kind", "choose clinic hours or rounds")),
    };
    let weekdays = ticked_weekdays(days)?;
    let (start, end) = (ssr::minutes("start", &start)?, ssr::minutes("end", &end)?);
    if end <= start {
        return Err(ssr::field(
            "end",
            "the end must be after the start (hours cannot cross midnight)",
        ));
    }
    let every = ssr::number(
        "every_weeks",
        &every_weeks
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "1".into()),
        1..=8,
    )?;
    let today = crate::patients::api::ssr::clinic_today(&w.tenant);
    let from = match valid_from.filter(|v| !v.trim().is_empty()) {
        None => today,
        Some(d) => ssr::date("valid_from", &d)?,
    };
    let until = match valid_until.filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(d) => Some(ssr::date("valid_until", &d)?)
            .filter(|u| *u >= from)
            .map(Some)
            .ok_or_else(|| {
                ssr::field("valid_until", "the last day must not be before the first")
            })?,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let profile = super::db::practitioners(&mut tx)
        .await?
        .into_iter()
        .any(|p| p.staff_id == staff_id);
    let place = super::db::location(&mut tx, location_id).await?;
    if !profile || place.is_none() {
        return Err(AppError::NotFound.respond());
    }
    let opened = kind == "clinic";
    for weekday in weekdays {
        super::db::add_block(
            &mut tx,
            &super::db::NewBlock {
                staff_id,
                location_id,
                kind,
                weekday,
                start_min: start.into(),
                end_min: end.into(),
                every_weeks: every,
                valid_from: from,
                valid_until: until,
            },
        )
        .await?;
    }
    if opened {
        // New hours are new time for the waitlist (as far as patients book ahead).
        let now = chrono::Utc::now();
        let ahead = super::db::rules(&mut tx).await?.max_days_ahead.clamp(1, 62);
        let span = super::slots::Span::new(now, now + chrono::Duration::days(ahead.into()));
        time_opened(&mut tx, staff_id, location_id, span).await?;
    }
    w.finish(tx, "hours.changed", Some(&staff_id.to_string()))
        .await
}

/// Time newly open for booking: the waitlist is offered it (after the
/// debounce, like freed time).
#[cfg(feature = "ssr")]
async fn time_opened(
    tx: &mut crate::db::TenantTx,
    staff: Uuid,
    location: Uuid,
    span: super::slots::Span,
) -> Result<(), AppError> {
    use super::waitlist::offers::{freed, Freed};
    let f = Freed {
        staff,
        location,
        span,
    };
    freed(tx, f, chrono::Utc::now()).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "remove_hours")]
pub async fn remove_hours(block_id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::remove_block(&mut tx, block_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.finish(tx, "hours.changed", Some(&block_id.to_string()))
        .await
}

/// A day off or changed: `leave` (a practitioner, days), `holiday` (a
/// location or all, one day), `closed` or `extra` (a practitioner, one day,
/// hours).
#[server(prefix = "/api", endpoint = "add_day_off")]
pub async fn add_day_off(
    kind: String,
    staff_id: Option<String>,
    location_id: Option<String>,
    first_day: String,
    last_day: Option<String>,
    start: Option<String>,
    end: Option<String>,
    note: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let first = ssr::date("first_day", &first_day)?;
    let note = ssr::optional("note", note, 200)?;
    let uuid = |name: &str, v: Option<String>| -> Result<Option<Uuid>, AppError> {
        match v.filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ssr::field(name, "choose from the list")),
        }
    };
    let staff = uuid("staff_id", staff_id)?;
    let location = uuid("location_id", location_id)?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    if let Some(s) = staff {
        if !super::db::practitioners(&mut tx)
            .await?
            .iter()
            .any(|p| p.staff_id == s)
        {
            return Err(AppError::NotFound.respond());
        }
    }
    if let Some(l) = location {
        super::db::location(&mut tx, l)
            .await?
            .ok_or_else(|| AppError::NotFound.respond())?;
    }
    match kind.as_str() {
        "leave" => {
            let staff = staff.ok_or_else(|| ssr::field("staff_id", "choose whose leave it is"))?;
            let last = match last_day.filter(|v| !v.trim().is_empty()) {
                None => first,
                Some(d) => ssr::date("last_day", &d)?,
            };
            if last < first || (last - first).num_days() > 366 {
                return Err(ssr::field(
                    "last_day",
                    "the last day must be on or after the first, within a year",
                ));
            }
            super::db::add_leave(&mut tx, staff, first, last, note.as_deref()).await?;
        }
        "holiday" => {
            let name = note.ok_or_else(|| ssr::field("note", "name the holiday"))?;
            if name.chars().count() < 2 {
                return Err(ssr::field("note", "name the holiday"));
            }
            super::db::add_holiday(&mut tx, location, first, &name).await?;
        }
        "closed" | "extra" => {
            let staff = staff.ok_or_else(|| ssr::field("staff_id", "choose whose day it is"))?;
            let open = kind == "extra";
            if open && location.is_none() {
                return Err(ssr::field(
                    "location_id",
                    "choose where the extra hours are",
                ));
            }
            let start = ssr::minutes("start", start.as_deref().unwrap_or("00:00"))?;
            let end = ssr::minutes("end", end.as_deref().unwrap_or("24:00"))?;
            if end <= start {
                return Err(ssr::field("end", "the end must be after the start"));
            }
            super::db::add_override(
                &mut tx,
                &super::db::NewOverride {
                    staff_id: staff,
                    location_id: location,
                    on_date: first,
                    open,
                    start_min: start.into(),
                    end_min: end.into(),
                    note: note.as_deref(),
                },
            )
            .await?;
            if let Some(place) = location.filter(|_| open) {
                let tz = super::db::location(&mut tx, place)
                    .await?
                    .map_or(w.tenant.settings.tz(), |l| l.tz());
                let span = super::slots::Span::new(
                    super::slots::instant(tz, first, start),
                    super::slots::instant(tz, first, end),
                );
                time_opened(&mut tx, staff, place, span).await?;
            }
        }
        _ => {
            return Err(ssr::field(
                "kind",
                "choose leave, a holiday, closed or extra hours",
            ))
        }
    }
    w.finish(tx, "hours.changed", Some(&kind)).await
}

#[server(prefix = "/api", endpoint = "remove_day_off")]
pub async fn remove_day_off(kind: String, id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let removed = super::db::remove_day_off(&mut tx, &kind, id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    time_given_back(&mut tx, &removed).await?;
    w.finish(tx, "hours.changed", Some(&kind)).await
}

/// Leave, a holiday or a closed day taken back gives its time back to the
/// practitioners' clinic hours it covered: the waitlist is offered it (from
/// now, within the booking window). Extra hours taken back give nothing.
#[cfg(feature = "ssr")]
async fn time_given_back(
    tx: &mut crate::db::TenantTx,
    removed: &super::db::DayOff,
) -> Result<(), AppError> {
    use super::slots::{instant, Span};
    if removed.open {
        return Ok(());
    }
    let places: std::collections::BTreeSet<(Uuid, Uuid, String)> = super::db::blocks(tx)
        .await?
        .into_iter()
        .filter(|b| b.kind == "clinic")
        .filter(|b| removed.staff_id.is_none_or(|s| s == b.staff_id))
        .filter(|b| removed.location_id.is_none_or(|l| l == b.location_id))
        .map(|b| (b.staff_id, b.location_id, b.time_zone))
        .collect();
    let now = chrono::Utc::now();
    let ahead = super::db::rules(tx).await?.max_days_ahead.clamp(1, 62);
    let horizon = now + chrono::Duration::days(ahead.into());
    let (from, until) = (
        u32::try_from(removed.start_min).unwrap_or(0),
        u32::try_from(removed.end_min).unwrap_or(1440),
    );
    for (staff, place, zone) in places {
        let tz = zone.parse().unwrap_or(chrono_tz::UTC);
        let span = Span::new(
            instant(tz, removed.first_day, from).max(now),
            instant(tz, removed.last_day, until).min(horizon),
        );
        if span.start < span.end {
            time_opened(tx, staff, place, span).await?;
        }
    }
    Ok(())
}

#[server(prefix = "/api", endpoint = "save_scheduling_rules")]
pub async fn save_scheduling_rules(
    min_notice_min: String,
    max_days_ahead: String,
    hold_minutes: String,
    same_day_online: Option<String>,
    see_all_calendars: Option<String>,
    public_booking: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let notice = ssr::number("min_notice_min", &min_notice_min, 0..=20160)?;
    let ahead = ssr::number("max_days_ahead", &max_days_ahead, 1..=730)?;
    let hold = ssr::number("hold_minutes", &hold_minutes, 1..=60)?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let mut rules = super::db::rules(&mut tx).await?;
    rules.min_notice_min = i32::try_from(notice).unwrap_or(60);
    rules.max_days_ahead = i32::try_from(ahead).unwrap_or(90);
    rules.hold_minutes = i32::try_from(hold).unwrap_or(10);
    rules.same_day_online = ssr::checked(&same_day_online);
    rules.see_all_calendars = ssr::checked(&see_all_calendars);
    rules.public_booking = ssr::checked(&public_booking);
    super::db::save_rules(&mut tx, &rules).await?;
    w.finish(tx, "scheduling.rules_changed", None).await
}

const SECTION: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-4";

/// `/staff/scheduling`: the administrators' set-up.
#[component]
pub fn SchedulingSetupPage() -> impl IntoView {
    let setup = Resource::new(
        || (),
        |_| async { scheduling_setup().await.map(super::SchedulingPage::Setup) },
    );
    view! {
        <crate::shell::PageTitle text="Scheduling set-up"/>
        <crate::identity::pages::SignedInShell testid="scheduling-setup-page">
            <h1 class="text-xl font-semibold">"Scheduling set-up"</h1>
            <p class="mt-1 text-sm text-slate-600">"Where you see patients, who sees them and when, and what can be booked."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match setup.await {
                        Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                        Ok(super::SchedulingPage::Setup(s)) => view! { <Setup s/> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
    .into_any()
}

fn api(name: &str) -> String {
    crate::site::current_site().href(&format!("/api/{name}"))
}

#[component]
fn Setup(s: SetupView) -> impl IntoView {
    let input = crate::identity::pages::INPUT;
    let button = crate::identity::pages::BUTTON;
    let kept = |path: &str, f: &str| crate::forms::kept(path, f);
    let practitioners: Vec<StaffSetup> =
        s.staff.iter().filter(|p| p.practitioner).cloned().collect();
    let locations = s.locations.clone();
    let location_options = move || {
        locations
            .iter()
            .filter(|l| l.active)
            .map(|l| view! { <option value=l.id.to_string()>{l.name.clone()}</option> })
            .collect_view()
    };
    let practitioner_options = {
        let practitioners = practitioners.clone();
        move || {
            practitioners
                .iter()
                .map(|p| view! { <option value=p.staff_id.to_string()>{p.name.clone()}</option> })
                .collect_view()
        }
    };
    view! {
        <section class=SECTION data-testid="setup-locations">
            <h2 class="font-medium">"Locations"</h2>
            <crate::forms::PlainFormError path="/api/add_location"/>
            <crate::forms::PlainFormError path="/api/set_location_active"/>
            <crate::forms::PlainFormError path="/api/add_opening_hours"/>
            <crate::forms::PlainFormError path="/api/remove_opening_hours"/>
            <ul class="mt-2 divide-y divide-slate-200">
                {s.locations.iter().map(|l| view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="location">
                        <span class=if l.active { "" } else { "text-slate-500 line-through" }>
                            {format!("{} ({}, {})", l.name, l.kind, l.time_zone)}{l.address.clone().map(|a| format!(" · {a}"))}
                        </span>
                        <form method="post" action=api("set_location_active")>
                            <input type="hidden" name="location_id" value=l.id.to_string()/>
                            <input type="hidden" name="active" value=if l.active { "false" } else { "true" }/>
                            <button type="submit" class="rounded border px-2 py-1 text-sm">{if l.active { "Retire" } else { "Restore" }}</button>
                        </form>
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action=api("add_location") class="mt-3 grid gap-2 sm:grid-cols-2" data-testid="add-location">
                <label class="text-sm">"Name"<input name="name" required class=input value=kept("/api/add_location", "name")/></label>
                <label class="text-sm">"Kind"<select name="kind" class=input>
                    <option value="clinic">"Clinic"</option><option value="hospital">"Hospital (rounds)"</option><option value="virtual">"Virtual (video)"</option>
                </select></label>
                <label class="text-sm">"Address"<input name="address" class=input value=kept("/api/add_location", "address")/></label>
                <label class="text-sm">"Time zone"<input name="time_zone" class=input value=s.clinic_time_zone.clone()/></label>
                <div><button type="submit" class=button>"Add location"</button></div>
            </form>
            <h3 class="mt-4 font-medium">"Opening hours"</h3>
            <p class="text-sm text-slate-600">"Practitioners' weekly hours at a location are bookable only while it is open. A location without opening hours is open whenever its practitioners work; extra hours on a date always count."</p>
            <ul class="mt-1 text-sm" aria-label="Opening hours">
                {s.opening.iter().map(|h| view! {
                    <li class="flex items-center gap-2" data-testid="opening-hours">
                        <span>{format!("{}: {}", h.location, h.text)}</span>
                        <form method="post" action=api("remove_opening_hours")>
                            <input type="hidden" name="opening_id" value=h.id.to_string()/>
                            <button type="submit" class="text-red-700 underline">"Remove"</button>
                        </form>
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action=api("add_opening_hours") class="mt-2 grid gap-2 sm:grid-cols-3" data-testid="add-opening-hours">
                <label class="text-sm">"Location"<select name="location_id" class=input>{location_options.clone()}</select></label>
                <label class="text-sm">"Opens"<input name="start" type="time" required class=input value="08:00"/></label>
                <label class="text-sm">"Closes"<input name="end" type="time" required class=input value="18:00"/></label>
                <fieldset class="flex flex-wrap gap-2 text-sm sm:col-span-3"><legend>"Days"</legend>
                    {super::WEEKDAYS.iter().enumerate().map(|(i, d)| view! {
                        <label><input type="checkbox" name=format!("days[d{}]", i + 1) value="on"/>" "{*d}</label>
                    }).collect_view()}
                </fieldset>
                <div><button type="submit" class=button>"Add opening hours"</button></div>
            </form>
        </section>

        <section class=SECTION data-testid="setup-practitioners">
            <h2 class="font-medium">"Practitioners"</h2>
            <crate::forms::PlainFormError path="/api/save_practitioner"/>
            <crate::forms::PlainFormError path="/api/add_hours"/>
            <crate::forms::PlainFormError path="/api/remove_hours"/>
            <ul class="mt-2 space-y-3">
                {s.staff.iter().map(|p| view! {
                    <li class="rounded border border-slate-200 p-3" data-testid="practitioner" data-name=p.name.clone()>
                        <form method="post" action=api("save_practitioner") class="flex flex-wrap items-end gap-2">
                            <input type="hidden" name="staff_id" value=p.staff_id.to_string()/>
                            <span class="min-w-40 font-medium">{p.name.clone()}<span class="block text-xs text-slate-500">{p.role.clone()}</span></span>
                            <label class="text-sm">"Specialty"<input name="specialty" class=input value=p.specialty.clone().unwrap_or_default()/></label>
                            <label class="text-sm">{format!("Fee ({})", s.currency)}<input name="fee" inputmode="decimal" class=input value=p.fee.clone()/></label>
                            <label class="text-sm"><input type="checkbox" name="bookable_online" value="on" checked=p.bookable_online/>" Bookable online"</label>
                            <input type="hidden" name="active" value="on"/>
                            <button type="submit" class="rounded border px-2 py-1 text-sm">{if p.practitioner { "Save profile" } else { "Sees patients" }}</button>
                        </form>
                        {(!p.hours.is_empty()).then(|| view! {
                            <ul class="mt-2 text-sm" aria-label="Hours">
                                {p.hours.iter().map(|h| view! {
                                    <li class="flex items-center gap-2" data-testid="hours">
                                        <span>{format!("{}{} at {}", if h.rounds { "Rounds: " } else { "" }, h.text, h.location)}</span>
                                        <form method="post" action=api("remove_hours")>
                                            <input type="hidden" name="block_id" value=h.id.to_string()/>
                                            <button type="submit" class="text-red-700 underline">"Remove"</button>
                                        </form>
                                    </li>
                                }).collect_view()}
                            </ul>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action=api("add_hours") class="mt-4 grid gap-2 sm:grid-cols-3" data-testid="add-hours">
                <h3 class="font-medium sm:col-span-3">"Add weekly hours or rounds"</h3>
                <label class="text-sm">"Practitioner"<select name="staff_id" class=input>{practitioner_options.clone()}</select></label>
                <label class="text-sm">"Location"<select name="location_id" class=input>{location_options.clone()}</select></label>
                <label class="text-sm">"Kind"<select name="kind" class=input>
                    <option value="clinic">"Clinic hours (bookable)"</option><option value="rounds">"Hospital rounds (not bookable)"</option>
                </select></label>
                <fieldset class="flex flex-wrap gap-2 text-sm sm:col-span-3"><legend>"Days"</legend>
                    {super::WEEKDAYS.iter().enumerate().map(|(i, d)| view! {
                        <label><input type="checkbox" name=format!("days[d{}]", i + 1) value="on"/>" "{*d}</label>
                    }).collect_view()}
                </fieldset>
                <label class="text-sm">"From"<input name="start" type="time" required class=input value="09:00"/></label>
                <label class="text-sm">"Until"<input name="end" type="time" required class=input value="13:00"/></label>
                <label class="text-sm">"Every … weeks"<input name="every_weeks" type="number" min="1" max="8" class=input value="1"/></label>
                <div><button type="submit" class=button>"Add hours"</button></div>
            </form>
        </section>

        <section class=SECTION data-testid="setup-types">
            <h2 class="font-medium">"Visit types"</h2>
            <crate::forms::PlainFormError path="/api/save_appointment_type"/>
            <ul class="mt-2 divide-y divide-slate-200">
                {s.types.iter().map(|t| view! {
                    <li class="py-2" data-testid="appointment-type">
                        <span class="mr-2 inline-block h-3 w-3 rounded-full" style=format!("background:{}", t.colour)></span>
                        {format!("{}: {} min{}{}, {} {}{}", t.name, t.duration_min,
                            if t.buffer_before_min + t.buffer_after_min > 0 { format!(" (+{} / +{} min buffers)", t.buffer_before_min, t.buffer_after_min) } else { String::new() },
                            if t.capacity > 1 { format!(", {} places", t.capacity) } else { String::new() },
                            format_amount(t.price_minor, &t.currency), t.currency,
                            if t.online_bookable { ", online" } else { "" })}
                        {t.service_id.and_then(|id| s.services.iter().find(|c| c.id == id)).map(|c| view! {
                            <span class="ml-1 text-slate-600" data-testid="billed-as">{format!("· billed as {} {}", c.code, c.name)}</span>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action=api("save_appointment_type") class="mt-3 grid gap-2 sm:grid-cols-3" data-testid="add-type">
                <label class="text-sm">"Name"<input name="name" required class=input value=kept("/api/save_appointment_type", "name")/></label>
                <label class="text-sm">"Minutes"<input name="duration_min" type="number" min="5" max="480" required class=input value="15"/></label>
                <label class="text-sm">{format!("Price ({})", s.currency)}<input name="price" inputmode="decimal" class=input/></label>
                <label class="text-sm">"Buffer before (min)"<input name="buffer_before_min" type="number" min="0" max="120" class=input value="0"/></label>
                <label class="text-sm">"Buffer after (min)"<input name="buffer_after_min" type="number" min="0" max="120" class=input value="0"/></label>
                <label class="text-sm">"Places (group)"<input name="capacity" type="number" min="1" max="100" class=input value="1"/></label>
                <label class="text-sm">"Colour"<input name="colour" type="color" class="h-10 w-full" value="#0f766e"/></label>
                <label class="text-sm">"Billed as"<select name="service_id" class=input>
                    <option value="">"Its own price (no catalog service)"</option>
                    {s.services.iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} {}", c.code, c.name)}</option> }).collect_view()}
                </select></label>
                <label class="text-sm"><input type="checkbox" name="online_bookable" value="on"/>" Patients can book it online"</label>
                <fieldset class="text-sm sm:col-span-3"><legend>"Offered by"</legend>
                    {practitioners.iter().map(|p| view! {
                        <label class="mr-3"><input type="checkbox" name=format!("practitioners[s{}]", p.staff_id) value="on"/>" "{p.name.clone()}</label>
                    }).collect_view()}
                </fieldset>
                <fieldset class="text-sm sm:col-span-3"><legend>"At"</legend>
                    {s.locations.iter().filter(|l| l.active).map(|l| view! {
                        <label class="mr-3"><input type="checkbox" name=format!("locations[l{}]", l.id) value="on"/>" "{l.name.clone()}</label>
                    }).collect_view()}
                </fieldset>
                <div><button type="submit" class=button>"Add visit type"</button></div>
            </form>
        </section>

        <section class=SECTION data-testid="setup-days-off">
            <h2 class="font-medium">"Leave, holidays and changed days"</h2>
            <crate::forms::PlainFormError path="/api/add_day_off"/>
            <ul class="mt-2 text-sm">
                {s.days_off.iter().map(|d| view! {
                    <li class="flex items-center gap-2" data-testid="day-off">
                        <span>{d.text.clone()}</span>
                        <form method="post" action=api("remove_day_off")>
                            <input type="hidden" name="kind" value=d.kind.clone()/>
                            <input type="hidden" name="id" value=d.id.to_string()/>
                            <button type="submit" class="text-red-700 underline">"Remove"</button>
                        </form>
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action=api("add_day_off") class="mt-3 grid gap-2 sm:grid-cols-3" data-testid="add-day-off">
                <label class="text-sm">"What"<select name="kind" class=input>
                    <option value="leave">"Leave (whole days)"</option>
                    <option value="holiday">"Holiday (location closed)"</option>
                    <option value="closed">"Practitioner away (hours)"</option>
                    <option value="extra">"Extra hours"</option>
                </select></label>
                <label class="text-sm">"Practitioner"<select name="staff_id" class=input><option value="">"—"</option>{practitioner_options}</select></label>
                <label class="text-sm">"Location"<select name="location_id" class=input><option value="">"Every location"</option>{location_options}</select></label>
                <label class="text-sm">"Day"<input name="first_day" type="date" required class=input/></label>
                <label class="text-sm">"Last day (leave)"<input name="last_day" type="date" class=input/></label>
                <label class="text-sm">"Note or holiday name"<input name="note" class=input/></label>
                <label class="text-sm">"From"<input name="start" type="time" class=input value="00:00"/></label>
                <label class="text-sm">"Until"<input name="end" type="time" class=input value="23:59"/></label>
                <div><button type="submit" class=button>"Add"</button></div>
            </form>
        </section>

        <section class=SECTION data-testid="setup-rules">
            <h2 class="font-medium">"Booking rules"</h2>
            <crate::forms::PlainFormError path="/api/save_scheduling_rules"/>
            <form method="post" action=api("save_scheduling_rules") class="mt-2 grid gap-2 sm:grid-cols-3">
                <label class="text-sm">"Minimum notice for online booking (minutes)"<input name="min_notice_min" type="number" min="0" max="20160" class=input value=s.rules.min_notice_min.to_string()/></label>
                <label class="text-sm">"Book at most … days ahead"<input name="max_days_ahead" type="number" min="1" max="730" class=input value=s.rules.max_days_ahead.to_string()/></label>
                <label class="text-sm">"Hold a chosen time for (minutes)"<input name="hold_minutes" type="number" min="1" max="60" class=input value=s.rules.hold_minutes.to_string()/></label>
                <label class="text-sm"><input type="checkbox" name="same_day_online" value="on" checked=s.rules.same_day_online/>" Same-day online booking"</label>
                <label class="text-sm"><input type="checkbox" name="see_all_calendars" value="on" checked=s.rules.see_all_calendars/>" Doctors see each other's calendars"</label>
                <label class="text-sm"><input type="checkbox" name="public_booking" value="on" checked=s.rules.public_booking/>" Online booking (the public page /book and the portal)"</label>
                <div><button type="submit" class=button>"Save rules"</button></div>
            </form>
        </section>

        <crate::engagement::pages::MessagingSetupSection setup=s.messaging.clone() texts=s.texts.clone()/>
    }
    .into_any()
}

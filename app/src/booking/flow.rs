//! The public booking page's steps: what is offered (soonest times first), the
//! request with its emailed code, the confirmation, and the patient's own link
//! to see or cancel the visit.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::db::{self as booking_db, Pick};
use crate::db::{Db, TenantTx};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::secrets;
use crate::scheduling::api::ssr::{self as slots_api, Booker};
use crate::scheduling::api::ssr_book;
use crate::scheduling::db::{self as sched, LocationRow, PractitionerRow, Rules, TypeRow};
use crate::scheduling::AppointmentStatus;
use crate::tenancy::TenantPublic;

/// Wrong codes allowed before the request is dropped.
pub const CODE_TRIES: i32 = 5;
/// How many times are offered per visit type on the first screen.
const SOONEST_PER_TYPE: usize = 3;
/// How far the first screen looks for the soonest times (within the clinic's window).
const SOONEST_HORIZON_DAYS: i64 = 42;
/// The days one screen of times covers.
const WEEK: i64 = 7;

/// A free time as the page offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time {
    pub type_id: Uuid,
    pub staff_id: Uuid,
    pub practitioner: String,
    pub location_id: Uuid,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    /// "Thu 3 Dec", "09:30" and "+01:00" in the location's zone.
    pub day: String,
    pub time: String,
    pub offset: String,
}

/// A visit type the public may book, with its soonest times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub type_id: Uuid,
    pub name: String,
    pub minutes: i32,
    pub price: Option<String>,
    pub soonest: Vec<Time>,
}

/// What the visitor narrowed the times to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    pub type_id: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub location_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
}

/// One screen of times for one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub choice: Choice,
    pub filter: Filter,
    pub from: NaiveDate,
    pub practitioners: Vec<(Uuid, String)>,
    pub locations: Vec<(Uuid, String)>,
    pub days: Vec<(String, Vec<Time>)>,
    pub earlier: Option<NaiveDate>,
    pub later: Option<NaiveDate>,
}

/// The clinic's bookable offer, read once per page.
struct Offer {
    rules: Rules,
    types: Vec<TypeRow>,
    offered: Vec<crate::scheduling::AppointmentType>,
    locations: Vec<LocationRow>,
    practitioners: Vec<PractitionerRow>,
}

impl Offer {
    async fn read(tx: &mut TenantTx) -> Result<Self, AppError> {
        let rules = sched::rules(tx).await?;
        if !rules.public_booking {
            return Err(AppError::NotFound);
        }
        let offered: Vec<_> = sched::types(tx)
            .await?
            .into_iter()
            .filter(|t| t.active && t.online_bookable)
            .collect();
        let mut types = Vec::with_capacity(offered.len());
        for t in &offered {
            if let Some(row) = sched::appointment_type(tx, t.id).await? {
                types.push(row);
            }
        }
        let locations = sched::locations(tx)
            .await?
            .into_iter()
            .filter(|l| l.active)
            .collect();
        let practitioners = sched::practitioners(tx)
            .await?
            .into_iter()
            .filter(|p| p.active && p.bookable_online)
            .collect();
        Ok(Self {
            rules,
            types,
            offered,
            locations,
            practitioners,
        })
    }

    fn type_row(&self, id: Uuid) -> Option<&TypeRow> {
        self.types.iter().find(|t| t.id == id)
    }

    /// Where `t` is offered online (narrowed to `only`), and by whom.
    fn places(&self, t: Uuid, filter: &Filter) -> Vec<(&LocationRow, Vec<Uuid>)> {
        let Some(offered) = self.offered.iter().find(|o| o.id == t) else {
            return Vec::new();
        };
        self.locations
            .iter()
            .filter(|l| offered.locations.contains(&l.id))
            .filter(|l| filter.location_id.is_none_or(|only| only == l.id))
            .map(|l| {
                let staff = self
                    .practitioners
                    .iter()
                    .filter(|p| offered.practitioners.contains(&p.staff_id))
                    .filter(|p| filter.staff_id.is_none_or(|only| only == p.staff_id))
                    .map(|p| p.staff_id)
                    .collect();
                (l, staff)
            })
            .filter(|(_, staff): &(&LocationRow, Vec<Uuid>)| !staff.is_empty())
            .collect()
    }

    fn practitioner(&self, id: Uuid) -> &str {
        self.practitioners
            .iter()
            .find(|p| p.staff_id == id)
            .map_or("", |p| p.name.as_str())
    }

    fn choice(&self, t: &TypeRow, soonest: Vec<Time>) -> Choice {
        Choice {
            type_id: t.id,
            name: t.name.clone(),
            minutes: t.duration_min,
            price: (t.price_minor > 0)
                .then(|| crate::money::format_amount(t.price_minor, &t.currency)),
            soonest,
        }
    }

    /// Free times of `t` over local days `days`, soonest first.
    async fn times(
        &self,
        tx: &mut TenantTx,
        clinic_tz: Tz,
        t: &TypeRow,
        filter: &Filter,
        days: (NaiveDate, NaiveDate),
        now: DateTime<Utc>,
    ) -> Result<Vec<Time>, AppError> {
        let mut out = Vec::new();
        for (location, staff) in self.places(t.id, filter) {
            let bounds = slots_api::bounds(Booker::Online, &self.rules, location.tz(), now);
            let wanted = slots_api::wanted(t, location, days, bounds);
            for (staff_id, slot) in slots_api::free(tx, clinic_tz, &staff, &wanted).await? {
                let v = slots_api::view(location.tz(), staff_id, &slot);
                out.push(Time {
                    type_id: t.id,
                    staff_id,
                    practitioner: self.practitioner(staff_id).to_owned(),
                    location_id: location.id,
                    location: location.name.clone(),
                    starts_at: slot.start,
                    day: v.day,
                    time: v.time,
                    offset: v.offset,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.starts_at, &a.practitioner, &a.location).cmp(&(
                b.starts_at,
                &b.practitioner,
                &b.location,
            ))
        });
        Ok(out)
    }

    /// The last local day patients may book, from the clinic's window.
    fn last_day(&self, today: NaiveDate) -> NaiveDate {
        today + Duration::days(i64::from(self.rules.max_days_ahead))
    }
}

fn today(tenant: &TenantPublic, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tenant.settings.tz()).date_naive()
}

/// The first screen: every type the public may book with its soonest times.
pub async fn soonest(
    db: &Db,
    tenant: &TenantPublic,
    now: DateTime<Utc>,
) -> Result<Vec<Choice>, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let offer = Offer::read(&mut tx).await?;
    let today = today(tenant, now);
    let last = offer
        .last_day(today)
        .min(today + Duration::days(SOONEST_HORIZON_DAYS));
    let mut out = Vec::new();
    for t in &offer.types {
        let mut found = Vec::new();
        let mut first = today;
        // A fortnight at a time, until enough times are found.
        while first <= last && found.len() < SOONEST_PER_TYPE {
            let until = (first + Duration::days(13)).min(last);
            let times = offer
                .times(
                    &mut tx,
                    tenant.settings.tz(),
                    t,
                    &Filter::default(),
                    (first, until),
                    now,
                )
                .await?;
            found.extend(times.into_iter().take(SOONEST_PER_TYPE - found.len()));
            first = until + Duration::days(1);
        }
        if !offer.places(t.id, &Filter::default()).is_empty() {
            out.push(offer.choice(t, found));
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// A week of one type's times, narrowed by practitioner and place.
pub async fn week(
    db: &Db,
    tenant: &TenantPublic,
    filter: Filter,
    now: DateTime<Utc>,
) -> Result<Week, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let offer = Offer::read(&mut tx).await?;
    let t = filter
        .type_id
        .and_then(|id| offer.type_row(id))
        .ok_or(AppError::NotFound)?
        .clone();
    let today = today(tenant, now);
    let last = offer.last_day(today);
    let from = filter.from.unwrap_or(today).clamp(today, last.max(today));
    let until = (from + Duration::days(WEEK - 1)).min(last);
    let times = offer
        .times(
            &mut tx,
            tenant.settings.tz(),
            &t,
            &filter,
            (from, until),
            now,
        )
        .await?;
    let mut days: Vec<(String, Vec<Time>)> = Vec::new();
    for time in times {
        match days.last_mut() {
            Some((day, list)) if *day == time.day => list.push(time),
            _ => days.push((time.day.clone(), vec![time])),
        }
    }
    let all_places = offer.places(t.id, &Filter::default());
    let locations = all_places
        .iter()
        .map(|(l, _)| (l.id, l.name.clone()))
        .collect();
    let mut staff: Vec<Uuid> = all_places
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .collect();
    staff.sort();
    staff.dedup();
    let mut practitioners: Vec<(Uuid, String)> = staff
        .into_iter()
        .map(|s| (s, offer.practitioner(s).to_owned()))
        .collect();
    practitioners.sort_by(|a, b| a.1.cmp(&b.1));
    tx.commit().await?;
    Ok(Week {
        choice: offer.choice(&t, Vec::new()),
        filter,
        from,
        practitioners,
        locations,
        days,
        earlier: (from > today).then(|| (from - Duration::days(WEEK)).max(today)),
        later: (until < last).then(|| until + Duration::days(1)),
    })
}

/// The chosen time and its visit type's name, if it is still free for the
/// public: the details step shows them.
pub async fn chosen(
    db: &Db,
    tenant: &TenantPublic,
    pick: &Pick,
    now: DateTime<Utc>,
) -> Result<Option<(Time, String)>, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let found = free_time(&mut tx, tenant, pick, now).await?;
    tx.commit().await?;
    Ok(found)
}

async fn free_time(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    pick: &Pick,
    now: DateTime<Utc>,
) -> Result<Option<(Time, String)>, AppError> {
    let offer = Offer::read(tx).await?;
    let Some(t) = offer.type_row(pick.type_id).cloned() else {
        return Ok(None);
    };
    let filter = Filter {
        type_id: Some(t.id),
        staff_id: Some(pick.staff_id),
        location_id: Some(pick.location_id),
        from: None,
    };
    let Some(location) = offer.locations.iter().find(|l| l.id == pick.location_id) else {
        return Ok(None);
    };
    let day = pick.starts_at.with_timezone(&location.tz()).date_naive();
    let times = offer
        .times(tx, tenant.settings.tz(), &t, &filter, (day, day), now)
        .await?;
    Ok(times
        .into_iter()
        .find(|time| time.starts_at == pick.starts_at)
        .map(|time| (time, t.name.clone())))
}

/// The fields of the details step, as typed.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub given_name: String,
    pub family_name: String,
    pub birth_date: String,
    pub sex: String,
    pub email: String,
    pub phone: String,
}

/// Step two: checks what was typed, holds the time and emails the code.
/// Answers the request's id (the code page's address).
pub async fn request(
    db: &Db,
    tenant: &TenantPublic,
    pick: &Pick,
    typed: Typed,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    refuse_when_paused(tenant, now)?;
    let who = crate::patients::api::read_demographics(
        tenant,
        typed.given_name,
        typed.family_name,
        None,
        typed.birth_date,
        if typed.sex.trim().is_empty() {
            "unknown".into()
        } else {
            typed.sex
        },
        None,
        Some(typed.phone),
        Some(typed.email),
        None,
        None,
        None,
    )?;
    let Some(email) = who.email.clone() else {
        return Err(AppError::field(
            "email",
            "enter your email address: the code that confirms the booking is sent there",
        ));
    };
    let mut tx = db.begin_for(tenant.id).await?;
    booking_db::clear_stale(&mut tx, &email, now).await?;
    let Some(_) = free_time(&mut tx, tenant, pick, now).await? else {
        drop(tx);
        return Err(taken(db, tenant, pick).await);
    };
    let t = sched::appointment_type(&mut tx, pick.type_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rules = sched::rules(&mut tx).await?;
    let id = Uuid::now_v7();
    let code = new_code();
    let expires_at = now + Duration::minutes(i64::from(rules.hold_minutes));
    booking_db::insert_request(&mut tx, id, pick, &who, &code_hash(id, &code), expires_at).await?;
    if t.capacity == 1 {
        let occupied = (
            pick.starts_at - Duration::minutes(t.buffer_before_min.into()),
            pick.starts_at + Duration::minutes((t.duration_min + t.buffer_after_min).into()),
        );
        match booking_db::hold(
            &mut tx,
            id,
            pick.staff_id,
            pick.starts_at,
            occupied,
            expires_at,
            now,
        )
        .await
        {
            Ok(()) => {}
            Err(e) if booking_db::is_held(&e) => {
                drop(tx);
                return Err(taken(db, tenant, pick).await);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let to = crate::identity::Email::parse(&email).map_err(|m| AppError::field("email", m))?;
    let link = format!("{origin}/t/{}/book/verify?request={id}", tenant.slug);
    let minutes = rules.hold_minutes.to_string();
    let message = crate::mail::branded(
        Some(tenant),
        &to,
        "Your booking code",
        &[
            &format!(
                "Your code to confirm your booking at {} is {code}.",
                tenant.name
            ),
            &format!(
                "It works for {minutes} minutes. If you did not ask to book, ignore this message."
            ),
        ],
        ("Enter the code", &link),
    );
    crate::mail::enqueue(tx.platform(), &message).await?;
    tx.commit().await?;
    Ok(id)
}

/// A request waiting for its code, for the code page (its time, never what was typed).
pub async fn waiting(
    db: &Db,
    tenant: &TenantPublic,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Time>, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let Some(p) = booking_db::pending(&mut tx, id).await? else {
        return Ok(None);
    };
    if p.expires_at <= now {
        return Ok(None);
    }
    let offer = Offer::read(&mut tx).await?;
    let location = offer.locations.iter().find(|l| l.id == p.location_id);
    let t = offer.type_row(p.type_id);
    let (Some(location), Some(t)) = (location, t) else {
        return Ok(None);
    };
    let tz = location.tz();
    let local = p.starts_at.with_timezone(&tz);
    let time = Time {
        type_id: t.id,
        staff_id: p.staff_id,
        practitioner: offer.practitioner(p.staff_id).to_owned(),
        location_id: location.id,
        location: location.name.clone(),
        starts_at: p.starts_at,
        day: local.format("%a %-d %b").to_string(),
        time: local.format("%H:%M").to_string(),
        offset: local.format("%:z").to_string(),
    };
    tx.commit().await?;
    Ok(Some(time))
}

/// Step three: the code. Registers the patient (a possible duplicate is noted
/// for the front desk to confirm and merge, never linked by itself), books the
/// visit, emails the confirmation with its calendar entry and answers the
/// secret of the patient's "manage your booking" link.
pub async fn confirm(
    db: &Db,
    tenant: &TenantPublic,
    id: Uuid,
    code: &str,
    origin: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    refuse_when_paused(tenant, now)?;
    let start_again = |why: &str| AppError::Invalid(format!("{why}: please choose a time again"));
    let mut tx = db.begin_for(tenant.id).await?;
    let Some(p) = booking_db::pending(&mut tx, id).await? else {
        return Err(start_again("this booking request is no longer open"));
    };
    if p.expires_at <= now || p.attempts >= CODE_TRIES {
        booking_db::drop_request(&mut tx, id).await?;
        tx.commit().await?;
        return Err(start_again(if p.attempts >= CODE_TRIES {
            "too many wrong codes were tried"
        } else {
            "the code has expired and the time is no longer held"
        }));
    }
    let typed: String = code.chars().filter(char::is_ascii_digit).collect();
    if !constant_time_eq(code_hash(id, &typed).as_bytes(), p.code_hash.as_bytes()) {
        let used = booking_db::count_attempt(&mut tx, id).await?;
        let left = CODE_TRIES - used;
        if left <= 0 {
            // The last try: the request ends and its time is free again.
            booking_db::drop_request(&mut tx, id).await?;
        }
        tx.commit().await?;
        return Err(if left > 0 {
            AppError::field(
                "code",
                format!(
                    "that code is not right; check the email and try again ({left} {} left)",
                    if left == 1 { "try" } else { "tries" }
                ),
            )
        } else {
            start_again("too many wrong codes were tried")
        });
    }
    booking_db::release(&mut tx, id).await?;
    let patient = register(&mut tx, tenant, &p).await?;
    let pick = Pick {
        type_id: p.type_id,
        staff_id: p.staff_id,
        location_id: p.location_id,
        starts_at: p.starts_at,
    };
    let note = match duplicates_note(&mut tx, tenant, &p, patient.id).await? {
        Some(d) => format!("Booked online by a new patient. {d}"),
        None => "Booked online by a new patient.".to_owned(),
    };
    let booked = ssr_book::book(
        &mut tx,
        tenant,
        ssr_book::Request {
            patient: patient.id,
            staff: p.staff_id,
            location: p.location_id,
            type_id: p.type_id,
            starts_at: p.starts_at,
            notes: Some(&note),
            booker: Booker::Online,
            booked_by: None,
            moving: None,
            series: None,
        },
    )
    .await;
    let appointment = match booked {
        Ok(a) => a,
        Err(ssr_book::Refusal::Taken) => {
            drop(tx);
            return Err(taken(db, tenant, &pick).await);
        }
        Err(ssr_book::Refusal::Error(e)) => return Err(e),
    };
    let (token, manage_hash) = secrets::new_token();
    booking_db::confirm(&mut tx, id, appointment, &manage_hash, now).await?;
    let actor = Actor {
        id: None,
        email: Some(&p.email),
    };
    for (action, target) in [
        ("patient.registered", patient.mrn.as_str().to_owned()),
        ("appointment.booked", appointment.to_string()),
    ] {
        audit::record_for_patient(
            &mut tx,
            actor,
            Some("online booking"),
            patient.id,
            action,
            Some(&target),
            meta,
        )
        .await?;
    }
    send_confirmation(&mut tx, tenant, appointment, &p.email, &token, origin, now).await?;
    tx.commit().await?;
    Ok(token)
}

/// Registers the person who booked as a new patient of the clinic.
async fn register(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    p: &booking_db::Pending,
) -> Result<crate::patients::Patient, AppError> {
    if let Err(_limit) =
        crate::plans::db::ensure_room(tx, crate::plans::LimitKind::Patients, 1).await?
    {
        // The plan's limit is the clinic's business, not the visitor's.
        return Err(AppError::Invalid(
            "the clinic cannot take new patients online right now; please call the clinic to book"
                .into(),
        ));
    }
    let mut new = new_patient(p)?;
    new.mrn =
        crate::patients::db::next_mrn(tx, &crate::patients::api::default_prefix(tenant)).await?;
    let patient = crate::patients::db::create(tx, &new).await?;
    Ok(patient)
}

fn new_patient(p: &booking_db::Pending) -> Result<crate::patients::NewPatient, AppError> {
    Ok(crate::patients::NewPatient {
        mrn: crate::patients::Mrn::parse("PENDING").map_err(|_| AppError::Internal)?,
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        birth_date: p.birth_date,
        sex: p.sex.parse().map_err(|_| AppError::Internal)?,
        email: Some(p.email.clone()),
        phone: p.phone.clone(),
        primary_staff_id: None,
        details: Default::default(),
    })
}

/// "Possibly the same person as ..." for the front desk, naming the
/// registered patients the new record may duplicate.
async fn duplicates_note(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    p: &booking_db::Pending,
    new_id: Uuid,
) -> Result<Option<String>, AppError> {
    let candidates = crate::patients::db::possible_duplicates(tx, &new_patient(p)?).await?;
    let named: Vec<String> = candidates
        .iter()
        .filter(|c| c.id != new_id)
        .map(|c| {
            format!(
                "{} ({}, born {})",
                c.display_name(),
                c.mrn,
                tenant.settings.format_day(c.birth_date)
            )
        })
        .collect();
    Ok((!named.is_empty()).then(|| {
        format!(
            "Possibly the same person as {}: confirm with the patient, then merge the records.",
            named.join("; ")
        )
    }))
}

async fn send_confirmation(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    appointment: Uuid,
    email: &str,
    token: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let a = sched::appointment(tx, appointment)
        .await?
        .ok_or(AppError::Internal)?;
    let tz: Tz = a.time_zone.parse().unwrap_or_else(|_| tenant.settings.tz());
    let (date, time) = tenant.settings.format_datetime_in(a.starts_at, tz);
    let to = crate::identity::Email::parse(email).map_err(|m| AppError::field("email", m))?;
    let link = manage_link(origin, tenant, token);
    let message = crate::mail::branded(
        Some(tenant),
        &to,
        "Appointment booked",
        &[
            &format!(
                "Your appointment at {} is booked for {date} at {time}.",
                tenant.name
            ),
            "The calendar entry is attached. To see or cancel the booking, use the button below.",
        ],
        ("See or cancel your booking", &link),
    )
    .with_attachment(crate::scheduling::ics::attachment(tx, &tenant.name, &a, origin).await?);
    let mail = crate::mail::enqueue(tx.platform(), &message).await?;
    // The clinic's own "appointment booked" update need not repeat it.
    crate::engagement::db::told_by_email(tx, a.patient_id, appointment, a.starts_at, mail, now)
        .await?;
    Ok(())
}

pub fn manage_link(origin: &str, tenant: &TenantPublic, token: &str) -> String {
    format!("{origin}/t/{}/book/manage?token={token}", tenant.slug)
}

/// A booking as its patient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: Uuid,
    pub type_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub type_name: String,
    pub practitioner: String,
    pub location: String,
    pub address: Option<String>,
    pub date: String,
    pub time: String,
    pub status: AppointmentStatus,
    /// Whether the patient may still cancel or move it online (the clinic's notice applies).
    pub can_change: bool,
    /// Until when it can be changed online, in the location's time.
    pub change_until: String,
}

async fn booking_of(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    rules: &Rules,
    a: &sched::AppointmentRow,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let location = sched::location(tx, a.location_id).await?;
    let tz: Tz = a.time_zone.parse().unwrap_or_else(|_| tenant.settings.tz());
    let (date, time) = tenant.settings.format_datetime_in(a.starts_at, tz);
    let status: AppointmentStatus = a.status.parse().map_err(|_| AppError::Internal)?;
    let deadline = a.starts_at - Duration::minutes(rules.min_notice_min.into());
    let (until_date, until_time) = tenant.settings.format_datetime_in(deadline, tz);
    Ok(Booking {
        id: a.id,
        type_id: a.type_id,
        starts_at: a.starts_at,
        type_name: a.type_name.clone(),
        practitioner: a.practitioner.clone(),
        location: a.location.clone(),
        address: location.and_then(|l| l.address),
        date,
        time,
        status,
        can_change: status == AppointmentStatus::Booked && now < deadline,
        change_until: format!("{until_date} {until_time}"),
    })
}

/// The booking behind a "manage your booking" link.
pub async fn booking(
    db: &Db,
    tenant: &TenantPublic,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let (_, booking) = read_booking(&mut tx, tenant, token, now).await?;
    tx.commit().await?;
    Ok(booking)
}

async fn read_booking(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(sched::AppointmentRow, Booking), AppError> {
    let id = booking_db::appointment_of_link(tx, &secrets::digest(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let a = sched::appointment(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rules = sched::rules(tx).await?;
    let booking = booking_of(tx, tenant, &rules, &a, now).await?;
    Ok((a, booking))
}

/// Cancels the booking behind a "manage your booking" link, within the
/// clinic's notice; the clinic's cancellation update follows by itself.
pub async fn cancel(
    db: &Db,
    tenant: &TenantPublic,
    token: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    refuse_when_paused(tenant, now)?;
    let mut tx = db.begin_for(tenant.id).await?;
    let (a, booking) = read_booking(&mut tx, tenant, token, now).await?;
    cancel_visit(&mut tx, &a, &booking, Actor::NOBODY, meta).await?;
    tx.commit().await?;
    Ok(())
}

async fn cancel_visit(
    tx: &mut TenantTx,
    a: &sched::AppointmentRow,
    booking: &Booking,
    actor: Actor<'_>,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if booking.status == AppointmentStatus::Cancelled {
        return Ok(());
    }
    if !booking.can_change {
        return Err(AppError::Invalid(
            "this booking can no longer be cancelled online; please call the clinic".into(),
        ));
    }
    let reason = "Cancelled by the patient online";
    sched::set_status(tx, a.id, AppointmentStatus::Cancelled, Some(reason)).await?;
    sched::event(
        tx,
        a.id,
        a.patient_id,
        AppointmentStatus::Cancelled,
        a.starts_at,
        Some(reason),
        None,
    )
    .await?;
    audit::record_for_patient(
        tx,
        actor,
        Some("patient"),
        a.patient_id,
        "appointment.cancelled",
        Some(&a.id.to_string()),
        meta,
    )
    .await?;
    Ok(())
}

// ------------------------------------------------- patients signed in to the portal --

/// The signed-in patient the pages act for.
#[derive(Debug, Clone, Copy)]
pub struct Own<'a> {
    pub patient: Uuid,
    pub account: Uuid,
    pub email: &'a str,
}

impl Own<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor::account(self.account, self.email)
    }
}

/// A signed-in patient's visits that have not ended (their merged records'
/// included), soonest first.
pub async fn own_visits(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Booking>, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let rules = sched::rules(&mut tx).await?;
    let mut out = Vec::new();
    for record in crate::patients::merge::db::records_of(&mut tx, own.patient).await? {
        for a in sched::of_patient(&mut tx, record).await? {
            if a.ends_at > now {
                out.push(booking_of(&mut tx, tenant, &rules, &a, now).await?);
            }
        }
    }
    out.sort_by_key(|b| b.starts_at);
    tx.commit().await?;
    Ok(out)
}

/// One of the signed-in patient's own visits (refused as not found otherwise).
async fn own_visit(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    own: &Own<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(sched::AppointmentRow, Booking), AppError> {
    let a = sched::appointment(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !crate::patients::merge::db::is_part_of(tx, a.patient_id, own.patient).await? {
        return Err(AppError::NotFound);
    }
    let rules = sched::rules(tx).await?;
    let booking = booking_of(tx, tenant, &rules, &a, now).await?;
    Ok((a, booking))
}

/// The visit a signed-in patient is moving, for the pages.
pub async fn own_booking(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let (_, booking) = own_visit(&mut tx, tenant, own, id, now).await?;
    tx.commit().await?;
    Ok(booking)
}

/// Books `pick` for the signed-in patient (no code: they are signed in), or
/// moves their visit `moving` there; within the clinic's online rules.
pub async fn book_own(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    pick: &Pick,
    moving: Option<Uuid>,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    refuse_when_paused(tenant, now)?;
    let mut tx = db.begin_for(tenant.id).await?;
    let offer = Offer::read(&mut tx).await?;
    let only = Filter {
        type_id: Some(pick.type_id),
        staff_id: Some(pick.staff_id),
        location_id: Some(pick.location_id),
        from: None,
    };
    if offer.type_row(pick.type_id).is_none() || offer.places(pick.type_id, &only).is_empty() {
        return Err(AppError::Invalid(
            "that visit is not offered online with this practitioner here".into(),
        ));
    }
    let mut patient = own.patient;
    if let Some(id) = moving {
        let (a, booking) = own_visit(&mut tx, tenant, own, id, now).await?;
        if !booking.can_change {
            return Err(AppError::Invalid(
                "this visit can no longer be moved online; please call the clinic".into(),
            ));
        }
        if a.type_id != pick.type_id {
            return Err(AppError::Invalid(
                "a visit moves to a time for the same kind of visit".into(),
            ));
        }
        patient = a.patient_id;
    }
    let booked = ssr_book::book(
        &mut tx,
        tenant,
        ssr_book::Request {
            patient,
            staff: pick.staff_id,
            location: pick.location_id,
            type_id: pick.type_id,
            starts_at: pick.starts_at,
            notes: None,
            booker: Booker::Patient,
            booked_by: None,
            moving,
            series: None,
        },
    )
    .await;
    let id = match booked {
        Ok(id) => id,
        Err(ssr_book::Refusal::Taken) => {
            drop(tx);
            return Err(taken(db, tenant, pick).await);
        }
        Err(ssr_book::Refusal::Error(e)) => return Err(e),
    };
    let action = if moving.is_some() {
        sched::event(
            &mut tx,
            id,
            patient,
            AppointmentStatus::Booked,
            pick.starts_at,
            Some("moved by the patient online"),
            None,
        )
        .await?;
        "appointment.moved"
    } else {
        "appointment.booked"
    };
    audit::record_for_patient(
        &mut tx,
        own.actor(),
        Some("patient"),
        patient,
        action,
        Some(&id.to_string()),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The signed-in patient cancels one of their visits.
pub async fn cancel_own(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    id: Uuid,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    refuse_when_paused(tenant, now)?;
    let mut tx = db.begin_for(tenant.id).await?;
    let (a, booking) = own_visit(&mut tx, tenant, own, id, now).await?;
    cancel_visit(&mut tx, &a, &booking, own.actor(), meta).await?;
    tx.commit().await?;
    Ok(())
}

fn refuse_when_paused(tenant: &TenantPublic, now: DateTime<Utc>) -> Result<(), AppError> {
    if tenant.read_only_at(now) {
        return Err(AppError::Invalid(
            "online booking is paused at this clinic; please call the clinic".into(),
        ));
    }
    Ok(())
}

/// "Just taken", with the next free times for the public.
async fn taken(db: &Db, tenant: &TenantPublic, pick: &Pick) -> AppError {
    let alternatives = slots_api::alternatives(
        db,
        tenant.id,
        tenant.settings.tz(),
        pick.type_id,
        pick.location_id,
        Booker::Online,
        pick.starts_at,
    )
    .await
    .unwrap_or_default();
    slots_api::taken(&alternatives)
}

/// Six digits from the operating system's generator.
fn new_code() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    // Rejection sampling keeps every code equally likely.
    loop {
        let n = OsRng.next_u32();
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

fn code_hash(request: Uuid, code: &str) -> String {
    secrets::digest(&format!("{request}:{code}"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in patient's waitlist, and what they may wait for: visit types
/// booked online, places that offer them, practitioners bookable online.
pub struct Waiting {
    pub entries: Vec<crate::scheduling::waitlist::db::Entry>,
    pub types: Vec<(Uuid, String)>,
    pub locations: Vec<(Uuid, String)>,
    pub practitioners: Vec<(Uuid, String)>,
    pub today: NaiveDate,
}

pub async fn own_waitlist(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    now: DateTime<Utc>,
) -> Result<Waiting, AppError> {
    let mut tx = db.begin_for_read(tenant.id).await?;
    let entries = crate::scheduling::waitlist::db::of_patient(&mut tx, own.patient).await?;
    let types: Vec<(Uuid, String)> = sched::types(&mut tx)
        .await?
        .into_iter()
        .filter(|t| t.active && t.online_bookable)
        .map(|t| (t.id, t.name))
        .collect();
    let locations = sched::locations(&mut tx)
        .await?
        .into_iter()
        .filter(|l| l.active)
        .map(|l| (l.id, l.name))
        .collect();
    let practitioners = sched::practitioners(&mut tx)
        .await?
        .into_iter()
        .filter(|p| p.active && p.bookable_online)
        .map(|p| (p.staff_id, p.name))
        .collect();
    tx.commit().await?;
    Ok(Waiting {
        entries,
        types,
        locations,
        practitioners,
        today: now.with_timezone(&tenant.settings.tz()).date_naive(),
    })
}

/// The signed-in patient joins the waitlist (`action=join`) or leaves an
/// entry of theirs (`action=withdraw`).
pub async fn change_waitlist(
    db: &Db,
    tenant: &TenantPublic,
    own: &Own<'_>,
    form: &std::collections::HashMap<String, String>,
    meta: &crate::identity::audit::RequestMeta,
    now: DateTime<Utc>,
) -> Result<&'static str, AppError> {
    use crate::scheduling::waitlist::{self, Asked};
    let mut tx = db.begin_for(tenant.id).await?;
    let (patient, action) = match form.get("action").map(String::as_str) {
        Some("join") => {
            let asked = Asked::read(form)?;
            let online = sched::types(&mut tx)
                .await?
                .into_iter()
                .any(|t| t.id == asked.type_id && t.active && t.online_bookable);
            let bookable = match asked.staff {
                None => true,
                Some(s) => sched::practitioners(&mut tx)
                    .await?
                    .iter()
                    .any(|p| p.staff_id == s && p.active && p.bookable_online),
            };
            if !online || !bookable {
                return Err(AppError::field(
                    "type",
                    "that visit cannot be waited for online",
                ));
            }
            let today = now.with_timezone(&tenant.settings.tz()).date_naive();
            // Offers go to the address they sign in with.
            let entry = asked
                .entry(
                    &mut tx,
                    own.patient,
                    today,
                    ("portal", None, Some(own.email)),
                )
                .await?;
            waitlist::db::add(&mut tx, &entry, now).await?;
            (own.patient, "waitlist.joined")
        }
        Some("withdraw") => {
            let id = form
                .get("entry")
                .and_then(|v| v.trim().parse::<Uuid>().ok())
                .ok_or(AppError::NotFound)?;
            let e = waitlist::db::entry(&mut tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            // Only the patient's own entries (or their merged records').
            if !crate::patients::merge::db::is_part_of(&mut tx, e.patient_id, own.patient).await? {
                return Err(AppError::NotFound);
            }
            waitlist::withdraw(&mut tx, &e, now).await?;
            (e.patient_id, "waitlist.withdrawn")
        }
        _ => return Err(AppError::field("action", "unknown step")),
    };
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor::account(own.account, own.email),
        Some("patient"),
        patient,
        action,
        None,
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(if action == "waitlist.joined" {
        "waiting"
    } else {
        "left"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn a_code_is_bound_to_its_request() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(code_hash(a, "123456"), code_hash(b, "123456"));
        assert!(constant_time_eq(
            code_hash(a, "1").as_bytes(),
            code_hash(a, "1").as_bytes()
        ));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}

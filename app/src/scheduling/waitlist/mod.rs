//! The waitlist (issue 14 ★): a patient waits for a visit type at a location,
//! with one practitioner or any, between two dates. When time frees up (a
//! cancellation, a visit moved away), the clinic does not have to notice: a
//! job offers it to the first matching waiting patients by email, holding it
//! for the clinic's offer window; the first to accept books it, the others are
//! told it was taken, and when the window ends the time moves on to the next
//! in line. A time freed and taken again within [`DEBOUNCE`] is offered to
//! nobody (the job looks again when it runs).
//!
//! The desk's page (`/waitlist`) and the offer's page (`/waitlist/offer/…`)
//! are plain server pages (`page`), so none of this grows the app's wasm.

pub mod db;
pub mod offers;
pub mod page;

use chrono::Duration;

use crate::text::text_enum;

/// How long freed time waits before it is offered.
pub const DEBOUNCE: Duration = Duration::minutes(2);
/// How many waiting patients one freed time is offered to at once.
pub const OFFER_BATCH: usize = 3;
/// The longest stretch of dates one entry waits over.
pub const MAX_WAIT_DAYS: i64 = 180;
/// The offer window when the clinic has not chosen one.
pub const DEFAULT_OFFER_MINUTES: i32 = 60;

/// What a waitlist form asks for (the desk's and the portal's), read and
/// checked.
#[derive(Debug, Clone)]
pub struct Asked {
    pub type_id: uuid::Uuid,
    pub location: uuid::Uuid,
    pub staff: Option<uuid::Uuid>,
    pub from: chrono::NaiveDate,
    pub until: chrono::NaiveDate,
}

impl Asked {
    /// The form's `type`, `location`, `practitioner` (empty: anyone), `from`
    /// and `until` (YYYY-MM-DD).
    pub fn read(
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Self, crate::error::AppError> {
        use crate::error::AppError;
        let id = |key: &str| {
            form.get(key)
                .and_then(|v| v.trim().parse::<uuid::Uuid>().ok())
                .ok_or_else(|| AppError::field(key, "choose from the list"))
        };
        let date = |key: &str, name: &str| {
            form.get(key)
                .and_then(|v| chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok())
                .ok_or_else(|| AppError::field(key, format!("give the {name} date as YYYY-MM-DD")))
        };
        let staff = match form
            .get("practitioner")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(_) => Some(id("practitioner")?),
        };
        let asked = Self {
            type_id: id("type")?,
            location: id("location")?,
            staff,
            from: date("from", "first")?,
            until: date("until", "last")?,
        };
        if asked.until < asked.from {
            return Err(AppError::field(
                "until",
                "the last date is before the first",
            ));
        }
        if (asked.until - asked.from).num_days() >= MAX_WAIT_DAYS {
            return Err(AppError::field(
                "until",
                format!("a patient waits over at most {MAX_WAIT_DAYS} days at a time"),
            ));
        }
        Ok(asked)
    }

    /// The entry for `patient` (checked: an address to tell them at, the
    /// record's unless `email` is given; a visit offered there; no entry for it
    /// already), from `today` on.
    pub async fn entry(
        &self,
        tx: &mut crate::db::TenantTx,
        patient: uuid::Uuid,
        today: chrono::NaiveDate,
        (via, by, email): (&'static str, Option<uuid::Uuid>, Option<&str>),
    ) -> Result<db::NewEntry, crate::error::AppError> {
        use crate::error::AppError;
        if self.until < today {
            return Err(AppError::field("until", "the last date has passed"));
        }
        let record = crate::patients::db::get(tx, patient)
            .await?
            .ok_or(AppError::NotFound)?;
        if record.archived {
            return Err(AppError::Invalid(
                "this record is archived: restore it first".into(),
            ));
        }
        let Some(email) = email.map(str::to_owned).or(record.email) else {
            return Err(AppError::Invalid(
                "offers go by email: add an email address to the patient's record first".into(),
            ));
        };
        let offered =
            crate::scheduling::api::ssr::offering(tx, self.type_id, self.location).await?;
        if offered.is_empty() {
            return Err(AppError::field(
                "type",
                "nobody offers that visit at that location",
            ));
        }
        if self.staff.is_some_and(|s| !offered.contains(&s)) {
            return Err(AppError::field(
                "practitioner",
                "that practitioner does not offer this visit there",
            ));
        }
        let entry = db::NewEntry {
            patient,
            type_id: self.type_id,
            location: self.location,
            staff: self.staff,
            from: self.from.max(today),
            until: self.until,
            via,
            by,
            email,
        };
        if db::already_waiting(tx, &entry).await? {
            return Err(AppError::Invalid(
                "already on the waitlist for this visit there".into(),
            ));
        }
        Ok(entry)
    }
}

/// Takes an entry off the list: its open offers end, and the times they held
/// go to the next in line.
pub async fn withdraw(
    tx: &mut crate::db::TenantTx,
    e: &db::Entry,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::error::AppError> {
    if !matches!(e.state(), EntryState::Waiting | EntryState::Offered) {
        return Err(crate::error::AppError::Invalid(format!(
            "an entry that is {} cannot be withdrawn",
            e.state().label().to_lowercase()
        )));
    }
    for o in db::open_offers_of_entry(tx, e.id).await? {
        db::set_offer(tx, o.id, OfferState::Expired, now).await?;
        if let Some(t) = crate::scheduling::db::appointment_type(tx, o.type_id).await? {
            let span = crate::scheduling::slots::Span::new(
                o.starts_at,
                o.starts_at + chrono::Duration::minutes(t.duration_min.into()),
            );
            let freed = offers::Freed {
                staff: o.staff_id,
                location: o.location_id,
                span,
            };
            offers::freed(tx, freed, now).await?;
        }
    }
    db::set_entry(tx, e.id, EntryState::Withdrawn, None, now).await?;
    Ok(())
}

/// Refuses a patient the viewer may not see (a doctor limited to their own
/// patients, a restricted record) as if it did not exist.
pub async fn ensure_visible(
    tx: &mut crate::db::TenantTx,
    viewer: &crate::identity::Viewer,
    patient: uuid::Uuid,
) -> Result<(), crate::error::AppError> {
    crate::patients::api::ssr::ensure_visible(tx, viewer, patient).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    Waiting,
    Offered,
    Booked,
    Withdrawn,
}

text_enum!(EntryState {
    Waiting => "waiting",
    Offered => "offered",
    Booked => "booked",
    Withdrawn => "withdrawn",
});

impl EntryState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Offered => "Offered a time",
            Self::Booked => "Booked",
            Self::Withdrawn => "Withdrawn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferState {
    Open,
    Accepted,
    Taken,
    Expired,
}

text_enum!(OfferState {
    Open => "open",
    Accepted => "accepted",
    Taken => "taken",
    Expired => "expired",
});

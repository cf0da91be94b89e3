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

//! Scheduling: locations, practitioners' hours, appointment types, the slot
//! engine and appointments.
//!
//! - `slots.rs`: the slot engine (pure; DST rules and the buffer rule are there);
//! - `db.rs`: queries, always through a [`crate::db::TenantTx`];
//! - `setup.rs`: the administrators' set-up (locations, types, hours, rules);
//! - `api.rs`: slots, booking and the appointment's life;
//! - `ics.rs`: an appointment as a calendar entry (RFC 5545);
//! - `feed.rs`: a practitioner's private calendar feed;
//! - `pages.rs`: the front desk's day calendar.
//!
//! A practitioner cannot be booked twice: the database refuses overlapping
//! occupied time (PostgreSQL's exclusion constraint, SQLite's triggers under
//! its single writer), and the booking answers "just taken" with the next
//! free times.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

pub mod api;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod feed;
#[cfg(feature = "ssr")]
pub mod ics;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod queue;
#[cfg(feature = "ssr")]
pub mod report;
pub mod setup;
#[cfg(feature = "ssr")]
pub mod slots;
#[cfg(feature = "ssr")]
pub mod waitlist;

/// An appointment's life: booked → arrived → in consultation → completed, or
/// no-show, or cancelled (with a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppointmentStatus {
    Booked,
    Arrived,
    InConsultation,
    Completed,
    NoShow,
    Cancelled,
}

text_enum!(AppointmentStatus {
    Booked => "booked",
    Arrived => "arrived",
    InConsultation => "in_consultation",
    Completed => "completed",
    NoShow => "no_show",
    Cancelled => "cancelled",
});

impl AppointmentStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Booked => "Booked",
            Self::Arrived => "Arrived",
            Self::InConsultation => "In consultation",
            Self::Completed => "Completed",
            Self::NoShow => "No-show",
            Self::Cancelled => "Cancelled",
        }
    }

    /// The statuses the front desk may move an appointment to from this one.
    pub fn next(self) -> &'static [AppointmentStatus] {
        use AppointmentStatus as S;
        match self {
            S::Booked => &[S::Arrived, S::NoShow],
            S::Arrived => &[S::InConsultation, S::Booked],
            S::InConsultation => &[S::Completed],
            S::Completed | S::NoShow | S::Cancelled => &[],
        }
    }

    /// Whether the appointment can still be moved or cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Booked | Self::Arrived)
    }
}

/// Where a clinic sees patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocationKind {
    Clinic,
    Hospital,
    Virtual,
}

text_enum!(LocationKind {
    Clinic => "clinic",
    Hospital => "hospital",
    Virtual => "virtual",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub address: Option<String>,
    pub time_zone: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentType {
    pub id: Uuid,
    pub name: String,
    pub duration_min: u32,
    pub buffer_before_min: u32,
    pub buffer_after_min: u32,
    pub price_minor: i64,
    pub currency: String,
    pub capacity: u32,
    pub colour: String,
    pub online_bookable: bool,
    pub active: bool,
    /// The catalog service a visit of this type is billed as (its price is the type's).
    pub service_id: Option<Uuid>,
    pub practitioners: Vec<Uuid>,
    pub locations: Vec<Uuid>,
}

/// The most a visit type may cost, in minor units (the database's bound too).
pub const MAX_VISIT_PRICE_MINOR: i64 = 100_000_000;

/// A practitioner as the calendar names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PractitionerRef {
    pub staff_id: Uuid,
    pub name: String,
    pub specialty: Option<String>,
}

/// A free time, as the calendar and the booking form show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    pub start: DateTime<Utc>,
    pub staff_id: Uuid,
    /// "09:30" in the location's zone.
    pub time: String,
    /// "Mon 2 Mar", in the location's zone.
    pub day: String,
    /// "+01:00": told apart on the night clocks go back.
    pub offset: String,
    pub seats_left: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient: String,
    pub mrn: String,
    pub staff_id: Uuid,
    pub practitioner: String,
    pub location: String,
    pub type_name: String,
    pub colour: String,
    pub starts_at: DateTime<Utc>,
    /// "09:30–09:45" in the location's zone.
    pub time: String,
    pub day: String,
    pub status: AppointmentStatus,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
}

/// One practitioner's column of the day calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub practitioner: PractitionerRef,
    pub appointments: Vec<AppointmentView>,
    pub free: Vec<SlotView>,
    /// When the practitioner is busy at another clinic ("09:00–09:30"):
    /// times only, nothing else of that clinic.
    pub elsewhere: Vec<String>,
}

/// The front desk's day: a column per practitioner at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayView {
    pub date: NaiveDate,
    pub date_label: String,
    pub location: Option<Location>,
    pub locations: Vec<Location>,
    pub types: Vec<AppointmentType>,
    pub type_id: Option<Uuid>,
    pub columns: Vec<Column>,
    /// Set when the clinic has not set scheduling up yet (no location or type).
    pub needs_setup: bool,
    pub can_setup: bool,
    /// Patients matching the booking form's search, when one was asked for.
    pub found: Vec<PatientChoice>,
    /// That search (kept in the database, never in the address).
    pub search: Option<String>,
    /// Whether the viewer may invoice a visit.
    pub can_invoice: bool,
    /// The messages of the day's appointments (reminders, updates).
    pub messages: Vec<crate::engagement::MessageLine>,
    /// The report of a recurring series just booked (`?series=`).
    pub series: Option<SeriesReport>,
}

/// A recurring series: what was booked and which dates could not be, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesReport {
    pub summary: String,
    pub booked: Vec<String>,
    pub missed: Vec<String>,
}

/// What a scheduling page loads: one type for every scheduling page, because
/// each resource type's code lands in the main bundle (docs/frontend.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedulingPage {
    Day(DayView),
    Setup(setup::SetupView),
}

/// A patient found from the booking form's search box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientChoice {
    pub id: Uuid,
    pub name: String,
    pub mrn: String,
    pub born: Option<String>,
}

/// Minutes of the day from "HH:MM" (24:00 allowed as the end of the day).
pub fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// "HH:MM" of minutes of the day.
pub fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

pub const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_parse_strictly() {
        assert_eq!(parse_clock("09:30"), Some(570));
        assert_eq!(parse_clock("9:05"), Some(545));
        assert_eq!(parse_clock("24:00"), Some(1440));
        for bad in ["24:30", "12:60", "noon", "", "12", "-1:00", "123:00"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(clock(570), "09:30");
    }

    #[test]
    fn finished_appointments_cannot_move_on() {
        assert!(AppointmentStatus::Completed.next().is_empty());
        assert!(AppointmentStatus::Cancelled.next().is_empty());
        assert!(AppointmentStatus::Booked
            .next()
            .contains(&AppointmentStatus::Arrived));
    }
}

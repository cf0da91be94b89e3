//! Patient engagement: the messages a clinic sends its patients about their
//! appointments (reminders, and word when a visit is booked, moved or
//! cancelled), when they may arrive, and what became of each.
//!
//! Every step of an appointment's history (`scheduling::db::event`) calls
//! [`db::appointment_changed`] in the same transaction, which plans the
//! messages: a row in `patient_messages` under a key unique in the clinic, and a
//! job (`crate::jobs`) to send it. At send time [`send`] looks again: a reminder
//! for a visit since cancelled or moved is not sent, quiet hours hold a message
//! back (or skip it when it would arrive too late), and an update whose news was
//! undone within the grace period says nothing. Sending claims the row
//! (`scheduled` → `sent`) in the transaction that hands the message to its
//! channel, so it goes out at most once.
//!
//! Bodies carry no PHI beyond the clinic's name and the visit's date and time:
//! no practitioner, visit type or reason.

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod quiet;
#[cfg(feature = "ssr")]
pub mod send;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// How long after a change its news waits, so that an undo within it is silent.
pub const GRACE: Duration = Duration::minutes(2);
/// A reminder must arrive at least this long before the visit, or not at all.
pub const REMINDER_LEAD: Duration = Duration::minutes(30);

pub use crate::channels::Channel;

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageKind {
    /// Ahead of a visit, by a clinic's rule.
    Reminder,
    /// A visit was booked, moved or cancelled.
    Update,
}

text_enum!(MessageKind {
    Reminder => "appointment_reminder",
    Update => "appointment_update",
});

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageStatus {
    Scheduled,
    Sent,
    Skipped,
    Cancelled,
}

text_enum!(MessageStatus {
    Scheduled => "scheduled",
    Sent => "sent",
    Skipped => "skipped",
    Cancelled => "cancelled",
});

/// The hours of the day messages may arrive, in the local time of the visit's
/// location: `[from, until)` in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindow {
    pub from_min: i32,
    pub until_min: i32,
}

impl Default for SendWindow {
    /// 08:00 to 21:00.
    fn default() -> Self {
        Self {
            from_min: 8 * 60,
            until_min: 21 * 60,
        }
    }
}

impl SendWindow {
    /// A window of at least an hour within one day, or what is wrong with it.
    pub fn new(from_min: i32, until_min: i32) -> Result<Self, &'static str> {
        if !(0..=23 * 60).contains(&from_min) || !(60..=24 * 60).contains(&until_min) {
            return Err("use times of day such as 08:00 and 21:00");
        }
        if until_min - from_min < 60 {
            return Err("leave at least an hour between the start and the end");
        }
        Ok(Self {
            from_min,
            until_min,
        })
    }

    pub fn label(self) -> String {
        let hm = |m: i32| format!("{:02}:{:02}", m / 60, m % 60);
        format!("{}–{}", hm(self.from_min), hm(self.until_min))
    }
}

/// One reminder rule: so long before each visit, by that channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRule {
    /// `None` for the built-in default a clinic has not changed yet.
    pub id: Option<Uuid>,
    pub minutes_before: i32,
    pub channel: Channel,
}

impl ReminderRule {
    pub fn label(&self) -> String {
        let m = self.minutes_before;
        let when = if m % 1440 == 0 {
            plural(m / 1440, "day")
        } else if m % 60 == 0 {
            plural(m / 60, "hour")
        } else {
            plural(m, "minute")
        };
        format!("{when} before, by {}", self.channel.label())
    }
}

fn plural(n: i32, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A clinic's messaging set-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingSetup {
    pub window: SendWindow,
    pub updates: bool,
    /// Updates go by SMS too (when SMS is connected).
    pub updates_sms: bool,
    /// Updates go by WhatsApp too (when WhatsApp is connected).
    pub updates_whatsapp: bool,
    pub rules: Vec<ReminderRule>,
}

impl Default for MessagingSetup {
    /// Updates on, one reminder by email a day ahead, 08:00–21:00.
    fn default() -> Self {
        Self {
            window: SendWindow::default(),
            updates: true,
            updates_sms: false,
            updates_whatsapp: false,
            rules: vec![ReminderRule {
                id: None,
                minutes_before: 24 * 60,
                channel: Channel::Email,
            }],
        }
    }
}

/// One message in an appointment's history, as the front desk reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLine {
    pub appointment_id: Uuid,
    /// "Reminder by email", "Update by email".
    pub what: String,
    /// "scheduled for Sun 6 Dec 10:00", "sent Sat 5 Dec 10:00 · delivered".
    pub state: String,
    pub detail: Option<String>,
}

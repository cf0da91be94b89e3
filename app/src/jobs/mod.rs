//! The durable job queue: one mechanism for all background work.
//!
//! A job is a row in `jobs` with a kind, a run-at time and an idempotency key
//! (enqueueing a key that exists does nothing, so the same logical job is never
//! queued twice). Workers claim due jobs under a lease (`FOR UPDATE SKIP LOCKED`
//! on PostgreSQL; SQLite's single writer serializes claims), run them, and mark
//! them done, or back to the queue with exponential backoff, or dead after their
//! last attempt. A worker that dies leaves its lease to run out and another takes
//! the job again, so handlers must be safe to run twice: ones that talk to the
//! outside world check a per-message key before sending (see `crate::mail`).
//! Dead jobs stay visible to operators (`medisync jobs`, the platform console)
//! until one sends them back to the queue.

#[cfg(feature = "ssr")]
pub mod db;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Kinds of job. Plain words with hyphens, never `area.event`: those are audit
/// actions.
pub mod kinds {
    /// Deliver one stored email (payload: the outbox id).
    pub const MAIL_DELIVERY: &str = "mail-delivery";
    /// Trial reminders and the end of unpaid trials.
    pub const TRIAL_CLOCK: &str = "trial-clock";
    /// Purge restricted records whose retention has ended.
    pub const RECORD_PURGE: &str = "record-purge";
    /// Expired sessions, ended rate-limit windows, old finished jobs.
    pub const HOUSEKEEPING: &str = "housekeeping";
    /// Send one planned patient message (payload: `tenant/message` ids).
    pub const PATIENT_MESSAGE: &str = "patient-message";
    /// Hand one text to its provider (payload: `tenant/text` ids).
    pub const TEXT_DELIVERY: &str = "text-delivery";
    /// Ask a payment provider about a page nobody heard back on (payload:
    /// `tenant checkout` ids).
    pub const PAYMENT_RECONCILE: &str = "payment-reconcile";
    /// Offer freed time to the waitlist (payload: the practitioner, location
    /// and span; see `scheduling::waitlist::offers`).
    pub const WAITLIST_FREED: &str = "waitlist-freed";
    /// End the offers of one time whose window ran out, and move on.
    pub const WAITLIST_EXPIRE: &str = "waitlist-expire";
    /// Run or resume one patient import (payload: `tenant/import` ids).
    pub const PATIENT_IMPORT: &str = "patient-import";
}

/// Work that recurs: each period's run is one job whose key names the period, so
/// however many workers and instances schedule it, it is queued once.
pub const PERIODIC: &[(&str, Duration)] = &[
    (kinds::TRIAL_CLOCK, Duration::hours(1)),
    (kinds::RECORD_PURGE, Duration::days(1)),
    (kinds::HOUSEKEEPING, Duration::minutes(10)),
];

/// How many attempts a job gets unless it says otherwise.
pub const DEFAULT_ATTEMPTS: i64 = 10;
/// Attempts of a periodic job: the next period runs anyway.
pub const PERIODIC_ATTEMPTS: i64 = 3;
/// Finished jobs are kept this long (their keys keep refusing duplicates).
pub const KEEP_DONE: Duration = Duration::days(30);

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

crate::text::text_enum!(JobState {
    Queued => "queued",
    Running => "running",
    Done => "done",
    Dead => "dead",
});

/// A job to put on the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub key: String,
    pub payload: String,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i64,
}

impl NewJob {
    /// A job of `kind` due at `run_at`, with the default number of attempts.
    pub fn new(kind: &'static str, key: impl Into<String>, run_at: DateTime<Utc>) -> Self {
        Self {
            kind,
            key: key.into(),
            payload: String::new(),
            run_at,
            max_attempts: DEFAULT_ATTEMPTS,
        }
    }

    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = payload.into();
        self
    }

    pub fn attempts(mut self, max: i64) -> Self {
        self.max_attempts = max;
        self
    }
}

/// A job as a worker or an operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub idempotency_key: String,
    pub payload: String,
    pub state: String,
    pub run_at: DateTime<Utc>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub requeued_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How a job's run ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Finished,
    /// Not yet (a message held back by quiet hours): run again at that time,
    /// without counting an attempt.
    Later(DateTime<Utc>),
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt later (a server that did not answer).
    Retry(String),
    /// Another attempt would fail the same way, or must not be made: dead now.
    Permanent(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Self::Retry(m) | Self::Permanent(m) => m,
        }
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failures: 30 s,
/// doubling, at most six hours.
pub fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20);
    let wait = Duration::seconds(30) * (1_i32 << doublings);
    wait.min(Duration::hours(6))
}

/// The start of the period of length `every` that holds `now` (periods count
/// from the Unix epoch, so every instance agrees on them).
pub fn period_start(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let step = every.num_seconds().max(1);
    let start = now.timestamp().div_euclid(step) * step;
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

/// The job that runs periodic work `kind` for the period holding `now`.
pub fn periodic_job(kind: &'static str, every: Duration, now: DateTime<Utc>) -> NewJob {
    let start = period_start(now, every);
    NewJob::new(
        kind,
        format!("{kind}@{}", start.format("%Y-%m-%dT%H:%MZ")),
        start,
    )
    .attempts(PERIODIC_ATTEMPTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_and_stops_at_six_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(10), Duration::seconds(30 * 512));
        assert_eq!(backoff(11), Duration::hours(6));
        assert_eq!(backoff(1000), Duration::hours(6));
        assert_eq!(backoff(0), Duration::seconds(30));
    }

    #[test]
    fn a_period_is_keyed_by_its_start_so_every_instance_queues_it_once() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let a = periodic_job(
            kinds::TRIAL_CLOCK,
            Duration::hours(1),
            at("2026-11-30T21:05:00Z"),
        );
        let b = periodic_job(
            kinds::TRIAL_CLOCK,
            Duration::hours(1),
            at("2026-11-30T21:59:59Z"),
        );
        let c = periodic_job(
            kinds::TRIAL_CLOCK,
            Duration::hours(1),
            at("2026-11-30T22:00:00Z"),
        );
        assert_eq!(a.key, b.key);
        assert_eq!(a.key, "trial-clock@2026-11-30T21:00Z");
        assert_ne!(a.key, c.key);
        assert_eq!(a.run_at, at("2026-11-30T21:00:00Z"));
        let day = periodic_job(
            kinds::RECORD_PURGE,
            Duration::days(1),
            at("2026-11-30T21:05:00Z"),
        );
        assert_eq!(day.key, "record-purge@2026-11-30T00:00Z");
    }
}

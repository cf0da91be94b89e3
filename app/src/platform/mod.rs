//! The platform console: tenants (search, detail, suspend, reactivate), plans,
//! platform figures, and time-bound support access to a clinic.

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::plans::{Plan, Usage};
use crate::tenancy::{TenantKind, TenantStatus};

/// Longest support session.
pub const MAX_SUPPORT_MINUTES: i64 = 30;

/// The job queue as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobQueue {
    /// Jobs per state (queued, running, done, dead).
    pub by_state: Vec<(String, i64)>,
    pub dead: Vec<DeadJob>,
}

/// A job that will not run again unless an operator sends it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub id: Uuid,
    pub kind: String,
    pub attempts: i64,
    pub ended: String,
    pub error: String,
}

/// One row of the tenants list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantListing {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    pub status: TenantStatus,
    pub plan: String,
    pub created: String,
}

/// A support session on a tenant's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportSession {
    pub operator_email: String,
    pub reason: String,
    pub started: String,
    pub expires: String,
    pub open: bool,
}

/// A tenant's page in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub tenant: TenantListing,
    pub status_reason: Option<String>,
    pub custom_domain: Option<String>,
    pub trial_ends: Option<String>,
    pub plan: Plan,
    pub usage: Usage,
    pub owners: Vec<String>,
    pub support_sessions: Vec<SupportSession>,
}

/// Sign-ups in one week (Monday to Sunday, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekCount {
    /// The Monday, `2026-11-16`.
    pub week: String,
    pub count: i64,
}

/// The console's front page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformFigures {
    pub tenants: i64,
    pub by_status: Vec<(TenantStatus, i64)>,
    /// Monthly recurring revenue from running subscriptions (a yearly price
    /// counts a twelfth), per currency, in minor units.
    pub mrr: Vec<(String, i64)>,
    /// Active clinics without a subscription (billed outside MediSync), at
    /// their plan's monthly price.
    #[serde(default)]
    pub billed_by_hand: Vec<(String, i64)>,
    pub signups: Vec<WeekCount>,
    /// Clinics whose subscription renewal failed, oldest failure first.
    #[serde(default)]
    pub arrears: Vec<ArrearsRow>,
}

/// A clinic in arrears, as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrearsRow {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub status: String,
    /// `2026-11-20` (UTC).
    pub failed_on: String,
    pub read_only_from: Option<String>,
}

/// Sign-up times bucketed into the last `weeks` weeks (oldest first), ending with
/// the week of `now`.
pub fn weekly(
    created: &[chrono::DateTime<chrono::Utc>],
    now: chrono::DateTime<chrono::Utc>,
    weeks: i64,
) -> Vec<WeekCount> {
    use chrono::Datelike;
    let this_monday =
        now.date_naive() - chrono::Duration::days(i64::from(now.weekday().num_days_from_monday()));
    (0..weeks)
        .rev()
        .map(|back| {
            let start = this_monday - chrono::Duration::weeks(back);
            let end = start + chrono::Duration::weeks(1);
            let count = created
                .iter()
                .filter(|at| {
                    let d = at.date_naive();
                    d >= start && d < end
                })
                .count() as i64;
            WeekCount {
                week: start.format("%Y-%m-%d").to_string(),
                count,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn sign_ups_fall_into_monday_weeks() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
            .single()
            .expect("date"); // a Saturday
        let created = [
            Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 1)
                .single()
                .expect("date"), // Monday, this week
            Utc.with_ymd_and_hms(2026, 11, 15, 23, 59, 0)
                .single()
                .expect("date"), // Sunday, last week
            Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0)
                .single()
                .expect("date"),
            Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0)
                .single()
                .expect("date"), // long ago
        ];
        let weeks = weekly(&created, now, 3);
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[2].week, "2026-11-16");
        assert_eq!(weeks[2].count, 2);
        assert_eq!(weeks[1].count, 1);
        assert_eq!(weeks[0].count, 0);
    }
}

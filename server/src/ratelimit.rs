//! Per-IP rate limits on the endpoints strangers can hammer: sign-in, second
//! factor, password reset, invitations and sign-up. A sliding window per
//! (endpoint, IP), counted in the database so that every instance of the server
//! adds to the same count; the account lockout is separate and stays.
//!
//! The sliding window is the usual estimate from two fixed windows: the hits of
//! the current window plus those of the previous one, weighed by how much of it
//! still lies inside the last window's length. A fixed window alone would let a
//! caller send twice the limit across a boundary, and forget a burst the moment
//! the minute turns.

use std::net::IpAddr;
use std::time::Duration;

use app::db::{Db, DbError};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
}

/// The limited endpoints, by server-function path.
pub fn limited_endpoint(path: &str) -> Option<&'static str> {
    match path {
        "/api/sign_in" => Some("sign_in"),
        "/api/second_factor" => Some("second_factor"),
        "/api/choose_door" => Some("choose_door"),
        "/api/find_my_clinic" => Some("find_my_clinic"),
        "/api/request_password_reset" => Some("request_password_reset"),
        "/api/reset_password" => Some("reset_password"),
        "/api/accept_invitation" => Some("accept_invitation"),
        "/api/invitation_details" => Some("invitation_details"),
        "/api/sign_up" => Some("sign_up"),
        _ => None,
    }
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window: window.max(Duration::from_secs(1)),
        }
    }

    /// The window a moment (seconds since the epoch) falls in, by its start.
    fn window_start(&self, now: i64) -> i64 {
        let len = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        now - now.rem_euclid(len)
    }

    fn window_secs(&self) -> i64 {
        i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX)
    }

    /// Counts one request; false when the caller is over the limit.
    pub async fn allow(
        &self,
        db: &Db,
        endpoint: &'static str,
        ip: IpAddr,
    ) -> Result<bool, DbError> {
        let now = chrono::Utc::now().timestamp();
        let start = self.window_start(now);
        let previous = start - self.window_secs();
        let hits = app::ratelimit::hit(db, endpoint, &ip.to_string(), start, previous).await?;
        Ok(self.within(hits, now - start))
    }

    /// Whether the sliding estimate stays within the limit, `elapsed` seconds
    /// into the current window. In whole numbers: current × len + previous ×
    /// (len − elapsed) ≤ limit × len.
    fn within(&self, hits: app::ratelimit::Hits, elapsed: i64) -> bool {
        let len = i128::from(self.window_secs());
        let left_of_previous = (len - i128::from(elapsed)).clamp(0, len);
        let weighed = i128::from(hits.current) * len + i128::from(hits.previous) * left_of_previous;
        weighed <= i128::from(self.limit) * len
    }

    /// Drops the counts of windows that can no longer weigh on a request: all
    /// but the current one and the one before it.
    pub async fn forget_ended(&self, db: &Db) -> Result<u64, DbError> {
        let start = self.window_start(chrono::Utc::now().timestamp());
        app::ratelimit::forget_before(db, start - self.window_secs()).await
    }
}

/// Counts a request for a page that a secret in its address opens (a calendar
/// feed, the waiting-room screen) at `factor` times the server's per-minute
/// allowance: apps poll such pages, and a wrong secret is a guess. The answer to
/// send instead when the caller is over it.
pub async fn secret_link(
    state: &crate::AppState,
    endpoint: &'static str,
    ip: IpAddr,
    factor: u32,
) -> Result<(), axum::response::Response> {
    use axum::response::IntoResponse;
    let limiter = RateLimiter::new(
        state.config.rate_limit_per_minute.saturating_mul(factor),
        Duration::from_secs(60),
    );
    match limiter.allow(&state.db, endpoint, ip).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            Err((http::StatusCode::TOO_MANY_REQUESTS, "too many requests").into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, endpoint, "rate limit could not be counted");
            Err(crate::status_pages::unavailable())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_to_their_length() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert_eq!(limiter.window_start(120), 120);
        assert_eq!(limiter.window_start(179), 120);
        assert_eq!(limiter.window_start(180), 180);
        let tiny = RateLimiter::new(1, Duration::from_millis(10));
        assert_eq!(tiny.window_start(7), 7, "a window is at least a second");
    }

    fn hits(current: i64, previous: i64) -> app::ratelimit::Hits {
        app::ratelimit::Hits { current, previous }
    }

    #[test]
    fn a_burst_just_before_the_minute_turns_still_counts_after_it() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert!(limiter.within(hits(3, 0), 59), "three in a minute pass");
        // Three at the end of one window, a fourth just after the boundary.
        assert!(!limiter.within(hits(1, 3), 1));
        assert!(!limiter.within(hits(1, 3), 19), "still two thirds weighed");
        // Once two thirds of a window have passed, one of the three has aged out.
        assert!(limiter.within(hits(1, 3), 20));
        assert!(
            limiter.within(hits(3, 3), 60),
            "the previous window is gone"
        );
        assert!(!limiter.within(hits(4, 0), 0), "the current window alone");
    }

    #[test]
    fn no_span_of_one_window_lets_through_twice_the_limit() {
        // A caller who sends three requests every second for ten minutes: in no
        // span of one window's length do twice the limit get through. (Refused
        // requests count too, so a caller who keeps hammering stays refused.)
        let limiter = RateLimiter::new(5, Duration::from_secs(60));
        let mut counts: std::collections::BTreeMap<i64, i64> = Default::default();
        let mut passed: Vec<i64> = Vec::new();
        for now in 0..600_i64 {
            for _ in 0..3 {
                let start = limiter.window_start(now);
                *counts.entry(start).or_default() += 1;
                let previous = counts.get(&(start - 60)).copied().unwrap_or(0);
                if limiter.within(hits(counts[&start], previous), now - start) {
                    passed.push(now);
                }
            }
        }
        for from in 0..540 {
            let in_span = passed
                .iter()
                .filter(|&&t| (from..from + 60).contains(&t))
                .count();
            assert!(in_span < 10, "{in_span} passed in the minute from {from}");
        }
        assert!(passed.len() >= 5, "the limit is served: {}", passed.len());
    }
}

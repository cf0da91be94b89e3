//! Per-IP rate limits on the endpoints strangers can hammer: sign-in, second
//! factor, password reset, invitations and sign-up. A fixed window per
//! (endpoint, IP), counted in the database so that every instance of the server
//! adds to the same count; the account lockout is separate and stays.

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

    /// Counts one request; false when the caller is over the limit.
    pub async fn allow(
        &self,
        db: &Db,
        endpoint: &'static str,
        ip: IpAddr,
    ) -> Result<bool, DbError> {
        let start = self.window_start(chrono::Utc::now().timestamp());
        let hits = app::ratelimit::hit(db, endpoint, &ip.to_string(), start).await?;
        Ok(hits <= i64::from(self.limit))
    }

    /// Drops the counts of windows that have ended.
    pub async fn forget_ended(&self, db: &Db) -> Result<u64, DbError> {
        let start = self.window_start(chrono::Utc::now().timestamp());
        app::ratelimit::forget_before(db, start).await
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
}

//! Per-IP rate limits on the endpoints strangers can hammer: sign-in, second
//! factor, password reset and invitation acceptance. A fixed window per
//! (endpoint, IP), kept in memory: a restart forgives, the account lockout stays.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests counted per (endpoint, client) since the window opened.
type Windows = HashMap<(&'static str, IpAddr), (Instant, u32)>;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<Windows>,
}

/// The limited endpoints, by server-function path.
pub fn limited_endpoint(path: &str) -> Option<&'static str> {
    match path {
        "/api/sign_in" => Some("sign_in"),
        "/api/second_factor" => Some("second_factor"),
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
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request; false when the caller is over the limit.
    pub fn allow(&self, endpoint: &'static str, ip: IpAddr) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry((endpoint, ip)).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_endpoint_and_ip() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.allow("sign_in", a));
        }
        assert!(!limiter.allow("sign_in", a));
        assert!(limiter.allow("sign_in", b));
        assert!(limiter.allow("reset_password", a));
    }

    #[test]
    fn the_window_resets() {
        let limiter = RateLimiter::new(1, Duration::from_millis(10));
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        assert!(limiter.allow("sign_in", a));
        assert!(!limiter.allow("sign_in", a));
        std::thread::sleep(Duration::from_millis(15));
        assert!(limiter.allow("sign_in", a));
    }
}

//! Quiet hours: a message arrives only inside the clinic's send window, in the
//! local time of the visit's location. One due outside it waits for the next
//! opening, unless it would then arrive too late to be of use, and is skipped.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::SendWindow;

/// What to do with a message at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Send it now.
    Now,
    /// Hold it until then (the window's next opening).
    Wait(DateTime<Utc>),
    /// The next opening is past the deadline: skip it.
    TooLate(DateTime<Utc>),
}

/// Whether `at` falls inside the window, in `tz`.
pub fn allowed(at: DateTime<Utc>, tz: Tz, window: SendWindow) -> bool {
    let local = at.with_timezone(&tz);
    let minute = i32::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
    (window.from_min..window.until_min).contains(&minute)
}

/// The first instant at or after `at` inside the window.
pub fn next_allowed(at: DateTime<Utc>, tz: Tz, window: SendWindow) -> DateTime<Utc> {
    if allowed(at, tz, window) {
        return at;
    }
    let local = at.with_timezone(&tz);
    let minute = i32::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
    let mut day = if minute < window.from_min {
        local.date_naive()
    } else {
        local.date_naive() + Duration::days(1)
    };
    // A clock change can swallow a whole short window; then the next day's.
    for _ in 0..7 {
        let open = opening(day, tz, window);
        if allowed(open, tz, window) && open >= at {
            return open;
        }
        day += Duration::days(1);
    }
    opening(day, tz, window)
}

/// When the window opens on local `day`. A start that a clock change skips
/// (02:30 on a spring-forward night) opens at the first local minute after it
/// that exists; a start that happens twice opens at the first.
fn opening(day: NaiveDate, tz: Tz, window: SendWindow) -> DateTime<Utc> {
    let start = NaiveTime::from_hms_opt(0, 0, 0).unwrap_or_default()
        + Duration::minutes(i64::from(window.from_min));
    let mut local = day.and_time(start);
    // Gaps last at most a few hours; a day always has a minute that exists.
    for _ in 0..24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    day.and_time(start).and_utc()
}

/// When a message should go, asked at `now`: at once inside the window, else at
/// the next opening, unless that is later than `deadline`.
pub fn decide(now: DateTime<Utc>, deadline: DateTime<Utc>, tz: Tz, window: SendWindow) -> Timing {
    let at = next_allowed(now, tz, window);
    if at > deadline {
        Timing::TooLate(at)
    } else if at == now {
        Timing::Now
    } else {
        Timing::Wait(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::scheduling::slots::TEST_ZONES as ZONES;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn window(from: i32, until: i32) -> SendWindow {
        SendWindow::new(from, until).expect("window")
    }

    #[test]
    fn a_reminder_due_late_in_the_evening_waits_for_the_morning() {
        let london = chrono_tz::Europe::London;
        let default = SendWindow::default();
        // 22:30 in London in winter (UTC+0): next 08:00.
        let late = at("2026-12-01T22:30:00Z");
        assert_eq!(
            next_allowed(late, london, default),
            at("2026-12-02T08:00:00Z")
        );
        // 06:10 in Kolkata (UTC+5:30) is 00:40 UTC: that morning's 08:00 is 02:30 UTC.
        let early = at("2026-12-02T00:40:00Z");
        assert_eq!(
            next_allowed(early, chrono_tz::Asia::Kolkata, default),
            at("2026-12-02T02:30:00Z")
        );
        // Inside the window: now.
        let noon = at("2026-12-02T12:00:00Z");
        assert_eq!(
            decide(noon, noon + Duration::hours(5), london, default),
            Timing::Now
        );
        // At 21:00 exactly the window has closed.
        assert!(!allowed(at("2026-12-02T21:00:00Z"), london, default));
        assert!(allowed(at("2026-12-02T20:59:59Z"), london, default));
    }

    #[test]
    fn a_message_that_would_arrive_after_its_deadline_is_skipped() {
        let london = chrono_tz::Europe::London;
        let default = SendWindow::default();
        // A 2-hour reminder for an 08:15 visit falls at 06:15; 08:00 leaves 15
        // minutes, under the 30 a reminder needs.
        let visit = at("2026-12-02T08:15:00Z");
        let due = visit - Duration::hours(2);
        assert_eq!(
            decide(due, visit - super::super::REMINDER_LEAD, london, default),
            Timing::TooLate(at("2026-12-02T08:00:00Z"))
        );
        // For a 09:00 visit it waits until 08:00.
        let visit = at("2026-12-02T09:00:00Z");
        assert_eq!(
            decide(
                visit - Duration::hours(2),
                visit - super::super::REMINDER_LEAD,
                london,
                default
            ),
            Timing::Wait(at("2026-12-02T08:00:00Z"))
        );
    }

    #[test]
    fn a_window_a_clock_change_swallows_whole_opens_the_next_day() {
        let london = chrono_tz::Europe::London;
        // 01:00–02:00 does not exist on 29 March 2026 in London.
        let w = window(60, 120);
        let answer = next_allowed(at("2026-03-28T23:00:00Z"), london, w);
        assert_eq!(answer, at("2026-03-30T00:00:00Z"), "01:00 BST on the 30th");
    }

    #[test]
    fn an_opening_a_clock_change_skips_or_repeats_is_taken_at_its_first_real_minute() {
        let london = chrono_tz::Europe::London;
        // 29 March 2026: 01:00 GMT becomes 02:00 BST; 01:30 does not exist.
        let early = window(90, 23 * 60);
        let night = at("2026-03-29T00:10:00Z"); // 00:10 GMT
        assert_eq!(
            next_allowed(night, london, early),
            at("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            next_allowed(night, london, early)
                .with_timezone(&london)
                .hour(),
            2,
            "02:00 BST, the first minute after the gap"
        );
        // 25 October 2026: 01:30 happens twice (BST, then GMT): the first.
        let night = at("2026-10-24T23:10:00Z"); // 00:10 BST
        assert_eq!(
            next_allowed(night, london, early),
            at("2026-10-25T00:30:00Z")
        );
        // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT.
        let ny = chrono_tz::America::New_York;
        let two = window(120, 23 * 60);
        assert_eq!(
            next_allowed(at("2026-03-08T06:00:00Z"), ny, two),
            at("2026-03-08T07:00:00Z"),
            "03:00 EDT"
        );
    }

    fn zone() -> impl Strategy<Value = Tz> {
        proptest::sample::select(ZONES)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The answer is inside the window, not before the question, and no
        /// earlier minute between them was inside it.
        #[test]
        fn next_allowed_is_the_first_minute_inside_the_window(
            tz in zone(),
            // 2026-01-01 .. 2027-12-31, to the second: every DST change of both years.
            seconds in 1_767_225_600_i64..1_830_297_600,
            from in 0_i32..=23 * 60,
            length in 60_i32..=24 * 60,
        ) {
            let until = (from + length).min(24 * 60);
            prop_assume!(until - from >= 60);
            let w = window(from, until);
            let asked = DateTime::from_timestamp(seconds, 0).expect("instant");
            let answer = next_allowed(asked, tz, w);
            prop_assert!(answer >= asked);
            prop_assert!(allowed(answer, tz, w), "{answer} is outside {}", w.label());
            prop_assert!(answer - asked <= Duration::hours(26));
            let mut t = asked;
            while t < answer {
                prop_assert!(!allowed(t, tz, w), "{t} was already inside {}", w.label());
                t += Duration::minutes(1);
            }
        }

        /// `decide` sends now only inside the window, waits only until a time
        /// within the deadline, and skips only past it.
        #[test]
        fn decide_agrees_with_next_allowed(
            tz in zone(),
            seconds in 1_767_225_600_i64..1_830_297_600,
            lead_minutes in 0_i64..3000,
        ) {
            let w = SendWindow::default();
            let now = DateTime::from_timestamp(seconds, 0).expect("instant");
            let deadline = now + Duration::minutes(lead_minutes);
            match decide(now, deadline, tz, w) {
                Timing::Now => prop_assert!(allowed(now, tz, w)),
                Timing::Wait(at) => {
                    prop_assert!(!allowed(now, tz, w));
                    prop_assert!(at <= deadline && allowed(at, tz, w));
                }
                Timing::TooLate(at) => prop_assert!(at > deadline),
            }
        }
    }
}

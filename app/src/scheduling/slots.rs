//! The slot engine: free appointment times for one practitioner, computed from
//! their weekly hours, date overrides, leave, holidays and hospital rounds, minus
//! what is already booked (with buffers), within the clinic's notice and window.
//!
//! Pure code over plain values: the database reads live in `db.rs`, and the
//! property test below checks every answer against an independent minute-by-
//! minute oracle.
//!
//! ## Time
//! Hours are wall-clock minutes of a local date in the location's zone. A local
//! time is turned into an instant once, by [`instant`]: the first instant at
//! which that date's clock shows the time or later. An ambiguous time (the
//! repeated hour when clocks go back) is thus its first occurrence, and a time
//! that does not exist (the hour skipped when clocks go forward) is the moment
//! the clock jumps: hours of 00:30–03:00 on the morning London skips
//! 01:00–02:00 last an hour and a half, and hours of 01:00–03:00 on the night
//! it repeats 01:00–02:00 last three. Slots are stepped in absolute time from
//! the start of each free stretch, so the skipped hour yields no slot and the
//! repeated hour yields its slots twice, with distinct offsets.
//!
//! ## Buffers (one rule)
//! An appointment occupies `[start − before, end + after)` of its
//! practitioner's time, and two occupied stretches may not overlap. Adjacent
//! buffers therefore add up: after a visit with a 10-minute after-buffer, a type
//! with a 5-minute before-buffer starts 15 minutes after that visit ends. Only
//! the appointment itself must fall inside the hours; its buffers may reach
//! outside them (tidying up after the last visit of the day).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

/// A stretch of absolute time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// What a weekly block is for: seeing patients, or hospital rounds (which take
/// the practitioner away from every location at those times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Clinic,
    Rounds,
}

/// Recurring hours: on `weekday` (1 = Monday … 7 = Sunday), from `start_min` to
/// `end_min` (minutes of the local day, `end_min` up to 1440), every
/// `every_weeks` weeks counted from the week of `from`, until `until`.
#[derive(Debug, Clone)]
pub struct WeeklyBlock {
    pub location: Uuid,
    pub tz: Tz,
    pub kind: BlockKind,
    pub weekday: u32,
    pub start_min: u32,
    pub end_min: u32,
    pub every_weeks: u32,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

impl WeeklyBlock {
    /// Whether the block runs on local date `day`.
    pub fn runs_on(&self, day: NaiveDate) -> bool {
        if day.weekday().number_from_monday() != self.weekday || day < self.from {
            return false;
        }
        if self.until.is_some_and(|u| day > u) {
            return false;
        }
        let weeks = (monday_of(day) - monday_of(self.from)).num_days() / 7;
        weeks % i64::from(self.every_weeks.max(1)) == 0
    }
}

/// A one-day change at a location (`None`: every location): extra hours, or
/// closed for `[start_min, end_min)` (the whole day is 0–1440).
#[derive(Debug, Clone)]
pub struct DayOverride {
    pub location: Option<Uuid>,
    pub tz: Tz,
    pub day: NaiveDate,
    pub open: bool,
    pub start_min: u32,
    pub end_min: u32,
}

/// When a location is open on a weekday (1 = Monday … 7 = Sunday), in
/// minutes of its local day.
#[derive(Debug, Clone)]
pub struct Opening {
    pub location: Uuid,
    pub tz: Tz,
    pub weekday: u32,
    pub start_min: u32,
    pub end_min: u32,
}

/// Everything the engine knows of one practitioner's time.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub blocks: Vec<WeeklyBlock>,
    /// Locations' opening hours: weekly hours at a location that has any are
    /// bookable only inside them (extra hours on a date are not clipped).
    pub opening: Vec<Opening>,
    pub overrides: Vec<DayOverride>,
    /// Leave and clinic holidays, already as absolute spans.
    pub away: Vec<Span>,
    /// Time already taken: appointments with their buffers, and "busy" time at
    /// other clinics.
    pub busy: Vec<Busy>,
}

/// Time already taken. A group session (capacity above 1) with seats left is
/// offered again at the same start for the same type.
#[derive(Debug, Clone)]
pub struct Busy {
    pub span: Span,
    pub group: Option<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub type_id: Uuid,
    pub start: DateTime<Utc>,
    pub seats_left: u32,
}

/// What is being booked.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub type_id: Uuid,
    pub location: Uuid,
    pub tz: Tz,
    pub duration_min: u32,
    pub buffer_before_min: u32,
    pub buffer_after_min: u32,
    pub capacity: u32,
    /// Local dates, both included.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// No slot starts before this (now + the clinic's minimum notice) …
    pub not_before: DateTime<Utc>,
    /// … nor at or after this (the end of the booking window).
    pub before: DateTime<Utc>,
}

/// A free time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// For a group session already under way: the seats still free.
    pub seats_left: Option<u32>,
}

/// The first instant at which local `day`'s clock in `tz` shows `minute`
/// (0–1440; 1440 is the next day's start) or later (see the module notes).
pub fn instant(tz: Tz, day: NaiveDate, minute: u32) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::MIN) + Duration::minutes(i64::from(minute));
    // A wall time in a gap does not exist: the clock jumps past it. The first
    // wall time after it that exists is where the clock lands.
    let mut probe = naive;
    for _ in 0..=(48 * 60) {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&naive)
}

/// The starts of a recurring series: `times` visits every `every_weeks` weeks
/// from local date `first`, each at local minute `minute`. The wall-clock time
/// stays the same across clock changes (a weekly 10:00 stays 10:00); a time
/// the clocks skip that day becomes the moment they jump, as [`instant`] has it.
pub fn series_starts(
    tz: Tz,
    first: NaiveDate,
    minute: u32,
    every_weeks: u32,
    times: u32,
) -> Vec<(NaiveDate, DateTime<Utc>)> {
    (0..times)
        .map(|n| {
            let day = first + Duration::weeks(i64::from(n * every_weeks));
            (day, instant(tz, day, minute))
        })
        .collect()
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

fn local_span(tz: Tz, day: NaiveDate, start_min: u32, end_min: u32) -> Option<Span> {
    let span = Span::new(instant(tz, day, start_min), instant(tz, day, end_min));
    (span.start < span.end).then_some(span)
}

/// Sorted, non-overlapping union of `spans`.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// `from` minus `cut`; both sorted and merged.
pub fn subtract(from: &[Span], cut: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for s in from {
        let mut start = s.start;
        for c in cut.iter().filter(|c| c.overlaps(s)) {
            if c.start > start {
                out.push(Span::new(start, c.start));
            }
            start = start.max(c.end);
        }
        if start < s.end {
            out.push(Span::new(start, s.end));
        }
    }
    out
}

/// `a` and `b` both; each sorted and merged.
pub fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(Span::new(start, end));
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The practitioner's bookable time at `location` over the local dates of
/// `wanted` (a day more on each side, so no zone's evening is lost).
pub fn open_time(schedule: &Schedule, location: Uuid, days: (NaiveDate, NaiveDate)) -> Vec<Span> {
    let (first, last) = (days.0 - Duration::days(1), days.1 + Duration::days(1));
    let mut open = Vec::new();
    let mut weekly = Vec::new();
    let mut opening = Vec::new();
    let limited = schedule.opening.iter().any(|o| o.location == location);
    let mut closed = schedule.away.clone();
    let mut day = first;
    while day <= last {
        let weekday = day.weekday().number_from_monday();
        for o in schedule
            .opening
            .iter()
            .filter(|o| o.location == location && o.weekday == weekday)
        {
            opening.extend(local_span(o.tz, day, o.start_min, o.end_min));
        }
        for b in schedule.blocks.iter().filter(|b| b.runs_on(day)) {
            let Some(span) = local_span(b.tz, day, b.start_min, b.end_min) else {
                continue;
            };
            match b.kind {
                BlockKind::Clinic if b.location == location => weekly.push(span),
                BlockKind::Clinic => {}
                BlockKind::Rounds => closed.push(span),
            }
        }
        for o in schedule.overrides.iter().filter(|o| o.day == day) {
            let here = o.location.is_none_or(|l| l == location);
            let Some(span) = local_span(o.tz, day, o.start_min, o.end_min) else {
                continue;
            };
            match (o.open, here) {
                (true, true) if o.location.is_some() => open.push(span),
                (false, true) => closed.push(span),
                _ => {}
            }
        }
        day += Duration::days(1);
    }
    let weekly = merge(weekly);
    open.extend(if limited {
        intersect(&weekly, &merge(opening))
    } else {
        weekly
    });
    subtract(&merge(open), &merge(closed))
}

/// Free slots for `wanted` in `schedule`, earliest first.
pub fn free_slots(schedule: &Schedule, wanted: &Wanted) -> Vec<Slot> {
    let open = open_time(
        schedule,
        wanted.location,
        (wanted.first_day, wanted.last_day),
    );
    let window = Span::new(
        instant(wanted.tz, wanted.first_day, 0),
        instant(wanted.tz, wanted.last_day, 1440),
    );
    let mut busy: Vec<&Busy> = schedule.busy.iter().collect();
    busy.sort_by_key(|b| b.span.start);
    // The longest busy stretch bounds how far back an overlapping one can start.
    let longest = busy
        .iter()
        .map(|b| b.span.end - b.span.start)
        .max()
        .unwrap_or_else(Duration::zero);
    let length = Duration::minutes(i64::from(wanted.duration_min.max(1)));
    let before = Duration::minutes(i64::from(wanted.buffer_before_min));
    let after = Duration::minutes(i64::from(wanted.buffer_after_min));
    let mut slots = Vec::new();
    for stretch in open {
        let mut start = stretch.start;
        while start + length <= stretch.end {
            let appointment = Span::new(start, start + length);
            let candidate = start;
            start += length;
            if candidate < wanted.not_before
                || candidate >= wanted.before
                || candidate < window.start
                || candidate >= window.end
            {
                continue;
            }
            let occupied = Span::new(appointment.start - before, appointment.end + after);
            match conflicts(&busy, longest, &occupied, wanted, candidate) {
                Conflict::Free => slots.push(Slot {
                    start: appointment.start,
                    end: appointment.end,
                    seats_left: None,
                }),
                Conflict::Group(left) => slots.push(Slot {
                    start: appointment.start,
                    end: appointment.end,
                    seats_left: Some(left),
                }),
                Conflict::Taken => {}
            }
        }
    }
    slots
}

enum Conflict {
    Free,
    /// Only the same group session, with seats left.
    Group(u32),
    Taken,
}

fn conflicts(
    busy: &[&Busy],
    longest: Duration,
    occupied: &Span,
    wanted: &Wanted,
    start: DateTime<Utc>,
) -> Conflict {
    // Busy stretches are sorted by start: only those starting after
    // `occupied.start − longest` can reach into it.
    let from = busy.partition_point(|b| b.span.start < occupied.start - longest);
    let mut group = None;
    for b in &busy[from..] {
        if b.span.start >= occupied.end {
            break;
        }
        if !b.span.overlaps(occupied) {
            continue;
        }
        match &b.group {
            Some(g)
                if wanted.capacity > 1
                    && g.type_id == wanted.type_id
                    && g.start == start
                    && g.seats_left > 0 =>
            {
                group = Some(g.seats_left);
            }
            _ => return Conflict::Taken,
        }
    }
    group.map_or(Conflict::Free, Conflict::Group)
}

/// The zones every time-zone property test draws from: DST north and south,
/// half-hour and 45-minute offsets, Lord Howe's half-hour DST, and UTC.
#[cfg(test)]
pub(crate) const TEST_ZONES: &[Tz] = &[
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::Santiago,
    chrono_tz::Pacific::Chatham,
    chrono_tz::UTC,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn weekly(tz: Tz, weekday: u32, start: u32, end: u32, location: Uuid) -> WeeklyBlock {
        WeeklyBlock {
            location,
            tz,
            kind: BlockKind::Clinic,
            weekday,
            start_min: start,
            end_min: end,
            every_weeks: 1,
            from: day(2026, 1, 1),
            until: None,
        }
    }

    fn wanted(tz: Tz, location: Uuid, first: NaiveDate, last: NaiveDate, minutes: u32) -> Wanted {
        Wanted {
            type_id: Uuid::nil(),
            location,
            tz,
            duration_min: minutes,
            buffer_before_min: 0,
            buffer_after_min: 0,
            capacity: 1,
            first_day: first,
            last_day: last,
            not_before: DateTime::<Utc>::MIN_UTC,
            before: DateTime::<Utc>::MAX_UTC,
        }
    }

    /// "HH:MM+hh:mm" of each slot in `tz`.
    fn labels(tz: Tz, slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.start.with_timezone(&tz).format("%H:%M%:z").to_string())
            .collect()
    }

    #[test]
    fn london_spring_forward_skips_the_missing_hour() {
        let tz = chrono_tz::Europe::London;
        let here = Uuid::now_v7();
        let d = day(2026, 3, 29);
        let schedule = Schedule {
            blocks: vec![weekly(tz, 7, 30, 180, here)],
            ..Schedule::default()
        };
        let slots = free_slots(&schedule, &wanted(tz, here, d, d, 30));
        assert_eq!(
            labels(tz, &slots),
            ["00:30+00:00", "02:00+01:00", "02:30+01:00"]
        );
    }

    #[test]
    fn london_fall_back_offers_the_repeated_half_hour_twice() {
        let tz = chrono_tz::Europe::London;
        let here = Uuid::now_v7();
        let d = day(2026, 10, 25);
        let schedule = Schedule {
            blocks: vec![weekly(tz, 7, 60, 150, here)],
            ..Schedule::default()
        };
        let slots = free_slots(&schedule, &wanted(tz, here, d, d, 30));
        assert_eq!(
            labels(tz, &slots),
            [
                "01:00+01:00",
                "01:30+01:00",
                "01:00+00:00",
                "01:30+00:00",
                "02:00+00:00"
            ]
        );
    }

    #[test]
    fn new_york_nine_oclock_stays_nine_across_both_changes() {
        let tz = chrono_tz::America::New_York;
        let here = Uuid::now_v7();
        for d in [
            day(2026, 3, 6),
            day(2026, 3, 9),
            day(2026, 10, 30),
            day(2026, 11, 2),
        ] {
            let schedule = Schedule {
                blocks: (1..=7)
                    .map(|w| weekly(tz, w, 9 * 60, 10 * 60, here))
                    .collect(),
                ..Schedule::default()
            };
            let slots = free_slots(&schedule, &wanted(tz, here, d, d, 60));
            assert_eq!(slots.len(), 1, "{d}");
            assert_eq!(
                slots[0]
                    .start
                    .with_timezone(&tz)
                    .format("%H:%M")
                    .to_string(),
                "09:00"
            );
        }
    }

    #[test]
    fn every_second_week_counts_from_the_first_week() {
        let tz = chrono_tz::UTC;
        let here = Uuid::now_v7();
        let mut block = weekly(tz, 1, 9 * 60, 10 * 60, here);
        block.every_weeks = 2;
        block.from = day(2026, 1, 5);
        assert!(block.runs_on(day(2026, 1, 5)));
        assert!(!block.runs_on(day(2026, 1, 12)));
        assert!(block.runs_on(day(2026, 1, 19)));
        assert!(!block.runs_on(day(2025, 12, 22)));
    }

    #[test]
    fn rounds_at_the_hospital_remove_clinic_hours() {
        let tz = chrono_tz::Asia::Kolkata;
        let (clinic, hospital) = (Uuid::now_v7(), Uuid::now_v7());
        let d = day(2026, 6, 1);
        let mut rounds = weekly(tz, 1, 13 * 60, 15 * 60, hospital);
        rounds.kind = BlockKind::Rounds;
        let schedule = Schedule {
            blocks: vec![weekly(tz, 1, 9 * 60, 17 * 60, clinic), rounds],
            ..Schedule::default()
        };
        let slots = free_slots(&schedule, &wanted(tz, clinic, d, d, 60));
        let local: Vec<String> = slots
            .iter()
            .map(|s| s.start.with_timezone(&tz).format("%H:%M").to_string())
            .collect();
        assert_eq!(
            local,
            ["09:00", "10:00", "11:00", "12:00", "15:00", "16:00"]
        );
        // Nothing is bookable at the hospital: rounds are not clinic hours.
        assert!(free_slots(&schedule, &wanted(tz, hospital, d, d, 60)).is_empty());
    }

    #[test]
    fn adjacent_buffers_add_up() {
        let tz = chrono_tz::UTC;
        let here = Uuid::now_v7();
        let d = day(2026, 6, 1);
        let at = |h: u32, m: u32| instant(tz, d, h * 60 + m);
        // A 09:00–09:30 visit with a 10-minute after-buffer.
        let schedule = Schedule {
            blocks: vec![weekly(tz, 1, 9 * 60, 12 * 60, here)],
            busy: vec![Busy {
                span: Span::new(at(9, 0), at(9, 40)),
                group: None,
            }],
            ..Schedule::default()
        };
        let mut w = wanted(tz, here, d, d, 15);
        w.buffer_before_min = 5;
        let slots = free_slots(&schedule, &w);
        // The visit ends at 09:30; the next may start 10 + 5 minutes later:
        // 09:30's before-buffer (from 09:25) overlaps the after-buffer, 09:45's
        // (from 09:40) starts where it ends.
        let starts: Vec<DateTime<Utc>> = slots.iter().map(|s| s.start).take(2).collect();
        assert_eq!(starts, [at(9, 45), at(10, 0)]);
    }

    #[test]
    fn a_group_session_with_seats_left_is_offered_again() {
        let tz = chrono_tz::UTC;
        let here = Uuid::now_v7();
        let d = day(2026, 6, 1);
        let group_type = Uuid::now_v7();
        let at = |h: u32| instant(tz, d, h * 60);
        let schedule = Schedule {
            blocks: vec![weekly(tz, 1, 9 * 60, 11 * 60, here)],
            busy: vec![Busy {
                span: Span::new(at(9), at(10)),
                group: Some(Group {
                    type_id: group_type,
                    start: at(9),
                    seats_left: 3,
                }),
            }],
            ..Schedule::default()
        };
        let mut w = wanted(tz, here, d, d, 60);
        w.type_id = group_type;
        w.capacity = 4;
        let slots = free_slots(&schedule, &w);
        assert_eq!(slots[0].seats_left, Some(3));
        assert_eq!(slots.len(), 2);
        // Another type cannot use that hour.
        w.type_id = Uuid::now_v7();
        assert_eq!(free_slots(&schedule, &w).len(), 1);
    }

    #[test]
    fn a_closed_override_and_leave_remove_time_and_an_extra_day_adds_it() {
        let tz = chrono_tz::Europe::Berlin;
        let here = Uuid::now_v7();
        let monday = day(2026, 6, 1);
        let schedule = Schedule {
            blocks: vec![weekly(tz, 1, 9 * 60, 12 * 60, here)],
            overrides: vec![
                DayOverride {
                    location: Some(here),
                    tz,
                    day: monday,
                    open: false,
                    start_min: 10 * 60,
                    end_min: 11 * 60,
                },
                DayOverride {
                    location: Some(here),
                    tz,
                    day: day(2026, 6, 6),
                    open: true,
                    start_min: 10 * 60,
                    end_min: 11 * 60,
                },
            ],
            away: vec![Span::new(
                instant(tz, day(2026, 6, 8), 0),
                instant(tz, day(2026, 6, 9), 0),
            )],
            ..Schedule::default()
        };
        let slots = free_slots(&schedule, &wanted(tz, here, monday, day(2026, 6, 8), 60));
        let local: Vec<String> = slots
            .iter()
            .map(|s| s.start.with_timezone(&tz).format("%a %H:%M").to_string())
            .collect();
        assert_eq!(local, ["Mon 09:00", "Mon 11:00", "Sat 10:00"]);
    }

    #[test]
    fn notice_and_window_bound_the_answer() {
        let tz = chrono_tz::UTC;
        let here = Uuid::now_v7();
        let d = day(2026, 6, 1);
        let schedule = Schedule {
            blocks: vec![weekly(tz, 1, 9 * 60, 12 * 60, here)],
            ..Schedule::default()
        };
        let mut w = wanted(tz, here, d, d, 60);
        w.not_before = instant(tz, d, 9 * 60 + 1);
        w.before = instant(tz, d, 11 * 60);
        let slots = free_slots(&schedule, &w);
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].start, instant(tz, d, 10 * 60));
    }

    #[test]
    fn weekly_hours_are_bookable_only_while_the_location_is_open() {
        let tz = chrono_tz::Europe::London;
        let here = Uuid::now_v7();
        let monday = day(2026, 3, 30); // the first Monday of summer time
        let schedule = Schedule {
            blocks: vec![WeeklyBlock {
                location: here,
                tz,
                kind: BlockKind::Clinic,
                weekday: 1,
                start_min: 8 * 60,
                end_min: 12 * 60,
                every_weeks: 1,
                from: day(2026, 1, 1),
                until: None,
            }],
            opening: vec![Opening {
                location: here,
                tz,
                weekday: 1,
                start_min: 9 * 60,
                end_min: 17 * 60,
            }],
            overrides: vec![DayOverride {
                location: Some(here),
                tz,
                day: monday,
                open: true,
                start_min: 18 * 60,
                end_min: 19 * 60,
            }],
            ..Schedule::default()
        };
        let open = open_time(&schedule, here, (monday, monday));
        assert_eq!(
            open,
            vec![
                Span::new(instant(tz, monday, 9 * 60), instant(tz, monday, 12 * 60)),
                Span::new(instant(tz, monday, 18 * 60), instant(tz, monday, 19 * 60)),
            ],
            "08:00-09:00 is before opening; the extra evening hour is a deliberate opening"
        );
        // Another location's opening hours do not limit this one.
        let elsewhere = Schedule {
            opening: vec![Opening {
                location: Uuid::now_v7(),
                ..schedule.opening[0].clone()
            }],
            overrides: vec![],
            ..schedule.clone()
        };
        assert_eq!(
            open_time(&elsewhere, here, (monday, monday)),
            vec![Span::new(
                instant(tz, monday, 8 * 60),
                instant(tz, monday, 12 * 60)
            )]
        );
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        use super::super::TEST_ZONES as ZONES;

        #[derive(Debug, Clone)]
        struct Case {
            tz: Tz,
            first: NaiveDate,
            days: u32,
            blocks: Vec<(u32, u32, u32)>,
            busy: Vec<(u32, u32, u32)>,
            duration: u32,
            before: u32,
            after: u32,
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                0..ZONES.len(),
                0u32..365,
                1u32..9,
                prop::collection::vec((1u32..=7, 0u32..1440, 15u32..600), 1..6),
                prop::collection::vec((0u32..10, 0u32..1440, 5u32..180), 0..12),
                prop::sample::select(vec![10u32, 15, 20, 25, 30, 45, 60, 90]),
                prop::sample::select(vec![0u32, 5, 10, 15]),
                prop::sample::select(vec![0u32, 5, 10, 15]),
            )
                .prop_map(
                    |(zone, offset, days, blocks, busy, duration, before, after)| Case {
                        tz: ZONES[zone],
                        first: day(2026, 1, 1) + Duration::days(i64::from(offset)),
                        days,
                        blocks: blocks
                            .into_iter()
                            .map(|(w, s, len)| (w, s, (s + len).min(1440)))
                            .collect(),
                        busy,
                        duration,
                        before,
                        after,
                    },
                )
        }

        /// For local `day` in `tz`, minute m (0–1440) → the first instant whose
        /// clock shows that date and m or later, found by walking every minute of
        /// absolute time: the oracle [`instant`] is checked against.
        fn walk_day(tz: Tz, day: NaiveDate) -> Vec<DateTime<Utc>> {
            let mut table = Vec::with_capacity(1441);
            let mut t = Utc
                .from_utc_datetime(&(day.and_time(chrono::NaiveTime::MIN) - Duration::hours(15)));
            while table.len() <= 1440 {
                let local = t.with_timezone(&tz);
                let reached = match local.date_naive().cmp(&day) {
                    std::cmp::Ordering::Less => None,
                    std::cmp::Ordering::Equal => Some(local.hour() * 60 + local.minute()),
                    std::cmp::Ordering::Greater => Some(1440),
                };
                if let Some(reached) = reached {
                    while table.len() <= reached as usize {
                        table.push(t);
                    }
                }
                t += Duration::minutes(1);
            }
            table
        }

        /// The hours of case `c` as absolute time, computed through [`walk_day`].
        fn oracle_hours(c: &Case, last: NaiveDate) -> Vec<Span> {
            let mut spans = Vec::new();
            let mut d = c.first - Duration::days(1);
            while d <= last + Duration::days(1) {
                let table = walk_day(c.tz, d);
                for &(w, s, e) in &c.blocks {
                    if d.weekday().number_from_monday() == w
                        && table[s as usize] < table[e as usize]
                    {
                        spans.push(Span::new(table[s as usize], table[e as usize]));
                    }
                }
                d += Duration::days(1);
            }
            merge(spans)
        }

        use chrono::Timelike;

        #[test]
        fn instant_is_the_first_moment_the_clock_reaches_a_time() {
            for tz in ZONES {
                for d in [
                    day(2026, 3, 8),
                    day(2026, 3, 29),
                    day(2026, 4, 5),
                    day(2026, 9, 6),
                    day(2026, 9, 27),
                    day(2026, 10, 4),
                    day(2026, 10, 25),
                    day(2026, 11, 1),
                ] {
                    let table = walk_day(*tz, d);
                    for m in 0..=1440 {
                        assert_eq!(instant(*tz, d, m), table[m as usize], "{tz} {d} minute {m}");
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn a_series_keeps_its_wall_clock_time_across_clock_changes(
                zone in 0..ZONES.len(),
                offset in 0u32..730,
                minute in 0u32..1440,
                every in 1u32..=4,
                times in 2u32..=26,
            ) {
                let tz = ZONES[zone];
                let first = day(2026, 1, 1) + Duration::days(i64::from(offset));
                let starts = series_starts(tz, first, minute, every, times);
                prop_assert_eq!(starts.len(), times as usize);
                let wall = first.and_time(chrono::NaiveTime::MIN) + Duration::minutes(i64::from(minute));
                for (n, (d, at)) in starts.iter().enumerate() {
                    let n = u32::try_from(n).expect("small");
                    prop_assert_eq!(*d, first + Duration::weeks(i64::from(n * every)));
                    let local = at.with_timezone(&tz);
                    let exists = tz.from_local_datetime(&(wall + Duration::weeks(i64::from(n * every)))).earliest();
                    match exists {
                        // The same wall-clock time on that date (its first occurrence when repeated).
                        Some(t) => {
                            prop_assert_eq!(*at, t.with_timezone(&Utc));
                            prop_assert_eq!(local.hour() * 60 + local.minute(), minute);
                        }
                        // Skipped by the clocks: the moment they jump, on that date.
                        None => prop_assert_eq!(*at, instant(tz, *d, minute)),
                    }
                }
                for pair in starts.windows(2) {
                    let gap = pair[1].1 - pair[0].1;
                    let week = Duration::weeks(i64::from(every));
                    // At most the largest clock change (an hour) off a whole number of weeks.
                    prop_assert!((gap - week).num_minutes().abs() <= 60, "{:?} apart", gap);
                }
            }

            #[test]
            fn slots_respect_hours_bookings_buffers_and_never_repeat(c in case()) {
                let here = Uuid::now_v7();
                let last = c.first + Duration::days(i64::from(c.days) - 1);
                let busy: Vec<Busy> = c.busy.iter().map(|&(d, m, len)| {
                    let start = instant(c.tz, c.first, 0) + Duration::minutes(i64::from(d * 1440 + m));
                    Busy { span: Span::new(start, start + Duration::minutes(i64::from(len))), group: None }
                }).collect();
                let schedule = Schedule {
                    blocks: c.blocks.iter().map(|&(w, s, e)| WeeklyBlock {
                        location: here, tz: c.tz, kind: BlockKind::Clinic, weekday: w,
                        start_min: s, end_min: e, every_weeks: 1, from: day(2025, 1, 1), until: None,
                    }).collect(),
                    busy: busy.clone(),
                    ..Schedule::default()
                };
                let mut w = wanted(c.tz, here, c.first, last, c.duration);
                w.buffer_before_min = c.before;
                w.buffer_after_min = c.after;
                let slots = free_slots(&schedule, &w);
                let hours = oracle_hours(&c, last);
                let mut starts: Vec<DateTime<Utc>> = slots.iter().map(|s| s.start).collect();
                starts.sort();
                starts.dedup();
                prop_assert_eq!(starts.len(), slots.len(), "a slot is repeated");
                for s in &slots {
                    prop_assert_eq!(s.end - s.start, Duration::minutes(i64::from(c.duration)));
                    let local_day = s.start.with_timezone(&c.tz).date_naive();
                    prop_assert!(local_day >= c.first && local_day <= last, "slot outside the dates");
                    let slot = Span::new(s.start, s.end);
                    prop_assert!(hours.iter().any(|h| h.contains(&slot)), "{:?} is outside the hours", slot);
                    let occupied = Span::new(
                        s.start - Duration::minutes(i64::from(c.before)),
                        s.end + Duration::minutes(i64::from(c.after)),
                    );
                    for b in &busy {
                        prop_assert!(!b.span.overlaps(&occupied), "slot {:?} overlaps {:?}", s, b.span);
                    }
                }
            }
        }
    }
}

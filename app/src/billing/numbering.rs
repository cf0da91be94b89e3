//! Document numbers: a prefix, the financial year when the clinic restarts
//! numbering each year, and the number in the series: `INV-00042`,
//! `INV-2627/0042` (financial year April 2026 – March 2027), `CN-2026/0001`
//! (calendar years). At most 16 characters, as India's GST rules ask.

use chrono::{Datelike, NaiveDate};

/// The longest document number allowed.
pub const MAX_NUMBER_CHARS: usize = 16;

/// The series a document dated `day` belongs to: `""` when the clinic never
/// restarts, else its financial year: `"2026"` for years starting in January,
/// `"2026-27"` for a year starting in any other month.
pub fn period(fy_start_month: u32, day: NaiveDate) -> String {
    if fy_start_month == 0 {
        return String::new();
    }
    let start_year = if day.month() >= fy_start_month {
        day.year()
    } else {
        day.year() - 1
    };
    if fy_start_month == 1 {
        start_year.to_string()
    } else {
        format!("{start_year}-{:02}", (start_year + 1).rem_euclid(100))
    }
}

/// The printed number of the `seq`-th document of a series, or `None` when it
/// would be longer than [`MAX_NUMBER_CHARS`] (shorten the prefix).
pub fn number(prefix: &str, period: &str, seq: i64) -> Option<String> {
    let text = if period.is_empty() {
        format!("{prefix}{seq:05}")
    } else {
        // "2026-27" prints as "2627", "2026" as "2026".
        let short = match period.split_once('-') {
            Some((start, end)) => format!("{}{end}", &start[start.len().saturating_sub(2)..]),
            None => period.to_owned(),
        };
        format!("{prefix}{short}/{seq:04}")
    };
    (text.chars().count() <= MAX_NUMBER_CHARS).then_some(text)
}

/// A prefix a clinic may choose: 1–6 letters, digits, `-` or `/`.
pub fn valid_prefix(prefix: &str) -> bool {
    (1..=6).contains(&prefix.chars().count())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid")
    }

    #[test]
    fn a_financial_year_names_its_series() {
        assert_eq!(period(0, day(2026, 11, 30)), "");
        assert_eq!(period(1, day(2026, 1, 1)), "2026");
        assert_eq!(period(1, day(2026, 12, 31)), "2026");
        assert_eq!(period(4, day(2026, 3, 31)), "2025-26");
        assert_eq!(period(4, day(2026, 4, 1)), "2026-27");
        assert_eq!(period(4, day(2099, 4, 1)), "2099-00");
    }

    #[test]
    fn numbers_are_short_enough_to_print() {
        assert_eq!(number("INV-", "", 42).as_deref(), Some("INV-00042"));
        assert_eq!(
            number("INV-", "2026-27", 42).as_deref(),
            Some("INV-2627/0042")
        );
        assert_eq!(number("CN-", "2026", 1).as_deref(), Some("CN-2026/0001"));
        assert_eq!(
            number("CLINIC", "2026-27", 99_999).as_deref(),
            Some("CLINIC2627/99999")
        );
        assert_eq!(number("CLINIC", "2026-27", 100_000), None);
        assert!(
            valid_prefix("INV-")
                && valid_prefix("A/")
                && !valid_prefix("")
                && !valid_prefix("TOOLONG")
        );
        assert!(!valid_prefix("IN V") && !valid_prefix("ÄB"));
    }
}

//! Doses, frequencies and the quantity a course needs. Amounts are thousandths
//! of their unit (2.5 ml is 2500): no floating point reaches a prescription.

/// How often a dose is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// Doses at fixed times of day, the Indian "1-0-1" notation: each part is the
    /// number of doses morning, (noon,) (evening,) night. Halves are written "½".
    TimesOfDay(Vec<u32>),
    /// Every `n` hours (1..=72).
    EveryHours(u32),
    /// `n` times a day at no fixed times (1..=12).
    TimesADay(u32),
    Weekly,
    /// A single dose.
    Once,
    /// As needed, for the indication on the line.
    AsNeeded,
}

impl Frequency {
    /// Reads what a prescriber types: "1-0-1", "1-1-1-1", "½-0-½", "every 8
    /// hours", "q8h", "3 times a day", "tds", "bd", "od", "weekly", "once",
    /// "stat", "as needed", "prn".
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_lowercase();
        let t = t.as_str();
        let known = match t {
            "od" | "once a day" | "once daily" | "daily" => Some(Self::TimesADay(1)),
            "bd" | "bid" | "twice a day" | "twice daily" => Some(Self::TimesADay(2)),
            "tds" | "tid" => Some(Self::TimesADay(3)),
            "qds" | "qid" => Some(Self::TimesADay(4)),
            "weekly" | "once a week" => Some(Self::Weekly),
            "once" | "stat" | "single dose" => Some(Self::Once),
            "as needed" | "prn" | "sos" => Some(Self::AsNeeded),
            _ => None,
        };
        if let Some(f) = known {
            return Ok(f);
        }
        if t.contains('-') {
            return Self::times_of_day(t);
        }
        let hours = t
            .strip_prefix("every ")
            .and_then(|r| {
                r.strip_suffix(" hours")
                    .or_else(|| r.strip_suffix(" hourly"))
            })
            .or_else(|| t.strip_prefix('q').and_then(|r| r.strip_suffix('h')));
        if let Some(n) = hours.and_then(|n| n.trim().parse::<u32>().ok()) {
            return if (1..=72).contains(&n) {
                Ok(Self::EveryHours(n))
            } else {
                Err("every 1 to 72 hours".into())
            };
        }
        let times = t
            .strip_suffix(" times a day")
            .or_else(|| t.strip_suffix(" times daily"));
        if let Some(n) = times.and_then(|n| n.trim().parse::<u32>().ok()) {
            return if (1..=12).contains(&n) {
                Ok(Self::TimesADay(n))
            } else {
                Err("1 to 12 times a day".into())
            };
        }
        Err("write it as 1-0-1, every 8 hours, 3 times a day, weekly, once or as needed".into())
    }

    /// "1-0-1": halves count as 500 thousandths.
    fn times_of_day(t: &str) -> Result<Self, String> {
        let parts: Vec<&str> = t.split('-').map(str::trim).collect();
        if !(3..=4).contains(&parts.len()) {
            return Err("write three or four parts: morning-noon-night, as 1-0-1".into());
        }
        let mut milli = Vec::with_capacity(parts.len());
        for p in parts {
            let m = match p {
                "½" | "1/2" | "0.5" => 500,
                _ => match p.parse::<u32>() {
                    Ok(n) if n <= 9 => n * 1000,
                    _ => return Err("each part is a number of doses from 0 to 9, or ½".into()),
                },
            };
            milli.push(m);
        }
        if milli.iter().all(|m| *m == 0) {
            return Err("at least one time of day needs a dose".into());
        }
        Ok(Self::TimesOfDay(milli))
    }

    /// The stored spelling, read back by [`Frequency::parse`].
    pub fn code(&self) -> String {
        match self {
            Self::TimesOfDay(parts) => parts
                .iter()
                .map(|m| match m {
                    500 => "½".to_owned(),
                    m => (m / 1000).to_string(),
                })
                .collect::<Vec<_>>()
                .join("-"),
            Self::EveryHours(n) => format!("every {n} hours"),
            Self::TimesADay(n) => format!("{n} times a day"),
            Self::Weekly => "weekly".into(),
            Self::Once => "once".into(),
            Self::AsNeeded => "prn".into(),
        }
    }

    /// What a patient reads.
    pub fn describe(&self) -> String {
        match self {
            Self::TimesOfDay(parts) => {
                let when: Vec<&str> = dosed_times(parts).map(|t| t.0).collect();
                format!("{} ({})", self.code(), when.join(", "))
            }
            Self::TimesADay(1) => "once a day".into(),
            Self::TimesADay(2) => "twice a day".into(),
            Self::AsNeeded => "as needed".into(),
            Self::Once => "once only".into(),
            other => other.code(),
        }
    }

    /// Doses (in thousandths of one dose) over a course of `days`; `None` when
    /// the course cannot be counted (as needed).
    pub fn doses_milli(&self, days: Option<u32>) -> Option<u64> {
        let days = u64::from(days.unwrap_or(1));
        match self {
            Self::TimesOfDay(parts) => {
                Some(parts.iter().map(|m| u64::from(*m)).sum::<u64>() * days)
            }
            Self::EveryHours(n) => Some((days * 24).div_ceil(u64::from(*n)) * 1000),
            Self::TimesADay(n) => Some(u64::from(*n) * days * 1000),
            Self::Weekly => Some(days.div_ceil(7) * 1000),
            Self::Once => Some(1000),
            Self::AsNeeded => None,
        }
    }
}

/// The times of day of a "1-0-1" frequency that carry a dose, each as (the
/// name a patient reads, FHIR's event-timing code).
pub fn dosed_times(parts: &[u32]) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    const THREE: &[(&str, &str)] = &[("morning", "MORN"), ("noon", "NOON"), ("night", "NIGHT")];
    const FOUR: &[(&str, &str)] = &[
        ("morning", "MORN"),
        ("noon", "NOON"),
        ("evening", "EVE"),
        ("night", "NIGHT"),
    ];
    let times = if parts.len() == 3 { THREE } else { FOUR };
    parts
        .iter()
        .zip(times)
        .filter(|(m, _)| **m > 0)
        .map(|(_, t)| *t)
}

/// A positive decimal ("2.5", "500", "0,5") as thousandths.
pub fn parse_milli(text: &str) -> Result<u64, String> {
    let t = text.trim().replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 3
        || whole.len() > 9
    {
        return Err("enter a number such as 500 or 2.5".into());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "enter a number")?
    };
    let frac: u64 = format!("{frac:0<3}")
        .parse()
        .map_err(|_| "enter a number")?;
    let milli = whole * 1000 + frac;
    if milli == 0 {
        return Err("the dose must be more than zero".into());
    }
    Ok(milli)
}

/// Thousandths written back as a number ("2.5", "500").
pub fn format_milli(milli: u64) -> String {
    let whole = milli / 1000;
    let frac = milli % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// One amount of a strength: "500 mg" → (500000, "mg").
fn amount(text: &str) -> Option<(u64, String)> {
    let (n, unit) = text.trim().split_once(' ')?;
    Some((parse_milli(n).ok()?, unit.trim().to_owned()))
}

/// How many dispensing units one dose is, in thousandths; `None` when the
/// dose's unit cannot be converted (the prescriber then types the quantity).
///
/// - a dose in the dispensing unit ("1 tablet", "5 ml") is itself;
/// - a mass dose of a single-strength solid ("500 mg" of "500 mg" tablets) is
///   dose ÷ strength, if that is a whole or half unit;
/// - a mass dose of a liquid ("250 mg" of "250 mg/5 ml") is its volume in ml.
pub fn units_per_dose(
    dose_milli: u64,
    dose_unit: &str,
    strength: Option<&str>,
    unit: &str,
) -> Option<u64> {
    let same_unit = dose_unit == unit
        || (dose_unit == "units" && unit == "unit")
        || (dose_unit == "drop" && unit == "drop");
    if same_unit {
        return Some(dose_milli);
    }
    let strength = strength?;
    let parts: Vec<&str> = strength.split('/').collect();
    match parts.as_slice() {
        [single] => {
            let (per_unit, s_unit) = amount(single)?;
            if s_unit != dose_unit || per_unit == 0 || !matches!(unit, "tablet" | "capsule") {
                return None;
            }
            // Whole or half tablets only.
            let halves = (dose_milli * 2).checked_div(per_unit)?;
            (halves * per_unit == dose_milli * 2).then_some(halves * 500)
        }
        [mass, volume] if unit == "ml" => {
            let (per_volume, s_unit) = amount(mass)?;
            let (volume_milli, v_unit) = amount(volume)?;
            if s_unit != dose_unit || v_unit != "ml" || per_volume == 0 {
                return None;
            }
            // ml (thousandths) = dose / per_volume × volume
            Some((dose_milli * volume_milli).div_ceil(per_volume))
        }
        _ => None,
    }
}

/// The quantity a course needs, in whole dispensing units (rounded up).
pub fn course_quantity(units_per_dose_milli: u64, doses_milli: u64) -> u64 {
    (units_per_dose_milli * doses_milli).div_ceil(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_read_as_prescribers_write_them() {
        assert_eq!(
            Frequency::parse("1-0-1"),
            Ok(Frequency::TimesOfDay(vec![1000, 0, 1000]))
        );
        assert_eq!(
            Frequency::parse(" ½-0-½ ").map(|f| f.code()),
            Ok("½-0-½".into())
        );
        assert_eq!(Frequency::parse("q8h"), Ok(Frequency::EveryHours(8)));
        assert_eq!(
            Frequency::parse("Every 6 hours"),
            Ok(Frequency::EveryHours(6))
        );
        assert_eq!(Frequency::parse("TDS"), Ok(Frequency::TimesADay(3)));
        assert_eq!(
            Frequency::parse("3 times a day"),
            Ok(Frequency::TimesADay(3))
        );
        assert_eq!(Frequency::parse("prn"), Ok(Frequency::AsNeeded));
        for bad in [
            "",
            "0-0-0",
            "1-0",
            "every 0 hours",
            "every 100 hours",
            "often",
            "13 times a day",
        ] {
            assert!(Frequency::parse(bad).is_err(), "{bad}");
        }
        for f in [
            "1-0-1",
            "1-1-1-1",
            "every 8 hours",
            "2 times a day",
            "weekly",
            "once",
            "prn",
        ] {
            let parsed = Frequency::parse(f).expect("parses");
            assert_eq!(Frequency::parse(&parsed.code()), Ok(parsed));
        }
    }

    #[test]
    fn a_course_counts_its_doses() {
        let bd = Frequency::parse("1-0-1").expect("parses");
        assert_eq!(bd.doses_milli(Some(5)), Some(10_000));
        assert_eq!(Frequency::EveryHours(8).doses_milli(Some(7)), Some(21_000));
        // 10 hours apart over a day is 3 doses (0, 10, 20 h), not 2.4.
        assert_eq!(Frequency::EveryHours(10).doses_milli(Some(1)), Some(3_000));
        assert_eq!(Frequency::Weekly.doses_milli(Some(28)), Some(4_000));
        assert_eq!(Frequency::AsNeeded.doses_milli(Some(5)), None);
    }

    #[test]
    fn doses_convert_to_what_is_dispensed() {
        // 500 mg of 500 mg capsules is one capsule.
        assert_eq!(
            units_per_dose(500_000, "mg", Some("500 mg"), "capsule"),
            Some(1000)
        );
        // 250 mg of 500 mg tablets is half a tablet; 300 mg is not a half.
        assert_eq!(
            units_per_dose(250_000, "mg", Some("500 mg"), "tablet"),
            Some(500)
        );
        assert_eq!(
            units_per_dose(300_000, "mg", Some("500 mg"), "tablet"),
            None
        );
        // 250 mg of a 250 mg/5 ml suspension is 5 ml.
        assert_eq!(
            units_per_dose(250_000, "mg", Some("250 mg/5 ml"), "ml"),
            Some(5000)
        );
        assert_eq!(units_per_dose(2_000, "tablet", None, "tablet"), Some(2000));
        // Mass of a capsule given in mcg: not converted, the prescriber types it.
        assert_eq!(units_per_dose(500, "mcg", Some("500 mg"), "capsule"), None);
        // 1 capsule twice a day for 5 days: 10 capsules; 5 ml three times a day for 5 days: 75 ml.
        assert_eq!(course_quantity(1000, 10_000), 10);
        assert_eq!(course_quantity(5000, 15_000), 75);
        assert_eq!(course_quantity(500, 3_000), 2);
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_milli("2.5"), Ok(2500));
        assert_eq!(parse_milli("0,25"), Ok(250));
        assert_eq!(parse_milli("500"), Ok(500_000));
        for bad in ["0", "-1", "1.2345", "abc", "", "1e3"] {
            assert!(parse_milli(bad).is_err(), "{bad}");
        }
        assert_eq!(format_milli(2500), "2.5");
        assert_eq!(format_milli(500_000), "500");
        assert_eq!(format_milli(250), "0.25");
    }
}

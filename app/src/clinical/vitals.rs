//! Vital signs: read as people type them (metric or imperial), stored in one
//! canonical unit each, refused when implausible (a temperature of 986 is a
//! typo, not a fever), shown back in the clinic's units.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One set of measurements, in canonical units. Any may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measures {
    pub height_mm: Option<i32>,
    pub weight_g: Option<i32>,
    pub systolic: Option<i32>,
    pub diastolic: Option<i32>,
    pub pulse: Option<i32>,
    /// Tenths of a degree Celsius.
    pub temperature_dc: Option<i32>,
    pub spo2: Option<i32>,
    pub resp_rate: Option<i32>,
}

/// A stored reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub id: Uuid,
    pub taken_at: DateTime<Utc>,
    pub measures: Measures,
    pub recorded_by: String,
}

/// A refused field and what to fix.
type Refusal = (&'static str, String);

/// Plausible ranges in canonical units (the database checks the same bounds).
pub const BOUNDS: &[(&str, i32, i32)] = &[
    ("height_mm", 200, 2720),
    ("weight_g", 200, 650_000),
    ("systolic", 40, 300),
    ("diastolic", 20, 200),
    ("pulse", 20, 300),
    ("temperature_dc", 250, 450),
    ("spo2", 50, 100),
    ("resp_rate", 4, 80),
];

/// The form's text for one reading, with the units it was typed in.
#[derive(Debug, Clone, Default)]
pub struct Typed<'a> {
    pub height: &'a str,
    pub weight: &'a str,
    pub blood_pressure: &'a str,
    pub pulse: &'a str,
    pub temperature: &'a str,
    pub spo2: &'a str,
    pub resp_rate: &'a str,
    pub imperial: bool,
}

fn number(field: &'static str, text: &str) -> Result<Option<f64>, Refusal> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or((field, "enter a number".into()))
}

fn whole(field: &'static str, text: &str) -> Result<Option<i32>, Refusal> {
    Ok(number(field, text)?.map(|v| v.round() as i32))
}

fn within(
    field: &'static str,
    value: Option<i32>,
    canonical: &str,
    message: impl Fn() -> String,
) -> Result<Option<i32>, Refusal> {
    let Some(v) = value else { return Ok(None) };
    let (_, lo, hi) = BOUNDS
        .iter()
        .find(|(name, _, _)| *name == canonical)
        .copied()
        .unwrap_or(("", i32::MIN, i32::MAX));
    if (lo..=hi).contains(&v) {
        Ok(Some(v))
    } else {
        Err((field, message()))
    }
}

/// Reads the form; the error names the field and says what is wrong.
pub fn parse(t: &Typed<'_>) -> Result<Measures, Refusal> {
    let (len, mass, temp) = if t.imperial {
        ("in", "lb", "°F")
    } else {
        ("cm", "kg", "°C")
    };
    let height = number("height", t.height)?.map(|v| {
        let mm = if t.imperial { v * 25.4 } else { v * 10.0 };
        mm.round() as i32
    });
    let weight = number("weight", t.weight)?.map(|v| {
        let g = if t.imperial {
            v * 453.592_37
        } else {
            v * 1000.0
        };
        g.round() as i32
    });
    let temperature = number("temperature", t.temperature)?.map(|v| {
        let c = if t.imperial {
            (v - 32.0) * 5.0 / 9.0
        } else {
            v
        };
        (c * 10.0).round() as i32
    });
    let (systolic, diastolic) = blood_pressure(t.blood_pressure)?;
    let m = Measures {
        height_mm: within("height", height, "height_mm", || {
            format!(
                "a height in {len} between {} and {}",
                shown(200.0, t.imperial, Unit::Length),
                shown(2720.0, t.imperial, Unit::Length)
            )
        })?,
        weight_g: within("weight", weight, "weight_g", || {
            format!(
                "a weight in {mass} between {} and {}",
                shown(200.0, t.imperial, Unit::Mass),
                shown(650_000.0, t.imperial, Unit::Mass)
            )
        })?,
        systolic: within("blood_pressure", systolic, "systolic", || {
            "a systolic pressure between 40 and 300 mmHg".into()
        })?,
        diastolic: within("blood_pressure", diastolic, "diastolic", || {
            "a diastolic pressure between 20 and 200 mmHg".into()
        })?,
        pulse: within("pulse", whole("pulse", t.pulse)?, "pulse", || {
            "a pulse between 20 and 300 beats per minute".into()
        })?,
        temperature_dc: within("temperature", temperature, "temperature_dc", || {
            if t.imperial {
                "a temperature between 77 and 113 °F".into()
            } else {
                format!("a temperature between 25 and 45 {temp}")
            }
        })?,
        spo2: within("spo2", whole("spo2", t.spo2)?, "spo2", || {
            "an oxygen saturation between 50 and 100 %".into()
        })?,
        resp_rate: within(
            "resp_rate",
            whole("resp_rate", t.resp_rate)?,
            "resp_rate",
            || "a breathing rate between 4 and 80 per minute".into(),
        )?,
    };
    if let (Some(s), Some(d)) = (m.systolic, m.diastolic) {
        if s <= d {
            return Err((
                "blood_pressure",
                "write the blood pressure as systolic/diastolic, such as 120/80".into(),
            ));
        }
    }
    if m == Measures::default() {
        return Err(("height", "enter at least one measurement".into()));
    }
    Ok(m)
}

/// `120/80` (spaces allowed) → (120, 80).
fn blood_pressure(text: &str) -> Result<(Option<i32>, Option<i32>), Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Ok((None, None));
    }
    let bad = || {
        (
            "blood_pressure",
            "write the blood pressure as systolic/diastolic, such as 120/80".to_owned(),
        )
    };
    let (s, d) = text.split_once('/').ok_or_else(bad)?;
    let s: i32 = s.trim().parse().map_err(|_| bad())?;
    let d: i32 = d.trim().parse().map_err(|_| bad())?;
    Ok((Some(s), Some(d)))
}

#[derive(Clone, Copy)]
enum Unit {
    Length,
    Mass,
}

/// A canonical bound shown in the typed unit (for messages).
fn shown(canonical: f64, imperial: bool, unit: Unit) -> String {
    match (unit, imperial) {
        (Unit::Length, false) => format!("{}", canonical / 10.0),
        (Unit::Length, true) => format!("{:.0}", canonical / 25.4),
        (Unit::Mass, false) => format!("{}", canonical / 1000.0),
        (Unit::Mass, true) => format!("{:.0}", canonical / 453.592_37),
    }
}

impl Measures {
    /// Body-mass index, one decimal, when height and weight are both known.
    pub fn bmi(&self) -> Option<f64> {
        let (h, w) = (self.height_mm?, self.weight_g?);
        let m = f64::from(h) / 1000.0;
        let kg = f64::from(w) / 1000.0;
        Some((kg / (m * m) * 10.0).round() / 10.0)
    }
}

/// One measure as a chart plots it and a table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Weight,
    Bmi,
    BloodPressure,
    Pulse,
    Temperature,
    Spo2,
    RespRate,
    Height,
}

impl Measure {
    pub const ALL: [Measure; 8] = [
        Self::BloodPressure,
        Self::Pulse,
        Self::Temperature,
        Self::Spo2,
        Self::RespRate,
        Self::Weight,
        Self::Height,
        Self::Bmi,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Weight => "Weight",
            Self::Bmi => "BMI",
            Self::BloodPressure => "Blood pressure",
            Self::Pulse => "Pulse",
            Self::Temperature => "Temperature",
            Self::Spo2 => "SpO₂",
            Self::RespRate => "Respiratory rate",
            Self::Height => "Height",
        }
    }

    pub fn unit(self, imperial: bool) -> &'static str {
        match (self, imperial) {
            (Self::Weight, false) => "kg",
            (Self::Weight, true) => "lb",
            (Self::Height, false) => "cm",
            (Self::Height, true) => "in",
            (Self::Temperature, false) => "°C",
            (Self::Temperature, true) => "°F",
            (Self::Bmi, _) => "kg/m²",
            (Self::BloodPressure, _) => "mmHg",
            (Self::Pulse, _) => "/min",
            (Self::Spo2, _) => "%",
            (Self::RespRate, _) => "/min",
        }
    }

    /// The plotted value(s) in display units (blood pressure: systolic, diastolic).
    pub fn values(self, m: &Measures, imperial: bool) -> Option<(f64, Option<f64>)> {
        let one = |v: Option<f64>| v.map(|v| (v, None));
        match self {
            Self::Weight => one(m.weight_g.map(|g| {
                let kg = f64::from(g) / 1000.0;
                if imperial {
                    round1(kg / 0.453_592_37)
                } else {
                    round1(kg)
                }
            })),
            Self::Height => one(m.height_mm.map(|mm| {
                if imperial {
                    round1(f64::from(mm) / 25.4)
                } else {
                    round1(f64::from(mm) / 10.0)
                }
            })),
            Self::Temperature => one(m.temperature_dc.map(|dc| {
                let c = f64::from(dc) / 10.0;
                if imperial {
                    round1(c * 9.0 / 5.0 + 32.0)
                } else {
                    c
                }
            })),
            Self::Bmi => one(m.bmi()),
            Self::BloodPressure => Some((f64::from(m.systolic?), m.diastolic.map(f64::from))),
            Self::Pulse => one(m.pulse.map(f64::from)),
            Self::Spo2 => one(m.spo2.map(f64::from)),
            Self::RespRate => one(m.resp_rate.map(f64::from)),
        }
    }

    /// The value as text, with its unit.
    pub fn text(self, m: &Measures, imperial: bool) -> Option<String> {
        let (a, b) = self.values(m, imperial)?;
        Some(match b {
            Some(b) => format!("{a}/{b} {}", self.unit(imperial)),
            None => format!("{a} {}", self.unit(imperial)),
        })
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A small line chart as SVG path data: `points` are (x in 0..=1, y value);
/// returns the polyline's `points` attribute in a `width`×`height` box, and the
/// y range shown.
pub fn polyline(points: &[(f64, f64)], width: f64, height: f64) -> (String, f64, f64) {
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if (hi - lo).abs() < f64::EPSILON {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let pad = 6.0;
    let text = points
        .iter()
        .map(|(x, y)| {
            let px = pad + x * (width - 2.0 * pad);
            let py = height - pad - (y - lo) / (hi - lo) * (height - 2.0 * pad);
            format!("{px:.1},{py:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    (text, lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed() -> Typed<'static> {
        Typed::default()
    }

    #[test]
    fn metric_and_imperial_land_in_the_same_units() {
        let metric = parse(&Typed {
            height: "170",
            weight: "70",
            temperature: "37",
            ..typed()
        })
        .expect("metric");
        assert_eq!(
            (metric.height_mm, metric.weight_g, metric.temperature_dc),
            (Some(1700), Some(70_000), Some(370))
        );
        let imperial = parse(&Typed {
            height: "66.9",
            weight: "154.3",
            temperature: "98.6",
            imperial: true,
            ..typed()
        })
        .expect("imperial");
        assert_eq!(imperial.temperature_dc, Some(370));
        assert_eq!(imperial.height_mm, Some(1699));
        assert_eq!(imperial.weight_g, Some(69_989));
        assert_eq!(metric.bmi(), Some(24.2));
    }

    #[test]
    fn implausible_values_are_refused_with_the_field() {
        for (t, field) in [
            (
                Typed {
                    temperature: "986",
                    ..typed()
                },
                "temperature",
            ),
            (
                Typed {
                    temperature: "98.6",
                    ..typed()
                },
                "temperature",
            ),
            (
                Typed {
                    height: "1.70",
                    ..typed()
                },
                "height",
            ),
            (
                Typed {
                    weight: "-3",
                    ..typed()
                },
                "weight",
            ),
            (
                Typed {
                    blood_pressure: "80/120",
                    ..typed()
                },
                "blood_pressure",
            ),
            (
                Typed {
                    blood_pressure: "120",
                    ..typed()
                },
                "blood_pressure",
            ),
            (
                Typed {
                    spo2: "101",
                    ..typed()
                },
                "spo2",
            ),
            (
                Typed {
                    pulse: "abc",
                    ..typed()
                },
                "pulse",
            ),
            (
                Typed {
                    pulse: "NaN",
                    ..typed()
                },
                "pulse",
            ),
            (typed(), "height"),
        ] {
            assert_eq!(parse(&t).map_err(|e| e.0), Err(field), "{t:?}");
        }
    }

    #[test]
    fn values_show_in_the_clinics_units() {
        let m = Measures {
            temperature_dc: Some(370),
            systolic: Some(120),
            diastolic: Some(80),
            ..Measures::default()
        };
        assert_eq!(Measure::Temperature.text(&m, true), Some("98.6 °F".into()));
        assert_eq!(
            Measure::BloodPressure.text(&m, false),
            Some("120/80 mmHg".into())
        );
        assert_eq!(Measure::Weight.text(&m, false), None);
    }
}

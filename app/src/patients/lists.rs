//! The registry's lists on a patient: emergency contacts, insurance entries and
//! identifiers from other systems. Each entry is added whole and removed by
//! marking it (the record keeps its history); at most one contact and one
//! insurance entry is primary at a time (the database holds that rule).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// Someone to call in an emergency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergencyContact {
    pub id: Uuid,
    pub name: String,
    pub relation: String,
    /// E.164.
    pub phone: String,
    pub primary: bool,
}

/// A health insurance (or payer) entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insurance {
    pub id: Uuid,
    pub provider: String,
    pub policy_number: String,
    pub group_number: Option<String>,
    pub subscriber: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub primary: bool,
}

impl Insurance {
    /// Whether the policy covers `day` (open ends count as covering).
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_to.is_none_or(|t| day <= t)
    }
}

/// An identifier from another system: a national id, another hospital's MRN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    pub id: Uuid,
    /// What issued it ("National ID", "St Mary's MRN").
    pub system: String,
    pub value: String,
}

/// The three lists of one patient, current entries only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryLists {
    pub contacts: Vec<EmergencyContact>,
    pub insurance: Vec<Insurance>,
    pub identifiers: Vec<Identifier>,
}

/// Which list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Contact,
    Insurance,
    Identifier,
}

text_enum!(ListKind { Contact => "contact", Insurance => "insurance", Identifier => "identifier" });

impl ListKind {
    #[cfg(feature = "ssr")]
    pub(crate) fn table(self) -> &'static str {
        match self {
            Self::Contact => "patient_contacts",
            Self::Insurance => "patient_insurance",
            Self::Identifier => "patient_identifiers",
        }
    }
}

/// A refused field and the message for it.
pub type Refusal = (&'static str, String);

/// Dates of cover: from, to.
pub type Cover = (Option<NaiveDate>, Option<NaiveDate>);

/// A short free-text field: trimmed, plain, `min..=max` characters.
pub fn short(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, (&'static str, String)> {
    crate::text::plain_name(value.trim(), min, max).map_err(|m| (field, m))
}

/// An optional short field: `None` when blank.
pub fn optional(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, (&'static str, String)> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => short(field, v, 1, max).map(Some),
    }
}

/// A policy's validity: both ends optional, the end not before the start.
pub fn validity(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Cover, Refusal> {
    match (from, to) {
        (Some(f), Some(t)) if t < f => Err((
            "valid_to",
            "the end of cover cannot be before its start".into(),
        )),
        _ => Ok((from, to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn cover_has_open_or_closed_ends() {
        let mut i = Insurance {
            id: Uuid::nil(),
            provider: "Aetna".into(),
            policy_number: "P1".into(),
            group_number: None,
            subscriber: None,
            valid_from: Some(day(2026, 1, 1)),
            valid_to: Some(day(2026, 12, 31)),
            primary: true,
        };
        assert!(i.covers(day(2026, 1, 1)) && i.covers(day(2026, 12, 31)));
        assert!(!i.covers(day(2027, 1, 1)) && !i.covers(day(2025, 12, 31)));
        i.valid_to = None;
        assert!(i.covers(day(2040, 1, 1)));
        assert!(validity(Some(day(2026, 2, 1)), Some(day(2026, 1, 1))).is_err());
        assert!(validity(None, Some(day(2026, 1, 1))).is_ok());
    }

    #[test]
    fn short_fields_are_plain_and_bounded() {
        assert_eq!(
            short("name", "  Ravi Nair ", 2, 120),
            Ok("Ravi Nair".into())
        );
        assert!(short("name", "R", 2, 120).is_err());
        assert!(short("name", "<script>", 2, 120).is_err());
        assert_eq!(optional("group", Some("   "), 60), Ok(None));
    }
}

/// A patient's request to correct their details, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionRequest {
    pub id: Uuid,
    pub message: String,
    pub status: CorrectionStatus,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub decided_by: Option<String>,
    pub response: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionStatus {
    Pending,
    Corrected,
    Declined,
}

text_enum!(CorrectionStatus { Pending => "pending", Corrected => "corrected", Declined => "declined" });

/// The most requests a patient may have waiting at once.
pub const MAX_PENDING_CORRECTIONS: i64 = 5;

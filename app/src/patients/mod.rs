//! Patients of a clinic: the registry the front desk keeps (demographics,
//! contact, record numbers, search, portal access). The chart lives in
//! `clinical`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod db;
pub mod erasure;
pub mod fields;
#[cfg(feature = "ssr")]
pub mod import;
pub mod lists;
pub mod merge;
pub mod pages;
pub mod phone;
#[cfg(feature = "ssr")]
pub mod search;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// A medical record number: unique within a tenant, 1 to 20 characters of
/// uppercase letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mrn(String);

impl Mrn {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mrn = raw.trim().to_uppercase();
        let ok = (1..=20).contains(&mrn.len())
            && mrn.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !mrn.starts_with('-');
        if ok {
            Ok(Self(mrn))
        } else {
            Err("a record number has 1 to 20 letters, digits or hyphens".into())
        }
    }
}

crate::text::text_newtype!(Mrn, String);

/// Administrative sex as recorded for the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

text_enum!(Sex { Female => "female", Male => "male", Other => "other", Unknown => "unknown" });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: Uuid,
    pub mrn: Mrn,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub primary_staff_id: Option<Uuid>,
    /// The patient has a portal account (an invitation was accepted).
    #[serde(default)]
    pub portal_account: bool,
    #[serde(default)]
    pub details: Details,
    #[serde(default)]
    pub status: PatientStatus,
    #[serde(default)]
    pub deceased_on: Option<NaiveDate>,
    /// Archived records are hidden from lists and search, never deleted.
    #[serde(default)]
    pub archived: bool,
}

impl Patient {
    /// "Ada Lovelace", or "Ada (Addie) Lovelace" with a preferred name.
    pub fn display_name(&self) -> String {
        match self.details.preferred_name.as_deref() {
            Some(pref) if pref != self.given_name => {
                format!("{} ({pref}) {}", self.given_name, self.family_name)
            }
            _ => format!("{} {}", self.given_name, self.family_name),
        }
    }

    /// Age in whole years on `today`.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        today.years_since(self.birth_date).unwrap_or(0)
    }
}

/// The registry fields beyond name, birth and contact: all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    pub preferred_name: Option<String>,
    pub gender_identity: Option<String>,
    pub address: Option<String>,
    pub preferred_language: Option<String>,
    pub blood_type: Option<BloodType>,
}

/// Where the patient stands with the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PatientStatus {
    #[default]
    Active,
    Inactive,
    Deceased,
    Transferred,
}

text_enum!(PatientStatus { Active => "active", Inactive => "inactive", Deceased => "deceased", Transferred => "transferred" });

/// ABO group and Rh factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BloodType {
    #[serde(rename = "A+")]
    APos,
    #[serde(rename = "A-")]
    ANeg,
    #[serde(rename = "B+")]
    BPos,
    #[serde(rename = "B-")]
    BNeg,
    #[serde(rename = "AB+")]
    AbPos,
    #[serde(rename = "AB-")]
    AbNeg,
    #[serde(rename = "O+")]
    OPos,
    #[serde(rename = "O-")]
    ONeg,
}

text_enum!(BloodType { APos => "A+", ANeg => "A-", BPos => "B+", BNeg => "B-", AbPos => "AB+", AbNeg => "AB-", OPos => "O+", ONeg => "O-" });

impl BloodType {
    pub const ALL: [BloodType; 8] = [
        Self::APos,
        Self::ANeg,
        Self::BPos,
        Self::BNeg,
        Self::AbPos,
        Self::AbNeg,
        Self::OPos,
        Self::ONeg,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPatient {
    pub mrn: Mrn,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub primary_staff_id: Option<Uuid>,
    #[serde(default)]
    pub details: Details,
}

impl NewPatient {
    /// The registry's rules; the error names the field (`given_name`, ...) and says
    /// what to fix. Email and phone arrive already parsed (see `api`).
    pub fn validate(&self, today: NaiveDate) -> Result<(), (&'static str, String)> {
        for (field, label, value) in [
            ("given_name", "given name", &self.given_name),
            ("family_name", "family name", &self.family_name),
        ] {
            crate::text::plain_name(value, 2, 100)
                .map_err(|m| (field, format!("the {label}: {m}")))?;
        }
        if self.birth_date > today {
            return Err((
                "birth_date",
                "the date of birth cannot be in the future".into(),
            ));
        }
        if today.years_since(self.birth_date).unwrap_or(0) > 130 {
            return Err((
                "birth_date",
                "check the date of birth: that would make the patient older than 130".into(),
            ));
        }
        let d = &self.details;
        for (field, value, max) in [
            ("preferred_name", &d.preferred_name, 100),
            ("gender_identity", &d.gender_identity, 60),
            ("preferred_language", &d.preferred_language, 60),
        ] {
            if let Some(v) = value {
                crate::text::plain_name(v, 1, max).map_err(|m| (field, m))?;
            }
        }
        if let Some(address) = &d.address {
            if address.chars().count() > 500
                || address
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r')
            {
                return Err((
                    "address",
                    "an address has at most 500 characters of plain text".into(),
                ));
            }
        }
        Ok(())
    }

    /// The "family given" text lists sort by: folded (lower case, no accents).
    #[cfg(feature = "ssr")]
    pub fn search_name(&self) -> String {
        search::fold(&format!(
            "{} {}",
            self.family_name.trim(),
            self.given_name.trim()
        ))
    }
}

/// A page of results in the shape every list answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub limit: u32,
    pub total_items: u64,
    pub total_pages: u32,
    pub has_next: bool,
    pub has_prev: bool,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, page: u32, limit: u32, total_items: u64) -> Self {
        let total_pages = total_items.div_ceil(u64::from(limit.max(1))) as u32;
        Self {
            items,
            page,
            limit,
            total_items,
            total_pages,
            has_next: page < total_pages,
            has_prev: page > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrn_is_uppercased_and_validated() {
        assert_eq!(
            Mrn::parse(" acm-0001 ").map(String::from),
            Ok("ACM-0001".into())
        );
        assert!(Mrn::parse("").is_err());
        assert!(Mrn::parse("has space").is_err());
        assert!(Mrn::parse(&"9".repeat(21)).is_err());
    }

    #[test]
    fn future_birth_dates_are_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let p = NewPatient {
            mrn: Mrn::parse("A1").expect("mrn"),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birth_date: NaiveDate::from_ymd_opt(2026, 1, 2).expect("date"),
            sex: Sex::Female,
            email: None,
            phone: None,
            primary_staff_id: None,
            details: Details::default(),
        };
        assert_eq!(p.validate(today).map_err(|e| e.0), Err("birth_date"));
        assert_eq!(p.search_name(), "lovelace ada");
        let short = NewPatient {
            given_name: "A".into(),
            birth_date: NaiveDate::from_ymd_opt(1990, 1, 2).expect("date"),
            ..p
        };
        assert_eq!(short.validate(today).map_err(|e| e.0), Err("given_name"));
    }

    #[test]
    fn pages_say_where_they_are() {
        let page = Paged::new(vec![1, 2], 2, 2, 5);
        assert_eq!(
            (page.total_pages, page.has_next, page.has_prev),
            (3, true, true)
        );
        let last = Paged::new(vec![5], 3, 2, 5);
        assert_eq!((last.has_next, last.has_prev), (false, true));
        let empty = Paged::<u8>::new(vec![], 1, 25, 0);
        assert_eq!(
            (empty.total_pages, empty.has_next, empty.has_prev),
            (0, false, false)
        );
    }
}

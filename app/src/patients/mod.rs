//! Patients of a clinic. This issue keeps the record minimal; the clinical issue
//! extends it.

#[cfg(feature = "ssr")]
pub mod db;

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
}

impl NewPatient {
    pub fn validate(&self, today: NaiveDate) -> Result<(), String> {
        for (field, value) in [
            ("given name", &self.given_name),
            ("family name", &self.family_name),
        ] {
            crate::text::plain_name(value, 1, 100).map_err(|m| format!("the {field}: {m}"))?;
        }
        if self.birth_date > today {
            return Err("the date of birth cannot be in the future".into());
        }
        Ok(())
    }

    /// The lower-cased "family given" text that name search matches on both databases.
    pub fn search_name(&self) -> String {
        format!("{} {}", self.family_name.trim(), self.given_name.trim()).to_lowercase()
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
        };
        assert!(p.validate(today).is_err());
        assert_eq!(p.search_name(), "lovelace ada");
    }
}

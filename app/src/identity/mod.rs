//! People who sign in: platform-wide accounts and their memberships in tenants.
//! (Passwords, sessions and invitations arrive with the identity issue.)

#[cfg(feature = "ssr")]
pub mod db;
pub mod permissions;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// A normalized email address: trimmed and lower-cased, so one person has one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let invalid = || "enter an email address such as name@clinic.com".to_string();
        if email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }
}

crate::text::text_newtype!(Email, String);

/// A staff member's role inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Doctor,
    Nurse,
    Receptionist,
    Billing,
    LabTechnician,
    Pharmacist,
}

text_enum!(Role {
    Owner => "owner",
    Admin => "admin",
    Manager => "manager",
    Doctor => "doctor",
    Nurse => "nurse",
    Receptionist => "receptionist",
    Billing => "billing",
    LabTechnician => "lab_technician",
    Pharmacist => "pharmacist",
});

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Doctor,
        Role::Nurse,
        Role::Receptionist,
        Role::Billing,
        Role::LabTechnician,
        Role::Pharmacist,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Deactivated,
}

text_enum!(MemberStatus { Active => "active", Deactivated => "deactivated" });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub email: Email,
    pub display_name: String,
}

/// An account's membership of one tenant's staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: Uuid,
    pub account_id: Uuid,
    pub role: Role,
    pub status: MemberStatus,
    pub display_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalized_and_validated() {
        assert_eq!(
            Email::parse("  Dr.Who@Clinic.COM ").map(String::from),
            Ok("dr.who@clinic.com".to_string())
        );
        for bad in [
            "",
            "no-at-sign",
            "@clinic.com",
            "a@b",
            "a b@c.com",
            "a@.com",
            "a@c..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        assert_eq!("lab_technician".parse::<Role>(), Ok(Role::LabTechnician));
        assert_eq!(Role::Pharmacist.as_str(), "pharmacist");
        assert!("superuser".parse::<Role>().is_err());
    }
}

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A tenant's address: `acme` in `acme.medisync.example` and `/t/acme`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a slug was refused, in words a clinic owner understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("the address must be 3 to 40 characters long")]
    Length,
    #[error("the address may contain only lowercase letters, digits and hyphens")]
    Characters,
    #[error("the address cannot start or end with a hyphen")]
    EdgeHyphen,
    #[error("\"{0}\" is reserved; please choose another address")]
    Reserved(String),
}

/// Names that belong to the platform itself or would confuse people and mail servers.
const RESERVED_SLUGS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "static",
    "mail",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "assets",
    "cdn",
    "pkg",
    "auth",
    "login",
    "signin",
    "signup",
    "support",
    "help",
    "status",
    "docs",
    "blog",
    "billing",
    "platform",
    "medisync",
    "root",
    "system",
    "dev",
    "test",
    "staging",
    "portal",
    "dashboard",
    "account",
    "accounts",
    "security",
    "localhost",
    "webmail",
    "ns1",
    "ns2",
];

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let len = raw.chars().count();
        if !(3..=40).contains(&len) {
            return Err(SlugError::Length);
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(SlugError::Characters);
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(SlugError::EdgeHyphen);
        }
        if RESERVED_SLUGS.contains(&raw) {
            return Err(SlugError::Reserved(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }
}

crate::text::text_newtype!(Slug, SlugError);

impl FromStr for Slug {
    type Err = SlugError;
    fn from_str(s: &str) -> Result<Self, SlugError> {
        Self::parse(s)
    }
}

/// A clinic's own domain name, such as `portal.acme-clinic.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl Domain {
    /// `Ok(None)` for an empty value (no custom domain). Accepts what people paste:
    /// any case, a scheme, a trailing dot or slash.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let mut host = raw.trim().to_ascii_lowercase();
        for scheme in ["https://", "http://"] {
            if let Some(rest) = host.strip_prefix(scheme) {
                host = rest.to_owned();
            }
        }
        let host = host.trim_end_matches('/').trim_end_matches('.');
        if host.is_empty() {
            return Ok(None);
        }
        let error =
            || format!("{host:?} is not a domain name; enter one such as portal.yourclinic.com");
        let labels: Vec<&str> = host.split('.').collect();
        let label_ok = |l: &&str| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
        if host.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
            return Err(error());
        }
        Ok(Some(Self(host.to_owned())))
    }
}

impl TryFrom<String> for Domain {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)?.ok_or_else(|| "a domain name is required".into())
    }
}

impl From<Domain> for String {
    fn from(d: Domain) -> String {
        d.0
    }
}

impl Domain {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_letters_digits_and_inner_hyphens() {
        for ok in ["acme", "st-marys-2", "a1b", &"x".repeat(40)] {
            assert!(Slug::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn refuses_bad_length_characters_edges_and_reserved_words() {
        assert_eq!(Slug::parse("ab"), Err(SlugError::Length));
        assert_eq!(Slug::parse(&"x".repeat(41)), Err(SlugError::Length));
        assert_eq!(Slug::parse("Acme"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("acme clinic"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("acmé"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("-acme"), Err(SlugError::EdgeHyphen));
        assert_eq!(Slug::parse("acme-"), Err(SlugError::EdgeHyphen));
        for word in ["www", "api", "admin", "app", "static", "mail"] {
            assert_eq!(Slug::parse(word), Err(SlugError::Reserved(word.into())));
        }
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<Slug>("\"ok-slug\"").is_ok());
        assert!(serde_json::from_str::<Slug>("\"NO\"").is_err());
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        assert_eq!(
            Domain::parse(" HTTPS://Portal.Acme-Clinic.com./ ")
                .expect("ok")
                .map(String::from),
            Some("portal.acme-clinic.com".to_string())
        );
        assert_eq!(Domain::parse("  ").expect("empty"), None);
        for bad in [
            "localhost",
            "acme..com",
            "-a.com",
            "a.c0m",
            "a b.com",
            "acme.com:8080",
            "a/b.com",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! A clinic's first steps: self-service sign-up on the platform domain, and the
//! checklist on its dashboard until it is set up.

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;

use serde::{Deserialize, Serialize};

/// An address made from what someone typed (a clinic name, say): lowercase ASCII
/// letters and digits joined by single hyphens, at most 40 characters.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().to_lowercase().chars() {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The answer of the live address check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlugCheck {
    pub slug: String,
    pub available: bool,
    /// Why not, in words; or where the clinic will live.
    pub message: String,
    /// A free address close to what was typed.
    pub suggestion: Option<String>,
}

/// One step of setting a clinic up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub key: String,
    pub label: String,
    pub done: bool,
    /// Where to do it; `None` for steps that arrive with later features.
    pub href: Option<String>,
}

/// The dashboard checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
    pub email_verified: bool,
    /// The clinic's administrators hid it.
    #[serde(default)]
    pub dismissed: bool,
}

/// The dashboard's cards: a count for each page the viewer may open (`None`
/// for the others, whose cards are not shown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardCounts {
    pub patients: Option<i64>,
    pub active_staff: Option<i64>,
    pub pending_invitations: Option<i64>,
    /// Audit events in the last 24 hours.
    pub audit_events_today: Option<i64>,
    /// Today's visits for the signed-in person: a practitioner's own, the
    /// whole clinic's for the front desk (`None` for those who do not book).
    #[serde(default)]
    pub today: Option<Vec<TodayVisit>>,
    /// Today's waiting-room queue, likewise (live tokens only).
    #[serde(default)]
    pub queue: Option<Vec<TodayVisit>>,
}

/// One of today's visits, as the dashboard's "Today" panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayVisit {
    /// "09:30" in the visit's location.
    pub time: String,
    pub patient: String,
    pub what: String,
    pub status: String,
}

impl Checklist {
    /// Done items out of those that can be done now.
    pub fn progress(&self) -> (usize, usize) {
        let open: Vec<_> = self.items.iter().filter(|i| i.href.is_some()).collect();
        (open.iter().filter(|i| i.done).count(), open.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_makes_valid_addresses() {
        assert_eq!(slugify("  Clínica São João  "), "clinica-sao-joao");
        assert_eq!(slugify("Dr. Smith's  Practice!"), "dr-smith-s-practice");
        assert_eq!(slugify("***"), "");
        let long = slugify(&"a b ".repeat(30));
        assert!(long.len() <= 40 && !long.ends_with('-'));
        assert!(crate::tenancy::Slug::parse(&slugify("North Wind Family Care")).is_ok());
    }
}

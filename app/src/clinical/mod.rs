//! The chart: allergies, problems, vitals and visit notes of one patient.
//! Nothing here is ever deleted by the clinic: entries are retired by status
//! (`entered-in-error`, `resolved`, ...), and a signed note changes only by an
//! addendum. Every read of a chart is audited (`api::chart`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod fhir;
#[cfg(feature = "ssr")]
pub mod icd10;
pub mod pages;
pub mod portal;
pub mod vitals;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllergyCategory {
    Medication,
    Food,
    Environment,
    Biologic,
    Other,
}
text_enum!(AllergyCategory { Medication => "medication", Food => "food", Environment => "environment", Biologic => "biologic", Other => "other" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Criticality {
    Low,
    High,
    UnableToAssess,
}
text_enum!(Criticality { Low => "low", High => "high", UnableToAssess => "unable-to-assess" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}
text_enum!(Severity { Mild => "mild", Moderate => "moderate", Severe => "severe" });

/// The state of a chart entry (allergy or problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryStatus {
    Active,
    Inactive,
    Resolved,
    Chronic,
    EnteredInError,
}
text_enum!(EntryStatus { Active => "active", Inactive => "inactive", Resolved => "resolved", Chronic => "chronic", EnteredInError => "entered-in-error" });

impl EntryStatus {
    /// Still part of the patient's current picture.
    pub fn is_current(self) -> bool {
        matches!(self, Self::Active | Self::Chronic)
    }
}

/// Common allergens offered in the form (free text is allowed too).
pub const COMMON_ALLERGENS: &[(&str, AllergyCategory)] = &[
    ("Penicillins", AllergyCategory::Medication),
    ("Cephalosporins", AllergyCategory::Medication),
    ("Sulfonamide antibiotics", AllergyCategory::Medication),
    ("Macrolide antibiotics", AllergyCategory::Medication),
    ("Fluoroquinolones", AllergyCategory::Medication),
    ("Tetracyclines", AllergyCategory::Medication),
    ("Aspirin", AllergyCategory::Medication),
    ("NSAIDs", AllergyCategory::Medication),
    ("Opioids", AllergyCategory::Medication),
    ("ACE inhibitors", AllergyCategory::Medication),
    ("Anticonvulsants", AllergyCategory::Medication),
    ("Iodinated contrast media", AllergyCategory::Medication),
    ("Local anaesthetics", AllergyCategory::Medication),
    ("Neuromuscular blockers", AllergyCategory::Medication),
    ("Insulin", AllergyCategory::Biologic),
    ("Vaccines", AllergyCategory::Biologic),
    ("Peanut", AllergyCategory::Food),
    ("Tree nuts", AllergyCategory::Food),
    ("Milk", AllergyCategory::Food),
    ("Egg", AllergyCategory::Food),
    ("Wheat", AllergyCategory::Food),
    ("Soy", AllergyCategory::Food),
    ("Fish", AllergyCategory::Food),
    ("Shellfish", AllergyCategory::Food),
    ("Sesame", AllergyCategory::Food),
    ("Latex", AllergyCategory::Environment),
    ("Bee or wasp venom", AllergyCategory::Environment),
    ("Pollen", AllergyCategory::Environment),
    ("House dust mite", AllergyCategory::Environment),
    ("Animal dander", AllergyCategory::Environment),
    ("Mould", AllergyCategory::Environment),
    ("Nickel", AllergyCategory::Environment),
    ("Adhesive tape", AllergyCategory::Environment),
    ("Chlorhexidine", AllergyCategory::Environment),
];

/// An allergy or intolerance, or the explicit statement "no known allergies".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allergy {
    pub id: Uuid,
    /// `true`: this entry says the patient was asked and has no known allergies.
    pub none_known: bool,
    pub substance: String,
    pub category: AllergyCategory,
    pub criticality: Criticality,
    pub severity: Option<Severity>,
    pub reaction: Option<String>,
    pub onset_on: Option<NaiveDate>,
    pub status: EntryStatus,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// What the allergy banner says: never empty, never ambiguous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AllergyBanner {
    /// Nobody has recorded whether the patient has allergies.
    NotYetAsked,
    /// Asked: none known.
    NoneKnown,
    /// The active allergies' substances, most critical first.
    Allergies(Vec<String>),
}

impl AllergyBanner {
    pub fn of(allergies: &[Allergy]) -> Self {
        let mut active: Vec<&Allergy> = allergies
            .iter()
            .filter(|a| !a.none_known && a.status == EntryStatus::Active)
            .collect();
        if !active.is_empty() {
            active.sort_by_key(|a| (a.criticality != Criticality::High, a.substance.clone()));
            return Self::Allergies(active.iter().map(|a| a.substance.clone()).collect());
        }
        if allergies
            .iter()
            .any(|a| a.none_known && a.status == EntryStatus::Active)
        {
            Self::NoneKnown
        } else {
            Self::NotYetAsked
        }
    }
}

/// A problem or diagnosis, coded from ICD-10-CM or free text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub id: Uuid,
    pub code: Option<String>,
    pub description: String,
    pub onset_on: Option<NaiveDate>,
    pub status: EntryStatus,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteStatus {
    Draft,
    Signed,
}
text_enum!(NoteStatus { Draft => "draft", Signed => "signed" });

/// The four parts of a SOAP note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Soap {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

/// A visit note or an addendum to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: Uuid,
    pub author_id: Uuid,
    pub author: String,
    pub addendum_to: Option<Uuid>,
    pub title: String,
    pub soap: Soap,
    pub shareable: bool,
    pub status: NoteStatus,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub content_sha256: Option<String>,
}

/// The longest text of one note section.
pub const MAX_NOTE_SECTION: usize = 8_000;

impl Soap {
    /// Each section plain text within bounds; at least one section written.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let sections = [
            ("subjective", &self.subjective),
            ("objective", &self.objective),
            ("assessment", &self.assessment),
            ("plan", &self.plan),
        ];
        for (name, text) in sections {
            if text.chars().count() > MAX_NOTE_SECTION {
                return Err((
                    name,
                    format!("write at most {MAX_NOTE_SECTION} characters here"),
                ));
            }
        }
        if sections.iter().all(|(_, t)| t.trim().is_empty()) {
            return Err(("subjective", "write at least one part of the note".into()));
        }
        Ok(())
    }
}

/// The SHA-256 (hex) of what a signature covers: the note's identity, author,
/// title, sections, shareability and signing time, each length-prefixed.
#[cfg(feature = "ssr")]
pub fn signed_content_hash(note: &Note, patient_id: Uuid, signed_at: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let fields = [
        note.id.to_string(),
        patient_id.to_string(),
        note.author_id.to_string(),
        note.addendum_to.map(|a| a.to_string()).unwrap_or_default(),
        note.title.clone(),
        note.soap.subjective.clone(),
        note.soap.objective.clone(),
        note.soap.assessment.clone(),
        note.soap.plan.clone(),
        note.shareable.to_string(),
        signed_at.timestamp_micros().to_string(),
    ];
    let mut hasher = Sha256::new();
    for f in &fields {
        hasher.update(f.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(f.as_bytes());
    }
    data_encoding::HEXLOWER.encode(&hasher.finalize())
}

/// A flag on the chart, shown as a banner on every chart page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagKind {
    Vip,
    HighRisk,
    Dnr,
    InfectionControl,
    Other,
}
text_enum!(FlagKind { Vip => "vip", HighRisk => "high_risk", Dnr => "dnr", InfectionControl => "infection_control", Other => "other" });

impl FlagKind {
    pub const ALL: [FlagKind; 5] = [
        Self::Dnr,
        Self::InfectionControl,
        Self::HighRisk,
        Self::Vip,
        Self::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Vip => "VIP",
            Self::HighRisk => "High risk",
            Self::Dnr => "Do not resuscitate",
            Self::InfectionControl => "Infection control",
            Self::Other => "Note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub id: Uuid,
    pub kind: FlagKind,
    pub note: Option<String>,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    pub cleared: bool,
}

impl Flag {
    /// "Infection control: MRSA".
    pub fn text(&self) -> String {
        match &self.note {
            Some(note) if self.kind == FlagKind::Other => note.clone(),
            Some(note) => format!("{}: {note}", self.kind.label()),
            None => self.kind.label().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentKind {
    Treatment,
    DataSharing,
    Marketing,
    Telehealth,
}
text_enum!(ConsentKind { Treatment => "treatment", DataSharing => "data_sharing", Marketing => "marketing", Telehealth => "telehealth" });

impl ConsentKind {
    pub const ALL: [ConsentKind; 4] = [
        Self::Treatment,
        Self::DataSharing,
        Self::Telehealth,
        Self::Marketing,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Treatment => "Treatment",
            Self::DataSharing => "Data sharing",
            Self::Marketing => "Marketing",
            Self::Telehealth => "Telehealth",
        }
    }
}

/// The latest decision recorded for one kind of consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub kind: ConsentKind,
    pub granted: bool,
    pub effective_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A draft note waiting for its author's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsigned {
    pub note_id: Uuid,
    pub patient_id: Uuid,
    pub patient: String,
    pub title: String,
    pub started_at: DateTime<Utc>,
    /// `started_at` as the clinic writes dates.
    pub started: String,
}

/// The chart's header: who this is, at a glance, on every tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartHeader {
    pub patient_id: Uuid,
    pub name: String,
    pub initials: String,
    pub mrn: String,
    pub sex: String,
    pub age: u32,
    pub born: String,
    pub status: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub blood_type: Option<String>,
    pub archived: bool,
}

/// Everything the chart page shows, read (and audited) in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientChart {
    pub header: ChartHeader,
    /// The registry record, for the details form.
    pub record: crate::patients::Patient,
    /// Emergency contacts, insurance and identifiers.
    #[serde(default)]
    pub lists: crate::patients::lists::RegistryLists,
    /// Whether the patient asked for erasure, and until when a restricted
    /// record is kept.
    #[serde(default)]
    pub erasure: crate::patients::erasure::ErasureState,
    /// The record this one was merged into (its id and number), when it was.
    #[serde(default)]
    pub merged_into: Option<(Uuid, String)>,
    /// The clinic's custom fields and this patient's values.
    #[serde(default)]
    pub custom_fields: Vec<crate::patients::fields::FieldValue>,
    /// The patient's requests to correct their details, newest first.
    #[serde(default)]
    pub corrections: Vec<crate::patients::lists::CorrectionRequest>,
    pub banner: AllergyBanner,
    /// Current and cleared flags, current first.
    pub flags: Vec<Flag>,
    /// The current state of each kind of consent recorded.
    pub consents: Vec<Consent>,
    /// The channels the patient asked not to be messaged by.
    #[serde(default)]
    pub message_opt_outs: Vec<crate::engagement::Channel>,
    /// The viewer may set flags and record consents.
    pub can_update: bool,
    /// The viewer may archive or restore the record.
    #[serde(default)]
    pub can_archive: bool,
    pub allergies: Vec<Allergy>,
    pub problems: Vec<Problem>,
    pub vitals: Vec<vitals::Reading>,
    pub notes: Vec<Note>,
    /// Documents filed on the record, newest first.
    #[serde(default)]
    pub documents: Vec<crate::documents::PatientDocument>,
    /// The viewer may file documents.
    #[serde(default)]
    pub can_upload: bool,
    /// The viewer may record allergies, problems, vitals and notes.
    pub can_write: bool,
    /// The viewer may prescribe (each signed note offers "Prescribe from this note").
    #[serde(default)]
    pub can_prescribe: bool,
    /// The viewer's staff id (their own drafts are editable).
    pub viewer_staff_id: Uuid,
    /// The clinic measures in imperial units.
    pub imperial: bool,
    /// Dates and times as the clinic writes them, by entry id.
    pub when: Vec<(Uuid, String)>,
    pub icd10_version: String,
}

impl PatientChart {
    pub fn when(&self, id: Uuid) -> String {
        self.when
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, w)| w.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allergy(none_known: bool, substance: &str, status: EntryStatus) -> Allergy {
        Allergy {
            id: Uuid::nil(),
            none_known,
            substance: substance.into(),
            category: AllergyCategory::Medication,
            criticality: Criticality::High,
            severity: None,
            reaction: None,
            onset_on: None,
            status,
            recorded_by: String::new(),
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn the_banner_tells_not_asked_from_none_known() {
        assert_eq!(AllergyBanner::of(&[]), AllergyBanner::NotYetAsked);
        let nka = allergy(true, "No known allergies", EntryStatus::Active);
        assert_eq!(
            AllergyBanner::of(std::slice::from_ref(&nka)),
            AllergyBanner::NoneKnown
        );
        let retired = allergy(true, "No known allergies", EntryStatus::Inactive);
        let pen = allergy(false, "Penicillins", EntryStatus::Active);
        assert_eq!(
            AllergyBanner::of(&[retired, pen]),
            AllergyBanner::Allergies(vec!["Penicillins".into()])
        );
        let resolved = allergy(false, "Latex", EntryStatus::Resolved);
        assert_eq!(AllergyBanner::of(&[resolved]), AllergyBanner::NotYetAsked);
    }

    #[test]
    fn an_empty_note_is_refused() {
        assert!(Soap::default().validate().is_err());
        let soap = Soap {
            plan: "Review in 2 weeks".into(),
            ..Soap::default()
        };
        assert!(soap.validate().is_ok());
        let long = Soap {
            objective: "x".repeat(MAX_NOTE_SECTION + 1),
            ..soap
        };
        assert_eq!(long.validate().map_err(|e| e.0), Err("objective"));
    }
}

//! Prescribing and medication safety: the formulary (the shipped knowledge base's
//! medicines and the clinic's own), prescriptions with their safety checks, and
//! the pharmacist's dispensing.
//!
//! The checks run on the server at the moment of prescribing, against the
//! patient's active allergies, active medicines and the prescription's other
//! lines, with the knowledge base in `kb.json` (data, versioned; its version is on
//! every check). A check never passes silently: when it cannot run (the knowledge
//! base is unreadable, the allergies were never recorded, a medicine is unknown
//! to it) the prescriber is told, and saving needs an acknowledgement that is
//! audited. Alerts that matter interrupt and need a reason; the rest are shown
//! beside the line without stopping anyone.

pub mod api;
#[cfg(feature = "ssr")]
pub mod checks;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod dose;
#[cfg(feature = "ssr")]
pub mod fhir;
pub mod formulary;
#[cfg(feature = "ssr")]
pub mod kb;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod print;
pub mod refills;
pub mod review;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// How loudly an alert speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertLevel {
    /// Stops the prescription until the prescriber gives a reason on the line.
    Interruptive,
    /// A check that could not run: saving needs an explicit acknowledgement.
    Unchecked,
    /// Shown beside the line; does not stop anyone.
    Warning,
}
text_enum!(AlertLevel { Interruptive => "interruptive", Unchecked => "unchecked", Warning => "warning" });

/// One finding of the safety check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique within one check: the rule and the line it concerns.
    pub key: String,
    /// The knowledge-base rule, for the owners' report ("allergy:penicillins").
    pub rule: String,
    pub level: AlertLevel,
    /// The prescription line (0-based) it concerns; `None` for the whole prescription.
    pub line: Option<usize>,
    pub title: String,
    pub detail: String,
}

/// What the server answers to a prescription it did not save: the alerts to
/// read and act on, and the check's standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub alerts: Vec<Alert>,
    /// The knowledge base the check ran with; `None` when it could not run.
    pub kb_version: Option<String>,
    /// Why the check did not run, or ran only in part.
    pub not_performed: Option<String>,
}

/// Reasons a prescriber gives for going ahead despite an interruptive alert.
pub const OVERRIDE_REASONS: &[&str] = &[
    "Tolerated this medicine before",
    "Not a true allergy (intolerance or side effect)",
    "Benefit outweighs the risk; will monitor",
    "Interaction managed by dose or monitoring",
    "Other (explained in the note)",
];

/// The last reason needs a note explaining it.
pub fn reason_needs_note(reason: &str) -> bool {
    OVERRIDE_REASONS.last() == Some(&reason)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrescriptionStatus {
    Active,
    Completed,
    Discontinued,
}
text_enum!(PrescriptionStatus { Active => "active", Completed => "completed", Discontinued => "discontinued" });

/// One prescription line as the chart and the pharmacy show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineView {
    pub id: Uuid,
    pub medicine: String,
    /// "500 mg, oral, 1-0-1 (morning and night), 5 days"
    pub sig: String,
    pub quantity: i64,
    pub quantity_unit: String,
    pub refills: i64,
    pub instructions: Option<String>,
    pub override_reason: Option<String>,
    pub override_note: Option<String>,
    pub alerts: Vec<Alert>,
    pub dispensed: i64,
    /// quantity × (refills + 1)
    pub allowed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrescriptionView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub status: PrescriptionStatus,
    pub written: String,
    pub start_on: String,
    pub prescriber: String,
    /// "performed", "partial" or "not-performed".
    pub check_status: String,
    pub check_note: Option<String>,
    pub kb_version: Option<String>,
    pub end_reason: Option<String>,
    /// Visit note “title”, date: the note it was written from.
    #[serde(default)]
    pub from_note: Option<String>,
    pub lines: Vec<LineView>,
}

impl PrescriptionView {
    /// Everything allowed has been dispensed.
    pub fn fully_dispensed(&self) -> bool {
        self.lines.iter().all(|l| l.dispensed >= l.allowed)
    }
}

/// The chart's medicines panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicationsPanel {
    pub prescriptions: Vec<PrescriptionView>,
    /// The formulary's labels, for the medicine box's suggestions.
    pub formulary: Vec<String>,
    pub kb_version: Option<String>,
    pub can_prescribe: bool,
    /// May record medicines taken elsewhere (clinicians).
    pub can_record: bool,
    pub other: Vec<review::OtherMedication>,
    pub today: String,
    /// The patient's recent visit notes, to write a prescription from.
    pub notes: Vec<NoteChoice>,
}

/// A visit note offered as a prescription's origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteChoice {
    pub id: Uuid,
    pub label: String,
}

/// A prescription waiting at the pharmacy, with its patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    pub patient_name: String,
    pub mrn: String,
    pub prescription: PrescriptionView,
}

/// One rule's line in the owners' alert report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleCount {
    pub rule: String,
    pub level: String,
    pub shown: i64,
    pub overridden: i64,
}

/// One line of the prescription form, as posted (`lines[0][medicine]`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineForm {
    #[serde(default)]
    pub medicine: String,
    #[serde(default)]
    pub dose: String,
    #[serde(default)]
    pub dose_unit: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub prn_indication: Option<String>,
    #[serde(default)]
    pub duration_days: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub refills: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub override_reason: Option<String>,
    #[serde(default)]
    pub override_note: Option<String>,
}

impl LineForm {
    pub fn is_blank(&self) -> bool {
        self.medicine.trim().is_empty()
    }
}

/// Units a dose is written in.
pub const DOSE_UNITS: &[&str] = &[
    "tablet",
    "capsule",
    "ml",
    "mg",
    "mcg",
    "g",
    "units",
    "puff",
    "drop",
    "patch",
    "suppository",
    "sachet",
    "application",
];

/// Routes of administration.
pub const ROUTES: &[&str] = &[
    "oral",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "topical",
    "inhaled",
    "ophthalmic",
    "otic",
    "nasal",
    "rectal",
    "vaginal",
    "sublingual",
    "transdermal",
];

/// Frequencies offered in the form (anything [`dose::Frequency`] reads is accepted).
pub const FREQUENCIES: &[&str] = &[
    "1-0-1",
    "1-0-0",
    "0-0-1",
    "1-1-1",
    "1-1-1-1",
    "every 8 hours",
    "every 12 hours",
    "weekly",
    "once",
    "as needed",
];

//! Billing: the clinic charges its patients.
//!
//! - `tax.rs`: tax on lines, India's GST and the rounding rule (pure);
//! - `numbering.rs`: document numbers and financial years (pure);
//! - `db.rs`: queries, always through a [`crate::db::TenantTx`];
//! - `api.rs`: server functions: settings, catalog, invoices, credit notes,
//!   payments, refunds, dues;
//! - `revenue.rs`: revenue by practitioner and service, and its CSV.
//!
//! The database keeps the rules that matter (see the billing migration): an
//! issued invoice never changes and is corrected only by a credit note;
//! numbers follow on without gaps; money, once recorded, is never rewritten.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

pub mod api;
#[cfg(feature = "ssr")]
pub mod db;
pub mod numbering;
pub mod online;
pub mod pages;
pub mod portal;
#[cfg(feature = "ssr")]
pub mod print;
pub mod revenue;
pub mod tax;

pub use tax::{Regime, TaxKind};

/// An invoice, or a credit note correcting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

text_enum!(DocumentKind { Invoice => "invoice", CreditNote => "credit_note" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceStatus {
    /// Being written: lines can change, the draft can be deleted.
    Draft,
    /// Numbered and final.
    Issued,
}

text_enum!(InvoiceStatus { Draft => "draft", Issued => "issued" });

/// How money came in or went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentMethod {
    Cash,
    /// A card on the clinic's own terminal (only recorded here).
    Card,
    Upi,
    BankTransfer,
    /// Through an online provider.
    Online,
}

text_enum!(PaymentMethod {
    Cash => "cash",
    Card => "card",
    Upi => "upi",
    BankTransfer => "bank_transfer",
    Online => "online",
});

impl PaymentMethod {
    pub const AT_THE_DESK: &'static [PaymentMethod] = &[
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::Upi,
        PaymentMethod::BankTransfer,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Cash => "Cash",
            Self::Card => "Card",
            Self::Upi => "UPI",
            Self::BankTransfer => "Bank transfer",
            Self::Online => "Online",
        }
    }
}

/// A clinic's billing set-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSettings {
    pub regime: Regime,
    /// GSTIN or VAT number, printed on documents.
    pub tax_id: Option<String>,
    /// The clinic's state (India's GST: the place of supply decides CGST+SGST or IGST).
    pub state: Option<String>,
    pub invoice_prefix: String,
    pub credit_prefix: String,
    pub receipt_prefix: String,
    pub refund_prefix: String,
    /// The month a financial year starts (1–12; numbering restarts then), or 0: never restart.
    pub fy_start_month: u32,
    /// A discount above this share of a line or invoice (basis points) needs a reason.
    pub discount_reason_above_bp: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            regime: Regime::None,
            tax_id: None,
            state: None,
            invoice_prefix: "INV-".into(),
            credit_prefix: "CN-".into(),
            receipt_prefix: "RCT-".into(),
            refund_prefix: "RFD-".into(),
            fy_start_month: 0,
            discount_reason_above_bp: 1_000,
        }
    }
}

/// A tax category services are filed under (e.g. clinical health care, exempt;
/// standard-rated products at 18 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxCategory {
    pub code: String,
    pub name: String,
    pub rate_bp: i64,
    pub exempt: bool,
}

/// Something a clinic charges for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub price_minor: i64,
    pub currency: String,
    pub tax_category: String,
    pub active: bool,
}

/// One line of an invoice or credit note, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    pub id: Uuid,
    pub position: i64,
    pub description: String,
    pub tax_category: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_discount: i64,
    pub credit_of_line: Option<Uuid>,
    /// Worked out (for a draft: as it would be issued now).
    pub tax: tax::LineTax,
}

/// An invoice or credit note, with what is paid and owed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: Uuid,
    pub kind: DocumentKind,
    pub status: InvoiceStatus,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub appointment_id: Option<Uuid>,
    pub credit_for: Option<Uuid>,
    pub number: Option<String>,
    pub title: String,
    pub currency: String,
    pub regime: Regime,
    pub place_of_supply: Option<String>,
    pub inter_state: bool,
    pub invoice_discount: i64,
    pub discount_reason: Option<String>,
    pub notes: Option<String>,
    pub lines: Vec<LineView>,
    pub gross: i64,
    pub discount: i64,
    pub tax: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
    pub total: i64,
    /// Credit notes issued against this invoice, added up.
    pub credited: i64,
    /// Payments put against it.
    pub paid: i64,
    /// What is still owed on it (never below zero).
    pub outstanding: i64,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
}

/// A payment or refund with its receipt number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: Uuid,
    pub number: String,
    pub refund: bool,
    pub patient_id: Uuid,
    pub method: PaymentMethod,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub received_at: DateTime<Utc>,
    pub received_by: Option<String>,
    /// (invoice number, amount) this payment went to.
    pub allocations: Vec<(String, i64)>,
}

/// What a patient owes, by age, and the credit they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dues {
    pub currency: String,
    pub outstanding: i64,
    /// Owed on invoices issued 0–30, 31–60, 61–90 and over 90 days ago.
    pub aging: [i64; 4],
    /// Money paid in and not (or no longer) put against an invoice.
    pub credit: i64,
}

/// A day's takings for the cash-up: per method and per member of staff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collections {
    pub day: NaiveDate,
    pub currency: String,
    /// (method, received, refunded)
    pub by_method: Vec<(PaymentMethod, i64, i64)>,
    /// (staff name, received, refunded)
    pub by_staff: Vec<(String, i64, i64)>,
    pub received: i64,
    pub refunded: i64,
}

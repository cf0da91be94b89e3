//! Printed documents, shared by every domain that prints (prescriptions now;
//! invoices, credit notes and receipts later): a small document model rendered
//! to HTML for the browser's print dialog (`html`) and to PDF on the server
//! (`pdf`), with text shaped for Latin, Devanagari and Tamil scripts.
//!
//! A domain builds a [`Sheet`] and calls [`html::page`] or [`pdf::render`];
//! nothing here knows what a prescription is.

pub mod html;
pub mod pdf;

/// Paper sizes, in PDF points (1/72 inch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    A4,
    A5,
    /// An 80 mm receipt roll (a page 200 mm long; longer receipts continue).
    Receipt,
}

impl PageSize {
    /// Read from a `?size=` parameter; anything else is A4.
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("a5" | "A5") => Self::A5,
            Some("receipt") => Self::Receipt,
            _ => Self::A4,
        }
    }

    pub fn points(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.276, 841.89),
            Self::A5 => (419.528, 595.276),
            Self::Receipt => (226.772, 566.929),
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::A4 => "A4",
            Self::A5 => "A5",
            Self::Receipt => "80mm 200mm",
        }
    }

    /// The printed margin around the text.
    pub fn margin_css(self) -> &'static str {
        match self {
            Self::Receipt => "4mm",
            _ => "14mm",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A4 => "a4",
            Self::A5 => "a5",
            Self::Receipt => "receipt",
        }
    }
}

/// One piece of a printed document, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The issuer's name, large.
    Title(String),
    /// Lines under the title (address, registration numbers).
    Letterhead(Vec<String>),
    Heading(String),
    Text(String),
    /// Bold text (a medicine's name).
    Strong(String),
    /// Smaller, grey text (a note, an internal remark).
    Small(String),
    /// Label and value pairs laid out in two columns.
    Facts(Vec<(String, String)>),
    /// A box drawn around text that must not be missed (an overridden alert).
    Notice(String),
    Rule,
    /// A signature line with the signer's name under it.
    Signature(String),
}

/// A printable document.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The document's title (the PDF's metadata, the HTML page's title).
    pub title: String,
    pub size: PageSize,
    pub blocks: Vec<Block>,
    /// Printed at the foot of every page.
    pub footer: String,
}

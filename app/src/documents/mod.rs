//! Documents attached to a patient's record: lab reports, imaging, referral
//! letters, signed consent forms. One shared piece: the chart uploads and reviews
//! them here, the portal lists the approved ones, and later domains (prescriptions,
//! messages, forms) attach files through the same checks and the same route.
//!
//! A file is accepted by its content, not its name: the first bytes must be a PDF,
//! JPEG, PNG, Word 97 (OLE) or Word (OOXML zip) file, and it must fit
//! [`MAX_BYTES`]. Files are never served inline: only through the authorized
//! download route, as an attachment, each download audited.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

pub mod api;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod zip;

/// The largest document accepted: 10 MB.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The download address of a document (staff and the patient alike; the route
/// decides who may have it).
pub fn download_path(id: Uuid) -> String {
    format!("/documents/{id}/download")
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    LabReport,
    Imaging,
    ReferralLetter,
    ConsentForm,
    Other,
}

text_enum!(DocumentKind {
    LabReport => "lab_report",
    Imaging => "imaging",
    ReferralLetter => "referral_letter",
    ConsentForm => "consent_form",
    Other => "other",
});

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        Self::LabReport,
        Self::Imaging,
        Self::ReferralLetter,
        Self::ConsentForm,
        Self::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::LabReport => "Lab report",
            Self::Imaging => "Imaging",
            Self::ReferralLetter => "Referral letter",
            Self::ConsentForm => "Consent form",
            Self::Other => "Other",
        }
    }
}

/// Where a document stands in review. A document reaches the patient only when
/// approved; one filed against the wrong patient is marked entered in error
/// (hidden from the portal and exports, kept for the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewStatus {
    Pending,
    Reviewed,
    Approved,
    EnteredInError,
}

text_enum!(ReviewStatus {
    Pending => "pending",
    Reviewed => "reviewed",
    Approved => "approved",
    EnteredInError => "entered-in-error",
});

impl ReviewStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Awaiting review",
            Self::Reviewed => "Reviewed",
            Self::Approved => "Approved",
            Self::EnteredInError => "Entered in error",
        }
    }
}

/// A reviewer's decision on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Read and acknowledged; not yet released.
    Reviewed,
    /// Released: shown to the patient in the portal.
    Approved,
    /// Filed against the wrong patient or otherwise wrong.
    EnteredInError,
}

text_enum!(ReviewDecision {
    Reviewed => "reviewed",
    Approved => "approved",
    EnteredInError => "entered_in_error",
});

impl ReviewDecision {
    /// The status a document in `from` moves to, or why it cannot.
    pub fn apply(self, from: ReviewStatus) -> Result<ReviewStatus, &'static str> {
        use ReviewStatus as S;
        match (self, from) {
            (_, S::EnteredInError) => Err("this document was marked entered in error"),
            (Self::EnteredInError, _) => Ok(S::EnteredInError),
            (Self::Reviewed, S::Pending) => Ok(S::Reviewed),
            (Self::Reviewed, _) => Err("this document has already been reviewed"),
            (Self::Approved, S::Pending | S::Reviewed) => Ok(S::Approved),
            (Self::Approved, S::Approved) => Err("this document is already approved"),
        }
    }
}

/// A document as the chart lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientDocument {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub kind: DocumentKind,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: String,
    /// SHA-1 of the stored bytes, base64 (FHIR `Attachment.hash`).
    #[serde(default)]
    pub sha1: String,
    pub report_date: Option<NaiveDate>,
    pub status: ReviewStatus,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

impl PatientDocument {
    /// "1.2 MB", "340 KB".
    pub fn size_label(&self) -> String {
        human_size(self.size_bytes)
    }
}

/// The SHA-256 (hex) and SHA-1 (base64) of a file's bytes.
#[cfg(feature = "ssr")]
pub fn digests(bytes: &[u8]) -> (String, String) {
    use sha1::Digest as _;
    (
        data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(bytes)),
        data_encoding::BASE64.encode(&sha1::Sha1::digest(bytes)),
    )
}

pub fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// A file type MediSync accepts, told by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    Doc,
    Docx,
}

impl FileType {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Doc => "application/msword",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Doc => "doc",
            Self::Docx => "docx",
        }
    }

    /// The type of `bytes`, from their signature. A zip is a Word document only
    /// when it holds the `word/` part; any other zip (or anything else) is refused.
    pub fn sniff(bytes: &[u8]) -> Result<FileType, &'static str> {
        const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        if bytes.is_empty() {
            return Err("the file is empty");
        }
        if bytes.starts_with(b"%PDF-") {
            Ok(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(Self::Png)
        } else if bytes.starts_with(OLE) {
            Ok(Self::Doc)
        } else if bytes.starts_with(b"PK\x03\x04") && holds(bytes, b"word/document.xml") {
            Ok(Self::Docx)
        } else {
            Err("this file is not a PDF, JPEG, PNG or Word document")
        }
    }
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The name a downloaded file is saved under: the typed file name's stem, made
/// safe for a header, with the extension of what the file really is.
pub fn download_name(file_name: &str, kind: FileType) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let safe = safe.trim();
    let stem = if safe.is_empty() { "document" } else { safe };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_by_content_not_by_name() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n..."), Ok(FileType::Pdf));
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Ok(FileType::Jpeg)
        );
        assert_eq!(FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0"), Ok(FileType::Png));
        assert_eq!(
            FileType::sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            Ok(FileType::Doc)
        );
        let mut docx = b"PK\x03\x04".to_vec();
        docx.extend_from_slice(b"....[Content_Types].xml....word/document.xml....");
        assert_eq!(FileType::sniff(&docx), Ok(FileType::Docx));
        // A zip that is not a Word document, a script, HTML, an empty file.
        for refused in [
            &b"PK\x03\x04 xl/workbook.xml"[..],
            b"#!/bin/sh\nrm -rf /",
            b"<html><script>alert(1)</script>",
            b"MZ\x90\0",
            b"",
        ] {
            assert!(FileType::sniff(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn review_moves_forward_only() {
        use ReviewDecision as D;
        use ReviewStatus as S;
        assert_eq!(D::Reviewed.apply(S::Pending), Ok(S::Reviewed));
        assert_eq!(D::Approved.apply(S::Pending), Ok(S::Approved));
        assert_eq!(D::Approved.apply(S::Reviewed), Ok(S::Approved));
        assert!(D::Reviewed.apply(S::Approved).is_err());
        assert!(D::Approved.apply(S::Approved).is_err());
        assert_eq!(D::EnteredInError.apply(S::Approved), Ok(S::EnteredInError));
        for d in [D::Reviewed, D::Approved, D::EnteredInError] {
            assert!(d.apply(S::EnteredInError).is_err());
        }
    }

    #[test]
    fn download_names_are_safe_and_carry_the_real_extension() {
        assert_eq!(
            download_name("CBC 2026-11.pdf", FileType::Pdf),
            "CBC 2026-11.pdf"
        );
        assert_eq!(
            download_name("x\"; filename=evil.html", FileType::Png),
            "x__ filename_evil.png"
        );
        let traversal = download_name("../../etc/passwd", FileType::Pdf);
        assert!(
            !traversal.contains('/') && traversal.ends_with(".pdf"),
            "{traversal}"
        );
        assert_eq!(download_name("", FileType::Jpeg), "document.jpg");
        assert_eq!(download_name("résumé.docx", FileType::Docx), "r_sum_.docx");
    }
}

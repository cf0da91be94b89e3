//! Document queries. Every one takes a [`TenantTx`] and binds its tenant id; none
//! deletes anything.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{DocumentKind, PatientDocument, ReviewStatus};
use crate::db::{DbError, TenantTx};
use crate::patients::merge::db::RECORD_OF;

/// A document about to be filed (its bytes are already stored under `object_key`).
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub patient: Uuid,
    pub kind: DocumentKind,
    pub title: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    /// SHA-1 in base64, as FHIR's `Attachment.hash` carries it.
    pub sha1: &'a str,
    pub object_key: &'a str,
    pub report_date: Option<NaiveDate>,
    pub uploaded_by: Uuid,
}

#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut TenantTx, d: &NewDocument<'_>) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO patient_documents (tenant_id, id, patient_id, kind, title, file_name, \
         content_type, size_bytes, sha256, sha1, object_key, report_date, status, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14)",
        &[
            d.id.into(),
            d.patient.into(),
            d.kind.as_str().into(),
            d.title.into(),
            d.file_name.into(),
            d.content_type.into(),
            d.size_bytes.into(),
            d.sha256.into(),
            d.sha1.into(),
            d.object_key.into(),
            d.report_date.into(),
            d.uploaded_by.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: Uuid,
    patient_id: Uuid,
    kind: String,
    title: String,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    sha1: String,
    report_date: Option<NaiveDate>,
    status: String,
    uploaded_by: String,
    uploaded_at: DateTime<Utc>,
    reviewed_by: Option<String>,
    reviewed_at: Option<DateTime<Utc>>,
    approved_by: Option<String>,
    approved_at: Option<DateTime<Utc>>,
    object_key: String,
}

impl DocumentRow {
    fn into_document(self) -> Result<(PatientDocument, String), DbError> {
        let corrupt = DbError::Corrupt;
        Ok((
            PatientDocument {
                id: self.id,
                patient_id: self.patient_id,
                kind: self.kind.parse().map_err(corrupt)?,
                title: self.title,
                file_name: self.file_name,
                content_type: self.content_type,
                size_bytes: self.size_bytes,
                sha256: self.sha256,
                sha1: self.sha1,
                report_date: self.report_date,
                status: self.status.parse().map_err(corrupt)?,
                uploaded_by: self.uploaded_by,
                uploaded_at: self.uploaded_at,
                reviewed_by: self.reviewed_by,
                reviewed_at: self.reviewed_at,
                approved_by: self.approved_by,
                approved_at: self.approved_at,
            },
            self.object_key,
        ))
    }
}

/// Columns of [`DocumentRow`], staff names resolved.
const SELECT: &str = "SELECT d.id, d.patient_id, d.kind, d.title, d.file_name, d.content_type, \
     d.size_bytes, d.sha256, d.sha1, d.report_date, d.status, u.display_name AS uploaded_by, d.uploaded_at, \
     r.display_name AS reviewed_by, d.reviewed_at, a.display_name AS approved_by, d.approved_at, \
     d.object_key \
     FROM patient_documents d \
     JOIN staff_members u ON u.tenant_id = d.tenant_id AND u.id = d.uploaded_by \
     LEFT JOIN staff_members r ON r.tenant_id = d.tenant_id AND r.id = d.reviewed_by \
     LEFT JOIN staff_members a ON a.tenant_id = d.tenant_id AND a.id = d.approved_by ";

/// The patient's documents, newest first; with `approved_only`, only those
/// released to the patient.
#[tracing::instrument(skip_all)]
pub async fn for_patient(
    tx: &mut TenantTx,
    patient: Uuid,
    approved_only: bool,
) -> Result<Vec<PatientDocument>, DbError> {
    let sql = format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.patient_id IN {RECORD_OF} AND ($3 = 0 OR d.status = 'approved') \
         ORDER BY d.uploaded_at DESC, d.id DESC"
    );
    let rows: Vec<DocumentRow> = tx
        .fetch_all(&sql, &[patient.into(), i32::from(approved_only).into()])
        .await?;
    rows.into_iter()
        .map(|r| r.into_document().map(|(d, _)| d))
        .collect()
}

/// One document of this clinic and where its bytes are stored.
#[tracing::instrument(skip_all)]
pub async fn get(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<(PatientDocument, String)>, DbError> {
    let sql = format!("{SELECT} WHERE d.tenant_id = $1 AND d.id = $2");
    let row: Option<DocumentRow> = tx.fetch_optional(&sql, &[id.into()]).await?;
    row.map(DocumentRow::into_document).transpose()
}

/// Moves a document from `from` to `to`, recording who reviewed or approved it.
/// Fails with `NotFound` when the document is no longer in `from` (someone else
/// decided first).
#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    from: ReviewStatus,
    to: ReviewStatus,
    by: Uuid,
) -> Result<(), DbError> {
    let now = Utc::now();
    // Approving an unreviewed document reviews it too.
    let (reviews, approves) = match to {
        ReviewStatus::Reviewed => (true, false),
        ReviewStatus::Approved => (true, true),
        _ => (false, false),
    };
    tx.execute_one(
            "UPDATE patient_documents SET status = $4, \
               reviewed_by = CASE WHEN $5 = 1 AND reviewed_by IS NULL THEN $7 ELSE reviewed_by END, \
               reviewed_at = CASE WHEN $5 = 1 AND reviewed_at IS NULL THEN $8 ELSE reviewed_at END, \
               approved_by = CASE WHEN $6 = 1 THEN $7 ELSE approved_by END, \
               approved_at = CASE WHEN $6 = 1 THEN $8 ELSE approved_at END \
             WHERE tenant_id = $1 AND id = $2 AND status = $3",
        &[
            id.into(),
            from.as_str().into(),
            to.as_str().into(),
            i32::from(reviews).into(),
            i32::from(approves).into(),
            by.into(),
            now.into(),
        ],
    )
    .await
}

/// Documents awaiting review in the clinic, oldest first, for the dashboard.
#[tracing::instrument(skip_all)]
pub async fn pending_count(tx: &mut TenantTx) -> Result<i64, DbError> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT count(*) FROM patient_documents WHERE tenant_id = $1 AND status = 'pending'",
            &[],
        )
        .await?;
    Ok(count)
}

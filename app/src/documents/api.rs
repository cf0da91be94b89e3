//! Uploading, reviewing and downloading documents. An upload is a multipart form
//! (`patient_id`, `kind`, `title`, `report_date`, `file`); the file is checked by
//! content and size, stored under the clinic's prefix, counted against the plan's
//! storage and audited. Downloads go through [`ssr::download`] only, behind the
//! `/documents/{id}/download` route.

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use uuid::Uuid;

use super::ReviewDecision;
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod ssr {
    use bytes::Bytes;
    use chrono::NaiveDate;
    use uuid::Uuid;

    use super::super::{download_name, DocumentKind, FileType, MAX_BYTES};
    use crate::db::Db;
    use crate::error::AppError;
    use crate::identity::audit::{self, Actor, RequestMeta};
    use crate::identity::permissions::Permission;
    use crate::identity::Standing;
    use crate::site::SiteInfo;
    use crate::storage::Storage;

    /// The form of an upload, as read from its multipart body.
    #[derive(Default)]
    pub struct Upload {
        pub patient_id: Option<String>,
        pub kind: Option<String>,
        pub title: Option<String>,
        pub report_date: Option<String>,
        pub file_name: Option<String>,
        pub bytes: Vec<u8>,
    }

    fn field(name: &str, m: impl Into<String>) -> AppError {
        AppError::field(name, m).respond()
    }

    /// Reads the multipart body, refusing a file over [`MAX_BYTES`] as soon as it
    /// grows past it (the rest is never buffered).
    pub async fn read_upload(
        data: leptos::server_fn::codec::MultipartData,
    ) -> Result<Upload, AppError> {
        let mut form = data.into_inner().ok_or(AppError::Internal)?;
        let unreadable = || field("file", "the upload could not be read; try again");
        let mut upload = Upload::default();
        while let Some(mut part) = form.next_field().await.map_err(|_| unreadable())? {
            let name = part.name().unwrap_or_default().to_owned();
            if name == "file" {
                upload.file_name = part.file_name().map(str::to_owned);
                while let Some(chunk) = part.chunk().await.map_err(|_| unreadable())? {
                    if upload.bytes.len() + chunk.len() > MAX_BYTES {
                        return Err(field(
                            "file",
                            "the file is larger than 10 MB; scan it at a lower resolution or split it",
                        ));
                    }
                    upload.bytes.extend_from_slice(&chunk);
                }
                continue;
            }
            let text = part.text().await.map_err(|_| unreadable())?;
            if text.chars().count() > 1_000 || text.chars().any(|c| c.is_control() && c != '\n') {
                return Err(field(
                    &name,
                    "this field holds text that cannot be accepted",
                ));
            }
            let slot = match name.as_str() {
                "patient_id" => &mut upload.patient_id,
                "kind" => &mut upload.kind,
                "title" => &mut upload.title,
                "report_date" => &mut upload.report_date,
                _ => continue,
            };
            *slot = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        }
        Ok(upload)
    }

    /// An upload's fields, checked.
    pub struct CheckedUpload {
        pub patient: Uuid,
        pub kind: DocumentKind,
        pub title: String,
        pub report_date: Option<NaiveDate>,
        pub file_name: String,
        pub file_type: FileType,
        pub sha256: String,
        pub sha1: String,
        pub bytes: Vec<u8>,
    }

    pub fn check(upload: Upload, today: NaiveDate) -> Result<CheckedUpload, AppError> {
        let patient = upload
            .patient_id
            .as_deref()
            .and_then(|p| p.parse::<Uuid>().ok())
            .ok_or_else(|| AppError::NotFound.respond())?;
        let kind = upload
            .kind
            .as_deref()
            .unwrap_or("")
            .parse::<DocumentKind>()
            .map_err(|_| field("kind", "choose what kind of document this is"))?;
        if upload.bytes.is_empty() {
            return Err(field("file", "choose a file to upload"));
        }
        let file_type = FileType::sniff(&upload.bytes).map_err(|m| field("file", m))?;
        let file_name = upload
            .file_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("document.{}", file_type.extension()));
        let file_name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let title = match upload.title {
            Some(t) => crate::text::plain_name(&t, 1, 200).map_err(|m| field("title", m))?,
            None => kind.label().to_owned(),
        };
        let report_date =
            crate::clinical::api::ssr::past_date("report_date", upload.report_date, today)?;
        let (sha256, sha1) = super::super::digests(&upload.bytes);
        Ok(CheckedUpload {
            patient,
            kind,
            title,
            report_date,
            file_name,
            file_type,
            sha256,
            sha1,
            bytes: upload.bytes,
        })
    }

    /// A file on its way to the browser.
    pub struct Download {
        pub bytes: Bytes,
        pub content_type: &'static str,
        pub file_name: String,
    }

    /// The document `id` for whoever is signed in on `site`: staff who may read
    /// patients get any document of their clinic; a patient gets their own record's
    /// approved documents. Anyone else, and any other clinic's id, gets `NotFound`.
    /// The read is audited before the bytes are handed over; a failure to audit
    /// refuses the download.
    pub async fn download(
        db: &Db,
        storage: &Storage,
        site: &SiteInfo,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<Download, AppError> {
        let tenant = site.tenant.as_ref().ok_or(AppError::NotFound)?;
        let viewer = site.viewer.as_ref().ok_or(AppError::Unauthenticated)?;
        // Files leave the clinic only to its own people, never to a support session.
        if viewer.support.is_some() {
            return Err(AppError::Forbidden);
        }
        let (own_patient, role, action) = match viewer.standing {
            Standing::Staff { role, .. } if role.can(Permission::PatientsRead) => {
                (None, Some(role.as_str()), "document.downloaded")
            }
            Standing::Patient { patient_id } => {
                (Some(patient_id), None, "portal.document_downloaded")
            }
            _ => return Err(AppError::Forbidden),
        };
        let mut tx = db.begin_for(tenant.id).await?;
        let (doc, key) = super::super::db::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        match own_patient {
            Some(own) => {
                let theirs =
                    crate::patients::merge::db::is_part_of(&mut tx, doc.patient_id, own).await?;
                if !theirs || doc.status != super::super::ReviewStatus::Approved {
                    return Err(AppError::NotFound);
                }
            }
            None => {
                crate::patients::api::ssr::ensure_visible(&mut tx, viewer, doc.patient_id)
                    .await
                    .map_err(|_| AppError::NotFound)?;
            }
        }
        audit::record_for_patient(
            &mut tx,
            Actor::account(viewer.account_id, viewer.email.as_str()),
            role,
            doc.patient_id,
            action,
            Some(&doc.title),
            meta,
        )
        .await?;
        tx.commit().await?;
        let bytes = storage
            .get(&key)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "document read failed");
                AppError::Internal
            })?
            .ok_or_else(|| {
                tracing::error!(document = %id, "a filed document's bytes are missing");
                AppError::Internal
            })?;
        // Served as what the bytes are, whatever the row says.
        let file_type = FileType::sniff(&bytes).map_err(|_| AppError::Internal)?;
        Ok(Download {
            content_type: file_type.content_type(),
            file_name: download_name(&doc.file_name, file_type),
            bytes,
        })
    }
}

/// Files a document on the patient's record (multipart form: `patient_id`, `kind`,
/// `title`, `report_date`, `file`). Answers the new document's id.
#[server(prefix = "/api", endpoint = "upload_document", input = MultipartFormData)]
pub async fn upload_document(data: MultipartData) -> Result<Uuid, AppError> {
    use crate::clinical::api::ssr::writer;
    let w = writer()?;
    let upload = ssr::read_upload(data).await?;
    let today = crate::patients::api::ssr::clinic_today(&w.tenant);
    let up = ssr::check(upload, today)?;
    let storage = crate::tenancy::api::ssr::storage()?;
    let mut tx = w.open(up.patient).await?;
    let size = up.bytes.len() as i64;
    let room =
        crate::plans::db::ensure_room(&mut tx, crate::plans::LimitKind::Storage, size).await?;
    if let Err(limit) = room {
        return Err(AppError::Upgrade(limit.0).respond());
    }
    let id = Uuid::now_v7();
    let key = crate::storage::Storage::document_key(w.tenant.id, id);
    let content_type = up.file_type.content_type();
    crate::plans::db::add_file(&mut tx, "document", &key, content_type, size).await?;
    super::db::insert(
        &mut tx,
        &super::db::NewDocument {
            id,
            patient: up.patient,
            kind: up.kind,
            title: &up.title,
            file_name: &up.file_name,
            content_type,
            size_bytes: size,
            sha256: &up.sha256,
            sha1: &up.sha1,
            object_key: &key,
            report_date: up.report_date,
            uploaded_by: w.staff_id,
        },
    )
    .await?;
    // The file first, then the rows that point at it: a failure leaves at worst an
    // unreferenced file, never a row without its file.
    storage.put(&key, up.bytes).await.map_err(|e| {
        tracing::error!(error = %e, "document could not be stored");
        AppError::Internal
    })?;
    w.done(tx, up.patient, "document.uploaded", Some(&up.title))
        .await?;
    Ok(id)
}

/// Records a review decision: reviewed, approved (released to the patient's
/// portal) or entered in error (hidden from the portal and exports, kept).
#[server(prefix = "/api", endpoint = "review_document")]
pub async fn review_document(
    patient_id: Uuid,
    document_id: Uuid,
    decision: ReviewDecision,
) -> Result<(), AppError> {
    use crate::clinical::api::ssr::writer;
    let w = writer()?;
    let mut tx = w.open(patient_id).await?;
    let (doc, _) = super::db::get(&mut tx, document_id)
        .await?
        .filter(|(d, _)| d.patient_id == patient_id)
        .ok_or_else(|| AppError::NotFound.respond())?;
    let to = decision
        .apply(doc.status)
        .map_err(|m| AppError::Invalid(m.into()).respond())?;
    super::db::set_status(&mut tx, document_id, doc.status, to, w.staff_id)
        .await
        .map_err(|e| match e {
            crate::db::DbError::NotFound => AppError::Invalid(
                "someone else decided on this document first; reload the chart".into(),
            )
            .respond(),
            e => e.into(),
        })?;
    let action = match decision {
        ReviewDecision::Reviewed => "document.reviewed",
        ReviewDecision::Approved => "document.approved",
        ReviewDecision::EnteredInError => "document.entered_in_error",
    };
    w.done(tx, patient_id, action, Some(&doc.title)).await
}

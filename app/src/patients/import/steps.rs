//! The steps a person takes on an import, each checked and audited: upload,
//! map, start, resume, roll back, download the report. The server's routes
//! (`server/src/patient_import.rs`) decide who may take them.

use std::collections::HashMap;

use uuid::Uuid;

use super::db::{self, NewImport};
use super::run::{self, Preview};
use super::{Field, Import, ImportState, Mapping, RowRules, Table};
use crate::db::{Db, DbError, TenantTx};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::Viewer;
use crate::plans::LimitKind;
use crate::tenancy::{TenantPublic, DATE_FORMATS};

/// Who imports, where.
pub struct Importer<'a> {
    pub tenant: &'a TenantPublic,
    pub viewer: &'a Viewer,
    pub meta: &'a RequestMeta,
}

impl Importer<'_> {
    fn rules(&self, date_format: &str) -> RowRules<'_> {
        let (today, country) = (
            crate::patients::api::ssr::clinic_today(self.tenant),
            crate::patients::api::ssr::clinic_country(self.tenant),
        );
        RowRules {
            today,
            date_format: DATE_FORMATS
                .iter()
                .find(|(f, _)| *f == date_format)
                .map_or("%Y-%m-%d", |(f, _)| f),
            country,
        }
    }

    async fn audit(&self, tx: &mut TenantTx, action: &str, target: &str) -> Result<(), DbError> {
        audit::record(
            tx,
            Actor::account(self.viewer.account_id, self.viewer.email.as_str()),
            action,
            Some(target),
            self.meta,
        )
        .await
    }

    /// A transaction, and the clinic's import `id` in it.
    async fn open(&self, db: &Db, id: Uuid) -> Result<(TenantTx, Import), AppError> {
        let mut tx = db.begin_for(self.tenant.id).await?;
        let import = db::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        Ok((tx, import))
    }

    /// The clinic's latest imports.
    pub async fn list(&self, db: &Db) -> Result<Vec<Import>, AppError> {
        let mut tx = db.begin_for_read(self.tenant.id).await?;
        let list = db::recent(&mut tx, 20).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Keeps an uploaded file as a new import, its columns matched as well as
    /// their names (and the clinic's last import) tell.
    pub async fn upload(
        &self,
        db: &Db,
        file_name: Option<&str>,
        bytes: &[u8],
    ) -> Result<Uuid, AppError> {
        if bytes.is_empty() {
            return Err(AppError::field("file", "choose a CSV file to upload"));
        }
        let table = Table::parse(bytes).map_err(|m| AppError::field("file", m))?;
        let content = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
        let file_name: String = file_name
            .unwrap_or("patients-import.csv")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let mut tx = db.begin_for(self.tenant.id).await?;
        let remembered = db::remembered_mapping(&mut tx).await?;
        let mapping = Mapping::guess(&table.headers, &remembered);
        let id = db::create(
            &mut tx,
            &NewImport {
                account: self.viewer.account_id,
                file_name: &file_name,
                headers: &table.headers,
                mapping: &mapping,
                date_format: &self.tenant.settings.date_format,
                content: &content,
                rows: i64::try_from(table.rows.len()).unwrap_or(i64::MAX),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// An import and, while its columns are being mapped, the preview.
    pub async fn show(&self, db: &Db, id: Uuid) -> Result<(Import, Option<Preview>), AppError> {
        let (mut tx, import) = self.open(db, id).await?;
        let preview = if import.state == ImportState::Mapping {
            let content = db::content(&mut tx, id).await?;
            Some(
                run::preview(&content, &import, &self.rules(&import.date_format))
                    .map_err(AppError::Invalid)?,
            )
        } else {
            None
        };
        tx.commit().await?;
        Ok((import, preview))
    }

    /// Keeps the mapping form's choices (`map_{field}`, `date_format`,
    /// `allow_similar`).
    pub async fn map(
        &self,
        db: &Db,
        id: Uuid,
        form: &HashMap<String, String>,
    ) -> Result<Import, AppError> {
        let (mut tx, import) = self.open(db, id).await?;
        if import.state != ImportState::Mapping {
            return Err(AppError::Invalid("this import has already started".into()));
        }
        let mut mapping = Mapping::default();
        for field in Field::ALL {
            let Some(raw) = form.get(&format!("map_{}", field.key())) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let column = raw
                .parse::<usize>()
                .ok()
                .filter(|&c| c < import.headers.len())
                .ok_or_else(|| {
                    AppError::field(
                        &format!("map_{}", field.key()),
                        "choose one of the file's columns",
                    )
                })?;
            mapping.0.insert(field, column);
        }
        let date_format = form.get("date_format").map(String::as_str).unwrap_or("");
        if !DATE_FORMATS.iter().any(|(f, _)| *f == date_format) {
            return Err(AppError::field(
                "date_format",
                "choose a date format from the list",
            ));
        }
        let allow_similar = form.get("allow_similar").is_some_and(|v| v == "yes");
        db::set_mapping(&mut tx, id, &mapping, date_format, allow_similar).await?;
        tx.commit().await?;
        Ok(Import {
            mapping,
            date_format: date_format.to_owned(),
            allow_similar,
            ..import
        })
    }

    /// Keeps the mapping, checks it and the plan's room for the rows that
    /// read, and starts the run.
    pub async fn start(
        &self,
        db: &Db,
        id: Uuid,
        form: &HashMap<String, String>,
    ) -> Result<(), AppError> {
        let import = self.map(db, id, form).await?;
        import
            .mapping
            .check(&import.headers)
            .map_err(AppError::Invalid)?;
        let mut tx = db.begin_for(self.tenant.id).await?;
        let content = db::content(&mut tx, id).await?;
        let preview = run::preview(&content, &import, &self.rules(&import.date_format))
            .map_err(AppError::Invalid)?;
        if preview.readable == 0 {
            return Err(AppError::Invalid(
                "no row of the file can be imported as mapped; check the columns and the date format"
                    .into(),
            ));
        }
        let rows = i64::try_from(preview.readable).unwrap_or(i64::MAX);
        if let Err(limit) =
            crate::plans::db::ensure_room(&mut tx, LimitKind::Patients, rows).await?
        {
            return Err(AppError::Upgrade(limit.0));
        }
        self.launch(&mut tx, &import).await?;
        self.audit(
            &mut tx,
            "patient.import_started",
            &format!("{} rows", import.total_rows),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn launch(&self, tx: &mut TenantTx, import: &Import) -> Result<(), DbError> {
        db::start(tx, import.id).await?;
        crate::jobs::db::enqueue(tx.platform(), &run::job(self.tenant.id, import.id)).await?;
        Ok(())
    }

    /// Runs a stopped import on from where it stopped.
    pub async fn resume(&self, db: &Db, id: Uuid) -> Result<(), AppError> {
        let (mut tx, import) = self.open(db, id).await?;
        if import.state != ImportState::Stopped {
            return Err(AppError::Invalid(
                "only a stopped import can be resumed".into(),
            ));
        }
        self.launch(&mut tx, &import).await?;
        self.audit(&mut tx, "patient.import_started", "resumed")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes every patient the import registered; refused as a whole when
    /// any of them has something recorded since.
    pub async fn roll_back(&self, db: &Db, id: Uuid, confirmed: bool) -> Result<i64, AppError> {
        if !confirmed {
            return Err(AppError::field(
                "confirm",
                "tick the box to confirm that the imported patients are to be removed",
            ));
        }
        let (mut tx, import) = self.open(db, id).await?;
        if !matches!(import.state, ImportState::Stopped | ImportState::Done) {
            return Err(AppError::Invalid(
                "only a finished or stopped import can be rolled back".into(),
            ));
        }
        let removed = match db::remove_imported(&mut tx, id).await {
            Ok(n) => n,
            // A foreign key (a visit, a note...) or a delete trigger (an entry
            // staff added to an imported patient's lists) keeps them.
            Err(DbError::Sqlx(sqlx::Error::Database(d)))
                if d.is_foreign_key_violation()
                    || d.code().as_deref() == Some("MS001")
                    || d.message().contains("never deleted") =>
            {
                return Err(AppError::Invalid(
                    "some of the imported patients already have records (a visit, a note, a \
                     message...), so the import can no longer be rolled back; archive the \
                     patients you do not want instead"
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let said = format!("rolled back: {removed} imported patients removed");
        db::end(&mut tx, id, ImportState::RolledBack, Some(&said)).await?;
        self.audit(
            &mut tx,
            "patient.import_rolled_back",
            &format!("{removed} patients"),
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// The report of rows not imported, as CSV: (file name, bytes).
    pub async fn report(&self, db: &Db, id: Uuid) -> Result<(String, Vec<u8>), AppError> {
        let (mut tx, import) = self.open(db, id).await?;
        let rejected = db::rejected(&mut tx, id).await?;
        let csv = super::report_csv(&import.headers, &rejected).map_err(|e| {
            tracing::error!(error = %e, "import report");
            AppError::Internal
        })?;
        self.audit(
            &mut tx,
            "patient.import_report_read",
            &format!("{} rows", rejected.len()),
        )
        .await?;
        tx.commit().await?;
        let stem: String = import
            .file_name
            .trim_end_matches(".csv")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .take(60)
            .collect();
        Ok((format!("{stem}-not-imported.csv"), csv))
    }
}

//! Erasure requests, restriction and retention.
//!
//! A patient asks from the portal (or the clinic records a request it received
//! another way). An administrator carries it out: the portal account is
//! unlinked and signed out, marketing consent is revoked, and the clinical
//! record is *restricted*: archived, out of search, and opened only by an
//! administrator who gives a reason ("breaking the glass", for an hour, audited)
//! until the retention date (by default the clinic's retention years, ten unless
//! it sets another number in its settings). The daily
//! purge then deletes the record's clinical rows and files and leaves a
//! tombstone; before that date the database refuses to delete any of it.

use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// How long a reasoned opening of a restricted record lasts, in minutes.
pub const GLASS_MINUTES: i64 = 60;

/// Where a record stands with erasure, for its chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErasureState {
    /// When the patient asked (from the portal or through the clinic).
    pub requested_at: Option<String>,
    /// The record is restricted until this date (then purged).
    pub retain_until: Option<NaiveDate>,
}

/// From the portal: asks the clinic to erase the patient's data.
#[server(prefix = "/api", endpoint = "request_erasure")]
pub async fn request_erasure() -> Result<(), AppError> {
    use crate::identity::{audit, Standing};
    let tenant = super::api::ssr::tenant()?;
    let viewer = crate::identity::auth::viewer()?;
    let Standing::Patient { patient_id } = viewer.standing else {
        return Err(AppError::Forbidden.respond());
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    db::mark_requested(&mut tx, patient_id).await?;
    audit::record_for_patient(
        &mut tx,
        audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        None,
        patient_id,
        "portal.erasure_requested",
        None,
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Carries out an erasure request (administrators: `patients.delete`). The
/// record is kept, restricted, until `retain_until` (default: the clinic's
/// retention years from today), then purged by the daily job.
#[server(prefix = "/api", endpoint = "erase_patient")]
pub async fn erase_patient(
    patient_id: Uuid,
    retain_until: Option<String>,
    confirm: Option<String>,
) -> Result<(), AppError> {
    use crate::identity::audit;
    let w = super::api::ssr::writer()?;
    let today = super::api::ssr::clinic_today(&w.tenant);
    let field = |name: &str, m: String| AppError::field(name, m).respond();
    let until = match retain_until
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => default_retention(today, w.tenant.settings.retention_years),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            field(
                "retain_until",
                "enter the date to keep the record until (year, month, day)".into(),
            )
        })?,
    };
    if until <= today {
        return Err(field(
            "retain_until",
            "the record must be kept until a date after today".into(),
        ));
    }
    if confirm.is_none() {
        return Err(field(
            "confirm",
            "tick the box to confirm the erasure: the patient loses portal access and the record is restricted".into(),
        ));
    }
    let mut tx = w.open(patient_id).await?;
    if db::state(&mut tx, patient_id).await?.retain_until.is_some() {
        return Err(field("confirm", "this record is restricted already".into()));
    }
    // The portal account: unlinked, its invitations withdrawn, signed out here.
    if let Some(account) = db::unlink_portal(&mut tx, patient_id).await? {
        crate::identity::credentials::revoke_sessions_at(tx.platform(), account, w.tenant.id)
            .await?;
    }
    let marketing = crate::clinical::ConsentKind::Marketing;
    let consents = crate::clinical::db::consents(&mut tx, patient_id).await?;
    if consents.iter().any(|c| c.kind == marketing && c.granted) {
        crate::clinical::db::record_consent(
            &mut tx, patient_id, marketing, false, today, w.staff_id,
        )
        .await?;
    }
    db::restrict(&mut tx, patient_id, w.staff_id, until).await?;
    let meta = crate::identity::auth::request_meta();
    audit::record_for_patient(
        &mut tx,
        audit::Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        Some(w.role),
        patient_id,
        "patient.erased",
        Some(&until.to_string()),
        &meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens a restricted record for an hour, for the administrator who gives a
/// reason (audited with it).
#[server(prefix = "/api", endpoint = "open_restricted")]
pub async fn open_restricted(patient_id: Uuid, reason: String) -> Result<(), AppError> {
    use crate::identity::audit;
    let w = super::api::ssr::writer()?;
    let reason = reason.trim();
    if !(10..=500).contains(&reason.chars().count()) || reason.chars().any(char::is_control) {
        return Err(AppError::field(
            "reason",
            "say why you need this record (10 to 500 characters)",
        )
        .respond());
    }
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    if db::state(&mut tx, patient_id).await?.retain_until.is_none() {
        return Err(AppError::NotFound.respond());
    }
    db::grant(&mut tx, patient_id, w.staff_id, reason).await?;
    audit::record_for_patient(
        &mut tx,
        audit::Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        Some(w.role),
        patient_id,
        "patient.restricted_opened",
        Some(reason),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `years` (the clinic's setting) from `today`; 29 February falls back to the 28th.
pub fn default_retention(today: NaiveDate, years: u16) -> NaiveDate {
    use chrono::Datelike;
    let year = today.year() + i32::from(years);
    today
        .with_year(year)
        .or_else(|| NaiveDate::from_ymd_opt(year, today.month(), 28))
        .unwrap_or(today)
}

/// What the daily purge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub records: u64,
    pub files: u64,
}

/// Purges every clinic's restricted records whose retention ended before
/// `today`: their clinical rows and stored files go, a tombstone stays (record
/// number, dates, the audit trail). One clinic's failure is logged and the
/// others still get their turn.
#[cfg(feature = "ssr")]
pub async fn purge_due(
    db: &crate::db::Db,
    storage: &crate::storage::Storage,
) -> Result<Purged, crate::db::DbError> {
    let tenants = {
        let mut tx = db.begin_platform_read().await?;
        let ids = db::clinics(&mut tx).await?;
        tx.commit().await?;
        ids
    };
    let mut done = Purged::default();
    for tenant in tenants {
        match purge_clinic(db, tenant).await {
            Ok((records, keys)) => {
                done.records += records;
                for key in keys {
                    match storage.delete(&key).await {
                        Ok(()) => done.files += 1,
                        Err(e) => tracing::warn!(error = %e, %tenant, "purged file not deleted"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, %tenant, "record purge failed"),
        }
    }
    Ok(done)
}

#[cfg(feature = "ssr")]
async fn purge_clinic(
    db: &crate::db::Db,
    tenant: crate::ids::TenantId,
) -> Result<(u64, Vec<String>), crate::db::DbError> {
    let mut tx = db.begin_for(tenant).await?;
    let due = db::due(&mut tx).await?;
    let mut keys = Vec::new();
    for patient in &due {
        keys.extend(db::purge(&mut tx, *patient).await?);
        crate::identity::audit::record_for_patient(
            &mut tx,
            crate::identity::audit::Actor::NOBODY,
            None,
            *patient,
            "patient.purged",
            None,
            &Default::default(),
        )
        .await?;
    }
    let keep = chrono::Duration::days(crate::patients::import::KEEP_DAYS);
    crate::patients::import::db::forget_old(&mut tx, chrono::Utc::now() - keep).await?;
    tx.commit().await?;
    Ok((due.len() as u64, keys))
}

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use uuid::Uuid;

    use super::ErasureState;
    use crate::db::{DbError, TenantTx};

    /// Tables whose rows the purge deletes (the database allows it only once the
    /// record's retention has ended).
    const PURGED: &[&str] = &[
        "allergies",
        "problems",
        "vitals",
        "patient_flags",
        "patient_consents",
        "patient_contacts",
        "patient_insurance",
        "patient_identifiers",
        "patient_correction_requests",
        "patient_field_values",
        "restricted_record_access",
        "recent_patients",
        "patient_search_terms",
    ];

    /// Every clinic's id, for the daily purge.
    pub async fn clinics(
        tx: &mut crate::db::PlatformTx,
    ) -> Result<Vec<crate::ids::TenantId>, DbError> {
        let ids: Vec<Uuid> = crate::db::on_conn!(tx.conn(), |c| {
            sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
                .fetch_all(c)
                .await?
        });
        Ok(ids
            .into_iter()
            .map(crate::ids::TenantId::from_uuid)
            .collect())
    }

    pub async fn state(tx: &mut TenantTx, patient: Uuid) -> Result<ErasureState, DbError> {
        let row: Option<(Option<DateTime<Utc>>, Option<NaiveDate>)> = tx
            .fetch_optional(
                "SELECT erasure_requested_at, retain_until FROM patients WHERE tenant_id = $1 AND id = $2",
                &[patient.into()],
            )
            .await?;
        let (requested, retain_until) = row.ok_or(DbError::NotFound)?;
        Ok(ErasureState {
            requested_at: requested.map(|t| t.to_rfc3339()),
            retain_until,
        })
    }

    pub async fn mark_requested(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
        tx.execute_one(
            "UPDATE patients SET erasure_requested_at = coalesce(erasure_requested_at, $3) \
             WHERE tenant_id = $1 AND id = $2",
            &[patient.into(), Utc::now().into()],
        )
        .await
    }

    /// Unlinks the portal account and withdraws pending invitations; answers the
    /// account that was linked.
    pub async fn unlink_portal(tx: &mut TenantTx, patient: Uuid) -> Result<Option<Uuid>, DbError> {
        let (account,): (Option<Uuid>,) = tx
            .fetch_one(
                "SELECT account_id FROM patients WHERE tenant_id = $1 AND id = $2",
                &[patient.into()],
            )
            .await?;
        tx.execute(
            "UPDATE patients SET account_id = NULL WHERE tenant_id = $1 AND id = $2",
            &[patient.into()],
        )
        .await?;
        tx.execute(
            "DELETE FROM invitations WHERE tenant_id = $1 AND patient_id = $2 AND accepted_at IS NULL",
            &[patient.into()],
        )
        .await?;
        Ok(account)
    }

    /// Restricts the record until `until`: archived, out of search.
    pub async fn restrict(
        tx: &mut TenantTx,
        patient: Uuid,
        by: Uuid,
        until: NaiveDate,
    ) -> Result<(), DbError> {
        let now = Utc::now();
        tx.execute_one(
            "UPDATE patients SET restricted_at = $3, restricted_by = $4, retain_until = $5, \
             erasure_requested_at = coalesce(erasure_requested_at, $3), \
             archived_at = coalesce(archived_at, $3), updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2 AND restricted_at IS NULL",
            &[patient.into(), now.into(), by.into(), until.into()],
        )
        .await?;
        tx.execute(
            "DELETE FROM patient_search_terms WHERE tenant_id = $1 AND patient_id = $2",
            &[patient.into()],
        )
        .await?;
        Ok(())
    }

    pub async fn grant(
        tx: &mut TenantTx,
        patient: Uuid,
        staff: Uuid,
        reason: &str,
    ) -> Result<(), DbError> {
        let now = Utc::now();
        tx.execute(
            "INSERT INTO restricted_record_access (tenant_id, id, patient_id, staff_id, reason, granted_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Uuid::now_v7().into(),
                patient.into(),
                staff.into(),
                reason.into(),
                now.into(),
                (now + Duration::minutes(super::GLASS_MINUTES)).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Whether the record is restricted, and if so whether `staff` holds an
    /// opening of it that has not expired.
    pub async fn restricted_for(
        tx: &mut TenantTx,
        patient: Uuid,
        staff: Option<Uuid>,
    ) -> Result<Option<bool>, DbError> {
        let row: Option<(Option<NaiveDate>, i64)> = tx
            .fetch_optional(
                "SELECT p.retain_until, (SELECT count(*) FROM restricted_record_access a \
                   WHERE a.tenant_id = $1 AND a.patient_id = p.id AND a.staff_id = $3 AND a.expires_at > $4) \
                 FROM patients p WHERE p.tenant_id = $1 AND p.id = $2",
                &[patient.into(), staff.into(), Utc::now().into()],
            )
            .await?;
        Ok(match row {
            Some((Some(_), open)) => Some(open > 0),
            _ => None,
        })
    }

    /// The clinic's restricted records whose retention ended before today.
    pub async fn due(tx: &mut TenantTx) -> Result<Vec<Uuid>, DbError> {
        let rows: Vec<(Uuid,)> = tx
            .fetch_all(
                "SELECT id FROM patients WHERE tenant_id = $1 AND restricted_at IS NOT NULL \
                 AND purged_at IS NULL AND retain_until < $2 ORDER BY id LIMIT 1000",
                &[Utc::now().date_naive().into()],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Deletes the record's clinical rows and leaves the tombstone; answers the
    /// storage keys of its files (deleted after the commit).
    pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<String>, DbError> {
        let one = [patient.into()];
        // Prescriptions first: they may name the visit note they came from.
        crate::prescribing::db::purge(tx, patient).await?;
        // Invoices may name the visit they bill.
        crate::billing::db::purge(tx, patient).await?;
        crate::engagement::db::purge(tx, patient).await?;
        crate::scheduling::db::purge(tx, patient).await?;
        // Addenda first: they point at the notes they amend.
        tx.execute(
            "DELETE FROM visit_notes WHERE tenant_id = $1 AND patient_id = $2 AND addendum_to IS NOT NULL",
            &one,
        )
        .await?;
        tx.execute(
            "DELETE FROM visit_notes WHERE tenant_id = $1 AND patient_id = $2",
            &one,
        )
        .await?;
        let keys: Vec<(String,)> = tx
            .fetch_all(
                "SELECT object_key FROM patient_documents WHERE tenant_id = $1 AND patient_id = $2",
                &one,
            )
            .await?;
        tx.execute(
            "DELETE FROM patient_documents WHERE tenant_id = $1 AND patient_id = $2",
            &one,
        )
        .await?;
        for (key,) in &keys {
            tx.execute(
                "DELETE FROM tenant_files WHERE tenant_id = $1 AND object_key = $2",
                &[key.into()],
            )
            .await?;
        }
        for table in PURGED {
            // Table names come from the constant list above, never from input.
            let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND patient_id = $2");
            tx.execute(&sql, &one).await?;
        }
        let now = Utc::now();
        tx.execute_one(
            "UPDATE patients SET given_name = 'Purged', family_name = 'record', search_name = 'purged record', \
             preferred_name = NULL, gender_identity = NULL, email = NULL, phone = NULL, address = NULL, \
             preferred_language = NULL, blood_type = NULL, birth_date = $3, sex = 'unknown', \
             deceased_on = NULL, purged_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            &[
                patient.into(),
                NaiveDate::from_ymd_opt(1900, 1, 1).into(),
                now.into(),
            ],
        )
        .await?;
        Ok(keys.into_iter().map(|(k,)| k).collect())
    }
}

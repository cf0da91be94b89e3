//! Patient queries. Every one takes a [`TenantTx`] and binds its tenant id.

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::{Mrn, NewPatient, Patient};
use crate::db::{on_conn, one_row, DbError, TenantTx};

#[derive(sqlx::FromRow)]
struct PatientRow {
    id: Uuid,
    mrn: String,
    given_name: String,
    family_name: String,
    birth_date: NaiveDate,
    sex: String,
    email: Option<String>,
    phone: Option<String>,
    primary_staff_id: Option<Uuid>,
    portal_account: bool,
}

impl TryFrom<PatientRow> for Patient {
    type Error = DbError;
    fn try_from(r: PatientRow) -> Result<Self, DbError> {
        Ok(Patient {
            id: r.id,
            mrn: Mrn::parse(&r.mrn).map_err(DbError::Corrupt)?,
            given_name: r.given_name,
            family_name: r.family_name,
            birth_date: r.birth_date,
            sex: r.sex.parse().map_err(DbError::Corrupt)?,
            email: r.email,
            phone: r.phone,
            primary_staff_id: r.primary_staff_id,
            portal_account: r.portal_account,
        })
    }
}

const COLUMNS: &str = "id, mrn, given_name, family_name, birth_date, sex, email, phone, \
     primary_staff_id, (account_id IS NOT NULL) AS portal_account";

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut TenantTx, new: &NewPatient) -> Result<Patient, DbError> {
    new.validate(Utc::now().date_naive())
        .map_err(DbError::Invalid)?;
    let (tenant, conn) = tx.scoped();
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO patients (tenant_id, id, mrn, given_name, family_name, search_name, birth_date, \
         sex, email, phone, primary_staff_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLUMNS}"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(Uuid::now_v7())
            .bind(new.mrn.as_str())
            .bind(new.given_name.trim())
            .bind(new.family_name.trim())
            .bind(new.search_name())
            .bind(new.birth_date)
            .bind(new.sex.as_str())
            .bind(&new.email)
            .bind(&new.phone)
            .bind(new.primary_staff_id)
            .bind(now)
            .fetch_one(c)
            .await
            .map_err(DbError::conflict_on("record number"))?
    });
    Patient::try_from(row)
}

#[tracing::instrument(skip_all)]
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!("SELECT {COLUMNS} FROM patients WHERE tenant_id = $1 AND id = $2");
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(Patient::try_from).transpose()
}

/// Patients whose "family given" name contains `query` (case-insensitive), by name.
#[tracing::instrument(skip_all)]
pub async fn search(tx: &mut TenantTx, query: &str, limit: i64) -> Result<Vec<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let pattern = format!(
        "%{}%",
        query
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let sql = format!(
        "SELECT {COLUMNS} FROM patients WHERE tenant_id = $1 AND search_name LIKE $2 ESCAPE '\\' \
         ORDER BY search_name, id LIMIT $3"
    );
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(&pattern)
            .bind(limit.clamp(1, 500))
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(Patient::try_from).collect()
}

#[tracing::instrument(skip_all)]
pub async fn update_contact(
    tx: &mut TenantTx,
    id: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET email = $3, phone = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(email)
        .bind(phone)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

#[tracing::instrument(skip_all)]
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query("DELETE FROM patients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(affected)
}

#[tracing::instrument(skip_all)]
pub async fn count(tx: &mut TenantTx) -> Result<i64, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(c)
            .await?
    }))
}

/// The patient record a portal account is linked to in this tenant.
#[tracing::instrument(skip_all)]
pub async fn find_by_account(tx: &mut TenantTx, account: Uuid) -> Result<Option<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!("SELECT {COLUMNS} FROM patients WHERE tenant_id = $1 AND account_id = $2");
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(c)
            .await?
    });
    row.map(Patient::try_from).transpose()
}

/// Links a portal account to a patient record (one account per record per tenant).
#[tracing::instrument(skip_all)]
pub async fn link_account(tx: &mut TenantTx, id: Uuid, account: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let done = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET account_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(account)
        .bind(Utc::now())
        .execute(c)
        .await
        .map_err(DbError::conflict_on("portal account"))?
        .rows_affected()
    });
    one_row(done)
}

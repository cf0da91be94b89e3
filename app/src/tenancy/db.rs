//! Platform queries over the `tenants` table.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Branding, NewTenant, Slug, Tenant, TenantId, TenantSettings, TenantStatus};
use crate::db::{on_conn, one_row, DbError, PlatformTx};

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    slug: String,
    name: String,
    kind: String,
    status: String,
    custom_domain: Option<String>,
    branding: Json<Branding>,
    timezone: String,
    currency: String,
    language: String,
    date_format: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = DbError;
    fn try_from(r: TenantRow) -> Result<Self, DbError> {
        Ok(Tenant {
            id: TenantId::from_uuid(r.id),
            slug: Slug::parse(&r.slug).map_err(|e| DbError::Corrupt(e.to_string()))?,
            name: r.name,
            kind: r.kind.parse().map_err(DbError::Corrupt)?,
            status: r.status.parse().map_err(DbError::Corrupt)?,
            custom_domain: r.custom_domain,
            branding: r.branding.0,
            settings: TenantSettings {
                timezone: r.timezone,
                currency: r.currency,
                language: r.language,
                date_format: r.date_format,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "id, slug, name, kind, status, custom_domain, branding, timezone, \
                       currency, language, date_format, created_at, updated_at";

async fn find_where(
    tx: &mut PlatformTx,
    condition: &'static str,
    value: &str,
) -> Result<Option<Tenant>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE {condition} = $1");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, TenantRow>(&sql)
            .bind(value)
            .fetch_optional(c)
            .await?
    });
    row.map(Tenant::try_from).transpose()
}

#[tracing::instrument(skip_all)]
pub async fn find_by_slug(tx: &mut PlatformTx, slug: &Slug) -> Result<Option<Tenant>, DbError> {
    find_where(tx, "slug", slug.as_str()).await
}

/// Looks a tenant up by its custom domain (lowercase host, no port).
#[tracing::instrument(skip_all)]
pub async fn find_by_domain(tx: &mut PlatformTx, host: &str) -> Result<Option<Tenant>, DbError> {
    find_where(tx, "custom_domain", host).await
}

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut PlatformTx, new: &NewTenant) -> Result<Tenant, DbError> {
    new.validate().map_err(DbError::Invalid)?;
    let id = TenantId::new();
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO tenants ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    );
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, TenantRow>(&sql)
            .bind(id.into_uuid())
            .bind(new.slug.as_str())
            .bind(new.name.trim())
            .bind(new.kind.as_str())
            .bind(new.status.as_str())
            .bind(Json(&new.branding))
            .bind(&new.settings.timezone)
            .bind(&new.settings.currency)
            .bind(&new.settings.language)
            .bind(&new.settings.date_format)
            .bind(now)
            .fetch_one(c)
            .await
            .map_err(DbError::conflict_on("address"))?
    });
    Tenant::try_from(row)
}

#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut PlatformTx,
    id: TenantId,
    status: TenantStatus,
) -> Result<(), DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(Utc::now())
            .bind(id.into_uuid())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Points a custom domain at a tenant, or clears it. Stored lower-case, as request
/// hosts are compared lower-case.
#[tracing::instrument(skip_all)]
pub async fn set_custom_domain(
    tx: &mut PlatformTx,
    id: TenantId,
    domain: Option<&str>,
) -> Result<(), DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET custom_domain = $1, updated_at = $2 WHERE id = $3")
            .bind(domain.map(str::to_ascii_lowercase))
            .bind(Utc::now())
            .bind(id.into_uuid())
            .execute(c)
            .await
            .map_err(DbError::conflict_on("domain"))?
            .rows_affected()
    });
    one_row(done)
}

#[tracing::instrument(skip_all)]
pub async fn count(tx: &mut PlatformTx) -> Result<i64, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tenants")
            .fetch_one(c)
            .await?
    }))
}

pub use super::SecurityPolicy;

#[tracing::instrument(skip_all)]
pub async fn security_policy(tx: &mut PlatformTx, id: TenantId) -> Result<SecurityPolicy, DbError> {
    let row: Option<(bool, Option<i64>)> = on_conn!(tx.conn(), |c| {
        sqlx::query_as(
            "SELECT require_staff_2fa, CAST(staff_idle_minutes AS BIGINT) FROM tenants WHERE id = $1",
        )
        .bind(id.into_uuid())
        .fetch_optional(c)
        .await?
    });
    let (require_staff_2fa, staff_idle_minutes) = row.ok_or(DbError::NotFound)?;
    Ok(SecurityPolicy {
        require_staff_2fa,
        staff_idle_minutes,
    })
}

#[tracing::instrument(skip_all)]
pub async fn set_security_policy(
    tx: &mut PlatformTx,
    id: TenantId,
    policy: SecurityPolicy,
) -> Result<(), DbError> {
    if policy
        .staff_idle_minutes
        .is_some_and(|m| !(1..=720).contains(&m))
    {
        return Err(DbError::Invalid(
            "idle timeout must be between 1 and 720 minutes".into(),
        ));
    }
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET require_staff_2fa = $2, staff_idle_minutes = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(id.into_uuid())
        .bind(policy.require_staff_2fa)
        .bind(policy.staff_idle_minutes)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

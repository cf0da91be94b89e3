//! Support sessions (impersonations): written and read inside the tenant's own
//! scope, so the clinic's owner sees them like any other tenant data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{on_conn, DbError, TenantTx};

/// A support session as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Impersonation {
    pub id: Uuid,
    pub operator_email: String,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip_all)]
pub async fn start_impersonation(
    tx: &mut TenantTx,
    operator: Uuid,
    operator_email: &str,
    reason: &str,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO impersonations (tenant_id, id, operator_id, operator_email, reason, started_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(id)
        .bind(operator)
        .bind(operator_email)
        .bind(reason)
        .bind(Utc::now())
        .bind(expires_at)
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// The session, when it is still open (not ended, not expired).
#[tracing::instrument(skip_all)]
pub async fn open_impersonation(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<Impersonation>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, Impersonation>(
            "SELECT id, operator_email, reason, started_at, expires_at, ended_at FROM impersonations \
             WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND expires_at > $3",
        )
        .bind(tenant)
        .bind(id)
        .bind(Utc::now())
        .fetch_optional(c)
        .await?
    }))
}

#[tracing::instrument(skip_all)]
pub async fn end_impersonation(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE impersonations SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// The tenant's support sessions, newest first.
#[tracing::instrument(skip_all)]
pub async fn impersonations(tx: &mut TenantTx, limit: i64) -> Result<Vec<Impersonation>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, Impersonation>(
            "SELECT id, operator_email, reason, started_at, expires_at, ended_at FROM impersonations \
             WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

//! Queries over plans, a tenant's plan, and its usage.
//!
//! `plans` and `tenants` carry no row-level security, so a tenant transaction may
//! read its own tenant's plan; counts of tenant-owned rows always run inside the
//! tenant's transaction, the same one that then creates the row.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{limit_message, upgrade_for, Feature, LimitKind, Plan, PlanId, Usage};
use crate::db::{on_conn, one_row, DbError, PlatformTx, TenantTx};

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: String,
    name: String,
    price_cents: i64,
    currency: String,
    max_users: Option<i64>,
    max_patients: Option<i64>,
    storage_bytes: i64,
    features: String,
    sort_order: i64,
    retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<PlanRow> for Plan {
    type Error = DbError;
    fn try_from(r: PlanRow) -> Result<Self, DbError> {
        let names: Vec<String> =
            serde_json::from_str(&r.features).map_err(|e| DbError::Corrupt(e.to_string()))?;
        // A feature this build does not know is ignored rather than failing the page.
        let features = names
            .iter()
            .filter_map(|n| n.parse::<Feature>().ok())
            .collect();
        Ok(Plan {
            id: PlanId::parse(&r.id).map_err(DbError::Corrupt)?,
            name: r.name,
            price_cents: r.price_cents,
            currency: r.currency,
            max_users: r.max_users,
            max_patients: r.max_patients,
            storage_bytes: r.storage_bytes,
            features,
            sort_order: r.sort_order,
            retired: r.retired_at.is_some(),
        })
    }
}

const COLUMNS: &str = "p.id, p.name, CAST(p.price_cents AS BIGINT) AS price_cents, p.currency, \
     CAST(p.max_users AS BIGINT) AS max_users, CAST(p.max_patients AS BIGINT) AS max_patients, \
     CAST(p.storage_bytes AS BIGINT) AS storage_bytes, p.features, \
     CAST(p.sort_order AS BIGINT) AS sort_order, p.retired_at";

fn features_json(plan: &Plan) -> String {
    serde_json::to_string(&plan.features.iter().map(|f| f.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// Every plan, retired ones included, in display order.
#[tracing::instrument(skip_all)]
pub async fn all(tx: &mut PlatformTx) -> Result<Vec<Plan>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM plans p ORDER BY p.sort_order, p.id");
    let rows = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, PlanRow>(&sql).fetch_all(c).await?
    });
    rows.into_iter().map(Plan::try_from).collect()
}

#[tracing::instrument(skip_all)]
pub async fn get(tx: &mut PlatformTx, id: &PlanId) -> Result<Option<Plan>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM plans p WHERE p.id = $1");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, PlanRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(c)
            .await?
    });
    row.map(Plan::try_from).transpose()
}

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut PlatformTx, plan: &Plan) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let now = Utc::now();
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO plans (id, name, price_cents, currency, max_users, max_patients, storage_bytes, \
             features, sort_order, retired_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
        )
        .bind(plan.id.as_str())
        .bind(plan.name.trim())
        .bind(plan.price_cents)
        .bind(&plan.currency)
        .bind(plan.max_users)
        .bind(plan.max_patients)
        .bind(plan.storage_bytes)
        .bind(features_json(plan))
        .bind(plan.sort_order)
        .bind(now)
        .execute(c)
        .await
        .map_err(DbError::conflict_on("plan code or name"))?;
    });
    Ok(())
}

/// Saves a plan's terms. Tenants on it see the new terms; retiring is separate.
#[tracing::instrument(skip_all)]
pub async fn update(tx: &mut PlatformTx, plan: &Plan) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE plans SET name = $2, price_cents = $3, currency = $4, max_users = $5, \
             max_patients = $6, storage_bytes = $7, features = $8, sort_order = $9, updated_at = $10 \
             WHERE id = $1",
        )
        .bind(plan.id.as_str())
        .bind(plan.name.trim())
        .bind(plan.price_cents)
        .bind(&plan.currency)
        .bind(plan.max_users)
        .bind(plan.max_patients)
        .bind(plan.storage_bytes)
        .bind(features_json(plan))
        .bind(plan.sort_order)
        .bind(Utc::now())
        .execute(c)
        .await
        .map_err(DbError::conflict_on("plan name"))?
        .rows_affected()
    });
    one_row(done)
}

/// Takes a plan off sale (or back on). Tenants already on it keep it.
#[tracing::instrument(skip_all)]
pub async fn set_retired(tx: &mut PlatformTx, id: &PlanId, retired: bool) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let now = Utc::now();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE plans SET retired_at = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(retired.then_some(now))
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Moves a tenant to another plan.
#[tracing::instrument(skip_all)]
pub async fn set_tenant_plan(
    tx: &mut PlatformTx,
    tenant: crate::tenancy::TenantId,
    plan: &PlanId,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET plan_id = $2, updated_at = $3 WHERE id = $1")
            .bind(tenant.into_uuid())
            .bind(plan.as_str())
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// The plan of the tenant a transaction is scoped to.
#[tracing::instrument(skip_all)]
pub async fn plan_of(tx: &mut TenantTx) -> Result<Plan, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM plans p JOIN tenants t ON t.plan_id = p.id WHERE t.id = $1");
    let (tenant, conn) = tx.scoped();
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PlanRow>(&sql)
            .bind(tenant)
            .fetch_optional(c)
            .await?
    });
    row.map(Plan::try_from)
        .transpose()?
        .ok_or(DbError::NotFound)
}

/// The plans on sale, read inside a tenant transaction (for upgrade messages).
async fn plans_on_sale(tx: &mut TenantTx) -> Result<Vec<Plan>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM plans p WHERE p.retired_at IS NULL ORDER BY p.sort_order");
    let (_, conn) = tx.scoped();
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, PlanRow>(&sql).fetch_all(c).await?
    });
    rows.into_iter().map(Plan::try_from).collect()
}

async fn scalar(tx: &mut TenantTx, sql: &str, now: Option<DateTime<Utc>>) -> Result<i64, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        let q = sqlx::query_scalar::<_, i64>(sql).bind(tenant);
        match now {
            Some(now) => q.bind(now).fetch_one(c).await?,
            None => q.fetch_one(c).await?,
        }
    }))
}

/// Seats taken: active staff plus staff invitations still waiting for an answer.
pub async fn seats_taken(tx: &mut TenantTx) -> Result<i64, DbError> {
    let members = active_staff(tx).await?;
    let pending = scalar(
        tx,
        "SELECT count(*) FROM invitations WHERE tenant_id = $1 AND kind = 'staff' \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        Some(Utc::now()),
    )
    .await?;
    Ok(members + pending)
}

async fn active_staff(tx: &mut TenantTx) -> Result<i64, DbError> {
    scalar(
        tx,
        "SELECT count(*) FROM staff_members WHERE tenant_id = $1 AND status = 'active'",
        None,
    )
    .await
}

async fn storage(tx: &mut TenantTx) -> Result<i64, DbError> {
    scalar(
        tx,
        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM tenant_files WHERE tenant_id = $1",
        None,
    )
    .await
}

/// `2026-11` for the month API calls are counted in.
pub fn month_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// The tenant's usage now.
#[tracing::instrument(skip_all)]
pub async fn usage(tx: &mut TenantTx) -> Result<Usage, DbError> {
    let month = month_of(Utc::now());
    let (tenant, conn) = tx.scoped();
    let api_calls = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(api_calls AS BIGINT) FROM tenant_usage WHERE tenant_id = $1 AND month = $2",
        )
        .bind(tenant)
        .bind(&month)
        .fetch_optional(c)
        .await?
    });
    let users = active_staff(tx).await?;
    Ok(Usage {
        pending_invitations: seats_taken(tx).await? - users,
        users,
        patients: crate::patients::db::count(tx).await?,
        storage_bytes: storage(tx).await?,
        api_calls_this_month: api_calls.unwrap_or(0),
    })
}

/// Serialises limit checks of one tenant until the transaction ends, so two
/// requests at once cannot both take the last seat. SQLite writers are already
/// serialised (`BEGIN IMMEDIATE`); PostgreSQL locks the tenant's row.
async fn lock_tenant(tx: &mut TenantTx) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    if let crate::db::Tx::Postgres(pg) = conn {
        sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant)
            .execute(&mut **pg)
            .await?;
    }
    Ok(())
}

/// A limit the next step would cross: the message for the person, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitReached(pub String);

/// Refuses, with the upgrade message, when adding `adding` (people, patients or
/// bytes) would go over the tenant's plan. Call it in the transaction that then
/// creates the row, so nothing is half-created.
#[tracing::instrument(skip_all)]
pub async fn ensure_room(
    tx: &mut TenantTx,
    kind: LimitKind,
    adding: i64,
) -> Result<Result<(), LimitReached>, DbError> {
    lock_tenant(tx).await?;
    let plan = plan_of(tx).await?;
    let Some(limit) = plan.limit(kind) else {
        return Ok(Ok(()));
    };
    let current = match kind {
        LimitKind::Users => seats_taken(tx).await?,
        LimitKind::Patients => crate::patients::db::count(tx).await?,
        LimitKind::Storage => storage(tx).await?,
    };
    if current + adding <= limit {
        return Ok(Ok(()));
    }
    let plans = plans_on_sale(tx).await?;
    let upgrade = upgrade_for(&plans, &plan, kind);
    Ok(Err(LimitReached(limit_message(&plan, kind, upgrade))))
}

/// Refuses when one more active member would go over the plan's users. Used when
/// an invitation is accepted: pending invitations do not count against it, since
/// each already held its seat when it was sent.
#[tracing::instrument(skip_all)]
pub async fn ensure_member_room(tx: &mut TenantTx) -> Result<Result<(), LimitReached>, DbError> {
    lock_tenant(tx).await?;
    let plan = plan_of(tx).await?;
    let Some(limit) = plan.max_users else {
        return Ok(Ok(()));
    };
    if active_staff(tx).await? < limit {
        return Ok(Ok(()));
    }
    let plans = plans_on_sale(tx).await?;
    let upgrade = upgrade_for(&plans, &plan, LimitKind::Users);
    Ok(Err(LimitReached(limit_message(
        &plan,
        LimitKind::Users,
        upgrade,
    ))))
}

/// Whether the tenant's plan includes a feature.
pub async fn has_feature(tx: &mut TenantTx, feature: Feature) -> Result<bool, DbError> {
    Ok(plan_of(tx).await?.has(feature))
}

/// Adds server-function calls to this month's count.
#[tracing::instrument(skip_all)]
pub async fn add_api_calls(tx: &mut TenantTx, month: &str, calls: i64) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO tenant_usage (tenant_id, month, api_calls) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, month) DO UPDATE SET api_calls = tenant_usage.api_calls + excluded.api_calls",
        )
        .bind(tenant)
        .bind(month)
        .bind(calls)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Records a stored file against the tenant's storage.
#[tracing::instrument(skip_all)]
pub async fn add_file(
    tx: &mut TenantTx,
    purpose: &str,
    object_key: &str,
    content_type: &str,
    bytes: i64,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO tenant_files (tenant_id, id, purpose, object_key, content_type, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(purpose)
        .bind(object_key)
        .bind(content_type)
        .bind(bytes)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Forgets every file of one purpose and returns their keys, for deletion from
/// the object store after the transaction commits.
#[tracing::instrument(skip_all)]
pub async fn remove_files(tx: &mut TenantTx, purpose: &str) -> Result<Vec<String>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, String>(
            "DELETE FROM tenant_files WHERE tenant_id = $1 AND purpose = $2 RETURNING object_key",
        )
        .bind(tenant)
        .bind(purpose)
        .fetch_all(c)
        .await?
    }))
}

/// The content type of a stored file of this tenant, when it has one by that key.
#[tracing::instrument(skip_all)]
pub async fn file_type(tx: &mut TenantTx, object_key: &str) -> Result<Option<String>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, String>(
            "SELECT content_type FROM tenant_files WHERE tenant_id = $1 AND object_key = $2",
        )
        .bind(tenant)
        .bind(object_key)
        .fetch_optional(c)
        .await?
    }))
}

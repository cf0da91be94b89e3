//! Accounts are platform rows; staff memberships are tenant rows and need a [`TenantTx`].

use chrono::Utc;
use uuid::Uuid;

use super::{Account, Email, MemberStatus, Role, StaffMember};
use crate::db::{on_conn, one_row, DbError, PlatformTx, TenantTx};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    email: String,
    display_name: String,
}

impl TryFrom<AccountRow> for Account {
    type Error = DbError;
    fn try_from(r: AccountRow) -> Result<Self, DbError> {
        Ok(Account {
            id: r.id,
            email: Email::parse(&r.email).map_err(DbError::Corrupt)?,
            display_name: r.display_name,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn create_account(
    tx: &mut PlatformTx,
    email: &Email,
    display_name: &str,
) -> Result<Account, DbError> {
    let now = Utc::now();
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, AccountRow>(
            "INSERT INTO accounts (id, email, display_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id, email, display_name",
        )
        .bind(Uuid::now_v7())
        .bind(email.as_str())
        .bind(display_name.trim())
        .bind(now)
        .fetch_one(c)
        .await
        .map_err(DbError::conflict_on("email"))?
    });
    Account::try_from(row)
}

#[tracing::instrument(skip_all)]
pub async fn find_account_by_email(
    tx: &mut PlatformTx,
    email: &Email,
) -> Result<Option<Account>, DbError> {
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, AccountRow>(
            "SELECT id, email, display_name FROM accounts WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(c)
        .await?
    });
    row.map(Account::try_from).transpose()
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: Uuid,
    account_id: Uuid,
    role: String,
    status: String,
    display_name: String,
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = DbError;
    fn try_from(r: StaffRow) -> Result<Self, DbError> {
        Ok(StaffMember {
            id: r.id,
            account_id: r.account_id,
            role: r.role.parse().map_err(DbError::Corrupt)?,
            status: r.status.parse().map_err(DbError::Corrupt)?,
            display_name: r.display_name,
        })
    }
}

const STAFF_COLUMNS: &str = "id, account_id, role, status, display_name";

#[tracing::instrument(skip_all)]
pub async fn add_staff(
    tx: &mut TenantTx,
    account: &Account,
    role: Role,
) -> Result<StaffMember, DbError> {
    let (tenant, conn) = tx.scoped();
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO staff_members (tenant_id, id, account_id, role, status, display_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $6) RETURNING {STAFF_COLUMNS}"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, StaffRow>(&sql)
            .bind(tenant)
            .bind(Uuid::now_v7())
            .bind(account.id)
            .bind(role.as_str())
            .bind(&account.display_name)
            .bind(now)
            .fetch_one(c)
            .await
            .map_err(DbError::conflict_on("staff account"))?
    });
    StaffMember::try_from(row)
}

#[tracing::instrument(skip_all)]
pub async fn list_staff(tx: &mut TenantTx) -> Result<Vec<StaffMember>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT {STAFF_COLUMNS} FROM staff_members WHERE tenant_id = $1 ORDER BY display_name, id"
    );
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, StaffRow>(&sql)
            .bind(tenant)
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(StaffMember::try_from).collect()
}

#[tracing::instrument(skip_all)]
pub async fn find_staff(tx: &mut TenantTx, id: Uuid) -> Result<Option<StaffMember>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE tenant_id = $1 AND id = $2");
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, StaffRow>(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(StaffMember::try_from).transpose()
}

#[tracing::instrument(skip_all)]
pub async fn set_staff_role(tx: &mut TenantTx, id: Uuid, role: Role) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE staff_members SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(role.as_str())
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

#[tracing::instrument(skip_all)]
pub async fn set_staff_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: MemberStatus,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE staff_members SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(status.as_str())
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

/// The staff membership (active or not) of an account in the transaction's tenant.
#[tracing::instrument(skip_all)]
pub async fn staff_by_account(
    tx: &mut TenantTx,
    account_id: Uuid,
) -> Result<Option<StaffMember>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT {STAFF_COLUMNS} FROM staff_members WHERE tenant_id = $1 AND account_id = $2"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, StaffRow>(&sql)
            .bind(tenant)
            .bind(account_id)
            .fetch_optional(c)
            .await?
    });
    row.map(StaffMember::try_from).transpose()
}

/// The active staff membership of an account in the transaction's tenant.
#[tracing::instrument(skip_all)]
pub async fn active_staff_by_account(
    tx: &mut TenantTx,
    account_id: Uuid,
) -> Result<Option<StaffMember>, DbError> {
    Ok(staff_by_account(tx, account_id)
        .await?
        .filter(|m| m.status == MemberStatus::Active))
}

/// Adds a membership, or re-activates one with a new role.
#[tracing::instrument(skip_all)]
pub async fn upsert_staff(
    tx: &mut TenantTx,
    account: &Account,
    role: Role,
) -> Result<StaffMember, DbError> {
    let (tenant, conn) = tx.scoped();
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO staff_members (tenant_id, id, account_id, role, status, display_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $6) \
         ON CONFLICT (tenant_id, account_id) DO UPDATE SET role = excluded.role, status = 'active', \
         updated_at = excluded.updated_at RETURNING {STAFF_COLUMNS}"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, StaffRow>(&sql)
            .bind(tenant)
            .bind(Uuid::now_v7())
            .bind(account.id)
            .bind(role.as_str())
            .bind(&account.display_name)
            .bind(now)
            .fetch_one(c)
            .await?
    });
    StaffMember::try_from(row)
}

#[tracing::instrument(skip_all)]
pub async fn find_account(tx: &mut PlatformTx, id: Uuid) -> Result<Option<Account>, DbError> {
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, AccountRow>(
            "SELECT id, email, display_name FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    row.map(Account::try_from).transpose()
}

/// Every tenant (id) where the account is active staff. Uses the account-scoped
/// read policy on PostgreSQL, so it sees the account's own memberships only.
#[tracing::instrument(skip_all)]
pub async fn staff_tenants_of(
    db: &crate::db::Db,
    account_id: Uuid,
) -> Result<Vec<(Uuid, String, String)>, DbError> {
    let mut tx = db.begin_for_account(account_id).await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (Uuid, String, String)>(
            "SELECT t.id, t.slug, t.name FROM staff_members s JOIN tenants t ON t.id = s.tenant_id \
             WHERE s.account_id = $1 AND s.status = 'active' AND t.status IN ('trial', 'active') \
             ORDER BY t.name",
        )
        .bind(account_id)
        .fetch_all(c)
        .await?
    }))
}

/// The clinics (id, slug, name) where `account_id` has a patient portal: its own
/// patient records, read through the account's own policy (never another's).
pub async fn portal_tenants_of(
    db: &crate::db::Db,
    account_id: Uuid,
) -> Result<Vec<(Uuid, String, String)>, DbError> {
    let mut tx = db.begin_for_account(account_id).await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (Uuid, String, String)>(
            "SELECT DISTINCT t.id, t.slug, t.name FROM patients p JOIN tenants t ON t.id = p.tenant_id \
             WHERE p.account_id = $1 AND t.status IN ('trial', 'active') ORDER BY t.name",
        )
        .bind(account_id)
        .fetch_all(c)
        .await?
    }))
}

/// The email addresses of the tenant's active owners (for notices about the
/// clinic's account).
#[tracing::instrument(skip_all)]
pub async fn owner_emails(tx: &mut TenantTx) -> Result<Vec<String>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, String>(
            "SELECT a.email FROM staff_members s JOIN accounts a ON a.id = s.account_id \
             WHERE s.tenant_id = $1 AND s.role = 'owner' AND s.status = 'active' ORDER BY a.email",
        )
        .bind(tenant)
        .fetch_all(c)
        .await?
    }))
}

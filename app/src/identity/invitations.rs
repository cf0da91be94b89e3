//! Invitation queries: staff invitations (with a role) and patient portal
//! invitations (for one patient record). Tenant rows, stored with a token digest.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{Email, Role};
use crate::db::{on_conn, DbError, TenantTx};

/// Staff invitations and reset links expire after 72 hours.
pub const VALID_FOR_HOURS: i64 = 72;

#[derive(Debug, Clone, PartialEq)]
pub enum Invited {
    Staff(Role),
    Patient(Uuid),
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub email: Email,
    pub invited: Invited,
    pub expires_at: DateTime<Utc>,
    pub accepted: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    email: String,
    role: Option<String>,
    patient_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Invitation {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        let invited = match (r.kind.as_str(), r.role, r.patient_id) {
            ("staff", Some(role), None) => Invited::Staff(role.parse().map_err(DbError::Corrupt)?),
            ("patient", None, Some(patient)) => Invited::Patient(patient),
            _ => return Err(DbError::Corrupt("invitation kind".into())),
        };
        Ok(Invitation {
            id: r.id,
            email: Email::parse(&r.email).map_err(DbError::Corrupt)?,
            invited,
            expires_at: r.expires_at,
            accepted: r.accepted_at.is_some(),
        })
    }
}

pub async fn create(
    tx: &mut TenantTx,
    email: &Email,
    invited: &Invited,
    digest: &str,
    invited_by: Uuid,
) -> Result<Uuid, DbError> {
    let (tenant, conn) = tx.scoped();
    let id = Uuid::now_v7();
    let now = Utc::now();
    let (kind, role, patient) = match invited {
        Invited::Staff(role) => ("staff", Some(role.as_str()), None),
        Invited::Patient(p) => ("patient", None, Some(*p)),
    };
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO invitations (tenant_id, id, kind, email, role, patient_id, token_hash, invited_by, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant)
        .bind(id)
        .bind(kind)
        .bind(email.as_str())
        .bind(role)
        .bind(patient)
        .bind(digest)
        .bind(invited_by)
        .bind(now + Duration::hours(VALID_FOR_HOURS))
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// A pending (unused, unexpired) invitation of this tenant by token digest.
pub async fn find_pending(tx: &mut TenantTx, digest: &str) -> Result<Option<Invitation>, DbError> {
    let (tenant, conn) = tx.scoped();
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
            "SELECT id, kind, email, role, patient_id, expires_at, accepted_at FROM invitations \
             WHERE tenant_id = $1 AND token_hash = $2 AND accepted_at IS NULL \
               AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(tenant)
        .bind(digest)
        .bind(Utc::now())
        .fetch_optional(c)
        .await?
    });
    row.map(Invitation::try_from).transpose()
}

/// Marks an invitation used; false when someone else used it first.
pub async fn mark_accepted(tx: &mut TenantTx, id: Uuid) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let n = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE invitations SET accepted_at = $3 WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

/// The condition of an invitation still waiting for its answer.
const PENDING: &str = "accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2";

/// Staff invitations still waiting for an answer, newest first.
pub async fn pending_staff(tx: &mut TenantTx) -> Result<Vec<Invitation>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT id, kind, email, role, patient_id, expires_at, accepted_at FROM invitations \
         WHERE tenant_id = $1 AND kind = 'staff' AND {PENDING} ORDER BY created_at DESC, id"
    );
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(Invitation::try_from).collect()
}

/// A pending invitation of this tenant by id.
pub async fn find_pending_by_id(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<Invitation>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT id, kind, email, role, patient_id, expires_at, accepted_at FROM invitations \
         WHERE tenant_id = $1 AND id = $3 AND {PENDING}"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(Invitation::try_from).transpose()
}

/// Whether `email` has a pending staff invitation here.
pub async fn staff_invitation_pending(tx: &mut TenantTx, email: &Email) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT count(*) FROM invitations WHERE tenant_id = $1 AND kind = 'staff' \
         AND email = $3 AND {PENDING}"
    );
    let n = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .bind(email.as_str())
            .fetch_one(c)
            .await?
    });
    Ok(n > 0)
}

/// Withdraws a pending invitation (its link stops working, its seat is free);
/// false when it was already answered, withdrawn or expired.
pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "UPDATE invitations SET revoked_at = $2 WHERE tenant_id = $1 AND id = $3 AND {PENDING}"
    );
    let n = on_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

/// Gives a pending invitation a new link (the old one stops working) and a new
/// expiry; false when it is no longer pending.
pub async fn renew(tx: &mut TenantTx, id: Uuid, digest: &str) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "UPDATE invitations SET token_hash = $4, expires_at = $5 \
         WHERE tenant_id = $1 AND id = $3 AND {PENDING}"
    );
    let now = Utc::now();
    let n = on_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(tenant)
            .bind(now)
            .bind(id)
            .bind(digest)
            .bind(now + Duration::hours(VALID_FOR_HOURS))
            .execute(c)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

/// Patients with a portal invitation waiting for an answer.
pub async fn patients_invited(tx: &mut TenantTx) -> Result<Vec<Uuid>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT DISTINCT patient_id FROM invitations \
         WHERE tenant_id = $1 AND kind = 'patient' AND {PENDING}"
    );
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, Uuid>(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .fetch_all(c)
            .await?
    }))
}

/// Withdraws every pending portal invitation of one patient (before a new one).
pub async fn revoke_for_patient(tx: &mut TenantTx, patient: Uuid) -> Result<u64, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "UPDATE invitations SET revoked_at = $2 \
         WHERE tenant_id = $1 AND kind = 'patient' AND patient_id = $3 AND {PENDING}"
    );
    Ok(on_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(tenant)
            .bind(Utc::now())
            .bind(patient)
            .execute(c)
            .await?
            .rows_affected()
    }))
}

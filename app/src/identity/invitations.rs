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
             WHERE tenant_id = $1 AND token_hash = $2 AND accepted_at IS NULL AND expires_at > $3",
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

//! Counts behind the dashboard and its set-up checklist.

use crate::db::{on_conn, DbError, PlatformTx, TenantTx};
use crate::tenancy::TenantId;

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Active staff and pending staff invitations.
    pub seats: i64,
    /// Doctors active or invited.
    pub doctors: i64,
    pub patients: i64,
}

#[tracing::instrument(skip_all)]
pub async fn counts(tx: &mut TenantTx) -> Result<Counts, DbError> {
    let seats = crate::plans::db::seats_taken(tx).await?;
    let patients = crate::patients::db::count(tx).await?;
    let now = chrono::Utc::now();
    let (tenant, conn) = tx.scoped();
    let doctors = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT count(*) FROM staff_members WHERE tenant_id = $1 AND role = 'doctor' AND status = 'active') \
             + (SELECT count(*) FROM invitations WHERE tenant_id = $1 AND kind = 'staff' AND role = 'doctor' \
                AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2)",
        )
        .bind(tenant)
        .bind(now)
        .fetch_one(c)
        .await?
    });
    Ok(Counts {
        seats,
        doctors,
        patients,
    })
}

/// Whether the clinic's administrators hid the set-up checklist.
pub async fn checklist_dismissed(tx: &mut PlatformTx, tenant: TenantId) -> Result<bool, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_scalar::<_, bool>(
            "SELECT checklist_dismissed_at IS NOT NULL FROM tenants WHERE id = $1",
        )
        .bind(tenant.into_uuid())
        .fetch_optional(c)
        .await?
        .unwrap_or(false)
    }))
}

/// Hides the set-up checklist (for every administrator of the clinic).
pub async fn dismiss_checklist(tx: &mut PlatformTx, tenant: TenantId) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET checklist_dismissed_at = $2 WHERE id = $1")
            .bind(tenant.into_uuid())
            .bind(chrono::Utc::now())
            .execute(c)
            .await?;
    });
    Ok(())
}

/// The dashboard's counts, for the clinic of `tx`.
pub async fn dashboard_counts(tx: &mut TenantTx) -> Result<(i64, i64, i64, i64), DbError> {
    let patients = crate::patients::db::count(tx).await?;
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let (tenant, conn) = tx.scoped();
    let (staff, pending, audit) = on_conn!(conn, |c| {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT (SELECT count(*) FROM staff_members WHERE tenant_id = $1 AND status = 'active'), \
                    (SELECT count(*) FROM invitations WHERE tenant_id = $1 AND kind = 'staff' \
                       AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2), \
                    (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND occurred_at > $3)",
        )
        .bind(tenant)
        .bind(chrono::Utc::now())
        .bind(since)
        .fetch_one(c)
        .await?
    });
    Ok((patients, staff, pending, audit))
}

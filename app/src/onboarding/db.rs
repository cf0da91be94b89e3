//! Counts behind the onboarding checklist.

use crate::db::{on_conn, DbError, TenantTx};

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

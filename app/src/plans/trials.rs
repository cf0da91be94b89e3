//! The trial clock: owners hear three days before their trial ends, and a trial
//! that ends without a paid plan suspends the clinic (its data untouched).
//!
//! Payments arrive later: [`paid_through`] is the seam. A tenant whose plan is paid
//! for past the trial's end becomes active instead of suspended.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::db::{on_conn, Db, DbError, PlatformTx};
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::Email;
use crate::tenancy::{db as tenants, TenantId, TenantStatus};

/// How long before the end the reminder goes out.
pub const REMINDER_BEFORE: Duration = Duration::days(3);
/// How long a self-service trial lasts.
pub const TRIAL_LENGTH: Duration = Duration::days(14);

/// What one run of the sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub reminded: usize,
    pub suspended: usize,
    pub activated: usize,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    trial_ends_at: DateTime<Utc>,
    paid_until: Option<DateTime<Utc>>,
}

async fn due(tx: &mut PlatformTx, sql: &str, at: DateTime<Utc>) -> Result<Vec<Due>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Due>(sql).bind(at).fetch_all(c).await?
    }))
}

/// The payments seam: until when the tenant's plan is paid for.
pub fn paid_through(paid_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    paid_until.is_some_and(|until| until > now)
}

/// Runs both steps once, as of `now`. Each tenant is handled in its own
/// transactions, so one bad row does not stop the others.
pub async fn sweep(db: &Db, origin: &str, now: DateTime<Utc>) -> Result<Sweep, DbError> {
    let mut done = Sweep::default();
    let mut tx = db.begin_platform_read().await?;
    let ending = due(
        &mut tx,
        "SELECT id, trial_ends_at, paid_until FROM tenants WHERE status = 'trial' \
         AND trial_ends_at IS NOT NULL AND trial_ends_at <= $1 AND trial_reminder_sent_at IS NULL",
        now + REMINDER_BEFORE,
    )
    .await?;
    let ended = due(
        &mut tx,
        "SELECT id, trial_ends_at, paid_until FROM tenants WHERE status = 'trial' \
         AND trial_ends_at IS NOT NULL AND trial_ends_at <= $1",
        now,
    )
    .await?;
    drop(tx);

    // One clinic's failure is logged and the others still get their turn.
    for tenant in ending.iter().filter(|t| t.trial_ends_at > now) {
        if !paid_through(tenant.paid_until, tenant.trial_ends_at) {
            let id = TenantId::from_uuid(tenant.id);
            match remind(db, id, tenant.trial_ends_at, origin).await {
                Ok(()) => done.reminded += 1,
                Err(e) => tracing::warn!(error = %e, tenant = %id, "trial reminder failed"),
            }
        }
    }
    for tenant in ended {
        let id = TenantId::from_uuid(tenant.id);
        match end_trial(db, id, paid_through(tenant.paid_until, now)).await {
            Ok(Some(TenantStatus::Active)) => done.activated += 1,
            Ok(Some(_)) => done.suspended += 1,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, tenant = %id, "ending a trial failed"),
        }
    }
    Ok(done)
}

/// Activates a paid trial or suspends an unpaid one; `None` when the tenant had
/// already left its trial.
async fn end_trial(db: &Db, id: TenantId, paid: bool) -> Result<Option<TenantStatus>, DbError> {
    let (status, reason) = if paid {
        (TenantStatus::Active, None)
    } else {
        (TenantStatus::Suspended, Some("trial ended"))
    };
    let mut tx = db.begin_platform().await?;
    if !tenants::end_trial(&mut tx, id, status, reason).await? {
        return Ok(None);
    }
    audit::record_platform(
        &mut tx,
        Actor::NOBODY,
        "tenant.trial_ended",
        Some(&format!("{id} → {status}")),
        &RequestMeta::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(status))
}

async fn remind(db: &Db, id: TenantId, ends: DateTime<Utc>, origin: &str) -> Result<(), DbError> {
    let mut read = db.begin_platform_read().await?;
    let Some(tenant) = tenants::find_by_id(&mut read, id).await? else {
        return Ok(());
    };
    drop(read);
    // One transaction: the reminder is queued and marked sent together.
    let mut tx = db.begin_for(id).await?;
    let owners = crate::identity::db::owner_emails(&mut tx).await?;
    let public = tenant.public();
    let link = format!("{origin}/t/{}/staff/plan", tenant.slug);
    let when = tenant.settings.format_date(ends);
    for owner in owners {
        let Ok(to) = Email::parse(&owner) else {
            continue;
        };
        let message = crate::mail::branded(
            Some(&public),
            &to,
            "Your trial ends soon",
            &[
                &format!("The MediSync trial of {} ends on {when}.", tenant.name),
                "Choose a plan before then to keep working without interruption. Your data stays as it is either way.",
            ],
            ("Choose a plan", &link),
        );
        crate::mail::enqueue(tx.platform(), &message).await?;
    }
    tenants::mark_trial_reminded(tx.platform(), id).await?;
    tx.commit().await
}

//! Platform queries over the `tenants` table.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Branding, NewTenant, Slug, Tenant, TenantId, TenantSettings, TenantStatus};
use crate::db::{on_conn, one_row, DbError, PlatformTx};
use crate::plans::{Feature, PlanId};

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    slug: String,
    name: String,
    kind: String,
    status: String,
    status_reason: Option<String>,
    custom_domain: Option<String>,
    branding: Json<Branding>,
    timezone: String,
    currency: String,
    language: String,
    date_format: String,
    working_days: String,
    retention_years: i64,
    mrn_prefix: Option<String>,
    plan_id: String,
    features: String,
    trial_ends_at: Option<DateTime<Utc>>,
    payment_failed_at: Option<DateTime<Utc>>,
    read_only_from: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    require_staff_2fa: bool,
    staff_idle_minutes: Option<i64>,
    doctors_see_own_patients: bool,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = DbError;
    fn try_from(r: TenantRow) -> Result<Self, DbError> {
        let features: Vec<String> =
            serde_json::from_str(&r.features).map_err(|e| DbError::Corrupt(e.to_string()))?;
        Ok(Tenant {
            id: TenantId::from_uuid(r.id),
            slug: Slug::parse(&r.slug).map_err(|e| DbError::Corrupt(e.to_string()))?,
            name: r.name,
            kind: r.kind.parse().map_err(DbError::Corrupt)?,
            status: r.status.parse().map_err(DbError::Corrupt)?,
            status_reason: r.status_reason,
            custom_domain: r.custom_domain,
            branding: r.branding.0,
            settings: TenantSettings {
                timezone: r.timezone,
                currency: r.currency,
                language: r.language,
                date_format: r.date_format,
                working_days: r.working_days,
                retention_years: u16::try_from(r.retention_years)
                    .map_err(|e| DbError::Corrupt(e.to_string()))?,
                mrn_prefix: r.mrn_prefix,
            },
            plan: PlanId::parse(&r.plan_id).map_err(DbError::Corrupt)?,
            features: features
                .iter()
                .filter_map(|f| f.parse::<Feature>().ok())
                .collect(),
            trial_ends_at: r.trial_ends_at,
            payment_failed_at: r.payment_failed_at,
            read_only_from: r.read_only_from,
            created_at: r.created_at,
            updated_at: r.updated_at,
            security: super::SecurityPolicy {
                require_staff_2fa: r.require_staff_2fa,
                staff_idle_minutes: r.staff_idle_minutes,
                doctors_see_own_patients: r.doctors_see_own_patients,
            },
        })
    }
}

const SELECT: &str =
    "SELECT t.id, t.slug, t.name, t.kind, t.status, t.status_reason, t.custom_domain, \
     t.branding, t.timezone, t.currency, t.language, t.date_format, t.working_days, \
     CAST(t.retention_years AS BIGINT) AS retention_years, t.mrn_prefix, t.plan_id, \
     p.features, t.trial_ends_at, t.payment_failed_at, t.read_only_from, t.created_at, t.updated_at, t.require_staff_2fa, \
     CAST(t.staff_idle_minutes AS BIGINT) AS staff_idle_minutes, t.doctors_see_own_patients \
     FROM tenants t JOIN plans p ON p.id = t.plan_id";

async fn find_where(
    tx: &mut PlatformTx,
    condition: &'static str,
    value: &str,
) -> Result<Option<Tenant>, DbError> {
    let sql = format!("{SELECT} WHERE {condition} = $1");
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
    find_where(tx, "t.slug", slug.as_str()).await
}

/// Looks a tenant up by its custom domain (lowercase host, no port), once the
/// domain is verified.
#[tracing::instrument(skip_all)]
pub async fn find_by_domain(tx: &mut PlatformTx, host: &str) -> Result<Option<Tenant>, DbError> {
    let sql =
        format!("{SELECT} WHERE t.custom_domain = $1 AND t.custom_domain_verified_at IS NOT NULL");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, TenantRow>(&sql)
            .bind(host)
            .fetch_optional(c)
            .await?
    });
    row.map(Tenant::try_from).transpose()
}

#[tracing::instrument(skip_all)]
pub async fn find_by_id(tx: &mut PlatformTx, id: TenantId) -> Result<Option<Tenant>, DbError> {
    let sql = format!("{SELECT} WHERE t.id = $1");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, TenantRow>(&sql)
            .bind(id.into_uuid())
            .fetch_optional(c)
            .await?
    });
    row.map(Tenant::try_from).transpose()
}

/// Whether an address is free (no tenant holds it).
#[tracing::instrument(skip_all)]
pub async fn slug_taken(tx: &mut PlatformTx, slug: &Slug) -> Result<bool, DbError> {
    let n = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_one(c)
            .await?
    });
    Ok(n > 0)
}

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut PlatformTx, new: &NewTenant) -> Result<Tenant, DbError> {
    create_with_id(tx, TenantId::new(), new).await
}

/// Creates a tenant under an id chosen in advance (sign-up opens the tenant's own
/// transaction first, so the clinic and its first rows commit together).
#[tracing::instrument(skip_all)]
pub async fn create_with_id(
    tx: &mut PlatformTx,
    id: TenantId,
    new: &NewTenant,
) -> Result<Tenant, DbError> {
    tx.mark_platform_changed();
    new.validate().map_err(DbError::Invalid)?;
    let now = Utc::now();
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, kind, status, custom_domain, branding, timezone, \
             currency, language, date_format, working_days, plan_id, trial_ends_at, created_at, updated_at, \
             retention_years, mrn_prefix) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)",
        )
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
        .bind(&new.settings.working_days)
        .bind(new.plan.as_str())
        .bind(new.trial_ends_at)
        .bind(now)
        .bind(i32::from(new.settings.retention_years))
        .bind(&new.settings.mrn_prefix)
        .execute(c)
        .await
        .map_err(DbError::conflict_on("address"))?;
    });
    find_by_id(tx, id).await?.ok_or(DbError::NotFound)
}

/// Saves a tenant's branding (validated first).
#[tracing::instrument(skip_all)]
pub async fn set_branding(
    tx: &mut PlatformTx,
    id: TenantId,
    branding: &Branding,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    branding.validate().map_err(DbError::Invalid)?;
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET branding = $2, updated_at = $3 WHERE id = $1")
            .bind(id.into_uuid())
            .bind(Json(branding))
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Saves a tenant's name and regional settings (validated first).
#[tracing::instrument(skip_all)]
pub async fn set_settings(
    tx: &mut PlatformTx,
    id: TenantId,
    name: &str,
    settings: &TenantSettings,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    settings.validate().map_err(DbError::Invalid)?;
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET name = $2, timezone = $3, currency = $4, language = $5, \
             date_format = $6, working_days = $7, updated_at = $8, retention_years = $9, \
             mrn_prefix = $10 WHERE id = $1",
        )
        .bind(id.into_uuid())
        .bind(name.trim())
        .bind(&settings.timezone)
        .bind(&settings.currency)
        .bind(&settings.language)
        .bind(&settings.date_format)
        .bind(&settings.working_days)
        .bind(Utc::now())
        .bind(i32::from(settings.retention_years))
        .bind(&settings.mrn_prefix)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

#[tracing::instrument(skip_all)]
pub async fn mark_trial_reminded(tx: &mut PlatformTx, id: TenantId) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET trial_reminder_sent_at = $2 WHERE id = $1")
            .bind(id.into_uuid())
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Moves a trial's end (used by tests and by operators extending a trial).
#[tracing::instrument(skip_all)]
pub async fn set_trial_end(
    tx: &mut PlatformTx,
    id: TenantId,
    ends: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET trial_ends_at = $2, trial_reminder_sent_at = NULL WHERE id = $1",
        )
        .bind(id.into_uuid())
        .bind(ends)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

/// The payments seam: records until when the tenant's plan is paid for. Billing
/// calls this when a payment succeeds; the trial job then activates instead of
/// suspending.
#[tracing::instrument(skip_all)]
pub async fn set_paid_until(
    tx: &mut PlatformTx,
    id: TenantId,
    until: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE tenants SET paid_until = $2, updated_at = $3 WHERE id = $1")
            .bind(id.into_uuid())
            .bind(until)
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Filters of the console's tenant list.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Part of the name or address.
    pub search: Option<String>,
    pub status: Option<TenantStatus>,
    pub plan: Option<PlanId>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// Tenants matching a filter, newest first (at most `limit`).
#[tracing::instrument(skip_all)]
pub async fn list(
    tx: &mut PlatformTx,
    filter: &TenantFilter,
    limit: i64,
) -> Result<Vec<Tenant>, DbError> {
    let sql = format!(
        "{SELECT} WHERE ($1 IS NULL OR lower(t.name) LIKE $1 OR t.slug LIKE $1) \
         AND ($2 IS NULL OR t.status = $2) AND ($3 IS NULL OR t.plan_id = $3) \
         AND ($4 IS NULL OR t.created_at >= $4) AND ($5 IS NULL OR t.created_at < $5) \
         ORDER BY t.created_at DESC LIMIT $6"
    );
    let pattern = filter.search.as_ref().map(|s| {
        let escaped: String = s
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| !"%_\\".contains(*c))
            .collect();
        format!("%{escaped}%")
    });
    let rows = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, TenantRow>(&sql)
            .bind(pattern.as_deref())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.plan.as_ref().map(|p| p.as_str()))
            .bind(filter.created_from)
            .bind(filter.created_to)
            .bind(limit)
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(Tenant::try_from).collect()
}

/// Tenant counts by status, and the monthly revenue of active tenants' plans
/// (in minor units, per currency).
#[tracing::instrument(skip_all)]
pub async fn status_counts(tx: &mut PlatformTx) -> Result<Vec<(String, i64)>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT status, count(*) FROM tenants GROUP BY status ORDER BY status",
        )
        .fetch_all(c)
        .await?
    }))
}

#[tracing::instrument(skip_all)]
pub async fn monthly_revenue(tx: &mut PlatformTx) -> Result<Vec<(String, i64)>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT p.currency, CAST(SUM(p.price_cents) AS BIGINT) FROM tenants t \
             JOIN plans p ON p.id = t.plan_id WHERE t.status = 'active' GROUP BY p.currency ORDER BY p.currency",
        )
        .fetch_all(c)
        .await?
    }))
}

/// Creation times since `from`, for the sign-ups chart (bucketed by the caller,
/// the same way on both databases).
#[tracing::instrument(skip_all)]
pub async fn created_since(
    tx: &mut PlatformTx,
    from: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_scalar::<_, DateTime<Utc>>(
            "SELECT created_at FROM tenants WHERE created_at >= $1",
        )
        .bind(from)
        .fetch_all(c)
        .await?
    }))
}

#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut PlatformTx,
    id: TenantId,
    status: TenantStatus,
    reason: Option<&str>,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET status = $1, status_reason = $4, updated_at = $2 WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(Utc::now())
        .bind(id.into_uuid())
        .bind(reason)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

/// Ends a trial: moves a tenant still in trial to `status`. `false` when it was no
/// longer in trial (an operator acted first), so nothing is overwritten.
#[tracing::instrument(skip_all)]
pub async fn end_trial(
    tx: &mut PlatformTx,
    id: TenantId,
    status: TenantStatus,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET status = $2, status_reason = $3, updated_at = $4 \
             WHERE id = $1 AND status = 'trial'",
        )
        .bind(id.into_uuid())
        .bind(status.as_str())
        .bind(reason)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// How long a clinic has to prove a domain it entered; after that the claim
/// lapses and must be entered again (with a new token).
pub const DOMAIN_CLAIM_DAYS: i64 = 7;

/// Records a clinic's claim on a custom domain (unverified, with the token its TXT
/// record must show), or clears the clinic's domain. Any number of clinics may
/// claim a domain; it is refused only when another clinic has *proven* it.
/// Stored lower-case, as request hosts are compared lower-case.
#[tracing::instrument(skip_all)]
pub async fn set_custom_domain(
    tx: &mut PlatformTx,
    id: TenantId,
    domain: Option<&str>,
    token: Option<&str>,
) -> Result<(), DbError> {
    let domain = domain.map(str::to_ascii_lowercase);
    if let Some(domain) = &domain {
        let taken = on_conn!(tx.conn(), |c| {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM tenants WHERE custom_domain = $1 AND id <> $2",
            )
            .bind(domain)
            .bind(id.into_uuid())
            .fetch_one(c)
            .await?
        });
        if taken > 0 {
            return Err(DbError::Conflict("domain"));
        }
    }
    tx.mark_platform_changed();
    let now = Utc::now();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET custom_domain = NULL, custom_domain_verified_at = NULL, \
             custom_domain_claim = $1, custom_domain_claimed_at = $5, custom_domain_token = $4, \
             updated_at = $2 WHERE id = $3",
        )
        .bind(&domain)
        .bind(now)
        .bind(id.into_uuid())
        .bind(token)
        .bind(domain.as_ref().map(|_| now))
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

/// A tenant's custom domain as its settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainState {
    /// The domain entered (proven or not).
    pub domain: Option<String>,
    pub token: Option<String>,
    pub verified: bool,
    /// Entered more than [`DOMAIN_CLAIM_DAYS`] ago and never proven.
    pub expired: bool,
}

#[tracing::instrument(skip_all)]
pub async fn domain_state(tx: &mut PlatformTx, id: TenantId) -> Result<DomainState, DbError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        custom_domain: Option<String>,
        custom_domain_claim: Option<String>,
        custom_domain_claimed_at: Option<DateTime<Utc>>,
        custom_domain_token: Option<String>,
    }
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Row>(
            "SELECT custom_domain, custom_domain_claim, custom_domain_claimed_at, \
             custom_domain_token FROM tenants WHERE id = $1",
        )
        .bind(id.into_uuid())
        .fetch_optional(c)
        .await?
    });
    let row = row.ok_or(DbError::NotFound)?;
    let verified = row.custom_domain.is_some();
    let expired = !verified
        && row
            .custom_domain_claimed_at
            .is_some_and(|at| Utc::now() - at > chrono::Duration::days(DOMAIN_CLAIM_DAYS));
    Ok(DomainState {
        domain: row.custom_domain.or(row.custom_domain_claim),
        token: row.custom_domain_token,
        verified,
        expired,
    })
}

/// Makes the tenant's claim on `domain` its proven domain. The first clinic to
/// prove a domain holds it: a later one gets [`DbError::Conflict`] (the database's
/// unique index on proven domains decides, so two proofs at once cannot both win).
#[tracing::instrument(skip_all)]
pub async fn mark_domain_verified(
    tx: &mut PlatformTx,
    id: TenantId,
    domain: &str,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET custom_domain = custom_domain_claim, \
             custom_domain_verified_at = $3 WHERE id = $1 AND custom_domain_claim = $2",
        )
        .bind(id.into_uuid())
        .bind(domain)
        .bind(Utc::now())
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
    let row: Option<(bool, Option<i64>, bool)> = on_conn!(tx.conn(), |c| {
        sqlx::query_as(
            "SELECT require_staff_2fa, CAST(staff_idle_minutes AS BIGINT), doctors_see_own_patients \
             FROM tenants WHERE id = $1",
        )
        .bind(id.into_uuid())
        .fetch_optional(c)
        .await?
    });
    let (require_staff_2fa, staff_idle_minutes, doctors_see_own_patients) =
        row.ok_or(DbError::NotFound)?;
    Ok(SecurityPolicy {
        require_staff_2fa,
        staff_idle_minutes,
        doctors_see_own_patients,
    })
}

#[tracing::instrument(skip_all)]
pub async fn set_security_policy(
    tx: &mut PlatformTx,
    id: TenantId,
    policy: SecurityPolicy,
) -> Result<(), DbError> {
    tx.mark_platform_changed();
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
            "UPDATE tenants SET require_staff_2fa = $2, staff_idle_minutes = $3, updated_at = $4, \
             doctors_see_own_patients = $5 WHERE id = $1",
        )
        .bind(id.into_uuid())
        .bind(policy.require_staff_2fa)
        .bind(policy.staff_idle_minutes)
        .bind(Utc::now())
        .bind(policy.doctors_see_own_patients)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

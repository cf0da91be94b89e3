//! The audit trail: who did what, to what, from where, when. Tenant events live in
//! the tenant's own (row-level secured) table; platform events in a platform table.
//! The application can only append to and read the tenant trail.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AuditEntry;
use crate::db::{on_conn, DbError, PlatformTx, TenantTx};

/// Where a request came from, as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// `scheme://host[:port]` the request was addressed to, for links in emails.
    pub origin: String,
    /// `scheme://base_domain[:port]`, for links to other tenants' subdomains.
    pub platform_origin: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// `http` or `https`, as the platform is served.
    pub fn scheme(&self) -> &str {
        self.platform_origin
            .split_once("://")
            .map_or("https", |(scheme, _)| scheme)
    }

    /// `base_domain[:port]`: the platform's host as people type it.
    pub fn platform_host(&self) -> &str {
        self.platform_origin
            .split_once("://")
            .map_or(self.platform_origin.as_str(), |(_, host)| host)
    }

    /// `acme.base_domain[:port]`: a clinic's own subdomain.
    pub fn clinic_host(&self, slug: &str) -> String {
        format!("{slug}.{}", self.platform_host())
    }
}

/// The person acting, when known.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: Option<Uuid>,
    pub email: Option<&'a str>,
}

impl<'a> Actor<'a> {
    pub const NOBODY: Actor<'static> = Actor {
        id: None,
        email: None,
    };

    pub fn account(id: Uuid, email: &'a str) -> Self {
        Self {
            id: Some(id),
            email: Some(email),
        }
    }
}

fn clip(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| s.chars().take(max).collect())
}

/// Appends an event to the tenant's trail.
pub async fn record(
    tx: &mut TenantTx,
    actor: Actor<'_>,
    action: &str,
    target: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), DbError> {
    append(
        tx,
        &Event {
            actor,
            role: None,
            patient: None,
            action,
            target,
        },
        meta,
    )
    .await
}

/// Appends an event about one patient's record (a read, a print, an export, a
/// change): the patient's own access log is made of these.
pub async fn record_for_patient(
    tx: &mut TenantTx,
    actor: Actor<'_>,
    role: Option<&str>,
    patient: Uuid,
    action: &str,
    target: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), DbError> {
    let event = Event {
        actor,
        role,
        patient: Some(patient),
        action,
        target,
    };
    append(tx, &event, meta).await
}

/// Appends an event about one patient's record done by a signed-in staff
/// member (their role is recorded with it).
pub async fn record_by_staff(
    tx: &mut TenantTx,
    viewer: &crate::identity::Viewer,
    patient: Uuid,
    action: &str,
    target: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), DbError> {
    let role = match viewer.standing {
        crate::identity::Standing::Staff { role, .. } => Some(role.as_str()),
        _ => None,
    };
    let actor = Actor::account(viewer.account_id, viewer.email.as_str());
    record_for_patient(tx, actor, role, patient, action, target, meta).await
}

/// What happened, before it is sealed into the chain.
struct Event<'a> {
    actor: Actor<'a>,
    role: Option<&'a str>,
    patient: Option<Uuid>,
    action: &'a str,
    target: Option<&'a str>,
}

/// Each tenant's events form [`STRIPES`] hash chains. An event joins the chain of
/// its stripe: it takes the stripe's next sequence number and the hash of the
/// event before it, and stores its own hash over both and its content. Changing
/// or deleting a row breaks the chain (`medisync audit verify`). Two requests
/// writing events at once wait for each other only when they land on the same
/// stripe (the head row's lock, held to the end of the transaction).
pub const STRIPES: u32 = 8;

async fn append(tx: &mut TenantTx, e: &Event<'_>, meta: &RequestMeta) -> Result<(), DbError> {
    let id = Uuid::now_v7();
    let stripe = i32::from(id.as_bytes()[15]) % STRIPES as i32;
    // Microseconds: what both databases keep, so the hash survives the round trip.
    let now = Utc::now();
    let occurred_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let (tenant, conn) = tx.scoped();
    let (seq, prev_hash): (i64, String) = on_conn!(conn, |c| {
        sqlx::query_as(
            "INSERT INTO audit_chain_heads (tenant_id, stripe, seq, hash) VALUES ($1, $2, 1, '') \
             ON CONFLICT (tenant_id, stripe) DO UPDATE SET seq = audit_chain_heads.seq + 1 \
             RETURNING seq, hash",
        )
        .bind(tenant)
        .bind(stripe)
        .fetch_one(c)
        .await?
    });
    let stored = StoredEvent {
        tenant_id: tenant,
        id,
        occurred_at,
        actor_id: e.actor.id,
        actor_email: clip(e.actor.email, 254),
        actor_role: clip(e.role, 40),
        patient_id: e.patient,
        action: clip(Some(e.action), 100).unwrap_or_default(),
        target: clip(e.target, 200),
        ip: clip(meta.ip.as_deref(), 64),
        user_agent: clip(meta.user_agent.as_deref(), 300),
        stripe,
        seq,
        prev_hash,
        hash: String::new(),
    };
    let hash = stored.content_hash();
    on_conn!(conn, |c| {
        sqlx::query("UPDATE audit_chain_heads SET hash = $3 WHERE tenant_id = $1 AND stripe = $2")
            .bind(tenant)
            .bind(stripe)
            .bind(&hash)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, actor_email, actor_role, \
             patient_id, action, target, ip, user_agent, stripe, seq, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(tenant)
        .bind(id)
        .bind(stored.occurred_at)
        .bind(stored.actor_id)
        .bind(&stored.actor_email)
        .bind(&stored.actor_role)
        .bind(stored.patient_id)
        .bind(&stored.action)
        .bind(&stored.target)
        .bind(&stored.ip)
        .bind(&stored.user_agent)
        .bind(stripe)
        .bind(seq)
        .bind(&stored.prev_hash)
        .bind(&hash)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// An audit row as stored, with what its hash covers.
#[derive(sqlx::FromRow)]
struct StoredEvent {
    tenant_id: Uuid,
    id: Uuid,
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_email: Option<String>,
    actor_role: Option<String>,
    patient_id: Option<Uuid>,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    stripe: i32,
    seq: i64,
    prev_hash: String,
    hash: String,
}

impl StoredEvent {
    /// SHA-256 (hex) over every field but the hash itself, each length-prefixed so
    /// no two different rows hash the same text.
    fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "\u{0}".into());
        let fields = [
            self.tenant_id.to_string(),
            self.id.to_string(),
            self.occurred_at.timestamp_micros().to_string(),
            self.actor_id
                .map_or_else(|| "\u{0}".into(), |a| a.to_string()),
            opt(&self.actor_email),
            opt(&self.actor_role),
            self.patient_id
                .map_or_else(|| "\u{0}".into(), |p| p.to_string()),
            self.action.clone(),
            opt(&self.target),
            opt(&self.ip),
            opt(&self.user_agent),
            self.stripe.to_string(),
            self.seq.to_string(),
            self.prev_hash.clone(),
        ];
        let mut hasher = Sha256::new();
        for f in &fields {
            hasher.update(f.len().to_string().as_bytes());
            hasher.update(b":");
            hasher.update(f.as_bytes());
        }
        data_encoding::HEXLOWER.encode(&hasher.finalize())
    }
}

/// What checking a tenant's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Events checked (in the chain).
    pub events: u64,
    /// Events written before the chain existed (not covered).
    pub before_chain: u64,
    /// The first break: the event (or the missing position) and what is wrong.
    pub broken: Option<String>,
}

/// Recomputes every stripe of the tenant's chain, in batches.
pub async fn verify_chain(tx: &mut TenantTx) -> Result<ChainReport, DbError> {
    let mut report = ChainReport {
        events: 0,
        before_chain: 0,
        broken: None,
    };
    let (tenant, conn) = tx.scoped();
    report.before_chain = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND seq IS NULL",
        )
        .bind(tenant)
        .fetch_one(c)
        .await?
    })
    .try_into()
    .unwrap_or(0);
    let heads: Vec<(i32, i64, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT stripe, seq, hash FROM audit_chain_heads WHERE tenant_id = $1 ORDER BY stripe",
        )
        .bind(tenant)
        .fetch_all(c)
        .await?
    });
    let chained_stripes: Vec<i32> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT DISTINCT stripe FROM audit_events WHERE tenant_id = $1 AND stripe IS NOT NULL",
        )
        .bind(tenant)
        .fetch_all(c)
        .await?
    });
    if let Some(orphan) = chained_stripes
        .iter()
        .find(|s| !heads.iter().any(|h| h.0 == **s))
    {
        report.broken = Some(format!("stripe {orphan} has events but no head"));
        return Ok(report);
    }
    for (stripe, head_seq, head_hash) in heads {
        let mut expected_seq = 1_i64;
        let mut prev = String::new();
        loop {
            let batch: Vec<StoredEvent> = on_conn!(conn, |c| {
                sqlx::query_as(
                    "SELECT tenant_id, id, occurred_at, actor_id, actor_email, actor_role, patient_id, \
                     action, target, ip, user_agent, stripe, seq, prev_hash, hash FROM audit_events \
                     WHERE tenant_id = $1 AND stripe = $2 AND seq >= $3 ORDER BY seq LIMIT 5000",
                )
                .bind(tenant)
                .bind(stripe)
                .bind(expected_seq)
                .fetch_all(c)
                .await?
            });
            let done = batch.len() < 5000;
            for event in batch {
                let problem = if event.seq != expected_seq {
                    Some(format!(
                        "event {} of stripe {stripe} is missing (deleted)",
                        expected_seq
                    ))
                } else if event.prev_hash != prev {
                    Some(format!(
                        "event {} does not follow the event before it",
                        event.id
                    ))
                } else if event.content_hash() != event.hash {
                    Some(format!(
                        "event {} was changed after it was written",
                        event.id
                    ))
                } else {
                    None
                };
                if problem.is_some() {
                    report.broken = problem;
                    return Ok(report);
                }
                report.events += 1;
                expected_seq += 1;
                prev = event.hash;
            }
            if done {
                break;
            }
        }
        if expected_seq - 1 != head_seq || prev != head_hash {
            report.broken = Some(format!(
                "stripe {stripe} ends at event {} but its head says {head_seq}: events were removed from its end",
                expected_seq - 1
            ));
            return Ok(report);
        }
    }
    Ok(report)
}

pub async fn record_platform(
    tx: &mut PlatformTx,
    actor: Actor<'_>,
    action: &str,
    target: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO platform_audit_events (id, occurred_at, actor_id, actor_email, action, target, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(Utc::now())
        .bind(actor.id)
        .bind(clip(actor.email, 254))
        .bind(action)
        .bind(clip(target, 200))
        .bind(clip(meta.ip.as_deref(), 64))
        .bind(clip(meta.user_agent.as_deref(), 300))
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    occurred_at: DateTime<Utc>,
    actor_email: Option<String>,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// Newest first. `action_prefix` and `actor` filter when given (case-insensitive
/// substring of the actor's email).
pub async fn list(
    tx: &mut TenantTx,
    action_prefix: Option<&str>,
    actor: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let (tenant, conn) = tx.scoped();
    let action_like = action_prefix.map(|a| format!("{}%", escape_like(a)));
    let actor_like = actor.map(|a| format!("%{}%", escape_like(&a.to_lowercase())));
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, Row>(
            "SELECT occurred_at, actor_email, action, target, ip, user_agent FROM audit_events \
             WHERE tenant_id = $1 \
               AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') \
               AND ($3 IS NULL OR lower(actor_email) LIKE $3 ESCAPE '\\') \
             ORDER BY occurred_at DESC, id DESC LIMIT $4",
        )
        .bind(tenant)
        .bind(action_like.as_deref())
        .bind(actor_like.as_deref())
        .bind(limit)
        .fetch_all(c)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            when: String::new(),
            occurred_at: r.occurred_at,
            actor: r.actor_email,
            description: super::describe_action(&r.action).to_owned(),
            action: r.action,
            target: r.target,
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect())
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Checks the chain of one clinic (by slug) or of every clinic, as
/// `medisync audit verify` does: `(slug, report)` per clinic.
pub async fn verify_tenants(
    db: &crate::db::Db,
    slug: Option<&str>,
) -> Result<Vec<(String, ChainReport)>, DbError> {
    use crate::tenancy::db::{self as tenants, TenantFilter};
    use crate::tenancy::Slug;
    let mut platform = db.begin_platform().await?;
    let list = match slug {
        Some(s) => {
            let slug = Slug::parse(s).map_err(|e| DbError::Invalid(e.to_string()))?;
            let found = tenants::find_by_slug(&mut platform, &slug).await?;
            vec![found.ok_or_else(|| DbError::Invalid(format!("no clinic has the address {s}")))?]
        }
        None => tenants::list(&mut platform, &TenantFilter::default(), i64::MAX).await?,
    };
    platform.commit().await?;
    let mut out = Vec::with_capacity(list.len());
    for tenant in list {
        let mut tx = db.begin_for_read(tenant.id).await?;
        let report = verify_chain(&mut tx).await?;
        tx.commit().await?;
        out.push((tenant.slug.to_string(), report));
    }
    Ok(out)
}

/// One staff member's look at (or change to) a patient's record.
#[derive(sqlx::FromRow)]
pub struct AccessRow {
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub role: String,
    pub staff_name: Option<String>,
}

/// What the clinic's staff did with a patient's record since `since`, newest
/// first: the patient's own access log.
pub async fn staff_access_to(
    tx: &mut TenantTx,
    patient: Uuid,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AccessRow>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_as::<_, AccessRow>(
            "SELECT e.occurred_at, e.action, e.actor_role AS role, s.display_name AS staff_name \
             FROM audit_events e LEFT JOIN staff_members s \
               ON s.tenant_id = e.tenant_id AND s.account_id = e.actor_id \
             WHERE e.tenant_id = $1 AND e.patient_id = $2 AND e.actor_role IS NOT NULL \
               AND e.occurred_at >= $3 \
             ORDER BY e.occurred_at DESC, e.id DESC LIMIT $4",
        )
        .bind(tenant)
        .bind(patient)
        .bind(since)
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

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

pub async fn record(
    tx: &mut TenantTx,
    actor: Actor<'_>,
    action: &str,
    target: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, actor_email, action, target, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
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

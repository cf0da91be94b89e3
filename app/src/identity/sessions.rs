//! Server-side sessions: a tower-sessions store over the `sessions` table (SQLite and
//! PostgreSQL alike), and what a signed-in session records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use uuid::Uuid;

use super::Audience;
use crate::db::{on_conn, Db, DbError};
use crate::tenancy::TenantId;

/// Session key of [`SignedIn`].
pub const SIGNED_IN: &str = "signed_in";
/// Session key of [`AwaitingSecondFactor`].
pub const AWAITING_SECOND_FACTOR: &str = "awaiting_2fa";
/// Session key of [`AwaitingDoor`].
pub const AWAITING_DOOR: &str = "awaiting_door";

/// A completed sign-in. It belongs to exactly one tenant (or to the platform) and is
/// refused anywhere else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub account_id: Uuid,
    pub audience: Audience,
    pub tenant: Option<TenantId>,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Last time the password was typed: sensitive changes need it recent.
    pub authenticated_at: DateTime<Utc>,
    /// A platform operator's time-bound support access to one tenant.
    #[serde(default)]
    pub support: Option<SupportGrant>,
}

/// What a support session lets an operator into, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportGrant {
    pub tenant: TenantId,
    pub impersonation_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// A password accepted, a TOTP or recovery code still to come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingSecondFactor {
    pub account_id: Uuid,
    pub audience: Audience,
    pub tenant: Option<TenantId>,
    pub started_at: DateTime<Utc>,
    pub next: String,
}

/// A password accepted by someone who is both on the clinic's team and one of its
/// patients: which of the two they sign in as is still to choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingDoor {
    pub account_id: Uuid,
    pub tenant: Option<TenantId>,
    pub started_at: DateTime<Utc>,
    /// Where to go afterwards when it suits the door chosen.
    pub next: Option<String>,
}

/// Why a stored session no longer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    Idle,
    TooOld,
}

impl SignedIn {
    /// Checks the idle and absolute limits at `now`.
    pub fn freshness(
        &self,
        now: DateTime<Utc>,
        idle: chrono::Duration,
        absolute: chrono::Duration,
    ) -> Result<(), Stale> {
        if now - self.signed_in_at > absolute {
            Err(Stale::TooOld)
        } else if now - self.last_seen > idle {
            Err(Stale::Idle)
        } else {
            Ok(())
        }
    }
}

/// tower-sessions store on the application database.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Deletes expired rows; run periodically.
    pub async fn delete_expired(&self) -> Result<u64, DbError> {
        let mut tx = self.db.begin_platform().await?;
        let n = on_conn!(tx.conn(), |c| {
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(Utc::now())
                .execute(c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }

    async fn upsert(&self, record: &Record, insert_only: bool) -> Result<bool, DbError> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| DbError::Invalid(format!("session encode: {e}")))?;
        let signed_in = record
            .data
            .get(SIGNED_IN)
            .and_then(|v| serde_json::from_value::<SignedIn>(v.clone()).ok());
        let account = signed_in.as_ref().map(|s| s.account_id);
        let tenant = signed_in
            .as_ref()
            .and_then(|s| s.tenant)
            .map(TenantId::into_uuid);
        let expires = DateTime::<Utc>::from_timestamp(record.expiry_date.unix_timestamp(), 0)
            .unwrap_or_else(Utc::now);
        let sql = if insert_only {
            "INSERT INTO sessions (id, account_id, data, expires_at, signed_in_tenant) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING"
        } else {
            "INSERT INTO sessions (id, account_id, data, expires_at, signed_in_tenant) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
             account_id = excluded.account_id, data = excluded.data, \
             expires_at = excluded.expires_at, signed_in_tenant = excluded.signed_in_tenant"
        };
        let mut tx = self.db.begin_platform().await?;
        let n = on_conn!(tx.conn(), |c| {
            sqlx::query(sql)
                .bind(record.id.to_string())
                .bind(account)
                .bind(&data)
                .bind(expires)
                .bind(tenant)
                .execute(c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }
}

fn backend(e: DbError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id per attempt; a collision (2^-128) just retries.
        while !self.upsert(record, true).await.map_err(backend)? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.upsert(record, false).await.map(drop).map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut tx = self.db.begin_platform_read().await.map_err(backend)?;
        let row: Option<(String, DateTime<Utc>)> = on_conn!(tx.conn(), |c| {
            sqlx::query_as(
                "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
            )
            .bind(id.to_string())
            .bind(Utc::now())
            .fetch_optional(c)
            .await
            .map_err(|e| backend(e.into()))?
        });
        drop(tx);
        let Some((data, expires)) = row else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut tx = self.db.begin_platform().await.map_err(backend)?;
        on_conn!(tx.conn(), |c| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id.to_string())
                .execute(c)
                .await
                .map_err(|e| backend(e.into()))?;
        });
        tx.commit().await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(signed_in_mins_ago: i64, seen_mins_ago: i64, now: DateTime<Utc>) -> SignedIn {
        SignedIn {
            account_id: Uuid::nil(),
            audience: Audience::Staff,
            tenant: None,
            signed_in_at: now - chrono::Duration::minutes(signed_in_mins_ago),
            last_seen: now - chrono::Duration::minutes(seen_mins_ago),
            authenticated_at: now,
            support: None,
        }
    }

    #[test]
    fn idle_and_absolute_limits_apply() {
        let now = Utc::now();
        let idle = chrono::Duration::minutes(15);
        let absolute = chrono::Duration::hours(12);
        assert_eq!(session(60, 1, now).freshness(now, idle, absolute), Ok(()));
        assert_eq!(
            session(60, 16, now).freshness(now, idle, absolute),
            Err(Stale::Idle)
        );
        assert_eq!(
            session(13 * 60, 1, now).freshness(now, idle, absolute),
            Err(Stale::TooOld)
        );
    }
}

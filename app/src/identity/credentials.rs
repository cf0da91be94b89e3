//! Platform queries behind sign-in: password hashes, lockout counters, two-factor
//! secrets, recovery codes and one-time link tokens. Nothing here leaves the server.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::permissions::PlatformRole;
use super::{Account, Email};
use crate::db::{on_conn, one_row, DbError, PlatformTx};

/// An account with what is needed to authenticate it.
#[derive(Clone)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: Option<String>,
    pub failed_signins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub platform_role: Option<PlatformRole>,
    pub email_verified: bool,
    /// The last TOTP time step used (codes work once).
    pub totp_last_step: Option<i64>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account.id)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    email: String,
    display_name: String,
    password_hash: Option<String>,
    failed_signins: i64,
    locked_until: Option<DateTime<Utc>>,
    totp_secret: Option<String>,
    totp_enabled_at: Option<DateTime<Utc>>,
    platform_role: Option<String>,
    email_verified_at: Option<DateTime<Utc>>,
    totp_last_step: Option<i64>,
}

impl TryFrom<Row> for Credentials {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        Ok(Credentials {
            account: Account {
                id: r.id,
                email: Email::parse(&r.email).map_err(DbError::Corrupt)?,
                display_name: r.display_name,
            },
            password_hash: r.password_hash,
            failed_signins: r.failed_signins,
            locked_until: r.locked_until,
            totp_enabled: r.totp_enabled_at.is_some() && r.totp_secret.is_some(),
            totp_secret: r
                .totp_secret
                .map(|stored| {
                    super::secrets::open(&stored, r.id.as_bytes()).ok_or_else(|| {
                        DbError::Corrupt(
                            "a two-factor secret does not open with session.secret_key".into(),
                        )
                    })
                })
                .transpose()?,
            platform_role: r
                .platform_role
                .map(|p| p.parse())
                .transpose()
                .map_err(DbError::Corrupt)?,
            email_verified: r.email_verified_at.is_some(),
            totp_last_step: r.totp_last_step,
        })
    }
}

const COLUMNS: &str =
    "id, email, display_name, password_hash, CAST(failed_signins AS BIGINT) AS failed_signins, \
     locked_until, totp_secret, totp_enabled_at, platform_role, email_verified_at, \
     CAST(totp_last_step AS BIGINT) AS totp_last_step";

/// What a request needs to know of the signed-in account: no password hash, no
/// two-factor secret.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub totp_enabled: bool,
    pub platform_role: Option<PlatformRole>,
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    id: Uuid,
    email: String,
    display_name: String,
    totp_enabled: bool,
    platform_role: Option<String>,
}

/// The account behind a session, as every request sees it.
pub async fn principal(tx: &mut PlatformTx, id: Uuid) -> Result<Option<Principal>, DbError> {
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, PrincipalRow>(
            "SELECT id, email, display_name, \
             (totp_enabled_at IS NOT NULL AND totp_secret IS NOT NULL) AS totp_enabled, \
             platform_role FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    row.map(|r| {
        Ok(Principal {
            account: Account {
                id: r.id,
                email: Email::parse(&r.email).map_err(DbError::Corrupt)?,
                display_name: r.display_name,
            },
            totp_enabled: r.totp_enabled,
            platform_role: r
                .platform_role
                .map(|p| p.parse())
                .transpose()
                .map_err(DbError::Corrupt)?,
        })
    })
    .transpose()
}

pub async fn by_email(tx: &mut PlatformTx, email: &Email) -> Result<Option<Credentials>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE email = $1");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Row>(&sql)
            .bind(email.as_str())
            .fetch_optional(c)
            .await?
    });
    row.map(Credentials::try_from).transpose()
}

pub async fn by_id(tx: &mut PlatformTx, id: Uuid) -> Result<Option<Credentials>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
    let row = on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Row>(&sql)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(Credentials::try_from).transpose()
}

/// Counts a failed attempt; the `threshold`-th in a row locks the account for
/// `lock_for`. Returns whether this attempt locked it.
pub async fn record_failure(
    tx: &mut PlatformTx,
    id: Uuid,
    threshold: i64,
    lock_for: Duration,
) -> Result<bool, DbError> {
    let now = Utc::now();
    let failures: i64 = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "UPDATE accounts SET failed_signins = failed_signins + 1 WHERE id = $1 \
             RETURNING CAST(failed_signins AS BIGINT)",
        )
        .bind(id)
        .fetch_one(c)
        .await?
    });
    if failures < threshold {
        return Ok(false);
    }
    on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE accounts SET failed_signins = 0, locked_until = $2 WHERE id = $1")
            .bind(id)
            .bind(now + lock_for)
            .execute(c)
            .await?;
    });
    Ok(true)
}

pub async fn clear_failures(tx: &mut PlatformTx, id: Uuid) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE accounts SET failed_signins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Stores a new password hash and lifts any lockout.
pub async fn set_password_hash(tx: &mut PlatformTx, id: Uuid, hash: &str) -> Result<(), DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET password_hash = $2, pending_password_hash = NULL, \
             password_changed_at = $3, failed_signins = 0, locked_until = NULL, updated_at = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(hash)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(done)
}

/// Keeps a password chosen at sign-up aside until the address is proven
/// ([`promote_pending_password`]); until then the account cannot sign in.
pub async fn set_pending_password_hash(
    tx: &mut PlatformTx,
    id: Uuid,
    hash: &str,
) -> Result<(), DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE accounts SET pending_password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// The address is proven: a password waiting from sign-up becomes the account's.
pub async fn promote_pending_password(tx: &mut PlatformTx, id: Uuid) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET password_hash = pending_password_hash, pending_password_hash = NULL, \
             password_changed_at = $2, updated_at = $2 \
             WHERE id = $1 AND pending_password_hash IS NOT NULL",
        )
        .bind(id)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn mark_email_verified(tx: &mut PlatformTx, id: Uuid) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn set_platform_role(
    tx: &mut PlatformTx,
    id: Uuid,
    role: Option<PlatformRole>,
) -> Result<(), DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE accounts SET platform_role = $2 WHERE id = $1")
            .bind(id)
            .bind(role.map(PlatformRole::as_str))
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(done)
}

/// Saves a secret that is not active until [`enable_totp`] confirms a first code.
/// Records that the code of time step `step` was used. `false` when that step (or
/// a later one) was already used: a code works once, even within its window.
#[tracing::instrument(skip_all)]
pub async fn claim_totp_step(tx: &mut PlatformTx, id: Uuid, step: i64) -> Result<bool, DbError> {
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(id)
        .bind(step)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

pub async fn stage_totp(tx: &mut PlatformTx, id: Uuid, secret: &str) -> Result<(), DbError> {
    // Encrypted at rest, bound to the account: a database copy alone cannot mint codes.
    let secret = super::secrets::seal(secret, id.as_bytes());
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET totp_secret = $2, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
        )
            .bind(id)
            .bind(&secret)
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Encrypts two-factor secrets stored before encryption at rest came in; run at
/// start-up. Answers how many it sealed.
pub async fn seal_stored_totp_secrets(tx: &mut PlatformTx) -> Result<u64, DbError> {
    let rows: Vec<(Uuid, String)> = on_conn!(tx.conn(), |c| {
        sqlx::query_as(
            "SELECT id, totp_secret FROM accounts \
             WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE 'v1:%'",
        )
        .fetch_all(c)
        .await?
    });
    let mut sealed = 0;
    for (id, plain) in rows {
        let secret = super::secrets::seal(&plain, id.as_bytes());
        sealed += on_conn!(tx.conn(), |c| {
            sqlx::query("UPDATE accounts SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3")
                .bind(id)
                .bind(&secret)
                .bind(&plain)
                .execute(c)
                .await?
                .rows_affected()
        });
    }
    Ok(sealed)
}

pub async fn enable_totp(tx: &mut PlatformTx, id: Uuid) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE accounts SET totp_enabled_at = $2 WHERE id = $1 AND totp_secret IS NOT NULL",
        )
        .bind(id)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn disable_totp(tx: &mut PlatformTx, id: Uuid) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query("UPDATE accounts SET totp_secret = NULL, totp_enabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(id)
            .execute(c)
            .await?;
    });
    Ok(())
}

pub async fn replace_recovery_codes(
    tx: &mut PlatformTx,
    id: Uuid,
    digests: &[String],
) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        for digest in digests {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                .bind(id)
                .bind(digest)
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(())
}

/// Spends one unused recovery code; false when it does not exist or was used.
pub async fn use_recovery_code(
    tx: &mut PlatformTx,
    id: Uuid,
    digest: &str,
) -> Result<bool, DbError> {
    let used = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(id)
        .bind(digest)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(used == 1)
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    ResetPassword,
    VerifyEmail,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::ResetPassword => "reset_password",
            Self::VerifyEmail => "verify_email",
        }
    }
}

/// Stores a token digest; earlier unused tokens for the same purpose stop working.
pub async fn issue_token(
    tx: &mut PlatformTx,
    account: Uuid,
    purpose: TokenPurpose,
    digest: &str,
    valid_for: Duration,
) -> Result<(), DbError> {
    let now = Utc::now();
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE account_tokens SET used_at = $3 \
             WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(account)
        .bind(purpose.as_str())
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO account_tokens (id, account_id, purpose, token_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(account)
        .bind(purpose.as_str())
        .bind(digest)
        .bind(now + valid_for)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Marks a valid token used and returns its account; `None` for unknown, used or
/// expired tokens alike.
pub async fn consume_token(
    tx: &mut PlatformTx,
    purpose: TokenPurpose,
    digest: &str,
) -> Result<Option<Uuid>, DbError> {
    let now = Utc::now();
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_scalar::<_, Uuid>(
            "UPDATE account_tokens SET used_at = $3 \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING account_id",
        )
        .bind(digest)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(c)
        .await?
    }))
}

/// Ends an account's sessions signed in to one tenant, and no others: a clinic
/// that changes or removes a member's access there has no say over their other
/// clinics or the platform.
pub async fn revoke_sessions_at(
    tx: &mut PlatformTx,
    account: Uuid,
    tenant: crate::ids::TenantId,
) -> Result<u64, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND signed_in_tenant = $2")
            .bind(account)
            .bind(tenant.into_uuid())
            .execute(c)
            .await?
            .rows_affected()
    }))
}

/// Ends every session of an account (optionally keeping the caller's own).
pub async fn revoke_sessions(
    tx: &mut PlatformTx,
    account: Uuid,
    keep: Option<&str>,
) -> Result<u64, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id <> COALESCE($2, '')")
            .bind(account)
            .bind(keep)
            .execute(c)
            .await?
            .rows_affected()
    }))
}

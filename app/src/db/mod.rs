//! The data layer: one set of queries over SQLite and PostgreSQL.
//!
//! Tenant-owned tables are reachable only through a [`TenantTx`], which carries the
//! tenant id and binds it into every statement. On PostgreSQL the same transaction
//! also sets `app.tenant_id` so row-level security is a second, independent wall.
//! Platform tables (tenants, accounts) go through a [`PlatformTx`].

mod error;
pub mod postgres;
mod query;

pub use error::DbError;
pub use query::{AnyRow, Arg};

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::ids::TenantId;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DbError::Config(format!(
                "database url must start with sqlite:// or postgres://, got {:?}",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// A connection pool for either backend. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// Counts commits that changed platform rows others may keep in memory (a
    /// tenant's status, branding, settings, plan), so such memories can tell
    /// they are stale. See [`PlatformTx::mark_platform_changed`].
    platform_changes: Arc<AtomicU64>,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on either backend. Only this module can create one.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs one query body against whichever backend a [`Tx`] holds.
///
/// The body is compiled once per backend, so the same SQL text and binds serve both;
/// inside it `$conn` is a `&mut SqliteConnection` or `&mut PgConnection`.
macro_rules! on_conn {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_conn;

impl Tx {
    async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A transaction scoped to one tenant: the only door to tenant-owned tables.
pub struct TenantTx {
    tenant: TenantId,
    inner: PlatformTx,
}

impl TenantTx {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// The tenant id to bind and the connection to run on.
    pub(crate) fn scoped(&mut self) -> (uuid::Uuid, &mut Tx) {
        (self.tenant.into_uuid(), &mut self.inner.tx)
    }

    /// The same transaction, for platform-table statements (tenants, accounts) that
    /// must commit together with this tenant's rows, as when a sign-up creates the
    /// clinic, its owner's account and the owner's membership at once. The tenant
    /// setting stays in force, so tenant tables still show only this tenant.
    pub fn platform(&mut self) -> &mut PlatformTx {
        &mut self.inner
    }

    pub async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await
    }
}

/// A transaction over platform tables (tenants, accounts). On PostgreSQL it carries
/// no tenant setting, so row-level security hides every tenant-owned row from it.
pub struct PlatformTx {
    tx: Tx,
    platform_changes: Arc<AtomicU64>,
    changed_platform: bool,
}

impl PlatformTx {
    pub(crate) fn conn(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Notes that this transaction changes rows that are remembered outside the
    /// database (the tenant of an address); committing it makes those memories
    /// stale at once in this process ([`Db::platform_generation`]).
    pub(crate) fn mark_platform_changed(&mut self) {
        self.changed_platform = true;
    }

    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await?;
        if self.changed_platform {
            self.platform_changes.fetch_add(1, Ordering::Release);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Access {
    ReadOnly,
    ReadWrite,
}

/// Connection settings for [`Db::connect`].
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl Db {
    /// Opens a pool. SQLite files (and their folder) are created when missing.
    pub async fn connect(options: &DbOptions) -> Result<Self, DbError> {
        let pool = match Backend::from_url(&options.url)? {
            Backend::Sqlite => Pool::Sqlite(connect_sqlite(options).await?),
            Backend::Postgres => Pool::Postgres(connect_postgres(options).await?),
        };
        Ok(Self {
            pool,
            platform_changes: Arc::default(),
        })
    }

    /// Changes with every commit that changed remembered platform rows: a memory
    /// taken at one generation is stale at any other.
    pub fn platform_generation(&self) -> u64 {
        self.platform_changes.load(Ordering::Acquire)
    }

    fn platform_tx(&self, tx: Tx) -> PlatformTx {
        PlatformTx {
            tx,
            platform_changes: self.platform_changes.clone(),
            changed_platform: false,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. On PostgreSQL, call this on a pool connected as
    /// the schema owner, never as the application role.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => {
                postgres::ensure_app_role_exists(p).await?;
                POSTGRES_MIGRATIONS.run(p).await?
            }
        }
        Ok(())
    }

    /// Refuses a PostgreSQL role that could read past row-level security.
    pub async fn check_app_role(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(()),
            Pool::Postgres(p) => postgres::check_app_role(p).await,
        }
    }

    /// Starts a read-write transaction that can reach exactly one tenant's rows.
    pub async fn begin_for(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        self.begin_tenant(tenant, Access::ReadWrite).await
    }

    /// Like [`Db::begin_for`], for reads: on SQLite it does not queue behind writers.
    pub async fn begin_for_read(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        self.begin_tenant(tenant, Access::ReadOnly).await
    }

    /// Starts a read-write transaction over platform tables only.
    pub async fn begin_platform(&self) -> Result<PlatformTx, DbError> {
        Ok(self.platform_tx(self.begin(Access::ReadWrite).await?))
    }

    /// Starts a read-only transaction over platform tables only.
    pub async fn begin_platform_read(&self) -> Result<PlatformTx, DbError> {
        Ok(self.platform_tx(self.begin(Access::ReadOnly).await?))
    }

    /// A read-only transaction that, on PostgreSQL, may see one account's own rows
    /// in tenant tables (its memberships), through the `own_account` policies.
    pub async fn begin_for_account(&self, account: uuid::Uuid) -> Result<PlatformTx, DbError> {
        let mut tx = self.begin(Access::ReadOnly).await?;
        if let Tx::Postgres(pg) = &mut tx {
            sqlx::query("SELECT set_config('app.account_id', $1, true)")
                .bind(account.to_string())
                .execute(&mut **pg)
                .await?;
        }
        Ok(self.platform_tx(tx))
    }

    async fn begin_tenant(&self, tenant: TenantId, access: Access) -> Result<TenantTx, DbError> {
        let tx = match &self.pool {
            Pool::Sqlite(_) => self.begin(access).await?,
            // One round trip: `BEGIN` and the transaction-local tenant setting go
            // together as one simple query. The setting is transaction-local
            // (`true`), so the pooled connection forgets it at commit or rollback.
            // The value is a `Uuid` printed by the uuid crate (hex digits and
            // hyphens only), never text from a request.
            Pool::Postgres(p) => {
                let begin = match access {
                    Access::ReadOnly => "BEGIN READ ONLY",
                    Access::ReadWrite => "BEGIN",
                };
                let uuid: uuid::Uuid = tenant.into_uuid();
                let statement = format!(
                    "{begin}; SELECT set_config('app.tenant_id', '{}', true)",
                    uuid.hyphenated()
                );
                Tx::Postgres(p.begin_with(statement).await?)
            }
        };
        Ok(TenantTx {
            tenant,
            inner: self.platform_tx(tx),
        })
    }

    async fn begin(&self, access: Access) -> Result<Tx, DbError> {
        // SQLite: take the write lock up front so a writer never fails mid-way on
        // lock upgrade; readers use a deferred transaction and see a WAL snapshot.
        let statement = match (&self.pool, access) {
            (Pool::Sqlite(_), Access::ReadWrite) => "BEGIN IMMEDIATE",
            (Pool::Sqlite(_), Access::ReadOnly) => "BEGIN",
            (Pool::Postgres(_), Access::ReadWrite) => "BEGIN",
            (Pool::Postgres(_), Access::ReadOnly) => "BEGIN READ ONLY",
        };
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with(statement).await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin_with(statement).await?),
        })
    }

    /// A cheap liveness probe for health checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// What `app.tenant_id` reads on a fresh use of a pooled connection, outside any
    /// transaction. Tests use it to prove no setting leaks between requests.
    #[doc(hidden)]
    pub async fn pooled_tenant_setting(&self) -> Result<Option<String>, DbError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => Ok(sqlx::query_scalar::<_, Option<String>>(
                "SELECT nullif(current_setting('app.tenant_id', true), '')",
            )
            .fetch_one(p)
            .await?),
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A statement addressed by tenant and id touched exactly one row, or the row is not
/// this tenant's to touch.
pub(crate) fn one_row(affected: u64) -> Result<(), DbError> {
    if affected == 1 {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

async fn connect_sqlite(options: &DbOptions) -> Result<SqlitePool, DbError> {
    let connect = SqliteConnectOptions::from_str(&options.url)
        .map_err(|e| DbError::Config(format!("invalid sqlite url: {e}")))?;
    if let Some(dir) = connect.get_filename().parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Config(format!(
                    "cannot create database folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
    }
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    Ok(SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        // A local file does not drop connections; no round trip before each use.
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .after_release(|conn, _| Box::pin(outside_any_transaction(conn)))
        .connect_with(connect)
        .await?)
}

/// Whether a connection coming back to the pool is outside any transaction.
///
/// A request cancelled (the browser navigated away) after SQLite ran `BEGIN` but
/// before sqlx handed back the transaction leaves the connection inside a
/// transaction nothing will end; sqlx then refuses every later `begin_with` on
/// it, and every request that draws it fails. Such a connection is closed
/// (`false`) instead of reused. Costs a `BEGIN`/`ROLLBACK` pair, which SQLite does
/// without touching the file.
pub async fn outside_any_transaction(
    conn: &mut sqlx::SqliteConnection,
) -> Result<bool, sqlx::Error> {
    match sqlx::Connection::begin_with(conn, "BEGIN").await {
        Ok(probe) => {
            probe.rollback().await?;
            Ok(true)
        }
        Err(sqlx::Error::InvalidSavePointStatement) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn connect_postgres(options: &DbOptions) -> Result<PgPool, DbError> {
    let connect = PgConnectOptions::from_str(&options.url)
        .map_err(|e| DbError::Config(format!("invalid postgres url: {e}")))?;
    // No `SELECT 1` before each checkout: a connection the server closed fails its
    // next statement, which answers that request 503 and drops the connection.
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections)
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?)
}

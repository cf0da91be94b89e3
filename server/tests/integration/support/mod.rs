//! Test support: a fresh, migrated database per test on each backend, and demo-like
//! fixtures.
//!
//! PostgreSQL tests connect to `MEDISYNC_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role that may create databases
//! and roles). When it cannot be reached they are skipped with a message, unless
//! `CI=true`, where an unreachable PostgreSQL fails the run.

use std::path::PathBuf;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

pub mod dns;
pub mod fixtures;
pub mod payments;
pub mod razorpay_billing;
pub mod server;
pub mod stripe_billing;
pub mod twilio;
pub mod whatsapp;

use app::db::{Backend, Db, DbOptions};

pub const OWNER_ROLE: &str = "medisync_owner";
pub const APP_LOGIN_ROLE: &str = "medisync_web";

pub struct TestDb {
    pub db: Db,
    pub backend: Backend,
    /// URL the application role uses (PostgreSQL) or the SQLite file URL.
    pub app_url: String,
    /// PostgreSQL: the schema owner's URL for this test's database.
    pub owner_url: Option<String>,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

fn pg_admin_url() -> String {
    std::env::var("MEDISYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `postgres://user@host:port/db` with user and database replaced.
fn pg_url_for(admin_url: &str, user: &str, database: &str) -> String {
    let rest = admin_url
        .split_once("://")
        .map(|(_, r)| r)
        .expect("postgres url has a scheme");
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_and_db.split('/').next().unwrap_or("127.0.0.1:5432");
    format!("postgres://{user}@{host}/{database}")
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        show_logs();
        let dir = std::env::temp_dir().join("medisync-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.db", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}", path.display());
        let db = Db::connect(&DbOptions::new(&url))
            .await
            .expect("sqlite connects");
        db.migrate().await.expect("sqlite migrates");
        TestDb {
            db,
            backend: Backend::Sqlite,
            app_url: url,
            owner_url: None,
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A fresh database owned by the owner role, migrated as the owner, and a pool
    /// connected as the application role. `None` when PostgreSQL is unreachable
    /// outside CI.
    pub async fn postgres() -> Option<TestDb> {
        show_logs();
        let admin_url = pg_admin_url();
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL is required in CI but unreachable at {admin_url}: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL unreachable at {admin_url}: {e}");
                return None;
            }
        };
        ensure_roles(&mut admin).await;
        let name = format!("medisync_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();

        let owner_url = pg_url_for(&admin_url, OWNER_ROLE, &name);
        let owner = Db::connect(&DbOptions::new(&owner_url))
            .await
            .expect("owner connects");
        owner.migrate().await.expect("postgres migrates");
        owner.close().await;

        let app_url = pg_url_for(&admin_url, APP_LOGIN_ROLE, &name);
        let db = Db::connect(&DbOptions::new(&app_url))
            .await
            .expect("app role connects");
        db.check_app_role()
            .await
            .expect("the app role cannot bypass RLS");
        Some(TestDb {
            db,
            backend: Backend::Postgres,
            app_url,
            owner_url: Some(owner_url),
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        })
    }

    /// A PostgreSQL transaction as the application's role inside `tenant`
    /// (row-level security needs the setting), for statements that bypass
    /// the application.
    pub async fn app_tx_in(
        &self,
        tenant: uuid::Uuid,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let pool = sqlx::PgPool::connect(&self.app_url).await?;
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A superuser pool on this test's PostgreSQL database.
    pub async fn superuser_pool(&self) -> sqlx::PgPool {
        let Cleanup::PostgresDatabase { admin_url, name } = &self.cleanup else {
            panic!("superuser_pool is for PostgreSQL tests");
        };
        PgPoolOptions::new()
            .max_connections(2)
            .connect(&pg_url_for(admin_url, "postgres", name))
            .await
            .expect("superuser connects")
    }

    pub async fn cleanup(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            }
        }
    }
}

/// Creates the owner, group and login roles once per cluster, with the same SQL
/// `medisync pg-roles` prints.
async fn ensure_roles(admin: &mut PgConnection) {
    let mut tx = admin.begin().await.expect("begin");
    // Tests run in parallel; one of them creates the roles.
    sqlx::query("SELECT pg_advisory_xact_lock(774411)")
        .execute(&mut *tx)
        .await
        .expect("lock");
    let existing: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname IN ($1, $2, $3)")
            .bind(OWNER_ROLE)
            .bind(app::db::postgres::APP_GROUP_ROLE)
            .bind(APP_LOGIN_ROLE)
            .fetch_one(&mut *tx)
            .await
            .expect("count roles");
    if existing == 0 {
        let sql =
            app::db::postgres::roles_sql(OWNER_ROLE, APP_LOGIN_ROLE, "test-only-password-0123")
                .expect("valid role names");
        sqlx::raw_sql(&sql)
            .execute(&mut *tx)
            .await
            .expect("create roles");
    } else {
        assert_eq!(existing, 3, "some but not all MediSync test roles exist");
    }
    // The owner needs to create the test databases' objects; CREATEDB is not needed.
    tx.commit().await.expect("commit roles");
}

/// Runs a test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::support::TestDb::sqlite().await;
                super::$name(&t).await;
                t.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(t) = $crate::support::TestDb::postgres().await {
                    super::$name(&t).await;
                    t.cleanup().await;
                }
            }
        }
    )*};
}

/// Runs a PostgreSQL-only test body.
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres() {
                if let Some(t) = $crate::support::TestDb::postgres().await {
                    super::$name(&t).await;
                    t.cleanup().await;
                }
            }
        }
    )*};
}

/// The server's logs in a test's output, when `MEDISYNC_TEST_LOG` names a filter
/// (`MEDISYNC_TEST_LOG=error cargo test ... -- --nocapture`).
fn show_logs() {
    if let Ok(filter) = std::env::var("MEDISYNC_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

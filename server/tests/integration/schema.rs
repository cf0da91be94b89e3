//! The SQLite and PostgreSQL schemas cannot drift apart.

use crate::support;

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, SqliteConnection};
use support::TestDb;

type Column = (String, String, bool);

async fn sqlite_columns(url: &str) -> BTreeSet<Column> {
    let mut conn = SqliteConnection::connect(url).await.expect("sqlite");
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\" FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("sqlite catalog");
    rows.into_iter()
        .map(|(t, c, not_null)| (t, c, not_null == 0))
        .collect()
}

async fn postgres_columns(url: &str) -> BTreeSet<Column> {
    let mut conn = PgConnection::connect(url).await.expect("postgres");
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("postgres catalog");
    rows.into_iter()
        .map(|(t, c, nullable)| (t, c, nullable == "YES"))
        .collect()
}

#[tokio::test]
async fn both_migrated_schemas_have_the_same_tables_columns_and_nullability() {
    let sqlite = TestDb::sqlite().await;
    let lite = sqlite_columns(&sqlite.app_url).await;
    sqlite.cleanup().await;
    assert!(lite
        .iter()
        .any(|(t, c, _)| t == "patients" && c == "tenant_id"));

    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let post = postgres_columns(pg.owner_url.as_deref().expect("owner url")).await;
    pg.cleanup().await;

    let only_sqlite: Vec<_> = lite.difference(&post).collect();
    let only_postgres: Vec<_> = post.difference(&lite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\n only in SQLite: {only_sqlite:?}\n only in PostgreSQL: {only_postgres:?}"
    );
}

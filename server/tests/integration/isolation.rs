//! Tenant isolation: through the repository layer on both databases, and through raw
//! SQL under PostgreSQL row-level security.

use crate::support;

use support::fixtures::{clinic, new_patient};
use support::TestDb;

use app::db::{Backend, DbError};
use app::identity::{self, MemberStatus, Role};
use app::patients;

on_both_backends!(
    another_tenants_rows_are_invisible_and_unwritable_through_repositories,
    a_row_cannot_point_at_another_tenants_row,
    record_numbers_are_unique_per_tenant_only,
);
on_postgres!(
    raw_sql_under_rls_touches_no_other_tenants_rows,
    a_tenant_setting_does_not_leak_to_the_next_use_of_a_pooled_connection,
    every_table_with_a_tenant_id_has_rls_enabled_and_forced,
    the_server_refuses_roles_that_can_bypass_rls,
);

async fn another_tenants_rows_are_invisible_and_unwritable_through_repositories(t: &TestDb) {
    let a = clinic(&t.db, "clinic-a", "doc@a.example").await;
    let b = clinic(&t.db, "clinic-b", "doc@b.example").await;

    let mut tx = t.db.begin_for(a.tenant.id).await.expect("begin");
    // Reads
    assert_eq!(
        patients::db::get(&mut tx, b.patient.id).await.expect("get"),
        None
    );
    let everyone = patients::db::search(&mut tx, "", 100)
        .await
        .expect("search");
    assert_eq!(
        everyone,
        vec![a.patient.clone()],
        "search shows only tenant A's patients"
    );
    assert_eq!(patients::db::count(&mut tx).await.expect("count"), 1);
    assert_eq!(
        identity::db::find_staff(&mut tx, b.doctor.id)
            .await
            .expect("find"),
        None
    );
    let staff = identity::db::list_staff(&mut tx).await.expect("list");
    assert_eq!(
        staff.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![a.doctor.id]
    );
    // Writes
    let update = patients::db::update_contact(&mut tx, b.patient.id, Some("x@evil.example"), None);
    assert!(matches!(update.await, Err(DbError::NotFound)));
    assert!(matches!(
        patients::db::delete(&mut tx, b.patient.id).await,
        Err(DbError::NotFound)
    ));
    let role = identity::db::set_staff_role(&mut tx, b.doctor.id, Role::Owner);
    assert!(matches!(role.await, Err(DbError::NotFound)));
    let status = identity::db::set_staff_status(&mut tx, b.doctor.id, MemberStatus::Deactivated);
    assert!(matches!(status.await, Err(DbError::NotFound)));
    // Tenant A's own rows are writable through the same handle.
    patients::db::update_contact(&mut tx, a.patient.id, Some("pat@a.example"), None)
        .await
        .expect("own row is writable");
    tx.commit().await.expect("commit");

    let mut tx = t.db.begin_for_read(b.tenant.id).await.expect("begin");
    let untouched = patients::db::get(&mut tx, b.patient.id).await.expect("get");
    assert_eq!(
        untouched,
        Some(b.patient.clone()),
        "tenant B's patient is unchanged"
    );
    let doctor = identity::db::find_staff(&mut tx, b.doctor.id)
        .await
        .expect("find");
    assert_eq!(
        doctor,
        Some(b.doctor.clone()),
        "tenant B's doctor is unchanged"
    );
}

async fn a_row_cannot_point_at_another_tenants_row(t: &TestDb) {
    let a = clinic(&t.db, "clinic-a", "doc@a.example").await;
    let b = clinic(&t.db, "clinic-b", "doc@b.example").await;
    let mut tx = t.db.begin_for(a.tenant.id).await.expect("begin");
    let stolen_doctor = new_patient("MRN-2", "Eve", "Mallory", Some(b.doctor.id));
    let result = patients::db::create(&mut tx, &stolen_doctor).await;
    assert!(
        result.is_err(),
        "a tenant-inclusive foreign key refuses B's doctor"
    );
}

async fn record_numbers_are_unique_per_tenant_only(t: &TestDb) {
    let a = clinic(&t.db, "clinic-a", "doc@a.example").await;
    let b = clinic(&t.db, "clinic-b", "doc@b.example").await;
    assert_eq!(
        a.patient.mrn, b.patient.mrn,
        "the same MRN exists in both clinics"
    );
    let mut tx = t.db.begin_for(a.tenant.id).await.expect("begin");
    let duplicate =
        patients::db::create(&mut tx, &new_patient("MRN-1", "Dup", "Licate", None)).await;
    assert!(
        matches!(duplicate, Err(DbError::Conflict("record number"))),
        "{duplicate:?}"
    );
}

/// Every table that has a `tenant_id` column, from the catalog.
async fn tenant_tables(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("catalog")
}

/// Rows a statement touched, or 0 when the role may not run it at all (the audit
/// trail is append-only: no UPDATE or DELETE privilege).
fn touched_or_refused(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> u64 {
    match result {
        Ok(done) => done.rows_affected(),
        Err(e) => {
            let code = e
                .as_database_error()
                .and_then(|d| d.code().map(|c| c.into_owned()));
            assert_eq!(code.as_deref(), Some("42501"), "unexpected error: {e}");
            0
        }
    }
}

/// A raw transaction as the application role with `app.tenant_id` set, as the
/// repository layer would set it, but with no tenant filter in the statements.
async fn begin_as(
    raw: &sqlx::PgPool,
    tenant: uuid::Uuid,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = raw.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .expect("set tenant");
    tx
}

async fn raw_sql_under_rls_touches_no_other_tenants_rows(t: &TestDb) {
    assert_eq!(t.backend, Backend::Postgres);
    let a = clinic(&t.db, "clinic-a", "doc@a.example").await;
    let b = clinic(&t.db, "clinic-b", "doc@b.example").await;
    // A raw connection as the application role, bypassing the repository layer.
    let raw = sqlx::PgPool::connect(&t.app_url)
        .await
        .expect("raw app connection");
    let tables = tenant_tables(&raw).await;
    assert!(tables.len() >= 2, "tenant tables: {tables:?}");
    let (a_id, b_id) = (a.tenant.id.into_uuid(), b.tenant.id.into_uuid());

    // What each clinic holds in each table, counted by the owner (no RLS).
    let superuser = t.superuser_pool().await;
    let mut holds = std::collections::HashMap::new();
    for table in &tables {
        for id in [a_id, b_id] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} WHERE tenant_id = $1"
            ))
            .bind(id)
            .fetch_one(&superuser)
            .await
            .expect("count");
            assert!(
                n >= 1,
                "{table}: the fixture puts rows in every tenant table"
            );
            holds.insert((table.clone(), id), n);
        }
    }
    for table in &tables {
        let mut tx = begin_as(&raw, a_id).await;
        let unscoped: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .expect("select");
        let b_rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(b_id)
        .fetch_one(&mut *tx)
        .await
        .expect("select B");
        assert_eq!(
            (unscoped, b_rows),
            (holds[&(table.clone(), a_id)], 0),
            "{table}: only A's rows are visible"
        );

        // In a savepoint: a refused statement must not abort the checks after it.
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await.expect("savepoint");
        let updated = sqlx::query(&format!(
            "UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1"
        ))
        .bind(b_id)
        .execute(&mut *savepoint)
        .await;
        savepoint.rollback().await.expect("rollback savepoint");
        assert_eq!(
            touched_or_refused(updated),
            0,
            "{table}: B's rows cannot be updated"
        );

        // Copy A's own row, re-labelled as B's: the WITH CHECK clause refuses it.
        let insert = sqlx::query(&format!(
            "INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, \
             (SELECT to_jsonb(r) || jsonb_build_object('tenant_id', $1::uuid, 'id', gen_random_uuid()) \
              FROM {table} r LIMIT 1))"
        ))
        .bind(b_id)
        .execute(&mut *tx)
        .await;
        let code = insert
            .expect_err("insert as B must fail")
            .into_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()));
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{table}: insert refused by RLS"
        );
        tx.rollback().await.expect("rollback");

        let mut tx = begin_as(&raw, a_id).await;
        let moved = sqlx::query(&format!("UPDATE {table} SET tenant_id = $1"))
            .bind(b_id)
            .execute(&mut *tx)
            .await;
        let code = moved
            .expect_err("moving A's row to B must fail")
            .into_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()));
        // Either RLS (42501) or the tenant-inclusive foreign keys (23503) stop it.
        assert!(
            matches!(code.as_deref(), Some("42501" | "23503")),
            "{table}: {code:?}"
        );
        tx.rollback().await.expect("rollback");
    }

    // Deletes run last, after every other check, and from patients first.
    for table in tables.iter().rev() {
        let mut tx = begin_as(&raw, a_id).await;
        let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
            .bind(b_id)
            .execute(&mut *tx)
            .await;
        assert_eq!(
            touched_or_refused(deleted),
            0,
            "{table}: B's rows cannot be deleted"
        );
        tx.rollback().await.expect("rollback");
    }

    // With no tenant set at all, nothing is visible.
    for table in &tables {
        let visible: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&raw)
            .await
            .expect("select");
        assert_eq!(visible, 0, "{table}: no tenant set, no rows");
    }
    // And B's rows are all still there.
    for table in &tables {
        let b_rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(b_id)
        .fetch_one(&superuser)
        .await
        .expect("count");
        assert_eq!(
            b_rows,
            holds[&(table.clone(), b_id)],
            "{table}: B's rows survived"
        );
    }
    raw.close().await;
    superuser.close().await;
}

async fn a_tenant_setting_does_not_leak_to_the_next_use_of_a_pooled_connection(t: &TestDb) {
    let a = clinic(&t.db, "clinic-a", "doc@a.example").await;
    // One connection, so the next use is certainly the same connection.
    let options = app::db::DbOptions {
        max_connections: 1,
        ..app::db::DbOptions::new(&t.app_url)
    };
    let db = app::db::Db::connect(&options).await.expect("connect");

    let mut tx = db.begin_for(a.tenant.id).await.expect("begin");
    assert_eq!(patients::db::count(&mut tx).await.expect("count"), 1);
    tx.commit().await.expect("commit");
    assert_eq!(
        db.pooled_tenant_setting().await.expect("read"),
        None,
        "after commit"
    );

    let mut tx = db.begin_for(a.tenant.id).await.expect("begin");
    assert_eq!(patients::db::count(&mut tx).await.expect("count"), 1);
    drop(tx); // rolled back
    assert_eq!(
        db.pooled_tenant_setting().await.expect("read"),
        None,
        "after rollback"
    );

    let mut platform = db.begin_platform().await.expect("begin platform");
    let tenants_seen = app::tenancy::db::count(&mut platform).await.expect("count");
    assert_eq!(tenants_seen, 1, "platform tables stay readable");
    drop(platform);
    db.close().await;
}

async fn every_table_with_a_tenant_id_has_rls_enabled_and_forced(t: &TestDb) {
    let pool = t.superuser_pool().await;
    let tables = tenant_tables(&pool).await;
    for expected in ["patients", "staff_members"] {
        assert!(
            tables.iter().any(|n| n == expected),
            "{expected} missing from {tables:?}"
        );
    }
    for table in &tables {
        let (enabled, forced): (bool, bool) = sqlx::query_as(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class \
             WHERE oid = ('public.' || $1)::regclass",
        )
        .bind(table)
        .fetch_one(&pool)
        .await
        .expect("pg_class");
        assert!(
            enabled && forced,
            "{table}: RLS enabled {enabled}, forced {forced}"
        );
        let policies: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 \
             AND qual IS NOT NULL AND with_check IS NOT NULL",
        )
        .bind(table)
        .fetch_one(&pool)
        .await
        .expect("pg_policies");
        assert!(policies >= 1, "{table}: a policy with USING and WITH CHECK");
    }
    println!("tables with RLS forced: {}", tables.join(", "));
    pool.close().await;
}

async fn the_server_refuses_roles_that_can_bypass_rls(t: &TestDb) {
    let owner_url = t.owner_url.clone().expect("owner url");
    let owner = app::db::Db::connect(&app::db::DbOptions::new(&owner_url))
        .await
        .expect("owner");
    let err = owner
        .check_app_role()
        .await
        .expect_err("the table owner is refused");
    assert!(
        err.to_string().contains("bypass row-level security"),
        "{err}"
    );
    owner.close().await;

    let superuser_url = t.app_url.replacen(support::APP_LOGIN_ROLE, "postgres", 1);
    let superuser = app::db::Db::connect(&app::db::DbOptions::new(&superuser_url))
        .await
        .expect("su");
    assert!(
        superuser.check_app_role().await.is_err(),
        "a superuser is refused"
    );
    superuser.close().await;

    t.db.check_app_role()
        .await
        .expect("the application role is accepted");
}

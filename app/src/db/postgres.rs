//! PostgreSQL roles: the schema owner runs migrations; the application connects as a
//! member of `medisync_app`, which owns nothing and cannot bypass row-level security.

use sqlx::PgPool;

use super::DbError;

/// The group role that migrations grant table privileges to.
pub const APP_GROUP_ROLE: &str = "medisync_app";

/// SQL an administrator runs once per cluster to create the two roles.
/// Identifiers and the password are validated so the text cannot be injected.
pub fn roles_sql(owner: &str, app_login: &str, app_password: &str) -> Result<String, DbError> {
    for name in [owner, app_login] {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(DbError::Config(format!(
                "role name {name:?} must be lowercase letters, digits and underscores"
            )));
        }
    }
    if app_password.len() < 16 || app_password.contains('\'') {
        return Err(DbError::Config(
            "the application password needs at least 16 characters and no quote".into(),
        ));
    }
    let group = APP_GROUP_ROLE;
    Ok(format!(
        "-- Schema owner: runs migrations, owns every table.\n\
         CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE;\n\
         -- Group the migrations grant DML to; owns nothing.\n\
         CREATE ROLE {group} NOLOGIN NOSUPERUSER NOBYPASSRLS;\n\
         -- The login the server uses (DATABASE_URL).\n\
         CREATE ROLE {app_login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD '{app_password}' IN ROLE {group};\n"
    ))
}

pub(super) async fn ensure_app_role_exists(pool: &PgPool) -> Result<(), DbError> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(APP_GROUP_ROLE)
            .fetch_one(pool)
            .await?;
    if exists {
        Ok(())
    } else {
        Err(DbError::Config(format!(
            "PostgreSQL role {APP_GROUP_ROLE} is missing: create the roles first (`medisync pg-roles`, see README)"
        )))
    }
}

pub(super) async fn check_app_role(pool: &PgPool) -> Result<(), DbError> {
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(pool)
            .await?;
    // A role that owns a table, or can become its owner, can switch RLS off.
    let owned_tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables \
         WHERE schemaname = current_schema() AND pg_has_role(current_user, tableowner, 'MEMBER')",
    )
    .fetch_one(pool)
    .await?;
    if superuser || bypass || owned_tables > 0 {
        return Err(DbError::Config(format!(
            "refusing to run: the database role could bypass row-level security \
             (superuser: {superuser}, bypassrls: {bypass}, owns or can own {owned_tables} tables). \
             Connect DATABASE_URL as a member of {APP_GROUP_ROLE}; run migrations as the owner \
             via MEDISYNC_DATABASE_OWNER_URL"
        )));
    }
    Ok(())
}

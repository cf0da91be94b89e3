//! One-line tenant queries: the SQL text and its values, nothing else.
//!
//! ```ignore
//! tx.execute_one(
//!     "UPDATE patient_documents SET status = $3 WHERE tenant_id = $1 AND id = $2",
//!     &[id.into(), status.as_str().into()],
//! )
//! .await?;
//! let rows: Vec<DocumentRow> = tx.fetch_all(SELECT_DOCUMENTS, &[patient.into()]).await?;
//! ```
//!
//! The tenant id is always `$1`, bound by the handle itself, so a statement cannot
//! forget it; the caller's values follow as `$2`, `$3`, ... Every value is a bind
//! parameter, never text spliced into the SQL. The same SQL text and values run on
//! both backends; where the SQL must differ, ask [`TenantTx::backend`].

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{FromRow, Postgres, Sqlite};
use uuid::Uuid;

use super::{one_row, Backend, DbError, TenantTx, Tx};

/// One bind value. `None` binds a typed SQL `NULL`.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Uuid(Option<Uuid>),
    Text(Option<&'a str>),
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
}

macro_rules! arg_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl<'a> From<$ty> for Arg<'a> {
            fn from(v: $ty) -> Self {
                Arg::$variant(Some(v.into()))
            }
        }
        impl<'a> From<Option<$ty>> for Arg<'a> {
            fn from(v: Option<$ty>) -> Self {
                Arg::$variant(v.map(Into::into))
            }
        }
    )*};
}

arg_from! {
    Uuid => Uuid,
    i64 => Int,
    i32 => Int,
    f64 => Real,
    bool => Bool,
    NaiveDate => Date,
    DateTime<Utc> => Time,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref())
    }
}

impl<'a> From<crate::ids::TenantId> for Arg<'a> {
    fn from(v: crate::ids::TenantId) -> Self {
        Arg::Uuid(Some(v.into_uuid()))
    }
}

/// Binds `args` in order onto any sqlx query builder with a `bind` method.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match *arg {
                Arg::Uuid(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Date(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
            };
        }
        q
    }};
}

fn sqlite<'q>(
    sql: &'q str,
    tenant: Uuid,
    args: &[Arg<'q>],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    bind_all!(sqlx::query(sql).bind(tenant), args)
}

fn postgres<'q>(sql: &'q str, tenant: Uuid, args: &[Arg<'q>]) -> Query<'q, Postgres, PgArguments> {
    bind_all!(sqlx::query(sql).bind(tenant), args)
}

fn sqlite_as<'q, T>(
    sql: &'q str,
    tenant: Uuid,
    args: &[Arg<'q>],
) -> QueryAs<'q, Sqlite, T, SqliteArguments<'q>>
where
    T: for<'r> FromRow<'r, SqliteRow>,
{
    bind_all!(sqlx::query_as::<_, T>(sql).bind(tenant), args)
}

fn postgres_as<'q, T>(
    sql: &'q str,
    tenant: Uuid,
    args: &[Arg<'q>],
) -> QueryAs<'q, Postgres, T, PgArguments>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    bind_all!(sqlx::query_as::<_, T>(sql).bind(tenant), args)
}

/// A row type both backends can decode (derive `sqlx::FromRow`; a tuple such as
/// `(i64,)` works for one value).
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl TenantTx {
    /// Which engine this transaction runs on, for the rare statement whose SQL
    /// must differ.
    pub fn backend(&self) -> Backend {
        match self.inner.tx {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Has PostgreSQL refresh the statistics of the patient registry's tables
    /// (`analyze_registry()`, which the schema's owner lends the application).
    /// A bulk load calls it once its first batch is in: foreign-key checks are
    /// planned once per connection, and planned against a table never analysed
    /// (autovacuum off, or not yet come round) they can pick any index that
    /// starts with the tenant and read the clinic's whole range for every row
    /// checked. SQLite plans each statement from the table as it stands.
    pub async fn analyze_registry(&mut self) -> Result<(), DbError> {
        if let Tx::Postgres(tx) = &mut self.inner.tx {
            sqlx::query("SELECT analyze_registry()")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Runs a statement; answers how many rows it touched.
    pub async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, DbError> {
        let (tenant, conn) = self.scoped();
        Ok(match conn {
            Tx::Sqlite(tx) => sqlite(sql, tenant, args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => postgres(sql, tenant, args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Runs a statement addressed to one row by id: touching none means the row is
    /// not this tenant's ([`DbError::NotFound`]).
    pub async fn execute_one(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<(), DbError> {
        one_row(self.execute(sql, args).await?)
    }

    /// Every row the query answers.
    pub async fn fetch_all<T: AnyRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>, DbError> {
        let (tenant, conn) = self.scoped();
        Ok(match conn {
            Tx::Sqlite(tx) => {
                sqlite_as::<T>(sql, tenant, args)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                postgres_as::<T>(sql, tenant, args)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    /// The first row the query answers, if any.
    pub async fn fetch_optional<T: AnyRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, DbError> {
        let (tenant, conn) = self.scoped();
        Ok(match conn {
            Tx::Sqlite(tx) => {
                sqlite_as::<T>(sql, tenant, args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                postgres_as::<T>(sql, tenant, args)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }

    /// The one row the query must answer ([`DbError::NotFound`] when it answers none).
    pub async fn fetch_one<T: AnyRow>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<T, DbError> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(DbError::NotFound)
    }
}

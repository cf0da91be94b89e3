/// Errors from the data layer. Callers map them to user messages; the database's own
/// text may name columns and values, so it is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("record not found")]
    NotFound,
    #[error("a record with the same {0} already exists")]
    Conflict(&'static str),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    /// Turns a unique-constraint violation into [`DbError::Conflict`] naming `what`.
    pub fn conflict_on(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
        move |e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict(what),
            _ => DbError::Sqlx(e),
        }
    }

    /// Whether the database refused to change a record that is final (a signed
    /// note): its trigger's SQLSTATE on PostgreSQL, its message on SQLite.
    pub fn is_final_record(&self) -> bool {
        let DbError::Sqlx(sqlx::Error::Database(d)) = self else {
            return false;
        };
        d.code().as_deref() == Some("MS001") || d.message().contains("cannot be changed")
    }

    /// Whether the database refused the *values* it was given (text it cannot
    /// hold, a pattern or string too large), as opposed to failing itself: such an
    /// error is the caller's input, answered 422, never 500.
    pub fn is_bad_input(&self) -> bool {
        let DbError::Sqlx(sqlx::Error::Database(d)) = self else {
            return false;
        };
        let code = d.code();
        let code = code.as_deref().unwrap_or("");
        // PostgreSQL: SQLSTATE class 22, "data exception" (NUL in text, invalid
        // encoding, value too long, out-of-range numbers and dates).
        // SQLite: SQLITE_TOOBIG (18), and a LIKE pattern over its length limit.
        code.starts_with("22")
            || code == "18"
            || d.message().contains("pattern too complex")
            || d.message().contains("string or blob too big")
    }
}

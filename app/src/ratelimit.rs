//! Rate-limit counters in the database: every instance of the server adds to the
//! same count for an (endpoint, client) window. The policy (which endpoints, how
//! many, how long) is the server's (`server/src/ratelimit.rs`).

use crate::db::{on_conn, Db, DbError};

/// The hits counted for one (endpoint, client): in the current window, this one
/// included, and in the window before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hits {
    pub current: i64,
    pub previous: i64,
}

/// Counts one hit in the window starting at `window_start` (seconds since the
/// epoch) and returns it with the count of the window that started at
/// `previous_start`, so the caller can weigh a sliding window.
pub async fn hit(
    db: &Db,
    endpoint: &str,
    client: &str,
    window_start: i64,
    previous_start: i64,
) -> Result<Hits, DbError> {
    let mut tx = db.begin_platform().await?;
    let hits: i64 = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "INSERT INTO rate_limit_windows (endpoint, client, window_start, hits) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (endpoint, client, window_start) \
             DO UPDATE SET hits = rate_limit_windows.hits + 1 \
             RETURNING CAST(hits AS BIGINT)",
        )
        .bind(endpoint)
        .bind(client)
        .bind(window_start)
        .fetch_one(c)
        .await?
    });
    let previous: Option<i64> = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "SELECT CAST(hits AS BIGINT) FROM rate_limit_windows \
             WHERE endpoint = $1 AND client = $2 AND window_start = $3",
        )
        .bind(endpoint)
        .bind(client)
        .bind(previous_start)
        .fetch_optional(c)
        .await?
    });
    tx.commit().await?;
    Ok(Hits {
        current: hits,
        previous: previous.unwrap_or(0),
    })
}

/// Removes windows that started before `window_start`.
pub async fn forget_before(db: &Db, window_start: i64) -> Result<u64, DbError> {
    let mut tx = db.begin_platform().await?;
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM rate_limit_windows WHERE window_start < $1")
            .bind(window_start)
            .execute(c)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(done)
}

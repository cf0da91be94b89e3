//! The queue's statements. Every change to a claimed job is guarded by the
//! claiming worker's name, so a worker whose lease ran out (and whose job another
//! worker took) cannot mark it done or failed.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{backoff, periodic_job, Failure, Job, JobState, NewJob, KEEP_DONE, PERIODIC};
use crate::db::{on_conn, Db, DbError, PlatformTx, Tx};

const COLUMNS: &str = "id, kind, idempotency_key, payload, state, run_at, \
     CAST(attempts AS BIGINT) AS attempts, CAST(max_attempts AS BIGINT) AS max_attempts, \
     locked_by, last_error, requeued_at, created_at, finished_at";

/// Longest error text kept on a job.
const MAX_ERROR_CHARS: usize = 500;

/// Queues `job` on the caller's transaction, so it exists exactly when what
/// caused it commits. `false` when a job with its key already exists.
pub async fn enqueue(tx: &mut PlatformTx, job: &NewJob) -> Result<bool, DbError> {
    let inserted = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO jobs (id, kind, idempotency_key, payload, run_at, max_attempts, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(job.kind)
        .bind(&job.key)
        .bind(&job.payload)
        .bind(job.run_at)
        .bind(job.max_attempts)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// Queues `job` in a transaction of its own.
pub async fn enqueue_now(db: &Db, job: &NewJob) -> Result<bool, DbError> {
    let mut tx = db.begin_platform().await?;
    let inserted = enqueue(&mut tx, job).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// Queues this period's run of every periodic kind; returns how many were new.
pub async fn schedule_periodic(db: &Db, now: DateTime<Utc>) -> Result<usize, DbError> {
    let mut tx = db.begin_platform().await?;
    let mut queued = 0;
    for (kind, every) in PERIODIC {
        queued += usize::from(enqueue(&mut tx, &periodic_job(kind, *every, now)).await?);
    }
    tx.commit().await?;
    Ok(queued)
}

/// Claims up to `limit` due jobs of the given kinds for `worker`, until
/// `now + lease`. Jobs whose worker's lease ran out are due again; those that
/// had used their last attempt are buried instead.
pub async fn claim(
    db: &Db,
    worker: &str,
    kinds: &[&str],
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Job>, DbError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let due = due_condition(3, 5, kinds.len());
    // A look without the write lock first: an idle queue costs SQLite's writers
    // nothing.
    if !anything_due(db, kinds, now).await? {
        return Ok(Vec::new());
    }
    let mut tx = db.begin_platform().await?;
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_by = NULL, locked_until = NULL, \
             finished_at = $1, last_error = 'the worker stopped during the last attempt' \
             WHERE state = 'running' AND locked_until <= $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(c)
        .await?;
    });
    let lock = match tx.conn() {
        Tx::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        Tx::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
         locked_until = $2 WHERE id IN (SELECT id FROM jobs WHERE {due} \
         ORDER BY run_at, id LIMIT $4 {lock}) RETURNING {COLUMNS}"
    );
    let mut jobs = on_conn!(tx.conn(), |c| {
        let mut query = sqlx::query_as::<_, Job>(&sql)
            .bind(worker)
            .bind(now + lease)
            .bind(now)
            .bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        query.fetch_all(c).await?
    });
    tx.commit().await?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// The condition of a due job of one of `kinds`: queued and due, or running on
/// a lease that ran out. `now` is placeholder `$now`, the kinds `$first_kind`
/// onwards (bound one each; only their count shapes the text).
fn due_condition(now: usize, first_kind: usize, kinds: usize) -> String {
    let kinds = (0..kinds)
        .map(|i| format!("${}", first_kind + i))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "((state = 'queued' AND run_at <= ${now}) OR (state = 'running' AND locked_until <= ${now})) \
         AND kind IN ({kinds})"
    )
}

/// Whether any job of `kinds` is due at `now`.
async fn anything_due(db: &Db, kinds: &[&str], now: DateTime<Utc>) -> Result<bool, DbError> {
    let mut tx = db.begin_platform_read().await?;
    let sql = format!(
        "SELECT CAST(count(*) AS BIGINT) FROM (SELECT 1 FROM jobs WHERE {} LIMIT 1) AS due",
        due_condition(1, 2, kinds.len())
    );
    let found: i64 = on_conn!(tx.conn(), |c| {
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(now);
        for kind in kinds {
            query = query.bind(*kind);
        }
        query.fetch_one(c).await?
    });
    Ok(found > 0)
}

/// Marks a claimed job done; `false` when `worker` no longer holds it.
pub async fn complete(
    db: &Db,
    job: &Job,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = db.begin_platform().await?;
    let done = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $3, locked_by = NULL, \
             locked_until = NULL, last_error = NULL \
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(worker)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.commit().await?;
    Ok(done == 1)
}

/// Puts a claimed job back to wait until `at`, giving back its attempt; `false`
/// when `worker` no longer holds it.
pub async fn postpone(
    db: &Db,
    job: &Job,
    worker: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = db.begin_platform().await?;
    let changed = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $3, attempts = attempts - 1, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(worker)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.commit().await?;
    Ok(changed == 1)
}

/// Records a failed attempt: back to the queue after [`backoff`], or dead when
/// the failure is permanent or the attempts are used up. `Some(state)` is where
/// the job went; `None` when `worker` no longer holds it.
pub async fn fail(
    db: &Db,
    job: &Job,
    worker: &str,
    failure: &Failure,
    now: DateTime<Utc>,
) -> Result<Option<JobState>, DbError> {
    let dead = matches!(failure, Failure::Permanent(_)) || job.attempts >= job.max_attempts;
    let state = if dead {
        JobState::Dead
    } else {
        JobState::Queued
    };
    let error: String = failure.message().chars().take(MAX_ERROR_CHARS).collect();
    let mut tx = db.begin_platform().await?;
    let changed = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE jobs SET state = $3, last_error = $4, run_at = $5, finished_at = $6, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(worker)
        .bind(state.as_str())
        .bind(&error)
        .bind(if dead {
            job.run_at
        } else {
            now + backoff(job.attempts)
        })
        .bind(dead.then_some(now))
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.commit().await?;
    Ok((changed == 1).then_some(state))
}

/// Sends a dead job back to the queue with fresh attempts (an operator's
/// decision); `false` when no dead job has that id.
pub async fn requeue(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbError> {
    let mut tx = db.begin_platform().await?;
    let changed = requeue_in(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(changed)
}

/// [`requeue`] on the caller's transaction (to commit with its audit event).
pub async fn requeue_in(
    tx: &mut PlatformTx,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, requeued_at = $2, \
             finished_at = NULL WHERE id = $1 AND state = 'dead'",
        )
        .bind(id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Jobs in `state`, most recent first (operators' view).
pub async fn list(db: &Db, state: JobState, limit: i64) -> Result<Vec<Job>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE state = $1 \
         ORDER BY coalesce(finished_at, run_at) DESC, id DESC LIMIT $2"
    );
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Job>(&sql)
            .bind(state.as_str())
            .bind(limit)
            .fetch_all(c)
            .await?
    }))
}

/// One job by id.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<Job>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Job>(&sql)
            .bind(id)
            .fetch_optional(c)
            .await?
    }))
}

/// One job by its idempotency key.
pub async fn find_by_key(db: &Db, key: &str) -> Result<Option<Job>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE idempotency_key = $1");
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Job>(&sql)
            .bind(key)
            .fetch_optional(c)
            .await?
    }))
}

/// How many jobs are in each state: (state, kind, count).
pub async fn counts(db: &Db) -> Result<Vec<(String, String, i64)>, DbError> {
    let mut tx = db.begin_platform_read().await?;
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, (String, String, i64)>(
            "SELECT state, kind, CAST(count(*) AS BIGINT) FROM jobs \
             GROUP BY state, kind ORDER BY state, kind",
        )
        .fetch_all(c)
        .await?
    }))
}

/// Forgets jobs finished more than [`KEEP_DONE`] before `now`.
pub async fn prune(db: &Db, now: DateTime<Utc>) -> Result<u64, DbError> {
    let mut tx = db.begin_platform().await?;
    let gone = on_conn!(tx.conn(), |c| {
        sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(now - KEEP_DONE)
            .execute(c)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(gone)
}

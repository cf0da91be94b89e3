-- The durable job queue: every piece of background work (mail delivery, the
-- trial clock, record purges, housekeeping, and later reminders) is a row here.
-- A platform table (no tenant_id, no row-level security: workers serve every
-- clinic). A job's payload names the ids it needs (a clinic's, a record's),
-- never PHI. Claims are serialized by SQLite's single writer (`BEGIN IMMEDIATE`).
CREATE TABLE jobs (
    id              BLOB    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    -- The same logical job is never enqueued twice: enqueueing a key that
    -- exists does nothing.
    idempotency_key TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    payload         TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'queued'
                            CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    -- The worker holding a running job, and until when: a worker that dies
    -- leaves its lease to run out, and another worker takes the job again.
    locked_by       TEXT,
    locked_until    TEXT,
    last_error      TEXT,
    -- When an operator last sent a dead job back to the queue.
    requeued_at     TEXT,
    created_at      TEXT    NOT NULL,
    finished_at     TEXT,
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
) STRICT;
CREATE INDEX jobs_due ON jobs (state, run_at);

-- A message whose delivery began. Set (and committed) before the SMTP
-- conversation, cleared by a known failure: a message found with it set and
-- no outcome was perhaps delivered by a worker that died, and is not sent again
-- unless an operator says so.
ALTER TABLE mail_outbox ADD COLUMN sending_at TEXT;

-- Mail stored before the queue existed gets its delivery job.
INSERT INTO jobs (id, kind, idempotency_key, payload, run_at, max_attempts, created_at)
SELECT randomblob(16), 'mail-delivery', 'mail:' || lower(hex(id)), lower(hex(id)), created_at, 10, created_at
FROM mail_outbox WHERE sent_at IS NULL AND attempts < 10;

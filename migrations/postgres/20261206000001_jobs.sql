-- The durable job queue: every piece of background work (mail delivery, the
-- trial clock, record purges, housekeeping, and later reminders) is a row here.
-- A platform table (no tenant_id, no row-level security: workers serve every
-- clinic). A job's payload names the ids it needs (a clinic's, a record's),
-- never PHI.
CREATE TABLE jobs (
    id              uuid        NOT NULL PRIMARY KEY,
    kind            text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    -- The same logical job is never enqueued twice: enqueueing a key that
    -- exists does nothing.
    idempotency_key text        NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    payload         text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'queued'
                                CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at          timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer     NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    -- The worker holding a running job, and until when: a worker that dies
    -- leaves its lease to run out, and another worker takes the job again.
    locked_by       text,
    locked_until    timestamptz,
    last_error      text,
    -- When an operator last sent a dead job back to the queue.
    requeued_at     timestamptz,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
);
CREATE INDEX jobs_due ON jobs (state, run_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO medisync_app;

-- A message whose delivery began. Set (and committed) before the SMTP
-- conversation, cleared by a known failure: a message found with it set and
-- no outcome was perhaps delivered by a worker that died, and is not sent again
-- unless an operator says so.
ALTER TABLE mail_outbox ADD COLUMN sending_at timestamptz;

-- Mail stored before the queue existed gets its delivery job.
INSERT INTO jobs (id, kind, idempotency_key, payload, run_at, max_attempts, created_at)
SELECT gen_random_uuid(), 'mail-delivery', 'mail:' || id::text, id::text, created_at, 10, created_at
FROM mail_outbox WHERE sent_at IS NULL AND attempts < 10;

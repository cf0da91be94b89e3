-- The waiting-room queue. A walk-in gets the next token of a practitioner's
-- day; a patient with an appointment joins when marked arrived, placed at
-- their booked time. An entry moves waiting → called → in consultation →
-- done; a call nobody answers is a skip (back of the line), and the third skip
-- makes a no-show. `left` is an entry taken out of the line (an arrival undone,
-- a visit cancelled). Tokens are unique per practitioner and day.
CREATE TABLE queue_entries (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    staff_id       BLOB    NOT NULL,
    session_date   TEXT    NOT NULL,
    token          INTEGER NOT NULL CHECK (token BETWEEN 1 AND 9999),
    patient_id     BLOB    NOT NULL,
    appointment_id BLOB,
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'called', 'in_consultation', 'done',
                                                     'no_show', 'left')),
    skips          INTEGER NOT NULL DEFAULT 0 CHECK (skips BETWEEN 0 AND 3),
    -- The place in line: the booked time, or when a walk-in arrived or was skipped.
    line_at        TEXT    NOT NULL,
    joined_at      TEXT    NOT NULL,
    called_at      TEXT,
    started_at     TEXT,
    finished_at    TEXT,
    updated_at     TEXT    NOT NULL,
    created_by     BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id),
    CHECK (state <> 'in_consultation' OR started_at IS NOT NULL),
    CHECK (state NOT IN ('done', 'no_show', 'left') OR finished_at IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX queue_entries_token ON queue_entries (tenant_id, staff_id, session_date, token);
CREATE UNIQUE INDEX queue_entries_appointment ON queue_entries (tenant_id, appointment_id)
    WHERE appointment_id IS NOT NULL;
CREATE INDEX queue_entries_day ON queue_entries (tenant_id, session_date, staff_id);
CREATE INDEX queue_entries_patient ON queue_entries (tenant_id, patient_id);

-- The waiting-room screen's private link (`/queue/board/{secret}`): only the
-- secret's SHA-256 is kept; a new link replaces the old one.
CREATE TABLE queue_boards (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    token_hash TEXT NOT NULL CHECK (length(token_hash) = 64),
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id)
) STRICT;
CREATE UNIQUE INDEX queue_boards_token ON queue_boards (token_hash);

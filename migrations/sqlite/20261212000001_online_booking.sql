-- Online booking on the clinic's public page (`/book`). A visitor picks a
-- time, which is held for them (`slot_holds`) while they prove their email
-- with a one-time code; then the visit is booked and the request keeps only
-- the hashed link the patient manages the booking with. What the visitor typed
-- is cleared once it is the patient's record, and unconfirmed requests are
-- dropped a day after they expire.
CREATE TABLE online_bookings (
    tenant_id      BLOB        NOT NULL REFERENCES tenants (id),
    id             BLOB        NOT NULL,
    type_id        BLOB        NOT NULL,
    staff_id       BLOB        NOT NULL,
    location_id    BLOB        NOT NULL,
    starts_at      TEXT        NOT NULL,
    given_name     TEXT        CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name    TEXT        CHECK (length(family_name) BETWEEN 1 AND 100),
    birth_date     TEXT,
    sex            TEXT        CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    email          TEXT        CHECK (length(email) BETWEEN 3 AND 254),
    phone          TEXT        CHECK (length(phone) BETWEEN 8 AND 16),
    -- SHA-256 (hex) of the request id and the code sent by email.
    code_hash      TEXT        NOT NULL CHECK (length(code_hash) = 64),
    attempts       INTEGER     NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    expires_at     TEXT        NOT NULL,
    created_at     TEXT        NOT NULL,
    confirmed_at   TEXT,
    appointment_id BLOB,
    -- SHA-256 (hex) of the secret in the patient's "manage your booking" link.
    manage_hash    TEXT        CHECK (length(manage_hash) = 64),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    CHECK ((confirmed_at IS NULL) = (appointment_id IS NULL)),
    CHECK ((confirmed_at IS NULL) = (manage_hash IS NULL)),
    -- A pending request holds what was typed; a confirmed one holds none of it.
    CHECK ((confirmed_at IS NULL) = (given_name IS NOT NULL AND family_name IS NOT NULL
           AND birth_date IS NOT NULL AND sex IS NOT NULL AND email IS NOT NULL)),
    CHECK (confirmed_at IS NULL OR phone IS NULL)
) STRICT;
CREATE UNIQUE INDEX online_bookings_manage ON online_bookings (tenant_id, manage_hash)
    WHERE manage_hash IS NOT NULL;
CREATE INDEX online_bookings_pending ON online_bookings (tenant_id, expires_at)
    WHERE confirmed_at IS NULL;
CREATE INDEX online_bookings_appointment ON online_bookings (tenant_id, appointment_id);

-- A time held for a pending request: the slot engine counts it as busy until
-- `held_until`. One hold per practitioner and start (an expired one is removed
-- before a new one is written); group sessions are not held.
CREATE TABLE slot_holds (
    tenant_id      BLOB        NOT NULL REFERENCES tenants (id),
    request_id     BLOB        NOT NULL,
    staff_id       BLOB        NOT NULL,
    starts_at      TEXT        NOT NULL,
    occupied_from  TEXT        NOT NULL,
    occupied_until TEXT        NOT NULL,
    held_until     TEXT        NOT NULL,
    PRIMARY KEY (tenant_id, request_id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES online_bookings (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    CHECK (occupied_from <= starts_at AND starts_at < occupied_until)
) STRICT;
CREATE UNIQUE INDEX slot_holds_one_per_time ON slot_holds (tenant_id, staff_id, starts_at);
CREATE INDEX slot_holds_staff_time ON slot_holds (tenant_id, staff_id, occupied_from);

-- One file attached to an outgoing email (an appointment's calendar entry).
ALTER TABLE mail_outbox ADD COLUMN attachment_name TEXT CHECK (length(attachment_name) BETWEEN 1 AND 100);
ALTER TABLE mail_outbox ADD COLUMN attachment_type TEXT CHECK (length(attachment_type) BETWEEN 3 AND 100);
ALTER TABLE mail_outbox ADD COLUMN attachment_body TEXT CHECK (length(attachment_body) <= 65536);

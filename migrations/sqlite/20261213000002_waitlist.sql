-- The waitlist. A patient waits for a visit type at a location, with one
-- practitioner or any, between two dates. When time frees up (a cancellation,
-- a visit moved away), a job offers it to the first matching waiting patients
-- by email: each offer holds the time (the slot engine counts an open offer as
-- busy) until it expires; the first to accept books it, the others are told it
-- was taken; an expired offer moves on to the next in line. An entry is never
-- offered the same time twice.
CREATE TABLE waitlist_entries (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    patient_id     BLOB    NOT NULL,
    type_id        BLOB    NOT NULL,
    location_id    BLOB    NOT NULL,
    -- NULL: any practitioner who offers the type there.
    staff_id       BLOB,
    from_date      TEXT    NOT NULL,
    until_date     TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'offered', 'booked', 'withdrawn')),
    appointment_id BLOB,
    joined_via     TEXT    NOT NULL CHECK (joined_via IN ('desk', 'portal')),
    -- Where offers are sent: the record's address, or the portal account's.
    notify_email   TEXT    NOT NULL CHECK (length(notify_email) BETWEEN 3 AND 254),
    created_by     BLOB,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id),
    CHECK (from_date <= until_date),
    CHECK ((state = 'booked') = (appointment_id IS NOT NULL))
) STRICT;
CREATE INDEX waitlist_entries_waiting ON waitlist_entries (tenant_id, location_id, state, created_at);
CREATE INDEX waitlist_entries_patient ON waitlist_entries (tenant_id, patient_id);

CREATE TABLE waitlist_offers (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    entry_id       BLOB    NOT NULL,
    staff_id       BLOB    NOT NULL,
    starts_at      TEXT    NOT NULL,
    occupied_from  TEXT    NOT NULL,
    occupied_until TEXT    NOT NULL,
    -- SHA-256 (hex) of the secret in the offer's link.
    token_hash     TEXT    NOT NULL CHECK (length(token_hash) = 64),
    state          TEXT    NOT NULL CHECK (state IN ('open', 'accepted', 'taken', 'expired')),
    offered_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    answered_at    TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, entry_id) REFERENCES waitlist_entries (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    CHECK (occupied_from <= starts_at AND starts_at < occupied_until),
    CHECK (offered_at < expires_at),
    UNIQUE (tenant_id, entry_id, staff_id, starts_at)
) STRICT;
CREATE UNIQUE INDEX waitlist_offers_token ON waitlist_offers (token_hash);
CREATE INDEX waitlist_offers_staff_time ON waitlist_offers (tenant_id, staff_id, occupied_from);

-- How long an offer holds its time (minutes).
ALTER TABLE scheduling_settings ADD COLUMN waitlist_offer_minutes INTEGER NOT NULL DEFAULT 60
    CHECK (waitlist_offer_minutes BETWEEN 5 AND 1440);

-- What a member of staff last typed into the booking form's patient search.
-- A typed name or phone names a patient, so it never travels in an address
-- (addresses end up in logs and browser history); it waits here instead, for
-- a short while, and a booking clears it.
CREATE TABLE booking_searches (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    staff_id  BLOB NOT NULL,
    query     TEXT NOT NULL CHECK (length(query) BETWEEN 1 AND 100),
    saved_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id) ON DELETE CASCADE
) STRICT;

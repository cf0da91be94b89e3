-- What a member of staff last typed into the booking form's patient search.
-- A typed name or phone names a patient, so it never travels in an address
-- (addresses end up in logs and browser history); it waits here instead, for
-- a short while, and a booking clears it.
CREATE TABLE booking_searches (
    tenant_id uuid        NOT NULL REFERENCES tenants (id),
    staff_id  uuid        NOT NULL,
    query     text        NOT NULL CHECK (length(query) BETWEEN 1 AND 100),
    saved_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE booking_searches ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking_searches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON booking_searches
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON booking_searches TO medisync_app;

-- A practitioner's private calendar feed (`/calendar/{secret}.ics`): only the
-- secret's SHA-256 is kept; a new link replaces the old one, and turning the
-- feed off deletes the row.
CREATE TABLE calendar_feeds (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    staff_id   uuid        NOT NULL,
    token_hash text        NOT NULL CHECK (length(token_hash) = 64),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id)
);
CREATE UNIQUE INDEX calendar_feeds_token ON calendar_feeds (tenant_id, token_hash);

ALTER TABLE calendar_feeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_feeds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calendar_feeds
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_feeds TO medisync_app;

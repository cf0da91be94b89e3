-- A practitioner's private calendar feed (`/calendar/{secret}.ics`): only the
-- secret's SHA-256 is kept; a new link replaces the old one, and turning the
-- feed off deletes the row.
CREATE TABLE calendar_feeds (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    staff_id   BLOB NOT NULL,
    token_hash TEXT NOT NULL CHECK (length(token_hash) = 64),
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id)
) STRICT;
CREATE UNIQUE INDEX calendar_feeds_token ON calendar_feeds (tenant_id, token_hash);

-- Self-service: plans and limits, trials, suspension reasons, clinic settings,
-- stored files, monthly usage, support impersonation, and TOTP replay protection.
-- Additive only: existing rows keep working.

CREATE TABLE plans (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    price_cents    INTEGER NOT NULL CHECK (price_cents >= 0),
    currency       TEXT    NOT NULL,
    max_users      INTEGER CHECK (max_users > 0),
    max_patients   INTEGER CHECK (max_patients > 0),
    storage_bytes  INTEGER NOT NULL CHECK (storage_bytes > 0),
    features       TEXT    NOT NULL,
    sort_order     INTEGER NOT NULL DEFAULT 0,
    retired_at     TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;

INSERT INTO plans (id, name, price_cents, currency, max_users, max_patients, storage_bytes, features, sort_order, created_at, updated_at) VALUES
 ('starter', 'Starter', 9900, 'USD', 10, 500, 5368709120,
  '["basic_ehr","patients","appointments"]', 1, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z'),
 ('professional', 'Professional', 29900, 'USD', 50, 2000, 26843545600,
  '["basic_ehr","patients","appointments","prescriptions","lab_integration","reports"]', 2, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z'),
 ('enterprise', 'Enterprise', 79900, 'USD', NULL, NULL, 107374182400,
  '["basic_ehr","patients","appointments","prescriptions","lab_integration","reports","api_access","custom_integrations","advanced_analytics"]', 3, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z');

-- SQLite cannot add a column with both REFERENCES and a non-NULL default; the
-- application only ever writes plan ids it has read from `plans`.
ALTER TABLE tenants ADD COLUMN plan_id TEXT NOT NULL DEFAULT 'starter';
ALTER TABLE tenants ADD COLUMN trial_ends_at TEXT;
ALTER TABLE tenants ADD COLUMN trial_reminder_sent_at TEXT;
-- The payments seam: a tenant whose plan is paid for until this time is not
-- suspended when its trial ends.
ALTER TABLE tenants ADD COLUMN paid_until TEXT;
ALTER TABLE tenants ADD COLUMN status_reason TEXT;
ALTER TABLE tenants ADD COLUMN working_days TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri';
CREATE INDEX tenants_status ON tenants (status, created_at);

-- Files a tenant stored (its logo and its resized renditions), for storage usage.
CREATE TABLE tenant_files (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('logo')),
    object_key   TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        INTEGER NOT NULL CHECK (bytes >= 0),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, object_key)
) STRICT;

CREATE TABLE tenant_usage (
    tenant_id BLOB    NOT NULL REFERENCES tenants (id),
    month     TEXT    NOT NULL,
    api_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month)
) STRICT;

-- A platform operator's time-bound support access to one tenant. Tenant data:
-- the clinic's owner sees it, and it is written inside the tenant's scope.
CREATE TABLE impersonations (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    operator_id BLOB NOT NULL REFERENCES accounts (id),
    operator_email TEXT NOT NULL,
    reason      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX impersonations_tenant ON impersonations (tenant_id, started_at);

-- A custom domain serves the clinic only once its TXT record shows this token.
ALTER TABLE tenants ADD COLUMN custom_domain_token TEXT;
ALTER TABLE tenants ADD COLUMN custom_domain_verified_at TEXT;

-- The last TOTP time step accepted, so one code cannot be used twice.
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER;

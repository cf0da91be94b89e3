-- Self-service: plans and limits, trials, suspension reasons, clinic settings,
-- stored files, monthly usage, support impersonation, and TOTP replay protection.
-- Additive only: existing rows keep working.

CREATE TABLE plans (
    id             text        NOT NULL PRIMARY KEY,
    name           text        NOT NULL UNIQUE,
    price_cents    bigint      NOT NULL CHECK (price_cents >= 0),
    currency       text        NOT NULL,
    max_users      bigint      CHECK (max_users > 0),
    max_patients   bigint      CHECK (max_patients > 0),
    storage_bytes  bigint      NOT NULL CHECK (storage_bytes > 0),
    features       text        NOT NULL,
    sort_order     bigint      NOT NULL DEFAULT 0,
    retired_at     timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

INSERT INTO plans (id, name, price_cents, currency, max_users, max_patients, storage_bytes, features, sort_order, created_at, updated_at) VALUES
 ('starter', 'Starter', 9900, 'USD', 10, 500, 5368709120,
  '["basic_ehr","patients","appointments"]', 1, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z'),
 ('professional', 'Professional', 29900, 'USD', 50, 2000, 26843545600,
  '["basic_ehr","patients","appointments","prescriptions","lab_integration","reports"]', 2, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z'),
 ('enterprise', 'Enterprise', 79900, 'USD', NULL, NULL, 107374182400,
  '["basic_ehr","patients","appointments","prescriptions","lab_integration","reports","api_access","custom_integrations","advanced_analytics"]', 3, '2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z');

ALTER TABLE tenants ADD COLUMN plan_id text NOT NULL DEFAULT 'starter' REFERENCES plans (id);
ALTER TABLE tenants ADD COLUMN trial_ends_at timestamptz;
ALTER TABLE tenants ADD COLUMN trial_reminder_sent_at timestamptz;
-- The payments seam: a tenant whose plan is paid for until this time is not
-- suspended when its trial ends.
ALTER TABLE tenants ADD COLUMN paid_until timestamptz;
ALTER TABLE tenants ADD COLUMN status_reason text;
ALTER TABLE tenants ADD COLUMN working_days text NOT NULL DEFAULT 'mon,tue,wed,thu,fri';
CREATE INDEX tenants_status ON tenants (status, created_at);

CREATE TABLE tenant_files (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    purpose      text        NOT NULL CHECK (purpose IN ('logo')),
    object_key   text        NOT NULL,
    content_type text        NOT NULL,
    bytes        bigint      NOT NULL CHECK (bytes >= 0),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, object_key)
);

CREATE TABLE tenant_usage (
    tenant_id uuid   NOT NULL REFERENCES tenants (id),
    month     text   NOT NULL,
    api_calls bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month)
);

CREATE TABLE impersonations (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    operator_id uuid        NOT NULL REFERENCES accounts (id),
    operator_email text     NOT NULL,
    reason      text        NOT NULL,
    started_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX impersonations_tenant ON impersonations (tenant_id, started_at);

-- A custom domain serves the clinic only once its TXT record shows this token.
ALTER TABLE tenants ADD COLUMN custom_domain_token text;
ALTER TABLE tenants ADD COLUMN custom_domain_verified_at timestamptz;

-- The last TOTP time step accepted, so one code cannot be used twice.
ALTER TABLE accounts ADD COLUMN totp_last_step bigint;

ALTER TABLE tenant_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_files
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON plans, tenant_files, tenant_usage TO medisync_app;
-- Support access is a record: the application may open and close it, never erase it.
GRANT SELECT, INSERT, UPDATE ON impersonations TO medisync_app;

ALTER TABLE impersonations ENABLE ROW LEVEL SECURITY;
ALTER TABLE impersonations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON impersonations
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Identity: passwords, two-factor, sessions, one-time tokens, invitations, audit,
-- and the mail outbox. Additive only: existing rows keep working.

ALTER TABLE accounts ADD COLUMN password_hash text;
ALTER TABLE accounts ADD COLUMN password_changed_at timestamptz;
ALTER TABLE accounts ADD COLUMN email_verified_at timestamptz;
ALTER TABLE accounts ADD COLUMN failed_signins integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until timestamptz;
ALTER TABLE accounts ADD COLUMN totp_secret text;
ALTER TABLE accounts ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE accounts ADD COLUMN platform_role text CHECK (platform_role IN ('super_admin', 'support'));

ALTER TABLE patients ADD COLUMN account_id uuid REFERENCES accounts (id);
CREATE UNIQUE INDEX patients_account ON patients (tenant_id, account_id) WHERE account_id IS NOT NULL;

CREATE TABLE recovery_codes (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE sessions (
    id         text        NOT NULL PRIMARY KEY,
    account_id uuid,
    data       text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE account_tokens (
    id         uuid        NOT NULL PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('reset_password', 'verify_email')),
    token_hash text        NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);

CREATE TABLE invitations (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('staff', 'patient')),
    email       text        NOT NULL,
    role        text        CHECK (role IN ('owner', 'admin', 'manager', 'doctor', 'nurse',
                                            'receptionist', 'billing', 'lab_technician', 'pharmacist')),
    patient_id  uuid,
    token_hash  text        NOT NULL UNIQUE,
    invited_by  uuid        REFERENCES accounts (id),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    CHECK ((kind = 'staff' AND role IS NOT NULL AND patient_id IS NULL)
        OR (kind = 'patient' AND role IS NULL AND patient_id IS NOT NULL))
);

CREATE TABLE audit_events (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor_id    uuid,
    actor_email text,
    action      text        NOT NULL,
    target      text,
    ip          text,
    user_agent  text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at);

CREATE TABLE platform_audit_events (
    id          uuid        NOT NULL PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    actor_id    uuid,
    actor_email text,
    action      text        NOT NULL,
    target      text,
    ip          text,
    user_agent  text
);

CREATE TABLE mail_outbox (
    id         uuid        NOT NULL PRIMARY KEY,
    to_address text        NOT NULL,
    subject    text        NOT NULL,
    text_body  text        NOT NULL,
    html_body  text        NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at    timestamptz,
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at, created_at);

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes, sessions, account_tokens, invitations,
    platform_audit_events, mail_outbox TO medisync_app;
-- The audit trail is append-only for the application.
GRANT SELECT, INSERT ON audit_events TO medisync_app;

-- A tenant's sign-in policy.
ALTER TABLE tenants ADD COLUMN require_staff_2fa boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN staff_idle_minutes integer CHECK (staff_idle_minutes BETWEEN 1 AND 720);

-- An account may read its own staff memberships across tenants (the clinic
-- switcher). Read-only and limited to rows naming that account.
CREATE POLICY own_account ON staff_members FOR SELECT
    USING (account_id = nullif(current_setting('app.account_id', true), '')::uuid);

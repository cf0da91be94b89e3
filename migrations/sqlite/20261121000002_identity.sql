-- Identity: passwords, two-factor, sessions, one-time tokens, invitations, audit,
-- and the mail outbox. Additive only: existing rows keep working.

ALTER TABLE accounts ADD COLUMN password_hash TEXT;
ALTER TABLE accounts ADD COLUMN password_changed_at TEXT;
ALTER TABLE accounts ADD COLUMN email_verified_at TEXT;
ALTER TABLE accounts ADD COLUMN failed_signins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN locked_until TEXT;
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled_at TEXT;
ALTER TABLE accounts ADD COLUMN platform_role TEXT CHECK (platform_role IN ('super_admin', 'support'));

-- A patient's portal account, linked once the patient accepts an invitation.
ALTER TABLE patients ADD COLUMN account_id BLOB REFERENCES accounts (id);
CREATE UNIQUE INDEX patients_account ON patients (tenant_id, account_id) WHERE account_id IS NOT NULL;

CREATE TABLE recovery_codes (
    account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

-- tower-sessions records. account_id is copied out of the record so every session
-- of one person can be revoked at once.
CREATE TABLE sessions (
    id         TEXT NOT NULL PRIMARY KEY,
    account_id BLOB,
    data       TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Password reset, email verification, platform set-password links.
CREATE TABLE account_tokens (
    id         BLOB NOT NULL PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('reset_password', 'verify_email')),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE invitations (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('staff', 'patient')),
    email       TEXT NOT NULL,
    role        TEXT CHECK (role IN ('owner', 'admin', 'manager', 'doctor', 'nurse',
                                     'receptionist', 'billing', 'lab_technician', 'pharmacist')),
    patient_id  BLOB,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  BLOB REFERENCES accounts (id),
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    CHECK ((kind = 'staff' AND role IS NOT NULL AND patient_id IS NULL)
        OR (kind = 'patient' AND role IS NULL AND patient_id IS NOT NULL))
) STRICT;

CREATE TABLE audit_events (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    occurred_at TEXT NOT NULL,
    actor_id    BLOB,
    actor_email TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    ip          TEXT,
    user_agent  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at);

CREATE TABLE platform_audit_events (
    id          BLOB NOT NULL PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor_id    BLOB,
    actor_email TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    ip          TEXT,
    user_agent  TEXT
) STRICT;

-- Every email is written here in the transaction that caused it; a worker delivers
-- it over SMTP when configured. Without SMTP it stays here (dev mailbox).
CREATE TABLE mail_outbox (
    id         BLOB NOT NULL PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at, created_at);

-- A tenant's sign-in policy.
ALTER TABLE tenants ADD COLUMN require_staff_2fa INTEGER NOT NULL DEFAULT 0 CHECK (require_staff_2fa IN (0, 1));
ALTER TABLE tenants ADD COLUMN staff_idle_minutes INTEGER CHECK (staff_idle_minutes BETWEEN 1 AND 720);

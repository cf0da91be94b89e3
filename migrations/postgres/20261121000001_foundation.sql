-- Runs as the schema owner. The application connects as a member of medisync_app,
-- which gets DML only and is subject to the row-level security below.

-- Platform tables ---------------------------------------------------------

CREATE TABLE tenants (
    id            uuid        NOT NULL PRIMARY KEY,
    slug          text        NOT NULL UNIQUE,
    name          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('clinic', 'hospital', 'practice')),
    status        text        NOT NULL CHECK (status IN ('trial', 'active', 'suspended', 'cancelled')),
    custom_domain text        UNIQUE,
    branding      jsonb       NOT NULL,
    timezone      text        NOT NULL,
    currency      text        NOT NULL,
    language      text        NOT NULL,
    date_format   text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE accounts (
    id           uuid        NOT NULL PRIMARY KEY,
    email        text        NOT NULL UNIQUE,
    display_name text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Tenant tables: (tenant_id, id) keys, tenant-inclusive foreign keys ------

CREATE TABLE staff_members (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    account_id   uuid        NOT NULL REFERENCES accounts (id),
    role         text        NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'doctor', 'nurse',
                                                      'receptionist', 'billing', 'lab_technician', 'pharmacist')),
    status       text        NOT NULL CHECK (status IN ('active', 'deactivated')),
    display_name text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id)
);

CREATE TABLE patients (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    id               uuid        NOT NULL,
    mrn              text        NOT NULL,
    given_name       text        NOT NULL,
    family_name      text        NOT NULL,
    search_name      text        NOT NULL,
    birth_date       date        NOT NULL,
    sex              text        NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    email            text,
    phone            text,
    primary_staff_id uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, mrn),
    FOREIGN KEY (tenant_id, primary_staff_id) REFERENCES staff_members (tenant_id, id)
);

CREATE INDEX patients_search ON patients (tenant_id, search_name);

-- Row-level security: a second wall behind the application's tenant scoping ---

ALTER TABLE staff_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON staff_members
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patients
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, accounts, staff_members, patients TO medisync_app;

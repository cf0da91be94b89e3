-- Platform tables ---------------------------------------------------------

CREATE TABLE tenants (
    id            BLOB NOT NULL PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('clinic', 'hospital', 'practice')),
    status        TEXT NOT NULL CHECK (status IN ('trial', 'active', 'suspended', 'cancelled')),
    custom_domain TEXT UNIQUE,
    branding      TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    currency      TEXT NOT NULL,
    language      TEXT NOT NULL,
    date_format   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE accounts (
    id           BLOB NOT NULL PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

-- Tenant tables: (tenant_id, id) keys, tenant-inclusive foreign keys ------

CREATE TABLE staff_members (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    account_id   BLOB NOT NULL REFERENCES accounts (id),
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'doctor', 'nurse',
                                               'receptionist', 'billing', 'lab_technician', 'pharmacist')),
    status       TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id)
) STRICT;

CREATE TABLE patients (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id),
    id               BLOB NOT NULL,
    mrn              TEXT NOT NULL,
    given_name       TEXT NOT NULL,
    family_name      TEXT NOT NULL,
    search_name      TEXT NOT NULL,
    birth_date       TEXT NOT NULL,
    sex              TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    email            TEXT,
    phone            TEXT,
    primary_staff_id BLOB,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, mrn),
    FOREIGN KEY (tenant_id, primary_staff_id) REFERENCES staff_members (tenant_id, id)
) STRICT;

CREATE INDEX patients_search ON patients (tenant_id, search_name);

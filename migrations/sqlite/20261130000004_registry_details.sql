-- The registry's lists: emergency contacts, insurance entries and identifiers
-- from other systems (a national id, another hospital's record number). Entries
-- are removed by marking them, never deleted, so the record keeps its history.

CREATE TABLE patient_contacts (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (id),
    id         BLOB    NOT NULL,
    patient_id BLOB    NOT NULL,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    relation   TEXT    NOT NULL CHECK (length(relation) BETWEEN 1 AND 60),
    phone      TEXT    NOT NULL CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 8 AND 16),
    is_primary INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    added_by   BLOB    NOT NULL,
    added_at   TEXT    NOT NULL,
    removed_by BLOB,
    removed_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL))
) STRICT;
CREATE INDEX patient_contacts_patient ON patient_contacts (tenant_id, patient_id);
CREATE UNIQUE INDEX patient_contacts_one_primary ON patient_contacts (tenant_id, patient_id)
    WHERE is_primary = 1 AND removed_at IS NULL;

CREATE TABLE patient_insurance (
    tenant_id     BLOB    NOT NULL REFERENCES tenants (id),
    id            BLOB    NOT NULL,
    patient_id    BLOB    NOT NULL,
    provider      TEXT    NOT NULL CHECK (length(provider) BETWEEN 2 AND 120),
    policy_number TEXT    NOT NULL CHECK (length(policy_number) BETWEEN 1 AND 60),
    group_number  TEXT,
    subscriber    TEXT,
    valid_from    TEXT,
    valid_to      TEXT,
    is_primary    INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    added_by      BLOB    NOT NULL,
    added_at      TEXT    NOT NULL,
    removed_by    BLOB,
    removed_at    TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL)),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
) STRICT;
CREATE INDEX patient_insurance_patient ON patient_insurance (tenant_id, patient_id);
CREATE UNIQUE INDEX patient_insurance_one_primary ON patient_insurance (tenant_id, patient_id)
    WHERE is_primary = 1 AND removed_at IS NULL;

CREATE TABLE patient_identifiers (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    patient_id BLOB NOT NULL,
    system     TEXT NOT NULL CHECK (length(system) BETWEEN 2 AND 60),
    value      TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 60),
    added_by   BLOB NOT NULL,
    added_at   TEXT NOT NULL,
    removed_by BLOB,
    removed_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL))
) STRICT;
CREATE INDEX patient_identifiers_patient ON patient_identifiers (tenant_id, patient_id);
CREATE UNIQUE INDEX patient_identifiers_unique ON patient_identifiers (tenant_id, system, value)
    WHERE removed_at IS NULL;

-- Nothing of the registry's lists is deleted.
CREATE TRIGGER patient_contacts_kept BEFORE DELETE ON patient_contacts
BEGIN SELECT RAISE(ABORT, 'registry entries are removed by marking them, never deleted'); END;
CREATE TRIGGER patient_insurance_kept BEFORE DELETE ON patient_insurance
BEGIN SELECT RAISE(ABORT, 'registry entries are removed by marking them, never deleted'); END;
CREATE TRIGGER patient_identifiers_kept BEFORE DELETE ON patient_identifiers
BEGIN SELECT RAISE(ABORT, 'registry entries are removed by marking them, never deleted'); END;

-- The charts each staff member opened last (the patients page lists them).
CREATE TABLE recent_patients (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    staff_id   BLOB NOT NULL,
    patient_id BLOB NOT NULL,
    viewed_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, patient_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
) STRICT;
CREATE INDEX recent_patients_latest ON recent_patients (tenant_id, staff_id, viewed_at);

-- A patient's request, from the portal, to correct their details; the front
-- desk makes the change (or explains why not) and closes it.
CREATE TABLE patient_correction_requests (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    patient_id   BLOB NOT NULL,
    message      TEXT NOT NULL CHECK (length(message) BETWEEN 5 AND 2000),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'corrected', 'declined')),
    requested_at TEXT NOT NULL,
    decided_by   BLOB,
    decided_at   TEXT,
    response     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, decided_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((status = 'pending') = (decided_by IS NULL)),
    CHECK ((decided_by IS NULL) = (decided_at IS NULL)),
    CHECK (status <> 'declined' OR response IS NOT NULL)
) STRICT;
CREATE INDEX patient_correction_requests_patient ON patient_correction_requests (tenant_id, patient_id, requested_at);
CREATE TRIGGER patient_correction_requests_kept BEFORE DELETE ON patient_correction_requests
BEGIN SELECT RAISE(ABORT, 'correction requests are kept'); END;

-- Seed 002's doctor-level visibility: when on, a doctor sees only the patients
-- assigned to them or whose visit notes they wrote (off by default).
ALTER TABLE tenants ADD COLUMN doctors_see_own_patients INTEGER NOT NULL DEFAULT 0 CHECK (doctors_see_own_patients IN (0, 1));

-- The list of a clinic's current patients by name, and its count, from one
-- index (archived records are not in it).
CREATE INDEX patients_listed ON patients (tenant_id, search_name, id) WHERE archived_at IS NULL;

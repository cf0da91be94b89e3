-- The registry's lists: emergency contacts, insurance entries and identifiers
-- from other systems (a national id, another hospital's record number). Entries
-- are removed by marking them, never deleted, so the record keeps its history.

CREATE TABLE patient_contacts (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    patient_id uuid        NOT NULL,
    name       text        NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    relation   text        NOT NULL CHECK (length(relation) BETWEEN 1 AND 60),
    phone      text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    is_primary boolean     NOT NULL,
    added_by   uuid        NOT NULL,
    added_at   timestamptz NOT NULL,
    removed_by uuid,
    removed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL))
);
CREATE INDEX patient_contacts_patient ON patient_contacts (tenant_id, patient_id);
-- At most one current primary contact per patient.
CREATE UNIQUE INDEX patient_contacts_one_primary ON patient_contacts (tenant_id, patient_id)
    WHERE is_primary AND removed_at IS NULL;

CREATE TABLE patient_insurance (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    patient_id    uuid        NOT NULL,
    provider      text        NOT NULL CHECK (length(provider) BETWEEN 2 AND 120),
    policy_number text        NOT NULL CHECK (length(policy_number) BETWEEN 1 AND 60),
    group_number  text,
    subscriber    text,
    valid_from    date,
    valid_to      date,
    is_primary    boolean     NOT NULL,
    added_by      uuid        NOT NULL,
    added_at      timestamptz NOT NULL,
    removed_by    uuid,
    removed_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL)),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
CREATE INDEX patient_insurance_patient ON patient_insurance (tenant_id, patient_id);
CREATE UNIQUE INDEX patient_insurance_one_primary ON patient_insurance (tenant_id, patient_id)
    WHERE is_primary AND removed_at IS NULL;

CREATE TABLE patient_identifiers (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    patient_id uuid        NOT NULL,
    system     text        NOT NULL CHECK (length(system) BETWEEN 2 AND 60),
    value      text        NOT NULL CHECK (length(value) BETWEEN 1 AND 60),
    added_by   uuid        NOT NULL,
    added_at   timestamptz NOT NULL,
    removed_by uuid,
    removed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, removed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((removed_by IS NULL) = (removed_at IS NULL))
);
CREATE INDEX patient_identifiers_patient ON patient_identifiers (tenant_id, patient_id);
-- One identifier names one patient of the clinic.
CREATE UNIQUE INDEX patient_identifiers_unique ON patient_identifiers (tenant_id, system, value)
    WHERE removed_at IS NULL;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient_contacts', 'patient_insurance', 'patient_identifiers'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON patient_contacts, patient_insurance, patient_identifiers TO medisync_app;

-- The charts each staff member opened last (the patients page lists them).
CREATE TABLE recent_patients (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    staff_id   uuid        NOT NULL,
    patient_id uuid        NOT NULL,
    viewed_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, patient_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX recent_patients_latest ON recent_patients (tenant_id, staff_id, viewed_at);
ALTER TABLE recent_patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE recent_patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recent_patients
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- Not part of the record: a short list kept to its newest entries.
GRANT SELECT, INSERT, UPDATE, DELETE ON recent_patients TO medisync_app;

-- A patient's request, from the portal, to correct their details; the front
-- desk makes the change (or explains why not) and closes it.
CREATE TABLE patient_correction_requests (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    message      text        NOT NULL CHECK (length(message) BETWEEN 5 AND 2000),
    status       text        NOT NULL CHECK (status IN ('pending', 'corrected', 'declined')),
    requested_at timestamptz NOT NULL,
    decided_by   uuid,
    decided_at   timestamptz,
    response     text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, decided_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((status = 'pending') = (decided_by IS NULL)),
    CHECK ((decided_by IS NULL) = (decided_at IS NULL)),
    CHECK (status <> 'declined' OR response IS NOT NULL)
);
CREATE INDEX patient_correction_requests_patient ON patient_correction_requests (tenant_id, patient_id, requested_at);
ALTER TABLE patient_correction_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_correction_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_correction_requests
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON patient_correction_requests TO medisync_app;

-- Seed 002's doctor-level visibility: when on, a doctor sees only the patients
-- assigned to them or whose visit notes they wrote (off by default).
ALTER TABLE tenants ADD COLUMN doctors_see_own_patients boolean NOT NULL DEFAULT false;

-- The list of a clinic's current patients by name, and its count, from one
-- index (archived records are not in it).
CREATE INDEX patients_listed ON patients (tenant_id, search_name, id) WHERE archived_at IS NULL;

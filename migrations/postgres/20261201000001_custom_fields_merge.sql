-- Custom patient fields a clinic defines (an NHIS number, a referral source),
-- their values per patient, record merges, and the birth-date search index.

CREATE TABLE patient_field_definitions (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    label      text        NOT NULL CHECK (length(label) BETWEEN 2 AND 60),
    kind       text        NOT NULL CHECK (kind IN ('text', 'number', 'date', 'yes_no', 'choice')),
    -- The options of a choice field, one per line.
    choices    text        NOT NULL CHECK (length(choices) <= 2000),
    required   boolean     NOT NULL,
    searchable boolean     NOT NULL,
    position   bigint      NOT NULL,
    created_by uuid        NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((kind = 'choice') = (choices <> ''))
);
CREATE UNIQUE INDEX patient_field_definitions_label ON patient_field_definitions (tenant_id, lower(label))
    WHERE retired_at IS NULL;
ALTER TABLE patient_field_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_field_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_field_definitions
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON patient_field_definitions TO medisync_app;

-- A cleared value is NULL: rows are kept, never deleted.
CREATE TABLE patient_field_values (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    patient_id uuid        NOT NULL,
    field_id   uuid        NOT NULL,
    value      text        CHECK (length(value) BETWEEN 1 AND 200),
    updated_by uuid        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, field_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, field_id) REFERENCES patient_field_definitions (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
);
ALTER TABLE patient_field_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_field_values FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_field_values
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON patient_field_values TO medisync_app;

-- A merged record stays as a tombstone pointing at the record that survived it.
-- Signed notes and documents keep the patient they were written for (their
-- hashes cover it); the survivor's chart reads them through this pointer.
ALTER TABLE patients ADD COLUMN merged_into uuid;
ALTER TABLE patients ADD COLUMN merged_by uuid;
ALTER TABLE patients ADD COLUMN merged_at timestamptz;
ALTER TABLE patients ADD CONSTRAINT patients_merged_into_fk
    FOREIGN KEY (tenant_id, merged_into) REFERENCES patients (tenant_id, id);
ALTER TABLE patients ADD CONSTRAINT patients_merged_by_fk
    FOREIGN KEY (tenant_id, merged_by) REFERENCES staff_members (tenant_id, id);
ALTER TABLE patients ADD CONSTRAINT patients_merge_shape CHECK (
    (merged_into IS NULL) = (merged_at IS NULL) AND (merged_into IS NULL) = (merged_by IS NULL)
    AND (merged_into IS NULL OR (merged_into <> id AND archived_at IS NOT NULL)));
CREATE INDEX patients_merged ON patients (tenant_id, merged_into) WHERE merged_into IS NOT NULL;

-- Search by date of birth among the clinic's current patients.
CREATE INDEX patients_birth_date ON patients (tenant_id, birth_date) WHERE archived_at IS NULL;

-- A merge moves the consent history to the surviving record; nothing else about
-- a recorded consent ever changes (only this column may be updated at all).
GRANT UPDATE (patient_id) ON patient_consents TO medisync_app;
CREATE FUNCTION patient_consents_move_only_on_merge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                   AND p.id = OLD.patient_id AND p.merged_into = NEW.patient_id) THEN
        RAISE EXCEPTION 'consents are a history: record a new grant or revocation'
            USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER patient_consents_move_only_on_merge BEFORE UPDATE ON patient_consents
    FOR EACH ROW EXECUTE FUNCTION patient_consents_move_only_on_merge();

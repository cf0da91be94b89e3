-- Custom patient fields a clinic defines (an NHIS number, a referral source),
-- their values per patient, record merges, and the birth-date search index.

CREATE TABLE patient_field_definitions (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (id),
    id         BLOB    NOT NULL,
    label      TEXT    NOT NULL CHECK (length(label) BETWEEN 2 AND 60),
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'number', 'date', 'yes_no', 'choice')),
    -- The options of a choice field, one per line.
    choices    TEXT    NOT NULL CHECK (length(choices) <= 2000),
    required   INTEGER NOT NULL CHECK (required IN (0, 1)),
    searchable INTEGER NOT NULL CHECK (searchable IN (0, 1)),
    position   INTEGER NOT NULL,
    created_by BLOB    NOT NULL,
    created_at TEXT    NOT NULL,
    retired_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((kind = 'choice') = (choices <> ''))
) STRICT;
CREATE UNIQUE INDEX patient_field_definitions_label ON patient_field_definitions (tenant_id, lower(label))
    WHERE retired_at IS NULL;

-- A cleared value is NULL: rows are kept, never deleted.
CREATE TABLE patient_field_values (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    patient_id BLOB NOT NULL,
    field_id   BLOB NOT NULL,
    value      TEXT CHECK (length(value) BETWEEN 1 AND 200),
    updated_by BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, field_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, field_id) REFERENCES patient_field_definitions (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE TRIGGER patient_field_values_kept BEFORE DELETE ON patient_field_values
BEGIN
    SELECT RAISE(ABORT, 'patient field values are cleared, never deleted');
END;
CREATE TRIGGER patient_field_definitions_kept BEFORE DELETE ON patient_field_definitions
BEGIN
    SELECT RAISE(ABORT, 'patient fields are retired, never deleted');
END;

-- A merged record stays as a tombstone pointing at the record that survived it.
-- Signed notes and documents keep the patient they were written for (their
-- hashes cover it); the survivor's chart reads them through this pointer.
-- (SQLite cannot add a table constraint to an existing table: triggers hold the shape.)
ALTER TABLE patients ADD COLUMN merged_into BLOB;
ALTER TABLE patients ADD COLUMN merged_by BLOB;
ALTER TABLE patients ADD COLUMN merged_at TEXT;
CREATE TRIGGER patients_merge_shape_insert BEFORE INSERT ON patients
WHEN NEW.merged_into IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a new record cannot be merged');
END;
CREATE TRIGGER patients_merge_shape_update BEFORE UPDATE OF merged_into, merged_by, merged_at, archived_at ON patients
WHEN (NEW.merged_into IS NULL) <> (NEW.merged_at IS NULL)
  OR (NEW.merged_into IS NULL) <> (NEW.merged_by IS NULL)
  OR (NEW.merged_into IS NOT NULL AND (NEW.merged_into = NEW.id OR NEW.archived_at IS NULL
      OR NOT EXISTS (SELECT 1 FROM patients s WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.merged_into)
      OR NOT EXISTS (SELECT 1 FROM staff_members m WHERE m.tenant_id = NEW.tenant_id AND m.id = NEW.merged_by)))
BEGIN
    SELECT RAISE(ABORT, 'a merged record must point at another record of its clinic and stay archived');
END;
CREATE INDEX patients_merged ON patients (tenant_id, merged_into) WHERE merged_into IS NOT NULL;

-- Search by date of birth among the clinic's current patients.
CREATE INDEX patients_birth_date ON patients (tenant_id, birth_date) WHERE archived_at IS NULL;

-- A merge moves the consent history to the surviving record; nothing else about
-- a recorded consent ever changes.
DROP TRIGGER patient_consents_are_history_update;
CREATE TRIGGER patient_consents_are_history_update BEFORE UPDATE ON patient_consents
WHEN NEW.tenant_id IS NOT OLD.tenant_id OR NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind
  OR NEW.granted IS NOT OLD.granted OR NEW.effective_on IS NOT OLD.effective_on
  OR NEW.recorded_by IS NOT OLD.recorded_by OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                 AND p.id = OLD.patient_id AND p.merged_into = NEW.patient_id)
BEGIN
    SELECT RAISE(ABORT, 'consents are a history: record a new grant or revocation');
END;

-- Erasure requests and retention. An erased patient's portal account and
-- marketing consent go at once; the clinical record is restricted (out of
-- lists and search, opened only by an administrator who gives a reason) until
-- the retention date the clinic set, then purged by the daily job, leaving a
-- tombstone. Before that date the database refuses to delete any of it.
-- (SQLite cannot add table constraints to an existing table: triggers hold the shape.)

ALTER TABLE patients ADD COLUMN erasure_requested_at TEXT;
ALTER TABLE patients ADD COLUMN restricted_at TEXT;
ALTER TABLE patients ADD COLUMN restricted_by BLOB;
ALTER TABLE patients ADD COLUMN retain_until TEXT;
ALTER TABLE patients ADD COLUMN purged_at TEXT;
CREATE TRIGGER patients_restriction_shape BEFORE UPDATE OF restricted_at, restricted_by, retain_until, purged_at, archived_at ON patients
WHEN (NEW.restricted_at IS NULL) <> (NEW.restricted_by IS NULL)
  OR (NEW.restricted_at IS NULL) <> (NEW.retain_until IS NULL)
  OR (NEW.restricted_at IS NOT NULL AND NEW.archived_at IS NULL)
  OR (NEW.purged_at IS NOT NULL AND NEW.restricted_at IS NULL)
  OR (NEW.restricted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff_members m
      WHERE m.tenant_id = NEW.tenant_id AND m.id = NEW.restricted_by))
BEGIN
    SELECT RAISE(ABORT, 'a restricted record stays archived, with who restricted it and until when');
END;
CREATE TRIGGER patients_restriction_on_insert BEFORE INSERT ON patients
WHEN NEW.restricted_at IS NOT NULL OR NEW.purged_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a new record cannot be restricted or purged');
END;
CREATE INDEX patients_retention ON patients (tenant_id, retain_until)
    WHERE restricted_at IS NOT NULL AND purged_at IS NULL;

-- "Break the glass": an administrator's reasoned, time-limited access to a
-- restricted record.
CREATE TABLE restricted_record_access (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    patient_id BLOB NOT NULL,
    staff_id   BLOB NOT NULL,
    reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    granted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL CHECK (expires_at > granted_at),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX restricted_record_access_patient ON restricted_record_access (tenant_id, patient_id, staff_id, expires_at);
CREATE TRIGGER restricted_record_access_kept BEFORE UPDATE ON restricted_record_access
BEGIN
    SELECT RAISE(ABORT, 'access to a restricted record is a history');
END;

-- The purge may delete a record's rows only once its retention has ended
-- (this replaces the earlier "never deleted" triggers, and covers the chart's
-- tables that had none on SQLite).
DROP TRIGGER visit_notes_signed_are_final_delete;
DROP TRIGGER patient_documents_never_deleted;
DROP TRIGGER patient_contacts_kept;
DROP TRIGGER patient_insurance_kept;
DROP TRIGGER patient_identifiers_kept;
DROP TRIGGER patient_correction_requests_kept;
DROP TRIGGER patient_consents_are_history_delete;
DROP TRIGGER patient_field_values_kept;
CREATE TRIGGER allergies_kept_until_retention BEFORE DELETE ON allergies
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER problems_kept_until_retention BEFORE DELETE ON problems
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER vitals_kept_until_retention BEFORE DELETE ON vitals
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER visit_notes_kept_until_retention BEFORE DELETE ON visit_notes
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_flags_kept_until_retention BEFORE DELETE ON patient_flags
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_consents_kept_until_retention BEFORE DELETE ON patient_consents
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_documents_kept_until_retention BEFORE DELETE ON patient_documents
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_contacts_kept_until_retention BEFORE DELETE ON patient_contacts
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_insurance_kept_until_retention BEFORE DELETE ON patient_insurance
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_identifiers_kept_until_retention BEFORE DELETE ON patient_identifiers
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_correction_requests_kept_until_retention BEFORE DELETE ON patient_correction_requests
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER patient_field_values_kept_until_retention BEFORE DELETE ON patient_field_values
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER restricted_record_access_kept_until_retention BEFORE DELETE ON restricted_record_access
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

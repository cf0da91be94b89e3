-- Documents filed on a patient's record (lab reports, imaging, letters, consent
-- forms). The stored file is fixed once uploaded: its key, size and hash never
-- change. Review moves pending -> reviewed -> approved (or entered in error);
-- nothing is ever deleted.

CREATE TABLE patient_documents (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    patient_id   BLOB    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('lab_report', 'imaging', 'referral_letter', 'consent_form', 'other')),
    title        TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    -- FHIR's Attachment.hash is SHA-1 (base64); kept beside the SHA-256.
    sha1         TEXT    NOT NULL CHECK (length(sha1) = 28),
    object_key   TEXT    NOT NULL,
    report_date  TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'reviewed', 'approved', 'entered-in-error')),
    uploaded_by  BLOB    NOT NULL,
    uploaded_at  TEXT    NOT NULL,
    reviewed_by  BLOB,
    reviewed_at  TEXT,
    approved_by  BLOB,
    approved_at  TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, object_key),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, reviewed_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL)),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
    CHECK (status <> 'approved' OR approved_by IS NOT NULL)
) STRICT;
CREATE INDEX patient_documents_patient ON patient_documents (tenant_id, patient_id, uploaded_at);

CREATE TRIGGER patient_documents_fixed_file BEFORE UPDATE ON patient_documents
WHEN NEW.patient_id IS NOT OLD.patient_id OR NEW.object_key IS NOT OLD.object_key
     OR NEW.sha256 IS NOT OLD.sha256 OR NEW.sha1 IS NOT OLD.sha1 OR NEW.size_bytes IS NOT OLD.size_bytes
     OR NEW.content_type IS NOT OLD.content_type OR NEW.uploaded_by IS NOT OLD.uploaded_by
     OR NEW.uploaded_at IS NOT OLD.uploaded_at OR NEW.tenant_id IS NOT OLD.tenant_id
     OR NEW.id IS NOT OLD.id OR OLD.status = 'entered-in-error'
BEGIN
    SELECT RAISE(ABORT, 'a stored document''s file and patient cannot be changed');
END;
CREATE TRIGGER patient_documents_never_deleted BEFORE DELETE ON patient_documents
BEGIN
    SELECT RAISE(ABORT, 'documents are part of the clinical record and are never deleted');
END;

-- Documents count against the clinic's storage like its logo does (SQLite
-- changes a CHECK by rebuilding the table).
CREATE TABLE tenant_files_new (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('logo', 'document')),
    object_key   TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        INTEGER NOT NULL CHECK (bytes >= 0),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, object_key)
) STRICT;
INSERT INTO tenant_files_new SELECT tenant_id, id, purpose, object_key, content_type, bytes, created_at FROM tenant_files;
DROP TABLE tenant_files;
ALTER TABLE tenant_files_new RENAME TO tenant_files;

-- Documents filed on a patient's record (lab reports, imaging, letters, consent
-- forms). The stored file is fixed once uploaded: its key, size and hash never
-- change. Review moves pending -> reviewed -> approved (or entered in error);
-- nothing is ever deleted by the application.

CREATE TABLE patient_documents (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('lab_report', 'imaging', 'referral_letter', 'consent_form', 'other')),
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    file_name    text        NOT NULL,
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256       text        NOT NULL CHECK (length(sha256) = 64),
    -- FHIR's Attachment.hash is SHA-1 (base64); kept beside the SHA-256.
    sha1         text        NOT NULL CHECK (length(sha1) = 28),
    object_key   text        NOT NULL,
    report_date  date,
    status       text        NOT NULL CHECK (status IN ('pending', 'reviewed', 'approved', 'entered-in-error')),
    uploaded_by  uuid        NOT NULL,
    uploaded_at  timestamptz NOT NULL,
    reviewed_by  uuid,
    reviewed_at  timestamptz,
    approved_by  uuid,
    approved_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, object_key),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, reviewed_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL)),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
    -- Approved means someone approved it, and the key lies under the tenant's prefix.
    CHECK (status <> 'approved' OR approved_by IS NOT NULL),
    CHECK (object_key = 'tenants/' || tenant_id::text || '/documents/' || id::text)
);
CREATE INDEX patient_documents_patient ON patient_documents (tenant_id, patient_id, uploaded_at);

-- The file a row describes cannot be swapped, nor the row moved to another patient.
CREATE FUNCTION patient_documents_fixed_file() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.patient_id <> OLD.patient_id OR NEW.object_key <> OLD.object_key
       OR NEW.sha256 <> OLD.sha256 OR NEW.sha1 <> OLD.sha1 OR NEW.size_bytes <> OLD.size_bytes
       OR NEW.content_type <> OLD.content_type OR NEW.uploaded_by <> OLD.uploaded_by
       OR NEW.uploaded_at <> OLD.uploaded_at THEN
        RAISE EXCEPTION 'a stored document''s file and patient cannot be changed' USING ERRCODE = 'MS001';
    END IF;
    IF OLD.status = 'entered-in-error' THEN
        RAISE EXCEPTION 'a document entered in error cannot be changed' USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER patient_documents_fixed_file BEFORE UPDATE ON patient_documents
    FOR EACH ROW EXECUTE FUNCTION patient_documents_fixed_file();

ALTER TABLE patient_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_documents
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON patient_documents TO medisync_app;

-- Documents count against the clinic's storage like its logo does.
ALTER TABLE tenant_files DROP CONSTRAINT tenant_files_purpose_check;
ALTER TABLE tenant_files ADD CONSTRAINT tenant_files_purpose_check
    CHECK (purpose IN ('logo', 'document'));

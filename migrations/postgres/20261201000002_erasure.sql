-- Erasure requests and retention. An erased patient's portal account and
-- marketing consent go at once; the clinical record is restricted (out of
-- lists and search, opened only by an administrator who gives a reason) until
-- the retention date the clinic set, then purged by the daily job, leaving a
-- tombstone. Before that date the database refuses to delete any of it.

ALTER TABLE patients ADD COLUMN erasure_requested_at timestamptz;
ALTER TABLE patients ADD COLUMN restricted_at timestamptz;
ALTER TABLE patients ADD COLUMN restricted_by uuid;
ALTER TABLE patients ADD COLUMN retain_until date;
ALTER TABLE patients ADD COLUMN purged_at timestamptz;
ALTER TABLE patients ADD CONSTRAINT patients_restricted_by_fk
    FOREIGN KEY (tenant_id, restricted_by) REFERENCES staff_members (tenant_id, id);
ALTER TABLE patients ADD CONSTRAINT patients_restriction_shape CHECK (
    (restricted_at IS NULL) = (restricted_by IS NULL)
    AND (restricted_at IS NULL) = (retain_until IS NULL)
    AND (restricted_at IS NULL OR archived_at IS NOT NULL)
    AND (purged_at IS NULL OR restricted_at IS NOT NULL));
CREATE INDEX patients_retention ON patients (tenant_id, retain_until)
    WHERE restricted_at IS NOT NULL AND purged_at IS NULL;

-- "Break the glass": an administrator's reasoned, time-limited access to a
-- restricted record.
CREATE TABLE restricted_record_access (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    patient_id uuid        NOT NULL,
    staff_id   uuid        NOT NULL,
    reason     text        NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    granted_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > granted_at),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX restricted_record_access_patient ON restricted_record_access (tenant_id, patient_id, staff_id, expires_at);
ALTER TABLE restricted_record_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE restricted_record_access FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON restricted_record_access
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON restricted_record_access TO medisync_app;

-- The purge may delete a record's rows only once its retention has ended.
CREATE FUNCTION refuse_delete_before_retention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                   AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
        RAISE EXCEPTION 'clinical records are never deleted before their retention ends'
            USING ERRCODE = 'MS001';
    END IF;
    RETURN OLD;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['allergies', 'problems', 'vitals', 'visit_notes', 'patient_flags',
        'patient_consents', 'patient_documents', 'patient_contacts', 'patient_insurance',
        'patient_identifiers', 'patient_correction_requests', 'patient_field_values',
        'restricted_record_access'] LOOP
        EXECUTE format('GRANT DELETE ON %I TO medisync_app', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_delete_before_retention()', t || '_kept_until_retention', t);
    END LOOP;
END $$;

-- A signed note still never changes; deleting it is the retention rule's call.
CREATE OR REPLACE FUNCTION refuse_signed_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'a signed note cannot be changed; add an addendum'
            USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END;
$$;

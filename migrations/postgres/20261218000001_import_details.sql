-- The patient import also brings each patient's emergency contact, insurance
-- and identifier from another system. Those rows carry the import's id, so that
-- a rollback removes them with the patients it registered; nothing else may
-- delete them before the record's retention ends, as before.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient_contacts', 'patient_insurance', 'patient_identifiers'] LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN import_id uuid', t);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (tenant_id, import_id) '
            'REFERENCES patient_imports (tenant_id, id)', t, t || '_import');
        EXECUTE format('CREATE INDEX %I ON %I (tenant_id, import_id) WHERE import_id IS NOT NULL',
            t || '_imported', t);
    END LOOP;
END $$;

-- A registry entry may go before its retention ends only with the import that
-- brought it, on a patient that import registered, once that import is being
-- rolled back (the rollback marks it so first, in the same transaction).
CREATE FUNCTION refuse_registry_entry_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.import_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM patient_imports i WHERE i.tenant_id = OLD.tenant_id
                   AND i.id = OLD.import_id AND i.state = 'rolled_back')
       AND EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                   AND p.id = OLD.patient_id AND p.import_id = OLD.import_id) THEN
        RETURN OLD;
    END IF;
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
    FOREACH t IN ARRAY ARRAY['patient_contacts', 'patient_insurance', 'patient_identifiers'] LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_kept_until_retention', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_registry_entry_delete()', t || '_kept_until_retention', t);
    END LOOP;
END $$;

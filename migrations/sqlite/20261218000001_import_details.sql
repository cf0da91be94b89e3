-- The patient import also brings each patient's emergency contact, insurance
-- and identifier from another system. Those rows carry the import's id (SQLite
-- cannot add the table constraint: the import writes the id it holds), so that
-- a rollback removes them with the patients it registered; nothing else may
-- delete them before the record's retention ends, as before.

ALTER TABLE patient_contacts ADD COLUMN import_id BLOB;
CREATE INDEX patient_contacts_imported ON patient_contacts (tenant_id, import_id) WHERE import_id IS NOT NULL;
-- May go before its retention ends only with the import that brought it, on a
-- patient that import registered, once the import is being rolled back.
DROP TRIGGER patient_contacts_kept_until_retention;
CREATE TRIGGER patient_contacts_kept_until_retention BEFORE DELETE ON patient_contacts
WHEN NOT (OLD.import_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM patient_imports i WHERE i.tenant_id = OLD.tenant_id
                      AND i.id = OLD.import_id AND i.state = 'rolled_back')
          AND EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                      AND p.id = OLD.patient_id AND p.import_id = OLD.import_id))
 AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

ALTER TABLE patient_insurance ADD COLUMN import_id BLOB;
CREATE INDEX patient_insurance_imported ON patient_insurance (tenant_id, import_id) WHERE import_id IS NOT NULL;
-- May go before its retention ends only with the import that brought it, on a
-- patient that import registered, once the import is being rolled back.
DROP TRIGGER patient_insurance_kept_until_retention;
CREATE TRIGGER patient_insurance_kept_until_retention BEFORE DELETE ON patient_insurance
WHEN NOT (OLD.import_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM patient_imports i WHERE i.tenant_id = OLD.tenant_id
                      AND i.id = OLD.import_id AND i.state = 'rolled_back')
          AND EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                      AND p.id = OLD.patient_id AND p.import_id = OLD.import_id))
 AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

ALTER TABLE patient_identifiers ADD COLUMN import_id BLOB;
CREATE INDEX patient_identifiers_imported ON patient_identifiers (tenant_id, import_id) WHERE import_id IS NOT NULL;
-- May go before its retention ends only with the import that brought it, on a
-- patient that import registered, once the import is being rolled back.
DROP TRIGGER patient_identifiers_kept_until_retention;
CREATE TRIGGER patient_identifiers_kept_until_retention BEFORE DELETE ON patient_identifiers
WHEN NOT (OLD.import_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM patient_imports i WHERE i.tenant_id = OLD.tenant_id
                      AND i.id = OLD.import_id AND i.state = 'rolled_back')
          AND EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id
                      AND p.id = OLD.patient_id AND p.import_id = OLD.import_id))
 AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

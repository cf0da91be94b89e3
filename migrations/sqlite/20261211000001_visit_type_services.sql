-- A visit type may be billed as a catalog service: drafting an invoice from a
-- visit then takes the service's code, name, price and tax category, and the
-- type's price follows the service's (billing keeps them equal when either
-- is saved).
--
-- SQLite cannot add a two-column foreign key to an existing table, so two
-- triggers hold the same rule: the service must exist in the type's clinic.
ALTER TABLE appointment_types ADD COLUMN service_id BLOB;

CREATE TRIGGER appointment_types_service_insert BEFORE INSERT ON appointment_types
WHEN NEW.service_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM services s WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.service_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a visit type is billed as a service of its own clinic');
END;

CREATE TRIGGER appointment_types_service_update BEFORE UPDATE OF service_id ON appointment_types
WHEN NEW.service_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM services s WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.service_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a visit type is billed as a service of its own clinic');
END;

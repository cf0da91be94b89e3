-- A visit type may be billed as a catalog service: drafting an invoice from a
-- visit then takes the service's code, name, price and tax category, and the
-- type's price follows the service's (billing keeps them equal when either
-- is saved). The reference stays inside the clinic by construction: the key
-- pairs the type's own tenant with the service.
ALTER TABLE appointment_types ADD COLUMN service_id uuid;
ALTER TABLE appointment_types ADD CONSTRAINT appointment_types_service
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id);

-- Chart flags (a banner on every chart page) and consents (granted or revoked,
-- as dated events; the latest per kind is the current state). Neither is ever
-- deleted: a flag is cleared, a consent revoked by a later event.

CREATE TABLE patient_flags (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    patient_id uuid        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('vip', 'high_risk', 'dnr', 'infection_control', 'other')),
    note       text,
    set_by     uuid        NOT NULL,
    set_at     timestamptz NOT NULL,
    cleared_by uuid,
    cleared_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, set_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, cleared_by) REFERENCES staff_members (tenant_id, id),
    CHECK (kind <> 'other' OR note IS NOT NULL),
    CHECK ((cleared_by IS NULL) = (cleared_at IS NULL))
);
CREATE INDEX patient_flags_patient ON patient_flags (tenant_id, patient_id);

CREATE TABLE patient_consents (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('treatment', 'data_sharing', 'marketing', 'telehealth')),
    granted      boolean     NOT NULL,
    effective_on date        NOT NULL,
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX patient_consents_patient ON patient_consents (tenant_id, patient_id, kind, recorded_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient_flags', 'patient_consents'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON patient_flags TO medisync_app;
-- Consents are a history: rows are only added.
GRANT SELECT, INSERT ON patient_consents TO medisync_app;

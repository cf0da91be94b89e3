-- Chart flags (a banner on every chart page) and consents (granted or revoked,
-- as dated events; the latest per kind is the current state). Neither is ever
-- deleted: a flag is cleared, a consent revoked by a later event.

CREATE TABLE patient_flags (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    patient_id BLOB NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('vip', 'high_risk', 'dnr', 'infection_control', 'other')),
    note       TEXT,
    set_by     BLOB NOT NULL,
    set_at     TEXT NOT NULL,
    cleared_by BLOB,
    cleared_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, set_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, cleared_by) REFERENCES staff_members (tenant_id, id),
    CHECK (kind <> 'other' OR note IS NOT NULL),
    CHECK ((cleared_by IS NULL) = (cleared_at IS NULL))
) STRICT;
CREATE INDEX patient_flags_patient ON patient_flags (tenant_id, patient_id);

CREATE TABLE patient_consents (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    patient_id   BLOB    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('treatment', 'data_sharing', 'marketing', 'telehealth')),
    granted      INTEGER NOT NULL CHECK (granted IN (0, 1)),
    effective_on TEXT    NOT NULL,
    recorded_by  BLOB    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX patient_consents_patient ON patient_consents (tenant_id, patient_id, kind, recorded_at);

CREATE TRIGGER patient_consents_are_history_update BEFORE UPDATE ON patient_consents
BEGIN
    SELECT RAISE(ABORT, 'consents are a history: record a new grant or revocation');
END;
CREATE TRIGGER patient_consents_are_history_delete BEFORE DELETE ON patient_consents
BEGIN
    SELECT RAISE(ABORT, 'consents are a history: record a new grant or revocation');
END;

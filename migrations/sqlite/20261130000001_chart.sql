-- The patient registry grows to what a front desk records, the chart arrives
-- (allergies, problems, vitals, visit notes), and the audit trail becomes a
-- tamper-evident hash chain. Signed notes and audit events cannot change
-- (triggers); clinical rows are never deleted by the application.

-- Registry ---------------------------------------------------------------------

ALTER TABLE patients ADD COLUMN preferred_name     TEXT;
ALTER TABLE patients ADD COLUMN gender_identity    TEXT;
ALTER TABLE patients ADD COLUMN address            TEXT;
ALTER TABLE patients ADD COLUMN preferred_language TEXT;
ALTER TABLE patients ADD COLUMN blood_type         TEXT
    CHECK (blood_type IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-'));
ALTER TABLE patients ADD COLUMN status             TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'inactive', 'deceased', 'transferred'));
ALTER TABLE patients ADD COLUMN deceased_on        TEXT
    CHECK ((status = 'deceased') = (deceased_on IS NOT NULL));
ALTER TABLE patients ADD COLUMN archived_at        TEXT;

CREATE TABLE patient_mrn_series (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (id),
    prefix     TEXT    NOT NULL,
    next_value INTEGER NOT NULL CHECK (next_value > 0),
    PRIMARY KEY (tenant_id)
) STRICT;

CREATE TABLE patient_search_terms (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    term       TEXT NOT NULL,
    patient_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, term, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
) STRICT;
CREATE INDEX patient_search_terms_patient ON patient_search_terms (tenant_id, patient_id);

-- Chart --------------------------------------------------------------------------

CREATE TABLE allergies (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    patient_id  BLOB NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('allergy', 'none_known')),
    substance   TEXT NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('medication', 'food', 'environment', 'biologic', 'other')),
    criticality TEXT NOT NULL CHECK (criticality IN ('low', 'high', 'unable-to-assess')),
    severity    TEXT CHECK (severity IN ('mild', 'moderate', 'severe')),
    reaction    TEXT,
    onset_on    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'resolved', 'entered-in-error')),
    recorded_by BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    updated_by  BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX allergies_patient ON allergies (tenant_id, patient_id);
CREATE UNIQUE INDEX allergies_one_none_known ON allergies (tenant_id, patient_id)
    WHERE kind = 'none_known' AND status = 'active';

CREATE TABLE problems (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    patient_id  BLOB NOT NULL,
    code        TEXT,
    description TEXT NOT NULL,
    onset_on    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('active', 'chronic', 'resolved', 'entered-in-error')),
    recorded_by BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    updated_by  BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX problems_patient ON problems (tenant_id, patient_id);

CREATE TABLE vitals (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    patient_id     BLOB    NOT NULL,
    taken_at       TEXT    NOT NULL,
    height_mm      INTEGER CHECK (height_mm BETWEEN 200 AND 2720),
    weight_g       INTEGER CHECK (weight_g BETWEEN 200 AND 650000),
    systolic       INTEGER CHECK (systolic BETWEEN 40 AND 300),
    diastolic      INTEGER CHECK (diastolic BETWEEN 20 AND 200),
    pulse          INTEGER CHECK (pulse BETWEEN 20 AND 300),
    temperature_dc INTEGER CHECK (temperature_dc BETWEEN 250 AND 450),
    spo2           INTEGER CHECK (spo2 BETWEEN 50 AND 100),
    resp_rate      INTEGER CHECK (resp_rate BETWEEN 4 AND 80),
    status         TEXT    NOT NULL CHECK (status IN ('final', 'entered-in-error')),
    recorded_by    BLOB    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((systolic IS NULL) = (diastolic IS NULL)),
    CHECK (systolic IS NULL OR systolic > diastolic),
    CHECK (coalesce(height_mm, weight_g, systolic, pulse, temperature_dc, spo2, resp_rate) IS NOT NULL)
) STRICT;
CREATE INDEX vitals_patient ON vitals (tenant_id, patient_id, taken_at);

CREATE TABLE visit_notes (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    patient_id     BLOB    NOT NULL,
    author_id      BLOB    NOT NULL,
    addendum_to    BLOB,
    title          TEXT    NOT NULL,
    subjective     TEXT    NOT NULL,
    objective      TEXT    NOT NULL,
    assessment     TEXT    NOT NULL,
    plan           TEXT    NOT NULL,
    shareable      INTEGER NOT NULL CHECK (shareable IN (0, 1)),
    status         TEXT    NOT NULL CHECK (status IN ('draft', 'signed')),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    signed_at      TEXT,
    content_sha256 TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, addendum_to) REFERENCES visit_notes (tenant_id, id),
    CHECK ((status = 'signed') = (signed_at IS NOT NULL AND content_sha256 IS NOT NULL))
) STRICT;
CREATE INDEX visit_notes_patient ON visit_notes (tenant_id, patient_id, created_at);
CREATE INDEX visit_notes_unsigned ON visit_notes (tenant_id, author_id, created_at) WHERE status = 'draft';

CREATE TRIGGER visit_notes_signed_are_final_update BEFORE UPDATE ON visit_notes
    WHEN OLD.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'a signed note cannot be changed; add an addendum');
END;
CREATE TRIGGER visit_notes_signed_are_final_delete BEFORE DELETE ON visit_notes
    WHEN OLD.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'a signed note cannot be changed; add an addendum');
END;

-- Audit: a striped hash chain per tenant; rows are append-only.
ALTER TABLE audit_events ADD COLUMN patient_id BLOB;
ALTER TABLE audit_events ADD COLUMN actor_role TEXT;
ALTER TABLE audit_events ADD COLUMN stripe     INTEGER;
ALTER TABLE audit_events ADD COLUMN seq        INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash  TEXT;
ALTER TABLE audit_events ADD COLUMN hash       TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (tenant_id, stripe, seq);
CREATE INDEX audit_events_patient ON audit_events (tenant_id, patient_id, occurred_at)
    WHERE patient_id IS NOT NULL;

CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TABLE audit_chain_heads (
    tenant_id BLOB    NOT NULL REFERENCES tenants (id),
    stripe    INTEGER NOT NULL CHECK (stripe >= 0),
    seq       INTEGER NOT NULL,
    hash      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, stripe)
) STRICT;

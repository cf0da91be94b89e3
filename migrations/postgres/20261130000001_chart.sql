-- The patient registry grows to what a front desk records, the chart arrives
-- (allergies, problems, vitals, visit notes), and the audit trail becomes a
-- tamper-evident hash chain. Clinical rows are never deleted by the application
-- (no DELETE grant); signed notes cannot change at all (trigger).

-- Registry ---------------------------------------------------------------------

ALTER TABLE patients ADD COLUMN preferred_name     text;
ALTER TABLE patients ADD COLUMN gender_identity    text;
ALTER TABLE patients ADD COLUMN address            text;
ALTER TABLE patients ADD COLUMN preferred_language text;
ALTER TABLE patients ADD COLUMN blood_type         text
    CHECK (blood_type IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-'));
ALTER TABLE patients ADD COLUMN status             text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'inactive', 'deceased', 'transferred'));
ALTER TABLE patients ADD COLUMN deceased_on        date;
ALTER TABLE patients ADD COLUMN archived_at        timestamptz;
ALTER TABLE patients ADD CONSTRAINT patients_deceased_date
    CHECK ((status = 'deceased') = (deceased_on IS NOT NULL));

-- Each clinic's record-number series: prefix and the next number to hand out.
CREATE TABLE patient_mrn_series (
    tenant_id  uuid   NOT NULL REFERENCES tenants (id),
    prefix     text   NOT NULL,
    next_value bigint NOT NULL CHECK (next_value > 0),
    PRIMARY KEY (tenant_id)
);

-- What the search box matches: prefixes of normalised terms ("n:" name tokens,
-- "m:" record number, "p:" phone digits, "e:" email), compared as btree ranges,
-- which PostgreSQL can use under row-level security (LIKE and trigram cannot).
CREATE TABLE patient_search_terms (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    -- Byte order, so a prefix's range holds exactly the terms that start with it.
    term       text COLLATE "C" NOT NULL,
    patient_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, term, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX patient_search_terms_patient ON patient_search_terms (tenant_id, patient_id);

-- Chart --------------------------------------------------------------------------

CREATE TABLE allergies (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    patient_id  uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('allergy', 'none_known')),
    substance   text        NOT NULL,
    category    text        NOT NULL CHECK (category IN ('medication', 'food', 'environment', 'biologic', 'other')),
    criticality text        NOT NULL CHECK (criticality IN ('low', 'high', 'unable-to-assess')),
    severity    text        CHECK (severity IN ('mild', 'moderate', 'severe')),
    reaction    text,
    onset_on    date,
    status      text        NOT NULL CHECK (status IN ('active', 'inactive', 'resolved', 'entered-in-error')),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    updated_by  uuid        NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX allergies_patient ON allergies (tenant_id, patient_id);
-- At most one current "no known allergies" statement per patient.
CREATE UNIQUE INDEX allergies_one_none_known ON allergies (tenant_id, patient_id)
    WHERE kind = 'none_known' AND status = 'active';

CREATE TABLE problems (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    patient_id  uuid        NOT NULL,
    code        text,
    description text        NOT NULL,
    onset_on    date,
    status      text        NOT NULL CHECK (status IN ('active', 'chronic', 'resolved', 'entered-in-error')),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    updated_by  uuid        NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX problems_patient ON problems (tenant_id, patient_id);

-- Canonical units: millimetres, grams, mmHg, beats and breaths per minute,
-- tenths of a degree Celsius, percent. Plausibility bounds repeat the
-- application's, so no path stores a temperature of 986.
CREATE TABLE vitals (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    taken_at       timestamptz NOT NULL,
    height_mm      integer     CHECK (height_mm BETWEEN 200 AND 2720),
    weight_g       integer     CHECK (weight_g BETWEEN 200 AND 650000),
    systolic       integer     CHECK (systolic BETWEEN 40 AND 300),
    diastolic      integer     CHECK (diastolic BETWEEN 20 AND 200),
    pulse          integer     CHECK (pulse BETWEEN 20 AND 300),
    temperature_dc integer     CHECK (temperature_dc BETWEEN 250 AND 450),
    spo2           integer     CHECK (spo2 BETWEEN 50 AND 100),
    resp_rate      integer     CHECK (resp_rate BETWEEN 4 AND 80),
    status         text        NOT NULL CHECK (status IN ('final', 'entered-in-error')),
    recorded_by    uuid        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((systolic IS NULL) = (diastolic IS NULL)),
    CHECK (systolic IS NULL OR systolic > diastolic),
    CHECK (coalesce(height_mm, weight_g, systolic, pulse, temperature_dc, spo2, resp_rate) IS NOT NULL)
);
CREATE INDEX vitals_patient ON vitals (tenant_id, patient_id, taken_at);

CREATE TABLE visit_notes (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    author_id      uuid        NOT NULL,
    addendum_to    uuid,
    title          text        NOT NULL,
    subjective     text        NOT NULL,
    objective      text        NOT NULL,
    assessment     text        NOT NULL,
    plan           text        NOT NULL,
    shareable      boolean     NOT NULL,
    status         text        NOT NULL CHECK (status IN ('draft', 'signed')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    signed_at      timestamptz,
    content_sha256 text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, addendum_to) REFERENCES visit_notes (tenant_id, id),
    CHECK ((status = 'signed') = (signed_at IS NOT NULL AND content_sha256 IS NOT NULL))
);
CREATE INDEX visit_notes_patient ON visit_notes (tenant_id, patient_id, created_at);
CREATE INDEX visit_notes_unsigned ON visit_notes (tenant_id, author_id, created_at) WHERE status = 'draft';

-- A signed note is final: no update, no delete, from any path.
CREATE FUNCTION refuse_signed_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'a signed note cannot be changed; add an addendum'
            USING ERRCODE = 'MS001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER visit_notes_signed_are_final BEFORE UPDATE OR DELETE ON visit_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_signed_note_change();

-- Audit: a hash chain per tenant, striped so busy clinics do not queue behind
-- one lock. Events before this migration stay outside the chain (seq NULL).
ALTER TABLE audit_events ADD COLUMN patient_id uuid;
ALTER TABLE audit_events ADD COLUMN actor_role text;
ALTER TABLE audit_events ADD COLUMN stripe     integer;
ALTER TABLE audit_events ADD COLUMN seq        bigint;
ALTER TABLE audit_events ADD COLUMN prev_hash  text;
ALTER TABLE audit_events ADD COLUMN hash       text;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (tenant_id, stripe, seq);
CREATE INDEX audit_events_patient ON audit_events (tenant_id, patient_id, occurred_at)
    WHERE patient_id IS NOT NULL;

CREATE TABLE audit_chain_heads (
    tenant_id uuid    NOT NULL REFERENCES tenants (id),
    stripe    integer NOT NULL CHECK (stripe >= 0),
    seq       bigint  NOT NULL,
    hash      text    NOT NULL,
    PRIMARY KEY (tenant_id, stripe)
);

-- Row-level security and grants ------------------------------------------------

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patient_mrn_series', 'patient_search_terms', 'allergies',
                             'problems', 'vitals', 'visit_notes', 'audit_chain_heads'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON patient_mrn_series, allergies, problems, vitals, visit_notes,
    audit_chain_heads TO medisync_app;
-- Search terms are an index the application rebuilds when a patient changes.
GRANT SELECT, INSERT, DELETE ON patient_search_terms TO medisync_app;

-- Prescribing: the clinic's own medicines (beside the shipped formulary),
-- prescriptions and their lines, what the pharmacist dispensed, and every
-- safety alert shown. A prescription is never deleted and its lines never
-- change: a wrong one is discontinued with a reason. The database refuses to
-- dispense more than prescribed × (refills + 1), or anything of a prescription
-- that is no longer active.

-- A clinic's own medicine or brand, mapped to the knowledge base's ingredients
-- ('' when the clinic could not map it: the safety check then says it could not run).
CREATE TABLE clinic_medicines (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    name         text        NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    generic_code text,
    ingredients  text        NOT NULL CHECK (length(ingredients) <= 500),
    strength     text        NOT NULL CHECK (length(strength) BETWEEN 1 AND 60),
    form         text        NOT NULL,
    route        text        NOT NULL,
    unit         text        NOT NULL,
    active       boolean     NOT NULL,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id)
);
CREATE UNIQUE INDEX clinic_medicines_name ON clinic_medicines (tenant_id, lower(name), strength, form);

CREATE TABLE prescriptions (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    prescriber_id   uuid        NOT NULL,
    visit_note_id   uuid,
    status          text        NOT NULL CHECK (status IN ('active', 'completed', 'discontinued')),
    written_at      timestamptz NOT NULL,
    start_on        date        NOT NULL,
    -- The knowledge base the check ran with; NULL when it could not run.
    kb_version      text,
    check_status    text        NOT NULL CHECK (check_status IN ('performed', 'partial', 'not-performed')),
    check_note      text,
    -- Whoever saved a prescription whose check was incomplete acknowledged it.
    acknowledged_by uuid,
    ended_at        timestamptz,
    ended_by        uuid,
    end_reason      text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, prescriber_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, visit_note_id) REFERENCES visit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, acknowledged_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, ended_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((check_status = 'performed') = (acknowledged_by IS NULL)),
    CHECK ((check_status = 'not-performed') = (kb_version IS NULL)),
    CHECK ((status = 'active') = (ended_at IS NULL)),
    CHECK ((status = 'discontinued') = (end_reason IS NOT NULL AND length(end_reason) BETWEEN 3 AND 500))
);
CREATE INDEX prescriptions_patient ON prescriptions (tenant_id, patient_id, written_at);
CREATE INDEX prescriptions_active ON prescriptions (tenant_id, written_at) WHERE status = 'active';

CREATE TABLE prescription_lines (
    tenant_id          uuid    NOT NULL REFERENCES tenants (id),
    id                 uuid    NOT NULL,
    prescription_id    uuid    NOT NULL,
    patient_id         uuid    NOT NULL,
    position           integer NOT NULL CHECK (position BETWEEN 0 AND 19),
    medicine_code      text,
    clinic_medicine_id uuid,
    medicine           text    NOT NULL CHECK (length(medicine) BETWEEN 2 AND 160),
    -- The knowledge base's ingredient ids, space-separated; '' for a medicine it does not know.
    ingredients        text    NOT NULL,
    strength           text,
    form               text,
    route              text    NOT NULL,
    -- Thousandths of the dose unit (2.5 ml is 2500).
    dose_milli         bigint  NOT NULL CHECK (dose_milli > 0 AND dose_milli <= 100000000),
    dose_unit          text    NOT NULL,
    frequency          text    NOT NULL,
    prn_indication     text,
    duration_days      integer CHECK (duration_days BETWEEN 1 AND 365),
    quantity           integer NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    quantity_unit      text    NOT NULL,
    refills            integer NOT NULL CHECK (refills BETWEEN 0 AND 11),
    instructions       text    CHECK (length(instructions) <= 1000),
    override_reason    text,
    override_note      text    CHECK (length(override_note) <= 500),
    -- The alerts this line carried when it was saved (JSON), for the pharmacist and the print.
    alerts             text    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, prescription_id, position),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_medicine_id) REFERENCES clinic_medicines (tenant_id, id),
    CHECK ((frequency = 'prn') = (prn_indication IS NOT NULL)),
    CHECK (override_note IS NULL OR override_reason IS NOT NULL)
);
CREATE INDEX prescription_lines_prescription ON prescription_lines (tenant_id, prescription_id);
CREATE INDEX prescription_lines_patient ON prescription_lines (tenant_id, patient_id);

CREATE TABLE dispensings (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    line_id         uuid        NOT NULL,
    prescription_id uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    quantity        integer     NOT NULL CHECK (quantity > 0),
    batch           text        NOT NULL CHECK (length(batch) BETWEEN 1 AND 40),
    expires_on      date        NOT NULL,
    dispensed_by    uuid        NOT NULL,
    dispensed_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, line_id) REFERENCES prescription_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, dispensed_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX dispensings_line ON dispensings (tenant_id, line_id);

-- Every alert shown at prescribing, and what became of it: the owners' report
-- of which rules are noise.
CREATE TABLE medication_alerts (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    prescription_id uuid,
    rule            text        NOT NULL,
    level           text        NOT NULL CHECK (level IN ('interruptive', 'unchecked', 'warning')),
    outcome         text        NOT NULL CHECK (outcome IN ('shown', 'overridden', 'acknowledged')),
    reason          text,
    kb_version      text,
    staff_id        uuid        NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id),
    CHECK ((outcome = 'overridden') = (reason IS NOT NULL))
);
CREATE INDEX medication_alerts_rule ON medication_alerts (tenant_id, rule);

-- A prescription changes only by ending: its status, and who ended it, when and why.
CREATE FUNCTION prescription_only_ends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Moving a row to another clinic: row-level security and the foreign keys refuse it.
    IF NEW.tenant_id <> OLD.tenant_id THEN
        RETURN NEW;
    END IF;
    IF OLD.status <> 'active' THEN
        RAISE EXCEPTION 'an ended prescription cannot change' USING ERRCODE = 'MS001';
    END IF;
    IF (NEW.id, NEW.patient_id, NEW.prescriber_id, NEW.visit_note_id, NEW.written_at,
        NEW.start_on, NEW.kb_version, NEW.check_status, NEW.check_note, NEW.acknowledged_by)
       IS DISTINCT FROM
       (OLD.id, OLD.patient_id, OLD.prescriber_id, OLD.visit_note_id, OLD.written_at,
        OLD.start_on, OLD.kb_version, OLD.check_status, OLD.check_note, OLD.acknowledged_by) THEN
        RAISE EXCEPTION 'a prescription changes only by ending' USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER prescriptions_only_end BEFORE UPDATE ON prescriptions
    FOR EACH ROW EXECUTE FUNCTION prescription_only_ends();

-- Never more than prescribed × (refills + 1), never from an ended prescription.
-- The prescription's row is locked first, so two pharmacists cannot both take the
-- last pack (the application may update prescriptions, never lines).
CREATE FUNCTION dispensing_within_prescription() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed bigint;
    given   bigint;
    state   text;
    tenant  text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    -- Another clinic's row: row-level security refuses it (after this trigger).
    IF tenant IS NOT NULL AND NEW.tenant_id <> tenant::uuid THEN
        RETURN NEW;
    END IF;
    SELECT l.quantity::bigint * (l.refills + 1), p.status INTO allowed, state
      FROM prescription_lines l
      JOIN prescriptions p ON p.tenant_id = l.tenant_id AND p.id = l.prescription_id
     WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.line_id AND l.prescription_id = NEW.prescription_id
       AND l.patient_id = NEW.patient_id
       FOR UPDATE OF p;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'the dispensing does not match its prescription line' USING ERRCODE = 'MS001';
    END IF;
    IF state <> 'active' THEN
        RAISE EXCEPTION 'the prescription is %; nothing more can be dispensed', state USING ERRCODE = 'MS001';
    END IF;
    SELECT coalesce(sum(quantity), 0) INTO given FROM dispensings
     WHERE tenant_id = NEW.tenant_id AND line_id = NEW.line_id;
    IF given + NEW.quantity > allowed THEN
        RAISE EXCEPTION 'dispensing more than prescribed' USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER dispensings_within_prescription BEFORE INSERT ON dispensings
    FOR EACH ROW EXECUTE FUNCTION dispensing_within_prescription();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['clinic_medicines', 'prescriptions', 'prescription_lines', 'dispensings',
                             'medication_alerts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
    -- The purge deletes a record's rows once its retention has ended; before, never.
    FOREACH t IN ARRAY ARRAY['prescriptions', 'prescription_lines', 'dispensings', 'medication_alerts'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_delete_before_retention()', t || '_kept_until_retention', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON clinic_medicines TO medisync_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON prescriptions TO medisync_app;
-- Lines, dispensings and alerts are written once.
GRANT SELECT, INSERT, DELETE ON prescription_lines, dispensings, medication_alerts TO medisync_app;

-- A patient's request to refill an active prescription line, on its
-- prescriber's task list until approved (a new prescription) or declined.
CREATE TABLE refill_requests (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    id               uuid        NOT NULL,
    patient_id       uuid        NOT NULL,
    line_id          uuid        NOT NULL,
    prescriber_id    uuid        NOT NULL,
    note             text        CHECK (length(note) <= 300),
    status           text        NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    requested_at     timestamptz NOT NULL,
    decided_by       uuid,
    decided_at       timestamptz,
    decline_reason   text        CHECK (length(decline_reason) BETWEEN 3 AND 500),
    new_prescription uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, line_id) REFERENCES prescription_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, prescriber_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, decided_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, new_prescription) REFERENCES prescriptions (tenant_id, id),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CHECK ((status = 'approved') = (new_prescription IS NOT NULL))
);
-- One waiting request per line.
CREATE UNIQUE INDEX refill_requests_pending ON refill_requests (tenant_id, line_id) WHERE status = 'pending';
CREATE INDEX refill_requests_prescriber ON refill_requests (tenant_id, prescriber_id) WHERE status = 'pending';
CREATE INDEX refill_requests_patient ON refill_requests (tenant_id, patient_id);
ALTER TABLE refill_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE refill_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refill_requests
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE TRIGGER refill_requests_kept_until_retention BEFORE DELETE ON refill_requests
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_before_retention();
GRANT SELECT, INSERT, UPDATE, DELETE ON refill_requests TO medisync_app;
CREATE FUNCTION refill_request_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending' AND NEW.tenant_id = OLD.tenant_id THEN
        RAISE EXCEPTION 'a decided refill request cannot be changed' USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refill_requests_decided_are_final BEFORE UPDATE ON refill_requests
    FOR EACH ROW EXECUTE FUNCTION refill_request_decided_once();

-- What a prescription prints under the prescriber's name.
ALTER TABLE staff_members ADD COLUMN qualifications text CHECK (length(qualifications) BETWEEN 2 AND 120);
ALTER TABLE staff_members ADD COLUMN registration_number text CHECK (length(registration_number) BETWEEN 2 AND 40);

-- Medicines the patient takes that this clinic did not prescribe (another
-- doctor's, over the counter), checked against like its own.
CREATE TABLE other_medications (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    patient_id  uuid        NOT NULL,
    medicine    text        NOT NULL CHECK (length(medicine) BETWEEN 2 AND 160),
    ingredients text        NOT NULL CHECK (length(ingredients) <= 500),
    dose        text        CHECK (length(dose) <= 120),
    source      text        CHECK (length(source) <= 120),
    status      text        NOT NULL CHECK (status IN ('active', 'stopped')),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    stopped_by  uuid,
    stopped_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, stopped_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
);
CREATE INDEX other_medications_patient ON other_medications (tenant_id, patient_id);

-- Medication reconciliation: at a review each active medicine is continued or stopped.
CREATE TABLE medication_reviews (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    id                  uuid        NOT NULL,
    patient_id          uuid        NOT NULL,
    visit_note_id       uuid,
    prescription_id     uuid,
    other_medication_id uuid,
    decision            text        NOT NULL CHECK (decision IN ('continued', 'stopped')),
    reviewed_by         uuid        NOT NULL,
    reviewed_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, visit_note_id) REFERENCES visit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, other_medication_id) REFERENCES other_medications (tenant_id, id),
    FOREIGN KEY (tenant_id, reviewed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((prescription_id IS NULL) <> (other_medication_id IS NULL))
);
CREATE INDEX medication_reviews_patient ON medication_reviews (tenant_id, patient_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['other_medications', 'medication_reviews'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_delete_before_retention()', t || '_kept_until_retention', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON other_medications TO medisync_app;
GRANT SELECT, INSERT, DELETE ON medication_reviews TO medisync_app;

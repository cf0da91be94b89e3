-- Prescribing: the clinic's own medicines (beside the shipped formulary),
-- prescriptions and their lines, what the pharmacist dispensed, and every
-- safety alert shown. A prescription is never deleted and its lines never
-- change: a wrong one is discontinued with a reason. The database refuses to
-- dispense more than prescribed × (refills + 1), or anything of a prescription
-- that is no longer active.

CREATE TABLE clinic_medicines (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    generic_code TEXT,
    ingredients  TEXT    NOT NULL CHECK (length(ingredients) <= 500),
    strength     TEXT    NOT NULL CHECK (length(strength) BETWEEN 1 AND 60),
    form         TEXT    NOT NULL,
    route        TEXT    NOT NULL,
    unit         TEXT    NOT NULL,
    active       INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_by   BLOB    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX clinic_medicines_name ON clinic_medicines (tenant_id, lower(name), strength, form);
CREATE TRIGGER clinic_medicines_kept BEFORE DELETE ON clinic_medicines
BEGIN
    SELECT RAISE(ABORT, 'a medicine is retired, never deleted');
END;

CREATE TABLE prescriptions (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    patient_id      BLOB NOT NULL,
    prescriber_id   BLOB NOT NULL,
    visit_note_id   BLOB,
    status          TEXT NOT NULL CHECK (status IN ('active', 'completed', 'discontinued')),
    written_at      TEXT NOT NULL,
    start_on        TEXT NOT NULL,
    kb_version      TEXT,
    check_status    TEXT NOT NULL CHECK (check_status IN ('performed', 'partial', 'not-performed')),
    check_note      TEXT,
    acknowledged_by BLOB,
    ended_at        TEXT,
    ended_by        BLOB,
    end_reason      TEXT,
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
) STRICT;
CREATE INDEX prescriptions_patient ON prescriptions (tenant_id, patient_id, written_at);
CREATE INDEX prescriptions_active ON prescriptions (tenant_id, written_at) WHERE status = 'active';

-- A prescription changes only by ending: its status, and who ended it, when and why.
CREATE TRIGGER prescriptions_ended_are_final BEFORE UPDATE ON prescriptions
WHEN OLD.status <> 'active'
BEGIN
    SELECT RAISE(ABORT, 'an ended prescription cannot change');
END;
CREATE TRIGGER prescriptions_only_end BEFORE UPDATE ON prescriptions
WHEN NEW.tenant_id IS NOT OLD.tenant_id OR NEW.id IS NOT OLD.id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.prescriber_id IS NOT OLD.prescriber_id OR NEW.visit_note_id IS NOT OLD.visit_note_id
  OR NEW.written_at IS NOT OLD.written_at OR NEW.start_on IS NOT OLD.start_on
  OR NEW.kb_version IS NOT OLD.kb_version OR NEW.check_status IS NOT OLD.check_status
  OR NEW.check_note IS NOT OLD.check_note OR NEW.acknowledged_by IS NOT OLD.acknowledged_by
BEGIN
    SELECT RAISE(ABORT, 'a prescription changes only by ending');
END;

CREATE TABLE prescription_lines (
    tenant_id          BLOB    NOT NULL REFERENCES tenants (id),
    id                 BLOB    NOT NULL,
    prescription_id    BLOB    NOT NULL,
    patient_id         BLOB    NOT NULL,
    position           INTEGER NOT NULL CHECK (position BETWEEN 0 AND 19),
    medicine_code      TEXT,
    clinic_medicine_id BLOB,
    medicine           TEXT    NOT NULL CHECK (length(medicine) BETWEEN 2 AND 160),
    ingredients        TEXT    NOT NULL,
    strength           TEXT,
    form               TEXT,
    route              TEXT    NOT NULL,
    dose_milli         INTEGER NOT NULL CHECK (dose_milli > 0 AND dose_milli <= 100000000),
    dose_unit          TEXT    NOT NULL,
    frequency          TEXT    NOT NULL,
    prn_indication     TEXT,
    duration_days      INTEGER CHECK (duration_days BETWEEN 1 AND 365),
    quantity           INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    quantity_unit      TEXT    NOT NULL,
    refills            INTEGER NOT NULL CHECK (refills BETWEEN 0 AND 11),
    instructions       TEXT    CHECK (length(instructions) <= 1000),
    override_reason    TEXT,
    override_note      TEXT    CHECK (length(override_note) <= 500),
    alerts             TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, prescription_id, position),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_medicine_id) REFERENCES clinic_medicines (tenant_id, id),
    CHECK ((frequency = 'prn') = (prn_indication IS NOT NULL)),
    CHECK (override_note IS NULL OR override_reason IS NOT NULL)
) STRICT;
CREATE INDEX prescription_lines_prescription ON prescription_lines (tenant_id, prescription_id);
CREATE INDEX prescription_lines_patient ON prescription_lines (tenant_id, patient_id);
CREATE TRIGGER prescription_lines_are_final BEFORE UPDATE ON prescription_lines
BEGIN
    SELECT RAISE(ABORT, 'a prescription line cannot change; discontinue the prescription');
END;

CREATE TABLE dispensings (
    tenant_id       BLOB    NOT NULL REFERENCES tenants (id),
    id              BLOB    NOT NULL,
    line_id         BLOB    NOT NULL,
    prescription_id BLOB    NOT NULL,
    patient_id      BLOB    NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    batch           TEXT    NOT NULL CHECK (length(batch) BETWEEN 1 AND 40),
    expires_on      TEXT    NOT NULL,
    dispensed_by    BLOB    NOT NULL,
    dispensed_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, line_id) REFERENCES prescription_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, dispensed_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX dispensings_line ON dispensings (tenant_id, line_id);
CREATE TRIGGER dispensings_are_final BEFORE UPDATE ON dispensings
BEGIN
    SELECT RAISE(ABORT, 'a dispensing is a history');
END;
-- SQLite serialises writers, so the sum cannot change between the check and the insert.
CREATE TRIGGER dispensings_match_line BEFORE INSERT ON dispensings
WHEN NOT EXISTS (SELECT 1 FROM prescription_lines l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.line_id
                 AND l.prescription_id = NEW.prescription_id AND l.patient_id = NEW.patient_id)
BEGIN
    SELECT RAISE(ABORT, 'the dispensing does not match its prescription line');
END;
CREATE TRIGGER dispensings_only_active BEFORE INSERT ON dispensings
WHEN (SELECT status FROM prescriptions p WHERE p.tenant_id = NEW.tenant_id AND p.id = NEW.prescription_id) <> 'active'
BEGIN
    SELECT RAISE(ABORT, 'the prescription is not active; nothing more can be dispensed');
END;
CREATE TRIGGER dispensings_within_prescription BEFORE INSERT ON dispensings
WHEN (SELECT coalesce(sum(d.quantity), 0) FROM dispensings d WHERE d.tenant_id = NEW.tenant_id AND d.line_id = NEW.line_id)
     + NEW.quantity >
     (SELECT l.quantity * (l.refills + 1) FROM prescription_lines l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.line_id)
BEGIN
    SELECT RAISE(ABORT, 'dispensing more than prescribed');
END;

CREATE TABLE medication_alerts (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    patient_id      BLOB NOT NULL,
    prescription_id BLOB,
    rule            TEXT NOT NULL,
    level           TEXT NOT NULL CHECK (level IN ('interruptive', 'unchecked', 'warning')),
    outcome         TEXT NOT NULL CHECK (outcome IN ('shown', 'overridden', 'acknowledged')),
    reason          TEXT,
    kb_version      TEXT,
    staff_id        BLOB NOT NULL,
    at              TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id),
    CHECK ((outcome = 'overridden') = (reason IS NOT NULL))
) STRICT;
CREATE INDEX medication_alerts_rule ON medication_alerts (tenant_id, rule);
CREATE TRIGGER medication_alerts_are_final BEFORE UPDATE ON medication_alerts
BEGIN
    SELECT RAISE(ABORT, 'an alert record is a history');
END;

-- The purge deletes a record's rows once its retention has ended; before, never.
CREATE TRIGGER prescriptions_kept_until_retention BEFORE DELETE ON prescriptions
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER prescription_lines_kept_until_retention BEFORE DELETE ON prescription_lines
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER dispensings_kept_until_retention BEFORE DELETE ON dispensings
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER medication_alerts_kept_until_retention BEFORE DELETE ON medication_alerts
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

-- A patient's request to refill an active prescription line, on its
-- prescriber's task list until approved (a new prescription) or declined.
CREATE TABLE refill_requests (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id),
    id               BLOB NOT NULL,
    patient_id       BLOB NOT NULL,
    line_id          BLOB NOT NULL,
    prescriber_id    BLOB NOT NULL,
    note             TEXT CHECK (length(note) <= 300),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    requested_at     TEXT NOT NULL,
    decided_by       BLOB,
    decided_at       TEXT,
    decline_reason   TEXT CHECK (length(decline_reason) BETWEEN 3 AND 500),
    new_prescription BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, line_id) REFERENCES prescription_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, prescriber_id) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, decided_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, new_prescription) REFERENCES prescriptions (tenant_id, id),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CHECK ((status = 'approved') = (new_prescription IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX refill_requests_pending ON refill_requests (tenant_id, line_id) WHERE status = 'pending';
CREATE INDEX refill_requests_prescriber ON refill_requests (tenant_id, prescriber_id) WHERE status = 'pending';
CREATE INDEX refill_requests_patient ON refill_requests (tenant_id, patient_id);
CREATE TRIGGER refill_requests_decided_are_final BEFORE UPDATE ON refill_requests
WHEN OLD.status <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'a decided refill request cannot be changed');
END;
CREATE TRIGGER refill_requests_kept_until_retention BEFORE DELETE ON refill_requests
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

-- What a prescription prints under the prescriber's name.
ALTER TABLE staff_members ADD COLUMN qualifications TEXT CHECK (length(qualifications) BETWEEN 2 AND 120);
ALTER TABLE staff_members ADD COLUMN registration_number TEXT CHECK (length(registration_number) BETWEEN 2 AND 40);

-- Medicines the patient takes that this clinic did not prescribe (another
-- doctor's, over the counter), checked against like its own.
CREATE TABLE other_medications (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    patient_id  BLOB NOT NULL,
    medicine    TEXT NOT NULL CHECK (length(medicine) BETWEEN 2 AND 160),
    ingredients TEXT NOT NULL CHECK (length(ingredients) <= 500),
    dose        TEXT CHECK (length(dose) <= 120),
    source      TEXT CHECK (length(source) <= 120),
    status      TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
    recorded_by BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    stopped_by  BLOB,
    stopped_at  TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, stopped_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
) STRICT;
CREATE INDEX other_medications_patient ON other_medications (tenant_id, patient_id);

-- Medication reconciliation: at a review each active medicine is continued or stopped.
CREATE TABLE medication_reviews (
    tenant_id           BLOB NOT NULL REFERENCES tenants (id),
    id                  BLOB NOT NULL,
    patient_id          BLOB NOT NULL,
    visit_note_id       BLOB,
    prescription_id     BLOB,
    other_medication_id BLOB,
    decision            TEXT NOT NULL CHECK (decision IN ('continued', 'stopped')),
    reviewed_by         BLOB NOT NULL,
    reviewed_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, visit_note_id) REFERENCES visit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES prescriptions (tenant_id, id),
    FOREIGN KEY (tenant_id, other_medication_id) REFERENCES other_medications (tenant_id, id),
    FOREIGN KEY (tenant_id, reviewed_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((prescription_id IS NULL) <> (other_medication_id IS NULL))
) STRICT;
CREATE INDEX medication_reviews_patient ON medication_reviews (tenant_id, patient_id);
CREATE TRIGGER medication_reviews_are_final BEFORE UPDATE ON medication_reviews
BEGIN
    SELECT RAISE(ABORT, 'a medication review is a history');
END;
CREATE TRIGGER other_medications_kept_until_retention BEFORE DELETE ON other_medications
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER medication_reviews_kept_until_retention BEFORE DELETE ON medication_reviews
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

-- One person working at several clinics (one account, a staff member in each
-- tenant): their appointments at one clinic make them busy at the others.
-- The same projection as on PostgreSQL (see its migration), kept by triggers
-- on `appointments`. SQLite has one writer at a time, so the check below
-- cannot race.
CREATE TABLE account_busy (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    occupancy      BLOB NOT NULL,
    account_id     BLOB NOT NULL REFERENCES accounts (id),
    occupied_from  TEXT NOT NULL,
    occupied_until TEXT NOT NULL,
    PRIMARY KEY (tenant_id, occupancy),
    CHECK (occupied_from < occupied_until)
) STRICT;
CREATE INDEX account_busy_account_time ON account_busy (account_id, occupied_until);

-- Each occupied stretch as the projection holds it (a group session once).
CREATE VIEW account_busy_source AS
SELECT a.tenant_id, a.occupancy, s.account_id, min(a.occupied_from) AS occupied_from,
       max(a.occupied_until) AS occupied_until
  FROM appointments a
  JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id
 WHERE a.status <> 'cancelled'
 GROUP BY a.tenant_id, a.occupancy, s.account_id;

-- What was booked before this migration.
INSERT OR IGNORE INTO account_busy (tenant_id, occupancy, account_id, occupied_from, occupied_until)
SELECT tenant_id, occupancy, account_id, occupied_from, occupied_until FROM account_busy_source;

-- Nobody in two clinics at once (each clinic's own overlaps are refused by
-- `appointments`' triggers).
CREATE TRIGGER account_busy_one_clinic_at_a_time BEFORE INSERT ON account_busy
WHEN EXISTS (
    SELECT 1 FROM account_busy b
     WHERE b.account_id = NEW.account_id AND b.tenant_id <> NEW.tenant_id
       AND b.occupied_from < NEW.occupied_until AND NEW.occupied_from < b.occupied_until)
BEGIN
    SELECT RAISE(ABORT, 'double booking: busy at another clinic at that time');
END;

-- Kept in step with every change of an appointment's time, practitioner or status.
CREATE TRIGGER appointments_project_busy_insert AFTER INSERT ON appointments
BEGIN
    DELETE FROM account_busy WHERE tenant_id = NEW.tenant_id AND occupancy = NEW.occupancy;
    INSERT INTO account_busy (tenant_id, occupancy, account_id, occupied_from, occupied_until)
    SELECT tenant_id, occupancy, account_id, occupied_from, occupied_until FROM account_busy_source
     WHERE tenant_id = NEW.tenant_id AND occupancy = NEW.occupancy;
END;

CREATE TRIGGER appointments_project_busy_update
AFTER UPDATE OF staff_id, occupied_from, occupied_until, occupancy, status ON appointments
BEGIN
    DELETE FROM account_busy WHERE tenant_id = OLD.tenant_id AND occupancy IN (OLD.occupancy, NEW.occupancy);
    INSERT INTO account_busy (tenant_id, occupancy, account_id, occupied_from, occupied_until)
    SELECT tenant_id, occupancy, account_id, occupied_from, occupied_until FROM account_busy_source
     WHERE tenant_id = OLD.tenant_id AND occupancy IN (OLD.occupancy, NEW.occupancy);
END;

CREATE TRIGGER appointments_project_busy_delete AFTER DELETE ON appointments
BEGIN
    DELETE FROM account_busy WHERE tenant_id = OLD.tenant_id AND occupancy = OLD.occupancy;
    INSERT INTO account_busy (tenant_id, occupancy, account_id, occupied_from, occupied_until)
    SELECT tenant_id, occupancy, account_id, occupied_from, occupied_until FROM account_busy_source
     WHERE tenant_id = OLD.tenant_id AND occupancy = OLD.occupancy;
END;

-- A recurring series booked at the desk (weekly × N): what was asked, and the
-- dates that could not be booked, with why. Its appointments carry its id.
CREATE TABLE appointment_series (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    patient_id   BLOB    NOT NULL,
    staff_id     BLOB    NOT NULL,
    location_id  BLOB    NOT NULL,
    type_id      BLOB    NOT NULL,
    first_start  TEXT    NOT NULL,
    every_weeks  INTEGER NOT NULL CHECK (every_weeks BETWEEN 1 AND 4),
    times        INTEGER NOT NULL CHECK (times BETWEEN 2 AND 26),
    missed       TEXT    NOT NULL CHECK (length(missed) <= 10000),
    created_by   BLOB    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX appointments_series ON appointments (tenant_id, series_id) WHERE series_id IS NOT NULL;

-- A location's opening hours (see the PostgreSQL migration).
CREATE TABLE location_hours (
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    id          BLOB    NOT NULL,
    location_id BLOB    NOT NULL,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min   INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (start_min < end_min)
) STRICT;
CREATE INDEX location_hours_location ON location_hours (tenant_id, location_id, weekday);

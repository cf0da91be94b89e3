-- Scheduling: where a clinic sees patients (locations), who sees them
-- (practitioner profiles), what can be booked (appointment types), when
-- (weekly hours, rounds, one-day changes, leave, holidays) and what is booked
-- (appointments with their status history). A practitioner can never be
-- booked twice: writers are serialised (BEGIN IMMEDIATE) and triggers refuse
-- overlapping time, buffers included, whatever the application does.
-- Times are RFC 3339 text in UTC, so text order is time order.

CREATE TABLE locations (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (id),
    id         BLOB    NOT NULL,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    kind       TEXT    NOT NULL CHECK (kind IN ('clinic', 'hospital', 'virtual')),
    address    TEXT    CHECK (length(address) <= 300),
    time_zone  TEXT    NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    active     INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX locations_name ON locations (tenant_id, lower(name));

CREATE TABLE practitioners (
    tenant_id       BLOB    NOT NULL REFERENCES tenants (id),
    staff_id        BLOB    NOT NULL,
    specialty       TEXT    CHECK (length(specialty) BETWEEN 2 AND 80),
    bio             TEXT    CHECK (length(bio) <= 1000),
    fee_minor       INTEGER NOT NULL CHECK (fee_minor BETWEEN 0 AND 100000000),
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    bookable_online INTEGER NOT NULL CHECK (bookable_online IN (0, 1)),
    active          INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
) STRICT;

CREATE TABLE appointment_types (
    tenant_id         BLOB    NOT NULL REFERENCES tenants (id),
    id                BLOB    NOT NULL,
    name              TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    duration_min      INTEGER NOT NULL CHECK (duration_min BETWEEN 5 AND 480),
    buffer_before_min INTEGER NOT NULL CHECK (buffer_before_min BETWEEN 0 AND 120),
    buffer_after_min  INTEGER NOT NULL CHECK (buffer_after_min BETWEEN 0 AND 120),
    price_minor       INTEGER NOT NULL CHECK (price_minor BETWEEN 0 AND 100000000),
    currency          TEXT    NOT NULL CHECK (length(currency) = 3),
    capacity          INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    colour            TEXT    NOT NULL CHECK (length(colour) = 7 AND colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    online_bookable   INTEGER NOT NULL CHECK (online_bookable IN (0, 1)),
    active            INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX appointment_types_name ON appointment_types (tenant_id, lower(name));

CREATE TABLE appointment_type_practitioners (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    type_id   BLOB NOT NULL,
    staff_id  BLOB NOT NULL,
    PRIMARY KEY (tenant_id, type_id, staff_id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id)
) STRICT;
CREATE TABLE appointment_type_locations (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    type_id     BLOB NOT NULL,
    location_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, type_id, location_id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
) STRICT;

CREATE TABLE availability_blocks (
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    id          BLOB    NOT NULL,
    staff_id    BLOB    NOT NULL,
    location_id BLOB    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('clinic', 'rounds')),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min   INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    every_weeks INTEGER NOT NULL CHECK (every_weeks BETWEEN 1 AND 8),
    valid_from  TEXT    NOT NULL,
    valid_until TEXT,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (end_min > start_min),
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
) STRICT;
CREATE INDEX availability_blocks_staff ON availability_blocks (tenant_id, staff_id);

CREATE TABLE availability_overrides (
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id),
    id          BLOB    NOT NULL,
    staff_id    BLOB    NOT NULL,
    location_id BLOB,
    on_date     TEXT    NOT NULL,
    open        INTEGER NOT NULL CHECK (open IN (0, 1)),
    start_min   INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    note        TEXT    CHECK (length(note) <= 200),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (end_min > start_min),
    CHECK (NOT open OR location_id IS NOT NULL)
) STRICT;
CREATE INDEX availability_overrides_staff ON availability_overrides (tenant_id, staff_id, on_date);

CREATE TABLE practitioner_leave (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    staff_id   BLOB NOT NULL,
    first_day  TEXT NOT NULL,
    last_day   TEXT NOT NULL,
    reason     TEXT CHECK (length(reason) <= 200),
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    CHECK (last_day >= first_day)
) STRICT;
CREATE INDEX practitioner_leave_staff ON practitioner_leave (tenant_id, staff_id, last_day);

CREATE TABLE clinic_holidays (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    location_id BLOB,
    on_date     TEXT NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
) STRICT;
CREATE INDEX clinic_holidays_date ON clinic_holidays (tenant_id, on_date);

CREATE TABLE scheduling_settings (
    tenant_id       BLOB    NOT NULL REFERENCES tenants (id),
    min_notice_min  INTEGER NOT NULL CHECK (min_notice_min BETWEEN 0 AND 20160),
    max_days_ahead  INTEGER NOT NULL CHECK (max_days_ahead BETWEEN 1 AND 730),
    same_day_online INTEGER NOT NULL CHECK (same_day_online IN (0, 1)),
    overbooking     INTEGER NOT NULL CHECK (overbooking IN (0, 1)),
    hold_minutes    INTEGER NOT NULL CHECK (hold_minutes BETWEEN 1 AND 60),
    public_booking  INTEGER NOT NULL CHECK (public_booking IN (0, 1)),
    see_all_calendars INTEGER NOT NULL CHECK (see_all_calendars IN (0, 1)),
    PRIMARY KEY (tenant_id)
) STRICT;

CREATE TABLE appointments (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    patient_id     BLOB    NOT NULL,
    staff_id       BLOB    NOT NULL,
    location_id    BLOB    NOT NULL,
    type_id        BLOB    NOT NULL,
    starts_at      TEXT    NOT NULL,
    ends_at        TEXT    NOT NULL,
    occupied_from  TEXT    NOT NULL,
    occupied_until TEXT    NOT NULL,
    occupancy      BLOB    NOT NULL,
    capacity       INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    status         TEXT    NOT NULL CHECK (status IN ('booked', 'arrived', 'in_consultation',
                                                      'completed', 'no_show', 'cancelled')),
    notes          TEXT    CHECK (length(notes) <= 1000),
    visit_note_id  BLOB,
    series_id      BLOB,
    booked_via     TEXT    NOT NULL CHECK (booked_via IN ('desk', 'portal', 'online')),
    booked_by      BLOB,
    cancel_reason  TEXT    CHECK (length(cancel_reason) BETWEEN 3 AND 300),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, visit_note_id) REFERENCES visit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, booked_by) REFERENCES staff_members (tenant_id, id),
    CHECK (starts_at < ends_at),
    CHECK (occupied_from <= starts_at AND ends_at <= occupied_until),
    CHECK (capacity > 1 OR occupancy = id),
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
) STRICT;
CREATE INDEX appointments_staff_time ON appointments (tenant_id, staff_id, starts_at);
CREATE INDEX appointments_location_time ON appointments (tenant_id, location_id, starts_at);
CREATE INDEX appointments_patient ON appointments (tenant_id, patient_id, starts_at);

-- The backstop of the application's check (the same rule as PostgreSQL's
-- exclusion constraint): no overlapping occupied time of one practitioner
-- unless it is the same group session, and no more seats than the capacity.
CREATE TRIGGER appointments_no_double_booking BEFORE INSERT ON appointments
WHEN NEW.status <> 'cancelled' AND EXISTS (
    SELECT 1 FROM appointments a
     WHERE a.tenant_id = NEW.tenant_id AND a.staff_id = NEW.staff_id AND a.status <> 'cancelled'
       AND a.occupancy <> NEW.occupancy
       AND a.occupied_from < NEW.occupied_until AND NEW.occupied_from < a.occupied_until)
BEGIN
    SELECT RAISE(ABORT, 'double booking: that time was just taken');
END;
CREATE TRIGGER appointments_no_double_booking_on_change
BEFORE UPDATE OF staff_id, occupied_from, occupied_until, occupancy, status ON appointments
WHEN NEW.status <> 'cancelled' AND EXISTS (
    SELECT 1 FROM appointments a
     WHERE a.tenant_id = NEW.tenant_id AND a.staff_id = NEW.staff_id AND a.status <> 'cancelled'
       AND a.id <> NEW.id AND a.occupancy <> NEW.occupancy
       AND a.occupied_from < NEW.occupied_until AND NEW.occupied_from < a.occupied_until)
BEGIN
    SELECT RAISE(ABORT, 'double booking: that time was just taken');
END;
CREATE TRIGGER appointments_within_capacity BEFORE INSERT ON appointments
WHEN NEW.status <> 'cancelled' AND (
    SELECT count(*) FROM appointments a
     WHERE a.tenant_id = NEW.tenant_id AND a.occupancy = NEW.occupancy AND a.status <> 'cancelled') >= NEW.capacity
BEGIN
    SELECT RAISE(ABORT, 'that group session is full');
END;
CREATE TRIGGER appointments_kept_until_retention BEFORE DELETE ON appointments
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;

CREATE TABLE appointment_events (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    appointment_id BLOB    NOT NULL,
    patient_id     BLOB    NOT NULL,
    status         TEXT    NOT NULL,
    starts_at      TEXT    NOT NULL,
    reason         TEXT    CHECK (length(reason) <= 300),
    staff_id       BLOB,
    by_patient     INTEGER NOT NULL CHECK (by_patient IN (0, 1)),
    at             TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX appointment_events_appointment ON appointment_events (tenant_id, appointment_id, at);
CREATE TRIGGER appointment_events_are_final BEFORE UPDATE ON appointment_events
BEGIN
    SELECT RAISE(ABORT, 'an appointment''s history cannot change');
END;
CREATE TRIGGER appointment_events_kept_until_retention BEFORE DELETE ON appointment_events
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'clinical records are never deleted before their retention ends');
END;
CREATE TRIGGER locations_kept BEFORE DELETE ON locations
BEGIN
    SELECT RAISE(ABORT, 'a location is retired, never deleted');
END;
CREATE TRIGGER appointment_types_kept BEFORE DELETE ON appointment_types
BEGIN
    SELECT RAISE(ABORT, 'an appointment type is retired, never deleted');
END;
CREATE TRIGGER practitioners_kept BEFORE DELETE ON practitioners
BEGIN
    SELECT RAISE(ABORT, 'a practitioner is made inactive, never deleted');
END;

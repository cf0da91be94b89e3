-- Scheduling: where a clinic sees patients (locations), who sees them
-- (practitioner profiles), what can be booked (appointment types), when
-- (weekly hours, rounds, one-day changes, leave, holidays) and what is booked
-- (appointments with their status history). A practitioner can never be
-- booked twice: an exclusion constraint refuses overlapping time, buffers
-- included, whatever the application does.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE locations (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    name       text        NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    kind       text        NOT NULL CHECK (kind IN ('clinic', 'hospital', 'virtual')),
    address    text        CHECK (length(address) <= 300),
    time_zone  text        NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    active     boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX locations_name ON locations (tenant_id, lower(name));

-- A staff member who sees patients. Qualifications and registration number
-- are on staff_members (the prescription prints them too).
CREATE TABLE practitioners (
    tenant_id       uuid    NOT NULL REFERENCES tenants (id),
    staff_id        uuid    NOT NULL,
    specialty       text    CHECK (length(specialty) BETWEEN 2 AND 80),
    bio             text    CHECK (length(bio) <= 1000),
    fee_minor       bigint  NOT NULL CHECK (fee_minor BETWEEN 0 AND 100000000),
    currency        text    NOT NULL CHECK (length(currency) = 3),
    bookable_online boolean NOT NULL,
    active          boolean NOT NULL,
    PRIMARY KEY (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
);

CREATE TABLE appointment_types (
    tenant_id         uuid        NOT NULL REFERENCES tenants (id),
    id                uuid        NOT NULL,
    name              text        NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    duration_min      integer     NOT NULL CHECK (duration_min BETWEEN 5 AND 480),
    buffer_before_min integer     NOT NULL CHECK (buffer_before_min BETWEEN 0 AND 120),
    buffer_after_min  integer     NOT NULL CHECK (buffer_after_min BETWEEN 0 AND 120),
    price_minor       bigint      NOT NULL CHECK (price_minor BETWEEN 0 AND 100000000),
    currency          text        NOT NULL CHECK (length(currency) = 3),
    capacity          integer     NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    colour            text        NOT NULL CHECK (colour ~ '^#[0-9a-f]{6}$'),
    online_bookable   boolean     NOT NULL,
    active            boolean     NOT NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX appointment_types_name ON appointment_types (tenant_id, lower(name));

-- Which practitioners and which locations offer a type.
CREATE TABLE appointment_type_practitioners (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    type_id   uuid NOT NULL,
    staff_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, type_id, staff_id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id)
);
CREATE TABLE appointment_type_locations (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    type_id     uuid NOT NULL,
    location_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, type_id, location_id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

-- Weekly hours (kind 'clinic': bookable) and hospital rounds (kind 'rounds':
-- away from every location), in minutes of the location's local day.
CREATE TABLE availability_blocks (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    location_id uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('clinic', 'rounds')),
    weekday     integer     NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min   integer     NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     integer     NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    every_weeks integer     NOT NULL CHECK (every_weeks BETWEEN 1 AND 8),
    valid_from  date        NOT NULL,
    valid_until date,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (end_min > start_min),
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX availability_blocks_staff ON availability_blocks (tenant_id, staff_id);

-- One day changed for a practitioner: extra hours at a location, or closed
-- (at one location, or everywhere when location_id is NULL).
CREATE TABLE availability_overrides (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    location_id uuid,
    on_date     date        NOT NULL,
    open        boolean     NOT NULL,
    start_min   integer     NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     integer     NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    note        text        CHECK (length(note) <= 200),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (end_min > start_min),
    CHECK (NOT open OR location_id IS NOT NULL)
);
CREATE INDEX availability_overrides_staff ON availability_overrides (tenant_id, staff_id, on_date);

-- Leave: whole local days away.
CREATE TABLE practitioner_leave (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    staff_id   uuid        NOT NULL,
    first_day  date        NOT NULL,
    last_day   date        NOT NULL,
    reason     text        CHECK (length(reason) <= 200),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    CHECK (last_day >= first_day)
);
CREATE INDEX practitioner_leave_staff ON practitioner_leave (tenant_id, staff_id, last_day);

-- Holidays: a location (or, with location_id NULL, the whole clinic) closed for a day.
CREATE TABLE clinic_holidays (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    location_id uuid,
    on_date     date        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);
CREATE INDEX clinic_holidays_date ON clinic_holidays (tenant_id, on_date);

-- The clinic's booking rules.
CREATE TABLE scheduling_settings (
    tenant_id       uuid    NOT NULL REFERENCES tenants (id),
    min_notice_min  integer NOT NULL CHECK (min_notice_min BETWEEN 0 AND 20160),
    max_days_ahead  integer NOT NULL CHECK (max_days_ahead BETWEEN 1 AND 730),
    same_day_online boolean NOT NULL,
    overbooking     boolean NOT NULL,
    hold_minutes    integer NOT NULL CHECK (hold_minutes BETWEEN 1 AND 60),
    public_booking  boolean NOT NULL,
    see_all_calendars boolean NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- An appointment occupies its practitioner from occupied_from to
-- occupied_until (its buffers included). `occupancy` names the stretch it
-- occupies: its own id, or for a group session (capacity above 1) the id of
-- the session's first booking, which every seat of that session shares.
CREATE TABLE appointments (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    staff_id       uuid        NOT NULL,
    location_id    uuid        NOT NULL,
    type_id        uuid        NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    occupied_from  timestamptz NOT NULL,
    occupied_until timestamptz NOT NULL,
    occupancy      uuid        NOT NULL,
    capacity       integer     NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    status         text        NOT NULL CHECK (status IN ('booked', 'arrived', 'in_consultation',
                                                          'completed', 'no_show', 'cancelled')),
    notes          text        CHECK (length(notes) <= 1000),
    visit_note_id  uuid,
    series_id      uuid,
    booked_via     text        NOT NULL CHECK (booked_via IN ('desk', 'portal', 'online')),
    booked_by      uuid,
    cancel_reason  text        CHECK (length(cancel_reason) BETWEEN 3 AND 300),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
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
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    -- No practitioner in two places at once: overlapping occupied time of one
    -- practitioner is refused unless it is the same group session.
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (
        tenant_id WITH =,
        staff_id WITH =,
        occupancy WITH <>,
        tstzrange(occupied_from, occupied_until, '[)') WITH &&
    ) WHERE (status <> 'cancelled')
);
CREATE INDEX appointments_staff_time ON appointments (tenant_id, staff_id, starts_at);
CREATE INDEX appointments_location_time ON appointments (tenant_id, location_id, starts_at);
CREATE INDEX appointments_patient ON appointments (tenant_id, patient_id, starts_at);

-- A group session admits exactly its capacity: the practitioner's bookings are
-- serialised by a transaction-scoped lock, then the seats are counted.
CREATE FUNCTION appointment_within_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken  bigint;
    tenant text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    IF tenant IS NULL OR NEW.tenant_id <> tenant::uuid OR NEW.status = 'cancelled' OR NEW.capacity = 1 THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.occupancy::text, 0));
    SELECT count(*) INTO taken FROM appointments
     WHERE tenant_id = NEW.tenant_id AND occupancy = NEW.occupancy AND status <> 'cancelled' AND id <> NEW.id;
    IF taken >= NEW.capacity THEN
        RAISE EXCEPTION 'that group session is full' USING ERRCODE = 'MS002';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER appointments_within_capacity BEFORE INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointment_within_capacity();

-- Every change of an appointment's status or time: who, when, why.
CREATE TABLE appointment_events (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    appointment_id uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    status         text        NOT NULL,
    starts_at      timestamptz NOT NULL,
    reason         text        CHECK (length(reason) <= 300),
    staff_id       uuid,
    by_patient     boolean     NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX appointment_events_appointment ON appointment_events (tenant_id, appointment_id, at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['locations', 'practitioners', 'appointment_types', 'appointment_type_practitioners',
                             'appointment_type_locations', 'availability_blocks', 'availability_overrides',
                             'practitioner_leave', 'clinic_holidays', 'scheduling_settings', 'appointments',
                             'appointment_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
    -- An appointment and its history leave only with the record, at the purge.
    FOREACH t IN ARRAY ARRAY['appointments', 'appointment_events'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_delete_before_retention()', t || '_kept_until_retention', t);
    END LOOP;
END $$;

-- Locations, types and profiles are retired, never deleted (appointments point at them).
GRANT SELECT, INSERT, UPDATE ON locations, practitioners, appointment_types, scheduling_settings TO medisync_app;
-- Hours and offers are configuration: replaced freely.
GRANT SELECT, INSERT, UPDATE, DELETE ON appointment_type_practitioners, appointment_type_locations,
    availability_blocks, availability_overrides, practitioner_leave, clinic_holidays TO medisync_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON appointments TO medisync_app;
GRANT SELECT, INSERT, DELETE ON appointment_events TO medisync_app;

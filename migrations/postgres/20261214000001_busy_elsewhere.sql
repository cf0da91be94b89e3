-- One person working at several clinics (one account, a staff member in each
-- tenant): their appointments at one clinic make them busy at the others.
--
-- `account_busy` projects every occupied stretch (an appointment with its
-- buffers; a group session once) onto the person's account. A trigger on
-- `appointments` keeps it in step, so it is right whichever statement changed
-- an appointment. Each clinic writes and reads only its own rows; another
-- clinic learns of them only through `busy_elsewhere`, which answers start and
-- end and nothing else (not the clinic, the patient or the visit).
CREATE TABLE account_busy (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    occupancy      uuid        NOT NULL,
    account_id     uuid        NOT NULL REFERENCES accounts (id),
    occupied_from  timestamptz NOT NULL,
    occupied_until timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, occupancy),
    CHECK (occupied_from < occupied_until),
    -- Nobody in two clinics at once, even when both book at the same moment
    -- (each clinic's own overlaps are refused by `appointments`).
    CONSTRAINT account_busy_one_clinic_at_a_time EXCLUDE USING gist (
        account_id WITH =,
        tenant_id WITH <>,
        tstzrange(occupied_from, occupied_until, '[)') WITH &&
    )
);
CREATE INDEX account_busy_account_time ON account_busy (account_id, occupied_until);

ALTER TABLE account_busy ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_busy FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON account_busy
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- The schema owner (and so `busy_elsewhere`, which runs as the owner) reads
-- every clinic's rows; the application role never does.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY busy_elsewhere_reader ON account_busy FOR SELECT TO %I USING (true)',
                   current_user);
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON account_busy TO medisync_app;

-- Recomputes the projection of one occupied stretch of the current clinic.
-- Writers for one person take turns (a transaction-scoped lock on the
-- account): two clinics checking the exclusion constraint at the same moment
-- would otherwise each wait for the other, a deadlock, instead of one being
-- told the time is taken.
CREATE FUNCTION project_account_busy(tenant uuid, stretch uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    person uuid;
BEGIN
    SELECT s.account_id INTO person
      FROM appointments a
      JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id
     WHERE a.tenant_id = tenant AND a.occupancy = stretch
     LIMIT 1;
    IF person IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('account_busy:' || person::text, 0));
    END IF;
    DELETE FROM account_busy WHERE tenant_id = tenant AND occupancy = stretch;
    INSERT INTO account_busy (tenant_id, occupancy, account_id, occupied_from, occupied_until)
    SELECT a.tenant_id, a.occupancy, s.account_id, min(a.occupied_from), max(a.occupied_until)
      FROM appointments a
      JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id
     WHERE a.tenant_id = tenant AND a.occupancy = stretch AND a.status <> 'cancelled'
     GROUP BY a.tenant_id, a.occupancy, s.account_id;
END $$;

CREATE FUNCTION appointments_project_busy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM project_account_busy(OLD.tenant_id, OLD.occupancy);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.occupancy <> OLD.occupancy) THEN
        PERFORM project_account_busy(NEW.tenant_id, NEW.occupancy);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER appointments_project_busy
    AFTER INSERT OR DELETE OR UPDATE OF staff_id, occupied_from, occupied_until, occupancy, status
    ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_project_busy();

-- The busy stretches, between two instants, that staff member `staff` of the
-- current clinic has at other clinics. Nothing but the two instants leaves.
CREATE FUNCTION busy_elsewhere(tenant uuid, staff uuid, from_at timestamptz, until_at timestamptz)
RETURNS TABLE (busy_from timestamptz, busy_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT b.occupied_from, b.occupied_until
      FROM staff_members s
      JOIN account_busy b ON b.account_id = s.account_id AND b.tenant_id <> s.tenant_id
     WHERE s.tenant_id = tenant
       AND s.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND s.id = staff
       AND b.occupied_until > from_at AND b.occupied_from < until_at
     ORDER BY b.occupied_from;
$$;
REVOKE ALL ON FUNCTION busy_elsewhere(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION busy_elsewhere(uuid, uuid, timestamptz, timestamptz) TO medisync_app;

-- What was booked before this migration, clinic by clinic (row-level security
-- applies to the owner too). Stretches that already overlap another clinic's
-- are left out rather than failing the upgrade.
DO $$
DECLARE
    t uuid;
    stretch uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        FOR stretch IN SELECT DISTINCT occupancy FROM appointments WHERE tenant_id = t AND status <> 'cancelled' LOOP
            BEGIN
                PERFORM project_account_busy(t, stretch);
            EXCEPTION WHEN exclusion_violation THEN
                NULL;
            END;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

-- A recurring series booked at the desk (weekly × N): what was asked, and the
-- dates that could not be booked, with why. Its appointments carry its id.
CREATE TABLE appointment_series (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    staff_id     uuid        NOT NULL,
    location_id  uuid        NOT NULL,
    type_id      uuid        NOT NULL,
    first_start  timestamptz NOT NULL,
    every_weeks  integer     NOT NULL CHECK (every_weeks BETWEEN 1 AND 4),
    times        integer     NOT NULL CHECK (times BETWEEN 2 AND 26),
    missed       text        NOT NULL CHECK (length(missed) <= 10000),
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES practitioners (tenant_id, staff_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, type_id) REFERENCES appointment_types (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX appointments_series ON appointments (tenant_id, series_id) WHERE series_id IS NOT NULL;

ALTER TABLE appointment_series ENABLE ROW LEVEL SECURITY;
ALTER TABLE appointment_series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON appointment_series
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON appointment_series TO medisync_app;

-- A location's opening hours: when the building is open, weekday by weekday.
-- A practitioner's weekly hours there are bookable only inside them (a
-- location with none is open whenever its practitioners work; extra hours on
-- a date are a deliberate opening and are not clipped).
CREATE TABLE location_hours (
    tenant_id   uuid    NOT NULL REFERENCES tenants (id),
    id          uuid    NOT NULL,
    location_id uuid    NOT NULL,
    weekday     integer NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min   integer NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min     integer NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    CHECK (start_min < end_min)
);
CREATE INDEX location_hours_location ON location_hours (tenant_id, location_id, weekday);
ALTER TABLE location_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE location_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON location_hours
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON location_hours TO medisync_app;

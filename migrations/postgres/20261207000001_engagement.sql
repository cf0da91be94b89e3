-- Patient messages about appointments: the clinic's reminder rules, the hours
-- messages may arrive at, and every message planned, sent or held back, with
-- why. A message's key is unique among a clinic's live messages: the same
-- message is never planned twice, and sending it claims it (`scheduled` → `sent`) in the
-- transaction that hands it to a channel, so it goes out at most once.
CREATE TABLE messaging_settings (
    tenant_id  uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id),
    -- Messages arrive between these minutes of the day, in the local time of
    -- the appointment's location.
    send_from  integer     NOT NULL CHECK (send_from BETWEEN 0 AND 1380),
    send_until integer     NOT NULL CHECK (send_until BETWEEN 60 AND 1440),
    -- Tell patients when a visit is booked, moved or cancelled.
    updates    boolean     NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (send_until - send_from >= 60)
);

CREATE TABLE reminder_rules (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    minutes_before integer     NOT NULL CHECK (minutes_before BETWEEN 15 AND 43200),
    channel        text        NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, minutes_before, channel)
);

CREATE TABLE patient_messages (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    message_key    text        NOT NULL CHECK (length(message_key) BETWEEN 1 AND 200),
    patient_id     uuid        NOT NULL,
    appointment_id uuid,
    kind           text        NOT NULL CHECK (kind IN ('appointment_reminder', 'appointment_update')),
    channel        text        NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    -- The visit time the message speaks of.
    about_starts_at timestamptz,
    status         text        NOT NULL CHECK (status IN ('scheduled', 'sent', 'skipped', 'cancelled')),
    due_at         timestamptz NOT NULL,
    sent_at        timestamptz,
    -- What an update told the patient: booked or cancelled.
    told           text        CHECK (told IN ('booked', 'cancelled')),
    -- Why it was held back, skipped or cancelled (no PHI).
    detail         text        CHECK (length(detail) <= 300),
    -- The email it became (platform outbox).
    mail_id        uuid,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX patient_messages_appointment ON patient_messages (tenant_id, appointment_id, created_at);
-- One live message per key: planning the same message again does nothing, while
-- a visit moved back to a time whose reminder was cancelled gets a new one.
CREATE UNIQUE INDEX patient_messages_live_key ON patient_messages (tenant_id, message_key)
    WHERE status IN ('scheduled', 'sent');

-- A patient's wish to get no messages by a channel (recorded by staff, from
-- what the patient said or wrote; removing the row is opting back in).
CREATE TABLE patient_message_optouts (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    patient_id   uuid        NOT NULL,
    channel      text        NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    opted_out_at timestamptz NOT NULL,
    recorded_by  uuid        NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, channel),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['messaging_settings', 'reminder_rules', 'patient_messages', 'patient_message_optouts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO medisync_app', t);
    END LOOP;
END $$;

-- A message that went out stays as it went: what it said and when cannot be
-- changed afterwards, and only the purge after the record's retention removes it.
CREATE FUNCTION patient_message_sent_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'sent' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
           AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'a sent message cannot be changed or deleted' USING ERRCODE = 'MS001';
END $$;
CREATE TRIGGER patient_messages_sent_final BEFORE UPDATE OR DELETE ON patient_messages
    FOR EACH ROW EXECUTE FUNCTION patient_message_sent_is_final();

-- Patient messages about appointments: the clinic's reminder rules, the hours
-- messages may arrive at, and every message planned, sent or held back, with
-- why. A message's key is unique among a clinic's live messages: the same
-- message is never planned twice, and sending it claims it (`scheduled` → `sent`) in the
-- transaction that hands it to a channel, so it goes out at most once.
CREATE TABLE messaging_settings (
    tenant_id  BLOB    NOT NULL PRIMARY KEY REFERENCES tenants (id),
    -- Messages arrive between these minutes of the day, in the local time of
    -- the appointment's location.
    send_from  INTEGER NOT NULL CHECK (send_from BETWEEN 0 AND 1380),
    send_until INTEGER NOT NULL CHECK (send_until BETWEEN 60 AND 1440),
    -- Tell patients when a visit is booked, moved or cancelled.
    updates    INTEGER NOT NULL CHECK (updates IN (0, 1)),
    updated_at TEXT    NOT NULL,
    CHECK (send_until - send_from >= 60)
) STRICT;

CREATE TABLE reminder_rules (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    minutes_before INTEGER NOT NULL CHECK (minutes_before BETWEEN 15 AND 43200),
    channel        TEXT    NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, minutes_before, channel)
) STRICT;

CREATE TABLE patient_messages (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    message_key     TEXT NOT NULL CHECK (length(message_key) BETWEEN 1 AND 200),
    patient_id      BLOB NOT NULL,
    appointment_id  BLOB,
    kind            TEXT NOT NULL CHECK (kind IN ('appointment_reminder', 'appointment_update')),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    -- The visit time the message speaks of.
    about_starts_at TEXT,
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'sent', 'skipped', 'cancelled')),
    due_at          TEXT NOT NULL,
    sent_at         TEXT,
    -- What an update told the patient: booked or cancelled.
    told            TEXT CHECK (told IN ('booked', 'cancelled')),
    -- Why it was held back, skipped or cancelled (no PHI).
    detail          TEXT CHECK (length(detail) <= 300),
    -- The email it became (platform outbox).
    mail_id         BLOB,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
) STRICT;
CREATE INDEX patient_messages_appointment ON patient_messages (tenant_id, appointment_id, created_at);
-- One live message per key: planning the same message again does nothing, while
-- a visit moved back to a time whose reminder was cancelled gets a new one.
CREATE UNIQUE INDEX patient_messages_live_key ON patient_messages (tenant_id, message_key)
    WHERE status IN ('scheduled', 'sent');

-- A patient's wish to get no messages by a channel (recorded by staff, from
-- what the patient said or wrote; removing the row is opting back in).
CREATE TABLE patient_message_optouts (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    patient_id   BLOB NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    opted_out_at TEXT NOT NULL,
    recorded_by  BLOB NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, channel),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES staff_members (tenant_id, id)
) STRICT;

-- A message that went out stays as it went: what it said and when cannot be
-- changed afterwards, and only the purge after the record's retention removes it.
CREATE TRIGGER patient_messages_sent_unchanged BEFORE UPDATE ON patient_messages
WHEN OLD.status = 'sent'
BEGIN
    SELECT RAISE(ABORT, 'a sent message cannot be changed or deleted');
END;
CREATE TRIGGER patient_messages_sent_kept BEFORE DELETE ON patient_messages
WHEN OLD.status = 'sent' AND NOT EXISTS (
    SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
       AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'a sent message cannot be changed or deleted');
END;

-- Text messages to patients by SMS and WhatsApp through the clinic's own
-- provider account: the connection (its secret sealed), every text handed to a
-- provider with what became of it, the provider webhooks already handled, and
-- a patient's own STOP.

-- The clinic a Twilio account belongs to, so the provider's webhooks reach the
-- right clinic; an account serves one clinic.
ALTER TABLE tenants ADD COLUMN twilio_account_sid text;
CREATE UNIQUE INDEX tenants_twilio_account ON tenants (twilio_account_sid)
    WHERE twilio_account_sid IS NOT NULL;
-- Likewise the WhatsApp number (Meta's phone number id) a clinic connected.
ALTER TABLE tenants ADD COLUMN whatsapp_phone_number_id text;
CREATE UNIQUE INDEX tenants_whatsapp_number ON tenants (whatsapp_phone_number_id)
    WHERE whatsapp_phone_number_id IS NOT NULL;

CREATE TABLE messaging_channels (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    channel       text        NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    provider      text        NOT NULL CHECK (provider IN ('twilio', 'whatsapp_cloud')),
    -- Twilio's account SID; WhatsApp's phone number id.
    account       text        NOT NULL CHECK (length(account) BETWEEN 1 AND 64),
    -- The number (E.164) or messaging service SMS is sent from; for WhatsApp
    -- the phone number id again.
    sender        text        NOT NULL CHECK (length(sender) BETWEEN 1 AND 64),
    -- The provider's secret, encrypted with the installation's key and bound to
    -- the clinic and channel (`identity::secrets::seal`).
    secret_sealed text        NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    -- WhatsApp: the approved template sent outside the 24-hour window.
    template_name     text CHECK (length(template_name) BETWEEN 1 AND 512),
    template_language text CHECK (length(template_language) BETWEEN 2 AND 8),
    connected_at  timestamptz NOT NULL,
    connected_by  uuid        NOT NULL,
    PRIMARY KEY (tenant_id, channel),
    FOREIGN KEY (tenant_id, connected_by) REFERENCES staff_members (tenant_id, id)
);

-- A text handed (or to be handed) to a provider. `sending` is set and committed
-- before the provider is called: a row found `sending` by a later attempt may
-- have gone out, so it becomes `unknown` and is not sent again unless an
-- operator sends its job back to the queue.
CREATE TABLE channel_deliveries (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    channel     text        NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    -- None for a clinic's test message.
    patient_id  uuid,
    to_address  text        NOT NULL CHECK (to_address ~ '^\+[1-9][0-9]{6,14}$'),
    body        text        NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    state       text        NOT NULL CHECK (state IN ('queued', 'sending', 'accepted', 'sent', 'delivered',
                                                     'read', 'failed', 'undelivered', 'unknown')),
    -- The provider's id for it (Twilio's message SID, WhatsApp's wamid).
    provider_id text        CHECK (length(provider_id) BETWEEN 1 AND 128),
    error       text        CHECK (length(error) <= 500),
    created_at  timestamptz NOT NULL,
    sending_at  timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    CHECK (state = 'queued' OR sending_at IS NOT NULL)
);
CREATE UNIQUE INDEX channel_deliveries_provider ON channel_deliveries (tenant_id, provider_id)
    WHERE provider_id IS NOT NULL;
CREATE INDEX channel_deliveries_recent ON channel_deliveries (tenant_id, created_at);

-- Bookings, moves and cancellations are also told by SMS, by WhatsApp.
ALTER TABLE messaging_settings ADD COLUMN updates_sms boolean NOT NULL DEFAULT false;
ALTER TABLE messaging_settings ADD COLUMN updates_whatsapp boolean NOT NULL DEFAULT false;

-- The text a patient message became.
ALTER TABLE patient_messages ADD COLUMN delivery_id uuid;

-- WhatsApp's customer-service window: free text may go to a number within 24
-- hours of its last message to the clinic's WhatsApp number.
CREATE TABLE whatsapp_windows (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    phone           text NOT NULL CHECK (length(phone) BETWEEN 8 AND 16),
    last_inbound_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);

-- Provider webhook events already handled, by the provider's own id, so each
-- is processed once. A platform table: ids only.
CREATE TABLE webhook_receipts (
    provider    text        NOT NULL CHECK (length(provider) BETWEEN 1 AND 32),
    event_id    text        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    received_at timestamptz NOT NULL,
    PRIMARY KEY (provider, event_id)
);
GRANT SELECT, INSERT, DELETE ON webhook_receipts TO medisync_app;

-- A patient who texts STOP opts out without a staff member: `recorded_by` is
-- empty and `source` says so.
ALTER TABLE patient_message_optouts ALTER COLUMN recorded_by DROP NOT NULL;
ALTER TABLE patient_message_optouts ADD COLUMN source text NOT NULL DEFAULT 'staff'
    CHECK (source IN ('staff', 'patient'));
ALTER TABLE patient_message_optouts ADD CHECK ((source = 'staff') = (recorded_by IS NOT NULL));

-- A STOP names the patient by phone number.
CREATE INDEX patients_phone ON patients (tenant_id, phone);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['messaging_channels', 'channel_deliveries', 'whatsapp_windows'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO medisync_app', t);
    END LOOP;
END $$;

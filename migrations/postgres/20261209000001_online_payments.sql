-- Patients pay invoices online through the clinic's own Stripe or Razorpay
-- account: the keys (secrets sealed), each payment page opened for an invoice,
-- and each provider event already handled. The database keeps the rules:
--   * the money a provider took is recorded once, whichever of the webhook and
--     the reconciliation poll gets there first (one payment per provider payment);
--   * a settled page never changes again.

CREATE TABLE payment_accounts (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id),
    provider              text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    -- Razorpay's key id (the Basic auth user); Stripe has none.
    key_id                text        CHECK (length(key_id) BETWEEN 1 AND 64),
    -- Encrypted with the installation's key, bound to clinic and provider.
    secret_sealed         text        NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    webhook_secret_sealed text        NOT NULL CHECK (webhook_secret_sealed LIKE 'v1:%'),
    -- What staff see of the secret key: its kind and last four characters.
    key_hint              text        NOT NULL CHECK (length(key_hint) BETWEEN 1 AND 40),
    connected_at          timestamptz NOT NULL,
    -- Empty when an operator set the keys from the command line.
    connected_by          uuid,
    PRIMARY KEY (tenant_id, provider),
    FOREIGN KEY (tenant_id, connected_by) REFERENCES staff_members (tenant_id, id)
);

-- A payment page opened for (part of) an invoice. `opening` is committed before
-- the provider is asked, so a page the provider opened is never lost track of.
CREATE TABLE online_checkouts (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    id               uuid        NOT NULL,
    provider         text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    invoice_id       uuid        NOT NULL,
    patient_id       uuid        NOT NULL,
    amount           bigint      NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    currency         text        NOT NULL CHECK (length(currency) = 3),
    status           text        NOT NULL CHECK (status IN ('opening', 'open', 'paid', 'closed')),
    -- The provider's page (`cs_...`, `plink_...`) and its address.
    page_id          text        CHECK (length(page_id) BETWEEN 1 AND 255),
    page_url         text        CHECK (length(page_url) BETWEEN 1 AND 2000),
    -- The payment recorded when the provider said it took the money.
    payment_id       uuid,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    settled_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    CHECK ((status = 'paid') = (payment_id IS NOT NULL)),
    CHECK (status = 'opening' OR status = 'closed' OR page_id IS NOT NULL)
);
CREATE UNIQUE INDEX online_checkouts_page ON online_checkouts (tenant_id, provider, page_id)
    WHERE page_id IS NOT NULL;
CREATE INDEX online_checkouts_invoice ON online_checkouts (tenant_id, invoice_id);
CREATE INDEX online_checkouts_open ON online_checkouts (status, expires_at);

CREATE FUNCTION online_checkout_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Another clinic's row: row-level security refuses it, with its own error.
    IF NEW.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
        RETURN NEW;
    END IF;
    IF OLD.status IN ('paid', 'closed') AND NOT (OLD.status = 'closed' AND NEW.status = 'paid') THEN
        RAISE EXCEPTION 'a settled payment page does not change' USING ERRCODE = 'MS001';
    END IF;
    IF NEW.tenant_id <> OLD.tenant_id OR NEW.id <> OLD.id OR NEW.invoice_id <> OLD.invoice_id
       OR NEW.patient_id <> OLD.patient_id OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency
       OR NEW.provider <> OLD.provider THEN
        RAISE EXCEPTION 'a payment page''s invoice and amount do not change' USING ERRCODE = 'MS001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER online_checkouts_rules BEFORE UPDATE ON online_checkouts
    FOR EACH ROW EXECUTE FUNCTION online_checkout_rules();

-- The money a provider took (its payment id, `pi_...` or `pay_...`) is recorded once.
CREATE UNIQUE INDEX payments_online_once ON payments (tenant_id, kind, reference)
    WHERE method = 'online';

-- Provider events handled, by the provider's event id: a retried or duplicated
-- delivery changes nothing.
CREATE TABLE payment_events (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    provider    text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    event_id    text        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    kind        text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
);
CREATE INDEX payment_events_received ON payment_events (received_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['payment_accounts', 'online_checkouts', 'payment_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO medisync_app', t);
    END LOOP;
END $$;
-- Events are written once; pages are deleted only by the erasure purge.
REVOKE UPDATE ON payment_events FROM medisync_app;

-- Patients pay invoices online through the clinic's own Stripe or Razorpay
-- account: the keys (secrets sealed), each payment page opened for an invoice,
-- and each provider event already handled. The database keeps the rules:
--   * the money a provider took is recorded once, whichever of the webhook and
--     the reconciliation poll gets there first (one payment per provider payment);
--   * a settled page never changes again.

CREATE TABLE payment_accounts (
    tenant_id             BLOB NOT NULL REFERENCES tenants (id),
    provider              TEXT NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    -- Razorpay's key id (the Basic auth user); Stripe has none.
    key_id                TEXT CHECK (length(key_id) BETWEEN 1 AND 64),
    -- Encrypted with the installation's key, bound to clinic and provider.
    secret_sealed         TEXT NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    webhook_secret_sealed TEXT NOT NULL CHECK (webhook_secret_sealed LIKE 'v1:%'),
    -- What staff see of the secret key: its kind and last four characters.
    key_hint              TEXT NOT NULL CHECK (length(key_hint) BETWEEN 1 AND 40),
    connected_at          TEXT NOT NULL,
    -- Empty when an operator set the keys from the command line.
    connected_by          BLOB,
    PRIMARY KEY (tenant_id, provider),
    FOREIGN KEY (tenant_id, connected_by) REFERENCES staff_members (tenant_id, id)
) STRICT;

-- A payment page opened for (part of) an invoice. `opening` is committed before
-- the provider is asked, so a page the provider opened is never lost track of.
CREATE TABLE online_checkouts (
    tenant_id        BLOB    NOT NULL REFERENCES tenants (id),
    id               BLOB    NOT NULL,
    provider         TEXT    NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    invoice_id       BLOB    NOT NULL,
    patient_id       BLOB    NOT NULL,
    amount           INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
    currency         TEXT    NOT NULL CHECK (length(currency) = 3),
    status           TEXT    NOT NULL CHECK (status IN ('opening', 'open', 'paid', 'closed')),
    -- The provider's page (`cs_...`, `plink_...`) and its address.
    page_id          TEXT    CHECK (length(page_id) BETWEEN 1 AND 255),
    page_url         TEXT    CHECK (length(page_url) BETWEEN 1 AND 2000),
    -- The payment recorded when the provider said it took the money.
    payment_id       BLOB,
    created_at       TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    settled_at       TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    CHECK ((status = 'paid') = (payment_id IS NOT NULL)),
    CHECK (status = 'opening' OR status = 'closed' OR page_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX online_checkouts_page ON online_checkouts (tenant_id, provider, page_id)
    WHERE page_id IS NOT NULL;
CREATE INDEX online_checkouts_invoice ON online_checkouts (tenant_id, invoice_id);
CREATE INDEX online_checkouts_open ON online_checkouts (status, expires_at);

CREATE TRIGGER online_checkouts_settled BEFORE UPDATE ON online_checkouts
WHEN OLD.status IN ('paid', 'closed') AND NOT (OLD.status = 'closed' AND NEW.status = 'paid')
BEGIN
    SELECT RAISE(ABORT, 'a settled payment page does not change');
END;
CREATE TRIGGER online_checkouts_fixed BEFORE UPDATE ON online_checkouts
WHEN NEW.tenant_id IS NOT OLD.tenant_id OR NEW.id IS NOT OLD.id OR NEW.invoice_id IS NOT OLD.invoice_id
  OR NEW.patient_id IS NOT OLD.patient_id OR NEW.amount IS NOT OLD.amount
  OR NEW.currency IS NOT OLD.currency OR NEW.provider IS NOT OLD.provider
BEGIN
    SELECT RAISE(ABORT, 'a payment page''s invoice and amount do not change');
END;

-- The money a provider took (its payment id, `pi_...` or `pay_...`) is recorded once.
CREATE UNIQUE INDEX payments_online_once ON payments (tenant_id, kind, reference)
    WHERE method = 'online';

-- Provider events handled, by the provider's event id: a retried or duplicated
-- delivery changes nothing.
CREATE TABLE payment_events (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    provider    TEXT NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    event_id    TEXT NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    kind        TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    received_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
) STRICT;
CREATE INDEX payment_events_received ON payment_events (received_at);
CREATE TRIGGER payment_events_written_once BEFORE UPDATE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'a handled event is not rewritten');
END;

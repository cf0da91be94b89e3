-- Billing: what a clinic charges (services, tax categories), what it bills
-- (invoices and credit notes), and what it is paid (payments, their
-- allocation to invoices, refunds). Money is bigint minor units plus an ISO
-- currency. The database keeps the rules that matter:
--   * an issued invoice or credit note never changes and is never deleted
--     (before the record's retention ends); corrections are credit notes;
--   * numbers follow on without gaps: a document takes the next number of its
--     series or is refused, and the series moves on with it, in one statement;
--   * payments, allocations and refunds are written once;
--   * a payment is never allocated beyond its amount, an invoice never paid
--     beyond what it is worth, a credit note never refunded beyond its total.

CREATE TABLE billing_settings (
    tenant_id        uuid    NOT NULL REFERENCES tenants (id),
    regime           text    NOT NULL CHECK (regime IN ('none', 'vat', 'india_gst')),
    tax_id           text    CHECK (length(tax_id) BETWEEN 2 AND 20),
    state            text    CHECK (length(state) BETWEEN 2 AND 40),
    invoice_prefix   text    NOT NULL CHECK (length(invoice_prefix) BETWEEN 1 AND 6),
    credit_prefix    text    NOT NULL CHECK (length(credit_prefix) BETWEEN 1 AND 6),
    receipt_prefix   text    NOT NULL CHECK (length(receipt_prefix) BETWEEN 1 AND 6),
    refund_prefix    text    NOT NULL CHECK (length(refund_prefix) BETWEEN 1 AND 6),
    fy_start_month   bigint NOT NULL CHECK (fy_start_month BETWEEN 0 AND 12),
    discount_reason_above_bp bigint NOT NULL CHECK (discount_reason_above_bp BETWEEN 0 AND 10000),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE tax_categories (
    tenant_id uuid    NOT NULL REFERENCES tenants (id),
    code      text    NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,19}$'),
    name      text    NOT NULL CHECK (length(name) BETWEEN 2 AND 60),
    rate_bp   bigint NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    exempt    boolean NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE services (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    code         text        NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    name         text        NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    kind         text        NOT NULL CHECK (kind IN ('service', 'product')),
    price_minor  bigint      NOT NULL CHECK (price_minor BETWEEN 0 AND 1000000000000),
    currency     text        NOT NULL CHECK (length(currency) = 3),
    tax_category text        NOT NULL,
    active       boolean     NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, tax_category) REFERENCES tax_categories (tenant_id, code)
);
CREATE UNIQUE INDEX services_code ON services (tenant_id, lower(code));

-- The next number of each series: invoices, credit notes, receipts, refunds;
-- one series per financial year when the clinic resets yearly ('' otherwise).
CREATE TABLE document_series (
    tenant_id uuid   NOT NULL REFERENCES tenants (id),
    kind      text   NOT NULL CHECK (kind IN ('invoice', 'credit_note', 'receipt', 'refund')),
    period    text   NOT NULL CHECK (length(period) <= 9),
    next_seq  bigint NOT NULL CHECK (next_seq >= 1),
    PRIMARY KEY (tenant_id, kind, period)
);

CREATE TABLE invoices (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    id               uuid        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status           text        NOT NULL CHECK (status IN ('draft', 'issued')),
    patient_id       uuid        NOT NULL,
    appointment_id   uuid,
    credit_for       uuid,
    currency         text        NOT NULL CHECK (length(currency) = 3),
    regime           text        NOT NULL CHECK (regime IN ('none', 'vat', 'india_gst')),
    place_of_supply  text        CHECK (length(place_of_supply) BETWEEN 2 AND 40),
    inter_state      boolean     NOT NULL,
    invoice_discount bigint      NOT NULL CHECK (invoice_discount >= 0),
    discount_reason  text        CHECK (length(discount_reason) BETWEEN 3 AND 300),
    notes            text        CHECK (length(notes) <= 1000),
    title            text        CHECK (length(title) <= 40),
    period           text        CHECK (length(period) <= 9),
    seq              bigint,
    number           text        CHECK (length(number) BETWEEN 1 AND 16),
    gross            bigint      NOT NULL DEFAULT 0,
    discount         bigint      NOT NULL DEFAULT 0,
    tax              bigint      NOT NULL DEFAULT 0,
    total            bigint      NOT NULL DEFAULT 0 CHECK (total >= 0),
    created_by       uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    issued_by        uuid,
    issued_at        timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_for) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES staff_members (tenant_id, id),
    FOREIGN KEY (tenant_id, issued_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((kind = 'credit_note') = (credit_for IS NOT NULL)),
    CHECK ((status = 'draft' AND seq IS NULL AND number IS NULL AND issued_at IS NULL)
        OR (status = 'issued' AND seq IS NOT NULL AND number IS NOT NULL AND period IS NOT NULL
            AND issued_at IS NOT NULL AND title IS NOT NULL))
);
CREATE UNIQUE INDEX invoices_seq ON invoices (tenant_id, kind, period, seq);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, kind, number);
CREATE INDEX invoices_patient ON invoices (tenant_id, patient_id, created_at);
CREATE INDEX invoices_issued ON invoices (tenant_id, issued_at);

CREATE TABLE invoice_lines (
    tenant_id      uuid    NOT NULL REFERENCES tenants (id),
    id             uuid    NOT NULL,
    invoice_id     uuid    NOT NULL,
    position       bigint NOT NULL CHECK (position BETWEEN 1 AND 200),
    service_id     uuid,
    description    text    NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    tax_category   text    NOT NULL CHECK (length(tax_category) BETWEEN 1 AND 20),
    quantity       bigint  NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    unit_price     bigint  NOT NULL CHECK (unit_price BETWEEN 0 AND 1000000000000),
    line_discount  bigint  NOT NULL CHECK (line_discount >= 0),
    rate_bp        bigint NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    exempt         boolean NOT NULL,
    credit_of_line uuid,
    -- Worked out when the document is issued (zero on a draft).
    discount       bigint  NOT NULL DEFAULT 0,
    taxable        bigint  NOT NULL DEFAULT 0,
    tax_kind       text    NOT NULL DEFAULT 'none' CHECK (tax_kind IN ('none', 'exempt', 'vat', 'cgst_sgst', 'igst')),
    cgst           bigint  NOT NULL DEFAULT 0,
    sgst           bigint  NOT NULL DEFAULT 0,
    igst           bigint  NOT NULL DEFAULT 0,
    tax            bigint  NOT NULL DEFAULT 0,
    total          bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, invoice_id, position),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_of_line) REFERENCES invoice_lines (tenant_id, id)
);
-- A line is credited once, in full.
CREATE UNIQUE INDEX invoice_lines_credited_once ON invoice_lines (tenant_id, credit_of_line)
    WHERE credit_of_line IS NOT NULL;

CREATE TABLE payments (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('payment', 'refund')),
    patient_id     uuid        NOT NULL,
    method         text        NOT NULL CHECK (method IN ('cash', 'card', 'upi', 'bank_transfer', 'online')),
    amount         bigint      NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),
    currency       text        NOT NULL CHECK (length(currency) = 3),
    reference      text        CHECK (length(reference) BETWEEN 1 AND 100),
    credit_note_id uuid,
    period         text        NOT NULL CHECK (length(period) <= 9),
    seq            bigint      NOT NULL,
    number         text        NOT NULL CHECK (length(number) BETWEEN 1 AND 16),
    received_by    uuid,
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, received_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((kind = 'refund') = (credit_note_id IS NOT NULL))
);
CREATE UNIQUE INDEX payments_seq ON payments (tenant_id, kind, period, seq);
CREATE INDEX payments_patient ON payments (tenant_id, patient_id, received_at);
CREATE INDEX payments_received ON payments (tenant_id, received_at);

-- Money of a payment put against an invoice; a negative row gives back what
-- a credit note freed on an invoice that was already paid.
CREATE TABLE payment_allocations (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    payment_id   uuid        NOT NULL,
    invoice_id   uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    amount       bigint      NOT NULL CHECK (amount <> 0),
    allocated_by uuid,
    allocated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, allocated_by) REFERENCES staff_members (tenant_id, id)
);
CREATE INDEX payment_allocations_invoice ON payment_allocations (tenant_id, invoice_id);
CREATE INDEX payment_allocations_payment ON payment_allocations (tenant_id, payment_id);

-- A series starts at 1 and moves on by one, only past a document that took
-- its number: nothing else can skip a number.
CREATE FUNCTION document_series_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Another clinic's row: row-level security refuses it, with its own error.
    IF NEW.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.next_seq <> 1 THEN
            RAISE EXCEPTION 'document numbers follow on without gaps' USING ERRCODE = 'MS003';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.tenant_id <> OLD.tenant_id OR NEW.kind <> OLD.kind OR NEW.period <> OLD.period
       OR NEW.next_seq <> OLD.next_seq + 1
       OR NOT (EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = OLD.tenant_id AND i.kind = OLD.kind
                        AND i.period = OLD.period AND i.seq = OLD.next_seq AND i.status = 'issued')
            OR EXISTS (SELECT 1 FROM payments p WHERE p.tenant_id = OLD.tenant_id
                        AND (CASE p.kind WHEN 'payment' THEN 'receipt' ELSE 'refund' END) = OLD.kind
                        AND p.period = OLD.period AND p.seq = OLD.next_seq)) THEN
        RAISE EXCEPTION 'document numbers follow on without gaps' USING ERRCODE = 'MS003';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER document_series_rules BEFORE INSERT OR UPDATE ON document_series
    FOR EACH ROW EXECUTE FUNCTION document_series_rules();

-- A number is taken from its series only as the next one: the series row is
-- moved on in the same transaction (its row lock orders concurrent issuers).
CREATE FUNCTION take_document_number(t uuid, k text, p text, s bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE document_series SET next_seq = next_seq + 1
     WHERE tenant_id = t AND kind = k AND period = p AND next_seq = s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document numbers follow on without gaps' USING ERRCODE = 'MS003';
    END IF;
END $$;

CREATE FUNCTION invoice_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'issued' AND NOT EXISTS (
            SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
               AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
            RAISE EXCEPTION 'an issued invoice cannot be changed or deleted; issue a credit note'
                USING ERRCODE = 'MS001';
        END IF;
        RETURN OLD;
    END IF;
    -- Another clinic's row: row-level security refuses it, with its own error.
    IF NEW.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'issued' THEN
        RAISE EXCEPTION 'an issued invoice cannot be changed or deleted; issue a credit note'
            USING ERRCODE = 'MS001';
    END IF;
    IF NEW.status = 'issued' THEN
        -- A credit note corrects an issued invoice of the same patient, and
        -- all its credit notes together never exceed it.
        IF NEW.kind = 'credit_note' THEN
            PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.credit_for::text, 2));
        END IF;
        IF NEW.kind = 'credit_note' AND (NEW.total + coalesce((
               SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = NEW.tenant_id
                  AND c.credit_for = NEW.credit_for AND c.status = 'issued' AND c.id <> NEW.id), 0)
             > (SELECT i.total FROM invoices i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.credit_for
                   AND i.kind = 'invoice' AND i.status = 'issued' AND i.patient_id = NEW.patient_id))
           IS NOT FALSE THEN
            RAISE EXCEPTION 'a credit note cannot exceed the invoice it corrects' USING ERRCODE = 'MS004';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER invoices_rules BEFORE INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoice_rules();

-- After the row is written, so the series' own rule below can see it.
CREATE FUNCTION invoice_numbered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'issued' AND (TG_OP = 'INSERT' OR OLD.status = 'draft') THEN
        PERFORM take_document_number(NEW.tenant_id, NEW.kind, NEW.period, NEW.seq);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER invoices_numbered AFTER INSERT OR UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoice_numbered();

-- Lines change only while their document is a draft.
CREATE FUNCTION invoice_line_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line invoice_lines;
BEGIN
    line := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM invoices i JOIN patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id
         WHERE i.tenant_id = line.tenant_id AND i.id = line.invoice_id
           AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
        RETURN OLD;
    END IF;
    IF (SELECT status FROM invoices WHERE tenant_id = line.tenant_id AND id = line.invoice_id) <> 'draft' THEN
        RAISE EXCEPTION 'an issued invoice cannot be changed or deleted; issue a credit note'
            USING ERRCODE = 'MS001';
    END IF;
    RETURN line;
END $$;
CREATE TRIGGER invoice_lines_rules BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_line_rules();

CREATE FUNCTION payment_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refunded bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                       AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
            RAISE EXCEPTION 'a payment cannot be changed or deleted' USING ERRCODE = 'MS001';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a payment cannot be changed or deleted' USING ERRCODE = 'MS001';
    END IF;
    IF NEW.kind = 'refund' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.credit_note_id::text, 0));
        SELECT coalesce(sum(amount), 0) INTO refunded FROM payments
         WHERE tenant_id = NEW.tenant_id AND credit_note_id = NEW.credit_note_id;
        IF (refunded + NEW.amount > (SELECT total FROM invoices
                                      WHERE tenant_id = NEW.tenant_id AND id = NEW.credit_note_id
                                        AND kind = 'credit_note' AND status = 'issued'
                                        AND patient_id = NEW.patient_id)) IS NOT FALSE THEN
            RAISE EXCEPTION 'a refund cannot exceed its credit note' USING ERRCODE = 'MS004';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER payments_rules BEFORE INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payment_rules();

CREATE FUNCTION payment_numbered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM take_document_number(NEW.tenant_id, CASE NEW.kind WHEN 'payment' THEN 'receipt' ELSE 'refund' END,
                                 NEW.period, NEW.seq);
    RETURN NULL;
END $$;
CREATE TRIGGER payments_numbered AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION payment_numbered();

CREATE FUNCTION allocation_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid_out bigint;
    covered bigint;
    worth bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                       AND p.restricted_at IS NOT NULL AND p.retain_until < current_date) THEN
            RAISE EXCEPTION 'a payment cannot be changed or deleted' USING ERRCODE = 'MS001';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a payment cannot be changed or deleted' USING ERRCODE = 'MS001';
    END IF;
    -- Another clinic's row: row-level security refuses it, with its own error.
    IF NEW.tenant_id IS DISTINCT FROM nullif(current_setting('app.tenant_id', true), '')::uuid THEN
        RETURN NEW;
    END IF;
    -- One patient's money at a time: the sums below cannot move underneath.
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.patient_id::text, 1));
    IF NOT EXISTS (SELECT 1 FROM payments WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id
                   AND patient_id = NEW.patient_id AND kind = 'payment')
       OR NOT EXISTS (SELECT 1 FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id
                      AND patient_id = NEW.patient_id AND kind = 'invoice' AND status = 'issued') THEN
        RAISE EXCEPTION 'a payment goes to an issued invoice of the same patient' USING ERRCODE = 'MS004';
    END IF;
    SELECT coalesce(sum(amount), 0) + NEW.amount INTO paid_out FROM payment_allocations
     WHERE tenant_id = NEW.tenant_id AND payment_id = NEW.payment_id;
    IF paid_out < 0 OR paid_out > (SELECT amount FROM payments WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id) THEN
        RAISE EXCEPTION 'a payment cannot be allocated beyond its amount' USING ERRCODE = 'MS004';
    END IF;
    SELECT coalesce(sum(amount), 0) + NEW.amount INTO covered FROM payment_allocations
     WHERE tenant_id = NEW.tenant_id AND invoice_id = NEW.invoice_id;
    SELECT i.total - coalesce((SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = i.tenant_id
                                AND c.credit_for = i.id AND c.status = 'issued'), 0)
      INTO worth FROM invoices i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.invoice_id;
    IF covered < 0 OR covered > worth THEN
        RAISE EXCEPTION 'an invoice cannot be paid beyond what it is worth' USING ERRCODE = 'MS004';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER payment_allocations_rules BEFORE INSERT OR UPDATE OR DELETE ON payment_allocations
    FOR EACH ROW EXECUTE FUNCTION allocation_rules();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['billing_settings', 'tax_categories', 'services', 'document_series', 'invoices',
                             'invoice_lines', 'payments', 'payment_allocations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON billing_settings, services, document_series TO medisync_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tax_categories TO medisync_app;
-- Drafts are edited and may be deleted; the triggers keep issued documents final.
GRANT SELECT, INSERT, UPDATE, DELETE ON invoices, invoice_lines TO medisync_app;
-- Money is written once (deleted only by the purge after retention).
GRANT SELECT, INSERT, DELETE ON payments, payment_allocations TO medisync_app;

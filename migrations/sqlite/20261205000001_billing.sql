-- Billing: what a clinic charges (services, tax categories), what it bills
-- (invoices and credit notes), and what it is paid (payments, their
-- allocation to invoices, refunds). Money is integer minor units plus an ISO
-- currency. The database keeps the rules that matter (SQLite serialises
-- writers, so a sum read by a trigger cannot move before the insert):
--   * an issued invoice or credit note never changes and is never deleted
--     (before the record's retention ends); corrections are credit notes;
--   * numbers follow on without gaps: a document takes the next number of its
--     series or is refused, and the series moves on with it;
--   * payments, allocations and refunds are written once;
--   * a payment is never allocated beyond its amount, an invoice never paid
--     beyond what it is worth, a credit note never refunded beyond its total.

CREATE TABLE billing_settings (
    tenant_id        BLOB    NOT NULL REFERENCES tenants (id),
    regime           TEXT    NOT NULL CHECK (regime IN ('none', 'vat', 'india_gst')),
    tax_id           TEXT    CHECK (length(tax_id) BETWEEN 2 AND 20),
    state            TEXT    CHECK (length(state) BETWEEN 2 AND 40),
    invoice_prefix   TEXT    NOT NULL CHECK (length(invoice_prefix) BETWEEN 1 AND 6),
    credit_prefix    TEXT    NOT NULL CHECK (length(credit_prefix) BETWEEN 1 AND 6),
    receipt_prefix   TEXT    NOT NULL CHECK (length(receipt_prefix) BETWEEN 1 AND 6),
    refund_prefix    TEXT    NOT NULL CHECK (length(refund_prefix) BETWEEN 1 AND 6),
    fy_start_month   INTEGER NOT NULL CHECK (fy_start_month BETWEEN 0 AND 12),
    discount_reason_above_bp INTEGER NOT NULL CHECK (discount_reason_above_bp BETWEEN 0 AND 10000),
    PRIMARY KEY (tenant_id)
) STRICT;

CREATE TABLE tax_categories (
    tenant_id BLOB    NOT NULL REFERENCES tenants (id),
    code      TEXT    NOT NULL CHECK (length(code) BETWEEN 1 AND 20 AND code NOT GLOB '*[^a-z0-9_]*'
                                      AND substr(code, 1, 1) GLOB '[a-z]'),
    name      TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 60),
    rate_bp   INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    exempt    INTEGER NOT NULL CHECK (exempt IN (0, 1)),
    PRIMARY KEY (tenant_id, code)
) STRICT;

CREATE TABLE services (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    code         TEXT    NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    kind         TEXT    NOT NULL CHECK (kind IN ('service', 'product')),
    price_minor  INTEGER NOT NULL CHECK (price_minor BETWEEN 0 AND 1000000000000),
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    tax_category TEXT    NOT NULL,
    active       INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, tax_category) REFERENCES tax_categories (tenant_id, code)
) STRICT;
CREATE UNIQUE INDEX services_code ON services (tenant_id, lower(code));
CREATE TRIGGER services_kept BEFORE DELETE ON services
BEGIN
    SELECT RAISE(ABORT, 'a service is retired, never deleted');
END;

CREATE TABLE document_series (
    tenant_id BLOB    NOT NULL REFERENCES tenants (id),
    kind      TEXT    NOT NULL CHECK (kind IN ('invoice', 'credit_note', 'receipt', 'refund')),
    period    TEXT    NOT NULL CHECK (length(period) <= 9),
    next_seq  INTEGER NOT NULL CHECK (next_seq >= 1),
    PRIMARY KEY (tenant_id, kind, period)
) STRICT;
-- A series starts at 1 and moves on by one, only past a document that took
-- its number: nothing else can skip a number.
CREATE TRIGGER document_series_start_at_one BEFORE INSERT ON document_series
WHEN NEW.next_seq <> 1
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;
CREATE TRIGGER document_series_move_by_one BEFORE UPDATE ON document_series
WHEN NEW.tenant_id IS NOT OLD.tenant_id OR NEW.kind IS NOT OLD.kind OR NEW.period IS NOT OLD.period
  OR NEW.next_seq <> OLD.next_seq + 1
  OR NOT (EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = OLD.tenant_id AND i.kind = OLD.kind
                   AND i.period = OLD.period AND i.seq = OLD.next_seq AND i.status = 'issued')
       OR EXISTS (SELECT 1 FROM payments p WHERE p.tenant_id = OLD.tenant_id
                   AND (CASE p.kind WHEN 'payment' THEN 'receipt' ELSE 'refund' END) = OLD.kind
                   AND p.period = OLD.period AND p.seq = OLD.next_seq))
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;
CREATE TRIGGER document_series_kept BEFORE DELETE ON document_series
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;

CREATE TABLE invoices (
    tenant_id        BLOB    NOT NULL REFERENCES tenants (id),
    id               BLOB    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status           TEXT    NOT NULL CHECK (status IN ('draft', 'issued')),
    patient_id       BLOB    NOT NULL,
    appointment_id   BLOB,
    credit_for       BLOB,
    currency         TEXT    NOT NULL CHECK (length(currency) = 3),
    regime           TEXT    NOT NULL CHECK (regime IN ('none', 'vat', 'india_gst')),
    place_of_supply  TEXT    CHECK (length(place_of_supply) BETWEEN 2 AND 40),
    inter_state      INTEGER NOT NULL CHECK (inter_state IN (0, 1)),
    invoice_discount INTEGER NOT NULL CHECK (invoice_discount >= 0),
    discount_reason  TEXT    CHECK (length(discount_reason) BETWEEN 3 AND 300),
    notes            TEXT    CHECK (length(notes) <= 1000),
    title            TEXT    CHECK (length(title) <= 40),
    period           TEXT    CHECK (length(period) <= 9),
    seq              INTEGER,
    number           TEXT    CHECK (length(number) BETWEEN 1 AND 16),
    gross            INTEGER NOT NULL DEFAULT 0,
    discount         INTEGER NOT NULL DEFAULT 0,
    tax              INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    created_by       BLOB    NOT NULL,
    created_at       TEXT    NOT NULL,
    issued_by        BLOB,
    issued_at        TEXT,
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
) STRICT;
CREATE UNIQUE INDEX invoices_seq ON invoices (tenant_id, kind, period, seq);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, kind, number);
CREATE INDEX invoices_patient ON invoices (tenant_id, patient_id, created_at);
CREATE INDEX invoices_issued ON invoices (tenant_id, issued_at);

-- Issued is final.
CREATE TRIGGER invoices_issued_are_final BEFORE UPDATE ON invoices
WHEN OLD.status = 'issued'
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed or deleted; issue a credit note');
END;
CREATE TRIGGER invoices_issued_are_kept BEFORE DELETE ON invoices
WHEN OLD.status = 'issued' AND NOT EXISTS (
    SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
       AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed or deleted; issue a credit note');
END;
-- The next number of its series, or nothing.
CREATE TRIGGER invoices_number_follows_on_insert BEFORE INSERT ON invoices
WHEN NEW.status = 'issued' AND NOT EXISTS (
    SELECT 1 FROM document_series s WHERE s.tenant_id = NEW.tenant_id AND s.kind = NEW.kind
       AND s.period = NEW.period AND s.next_seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;
CREATE TRIGGER invoices_number_follows_on_issue BEFORE UPDATE ON invoices
WHEN NEW.status = 'issued' AND OLD.status = 'draft' AND NOT EXISTS (
    SELECT 1 FROM document_series s WHERE s.tenant_id = NEW.tenant_id AND s.kind = NEW.kind
       AND s.period = NEW.period AND s.next_seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;
CREATE TRIGGER invoices_series_moves_on_insert AFTER INSERT ON invoices
WHEN NEW.status = 'issued'
BEGIN
    UPDATE document_series SET next_seq = next_seq + 1
     WHERE tenant_id = NEW.tenant_id AND kind = NEW.kind AND period = NEW.period;
END;
CREATE TRIGGER invoices_series_moves_on_issue AFTER UPDATE ON invoices
WHEN NEW.status = 'issued' AND OLD.status = 'draft'
BEGIN
    UPDATE document_series SET next_seq = next_seq + 1
     WHERE tenant_id = NEW.tenant_id AND kind = NEW.kind AND period = NEW.period;
END;
-- A credit note corrects an issued invoice of the same patient, and all its
-- credit notes together never exceed it.
CREATE TRIGGER invoices_credit_within_invoice_on_insert BEFORE INSERT ON invoices
WHEN NEW.status = 'issued' AND NEW.kind = 'credit_note' AND (NEW.total + coalesce((
        SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = NEW.tenant_id
           AND c.credit_for = NEW.credit_for AND c.status = 'issued' AND c.id <> NEW.id), 0)
      > (SELECT i.total FROM invoices i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.credit_for
            AND i.kind = 'invoice' AND i.status = 'issued' AND i.patient_id = NEW.patient_id)) IS NOT 0
BEGIN
    SELECT RAISE(ABORT, 'a credit note cannot exceed the invoice it corrects');
END;
CREATE TRIGGER invoices_credit_within_invoice_on_issue BEFORE UPDATE ON invoices
WHEN NEW.status = 'issued' AND OLD.status = 'draft' AND NEW.kind = 'credit_note' AND (NEW.total + coalesce((
        SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = NEW.tenant_id
           AND c.credit_for = NEW.credit_for AND c.status = 'issued' AND c.id <> NEW.id), 0)
      > (SELECT i.total FROM invoices i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.credit_for
            AND i.kind = 'invoice' AND i.status = 'issued' AND i.patient_id = NEW.patient_id)) IS NOT 0
BEGIN
    SELECT RAISE(ABORT, 'a credit note cannot exceed the invoice it corrects');
END;

CREATE TABLE invoice_lines (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    invoice_id     BLOB    NOT NULL,
    position       INTEGER NOT NULL CHECK (position BETWEEN 1 AND 200),
    service_id     BLOB,
    description    TEXT    NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    tax_category   TEXT    NOT NULL CHECK (length(tax_category) BETWEEN 1 AND 20),
    quantity       INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    unit_price     INTEGER NOT NULL CHECK (unit_price BETWEEN 0 AND 1000000000000),
    line_discount  INTEGER NOT NULL CHECK (line_discount >= 0),
    rate_bp        INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    exempt         INTEGER NOT NULL CHECK (exempt IN (0, 1)),
    credit_of_line BLOB,
    discount       INTEGER NOT NULL DEFAULT 0,
    taxable        INTEGER NOT NULL DEFAULT 0,
    tax_kind       TEXT    NOT NULL DEFAULT 'none' CHECK (tax_kind IN ('none', 'exempt', 'vat', 'cgst_sgst', 'igst')),
    cgst           INTEGER NOT NULL DEFAULT 0,
    sgst           INTEGER NOT NULL DEFAULT 0,
    igst           INTEGER NOT NULL DEFAULT 0,
    tax            INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, invoice_id, position),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_of_line) REFERENCES invoice_lines (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX invoice_lines_credited_once ON invoice_lines (tenant_id, credit_of_line)
    WHERE credit_of_line IS NOT NULL;
CREATE TRIGGER invoice_lines_only_on_drafts_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed or deleted; issue a credit note');
END;
CREATE TRIGGER invoice_lines_only_on_drafts_update BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE tenant_id = OLD.tenant_id AND id = OLD.invoice_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed or deleted; issue a credit note');
END;
CREATE TRIGGER invoice_lines_only_on_drafts_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE tenant_id = OLD.tenant_id AND id = OLD.invoice_id) <> 'draft'
 AND NOT EXISTS (SELECT 1 FROM invoices i JOIN patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id
                  WHERE i.tenant_id = OLD.tenant_id AND i.id = OLD.invoice_id
                    AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed or deleted; issue a credit note');
END;

CREATE TABLE payments (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('payment', 'refund')),
    patient_id     BLOB    NOT NULL,
    method         TEXT    NOT NULL CHECK (method IN ('cash', 'card', 'upi', 'bank_transfer', 'online')),
    amount         INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),
    currency       TEXT    NOT NULL CHECK (length(currency) = 3),
    reference      TEXT    CHECK (length(reference) BETWEEN 1 AND 100),
    credit_note_id BLOB,
    period         TEXT    NOT NULL CHECK (length(period) <= 9),
    seq            INTEGER NOT NULL,
    number         TEXT    NOT NULL CHECK (length(number) BETWEEN 1 AND 16),
    received_by    BLOB,
    received_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, received_by) REFERENCES staff_members (tenant_id, id),
    CHECK ((kind = 'refund') = (credit_note_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX payments_seq ON payments (tenant_id, kind, period, seq);
CREATE INDEX payments_patient ON payments (tenant_id, patient_id, received_at);
CREATE INDEX payments_received ON payments (tenant_id, received_at);
CREATE TRIGGER payments_are_final BEFORE UPDATE ON payments
BEGIN
    SELECT RAISE(ABORT, 'a payment cannot be changed or deleted');
END;
CREATE TRIGGER payments_kept_until_retention BEFORE DELETE ON payments
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'a payment cannot be changed or deleted');
END;
CREATE TRIGGER payments_number_follows BEFORE INSERT ON payments
WHEN NOT EXISTS (
    SELECT 1 FROM document_series s WHERE s.tenant_id = NEW.tenant_id
       AND s.kind = CASE NEW.kind WHEN 'payment' THEN 'receipt' ELSE 'refund' END
       AND s.period = NEW.period AND s.next_seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'document numbers follow on without gaps');
END;
CREATE TRIGGER payments_series_moves AFTER INSERT ON payments
BEGIN
    UPDATE document_series SET next_seq = next_seq + 1
     WHERE tenant_id = NEW.tenant_id AND kind = CASE NEW.kind WHEN 'payment' THEN 'receipt' ELSE 'refund' END
       AND period = NEW.period;
END;
CREATE TRIGGER payments_refund_within_credit BEFORE INSERT ON payments
WHEN NEW.kind = 'refund' AND (coalesce((SELECT sum(amount) FROM payments
         WHERE tenant_id = NEW.tenant_id AND credit_note_id = NEW.credit_note_id), 0) + NEW.amount
      > (SELECT total FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.credit_note_id
            AND kind = 'credit_note' AND status = 'issued' AND patient_id = NEW.patient_id)) IS NOT 0
BEGIN
    SELECT RAISE(ABORT, 'a refund cannot exceed its credit note');
END;

CREATE TABLE payment_allocations (
    tenant_id    BLOB    NOT NULL REFERENCES tenants (id),
    id           BLOB    NOT NULL,
    payment_id   BLOB    NOT NULL,
    invoice_id   BLOB    NOT NULL,
    patient_id   BLOB    NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount <> 0),
    allocated_by BLOB,
    allocated_at TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, allocated_by) REFERENCES staff_members (tenant_id, id)
) STRICT;
CREATE INDEX payment_allocations_invoice ON payment_allocations (tenant_id, invoice_id);
CREATE INDEX payment_allocations_payment ON payment_allocations (tenant_id, payment_id);
CREATE TRIGGER payment_allocations_are_final BEFORE UPDATE ON payment_allocations
BEGIN
    SELECT RAISE(ABORT, 'a payment cannot be changed or deleted');
END;
CREATE TRIGGER payment_allocations_kept_until_retention BEFORE DELETE ON payment_allocations
WHEN NOT EXISTS (SELECT 1 FROM patients p WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.patient_id
                 AND p.restricted_at IS NOT NULL AND p.retain_until < date('now'))
BEGIN
    SELECT RAISE(ABORT, 'a payment cannot be changed or deleted');
END;
CREATE TRIGGER payment_allocations_match BEFORE INSERT ON payment_allocations
WHEN NOT EXISTS (SELECT 1 FROM payments WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id
                 AND patient_id = NEW.patient_id AND kind = 'payment')
  OR NOT EXISTS (SELECT 1 FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id
                 AND patient_id = NEW.patient_id AND kind = 'invoice' AND status = 'issued')
BEGIN
    SELECT RAISE(ABORT, 'a payment goes to an issued invoice of the same patient');
END;
CREATE TRIGGER payment_allocations_within_payment BEFORE INSERT ON payment_allocations
WHEN coalesce((SELECT sum(amount) FROM payment_allocations
                WHERE tenant_id = NEW.tenant_id AND payment_id = NEW.payment_id), 0) + NEW.amount
     NOT BETWEEN 0 AND (SELECT amount FROM payments WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id)
BEGIN
    SELECT RAISE(ABORT, 'a payment cannot be allocated beyond its amount');
END;
CREATE TRIGGER payment_allocations_within_invoice BEFORE INSERT ON payment_allocations
WHEN coalesce((SELECT sum(amount) FROM payment_allocations
                WHERE tenant_id = NEW.tenant_id AND invoice_id = NEW.invoice_id), 0) + NEW.amount
     NOT BETWEEN 0 AND (SELECT i.total - coalesce((SELECT sum(c.total) FROM invoices c
                                                    WHERE c.tenant_id = i.tenant_id AND c.credit_for = i.id
                                                      AND c.status = 'issued'), 0)
                          FROM invoices i WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.invoice_id)
BEGIN
    SELECT RAISE(ABORT, 'an invoice cannot be paid beyond what it is worth');
END;

//! Billing queries. Every statement goes through a [`TenantTx`]; the rules
//! that keep money honest are in the migration as well as here.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::tax::{self, LineInput, LineTax, Regime, Supply, TaxKind};
use super::{
    numbering, BillingSettings, Collections, DocumentKind, Dues, InvoiceStatus, InvoiceView,
    LineView, PaymentMethod, PaymentView, Service, TaxCategory,
};
use crate::db::{Backend, DbError, TenantTx};

/// The database's refusals of billing rules, as the message people read.
fn refused(e: DbError) -> DbError {
    const RULES: &[&str] = &[
        "an issued invoice cannot be changed",
        "document numbers follow on without gaps",
        "a credit note cannot exceed",
        "a refund cannot exceed",
        "a payment goes to an issued invoice",
        "a payment cannot be allocated beyond",
        "an invoice cannot be paid beyond",
        "a payment cannot be changed",
    ];
    match &e {
        DbError::Sqlx(sqlx::Error::Database(d)) => {
            let message = d.message();
            match RULES.iter().find(|r| message.contains(*r)) {
                Some(_) => DbError::Invalid(crate::error::sentence(
                    message.split(';').next().unwrap_or(message),
                )),
                None => e,
            }
        }
        _ => e,
    }
}

// ----------------------------------------------------------------- settings --

#[derive(sqlx::FromRow)]
struct SettingsRow {
    regime: String,
    tax_id: Option<String>,
    state: Option<String>,
    invoice_prefix: String,
    credit_prefix: String,
    receipt_prefix: String,
    refund_prefix: String,
    fy_start_month: i64,
    discount_reason_above_bp: i64,
}

pub async fn settings(tx: &mut TenantTx) -> Result<BillingSettings, DbError> {
    let row: Option<SettingsRow> = tx
        .fetch_optional(
            "SELECT regime, tax_id, state, invoice_prefix, credit_prefix, receipt_prefix, refund_prefix, \
             fy_start_month, discount_reason_above_bp FROM billing_settings WHERE tenant_id = $1",
            &[],
        )
        .await?;
    let Some(r) = row else {
        return Ok(BillingSettings::default());
    };
    Ok(BillingSettings {
        regime: r
            .regime
            .parse::<Regime>()
            .map_err(|_| DbError::Corrupt("billing regime".into()))?,
        tax_id: r.tax_id,
        state: r.state,
        invoice_prefix: r.invoice_prefix,
        credit_prefix: r.credit_prefix,
        receipt_prefix: r.receipt_prefix,
        refund_prefix: r.refund_prefix,
        fy_start_month: u32::try_from(r.fy_start_month).unwrap_or(0),
        discount_reason_above_bp: r.discount_reason_above_bp,
    })
}

pub async fn save_settings(tx: &mut TenantTx, s: &BillingSettings) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO billing_settings (tenant_id, regime, tax_id, state, invoice_prefix, credit_prefix, \
         receipt_prefix, refund_prefix, fy_start_month, discount_reason_above_bp) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id) DO UPDATE SET regime = excluded.regime, tax_id = excluded.tax_id, \
         state = excluded.state, invoice_prefix = excluded.invoice_prefix, credit_prefix = excluded.credit_prefix, \
         receipt_prefix = excluded.receipt_prefix, refund_prefix = excluded.refund_prefix, \
         fy_start_month = excluded.fy_start_month, discount_reason_above_bp = excluded.discount_reason_above_bp",
        &[
            s.regime.as_str().into(),
            s.tax_id.as_deref().into(),
            s.state.as_deref().into(),
            s.invoice_prefix.as_str().into(),
            s.credit_prefix.as_str().into(),
            s.receipt_prefix.as_str().into(),
            s.refund_prefix.as_str().into(),
            i64::from(s.fy_start_month).into(),
            s.discount_reason_above_bp.into(),
        ],
    )
    .await?;
    ensure_default_categories(tx, s.regime).await
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    code: String,
    name: String,
    rate_bp: i64,
    exempt: bool,
}

pub async fn categories(tx: &mut TenantTx) -> Result<Vec<TaxCategory>, DbError> {
    let rows: Vec<CategoryRow> = tx
        .fetch_all(
            "SELECT code, name, rate_bp, exempt FROM tax_categories WHERE tenant_id = $1 ORDER BY code",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TaxCategory {
            code: r.code,
            name: r.name,
            rate_bp: r.rate_bp,
            exempt: r.exempt,
        })
        .collect())
}

pub async fn save_category(tx: &mut TenantTx, c: &TaxCategory) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO tax_categories (tenant_id, code, name, rate_bp, exempt) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, code) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp, \
         exempt = excluded.exempt",
        &[
            c.code.as_str().into(),
            c.name.as_str().into(),
            c.rate_bp.into(),
            c.exempt.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The two categories every clinic starts with: clinical care (exempt under
/// GST and most VAT laws) and standard-rated goods and services.
pub async fn ensure_default_categories(tx: &mut TenantTx, regime: Regime) -> Result<(), DbError> {
    let standard = match regime {
        Regime::IndiaGst => 1_800,
        Regime::Vat => 2_000,
        Regime::None => 0,
    };
    for (code, name, rate, exempt) in [
        ("health", "Clinical health care", 0, true),
        ("standard", "Standard rate", standard, false),
    ] {
        tx.execute(
            "INSERT INTO tax_categories (tenant_id, code, name, rate_bp, exempt) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, code) DO NOTHING",
            &[code.into(), name.into(), i64::from(rate).into(), exempt.into()],
        )
        .await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ catalog --

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: Uuid,
    code: String,
    name: String,
    kind: String,
    price_minor: i64,
    currency: String,
    tax_category: String,
    active: bool,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Service {
            id: r.id,
            code: r.code,
            name: r.name,
            kind: r.kind,
            price_minor: r.price_minor,
            currency: r.currency,
            tax_category: r.tax_category,
            active: r.active,
        }
    }
}

const SELECT_SERVICES: &str =
    "SELECT id, code, name, kind, price_minor, currency, tax_category, active \
                               FROM services WHERE tenant_id = $1";

pub async fn services(tx: &mut TenantTx) -> Result<Vec<Service>, DbError> {
    let rows: Vec<ServiceRow> = tx
        .fetch_all(&format!("{SELECT_SERVICES} ORDER BY name"), &[])
        .await?;
    Ok(rows.into_iter().map(Service::from).collect())
}

pub async fn service(tx: &mut TenantTx, id: Uuid) -> Result<Option<Service>, DbError> {
    let row: Option<ServiceRow> = tx
        .fetch_optional(&format!("{SELECT_SERVICES} AND id = $2"), &[id.into()])
        .await?;
    Ok(row.map(Service::from))
}

/// How many visit types are billed as a service.
pub async fn visit_types_billed_as(tx: &mut TenantTx, service: Uuid) -> Result<i64, DbError> {
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM appointment_types WHERE tenant_id = $1 AND service_id = $2",
            &[service.into()],
        )
        .await?;
    Ok(n)
}

/// Keeps the price of every visit type billed as a service equal to the service's.
pub async fn follow_service_price(
    tx: &mut TenantTx,
    service: Uuid,
    price_minor: i64,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE appointment_types SET price_minor = $3 WHERE tenant_id = $1 AND service_id = $2",
        &[service.into(), price_minor.into()],
    )
    .await
    .map(drop)
}

pub struct ServiceInput<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub price_minor: i64,
    pub currency: &'a str,
    pub tax_category: &'a str,
    pub active: bool,
}

pub async fn save_service(
    tx: &mut TenantTx,
    id: Option<Uuid>,
    s: &ServiceInput<'_>,
) -> Result<Uuid, DbError> {
    let args = |id: Uuid| {
        [
            id.into(),
            s.code.into(),
            s.name.into(),
            s.kind.into(),
            s.price_minor.into(),
            s.currency.into(),
            s.tax_category.into(),
            s.active.into(),
        ]
    };
    match id {
        Some(id) => {
            tx.execute_one(
                "UPDATE services SET code = $3, name = $4, kind = $5, price_minor = $6, currency = $7, \
                 tax_category = $8, active = $9 WHERE tenant_id = $1 AND id = $2",
                &args(id),
            )
            .await
            .map_err(conflict("service code"))?;
            Ok(id)
        }
        None => {
            let id = Uuid::now_v7();
            let mut values = args(id).to_vec();
            values.push(Utc::now().into());
            tx.execute(
                "INSERT INTO services (tenant_id, id, code, name, kind, price_minor, currency, tax_category, \
                 active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &values,
            )
            .await
            .map_err(conflict("service code"))?;
            Ok(id)
        }
    }
}

fn conflict(what: &'static str) -> impl Fn(DbError) -> DbError {
    move |e| match e {
        DbError::Sqlx(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            DbError::Conflict(what)
        }
        other => other,
    }
}

// ----------------------------------------------------------------- invoices --

pub struct NewDraft<'a> {
    pub patient: Uuid,
    pub appointment: Option<Uuid>,
    pub currency: &'a str,
    pub regime: Regime,
    pub place_of_supply: Option<&'a str>,
    pub inter_state: bool,
    pub notes: Option<&'a str>,
    pub created_by: Uuid,
}

pub async fn create_draft(tx: &mut TenantTx, d: &NewDraft<'_>) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO invoices (tenant_id, id, kind, status, patient_id, appointment_id, currency, regime, \
         place_of_supply, inter_state, invoice_discount, notes, created_by, created_at) \
         VALUES ($1, $2, 'invoice', 'draft', $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)",
        &[
            id.into(),
            d.patient.into(),
            d.appointment.into(),
            d.currency.into(),
            d.regime.as_str().into(),
            d.place_of_supply.into(),
            d.inter_state.into(),
            d.notes.into(),
            d.created_by.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(id)
}

/// A line as typed or taken from the catalog.
pub struct NewLine<'a> {
    pub service: Option<Uuid>,
    pub description: &'a str,
    pub tax_category: &'a str,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_discount: i64,
    pub rate_bp: i64,
    pub exempt: bool,
}

pub async fn add_line(tx: &mut TenantTx, invoice: Uuid, l: &NewLine<'_>) -> Result<Uuid, DbError> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(coalesce(max(position), 0) AS BIGINT) FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2",
            &[invoice.into()],
        )
        .await?;
    if count >= 200 {
        return Err(DbError::Invalid(
            "an invoice holds at most 200 lines".into(),
        ));
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, service_id, description, tax_category, \
         quantity, unit_price, line_discount, rate_bp, exempt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            id.into(),
            invoice.into(),
            (count + 1).into(),
            l.service.into(),
            l.description.into(),
            l.tax_category.into(),
            l.quantity.into(),
            l.unit_price.into(),
            l.line_discount.into(),
            l.rate_bp.into(),
            l.exempt.into(),
        ],
    )
    .await
    .map_err(refused)?;
    Ok(id)
}

pub async fn remove_line(tx: &mut TenantTx, invoice: Uuid, line: Uuid) -> Result<(), DbError> {
    tx.execute_one(
        "DELETE FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 AND id = $3",
        &[invoice.into(), line.into()],
    )
    .await
    .map_err(refused)?;
    // A discount larger than what is left goes with the line.
    tx.execute(
        "UPDATE invoices SET invoice_discount = 0, discount_reason = NULL WHERE tenant_id = $1 AND id = $2 \
         AND status = 'draft' AND invoice_discount > (SELECT coalesce(sum(quantity * unit_price - line_discount), 0) \
         FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2)",
        &[invoice.into()],
    )
    .await?;
    Ok(())
}

pub async fn set_invoice_discount(
    tx: &mut TenantTx,
    invoice: Uuid,
    amount: i64,
    reason: Option<&str>,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE invoices SET invoice_discount = $3, discount_reason = $4 WHERE tenant_id = $1 AND id = $2",
        &[invoice.into(), amount.into(), reason.into()],
    )
    .await
    .map_err(refused)
}

/// Deletes a draft and its lines (an issued document is refused by the database).
pub async fn delete_draft(tx: &mut TenantTx, invoice: Uuid) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2",
        &[invoice.into()],
    )
    .await
    .map_err(refused)?;
    tx.execute_one(
        "DELETE FROM invoices WHERE tenant_id = $1 AND id = $2",
        &[invoice.into()],
    )
    .await
    .map_err(refused)
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: Uuid,
    kind: String,
    status: String,
    patient_id: Uuid,
    given_name: String,
    family_name: String,
    appointment_id: Option<Uuid>,
    credit_for: Option<Uuid>,
    number: Option<String>,
    title: Option<String>,
    currency: String,
    regime: String,
    place_of_supply: Option<String>,
    inter_state: bool,
    invoice_discount: i64,
    discount_reason: Option<String>,
    notes: Option<String>,
    credited: i64,
    paid: i64,
    created_at: DateTime<Utc>,
    issued_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: Uuid,
    invoice_id: Uuid,
    position: i64,
    description: String,
    tax_category: String,
    quantity: i64,
    unit_price: i64,
    line_discount: i64,
    rate_bp: i64,
    exempt: bool,
    credit_of_line: Option<Uuid>,
    discount: i64,
    taxable: i64,
    tax_kind: String,
    cgst: i64,
    sgst: i64,
    igst: i64,
    tax: i64,
    total: i64,
}

impl LineRow {
    fn input(&self) -> LineInput {
        LineInput {
            quantity: self.quantity,
            unit_price: self.unit_price,
            discount: self.line_discount,
            rate_bp: self.rate_bp,
            exempt: self.exempt,
        }
    }

    /// The tax as stored when the document was issued.
    fn stored(&self) -> LineTax {
        LineTax {
            gross: self.quantity * self.unit_price,
            discount: self.discount,
            taxable: self.taxable,
            kind: self.tax_kind.parse::<TaxKind>().unwrap_or(TaxKind::None),
            rate_bp: self.rate_bp,
            cgst: self.cgst,
            sgst: self.sgst,
            igst: self.igst,
            tax: self.tax,
            total: self.total,
        }
    }
}

const SELECT_INVOICES: &str = "SELECT i.id, i.kind, i.status, i.patient_id, p.given_name, p.family_name, \
     i.appointment_id, i.credit_for, i.number, i.title, i.currency, i.regime, i.place_of_supply, i.inter_state, \
     i.invoice_discount, i.discount_reason, i.notes, \
     CAST(coalesce((SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = i.tenant_id AND c.credit_for = i.id \
               AND c.status = 'issued'), 0) AS BIGINT) AS credited, \
     CAST(coalesce((SELECT sum(a.amount) FROM payment_allocations a WHERE a.tenant_id = i.tenant_id \
               AND a.invoice_id = i.id), 0) AS BIGINT) AS paid, \
     i.created_at, i.issued_at \
     FROM invoices i JOIN patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id \
     WHERE i.tenant_id = $1";

const SELECT_LINES: &str = "SELECT id, invoice_id, position, description, tax_category, quantity, unit_price, \
     line_discount, rate_bp, exempt, credit_of_line, discount, taxable, tax_kind, cgst, sgst, igst, tax, total \
     FROM invoice_lines WHERE tenant_id = $1";

fn supply(inter_state: bool) -> Supply {
    if inter_state {
        Supply::InterState
    } else {
        Supply::IntraState
    }
}

/// The lines' tax: as stored for an issued document, as it would be issued
/// now for a draft.
fn line_taxes(row: &InvoiceRow, lines: &[LineRow]) -> Result<Vec<LineTax>, DbError> {
    if row.status == "issued" {
        return Ok(lines.iter().map(LineRow::stored).collect());
    }
    let regime = row
        .regime
        .parse::<Regime>()
        .map_err(|_| DbError::Corrupt("regime".into()))?;
    let inputs: Vec<LineInput> = lines.iter().map(LineRow::input).collect();
    tax::compute(
        regime,
        supply(row.inter_state),
        &inputs,
        row.invoice_discount,
    )
    .map_err(|e| DbError::Invalid(e.to_string()))
}

fn view(row: InvoiceRow, lines: Vec<LineRow>) -> Result<InvoiceView, DbError> {
    let taxes = line_taxes(&row, &lines)?;
    let kind = row
        .kind
        .parse::<DocumentKind>()
        .map_err(|_| DbError::Corrupt("kind".into()))?;
    let status = row
        .status
        .parse::<InvoiceStatus>()
        .map_err(|_| DbError::Corrupt("status".into()))?;
    let regime = row
        .regime
        .parse::<Regime>()
        .map_err(|_| DbError::Corrupt("regime".into()))?;
    let sum = |f: fn(&LineTax) -> i64| taxes.iter().map(f).sum::<i64>();
    let total = sum(|t| t.total);
    let outstanding = if kind == DocumentKind::Invoice && status == InvoiceStatus::Issued {
        (total - row.credited - row.paid).max(0)
    } else {
        0
    };
    let title = match (&row.title, kind) {
        (Some(t), _) => t.clone(),
        (None, DocumentKind::CreditNote) => "Credit note".into(),
        (None, DocumentKind::Invoice) => tax::title(regime, &taxes).into(),
    };
    Ok(InvoiceView {
        id: row.id,
        kind,
        status,
        patient_id: row.patient_id,
        patient_name: format!("{} {}", row.given_name, row.family_name),
        appointment_id: row.appointment_id,
        credit_for: row.credit_for,
        number: row.number,
        title,
        currency: row.currency,
        regime,
        place_of_supply: row.place_of_supply,
        inter_state: row.inter_state,
        invoice_discount: row.invoice_discount,
        discount_reason: row.discount_reason,
        notes: row.notes,
        gross: sum(|t| t.gross),
        discount: sum(|t| t.discount),
        tax: sum(|t| t.tax),
        cgst: sum(|t| t.cgst),
        sgst: sum(|t| t.sgst),
        igst: sum(|t| t.igst),
        total,
        credited: row.credited,
        paid: row.paid,
        outstanding,
        created_at: row.created_at,
        issued_at: row.issued_at,
        lines: lines
            .into_iter()
            .zip(taxes)
            .map(|(l, tax)| LineView {
                id: l.id,
                position: l.position,
                description: l.description,
                tax_category: l.tax_category,
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_discount: l.line_discount,
                credit_of_line: l.credit_of_line,
                tax,
            })
            .collect(),
    })
}

pub async fn invoice(tx: &mut TenantTx, id: Uuid) -> Result<Option<InvoiceView>, DbError> {
    let row: Option<InvoiceRow> = tx
        .fetch_optional(&format!("{SELECT_INVOICES} AND i.id = $2"), &[id.into()])
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let lines: Vec<LineRow> = tx
        .fetch_all(
            &format!("{SELECT_LINES} AND invoice_id = $2 ORDER BY position"),
            &[id.into()],
        )
        .await?;
    view(row, lines).map(Some)
}

/// Invoices and credit notes, newest first: of one patient, or the clinic's
/// latest `limit`.
pub async fn invoices(
    tx: &mut TenantTx,
    patient: Option<Uuid>,
    limit: i64,
) -> Result<Vec<InvoiceView>, DbError> {
    let rows: Vec<InvoiceRow> = tx
        .fetch_all(
            &format!(
                "{SELECT_INVOICES} AND ($2 IS NULL OR i.patient_id = $2) \
                 ORDER BY i.created_at DESC, i.id DESC LIMIT $3"
            ),
            &[patient.into(), limit.into()],
        )
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines: Vec<LineRow> = Vec::new();
    for chunk in ids.chunks(50) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let args: Vec<crate::db::Arg<'_>> = chunk.iter().map(|id| (*id).into()).collect();
        let mut part: Vec<LineRow> = tx
            .fetch_all(
                &format!(
                    "{SELECT_LINES} AND invoice_id IN ({}) ORDER BY position",
                    placeholders.join(", ")
                ),
                &args,
            )
            .await?;
        lines.append(&mut part);
    }
    rows.into_iter()
        .map(|row| {
            let own: Vec<LineRow> = lines
                .iter()
                .filter(|l| l.invoice_id == row.id)
                .map(clone_line)
                .collect();
            view(row, own)
        })
        .collect()
}

fn clone_line(l: &LineRow) -> LineRow {
    LineRow {
        id: l.id,
        invoice_id: l.invoice_id,
        position: l.position,
        description: l.description.clone(),
        tax_category: l.tax_category.clone(),
        quantity: l.quantity,
        unit_price: l.unit_price,
        line_discount: l.line_discount,
        rate_bp: l.rate_bp,
        exempt: l.exempt,
        credit_of_line: l.credit_of_line,
        discount: l.discount,
        taxable: l.taxable,
        tax_kind: l.tax_kind.clone(),
        cgst: l.cgst,
        sgst: l.sgst,
        igst: l.igst,
        tax: l.tax,
        total: l.total,
    }
}

/// The next number of a series, locked until the transaction ends (PostgreSQL;
/// SQLite's single writer already orders issuers). The series starts at 1.
async fn next_seq(tx: &mut TenantTx, kind: &str, period: &str) -> Result<i64, DbError> {
    tx.execute(
        "INSERT INTO document_series (tenant_id, kind, period, next_seq) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, kind, period) DO NOTHING",
        &[kind.into(), period.into()],
    )
    .await?;
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let (seq,): (i64,) = tx
        .fetch_one(
            &format!(
                "SELECT next_seq FROM document_series WHERE tenant_id = $1 AND kind = $2 AND period = $3{lock}"
            ),
            &[kind.into(), period.into()],
        )
        .await?;
    Ok(seq)
}

/// A document's place in its series and its printed number.
struct Numbered {
    period: String,
    seq: i64,
    number: String,
}

async fn take_number(
    tx: &mut TenantTx,
    kind: &str,
    prefix: &str,
    fy_start_month: u32,
    day: NaiveDate,
) -> Result<Numbered, DbError> {
    let period = numbering::period(fy_start_month, day);
    let seq = next_seq(tx, kind, &period).await?;
    let number = numbering::number(prefix, &period, seq).ok_or_else(|| {
        DbError::Invalid(format!(
            "document numbers may have at most {} characters; shorten the prefix in the billing settings",
            numbering::MAX_NUMBER_CHARS
        ))
    })?;
    Ok(Numbered {
        period,
        seq,
        number,
    })
}

/// Writes the worked-out tax on each line of a draft.
async fn store_line_taxes(tx: &mut TenantTx, lines: &[LineView]) -> Result<(), DbError> {
    for l in lines {
        let t = &l.tax;
        tx.execute_one(
            "UPDATE invoice_lines SET discount = $3, taxable = $4, tax_kind = $5, rate_bp = $6, cgst = $7, \
             sgst = $8, igst = $9, tax = $10, total = $11 WHERE tenant_id = $1 AND id = $2",
            &[
                l.id.into(),
                t.discount.into(),
                t.taxable.into(),
                t.kind.as_str().into(),
                t.rate_bp.into(),
                t.cgst.into(),
                t.sgst.into(),
                t.igst.into(),
                t.tax.into(),
                t.total.into(),
            ],
        )
        .await
        .map_err(refused)?;
    }
    Ok(())
}

/// Issues a draft: works out its tax for good, gives it the next number of
/// its series (dated `day`, the clinic's date) and makes it final.
pub async fn issue(
    tx: &mut TenantTx,
    id: Uuid,
    by: Uuid,
    day: NaiveDate,
    settings: &BillingSettings,
) -> Result<InvoiceView, DbError> {
    let draft = invoice(tx, id).await?.ok_or(DbError::NotFound)?;
    if draft.status != InvoiceStatus::Draft {
        return Err(DbError::Invalid("this invoice is already issued".into()));
    }
    if draft.lines.is_empty() {
        return Err(DbError::Invalid(
            "add at least one line before issuing".into(),
        ));
    }
    let (kind, prefix) = match draft.kind {
        DocumentKind::Invoice => ("invoice", settings.invoice_prefix.as_str()),
        DocumentKind::CreditNote => ("credit_note", settings.credit_prefix.as_str()),
    };
    store_line_taxes(tx, &draft.lines).await?;
    let n = take_number(tx, kind, prefix, settings.fy_start_month, day).await?;
    tx.execute_one(
        "UPDATE invoices SET status = 'issued', title = $3, period = $4, seq = $5, number = $6, gross = $7, \
         discount = $8, tax = $9, total = $10, issued_by = $11, issued_at = $12 WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            draft.title.as_str().into(),
            n.period.as_str().into(),
            n.seq.into(),
            n.number.as_str().into(),
            draft.gross.into(),
            draft.discount.into(),
            draft.tax.into(),
            draft.total.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(refused)?;
    invoice(tx, id).await?.ok_or(DbError::NotFound)
}

/// Issues a credit note for the chosen lines of an issued invoice (each in
/// full: its quantity, discount and tax exactly as invoiced), and gives back
/// to the patient's credit what was already paid beyond the corrected total.
pub async fn credit_note(
    tx: &mut TenantTx,
    invoice_id: Uuid,
    line_ids: &[Uuid],
    reason: &str,
    by: Uuid,
    day: NaiveDate,
    settings: &BillingSettings,
) -> Result<InvoiceView, DbError> {
    let original = invoice(tx, invoice_id).await?.ok_or(DbError::NotFound)?;
    if original.kind != DocumentKind::Invoice || original.status != InvoiceStatus::Issued {
        return Err(DbError::Invalid(
            "only an issued invoice can be credited".into(),
        ));
    }
    let chosen: Vec<&LineView> = original
        .lines
        .iter()
        .filter(|l| line_ids.contains(&l.id))
        .collect();
    if chosen.is_empty() || chosen.len() != line_ids.len() {
        return Err(DbError::Invalid(
            "choose lines of this invoice to credit".into(),
        ));
    }
    let (already,): (i64,) = tx
        .fetch_one(
            &format!(
                "SELECT count(*) FROM invoice_lines WHERE tenant_id = $1 AND credit_of_line IN ({})",
                (0..line_ids.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ")
            ),
            &line_ids.iter().map(|id| (*id).into()).collect::<Vec<_>>(),
        )
        .await?;
    if already > 0 {
        return Err(DbError::Invalid("a line can be credited only once".into()));
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO invoices (tenant_id, id, kind, status, patient_id, appointment_id, credit_for, currency, \
         regime, place_of_supply, inter_state, invoice_discount, notes, created_by, created_at) \
         VALUES ($1, $2, 'credit_note', 'draft', $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12)",
        &[
            id.into(),
            original.patient_id.into(),
            original.appointment_id.into(),
            invoice_id.into(),
            original.currency.as_str().into(),
            original.regime.as_str().into(),
            original.place_of_supply.as_deref().into(),
            original.inter_state.into(),
            reason.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(refused)?;
    let mut totals = (0, 0, 0, 0);
    for (i, l) in chosen.iter().enumerate() {
        let t = &l.tax;
        tx.execute(
            "INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, description, tax_category, quantity, \
             unit_price, line_discount, rate_bp, exempt, credit_of_line, discount, taxable, tax_kind, cgst, sgst, \
             igst, tax, total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20)",
            &[
                Uuid::now_v7().into(),
                id.into(),
                i64::try_from(i + 1).unwrap_or(i64::MAX).into(),
                l.description.as_str().into(),
                l.tax_category.as_str().into(),
                l.quantity.into(),
                l.unit_price.into(),
                l.line_discount.into(),
                t.rate_bp.into(),
                (t.kind == TaxKind::Exempt).into(),
                l.id.into(),
                t.discount.into(),
                t.taxable.into(),
                t.kind.as_str().into(),
                t.cgst.into(),
                t.sgst.into(),
                t.igst.into(),
                t.tax.into(),
                t.total.into(),
            ],
        )
        .await
        .map_err(refused)?;
        totals = (
            totals.0 + t.gross,
            totals.1 + t.discount,
            totals.2 + t.tax,
            totals.3 + t.total,
        );
    }
    // Money beyond the corrected worth goes back first: while the credit note
    // is a draft, each step keeps the invoice paid within what it is worth
    // (once issued, the worth drops and a half-released invoice would not be).
    release_overpayment(tx, &original, totals.3, by).await?;
    let n = take_number(
        tx,
        "credit_note",
        &settings.credit_prefix,
        settings.fy_start_month,
        day,
    )
    .await?;
    tx.execute_one(
        "UPDATE invoices SET status = 'issued', title = 'Credit note', period = $3, seq = $4, number = $5, \
         gross = $6, discount = $7, tax = $8, total = $9, issued_by = $10, issued_at = $11 \
         WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            n.period.as_str().into(),
            n.seq.into(),
            n.number.as_str().into(),
            totals.0.into(),
            totals.1.into(),
            totals.2.into(),
            totals.3.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(refused)?;
    invoice(tx, id).await?.ok_or(DbError::NotFound)
}

/// After a credit note: money put against the invoice beyond its corrected
/// worth goes back to the payments it came from (latest first), so it is the
/// patient's credit again.
async fn release_overpayment(
    tx: &mut TenantTx,
    original: &InvoiceView,
    credited_now: i64,
    by: Uuid,
) -> Result<(), DbError> {
    let worth = original.total - original.credited - credited_now;
    let mut over = original.paid - worth;
    if over <= 0 {
        return Ok(());
    }
    let per_payment: Vec<(Uuid, i64)> = tx
        .fetch_all(
            "SELECT payment_id, CAST(sum(amount) AS BIGINT) FROM payment_allocations WHERE tenant_id = $1 AND invoice_id = $2 \
             GROUP BY payment_id HAVING sum(amount) > 0 ORDER BY payment_id DESC",
            &[original.id.into()],
        )
        .await?;
    for (payment, amount) in per_payment {
        if over == 0 {
            break;
        }
        let back = amount.min(over);
        insert_allocation(
            tx,
            original.patient_id,
            payment,
            original.id,
            -back,
            Some(by),
        )
        .await?;
        over -= back;
    }
    Ok(())
}

async fn insert_allocation(
    tx: &mut TenantTx,
    patient: Uuid,
    payment: Uuid,
    invoice: Uuid,
    amount: i64,
    by: Option<Uuid>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO payment_allocations (tenant_id, id, payment_id, invoice_id, patient_id, amount, allocated_by, \
         allocated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            Uuid::now_v7().into(),
            payment.into(),
            invoice.into(),
            patient.into(),
            amount.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(refused)?;
    Ok(())
}

// ----------------------------------------------------------------- payments --

pub struct NewPayment<'a> {
    pub patient: Uuid,
    pub method: PaymentMethod,
    pub amount: i64,
    pub currency: &'a str,
    pub reference: Option<&'a str>,
    pub by: Option<Uuid>,
    pub day: NaiveDate,
}

/// Records money received, with its receipt number, and puts it against the
/// given invoices; what is left over is the patient's credit.
pub async fn record_payment(
    tx: &mut TenantTx,
    p: &NewPayment<'_>,
    allocations: &[(Uuid, i64)],
    settings: &BillingSettings,
) -> Result<(Uuid, String), DbError> {
    let put: i64 = allocations.iter().map(|a| a.1).sum();
    if put > p.amount {
        return Err(DbError::Invalid(
            "the amounts put against invoices add up to more than the payment".into(),
        ));
    }
    let (id, number) = insert_money(tx, "payment", p, None, settings).await?;
    for (invoice, amount) in allocations.iter().filter(|a| a.1 > 0) {
        insert_allocation(tx, p.patient, id, *invoice, *amount, p.by).await?;
    }
    Ok((id, number))
}

async fn insert_money(
    tx: &mut TenantTx,
    kind: &str,
    p: &NewPayment<'_>,
    credit_note: Option<Uuid>,
    settings: &BillingSettings,
) -> Result<(Uuid, String), DbError> {
    let (series, prefix) = match kind {
        "payment" => ("receipt", settings.receipt_prefix.as_str()),
        _ => ("refund", settings.refund_prefix.as_str()),
    };
    let n = take_number(tx, series, prefix, settings.fy_start_month, p.day).await?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO payments (tenant_id, id, kind, patient_id, method, amount, currency, reference, credit_note_id, \
         period, seq, number, received_by, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            id.into(),
            kind.into(),
            p.patient.into(),
            p.method.as_str().into(),
            p.amount.into(),
            p.currency.into(),
            p.reference.into(),
            credit_note.into(),
            n.period.as_str().into(),
            n.seq.into(),
            n.number.as_str().into(),
            p.by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(refused)?;
    Ok((id, n.number))
}

/// Puts `amount` of the patient's credit (unallocated money, oldest first)
/// against an invoice.
pub async fn apply_credit(
    tx: &mut TenantTx,
    patient: Uuid,
    invoice: Uuid,
    amount: i64,
    by: Uuid,
) -> Result<(), DbError> {
    let free: Vec<(Uuid, i64)> = tx
        .fetch_all(
            "SELECT p.id, CAST(p.amount - coalesce((SELECT sum(a.amount) FROM payment_allocations a \
             WHERE a.tenant_id = p.tenant_id AND a.payment_id = p.id), 0) AS BIGINT) FROM payments p \
             WHERE p.tenant_id = $1 AND p.patient_id = $2 AND p.kind = 'payment' ORDER BY p.received_at, p.id",
            &[patient.into()],
        )
        .await?;
    let mut left = amount;
    for (payment, available) in free {
        if left == 0 {
            break;
        }
        let take = available.min(left);
        if take > 0 {
            insert_allocation(tx, patient, payment, invoice, take, Some(by)).await?;
            left -= take;
        }
    }
    if left > 0 {
        return Err(DbError::Invalid(
            "the patient has not that much credit".into(),
        ));
    }
    Ok(())
}

/// Gives money back against an issued credit note (never more than the
/// credit note, nor than the credit the patient holds).
pub async fn refund(
    tx: &mut TenantTx,
    credit_note: Uuid,
    p: &NewPayment<'_>,
    settings: &BillingSettings,
) -> Result<(Uuid, String), DbError> {
    let dues = credit_of(tx, p.patient).await?;
    if p.amount > dues {
        return Err(DbError::Invalid(
            "the refund is more than the credit the patient holds".into(),
        ));
    }
    insert_money(tx, "refund", p, Some(credit_note), settings).await
}

/// What was already given back against a credit note.
pub async fn refunded_against(tx: &mut TenantTx, credit_note: Uuid) -> Result<i64, DbError> {
    let (refunded,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(coalesce(sum(amount), 0) AS BIGINT) FROM payments \
             WHERE tenant_id = $1 AND kind = 'refund' AND credit_note_id = $2",
            &[credit_note.into()],
        )
        .await?;
    Ok(refunded)
}

/// Money the patient paid in that is not (or no longer) put against an
/// invoice, less what was refunded.
pub async fn credit_of(tx: &mut TenantTx, patient: Uuid) -> Result<i64, DbError> {
    let (credit,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(coalesce((SELECT sum(CASE kind WHEN 'payment' THEN amount ELSE -amount END) FROM payments \
              WHERE tenant_id = $1 AND patient_id = $2), 0) \
             - coalesce((SELECT sum(amount) FROM payment_allocations WHERE tenant_id = $1 AND patient_id = $2), 0) \
             AS BIGINT)",
            &[patient.into()],
        )
        .await?;
    Ok(credit)
}

/// What a patient owes, aged by the clinic's date of each invoice, and the
/// credit they hold.
pub async fn dues(
    tx: &mut TenantTx,
    patient: Uuid,
    today: NaiveDate,
    tz: Tz,
    currency: &str,
) -> Result<Dues, DbError> {
    let owed: Vec<(DateTime<Utc>, i64)> = tx
        .fetch_all(
            "SELECT i.issued_at, CAST(i.total \
               - coalesce((SELECT sum(c.total) FROM invoices c WHERE c.tenant_id = i.tenant_id \
                           AND c.credit_for = i.id AND c.status = 'issued'), 0) \
               - coalesce((SELECT sum(a.amount) FROM payment_allocations a WHERE a.tenant_id = i.tenant_id \
                           AND a.invoice_id = i.id), 0) AS BIGINT) \
             FROM invoices i WHERE i.tenant_id = $1 AND i.patient_id = $2 AND i.kind = 'invoice' \
             AND i.status = 'issued'",
            &[patient.into()],
        )
        .await?;
    let mut dues = Dues {
        currency: currency.to_owned(),
        credit: credit_of(tx, patient).await?,
        ..Dues::default()
    };
    for (issued, left) in owed.into_iter().filter(|(_, left)| *left > 0) {
        let age = (today - issued.with_timezone(&tz).date_naive()).num_days();
        let bucket = match age {
            ..=30 => 0,
            31..=60 => 1,
            61..=90 => 2,
            _ => 3,
        };
        dues.aging[bucket] += left;
        dues.outstanding += left;
    }
    Ok(dues)
}

/// What a person owes across their record and every duplicate merged into
/// it (a duplicate's bills stay on it: issued documents never change).
pub async fn person_dues(
    tx: &mut TenantTx,
    patient: Uuid,
    today: NaiveDate,
    tz: Tz,
    currency: &str,
) -> Result<Dues, DbError> {
    let mut total = Dues {
        currency: currency.to_owned(),
        ..Dues::default()
    };
    for record in crate::patients::merge::db::records_of(tx, patient).await? {
        let part = dues(tx, record, today, tz, currency).await?;
        total.outstanding += part.outstanding;
        total.credit += part.credit;
        for (sum, add) in total.aging.iter_mut().zip(part.aging) {
            *sum += add;
        }
    }
    Ok(total)
}

/// A person's invoices, credit notes and payments across their record and
/// the duplicates merged into it, newest first.
pub async fn person_documents(
    tx: &mut TenantTx,
    patient: Uuid,
) -> Result<(Vec<InvoiceView>, Vec<PaymentView>), DbError> {
    let mut documents = Vec::new();
    let mut payments = Vec::new();
    for record in crate::patients::merge::db::records_of(tx, patient).await? {
        documents.extend(invoices(tx, Some(record), 200).await?);
        payments.extend(payments_of(tx, record).await?);
    }
    documents.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    payments.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.id.cmp(&a.id)));
    Ok((documents, payments))
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    number: String,
    kind: String,
    patient_id: Uuid,
    method: String,
    amount: i64,
    currency: String,
    reference: Option<String>,
    received_at: DateTime<Utc>,
    received_by: Option<String>,
}

/// A patient's payments and refunds, newest first, with where each went.
pub async fn payments_of(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<PaymentView>, DbError> {
    let rows: Vec<PaymentRow> = tx
        .fetch_all(
            "SELECT p.id, p.number, p.kind, p.patient_id, p.method, p.amount, p.currency, p.reference, \
             p.received_at, s.display_name AS received_by FROM payments p \
             LEFT JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.received_by \
             WHERE p.tenant_id = $1 AND p.patient_id = $2 ORDER BY p.received_at DESC, p.id DESC",
            &[patient.into()],
        )
        .await?;
    let allocations: Vec<(Uuid, String, i64)> = tx
        .fetch_all(
            "SELECT a.payment_id, i.number, CAST(sum(a.amount) AS BIGINT) FROM payment_allocations a \
             JOIN invoices i ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id \
             WHERE a.tenant_id = $1 AND a.patient_id = $2 GROUP BY a.payment_id, i.number",
            &[patient.into()],
        )
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PaymentView {
                allocations: allocations
                    .iter()
                    .filter(|a| a.0 == r.id && a.2 != 0)
                    .map(|a| (a.1.clone(), a.2))
                    .collect(),
                id: r.id,
                number: r.number,
                refund: r.kind == "refund",
                patient_id: r.patient_id,
                method: r
                    .method
                    .parse::<PaymentMethod>()
                    .map_err(|_| DbError::Corrupt("payment method".into()))?,
                amount: r.amount,
                currency: r.currency,
                reference: r.reference,
                received_at: r.received_at,
                received_by: r.received_by,
            })
        })
        .collect()
}

/// One payment or refund, with where it went.
pub async fn payment(tx: &mut TenantTx, id: Uuid) -> Result<Option<PaymentView>, DbError> {
    let owner: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT patient_id FROM payments WHERE tenant_id = $1 AND id = $2",
            &[id.into()],
        )
        .await?;
    let Some((patient,)) = owner else {
        return Ok(None);
    };
    Ok(payments_of(tx, patient)
        .await?
        .into_iter()
        .find(|p| p.id == id))
}

/// One day's takings in the clinic's time zone: per method and per member
/// of staff, refunds apart.
pub async fn collections(
    tx: &mut TenantTx,
    day: NaiveDate,
    tz: Tz,
    currency: &str,
) -> Result<Collections, DbError> {
    let from = crate::scheduling::slots::instant(tz, day, 0);
    let until = crate::scheduling::slots::instant(tz, day + Duration::days(1), 0);
    let rows: Vec<(String, String, Option<String>, i64)> = tx
        .fetch_all(
            "SELECT p.kind, p.method, s.display_name, CAST(sum(p.amount) AS BIGINT) FROM payments p \
             LEFT JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.received_by \
             WHERE p.tenant_id = $1 AND p.received_at >= $2 AND p.received_at < $3 \
             GROUP BY p.kind, p.method, s.display_name",
            &[from.into(), until.into()],
        )
        .await?;
    let mut c = Collections {
        day,
        currency: currency.to_owned(),
        ..Collections::default()
    };
    for (kind, method, staff, amount) in rows {
        let method = method
            .parse::<PaymentMethod>()
            .map_err(|_| DbError::Corrupt("payment method".into()))?;
        let staff = staff.unwrap_or_else(|| "Online".into());
        let (received, refunded) = if kind == "refund" {
            (0, amount)
        } else {
            (amount, 0)
        };
        add_to(&mut c.by_method, method, received, refunded);
        add_to(&mut c.by_staff, staff, received, refunded);
        c.received += received;
        c.refunded += refunded;
    }
    c.by_method.sort_by_key(|m| m.0.as_str());
    c.by_staff.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(c)
}

fn add_to<K: PartialEq>(rows: &mut Vec<(K, i64, i64)>, key: K, received: i64, refunded: i64) {
    match rows.iter_mut().find(|r| r.0 == key) {
        Some(r) => {
            r.1 += received;
            r.2 += refunded;
        }
        None => rows.push((key, received, refunded)),
    }
}

/// The erasure purge, once the record's retention has ended: allocations,
/// payments, lines, credit notes, then invoices.
pub async fn purge(tx: &mut TenantTx, patient: Uuid) -> Result<(), DbError> {
    for sql in [
        // Payment pages name the payments, so they go first.
        "DELETE FROM online_checkouts WHERE tenant_id = $1 AND patient_id = $2",
        "DELETE FROM payment_allocations WHERE tenant_id = $1 AND patient_id = $2",
        "DELETE FROM payments WHERE tenant_id = $1 AND patient_id = $2",
        "DELETE FROM invoice_lines WHERE tenant_id = $1 AND invoice_id IN \
         (SELECT id FROM invoices WHERE tenant_id = $1 AND patient_id = $2)",
        "DELETE FROM invoices WHERE tenant_id = $1 AND patient_id = $2 AND kind = 'credit_note'",
        "DELETE FROM invoices WHERE tenant_id = $1 AND patient_id = $2",
    ] {
        tx.execute(sql, &[patient.into()]).await?;
    }
    Ok(())
}

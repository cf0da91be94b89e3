//! Invoices, credit notes and receipts on paper and as PDF, from the shared
//! renderer (`crate::print`): `GET /billing/documents/{id}/print` (A4, A5 or
//! an 80 mm receipt roll with `?size=receipt`), `.../pdf`, and
//! `GET /billing/receipts/{id}/print` for one payment's receipt. Every print
//! is audited as a read of the patient's record.

use uuid::Uuid;

use super::{BillingSettings, DocumentKind, InvoiceView, PaymentView, TaxKind};
use crate::db::Db;
use crate::error::AppError;
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::permissions::Permission;
use crate::identity::Standing;
use crate::money::format_amount;
use crate::patients::Patient;
use crate::print::{Block, PageSize, Sheet};
use crate::site::SiteInfo;
use crate::tenancy::TenantPublic;

/// What is printed: a document (with the payments against it) or one receipt.
pub enum Printed {
    Document(Box<InvoiceView>, Vec<PaymentView>),
    Receipt(PaymentView),
}

/// Everything a printed billing document shows.
pub struct Printable {
    pub tenant: TenantPublic,
    pub settings: BillingSettings,
    pub patient: Patient,
    pub printed: Printed,
    /// The clinic's address for the letterhead.
    pub address: Option<String>,
}

/// What `id` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Document,
    Receipt,
}

/// Reads the invoice, credit note or receipt `id` for whoever is signed in on
/// `site` (billing staff, or the patient it is for), audits it, and answers
/// what to print. Anything else is `NotFound`.
pub async fn load(
    db: &Db,
    site: &SiteInfo,
    meta: &RequestMeta,
    wanted: Wanted,
    id: Uuid,
) -> Result<Printable, AppError> {
    let tenant = site.tenant.clone().ok_or(AppError::NotFound)?;
    let viewer = site.viewer.as_ref().ok_or(AppError::Unauthenticated)?;
    let mut tx = db.begin_for(tenant.id).await?;
    let (printed, patient_id) = match wanted {
        Wanted::Document => {
            let doc = super::db::invoice(&mut tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let payments = super::db::payments_of(&mut tx, doc.patient_id).await?;
            let number = doc.number.clone().unwrap_or_default();
            let mine: Vec<PaymentView> = payments
                .into_iter()
                .filter(|p| p.allocations.iter().any(|(n, _)| *n == number))
                .collect();
            let patient = doc.patient_id;
            (Printed::Document(Box::new(doc), mine), patient)
        }
        Wanted::Receipt => {
            let payment = super::db::payment(&mut tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let patient = payment.patient_id;
            (Printed::Receipt(payment), patient)
        }
    };
    let role = match viewer.standing {
        Standing::Staff { role, .. }
            if role.can(Permission::PaymentsTake) && viewer.support.is_none() =>
        {
            crate::patients::api::ssr::ensure_visible(&mut tx, viewer, patient_id)
                .await
                .map_err(|_| AppError::NotFound)?;
            Some(role.as_str())
        }
        Standing::Patient { patient_id: own } => {
            if !crate::patients::merge::db::is_part_of(&mut tx, patient_id, own).await? {
                return Err(AppError::NotFound);
            }
            None
        }
        _ => return Err(AppError::NotFound),
    };
    let patient = crate::patients::db::get(&mut tx, patient_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let settings = super::db::settings(&mut tx).await?;
    let address = crate::scheduling::db::letterhead_address(&mut tx).await?;
    audit::record_for_patient(
        &mut tx,
        Actor::account(viewer.account_id, viewer.email.as_str()),
        role,
        patient_id,
        match wanted {
            Wanted::Document => "invoice.printed",
            Wanted::Receipt => "receipt.printed",
        },
        Some(&id.to_string()),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(Printable {
        tenant,
        settings,
        patient,
        printed,
        address,
    })
}

fn amount(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor, currency))
}

fn letterhead(p: &Printable) -> Vec<Block> {
    let mut head: Vec<String> = p.address.iter().cloned().collect();
    if let Some(id) = &p.settings.tax_id {
        let label = match p.settings.regime {
            super::Regime::IndiaGst => "GSTIN",
            _ => "Tax number",
        };
        head.push(format!("{label}: {id}"));
    }
    if let Some(state) = &p.settings.state {
        head.push(format!("State: {state}"));
    }
    let mut blocks = vec![Block::Title(p.tenant.name.clone())];
    if !head.is_empty() {
        blocks.push(Block::Letterhead(head));
    }
    blocks.push(Block::Rule);
    blocks
}

/// The document or receipt as a printable sheet.
pub fn sheet(p: &Printable, size: PageSize) -> Sheet {
    match &p.printed {
        Printed::Document(doc, payments) => document_sheet(p, doc, payments, size),
        Printed::Receipt(payment) => receipt_sheet(p, payment, size),
    }
}

fn document_sheet(
    p: &Printable,
    d: &InvoiceView,
    payments: &[PaymentView],
    size: PageSize,
) -> Sheet {
    let settings = &p.tenant.settings;
    let c = d.currency.as_str();
    let mut blocks = letterhead(p);
    let number = d
        .number
        .clone()
        .unwrap_or_else(|| "DRAFT (not issued)".into());
    blocks.push(Block::Heading(format!("{} {number}", d.title)));
    let mut facts = vec![
        ("Patient".into(), p.patient.display_name()),
        ("Record no.".into(), p.patient.mrn.to_string()),
        (
            "Date".into(),
            settings.format_datetime(d.issued_at.unwrap_or(d.created_at)),
        ),
    ];
    if let Some(place) = &d.place_of_supply {
        facts.push(("Place of supply".into(), place.clone()));
    }
    blocks.push(Block::Facts(facts));
    if d.kind == DocumentKind::CreditNote {
        if let Some(reason) = &d.notes {
            blocks.push(Block::Text(format!("Reason: {reason}")));
        }
    }
    blocks.push(Block::Rule);
    for (n, l) in d.lines.iter().enumerate() {
        blocks.push(Block::Strong(format!("{}. {}", n + 1, l.description)));
        let t = &l.tax;
        let tax = match t.kind {
            TaxKind::Exempt => "exempt".to_owned(),
            TaxKind::None => "no tax".to_owned(),
            TaxKind::Vat => format!(
                "VAT {} %: {}",
                format_amount(t.rate_bp, "USD"),
                format_amount(t.tax, c)
            ),
            TaxKind::CgstSgst => format!(
                "CGST {} %: {} · SGST {} %: {}",
                format_amount(t.rate_bp / 2, "USD"),
                format_amount(t.cgst, c),
                format_amount(t.rate_bp / 2, "USD"),
                format_amount(t.sgst, c)
            ),
            TaxKind::Igst => format!(
                "IGST {} %: {}",
                format_amount(t.rate_bp, "USD"),
                format_amount(t.igst, c)
            ),
        };
        blocks.push(Block::Small(format!(
            "{} × {} · discount {} · taxable {} · {tax} · {}",
            l.quantity,
            format_amount(l.unit_price, c),
            format_amount(t.discount, c),
            format_amount(t.taxable, c),
            amount(t.total, c)
        )));
    }
    blocks.push(Block::Rule);
    let mut totals = vec![("Amount".into(), amount(d.gross, c))];
    if d.discount > 0 {
        totals.push(("Discount".into(), amount(d.discount, c)));
    }
    for (label, value) in [("CGST", d.cgst), ("SGST", d.sgst), ("IGST", d.igst)] {
        if value > 0 {
            totals.push((label.into(), amount(value, c)));
        }
    }
    if d.cgst + d.sgst + d.igst == 0 && d.tax > 0 {
        totals.push(("Tax".into(), amount(d.tax, c)));
    }
    totals.push(("Total".into(), amount(d.total, c)));
    if d.kind == DocumentKind::Invoice && d.number.is_some() {
        if d.credited > 0 {
            totals.push(("Credited".into(), amount(d.credited, c)));
        }
        totals.push(("Paid".into(), amount(d.paid, c)));
        totals.push(("Owed".into(), amount(d.outstanding, c)));
    }
    blocks.push(Block::Facts(totals));
    for payment in payments {
        blocks.push(Block::Small(format!(
            "Receipt {} · {} · {} · {}",
            payment.number,
            settings.format_datetime(payment.received_at),
            payment.method.label(),
            amount(payment.amount, &payment.currency)
        )));
    }
    if d.number.is_none() {
        blocks.push(Block::Notice(
            "Draft: not a tax document until issued.".into(),
        ));
    }
    Sheet {
        title: format!("{} {number}", d.title),
        size,
        blocks,
        footer: format!("{} · {number}", p.tenant.name),
    }
}

fn receipt_sheet(p: &Printable, r: &PaymentView, size: PageSize) -> Sheet {
    let settings = &p.tenant.settings;
    let mut blocks = letterhead(p);
    let title = if r.refund { "Refund" } else { "Receipt" };
    blocks.push(Block::Heading(format!("{title} {}", r.number)));
    let mut facts = vec![
        ("Patient".into(), p.patient.display_name()),
        ("Record no.".into(), p.patient.mrn.to_string()),
        ("Date".into(), settings.format_datetime(r.received_at)),
        ("Method".into(), r.method.label().to_owned()),
        ("Amount".into(), amount(r.amount, &r.currency)),
    ];
    if let Some(reference) = &r.reference {
        facts.push(("Reference".into(), reference.clone()));
    }
    if let Some(by) = &r.received_by {
        facts.push(("Received by".into(), by.clone()));
    }
    blocks.push(Block::Facts(facts));
    for (invoice, part) in &r.allocations {
        blocks.push(Block::Small(format!(
            "For {invoice}: {}",
            amount(*part, &r.currency)
        )));
    }
    Sheet {
        title: format!("{title} {}", r.number),
        size,
        blocks,
        footer: format!("{} · thank you", p.tenant.name),
    }
}

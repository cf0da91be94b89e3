//! Billing's server functions. Who may call each is in
//! [`crate::identity::access`]; the checks here are the ones that depend on
//! the amounts (a discount above the clinic's threshold, a refund).
//!
//! Amounts arrive as typed ("45.50") and become minor units of the clinic's
//! currency; a bad amount is refused naming its field.

#![allow(clippy::too_many_arguments)]

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use super::PaymentMethod;
use super::{BillingSettings, Collections, Dues, InvoiceView, PaymentView, Service, TaxCategory};
use crate::error::AppError;

/// The billing set-up page: settings, tax categories and the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingSetupView {
    pub settings: BillingSettings,
    pub categories: Vec<TaxCategory>,
    pub services: Vec<Service>,
    pub currency: String,
    pub can_change_settings: bool,
    /// Online payment providers connected (shown to those who may change settings).
    pub payment_accounts: Vec<super::online::AccountView>,
}

/// One invoice's page: the document, the patient's money, and what may be done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoicePageView {
    pub invoice: InvoiceView,
    /// Credit notes against it.
    pub credit_notes: Vec<InvoiceView>,
    pub payments: Vec<PaymentView>,
    pub dues: Dues,
    pub services: Vec<Service>,
    pub categories: Vec<TaxCategory>,
    /// May discount above the threshold, credit and refund.
    pub can_manage: bool,
    pub settings: BillingSettings,
}

/// A patient's billing: documents, payments and dues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientBillingView {
    pub invoices: Vec<InvoiceView>,
    pub payments: Vec<PaymentView>,
    pub dues: Dues,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use uuid::Uuid;

    use crate::db::TenantTx;
    use crate::error::AppError;
    pub use crate::forms::input::{checked, field, optional};
    use crate::patients::api::ssr::Writer;

    /// "45.50" in the clinic's currency, as minor units.
    pub fn amount(name: &str, text: &str, currency: &str) -> Result<i64, AppError> {
        crate::money::parse_amount(text, currency).ok_or_else(|| {
            field(
                name,
                &format!(
                    "give an amount such as {} (no currency sign)",
                    crate::money::format_amount(4550, currency)
                ),
            )
        })
    }

    /// "18" or "12.5" (per cent) as basis points.
    pub fn rate(name: &str, text: &str) -> Result<i64, AppError> {
        crate::money::parse_amount(text, "USD")
            .filter(|bp| *bp <= 10_000)
            .ok_or_else(|| {
                field(
                    name,
                    "give a rate from 0 to 100 (per cent), such as 18 or 12.5",
                )
            })
    }

    /// Emails the patient that a billing document (`kind` and `number`, e.g.
    /// "receipt R-0012") waits in their portal, and audits it as `action`. The
    /// message never carries amounts or what was treated.
    pub async fn tell_the_patient(
        w: &Writer,
        tx: &mut TenantTx,
        patient_id: Uuid,
        kind: &str,
        number: &str,
        action: &str,
    ) -> Result<(), AppError> {
        let patient = crate::patients::db::get(tx, patient_id)
            .await?
            .ok_or_else(|| AppError::NotFound.respond())?;
        let email = patient
            .email
            .as_deref()
            .and_then(|e| crate::identity::Email::parse(e).ok())
            .ok_or_else(|| {
                AppError::Invalid(
                    "this patient has no email address on their record; add one first".into(),
                )
                .respond()
            })?;
        let link = format!(
            "{}{}",
            crate::identity::auth::request_meta().origin,
            crate::site::current_site().href("/portal/bills")
        );
        let account_line = if patient.portal_account {
            "Sign in to your patient portal to see it, download it as a PDF and pay what is due."
        } else {
            "Your patient portal shows it once you have an account; ask the clinic for an invitation."
        };
        let message = crate::mail::branded(
            Some(&w.tenant),
            &email,
            &format!("Your {kind} {number}"),
            &[
                &format!("{} has sent you {kind} {number}.", w.tenant.name),
                account_line,
            ],
            ("Open your portal", &link),
        );
        crate::mail::enqueue(tx.platform(), &message).await?;
        w.audit(tx, patient_id, action, Some(number)).await?;
        Ok(())
    }

    /// The invoice, once it is known to be this clinic's and its patient
    /// visible to the caller.
    pub async fn open_invoice(
        w: &Writer,
        invoice: Uuid,
    ) -> Result<(TenantTx, super::InvoiceView), AppError> {
        let db = crate::identity::auth::db()?;
        let mut tx = db.begin_for(w.tenant.id).await?;
        let view = super::super::db::invoice(&mut tx, invoice)
            .await?
            .ok_or_else(|| AppError::NotFound.respond())?;
        crate::patients::api::ssr::ensure_visible(&mut tx, &w.viewer, view.patient_id).await?;
        Ok((tx, view))
    }

    /// What the patient owes today (with any duplicate merged into their
    /// record), in the clinic's time zone and currency.
    pub async fn dues(
        w: &Writer,
        tx: &mut TenantTx,
        patient: Uuid,
    ) -> Result<super::Dues, AppError> {
        Ok(super::super::db::person_dues(
            tx,
            patient,
            today(w),
            w.tenant.settings.tz(),
            &w.tenant.settings.currency,
        )
        .await?)
    }

    /// Money going back against a credit note.
    pub fn refund_of<'a>(
        note: &'a super::InvoiceView,
        method: super::PaymentMethod,
        amount: i64,
        (by, day): (Uuid, chrono::NaiveDate),
        reference: Option<&'a str>,
    ) -> super::super::db::NewPayment<'a> {
        super::super::db::NewPayment {
            patient: note.patient_id,
            method,
            amount,
            currency: &note.currency,
            reference,
            by: Some(by),
            day,
        }
    }

    pub fn today(w: &Writer) -> chrono::NaiveDate {
        crate::patients::api::ssr::clinic_today(&w.tenant)
    }

    /// Audits a change to an invoice, commits, and goes back to the invoice.
    pub async fn changed(
        w: &Writer,
        mut tx: TenantTx,
        patient: Uuid,
        action: &str,
        invoice: Uuid,
    ) -> Result<(), AppError> {
        w.audit(&mut tx, patient, action, Some(&invoice.to_string()))
            .await?;
        tx.commit().await?;
        crate::forms::lands_on(&invoice_href(invoice));
        Ok(())
    }

    pub fn invoice_href(id: Uuid) -> String {
        crate::site::current_site().href(&format!("/staff/billing?invoice={id}"))
    }

    /// Whether a discount of `discount` on `base` needs a reason (and a
    /// manager of billing) under the clinic's threshold.
    pub fn above_threshold(discount: i64, base: i64, threshold_bp: i64) -> bool {
        discount > 0 && i128::from(discount) * 10_000 > i128::from(base) * i128::from(threshold_bp)
    }

    /// Checks a discount against the threshold: above it, only billing
    /// managers, with a reason.
    pub fn check_discount(
        w: &Writer,
        name: &str,
        discount: i64,
        base: i64,
        threshold_bp: i64,
        reason: Option<&str>,
    ) -> Result<(), AppError> {
        if !above_threshold(discount, base, threshold_bp) {
            return Ok(());
        }
        if !w
            .viewer
            .can(crate::identity::permissions::Permission::BillingManage)
        {
            return Err(field(
                name,
                &format!(
                    "a discount above {} % needs someone who manages billing",
                    crate::money::format_amount(threshold_bp, "USD")
                ),
            ));
        }
        if reason.is_none() {
            return Err(field(
                "discount_reason",
                "give the reason for a discount this large",
            ));
        }
        Ok(())
    }
}

#[server(prefix = "/api", endpoint = "billing_setup")]
pub async fn billing_setup() -> Result<BillingSetupView, AppError> {
    use crate::identity::permissions::Permission;
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    let settings = super::db::settings(&mut tx).await?;
    let categories = super::db::categories(&mut tx).await?;
    let services = super::db::services(&mut tx).await?;
    let can_change_settings = w.viewer.can(Permission::SettingsManage);
    let payment_accounts = if can_change_settings {
        let meta = crate::identity::auth::request_meta();
        super::online::accounts(
            &mut tx,
            &meta.platform_origin,
            w.tenant.slug.as_str(),
            w.tenant.settings.tz(),
        )
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(BillingSetupView {
        settings,
        categories,
        services,
        currency: w.tenant.settings.currency.clone(),
        can_change_settings,
        payment_accounts,
    })
}

/// Connects the clinic's own Stripe or Razorpay account, so patients can pay
/// invoices online. The secrets are sealed and never shown again.
#[server(prefix = "/api", endpoint = "connect_payments")]
pub async fn connect_payments(
    provider: String,
    key_id: Option<String>,
    secret_key: String,
    webhook_secret: String,
) -> Result<(), AppError> {
    use crate::payments::Provider;
    let w = crate::patients::api::ssr::writer()?;
    let provider = provider
        .trim()
        .parse::<Provider>()
        .map_err(|_| ssr::field("provider", "choose Stripe or Razorpay"))?;
    let keys = super::online::check_keys(provider, key_id.as_deref(), &secret_key, &webhook_secret)
        .map_err(|(name, message)| ssr::field(name, &message))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::online::connect(&mut tx, provider, &keys, Some(w.staff_id)).await?;
    w.finish(tx, "billing.payments_connected", Some(provider.as_str()))
        .await
}

/// Stops online payments through a provider (pages already open still settle
/// if the provider's webhook comes while the keys are connected again).
#[server(prefix = "/api", endpoint = "disconnect_payments")]
pub async fn disconnect_payments(provider: String) -> Result<(), AppError> {
    use crate::payments::Provider;
    let w = crate::patients::api::ssr::writer()?;
    let provider = provider
        .trim()
        .parse::<Provider>()
        .map_err(|_| ssr::field("provider", "choose Stripe or Razorpay"))?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::online::disconnect(&mut tx, provider).await?;
    w.finish(tx, "billing.payments_disconnected", Some(provider.as_str()))
        .await
}

#[server(prefix = "/api", endpoint = "save_billing_settings")]
pub async fn save_billing_settings(
    regime: String,
    tax_id: Option<String>,
    state: Option<String>,
    invoice_prefix: String,
    credit_prefix: String,
    receipt_prefix: String,
    refund_prefix: String,
    fy_start_month: String,
    discount_reason_above: String,
) -> Result<(), AppError> {
    use crate::forms::input::number;
    use ssr::{field, optional};
    let w = crate::patients::api::ssr::writer()?;
    let regime = regime
        .trim()
        .parse::<super::Regime>()
        .map_err(|_| field("regime", "choose how the clinic charges tax"))?;
    let tax_id = optional("tax_id", tax_id, 20)?;
    let state = optional("state", state, 40)?;
    if regime == super::Regime::IndiaGst && state.is_none() {
        return Err(field(
            "state",
            "give the clinic's state: GST depends on where the patient is",
        ));
    }
    let prefix = |name: &str, value: String| {
        let value = value.trim().to_owned();
        if super::numbering::valid_prefix(&value) {
            Ok(value)
        } else {
            Err(field(name, "use 1 to 6 letters, digits, - or /"))
        }
    };
    let settings = BillingSettings {
        regime,
        tax_id,
        state,
        invoice_prefix: prefix("invoice_prefix", invoice_prefix)?,
        credit_prefix: prefix("credit_prefix", credit_prefix)?,
        receipt_prefix: prefix("receipt_prefix", receipt_prefix)?,
        refund_prefix: prefix("refund_prefix", refund_prefix)?,
        fy_start_month: u32::try_from(number("fy_start_month", &fy_start_month, 0..=12)?)
            .unwrap_or(0),
        discount_reason_above_bp: ssr::rate("discount_reason_above", &discount_reason_above)?,
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::save_settings(&mut tx, &settings).await?;
    w.finish(tx, "billing.settings_changed", None).await
}

#[server(prefix = "/api", endpoint = "save_tax_category")]
pub async fn save_tax_category(
    code: String,
    name: String,
    rate: String,
    exempt: Option<String>,
) -> Result<(), AppError> {
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let code = code.trim().to_ascii_lowercase();
    if code.is_empty()
        || code.len() > 20
        || !code.starts_with(|c: char| c.is_ascii_lowercase())
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(field(
            "code",
            "use up to 20 lower-case letters, digits or _, starting with a letter",
        ));
    }
    let name = ssr::optional("name", Some(name), 60)?
        .filter(|n| n.chars().count() >= 2)
        .ok_or_else(|| field("name", "name the category (2 to 60 characters)"))?;
    let category = TaxCategory {
        code,
        name,
        rate_bp: ssr::rate("rate", &rate)?,
        exempt: ssr::checked(&exempt),
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::save_category(&mut tx, &category).await?;
    w.finish(tx, "billing.settings_changed", Some(&category.code))
        .await
}

#[server(prefix = "/api", endpoint = "save_service")]
pub async fn save_service(
    id: Option<Uuid>,
    code: String,
    name: String,
    kind: String,
    price: String,
    tax_category: String,
    active: Option<String>,
) -> Result<Uuid, AppError> {
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let currency = w.tenant.settings.currency.clone();
    let code = ssr::optional("code", Some(code), 20)?
        .ok_or_else(|| field("code", "give the service a short code"))?;
    let name = ssr::optional("name", Some(name), 120)?
        .filter(|n| n.chars().count() >= 2)
        .ok_or_else(|| field("name", "name the service (2 to 120 characters)"))?;
    let kind = match kind.trim() {
        k @ ("service" | "product") => k.to_owned(),
        _ => return Err(field("kind", "choose service or product")),
    };
    let price = ssr::amount("price", &price, &currency)?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let categories = super::db::categories(&mut tx).await?;
    if !categories.iter().any(|c| c.code == tax_category) {
        return Err(field("tax_category", "choose a tax category from the list"));
    }
    let billed_visits = match id {
        Some(id) => super::db::visit_types_billed_as(&mut tx, id).await?,
        None => 0,
    };
    if billed_visits > 0 && price > crate::scheduling::MAX_VISIT_PRICE_MINOR {
        return Err(field(
            "price",
            "visit types are billed as this service, and a visit may cost at most 1,000,000",
        ));
    }
    let id = super::db::save_service(
        &mut tx,
        id,
        &super::db::ServiceInput {
            code: &code,
            name: &name,
            kind: &kind,
            price_minor: price,
            currency: &currency,
            tax_category: &tax_category,
            active: id.is_none() || ssr::checked(&active),
        },
    )
    .await?;
    // A visit type billed as this service costs what it costs.
    super::db::follow_service_price(&mut tx, id, price).await?;
    w.finish(tx, "service.saved", Some(&id.to_string())).await?;
    Ok(id)
}

/// Starts an invoice for a patient, from a visit when one is given (its
/// visit type becomes the first line, as clinical care), and opens it.
#[server(prefix = "/api", endpoint = "draft_invoice")]
pub async fn draft_invoice(
    patient_id: Uuid,
    appointment_id: Option<Uuid>,
    place_of_supply: Option<String>,
) -> Result<String, AppError> {
    use super::db;
    let w = crate::patients::api::ssr::writer()?;
    let place = ssr::optional("place_of_supply", place_of_supply, 40)?;
    let mut tx = w.open(patient_id).await?;
    let settings = db::settings(&mut tx).await?;
    db::ensure_default_categories(&mut tx, settings.regime).await?;
    let inter_state = match (&settings.state, &place) {
        (Some(home), Some(there)) => !home.trim().eq_ignore_ascii_case(there.trim()),
        _ => false,
    };
    let visit = match appointment_id {
        Some(a) => Some(
            crate::scheduling::db::appointment(&mut tx, a)
                .await?
                .filter(|v| v.patient_id == patient_id)
                .ok_or_else(|| AppError::NotFound.respond())?,
        ),
        None => None,
    };
    let id = db::create_draft(
        &mut tx,
        &db::NewDraft {
            patient: patient_id,
            appointment: appointment_id,
            currency: &w.tenant.settings.currency,
            regime: settings.regime,
            place_of_supply: place.as_deref().or(settings.state.as_deref()),
            inter_state,
            notes: None,
            created_by: w.staff_id,
        },
    )
    .await?;
    if let Some(visit) = visit {
        visit_line(&mut tx, id, visit.type_id).await?;
    }
    w.audit(
        &mut tx,
        patient_id,
        "invoice.drafted",
        Some(&id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(crate::forms::landing(ssr::invoice_href(id)))
}

/// The first line of an invoice drafted from a visit: the catalog service its
/// visit type is billed as (while that service is sold), otherwise the type's
/// own name and price as clinical care.
#[cfg(feature = "ssr")]
async fn visit_line(
    tx: &mut crate::db::TenantTx,
    invoice: Uuid,
    type_id: Uuid,
) -> Result<(), AppError> {
    use super::db;
    let kind = crate::scheduling::db::appointment_type(tx, type_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let service = match kind.service_id {
        Some(s) => db::service(tx, s).await?.filter(|s| s.active),
        None => None,
    };
    let category_code = service
        .as_ref()
        .map_or("health", |s| s.tax_category.as_str());
    let category = db::categories(tx)
        .await?
        .into_iter()
        .find(|c| c.code == category_code)
        .ok_or(AppError::Internal)?;
    db::add_line(
        tx,
        invoice,
        &db::NewLine {
            service: service.as_ref().map(|s| s.id),
            description: service.as_ref().map_or(&kind.name, |s| &s.name),
            tax_category: &category.code,
            quantity: 1,
            unit_price: service.as_ref().map_or(kind.price_minor, |s| s.price_minor),
            line_discount: 0,
            rate_bp: category.rate_bp,
            exempt: category.exempt,
        },
    )
    .await?;
    Ok(())
}

/// Adds a line to a draft: a catalog service (its price and tax category
/// unless changed) or free text.
#[server(prefix = "/api", endpoint = "add_invoice_line")]
pub async fn add_invoice_line(
    invoice_id: Uuid,
    service_id: Option<String>,
    description: Option<String>,
    quantity: String,
    unit_price: Option<String>,
    discount: Option<String>,
    discount_reason: Option<String>,
    tax_category: Option<String>,
) -> Result<(), AppError> {
    use super::db;
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let currency = invoice.currency.clone();
    let service = match service_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            let id: Uuid = s
                .parse()
                .map_err(|_| field("service_id", "choose a service from the list"))?;
            Some(
                db::service(&mut tx, id)
                    .await?
                    .filter(|s| s.active)
                    .ok_or_else(|| field("service_id", "choose a service from the list"))?,
            )
        }
        None => None,
    };
    let description = ssr::optional("description", description, 200)?
        .or_else(|| service.as_ref().map(|s| s.name.clone()))
        .ok_or_else(|| field("description", "choose a service or describe the line"))?;
    let quantity = crate::forms::input::number("quantity", &quantity, 1..=100_000)?;
    let unit_price = match unit_price
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => ssr::amount("unit_price", p, &currency)?,
        None => service
            .as_ref()
            .map(|s| s.price_minor)
            .ok_or_else(|| field("unit_price", "give the price"))?,
    };
    let discount = match discount.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => ssr::amount("discount", d, &currency)?,
        None => 0,
    };
    let gross = quantity
        .checked_mul(unit_price)
        .filter(|g| *g <= super::tax::MAX_AMOUNT)
        .ok_or_else(|| field("quantity", "that line is too large"))?;
    if discount > gross {
        return Err(field("discount", "the discount is more than the line"));
    }
    let reason = ssr::optional("discount_reason", discount_reason, 300)?;
    let settings = db::settings(&mut tx).await?;
    ssr::check_discount(
        &w,
        "discount",
        discount,
        gross,
        settings.discount_reason_above_bp,
        reason.as_deref(),
    )?;
    let code = tax_category
        .filter(|c| !c.trim().is_empty())
        .or_else(|| service.as_ref().map(|s| s.tax_category.clone()))
        .unwrap_or_else(|| "health".into());
    let category = db::categories(&mut tx)
        .await?
        .into_iter()
        .find(|c| c.code == code)
        .ok_or_else(|| field("tax_category", "choose a tax category from the list"))?;
    if invoice.status != super::InvoiceStatus::Draft {
        return Err(AppError::Invalid(
            "this invoice is issued and cannot change; issue a credit note".into(),
        ));
    }
    db::add_line(
        &mut tx,
        invoice_id,
        &db::NewLine {
            service: service.as_ref().map(|s| s.id),
            description: &description,
            tax_category: &category.code,
            quantity,
            unit_price,
            line_discount: discount,
            rate_bp: category.rate_bp,
            exempt: category.exempt,
        },
    )
    .await?;
    let detail = reason.map_or_else(|| invoice_id.to_string(), |r| format!("{invoice_id}: {r}"));
    w.audit(
        &mut tx,
        invoice.patient_id,
        "invoice.changed",
        Some(&detail),
    )
    .await?;
    tx.commit().await?;
    crate::forms::lands_on(&ssr::invoice_href(invoice_id));
    Ok(())
}

#[server(prefix = "/api", endpoint = "remove_invoice_line")]
pub async fn remove_invoice_line(invoice_id: Uuid, line_id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    super::db::remove_line(&mut tx, invoice_id, line_id).await?;
    ssr::changed(&w, tx, invoice.patient_id, "invoice.changed", invoice_id).await
}

/// A discount on the whole invoice, shared among its lines before tax.
#[server(prefix = "/api", endpoint = "set_invoice_discount")]
pub async fn set_invoice_discount(
    invoice_id: Uuid,
    amount: String,
    reason: Option<String>,
) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let amount = match amount.trim() {
        "" => 0,
        a => ssr::amount("amount", a, &invoice.currency)?,
    };
    let reason = ssr::optional("reason", reason, 300)?;
    let base: i64 = invoice
        .lines
        .iter()
        .map(|l| l.tax.gross - l.line_discount)
        .sum();
    if amount > base {
        return Err(ssr::field(
            "amount",
            "the discount is more than the invoice",
        ));
    }
    let settings = super::db::settings(&mut tx).await?;
    ssr::check_discount(
        &w,
        "amount",
        amount,
        base,
        settings.discount_reason_above_bp,
        reason.as_deref(),
    )?;
    super::db::set_invoice_discount(&mut tx, invoice_id, amount, reason.as_deref()).await?;
    ssr::changed(&w, tx, invoice.patient_id, "invoice.changed", invoice_id).await
}

#[server(prefix = "/api", endpoint = "delete_draft_invoice")]
pub async fn delete_draft_invoice(invoice_id: Uuid) -> Result<String, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    if invoice.status != super::InvoiceStatus::Draft {
        return Err(AppError::Invalid(
            "an issued invoice is never deleted; issue a credit note".into(),
        ));
    }
    super::db::delete_draft(&mut tx, invoice_id).await?;
    w.audit(
        &mut tx,
        invoice.patient_id,
        "invoice.deleted",
        Some(&invoice_id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(crate::forms::landing(
        crate::site::current_site().href("/staff/billing"),
    ))
}

/// Issues a draft: its number, its tax for good, and no more changes.
#[server(prefix = "/api", endpoint = "issue_invoice")]
pub async fn issue_invoice(invoice_id: Uuid) -> Result<String, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let settings = super::db::settings(&mut tx).await?;
    let issued =
        super::db::issue(&mut tx, invoice_id, w.staff_id, ssr::today(&w), &settings).await?;
    let number = issued.number.clone().unwrap_or_default();
    w.audit(&mut tx, invoice.patient_id, "invoice.issued", Some(&number))
        .await?;
    tx.commit().await?;
    crate::forms::lands_on(&ssr::invoice_href(invoice_id));
    Ok(number)
}

/// Emails the patient that an issued invoice or credit note is waiting in
/// their portal. The message names the clinic, the kind of document and its
/// number, never what was treated: the document itself stays behind the
/// portal's sign-in. Audited as `invoice.emailed`.
#[server(prefix = "/api", endpoint = "email_invoice")]
pub async fn email_invoice(invoice_id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let number = match (&invoice.status, &invoice.number) {
        (super::InvoiceStatus::Issued, Some(number)) => number.clone(),
        _ => return Err(AppError::Invalid("a draft is not sent; issue it first".into()).respond()),
    };
    let kind = match invoice.kind {
        super::DocumentKind::Invoice => "invoice",
        super::DocumentKind::CreditNote => "credit note",
    };
    ssr::tell_the_patient(
        &w,
        &mut tx,
        invoice.patient_id,
        kind,
        &number,
        "invoice.emailed",
    )
    .await?;
    tx.commit().await?;
    crate::forms::lands_on(&ssr::invoice_href(invoice_id));
    Ok(())
}

/// Emails the patient that the receipt for a payment (or refund) is waiting
/// in their portal; like [`email_invoice`], without amounts or treatments.
/// `back_to` is the invoice page the desk sent it from. Audited as
/// `receipt.emailed`.
#[server(prefix = "/api", endpoint = "email_receipt")]
pub async fn email_receipt(payment_id: Uuid, back_to: Option<Uuid>) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let payment = super::db::payment(&mut tx, payment_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    crate::patients::api::ssr::ensure_visible(&mut tx, &w.viewer, payment.patient_id).await?;
    let kind = if payment.refund {
        "refund receipt"
    } else {
        "receipt"
    };
    ssr::tell_the_patient(
        &w,
        &mut tx,
        payment.patient_id,
        kind,
        &payment.number,
        "receipt.emailed",
    )
    .await?;
    tx.commit().await?;
    if let Some(invoice) = back_to {
        crate::forms::lands_on(&ssr::invoice_href(invoice));
    }
    Ok(())
}

/// An invoice with the patient's payments and dues. Audited: it names the
/// patient and what they were treated for.
#[server(prefix = "/api", endpoint = "invoice_page")]
pub async fn invoice_page(invoice_id: Uuid) -> Result<InvoicePageView, AppError> {
    use crate::identity::permissions::Permission;
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let credit_notes: Vec<InvoiceView> =
        super::db::invoices(&mut tx, Some(invoice.patient_id), 500)
            .await?
            .into_iter()
            .filter(|c| c.credit_for == Some(invoice_id))
            .collect();
    let payments = super::db::payments_of(&mut tx, invoice.patient_id).await?;
    let dues = super::db::dues(
        &mut tx,
        invoice.patient_id,
        ssr::today(&w),
        w.tenant.settings.tz(),
        &w.tenant.settings.currency,
    )
    .await?;
    let services = super::db::services(&mut tx)
        .await?
        .into_iter()
        .filter(|s| s.active)
        .collect();
    let categories = super::db::categories(&mut tx).await?;
    let settings = super::db::settings(&mut tx).await?;
    w.audit(
        &mut tx,
        invoice.patient_id,
        "invoice.viewed",
        Some(&invoice_id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(InvoicePageView {
        invoice,
        credit_notes,
        payments,
        dues,
        services,
        categories,
        can_manage: w.viewer.can(Permission::BillingManage),
        settings,
    })
}

/// A patient's invoices, payments and dues. Audited.
#[server(prefix = "/api", endpoint = "patient_billing")]
pub async fn patient_billing(patient_id: Uuid) -> Result<PatientBillingView, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let mut tx = w.open(patient_id).await?;
    let (invoices, payments) = super::db::person_documents(&mut tx, patient_id).await?;
    let dues = ssr::dues(&w, &mut tx, patient_id).await?;
    w.audit(&mut tx, patient_id, "billing.viewed", None).await?;
    tx.commit().await?;
    Ok(PatientBillingView {
        invoices,
        payments,
        dues,
    })
}

/// What a patient owes, by age, and the credit held: for the chart's header
/// and check-in (the chart's own opening is what is audited).
#[server(prefix = "/api", endpoint = "patient_dues")]
pub async fn patient_dues(patient_id: Uuid) -> Result<Dues, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let mut tx = w.open(patient_id).await?;
    let dues = ssr::dues(&w, &mut tx, patient_id).await?;
    tx.commit().await?;
    Ok(dues)
}

/// Money received at the desk: a receipt, put against the invoice (up to
/// what it still owes); anything more is the patient's credit.
#[server(prefix = "/api", endpoint = "take_payment")]
pub async fn take_payment(
    invoice_id: Uuid,
    method: String,
    amount: String,
    reference: Option<String>,
) -> Result<String, AppError> {
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let method = method
        .trim()
        .parse::<PaymentMethod>()
        .ok()
        .filter(|m| PaymentMethod::AT_THE_DESK.contains(m))
        .ok_or_else(|| field("method", "choose how the patient paid"))?;
    let amount = ssr::amount("amount", &amount, &invoice.currency)?;
    if amount == 0 {
        return Err(field("amount", "give the amount received"));
    }
    let reference = ssr::optional("reference", reference, 100)?;
    if invoice.status != super::InvoiceStatus::Issued
        || invoice.kind != super::DocumentKind::Invoice
    {
        return Err(AppError::Invalid(
            "issue the invoice before taking payment for it".into(),
        ));
    }
    let settings = super::db::settings(&mut tx).await?;
    let put = amount.min(invoice.outstanding);
    let (_, number) = super::db::record_payment(
        &mut tx,
        &super::db::NewPayment {
            patient: invoice.patient_id,
            method,
            amount,
            currency: &invoice.currency,
            reference: reference.as_deref(),
            by: Some(w.staff_id),
            day: ssr::today(&w),
        },
        &[(invoice_id, put)],
        &settings,
    )
    .await?;
    w.audit(
        &mut tx,
        invoice.patient_id,
        "payment.recorded",
        Some(&number),
    )
    .await?;
    tx.commit().await?;
    crate::forms::lands_on(&ssr::invoice_href(invoice_id));
    Ok(number)
}

/// Puts the patient's credit against what the invoice still owes.
#[server(prefix = "/api", endpoint = "apply_patient_credit")]
pub async fn apply_patient_credit(invoice_id: Uuid) -> Result<(), AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let credit = super::db::credit_of(&mut tx, invoice.patient_id).await?;
    let amount = credit.min(invoice.outstanding);
    if amount <= 0 {
        return Err(AppError::Invalid(
            "there is no credit to apply, or nothing is owed".into(),
        ));
    }
    super::db::apply_credit(&mut tx, invoice.patient_id, invoice_id, amount, w.staff_id).await?;
    ssr::changed(
        &w,
        tx,
        invoice.patient_id,
        "payment.credit_applied",
        invoice_id,
    )
    .await
}

/// A credit note for the ticked lines (`lines[l<uuid>]`) of an issued invoice.
#[server(prefix = "/api", endpoint = "credit_invoice")]
pub async fn credit_invoice(
    invoice_id: Uuid,
    reason: String,
    lines: Option<HashMap<String, String>>,
) -> Result<String, AppError> {
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let reason = ssr::optional("reason", Some(reason), 300)?
        .filter(|r| r.chars().count() >= 3)
        .ok_or_else(|| field("reason", "say why the invoice is corrected"))?;
    let chosen: Vec<Uuid> = lines
        .unwrap_or_default()
        .keys()
        .filter_map(|k| k.strip_prefix('l').and_then(|id| id.parse().ok()))
        .collect();
    if chosen.is_empty() {
        return Err(field("lines", "tick the lines to credit"));
    }
    let (mut tx, invoice) = ssr::open_invoice(&w, invoice_id).await?;
    let settings = super::db::settings(&mut tx).await?;
    let note = super::db::credit_note(
        &mut tx,
        invoice_id,
        &chosen,
        &reason,
        w.staff_id,
        ssr::today(&w),
        &settings,
    )
    .await?;
    let number = note.number.clone().unwrap_or_default();
    w.audit(
        &mut tx,
        invoice.patient_id,
        "credit_note.issued",
        Some(&number),
    )
    .await?;
    tx.commit().await?;
    crate::forms::lands_on(&ssr::invoice_href(invoice_id));
    Ok(number)
}

/// Gives money back against a credit note, recording how it went back.
#[server(prefix = "/api", endpoint = "refund_credit_note")]
pub async fn refund_credit_note(
    credit_note_id: Uuid,
    method: String,
    amount: String,
    reference: Option<String>,
) -> Result<String, AppError> {
    use ssr::field;
    let w = crate::patients::api::ssr::writer()?;
    let (mut tx, note) = ssr::open_invoice(&w, credit_note_id).await?;
    if note.kind != super::DocumentKind::CreditNote {
        return Err(AppError::Invalid(
            "refunds are made against a credit note".into(),
        ));
    }
    let method = method
        .trim()
        .parse::<PaymentMethod>()
        .ok()
        .filter(|m| PaymentMethod::AT_THE_DESK.contains(m) || *m == PaymentMethod::Online)
        .ok_or_else(|| field("method", "choose how the money goes back"))?;
    let amount = ssr::amount("amount", &amount, &note.currency)?;
    if amount == 0 {
        return Err(field("amount", "give the amount refunded"));
    }
    let mut reference = ssr::optional("reference", reference, 100)?;
    let settings = super::db::settings(&mut tx).await?;
    let day = ssr::today(&w);
    let by = (w.staff_id, day);
    if method == PaymentMethod::Online {
        // Back through the provider that took it: the database's rules are
        // tried first (and undone), then the provider refunds, then it is kept.
        let original = note.credit_for.ok_or(AppError::NotFound)?;
        let paid = super::online::paid_online(&mut tx, original)
            .await?
            .ok_or_else(|| field("method", "this invoice was not paid online"))?;
        let name = super::online::refund_reference(
            credit_note_id,
            super::db::refunded_against(&mut tx, credit_note_id).await?,
            amount,
        );
        let trial = format!("trial-{}", Uuid::now_v7());
        super::db::refund(
            &mut tx,
            credit_note_id,
            &ssr::refund_of(&note, method, amount, by, Some(&trial)),
            &settings,
        )
        .await?;
        drop(tx);
        let gateways = use_context::<crate::payments::Gateways>().ok_or(AppError::Internal)?;
        let given_back = super::online::refund_through_provider(&gateways, &paid, amount, &name)
            .await
            .map_err(AppError::Invalid)?;
        reference = Some(given_back);
        let db = crate::identity::auth::db()?;
        tx = db.begin_for(w.tenant.id).await?;
    }
    let (_, number) = super::db::refund(
        &mut tx,
        credit_note_id,
        &ssr::refund_of(&note, method, amount, by, reference.as_deref()),
        &settings,
    )
    .await
    .inspect_err(|e| {
        if method == PaymentMethod::Online {
            tracing::error!(error = %e, "the provider refunded but the refund could not be recorded: record it by hand");
        }
    })?;
    w.audit(&mut tx, note.patient_id, "refund.recorded", Some(&number))
        .await?;
    tx.commit().await?;
    if let Some(original) = note.credit_for {
        crate::forms::lands_on(&ssr::invoice_href(original));
    }
    Ok(number)
}

/// The clinic's latest invoices and credit notes.
#[server(prefix = "/api", endpoint = "recent_invoices")]
pub async fn recent_invoices() -> Result<Vec<InvoiceView>, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let mut list = super::db::invoices(&mut tx, None, 100).await?;
    // A doctor limited to their own patients sees only theirs.
    if let Some(staff) = crate::patients::api::ssr::own_patients_of(&mut tx, &w.viewer).await? {
        let mut own = Vec::new();
        for i in list {
            if crate::patients::db::is_own_patient(&mut tx, staff, i.patient_id).await? {
                own.push(i);
            }
        }
        list = own;
    }
    tx.commit().await?;
    Ok(list)
}

/// A day's takings per method and per member of staff (YYYY-MM-DD; today
/// when empty).
#[server(prefix = "/api", endpoint = "collections_report")]
pub async fn collections_report(date: Option<String>) -> Result<Collections, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let day = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => crate::forms::input::date("date", d)?,
        None => ssr::today(&w),
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    let report = super::db::collections(
        &mut tx,
        day,
        w.tenant.settings.tz(),
        &w.tenant.settings.currency,
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

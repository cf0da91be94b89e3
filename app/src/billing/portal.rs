//! `/portal/bills`: the patient's invoices, receipts and balance, and paying
//! what is owed online through the clinic's provider. A page (and a chunk) of
//! its own, so the portal's home stays light.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::payments::Provider;

/// One of the patient's invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnInvoice {
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub issued: String,
    pub total: String,
    pub credited: Option<String>,
    pub paid: String,
    pub due: String,
    pub owed: bool,
    /// A payment page still open for it (for a second try, or without JavaScript).
    pub open_page: Option<String>,
}

/// A payment or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnReceipt {
    pub id: Uuid,
    pub number: String,
    pub date: String,
    pub amount: String,
    pub how: String,
    pub refund: bool,
}

/// Where a payment the patient just made stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// The provider has not confirmed it yet.
    Waiting,
    Paid,
    /// Not completed (cancelled, failed, expired).
    NotCompleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnBills {
    pub owed: String,
    pub credit: Option<String>,
    pub invoices: Vec<OwnInvoice>,
    pub receipts: Vec<OwnReceipt>,
    /// Providers the clinic takes online payments through.
    pub providers: Vec<Provider>,
    /// The payment the patient came back from, by its page's id.
    pub pending: Option<Pending>,
}

/// The signed-in patient's bills. `checkout` is the payment page the
/// patient's browser came back from (it proves nothing; only its status is read).
#[server(prefix = "/api", endpoint = "my_bills")]
pub async fn my_bills(checkout: Option<Uuid>) -> Result<OwnBills, AppError> {
    use crate::money::format_amount;
    let (tenant, patient, _) = crate::clinical::portal::ssr::own_patient()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let tz = tenant.settings.tz();
    let today = crate::patients::api::ssr::clinic_today(&tenant);
    let currency = tenant.settings.currency.clone();
    // Bills of a duplicate record merged into the patient's are theirs too.
    let dues = super::db::person_dues(&mut tx, patient, today, tz, &currency).await?;
    let (documents, payments) = super::db::person_documents(&mut tx, patient).await?;
    let providers = super::online::connected(&mut tx).await?;
    let pages: Vec<(Uuid, String)> = tx
        .fetch_all(
            &format!(
                "SELECT invoice_id, page_url FROM online_checkouts WHERE tenant_id = $1 \
                 AND patient_id IN {} AND status = 'open' AND expires_at > $3 ORDER BY created_at",
                crate::patients::merge::db::RECORD_OF
            ),
            &[patient.into(), chrono::Utc::now().into()],
        )
        .await?;
    let pending = match checkout {
        None => None,
        Some(id) => {
            let status: Option<(String,)> = tx
                .fetch_optional(
                    &format!(
                        "SELECT status FROM online_checkouts WHERE tenant_id = $1 AND id = $3 \
                         AND patient_id IN {}",
                        crate::patients::merge::db::RECORD_OF
                    ),
                    &[patient.into(), id.into()],
                )
                .await?;
            status.map(|(s,)| match s.as_str() {
                "paid" => Pending::Paid,
                "closed" => Pending::NotCompleted,
                _ => Pending::Waiting,
            })
        }
    };
    tx.commit().await?;
    let money =
        |minor: i64, currency: &str| format!("{} {currency}", format_amount(minor, currency));
    let invoices = documents
        .into_iter()
        .filter(|i| {
            i.kind == super::DocumentKind::Invoice && i.status == super::InvoiceStatus::Issued
        })
        .map(|i| OwnInvoice {
            id: i.id,
            number: i.number.clone().unwrap_or_default(),
            title: i.title.clone(),
            issued: i
                .issued_at
                .map(|at| tenant.settings.format_datetime(at))
                .unwrap_or_default(),
            total: money(i.total, &i.currency),
            credited: (i.credited > 0).then(|| money(i.credited, &i.currency)),
            paid: money(i.paid, &i.currency),
            due: money(i.outstanding, &i.currency),
            owed: i.outstanding > 0,
            open_page: pages
                .iter()
                .rev()
                .find(|(invoice, _)| *invoice == i.id)
                .map(|(_, url)| url.clone()),
        })
        .collect();
    let receipts = payments
        .into_iter()
        .map(|p| OwnReceipt {
            id: p.id,
            number: p.number,
            date: tenant.settings.format_datetime(p.received_at),
            amount: money(p.amount, &p.currency),
            how: p.method.label().to_owned(),
            refund: p.refund,
        })
        .collect();
    Ok(OwnBills {
        owed: money(dues.outstanding, &currency),
        credit: (dues.credit > 0).then(|| money(dues.credit, &currency)),
        invoices,
        receipts,
        providers,
        pending,
    })
}

/// Opens the provider's payment page for what is owed on one of the patient's
/// invoices; its address. The payment is recorded when the provider confirms it.
#[server(prefix = "/api", endpoint = "pay_online")]
pub async fn pay_online(invoice_id: Uuid, provider: String) -> Result<String, AppError> {
    use super::online::{open_page, OpenError, OpenRequest};
    let (tenant, patient, account) = crate::clinical::portal::ssr::own_patient()?;
    let provider = provider
        .trim()
        .parse::<Provider>()
        .map_err(|_| AppError::Invalid("choose how to pay".into()))?;
    let gateways = use_context::<crate::payments::Gateways>().ok_or(AppError::Internal)?;
    let db = crate::identity::auth::db()?;
    let meta = crate::identity::auth::request_meta();
    let bills = crate::site::current_site().href("/portal/bills");
    let return_to = format!("{}{bills}", meta.origin);
    let url = open_page(
        &db,
        &gateways,
        &OpenRequest {
            tenant: tenant.id,
            invoice: invoice_id,
            patient,
            provider,
            return_to: &return_to,
            now: chrono::Utc::now(),
        },
    )
    .await
    .map_err(|e| match e {
        OpenError::Refused(message) => AppError::Invalid(message),
        OpenError::Db(e) => AppError::from(e),
    })?;
    let mut tx = db.begin_for(tenant.id).await?;
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor {
            id: Some(account),
            email: None,
        },
        None,
        patient,
        "payment.page_opened",
        Some(provider.as_str()),
        &meta,
    )
    .await?;
    tx.commit().await?;
    // Without JavaScript the bills page offers the open page as a link.
    crate::forms::lands_on(&bills);
    Ok(url)
}

const PANEL: &str = "mt-4 rounded-lg border border-slate-200 bg-white p-4";

#[component]
pub fn OwnBillsPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let checkout = move || {
        query
            .with(|q| q.get("checkout"))
            .and_then(|c| c.parse::<Uuid>().ok())
    };
    let bills = Resource::new(checkout, my_bills);
    view! {
        <crate::shell::PageTitle text="Your bills"/>
        <crate::identity::pages::SignedInShell testid="portal-bills">
            <h1 class="text-xl font-semibold">"Bills and payments"</h1>
            <crate::forms::PlainFormError path="/api/pay_online"/>
            <Suspense fallback=|| view! { <p>"Loading your bills…"</p> }>
                {move || bills.get().map(|b| match b {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(b) => view! { <Bills b refetch=move || bills.refetch()/> }.into_any(),
                })}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
}

#[component]
fn Bills(b: OwnBills, refetch: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    if b.pending == Some(Pending::Waiting) {
        // The provider's confirmation usually follows within seconds.
        #[cfg(feature = "hydrate")]
        set_timeout(refetch, std::time::Duration::from_secs(3));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = refetch;
    let pending = b.pending.map(|p| {
        let (text, class) = match p {
            Pending::Waiting => (
                "Waiting for the payment provider to confirm your payment.",
                "text-amber-800",
            ),
            Pending::Paid => ("Thank you: your payment was received.", "text-green-800"),
            Pending::NotCompleted => (
                "The payment was not completed.",
                "text-red-800",
            ),
        };
        view! { <p role="status" class=format!("mt-2 font-medium {class}") data-testid="payment-status">{text}</p> }
    });
    view! {
        {pending}
        <p class="mt-2" data-testid="my-balance">"You owe: "<span class="font-semibold">{b.owed}</span>
            {b.credit.map(|c| view! { <span class="ml-2 text-sm text-slate-600">{format!("(credit: {c})")}</span> })}
        </p>
        <section class=PANEL>
            <h2 class="font-semibold">"Invoices"</h2>
            {b.invoices.is_empty().then(|| view! { <p class="text-sm text-slate-600">"No invoices."</p> })}
            <ul class="mt-2 space-y-3 text-sm" data-testid="my-invoices">
                {b.invoices.into_iter().map(|i| view! { <InvoiceEntry i providers=b.providers.clone()/> }).collect_view()}
            </ul>
        </section>
        <section class=PANEL>
            <h2 class="font-semibold">"Receipts"</h2>
            {b.receipts.is_empty().then(|| view! { <p class="text-sm text-slate-600">"No payments yet."</p> })}
            <ul class="mt-2 space-y-1 text-sm" data-testid="my-receipts">
                {b.receipts.into_iter().map(|r| view! {
                    <li data-testid="my-receipt">{format!("{} · {} · {}{} · {} · ", r.number, r.date, if r.refund { "refund " } else { "" }, r.amount, r.how)}
                        <a class="text-brand underline" href=pdf_href("receipts", r.id) aria-label=format!("{} as PDF", r.number) data-testid="receipt-pdf">"PDF"</a>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The document's or receipt's PDF (`/billing/{area}/{id}/pdf`), which the
/// server gives the patient it is for, and audits.
fn pdf_href(area: &str, id: Uuid) -> String {
    crate::site::current_site().href(&format!("/billing/{area}/{id}/pdf"))
}

#[component]
fn InvoiceEntry(i: OwnInvoice, providers: Vec<Provider>) -> impl IntoView {
    let pay = ServerAction::<PayOnline>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = pay.value().get() {
            crate::identity::pages::go(&url);
        }
    });
    let error = move || pay.value().get().and_then(Result::err).map(|e| e.message());
    let id = i.id.to_string();
    let payable = i.owed && !providers.is_empty();
    let due = i.due.clone();
    let buttons = providers
        .into_iter()
        .map(|p| {
            let (id, label) = (id.clone(), format!("Pay {due} online ({})", p.label()));
            view! {
                <ActionForm action=pay>
                    <input type="hidden" name="invoice_id" value=id/>
                    <input type="hidden" name="provider" value=p.as_str()/>
                    <button type="submit" class="rounded bg-brand px-3 py-1 font-semibold text-on-brand"
                        data-testid=format!("pay-{}", p.as_str())>{label}</button>
                </ActionForm>
            }
        })
        .collect_view();
    view! {
        <li data-testid="my-invoice" data-number=i.number.clone() data-owed=i.owed.to_string()>
            <p class="font-medium">{format!("{} · {}", i.number, i.title)}</p>
            <p class="text-slate-600">{format!("Issued {} · total {}", i.issued, i.total)}
                {i.credited.map(|c| format!(" · credited {c}"))}
                {format!(" · paid {} · ", i.paid)}
                <a class="text-brand underline" href=pdf_href("documents", i.id) aria-label=format!("{} as PDF", i.number) data-testid="invoice-pdf">"PDF"</a>
            </p>
            <p data-testid="invoice-due">{if i.owed { format!("Still to pay: {}", i.due) } else { "Paid in full".to_owned() }}</p>
            {payable.then(move || view! {
                <div class="mt-1 flex flex-wrap gap-2">
                    {buttons}
                </div>
                <p role="alert" class="text-red-700">{error}</p>
            })}
            {i.open_page.filter(|_| i.owed).map(|url| view! {
                <p><a class="text-brand underline" href=url data-testid="continue-payment">"Continue to payment"</a></p>
            })}
        </li>
    }
}

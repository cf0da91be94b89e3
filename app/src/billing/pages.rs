//! `/staff/billing`: the clinic's invoices; `?invoice=<id>` one invoice (its
//! lines, tax, payments and corrections); `?view=collections&date=` the
//! day's takings; `?view=setup` tax, numbering and the catalog.
//!
//! Plain forms posted to the server functions: everything works before the
//! page's code has loaded, and a refusal comes back above the form with what
//! was typed. The area shares the front desk's lazily loaded chunk with the
//! calendar (docs/frontend.md).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use super::api::{
    billing_setup, collections_report, invoice_page, recent_invoices, BillingSetupView,
    InvoicePageView,
};
use super::{
    Collections, DocumentKind, InvoiceStatus, InvoiceView, LineView, PaymentMethod, TaxKind,
};
use crate::identity::pages::{BUTTON, INPUT};
use crate::money::format_amount;

/// The forms of the area, whose refusals come back above the page.
const FORMS: &[&str] = &[
    "/api/add_invoice_line",
    "/api/remove_invoice_line",
    "/api/set_invoice_discount",
    "/api/issue_invoice",
    "/api/delete_draft_invoice",
    "/api/take_payment",
    "/api/email_invoice",
    "/api/email_receipt",
    "/api/apply_patient_credit",
    "/api/credit_invoice",
    "/api/refund_credit_note",
    "/api/save_billing_settings",
    "/api/save_tax_category",
    "/api/save_service",
    "/api/connect_payments",
    "/api/disconnect_payments",
];

const SECTION: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-4";
const SMALL_BUTTON: &str = "rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100";

/// What a billing view loads: one type for every view of the area.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum BillingData {
    List(Vec<InvoiceView>),
    Invoice(Box<InvoicePageView>),
    Collections(Collections),
    Setup(BillingSetupView),
}

fn api(name: &str) -> String {
    crate::site::current_site().href(&format!("/api/{name}"))
}

fn href(query: &str) -> String {
    crate::site::current_site().href(&format!("/staff/billing{query}"))
}

/// A print or PDF address of the area (`/billing/...`).
fn print_href(rest: &str) -> String {
    crate::site::current_site().href(&format!("/billing/{rest}"))
}

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor, currency))
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k)).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || (param("invoice"), param("view"), param("date")),
        |(invoice, view, date)| async move {
            match (
                invoice.and_then(|i| i.parse::<Uuid>().ok()),
                view.as_deref(),
            ) {
                (Some(id), _) => invoice_page(id)
                    .await
                    .map(|p| BillingData::Invoice(Box::new(p))),
                (None, Some("collections")) => {
                    collections_report(date).await.map(BillingData::Collections)
                }
                (None, Some("setup")) => billing_setup().await.map(BillingData::Setup),
                _ => recent_invoices().await.map(BillingData::List),
            }
        },
    );
    view! {
        <crate::shell::PageTitle text="Billing"/>
        <crate::identity::pages::SignedInShell testid="billing-page">
            <div class="flex flex-wrap items-baseline gap-4 print:hidden">
                <h1 class="text-xl font-semibold">"Billing"</h1>
                <a class="underline" href=href("")>"Invoices"</a>
                <a class="underline" href=href("?view=collections")>"Day's collections"</a>
                <a class="underline" href=crate::site::current_site().href("/staff/revenue")>"Revenue"</a>
                <a class="underline" href=href("?view=setup")>"Tax and catalog"</a>
            </div>
            {FORMS.iter().map(|path| view! { <crate::forms::PlainFormError path/> }).collect_view()}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                        Ok(BillingData::List(list)) => view! { <InvoiceList list/> }.into_any(),
                        Ok(BillingData::Invoice(p)) => view! { <Invoice p=*p/> }.into_any(),
                        Ok(BillingData::Collections(c)) => view! { <CollectionsView c/> }.into_any(),
                        Ok(BillingData::Setup(s)) => view! { <Setup s/> }.into_any(),
                    }
                })}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
    .into_any()
}

fn status_label(i: &InvoiceView) -> String {
    match (i.kind, i.status) {
        (_, InvoiceStatus::Draft) => "Draft".into(),
        (DocumentKind::CreditNote, _) => "Credit note".into(),
        _ if i.outstanding == 0 && i.total == i.credited => "Credited".into(),
        _ if i.outstanding == 0 => "Paid".into(),
        _ if i.paid > 0 => "Part paid".into(),
        _ => "Unpaid".into(),
    }
}

#[component]
fn InvoiceList(list: Vec<InvoiceView>) -> impl IntoView {
    let empty = list.is_empty();
    view! {
        <section class=SECTION>
            <h2 class="font-semibold">"Latest invoices"</h2>
            <p class="text-sm text-slate-600">"Start an invoice from a finished visit on the calendar (its Invoice button)."</p>
            {empty.then(|| view! { <p class="mt-3" data-testid="no-invoices">"No invoices yet."</p> })}
            <table class="mt-3 w-full text-left text-sm" data-testid="invoice-list">
                <thead><tr><th>"Number"</th><th>"Patient"</th><th>"Date"</th><th class="text-right">"Total"</th><th class="text-right">"Owed"</th><th>"Status"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|i| {
                        let link = href(&format!("?invoice={}", i.id));
                        let date = i.issued_at.unwrap_or(i.created_at).format("%Y-%m-%d").to_string();
                        view! {
                            <tr class="border-t">
                                <td><a class="underline" href=link>{i.number.clone().unwrap_or_else(|| "Draft".into())}</a></td>
                                <td>{i.patient_name.clone()}</td>
                                <td>{date}</td>
                                <td class="text-right">{money(i.total, &i.currency)}</td>
                                <td class="text-right">{money(i.outstanding, &i.currency)}</td>
                                <td>{status_label(&i)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

fn hidden(name: &'static str, value: String) -> impl IntoView {
    view! { <input type="hidden" name=name value=value/> }
}

#[component]
fn Invoice(p: InvoicePageView) -> impl IntoView {
    let i = p.invoice.clone();
    let id = i.id.to_string();
    let c = i.currency.clone();
    let draft = i.status == InvoiceStatus::Draft;
    let issued_invoice = !draft && i.kind == DocumentKind::Invoice;
    let chart = crate::site::current_site().href(&format!("/staff/patients/{}", i.patient_id));
    let gst = i.regime == super::Regime::IndiaGst;
    let credited: Vec<Uuid> = p
        .credit_notes
        .iter()
        .flat_map(|n| n.lines.iter().filter_map(|l| l.credit_of_line))
        .collect();
    view! {
        <article class=SECTION data-testid="invoice">
            <header class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-lg font-semibold" data-testid="invoice-title">{i.title.clone()}</h2>
                <p data-testid="invoice-number">{i.number.clone().unwrap_or_else(|| "Draft (not numbered yet)".into())}</p>
            </header>
            <p class="text-sm">"Patient: "<a class="underline" href=chart>{i.patient_name.clone()}</a></p>
            {p.settings.tax_id.clone().map(|t| view! { <p class="text-sm">{if gst { "GSTIN: " } else { "Tax number: " }}{t}</p> })}
            {i.place_of_supply.clone().map(|s| view! { <p class="text-sm">"Place of supply: "{s}</p> })}
            // Each part erased to `AnyView`: the page as one static type is too
            // deep for the compiler's layout queries.
            {view! { <Lines lines=i.lines.clone() currency=c.clone() draft invoice_id=id.clone()/> }.into_any()}
            {view! { <Totals i=i.clone()/> }.into_any()}
            {draft.then(|| view! { <DraftForms p=p.clone()/> }.into_any())}
            {issued_invoice.then(|| view! { <PaymentForms p=p.clone()/> }.into_any())}
            {(issued_invoice && p.can_manage).then(|| view! { <CreditForm i=i.clone() credited=credited.clone()/> }.into_any())}
        </article>
        {(!p.credit_notes.is_empty()).then(|| view! { <CreditNotes p=p.clone()/> }.into_any())}
        {view! { <PatientMoney p/> }.into_any()}
    }
}

#[component]
fn Lines(lines: Vec<LineView>, currency: String, draft: bool, invoice_id: String) -> impl IntoView {
    let c = currency;
    view! {
        <table class="mt-3 w-full text-left text-sm" data-testid="invoice-lines">
            <thead><tr><th>"Item"</th><th class="text-right">"Qty"</th><th class="text-right">"Price"</th>
                <th class="text-right">"Discount"</th><th class="text-right">"Taxable"</th><th>"Tax"</th><th class="text-right">"Total"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
            <tbody>
                {lines.into_iter().map(|l| {
                    let t = l.tax;
                    let tax = match t.kind {
                        TaxKind::Exempt => "Exempt".to_owned(),
                        TaxKind::None => "—".to_owned(),
                        TaxKind::Vat => format!("VAT {} % {}", format_amount(t.rate_bp, "USD"), format_amount(t.tax, &c)),
                        TaxKind::CgstSgst => format!("CGST {} + SGST {}", format_amount(t.cgst, &c), format_amount(t.sgst, &c)),
                        TaxKind::Igst => format!("IGST {} % {}", format_amount(t.rate_bp, "USD"), format_amount(t.igst, &c)),
                    };
                    let remove = draft.then(|| view! {
                        <form method="post" action=api("remove_invoice_line")>
                            {hidden("invoice_id", invoice_id.clone())}
                            {hidden("line_id", l.id.to_string())}
                            <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                        </form>
                    });
                    view! {
                        <tr class="border-t" data-testid="invoice-line">
                            <td>{l.description.clone()}</td>
                            <td class="text-right">{l.quantity}</td>
                            <td class="text-right">{format_amount(l.unit_price, &c)}</td>
                            <td class="text-right">{format_amount(t.discount, &c)}</td>
                            <td class="text-right">{format_amount(t.taxable, &c)}</td>
                            <td data-testid="line-tax">{tax}</td>
                            <td class="text-right">{format_amount(t.total, &c)}</td>
                            <td class="print:hidden">{remove}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn total_row(
    label: &'static str,
    amount: i64,
    testid: &'static str,
    currency: &str,
    bold: bool,
) -> impl IntoView {
    let class = if bold {
        "flex justify-between gap-6 font-semibold"
    } else {
        "flex justify-between gap-6"
    };
    view! { <div class=class><dt>{label}</dt><dd data-testid=testid>{money(amount, currency)}</dd></div> }
}

#[component]
fn Totals(i: InvoiceView) -> impl IntoView {
    let c = i.currency.clone();
    let row = |label, amount, testid| total_row(label, amount, testid, &c, false);
    let strong = |label, amount, testid| total_row(label, amount, testid, &c, true);
    let gst = i.cgst + i.sgst + i.igst > 0;
    view! {
        <dl class="mt-3 ml-auto max-w-sm text-sm">
            {row("Amount", i.gross, "total-gross")}
            {(i.discount > 0).then(|| row("Discount", i.discount, "total-discount"))}
            {(i.cgst > 0).then(|| row("CGST", i.cgst, "total-cgst"))}
            {(i.sgst > 0).then(|| row("SGST", i.sgst, "total-sgst"))}
            {(i.igst > 0).then(|| row("IGST", i.igst, "total-igst"))}
            {(!gst && i.tax > 0).then(|| row("Tax", i.tax, "total-tax"))}
            {strong("Total", i.total, "total")}
            {(i.credited > 0).then(|| row("Credited", i.credited, "total-credited"))}
            {(i.paid > 0).then(|| row("Paid", i.paid, "total-paid"))}
            {(i.kind == DocumentKind::Invoice && i.status == InvoiceStatus::Issued)
                .then(|| strong("Owed", i.outstanding, "total-owed"))}
        </dl>
    }
}

#[component]
fn DraftForms(p: InvoicePageView) -> impl IntoView {
    let id = p.invoice.id.to_string();
    let kept = |f: &str| crate::forms::kept("/api/add_invoice_line", f);
    let threshold = format_amount(p.settings.discount_reason_above_bp, "USD");
    view! {
        <form method="post" action=api("add_invoice_line") class="mt-4 grid gap-2 border-t pt-3 md:grid-cols-3" data-testid="add-line">
            {hidden("invoice_id", id.clone())}
            <label class="text-sm">"Service"
                <select name="service_id" class=INPUT data-testid="line-service">
                    <option value="">"— type a line instead —"</option>
                    {p.services.iter().map(|s| view! {
                        <option value=s.id.to_string()>{format!("{} ({})", s.name, format_amount(s.price_minor, &s.currency))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Or describe it"
                <input name="description" maxlength="200" class=INPUT value=kept("description") data-testid="line-description"/>
            </label>
            <label class="text-sm">"Tax category"
                <select name="tax_category" class=INPUT data-testid="line-category">
                    <option value="">"— the service's —"</option>
                    {p.categories.iter().map(|c| view! { <option value=c.code.clone()>{c.name.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Quantity"
                <input name="quantity" inputmode="numeric" value="1" required class=INPUT data-testid="line-quantity"/>
            </label>
            <label class="text-sm">"Unit price (empty: the service's)"
                <input name="unit_price" inputmode="decimal" class=INPUT value=kept("unit_price") data-testid="line-price"/>
            </label>
            <label class="text-sm">"Discount"
                <input name="discount" inputmode="decimal" class=INPUT value=kept("discount")/>
            </label>
            <label class="text-sm md:col-span-2">{format!("Reason (for a discount above {threshold} %)")}
                <input name="discount_reason" maxlength="300" class=INPUT/>
            </label>
            <div class="flex items-end"><button type="submit" class=BUTTON data-testid="add-line-submit">"Add line"</button></div>
        </form>
        <form method="post" action=api("set_invoice_discount") class="mt-3 flex flex-wrap items-end gap-2">
            {hidden("invoice_id", id.clone())}
            <label class="text-sm">"Discount on the whole invoice"
                <input name="amount" inputmode="decimal" class=INPUT value=format_amount(p.invoice.invoice_discount, &p.invoice.currency)/>
            </label>
            <label class="text-sm">"Reason"
                <input name="reason" maxlength="300" class=INPUT value=p.invoice.discount_reason.clone().unwrap_or_default()/>
            </label>
            <button type="submit" class=SMALL_BUTTON>"Set discount"</button>
        </form>
        <div class="mt-4 flex flex-wrap gap-2">
            <form method="post" action=api("issue_invoice")>
                {hidden("invoice_id", id.clone())}
                <button type="submit" class=BUTTON data-testid="issue-invoice">"Issue invoice"</button>
            </form>
            <form method="post" action=api("delete_draft_invoice")>
                {hidden("invoice_id", id)}
                <button type="submit" class=SMALL_BUTTON>"Delete draft"</button>
            </form>
        </div>
    }
}

fn method_options() -> impl IntoView {
    PaymentMethod::AT_THE_DESK
        .iter()
        .map(|m| view! { <option value=m.as_str()>{m.label()}</option> })
        .collect_view()
}

#[component]
fn PaymentForms(p: InvoicePageView) -> impl IntoView {
    let i = &p.invoice;
    let id = i.id.to_string();
    let owed = format_amount(i.outstanding, &i.currency);
    let credit = (p.dues.credit > 0 && i.outstanding > 0).then(|| {
        let id = id.clone();
        let amount = money(p.dues.credit.min(i.outstanding), &i.currency);
        view! {
            <form method="post" action=api("apply_patient_credit")>
                {hidden("invoice_id", id)}
                <button type="submit" class=SMALL_BUTTON>{format!("Use the patient's credit ({amount})")}</button>
            </form>
        }
    });
    view! {
        <form method="post" action=api("take_payment") class="mt-4 flex flex-wrap items-end gap-2 border-t pt-3 print:hidden" data-testid="take-payment">
            {hidden("invoice_id", id.clone())}
            <label class="text-sm">"Paid by"
                <select name="method" class=INPUT data-testid="payment-method">{method_options()}</select>
            </label>
            <label class="text-sm">"Amount"
                <input name="amount" inputmode="decimal" required value=owed class=INPUT data-testid="payment-amount"/>
            </label>
            <label class="text-sm">"Reference (card slip, UPI id)"
                <input name="reference" maxlength="100" class=INPUT/>
            </label>
            <button type="submit" class=BUTTON data-testid="take-payment-submit">"Take payment"</button>
        </form>
        <div class="mt-2 flex flex-wrap gap-2 print:hidden">
            {credit}
            <a class=SMALL_BUTTON href=print_href(&format!("documents/{id}/print")) data-testid="print-invoice">"Print (A4)"</a>
            <a class=SMALL_BUTTON href=print_href(&format!("documents/{id}/print?size=receipt"))>"Print (80 mm)"</a>
            <a class=SMALL_BUTTON href=print_href(&format!("documents/{id}/pdf"))>"PDF"</a>
            <form method="post" action=api("email_invoice") data-testid="email-invoice">
                {hidden("invoice_id", id.clone())}
                <button type="submit" class=SMALL_BUTTON>"Email the patient"</button>
            </form>
        </div>
        {crate::forms::succeeded("/api/email_invoice").then(|| view! {
            <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="invoice-emailed">"Emailed: the patient was told it waits in their portal."</p>
        })}
    }
}

#[component]
fn CreditForm(i: InvoiceView, credited: Vec<Uuid>) -> impl IntoView {
    let id = i.id.to_string();
    view! {
        <details class="mt-4 print:hidden">
            <summary class="cursor-pointer text-sm">"Correct with a credit note"</summary>
            <form method="post" action=api("credit_invoice") class="mt-2 space-y-2" data-testid="credit-form">
                {hidden("invoice_id", id)}
                {i.lines.iter().filter(|l| !credited.contains(&l.id)).map(|l| view! {
                    <label class="block text-sm">
                        <input type="checkbox" name=format!("lines[l{}]", l.id)/>
                        " "{format!("{} ({})", l.description, money(l.tax.total, &i.currency))}
                    </label>
                }).collect_view()}
                <label class="block text-sm">"Reason"
                    <input name="reason" required minlength="3" maxlength="300" class=INPUT data-testid="credit-reason"/>
                </label>
                <button type="submit" class=BUTTON data-testid="credit-submit">"Issue credit note"</button>
            </form>
        </details>
    }
}

#[component]
fn CreditNotes(p: InvoicePageView) -> impl IntoView {
    view! {
        <section class=SECTION data-testid="credit-notes">
            <h2 class="font-semibold">"Credit notes"</h2>
            {p.credit_notes.iter().map(|n| {
                let c = n.currency.clone();
                let refund = p.can_manage.then(|| view! {
                    <form method="post" action=api("refund_credit_note") class="mt-2 flex flex-wrap items-end gap-2" data-testid="refund-form">
                        {hidden("credit_note_id", n.id.to_string())}
                        <label class="text-sm">"Refund by"<select name="method" class=INPUT>{method_options()}
                            <option value="online">"Online (via the provider)"</option></select></label>
                        <label class="text-sm">"Amount"<input name="amount" inputmode="decimal" required class=INPUT/></label>
                        <label class="text-sm">"Reference"<input name="reference" maxlength="100" class=INPUT/></label>
                        <button type="submit" class=SMALL_BUTTON>"Refund"</button>
                    </form>
                });
                view! {
                    <div class="mt-3 border-t pt-2 text-sm">
                        <p class="font-medium">{n.number.clone().unwrap_or_default()}" · "{money(n.total, &c)}
                            {n.notes.clone().map(|r| format!(" · {r}"))}
                            " · "<a class="underline" href=print_href(&format!("documents/{}/print", n.id))>"Print"</a></p>
                        <ul>{n.lines.iter().map(|l| view! { <li>{format!("{}: {}", l.description, money(l.tax.total, &c))}</li> }).collect_view()}</ul>
                        {refund}
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

#[component]
fn PatientMoney(p: InvoicePageView) -> impl IntoView {
    let d = p.dues.clone();
    let c = d.currency.clone();
    let back_to = p.invoice.id.to_string();
    view! {
        <section class=SECTION data-testid="patient-money">
            <h2 class="font-semibold">"The patient's account"</h2>
            {crate::forms::succeeded("/api/email_receipt").then(|| view! {
                <p role="status" class="mt-1 text-sm text-emerald-800" data-testid="receipt-emailed">"Emailed: the patient was told the receipt waits in their portal."</p>
            })}
            <p class="text-sm" data-testid="dues">{format!(
                "Owed {} (0–30 days {}, 31–60 {}, 61–90 {}, over 90 {}); credit {}",
                money(d.outstanding, &c), format_amount(d.aging[0], &c), format_amount(d.aging[1], &c),
                format_amount(d.aging[2], &c), format_amount(d.aging[3], &c), money(d.credit, &c),
            )}</p>
            <table class="mt-2 w-full text-left text-sm" data-testid="payments">
                <thead><tr><th>"Receipt"</th><th>"Date"</th><th>"Method"</th><th class="text-right">"Amount"</th><th>"For"</th></tr></thead>
                <tbody>
                    {p.payments.into_iter().map(|m| view! {
                        <tr class="border-t">
                            <td><a class="underline" href=print_href(&format!("receipts/{}/print", m.id)) data-testid="receipt-link">{m.number.clone()}</a>{m.refund.then_some(" (refund)")}
                                <form method="post" action=api("email_receipt") class="inline print:hidden" data-testid="email-receipt">
                                    {hidden("payment_id", m.id.to_string())}
                                    {hidden("back_to", back_to.clone())}
                                    <button type="submit" class="ml-2 text-xs underline" aria-label=format!("Email receipt {} to the patient", m.number)>"Email"</button>
                                </form>
                            </td>
                            <td>{m.received_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                            <td>{m.method.label()}</td>
                            <td class="text-right">{money(if m.refund { -m.amount } else { m.amount }, &m.currency)}</td>
                            <td>{m.allocations.iter().map(|(n, a)| format!("{n}: {}", format_amount(*a, &m.currency))).collect::<Vec<_>>().join(", ")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn CollectionsView(c: Collections) -> impl IntoView {
    let cur = c.currency.clone();
    let rows = |rows: Vec<(String, i64, i64)>, cur: String| {
        rows.into_iter()
            .map(|(k, r, f)| view! {
                <tr class="border-t"><td>{k}</td><td class="text-right">{format_amount(r, &cur)}</td>
                    <td class="text-right">{format_amount(f, &cur)}</td><td class="text-right">{format_amount(r - f, &cur)}</td></tr>
            })
            .collect_view()
    };
    let methods: Vec<(String, i64, i64)> = c
        .by_method
        .iter()
        .map(|(m, r, f)| (m.label().to_owned(), *r, *f))
        .collect();
    let head = |first: &'static str| view! { <thead><tr><th>{first}</th><th class="text-right">"Received"</th><th class="text-right">"Refunded"</th><th class="text-right">"Net"</th></tr></thead> };
    view! {
        <section class=SECTION data-testid="collections">
            <form method="get" action=href("") class="flex flex-wrap items-end gap-2 print:hidden">
                <input type="hidden" name="view" value="collections"/>
                <label class="text-sm">"Day"<input type="date" name="date" value=c.day.to_string() class=INPUT/></label>
                <button type="submit" class=SMALL_BUTTON>"Show"</button>
            </form>
            <h2 class="mt-3 font-semibold">{format!("Collections on {}", c.day)}</h2>
            <p data-testid="collections-total">{format!("Received {} · refunded {} · net {}",
                money(c.received, &cur), money(c.refunded, &cur), money(c.received - c.refunded, &cur))}</p>
            <h3 class="mt-3 font-medium">"By method"</h3>
            <table class="w-full text-left text-sm" data-testid="collections-by-method">{head("Method")}<tbody>{rows(methods, cur.clone())}</tbody></table>
            <h3 class="mt-3 font-medium">"By member of staff (for the cash-up)"</h3>
            <table class="w-full text-left text-sm" data-testid="collections-by-staff">{head("Member of staff")}<tbody>{rows(c.by_staff.clone(), cur.clone())}</tbody></table>
        </section>
    }
}

#[component]
fn Setup(s: BillingSetupView) -> impl IntoView {
    let st = s.settings.clone();
    let regime = st.regime.as_str();
    let option = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=regime == value>{label}</option> }
    };
    let settings_form = s.can_change_settings.then(|| view! {
        <section class=SECTION>
            <h2 class="font-semibold">"Tax and numbering"</h2>
            <form method="post" action=api("save_billing_settings") class="mt-2 grid gap-2 md:grid-cols-3" data-testid="billing-settings">
                <label class="text-sm">"Tax"
                    <select name="regime" class=INPUT>
                        {option("none", "No tax")}
                        {option("vat", "VAT / GST at a rate per category")}
                        {option("india_gst", "India GST (CGST + SGST, or IGST)")}
                    </select>
                </label>
                <label class="text-sm">"Tax number (GSTIN, VAT)"<input name="tax_id" maxlength="20" value=st.tax_id.clone().unwrap_or_default() class=INPUT/></label>
                <label class="text-sm">"The clinic's state"<input name="state" maxlength="40" value=st.state.clone().unwrap_or_default() class=INPUT/></label>
                <label class="text-sm">"Invoice prefix"<input name="invoice_prefix" maxlength="6" value=st.invoice_prefix.clone() class=INPUT/></label>
                <label class="text-sm">"Credit note prefix"<input name="credit_prefix" maxlength="6" value=st.credit_prefix.clone() class=INPUT/></label>
                <label class="text-sm">"Receipt prefix"<input name="receipt_prefix" maxlength="6" value=st.receipt_prefix.clone() class=INPUT/></label>
                <label class="text-sm">"Refund prefix"<input name="refund_prefix" maxlength="6" value=st.refund_prefix.clone() class=INPUT/></label>
                <label class="text-sm">"Numbering restarts in month (1–12; 0: never)"<input name="fy_start_month" inputmode="numeric" value=st.fy_start_month.to_string() class=INPUT/></label>
                <label class="text-sm">"A discount above this % needs a reason"<input name="discount_reason_above" inputmode="decimal" value=format_amount(st.discount_reason_above_bp, "USD") class=INPUT/></label>
                <div><button type="submit" class=BUTTON>"Save"</button></div>
            </form>
            <h3 class="mt-4 font-medium">"Tax categories"</h3>
            <ul class="text-sm">{s.categories.iter().map(|c| view! {
                <li>{format!("{} ({}): {}", c.name, c.code, if c.exempt { "exempt".to_owned() } else { format!("{} %", format_amount(c.rate_bp, "USD")) })}</li>
            }).collect_view()}</ul>
            <form method="post" action=api("save_tax_category") class="mt-2 flex flex-wrap items-end gap-2">
                <label class="text-sm">"Code"<input name="code" required maxlength="20" class=INPUT/></label>
                <label class="text-sm">"Name"<input name="name" required maxlength="60" class=INPUT/></label>
                <label class="text-sm">"Rate %"<input name="rate" inputmode="decimal" required class=INPUT/></label>
                <label class="text-sm"><input type="checkbox" name="exempt"/>" Exempt"</label>
                <button type="submit" class=SMALL_BUTTON>"Save category"</button>
            </form>
        </section>
    });
    let currency = s.currency.clone();
    let online = s
        .can_change_settings
        .then(|| view! { <OnlinePayments accounts=s.payment_accounts.clone()/> });
    view! {
        {settings_form}
        {online}
        <section class=SECTION data-testid="catalog">
            <h2 class="font-semibold">"Services and products"</h2>
            <table class="mt-2 w-full text-left text-sm">
                <thead><tr><th>"Code"</th><th>"Name"</th><th>"Kind"</th><th class="text-right">"Price"</th><th>"Tax"</th><th>"Active"</th></tr></thead>
                <tbody>{s.services.iter().map(|v| view! {
                    <tr class="border-t"><td>{v.code.clone()}</td><td>{v.name.clone()}</td><td>{v.kind.clone()}</td>
                        <td class="text-right">{money(v.price_minor, &v.currency)}</td><td>{v.tax_category.clone()}</td>
                        <td>{if v.active { "yes" } else { "no" }}</td></tr>
                }).collect_view()}</tbody>
            </table>
            <form method="post" action=api("save_service") class="mt-3 grid gap-2 md:grid-cols-3" data-testid="service-form">
                <label class="text-sm">"Code"<input name="code" required maxlength="20" class=INPUT/></label>
                <label class="text-sm">"Name"<input name="name" required maxlength="120" class=INPUT/></label>
                <label class="text-sm">"Kind"<select name="kind" class=INPUT><option value="service">"Service"</option><option value="product">"Product"</option></select></label>
                <label class="text-sm">{format!("Price ({currency})")}<input name="price" inputmode="decimal" required class=INPUT/></label>
                <label class="text-sm">"Tax category"<select name="tax_category" class=INPUT>
                    {s.categories.iter().map(|c| view! { <option value=c.code.clone()>{c.name.clone()}</option> }).collect_view()}
                </select></label>
                <div class="flex items-end"><button type="submit" class=BUTTON>"Add to the catalog"</button></div>
            </form>
        </section>
    }
}

/// The clinic's own Stripe or Razorpay account, for patients paying online.
#[component]
fn OnlinePayments(accounts: Vec<super::online::AccountView>) -> impl IntoView {
    use crate::payments::Provider;
    let connected = accounts.iter().map(|a| {
        let provider = a.provider.as_str();
        view! {
            <li data-testid=format!("payments-connected-{provider}")>
                <span class="font-medium">{a.provider.label()}</span>
                {format!(" · key {}{} · connected {}", a.key_hint,
                    a.key_id.as_ref().map(|k| format!(" ({k})")).unwrap_or_default(), a.connected_at)}
                <br/><span class="text-slate-600">"Webhook address: "</span><code class="break-all">{a.webhook_url.clone()}</code>
                <form method="post" action=api("disconnect_payments") class="inline">
                    <input type="hidden" name="provider" value=provider/>
                    <button type="submit" class="ml-2 underline">"Disconnect"</button>
                </form>
            </li>
        }
    }).collect_view();
    view! {
        <section class=SECTION data-testid="online-payments">
            <h2 class="font-semibold">"Online payments"</h2>
            <p class="text-sm text-slate-600">"Patients pay from the portal on the provider's page; a payment is recorded when the provider confirms it."</p>
            <ul class="mt-2 space-y-2 text-sm">{connected}</ul>
            <form method="post" action=api("connect_payments") class="mt-3 grid gap-2 md:grid-cols-2" data-testid="payments-connect" autocomplete="off">
                <label class="text-sm">"Provider"
                    <select name="provider" class=INPUT>
                        {Provider::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="text-sm">"Key id (Razorpay)"<input name="key_id" maxlength="64" class=INPUT/></label>
                <label class="text-sm">"Secret key"<input name="secret_key" type="password" required maxlength="255" class=INPUT/></label>
                <label class="text-sm">"Webhook signing secret"<input name="webhook_secret" type="password" required maxlength="255" class=INPUT/></label>
                <div><button type="submit" class=BUTTON>"Connect"</button></div>
            </form>
        </section>
    }
}

/// On the chart: what the patient owes (by age) and the credit held, and an
/// invoice started by hand. Shown to those who take payments.
#[component]
pub fn ChartMoney(patient_id: Uuid) -> impl IntoView {
    use crate::identity::permissions::Permission;
    let allowed = crate::site::current_site()
        .viewer
        .is_some_and(|v| v.can(Permission::PaymentsTake));
    if !allowed {
        return ().into_any();
    }
    let dues = Resource::new(move || patient_id, super::api::patient_dues);
    view! {
        <section class="mt-3 flex flex-wrap items-center gap-3 rounded border border-slate-200 bg-white p-3 text-sm" data-testid="chart-money">
            <crate::forms::PlainFormError path="/api/draft_invoice"/>
            <Suspense fallback=|| view! { <span>"…"</span> }>
                {move || dues.get().and_then(Result::ok).map(|d| {
                    let c = d.currency.clone();
                    let aging = ["0–30", "31–60", "61–90", "90+"]
                        .iter()
                        .zip(d.aging)
                        .filter(|(_, a)| *a > 0)
                        .map(|(label, a)| format!("{label} days: {}", money(a, &c)))
                        .collect::<Vec<_>>()
                        .join(" · ");
                    view! {
                        <span data-testid="chart-dues" class={if d.outstanding > 0 { "font-semibold text-amber-900" } else { "" }}>
                            {if d.outstanding > 0 { format!("Owes {}", money(d.outstanding, &c)) } else { "Nothing owed".to_owned() }}
                        </span>
                        {(!aging.is_empty()).then(|| view! { <span class="text-slate-600">{format!("({aging})")}</span> })}
                        {(d.credit > 0).then(|| view! { <span>{format!("Credit held: {}", money(d.credit, &c))}</span> })}
                    }
                })}
            </Suspense>
            <form method="post" action=api("draft_invoice")>
                <input type="hidden" name="patient_id" value=patient_id.to_string()/>
                <button type="submit" class=SMALL_BUTTON data-testid="chart-new-invoice">"Start an invoice"</button>
            </form>
        </section>
    }
    .into_any()
}

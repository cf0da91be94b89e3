//! Invoices paid online (issue 15) through the clinic's own Stripe or Razorpay
//! account, against local providers that speak their wire formats: a clinic
//! connects its keys (sealed, never shown again) from settings or the command
//! line; a patient opens a payment page for what is still owed; the payment is
//! recorded only by the provider's word (a webhook signed with that clinic's
//! secret, over the raw body, fresh; or the reconciliation poll), once, however
//! the two race and however often an event is delivered; a clinic's secret
//! signs for nobody else; the database refuses a provider's payment twice even
//! with the application bypassed.

use std::process::Command;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use ::server::worker::{Handlers, Worker};
use app::identity::Role;
use app::jobs::kinds;

use crate::billing::draft_with;
use crate::chart::raw_pool;
use crate::engagement::drain;
use crate::self_service::{patient_of, register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::payments::{deliver, razorpay_headers, stripe_event, FakeRazorpay, FakeStripe};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    a_patient_pays_the_rest_online_and_only_the_providers_signed_word_records_it,
    a_razorpay_link_is_recorded_once_when_its_webhook_and_the_poll_race,
    a_clinics_secret_signs_for_no_other_clinic_and_pages_open_only_for_its_own_patients,
    a_providers_payment_is_recorded_once_with_the_application_bypassed,
    operators_set_a_clinics_keys_with_the_stable_command,
    a_merged_duplicates_bills_show_in_the_portal_and_are_paid_there,
);

const SK: &str = "sk_test_51AcmeSecretKey0000004242";
const WHSEC: &str = "whsec_acme_endpoint_secret";
const RZP_ID: &str = "rzp_test_AcmeKeyId01";
const RZP_SECRET: &str = "acme_key_secret_0001";
const RZP_HOOK: &str = "acme_webhook_secret";

/// The portal patient's record id.
async fn portal_patient(staff: &Browser, slug: &str) -> String {
    let found = staff
        .api_ok(slug, "list_patients", &[("query", "MRN-1")])
        .await;
    found["items"][0]["id"]
        .as_str()
        .expect("the portal patient")
        .to_owned()
}

/// An issued invoice of `amount` for the portal patient, `paid` of it in cash.
async fn invoice(desk: &Browser, slug: &str, amount: &str, paid: Option<&str>) -> String {
    let patient = portal_patient(desk, slug).await;
    let invoice = draft_with(desk, slug, &[("patient_id", &patient)]).await;
    desk.api_ok(
        slug,
        "add_invoice_line",
        &[
            ("invoice_id", &invoice),
            ("description", "Consultation"),
            ("quantity", "1"),
            ("unit_price", amount),
        ],
    )
    .await;
    desk.api_ok(slug, "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    if let Some(paid) = paid {
        desk.api_ok(
            slug,
            "take_payment",
            &[
                ("invoice_id", &invoice),
                ("method", "cash"),
                ("amount", paid),
            ],
        )
        .await;
    }
    invoice
}

async fn bills(patient: &Browser, slug: &str, checkout: Option<&str>) -> Value {
    let form: Vec<(&str, &str)> = checkout.map(|c| ("checkout", c)).into_iter().collect();
    patient.api_ok(slug, "my_bills", &form).await
}

/// Online payments recorded for the clinic's portal patient, as staff see them.
async fn online_payments(staff: &Browser, slug: &str) -> Vec<Value> {
    let patient = portal_patient(staff, slug).await;
    let billing = staff
        .api_ok(slug, "patient_billing", &[("patient_id", &patient)])
        .await;
    billing["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|p| p["method"] == "Online")
        .cloned()
        .collect()
}

/// Credits the whole of an invoice; answers the credit note's id.
async fn credit_all(billing: &Browser, slug: &str, invoice: &str) -> String {
    let page = billing
        .api_ok(slug, "invoice_page", &[("invoice_id", invoice)])
        .await;
    let line = page["invoice"]["lines"][0]["id"]
        .as_str()
        .expect("line")
        .to_owned();
    let ticked = format!("lines[l{line}]");
    billing
        .api_ok(
            slug,
            "credit_invoice",
            &[
                ("invoice_id", invoice),
                ("reason", "Visit cancelled"),
                (ticked.as_str(), "on"),
            ],
        )
        .await;
    let page = billing
        .api_ok(slug, "invoice_page", &[("invoice_id", invoice)])
        .await;
    page["credit_notes"][0]["id"]
        .as_str()
        .expect("credit note")
        .to_owned()
}

async fn refund_online(billing: &Browser, slug: &str, note: &str, amount: &str) -> server::Reply {
    billing
        .api(
            slug,
            "refund_credit_note",
            &[
                ("credit_note_id", note),
                ("method", "online"),
                ("amount", amount),
            ],
        )
        .await
}

/// The patient asks to pay an invoice online.
async fn pay_online(patient: &Browser, slug: &str, invoice: &str, provider: &str) -> server::Reply {
    patient
        .api(
            slug,
            "pay_online",
            &[("invoice_id", invoice), ("provider", provider)],
        )
        .await
}

/// The provider's page the patient is sent to.
async fn page_url(patient: &Browser, slug: &str, invoice: &str, provider: &str) -> String {
    let r = pay_online(patient, slug, invoice, provider).await;
    assert_eq!(r.status, StatusCode::OK, "pay_online: {}", r.body);
    r.json().as_str().expect("the page's address").to_owned()
}

/// A local Stripe knowing the clinic's key, a server using it, and acme connected.
async fn stripe_clinic(t: &TestDb) -> (FakeStripe, std::net::SocketAddr) {
    staffed_clinic(&t.db, "acme").await;
    let stripe = FakeStripe::start().await;
    stripe.add_key(SK);
    let api = stripe.url();
    let addr = server::start(&t.db, |c| c.stripe_api = api).await;
    connect_stripe(
        &staff_of(addr, "acme", Role::Admin).await,
        "acme",
        SK,
        WHSEC,
    )
    .await;
    (stripe, addr)
}

fn webhook(addr: std::net::SocketAddr, provider: &str, slug: &str) -> String {
    format!("http://{addr}/webhooks/{provider}/{slug}")
}

async fn connect_stripe(admin: &Browser, slug: &str, secret: &str, whsec: &str) {
    admin
        .api_ok(
            slug,
            "connect_payments",
            &[
                ("provider", "stripe"),
                ("secret_key", secret),
                ("webhook_secret", whsec),
            ],
        )
        .await;
}

async fn a_patient_pays_the_rest_online_and_only_the_providers_signed_word_records_it(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let stripe = FakeStripe::start().await;
    stripe.add_key(SK);
    let api = stripe.url();
    let addr = server::start(&t.db, |c| c.stripe_api = api).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let patient = patient_of(addr, "acme").await;

    // Keys are checked, and never shown again in full.
    let refused = admin
        .api(
            "acme",
            "connect_payments",
            &[
                ("provider", "stripe"),
                ("secret_key", "pk_test_51Publishable0000000"),
                ("webhook_secret", WHSEC),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("secret_key"), "{}", refused.body);
    let r = desk
        .api(
            "acme",
            "connect_payments",
            &[
                ("provider", "stripe"),
                ("secret_key", SK),
                ("webhook_secret", WHSEC),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    connect_stripe(&admin, "acme", SK, WHSEC).await;
    let setup = admin.api("acme", "billing_setup", &[]).await;
    assert!(
        !setup.body.contains(SK) && !setup.body.contains(WHSEC),
        "{}",
        setup.body
    );
    let account = &setup.json()["payment_accounts"][0];
    assert_eq!(account["key_hint"], "sk_test_…4242", "{account}");
    assert!(
        account["webhook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/webhooks/stripe/acme")),
        "{account}"
    );

    // 100.00 owed, 30.00 paid at the desk: the patient is asked for 70.00.
    let invoice = invoice(&desk, "acme", "100", Some("30")).await;
    let mine = bills(&patient, "acme", None).await;
    assert_eq!(mine["providers"], serde_json::json!(["Stripe"]), "{mine}");
    assert_eq!(mine["invoices"][0]["due"], "70.00 USD", "{mine}");
    let url = page_url(&patient, "acme", &invoice, "stripe").await;
    let created = stripe.created();
    assert_eq!(created.len(), 1);
    let form = &created[0];
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "7000");
    assert_eq!(form["line_items[0][price_data][currency]"], "usd");
    assert_eq!(form["mode"], "payment");
    let checkout = form["client_reference_id"].clone();
    assert!(form["success_url"].ends_with(&format!("/portal/bills?checkout={checkout}")));
    // Asking again offers the same page, not a second one.
    let again = page_url(&patient, "acme", &invoice, "stripe").await;
    assert_eq!(again, url);
    assert_eq!(stripe.created().len(), 1);

    // Back from the page: nothing is recorded until Stripe says so.
    let waiting = bills(&patient, "acme", Some(&checkout)).await;
    assert_eq!(waiting["pending"], "Waiting", "{waiting}");
    assert!(online_payments(&billing, "acme").await.is_empty());

    let session_id = stripe.session_of_url(&url);
    let paid = stripe.pay(&session_id);
    let now = Utc::now().timestamp();
    let hook = webhook(addr, "stripe", "acme");
    let (body, signature) = stripe_event("evt_1", "checkout.session.completed", &paid, WHSEC, now);

    // Unsigned, tampered, stale, signed by another secret, or to no clinic: 400, nothing recorded.
    assert_eq!(deliver(&hook, &body, &[]).await, StatusCode::BAD_REQUEST);
    let tampered = body.replace("7000", "1");
    assert_eq!(
        deliver(&hook, &tampered, &[("stripe-signature", signature.clone())]).await,
        StatusCode::BAD_REQUEST
    );
    let (_, stale) = stripe_event(
        "evt_1",
        "checkout.session.completed",
        &paid,
        WHSEC,
        now - 301,
    );
    let stale_body = stripe_event(
        "evt_1",
        "checkout.session.completed",
        &paid,
        WHSEC,
        now - 301,
    )
    .0;
    assert_eq!(
        deliver(&hook, &stale_body, &[("stripe-signature", stale)]).await,
        StatusCode::BAD_REQUEST
    );
    let (_, forged) = stripe_event(
        "evt_1",
        "checkout.session.completed",
        &paid,
        "whsec_someone_else",
        now,
    );
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", forged)]).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        deliver(
            &webhook(addr, "stripe", "nowhere"),
            &body,
            &[("stripe-signature", signature.clone())]
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert!(online_payments(&billing, "acme").await.is_empty());

    // Signed and fresh: recorded, with a receipt, and the invoice is paid.
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", signature.clone())]).await,
        StatusCode::OK
    );
    let done = bills(&patient, "acme", Some(&checkout)).await;
    assert_eq!(done["pending"], "Paid", "{done}");
    assert_eq!(done["invoices"][0]["owed"], false, "{done}");
    assert_eq!(done["owed"], "0.00 USD");
    let online = online_payments(&billing, "acme").await;
    assert_eq!(online.len(), 1, "{online:?}");
    assert_eq!(online[0]["amount"], 7000);
    assert_eq!(online[0]["reference"], paid["payment_intent"]);

    // The same event again, its async sibling, and a late expiry change nothing.
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", signature)]).await,
        StatusCode::OK
    );
    for (id, kind) in [
        ("evt_2", "checkout.session.async_payment_succeeded"),
        ("evt_3", "checkout.session.expired"),
    ] {
        let (b, s) = stripe_event(id, kind, &paid, WHSEC, now);
        assert_eq!(
            deliver(&hook, &b, &[("stripe-signature", s)]).await,
            StatusCode::OK
        );
    }
    assert_eq!(online_payments(&billing, "acme").await.len(), 1);
    let still = bills(&patient, "acme", Some(&checkout)).await;
    assert_eq!(still["pending"], "Paid");

    // A signed event about a session this clinic never opened: acknowledged, ignored.
    let mut stranger = paid.clone();
    stranger["id"] = "cs_test_unknown".into();
    stranger["client_reference_id"] = Value::Null;
    stranger["payment_intent"] = "pi_test_unknown".into();
    let (b, s) = stripe_event("evt_4", "checkout.session.completed", &stranger, WHSEC, now);
    assert_eq!(
        deliver(&hook, &b, &[("stripe-signature", s)]).await,
        StatusCode::OK
    );
    assert_eq!(online_payments(&billing, "acme").await.len(), 1);

    // Nothing left to pay: no page opens.
    let r = pay_online(&patient, "acme", &invoice, "stripe").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(stripe.created().len(), 1);

    // A credit note's refund goes back through Stripe's Refunds API, within bounds.
    let note = credit_all(&billing, "acme", &invoice).await;
    let over = refund_online(&billing, "acme", &note, "100.01").await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert!(
        stripe.refunds().is_empty(),
        "nothing asked of Stripe beyond the bounds"
    );
    let ok = refund_online(&billing, "acme", &note, "70").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        refunds[0]["payment_intent"],
        paid["payment_intent"].as_str().unwrap_or_default()
    );
    assert_eq!(refunds[0]["amount"], "7000");
    // The refund's name is its credit note, what was refunded before and the
    // amount: a retry after a lost answer (nothing recorded) sends the same
    // Idempotency-Key, and Stripe answers it with the first refund.
    let name = app::billing::online::refund_reference(note.parse().expect("id"), 0, 7000);
    assert_eq!(refunds[0]["metadata[reference]"], name);
    let keys = app::payments::Keys {
        key_id: None,
        secret_key: SK.into(),
        webhook_secret: WHSEC.into(),
    };
    let gateways = app::payments::Gateways::new(&stripe.url(), "http://127.0.0.1:9");
    let intent = paid["payment_intent"].as_str().unwrap_or_default();
    let retried = gateways
        .refund(app::payments::Provider::Stripe, &keys, intent, 7000, &name)
        .await
        .expect("the retry is answered");
    assert_eq!(stripe.refunds().len(), 1, "refunded once: {retried}");
    let patient_id = portal_patient(&billing, "acme").await;
    let money = billing
        .api_ok("acme", "patient_billing", &[("patient_id", &patient_id)])
        .await;
    let refund = money["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .find(|p| p["refund"] == true)
        .cloned()
        .expect("the refund recorded");
    assert_eq!(refund["reference"], "re_test_0001", "{refund}");
    assert_eq!(refund["amount"], 7000);
}

async fn a_razorpay_link_is_recorded_once_when_its_webhook_and_the_poll_race(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let razorpay = FakeRazorpay::start().await;
    razorpay.add_key(RZP_ID, RZP_SECRET);
    let api = razorpay.url();
    let addr = server::start(&t.db, |c| c.razorpay_api = api.clone()).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let patient = patient_of(addr, "acme").await;
    admin
        .api_ok(
            "acme",
            "connect_payments",
            &[
                ("provider", "razorpay"),
                ("key_id", RZP_ID),
                ("secret_key", RZP_SECRET),
                ("webhook_secret", RZP_HOOK),
            ],
        )
        .await;
    let invoice = invoice(&desk, "acme", "450", None).await;
    let url = page_url(&patient, "acme", &invoice, "razorpay").await;
    let request = &razorpay.created()[0];
    assert_eq!(request["amount"], 45_000);
    assert_eq!(request["currency"], "USD");
    assert_eq!(request["accept_partial"], false);
    assert!(request["expire_by"].as_i64().unwrap_or(0) >= Utc::now().timestamp() + 15 * 60);

    // The patient pays; the webhook and the reconciliation job arrive together.
    let link = razorpay.link_of_url(&url);
    let event = razorpay.pay(&link);
    let gateways = app::payments::Gateways::new("http://127.0.0.1:9", &api);
    let db = t.db.clone();
    let handlers = Handlers::default().on(kinds::PAYMENT_RECONCILE, move |job, now| {
        let (db, gateways) = (db.clone(), gateways.clone());
        async move { app::billing::online::reconcile(&db, &gateways, &job, now).await }
    });
    let worker = Worker::new(t.db.clone(), "reconcile", handlers);
    let later = Utc::now() + Duration::hours(2);
    let hook = webhook(addr, "razorpay", "acme");
    let headers = razorpay_headers(RZP_HOOK, "evt_rzp_1", &event);
    let (delivered, polled) = tokio::join!(deliver(&hook, &event, &headers), drain(&worker, later));
    assert_eq!(delivered, StatusCode::OK);
    assert_eq!(polled, 1);
    let online = online_payments(&desk, "acme").await;
    assert_eq!(online.len(), 1, "{online:?}");
    assert_eq!(online[0]["amount"], 45_000);
    // Retried deliveries (same event id, or none) change nothing.
    assert_eq!(deliver(&hook, &event, &headers).await, StatusCode::OK);
    let unnamed = razorpay_headers(RZP_HOOK, "", &event);
    assert_eq!(deliver(&hook, &event, &unnamed[..1]).await, StatusCode::OK);
    // The event id header is not signed: the same signed body under a new id
    // is the same event, seen once.
    let replayed = razorpay_headers(RZP_HOOK, "evt_rzp_replayed", &event);
    assert_eq!(deliver(&hook, &event, &replayed).await, StatusCode::OK);
    assert_eq!(online_payments(&desk, "acme").await.len(), 1);
    let raw = crate::chart::raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM payment_events WHERE provider = 'razorpay'")
            .await,
        1
    );
    let mine = bills(&patient, "acme", None).await;
    assert_eq!(mine["invoices"][0]["owed"], false, "{mine}");
    // A body signed with the key secret instead of the webhook secret is refused.
    let wrong = razorpay_headers(RZP_SECRET, "evt_rzp_2", &event);
    assert_eq!(
        deliver(&hook, &event, &wrong).await,
        StatusCode::BAD_REQUEST
    );

    // Refunds go back through Razorpay; an invoice paid at the desk cannot be.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let note = credit_all(&billing, "acme", &invoice).await;
    let ok = refund_online(&billing, "acme", &note, "450").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let refunds = razorpay.refunds();
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0].0.starts_with("pay_"), "{refunds:?}");
    assert_eq!(refunds[0].1["amount"], 45_000);
    // Razorpay takes no idempotency key: a retry under the same name (after a
    // lost answer) finds the refund already made by its receipt and makes none.
    let name = app::billing::online::refund_reference(note.parse().expect("id"), 0, 45_000);
    assert_eq!(refunds[0].1["receipt"], name.as_str());
    assert!(name.len() <= 40, "Razorpay's receipt limit: {name}");
    let keys = app::payments::Keys {
        key_id: Some(RZP_ID.into()),
        secret_key: RZP_SECRET.into(),
        webhook_secret: RZP_HOOK.into(),
    };
    let first = app::payments::Gateways::new("http://127.0.0.1:9", &razorpay.url())
        .refund(
            app::payments::Provider::Razorpay,
            &keys,
            &refunds[0].0,
            45_000,
            &name,
        )
        .await
        .expect("the retry is answered");
    assert_eq!(first, "rfnd_Test0001");
    assert_eq!(razorpay.refunds().len(), 1, "refunded once");
    let cash = self::invoice(&desk, "acme", "20", Some("20")).await;
    let cash_note = credit_all(&billing, "acme", &cash).await;
    let r = refund_online(&billing, "acme", &cash_note, "20").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("not paid online"), "{}", r.body);
    assert_eq!(razorpay.refunds().len(), 1);

    // With no webhook at all, the poll alone records a paid link and closes an
    // expired one.
    let paid_later = self::invoice(&desk, "acme", "30", None).await;
    let lapsed = self::invoice(&desk, "acme", "40", None).await;
    let mut links = Vec::new();
    for invoice in [&paid_later, &lapsed] {
        let url = page_url(&patient, "acme", invoice, "razorpay").await;
        links.push(razorpay.link_of_url(&url));
    }
    razorpay.pay(&links[0]);
    razorpay.expire(&links[1]);
    let lapsed_checkout = razorpay.created()[2]["reference_id"]
        .as_str()
        .expect("reference")
        .to_owned();
    assert_eq!(drain(&worker, later).await, 2);
    let online = online_payments(&desk, "acme").await;
    assert!(
        online
            .iter()
            .any(|p| p["amount"] == 3_000 && p["refund"] == false),
        "{online:?}"
    );
    assert!(!online.iter().any(|p| p["amount"] == 4_000), "{online:?}");
    let mine = bills(&patient, "acme", Some(&lapsed_checkout)).await;
    assert_eq!(mine["pending"], "NotCompleted", "{mine}");
}

async fn a_clinics_secret_signs_for_no_other_clinic_and_pages_open_only_for_its_own_patients(
    t: &TestDb,
) {
    let (stripe, addr) = stripe_clinic(t).await;
    staffed_clinic(&t.db, "beta").await;
    let beta_sk = "sk_test_51BetaSecretKey00000009999";
    let beta_whsec = "whsec_beta_endpoint_secret";
    stripe.add_key(beta_sk);
    connect_stripe(
        &staff_of(addr, "beta", Role::Admin).await,
        "beta",
        beta_sk,
        beta_whsec,
    )
    .await;
    let acme_desk = staff_of(addr, "acme", Role::Receptionist).await;
    let acme_invoice = invoice(&acme_desk, "acme", "80", None).await;
    let acme_patient = patient_of(addr, "acme").await;
    let beta_patient = patient_of(addr, "beta").await;

    // Another clinic's patient, or staff, cannot open a page for this invoice.
    let r = pay_online(&beta_patient, "beta", &acme_invoice, "stripe").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = pay_online(&acme_desk, "acme", &acme_invoice, "stripe").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = acme_patient
        .api(
            "acme",
            "connect_payments",
            &[
                ("provider", "stripe"),
                ("secret_key", SK),
                ("webhook_secret", WHSEC),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(stripe.created().is_empty());

    let url = page_url(&acme_patient, "acme", &acme_invoice, "stripe").await;
    let paid = stripe.pay(&stripe.session_of_url(&url));
    let now = Utc::now().timestamp();
    // Beta's secret signs nothing at acme's address; at beta's own address the
    // session is not beta's, so it is acknowledged and ignored.
    let (body, beta_signed) = stripe_event(
        "evt_x",
        "checkout.session.completed",
        &paid,
        beta_whsec,
        now,
    );
    assert_eq!(
        deliver(
            &webhook(addr, "stripe", "acme"),
            &body,
            &[("stripe-signature", beta_signed.clone())]
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        deliver(
            &webhook(addr, "stripe", "beta"),
            &body,
            &[("stripe-signature", beta_signed)]
        )
        .await,
        StatusCode::OK
    );
    assert!(online_payments(&acme_desk, "acme").await.is_empty());
    let beta_desk = staff_of(addr, "beta", Role::Receptionist).await;
    assert!(online_payments(&beta_desk, "beta").await.is_empty());
    // Acme's own secret records it, in acme only.
    let (body, signed) = stripe_event("evt_y", "checkout.session.completed", &paid, WHSEC, now);
    assert_eq!(
        deliver(
            &webhook(addr, "stripe", "acme"),
            &body,
            &[("stripe-signature", signed)]
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(online_payments(&acme_desk, "acme").await.len(), 1);
    assert!(online_payments(&beta_desk, "beta").await.is_empty());
}

async fn a_providers_payment_is_recorded_once_with_the_application_bypassed(t: &TestDb) {
    let (stripe, addr) = stripe_clinic(t).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let invoice = invoice(&desk, "acme", "60", None).await;
    let patient = patient_of(addr, "acme").await;
    let url = page_url(&patient, "acme", &invoice, "stripe").await;
    let paid = stripe.pay(&stripe.session_of_url(&url));
    let (body, signed) = stripe_event(
        "evt_1",
        "checkout.session.completed",
        &paid,
        WHSEC,
        Utc::now().timestamp(),
    );
    assert_eq!(
        deliver(
            &webhook(addr, "stripe", "acme"),
            &body,
            &[("stripe-signature", signed)]
        )
        .await,
        StatusCode::OK
    );

    let raw = raw_pool(t).await;
    let new_id = match t.backend {
        app::db::Backend::Sqlite => "randomblob(16)",
        app::db::Backend::Postgres => "gen_random_uuid()",
    };
    let copy = |reference: &str| {
        format!(
            "INSERT INTO payments (tenant_id, id, kind, patient_id, method, amount, currency, reference, \
             period, seq, number, received_at) \
             SELECT p.tenant_id, {new_id}, 'payment', p.patient_id, 'online', p.amount, p.currency, {reference}, \
             p.period, (SELECT d.next_seq FROM document_series d WHERE d.tenant_id = p.tenant_id \
             AND d.kind = 'receipt' AND d.period = p.period), 'RCT-COPY', p.received_at \
             FROM payments p WHERE p.method = 'online'"
        )
    };
    // The provider's payment a second time: refused.
    assert!(raw.execute(&copy("p.reference")).await.is_err());
    // The same statement for another provider payment goes through (the
    // refusal above is the once-only rule, nothing else).
    assert_eq!(
        raw.execute(&copy("p.reference || '-other'"))
            .await
            .expect("another payment"),
        1
    );
    // A settled page does not go back to open, nor lose its payment.
    assert!(raw
        .execute(
            "UPDATE online_checkouts SET status = 'open', payment_id = NULL WHERE status = 'paid'"
        )
        .await
        .is_err());
    assert!(raw
        .execute("UPDATE online_checkouts SET amount = amount + 1 WHERE status = 'paid'")
        .await
        .is_err());
    assert_eq!(
        raw.count("SELECT count(*) FROM online_checkouts WHERE status = 'paid'")
            .await,
        1
    );
}

async fn operators_set_a_clinics_keys_with_the_stable_command(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_medisync"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MEDISYNC_CONFIG", "/nonexistent/Leptos.toml")
            .env("DATABASE_URL", &t.app_url);
        if let Some(owner) = &t.owner_url {
            cmd.env("MEDISYNC_DATABASE_OWNER_URL", owner);
        }
        cmd.args(args).output().expect("run medisync")
    };
    let out = run(&[
        "payments",
        "set",
        "--tenant",
        "acme",
        "--provider",
        "stripe",
        "--secret-key",
        SK,
        "--webhook-secret",
        WHSEC,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("/webhooks/stripe/acme"), "{stdout}");
    assert!(!stdout.contains(SK) && !stdout.contains(WHSEC), "{stdout}");
    let out = run(&[
        "payments",
        "set",
        "--tenant",
        "acme",
        "--provider",
        "razorpay",
        "--secret-key",
        &format!("{RZP_ID}:{RZP_SECRET}"),
        "--webhook-secret",
        RZP_HOOK,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (args, says) in [
        (
            vec![
                "--tenant",
                "nowhere",
                "--provider",
                "stripe",
                "--secret-key",
                SK,
                "--webhook-secret",
                WHSEC,
            ],
            "no clinic",
        ),
        (
            vec![
                "--tenant",
                "acme",
                "--provider",
                "paypal",
                "--secret-key",
                SK,
                "--webhook-secret",
                WHSEC,
            ],
            "--provider",
        ),
        (
            vec![
                "--tenant",
                "acme",
                "--provider",
                "stripe",
                "--secret-key",
                "sk_x",
                "--webhook-secret",
                WHSEC,
            ],
            "--secret-key",
        ),
    ] {
        let mut full = vec!["payments", "set"];
        full.extend(args);
        let out = run(&full);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }

    // The keys open in the clinic, sealed at rest.
    let mut tx = t.db.begin_for(clinic.tenant.id).await.expect("tx");
    let stripe = app::billing::online::keys(&mut tx, app::payments::Provider::Stripe)
        .await
        .expect("read")
        .expect("stripe keys");
    assert_eq!(
        (stripe.secret_key.as_str(), stripe.webhook_secret.as_str()),
        (SK, WHSEC)
    );
    let razorpay = app::billing::online::keys(&mut tx, app::payments::Provider::Razorpay)
        .await
        .expect("read")
        .expect("razorpay keys");
    assert_eq!(razorpay.key_id.as_deref(), Some(RZP_ID));
    assert_eq!(razorpay.secret_key, RZP_SECRET);
    let stored: Vec<(String,)> = tx
        .fetch_all(
            "SELECT secret_sealed FROM payment_accounts WHERE tenant_id = $1",
            &[],
        )
        .await
        .expect("stored");
    assert!(stored
        .iter()
        .all(|(s,)| s.starts_with("v1:") && !s.contains(SK) && !s.contains(RZP_SECRET)));
    tx.commit().await.expect("commit");
}

/// A duplicate record merged into the patient's brings its bills along: the
/// portal lists them and counts what is owed on them, and the patient pays
/// them there, the payment recorded on the record the bill belongs to (issued
/// bills never change). Before the merge they were not the patient's.
async fn a_merged_duplicates_bills_show_in_the_portal_and_are_paid_there(t: &TestDb) {
    let (stripe, addr) = stripe_clinic(t).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let patient = patient_of(addr, "acme").await;
    let own = portal_patient(&desk, "acme").await;
    let own_bill = invoice(&desk, "acme", "20", None).await;

    let duplicate = register(&desk, "acme", "Dora", "Duplicate", "1979-08-14", &[]).await;
    let dup_bill = draft_with(&desk, "acme", &[("patient_id", &duplicate)]).await;
    let line = [
        ("invoice_id", dup_bill.as_str()),
        ("description", "Dressing"),
        ("quantity", "1"),
        ("unit_price", "45"),
    ];
    desk.api_ok("acme", "add_invoice_line", &line).await;
    let number = desk
        .api_ok("acme", "issue_invoice", &[("invoice_id", &dup_bill)])
        .await;
    let number = number.as_str().expect("number").to_owned();

    let before = bills(&patient, "acme", None).await;
    assert_eq!(before["owed"], "20.00 USD", "{before}");
    let refused = pay_online(&patient, "acme", &dup_bill, "stripe").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("not yours"), "{}", refused.body);

    let mrn = desk
        .api_ok("acme", "chart", &[("patient_id", &duplicate)])
        .await["header"]["mrn"]
        .as_str()
        .expect("mrn")
        .to_owned();
    admin
        .api_ok(
            "acme",
            "merge_patients",
            &[
                ("survivor_id", own.as_str()),
                ("merged_mrn", mrn.as_str()),
                ("confirm", "yes"),
            ],
        )
        .await;

    let after = bills(&patient, "acme", None).await;
    assert_eq!(after["owed"], "65.00 USD", "{after}");
    let numbers: Vec<&str> = after["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .filter_map(|i| i["number"].as_str())
        .collect();
    assert!(numbers.contains(&number.as_str()), "{after}");
    assert_eq!(numbers.len(), 2, "{after}");
    // The front desk sees the same on the surviving chart.
    let dues = desk
        .api_ok("acme", "patient_dues", &[("patient_id", own.as_str())])
        .await;
    assert_eq!(dues["outstanding"], 6500, "{dues}");
    let billing = desk
        .api_ok("acme", "patient_billing", &[("patient_id", own.as_str())])
        .await;
    assert_eq!(
        billing["invoices"].as_array().map(Vec::len),
        Some(2),
        "{billing}"
    );

    let url = page_url(&patient, "acme", &dup_bill, "stripe").await;
    let raw = raw_pool(t).await;
    let on_duplicate = "SELECT count(*) FROM online_checkouts WHERE patient_id = \
                        (SELECT id FROM patients WHERE merged_into IS NOT NULL)";
    assert_eq!(raw.count(on_duplicate).await, 1);
    let paid = stripe.pay(&stripe.session_of_url(&url));
    let (body, signature) = stripe_event(
        "evt_merged",
        "checkout.session.completed",
        &paid,
        WHSEC,
        Utc::now().timestamp(),
    );
    let hook = webhook(addr, "stripe", "acme");
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", signature)]).await,
        StatusCode::OK
    );
    let settled = bills(&patient, "acme", None).await;
    assert_eq!(settled["owed"], "20.00 USD", "{settled}");
    assert!(
        settled["receipts"]
            .as_array()
            .expect("receipts")
            .iter()
            .any(|r| r["how"] == "Online"),
        "{settled}"
    );
    // The patient's own bill is still theirs to pay.
    page_url(&patient, "acme", &own_bill, "stripe").await;
}

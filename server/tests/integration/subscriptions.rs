//! MediSync charges the clinic (issue 15): the owner subscribes through the
//! platform's Stripe account, Stripe's signed events (from a local Stripe
//! Billing with its own clock) drive `paid_until` and dunning: a failed
//! renewal warns owners and admins, after the grace period the clinic's
//! records are read-only (reading and exporting still work), Stripe giving up
//! suspends the clinic, and a payment at any point restores it at once.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use app::identity::access::{server_function_rule, Rule, OPEN_WHILE_READ_ONLY, RECORD_WRITES};
use app::identity::Role;

use crate::self_service::{operator, patient_of, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::payments::deliver;
use support::server::{self, Browser};
use support::stripe_billing::{signed, Event, FakeStripeBilling};
use support::TestDb;

on_both_backends!(
    a_clinic_subscribes_falls_into_arrears_goes_read_only_is_suspended_and_paying_restores_it,
    plan_changes_are_prorated_by_stripe_and_events_are_believed_once_and_only_when_signed,
    every_record_write_is_refused_while_read_only_and_every_read_stays_open,
    through_razorpay_a_clinic_subscribes_falls_into_arrears_is_halted_and_paying_restores_it,
);

const SK: &str = "sk_test_51MediSyncPlatformKey000001";
const WHSEC: &str = "whsec_medisync_platform_endpoint";

async fn platform_server(t: &TestDb, fake: &FakeStripeBilling) -> std::net::SocketAddr {
    let api = fake.url();
    server::start(&t.db, |c| {
        c.stripe_api = api;
        c.subscriptions_stripe_key = SK.into();
        c.subscriptions_webhook_secret = WHSEC.into();
    })
    .await
}

fn webhook(addr: std::net::SocketAddr) -> String {
    format!(
        "http://{addr}{}",
        app::plans::subscriptions::STRIPE_WEBHOOK_PATH
    )
}

/// Delivers each event, signed with the platform's secret; each must be taken.
async fn send(addr: std::net::SocketAddr, events: &[Event], tag: &str) {
    for (i, event) in events.iter().enumerate() {
        let (body, header) = signed(&format!("evt_{tag}_{i}"), event, WHSEC);
        let status = deliver(&webhook(addr), &body, &[("stripe-signature", header)]).await;
        assert_eq!(status, StatusCode::OK, "{tag} {}", event.kind);
    }
}

async fn plan(owner: &Browser) -> Value {
    owner.api_ok("acme", "plan_usage", &[]).await
}

/// Registers a patient: whether the record could be changed, and the answer.
async fn register(desk: &Browser, family: &str) -> (StatusCode, String) {
    // A different person each time (the registry warns about likely duplicates).
    let day = family.bytes().map(u32::from).sum::<u32>() % 28 + 1;
    let birth = format!("1985-02-{day:02}");
    let r = desk
        .api(
            "acme",
            "register_patient",
            &[
                ("given_name", family),
                ("family_name", family),
                ("birth_date", &birth),
                ("sex", "female"),
            ],
        )
        .await;
    (r.status, r.body)
}

fn ago(days: i64) -> i64 {
    (Utc::now() - Duration::days(days)).timestamp()
}

/// The owner subscribes to Professional yearly; Stripe's page is paid at `at`.
async fn subscribe(
    owner: &Browser,
    fake: &FakeStripeBilling,
    addr: std::net::SocketAddr,
    at: i64,
) -> String {
    let url = owner
        .api_ok(
            "acme",
            "subscribe",
            &[("plan", "professional"), ("interval", "year")],
        )
        .await;
    let url = url.as_str().expect("the checkout address");
    assert!(url.starts_with("https://checkout.stripe.test/"), "{url}");
    let (sub, events) = fake.pay_checkout(&fake.session_of_url(url), at);
    send(addr, &events, "first").await;
    sub
}

async fn a_clinic_subscribes_falls_into_arrears_goes_read_only_is_suspended_and_paying_restores_it(
    t: &TestDb,
) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let fake = FakeStripeBilling::start(SK).await;
    let addr = platform_server(t, &fake).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;

    // The plan page's first render (on the server, before any code runs in the
    // browser) already offers the plans: its loader sees the platform's account
    // as the server function does.
    let page = owner.get("localhost", "/t/acme/staff/plan").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("data-testid=\"subscribe-enterprise-year\""),
        "the server-rendered plan page offers subscribing"
    );

    // Only the owner subscribes; the checkout asks Stripe for a yearly price of
    // ten months, names the clinic and sends the owner back to the plan page.
    let r = admin
        .api(
            "acme",
            "subscribe",
            &[("plan", "professional"), ("interval", "year")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = owner
        .api(
            "acme",
            "subscribe",
            &[("plan", "professional"), ("interval", "fortnight")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("interval"), "{}", r.body);
    let sub = subscribe(&owner, &fake, addr, ago(40)).await;
    let form = &fake.checkouts()[0];
    assert_eq!(form["mode"], "subscription");
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "299000");
    assert_eq!(
        form["line_items[0][price_data][recurring][interval]"],
        "year"
    );
    assert_eq!(form["client_reference_id"], clinic.tenant.id.to_string());
    assert_eq!(
        form["subscription_data[metadata][tenant]"],
        clinic.tenant.id.to_string()
    );
    assert!(
        form["success_url"].ends_with("/t/acme/staff/plan?subscribed=1"),
        "{form:?}"
    );

    let p = plan(&owner).await;
    assert_eq!(
        p["plan"]["id"], "professional",
        "the plan follows the payment"
    );
    assert_eq!(p["subscription"]["status"], "Active");
    assert!(p["subscription"]["paid_until"].is_string(), "{p}");
    assert_eq!(
        p["subscription"]["invoices"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(p["subscription"]["invoices"][0]["paid"], true);
    let r = owner
        .api(
            "acme",
            "subscribe",
            &[("plan", "professional"), ("interval", "month")],
        )
        .await;
    assert!(r.body.contains("already has a subscription"), "{}", r.body);

    // The platform's figures come from the subscription: a year's price / 12.
    let op = operator(
        t,
        addr,
        "op@medisync.example",
        app::identity::permissions::PlatformRole::SuperAdmin,
    )
    .await;
    let figures = op
        .call("localhost", "/api/platform_overview", &[])
        .await
        .json();
    assert_eq!(figures["mrr"], serde_json::json!([["USD", 24916]]));

    // A renewal fails two days ago: owners and admins are warned, Stripe
    // retries, and the record can still be changed during the grace period.
    send(addr, &fake.renewal_fails(&sub, ago(2), 1, false), "fail1").await;
    let banner = owner.get("localhost", "/t/acme/staff").await;
    assert!(
        banner.body.contains("A payment for MediSync failed"),
        "owner warned"
    );
    let banner = desk.get("localhost", "/t/acme/staff").await;
    assert!(
        !banner.body.contains("arrears-banner"),
        "the front desk is not told before it matters"
    );
    assert_eq!(register(&desk, "Grace").await.0, StatusCode::OK);
    let p = plan(&owner).await;
    assert_eq!(p["subscription"]["status"], "PastDue");
    assert_eq!(p["subscription"]["read_only"], false);
    let read_only_on = p["subscription"]["read_only_on"].clone();
    // A second failed retry keeps the first failure's date.
    send(addr, &fake.renewal_fails(&sub, ago(1), 2, false), "fail2").await;
    assert_eq!(
        plan(&owner).await["subscription"]["read_only_on"],
        read_only_on
    );
    let arrears = op
        .call("localhost", "/api/platform_overview", &[])
        .await
        .json();
    assert_eq!(arrears["arrears"][0]["slug"], "acme", "{arrears}");

    // Past the grace period (the operator moves it back to test it: the
    // provider's clock and ours agree the first failure was 15 days ago).
    let yesterday = (Utc::now() - Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let r = op
        .call(
            "localhost",
            "/api/extend_grace",
            &[("id", &clinic.tenant.id.to_string()), ("until", &yesterday)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no date in the past: {}",
        r.body
    );
    crate::chart::raw_pool(t)
        .await
        .execute("UPDATE tenants SET read_only_from = payment_failed_at WHERE slug = 'acme'")
        .await
        .expect("move the grace period back");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = register(&desk, "Blocked").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert!(body.contains("read-only"), "{body}");
    assert_eq!(
        desk.api("acme", "list_patients", &[("query", "Grace")])
            .await
            .status,
        StatusCode::OK,
        "reading goes on"
    );
    let banner = desk.get("localhost", "/t/acme/staff").await;
    assert!(
        banner.body.contains("records are read-only"),
        "everyone learns why"
    );
    // Extending the grace period (audited) reopens changes at once.
    let tomorrow = (Utc::now() + Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let r = op
        .call(
            "localhost",
            "/api/extend_grace",
            &[("id", &clinic.tenant.id.to_string()), ("until", &tomorrow)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "extend: {:?}", r.body);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(register(&desk, "Extended").await.0, StatusCode::OK);

    // The retry is paid: arrears lifted at once, paid until further on.
    send(addr, &fake.renewal_paid(&sub, ago(0) - 3600), "paid").await;
    let p = plan(&owner).await;
    assert_eq!(p["subscription"]["status"], "Active", "{p}");
    assert!(p["subscription"]["failed_on"].is_null(), "{p}");
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert!(!page.body.contains("arrears-banner"));
    // A failure older than that payment, delivered late, changes nothing.
    send(
        addr,
        &fake.renewal_fails(&sub, ago(0) - 7200, 3, false),
        "late",
    )
    .await;
    assert!(plan(&owner).await["subscription"]["failed_on"].is_null());

    // The next renewal fails for good and Stripe gives up: suspended.
    send(
        addr,
        &fake.renewal_fails(&sub, ago(0) - 600, 4, true),
        "final",
    )
    .await;
    send(addr, &fake.gives_up(&sub, ago(0) - 300), "gaveup").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("suspended"));
    // Payment at any point restores the clinic at once, data untouched.
    send(addr, &fake.renewal_paid(&sub, ago(0)), "restored").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert_eq!(page.status, StatusCode::OK, "restored");
    assert_eq!(register(&desk, "Restored").await.0, StatusCode::OK);
    let p = plan(&owner).await;
    let invoices = p["subscription"]["invoices"].as_array().expect("invoices");
    assert!(invoices.iter().any(|i| i["paid"] == false));
    assert_eq!(
        invoices.iter().filter(|i| i["paid"] == true).count(),
        3,
        "{p}"
    );
}

async fn plan_changes_are_prorated_by_stripe_and_events_are_believed_once_and_only_when_signed(
    t: &TestDb,
) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let fake = FakeStripeBilling::start(SK).await;
    let addr = platform_server(t, &fake).await;
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let sub = subscribe(&owner, &fake, addr, ago(40)).await;

    // Moving to Enterprise changes the subscription's item, prorated.
    owner
        .api_ok("acme", "choose_plan", &[("plan", "enterprise")])
        .await;
    let update = &fake.updates()[0];
    assert_eq!(update["proration_behavior"], "create_prorations");
    assert_eq!(update["items[0][price_data][recurring][interval]"], "year");
    assert_eq!(update["metadata[plan]"], "enterprise");
    let p = plan(&owner).await;
    assert_eq!(p["plan"]["id"], "enterprise");
    assert!(
        p["subscription"]["price"]
            .as_str()
            .is_some_and(|s| s.contains("/ year")),
        "{p}"
    );

    // The card is changed on Stripe's portal, for this clinic's customer only.
    let url = owner.api_ok("acme", "subscription_card_page", &[]).await;
    assert!(url
        .as_str()
        .is_some_and(|u| u.starts_with("https://billing.stripe.test/")));
    assert!(fake.portals()[0]["return_url"].ends_with("/t/acme/staff/plan"));
    let other_owner = staff_of(addr, "other", Role::Owner).await;
    let r = other_owner
        .api("other", "subscription_card_page", &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Unsigned, tampered, another secret, stale: 400 and nothing recorded.
    let failure = fake.renewal_fails(&sub, ago(20), 1, false);
    let (body, header) = signed("evt_bad", &failure[0], WHSEC);
    let hook = webhook(addr);
    assert_eq!(deliver(&hook, &body, &[]).await, StatusCode::BAD_REQUEST);
    let tampered = body.replace("\"attempt_count\":1", "\"attempt_count\":9");
    assert_eq!(
        deliver(&hook, &tampered, &[("stripe-signature", header.clone())]).await,
        StatusCode::BAD_REQUEST
    );
    let (_, wrong) = signed("evt_bad", &failure[0], "whsec_someone_else");
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", wrong)]).await,
        StatusCode::BAD_REQUEST
    );
    let stale = app::payments::stripe::signature_header(
        WHSEC,
        Utc::now().timestamp() - 301,
        body.as_bytes(),
    );
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", stale)]).await,
        StatusCode::BAD_REQUEST
    );
    assert!(
        plan(&owner).await["subscription"]["failed_on"].is_null(),
        "nothing believed"
    );

    // The same event twice: one failure, one invoice.
    for _ in 0..2 {
        assert_eq!(
            deliver(&hook, &body, &[("stripe-signature", header.clone())]).await,
            StatusCode::OK
        );
    }
    let p = plan(&owner).await;
    assert!(p["subscription"]["failed_on"].is_string(), "{p}");
    assert_eq!(
        p["subscription"]["invoices"].as_array().map(Vec::len),
        Some(2),
        "{p}"
    );
    // Read-only since the failure 20 days ago plus 14 days' grace.
    assert_eq!(p["subscription"]["read_only"], true, "{p}");

    // A correctly signed event about a subscription nobody has: 200, ignored.
    let stranger = Event {
        kind: "invoice.paid",
        object: serde_json::json!({"id": "in_nobody", "subscription": "sub_nobody", "amount_paid": 100, "currency": "usd"}),
        created: ago(0),
    };
    send(addr, &[stranger], "stranger").await;
    let other = other_owner.api_ok("other", "plan_usage", &[]).await;
    assert!(other["subscription"].is_null(), "{other}");

    // Subscriptions closed (no platform key): the plan page says so, events are refused.
    let closed = server::start(&t.db, |_| {}).await;
    let owner = staff_of(closed, "acme", Role::Owner).await;
    let r = owner
        .api(
            "acme",
            "subscribe",
            &[("plan", "starter"), ("interval", "month")],
        )
        .await;
    assert!(
        r.body.contains("not open on this installation"),
        "{}",
        r.body
    );
    assert_eq!(
        deliver(&webhook(closed), &body, &[("stripe-signature", header)]).await,
        StatusCode::BAD_REQUEST
    );
}

/// A browser allowed by `name`'s rule in the clinic, if any role is.
async fn caller_for(addr: std::net::SocketAddr, name: &str) -> Option<Browser> {
    match server_function_rule(&format!("/api/{name}"))? {
        Rule::Patient => Some(patient_of(addr, "acme").await),
        Rule::Staff(Some(p)) => {
            let role = Role::ALL.iter().copied().find(|r| r.can(p))?;
            Some(staff_of(addr, "acme", role).await)
        }
        Rule::Staff(None) => Some(staff_of(addr, "acme", Role::Owner).await),
        _ => None,
    }
}

async fn every_record_write_is_refused_while_read_only_and_every_read_stays_open(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    crate::chart::raw_pool(t)
        .await
        .execute(&format!(
            "UPDATE tenants SET payment_failed_at = '{}', read_only_from = '{}' WHERE slug = 'acme'",
            (Utc::now() - Duration::days(20)).to_rfc3339(),
            (Utc::now() - Duration::days(6)).to_rfc3339(),
        ))
        .await
        .expect("in arrears");
    let addr = server::start(&t.db, |_| {}).await;
    for name in RECORD_WRITES {
        let caller = caller_for(addr, name).await.expect("someone may call it");
        let r = caller.api("acme", name, &[]).await;
        assert_eq!(r.status, StatusCode::PAYMENT_REQUIRED, "{name}: {}", r.body);
    }
    for name in OPEN_WHILE_READ_ONLY {
        let caller = caller_for(addr, name).await.expect("someone may call it");
        let r = caller.api("acme", name, &[]).await;
        assert_ne!(r.status, StatusCode::PAYMENT_REQUIRED, "{name}: {}", r.body);
    }
    // Patients are not told about the clinic's account with MediSync.
    let patient = patient_of(addr, "acme").await;
    let r = patient.api("acme", "request_refill", &[]).await;
    assert!(r.body.contains("contact the clinic"), "{}", r.body);
    assert!(!r.body.contains("MediSync"), "{}", r.body);
    // Billing and export stay open: the clinic can collect and leave.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    assert_eq!(
        billing.api("acme", "recent_invoices", &[]).await.status,
        StatusCode::OK
    );
}

const RZP_KEY: &str = "rzp_test_PlatformKey01";
const RZP_SECRET: &str = "platform_key_secret_0001";
const RZP_WEBHOOK: &str = "platform_webhook_secret_01";

/// The platform charging through Razorpay Subscriptions: a Razorpay plan per
/// MediSync plan and interval, the owner authorising on Razorpay's page, and
/// Razorpay's signed events driving the same dunning as Stripe's.
async fn through_razorpay_a_clinic_subscribes_falls_into_arrears_is_halted_and_paying_restores_it(
    t: &TestDb,
) {
    use support::razorpay_billing::{signed, Event as RazorpayEvent, FakeRazorpayBilling};
    let clinic = staffed_clinic(&t.db, "acme").await;
    let fake = FakeRazorpayBilling::start(RZP_KEY, RZP_SECRET).await;
    let api = fake.url();
    let addr = server::start(&t.db, |c| {
        c.razorpay_api = api;
        c.subscriptions_provider = app::payments::Provider::Razorpay;
        c.subscriptions_razorpay = Some((RZP_KEY.into(), RZP_SECRET.into(), RZP_WEBHOOK.into()));
    })
    .await;
    let hook = format!(
        "http://{addr}{}",
        app::plans::subscriptions::RAZORPAY_WEBHOOK_PATH
    );
    let send = |event: RazorpayEvent, id: &'static str| {
        let hook = hook.clone();
        async move {
            let (body, signature) = signed(&event, RZP_WEBHOOK);
            deliver(
                &hook,
                &body,
                &[
                    ("x-razorpay-signature", signature),
                    ("x-razorpay-event-id", id.to_owned()),
                ],
            )
            .await
        }
    };
    let owner = staff_of(addr, "acme", Role::Owner).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;

    // The owner subscribes yearly: a yearly Razorpay plan at ten months' price,
    // a subscription naming the clinic, and Razorpay's page to authorise it.
    let url = owner
        .api_ok(
            "acme",
            "subscribe",
            &[("plan", "professional"), ("interval", "year")],
        )
        .await;
    let url = url.as_str().expect("Razorpay's page").to_owned();
    assert!(url.starts_with("https://rzp.io/"), "{url}");
    let plans = fake.plan_requests();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0]["period"], "yearly");
    assert_eq!(plans[0]["item"]["amount"], 299_000);
    let created = &fake.subscription_requests()[0];
    assert_eq!(created["notes"]["tenant"], clinic.tenant.id.to_string());
    assert_eq!(created["total_count"], 10);
    let sub = fake.subscription_of_url(&url);
    assert_eq!(plan(&owner).await["subscription"]["status"], "Checkout");

    // Authorised 40 days ago and charged: active, paid a year on.
    let mut steps = fake.authorise(&sub, ago(40)).into_iter();
    for (event, id) in [
        (steps.next().expect("activated"), "evt_rzp_1"),
        (steps.next().expect("charged"), "evt_rzp_2"),
    ] {
        assert_eq!(send(event, id).await, StatusCode::OK);
    }
    let p = plan(&owner).await;
    assert_eq!(p["plan"]["id"], "professional", "{p}");
    assert_eq!(p["subscription"]["status"], "Active", "{p}");
    assert_eq!(p["subscription"]["invoices"][0]["paid"], true, "{p}");

    // A plan change moves the subscription to Enterprise's (new) Razorpay plan now.
    owner
        .api_ok("acme", "choose_plan", &[("plan", "enterprise")])
        .await;
    let update = &fake.updates()[0];
    assert_eq!(update["schedule_change_at"], "now");
    assert_eq!(fake.plan_requests().len(), 2);
    assert_eq!(plan(&owner).await["plan"]["id"], "enterprise");
    // The card is changed on Razorpay's subscription page.
    let card = owner.api_ok("acme", "subscription_card_page", &[]).await;
    assert_eq!(card.as_str(), Some(url.as_str()));

    // A charge fails 20 days ago (past the 14-day grace): read-only.
    // Tampered or unsigned, it is refused and changes nothing; twice, once.
    let failed = fake.charge_fails(&sub, ago(20));
    let (body, signature) = signed(&failed, RZP_WEBHOOK);
    let tampered = body.replace("pending", "halted");
    assert_eq!(
        deliver(
            &hook,
            &tampered,
            &[("x-razorpay-signature", signature.clone())]
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(deliver(&hook, &body, &[]).await, StatusCode::BAD_REQUEST);
    assert!(plan(&owner).await["subscription"]["failed_on"].is_null());
    // The id header is not signed: the same body under a new id is seen once.
    for id in ["evt_rzp_fail", "evt_rzp_fail", "evt_rzp_replayed"] {
        let headers = [
            ("x-razorpay-signature", signature.clone()),
            ("x-razorpay-event-id", id.to_owned()),
        ];
        assert_eq!(deliver(&hook, &body, &headers).await, StatusCode::OK);
    }
    let raw = crate::chart::raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM subscription_events WHERE kind = 'subscription.pending'")
            .await,
        1
    );
    let p = plan(&owner).await;
    assert_eq!(p["subscription"]["status"], "PastDue", "{p}");
    assert_eq!(p["subscription"]["read_only"], true, "{p}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = register(&desk, "Halted").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");

    // Razorpay halts it: suspended. A retry paid: restored at once.
    assert_eq!(
        send(fake.halts(&sub, ago(1)), "evt_rzp_halt").await,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(fake.retry_paid(&sub, ago(0)), "evt_rzp_paid").await,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert_eq!(page.status, StatusCode::OK, "restored");
    assert_eq!(register(&desk, "Restored").await.0, StatusCode::OK);
    let p = plan(&owner).await;
    assert_eq!(p["subscription"]["status"], "Active", "{p}");
    assert!(p["subscription"]["failed_on"].is_null(), "{p}");

    // A Stripe-signed body at Razorpay's address is not believed.
    let (body, header) = signed_stripe();
    assert_eq!(
        deliver(&hook, &body, &[("stripe-signature", header)]).await,
        StatusCode::BAD_REQUEST
    );
}

fn signed_stripe() -> (String, String) {
    let event = Event {
        kind: "invoice.paid",
        object: serde_json::json!({"id": "in_x"}),
        created: ago(0),
    };
    signed("evt_x", &event, WHSEC)
}

//! Clinic self-service over real HTTP on both databases: sign-up, plan limits and
//! features, branding (colors, logo upload, manifest, favicon), settings, custom
//! domains, suspension, support sessions and the trial clock.

use crate::support;

use reqwest::StatusCode;

use app::identity::{self, Role};
use app::plans::PlanId;
use app::tenancy::{self, TenantStatus};
use support::fixtures::{self, staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    sign_up_answers_every_address_alike_and_the_emailed_link_signs_the_owner_in,
    the_address_check_explains_and_suggests,
    the_eleventh_user_on_starter_is_refused_with_the_upgrade_path,
    features_outside_the_plan_answer_402,
    branding_is_checked_saved_and_served_everywhere,
    logo_uploads_are_checked_resized_stored_and_served,
    settings_are_validated_and_dates_follow_them,
    a_custom_domain_routes_to_its_clinic,
    suspension_blocks_the_clinic_until_reactivated,
    support_sessions_are_time_bound_visible_and_audited,
    the_trial_clock_reminds_then_suspends_unless_paid,
    operators_manage_plans_and_clinics_keep_retired_ones,
    server_requests_are_counted_per_clinic_and_month,
);

const OWNER_PASSWORD: &str = "a quiet river at dawn";

pub async fn sign_up(b: &Browser, slug: &str, email: &str, plan: &str) -> server::Reply {
    b.call(
        "localhost",
        "/api/sign_up",
        &[
            ("clinic_name", "Harbor Family Care"),
            ("kind", "practice"),
            ("slug", slug),
            ("owner_name", "Ana Owner"),
            ("email", email),
            ("password", OWNER_PASSWORD),
            ("plan", plan),
            ("terms", "on"),
        ],
    )
    .await
}

pub async fn tenant(t: &TestDb, slug: &str) -> tenancy::Tenant {
    let mut tx = t.db.begin_platform_read().await.expect("begin");
    tenancy::db::find_by_slug(&mut tx, &tenancy::Slug::parse(slug).expect("slug"))
        .await
        .expect("read")
        .expect("tenant exists")
}

/// The newest email to `to`.
pub async fn last_mail_to(t: &TestDb, to: &str) -> app::mail::StoredMessage {
    app::mail::recent(&t.db, 50)
        .await
        .expect("mail")
        .into_iter()
        .find(|m| m.to_address == to)
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

/// The token after `marker` in an email's text.
pub fn token_in(text: &str, marker: &str) -> String {
    text.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {marker} in {text}"))
        .to_owned()
}

/// Signs a clinic up and follows the emailed link, so `b` is its signed-in owner.
pub async fn sign_up_confirmed(t: &TestDb, b: &Browser, slug: &str, email: &str, plan: &str) {
    let r = sign_up(b, slug, email, plan).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mail = last_mail_to(t, email).await;
    let token = token_in(&mail.text_body, &format!("/t/{slug}/verify-email?token="));
    let verified = b
        .call(
            "localhost",
            &format!("/t/{slug}/api/verify_email"),
            &[("token", &token)],
        )
        .await;
    assert_eq!(
        verified.json(),
        serde_json::json!(format!("/t/{slug}/staff?welcome=1")),
        "{}",
        verified.body
    );
}

pub fn field_of(reply: &server::Reply) -> String {
    reply.json()["Field"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn sign_up_answers_every_address_alike_and_the_emailed_link_signs_the_owner_in(t: &TestDb) {
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);

    // Every field is checked and named.
    for (field, form) in [
        ("clinic_name", [("clinic_name", " "), ("terms", "on")]),
        ("slug", [("clinic_name", "Harbor"), ("terms", "on")]),
    ] {
        let mut all = vec![
            ("kind", "clinic"),
            ("slug", "Bad Slug"),
            ("owner_name", "Ana"),
            ("email", "ana@harbor.example"),
            ("password", OWNER_PASSWORD),
            ("plan", "starter"),
        ];
        all.extend(form);
        let r = b.call("localhost", "/api/sign_up", &all).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(field_of(&r), field, "{}", r.body);
    }
    let no_terms = b
        .call(
            "localhost",
            "/api/sign_up",
            &[
                ("clinic_name", "Harbor"),
                ("kind", "clinic"),
                ("slug", "harbor"),
                ("owner_name", "Ana"),
                ("email", "ana@harbor.example"),
                ("password", OWNER_PASSWORD),
                ("plan", "starter"),
            ],
        )
        .await;
    assert_eq!(field_of(&no_terms), "terms", "{}", no_terms.body);
    let weak = b
        .call(
            "localhost",
            "/api/sign_up",
            &[
                ("clinic_name", "Harbor"),
                ("kind", "clinic"),
                ("slug", "harbor"),
                ("owner_name", "Ana"),
                ("email", "ana@harbor.example"),
                ("password", "short"),
                ("plan", "starter"),
                ("terms", "on"),
            ],
        )
        .await;
    assert_eq!(field_of(&weak), "password", "{}", weak.body);
    // Nothing was created by the refused attempts.
    let mut tx = t.db.begin_platform_read().await.expect("begin");
    assert_eq!(tenancy::db::count(&mut tx).await.expect("count"), 0);
    drop(tx);

    let done = sign_up(&b, "harbor", "ana@harbor.example", "professional").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json(), serde_json::json!("/signup/sent"));

    let created = tenant(t, "harbor").await;
    assert_eq!(created.status, TenantStatus::Trial);
    assert_eq!(created.plan.as_str(), "professional");
    let days = (created.trial_ends_at.expect("trial end") - chrono::Utc::now()).num_days();
    assert!((13..=14).contains(&days), "trial of {days} days");

    // Until the emailed link proves the address, the password opens nothing
    // (exactly like an address that never signed up).
    let early = b
        .sign_in(
            "localhost",
            "/t/harbor",
            "ana@harbor.example",
            OWNER_PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );

    // The email links to the clinic's own address; the link proves the address
    // and signs the owner in, on the new clinic.
    let message = last_mail_to(t, "ana@harbor.example").await;
    assert!(
        message.subject.contains("Harbor Family Care"),
        "{}",
        message.subject
    );
    let token = token_in(&message.text_body, "/t/harbor/verify-email?token=");
    let verified = b
        .call(
            "localhost",
            "/t/harbor/api/verify_email",
            &[("token", &token)],
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(
        verified.json(),
        serde_json::json!("/t/harbor/staff?welcome=1")
    );
    let used_again = Browser::new(addr)
        .call(
            "localhost",
            "/t/harbor/api/verify_email",
            &[("token", &token)],
        )
        .await;
    assert_eq!(used_again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let dashboard = b.get("localhost", "/t/harbor/staff?welcome=1").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.location());
    assert!(dashboard.body.contains("Signed in as Ana Owner (owner)"));
    assert!(
        dashboard.body.contains(r#"data-testid="trial-banner""#),
        "the owner sees the trial's end"
    );
    let checklist = b
        .call("localhost", "/t/harbor/api/onboarding_checklist", &[])
        .await;
    assert_eq!(checklist.status, StatusCode::OK, "{}", checklist.body);
    let list = checklist.json();
    assert_eq!(list["email_verified"], true);
    let steps: Vec<(String, bool)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap_or_default().to_owned(),
                i["done"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        steps,
        ["branding", "invite", "doctor", "patient"]
            .map(|k| (k.to_owned(), false))
            .to_vec(),
        "only steps that can be done today"
    );
    assert_eq!(list["dismissed"], false);
    // The checklist is rendered with the page, and can be hidden for good.
    assert!(dashboard.body.contains(r#"data-testid="onboarding""#));
    let hidden = b
        .call("localhost", "/t/harbor/api/dismiss_checklist", &[])
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    let checklist = b
        .call("localhost", "/t/harbor/api/onboarding_checklist", &[])
        .await;
    assert_eq!(checklist.json()["dismissed"], true);
    let dashboard = b.get("localhost", "/t/harbor/staff").await;
    assert!(!dashboard.body.contains(r#"data-testid="onboarding""#));
    let counts = b
        .call("localhost", "/t/harbor/api/dashboard_counts", &[])
        .await;
    assert_eq!(counts.json()["active_staff"], 1, "{}", counts.body);
    assert_eq!(counts.json()["patients"], 0, "{}", counts.body);
    // From now on the password works as usual.
    let later = Browser::new(addr)
        .sign_in(
            "localhost",
            "/t/harbor",
            "ana@harbor.example",
            OWNER_PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);

    // Its audit log starts with the creation; the address is now taken.
    let audit = b.call("localhost", "/t/harbor/api/list_audit", &[]).await;
    assert!(audit.body.contains("clinic.created"), "{}", audit.body);
    let taken = sign_up(
        &Browser::new(addr),
        "harbor",
        "bo@harbor.example",
        "starter",
    )
    .await;
    assert_eq!(field_of(&taken), "slug");
    assert!(
        taken.body.contains("harbor-2"),
        "suggests a free address: {}",
        taken.body
    );

    // An address that already has an account gets the very same answer, whatever
    // password was typed; nothing about the account changes, and the clinic
    // waits for its owner to accept with the account's own password.
    for (slug, password) in [
        ("harbor-east", "not the password she has"),
        ("harbor-west", OWNER_PASSWORD),
    ] {
        let visitor = Browser::new(addr);
        let r = visitor
            .call(
                "localhost",
                "/api/sign_up",
                &[
                    ("clinic_name", "Harbor East"),
                    ("kind", "clinic"),
                    ("slug", slug),
                    ("owner_name", "Ana Owner"),
                    ("email", "ana@harbor.example"),
                    ("password", password),
                    ("plan", "starter"),
                    ("terms", "on"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json(), serde_json::json!("/signup/sent"));
        assert_eq!(
            visitor
                .get("localhost", &format!("/t/{slug}/staff"))
                .await
                .status,
            StatusCode::SEE_OTHER,
            "a password alone opens no session"
        );
    }
    let invitation = last_mail_to(t, "ana@harbor.example").await;
    assert!(
        invitation.subject.contains("Add your new clinic"),
        "{}",
        invitation.subject
    );
    let token = token_in(&invitation.text_body, "/t/harbor-west/invite?token=");
    let wrong = Browser::new(addr)
        .call(
            "localhost",
            "/t/harbor-west/api/accept_invitation",
            &[("token", &token), ("password", "not the password she has")],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let existing = Browser::new(addr);
    let accepted = existing
        .call(
            "localhost",
            "/t/harbor-west/api/accept_invitation",
            &[("token", &token), ("password", OWNER_PASSWORD)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let west = existing.get("localhost", "/t/harbor-west/staff").await;
    assert_eq!(west.status, StatusCode::OK);
    assert!(
        west.body.contains("(owner)"),
        "the account owns the new clinic"
    );
    // The first password still works: the second sign-up did not replace it.
    assert_eq!(
        Browser::new(addr)
            .sign_in(
                "localhost",
                "/t/harbor",
                "ana@harbor.example",
                OWNER_PASSWORD,
                "staff",
            )
            .await
            .status,
        StatusCode::OK
    );

    // Sign-up exists only on the platform's address.
    let on_tenant = b.call("harbor.localhost", "/api/sign_up", &[]).await;
    assert!(on_tenant.status.is_client_error(), "{}", on_tenant.status);
}

async fn the_address_check_explains_and_suggests(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let check = |slug: &'static str| {
        let b = &b;
        async move {
            let r = b
                .call("localhost", "/api/check_slug", &[("slug", slug)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.json()
        }
    };
    let free = check("brand-new").await;
    assert_eq!(free["available"], true);
    assert!(free["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("brand-new.localhost"));
    let taken = check("acme").await;
    assert_eq!(taken["available"], false);
    assert_eq!(taken["suggestion"], "acme-2");
    let upper = check("Acme Clinic").await;
    assert_eq!(upper["available"], false);
    assert!(upper["message"]
        .as_str()
        .unwrap_or_default()
        .contains("lowercase"));
    assert_eq!(upper["suggestion"], "acme-clinic");
    let reserved = check("admin").await;
    assert!(reserved["message"]
        .as_str()
        .unwrap_or_default()
        .contains("reserved"));
    assert_eq!(reserved["suggestion"], "admin-clinic");
    let short = check("ab").await;
    assert!(short["message"]
        .as_str()
        .unwrap_or_default()
        .contains("3 to 40"));
}

pub async fn set_plan(t: &TestDb, slug: &str, plan: &str) {
    let tenant = tenant(t, slug).await;
    let mut tx = t.db.begin_platform().await.expect("begin");
    app::plans::db::set_tenant_plan(&mut tx, tenant.id, &PlanId::parse(plan).expect("plan"))
        .await
        .expect("plan");
    tx.commit().await.expect("commit");
}

pub async fn owner_of(addr: std::net::SocketAddr, slug: &str) -> Browser {
    staff_of(addr, slug, Role::Owner).await
}

/// Registers a patient at `slug` through the front desk's form (`more` adds
/// fields, or overrides these); answers the new record's id.
pub async fn register(
    b: &Browser,
    slug: &str,
    given: &str,
    family: &str,
    birth: &str,
    more: &[(&str, &str)],
) -> String {
    let mut form: Vec<(&str, &str)> = vec![
        ("given_name", given),
        ("family_name", family),
        ("birth_date", birth),
        ("sex", "female"),
        ("confirm_new", "yes"),
    ];
    for (k, v) in more {
        form.retain(|(key, _)| key != k);
        form.push((k, v));
    }
    let r = b
        .call(
            "localhost",
            &format!("/t/{slug}/api/register_patient"),
            &form,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
        .as_str()
        .and_then(|landing| landing.rsplit('/').next())
        .expect("the new chart's address")
        .to_owned()
}

/// The fixture clinic's portal patient, signed in at `slug`'s portal.
pub async fn patient_of(addr: std::net::SocketAddr, slug: &str) -> Browser {
    let b = Browser::new(addr);
    let r = b
        .sign_in(
            "localhost",
            &format!("/t/{slug}"),
            &crate::support::fixtures::patient_email(slug),
            PASSWORD,
            "patient",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    b
}

/// A browser signed in as the fixture clinic's member with `role`.
pub async fn staff_of(addr: std::net::SocketAddr, slug: &str, role: Role) -> Browser {
    let b = Browser::new(addr);
    let r = b
        .sign_in(
            "localhost",
            &format!("/t/{slug}"),
            &staff_email(role, slug),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    b
}

/// The staff-list id of the member with `email`, as `owner` sees it.
pub async fn member_id(owner: &Browser, slug: &str, email: &str) -> String {
    let staff = owner
        .call("localhost", &format!("/t/{slug}/api/list_staff"), &[])
        .await;
    staff
        .json()
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["email"] == email)
        .and_then(|m| m["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is not on the staff: {}", staff.body))
        .to_owned()
}

async fn the_eleventh_user_on_starter_is_refused_with_the_upgrade_path(t: &TestDb) {
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    sign_up_confirmed(t, &b, "small", "owner@small.example", "starter").await;
    // The owner is user 1; nine invitations make ten.
    for n in 2..=10 {
        let email = format!("staff{n}@small.example");
        let r = b
            .call(
                "localhost",
                "/t/small/api/invite_staff",
                &[("email", &email), ("role", "nurse")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "user {n}: {}", r.body);
    }
    let eleventh = b
        .call(
            "localhost",
            "/t/small/api/invite_staff",
            &[("email", "staff11@small.example"), ("role", "doctor")],
        )
        .await;
    assert_eq!(
        eleventh.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        eleventh.body
    );
    let message = eleventh.json()["Upgrade"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("Starter plan includes 10 users"),
        "{message}"
    );
    assert!(
        message.contains("Upgrade to Professional (50 users"),
        "{message}"
    );
    // Nothing half-created: no invitation, no email for the refused person.
    let mail = app::mail::recent(&t.db, 50).await.expect("mail");
    assert!(!mail.iter().any(|m| m.to_address == "staff11@small.example"));
    let usage = b.call("localhost", "/t/small/api/plan_usage", &[]).await;
    assert_eq!(usage.json()["usage"]["users"], 1, "{}", usage.body);

    // During the trial the owner may move up, and then there is room.
    let up = b
        .call(
            "localhost",
            "/t/small/api/choose_plan",
            &[("plan", "professional")],
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let now = b
        .call(
            "localhost",
            "/t/small/api/invite_staff",
            &[("email", "staff11@small.example"), ("role", "doctor")],
        )
        .await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.body);
    // Moving back down would leave eleven seats on a ten-user plan.
    let down = b
        .call(
            "localhost",
            "/t/small/api/choose_plan",
            &[("plan", "starter")],
        )
        .await;
    assert_eq!(
        down.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        down.body
    );
}

async fn features_outside_the_plan_answer_402(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    set_plan(t, "acme", "starter").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = owner_of(addr, "acme").await;
    let refused = b.call("localhost", "/t/acme/api/clinic_report", &[]).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Reports is not part of this clinic"),
        "{}",
        refused.body
    );
    let dashboard = b.get("localhost", "/t/acme/staff").await;
    assert!(
        dashboard.body.contains("upgrade"),
        "the navigation offers the upgrade"
    );
    set_plan(t, "acme", "professional").await;
    let allowed = b.call("localhost", "/t/acme/api/clinic_report", &[]).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(allowed.json()["patients"], 1);
}

async fn branding_is_checked_saved_and_served_everywhere(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = owner_of(addr, "acme").await;
    let save = |primary: &'static str, accent: &'static str| {
        let b = &b;
        async move {
            b.call(
                "localhost",
                "/t/acme/api/save_branding",
                &[
                    ("primary_color", primary),
                    ("accent_color", accent),
                    ("sign_in_headline", "Welcome to Harbor"),
                    ("welcome_text", "Sign in to see today's list."),
                    ("support_phone", "+1 555 0100"),
                    ("support_email", "help@acme.example"),
                ],
            )
            .await
        }
    };
    // Mid grey reaches neither 4.5:1 with white nor with dark text.
    let grey = save("#777777", "#0e7490").await;
    assert_eq!(
        grey.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        grey.body
    );
    assert_eq!(field_of(&grey), "primary_color");
    assert!(grey.body.contains("4.5:1"), "{}", grey.body);
    let bad_accent = save("#1e3a8a", "#7a7a7a").await;
    assert_eq!(field_of(&bad_accent), "accent_color", "{}", bad_accent.body);
    let not_color = save("red", "#0e7490").await;
    assert_eq!(field_of(&not_color), "primary_color");
    // A nurse may not touch branding.
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let denied = nurse
        .call("localhost", "/t/acme/api/save_branding", &[])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let ok = save("#1e3a8a", "#fef08a").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A stranger's first paint carries the new colors and texts, on every address.
    for (host, path) in [("localhost", "/t/acme/"), ("acme.localhost", "/")] {
        let page = Browser::new(addr).get(host, path).await;
        let head = page.body.split("</head>").next().unwrap_or_default();
        assert!(head.contains("--brand-primary:#1e3a8a"), "{host}{path}");
        assert!(head.contains("--brand-on-primary:#ffffff"));
        assert!(
            head.contains("--brand-on-accent:#111827"),
            "dark text on the light accent"
        );
        assert!(head.contains(r##"name="theme-color" content="#1e3a8a""##));
        assert!(page.body.contains("Welcome to Harbor"));
        assert!(
            page.body.contains("help@acme.example"),
            "support contact on the sign-in page"
        );
    }
    let manifest = Browser::new(addr)
        .get("acme.localhost", "/manifest.webmanifest")
        .await;
    assert_eq!(manifest.json()["theme_color"], "#1e3a8a");
    // Emails sent from now on use the colors.
    let invite = b
        .call(
            "localhost",
            "/t/acme/api/invite_staff",
            &[("email", "new@acme.example"), ("role", "nurse")],
        )
        .await;
    assert_eq!(invite.status, StatusCode::OK, "{}", invite.body);
    let mail = app::mail::recent(&t.db, 5).await.expect("mail");
    assert!(mail[0].html_body.contains("#1e3a8a"));
    // Reset brings the defaults back.
    let reset = b.call("localhost", "/t/acme/api/reset_branding", &[]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let page = Browser::new(addr).get("acme.localhost", "/").await;
    assert!(page.body.contains("--brand-primary:#4338ca"));
    let audit = b
        .call(
            "localhost",
            "/t/acme/api/list_audit",
            &[("action", "branding")],
        )
        .await;
    assert!(audit.body.contains("branding.changed") && audit.body.contains("branding.reset"));
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x % 255) as u8, (y % 255) as u8, 90, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

pub async fn upload(
    b: &Browser,
    host: &str,
    path: &str,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> server::Reply {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime");
    let form = reqwest::multipart::Form::new().part("logo", part);
    let res = b
        .client
        .post(format!("http://{}{path}", b.addr))
        .header("host", format!("{host}:{}", b.addr.port()))
        .header("origin", format!("http://{host}:{}", b.addr.port()))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let headers = res.headers().clone();
    server::Reply {
        status,
        headers,
        body: res.text().await.expect("body"),
    }
}

async fn logo_uploads_are_checked_resized_stored_and_served(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = owner_of(addr, "acme").await;
    let path = "/t/acme/api/upload_logo";

    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>"#.to_vec();
    let refused = upload(&b, "localhost", path, svg, "logo.png", "image/png").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("SVG"), "{}", refused.body);
    let text = upload(
        &b,
        "localhost",
        path,
        b"hello".to_vec(),
        "logo.png",
        "image/png",
    )
    .await;
    assert!(
        text.body.contains("not a PNG, JPEG or WebP"),
        "{}",
        text.body
    );
    // A content type the multipart decoder could not parse is refused cleanly.
    for content_type in [
        "multipart/form-data; x-boundary=1",
        "multipart/form-datax; boundary=a",
        "multipart/form-data; boundary=\"",
        "application/json",
    ] {
        let res = b
            .client
            .post(format!("http://{}{path}", b.addr))
            .header("host", format!("localhost:{}", b.addr.port()))
            .header("origin", format!("http://localhost:{}", b.addr.port()))
            .header("content-type", content_type)
            .body("--a--")
            .send()
            .await
            .expect("answered, not dropped");
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{content_type}"
        );
    }
    let big = upload(
        &b,
        "localhost",
        path,
        vec![7u8; 1024 * 1024 + 10],
        "big.png",
        "image/png",
    )
    .await;
    assert!(big.body.contains("1 MB"), "{}", big.body);

    let done = upload(
        &b,
        "localhost",
        path,
        png(600, 200),
        "logo.png",
        "image/png",
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let branding = done.json();
    let logo = branding["logo_url"].as_str().expect("logo url").to_owned();
    let icon = branding["icon_url"].as_str().expect("icon url").to_owned();
    let large = branding["icon_large_url"]
        .as_str()
        .expect("large icon")
        .to_owned();
    let acme = tenant(t, "acme").await;
    assert!(logo.starts_with(&format!("/brand/{}/", acme.id)), "{logo}");

    // Served as PNG at the promised sizes, from any address, cacheable forever.
    for (url, size) in [
        (&logo, (288, 96)),
        (&icon, (192, 192)),
        (&large, (512, 512)),
    ] {
        let res = b
            .client
            .get(format!("http://{}{url}", addr))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        assert_eq!(res.headers()["content-type"], "image/png");
        assert!(res.headers()["cache-control"]
            .to_str()
            .unwrap_or_default()
            .contains("immutable"));
        let bytes = res.bytes().await.expect("bytes");
        let img = image::load_from_memory(&bytes).expect("a png");
        assert_eq!((img.width(), img.height()), size, "{url}");
    }
    // Another tenant's id with this file name finds nothing.
    let globex = tenant(t, "globex").await;
    let file = logo.rsplit('/').next().unwrap_or_default();
    let cross = Browser::new(addr)
        .get("localhost", &format!("/brand/{}/{file}", globex.id))
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    let traversal = Browser::new(addr)
        .get("localhost", &format!("/brand/{}/..%2F..%2Fsecret", acme.id))
        .await;
    assert_eq!(traversal.status, StatusCode::NOT_FOUND);

    // The head, favicon and manifest use it.
    let page = Browser::new(addr).get("acme.localhost", "/").await;
    assert!(
        page.body
            .contains(&format!(r#"<link rel="icon" href="{icon}""#)),
        "favicon"
    );
    assert!(page.body.contains(&logo), "logo on the sign-in page");
    let manifest = Browser::new(addr)
        .get("acme.localhost", "/manifest.webmanifest")
        .await
        .json();
    let icons = manifest["icons"].as_array().expect("icons").clone();
    assert_eq!(icons[0]["src"], icon.as_str());
    assert_eq!(icons[1]["src"], large.as_str());
    assert_eq!(icons[1]["sizes"], "512x512");
    // Storage counts against the plan.
    let usage = b
        .call("localhost", "/t/acme/api/plan_usage", &[])
        .await
        .json();
    assert!(usage["usage"]["storage_bytes"].as_i64().unwrap_or_default() > 1000);

    // Removing the logo deletes the files.
    let removed = b.call("localhost", "/t/acme/api/remove_logo", &[]).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let gone = Browser::new(addr).get("localhost", &logo).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn settings_are_validated_and_dates_follow_them(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = owner_of(addr, "acme").await;
    let save = |tz: &'static str, days: &'static str| {
        let b = &b;
        async move {
            b.call(
                "localhost",
                "/t/acme/api/save_clinic_settings",
                &[
                    ("name", "Acme Care"),
                    ("timezone", tz),
                    ("currency", "EUR"),
                    ("language", "en-GB"),
                    ("date_format", "%d/%m/%Y"),
                    ("days", days),
                ],
            )
            .await
        }
    };
    let bad_zone = save("Mars/Olympus", "mon,tue").await;
    assert_eq!(field_of(&bad_zone), "timezone", "{}", bad_zone.body);
    let no_days = save("Europe/Lisbon", "").await;
    assert_eq!(field_of(&no_days), "working_days", "{}", no_days.body);
    let ok = save("Asia/Tokyo", "mon,wed,fri,sat").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let stored = tenant(t, "acme").await;
    assert_eq!(stored.name, "Acme Care");
    assert_eq!(stored.settings.timezone, "Asia/Tokyo");
    assert_eq!(stored.settings.working_days, "mon,wed,fri,sat");
    let page = Browser::new(addr).get("acme.localhost", "/").await;
    assert!(page.body.contains(r#"<html lang="en-GB""#));
    // The audit page's times are in Tokyo time and the chosen format.
    let audit = b
        .call("localhost", "/t/acme/api/list_audit", &[])
        .await
        .json();
    let when = audit[0]["when"].as_str().unwrap_or_default().to_owned();
    let expected = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%d/%m/%Y")
        .to_string();
    assert!(
        when.starts_with(&expected) && when.ends_with("JST"),
        "{when}"
    );
}

async fn a_custom_domain_routes_to_its_clinic(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let (dns, zone) = support::dns::start().await;
    let addr = server::start(&t.db, |c| c.dns_server = Some(dns)).await;
    let b = owner_of(addr, "acme").await;
    let set = |domain: &'static str| {
        let b = &b;
        async move {
            b.call(
                "localhost",
                "/t/acme/api/set_custom_domain",
                &[("domain", domain)],
            )
            .await
        }
    };
    for bad in ["not a domain", "acme..com", "globex.localhost"] {
        let r = set(bad).await;
        assert_eq!(field_of(&r), "domain", "{bad}: {}", r.body);
    }
    let ok = set("HTTPS://Portal.Acme-Clinic.test/").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let setup = ok.json();
    assert_eq!(setup["domain"], "portal.acme-clinic.test");
    assert_eq!(setup["target"], "acme.localhost");
    assert_eq!(setup["verified"], false);
    assert_eq!(
        setup["txt_name"],
        "_medisync-verification.portal.acme-clinic.test"
    );
    let txt_value = setup["txt_value"].as_str().expect("txt value").to_owned();
    assert!(
        txt_value.starts_with("medisync-verification="),
        "{txt_value}"
    );

    // Until the TXT record is there, the domain serves nothing.
    let unproven = Browser::new(addr).get("portal.acme-clinic.test", "/").await;
    assert_eq!(unproven.status, StatusCode::NOT_FOUND);
    let early = b
        .call("localhost", "/t/acme/api/verify_custom_domain", &[])
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );
    assert!(early.body.contains("was not found yet"), "{}", early.body);
    zone.set_txt(
        "_medisync-verification.portal.acme-clinic.test",
        "medisync-verification=someone-elses-token",
    );
    let wrong = b
        .call("localhost", "/t/acme/api/verify_custom_domain", &[])
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    zone.set_txt("_medisync-verification.portal.acme-clinic.test", &txt_value);
    let proven = b
        .call("localhost", "/t/acme/api/verify_custom_domain", &[])
        .await;
    assert_eq!(proven.status, StatusCode::OK, "{}", proven.body);
    assert_eq!(proven.json()["verified"], true);

    let page = Browser::new(addr).get("portal.acme-clinic.test", "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("acme clinic"),
        "the clinic's sign-in page"
    );
    // Another clinic cannot take it.
    let globex = owner_of(addr, "globex").await;
    let clash = globex
        .call(
            "localhost",
            "/t/globex/api/set_custom_domain",
            &[("domain", "portal.acme-clinic.test")],
        )
        .await;
    assert_eq!(field_of(&clash), "domain", "{}", clash.body);
    // Clearing it stops the routing.
    let cleared = set("").await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let after = Browser::new(addr).get("portal.acme-clinic.test", "/").await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
}

const OPERATOR_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A super admin or support operator, signed in on the platform site (with a
/// one-time recovery code as the second factor).
pub async fn operator(
    t: &TestDb,
    addr: std::net::SocketAddr,
    email: &str,
    role: identity::permissions::PlatformRole,
) -> Browser {
    fixtures::operator_account(
        &t.db,
        email,
        role,
        OPERATOR_SECRET,
        &["op-code-1".to_owned()],
    )
    .await;
    let b = Browser::new(addr);
    let first = b
        .sign_in("localhost", "", email, PASSWORD, "platform")
        .await;
    assert_eq!(
        first.json(),
        serde_json::json!("SecondFactor"),
        "{}",
        first.body
    );
    let second = b
        .call("localhost", "/api/second_factor", &[("code", "op-code-1")])
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    b
}

async fn suspension_blocks_the_clinic_until_reactivated(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let op = operator(
        t,
        addr,
        "op@medisync.example",
        identity::permissions::PlatformRole::SuperAdmin,
    )
    .await;
    let support = operator(
        t,
        addr,
        "support@medisync.example",
        identity::permissions::PlatformRole::Support,
    )
    .await;
    let acme = tenant(t, "acme").await;
    let id = acme.id.to_string();

    let found = op
        .call(
            "localhost",
            "/api/list_tenants",
            &[("search", "ACM"), ("status", "active")],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.json()[0]["slug"], "acme");
    let none = op
        .call("localhost", "/api/list_tenants", &[("status", "suspended")])
        .await;
    assert_eq!(none.json(), serde_json::json!([]));
    let bad_date = op
        .call(
            "localhost",
            "/api/list_tenants",
            &[("created_from", "yesterday")],
        )
        .await;
    assert_eq!(field_of(&bad_date), "created_from");
    let far = op
        .call(
            "localhost",
            "/api/list_tenants",
            &[("created_to", "+262142-12-31")],
        )
        .await;
    assert_eq!(field_of(&far), "created_to", "{}", far.body);
    // An operator's address cannot own a clinic; sign-up does not say so on the
    // page (it answers every address alike), the email does, and the invitation
    // it carries cannot be accepted.
    let op_signup = sign_up(
        &Browser::new(addr),
        "ops-clinic",
        "op@medisync.example",
        "starter",
    )
    .await;
    assert_eq!(
        op_signup.json(),
        serde_json::json!("/signup/sent"),
        "{}",
        op_signup.body
    );
    let op_mail = last_mail_to(t, "op@medisync.example").await;
    assert!(
        op_mail.text_body.contains("operator"),
        "{}",
        op_mail.text_body
    );
    let op_token = token_in(&op_mail.text_body, "/t/ops-clinic/invite?token=");
    let refused = Browser::new(addr)
        .call(
            "localhost",
            "/t/ops-clinic/api/accept_invitation",
            &[("token", &op_token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("operator"), "{}", refused.body);

    let no_reason = op
        .call(
            "localhost",
            "/api/suspend_tenant",
            &[("id", &id), ("reason", "")],
        )
        .await;
    assert_eq!(field_of(&no_reason), "reason");
    // Support may look, not suspend.
    let by_support = support
        .call(
            "localhost",
            "/api/suspend_tenant",
            &[("id", &id), ("reason", "unpaid invoices")],
        )
        .await;
    assert_eq!(by_support.status, StatusCode::FORBIDDEN);
    let done = op
        .call(
            "localhost",
            "/api/suspend_tenant",
            &[("id", &id), ("reason", "unpaid invoices")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // Staff, patients and strangers see the suspended page; nothing else answers.
    let page = owner.get("localhost", "/t/acme/staff").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("suspended"));
    let api = owner.call("localhost", "/t/acme/api/list_staff", &[]).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    let detail = op
        .call("localhost", "/api/tenant_detail", &[("id", &id)])
        .await
        .json();
    assert_eq!(detail["tenant"]["status"], "suspended");
    assert_eq!(detail["status_reason"], "unpaid invoices");
    assert_eq!(detail["usage"]["users"], 9, "data untouched");

    let back = op
        .call("localhost", "/api/reactivate_tenant", &[("id", &id)])
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(
        owner.get("localhost", "/t/acme/staff").await.status,
        StatusCode::OK
    );
    let figures = op
        .call("localhost", "/api/platform_overview", &[])
        .await
        .json();
    // Acme, and the clinic the operator's address signed up (it waits for an
    // owner who can never accept).
    assert_eq!(figures["tenants"], 2);
    assert_eq!(
        figures["mrr"],
        serde_json::json!([]),
        "no clinic subscribes through MediSync"
    );
    assert_eq!(
        figures["billed_by_hand"],
        serde_json::json!([["USD", 79900]]),
        "one active enterprise clinic, billed outside MediSync"
    );
    assert_eq!(figures["signups"].as_array().map(Vec::len), Some(12));
    assert_eq!(figures["signups"][11]["count"], 2);
}

async fn support_sessions_are_time_bound_visible_and_audited(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let op = operator(
        t,
        addr,
        "support@medisync.example",
        identity::permissions::PlatformRole::Support,
    )
    .await;
    let id = tenant(t, "acme").await.id.to_string();
    // Before a session, the clinic is closed to the operator.
    assert_eq!(
        op.get("localhost", "/t/acme/staff").await.status,
        StatusCode::SEE_OTHER
    );
    let long = op
        .call(
            "localhost",
            "/api/start_support_session",
            &[
                ("id", &id),
                ("reason", "Owner asked for help with the branding"),
                ("minutes", "45"),
            ],
        )
        .await;
    assert_eq!(field_of(&long), "minutes", "{}", long.body);
    let vague = op
        .call(
            "localhost",
            "/api/start_support_session",
            &[("id", &id), ("reason", "help"), ("minutes", "10")],
        )
        .await;
    assert_eq!(field_of(&vague), "reason");
    let start = op
        .call(
            "localhost",
            "/api/start_support_session",
            &[
                ("id", &id),
                ("reason", "Owner asked for help with the branding"),
                ("minutes", "10"),
            ],
        )
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert_eq!(start.json(), serde_json::json!("/t/acme/staff"));

    let inside = op.get("localhost", "/t/acme/staff").await;
    assert_eq!(inside.status, StatusCode::OK);
    // Nothing that could outlast the session: no new staff, roles, policy, domain.
    for (path, form) in [
        (
            "/t/acme/api/invite_staff",
            vec![("email", "mole@evil.example"), ("role", "admin")],
        ),
        (
            "/t/acme/api/set_custom_domain",
            vec![("domain", "evil.example")],
        ),
        ("/t/acme/api/set_security_policy", vec![]),
    ] {
        let refused = op.call("localhost", path, &form).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
    }
    assert_eq!(
        op.get("localhost", "/t/acme/staff/users").await.status,
        StatusCode::FORBIDDEN
    );
    let branding = op
        .call(
            "localhost",
            "/t/acme/api/save_branding",
            &[
                ("primary_color", "#1e3a8a"),
                ("accent_color", "#fef08a"),
                ("sign_in_headline", "Welcome"),
                ("welcome_text", ""),
            ],
        )
        .await;
    assert_eq!(
        branding.status,
        StatusCode::OK,
        "support may help with the branding: {}",
        branding.body
    );
    assert!(inside.body.contains("data-testid=\"support-banner\""));
    assert!(inside
        .body
        .contains("Owner asked for help with the branding"));
    // The owner reads it in the audit log, with the operator's address.
    let owner = owner_of(addr, "acme").await;
    let audit = owner
        .call(
            "localhost",
            "/t/acme/api/list_audit",
            &[("action", "support")],
        )
        .await;
    assert!(
        audit.body.contains("support.session_started"),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("support@medisync.example"));
    // Only this clinic.
    staffed_clinic(&t.db, "globex").await;
    assert_eq!(
        op.get("localhost", "/t/globex/staff").await.status,
        StatusCode::SEE_OTHER
    );

    let end = op
        .call("localhost", "/t/acme/api/end_support_session", &[])
        .await;
    assert_eq!(end.status, StatusCode::OK, "{}", end.body);
    assert_eq!(
        op.get("localhost", "/t/acme/staff").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        op.get("localhost", "/admin").await.status,
        StatusCode::OK,
        "still an operator"
    );

    // An expired session stops counting even if never ended.
    let again = op
        .call(
            "localhost",
            "/api/start_support_session",
            &[
                ("id", &id),
                ("reason", "Second look at the branding"),
                ("minutes", "1"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let acme = tenant(t, "acme").await;
    let mut tx = t.db.begin_for(acme.id).await.expect("begin");
    let open = app::platform::db::impersonations(&mut tx, 1)
        .await
        .expect("list");
    drop(tx);
    assert!(open[0].expires_at - open[0].started_at <= chrono::Duration::minutes(1));
    let owner_audit = owner
        .call(
            "localhost",
            "/t/acme/api/list_audit",
            &[("action", "support.session_ended")],
        )
        .await;
    assert!(owner_audit.body.contains("support.session_ended"));
}

async fn the_trial_clock_reminds_then_suspends_unless_paid(t: &TestDb) {
    let addr = server::start(&t.db, |_| {}).await;
    for slug in ["ending", "paid", "fresh"] {
        let r = sign_up(
            &Browser::new(addr),
            slug,
            &format!("owner@{slug}.example"),
            "starter",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let now = chrono::Utc::now();
    let mut tx = t.db.begin_platform().await.expect("begin");
    let ending = tenant(t, "ending").await;
    let paid = tenant(t, "paid").await;
    tenancy::db::set_trial_end(&mut tx, ending.id, Some(now + chrono::Duration::days(2)))
        .await
        .expect("end");
    tenancy::db::set_trial_end(&mut tx, paid.id, Some(now + chrono::Duration::days(2)))
        .await
        .expect("end");
    tenancy::db::set_paid_until(&mut tx, paid.id, Some(now + chrono::Duration::days(30)))
        .await
        .expect("paid");
    tx.commit().await.expect("commit");

    let origin = "http://localhost:3000";
    let first = app::plans::trials::sweep(&t.db, origin, now)
        .await
        .expect("sweep");
    assert_eq!(
        first,
        app::plans::trials::Sweep {
            reminded: 1,
            suspended: 0,
            activated: 0
        }
    );
    let mail = app::mail::recent(&t.db, 20).await.expect("mail");
    let reminder = mail
        .iter()
        .find(|m| m.subject.starts_with("Your trial ends soon"))
        .expect("reminder");
    assert_eq!(reminder.to_address, "owner@ending.example");
    // Reminded once only.
    let again = app::plans::trials::sweep(&t.db, origin, now)
        .await
        .expect("sweep");
    assert_eq!(again.reminded, 0);

    // Three days later both trials have ended: the unpaid one is suspended.
    let later = now + chrono::Duration::days(3);
    let end = app::plans::trials::sweep(&t.db, origin, later)
        .await
        .expect("sweep");
    assert_eq!((end.suspended, end.activated), (1, 1));
    assert_eq!(tenant(t, "ending").await.status, TenantStatus::Suspended);
    assert_eq!(
        tenant(t, "ending").await.status_reason.as_deref(),
        Some("trial ended")
    );
    assert_eq!(tenant(t, "paid").await.status, TenantStatus::Active);
    assert_eq!(tenant(t, "fresh").await.status, TenantStatus::Trial);
    let blocked = Browser::new(addr).get("ending.localhost", "/").await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
}

async fn operators_manage_plans_and_clinics_keep_retired_ones(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    set_plan(t, "acme", "starter").await;
    let addr = server::start(&t.db, |_| {}).await;
    let op = operator(
        t,
        addr,
        "op@medisync.example",
        identity::permissions::PlatformRole::SuperAdmin,
    )
    .await;
    let plan = |id: &'static str, price: &'static str, users: &'static str| {
        [
            ("id", id),
            ("name", "Solo"),
            ("price", price),
            ("currency", "USD"),
            ("max_users", users),
            ("max_patients", "100"),
            ("storage_gb", "1"),
            ("sort_order", "0"),
            ("features", "patients,appointments"),
            ("is_new", "1"),
        ]
    };
    let bad_price = op
        .call("localhost", "/api/save_plan", &plan("solo", "12,50", "2"))
        .await;
    assert_eq!(field_of(&bad_price), "price");
    let bad_users = op
        .call("localhost", "/api/save_plan", &plan("solo", "29", "0"))
        .await;
    assert_eq!(field_of(&bad_users), "max_users");
    let created = op
        .call("localhost", "/api/save_plan", &plan("solo", "29.50", "2"))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let listed = Browser::new(addr)
        .call("localhost", "/api/list_plans", &[])
        .await
        .json();
    assert_eq!(listed[0]["id"], "solo");
    assert_eq!(listed[0]["price_cents"], 2950);

    let retire = op
        .call(
            "localhost",
            "/api/set_plan_retired",
            &[("id", "starter"), ("retired", "true")],
        )
        .await;
    assert_eq!(retire.status, StatusCode::OK, "{}", retire.body);
    let on_sale = Browser::new(addr)
        .call("localhost", "/api/list_plans", &[])
        .await
        .json();
    assert!(!on_sale
        .as_array()
        .expect("list")
        .iter()
        .any(|p| p["id"] == "starter"));
    // Acme keeps its retired plan and its limits.
    let owner = owner_of(addr, "acme").await;
    let usage = owner
        .call("localhost", "/t/acme/api/plan_usage", &[])
        .await
        .json();
    assert_eq!(usage["plan"]["id"], "starter");
    assert_eq!(usage["plan"]["retired"], true);
    // New sign-ups cannot choose it.
    let r = sign_up(&Browser::new(addr), "late", "late@late.example", "starter").await;
    assert_eq!(field_of(&r), "plan");
    // Support operators cannot edit plans.
    let support = operator(
        t,
        addr,
        "support@medisync.example",
        identity::permissions::PlatformRole::Support,
    )
    .await;
    let denied = support
        .call(
            "localhost",
            "/api/set_plan_retired",
            &[("id", "solo"), ("retired", "true")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

async fn server_requests_are_counted_per_clinic_and_month(t: &TestDb) {
    let acme = fixtures::clinic(&t.db, "acme", "doc@acme.example").await;
    let globex = fixtures::clinic(&t.db, "globex", "doc@globex.example").await;
    let calls = |id| async move {
        let mut tx = t.db.begin_for_read(id).await.expect("begin");
        app::plans::db::usage(&mut tx)
            .await
            .expect("usage")
            .api_calls_this_month
    };
    let (acme_before, globex_before) = (calls(acme.tenant.id).await, calls(globex.tenant.id).await);
    let counter = ::server::usage::UsageCounter::default();
    for _ in 0..3 {
        counter.count(acme.tenant.id);
    }
    counter.count(globex.tenant.id);
    counter.flush(&t.db).await;
    counter.count(acme.tenant.id);
    counter.flush(&t.db).await;
    counter.flush(&t.db).await; // nothing new: nothing added
    assert_eq!(calls(acme.tenant.id).await - acme_before, 4);
    assert_eq!(calls(globex.tenant.id).await - globex_before, 1);
}

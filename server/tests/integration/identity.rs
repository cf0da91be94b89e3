//! Sign-in, sessions and the web protections, over real HTTP on both databases.

use crate::support;

use reqwest::StatusCode;

use app::identity::Role;
use support::fixtures::{patient_email, staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    wrong_passwords_get_one_generic_answer_and_lock_the_account_after_five,
    a_session_belongs_to_one_tenant,
    a_password_reset_ends_every_session,
    a_role_change_ends_the_members_sessions,
    idle_sessions_expire_and_activity_keeps_them_alive,
    the_audit_trail_records_sign_ins_and_stays_in_its_tenant,
    a_two_factor_code_works_only_once,
);

const A: &str = "/t/clinic-a";

async fn wrong_passwords_get_one_generic_answer_and_lock_the_account_after_five(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let nurse = staff_email(Role::Nurse, "clinic-a");

    let unknown = b
        .sign_in("localhost", A, "nobody@clinic-a.example", PASSWORD, "staff")
        .await;
    let wrong = b
        .sign_in("localhost", A, &nurse, "not the password at all", "staff")
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.body, wrong.body,
        "an unknown email and a wrong password look the same"
    );
    let bad_email = b
        .sign_in("localhost", A, "not-an-email", PASSWORD, "staff")
        .await;
    assert_eq!(
        bad_email.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_email.body
    );

    for _ in 0..4 {
        let r = b
            .sign_in("localhost", A, &nurse, "still not the password", "staff")
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Five failures in a row: now even the right password is refused, the same way.
    let locked = b.sign_in("localhost", A, &nurse, PASSWORD, "staff").await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locked.body, wrong.body);
    // Another account is unaffected.
    let doctor = b
        .sign_in(
            "localhost",
            A,
            &staff_email(Role::Doctor, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(doctor.status, StatusCode::OK, "{}", doctor.body);
    // A patient's right password on the clinic's sign-in is not a failure: it
    // leads to the portal (tests in `front_door`).
    let patient = Browser::new(addr)
        .sign_in(
            "localhost",
            A,
            &patient_email("clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(patient.status, StatusCode::OK, "{}", patient.body);
}

async fn a_session_belongs_to_one_tenant(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    staffed_clinic(&t.db, "clinic-b").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let owner_a = staff_email(Role::Owner, "clinic-a");
    let r = b.sign_in("localhost", A, &owner_a, PASSWORD, "staff").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let set_cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(set_cookie.starts_with("medisync_session="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(b
        .get("localhost", "/t/clinic-a/staff")
        .await
        .status
        .is_success());

    // The same cookie presented to clinic B (same host, other path; or B's subdomain).
    let on_b = b.get("localhost", "/t/clinic-b/staff").await;
    assert_eq!(on_b.status, StatusCode::SEE_OTHER);
    assert!(
        on_b.location()
            .starts_with("/t/clinic-b/signin?next=/staff"),
        "{}",
        on_b.location()
    );
    let on_b_subdomain = b.get("clinic-b.localhost", "/staff").await;
    assert_eq!(on_b_subdomain.status, StatusCode::SEE_OTHER);
    let api_b = b.call("clinic-b.localhost", "/api/list_staff", &[]).await;
    assert_eq!(api_b.status, StatusCode::UNAUTHORIZED);
    // Still valid on A.
    assert!(b
        .get("clinic-a.localhost", "/staff")
        .await
        .status
        .is_success());
}

/// Takes a reset token straight from the outbox, as the person would from their mail.
async fn reset_link_token(t: &TestDb) -> String {
    let mail = app::mail::recent(&t.db, 1).await.expect("outbox");
    let text = &mail.first().expect("a message").text_body;
    let start = text.find("token=").expect("a token link") + "token=".len();
    text[start..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned()
}

async fn a_password_reset_ends_every_session(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let email = staff_email(Role::Receptionist, "clinic-a");
    let laptop = Browser::new(addr);
    let phone = Browser::new(addr);
    for b in [&laptop, &phone] {
        let r = b.sign_in("localhost", A, &email, PASSWORD, "staff").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let stranger = Browser::new(addr);
    let asked = stranger
        .call(
            "localhost",
            "/t/clinic-a/api/request_password_reset",
            &[("email", &email)],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let unknown = stranger
        .call(
            "localhost",
            "/t/clinic-a/api/request_password_reset",
            &[("email", "ghost@x.example")],
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (asked.status, asked.body.clone()),
        "no account enumeration"
    );
    let token = reset_link_token(t).await;
    let weak = stranger
        .call(
            "localhost",
            "/t/clinic-a/api/reset_password",
            &[("token", &token), ("password", "password1234")],
        )
        .await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "common passwords are refused"
    );
    let done = stranger
        .call(
            "localhost",
            "/t/clinic-a/api/reset_password",
            &[
                ("token", &token),
                ("password", "a brand new long passphrase"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let again = stranger
        .call(
            "localhost",
            "/t/clinic-a/api/reset_password",
            &[
                ("token", &token),
                ("password", "another new long passphrase"),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a token works once"
    );

    for b in [&laptop, &phone] {
        assert_eq!(
            b.get("localhost", "/t/clinic-a/staff").await.status,
            StatusCode::SEE_OTHER
        );
    }
    let old = laptop
        .sign_in("localhost", A, &email, PASSWORD, "staff")
        .await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);
    let new = laptop
        .sign_in(
            "localhost",
            A,
            &email,
            "a brand new long passphrase",
            "staff",
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

async fn a_role_change_ends_the_members_sessions(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = Browser::new(addr);
    let nurse = Browser::new(addr);
    admin
        .sign_in(
            "localhost",
            A,
            &staff_email(Role::Admin, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    nurse
        .sign_in(
            "localhost",
            A,
            &staff_email(Role::Nurse, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    assert!(nurse
        .get("localhost", "/t/clinic-a/staff")
        .await
        .status
        .is_success());

    let mut tx = t.db.begin_for_read(clinic.tenant.id).await.expect("begin");
    let members = app::identity::db::list_staff(&mut tx).await.expect("staff");
    drop(tx);
    let nurse_id = members
        .iter()
        .find(|m| m.role == Role::Nurse)
        .expect("nurse")
        .id
        .to_string();
    let owner_id = members
        .iter()
        .find(|m| m.role == Role::Owner)
        .expect("owner")
        .id
        .to_string();

    let promote_to_owner = admin
        .call(
            "localhost",
            "/t/clinic-a/api/change_staff_role",
            &[("member_id", &nurse_id), ("role", "owner")],
        )
        .await;
    assert_eq!(
        promote_to_owner.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only owners make owners"
    );
    let demote_owner = admin
        .call(
            "localhost",
            "/t/clinic-a/api/change_staff_role",
            &[("member_id", &owner_id), ("role", "nurse")],
        )
        .await;
    assert_eq!(
        demote_owner.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "admins cannot demote owners"
    );
    let bad_id = admin
        .call(
            "localhost",
            "/t/clinic-a/api/change_staff_role",
            &[("member_id", "not-a-uuid"), ("role", "nurse")],
        )
        .await;
    assert!(bad_id.status.is_client_error(), "{}", bad_id.status);

    let changed = admin
        .call(
            "localhost",
            "/t/clinic-a/api/change_staff_role",
            &[("member_id", &nurse_id), ("role", "receptionist")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        nurse.get("localhost", "/t/clinic-a/staff").await.status,
        StatusCode::SEE_OTHER
    );

    let deactivated = admin
        .call(
            "localhost",
            "/t/clinic-a/api/deactivate_staff",
            &[("member_id", &nurse_id)],
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK);
    let again = nurse
        .sign_in(
            "localhost",
            A,
            &staff_email(Role::Nurse, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a deactivated member cannot sign in"
    );
}

async fn idle_sessions_expire_and_activity_keeps_them_alive(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |c| c.idle_timeout_seconds = 2).await;
    let b = Browser::new(addr);
    b.sign_in(
        "localhost",
        A,
        &staff_email(Role::Doctor, "clinic-a"),
        PASSWORD,
        "staff",
    )
    .await;
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        assert!(
            b.get("localhost", "/t/clinic-a/staff")
                .await
                .status
                .is_success(),
            "activity refreshes the idle timer"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    let expired = b.get("localhost", "/t/clinic-a/staff/patients").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(
        expired.location(),
        "/t/clinic-a/signin?next=/staff/patients&expired=1"
    );
}

async fn the_audit_trail_records_sign_ins_and_stays_in_its_tenant(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    staffed_clinic(&t.db, "clinic-b").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    b.sign_in(
        "localhost",
        A,
        &staff_email(Role::Nurse, "clinic-a"),
        "wrong wrong wrong",
        "staff",
    )
    .await;
    b.sign_in(
        "localhost",
        A,
        &staff_email(Role::Owner, "clinic-a"),
        PASSWORD,
        "staff",
    )
    .await;
    let denied = Browser::new(addr);
    denied
        .sign_in(
            "localhost",
            A,
            &staff_email(Role::Billing, "clinic-a"),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(
        denied
            .get("localhost", "/t/clinic-a/staff/users")
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let listed = b.call("localhost", "/t/clinic-a/api/list_audit", &[]).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let actions: Vec<String> = listed
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    for action in ["sign_in.failed", "sign_in.succeeded", "access.denied"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let filtered = b
        .call(
            "localhost",
            "/t/clinic-a/api/list_audit",
            &[("action", "sign_in.failed")],
        )
        .await
        .json();
    let entries = filtered.as_array().expect("entries");
    assert!(!entries.is_empty() && entries.iter().all(|e| e["action"] == "sign_in.failed"));
    assert!(entries[0]["ip"]
        .as_str()
        .is_some_and(|ip| ip == "127.0.0.1"));

    let owner_b = Browser::new(addr);
    owner_b
        .sign_in(
            "localhost",
            "/t/clinic-b",
            &staff_email(Role::Owner, "clinic-b"),
            PASSWORD,
            "staff",
        )
        .await;
    let b_trail = owner_b
        .call("localhost", "/t/clinic-b/api/list_audit", &[])
        .await
        .json();
    let b_text = b_trail.to_string();
    assert!(
        !b_text.contains("clinic-a.example"),
        "B sees none of A's events: {b_text}"
    );
}

#[tokio::test]
async fn pages_carry_a_csp_nonce_and_the_security_headers() {
    let t = TestDb::sqlite().await;
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let page = Browser::new(addr)
        .get("localhost", "/t/clinic-a/signin")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("csp");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("nonce in CSP");
    assert!(nonce.len() >= 16);
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "hydration scripts carry the nonce"
    );
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(
            page.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    let second = Browser::new(addr)
        .get("localhost", "/t/clinic-a/signin")
        .await;
    assert!(
        !second.body.contains(&format!("nonce=\"{nonce}\"")),
        "a fresh nonce per request"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_sign_in_is_rate_limited() {
    let t = TestDb::sqlite().await;
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |c| c.rate_limit_per_minute = 3).await;
    let b = Browser::new(addr);
    let cross = b
        .client
        .post(format!("http://{addr}/t/clinic-a/api/sign_in"))
        .header("host", format!("localhost:{}", addr.port()))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("email", "a@b.example"),
            ("password", "x"),
            ("audience", "staff"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let email = staff_email(Role::Doctor, "clinic-a");
    for _ in 0..3 {
        let r = b
            .sign_in("localhost", A, &email, "wrong password here", "staff")
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = b.sign_in("localhost", A, &email, PASSWORD, "staff").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    t.cleanup().await;
}

on_both_backends!(
    changing_the_password_needs_the_current_one_and_signs_out_other_devices,
    the_clinic_switcher_lists_only_the_viewers_own_clinics,
);

async fn changing_the_password_needs_the_current_one_and_signs_out_other_devices(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    let addr = server::start(&t.db, |_| {}).await;
    let email = staff_email(Role::Manager, "clinic-a");
    let (here, elsewhere) = (Browser::new(addr), Browser::new(addr));
    for b in [&here, &elsewhere] {
        b.sign_in("localhost", A, &email, PASSWORD, "staff").await;
    }
    let change = |current: &'static str| {
        let here = &here;
        async move {
            here.call(
                "localhost",
                "/t/clinic-a/api/change_password",
                &[
                    ("current_password", current),
                    ("password", "a completely new passphrase"),
                ],
            )
            .await
        }
    };
    let refused = change("not my password").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["Field"][0], "current_password");
    let done = change(PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        here.get("localhost", "/t/clinic-a/staff")
            .await
            .status
            .is_success(),
        "this device stays"
    );
    assert_eq!(
        elsewhere.get("localhost", "/t/clinic-a/staff").await.status,
        StatusCode::SEE_OTHER
    );
}

async fn the_clinic_switcher_lists_only_the_viewers_own_clinics(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    let b_clinic = staffed_clinic(&t.db, "clinic-b").await;
    staffed_clinic(&t.db, "clinic-c").await;
    // The clinic-a doctor also works at clinic-b.
    let mut platform = t.db.begin_platform().await.expect("begin");
    let doctor = app::identity::db::find_account_by_email(
        &mut platform,
        &app::identity::Email::parse(&staff_email(Role::Doctor, "clinic-a")).expect("email"),
    )
    .await
    .expect("find")
    .expect("doctor");
    drop(platform);
    let mut tx = t.db.begin_for(b_clinic.tenant.id).await.expect("begin");
    app::identity::db::add_staff(&mut tx, &doctor, Role::Doctor)
        .await
        .expect("add");
    tx.commit().await.expect("commit");

    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    b.sign_in(
        "clinic-a.localhost",
        "",
        &staff_email(Role::Doctor, "clinic-a"),
        PASSWORD,
        "staff",
    )
    .await;
    let clinics = b
        .call("clinic-a.localhost", "/api/my_clinics", &[])
        .await
        .json();
    let names: Vec<&str> = clinics
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["clinic-a clinic", "clinic-b clinic"]);
    let hrefs = clinics.to_string();
    assert!(
        hrefs.contains(&format!("http://clinic-b.localhost:{}/staff", addr.port())),
        "{hrefs}"
    );
}

async fn a_two_factor_code_works_only_once(t: &TestDb) {
    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    staffed_clinic(&t.db, "clinic-a").await;
    let email = staff_email(Role::Doctor, "clinic-a");
    let mut tx = t.db.begin_platform().await.expect("begin");
    let creds = app::identity::credentials::by_email(
        &mut tx,
        &app::identity::Email::parse(&email).expect("email"),
    )
    .await
    .expect("read")
    .expect("account");
    app::identity::credentials::stage_totp(&mut tx, creds.account.id, SECRET)
        .await
        .expect("stage");
    app::identity::credentials::enable_totp(&mut tx, creds.account.id)
        .await
        .expect("enable");
    tx.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;
    let code = app::identity::totp::code_at(SECRET, chrono::Utc::now().timestamp()).expect("code");

    let first = Browser::new(addr);
    let step = first
        .sign_in("localhost", A, &email, PASSWORD, "staff")
        .await;
    assert_eq!(
        step.json(),
        serde_json::json!("SecondFactor"),
        "{}",
        step.body
    );
    let used = first
        .call(
            "localhost",
            &format!("{A}/api/second_factor"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);

    // The same code, seen over a shoulder or replayed, is refused within its window.
    let second = Browser::new(addr);
    second
        .sign_in("localhost", A, &email, PASSWORD, "staff")
        .await;
    let replay = second
        .call(
            "localhost",
            &format!("{A}/api/second_factor"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        replay.body
    );
    assert_eq!(
        second.get("localhost", &format!("{A}/staff")).await.status,
        StatusCode::SEE_OTHER,
        "not signed in"
    );
    // The next step's code (within the ±1 window) is still fresh.
    let next =
        app::identity::totp::code_at(SECRET, chrono::Utc::now().timestamp() + 30).expect("code");
    let fresh = second
        .call(
            "localhost",
            &format!("{A}/api/second_factor"),
            &[("code", &next)],
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
}

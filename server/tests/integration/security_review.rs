//! Regression tests for the security review of commit 9ef07ea (issue 10), one per
//! finding, each for the class of the problem rather than the one request the
//! review sent, on both databases.

use std::time::Instant;

use reqwest::StatusCode;

use app::identity::{self, Role};
use app::tenancy;

use crate::self_service::{field_of, member_id, operator, owner_of, sign_up, tenant};
use crate::support;
use support::fixtures::{staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    email_links_come_from_configuration_never_from_the_host_header,
    after_sign_in_next_never_leaves_the_site,
    clinic_names_cannot_inject_markup,
    a_support_session_cannot_create_anything_that_outlasts_it,
    only_a_proven_domain_is_unique_and_unproven_claims_lapse,
    every_sign_in_failure_and_reset_request_takes_the_same_time,
    free_text_arguments_are_bounded_and_clean_with_a_422,
    a_suspended_clinic_serves_no_files,
    a_clinic_ends_only_its_own_sessions_of_a_shared_member,
    two_factor_secrets_are_encrypted_at_rest,
);

/// A request with a Host header exactly as given (no port added).
async fn raw(
    addr: std::net::SocketAddr,
    method: reqwest::Method,
    host: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .request(method, format!("http://{addr}{path}"))
        .header("host", host)
        .form(form)
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.text().await.expect("body"))
}

/// Runs one `UPDATE` with one value straight on the database, bypassing the
/// application (data an older version or an operator could have left).
async fn write_behind_the_app<T>(t: &TestDb, sql: &str, value: T)
where
    T: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + 'static,
{
    match t.backend {
        app::db::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await.expect("pool");
            sqlx::query(sql)
                .bind(value)
                .execute(&pool)
                .await
                .expect("write");
        }
        app::db::Backend::Postgres => {
            let pool = t.superuser_pool().await;
            sqlx::query(sql)
                .bind(value)
                .execute(&pool)
                .await
                .expect("write");
        }
    }
}

async fn newest_mail_to(t: &TestDb, to: &str) -> Option<app::mail::StoredMessage> {
    app::mail::recent(&t.db, 50)
        .await
        .expect("mail")
        .into_iter()
        .find(|m| m.to_address == to)
}

async fn email_links_come_from_configuration_never_from_the_host_header(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let port = addr.port();
    let owner = staff_email(Role::Owner, "acme");
    assert_eq!(owner, owner_email());
    let reset = |host: String, path: &'static str| async move {
        raw(
            addr,
            reqwest::Method::POST,
            &host,
            path,
            &[("email", owner_email())],
        )
        .await
    };
    fn owner_email() -> &'static str {
        "owner@acme.example"
    }
    // Hosts that are no host: bracketed text that is no IPv6 literal, user
    // information, junk ports. Each is the 404 page, and sends no mail.
    for host in [
        "[::1]@evil.example".to_owned(),
        "[::1]@evil.example:80".to_owned(),
        "[evil.example]".to_owned(),
        "[::1]x".to_owned(),
        "[::1]:80:80".to_owned(),
        format!("evil.example@localhost:{port}"),
        "localhost:evil".to_owned(),
        "acme.localhost:99999999".to_owned(),
    ] {
        let (status, _) = reset(host.clone(), "/t/acme/api/request_password_reset").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
    }
    assert!(
        newest_mail_to(t, &owner).await.is_none(),
        "a refused host sent mail"
    );
    // A real IPv6 literal is the platform, as before.
    let (status, _) = raw(
        addr,
        reqwest::Method::GET,
        &format!("[::1]:{port}"),
        "/",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // By path on the platform's host, the link is the platform origin + /t/acme,
    // whatever port the Host header claimed.
    let (status, body) = reset(
        "localhost:6666".to_owned(),
        "/t/acme/api/request_password_reset",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = newest_mail_to(t, &owner).await.expect("reset mail");
    assert!(
        mail.text_body.contains(&format!(
            "http://localhost:{port}/t/acme/reset-password?token="
        )),
        "{}",
        mail.text_body
    );
    // On the clinic's subdomain, the subdomain of the configured base domain.
    let (status, body) = reset(
        "ACME.localhost:7777".to_owned(),
        "/api/request_password_reset",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = newest_mail_to(t, &owner).await.expect("reset mail");
    assert!(
        mail.text_body.contains(&format!(
            "http://acme.localhost:{port}/reset-password?token="
        )),
        "{}",
        mail.text_body
    );
    assert!(!mail.text_body.contains("6666") && !mail.text_body.contains("7777"));
    assert!(!mail.html_body.contains("evil"), "{}", mail.html_body);
}

async fn after_sign_in_next_never_leaves_the_site(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/\\evil.example",
        "//evil.example",
        "/\t\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/%09/evil.example",
    ] {
        let b = Browser::new(addr);
        let r = b
            .call(
                "localhost",
                "/t/acme/api/sign_in",
                &[
                    ("email", &staff_email(Role::Owner, "acme")),
                    ("password", PASSWORD),
                    ("audience", "staff"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{next:?}: {}", r.body);
        let go = r.json()["Go"].as_str().unwrap_or_default().to_owned();
        // `/%09/...` is a path on this site (the browser keeps %09 encoded).
        assert!(
            go == "/t/acme/staff" || go == "/t/acme/%09/evil.example",
            "{next:?} → {go:?}"
        );
        assert!(!go.chars().any(|c| c.is_control() || c == '\\'), "{go:?}");
        assert!(!go.starts_with("//"), "{go:?}");
    }
}

async fn clinic_names_cannot_inject_markup(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let hostile = r#"Acme</title><meta http-equiv="refresh" content="0;url=https://evil.example">"#;
    // Sign-up and settings refuse markup and control characters in names.
    let r = Browser::new(addr)
        .call(
            "localhost",
            "/api/sign_up",
            &[
                ("clinic_name", hostile),
                ("kind", "clinic"),
                ("slug", "hostile"),
                ("owner_name", "Mallory"),
                ("email", "mallory@evil.example"),
                ("password", "a quiet river at dawn"),
                ("plan", "starter"),
                ("terms", "on"),
            ],
        )
        .await;
    assert_eq!(field_of(&r), "clinic_name", "{}", r.body);
    let owner = owner_of(addr, "acme").await;
    for name in [hostile, "Acme\u{7}Clinic", "<b>Acme</b>"] {
        let r = owner
            .call(
                "localhost",
                "/t/acme/api/save_clinic_settings",
                &[
                    ("name", name),
                    ("timezone", "UTC"),
                    ("currency", "USD"),
                    ("language", "en"),
                    ("date_format", "%Y-%m-%d"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}: {}",
            r.body
        );
    }
    // A name that got in some other way (an older version, raw SQL) is escaped
    // on every page that shows it, in the <title> included.
    let sql = "UPDATE tenants SET name = $1 WHERE slug = 'acme'";
    write_behind_the_app(t, sql, hostile.to_owned()).await;
    let addr = server::start(&t.db, |_| {}).await; // no remembered tenant
    let owner = owner_of(addr, "acme").await;
    for (b, path) in [
        (&Browser::new(addr), "/t/acme/signin"),
        (&Browser::new(addr), "/t/acme/portal/signin"),
        (&owner, "/t/acme/staff"),
    ] {
        let page = b.get("localhost", path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("<meta http-equiv=\"refresh\""),
            "{path}: markup got through"
        );
        assert!(!page.body.contains("</title><meta"), "{path}");
        assert!(
            page.body.contains("Acme&lt;/title&gt;"),
            "{path}: the name is shown, escaped"
        );
    }
}

async fn a_support_session_cannot_create_anything_that_outlasts_it(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    // A patient without portal access (the fixture's own patient has it).
    let mut tx = t.db.begin_for(clinic.tenant.id).await.expect("begin");
    app::patients::db::create(
        &mut tx,
        &support::fixtures::new_patient("MRN-2", "Noor", "Nadeem", None),
    )
    .await
    .expect("patient");
    tx.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;
    let op = operator(
        t,
        addr,
        "support@medisync.example",
        identity::permissions::PlatformRole::Support,
    )
    .await;
    let id = tenant(t, "acme").await.id.to_string();
    let start = op
        .call(
            "localhost",
            "/api/start_support_session",
            &[
                ("id", &id),
                ("reason", "Owner asked for help with a patient record"),
                ("minutes", "10"),
            ],
        )
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    // Reading is what support is for.
    let patients = op.call("localhost", "/t/acme/api/list_patients", &[]).await;
    assert_eq!(patients.status, StatusCode::OK, "{}", patients.body);
    let patient_id = patients.json()["items"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["portal"] == "None")
        .and_then(|p| p["id"].as_str())
        .expect("a patient without portal access")
        .to_owned();
    // Nothing that outlasts the session: invitations of any kind (a portal
    // account for an address of the operator's choosing included), staff changes,
    // sign-in policy, domain, plan, the operator's own credentials.
    let mole = "mole@evil.example";
    for (path, form) in [
        (
            "/t/acme/api/invite_patient",
            vec![("patient_id", patient_id.as_str()), ("email", mole)],
        ),
        (
            "/t/acme/api/invite_staff",
            vec![("email", mole), ("role", "doctor")],
        ),
        (
            "/t/acme/api/set_custom_domain",
            vec![("domain", "evil.example")],
        ),
        ("/t/acme/api/choose_plan", vec![("plan", "enterprise")]),
        (
            "/t/acme/api/set_security_policy",
            vec![("require_staff_2fa", "on")],
        ),
        ("/t/acme/api/start_totp", vec![]),
        (
            "/t/acme/api/change_password",
            vec![("current_password", PASSWORD), ("password", "x")],
        ),
    ] {
        let r = op.call("localhost", path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    assert!(
        newest_mail_to(t, mole).await.is_none(),
        "an invitation went out"
    );
    // The same owner can, outside a support session.
    let owner = owner_of(addr, "acme").await;
    let invited = owner
        .call(
            "localhost",
            "/t/acme/api/invite_patient",
            &[
                ("patient_id", &patient_id),
                ("email", "pat.new@acme.example"),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
}

async fn claim(b: &Browser, slug: &str, domain: &str) -> server::Reply {
    b.call(
        "localhost",
        &format!("/t/{slug}/api/set_custom_domain"),
        &[("domain", domain)],
    )
    .await
}

async fn only_a_proven_domain_is_unique_and_unproven_claims_lapse(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "squatter").await;
    let (dns, zone) = support::dns::start().await;
    let addr = server::start(&t.db, |c| c.dns_server = Some(dns)).await;
    let acme = owner_of(addr, "acme").await;
    let squatter = owner_of(addr, "squatter").await;
    // The squatter claims it first; the rightful clinic can still enter it.
    let squat = claim(&squatter, "squatter", "portal.acme-clinic.test").await;
    assert_eq!(squat.status, StatusCode::OK, "{}", squat.body);
    let mine = claim(&acme, "acme", "portal.acme-clinic.test").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let token = mine.json()["txt_value"].as_str().expect("txt").to_owned();
    // Only the clinic that proves it gets it.
    zone.set_txt("_medisync-verification.portal.acme-clinic.test", &token);
    let squat_proof = squatter
        .call("localhost", "/t/squatter/api/verify_custom_domain", &[])
        .await;
    assert_eq!(squat_proof.status, StatusCode::UNPROCESSABLE_ENTITY);
    let proof = acme
        .call("localhost", "/t/acme/api/verify_custom_domain", &[])
        .await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.body);
    let page = Browser::new(addr).get("portal.acme-clinic.test", "/").await;
    assert!(page.body.contains("acme clinic"), "the domain opens acme");
    // Now proven, it is acme's alone: nobody else may even claim it.
    let after = claim(&squatter, "squatter", "portal.acme-clinic.test").await;
    assert_eq!(field_of(&after), "domain", "{}", after.body);
    // Even if the squatter's DNS answered with its own token, the database keeps
    // one proven owner per domain.
    let squatter_id = tenant(t, "squatter").await.id;
    let mut tx = t.db.begin_platform().await.expect("begin");
    let second =
        tenancy::db::mark_domain_verified(&mut tx, squatter_id, "portal.acme-clinic.test").await;
    assert!(second.is_err(), "two clinics proved one domain");
    drop(tx);

    // An unproven claim lapses after DOMAIN_CLAIM_DAYS.
    let other = claim(&squatter, "squatter", "portal.acme-clinic.test").await; // refused above; claim another
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let lapsing = claim(&squatter, "squatter", "www.squatter.test").await;
    assert_eq!(lapsing.status, StatusCode::OK, "{}", lapsing.body);
    let old = chrono::Utc::now() - chrono::Duration::days(tenancy::db::DOMAIN_CLAIM_DAYS + 1);
    let sql = "UPDATE tenants SET custom_domain_claimed_at = $1 WHERE slug = 'squatter'";
    write_behind_the_app(t, sql, old).await;
    let state = squatter
        .call("localhost", "/t/squatter/api/custom_domain", &[])
        .await;
    assert_eq!(state.json()["expired"], true, "{}", state.body);
    let late = squatter
        .call("localhost", "/t/squatter/api/verify_custom_domain", &[])
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.body.contains("never proven"), "{}", late.body);
}

async fn every_sign_in_failure_and_reset_request_takes_the_same_time(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "elsewhere").await;
    let addr = server::start(&t.db, |_| {}).await;
    let nurse = staff_email(Role::Nurse, "acme");
    // Lock the nurse's account.
    for _ in 0..6 {
        Browser::new(addr)
            .sign_in("localhost", "/t/acme", &nurse, "wrong password!", "staff")
            .await;
    }
    let floor = identity::auth::UNIFORM_ANSWER;
    for (email, password, what) in [
        (nurse.as_str(), PASSWORD, "locked account, right password"),
        (nurse.as_str(), "wrong password!", "locked account"),
        ("nobody@acme.example", PASSWORD, "unknown email"),
        (
            staff_email(Role::Doctor, "acme").as_str(),
            "wrong password!",
            "wrong password",
        ),
        (
            staff_email(Role::Owner, "elsewhere").as_str(),
            PASSWORD,
            "no access here",
        ),
    ] {
        let started = Instant::now();
        let r = Browser::new(addr)
            .sign_in("localhost", "/t/acme", email, password, "staff")
            .await;
        let took = started.elapsed();
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.body
        );
        assert!(
            took >= floor,
            "{what} answered in {took:?}, before {floor:?}"
        );
    }
    for email in [
        staff_email(Role::Doctor, "acme"),
        "nobody@acme.example".to_owned(),
    ] {
        let started = Instant::now();
        let r = Browser::new(addr)
            .call(
                "localhost",
                "/t/acme/api/request_password_reset",
                &[("email", &email)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            started.elapsed() >= floor,
            "{email}: {:?}",
            started.elapsed()
        );
    }
    // Sign-up answers alike too: the page never says whether an address exists.
    let known = sign_up(
        &Browser::new(addr),
        "known-one",
        &staff_email(Role::Doctor, "acme"),
        "starter",
    )
    .await;
    let unknown = sign_up(
        &Browser::new(addr),
        "new-one",
        "fresh@new.example",
        "starter",
    )
    .await;
    assert_eq!((known.status, known.body), (unknown.status, unknown.body));
}

async fn free_text_arguments_are_bounded_and_clean_with_a_422(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let op = operator(
        t,
        addr,
        "admin@medisync.example",
        identity::permissions::PlatformRole::SuperAdmin,
    )
    .await;
    let huge = "a".repeat(100_000);
    let long_search = "a".repeat(101);
    for (who, path, field) in [
        (&owner, "/t/acme/api/list_patients", "query"),
        (&owner, "/t/acme/api/list_audit", "action"),
        (&owner, "/t/acme/api/list_audit", "actor"),
        (&op, "/api/list_tenants", "search"),
    ] {
        for value in [
            "\0",
            "a\u{0}b",
            "\u{1b}[2J",
            huge.as_str(),
            long_search.as_str(),
        ] {
            let r = who.call("localhost", path, &[(field, value)]).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {field}={:?}: {}",
                value.chars().take(8).collect::<String>(),
                r.body
            );
            assert_eq!(field_of(&r), field, "{path}: {}", r.body);
        }
        let fine = who.call("localhost", path, &[(field, "Okafor")]).await;
        assert_eq!(fine.status, StatusCode::OK, "{path}: {}", fine.body);
    }
    // Every other function gets the same check, before its own validation runs:
    // a NUL in any argument is a 422 naming the field, never a 500.
    for (who, path, form) in [
        (
            &owner,
            "/t/acme/api/save_clinic_settings",
            vec![("name", "Acme\0"), ("timezone", "UTC")],
        ),
        (
            &owner,
            "/t/acme/api/invite_staff",
            vec![("email", "a\0@b.example"), ("role", "nurse")],
        ),
        (
            &owner,
            "/t/acme/api/set_custom_domain",
            vec![("domain", "a\0.example")],
        ),
        (
            &Browser::new(addr),
            "/t/acme/api/request_password_reset",
            vec![("email", "\0")],
        ),
        (
            &Browser::new(addr),
            "/api/check_slug",
            vec![("slug", "a\0")],
        ),
        (
            &Browser::new(addr),
            "/t/acme/api/sign_in",
            vec![
                ("email", "a@b.example"),
                ("password", "\0"),
                ("audience", "staff"),
            ],
        ),
    ] {
        let r = who.call("localhost", path, &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.body
        );
    }
    // As a query string too (server functions can be called with GET).
    let (status, body) = raw(
        addr,
        reqwest::Method::GET,
        &format!("localhost:{}", addr.port()),
        "/t/acme/api/tenant_profile?x=%00",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

async fn a_suspended_clinic_serves_no_files(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let up = crate::self_service::upload(
        &owner,
        "localhost",
        "/t/acme/api/upload_logo",
        crate::self_service::png(300, 100),
        "logo.png",
        "image/png",
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let logo = up.json()["logo_url"].as_str().expect("logo url").to_owned();
    assert_eq!(
        Browser::new(addr).get("localhost", &logo).await.status,
        StatusCode::OK
    );
    for status in [
        tenancy::TenantStatus::Suspended,
        tenancy::TenantStatus::Cancelled,
    ] {
        let mut tx = t.db.begin_platform().await.expect("begin");
        tenancy::db::set_status(&mut tx, clinic.tenant.id, status, Some("review"))
            .await
            .expect("status");
        tx.commit().await.expect("commit");
        let file = Browser::new(addr).get("localhost", &logo).await;
        assert_eq!(file.status, StatusCode::NOT_FOUND, "{status:?}");
    }
}

async fn a_clinic_ends_only_its_own_sessions_of_a_shared_member(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let globex = staffed_clinic(&t.db, "globex").await;
    let doctor_email = staff_email(Role::Doctor, "acme");
    // The acme doctor also works at globex.
    let mut platform = t.db.begin_platform().await.expect("begin");
    let email = identity::Email::parse(&doctor_email).expect("email");
    let account = identity::credentials::by_email(&mut platform, &email)
        .await
        .expect("read")
        .expect("doctor")
        .account;
    drop(platform);
    let mut tx = t.db.begin_for(globex.tenant.id).await.expect("begin");
    identity::db::add_staff(&mut tx, &account, Role::Doctor)
        .await
        .expect("staff");
    tx.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;

    let at_acme = Browser::new(addr);
    let at_globex = Browser::new(addr);
    for (b, slug) in [(&at_acme, "acme"), (&at_globex, "globex")] {
        let r = b
            .sign_in(
                "localhost",
                &format!("/t/{slug}"),
                &doctor_email,
                PASSWORD,
                "staff",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{slug}: {}", r.body);
    }
    // Acme's owner makes the doctor a nurse, then deactivates them: their acme
    // session ends, their globex session does not.
    let owner = owner_of(addr, "acme").await;
    let member = member_id(&owner, "acme", &doctor_email).await;
    for (path, form) in [
        (
            "/t/acme/api/change_staff_role",
            vec![("member_id", member.as_str()), ("role", "nurse")],
        ),
        (
            "/t/acme/api/deactivate_staff",
            vec![("member_id", member.as_str())],
        ),
    ] {
        let r = owner.call("localhost", path, &form).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(
            at_acme.get("localhost", "/t/acme/staff").await.status,
            StatusCode::SEE_OTHER,
            "{path}: the acme session ended"
        );
        assert_eq!(
            at_globex.get("localhost", "/t/globex/staff").await.status,
            StatusCode::OK,
            "{path}: globex's session is globex's business"
        );
        // Signed in again at acme for the next step (still a member until deactivated).
        at_acme
            .sign_in("localhost", "/t/acme", &doctor_email, PASSWORD, "staff")
            .await;
    }
}

async fn two_factor_secrets_are_encrypted_at_rest(t: &TestDb) {
    let account =
        support::fixtures::account_with_password(&t.db, "two@factor.example", "Two").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let mut tx = t.db.begin_platform().await.expect("begin");
    identity::credentials::stage_totp(&mut tx, account.id, secret)
        .await
        .expect("stage");
    tx.commit().await.expect("commit");
    // Read as the application role, bypassing the application.
    let sql = "SELECT totp_secret FROM accounts WHERE email = 'two@factor.example'";
    let stored: String = match t.backend {
        app::db::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await.expect("pool");
            sqlx::query_scalar(sql)
                .fetch_one(&pool)
                .await
                .expect("read")
        }
        app::db::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&t.app_url).await.expect("pool");
            sqlx::query_scalar(sql)
                .fetch_one(&pool)
                .await
                .expect("read")
        }
    };
    assert!(!stored.contains(secret), "stored in clear: {stored}");
    assert!(identity::secrets::is_sealed(&stored));
    // The application reads it back.
    let mut tx = t.db.begin_platform_read().await.expect("begin");
    let creds = identity::credentials::by_id(&mut tx, account.id)
        .await
        .expect("read")
        .expect("account");
    assert_eq!(creds.totp_secret.as_deref(), Some(secret));
}

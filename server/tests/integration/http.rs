//! The running server, over real HTTP: tenant resolution, branded pages, status
//! pages and server functions under every addressing mode.

use crate::support;

use std::net::SocketAddr;

use reqwest::StatusCode;
use support::TestDb;

use app::tenancy;

struct Server {
    addr: SocketAddr,
    client: reqwest::Client,
    t: TestDb,
}

impl Server {
    /// Starts the app on a free port over a fresh, demo-seeded database.
    async fn start(t: TestDb) -> Server {
        app::demo::seed(
            &t.db,
            &app::storage::Storage::local(&std::env::temp_dir().join("medisync-tests-files"))
                .expect("storage"),
            false,
        )
        .await
        .expect("seed demo");
        // The foundation's limits: these tests never sign in often.
        let addr = support::server::start(&t.db, |c| c.rate_limit_per_minute = 20).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Server { addr, client, t }
    }

    /// GET `path` as if the browser had asked for `host` (with the server's port).
    async fn get(&self, host: &str, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .send()
            .await
            .expect("request");
        (res.status(), res.text().await.expect("body"))
    }

    async fn raw_get(&self, host: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .send()
            .await
            .expect("request")
    }

    async fn call(&self, host: &str, path: &str) -> (StatusCode, serde_json::Value) {
        let res = self
            .client
            .post(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}

fn branded_with(body: &str, color: &str) -> bool {
    body.contains(r#"<style id="tenant-branding">"#)
        && body.contains(&format!("--brand-primary:{color}"))
}

#[tokio::test]
async fn the_bare_domain_serves_the_platform_landing_page() {
    let s = Server::start(TestDb::sqlite().await).await;
    let (status, body) = s.get("localhost", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"data-testid="landing""#));
    assert!(
        !body.contains("tenant-branding"),
        "the platform has no tenant branding"
    );
    let (status, body) = s.get("localhost", "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    s.t.cleanup().await;
}

#[tokio::test]
async fn subdomain_and_path_prefix_serve_the_same_branded_sign_in_page() {
    let s = Server::start(TestDb::sqlite().await).await;
    for (host, path) in [
        ("acme.localhost", "/signin"),
        ("localhost", "/t/acme/signin"),
        ("acme.localhost", "/"),
    ] {
        let (status, body) = s.get(host, path).await;
        assert_eq!(status, StatusCode::OK, "{host}{path}");
        assert!(body.contains("Acme Family Clinic"), "{host}{path}");
        assert!(
            branded_with(&body, "#0f766e"),
            "{host}{path} has acme's colors in the head"
        );
        let head = body.split("</head>").next().unwrap_or_default();
        assert!(
            head.contains("--brand-primary"),
            "branding is in the head, before first paint"
        );
        assert!(
            !body.contains("Northwind"),
            "{host}{path} shows nothing of the other tenant"
        );
    }
    for (host, path) in [
        ("northwind.localhost", "/signin"),
        ("localhost", "/t/northwind/signin"),
    ] {
        let (status, body) = s.get(host, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Northwind General Hospital"));
        assert!(branded_with(&body, "#1e3a8a"));
        assert!(
            body.contains(r#"lang="en-GB""#),
            "the document language follows the tenant"
        );
    }
    s.t.cleanup().await;
}

#[tokio::test]
async fn a_custom_domain_resolves_to_its_tenant() {
    let s = Server::start(TestDb::sqlite().await).await;
    let mut tx = s.t.db.begin_platform().await.expect("begin");
    let slug = tenancy::Slug::parse("northwind").expect("slug");
    let northwind = tenancy::db::find_by_slug(&mut tx, &slug)
        .await
        .expect("find")
        .expect("exists");
    tenancy::db::set_custom_domain(
        &mut tx,
        northwind.id,
        Some("Care.Northwind-Hospital.test"),
        Some("token"),
    )
    .await
    .expect("set domain");
    tx.commit().await.expect("commit");
    // Not served as the clinic until the domain is proven.
    let (status, _) = s.get("care.northwind-hospital.test", "/signin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut tx = s.t.db.begin_platform().await.expect("begin");
    tenancy::db::mark_domain_verified(&mut tx, northwind.id, "care.northwind-hospital.test")
        .await
        .expect("verified");
    tx.commit().await.expect("commit");
    let (status, body) = s.get("care.northwind-hospital.test", "/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Northwind General Hospital") && branded_with(&body, "#1e3a8a"));
    // An unknown host is neither a clinic nor the platform.
    let (status, body) = s.get("unknown-host.test", "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains(r#"data-testid="not-found""#));
    s.t.cleanup().await;
}

#[tokio::test]
async fn unknown_tenants_get_a_404_page() {
    let s = Server::start(TestDb::sqlite().await).await;
    for (host, path) in [
        ("localhost", "/t/nosuchclinic/signin"),
        ("localhost", "/t/nosuchclinic"),
        ("localhost", "/t/Not_A_Slug/signin"),
        ("nosuchclinic.localhost", "/"),
        ("a.b.localhost", "/"),
        ("www-.localhost", "/signin"),
    ] {
        let (status, body) = s.get(host, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}{path}");
        assert!(body.contains(r#"data-testid="not-found""#), "{host}{path}");
    }
    // Unknown pages inside a known tenant are 404s too.
    let (status, body) = s.get("acme.localhost", "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains(r#"data-testid="not-found""#));
    s.t.cleanup().await;
}

#[tokio::test]
async fn a_suspended_tenant_gets_the_suspended_page_and_no_data() {
    let s = Server::start(TestDb::sqlite().await).await;
    for (host, path) in [
        ("harbor.localhost", "/signin"),
        ("localhost", "/t/harbor/signin"),
        ("localhost", "/t/harbor/staff"),
    ] {
        let (status, body) = s.get(host, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}{path}");
        assert!(body.contains(r#"data-testid="suspended""#) && body.contains("suspended"));
        assert!(!body.contains("Password"), "no sign-in form");
        assert!(!body.contains("site-info"), "no tenant data embedded");
    }
    let (status, _) = s.call("localhost", "/t/harbor/api/tenant_profile").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "server functions are refused too"
    );
    s.t.cleanup().await;
}

#[tokio::test]
async fn server_functions_act_on_the_tenant_of_the_address() {
    let s = Server::start(TestDb::sqlite().await).await;
    let (status, body) = s.call("localhost", "/t/acme/api/tenant_profile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], "acme");
    let (status, body) = s.call("northwind.localhost", "/api/tenant_profile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], "northwind");
    // A subdomain tenant cannot be switched by a path prefix.
    let (status, body) = s
        .call("acme.localhost", "/t/northwind/api/tenant_profile")
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(!body.to_string().contains("northwind"), "{body}");
    // On the platform there is no tenant: a 404, not a 500.
    let (status, _) = s.call("localhost", "/api/tenant_profile").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.t.cleanup().await;
}

#[tokio::test]
async fn each_area_asks_for_its_own_sign_in_and_exists_only_where_it_belongs() {
    let s = Server::start(TestDb::sqlite().await).await;
    let cases = [
        ("localhost", "/t/acme/staff", "/t/acme/signin?next=/staff"),
        ("acme.localhost", "/portal", "/portal/signin?next=/portal"),
        ("localhost", "/admin", "/signin?next=/admin"),
    ];
    for (host, path, sign_in) in cases {
        let res = s.raw_get(host, path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{host}{path}");
        assert_eq!(res.headers()["location"], sign_in, "{host}{path}");
    }
    for (host, path) in [("localhost", "/t/acme/admin"), ("localhost", "/staff")] {
        let (status, body) = s.get(host, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}{path}");
        assert!(body.contains(r#"data-testid="not-found""#), "{host}{path}");
    }

    let browser = support::server::Browser::new(s.addr);
    let signed_in = browser
        .sign_in(
            "localhost",
            "/t/acme",
            "olivia.owner@acme.example",
            app::demo::DEMO_PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let staff = browser.get("localhost", "/t/acme/staff").await;
    assert_eq!(staff.status, StatusCode::OK);
    assert!(staff.body.contains(r#"data-testid="staff-shell""#));
    assert!(
        staff.body.contains(r#"href="/t/acme/staff""#),
        "links keep the path prefix"
    );
    assert_eq!(staff.headers["cache-control"], "no-store");
    let res = s
        .client
        .post(format!("http://{}/t/acme/signin", s.addr))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    s.t.cleanup().await;
}

#[tokio::test]
async fn the_server_works_the_same_on_postgres() {
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let s = Server::start(t).await;
    let (status, body) = s.get("localhost", "/t/northwind/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(branded_with(&body, "#1e3a8a"));
    let (status, _) = s.get("harbor.localhost", "/").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s.call("acme.localhost", "/api/tenant_profile").await;
    assert_eq!(
        (status, body["slug"].as_str()),
        (StatusCode::OK, Some("acme"))
    );
    s.t.cleanup().await;
}

#[tokio::test]
async fn each_clinic_has_its_own_installable_app_manifest() {
    let s = Server::start(TestDb::sqlite().await).await;
    for (host, path, name, color, start) in [
        (
            "acme.localhost",
            "/manifest.webmanifest",
            "Acme Family Clinic",
            "#0f766e",
            "/",
        ),
        (
            "localhost",
            "/t/northwind/manifest.webmanifest",
            "Northwind General Hospital",
            "#1e3a8a",
            "/t/northwind/",
        ),
    ] {
        let res = s.raw_get(host, path).await;
        assert_eq!(res.status(), StatusCode::OK, "{host}{path}");
        assert_eq!(res.headers()["content-type"], "application/manifest+json");
        let manifest: serde_json::Value = res.json().await.expect("json");
        assert_eq!(manifest["name"], name);
        assert_eq!(manifest["theme_color"], color);
        assert_eq!(manifest["start_url"], start);
        assert!(manifest["icons"].as_array().is_some_and(|i| !i.is_empty()));
    }
    let (_, page) = s.get("localhost", "/t/northwind/signin").await;
    assert!(
        page.contains(r#"<link rel="manifest" href="/t/northwind/manifest.webmanifest">"#),
        "the page links its clinic's manifest"
    );
    s.t.cleanup().await;
}

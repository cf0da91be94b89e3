//! The request path: which clinic an address names is remembered for at most a
//! second, never past a change this instance committed; sessions are never
//! remembered; answers are compressed for clients that accept it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::fixtures::staffed_clinic;
use crate::support::server::{self, Browser};
use crate::support::TestDb;
use app::db::{Db, DbOptions};
use app::tenancy::{self, TenantStatus};

on_both_backends!(
    a_suspension_committed_here_applies_to_the_very_next_request,
    a_suspension_committed_by_another_instance_applies_within_a_second,
    a_signed_out_session_stops_working_at_once_while_its_clinic_is_remembered,
);

async fn suspend(db: &Db, tenant: tenancy::TenantId) {
    let mut tx = db.begin_platform().await.expect("tx");
    tenancy::db::set_status(&mut tx, tenant, TenantStatus::Suspended, Some("test"))
        .await
        .expect("suspend");
    tx.commit().await.expect("commit");
}

/// A clinic on a running server whose sign-in page has been served (so its tenant
/// is now remembered).
async fn served_clinic(t: &TestDb) -> (tenancy::TenantId, Browser) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let browser = Browser::new(server::start(&t.db, |_| {}).await);
    for _ in 0..2 {
        let reply = browser.get("acme.localhost", "/signin").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    (clinic.tenant.id, browser)
}

async fn a_suspension_committed_here_applies_to_the_very_next_request(t: &TestDb) {
    let (tenant, browser) = served_clinic(t).await;
    suspend(&t.db, tenant).await;
    let reply = browser.get("acme.localhost", "/signin").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
}

async fn a_suspension_committed_by_another_instance_applies_within_a_second(t: &TestDb) {
    let (tenant, browser) = served_clinic(t).await;
    // Another process: its own pool, which this server's memory knows nothing of.
    // The memory lasts a second; the margin is for a busy test machine.
    let other = Db::connect(&DbOptions::new(&t.app_url))
        .await
        .expect("second pool");
    suspend(&other, tenant).await;
    let since = Instant::now();
    loop {
        let reply = browser.get("acme.localhost", "/signin").await;
        if reply.status == StatusCode::FORBIDDEN {
            break;
        }
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            since.elapsed() < Duration::from_millis(2500),
            "the suspended clinic was still served {:?} after the commit",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    other.close().await;
}

async fn a_signed_out_session_stops_working_at_once_while_its_clinic_is_remembered(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let browser = Browser::new(addr);
    let cookie = browser.sign_in_owner("acme").await;
    let on_staff = |cookie: String| async move {
        server::get_with_cookie(addr, "acme.localhost", "/staff", &cookie).await
    };
    assert_eq!(on_staff(cookie.clone()).await, StatusCode::OK);
    let out = browser.call("acme.localhost", "/api/sign_out", &[]).await;
    assert!(
        out.status.is_success(),
        "sign out: {} {}",
        out.status,
        out.body
    );
    // The same cookie, replayed right away (as from another device), opens nothing.
    let replay = on_staff(cookie).await;
    assert!(
        replay.is_redirection(),
        "a signed-out session must not open the staff area: {replay}"
    );
}

#[tokio::test]
async fn pages_and_server_functions_are_compressed_for_clients_that_accept_it() {
    let t = TestDb::sqlite().await;
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let client = reqwest::Client::new();
    for (path, method) in [("/signin", "GET"), ("/api/tenant_profile", "POST")] {
        for (accept, expected) in [
            ("br", Some("br")),
            ("gzip", Some("gzip")),
            ("identity", None),
        ] {
            let req = match method {
                "GET" => client.get(format!("http://{addr}{path}")),
                _ => client
                    .post(format!("http://{addr}{path}"))
                    .header("content-type", "application/x-www-form-urlencoded"),
            };
            let res = req
                .header("host", format!("acme.localhost:{}", addr.port()))
                .header("accept-encoding", accept)
                .send()
                .await
                .expect("request");
            assert!(res.status().is_success(), "{path}: {}", res.status());
            let encoding = res
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok());
            assert_eq!(encoding, expected, "{path} with Accept-Encoding: {accept}");
            let vary = res.headers().get("vary").and_then(|v| v.to_str().ok());
            assert!(
                vary.is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
                "{path} Vary: {vary:?}"
            );
        }
    }
    t.cleanup().await;
}

/// Listing the app's routes runs the app with resource loading suppressed for
/// the whole process (leptos-rs/leptos#4773): a page whose data started loading
/// in that window waited forever. Servers list the routes once per process, so
/// pages keep rendering however often servers start beside them.
#[tokio::test]
async fn starting_servers_beside_a_busy_one_never_stalls_its_pages() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let t = TestDb::sqlite().await;
    staffed_clinic(&t.db, "acme").await;
    let owner = crate::self_service::staff_of(
        server::start(&t.db, |_| {}).await,
        "acme",
        app::identity::Role::Owner,
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let starts = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut listed = 0_u32;
            while !stop.load(Ordering::Relaxed) {
                // What every server start does.
                let _ = ::server::routes::PageRoutes::of_app();
                listed += 1;
            }
            listed
        })
    };
    for i in 0..40 {
        let page = tokio::time::timeout(
            Duration::from_secs(20),
            owner.get("localhost", "/t/acme/staff"),
        )
        .await;
        let Ok(page) = page else {
            stop.store(true, Ordering::Relaxed);
            panic!("the dashboard stalled on render {i} while routes were being listed");
        };
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        // The dashboard's counts are a resource: rendered, not left pending.
        assert!(
            page.body.contains("data-testid=\"card-patients\""),
            "{}",
            page.body
        );
    }
    stop.store(true, Ordering::Relaxed);
    assert!(starts.join().expect("lister") > 0);
    t.cleanup().await;
}

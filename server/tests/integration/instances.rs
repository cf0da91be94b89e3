//! Several instances of the server on one database: what one instance knows,
//! the other knows too (sessions, lockouts, rate limits).

use reqwest::StatusCode;

use crate::support::fixtures::{staff_email, staffed_clinic, PASSWORD};
use crate::support::server::{self, Browser};
use crate::support::TestDb;
use app::db::{Db, DbOptions};
use app::identity::Role;

on_both_backends!(
    a_session_made_on_one_instance_works_on_the_other,
    lockouts_count_across_instances,
    rate_limits_count_across_instances,
);

/// A second instance: its own connection pool on the same database.
async fn second_instance(t: &TestDb, limit: u32) -> (std::net::SocketAddr, Db) {
    let db = Db::connect(&DbOptions::new(&t.app_url))
        .await
        .expect("second pool");
    let addr = server::start(&db, |c| c.rate_limit_per_minute = limit).await;
    (addr, db)
}

async fn a_session_made_on_one_instance_works_on_the_other(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let one = server::start(&t.db, |_| {}).await;
    let (two, _pool) = second_instance(t, 100_000).await;
    let on_one = Browser::new(one);
    let cookie = on_one.sign_in_owner("acme").await;
    let status = server::get_with_cookie(two, "acme.localhost", "/staff", &cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the other instance knows the session"
    );
}

async fn lockouts_count_across_instances(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    // Five failures, alternating instances, lock the account on both.
    let one = server::start(&t.db, |_| {}).await;
    let (two, _pool) = second_instance(t, 100_000).await;
    let nurse = staff_email(Role::Nurse, "acme");
    let browsers = [Browser::new(one), Browser::new(two)];
    for i in 0..5 {
        let r = browsers[i % 2]
            .sign_in(
                "acme.localhost",
                "",
                &nurse,
                "not the password at all",
                "staff",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    for b in &browsers {
        let locked = b
            .sign_in("acme.localhost", "", &nurse, PASSWORD, "staff")
            .await;
        assert_eq!(
            locked.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "locked everywhere"
        );
    }
}

async fn rate_limits_count_across_instances(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    // 4 a minute per address, counted once for both instances.
    let one = server::start(&t.db, |c| c.rate_limit_per_minute = 4).await;
    let (two, _pool) = second_instance(t, 4).await;
    let browsers = [Browser::new(one), Browser::new(two)];
    let owner = staff_email(Role::Owner, "acme");
    // Start well inside a window, so that the count is exact; the sliding window
    // refuses a burst across a boundary too, but its estimate is not a count.
    let into_minute = chrono::Utc::now().timestamp() % 60;
    if into_minute > 40 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - into_minute) as u64)).await;
    }
    let minute = chrono::Utc::now().timestamp() / 60;
    let mut answered = 0;
    let mut refused = false;
    for i in 0..10 {
        let r = browsers[i % 2]
            .sign_in(
                "acme.localhost",
                "",
                &owner,
                "wrong password again",
                "staff",
            )
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        answered += 1;
    }
    assert!(refused, "never refused across instances");
    if chrono::Utc::now().timestamp() / 60 == minute {
        assert_eq!(answered, 4, "the limit is 4 across both instances");
    }
}

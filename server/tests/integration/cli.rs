//! The `medisync` binary as an operator meets it.

use crate::support;

use std::process::Command;

use support::TestDb;

/// The standard output of a run that must have succeeded (its errors otherwise).
fn succeeded(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn medisync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_medisync"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MEDISYNC_CONFIG", "/nonexistent/Leptos.toml");
    cmd
}

#[test]
fn the_server_refuses_to_start_on_an_invalid_value_and_names_it() {
    let out = medisync()
        .env("MEDISYNC_SERVER_SITE_ADDR", "localhost-3000")
        .arg("serve")
        .output()
        .expect("run medisync");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.site_addr"), "{stderr}");
    assert!(stderr.contains("MEDISYNC_SERVER_SITE_ADDR"), "{stderr}");

    let out = medisync()
        .env("DATABASE_URL", "mysql://db/medisync")
        .arg("migrate")
        .output()
        .expect("run medisync");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.url"));
}

#[test]
fn pg_roles_prints_the_role_sql_and_refuses_unsafe_input() {
    let out = medisync()
        .args(["pg-roles", "--app-password", "a-long-enough-password"])
        .output()
        .expect("run medisync");
    assert!(out.status.success());
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(sql.contains("CREATE ROLE medisync_owner LOGIN NOSUPERUSER NOBYPASSRLS"));
    assert!(sql.contains("IN ROLE medisync_app"));

    let out = medisync()
        .args(["pg-roles", "--app-password", "short'; DROP ROLE x; --"])
        .output()
        .expect("run medisync");
    assert!(!out.status.success(), "a quote in the password is refused");
    let out = medisync()
        .args([
            "pg-roles",
            "--app-login",
            "Robert'); --",
            "--app-password",
            "a-long-enough-password",
        ])
        .output()
        .expect("run medisync");
    assert!(!out.status.success(), "odd role names are refused");
}

#[tokio::test]
async fn seed_demo_if_empty_seeds_once() {
    let t = TestDb::sqlite().await;
    let run = || {
        medisync()
            .env("DATABASE_URL", &t.app_url)
            .args(["seed-demo", "--if-empty"])
            .output()
            .expect("run medisync")
    };
    assert!(succeeded(&run()).contains("demo data created: 3 tenants"));
    assert!(succeeded(&run()).contains("already has tenants"));

    let mut tx = t.db.begin_platform_read().await.expect("begin");
    assert_eq!(app::tenancy::db::count(&mut tx).await.expect("count"), 3);
    drop(tx);
    t.cleanup().await;
}

/// `create-admin` makes a platform operator whose one-time link sets the password;
/// the operator then signs in on the platform and must set up two-factor first.
#[tokio::test]
async fn create_admin_prints_a_working_one_time_link() {
    let t = TestDb::sqlite().await;
    let out = medisync()
        .env("DATABASE_URL", &t.app_url)
        .args([
            "create-admin",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops",
        ])
        .output()
        .expect("run medisync");
    let stdout = succeeded(&out);
    let token = stdout
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token");
    let bad = medisync()
        .env("DATABASE_URL", &t.app_url)
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--role",
            "root",
        ])
        .output()
        .expect("run medisync");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--role"));

    let addr = support::server::start(&t.db, |_| {}).await;
    let b = support::server::Browser::new(addr);
    let set = b
        .call(
            "localhost",
            "/api/reset_password",
            &[("token", token), ("password", "operator long passphrase")],
        )
        .await;
    assert_eq!(set.status, reqwest::StatusCode::OK, "{}", set.body);
    let signed_in = b
        .sign_in(
            "localhost",
            "",
            "ops@example.com",
            "operator long passphrase",
            "platform",
        )
        .await;
    assert_eq!(
        signed_in.status,
        reqwest::StatusCode::OK,
        "{}",
        signed_in.body
    );
    let console = b.get("localhost", "/admin").await;
    assert_eq!(
        console.status,
        reqwest::StatusCode::SEE_OTHER,
        "two-factor first"
    );
    assert_eq!(console.location(), "/account/security");
    let api = b.call("localhost", "/api/platform_overview", &[]).await;
    assert_eq!(api.status, reqwest::StatusCode::FORBIDDEN);
    assert!(b
        .get("localhost", "/account/security")
        .await
        .status
        .is_success());
    t.cleanup().await;
}

on_both_backends!(seed_load_fills_every_clinic_through_the_tenant_walls);

/// `seed-load` writes its clinics and patients as the application role (on
/// PostgreSQL under row-level security): each clinic sees exactly its own share.
async fn seed_load_fills_every_clinic_through_the_tenant_walls(t: &TestDb) {
    let mut cmd = medisync();
    cmd.env("DATABASE_URL", &t.app_url);
    if let Some(owner) = &t.owner_url {
        cmd.env("MEDISYNC_DATABASE_OWNER_URL", owner);
    }
    let out = cmd
        .args([
            "seed-load",
            "--clinics",
            "3",
            "--patients",
            "1201",
            "--largest",
            "1000",
        ])
        .output()
        .expect("run medisync");
    let stdout = succeeded(&out);
    assert!(
        stdout.contains("seeded 3 clinics and 1201 patients"),
        "{stdout}"
    );
    let mut counts = Vec::new();
    for index in 0..3 {
        let slug = app::tenancy::Slug::parse(&app::load_seed::slug_of(index)).expect("slug");
        let mut platform = t.db.begin_platform_read().await.expect("begin");
        let tenant = app::tenancy::db::find_by_slug(&mut platform, &slug)
            .await
            .expect("lookup")
            .expect("seeded clinic");
        drop(platform);
        let mut tx = t.db.begin_for_read(tenant.id).await.expect("begin");
        counts.push(app::patients::db::count(&mut tx).await.expect("count"));
    }
    assert_eq!(counts, vec![1000, 101, 100]);
    let bad = medisync()
        .env("DATABASE_URL", &t.app_url)
        .args([
            "seed-load",
            "--clinics",
            "2",
            "--patients",
            "5",
            "--largest",
            "9",
        ])
        .output()
        .expect("run medisync");
    assert!(!bad.status.success(), "an impossible shape is refused");
}

on_both_backends!(jobs_lists_dead_jobs_and_sends_one_back_to_the_queue);

/// `medisync jobs`: an operator sees what failed for good, and why, and sends it
/// back; an id that names no dead job is an error, not silence.
async fn jobs_lists_dead_jobs_and_sends_one_back_to_the_queue(t: &TestDb) {
    use app::jobs::{db as queue, NewJob};
    let now = chrono::Utc::now();
    queue::enqueue_now(&t.db, &NewJob::new("test-dead", "broken", now).attempts(1))
        .await
        .expect("enqueue");
    let claimed = queue::claim(
        &t.db,
        "w",
        &["test-dead"],
        now,
        chrono::Duration::minutes(1),
        1,
    )
    .await
    .expect("claim");
    let failure = app::jobs::Failure::Permanent("the provider refused the number".into());
    queue::fail(&t.db, &claimed[0], "w", &failure, now)
        .await
        .expect("fail");
    let run = |args: &[&str]| {
        let mut cmd = medisync();
        cmd.env("DATABASE_URL", &t.app_url);
        if let Some(owner) = &t.owner_url {
            cmd.env("MEDISYNC_DATABASE_OWNER_URL", owner);
        }
        cmd.arg("jobs").args(args).output().expect("run medisync")
    };
    let listed = succeeded(&run(&["list"]));
    assert!(listed.contains("dead     test-dead        1"), "{listed}");
    assert!(listed.contains(&claimed[0].id.to_string()), "{listed}");
    assert!(
        listed.contains("the provider refused the number"),
        "{listed}"
    );

    let id = claimed[0].id.to_string();
    assert!(succeeded(&run(&["retry", &id])).contains("back in the queue"));
    let again = run(&["retry", &id]);
    assert!(!again.status.success(), "it is no longer dead");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no dead job"));
    let wrong = run(&["list", "--state", "stuck"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--state must be"));
    let job = queue::find(&t.db, claimed[0].id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!((job.state.as_str(), job.attempts), ("queued", 0));
}

//! One doctor, two clinics (issue 14 ★): a person who is a staff member of
//! two tenants is busy at one clinic while booked at the other. The other
//! clinic learns the busy times and nothing else; both clinics booking the
//! same time at once give exactly one booking; and the database refuses an
//! overlap across clinics with the application bypassed.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;

use app::db::Backend;
use app::identity::{self, Role};

use crate::scheduling::{book_at, day_at, doctor_of, free_starts, next_monday, set_up_for, Setup};
use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::{staff_email, staffed_clinic};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    a_doctor_booked_at_one_clinic_is_busy_at_the_other_and_nothing_more,
    two_clinics_booking_one_doctor_at_once_get_one_booking,
);

struct TwoClinics {
    acme: Setup,
    beta: Setup,
    acme_desk: Browser,
    beta_desk: Browser,
    acme_tenant: uuid::Uuid,
    beta_tenant: uuid::Uuid,
    addr: std::net::SocketAddr,
}

/// Clinics `acme` and `beta`; acme's doctor also works at beta (one account,
/// a staff member of each), Mondays 09:00–12:00 at both.
async fn two_clinics(t: &TestDb) -> TwoClinics {
    let acme = staffed_clinic(&t.db, "acme").await;
    let beta = staffed_clinic(&t.db, "beta").await;
    let mut platform = t.db.begin_platform().await.expect("begin");
    let email = app::identity::Email::parse(&staff_email(Role::Doctor, "acme")).expect("email");
    let account = identity::db::find_account_by_email(&mut platform, &email)
        .await
        .expect("find")
        .expect("the doctor's account");
    drop(platform);
    let mut tx = t.db.begin_for(beta.tenant.id).await.expect("begin beta");
    let at_beta = identity::db::add_staff(&mut tx, &account, Role::Doctor)
        .await
        .expect("also at beta");
    tx.commit().await.expect("commit");

    let addr = server::start(&t.db, |_| {}).await;
    let acme_admin = staff_of(addr, "acme", Role::Admin).await;
    let beta_admin = staff_of(addr, "beta", Role::Admin).await;
    let acme_doctor = doctor_of(&acme_admin, "acme").await;
    TwoClinics {
        acme: set_up_for(&acme_admin, "acme", &acme_doctor, ("30", "1"), "UTC").await,
        beta: set_up_for(
            &beta_admin,
            "beta",
            &at_beta.id.to_string(),
            ("30", "1"),
            "UTC",
        )
        .await,
        acme_desk: staff_of(addr, "acme", Role::Receptionist).await,
        beta_desk: staff_of(addr, "beta", Role::Receptionist).await,
        acme_tenant: acme.tenant.id.into_uuid(),
        beta_tenant: beta.tenant.id.into_uuid(),
        addr,
    }
}

async fn a_doctor_booked_at_one_clinic_is_busy_at_the_other_and_nothing_more(t: &TestDb) {
    let c = two_clinics(t).await;
    let monday = next_monday();
    let nine = format!("{monday}T09:00:00+00:00");
    let ten = format!("{monday}T10:00:00+00:00");
    let acme_free = free_starts(&day_at(&c.acme_desk, "acme", &c.acme, monday).await);
    assert_eq!(acme_free.len(), 6, "{acme_free:?}");

    // Beta books the doctor at 09:00 for one of its patients.
    let secret = register(
        &c.beta_desk,
        "beta",
        "Zenobia",
        "Quartermaine",
        "1970-05-06",
        &[],
    )
    .await;
    let r = book_at(&c.beta_desk, "beta", &c.beta, &secret, &nine).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // At acme the doctor is now busy at 09:00 (and only then).
    let acme_day = day_at(&c.acme_desk, "acme", &c.acme, monday).await;
    let free = free_starts(&acme_day);
    assert_eq!(free.len(), 5, "{free:?}");
    assert!(!free.iter().any(|s| s.contains("T09:00:00")), "{free:?}");
    // The column says when, and only that.
    assert_eq!(
        acme_day["columns"][0]["elsewhere"],
        serde_json::json!(["09:00–09:30"]),
        "{acme_day}"
    );
    // Nothing of beta's visit shows: not the patient, the clinic or the type.
    let shown = acme_day.to_string();
    for secret in ["Zenobia", "Quartermaine", "beta"] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
    // Acme cannot book the doctor then; the answer says the time is taken
    // and offers the next free times, still naming nothing of beta.
    let patient = register(&c.acme_desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let r = book_at(&c.acme_desk, "acme", &c.acme, &patient, &nine).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let said = r.json()["Taken"].as_str().expect("taken").to_owned();
    assert!(
        said.contains("09:30") && !said.contains("Zenobia"),
        "{said}"
    );

    // Bypassing the application: acme moves its own 10:00 visit onto 09:00 with
    // raw SQL as the application's role; the database refuses it.
    let r = book_at(&c.acme_desk, "acme", &c.acme, &patient, &ten).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let acme_visit: uuid::Uuid = r.json().as_str().expect("id").parse().expect("uuid");
    let at_nine: DateTime<Utc> = nine.parse().expect("time");
    let moved = move_raw(t, c.acme_tenant, acme_visit, at_nine).await;
    assert!(moved.is_err(), "an overlap across clinics was written");
    // Moving it to 11:00 the same way is fine (the guard is not a blanket refusal).
    let at_eleven = at_nine + chrono::Duration::hours(2);
    move_raw(t, c.acme_tenant, acme_visit, at_eleven)
        .await
        .expect("a free time");
    assert!(projection_seen_by(t, c.acme_tenant)
        .await
        .iter()
        .all(|t| *t == c.acme_tenant));
    assert_only_own_busy_readable(t, &c).await;

    // Beta cancels: acme can book 09:00 again, and then beta cannot.
    let beta_day = day_at(&c.beta_desk, "beta", &c.beta, monday).await;
    let beta_visit = beta_day["columns"][0]["appointments"][0]["id"]
        .as_str()
        .expect("beta's visit")
        .to_owned();
    c.beta_desk
        .api_ok(
            "beta",
            "set_appointment_status",
            &[
                ("appointment_id", &beta_visit),
                ("status", "cancelled"),
                ("reason", "Patient is travelling"),
            ],
        )
        .await;
    let free = free_starts(&day_at(&c.acme_desk, "acme", &c.acme, monday).await);
    assert!(free.iter().any(|s| s.contains("T09:00:00")), "{free:?}");
    let r = book_at(&c.acme_desk, "acme", &c.acme, &patient, &nine).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = book_at(&c.beta_desk, "beta", &c.beta, &secret, &nine).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        !r.body.contains("Ada") && !r.body.contains("Okafor"),
        "{}",
        r.body
    );
}

async fn two_clinics_booking_one_doctor_at_once_get_one_booking(t: &TestDb) {
    let c = two_clinics(t).await;
    let monday = next_monday();
    let nine = format!("{monday}T09:00:00+00:00");
    let acme_patient = register(&c.acme_desk, "acme", "Ada", "Okafor", "1980-02-03", &[]).await;
    let beta_patient = register(&c.beta_desk, "beta", "Bo", "Lindqvist", "1985-07-08", &[]).await;
    let mut desks = Vec::new();
    for (slug, setup, patient) in [
        ("acme", &c.acme, &acme_patient),
        ("beta", &c.beta, &beta_patient),
    ] {
        for role in [Role::Receptionist, Role::Nurse, Role::Admin, Role::Owner] {
            let desk = std::sync::Arc::new(staff_of(c.addr, slug, role).await);
            desks.push((slug, setup.clone(), patient.clone(), desk));
        }
    }
    for round in 0..3 {
        let mut calls = Vec::new();
        for (slug, setup, patient, desk) in desks.iter().cloned() {
            let nine = nine.clone();
            calls.push(tokio::spawn(async move {
                book_at(&desk, slug, &setup, &patient, &nine).await.status
            }));
        }
        let mut statuses = Vec::new();
        for call in calls {
            statuses.push(call.await.expect("join"));
        }
        let booked = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let taken = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((booked, taken), (1, 7), "round {round}: {statuses:?}");
        // Free the time for the next round, wherever it was booked.
        for (slug, setup, desk) in [
            ("acme", &c.acme, &c.acme_desk),
            ("beta", &c.beta, &c.beta_desk),
        ] {
            let day = day_at(desk, slug, setup, monday).await;
            for visit in day["columns"][0]["appointments"]
                .as_array()
                .expect("visits")
            {
                if visit["status"] != "Cancelled" {
                    desk.api_ok(
                        slug,
                        "set_appointment_status",
                        &[
                            ("appointment_id", visit["id"].as_str().expect("id")),
                            ("status", "cancelled"),
                            ("reason", "Round over"),
                        ],
                    )
                    .await;
                }
            }
        }
    }
}

/// Moves appointment `id` (30 minutes, no buffers) to start at `at`, with raw
/// SQL as the application's role inside `tenant`.
async fn move_raw(
    t: &TestDb,
    tenant: uuid::Uuid,
    id: uuid::Uuid,
    at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let until = at + chrono::Duration::minutes(30);
    let sql = "UPDATE appointments SET starts_at = $2, ends_at = $3, occupied_from = $2, \
               occupied_until = $3 WHERE id = $1";
    match t.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await?;
            let q = sqlx::query(sql).bind(id).bind(at).bind(until);
            Ok(q.execute(&pool).await?.rows_affected())
        }
        Backend::Postgres => {
            let mut tx = t.app_tx_in(tenant).await?;
            let n = sqlx::query(sql)
                .bind(id)
                .bind(at)
                .bind(until)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n)
        }
    }
}

/// The clinics whose busy rows the application's role reads directly, inside
/// `tenant` (PostgreSQL: its own only; SQLite has no second wall).
async fn projection_seen_by(t: &TestDb, tenant: uuid::Uuid) -> Vec<uuid::Uuid> {
    if t.backend != Backend::Postgres {
        return vec![tenant];
    }
    let mut tx = t.app_tx_in(tenant).await.expect("app role in acme");
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT tenant_id FROM account_busy")
        .fetch_all(&mut *tx)
        .await
        .expect("read");
    assert!(!rows.is_empty(), "acme's own busy rows are readable");
    rows.into_iter().map(|r| r.0).collect()
}

/// On PostgreSQL, `busy_elsewhere` answers only for the current clinic's own
/// staff, and only when asked for the current clinic.
async fn assert_only_own_busy_readable(t: &TestDb, c: &TwoClinics) {
    if t.backend != Backend::Postgres {
        return;
    }
    let pool = sqlx::PgPool::connect(&t.app_url).await.expect("connect");
    let ask = |tenant: uuid::Uuid, claimed: uuid::Uuid, staff: uuid::Uuid| async move {
        let mut tx = t.app_tx_in(tenant).await.expect("app role in a clinic");
        let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM busy_elsewhere($1, $2, now() - interval '1 day', now() + interval '60 days')",
            )
            .bind(claimed)
            .bind(staff)
            .fetch_one(&mut *tx)
            .await
            .expect("busy_elsewhere");
        n
    };
    let acme_doctor: uuid::Uuid = c.acme.doctor.parse().expect("uuid");
    let beta_doctor: uuid::Uuid = c.beta.doctor.parse().expect("uuid");
    // Acme asking for its own doctor: beta's 09:00.
    assert_eq!(ask(c.acme_tenant, c.acme_tenant, acme_doctor).await, 1);
    // Acme naming beta, or beta's staff id: nothing.
    assert_eq!(ask(c.acme_tenant, c.beta_tenant, beta_doctor).await, 0);
    assert_eq!(ask(c.acme_tenant, c.acme_tenant, beta_doctor).await, 0);
    // No clinic set: nothing.
    let mut tx = pool.begin().await.expect("begin");
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM busy_elsewhere($1, $2, now() - interval '1 day', now() + interval '60 days')",
    )
    .bind(c.acme_tenant)
    .bind(acme_doctor)
    .fetch_one(&mut *tx)
    .await
    .expect("busy_elsewhere");
    assert_eq!(n, 0);
}

//! The durable job queue: a key is queued once, every job runs exactly once
//! however many workers and instances share the database, a killed worker's job
//! is taken again after its lease, failures back off and end dead where an
//! operator sees them, and periodic work is queued once per period.

use crate::support;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use ::server::worker::{Handlers, Worker};
use app::db::{Db, DbOptions};
use app::jobs::{self, db as queue, Done, Failure, JobState, NewJob};
use support::TestDb;

const COUNT: &str = "test-count";
const FLAKY: &str = "test-flaky";
const BLOCK: &str = "test-block";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

/// A handler that writes down each run's payload.
fn counting(runs: Arc<Mutex<Vec<String>>>) -> Handlers {
    Handlers::default().on(COUNT, move |job, _| {
        let runs = runs.clone();
        async move {
            // A little time inside the job, so claims of several workers overlap.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            runs.lock().expect("lock").push(job.payload);
            Ok(Done::Finished)
        }
    })
}

/// Runs `worker` until nothing is due at `now`.
async fn drain(worker: &Worker, now: DateTime<Utc>) -> usize {
    let mut ran = 0;
    while worker.run_one(now).await.expect("run").is_some() {
        ran += 1;
    }
    ran
}

on_both_backends!(a_key_is_queued_once_and_only_with_what_caused_it);

async fn a_key_is_queued_once_and_only_with_what_caused_it(t: &TestDb) {
    let now = at("2026-12-01T09:00:00Z");
    let job = NewJob::new(COUNT, "invoice-42-reminder", now).payload("first");
    assert!(queue::enqueue_now(&t.db, &job).await.expect("enqueue"));
    let again = NewJob::new(COUNT, "invoice-42-reminder", now).payload("second");
    assert!(!queue::enqueue_now(&t.db, &again).await.expect("enqueue"));

    // A job queued in a transaction that rolls back does not exist.
    let mut tx = t.db.begin_platform().await.expect("begin");
    let lost = NewJob::new(COUNT, "rolled-back", now);
    assert!(queue::enqueue(&mut tx, &lost).await.expect("enqueue"));
    drop(tx);
    assert!(queue::find_by_key(&t.db, "rolled-back")
        .await
        .expect("find")
        .is_none());

    let runs = Arc::new(Mutex::new(Vec::new()));
    let worker = Worker::new(t.db.clone(), "w1", counting(runs.clone()));
    assert_eq!(drain(&worker, now).await, 1);
    assert_eq!(*runs.lock().expect("lock"), vec!["first".to_owned()]);
    // Done, its key still refuses a duplicate.
    assert!(!queue::enqueue_now(&t.db, &again).await.expect("enqueue"));
    assert_eq!(drain(&worker, now).await, 0);
}

on_both_backends!(jobs_wait_for_their_time_and_workers_take_only_their_kinds);

async fn jobs_wait_for_their_time_and_workers_take_only_their_kinds(t: &TestDb) {
    let now = at("2026-12-01T09:00:00Z");
    for (key, kind, due) in [
        ("later", COUNT, now + Duration::minutes(5)),
        ("other-kind", "test-nobody-handles", now),
    ] {
        queue::enqueue_now(&t.db, &NewJob::new(kind, key, due).payload(key))
            .await
            .expect("enqueue");
    }
    let runs = Arc::new(Mutex::new(Vec::new()));
    let worker = Worker::new(t.db.clone(), "w1", counting(runs.clone()));
    assert_eq!(drain(&worker, now).await, 0, "nothing is due yet");
    assert_eq!(drain(&worker, now + Duration::minutes(5)).await, 1);
    assert_eq!(*runs.lock().expect("lock"), vec!["later".to_owned()]);
    let other = queue::find_by_key(&t.db, "other-kind")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(other.state, "queued", "left for a process that handles it");
}

on_both_backends!(two_instances_with_two_workers_each_run_every_job_exactly_once);

async fn two_instances_with_two_workers_each_run_every_job_exactly_once(t: &TestDb) {
    const JOBS: usize = 120;
    let now = at("2026-12-01T09:00:00Z");
    let mut tx = t.db.begin_platform().await.expect("begin");
    for n in 0..JOBS {
        let job = NewJob::new(COUNT, format!("job-{n}"), now).payload(n.to_string());
        queue::enqueue(&mut tx, &job).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");

    // A second instance: its own connection pool on the same database.
    let other = Db::connect(&DbOptions::new(&t.app_url))
        .await
        .expect("second pool");
    let runs = Arc::new(Mutex::new(Vec::new()));
    let workers = [
        Worker::new(t.db.clone(), "a-0", counting(runs.clone())),
        Worker::new(t.db.clone(), "a-1", counting(runs.clone())),
        Worker::new(other.clone(), "b-0", counting(runs.clone())),
        Worker::new(other.clone(), "b-1", counting(runs.clone())),
    ];
    let ran: Vec<usize> =
        futures_util::future::join_all(workers.iter().map(|w| drain(w, now))).await;
    assert_eq!(ran.iter().sum::<usize>(), JOBS, "per worker: {ran:?}");

    let mut seen = runs.lock().expect("lock").clone();
    assert_eq!(seen.len(), JOBS, "no job ran twice");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), JOBS, "every job ran");
    let done = queue::counts(&t.db).await.expect("counts");
    assert_eq!(done, vec![("done".into(), COUNT.into(), JOBS as i64)]);
    other.close().await;
}

on_both_backends!(a_killed_workers_job_is_taken_again_once_its_lease_runs_out);

async fn a_killed_workers_job_is_taken_again_once_its_lease_runs_out(t: &TestDb) {
    let now = Utc::now();
    let lease = Duration::minutes(10);
    queue::enqueue_now(&t.db, &NewJob::new(BLOCK, "stuck", now))
        .await
        .expect("enqueue");
    // The first run hangs (a worker that will be killed mid-job); later runs end.
    let started = Arc::new(tokio::sync::Notify::new());
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let handlers = {
        let (started, first) = (started.clone(), first.clone());
        Handlers::default().on(BLOCK, move |_, _| {
            let (started, first) = (started.clone(), first.clone());
            async move {
                if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    started.notify_one();
                    std::future::pending::<()>().await;
                }
                Ok(Done::Finished)
            }
        })
    };
    let doomed = Worker::new(t.db.clone(), "doomed", handlers.clone()).with_lease(lease);
    let task = tokio::spawn(async move { doomed.run_one(now).await });
    started.notified().await;
    task.abort();
    let _ = task.await;

    let held = queue::find_by_key(&t.db, "stuck")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(held.state, "running");
    assert_eq!(held.locked_by.as_deref(), Some("doomed"));

    let survivor = Worker::new(t.db.clone(), "survivor", handlers).with_lease(lease);
    assert!(
        survivor
            .run_one(now + Duration::minutes(9))
            .await
            .expect("run")
            .is_none(),
        "the lease still holds"
    );
    let ran = survivor
        .run_one(now + lease + Duration::seconds(1))
        .await
        .expect("run")
        .expect("taken again");
    assert_eq!(ran.state, Some(JobState::Done));
    assert_eq!(ran.job.attempts, 2);
    // The dead worker, were it to come back, can no longer touch the job.
    assert!(!queue::complete(&t.db, &held, "doomed", now)
        .await
        .expect("complete"));
    assert!(
        queue::fail(&t.db, &held, "doomed", &Failure::Retry("late".into()), now)
            .await
            .expect("fail")
            .is_none()
    );
}

on_both_backends!(failures_back_off_then_the_job_dies_where_operators_see_it);

async fn failures_back_off_then_the_job_dies_where_operators_see_it(t: &TestDb) {
    let now = at("2026-12-01T09:00:00Z");
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handlers = {
        let healthy = healthy.clone();
        Handlers::default().on(FLAKY, move |job, _| {
            let healthy = healthy.clone();
            async move {
                if job.payload == "hopeless" {
                    Err(Failure::Permanent("the address does not exist".into()))
                } else if healthy.load(std::sync::atomic::Ordering::SeqCst) {
                    Ok(Done::Finished)
                } else {
                    Err(Failure::Retry("the provider did not answer".into()))
                }
            }
        })
    };
    let worker = Worker::new(t.db.clone(), "w1", handlers);
    queue::enqueue_now(&t.db, &NewJob::new(FLAKY, "flaky", now).attempts(3))
        .await
        .expect("enqueue");

    let first = worker.run_one(now).await.expect("run").expect("ran");
    assert_eq!(first.state, Some(JobState::Queued));
    let job = queue::find_by_key(&t.db, "flaky")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(
        job.run_at,
        now + Duration::seconds(30),
        "30 s after the first failure"
    );
    assert_eq!(
        job.last_error.as_deref(),
        Some("the provider did not answer")
    );
    assert!(worker
        .run_one(now + Duration::seconds(29))
        .await
        .expect("run")
        .is_none());

    let second = worker
        .run_one(now + Duration::seconds(30))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(second.state, Some(JobState::Queued));
    let job = queue::find_by_key(&t.db, "flaky")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.run_at, now + Duration::seconds(90), "then 60 s");

    let third = worker
        .run_one(now + Duration::seconds(90))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(third.state, Some(JobState::Dead), "three attempts used");
    let dead = queue::list(&t.db, JobState::Dead, 10).await.expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(worker
        .run_one(now + Duration::days(1))
        .await
        .expect("run")
        .is_none());

    // A permanent failure does not wait for its attempts.
    queue::enqueue_now(
        &t.db,
        &NewJob::new(FLAKY, "hopeless", now).payload("hopeless"),
    )
    .await
    .expect("enqueue");
    let hopeless = worker.run_one(now).await.expect("run").expect("ran");
    assert_eq!(hopeless.state, Some(JobState::Dead));
    assert_eq!(hopeless.job.attempts, 1);

    // The operator fixes the cause and sends the job back.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    let later = now + Duration::days(1);
    assert!(queue::requeue(&t.db, dead[0].id, later)
        .await
        .expect("requeue"));
    assert!(
        !queue::requeue(&t.db, dead[0].id, later)
            .await
            .expect("requeue"),
        "only dead jobs"
    );
    assert!(!queue::requeue(&t.db, Uuid::now_v7(), later)
        .await
        .expect("requeue"));
    let retried = worker.run_one(later).await.expect("run").expect("ran");
    assert_eq!(retried.state, Some(JobState::Done));
    assert_eq!(retried.job.attempts, 1, "fresh attempts");
}

on_both_backends!(a_job_that_outlives_its_last_lease_is_buried_not_run_again);

async fn a_job_that_outlives_its_last_lease_is_buried_not_run_again(t: &TestDb) {
    let now = at("2026-12-01T09:00:00Z");
    queue::enqueue_now(&t.db, &NewJob::new(COUNT, "last-try", now).attempts(1))
        .await
        .expect("enqueue");
    // A worker claims its only attempt and dies.
    let claimed = queue::claim(&t.db, "doomed", &[COUNT], now, Duration::minutes(10), 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let runs = Arc::new(Mutex::new(Vec::new()));
    let worker = Worker::new(t.db.clone(), "w1", counting(runs.clone()));
    assert_eq!(drain(&worker, now + Duration::hours(1)).await, 0);
    assert!(runs.lock().expect("lock").is_empty());
    let job = queue::find_by_key(&t.db, "last-try")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.state, "dead");
    assert_eq!(
        job.last_error.as_deref(),
        Some("the worker stopped during the last attempt")
    );
}

on_both_backends!(a_panicking_handler_fails_its_job_not_the_worker);

async fn a_panicking_handler_fails_its_job_not_the_worker(t: &TestDb) {
    let now = at("2026-12-01T09:00:00Z");
    let handlers = Handlers::default().on(FLAKY, |_, _| async {
        if true {
            panic!("a bug in a handler");
        }
        Ok(Done::Finished)
    });
    queue::enqueue_now(&t.db, &NewJob::new(FLAKY, "buggy", now))
        .await
        .expect("enqueue");
    let worker = Worker::new(t.db.clone(), "w1", handlers);
    let ran = worker.run_one(now).await.expect("run").expect("ran");
    assert_eq!(ran.state, Some(JobState::Queued));
    let job = queue::find_by_key(&t.db, "buggy")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.last_error.as_deref(), Some("the handler panicked"));
}

on_both_backends!(periodic_work_is_queued_once_per_period_by_any_number_of_instances);

async fn periodic_work_is_queued_once_per_period_by_any_number_of_instances(t: &TestDb) {
    let now = at("2026-12-01T09:05:00Z");
    let other = Db::connect(&DbOptions::new(&t.app_url))
        .await
        .expect("second pool");
    let queued = queue::schedule_periodic(&t.db, now)
        .await
        .expect("schedule");
    assert_eq!(queued, jobs::PERIODIC.len());
    assert_eq!(
        queue::schedule_periodic(&other, now)
            .await
            .expect("schedule"),
        0
    );
    let schedule = |at: DateTime<Utc>| {
        let db = t.db.clone();
        async move { queue::schedule_periodic(&db, at).await.expect("schedule") }
    };
    assert_eq!(
        schedule(now + Duration::minutes(4)).await,
        0,
        "09:09: nothing new"
    );
    assert_eq!(
        schedule(now + Duration::minutes(20)).await,
        1,
        "09:25: housekeeping"
    );
    assert_eq!(
        schedule(now + Duration::minutes(55)).await,
        2,
        "10:00: and the trial clock"
    );
    assert_eq!(
        schedule(now + Duration::hours(15)).await,
        3,
        "the next day: all three"
    );
    let trial = queue::find_by_key(&t.db, "trial-clock@2026-12-01T10:00Z")
        .await
        .expect("find")
        .expect("job");
    assert_eq!(trial.run_at, at("2026-12-01T10:00:00Z"));
    other.close().await;
}

on_both_backends!(a_job_held_back_runs_at_its_new_time_without_losing_an_attempt);

async fn a_job_held_back_runs_at_its_new_time_without_losing_an_attempt(t: &TestDb) {
    let now = at("2026-12-01T22:30:00Z");
    let morning = at("2026-12-02T08:00:00Z");
    // Quiet hours, say: before 08:00 it waits; from then on it runs.
    let handlers = Handlers::default().on(FLAKY, move |_, now| async move {
        Ok(if now < morning {
            Done::Later(morning)
        } else {
            Done::Finished
        })
    });
    queue::enqueue_now(&t.db, &NewJob::new(FLAKY, "quiet", now).attempts(1))
        .await
        .expect("enqueue");
    let worker = Worker::new(t.db.clone(), "w1", handlers);
    let held = worker.run_one(now).await.expect("run").expect("ran");
    assert_eq!(held.state, Some(JobState::Queued));
    let job = queue::find_by_key(&t.db, "quiet")
        .await
        .expect("find")
        .expect("job");
    assert_eq!((job.run_at, job.attempts), (morning, 0));
    assert!(worker
        .run_one(morning - Duration::seconds(1))
        .await
        .expect("run")
        .is_none());
    let ran = worker.run_one(morning).await.expect("run").expect("ran");
    assert_eq!(
        ran.state,
        Some(JobState::Done),
        "its one attempt was still there"
    );
}

//! The job queue's workers (`app::jobs`): inside the server (`jobs.workers`) or
//! as their own process (`medisync worker`). Each worker claims one due job at a
//! time under a lease, runs its kind's handler, and records the outcome; any
//! number of workers and processes may share one database.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use app::db::{Db, DbError};
use app::jobs::{self, db as queue, kinds, Done, Failure, Job, JobState};

use crate::AppState;

type HandlerFuture = Pin<Box<dyn Future<Output = Result<Done, Failure>> + Send>>;
type Handler = Arc<dyn Fn(Job, DateTime<Utc>) -> HandlerFuture + Send + Sync>;

/// How long a worker holds a job before others may take it again. Handlers are
/// stopped at half of it, so a slow one fails before its job is taken over.
pub const LEASE: Duration = Duration::minutes(10);
/// How long an idle worker waits before looking again.
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a process queues the periodic jobs' current periods.
const SCHEDULE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The handler of each job kind this process runs. A kind without one is left
/// for a process that has it (mail without SMTP stays queued).
#[derive(Clone, Default)]
pub struct Handlers(HashMap<&'static str, Handler>);

impl Handlers {
    /// Runs `handler(job, now)` for jobs of `kind`; `now` is the worker's clock
    /// (tests move it), which handlers use for every decision about time.
    pub fn on<F, Fut>(mut self, kind: &'static str, handler: F) -> Self
    where
        F: Fn(Job, DateTime<Utc>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Done, Failure>> + Send + 'static,
    {
        self.0.insert(
            kind,
            Arc::new(move |job, now| Box::pin(handler(job, now)) as HandlerFuture),
        );
        self
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.0.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

/// One worker: a name other workers can tell apart, and what it can run.
pub struct Worker {
    db: Db,
    name: String,
    handlers: Handlers,
    lease: Duration,
}

/// What one turn of a worker did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub job: Job,
    pub state: Option<JobState>,
}

impl Worker {
    pub fn new(db: Db, name: impl Into<String>, handlers: Handlers) -> Self {
        Self {
            db,
            name: name.into(),
            handlers,
            lease: LEASE,
        }
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Claims and runs one job due at `now`; `None` when none was due. The
    /// outcome's state is `None` when the lease ran out meanwhile and another
    /// worker took the job.
    pub async fn run_one(&self, now: DateTime<Utc>) -> Result<Option<Ran>, DbError> {
        let kinds = self.handlers.kinds();
        let Some(job) = queue::claim(&self.db, &self.name, &kinds, now, self.lease, 1)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let started = Instant::now();
        let outcome = self.run(&job, now).await;
        let ended = now + Duration::from_std(started.elapsed()).unwrap_or_default();
        let state = match &outcome {
            Ok(Done::Finished) => queue::complete(&self.db, &job, &self.name, ended)
                .await?
                .then_some(JobState::Done),
            Ok(Done::Later(at)) => queue::postpone(&self.db, &job, &self.name, *at)
                .await?
                .then_some(JobState::Queued),
            Err(failure) => {
                // Ids and kinds only: payloads and errors may name people.
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job failed");
                queue::fail(&self.db, &job, &self.name, failure, now).await?
            }
        };
        if state.is_none() {
            tracing::warn!(job = %job.id, kind = %job.kind, "lease ran out before the job ended");
        }
        Ok(Some(Ran { job, state }))
    }

    /// Runs a handler on its own task, so a panic fails the job, not the worker.
    async fn run(&self, job: &Job, now: DateTime<Utc>) -> Result<Done, Failure> {
        let Some(handler) = self.handlers.0.get(job.kind.as_str()).cloned() else {
            return Err(Failure::Retry(format!("no handler for {}", job.kind)));
        };
        let limit = (self.lease / 2)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60));
        let task = tokio::spawn(handler(job.clone(), now));
        let abort = task.abort_handle();
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(Failure::Retry("the handler panicked".into())),
            Err(_) => {
                abort.abort();
                Err(Failure::Retry(format!(
                    "stopped after {} s without finishing",
                    limit.as_secs()
                )))
            }
        }
    }

    /// Works until the process ends.
    pub async fn run_forever(self) {
        loop {
            match self.run_one(Utc::now()).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, worker = %self.name, "job queue"),
            }
            tokio::time::sleep(IDLE).await;
        }
    }
}

/// Starts `count` workers and the periodic schedule on this runtime.
pub fn spawn(db: &Db, handlers: &Handlers, count: u32) {
    let process = uuid::Uuid::new_v4().simple().to_string();
    let process = format!("{}-{}", std::process::id(), &process[..8]);
    for n in 0..count {
        let worker = Worker::new(db.clone(), format!("{process}-{n}"), handlers.clone());
        tokio::spawn(worker.run_forever());
    }
    let db = db.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = queue::schedule_periodic(&db, Utc::now()).await {
                tracing::warn!(error = %e, "scheduling periodic jobs");
            }
            tokio::time::sleep(SCHEDULE_EVERY).await;
        }
    });
    tracing::info!(workers = count, kinds = ?handlers.kinds(), "job workers started");
}

fn db_failure(e: DbError) -> Failure {
    Failure::Retry(format!("database: {e}"))
}

/// The handlers of this installation: mail (when SMTP is configured), patient
/// messages, the trial clock, the record purge and housekeeping.
pub fn production(state: &AppState) -> Result<Handlers, String> {
    let mut handlers = Handlers::default();
    if let Some(url) = &state.config.smtp_url {
        let mailer = crate::mailer::Mailer::new(url, &state.config.mail_from)?;
        let db = state.db.clone();
        handlers = handlers.on(kinds::MAIL_DELIVERY, move |job, _| {
            let (db, mailer) = (db.clone(), mailer.clone());
            async move { crate::mailer::deliver(&db, &mailer, &job).await }
        });
    } else {
        tracing::info!("mail.smtp_url is empty: email stays in the outbox table");
    }
    let (db, origin) = (state.db.clone(), crate::platform_origin(&state.config));
    handlers = handlers.on(kinds::PATIENT_MESSAGE, move |job, now| {
        let (db, origin) = (db.clone(), origin.clone());
        async move { app::engagement::send::run(&db, &origin, &job, now).await }
    });
    let providers = app::channels::Providers::new(
        &state.config.twilio_api,
        &state.config.whatsapp_api,
        &crate::platform_origin(&state.config),
    );
    let db = state.db.clone();
    handlers = handlers.on(kinds::TEXT_DELIVERY, move |job, now| {
        let (db, providers) = (db.clone(), providers.clone());
        async move { app::channels::deliver::run(&db, &providers, &job, now).await }
    });
    let (db, gateways) = (state.db.clone(), state.gateways.clone());
    handlers = handlers.on(kinds::PAYMENT_RECONCILE, move |job, now| {
        let (db, gateways) = (db.clone(), gateways.clone());
        async move { app::billing::online::reconcile(&db, &gateways, &job, now).await }
    });
    let (db, origin) = (state.db.clone(), crate::platform_origin(&state.config));
    handlers = handlers.on(kinds::WAITLIST_FREED, move |job, now| {
        let (db, origin) = (db.clone(), origin.clone());
        async move { app::scheduling::waitlist::offers::run_freed(&db, &origin, &job, now).await }
    });
    let (db, origin) = (state.db.clone(), crate::platform_origin(&state.config));
    handlers = handlers.on(kinds::WAITLIST_EXPIRE, move |job, now| {
        let (db, origin) = (db.clone(), origin.clone());
        async move { app::scheduling::waitlist::offers::run_expire(&db, &origin, &job, now).await }
    });
    let db = state.db.clone();
    handlers = handlers.on(kinds::PATIENT_IMPORT, move |job, _| {
        let db = db.clone();
        async move { app::patients::import::run::run(&db, &job).await }
    });
    let (db, origin) = (state.db.clone(), crate::platform_origin(&state.config));
    handlers = handlers.on(kinds::TRIAL_CLOCK, move |_, now| {
        let (db, origin) = (db.clone(), origin.clone());
        async move {
            let done = app::plans::trials::sweep(&db, &origin, now)
                .await
                .map_err(db_failure)?;
            if done != Default::default() {
                tracing::info!(?done, "trial clock");
            }
            let ended = app::plans::subscriptions::sweep(&db, now)
                .await
                .map_err(db_failure)?;
            if ended > 0 {
                tracing::info!(ended, "cancelled subscriptions ran out");
            }
            Ok(Done::Finished)
        }
    });
    let (db, storage) = (state.db.clone(), state.storage.clone());
    handlers = handlers.on(kinds::RECORD_PURGE, move |_, _| {
        let (db, storage) = (db.clone(), storage.clone());
        async move {
            let done = app::patients::erasure::purge_due(&db, &storage)
                .await
                .map_err(db_failure)?;
            if done.records > 0 {
                tracing::info!(?done, "record purge");
            }
            Ok(Done::Finished)
        }
    });
    let (db, limiter) = (state.db.clone(), state.limiter.clone());
    handlers = handlers.on(kinds::HOUSEKEEPING, move |_, now| {
        let (db, limiter) = (db.clone(), limiter.clone());
        async move {
            app::identity::sessions::DbSessionStore::new(db.clone())
                .delete_expired()
                .await
                .map_err(|e| Failure::Retry(format!("expired sessions: {e}")))?;
            limiter.forget_ended(&db).await.map_err(db_failure)?;
            jobs::db::prune(&db, now).await.map_err(db_failure)?;
            app::channels::db::prune_receipts(&db, now - chrono::Duration::days(30))
                .await
                .map_err(db_failure)?;
            Ok(Done::Finished)
        }
    });
    Ok(handlers)
}

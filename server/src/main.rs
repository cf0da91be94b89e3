//! `medisync`: the server binary and its operator commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use app::db::{Db, DbOptions};
use server::{config, AppState};

#[derive(Parser)]
#[command(
    name = "medisync",
    version,
    about = "MediSync clinic management server"
)]
struct Cli {
    /// Runtime configuration file; every key can be overridden by MEDISYNC_* variables.
    #[arg(
        long,
        global = true,
        env = "MEDISYNC_CONFIG",
        default_value = "Leptos.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve HTTP (the default).
    Serve,
    /// Apply pending migrations (on PostgreSQL, connect as the schema owner).
    Migrate,
    /// Create the demo clinics, staff and patients.
    SeedDemo {
        /// Do nothing when the database already has tenants.
        #[arg(long)]
        if_empty: bool,
    },
    /// Fill the database with load-test clinics and patients (bulk inserts, through
    /// the same schema and row-level security). Clinic 0 (`load-00000`) is the
    /// large hospital; staff sign in as `owner@load-NNNNN.example`.
    SeedLoad {
        #[arg(long, default_value_t = 1_000)]
        clinics: usize,
        #[arg(long, default_value_t = 1_000_000)]
        patients: usize,
        /// Patients of the largest clinic (included in --patients).
        #[arg(long, default_value_t = 200_000)]
        largest: usize,
        /// Password of every seeded staff account.
        #[arg(long, default_value = app::demo::DEMO_PASSWORD)]
        password: String,
    },
    /// Time the slot engine on a throw-away clinic (`scripts/bench-slots`): 30
    /// days of one practitioner holding --appointments visits, and 7 days of
    /// "any practitioner" over --practitioners.
    BenchSlots {
        #[arg(long, default_value_t = 50)]
        practitioners: usize,
        #[arg(long, default_value_t = 2_000)]
        appointments: usize,
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Time patient imports of --rows generated rows into a throw-away clinic
    /// (`scripts/bench-import`): into an empty registry, then into a full one.
    BenchImport {
        #[arg(long, default_value_t = 50_000)]
        rows: usize,
    },
    /// Make an account a platform operator and print a one-time set-password link.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform administrator")]
        name: String,
        /// super_admin or support.
        #[arg(long, default_value = "super_admin")]
        role: String,
    },
    /// The audit trail: `audit verify [--tenant SLUG]` recomputes each clinic's
    /// hash chain and fails naming the first event changed or removed.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Purge now the restricted records whose retention has ended (the server
    /// also does this daily), leaving tombstones.
    PurgeRecords,
    /// Run job-queue workers (mail, reminders, the trial clock, purges) and no
    /// HTTP, next to servers with `jobs.workers = 0` or besides them.
    Worker {
        /// How many; default: `jobs.workers` (at least 1).
        #[arg(long)]
        workers: Option<u32>,
    },
    /// The job queue: `jobs list [--state dead]` shows jobs (dead ones are
    /// those that used their attempts or must not be retried blindly); `jobs
    /// retry ID` sends a dead job back to the queue.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Online payments: `payments set --tenant SLUG --provider stripe|razorpay
    /// --secret-key KEY --webhook-secret SECRET` stores a clinic's provider keys
    /// (sealed; Razorpay also needs `--key-id rzp_...`, or `rzp_...:secret` as
    /// the secret key).
    Payments {
        #[command(subcommand)]
        action: PaymentsAction,
    },
    /// Print the SQL that creates the PostgreSQL owner and application roles.
    PgRoles {
        #[arg(long, default_value = "medisync_owner")]
        owner: String,
        #[arg(long, default_value = "medisync_web")]
        app_login: String,
        #[arg(long, env = "MEDISYNC_APP_DB_PASSWORD")]
        app_password: String,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Counts per state and kind, then the jobs in one state, newest first.
    List {
        /// queued, running, done or dead.
        #[arg(long, default_value = "dead")]
        state: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a dead job back to the queue with fresh attempts.
    Retry { id: uuid::Uuid },
}

#[derive(Subcommand)]
enum PaymentsAction {
    /// Set a clinic's keys for a provider (replacing any before).
    Set {
        /// The clinic's address (slug).
        #[arg(long)]
        tenant: String,
        /// stripe or razorpay.
        #[arg(long)]
        provider: String,
        /// Stripe's secret key (sk_...), or Razorpay's key secret.
        #[arg(long)]
        secret_key: String,
        /// The secret that signs the provider's webhooks to this clinic.
        #[arg(long)]
        webhook_secret: String,
        /// Razorpay's key id (rzp_...).
        #[arg(long)]
        key_id: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the audit hash chains; exit non-zero at the first break.
    Verify {
        /// One clinic's address (slug); every clinic when left out.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Stack of each runtime thread. Server-side rendering walks a page's whole view
/// tree recursively; a long chart in an unoptimised build needs more than the
/// default 2 MiB, and a stack overflow takes the whole server down.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(start()),
        Err(e) => {
            eprintln!("medisync: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("medisync: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::PgRoles {
        owner,
        app_login,
        app_password,
    } = &command
    {
        let sql = app::db::postgres::roles_sql(owner, app_login, app_password)
            .map_err(|e| e.to_string())?;
        print!("{sql}");
        return Ok(());
    }
    let config = config::load_from_env(&cli.config).map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let state = AppState::new(db, config)?;
            server::serve(state)
                .await
                .map_err(|e| format!("server stopped: {e}"))
        }
        Command::BenchSlots {
            practitioners,
            appointments,
            runs,
        } => {
            if practitioners == 0 || runs == 0 {
                return Err("--practitioners and --runs must be at least 1".into());
            }
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let shape = app::scheduling::bench::Shape {
                practitioners,
                appointments,
                runs,
            };
            let table = app::scheduling::bench::run(&db, shape)
                .await
                .map_err(|e| e.to_string())?;
            println!("{table}");
            Ok(())
        }
        Command::BenchImport { rows } => {
            if rows == 0 || rows > app::patients::import::MAX_ROWS {
                return Err(format!(
                    "--rows must be 1 to {}",
                    app::patients::import::MAX_ROWS
                ));
            }
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let table = app::patients::import::bench::run(&db, rows)
                .await
                .map_err(|e| e.to_string())?;
            println!("{table}");
            Ok(())
        }
        Command::SeedLoad {
            clinics,
            patients,
            largest,
            password,
        } => {
            let shape = app::load_seed::LoadShape {
                clinics,
                patients,
                largest,
            };
            shape.validate()?;
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let done = app::load_seed::seed(&db, shape, &password)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "seeded {} clinics and {} patients in {:.1} s",
                done.clinics,
                done.patients,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Migrate => {
            let url = config
                .database_owner_url
                .as_deref()
                .unwrap_or(&config.database_url);
            let db = Db::connect(&DbOptions::new(url))
                .await
                .map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo { if_empty } => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            match app::demo::seed(&db, &open_storage(&config)?, if_empty)
                .await
                .map_err(|e| e.to_string())?
            {
                app::demo::SeedOutcome::Seeded { tenants } => {
                    println!("demo data created: {tenants} tenants");
                    println!(
                        "  http://acme.{0}:{1}/  or  http://{0}:{1}/t/acme/",
                        config.base_domain,
                        config.site_addr.port()
                    );
                    println!(
                        "  http://northwind.{0}:{1}/  or  http://{0}:{1}/t/northwind/",
                        config.base_domain,
                        config.site_addr.port()
                    );
                }
                app::demo::SeedOutcome::SkippedNotEmpty => {
                    println!("database already has tenants; demo data not added")
                }
            }
            Ok(())
        }
        Command::CreateAdmin { email, name, role } => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let link = server::create_admin(&db, &config, &email, &name, &role).await?;
            println!("{email} is a platform operator ({role}).");
            println!("Set the password within 24 hours (the link works once):");
            println!("  {link}");
            println!("Two-factor sign-in is set up at the first sign-in.");
            Ok(())
        }
        Command::Payments {
            action:
                PaymentsAction::Set {
                    tenant,
                    provider,
                    secret_key,
                    webhook_secret,
                    key_id,
                },
        } => {
            let provider = provider
                .parse::<app::payments::Provider>()
                .map_err(|_| format!("--provider {provider:?}: expected stripe or razorpay"))?;
            let keys = app::billing::online::check_keys(
                provider,
                key_id.as_deref(),
                &secret_key,
                &webhook_secret,
            )
            .map_err(|(field, why)| format!("--{}: {why}", field.replace('_', "-")))?;
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            app::billing::online::set_by_operator(&db, &tenant, provider, &keys).await?;
            let origin = server::platform_origin(&config);
            println!(
                "{tenant}: {} keys stored. Point the provider's webhook at {}",
                provider.label(),
                app::billing::online::webhook_url(&origin, provider, &tenant)
            );
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { tenant },
        } => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let reports = app::identity::audit::verify_tenants(&db, tenant.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            let mut broken = Vec::new();
            for (slug, report) in &reports {
                match &report.broken {
                    None => println!(
                        "{slug}: intact ({} events in the chain, {} written before it)",
                        report.events, report.before_chain
                    ),
                    Some(problem) => {
                        println!("{slug}: BROKEN: {problem}");
                        broken.push(format!("{slug}: {problem}"));
                    }
                }
            }
            if broken.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "the audit trail was altered: {}",
                    broken.join("; ")
                ))
            }
        }
        Command::PurgeRecords => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let done = app::patients::erasure::purge_due(&db, &open_storage(&config)?)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "purged {} records ({} stored files deleted)",
                done.records, done.files
            );
            Ok(())
        }
        Command::Worker { workers } => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            let count = workers.unwrap_or(config.job_workers).max(1);
            let state = AppState::new(db, config)?;
            server::work(state, count).await
        }
        Command::Jobs { action } => {
            let db = server::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            jobs_command(&db, action).await
        }
        Command::PgRoles { .. } => Ok(()),
    }
}

async fn jobs_command(db: &app::db::Db, action: JobsAction) -> Result<(), String> {
    use app::jobs::{db as queue, JobState};
    match action {
        JobsAction::List { state, limit } => {
            let state: JobState = state.parse().map_err(|_| {
                format!("--state must be queued, running, done or dead, not {state:?}")
            })?;
            for (state, kind, count) in queue::counts(db).await.map_err(|e| e.to_string())? {
                println!("{state:<8} {kind:<16} {count}");
            }
            println!();
            for job in queue::list(db, state, limit)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{}  {:<14} attempts {}/{}  due {}  {}",
                    job.id,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.run_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    job.last_error.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        JobsAction::Retry { id } => {
            if queue::requeue(db, id, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?
            {
                println!("job {id} is back in the queue");
                Ok(())
            } else {
                Err(format!("no dead job has the id {id}"))
            }
        }
    }
}

/// The configured file store (`storage.path`: a folder or `s3://bucket`).
fn open_storage(config: &config::Config) -> Result<app::storage::Storage, String> {
    app::storage::Storage::open(&config.storage_path.to_string_lossy())
        .map_err(|e| format!("storage.path: {e}"))
}

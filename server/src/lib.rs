//! The MediSync server: configuration, start-up, router and middleware.

pub mod config;
pub mod site;
mod status_pages;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use http::{Method, StatusCode};
use leptos::prelude::*;
use leptos_axum::handle_server_fns_with_context;
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};

use app::db::{Db, DbError, DbOptions};
use app::site::SiteInfo;
use config::Config;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Opens the database, migrates it, and checks the application role.
///
/// SQLite: one file, migrated in place. PostgreSQL: migrations run through
/// `database.owner_url` when set; the application pool must not bypass RLS.
pub async fn open_database(config: &Config) -> Result<Db, DbError> {
    let options = DbOptions {
        max_connections: config.database_max_connections,
        ..DbOptions::new(&config.database_url)
    };
    let db = Db::connect(&options).await?;
    match db.backend() {
        app::db::Backend::Sqlite => db.migrate().await?,
        app::db::Backend::Postgres => {
            if let Some(owner_url) = &config.database_owner_url {
                let owner = Db::connect(&DbOptions::new(owner_url)).await?;
                owner.migrate().await?;
                owner.close().await;
            }
            db.check_app_role().await?;
        }
    }
    Ok(db)
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("medisync")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// The whole HTTP application, tenant resolution included.
pub fn app(state: AppState) -> Router {
    // Leptos spawns rendering tasks on a global executor; a second call is a no-op.
    let _ = any_spawner::Executor::init_tokio();
    let site_root = state.config.site_root.clone();
    let routes = Router::new()
        .route("/healthz", get(health))
        .route("/api/{*fn_name}", any(server_fn))
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .route_service(
            "/favicon.svg",
            ServeFile::new(site_root.join("favicon.svg")),
        )
        .route_service("/robots.txt", ServeFile::new(site_root.join("robots.txt")))
        .fallback(page)
        .with_state(state.clone());
    // Resolution wraps the router (not a route layer) because it may rewrite the
    // path (`/t/{slug}/...`) that routing then sees.
    Router::new()
        .fallback_service(axum::middleware::from_fn_with_state(state, site::resolve).layer(routes))
}

async fn health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

fn site_of(req: &Request) -> SiteInfo {
    req.extensions()
        .get::<SiteInfo>()
        .cloned()
        .unwrap_or_default()
}

async fn server_fn(State(state): State<AppState>, req: Request<Body>) -> Response {
    let site = site_of(&req);
    handle_server_fns_with_context(
        move || {
            provide_context(state.db.clone());
            provide_context(site.clone());
        },
        req,
    )
    .await
    .into_response()
}

async fn page(State(state): State<AppState>, req: Request<Body>) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let site = site_of(&req);
    let options = state.leptos.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(site.clone()),
        move || app::shell(options.clone()),
    );
    render(req).await.into_response()
}

/// Binds, serves until Ctrl-C or SIGTERM, and drains in-flight requests.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let addr = state.config.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("MediSync listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

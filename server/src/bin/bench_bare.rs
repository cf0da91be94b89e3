//! The physical reference for `scripts/bench-load`: a bare axum handler running
//! the patient search's SQL through the same data layer and pool settings as the
//! application, with no middleware (no tenant resolution, session, access check,
//! security headers, compression or rendering).
//!
//!   medisync-bench-bare --addr 127.0.0.1:3200      (DATABASE_URL as for the server)
//!
//! `GET /patients/{slug}?q=text` answers the first 100 matches as JSON. The slug is
//! looked up once and remembered (the application remembers it for a second).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use app::db::{Db, DbOptions};
use app::patients::api::PatientSummary;
use app::tenancy::TenantId;

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

#[derive(Clone)]
struct Bare {
    db: Db,
    tenants: Arc<Mutex<HashMap<String, TenantId>>>,
}

async fn tenant_of(bare: &Bare, slug: &str) -> Result<Option<TenantId>, app::db::DbError> {
    if let Some(id) = bare
        .tenants
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(slug)
    {
        return Ok(Some(*id));
    }
    let Ok(parsed) = app::tenancy::Slug::parse(slug) else {
        return Ok(None);
    };
    let mut tx = bare.db.begin_platform_read().await?;
    let found = app::tenancy::db::find_by_slug(&mut tx, &parsed).await?;
    if let Some(t) = &found {
        bare.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slug.to_owned(), t.id);
    }
    Ok(found.map(|t| t.id))
}

async fn patients(
    State(bare): State<Bare>,
    Path(slug): Path<String>,
    Query(search): Query<Search>,
) -> Response {
    let found = async {
        let Some(tenant) = tenant_of(&bare, &slug).await? else {
            return Err(app::db::DbError::NotFound);
        };
        let mut tx = bare.db.begin_for_read(tenant).await?;
        app::patients::db::search(&mut tx, search.q.as_deref().unwrap_or("").trim(), 100).await
    }
    .await;
    match found {
        Ok(found) => Json(
            found
                .into_iter()
                .map(PatientSummary::from)
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = "127.0.0.1:3200".parse().map_err(|e| format!("{e}"))?;
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            let value = args.next().ok_or("--addr needs a value")?;
            addr = value.parse().map_err(|e| format!("--addr: {e}"))?;
        }
    }
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let max_connections = std::env::var("MEDISYNC_DATABASE_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let db = Db::connect(&DbOptions {
        max_connections,
        ..DbOptions::new(url)
    })
    .await
    .map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/patients/{slug}", get(patients))
        .with_state(Bare {
            db,
            tenants: Arc::default(),
        });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| e.to_string())?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

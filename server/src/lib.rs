//! The MediSync server: configuration, start-up, router and middleware.

pub mod assets;
pub mod auth;
pub mod booking;
pub mod config;
pub mod desk;
pub mod feeds;
pub mod input;
pub mod mailer;
pub mod patient_import;
pub mod plain_forms;
pub mod queue;
pub mod ratelimit;
pub mod routes;
pub mod scheduling_report;
pub mod security;
pub mod site;
mod status_pages;
pub mod tenant_cache;
pub mod usage;
pub mod waitlist;
pub mod webhooks;
pub mod worker;

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
use tower_http::services::ServeFile;

use app::db::{Db, DbError, DbOptions};
use app::site::SiteInfo;
use config::Config;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos: LeptosOptions,
    pub limiter: Arc<ratelimit::RateLimiter>,
    pub storage: app::storage::Storage,
    pub usage: Arc<usage::UsageCounter>,
    pub domains: app::tenancy::dns::DomainVerifier,
    /// Which tenant each address names, remembered for a second.
    pub tenants: Arc<tenant_cache::TenantCache>,
    /// The app's page addresses (an unknown one is a 404 for everyone).
    pub pages: Arc<routes::PageRoutes>,
    /// The medication knowledge base, or why it could not be loaded.
    pub kb: app::prescribing::kb::KbHandle,
    /// Stripe's and Razorpay's APIs, for payment pages.
    pub gateways: app::payments::Gateways,
    /// The platform's subscription account (MediSync charging clinics).
    pub subscriptions: app::plans::subscriptions::Billing,
}

/// The platform's subscription set-up from the configuration.
pub fn subscription_billing(
    config: &Config,
    gateways: &app::payments::Gateways,
) -> app::plans::subscriptions::Billing {
    let stripe = (!config.subscriptions_stripe_key.is_empty()).then(|| app::payments::Keys {
        key_id: None,
        secret_key: config.subscriptions_stripe_key.clone(),
        webhook_secret: config.subscriptions_webhook_secret.clone(),
    });
    let razorpay = config
        .subscriptions_razorpay
        .as_ref()
        .map(|(id, secret, webhook)| app::payments::Keys {
            key_id: Some(id.clone()),
            secret_key: secret.clone(),
            webhook_secret: webhook.clone(),
        });
    app::plans::subscriptions::Billing {
        stripe,
        stripe_api: gateways.stripe_api.clone(),
        razorpay,
        razorpay_api: gateways.razorpay_api.clone(),
        provider: config.subscriptions_provider,
        http: gateways.http.clone(),
        grace: chrono::Duration::days(i64::from(config.grace_days)),
    }
}

impl AppState {
    /// Fails when the file store cannot be opened (a folder that cannot be
    /// created, an invalid bucket URL).
    pub fn new(db: Db, config: Config) -> Result<Self, String> {
        let storage = app::storage::Storage::open(&config.storage_path.to_string_lossy())
            .map_err(|e| format!("storage.path: {e}"))?;
        let kb = app::prescribing::kb::KbHandle::load(config.knowledge_base.as_deref());
        let gateways = app::payments::Gateways::new(&config.stripe_api, &config.razorpay_api);
        if let Err(why) = kb.get() {
            // Loud, and not fatal: every prescription then says its check was not performed.
            tracing::error!(%why, "medication knowledge base unavailable: safety checks will NOT be performed");
        }
        Ok(Self {
            kb,
            subscriptions: subscription_billing(&config, &gateways),
            gateways,
            domains: domain_verifier(&config),
            tenants: Arc::default(),
            pages: Arc::new(routes::PageRoutes::of_app()),
            db,
            storage,
            usage: Arc::default(),
            leptos: leptos_options(&config),
            limiter: Arc::new(ratelimit::RateLimiter::new(
                config.rate_limit_per_minute,
                std::time::Duration::from_secs(60),
            )),
            config: Arc::new(config),
        })
    }
}

/// The configured name server, else the machine's; a machine without resolver
/// configuration still starts (custom domains then stay unverified).
fn domain_verifier(config: &Config) -> app::tenancy::dns::DomainVerifier {
    use app::tenancy::dns::DomainVerifier;
    match config.dns_server {
        Some(server) => DomainVerifier::using(server),
        None => DomainVerifier::system().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no system DNS configuration; custom domains cannot be verified");
            DomainVerifier::using(std::net::SocketAddr::from(([127, 0, 0, 1], 53)))
        }),
    }
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
    if let Some(key) = config.secret_key {
        app::identity::secrets::install_secret_key(key);
    }
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
    seal_stored_secrets(&db).await?;
    Ok(db)
}

/// Encrypts two-factor secrets stored in clear by an earlier version.
async fn seal_stored_secrets(db: &Db) -> Result<(), DbError> {
    let mut tx = db.begin_platform().await?;
    let sealed = app::identity::credentials::seal_stored_totp_secrets(&mut tx).await?;
    tx.commit().await?;
    if sealed > 0 {
        tracing::info!(sealed, "two-factor secrets encrypted at rest");
    }
    Ok(())
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    let built = assets::BuiltSite::locate(&config.site_root);
    let mut options = LeptosOptions::builder()
        .output_name(assets::OUTPUT_NAME)
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build();
    if let Some(hash_file) = &built.hash_file {
        options.hash_files = true;
        options.hash_file = hash_file.to_string_lossy().into();
    }
    options
}

/// The whole HTTP application, tenant resolution included.
pub fn app(state: AppState) -> Router {
    // Leptos spawns rendering tasks on a global executor; a second call is a no-op.
    let _ = any_spawner::Executor::init_tokio();
    let site_root = state.config.site_root.clone();
    let tls = security::Tls(state.config.cookie_secure);
    let mut routes = Router::new()
        .route("/healthz", get(health))
        .route("/api/{*fn_name}", any(server_fn))
        .route("/manifest.webmanifest", get(manifest))
        .route("/brand/{tenant}/{file}", get(brand_file))
        .route("/documents/{id}/download", get(document_download))
        .route("/fhir/R4/Patient/{id}/$everything", get(fhir_everything))
        .route("/records/{id}/download", get(record_download))
        .route("/prescriptions/{id}/print", get(prescription_print))
        .route("/prescriptions/{id}/pdf", get(prescription_pdf))
        .route(
            "/billing/documents/{id}/print",
            get(
                |State(s): State<AppState>,
                 axum::extract::Path(id): axum::extract::Path<String>,
                 req: Request<Body>| {
                    billing_print(s, id, req, &BILLING_DOCUMENTS)
                },
            ),
        )
        .route(
            "/billing/documents/{id}/pdf",
            get(
                |State(s): State<AppState>,
                 axum::extract::Path(id): axum::extract::Path<String>,
                 req: Request<Body>| {
                    billing_pdf(s, id, req, &BILLING_DOCUMENTS)
                },
            ),
        )
        .route(
            "/billing/receipts/{id}/print",
            get(
                |State(s): State<AppState>,
                 axum::extract::Path(id): axum::extract::Path<String>,
                 req: Request<Body>| {
                    billing_print(s, id, req, &BILLING_RECEIPTS)
                },
            ),
        )
        .route(
            "/billing/receipts/{id}/pdf",
            get(
                |State(s): State<AppState>,
                 axum::extract::Path(id): axum::extract::Path<String>,
                 req: Request<Body>| { billing_pdf(s, id, req, &BILLING_RECEIPTS) },
            ),
        )
        .route("/billing/revenue.csv", get(revenue_csv))
        .route("/legal/{document}", get(legal_document))
        .merge(booking::routes())
        .merge(feeds::routes())
        .merge(queue::routes())
        .merge(patient_import::routes())
        .merge(scheduling_report::routes())
        .merge(waitlist::routes());
    if state.config.environment == config::Environment::Development {
        routes = routes.route("/dev/mailbox", get(dev_mailbox));
    }
    let routes = routes
        .nest(
            "/pkg",
            assets::pkg_service(site_root.join("pkg"), state.leptos.hash_files),
        )
        .route_service(
            "/favicon.svg",
            ServeFile::new(site_root.join("favicon.svg")),
        )
        .route_service("/robots.txt", ServeFile::new(site_root.join("robots.txt")))
        .fallback(page)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        // Outside the guard, so a refusal by the access rules or a rate limit
        // also answers a plain form post with a page, not JSON.
        .layer(axum::middleware::from_fn(plain_forms::answer_plain_posts))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_viewer,
        ))
        .layer(auth::session_layer(&state))
        .layer(axum::middleware::from_fn(security::same_origin))
        .layer(axum::middleware::from_fn(move |req, next| {
            security::headers(tls, req, next)
        }))
        .with_state(state.clone());
    // Resolution wraps the router (not a route layer) because it may rewrite the
    // path (`/t/{slug}/...`) that routing then sees.
    // A bug that panics while answering becomes a 500 for that request instead of
    // a dropped connection.
    // Pages and server-function answers are compressed on the fly (brotli at
    // quality 4, gzip); `/pkg` files arrive already compressed and are left alone.
    Router::new()
        .merge(webhooks::routes(state.clone()))
        .fallback_service(axum::middleware::from_fn_with_state(state, site::resolve).layer(routes))
        .layer(axum::middleware::from_fn(
            plain_forms::to_the_referring_clinic,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(
            tower_http::compression::CompressionLayer::new()
                .br(true)
                .gzip(true),
        )
}

/// `/legal/terms` and `/legal/dpa`: what a clinic accepts when it signs up, as
/// the operator configured it (`legal.terms_file`, `legal.dpa_file`).
async fn legal_document(
    State(state): State<AppState>,
    axum::extract::Path(document): axum::extract::Path<String>,
) -> Response {
    match document.as_str() {
        "terms" => status_pages::legal_document("legal-terms", &state.config.terms_text),
        "dpa" => status_pages::legal_document("legal-dpa", &state.config.dpa_text),
        _ => status_pages::not_found(),
    }
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

pub(crate) fn site_of(req: &Request) -> SiteInfo {
    req.extensions()
        .get::<SiteInfo>()
        .cloned()
        .unwrap_or_default()
}

pub(crate) fn meta_of(req: &Request) -> app::identity::audit::RequestMeta {
    req.extensions()
        .get::<app::identity::audit::RequestMeta>()
        .cloned()
        .unwrap_or_default()
}

async fn server_fn(State(state): State<AppState>, req: Request<Body>) -> Response {
    let site = site_of(&req);
    let meta = meta_of(&req);
    let limits = auth::limits(&state);
    if let Some(refusal) = unreadable_upload(&req) {
        return refusal;
    }
    let req = if UPLOAD_FUNCTIONS.contains(&req.uri().path()) {
        req
    } else {
        match input::check(req).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        }
    };
    if let Some(tenant) = &site.tenant {
        state.usage.count(tenant.id);
    }
    let res = handle_server_fns_with_context(
        move || {
            provide_context(state.storage.clone());
            provide_context(state.kb.clone());
            provide_context(state.domains.clone());
            provide_context(state.gateways.clone());
            provide_context(state.subscriptions.clone());
            provide_context(state.db.clone());
            provide_context(site.clone());
            provide_context(meta.clone());
            provide_context(limits);
        },
        req,
    )
    .await
    .into_response();
    status_from_app_error(res).await
}

/// Server functions that take a multipart upload. Their decoder cannot answer a
/// request without a multipart body gracefully, so such a request is refused here.
pub const UPLOAD_FUNCTIONS: &[&str] = &["/api/upload_logo", "/api/upload_document"];

fn unreadable_upload(req: &Request<Body>) -> Option<Response> {
    if !UPLOAD_FUNCTIONS.contains(&req.uri().path()) {
        return None;
    }
    // The same parse the decoder does, so what passes here cannot fail there.
    let multipart = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start().starts_with("multipart/form-data;")
                && multer::parse_boundary(ct).is_ok()
        });
    if multipart {
        return None;
    }
    let field = if req.uri().path() == "/api/upload_logo" {
        "logo"
    } else {
        "file"
    };
    let error = app::error::AppError::field(field, "choose a file to upload");
    Some(
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&error).unwrap_or_default(),
        )
            .into_response(),
    )
}

/// A server function that returned an [`app::error::AppError`] without setting a
/// status answers 500 by default; give it the error's own status instead, so bad
/// input is never a 500.
async fn status_from_app_error(res: Response) -> Response {
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The installable app of this site: the clinic's own name, colors and address
/// (or MediSync's on the platform domain).
async fn manifest(req: Request<Body>) -> Response {
    let site = site_of(&req);
    let (name, theme) = site.tenant.as_ref().map_or_else(
        || ("MediSync".to_owned(), "#0f766e".to_owned()),
        |t| (t.name.clone(), t.branding.primary_color.to_string()),
    );
    let short_name: String = name.chars().take(12).collect();
    // The clinic's logo renditions first (the browser picks by size), then ours.
    let mut icons = Vec::new();
    if let Some(b) = site.tenant.as_ref().map(|t| &t.branding) {
        for (src, sizes) in [(&b.icon_url, "192x192"), (&b.icon_large_url, "512x512")] {
            if let Some(src) = src {
                icons.push(serde_json::json!({ "src": src, "sizes": sizes, "type": "image/png", "purpose": "any" }));
            }
        }
    }
    icons.push(serde_json::json!({
        "src": "/favicon.svg", "sizes": "any", "type": "image/svg+xml"
    }));
    let body = serde_json::json!({
        "name": name,
        "short_name": short_name,
        "start_url": site.href("/"),
        "scope": site.href("/"),
        "display": "standalone",
        "theme_color": theme,
        "background_color": "#ffffff",
        "icons": icons,
    });
    (
        [
            (http::header::CONTENT_TYPE, "application/manifest+json"),
            (http::header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A clinic's logo rendition: public (it is on the sign-in page), found only
/// under the tenant that stored it, and immutable (a new upload has a new name).
async fn brand_file(
    State(state): State<AppState>,
    axum::extract::Path((tenant, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Ok(tenant) = tenant.parse::<uuid::Uuid>() else {
        return not_found();
    };
    let valid_name = file.len() <= 48
        && file.ends_with(".png")
        && file
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-' || c == '.' || c.is_ascii_lowercase());
    if !valid_name {
        return not_found();
    }
    let tenant = app::tenancy::TenantId::from_uuid(tenant);
    let key = app::storage::Storage::branding_key(tenant, &file);
    // A suspended or cancelled clinic serves nothing, its files included.
    let known = async {
        let mut tx = state.db.begin_for_read(tenant).await?;
        let served = app::tenancy::db::find_by_id(tx.platform(), tenant)
            .await?
            .is_some_and(|t| t.status.is_served());
        if !served {
            return Ok(None);
        }
        app::plans::db::file_type(&mut tx, &key).await
    }
    .await;
    let content_type = match known {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "logo lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    match state.storage.get(&key).await {
        Ok(Some(bytes)) => (
            [
                (http::header::CONTENT_TYPE, content_type),
                (
                    http::header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable".to_owned(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "logo read failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Revenue by practitioner and service as CSV, for the same people and scope as
/// `/staff/revenue` (`app::billing::revenue::ssr::report` decides).
async fn revenue_csv(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    req: Request<Body>,
) -> Response {
    use app::error::AppError;
    let site = site_of(&req);
    let report = app::billing::revenue::ssr::report(
        &state.db,
        &site,
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
    )
    .await;
    match report {
        Ok(r) => {
            let disposition = format!("attachment; filename=\"revenue-{}-{}.csv\"", r.from, r.to);
            (
                [
                    (
                        http::header::CONTENT_TYPE,
                        "text/csv; charset=utf-8".to_owned(),
                    ),
                    (http::header::CONTENT_DISPOSITION, disposition),
                    (http::header::CACHE_CONTROL, "no-store".to_owned()),
                    (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                ],
                app::billing::revenue::csv(&r),
            )
                .into_response()
        }
        Err(AppError::Unauthenticated) => {
            axum::response::Redirect::to(&format!("{}?next=/staff/revenue", site.href("/signin")))
                .into_response()
        }
        Err(AppError::Internal) => status_pages::unavailable(),
        Err(AppError::Forbidden) => status_pages::forbidden(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e.message(),
        )
            .into_response(),
    }
}

/// A document filed on a patient's record, for the clinic's staff or the patient
/// (`app::documents::api::ssr::download` decides and audits). Always an
/// attachment, never cached, never sniffed into something else by the browser.
/// Another clinic's id, or one this person may not have, is a plain 404.
async fn document_download(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    use app::error::AppError;
    let site = site_of(&req);
    let meta = meta_of(&req);
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return status_pages::not_found();
    };
    match app::documents::api::ssr::download(&state.db, &state.storage, &site, &meta, id).await {
        Ok(file) => {
            let disposition = format!("attachment; filename=\"{}\"", file.file_name);
            (
                [
                    (http::header::CONTENT_TYPE, file.content_type.to_owned()),
                    (http::header::CONTENT_DISPOSITION, disposition),
                    (http::header::CACHE_CONTROL, "no-store".to_owned()),
                    (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                    (
                        http::header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; sandbox".to_owned(),
                    ),
                ],
                file.bytes,
            )
                .into_response()
        }
        Err(AppError::Unauthenticated) => {
            // One sign-in for staff and patients; the path carries no PHI.
            let next = format!("/documents/{id}/download");
            axum::response::Redirect::to(&format!("{}?next={next}", site.href("/signin")))
                .into_response()
        }
        Err(AppError::Internal) => status_pages::unavailable(),
        Err(_) => status_pages::not_found(),
    }
}

/// `GET /fhir/R4/Patient/{id}/$everything` (stable): the record as a FHIR R4
/// Bundle, for the clinic's staff and the patient themselves; audited. Errors
/// are FHIR `OperationOutcome`s.
async fn fhir_everything(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    use app::error::AppError;
    let site = site_of(&req);
    let meta = meta_of(&req);
    let outcome = |status: StatusCode, code: &str, text: &str| {
        let body = serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": code, "diagnostics": text }],
        });
        (
            status,
            [
                (
                    http::header::CONTENT_TYPE,
                    app::clinical::fhir::CONTENT_TYPE,
                ),
                (http::header::CACHE_CONTROL, "no-store"),
            ],
            body.to_string(),
        )
            .into_response()
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return outcome(StatusCode::NOT_FOUND, "not-found", "no such patient");
    };
    match app::clinical::fhir::everything(&state.db, &site, &meta, id).await {
        Ok(bundle) => (
            [
                (
                    http::header::CONTENT_TYPE,
                    app::clinical::fhir::CONTENT_TYPE,
                ),
                (http::header::CACHE_CONTROL, "no-store"),
            ],
            bundle.to_string(),
        )
            .into_response(),
        Err(AppError::Unauthenticated) => outcome(
            StatusCode::UNAUTHORIZED,
            "login",
            "sign in to the clinic first",
        ),
        Err(AppError::Forbidden) => outcome(StatusCode::FORBIDDEN, "forbidden", "not allowed"),
        Err(AppError::Internal) => outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            "exception",
            "the record could not be read; try again",
        ),
        Err(_) => outcome(StatusCode::NOT_FOUND, "not-found", "no such patient"),
    }
}

/// The whole record as one zip (the FHIR bundle and the documents), for the same
/// people as `$everything`; an attachment, audited.
async fn record_download(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    use app::error::AppError;
    let site = site_of(&req);
    let meta = meta_of(&req);
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return status_pages::not_found();
    };
    match app::clinical::fhir::record_zip(&state.db, &state.storage, &site, &meta, id).await {
        Ok(bytes) => (
            [
                (http::header::CONTENT_TYPE, "application/zip"),
                (
                    http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"health-record.zip\"",
                ),
                (http::header::CACHE_CONTROL, "no-store"),
                (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(AppError::Unauthenticated) => {
            let next = format!("/records/{id}/download");
            axum::response::Redirect::to(&format!("{}?next={next}", site.href("/signin")))
                .into_response()
        }
        Err(AppError::Invalid(message)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response(),
        Err(AppError::Internal) => status_pages::unavailable(),
        Err(_) => status_pages::not_found(),
    }
}

/// `?size=a5` (or a4, the default) of a print or PDF address.
fn paper_size(req: &Request<Body>) -> app::print::PageSize {
    let size = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "size")
            .map(|(_, v)| v.into_owned())
    });
    app::print::PageSize::parse(size.as_deref())
}

/// What a print address answers when it cannot print: sign in first, or not found.
fn print_refusal(site: &app::site::SiteInfo, next: &str, e: app::error::AppError) -> Response {
    use app::error::AppError;
    match e {
        AppError::Unauthenticated => {
            let page = if next.contains("/portal") {
                "/portal/signin"
            } else {
                "/signin"
            };
            axum::response::Redirect::to(&format!("{}?next={next}", site.href(page)))
                .into_response()
        }
        AppError::Internal => status_pages::unavailable(),
        _ => status_pages::not_found(),
    }
}

/// The prescription a print address names, for whoever asks; or the answer
/// when it cannot be printed.
async fn printable_prescription(
    state: &AppState,
    id: &str,
    what: &str,
    site: &app::site::SiteInfo,
    meta: &app::identity::audit::RequestMeta,
) -> Result<app::prescribing::print::Printable, Response> {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Err(status_pages::not_found());
    };
    app::prescribing::print::load(&state.db, site, meta, id)
        .await
        .map_err(|e| print_refusal(site, &format!("/prescriptions/{id}/{what}"), e))
}

/// `GET /prescriptions/{id}/print`: the prescription as a page for the
/// browser's print dialog (A4, or `?size=a5`); staff get the clinic's copy,
/// the patient theirs. Audited.
async fn prescription_print(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    let (site, meta, size) = (site_of(&req), meta_of(&req), paper_size(&req));
    let p = match printable_prescription(&state, &id, "print", &site, &meta).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let id = p.head.id;
    let sheet = app::prescribing::print::sheet(&p, size);
    let other = match size {
        app::print::PageSize::A4 => "a5",
        _ => "a4",
    };
    let html = app::print::html::page(
        &sheet,
        p.tenant.branding.logo_url.as_deref(),
        &site.href(&format!("/prescriptions/{id}/print?size={other}")),
        &site.href(&format!("/prescriptions/{id}/pdf?size={}", size.as_str())),
    );
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(html),
    )
        .into_response()
}

/// `GET /prescriptions/{id}/pdf`: the same document as a PDF made on the server.
async fn prescription_pdf(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    let (site, meta, size) = (site_of(&req), meta_of(&req), paper_size(&req));
    let p = match printable_prescription(&state, &id, "pdf", &site, &meta).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    pdf_download(
        app::prescribing::print::sheet(&p, size),
        "attachment; filename=\"prescription.pdf\"",
    )
    .await
}

/// A sheet as a PDF download. Shaping and font subsetting are CPU work: off
/// the async workers.
async fn pdf_download(sheet: app::print::Sheet, disposition: &'static str) -> Response {
    match tokio::task::spawn_blocking(move || app::print::pdf::render(&sheet)).await {
        Ok(Ok(bytes)) => (
            [
                (http::header::CONTENT_TYPE, "application/pdf"),
                (http::header::CONTENT_DISPOSITION, disposition),
                (http::header::CACHE_CONTROL, "no-store"),
                (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "PDF");
            status_pages::unavailable()
        }
        Err(_) => status_pages::unavailable(),
    }
}

/// The invoice, credit note or receipt a billing print address names, for
/// whoever asks; or the answer when it cannot be printed.
async fn printable_billing(
    state: &AppState,
    id: &str,
    wanted: app::billing::print::Wanted,
    what: &str,
    site: &app::site::SiteInfo,
    meta: &app::identity::audit::RequestMeta,
) -> Result<app::billing::print::Printable, Response> {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Err(status_pages::not_found());
    };
    app::billing::print::load(&state.db, site, meta, wanted, id)
        .await
        .map_err(|e| print_refusal(site, &format!("/billing/{what}"), e))
}

/// The sheet as a page for the browser's print dialog.
fn billing_page(
    p: &app::billing::print::Printable,
    sheet: &app::print::Sheet,
    other: &str,
    pdf: &str,
) -> Response {
    let html = app::print::html::page(sheet, p.tenant.branding.logo_url.as_deref(), other, pdf);
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(html),
    )
        .into_response()
}

/// A kind of billing print address: what it names, where, and on what paper.
struct BillingPrint {
    wanted: app::billing::print::Wanted,
    /// `documents` or `receipts`, in `/billing/{area}/{id}/print`.
    area: &'static str,
    /// The paper without `?size=`, and the other one offered beside it.
    paper: app::print::PageSize,
    other: &'static str,
    disposition: &'static str,
}

/// Invoices and credit notes: A4 (or A5, or the 80 mm roll).
const BILLING_DOCUMENTS: BillingPrint = BillingPrint {
    wanted: app::billing::print::Wanted::Document,
    area: "documents",
    paper: app::print::PageSize::A4,
    other: "receipt",
    disposition: "attachment; filename=\"invoice.pdf\"",
};

/// One payment's receipt: the 80 mm roll (or A4).
const BILLING_RECEIPTS: BillingPrint = BillingPrint {
    wanted: app::billing::print::Wanted::Receipt,
    area: "receipts",
    paper: app::print::PageSize::Receipt,
    other: "a4",
    disposition: "attachment; filename=\"receipt.pdf\"",
};

impl BillingPrint {
    fn size(&self, req: &Request<Body>) -> app::print::PageSize {
        let asked = req.uri().query().is_some_and(|q| q.contains("size="));
        if asked {
            paper_size(req)
        } else {
            self.paper
        }
    }
}

/// `GET /billing/{documents|receipts}/{id}/print`: the document or receipt as
/// a page for the browser's print dialog. Billing staff and the patient. Audited.
async fn billing_print(
    state: AppState,
    id: String,
    req: Request<Body>,
    kind: &BillingPrint,
) -> Response {
    let (site, meta, size) = (site_of(&req), meta_of(&req), kind.size(&req));
    let what = format!("{}/{id}/print", kind.area);
    let p = match printable_billing(&state, &id, kind.wanted, &what, &site, &meta).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let sheet = app::billing::print::sheet(&p, size);
    let other = if size == kind.paper {
        kind.other
    } else {
        kind.paper.as_str()
    };
    let area = kind.area;
    billing_page(
        &p,
        &sheet,
        &site.href(&format!("/billing/{area}/{id}/print?size={other}")),
        &site.href(&format!("/billing/{area}/{id}/pdf?size={}", size.as_str())),
    )
}

/// `GET /billing/{documents|receipts}/{id}/pdf`: the same as a PDF.
async fn billing_pdf(
    state: AppState,
    id: String,
    req: Request<Body>,
    kind: &BillingPrint,
) -> Response {
    let (site, meta, size) = (site_of(&req), meta_of(&req), kind.size(&req));
    let what = format!("{}/{id}/pdf", kind.area);
    match printable_billing(&state, &id, kind.wanted, &what, &site, &meta).await {
        Ok(p) => pdf_download(app::billing::print::sheet(&p, size), kind.disposition).await,
        Err(refusal) => refusal,
    }
}

/// Development only: every stored email, newest first, with its links clickable.
async fn dev_mailbox(State(state): State<AppState>) -> Response {
    let messages = match app::mail::recent(&state.db, 100).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "mailbox");
            return status_pages::unavailable();
        }
    };
    let escape = app::text::escape_html;
    let linkify = |text: &str| {
        text.split('\n')
            .map(|line| {
                let line = line.trim_end();
                match line.find("http://").or_else(|| line.find("https://")) {
                    Some(i) => {
                        let url = &line[i..];
                        format!(
                            "{}<a data-testid=\"mail-link\" href=\"{u}\">{u}</a>",
                            escape(&line[..i]),
                            u = escape(url)
                        )
                    }
                    None => escape(line),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let items: String = messages
        .iter()
        .map(|m| {
            format!(
                "<article data-testid=\"mail\" data-to=\"{to}\" class=\"mb-4 rounded border border-slate-200 bg-white p-4\">\
                 <p class=\"text-sm text-slate-600\">{when} · to {to}</p><h2 class=\"font-semibold\">{subject}</h2>\
                 <pre class=\"mt-2 whitespace-pre-wrap text-sm\">{body}</pre>{attachment}</article>",
                when = m.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                to = escape(&m.to_address),
                subject = escape(&m.subject),
                body = linkify(&m.text_body),
                attachment = match (&m.attachment_name, &m.attachment_type, &m.attachment_body) {
                    (Some(name), Some(kind), Some(content)) => format!(
                        "<details data-testid=\"mail-attachment\" data-name=\"{n}\" class=\"mt-2 text-sm\">\
                         <summary>Attachment: {n} ({k})</summary><pre class=\"whitespace-pre-wrap\">{c}</pre></details>",
                        n = escape(name),
                        k = escape(kind),
                        c = escape(content)
                    ),
                    _ => String::new(),
                },
            )
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dev mailbox</title>\
         <link rel=\"stylesheet\" href=\"{css}\"></head><body class=\"bg-slate-50 p-6\">\
         <h1 class=\"mb-4 text-xl font-semibold\">Development mailbox ({n})</h1>{items}</body></html>",
        n = messages.len(),
        css = assets::stylesheet(),
    );
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body),
    )
        .into_response()
}

async fn page(State(state): State<AppState>, req: Request<Body>) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let site = site_of(&req);
    let meta = meta_of(&req);
    let limits = auth::limits(&state);
    let nonce = req
        .extensions()
        .get::<security::RequestNonce>()
        .map(|n| n.0.clone());
    let nonce_text = nonce.as_ref().map(|n| n.as_inner().to_string());
    let db = state.db.clone();
    let kb = state.kb.clone();
    // A page's first render calls its loaders on the server: they need what
    // the same server functions get when the browser calls them.
    let (storage, domains) = (state.storage.clone(), state.domains.clone());
    let (gateways, subscriptions) = (state.gateways.clone(), state.subscriptions.clone());
    let options = state.leptos.clone();
    let outcome = plain_forms::take_outcome(req.extensions().get().cloned()).await;
    let render = leptos_axum::render_app_to_stream_in_order_with_context(
        move || {
            if let Some(outcome) = outcome.clone() {
                outcome.provide();
            }
            provide_context(site.clone());
            provide_context(meta.clone());
            provide_context(db.clone());
            provide_context(kb.clone());
            provide_context(storage.clone());
            provide_context(domains.clone());
            provide_context(gateways.clone());
            provide_context(subscriptions.clone());
            provide_context(limits);
            provide_context(app::app::Stylesheet(assets::stylesheet().to_owned()));
            if let Some(nonce) = nonce.clone() {
                provide_context(nonce);
            }
        },
        move || app::shell(options.clone()),
    );
    let res = render(req).await.into_response();
    match nonce_text {
        Some(nonce) => security::crossorigin_without_nonce(res, &nonce),
        None => res,
    }
}

/// Makes `email` a platform operator (creating the account when needed) and returns
/// a one-time link to set its password on the platform domain.
pub async fn create_admin(
    db: &Db,
    config: &Config,
    email: &str,
    name: &str,
    role: &str,
) -> Result<String, String> {
    use app::identity::{credentials, db as accounts, permissions::PlatformRole, secrets, Email};
    let email = Email::parse(email).map_err(|e| format!("--email: {e}"))?;
    let role: PlatformRole = role
        .parse()
        .map_err(|_| "--role must be super_admin or support".to_string())?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err("--name must be 1 to 120 characters".into());
    }
    let fail = |e: DbError| e.to_string();
    let mut tx = db.begin_platform().await.map_err(fail)?;
    let account = match accounts::find_account_by_email(&mut tx, &email)
        .await
        .map_err(fail)?
    {
        Some(a) => a,
        None => accounts::create_account(&mut tx, &email, name)
            .await
            .map_err(fail)?,
    };
    credentials::set_platform_role(&mut tx, account.id, Some(role))
        .await
        .map_err(fail)?;
    let (token, digest) = secrets::new_token();
    credentials::issue_token(
        &mut tx,
        account.id,
        credentials::TokenPurpose::ResetPassword,
        &digest,
        chrono::Duration::hours(24),
    )
    .await
    .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(format!(
        "{}/reset-password?token={token}",
        platform_origin(config)
    ))
}

/// Binds, serves until Ctrl-C or SIGTERM, and drains in-flight requests.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let addr = state.config.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("MediSync listening on http://{}", listener.local_addr()?);
    start_workers(&state).map_err(std::io::Error::other)?;
    serve_on(listener, state, shutdown_signal()).await
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY a response written in several pieces (a streamed page,
    // a large file) waits ~40 ms for the client's delayed ACK after each piece.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Background work: the job queue's workers (`jobs.workers` of them; mail, the
/// trial clock, record purges, housekeeping) and this process's usage counters.
pub fn start_workers(state: &AppState) -> Result<(), String> {
    let handlers = worker::production(state)?;
    if state.config.job_workers > 0 {
        worker::spawn(&state.db, &handlers, state.config.job_workers);
    } else {
        tracing::info!("jobs.workers is 0: run `medisync worker` for background work");
    }
    spawn_usage_flush(state);
    Ok(())
}

/// `medisync worker`: runs `count` job workers and no HTTP, until Ctrl-C or
/// SIGTERM. A job being run when the signal comes is taken again by another
/// worker once its lease runs out.
pub async fn work(state: AppState, count: u32) -> Result<(), String> {
    let handlers = worker::production(&state)?;
    worker::spawn(&state.db, &handlers, count.max(1));
    shutdown_signal().await;
    Ok(())
}

/// Usage counters live in this process's memory; each process writes its own.
fn spawn_usage_flush(state: &AppState) {
    let (db, usage) = (state.db.clone(), state.usage.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            usage.flush(&db).await;
        }
    });
}

/// `scheme://base_domain[:port]` for links in mail sent outside a request.
pub fn platform_origin(config: &Config) -> String {
    config.platform_origin()
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

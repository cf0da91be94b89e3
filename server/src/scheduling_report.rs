//! The scheduling report: `/reports/scheduling` (a plain page) and
//! `/reports/scheduling.csv`, for those who may read the clinic's reports.
//! `app::scheduling::report` holds the figures and the markup.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::{header, HeaderValue, StatusCode};

use app::identity::permissions::Permission;
use app::scheduling::report::{self, Period, Report};
use app::tenancy::TenantPublic;

use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/scheduling", get(page))
        .route("/reports/scheduling.csv", get(csv))
}

/// The clinic and the site's base path, for a reader of its reports.
fn reader(req: &Request) -> Result<(TenantPublic, String), Box<Response>> {
    let site = crate::site_of(req);
    let signin = format!("{}?next=/reports/scheduling", site.href("/signin"));
    let security = site.href("/account/security");
    let Some(tenant) = site.tenant else {
        return Err(Box::new(status_pages::not_found()));
    };
    let Some(viewer) = site.viewer else {
        return Err(Box::new(Redirect::to(&signin).into_response()));
    };
    if viewer.must_set_up_two_factor {
        return Err(Box::new(Redirect::to(&security).into_response()));
    }
    if !viewer.can(Permission::ReportsRead) {
        return Err(Box::new(status_pages::forbidden()));
    }
    Ok((tenant, site.base))
}

/// The period the address asks for, or why it cannot be read.
fn period_of(req: &Request, tenant: &TenantPublic) -> Result<Period, String> {
    let query: std::collections::HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let today = Utc::now().with_timezone(&tenant.settings.tz()).date_naive();
    Period::parse(
        query.get("from").map(String::as_str),
        query.get("to").map(String::as_str),
        today,
    )
}

async fn figures(
    state: &AppState,
    tenant: &TenantPublic,
    period: Period,
) -> Result<Report, app::db::DbError> {
    let mut tx = state.db.begin_for_read(tenant.id).await?;
    let r = report::report(&mut tx, tenant.settings.tz(), period, Utc::now()).await?;
    tx.commit().await?;
    Ok(r)
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /reports/scheduling?from=…&to=…`
async fn page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (tenant, base) = match reader(&req) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    let asked = period_of(&req, &tenant);
    let today = Utc::now().with_timezone(&tenant.settings.tz()).date_naive();
    let (period, error, status) = match asked {
        Ok(p) => (p, None, StatusCode::OK),
        Err(why) => (
            Period::parse(None, None, today).unwrap_or(Period {
                from: today,
                to: today,
            }),
            Some(why),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    match figures(&state, &tenant, period).await {
        Ok(r) => {
            let html = report::page(
                &tenant.name,
                crate::assets::stylesheet(),
                &base,
                &r,
                error.as_deref(),
            );
            no_store((status, Html(html)).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "scheduling report");
            status_pages::unavailable()
        }
    }
}

/// `GET /reports/scheduling.csv?from=…&to=…`
async fn csv(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (tenant, _) = match reader(&req) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    let period = match period_of(&req, &tenant) {
        Ok(p) => p,
        Err(why) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                why,
            )
                .into_response()
        }
    };
    match figures(&state, &tenant, period).await {
        Ok(r) => {
            let disposition = format!(
                "attachment; filename=\"scheduling-{}-{}.csv\"",
                period.from, period.to
            );
            no_store(
                (
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                        (header::CONTENT_DISPOSITION, disposition),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                    ],
                    report::csv(&r),
                )
                    .into_response(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "scheduling report csv");
            status_pages::unavailable()
        }
    }
}

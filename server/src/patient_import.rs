//! Importing patients from a CSV file: `/patients/import` (the upload form and
//! the clinic's imports), `/patients/import/{id}` (mapping, preview, progress,
//! outcome) and `/patients/import/{id}/report.csv` (the rows not imported).
//! Owners and admins only (registering patients and changing the clinic's
//! settings, both). `app::patients::import` holds the rules and markup.

use std::collections::HashMap;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::{header, StatusCode};
use uuid::Uuid;

use app::error::AppError;
use app::identity::permissions::Permission;
use app::patients::import::page::{self, Frame};
use app::patients::import::steps::Importer;
use app::patients::import::MAX_BYTES;

use crate::desk::{member_who_can, private, Member};
use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients/import", get(index).post(upload))
        .route("/patients/import/{id}", get(show).post(step))
        .route("/patients/import/{id}/report.csv", get(report))
}

const NEEDS: &[Permission] = &[Permission::PatientsCreate, Permission::SettingsManage];
const MAX_FORM_BYTES: usize = 16 * 1024;

fn importer(m: &Member) -> Importer<'_> {
    Importer {
        tenant: &m.tenant,
        viewer: &m.viewer,
        meta: &m.meta,
    }
}

fn frame<'a>(m: &'a Member, error: Option<&'a str>, message: Option<&'a str>) -> Frame<'a> {
    Frame {
        tenant: &m.tenant,
        base: &m.base,
        stylesheet: crate::assets::stylesheet(),
        error,
        message,
    }
}

fn html(status: StatusCode, body: String) -> Response {
    private((status, Html(body)).into_response())
}

/// The words and status of a refused step; `None` when the server failed
/// (the "unavailable" page answers).
fn refusal(e: &AppError) -> Option<(StatusCode, String)> {
    crate::desk::refusal(e, "patient import")
}

/// Why this clinic's records cannot change now, if so.
fn read_only(m: &Member) -> Option<AppError> {
    m.tenant.read_only_at(Utc::now()).then(|| {
        AppError::Upgrade(
            "This clinic's records are read-only because MediSync's subscription is unpaid. \
             The clinic's owner can pay on the Plan and usage page."
                .into(),
        )
    })
}

/// The signed-in administrator and the import the address names, or the
/// answer instead (sign-in, refusal, or 404 for an address that is no id).
fn member_and_import(req: &Request<Body>, raw: &str) -> Result<(Member, Uuid), Box<Response>> {
    let m = member_who_can(req, NEEDS)?;
    let id = raw
        .parse()
        .map_err(|_| Box::new(status_pages::not_found()))?;
    Ok((m, id))
}

/// `GET /patients/import`
async fn index(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member_who_can(&req, NEEDS) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    list(&state, &m, None, StatusCode::OK).await
}

async fn list(state: &AppState, m: &Member, error: Option<&str>, status: StatusCode) -> Response {
    match importer(m).list(&state.db).await {
        Ok(imports) => html(status, page::index(&frame(m, error, None), &imports)),
        Err(e) => {
            tracing::error!(error = %e, "import list");
            status_pages::unavailable()
        }
    }
}

/// `POST /patients/import`: a multipart form with the `file`.
async fn upload(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member_who_can(&req, NEEDS) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    if let Some(e) = read_only(&m) {
        return list_refused(&state, &m, &e).await;
    }
    let (file_name, bytes) = match read_file(req).await {
        Ok(file) => file,
        Err(e) => return list_refused(&state, &m, &e).await,
    };
    match importer(&m)
        .upload(&state.db, file_name.as_deref(), &bytes)
        .await
    {
        Ok(id) => Redirect::to(&m.href(&format!("/patients/import/{id}"))).into_response(),
        Err(e) => list_refused(&state, &m, &e).await,
    }
}

async fn list_refused(state: &AppState, m: &Member, e: &AppError) -> Response {
    match refusal(e) {
        Some((status, text)) => list(state, m, Some(&text), status).await,
        None => status_pages::unavailable(),
    }
}

/// The `file` part of a multipart body, bounded by [`MAX_BYTES`].
async fn read_file(req: Request<Body>) -> Result<(Option<String>, Vec<u8>), AppError> {
    let unreadable = || AppError::field("file", "the upload could not be read; try again");
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| AppError::field("file", "choose a CSV file to upload"))?;
    let mut form = multer::Multipart::new(req.into_body().into_data_stream(), boundary);
    while let Some(mut part) = form.next_field().await.map_err(|_| unreadable())? {
        if part.name() != Some("file") {
            continue;
        }
        let name = part.file_name().map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = part.chunk().await.map_err(|_| unreadable())? {
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(AppError::field(
                    "file",
                    "the file is larger than 20 MB; split it into several files",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((name, bytes));
    }
    Err(AppError::field("file", "choose a CSV file to upload"))
}

/// `GET /patients/import/{id}`
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Response {
    let (m, id) = match member_and_import(&req, &id) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let said = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "said")
            .map(|(_, v)| v.into_owned())
    });
    let message = match said.as_deref() {
        Some("rolled-back") => Some("The import was rolled back."),
        Some("resumed") => Some("The import goes on from where it stopped."),
        _ => None,
    };
    render(&state, &m, id, None, message, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    m: &Member,
    id: Uuid,
    error: Option<&str>,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    match importer(m).show(&state.db, id).await {
        Ok((import, preview)) => html(
            status,
            page::import(&frame(m, error, message), &import, preview.as_ref()),
        ),
        Err(AppError::NotFound) => status_pages::not_found(),
        Err(e) => match refusal(&e) {
            Some((status, text)) => list(state, m, Some(&text), status).await,
            None => status_pages::unavailable(),
        },
    }
}

/// `POST /patients/import/{id}`: `step` = `map`, `start`, `resume` or `rollback`.
async fn step(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Response {
    let (m, id) = match member_and_import(&req, &id) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let Ok(body) = to_bytes(req.into_body(), MAX_FORM_BYTES).await else {
        let e = AppError::Invalid("the form was too large".into());
        return step_refused(&state, &m, id, &e).await;
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if let Some(e) = read_only(&m) {
        return step_refused(&state, &m, id, &e).await;
    }
    let who = importer(&m);
    let here = m.href(&format!("/patients/import/{id}"));
    let done = match form.get("step").map(String::as_str).unwrap_or_default() {
        "map" => who.map(&state.db, id, &form).await.map(|_| here),
        "start" => who.start(&state.db, id, &form).await.map(|()| here),
        "resume" => who
            .resume(&state.db, id)
            .await
            .map(|()| format!("{here}?said=resumed")),
        "rollback" => {
            let confirmed = form.get("confirm").is_some_and(|v| v == "yes");
            who.roll_back(&state.db, id, confirmed)
                .await
                .map(|_| format!("{here}?said=rolled-back"))
        }
        _ => Err(AppError::field("step", "unknown step")),
    };
    match done {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => step_refused(&state, &m, id, &e).await,
    }
}

async fn step_refused(state: &AppState, m: &Member, id: Uuid, e: &AppError) -> Response {
    if matches!(e, AppError::NotFound) {
        return status_pages::not_found();
    }
    match refusal(e) {
        Some((status, text)) => render(state, m, id, Some(&text), None, status).await,
        None => status_pages::unavailable(),
    }
}

/// `GET /patients/import/{id}/report.csv`
async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Response {
    let (m, id) = match member_and_import(&req, &id) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    match importer(&m).report(&state.db, id).await {
        Ok((name, csv)) => private(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                ],
                csv,
            )
                .into_response(),
        ),
        Err(AppError::NotFound) => status_pages::not_found(),
        Err(e) => {
            tracing::error!(error = %e, "import report");
            status_pages::unavailable()
        }
    }
}

//! What the front desk's plain pages (`/queue`, `/waitlist`) share: who may
//! use them, their headers, reading their forms, the patient search that waits
//! in the database (never in an address: it names a patient), the audit of a
//! step on a patient's record, and how a refused step is worded.

use std::collections::HashMap;

use axum::extract::Request;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderValue, StatusCode};
use uuid::Uuid;

use app::db::{DbError, TenantTx};
use app::error::AppError;
use app::identity::audit::{self, RequestMeta};
use app::identity::permissions::Permission;
use app::identity::{Standing, Viewer};
use app::scheduling::queue::page::Found;
use app::tenancy::TenantPublic;

use crate::{status_pages, AppState};

/// A signed-in staff member of this clinic who books (and so works the desk).
pub struct Member {
    pub tenant: TenantPublic,
    /// `/t/{slug}` under the path fallback, else empty.
    pub base: String,
    pub viewer: Viewer,
    pub staff: Uuid,
    pub meta: RequestMeta,
}

impl Member {
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Records a step on `patient`'s record (their access log shows it).
    pub async fn audit_patient(
        &self,
        tx: &mut TenantTx,
        patient: Uuid,
        action: &str,
        target: Option<&str>,
    ) -> Result<(), DbError> {
        audit::record_by_staff(tx, &self.viewer, patient, action, target, &self.meta).await
    }
}

/// The member, or where to send the visitor: the sign-in page, the two-factor
/// set-up, or a refusal.
pub fn member(req: &Request) -> Result<Member, Box<Response>> {
    member_who_can(req, &[Permission::AppointmentsManage])
}

/// A signed-in staff member of this clinic holding every one of `needs`.
pub fn member_who_can(req: &Request, needs: &[Permission]) -> Result<Member, Box<Response>> {
    let site = crate::site_of(req);
    let Some(tenant) = site.tenant else {
        return Err(Box::new(status_pages::not_found()));
    };
    let Some(viewer) = site.viewer else {
        return Err(Box::new(
            Redirect::to(&format!("{}/signin", site.base)).into_response(),
        ));
    };
    if viewer.must_set_up_two_factor {
        return Err(Box::new(
            Redirect::to(&format!("{}/account/security", site.base)).into_response(),
        ));
    }
    let Standing::Staff { member_id, .. } = viewer.standing else {
        return Err(Box::new(status_pages::forbidden()));
    };
    if !needs.iter().all(|p| viewer.can(*p)) {
        return Err(Box::new(status_pages::forbidden()));
    }
    Ok(Member {
        tenant,
        base: site.base,
        staff: member_id,
        viewer,
        meta: crate::meta_of(req),
    })
}

/// Never cached, and no Referer leaves (a screen's or an offer's secret is in
/// its address).
pub fn private(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The id a form's `key` holds.
pub fn form_id(form: &HashMap<String, String>, key: &str) -> Result<Uuid, AppError> {
    form.get(key)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| AppError::field(key, "choose from the list"))
}

/// Keeps what the member searched for (shared with the calendar's booking form).
pub async fn remember_search(
    state: &AppState,
    m: &Member,
    query: Option<String>,
) -> Result<(), AppError> {
    let query = app::text::search_text("query", query)?;
    let mut tx = state.db.begin_for(m.tenant.id).await?;
    app::scheduling::db::set_booking_search(&mut tx, m.staff, query.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

/// What the member last searched for, and the patients it finds.
pub async fn searched(
    tx: &mut TenantTx,
    m: &Member,
) -> Result<(Option<String>, Vec<Found>), DbError> {
    let search = app::scheduling::db::booking_search(tx, m.staff).await?;
    let found = match &search {
        Some(q) => app::patients::db::search(tx, q, 8)
            .await?
            .into_iter()
            .map(|p| Found {
                id: p.id,
                name: p.display_name(),
                mrn: p.mrn.to_string(),
                born: m.tenant.settings.format_day(p.birth_date),
            })
            .collect(),
        None => Vec::new(),
    };
    Ok((search, found))
}

/// A refused step's status and words for the page, or `None` when the server
/// itself failed (logged; the "unavailable" page answers).
pub fn refusal(e: &AppError, step: &str) -> Option<(StatusCode, String)> {
    if matches!(e, AppError::Internal | AppError::Transport(_)) {
        tracing::error!(error = %e, step, "desk step failed");
        return None;
    }
    let text = match e {
        AppError::NotFound => "That patient or entry is not in this clinic's records.".to_owned(),
        AppError::Field(_, message) => message.clone(),
        other => other.to_string(),
    };
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    Some((status, text))
}

//! Pages the server answers itself, before any tenant data is served.

use axum::response::{Html, IntoResponse, Response};
use http::{header, StatusCode};

use app::tenancy::TenantStatus;

use app::text::escape_html as escape;

fn page(status: StatusCode, testid: &str, title: &str, message: &str) -> Response {
    let (title, message) = (escape(title), escape(message));
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body class=\"bg-slate-50 text-slate-900\"><main data-testid=\"{testid}\" class=\"mx-auto max-w-md p-8 text-center\">\
         <h1 class=\"text-2xl font-semibold\">{title}</h1><p class=\"mt-2 text-slate-700\">{message}</p>\
         </main></body></html>",
        css = crate::assets::stylesheet()
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

pub fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "not-found",
        "Clinic not found",
        "There is no clinic at this address. Check the link you were given.",
    )
}

/// A tenant that may not be served: its name, and nothing of its data.
/// The clinic's own contact details (from its branding) are shown, so patients
/// and staff know how to reach it.
pub fn suspended(tenant: &app::tenancy::Tenant) -> Response {
    let contacts: Vec<&str> = [
        tenant.branding.support_phone.as_deref(),
        tenant.branding.support_email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let reach = if contacts.is_empty() {
        "Please contact the clinic directly.".to_owned()
    } else {
        format!("To reach the clinic: {}.", contacts.join(" · "))
    };
    let message = match tenant.status {
        TenantStatus::Cancelled => {
            format!("This clinic's MediSync account has been closed. {reach}")
        }
        _ => format!("This clinic's MediSync account is suspended. {reach}"),
    };
    page(StatusCode::FORBIDDEN, "suspended", &tenant.name, &message)
}

pub fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Not available to you",
        "Your role does not include this page. Ask an administrator of your clinic if you need it.",
    )
}

pub fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Temporarily unavailable",
        "MediSync cannot reach its database right now. Please try again in a minute.",
    )
}

/// A legal document the operator publishes (terms, data processing agreement):
/// its text as headings ("# ", "## ") and paragraphs (separated by blank lines),
/// every character escaped.
pub fn legal_document(testid: &str, text: &str) -> Response {
    let mut title = String::from("MediSync");
    let mut body = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let joined = block.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        if let Some(h) = joined.strip_prefix("# ") {
            title = h.to_owned();
            body.push_str(&format!(
                "<h1 class=\"text-2xl font-bold\">{}</h1>",
                escape(h)
            ));
        } else if let Some(h) = joined.strip_prefix("## ") {
            body.push_str(&format!(
                "<h2 class=\"mt-6 text-lg font-semibold\">{}</h2>",
                escape(h)
            ));
        } else {
            body.push_str(&format!(
                "<p class=\"mt-3 text-slate-800\">{}</p>",
                escape(&joined)
            ));
        }
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · MediSync</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body class=\"bg-slate-50 text-slate-900\"><main data-testid=\"{testid}\" class=\"mx-auto max-w-2xl p-6 sm:p-10\">\
         {body}<p class=\"mt-8\"><a class=\"underline\" href=\"/signup\">Back to sign-up</a></p></main></body></html>",
        title = escape(&title),
        css = crate::assets::stylesheet()
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-cache")],
        Html(page),
    )
        .into_response()
}

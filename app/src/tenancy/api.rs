//! Server functions of the tenancy domain.

use leptos::prelude::*;

use super::TenantPublic;
use crate::error::AppError;

/// The public profile of the tenant this request was addressed to: the same data its
/// sign-in page shows. Under the `/t/{slug}` fallback the browser calls
/// `/t/{slug}/api/...`, so the answer is always the tenant in the address bar.
#[server(prefix = "/api", endpoint = "tenant_profile")]
pub async fn tenant_profile() -> Result<TenantPublic, AppError> {
    let site = crate::site::current_site();
    site.tenant.ok_or_else(|| AppError::NotFound.respond())
}

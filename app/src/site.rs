//! How a component or server function learns which site it serves.

use leptos::prelude::*;

pub use crate::tenancy::{SiteInfo, TenantPublic};

/// The site of the current request (server) or page (browser).
pub fn current_site() -> SiteInfo {
    use_context::<SiteInfo>().unwrap_or_default()
}

/// Reads the [`SiteInfo`] the server embedded in the page.
#[cfg(feature = "hydrate")]
pub fn embedded_site() -> SiteInfo {
    document()
        .get_element_by_id(crate::tenancy::SITE_INFO_ELEMENT_ID)
        .and_then(|el| el.text_content())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

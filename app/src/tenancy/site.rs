use serde::{Deserialize, Serialize};

use super::{Branding, Slug, TenantId, TenantKind, TenantSettings};

/// What the browser may know about the tenant a page belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantPublic {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub kind: TenantKind,
    pub branding: Branding,
    pub settings: TenantSettings,
    pub plan: crate::plans::PlanId,
    pub features: Vec<crate::plans::Feature>,
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whole days left in the trial, counted by the server when the page was
    /// made (the browser's clock is not consulted, so both render the same).
    #[serde(default)]
    pub trial_days_left: Option<i64>,
    /// Dunning, for the server only (staff learn of it through their viewer;
    /// visitors and patients never do).
    #[serde(skip)]
    pub payment_failed_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip)]
    pub read_only_from: Option<chrono::DateTime<chrono::Utc>>,
}

impl TenantPublic {
    /// Whether the clinic's records are read-only for want of payment at `now`:
    /// reading and exporting go on, changing the record does not.
    pub fn read_only_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.read_only_from.is_some_and(|from| from <= now)
    }

    pub fn has(&self, feature: crate::plans::Feature) -> bool {
        self.features.contains(&feature)
    }
}

/// The site a request resolved to: the platform itself, or one tenant.
///
/// Resolved once per request by the server, placed in context for every component
/// and server function, and embedded in the page so hydration sees the same value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SiteInfo {
    pub tenant: Option<TenantPublic>,
    /// `/t/{slug}` when the tenant was addressed by path prefix, else empty.
    pub base: String,
    /// The signed-in person, when their session counts on this site.
    #[serde(default)]
    pub viewer: Option<crate::identity::Viewer>,
}

impl SiteInfo {
    pub fn platform() -> Self {
        Self::default()
    }

    /// A path inside this site: `href("/staff")` is `/t/acme/staff` under the path
    /// fallback and `/staff` on a subdomain or custom domain.
    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn language(&self) -> &str {
        self.tenant
            .as_ref()
            .map_or("en", |t| t.settings.language.as_str())
    }

    /// The JSON embedded in the page for hydration, safe inside a `<script>` element.
    pub fn to_embedded_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "{}".into())
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

/// Id of the `<script type="application/json">` element carrying [`SiteInfo`].
pub const SITE_INFO_ELEMENT_ID: &str = "site-info";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let mut site = SiteInfo::platform();
        site.base = "</script><script>alert(1)</script>".into();
        let json = site.to_embedded_json();
        assert!(!json.contains("</script>"));
        let back: SiteInfo = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, site);
    }

    #[test]
    fn href_prefixes_the_path_base() {
        let site = SiteInfo {
            tenant: None,
            base: "/t/acme".into(),
            viewer: None,
        };
        assert_eq!(site.href("/staff"), "/t/acme/staff");
        assert_eq!(SiteInfo::platform().href("/admin"), "/admin");
    }
}

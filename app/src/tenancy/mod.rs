//! Tenants: who a clinic is, how it looks, and how a request finds it.

pub mod api;
mod branding;
mod ids;
pub mod pages;
mod site;

#[cfg(feature = "ssr")]
pub mod db;

pub use branding::{Branding, HexColor};
pub use ids::{Slug, SlugError, TenantId};
pub use site::{SiteInfo, TenantPublic, SITE_INFO_ELEMENT_ID};

use serde::{Deserialize, Serialize};

/// What sort of organisation a tenant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    Clinic,
    Hospital,
    Practice,
}

/// Where a tenant stands with the platform. Only trial and active tenants are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Trial,
    Active,
    Suspended,
    Cancelled,
}

use crate::text::text_enum;

text_enum!(TenantKind { Clinic => "clinic", Hospital => "hospital", Practice => "practice" });
text_enum!(TenantStatus {
    Trial => "trial",
    Active => "active",
    Suspended => "suspended",
    Cancelled => "cancelled",
});

impl TenantStatus {
    /// Whether the tenant's users may use the service at all.
    pub fn is_served(self) -> bool {
        matches!(self, Self::Trial | Self::Active)
    }
}

/// Regional settings every date, time and amount shown to a clinic's users follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    pub timezone: String,
    pub currency: String,
    pub language: String,
    pub date_format: String,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            timezone: "UTC".into(),
            currency: "USD".into(),
            language: "en".into(),
            date_format: "%Y-%m-%d".into(),
        }
    }
}

impl TenantSettings {
    /// Checks the shapes the rest of the system relies on (full validation of time
    /// zones arrives with the settings page).
    pub fn validate(&self) -> Result<(), String> {
        let currency_ok =
            self.currency.len() == 3 && self.currency.chars().all(|c| c.is_ascii_uppercase());
        if !currency_ok {
            return Err("currency must be a three-letter ISO 4217 code such as USD".into());
        }
        let lang_ok = (2..=12).contains(&self.language.len())
            && self
                .language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !lang_ok {
            return Err("language must be a language tag such as en or pt-BR".into());
        }
        if self.timezone.is_empty() || self.timezone.len() > 64 {
            return Err("timezone must be an IANA name such as Europe/Lisbon".into());
        }
        if self.date_format.is_empty() || self.date_format.len() > 32 {
            return Err("date format must be 1 to 32 characters".into());
        }
        Ok(())
    }
}

/// A tenant's sign-in rules: whether staff must use two-factor, and their idle
/// timeout (the platform default when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityPolicy {
    pub require_staff_2fa: bool,
    pub staff_idle_minutes: Option<i64>,
}

/// A tenant as the platform sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub kind: TenantKind,
    pub status: TenantStatus,
    pub custom_domain: Option<String>,
    pub branding: Branding,
    pub settings: TenantSettings,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What is needed to create a tenant; validated by [`NewTenant::validate`].
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: Slug,
    pub name: String,
    pub kind: TenantKind,
    pub status: TenantStatus,
    pub branding: Branding,
    pub settings: TenantSettings,
}

impl NewTenant {
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err("clinic name must be 1 to 120 characters".into());
        }
        self.branding.validate()?;
        self.settings.validate()
    }
}

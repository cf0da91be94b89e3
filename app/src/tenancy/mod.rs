//! Tenants: who a clinic is, how it looks, and how a request finds it.

pub mod api;
mod branding;
mod ids;
pub mod pages;
mod site;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod dns;
#[cfg(feature = "ssr")]
pub mod logo;

pub use crate::ids::TenantId;
pub use branding::{Branding, BrandingError, HexColor, MIN_CONTRAST};
pub use ids::{Domain, Slug, SlugError};
pub use site::{SiteInfo, TenantPublic, SITE_INFO_ELEMENT_ID};

use serde::{Deserialize, Serialize};

use crate::plans::{Feature, PlanId};

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
    /// `mon,tue,wed,thu,fri`: the days the clinic opens.
    #[serde(default = "default_working_days")]
    pub working_days: String,
    /// Years an erased (restricted) record is kept before the daily purge,
    /// when the erasure names no date of its own.
    #[serde(default = "default_retention_years")]
    pub retention_years: u16,
    /// The start of the clinic's record numbers ("NHS-"); `None`: the first
    /// letters of its address. Numbering continues across a change.
    #[serde(default)]
    pub mrn_prefix: Option<String>,
}

fn default_working_days() -> String {
    "mon,tue,wed,thu,fri".into()
}

fn default_retention_years() -> u16 {
    10
}

/// How long a clinic may keep erased records before they are purged.
pub const RETENTION_YEARS: std::ops::RangeInclusive<u16> = 1..=100;

/// The date formats a clinic may choose, with an example of each.
pub const DATE_FORMATS: &[(&str, &str)] = &[
    ("%Y-%m-%d", "2026-11-21"),
    ("%d/%m/%Y", "21/11/2026"),
    ("%m/%d/%Y", "11/21/2026"),
    ("%d.%m.%Y", "21.11.2026"),
    ("%d %b %Y", "21 Nov 2026"),
];

/// The languages MediSync's interface is written in: a clinic's pages carry
/// `lang` equal to the language of their text, so only languages the interface
/// is actually translated into are offered (a translation adds its entry here).
pub const LANGUAGES: &[(&str, &str)] = &[("en", "English (US)"), ("en-GB", "English (UK)")];

/// ISO 4217 codes offered in the settings form.
pub const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "BRL",
    "MXN", "ARS", "CLP", "COP", "ZAR", "NGN", "KES", "EGP", "INR", "PKR", "AED", "SAR", "ILS",
    "TRY", "JPY", "CNY", "HKD", "SGD", "MYR", "THB", "PHP", "IDR", "KRW",
];

pub const WEEKDAYS: &[(&str, &str)] = &[
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            timezone: "UTC".into(),
            currency: "USD".into(),
            language: "en".into(),
            date_format: "%Y-%m-%d".into(),
            working_days: default_working_days(),
            retention_years: default_retention_years(),
            mrn_prefix: None,
        }
    }
}

/// A record-number prefix: up to 10 capital letters, digits or hyphens,
/// starting with a letter or digit, so that prefix and number (six digits or
/// more) stay within a record number's 20 characters.
pub fn check_mrn_prefix(prefix: &str) -> Result<(), String> {
    let ok = (1..=10).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && !prefix.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err("a record-number prefix has 1 to 10 capital letters, digits or hyphens, and starts with a letter or digit".into())
    }
}

/// A settings value that was refused: the form field and the reason.
pub type SettingsError = (&'static str, String);

impl TenantSettings {
    /// Checks every value against the lists above (time zones fully on the server,
    /// by [`TenantSettings::tz`]).
    pub fn check(&self) -> Result<(), SettingsError> {
        if !CURRENCIES.contains(&self.currency.as_str()) {
            return Err(("currency", "choose a currency from the list".into()));
        }
        if !LANGUAGES.iter().any(|(code, _)| *code == self.language) {
            return Err(("language", "choose a language from the list".into()));
        }
        if self.timezone.is_empty()
            || self.timezone.len() > 64
            || !self
                .timezone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
        {
            return Err((
                "timezone",
                "use an IANA time zone such as Europe/Lisbon".into(),
            ));
        }
        if !DATE_FORMATS.iter().any(|(f, _)| *f == self.date_format) {
            return Err(("date_format", "choose a date format from the list".into()));
        }
        let days: Vec<&str> = self.working_days.split(',').collect();
        let known = days.iter().all(|d| WEEKDAYS.iter().any(|(k, _)| k == d));
        if self.working_days.is_empty() || !known {
            return Err(("working_days", "choose at least one working day".into()));
        }
        if !RETENTION_YEARS.contains(&self.retention_years) {
            return Err((
                "retention_years",
                format!(
                    "keep erased records for {} to {} years",
                    RETENTION_YEARS.start(),
                    RETENTION_YEARS.end()
                ),
            ));
        }
        if let Some(prefix) = &self.mrn_prefix {
            check_mrn_prefix(prefix).map_err(|m| ("mrn_prefix", m))?;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|(_, m)| m)
    }

    /// The start of new record numbers: the clinic's own prefix, or the first
    /// letters of its address ("riverside" → "RIVE-").
    pub fn record_prefix(&self, slug: &str) -> String {
        match &self.mrn_prefix {
            Some(prefix) => prefix.clone(),
            None => {
                let letters: String = slug
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(4)
                    .collect();
                format!("{}-", letters.to_uppercase())
            }
        }
    }

    pub fn works_on(&self, day: &str) -> bool {
        self.working_days.split(',').any(|d| d == day)
    }

    /// A calendar date (a birth date, say) in the clinic's format.
    pub fn format_day(&self, day: chrono::NaiveDate) -> String {
        let format = DATE_FORMATS
            .iter()
            .find(|(f, _)| *f == self.date_format)
            .map_or("%Y-%m-%d", |(f, _)| f);
        day.format(format).to_string()
    }

    /// The clinic's time zone; UTC if the stored name is unknown.
    #[cfg(feature = "ssr")]
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// A date in the clinic's zone and format.
    #[cfg(feature = "ssr")]
    pub fn format_date(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.tz())
            .format(self.safe_date_format())
            .to_string()
    }

    /// A date and time (24-hour) in the clinic's zone and format, with the zone.
    #[cfg(feature = "ssr")]
    pub fn format_datetime(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        let local = at.with_timezone(&self.tz());
        format!(
            "{} {} {}",
            local.format(self.safe_date_format()),
            local.format("%H:%M"),
            local.format("%Z")
        )
    }

    /// A date and time (24-hour) in another zone (a location's), in the clinic's
    /// date format: "02/12/2026 at 09:30".
    #[cfg(feature = "ssr")]
    pub fn format_datetime_in(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        tz: chrono_tz::Tz,
    ) -> (String, String) {
        let local = at.with_timezone(&tz);
        (
            local.format(self.safe_date_format()).to_string(),
            local.format("%H:%M").to_string(),
        )
    }

    /// Only formats from [`DATE_FORMATS`] reach chrono (an arbitrary pattern can
    /// fail while printing).
    #[cfg(feature = "ssr")]
    fn safe_date_format(&self) -> &'static str {
        DATE_FORMATS
            .iter()
            .find(|(f, _)| *f == self.date_format)
            .map_or("%Y-%m-%d", |(f, _)| f)
    }
}

/// A tenant's sign-in rules: whether staff must use two-factor, and their idle
/// timeout (the platform default when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityPolicy {
    pub require_staff_2fa: bool,
    pub staff_idle_minutes: Option<i64>,
    /// Doctors see only patients assigned to them or whose notes they wrote.
    #[serde(default)]
    pub doctors_see_own_patients: bool,
}

/// A tenant as the platform sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub kind: TenantKind,
    pub status: TenantStatus,
    /// Why the status was last set, when an operator or the trial job gave one.
    pub status_reason: Option<String>,
    pub custom_domain: Option<String>,
    pub branding: Branding,
    pub settings: TenantSettings,
    pub plan: PlanId,
    pub features: Vec<Feature>,
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When a renewal of MediSync's subscription first failed (dunning).
    pub payment_failed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// From when the clinic's records are read-only for want of payment.
    pub read_only_from: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Staff sign-in rules, read with the tenant so a request needs no second look.
    pub security: SecurityPolicy,
}

impl Tenant {
    /// What every page of this tenant may show the browser.
    pub fn public(&self) -> TenantPublic {
        TenantPublic {
            id: self.id,
            slug: self.slug.clone(),
            name: self.name.clone(),
            kind: self.kind,
            branding: self.branding.clone(),
            settings: self.settings.clone(),
            plan: self.plan.clone(),
            features: self.features.clone(),
            trial_ends_at: self
                .trial_ends_at
                .filter(|_| self.status == TenantStatus::Trial),
            trial_days_left: self
                .trial_ends_at
                .filter(|_| self.status == TenantStatus::Trial)
                .map(|end| (end - chrono::Utc::now()).num_days().max(0)),
            payment_failed_at: self.payment_failed_at,
            read_only_from: self.read_only_from,
        }
    }
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
    pub plan: PlanId,
    pub trial_ends_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl NewTenant {
    pub fn validate(&self) -> Result<(), String> {
        crate::text::plain_name(&self.name, 2, 120).map_err(|m| format!("clinic name: {m}"))?;
        self.branding.validate()?;
        self.settings.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_accept_only_listed_values() {
        let ok = TenantSettings::default();
        assert_eq!(ok.check(), Ok(()));
        let field = |s: TenantSettings| s.check().err().map(|e| e.0);
        assert_eq!(
            field(TenantSettings {
                currency: "usd".into(),
                ..ok.clone()
            }),
            Some("currency")
        );
        assert_eq!(
            field(TenantSettings {
                date_format: "%Y-%m-%d %Q".into(),
                ..ok.clone()
            }),
            Some("date_format")
        );
        assert_eq!(
            field(TenantSettings {
                working_days: "mon,funday".into(),
                ..ok.clone()
            }),
            Some("working_days")
        );
        assert_eq!(
            field(TenantSettings {
                timezone: "Europe/Lisbon; DROP".into(),
                ..ok.clone()
            }),
            Some("timezone")
        );
        for years in [0, 101] {
            assert_eq!(
                field(TenantSettings {
                    retention_years: years,
                    ..ok.clone()
                }),
                Some("retention_years")
            );
        }
        for prefix in ["", "-AB", "ab-", "ABCDEFGHIJK", "A B", "É-"] {
            assert_eq!(
                field(TenantSettings {
                    mrn_prefix: Some(prefix.into()),
                    ..ok.clone()
                }),
                Some("mrn_prefix"),
                "{prefix:?}"
            );
        }
        for prefix in ["NHS-", "A", "CLINIC-01"] {
            let s = TenantSettings {
                mrn_prefix: Some(prefix.into()),
                retention_years: 7,
                ..ok.clone()
            };
            assert_eq!(s.check(), Ok(()), "{prefix:?}");
        }
    }

    #[test]
    fn settings_saved_before_registry_options_read_with_their_defaults() {
        let old = r#"{"timezone":"UTC","currency":"USD","language":"en","date_format":"%Y-%m-%d"}"#;
        let s: TenantSettings = serde_json::from_str(old).expect("old settings");
        assert_eq!(s.retention_years, 10);
        assert_eq!(s.mrn_prefix, None);
    }

    #[test]
    fn dates_follow_the_clinics_zone_and_format() {
        let settings = TenantSettings {
            timezone: "America/New_York".into(),
            date_format: "%d/%m/%Y".into(),
            ..TenantSettings::default()
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        assert_eq!(settings.format_day(day), "21/11/2026");
        #[cfg(feature = "ssr")]
        {
            use chrono::TimeZone;
            // 02:30 UTC on the 21st is still the 20th in New York.
            let at = chrono::Utc
                .with_ymd_and_hms(2026, 11, 21, 2, 30, 0)
                .single()
                .expect("time");
            assert_eq!(settings.format_datetime(at), "20/11/2026 21:30 EST");
            let unknown = TenantSettings {
                timezone: "Nowhere/Else".into(),
                ..settings
            };
            assert_eq!(unknown.format_date(at), "21/11/2026", "falls back to UTC");
        }
    }
}

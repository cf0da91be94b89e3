//! Server functions of the tenancy domain: the public profile, branding, clinic
//! settings and the custom domain. Each one's rule is in the access table; the
//! bodies work only on the tenant of the request.
// A server function takes one argument per form field, so forms with many
// fields make long signatures (in the generated browser client too).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

use super::{Branding, TenantPublic, TenantSettings};
use crate::error::AppError;

/// The public profile of the tenant this request was addressed to: the same data its
/// sign-in page shows. Under the `/t/{slug}` fallback the browser calls
/// `/t/{slug}/api/...`, so the answer is always the tenant in the address bar.
#[server(prefix = "/api", endpoint = "tenant_profile")]
pub async fn tenant_profile() -> Result<TenantPublic, AppError> {
    let site = crate::site::current_site();
    site.tenant.ok_or_else(|| AppError::NotFound.respond())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    pub use crate::identity::audit::Actor;
    pub use crate::identity::auth;

    use crate::error::AppError;
    use crate::identity::Viewer;
    use crate::tenancy::{Branding, TenantId};

    pub fn actor(viewer: &Viewer) -> Actor<'_> {
        Actor::account(viewer.account_id, viewer.email.as_str())
    }

    pub fn storage() -> Result<crate::storage::Storage, AppError> {
        leptos::prelude::use_context::<crate::storage::Storage>().ok_or_else(|| {
            tracing::error!("no storage in context");
            AppError::Internal
        })
    }

    /// Reads the stored branding, changes it and saves it in one transaction
    /// (with the logo files' rows when `drop_logo`), then records who did it and
    /// deletes files no longer used.
    pub async fn change_branding(
        db: &crate::db::Db,
        tenant: TenantId,
        viewer: &Viewer,
        action: &str,
        drop_logo: bool,
        change: impl FnOnce(Branding) -> Branding,
    ) -> Result<Branding, AppError> {
        let mut tx = db.begin_for(tenant).await?;
        let current = crate::tenancy::db::find_by_id(tx.platform(), tenant)
            .await?
            .ok_or_else(|| AppError::NotFound.respond())?;
        let branding = change(current.branding);
        if let Err(e) = branding.check() {
            return Err(AppError::field(e.field, e.message).respond());
        }
        let keys = if drop_logo {
            crate::plans::db::remove_files(&mut tx, "logo").await?
        } else {
            Vec::new()
        };
        crate::tenancy::db::set_branding(tx.platform(), tenant, &branding).await?;
        tx.commit().await?;
        auth::audit_event(db, Some(tenant), actor(viewer), action, None).await;
        delete_files(keys).await;
        Ok(branding)
    }

    /// Deletes files no row points at any more; a failure only leaves a file behind.
    pub async fn delete_files(keys: Vec<String>) {
        let Ok(storage) = storage() else { return };
        for key in keys {
            if let Err(e) = storage.delete(&key).await {
                tracing::warn!(error = %e, "could not delete an old logo file");
            }
        }
    }
}

#[cfg(feature = "ssr")]
fn optional(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Saves colors and texts; the logo stays as it is.
#[server(prefix = "/api", endpoint = "save_branding")]
pub async fn save_branding(
    primary_color: String,
    accent_color: String,
    sign_in_headline: String,
    welcome_text: String,
    support_phone: Option<String>,
    support_email: Option<String>,
) -> Result<Branding, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let color = |field: &str, raw: &str| {
        super::HexColor::parse(raw).map_err(|m| AppError::field(field, m).respond())
    };
    let (primary_color, accent_color) = (
        color("primary_color", &primary_color)?,
        color("accent_color", &accent_color)?,
    );
    let db = auth::db()?;
    change_branding(&db, tenant, &viewer, "branding.changed", false, |current| {
        Branding {
            primary_color,
            accent_color,
            sign_in_headline: sign_in_headline.trim().to_owned(),
            welcome_text: welcome_text.trim().to_owned(),
            support_phone: optional(support_phone),
            support_email: optional(support_email),
            ..current
        }
    })
    .await
}

/// Back to MediSync's default look; the logo files are deleted.
#[server(prefix = "/api", endpoint = "reset_branding")]
pub async fn reset_branding() -> Result<Branding, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    change_branding(&db, tenant, &viewer, "branding.reset", true, |_| {
        Branding::default()
    })
    .await
}

/// Removes the logo and keeps the rest.
#[server(prefix = "/api", endpoint = "remove_logo")]
pub async fn remove_logo() -> Result<Branding, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    change_branding(
        &db,
        tenant,
        &viewer,
        "branding.logo_removed",
        true,
        |current| current.without_logo(),
    )
    .await
}

/// Uploads a logo (multipart field `logo`): checked, resized and stored; the new
/// branding is returned for the preview.
#[server(prefix = "/api", endpoint = "upload_logo", input = MultipartFormData)]
pub async fn upload_logo(data: MultipartData) -> Result<Branding, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let bytes = read_logo_field(data).await?;
    let renditions = tokio::task::spawn_blocking(move || super::logo::process(&bytes))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|m| AppError::field("logo", m).respond())?;
    let db = auth::db()?;
    let storage = storage()?;

    // Room on the plan for the new files, counting the old ones as gone.
    let mut tx = db.begin_for(tenant).await?;
    let old = crate::plans::db::remove_files(&mut tx, "logo").await?;
    let room = crate::plans::db::ensure_room(
        &mut tx,
        crate::plans::LimitKind::Storage,
        renditions.total_bytes() as i64,
    )
    .await?;
    if let Err(limit) = room {
        return Err(AppError::Upgrade(limit.0).respond());
    }
    let stem = uuid::Uuid::now_v7().simple().to_string();
    let files = [
        (format!("{stem}-header.png"), renditions.header),
        (format!("{stem}-192.png"), renditions.icon),
        (format!("{stem}-512.png"), renditions.icon_large),
    ];
    for (name, bytes) in &files {
        let key = crate::storage::Storage::branding_key(tenant, name);
        crate::plans::db::add_file(&mut tx, "logo", &key, "image/png", bytes.len() as i64).await?;
    }
    // Files first, then the rows and the branding that point at them, in one
    // transaction: a failure leaves at worst an unreferenced file, never a broken logo.
    for (name, bytes) in files.iter() {
        let key = crate::storage::Storage::branding_key(tenant, name);
        storage.put(&key, bytes.clone()).await.map_err(|e| {
            tracing::error!(error = %e, "logo upload could not be stored");
            AppError::Internal
        })?;
    }
    // Served from every address of the clinic (and in emails) without the path prefix.
    let path = |name: &str| format!("/brand/{tenant}/{name}");
    let current = crate::tenancy::db::find_by_id(tx.platform(), tenant)
        .await?
        .ok_or(AppError::NotFound)?;
    let branding = Branding {
        logo_url: Some(path(&files[0].0)),
        icon_url: Some(path(&files[1].0)),
        icon_large_url: Some(path(&files[2].0)),
        ..current.branding
    };
    crate::tenancy::db::set_branding(tx.platform(), tenant, &branding).await?;
    tx.commit().await?;
    auth::audit_event(
        &db,
        Some(tenant),
        actor(&viewer),
        "branding.logo_uploaded",
        None,
    )
    .await;
    delete_files(old).await;
    Ok(branding)
}

/// The bytes of the `logo` field, refusing more than the limit without reading on.
#[cfg(feature = "ssr")]
async fn read_logo_field(data: MultipartData) -> Result<Vec<u8>, AppError> {
    let mut form = data.into_inner().ok_or(AppError::Internal)?;
    let unreadable =
        || AppError::field("logo", "the upload could not be read; try again").respond();
    while let Some(mut field) = form.next_field().await.map_err(|_| unreadable())? {
        if field.name() != Some("logo") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > super::logo::MAX_BYTES {
                return Err(AppError::field(
                    "logo",
                    "the logo is larger than 1 MB; export it smaller and try again",
                )
                .respond());
            }
        }
        return Ok(bytes);
    }
    Err(AppError::field("logo", "choose an image file to upload").respond())
}

/// Saves the clinic's name and regional settings.
#[server(prefix = "/api", endpoint = "save_clinic_settings")]
pub async fn save_clinic_settings(
    name: String,
    timezone: String,
    currency: String,
    language: String,
    date_format: String,
    days: Option<String>,
    retention_years: Option<String>,
    mrn_prefix: Option<String>,
) -> Result<TenantSettings, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    // A form without the retention field (an older page) leaves it be.
    let stored = {
        let mut tx = db.begin_platform_read().await?;
        let stored = super::db::find_by_id(&mut tx, tenant).await?;
        tx.commit().await?;
        stored.ok_or(AppError::NotFound)?
    };
    let current = stored.settings;
    let retention_years = match retention_years.as_deref().map(str::trim) {
        None => current.retention_years,
        Some(text) => text.parse().map_err(|_| {
            AppError::field(
                "retention_years",
                "enter the number of years as a whole number, such as 10",
            )
            .respond()
        })?,
    };
    // Left empty: the address's letters.
    let mrn_prefix = mrn_prefix
        .map(|p| p.trim().to_uppercase())
        .filter(|p| !p.is_empty());
    let name = crate::text::plain_name(&name, 2, 120)
        .map_err(|m| AppError::field("name", format!("the clinic name: {m}")).respond())?;
    let days = days.unwrap_or_default();
    let working_days = super::WEEKDAYS
        .iter()
        .filter(|(key, _)| days.split(',').any(|d| d.trim() == *key))
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(",");
    let settings = TenantSettings {
        timezone: timezone.trim().to_owned(),
        currency: currency.trim().to_uppercase(),
        language: language.trim().to_owned(),
        date_format,
        working_days,
        retention_years,
        mrn_prefix,
    };
    settings
        .check()
        .map_err(|(field, m)| AppError::field(field, m).respond())?;
    if settings.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(AppError::field(
            "timezone",
            format!(
                "{:?} is not a time zone name; use one such as Europe/Lisbon or America/New_York",
                settings.timezone
            ),
        )
        .respond());
    }
    if settings.mrn_prefix != current.mrn_prefix {
        // The series (which numbers new patients) first; should saving the
        // settings then fail, sending the form again brings both in line.
        let prefix = settings.record_prefix(stored.slug.as_str());
        let mut tx = db.begin_for(tenant).await?;
        crate::patients::db::set_mrn_prefix(&mut tx, &prefix).await?;
        tx.commit().await?;
    }
    let mut tx = db.begin_platform().await?;
    super::db::set_settings(&mut tx, tenant, &name, &settings).await?;
    tx.commit().await?;
    auth::audit_event(&db, Some(tenant), actor(&viewer), "settings.changed", None).await;
    Ok(settings)
}

/// The clinic's custom domain and the DNS records it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainSetup {
    pub domain: Option<String>,
    /// The host a CNAME record must point at: the clinic's own subdomain.
    pub target: String,
    /// The TXT record that proves the clinic controls the domain.
    pub txt_name: Option<String>,
    pub txt_value: Option<String>,
    /// Proven: requests for the domain now open the clinic.
    pub verified: bool,
    /// Entered long ago and never proven: it must be entered again.
    #[serde(default)]
    pub expired: bool,
}

#[cfg(feature = "ssr")]
fn domain_target(slug: &super::Slug) -> String {
    // DNS names carry no port.
    let host = crate::identity::auth::request_meta().clinic_host(slug.as_str());
    host.split(':').next().unwrap_or(&host).to_owned()
}

#[cfg(feature = "ssr")]
async fn domain_setup(
    db: &crate::db::Db,
    tenant: super::TenantId,
) -> Result<DomainSetup, AppError> {
    let slug = crate::site::current_site()
        .tenant
        .ok_or(AppError::NotFound)?
        .slug;
    let mut tx = db.begin_platform_read().await?;
    let state = super::db::domain_state(&mut tx, tenant).await?;
    Ok(DomainSetup {
        txt_name: state.domain.as_deref().map(super::dns::record_name),
        txt_value: state.token.as_deref().map(super::dns::record_value),
        domain: state.domain,
        target: domain_target(&slug),
        verified: state.verified,
        expired: state.expired,
    })
}

#[server(prefix = "/api", endpoint = "custom_domain")]
pub async fn custom_domain() -> Result<DomainSetup, AppError> {
    use ssr::*;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    domain_setup(&db, tenant).await
}

/// Points a domain at this clinic (or clears it with an empty value). The domain
/// starts unverified, with a new token for its TXT record.
#[server(prefix = "/api", endpoint = "set_custom_domain")]
pub async fn set_custom_domain(domain: String) -> Result<DomainSetup, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let site_tenant = crate::site::current_site()
        .tenant
        .ok_or(AppError::NotFound)?;
    let target = domain_target(&site_tenant.slug);
    let platform_host = target
        .strip_prefix(&format!("{}.", site_tenant.slug))
        .unwrap_or_default()
        .to_owned();
    let domain = match super::Domain::parse(&domain) {
        Ok(None) => None,
        Ok(Some(d))
            if d.as_str() == platform_host
                || d.as_str().ends_with(&format!(".{platform_host}")) =>
        {
            return Err(AppError::field(
                "domain",
                format!("{d} belongs to MediSync; enter a domain your clinic owns"),
            )
            .respond())
        }
        Ok(Some(d)) => Some(d),
        Err(m) => return Err(AppError::field("domain", m).respond()),
    };
    let token = domain
        .as_ref()
        .map(|_| crate::identity::secrets::new_token().0);
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    super::db::set_custom_domain(
        &mut tx,
        tenant,
        domain.as_ref().map(|d| d.as_str()),
        token.as_deref(),
    )
    .await
    .map_err(|e| match e {
        crate::db::DbError::Conflict(_) => AppError::field(
            "domain",
            "another clinic has already proven it owns this domain",
        )
        .respond(),
        other => other.into(),
    })?;
    tx.commit().await?;
    auth::audit_event(
        &db,
        Some(tenant),
        actor(&viewer),
        "settings.domain_changed",
        Some(domain.as_ref().map_or("none", |d| d.as_str())),
    )
    .await;
    domain_setup(&db, tenant).await
}

/// Looks for the TXT record now; once found, the domain serves the clinic.
#[server(prefix = "/api", endpoint = "verify_custom_domain")]
pub async fn verify_custom_domain() -> Result<DomainSetup, AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_platform_read().await?;
    let state = super::db::domain_state(&mut tx, tenant).await?;
    drop(tx);
    let (Some(domain), Some(token)) = (state.domain, state.token) else {
        return Err(AppError::Invalid("enter the clinic's domain first".into()).respond());
    };
    if state.expired {
        return Err(AppError::Invalid(format!(
            "this domain was entered more than {} days ago and never proven; enter it again for a new TXT record",
            super::db::DOMAIN_CLAIM_DAYS
        ))
        .respond());
    }
    if !state.verified {
        let verifier = leptos::prelude::use_context::<super::dns::DomainVerifier>()
            .ok_or(AppError::Internal)?;
        if !verifier.publishes(&domain, &token).await {
            return Err(AppError::Invalid(format!(
                "the TXT record {} was not found yet; DNS changes can take up to a day to appear, so try again later",
                super::dns::record_name(&domain)
            ))
            .respond());
        }
        let mut tx = db.begin_platform().await?;
        super::db::mark_domain_verified(&mut tx, tenant, &domain)
            .await
            .map_err(|e| match e {
                crate::db::DbError::Conflict(_) => AppError::Invalid(
                    "another clinic proved it owns this domain first; check the domain you entered"
                        .into(),
                )
                .respond(),
                other => other.into(),
            })?;
        tx.commit().await?;
        auth::audit_event(
            &db,
            Some(tenant),
            actor(&viewer),
            "settings.domain_verified",
            Some(&domain),
        )
        .await;
    }
    domain_setup(&db, tenant).await
}

//! Sign-up and the onboarding checklist.
// A server function takes one argument per form field, so forms with many
// fields make long signatures (in the generated browser client too).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use super::{Checklist, SlugCheck};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::db::Db;
    use crate::error::AppError;
    use crate::tenancy::{db as tenants, Slug};

    /// A free address near `base`: `base` itself when `try_base`, then `base-2`,
    /// `base-3`, …
    pub async fn free_near(
        db: &Db,
        base: &str,
        try_base: bool,
    ) -> Result<Option<String>, AppError> {
        let base: String = base.chars().take(36).collect();
        let base = base.trim_end_matches('-');
        let mut tx = db.begin_platform_read().await?;
        let candidates = try_base
            .then(|| base.to_owned())
            .into_iter()
            .chain((2..12).map(|n| format!("{base}-{n}")));
        for candidate in candidates {
            if let Ok(slug) = Slug::parse(&candidate) {
                if !tenants::slug_taken(&mut tx, &slug).await? {
                    return Ok(Some(candidate));
                }
            }
        }
        Ok(None)
    }

    /// Where a clinic's pages live, as people will type it.
    pub fn address_of(slug: &str) -> String {
        crate::identity::auth::request_meta().clinic_host(slug)
    }
}

/// The live address check of the sign-up form.
#[server(prefix = "/api", endpoint = "check_slug")]
pub async fn check_slug(slug: String) -> Result<SlugCheck, AppError> {
    use crate::tenancy::{db as tenants, Slug, SlugError};
    use ssr::*;
    let typed = slug.trim().to_owned();
    let db = crate::identity::auth::db()?;
    let cleaned = super::slugify(&typed);
    let refuse = |message: String, suggestion: Option<String>| SlugCheck {
        slug: typed.clone(),
        available: false,
        message,
        suggestion,
    };
    match Slug::parse(&typed) {
        Err(SlugError::Reserved(_)) => {
            let near = free_near(&db, &format!("{typed}-clinic"), true).await?;
            Ok(refuse(SlugError::Reserved(typed.clone()).to_string(), near))
        }
        Err(e) => {
            let suggestion = match Slug::parse(&cleaned) {
                Ok(s) if cleaned != typed => {
                    let mut tx = db.begin_platform_read().await?;
                    if tenants::slug_taken(&mut tx, &s).await? {
                        free_near(&db, &cleaned, false).await?
                    } else {
                        Some(cleaned.clone())
                    }
                }
                _ => None,
            };
            Ok(refuse(e.to_string(), suggestion))
        }
        Ok(slug) => {
            let mut tx = db.begin_platform_read().await?;
            if tenants::slug_taken(&mut tx, &slug).await? {
                drop(tx);
                let near = free_near(&db, slug.as_str(), false).await?;
                Ok(refuse(
                    format!("{slug} is already taken by another clinic"),
                    near,
                ))
            } else {
                Ok(SlugCheck {
                    message: format!("{} is available", address_of(slug.as_str())),
                    slug: slug.to_string(),
                    available: true,
                    suggestion: None,
                })
            }
        }
    }
}

/// Creates a clinic in trial and emails its owner the way in: for a new address, a
/// link that proves it and signs the owner in; for an address that already has an
/// account, an invitation accepted with that account's password. Every address
/// gets the same answer ([`SIGN_UP_SENT`]), so the form tells no visitor whether
/// an email has an account, or belongs to an operator.
#[server(prefix = "/api", endpoint = "sign_up")]
pub async fn sign_up(
    clinic_name: String,
    kind: String,
    slug: String,
    owner_name: String,
    email: String,
    password: String,
    plan: String,
    terms: Option<String>,
) -> Result<String, AppError> {
    use crate::identity::{self, audit, auth, credentials, password as pw, secrets, Email, Role};
    use crate::plans::{self, trials, PlanId};
    use crate::tenancy::{
        db as tenants, Branding, NewTenant, Slug, TenantId, TenantKind, TenantSettings,
        TenantStatus,
    };
    use ssr::*;

    let site = crate::site::current_site();
    if site.tenant.is_some() {
        return Err(AppError::NotFound.respond());
    }
    let field = |name: &str, message: String| AppError::field(name, message).respond();
    let clinic_name = crate::text::plain_name(&clinic_name, 2, 120)
        .map_err(|m| field("clinic_name", format!("the clinic's name: {m}")))?;
    let kind: TenantKind = kind
        .parse()
        .map_err(|_| field("kind", "choose clinic, hospital or practice".into()))?;
    let slug = Slug::parse(slug.trim()).map_err(|e| field("slug", e.to_string()))?;
    let owner_name = crate::text::plain_name(&owner_name, 1, 120)
        .map_err(|m| field("owner_name", format!("your name: {m}")))?;
    let email = Email::parse(&email).map_err(|m| field("email", m))?;
    let plan = PlanId::parse(&plan).map_err(|_| field("plan", "choose a plan".into()))?;
    if terms.as_deref() != Some("on") && terms.as_deref() != Some("true") {
        return Err(field(
            "terms",
            "accept the terms of service to continue".into(),
        ));
    }

    let db = auth::db()?;
    let mut read = db.begin_platform_read().await?;
    let chosen = plans::db::get(&mut read, &plan).await?;
    if chosen.is_none_or(|p| p.retired) {
        return Err(field("plan", "choose one of the plans shown".into()));
    }
    if tenants::slug_taken(&mut read, &slug).await? {
        drop(read);
        let near = free_near(&db, slug.as_str(), false).await?;
        return Err(field(
            "slug",
            match near {
                Some(s) => format!("{slug} is already taken; {s} is free"),
                None => format!("{slug} is already taken"),
            },
        ));
    }
    let existing = credentials::by_email(&mut read, &email).await?;
    drop(read);
    // The password is checked and hashed for every address, known or not, so the
    // answer and its timing are the same for both.
    let new_password = pw::NewPassword::parse(&password).map_err(|m| field("password", m))?;
    let hash = tokio::task::spawn_blocking(move || pw::hash(&new_password))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|_| AppError::Internal)?;

    let tenant_id = TenantId::new();
    let new = NewTenant {
        slug: slug.clone(),
        name: clinic_name.clone(),
        kind,
        status: TenantStatus::Trial,
        branding: Branding::default(),
        settings: TenantSettings::default(),
        plan,
        trial_ends_at: Some(chrono::Utc::now() + trials::TRIAL_LENGTH),
    };
    let (token, digest) = secrets::new_token();
    let mut tx = db.begin_for(tenant_id).await?;
    let tenant = tenants::create_with_id(tx.platform(), tenant_id, &new)
        .await
        .map_err(|e| match e {
            crate::db::DbError::Conflict(_) => {
                field("slug", format!("{slug} was just taken; choose another"))
            }
            other => other.into(),
        })?;
    let meta = auth::request_meta();
    let public = tenant.public();
    let clinic_link = |path: &str| format!("{}/t/{}{path}", meta.platform_origin, tenant.slug);
    let (actor_id, message) = match existing {
        // A new address: the account exists from now, but its password waits for
        // the emailed link, which proves the address and signs the owner in.
        None => {
            let account = identity::db::create_account(tx.platform(), &email, &owner_name).await?;
            credentials::set_pending_password_hash(tx.platform(), account.id, &hash).await?;
            credentials::issue_token(
                tx.platform(),
                account.id,
                credentials::TokenPurpose::VerifyEmail,
                &digest,
                chrono::Duration::hours(72),
            )
            .await?;
            identity::db::upsert_staff(&mut tx, &account, Role::Owner).await?;
            let message = crate::mail::branded(
                Some(&public),
                &email,
                "Confirm your email to open your clinic",
                &[
                    &format!("Welcome to MediSync, {owner_name}. {clinic_name} is ready, with a 14-day trial."),
                    "Confirm this address to open it: the link works once, within 72 hours, and signs you in.",
                    "If you did not sign up, ignore this email: nothing happens without the link.",
                ],
                ("Confirm and open my clinic", &clinic_link(&format!("/verify-email?token={token}"))),
            );
            (Some(account.id), message)
        }
        // The address already has an account: nothing about it changes here. The
        // clinic waits for its owner to accept with that account's own password
        // (and second factor), as any invitation does.
        Some(creds) => {
            crate::identity::invitations::create(
                &mut tx,
                &email,
                &crate::identity::invitations::Invited::Staff(Role::Owner),
                &digest,
                creds.account.id,
            )
            .await?;
            let lines: &[&str] = if creds.platform_role.is_some() {
                &[
                    "Someone signed up a clinic on MediSync with this address, which belongs to a MediSync operator.",
                    "An operator's account cannot own a clinic: sign up again with another address. If it was not you, ignore this email.",
                ]
            } else {
                &[
                    "Someone, probably you, signed up this clinic with this address, which already has a MediSync account.",
                    "To become its owner, open the link and enter your account's password; the link works once, within 72 hours. If it was not you, ignore this email.",
                ]
            };
            let message = crate::mail::branded(
                Some(&public),
                &email,
                "Add your new clinic to your account",
                lines,
                (
                    "Add the clinic to my account",
                    &clinic_link(&format!("/invite?token={token}")),
                ),
            );
            (None, message)
        }
    };
    crate::mail::enqueue(tx.platform(), &message).await?;
    audit::record(
        &mut tx,
        audit::Actor {
            id: actor_id,
            email: Some(email.as_str()),
        },
        "clinic.created",
        Some(&format!("{} ({})", tenant.name, tenant.slug)),
        &meta,
    )
    .await?;
    tx.commit().await?;
    // Every address gets this same answer: the rest happens through the email.
    Ok(crate::forms::landing(SIGN_UP_SENT.to_owned()))
}

/// Where sign-up sends everyone: "check your email".
pub const SIGN_UP_SENT: &str = "/signup/sent";

/// The dashboard's set-up steps, each ticked from the clinic's own data.
#[server(prefix = "/api", endpoint = "onboarding_checklist")]
pub async fn onboarding_checklist() -> Result<Checklist, AppError> {
    use crate::identity::auth;
    let (tenant, viewer) = auth::staff_viewer()?;
    let site = crate::site::current_site();
    let db = auth::db()?;
    let mut platform = db.begin_platform_read().await?;
    let stored = crate::tenancy::db::find_by_id(&mut platform, tenant)
        .await?
        .ok_or(AppError::NotFound)?;
    let email_verified = crate::identity::credentials::by_id(&mut platform, viewer.account_id)
        .await?
        .is_some_and(|c| c.email_verified);
    drop(platform);
    let mut tx = db.begin_for_read(tenant).await?;
    let counts = super::db::counts(&mut tx).await?;
    drop(tx);
    let mut platform = db.begin_platform_read().await?;
    let dismissed = super::db::checklist_dismissed(&mut platform, tenant).await?;
    drop(platform);
    let item = |key: &str, label: &str, done: bool, href: Option<&str>| super::ChecklistItem {
        key: key.into(),
        label: label.into(),
        done,
        href: href.map(|h| site.href(h)),
    };
    Ok(Checklist {
        items: vec![
            item(
                "branding",
                "Set your clinic's logo and colors",
                stored.branding.is_customized(),
                Some("/staff/branding"),
            ),
            item(
                "invite",
                "Invite your staff",
                counts.seats > 1,
                Some("/staff/users"),
            ),
            item(
                "doctor",
                "Add a doctor",
                counts.doctors > 0,
                Some("/staff/users"),
            ),
            item(
                "patient",
                "Add your first patient",
                counts.patients > 0,
                Some("/staff/patients"),
            ),
        ],
        email_verified,
        dismissed,
    })
}

/// Hides the set-up checklist from the dashboard, for the whole clinic.
#[server(prefix = "/api", endpoint = "dismiss_checklist")]
pub async fn dismiss_checklist() -> Result<(), AppError> {
    use crate::identity::auth;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    super::db::dismiss_checklist(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(())
}

/// The dashboard's cards: a real count for each page the viewer may open.
#[server(prefix = "/api", endpoint = "dashboard_counts")]
pub async fn dashboard_counts() -> Result<super::DashboardCounts, AppError> {
    use crate::identity::auth;
    use crate::identity::permissions::Permission as P;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant).await?;
    let (patients, staff, pending, audit) = super::db::dashboard_counts(&mut tx).await?;
    let may = |p: P, n: i64| viewer.can(p).then_some(n);
    let clinic = crate::patients::api::ssr::tenant()?;
    let (today, queue) =
        if viewer.can(P::AppointmentsManage) && clinic.has(crate::plans::Feature::Appointments) {
            let (visits, queue) = today_panel::today(&mut tx, &clinic, &viewer).await?;
            (Some(visits), Some(queue))
        } else {
            (None, None)
        };
    Ok(super::DashboardCounts {
        patients: may(P::PatientsRead, patients),
        active_staff: may(P::UsersManage, staff),
        pending_invitations: may(P::UsersManage, pending),
        audit_events_today: may(P::AuditRead, audit),
        today,
        queue,
    })
}

#[cfg(feature = "ssr")]
mod today_panel {
    use chrono::{Duration, Utc};

    use super::super::TodayVisit;
    use crate::db::TenantTx;
    use crate::error::AppError;
    use crate::identity::{Standing, Viewer};
    use crate::scheduling::{db as sched, queue, slots, AppointmentStatus};
    use crate::tenancy::TenantPublic;

    /// The most visits the panel lists (the calendar has the rest).
    const MOST: usize = 12;

    /// Today's visits and waiting-room queue in the clinic's day: a
    /// practitioner's own; everyone's for the others who book (a doctor who
    /// may not see colleagues' calendars sees only their own).
    pub async fn today(
        tx: &mut TenantTx,
        clinic: &TenantPublic,
        viewer: &Viewer,
    ) -> Result<(Vec<TodayVisit>, Vec<TodayVisit>), AppError> {
        let Standing::Staff { member_id, role } = &viewer.standing else {
            return Ok((Vec::new(), Vec::new()));
        };
        let tz = clinic.settings.tz();
        let day = Utc::now().with_timezone(&tz).date_naive();
        let (from, until) = (
            slots::instant(tz, day, 0),
            slots::instant(tz, day + Duration::days(1), 0),
        );
        let rules = sched::rules(tx).await?;
        let practitioner = crate::scheduling::feed::is_practitioner(tx, *member_id).await?;
        let own_only =
            practitioner || (*role == crate::identity::Role::Doctor && !rules.see_all_calendars);
        let visits = sched::between(tx, None, from, until)
            .await?
            .into_iter()
            .filter(|a| !own_only || a.staff_id == *member_id)
            .filter(|a| a.status != AppointmentStatus::Cancelled.as_str())
            .take(MOST)
            .map(|a| {
                let zone = a.time_zone.parse().unwrap_or(tz);
                let status = a
                    .status
                    .parse::<AppointmentStatus>()
                    .map_or("", AppointmentStatus::label);
                TodayVisit {
                    time: a.starts_at.with_timezone(&zone).format("%H:%M").to_string(),
                    patient: format!("{} {}", a.given_name, a.family_name),
                    what: if own_only {
                        a.type_name.clone()
                    } else {
                        format!("{} · {}", a.type_name, a.practitioner)
                    },
                    status: status.to_owned(),
                }
            })
            .collect();
        let queue = queue::db::day(tx, day, own_only.then_some(*member_id))
            .await?
            .into_iter()
            .flat_map(|line| {
                let who = line.practitioner.clone();
                line.entries
                    .into_iter()
                    .filter(|e| e.state.is_live())
                    .map(move |e| TodayVisit {
                        time: format!("Token {}", e.token),
                        patient: e.patient_name,
                        what: if own_only { String::new() } else { who.clone() },
                        status: e.state.label().to_owned(),
                    })
            })
            .take(MOST)
            .collect();
        Ok((visits, queue))
    }
}

/// Sends a new verification link to the signed-in person.
#[server(prefix = "/api", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::identity::{auth, credentials, secrets};
    let viewer = auth::viewer()?;
    let site = crate::site::current_site();
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    let creds = credentials::by_id(&mut tx, viewer.account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if creds.email_verified {
        return Ok(());
    }
    let (token, digest) = secrets::new_token();
    credentials::issue_token(
        &mut tx,
        viewer.account_id,
        credentials::TokenPurpose::VerifyEmail,
        &digest,
        chrono::Duration::hours(72),
    )
    .await?;
    let meta = auth::request_meta();
    let link = format!(
        "{}{}",
        meta.origin,
        site.href(&format!("/verify-email?token={token}"))
    );
    let message = crate::mail::branded(
        site.tenant.as_ref(),
        &viewer.email,
        "Confirm your email address",
        &["Confirm this address so we can reach you. The link works once, within 72 hours."],
        ("Confirm my email", &link),
    );
    crate::mail::enqueue(&mut tx, &message).await?;
    tx.commit().await?;
    Ok(())
}

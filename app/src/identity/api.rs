//! Server functions of the identity domain. The server checks each one's rule in
//! [`super::access::SERVER_FUNCTIONS`] before it runs; the bodies then work only
//! inside the tenant of the request.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Audience, AuditEntry, MemberStatus, Role};
use crate::error::AppError;

/// Where the browser goes after a step of signing in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SignInStep {
    /// Done: load this path (on this site).
    Go(String),
    /// Ask for a TOTP or recovery code.
    SecondFactor,
    /// Ask whether to sign in as staff or as a patient (the account is both here).
    ChooseDoor,
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use super::super::auth;
    pub use crate::forms::landing;
    pub use crate::site::current_site;
    pub use leptos::prelude::*;

    use crate::error::AppError;
    use crate::tenancy::TenantPublic;

    pub fn tenant() -> Result<TenantPublic, AppError> {
        current_site()
            .tenant
            .ok_or_else(|| AppError::NotFound.respond())
    }

    /// The landing page after signing in through `audience`.
    pub fn home_of(audience: super::Audience) -> &'static str {
        match audience {
            super::Audience::Staff => "/staff",
            super::Audience::Patient => "/portal",
            super::Audience::Platform => "/admin",
        }
    }

    /// An absolute link on this site for an email.
    pub fn link(path: &str) -> String {
        let meta = auth::request_meta();
        format!("{}{}", meta.origin, current_site().href(path))
    }
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    audience: Audience,
    next: Option<String>,
) -> Result<SignInStep, AppError> {
    use ssr::*;
    let site = current_site();
    if (audience == Audience::Platform) != site.tenant.is_none() {
        return Err(AppError::NotFound.respond());
    }
    let db = auth::db()?;
    let (creds, doors) = auth::check_password(&db, &site, &email, &password).await?;
    let session = auth::session().await?;
    // One sign-in per clinic address: the account's doors decide. Someone who is
    // both staff and patient here goes where they were heading, through the
    // portal's own page to the portal, and is asked otherwise.
    let heading = next.as_deref().and_then(area_of);
    let page_door = (audience == Audience::Patient).then_some(Audience::Patient);
    let Some(door) = doors.choose(heading.or(page_door)) else {
        auth::await_door(
            &session,
            creds.account.id,
            site.tenant.as_ref().map(|t| t.id),
            next,
        )
        .await?;
        crate::forms::lands_on(&site.href("/signin?step=door"));
        return Ok(SignInStep::ChooseDoor);
    };
    enter(&db, &site, &session, &creds, door, next.as_deref()).await
}

/// The area of the site a path belongs to, when it belongs to one door.
pub fn area_of(path: &str) -> Option<Audience> {
    if path == "/portal" || path.starts_with("/portal/") {
        Some(Audience::Patient)
    } else if path == "/staff" || path.starts_with("/staff/") {
        Some(Audience::Staff)
    } else if path == "/admin" || path.starts_with("/admin/") {
        Some(Audience::Platform)
    } else {
        None
    }
}

/// Goes through `door` after a right password: the second factor when the
/// account has one, else signed in and on to `next` (when it is behind that door)
/// or the door's home.
#[cfg(feature = "ssr")]
async fn enter(
    db: &crate::db::Db,
    site: &crate::site::SiteInfo,
    session: &tower_sessions::Session,
    creds: &super::credentials::Credentials,
    door: Audience,
    next: Option<&str>,
) -> Result<SignInStep, AppError> {
    use ssr::*;
    let next = next.filter(|n| area_of(n).is_none_or(|area| area == door));
    let next = super::access::safe_next(next, home_of(door));
    match auth::after_password(session, site, door, creds, &next).await? {
        auth::AfterPassword::SecondFactor => {
            crate::forms::lands_on(&site.href(&format!("{}?step=code", sign_in_path(door))));
            Ok(SignInStep::SecondFactor)
        }
        auth::AfterPassword::Complete => {
            auth::audit_event(
                db,
                site.tenant.as_ref().map(|t| t.id),
                super::audit::Actor::account(creds.account.id, creds.account.email.as_str()),
                "sign_in.succeeded",
                Some(door.as_str()),
            )
            .await;
            Ok(SignInStep::Go(landing(site.href(&next))))
        }
    }
}

/// A later step of signing in (second factor, door) that can no longer go on.
#[cfg(feature = "ssr")]
fn sign_in_expired() -> AppError {
    AppError::Invalid("that sign-in has expired; enter your email and password again".into())
        .respond()
}

/// The account a pending sign-in step belongs to, unless it is gone or locked
/// since the password was typed.
#[cfg(feature = "ssr")]
async fn still_unlocked(
    db: &crate::db::Db,
    account_id: uuid::Uuid,
) -> Result<super::credentials::Credentials, AppError> {
    let mut tx = db.begin_platform_read().await?;
    let creds = super::credentials::by_id(&mut tx, account_id)
        .await?
        .ok_or_else(sign_in_expired)?;
    drop(tx);
    if creds
        .locked_until
        .is_some_and(|until| until > chrono::Utc::now())
    {
        return Err(sign_in_expired());
    }
    Ok(creds)
}

/// The second half of signing in for someone with two doors here: the one chosen.
#[server(prefix = "/api", endpoint = "choose_door")]
pub async fn choose_door(door: Audience) -> Result<SignInStep, AppError> {
    use ssr::*;
    let site = current_site();
    let db = auth::db()?;
    let session = auth::session().await?;
    let pending = auth::take_awaiting_door(&session, &site)
        .await?
        .ok_or_else(sign_in_expired)?;
    let creds = still_unlocked(&db, pending.account_id).await?;
    let expired = sign_in_expired;
    // Checked again: a door may have closed since the password was typed.
    if !auth::doors_of(&db, &site, &creds).await?.opens(door) || door == Audience::Platform {
        return Err(expired());
    }
    enter(&db, &site, &session, &creds, door, pending.next.as_deref()).await
}

#[server(prefix = "/api", endpoint = "second_factor")]
pub async fn second_factor(code: String) -> Result<SignInStep, AppError> {
    use ssr::*;
    let site = current_site();
    let db = auth::db()?;
    let session = auth::session().await?;
    let expired = sign_in_expired;
    let pending = auth::awaiting_second_factor(&session, &site)
        .await?
        .ok_or_else(expired)?;
    let creds = still_unlocked(&db, pending.account_id).await?;
    let tenant = site.tenant.as_ref().map(|t| t.id);
    let actor = super::audit::Actor::account(creds.account.id, creds.account.email.as_str());
    if !auth::check_second_factor(&db, &creds, &code).await? {
        // Wrong codes count toward the same lockout as wrong passwords.
        let mut tx = db.begin_platform().await?;
        let locked = super::credentials::record_failure(
            &mut tx,
            creds.account.id,
            auth::LOCK_THRESHOLD,
            chrono::Duration::minutes(auth::LOCK_MINUTES),
        )
        .await?;
        tx.commit().await?;
        auth::audit_event(&db, tenant, actor, "sign_in.second_factor_failed", None).await;
        if locked {
            auth::audit_event(&db, tenant, actor, "account.locked", None).await;
            session.clear().await;
            return Err(expired());
        }
        return Err(AppError::field(
            "code",
            "that code is not valid; try the current one from your app",
        ));
    }
    auth::establish(&session, creds.account.id, pending.audience, tenant).await?;
    auth::audit_event(
        &db,
        tenant,
        actor,
        "sign_in.succeeded",
        Some("with two-factor"),
    )
    .await;
    Ok(SignInStep::Go(landing(site.href(&pending.next))))
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<String, AppError> {
    use ssr::*;
    let site = current_site();
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    session.flush().await.map_err(|_| AppError::Internal)?;
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "sign_out",
        None,
    )
    .await;
    Ok(landing(site.href(sign_in_path(viewer.audience()))))
}

/// The sign-in page for an audience.
pub fn sign_in_path(audience: Audience) -> &'static str {
    match audience {
        Audience::Patient => "/portal/signin",
        _ => "/signin",
    }
}

#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<String, AppError> {
    use ssr::*;
    let site = current_site();
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    session.flush().await.map_err(|_| AppError::Internal)?;
    auth::revoke_all_sessions(&db, viewer.account_id, None).await?;
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "sign_out.all_devices",
        None,
    )
    .await;
    Ok(landing(site.href(sign_in_path(viewer.audience()))))
}

#[server(prefix = "/api", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use ssr::*;
    let started = std::time::Instant::now();
    let result = start_password_reset(email).await;
    // Known and unknown addresses answer in the same time.
    auth::answer_no_sooner_than(started, auth::UNIFORM_ANSWER).await;
    result
}

#[cfg(feature = "ssr")]
async fn start_password_reset(email: String) -> Result<(), AppError> {
    use ssr::*;
    let site = current_site();
    let Ok(email) = super::Email::parse(&email) else {
        return Err(AppError::field(
            "email",
            "enter the email address you registered with",
        ));
    };
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    // The same answer whether or not the account exists.
    if let Some(creds) = super::credentials::by_email(&mut tx, &email).await? {
        let (token, digest) = super::secrets::new_token();
        super::credentials::issue_token(
            &mut tx,
            creds.account.id,
            super::credentials::TokenPurpose::ResetPassword,
            &digest,
            chrono::Duration::hours(1),
        )
        .await?;
        let message = crate::mail::branded(
            site.tenant.as_ref(),
            &email,
            "Reset your password",
            &[
                &format!("Hello {},", creds.account.display_name),
                "Someone asked to reset the password of your account. If it was you, choose a new password with the link below; it works once, within one hour.",
                "If it was not you, ignore this email: your password stays as it is.",
            ],
            ("Choose a new password", &link(&format!("/reset-password?token={token}"))),
        );
        crate::mail::enqueue(&mut tx, &message).await?;
        super::audit::record_platform(
            &mut tx,
            super::audit::Actor::account(creds.account.id, creds.account.email.as_str()),
            "password.reset_requested",
            None,
            &auth::request_meta(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// "Find my clinic" on the platform's site: emails the address the clinics where
/// it can sign in (as staff or as a patient). The screen's answer, and its timing,
/// are the same whether or not the address has any.
#[server(prefix = "/api", endpoint = "find_my_clinic")]
pub async fn find_my_clinic(email: String) -> Result<(), AppError> {
    use ssr::*;
    if current_site().tenant.is_some() {
        return Err(AppError::NotFound.respond());
    }
    let started = std::time::Instant::now();
    let result = email_my_clinics(email).await;
    auth::answer_no_sooner_than(started, auth::UNIFORM_ANSWER).await;
    result
}

#[cfg(feature = "ssr")]
async fn email_my_clinics(email: String) -> Result<(), AppError> {
    use ssr::*;
    let Ok(email) = super::Email::parse(&email) else {
        return Err(
            AppError::field("find_email", "enter the email address you sign in with").respond(),
        );
    };
    let db = auth::db()?;
    let mut tx = db.begin_platform_read().await?;
    let creds = super::credentials::by_email(&mut tx, &email).await?;
    drop(tx);
    let Some(creds) = creds else {
        return Ok(());
    };
    let account = creds.account.id;
    let meta = auth::request_meta();
    let address = |slug: &str| format!("{}://{}/signin", meta.scheme(), meta.clinic_host(slug));
    // Each clinic once, by name and address only: whether the address belongs to
    // a patient or to the team is not written into a mailbox others may read.
    let mut clinics = super::db::staff_tenants_of(&db, account).await?;
    clinics.extend(super::db::portal_tenants_of(&db, account).await?);
    clinics.sort_by(|a, b| a.2.cmp(&b.2));
    clinics.dedup_by(|a, b| a.0 == b.0);
    let lines: Vec<String> = clinics
        .iter()
        .map(|(_, slug, name)| format!("{name}: {}", address(slug)))
        .collect();
    let Some(first) = lines
        .first()
        .and_then(|l| l.rsplit_once(": "))
        .map(|(_, a)| a.to_owned())
    else {
        return Ok(());
    };
    let mut text = vec![
        format!("Hello {},", creds.account.display_name),
        "You asked where you can sign in with this email address. Each clinic signs in at its own address:".to_owned(),
    ];
    text.extend(lines);
    text.push("If you did not ask, ignore this email: nothing has changed.".to_owned());
    let text: Vec<&str> = text.iter().map(String::as_str).collect();
    let message = crate::mail::branded(
        None,
        &email,
        "Your clinics on MediSync",
        &text,
        ("Open your clinic", &first),
    );
    let mut tx = db.begin_platform().await?;
    crate::mail::enqueue(&mut tx, &message).await?;
    super::audit::record_platform(
        &mut tx,
        super::audit::Actor::account(account, creds.account.email.as_str()),
        "account.clinics_emailed",
        None,
        &meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<String, AppError> {
    use ssr::*;
    let site = current_site();
    let password = super::password::NewPassword::parse(&password)
        .map_err(|m| AppError::field("password", m))?;
    let db = auth::db()?;
    let hash = tokio::task::spawn_blocking(move || super::password::hash(&password))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|_| AppError::Internal)?;
    let mut tx = db.begin_platform().await?;
    let account = super::credentials::consume_token(
        &mut tx,
        super::credentials::TokenPurpose::ResetPassword,
        &super::secrets::digest(&token),
    )
    .await?
    .ok_or_else(|| {
        AppError::Invalid("this reset link is invalid or has expired; ask for a new one".into())
            .respond()
    })?;
    super::credentials::set_password_hash(&mut tx, account, &hash).await?;
    super::credentials::mark_email_verified(&mut tx, account).await?;
    // Every session of the account ends, wherever it was.
    super::credentials::revoke_sessions(&mut tx, account, None).await?;
    let email = super::db::find_account(&mut tx, account)
        .await?
        .map(|a| a.email.to_string());
    tx.commit().await?;
    let actor = super::audit::Actor {
        id: Some(account),
        email: email.as_deref(),
    };
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        actor,
        "password.reset",
        None,
    )
    .await;
    Ok(landing(site.href("/signin?reset=1")))
}

/// What an invitation link offers, shown before accepting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub clinic: String,
    pub email: String,
    /// The staff role, or `None` for a patient portal invitation.
    pub role: Option<Role>,
    /// The email already has an account: accepting asks for its password.
    pub existing_account: bool,
}

#[server(prefix = "/api", endpoint = "invitation_details")]
pub async fn invitation_details(token: String) -> Result<InvitationView, AppError> {
    use ssr::*;
    let tenant = tenant()?;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let invitation = super::invitations::find_pending(&mut tx, &super::secrets::digest(&token))
        .await?
        .ok_or_else(invalid_invitation)?;
    drop(tx);
    let mut platform = db.begin_platform_read().await?;
    let existing = super::credentials::by_email(&mut platform, &invitation.email).await?;
    Ok(InvitationView {
        clinic: tenant.name,
        email: invitation.email.to_string(),
        role: match invitation.invited {
            super::invitations::Invited::Staff(role) => Some(role),
            super::invitations::Invited::Patient(_) => None,
        },
        existing_account: existing.is_some_and(|c| c.password_hash.is_some()),
    })
}

#[cfg(feature = "ssr")]
fn invalid_invitation() -> AppError {
    AppError::Invalid(
        "this invitation link is invalid, used or expired; ask the clinic for a new one".into(),
    )
    .respond()
}

#[server(prefix = "/api", endpoint = "accept_invitation")]
pub async fn accept_invitation(
    token: String,
    display_name: Option<String>,
    password: String,
) -> Result<String, AppError> {
    use super::invitations::{self, Invited};
    use ssr::*;
    let site = current_site();
    let tenant = tenant()?;
    let db = auth::db()?;
    let digest = super::secrets::digest(&token);
    let mut tx = db.begin_for_read(tenant.id).await?;
    let invitation = invitations::find_pending(&mut tx, &digest)
        .await?
        .ok_or_else(invalid_invitation)?;
    drop(tx);

    // Find or create the account; an existing one proves itself with its password.
    let mut platform = db.begin_platform().await?;
    let existing = super::credentials::by_email(&mut platform, &invitation.email).await?;
    if existing.as_ref().is_some_and(|c| c.platform_role.is_some()) {
        return Err(AppError::Invalid(
            "this address belongs to a MediSync operator, and an operator's account cannot join a clinic; ask the clinic to invite another address".into(),
        )
        .respond());
    }
    // An account with a second factor proves it too before any session opens.
    let second_factor = existing.as_ref().is_some_and(|c| c.totp_enabled);
    let account = match existing {
        Some(creds) if creds.password_hash.is_some() => {
            drop(platform);
            let creds = auth::check_password_only(&db, &creds, &password).await?;
            platform = db.begin_platform().await?;
            creds.account
        }
        existing => {
            let name = crate::text::plain_name(&display_name.unwrap_or_default(), 1, 120)
                .map_err(|m| AppError::field("display_name", format!("your name: {m}")))?;
            let name = name.as_str();
            let new = super::password::NewPassword::parse(&password)
                .map_err(|m| AppError::field("password", m))?;
            let hash = tokio::task::spawn_blocking(move || super::password::hash(&new))
                .await
                .map_err(|_| AppError::Internal)?
                .map_err(|_| AppError::Internal)?;
            let account = match existing {
                Some(c) => c.account,
                None => super::db::create_account(&mut platform, &invitation.email, name).await?,
            };
            super::credentials::set_password_hash(&mut platform, account.id, &hash).await?;
            account
        }
    };
    // The link arrived by email: the address is proven.
    super::credentials::mark_email_verified(&mut platform, account.id).await?;
    platform.commit().await?;

    let mut tx = db.begin_for(tenant.id).await?;
    if !invitations::mark_accepted(&mut tx, invitation.id).await? {
        return Err(invalid_invitation());
    }
    let audience = match &invitation.invited {
        Invited::Staff(role) => {
            if let Err(limit) = crate::plans::db::ensure_member_room(&mut tx).await? {
                return Err(AppError::Upgrade(limit.0).respond());
            }
            super::db::upsert_staff(&mut tx, &account, *role).await?;
            Audience::Staff
        }
        Invited::Patient(patient) => {
            crate::patients::db::link_account(&mut tx, *patient, account.id).await?;
            Audience::Patient
        }
    };
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(account.id, account.email.as_str()),
        "invitation.accepted",
        Some(&match &invitation.invited {
            Invited::Staff(role) => format!("staff as {role}"),
            Invited::Patient(_) => "patient portal".to_owned(),
        }),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;

    if second_factor {
        // A password alone never opens a session for an account with a second
        // factor: it signs in the usual way, code included.
        return Ok(landing(site.href(&format!(
            "{}?next={}",
            sign_in_path(audience),
            home_of(audience)
        ))));
    }
    let session = auth::session().await?;
    auth::establish(&session, account.id, audience, Some(tenant.id)).await?;
    Ok(landing(site.href(home_of(audience))))
}

/// Proves the address behind an emailed link (a POST from the page's button, so a
/// mail scanner opening the link uses nothing). A password waiting from sign-up
/// becomes the account's. On a clinic's site, a staff member of it without a
/// second factor is signed in and sent on (`Some(path)`); anyone else signs in
/// as usual.
#[server(prefix = "/api", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<Option<String>, AppError> {
    use ssr::*;
    let site = current_site();
    let db = auth::db()?;
    let mut tx = db.begin_platform().await?;
    let account = super::credentials::consume_token(
        &mut tx,
        super::credentials::TokenPurpose::VerifyEmail,
        &super::secrets::digest(&token),
    )
    .await?
    .ok_or_else(|| {
        AppError::Invalid("this link is invalid, used or expired; sign in, or sign up again".into())
            .respond()
    })?;
    super::credentials::promote_pending_password(&mut tx, account).await?;
    super::credentials::mark_email_verified(&mut tx, account).await?;
    let creds = super::credentials::by_id(&mut tx, account)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let Some(tenant) = site.tenant.as_ref() else {
        return Ok(None);
    };
    if creds.totp_enabled || !auth::is_staff_here(&db, &site, &creds).await? {
        return Ok(None);
    }
    let session = auth::session().await?;
    auth::establish(&session, account, Audience::Staff, Some(tenant.id)).await?;
    auth::audit_event(
        &db,
        Some(tenant.id),
        super::audit::Actor::account(account, creds.account.email.as_str()),
        "sign_in.succeeded",
        Some("email link"),
    )
    .await;
    Ok(Some(landing(site.href("/staff?welcome=1"))))
}

/// The viewer's own security settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecuritySummary {
    pub email: String,
    pub totp_enabled: bool,
    pub two_factor_required: bool,
}

#[server(prefix = "/api", endpoint = "security_overview")]
pub async fn security_overview() -> Result<SecuritySummary, AppError> {
    use ssr::*;
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let required = auth::two_factor_required(&db, &current_site(), viewer.audience()).await?;
    Ok(SecuritySummary {
        email: viewer.email.to_string(),
        totp_enabled: viewer.totp_enabled,
        two_factor_required: required,
    })
}

#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(current_password: String, password: String) -> Result<(), AppError> {
    use ssr::*;
    let site = current_site();
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    let new = super::password::NewPassword::parse(&password)
        .map_err(|m| AppError::field("password", m))?;
    confirm_password(&db, &session, viewer.account_id, &current_password).await?;
    let hash = tokio::task::spawn_blocking(move || super::password::hash(&new))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|_| AppError::Internal)?;
    let mut tx = db.begin_platform().await?;
    super::credentials::set_password_hash(&mut tx, viewer.account_id, &hash).await?;
    tx.commit().await?;
    // Every stored session of the account ends; this device continues under a new
    // id, written when this response is sent (after the revocation).
    auth::revoke_all_sessions(&db, viewer.account_id, None).await?;
    session.cycle_id().await.map_err(|_| AppError::Internal)?;
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "password.changed",
        None,
    )
    .await;
    Ok(())
}

/// A TOTP secret to add to an authenticator app, as a QR code and as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret: String,
    pub qr_svg: String,
}

#[server(prefix = "/api", endpoint = "start_totp")]
pub async fn start_totp(current_password: String) -> Result<TotpSetup, AppError> {
    use ssr::*;
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    confirm_password(&db, &session, viewer.account_id, &current_password).await?;
    let secret = super::totp::new_secret();
    let issuer = current_site()
        .tenant
        .map_or_else(|| "MediSync".to_owned(), |t| t.name);
    let uri = super::totp::provisioning_uri(&secret, &issuer, viewer.email.as_str());
    let qr_svg = super::totp::qr_svg(&uri).ok_or(AppError::Internal)?;
    let mut tx = db.begin_platform().await?;
    super::credentials::stage_totp(&mut tx, viewer.account_id, &secret).await?;
    tx.commit().await?;
    Ok(TotpSetup { secret, qr_svg })
}

/// Re-authentication: the current password, typed now, or within the last minutes.
#[cfg(feature = "ssr")]
async fn confirm_password(
    db: &crate::db::Db,
    session: &tower_sessions::Session,
    account: Uuid,
    typed: &str,
) -> Result<(), AppError> {
    use super::auth;
    if typed.is_empty() {
        auth::require_recent_password(session).await?;
        return Ok(());
    }
    let mut tx = db.begin_platform_read().await?;
    let creds = super::credentials::by_id(&mut tx, account)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    drop(tx);
    auth::check_password_only(db, &creds, typed)
        .await
        .map_err(|_| AppError::field("current_password", "that is not your current password"))?;
    auth::mark_reauthenticated(session).await
}

#[server(prefix = "/api", endpoint = "confirm_totp")]
pub async fn confirm_totp(code: String) -> Result<Vec<String>, AppError> {
    use ssr::*;
    let site = current_site();
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    auth::require_recent_password(&session).await?;
    let mut tx = db.begin_platform().await?;
    let creds = super::credentials::by_id(&mut tx, viewer.account_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let secret = creds
        .totp_secret
        .ok_or_else(|| AppError::Invalid("start the set-up again".into()).respond())?;
    let step = super::totp::verify(&secret, &code, chrono::Utc::now().timestamp());
    let fresh = match step {
        Some(step) => super::credentials::claim_totp_step(&mut tx, viewer.account_id, step).await?,
        None => false,
    };
    if !fresh {
        return Err(AppError::field(
            "code",
            "that code does not match; check your device's clock and try the current code",
        ));
    }
    super::credentials::enable_totp(&mut tx, viewer.account_id).await?;
    let codes = super::secrets::new_recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| super::secrets::digest(c)).collect();
    super::credentials::replace_recovery_codes(&mut tx, viewer.account_id, &digests).await?;
    tx.commit().await?;
    // A new privilege level: a new session id.
    session.cycle_id().await.map_err(|_| AppError::Internal)?;
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "two_factor.enabled",
        None,
    )
    .await;
    Ok(codes)
}

#[server(prefix = "/api", endpoint = "disable_totp")]
pub async fn disable_totp(current_password: String) -> Result<(), AppError> {
    use ssr::*;
    let site = current_site();
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let session = auth::session().await?;
    if auth::two_factor_required(&db, &site, viewer.audience()).await? {
        return Err(AppError::Invalid(
            "two-factor sign-in is required here and cannot be turned off".into(),
        )
        .respond());
    }
    confirm_password(&db, &session, viewer.account_id, &current_password).await?;
    let mut tx = db.begin_platform().await?;
    super::credentials::disable_totp(&mut tx, viewer.account_id).await?;
    tx.commit().await?;
    auth::audit_event(
        &db,
        site.tenant.as_ref().map(|t| t.id),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "two_factor.removed",
        None,
    )
    .await;
    Ok(())
}

/// Another clinic the viewer works at, for the switcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicLink {
    pub name: String,
    pub href: String,
    pub current: bool,
}

#[server(prefix = "/api", endpoint = "my_clinics")]
pub async fn my_clinics() -> Result<Vec<ClinicLink>, AppError> {
    use ssr::*;
    let viewer = auth::viewer()?;
    let db = auth::db()?;
    let current = current_site().tenant.map(|t| t.id.into_uuid());
    let meta = auth::request_meta();
    Ok(super::db::staff_tenants_of(&db, viewer.account_id)
        .await?
        .into_iter()
        .map(|(id, slug, name)| ClinicLink {
            name,
            href: format!("{}://{}/staff", meta.scheme(), meta.clinic_host(&slug)),
            current: Some(id) == current,
        })
        .collect())
}

/// A staff member as the users page lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffListing {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub status: MemberStatus,
}

#[server(prefix = "/api", endpoint = "list_staff")]
pub async fn list_staff() -> Result<Vec<StaffListing>, AppError> {
    use ssr::*;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant).await?;
    let members = super::db::list_staff(&mut tx).await?;
    drop(tx);
    let mut platform = db.begin_platform_read().await?;
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let email = super::db::find_account(&mut platform, m.account_id)
            .await?
            .map(|a| a.email.to_string())
            .unwrap_or_default();
        out.push(StaffListing {
            id: m.id,
            display_name: m.display_name,
            email,
            role: m.role,
            status: m.status,
        });
    }
    Ok(out)
}

/// Only an owner may hand out or take away the owner role.
#[cfg(feature = "ssr")]
fn may_assign(viewer: &super::Viewer, role: Role) -> Result<(), AppError> {
    if role == Role::Owner && viewer.role() != Some(Role::Owner) {
        return Err(AppError::field(
            "role",
            "only an owner can make someone an owner",
        ));
    }
    Ok(())
}

#[server(prefix = "/api", endpoint = "invite_staff")]
pub async fn invite_staff(email: String, role: Role) -> Result<(), AppError> {
    use ssr::*;
    let (tenant_id, viewer) = auth::staff_viewer()?;
    let tenant = tenant()?;
    let email = super::Email::parse(&email).map_err(|m| AppError::field("email", m))?;
    may_assign(&viewer, role)?;
    let db = auth::db()?;
    let (token, digest) = super::secrets::new_token();
    let existing = {
        let mut platform = db.begin_platform_read().await?;
        super::db::find_account_by_email(&mut platform, &email).await?
    };
    let mut tx = db.begin_for(tenant_id).await?;
    // Someone already here, or already invited, is not invited again.
    if let Some(account) = &existing {
        if let Some(member) = super::db::staff_by_account(&mut tx, account.id).await? {
            let message = match member.status {
                super::MemberStatus::Active => format!(
                    "{email} is already on the staff as {}; change their role in the list below",
                    role_label(member.role)
                ),
                _ => format!("{email} was deactivated; reactivate them in the list below"),
            };
            return Err(AppError::field("email", message).respond());
        }
    }
    if super::invitations::staff_invitation_pending(&mut tx, &email).await? {
        return Err(AppError::field(
            "email",
            format!("{email} is already invited; send the invitation again from the list of pending invitations"),
        )
        .respond());
    }
    // Every invitation holds a seat until it is answered or expires.
    if let Err(limit) =
        crate::plans::db::ensure_room(&mut tx, crate::plans::LimitKind::Users, 1).await?
    {
        return Err(AppError::Upgrade(limit.0).respond());
    }
    super::invitations::create(
        &mut tx,
        &email,
        &super::invitations::Invited::Staff(role),
        &digest,
        viewer.account_id,
    )
    .await?;
    let message = staff_invitation_mail(&tenant, &viewer, &email, role, &token);
    crate::mail::enqueue(tx.platform(), &message).await?;
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "invitation.sent",
        Some(&format!("{email} as {role}")),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(feature = "ssr")]
fn staff_invitation_mail(
    tenant: &crate::tenancy::TenantPublic,
    viewer: &super::Viewer,
    email: &super::Email,
    role: Role,
    token: &str,
) -> crate::mail::Message {
    crate::mail::branded(
        Some(tenant),
        email,
        "You are invited",
        &[
            &format!(
                "{} invited you to join {} on MediSync as {}.",
                viewer.display_name,
                tenant.name,
                role_label(role)
            ),
            "The link works once, within 72 hours.",
        ],
        (
            "Accept the invitation",
            &ssr::link(&format!("/invite?token={token}")),
        ),
    )
}

/// A staff invitation waiting for its answer, as the Users page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// When the link stops working, in the clinic's time zone and format.
    pub expires: String,
}

#[server(prefix = "/api", endpoint = "list_staff_invitations")]
pub async fn list_staff_invitations() -> Result<Vec<PendingInvitation>, AppError> {
    use ssr::*;
    let (tenant, _) = auth::staff_viewer()?;
    let settings = ssr::tenant()?.settings;
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant).await?;
    let pending = super::invitations::pending_staff(&mut tx).await?;
    Ok(pending
        .into_iter()
        .filter_map(|i| match i.invited {
            super::invitations::Invited::Staff(role) => Some(PendingInvitation {
                id: i.id,
                email: i.email.to_string(),
                role,
                expires: settings.format_datetime(i.expires_at),
            }),
            super::invitations::Invited::Patient(_) => None,
        })
        .collect())
}

/// What can be done with a pending staff invitation from the Users page.
#[server(prefix = "/api", endpoint = "manage_staff_invitation")]
pub async fn manage_staff_invitation(id: Uuid, action: String) -> Result<(), AppError> {
    match action.as_str() {
        "resend" => resend_staff_invitation(id).await,
        "withdraw" => revoke_staff_invitation(id).await,
        _ => Err(AppError::Invalid(
            "choose to send the invitation again or to withdraw it".into(),
        )),
    }
}

/// Sends a pending staff invitation again, with a new link and 72 more hours.
#[cfg(feature = "ssr")]
async fn resend_staff_invitation(id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let (tenant_id, viewer) = auth::staff_viewer()?;
    let tenant = tenant()?;
    let db = auth::db()?;
    let mut tx = db.begin_for(tenant_id).await?;
    let invitation = super::invitations::find_pending_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| gone_invitation().respond())?;
    let super::invitations::Invited::Staff(role) = invitation.invited else {
        return Err(AppError::NotFound.respond());
    };
    may_assign(&viewer, role)?;
    let (token, digest) = super::secrets::new_token();
    if !super::invitations::renew(&mut tx, id, &digest).await? {
        return Err(gone_invitation().respond());
    }
    let message = staff_invitation_mail(&tenant, &viewer, &invitation.email, role, &token);
    crate::mail::enqueue(tx.platform(), &message).await?;
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "invitation.resent",
        Some(&format!("{} as {role}", invitation.email)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Withdraws a pending staff invitation: its link stops working, its seat is free.
#[cfg(feature = "ssr")]
async fn revoke_staff_invitation(id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let (tenant_id, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut tx = db.begin_for(tenant_id).await?;
    let invitation = super::invitations::find_pending_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| gone_invitation().respond())?;
    let super::invitations::Invited::Staff(role) = invitation.invited else {
        return Err(AppError::NotFound.respond());
    };
    may_assign(&viewer, role)?;
    if !super::invitations::revoke(&mut tx, id).await? {
        return Err(gone_invitation().respond());
    }
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "invitation.revoked",
        Some(&format!("{} as {role}", invitation.email)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(feature = "ssr")]
fn gone_invitation() -> AppError {
    AppError::Invalid(
        "this invitation was already answered, withdrawn or has expired; reload the list".into(),
    )
}

/// A role as people say it.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "administrator",
        Role::Manager => "manager",
        Role::Doctor => "doctor",
        Role::Nurse => "nurse",
        Role::Receptionist => "receptionist",
        Role::Billing => "billing",
        Role::LabTechnician => "lab technician",
        Role::Pharmacist => "pharmacist",
    }
}

#[cfg(feature = "ssr")]
async fn member_for_change(
    db: &crate::db::Db,
    tenant: crate::tenancy::TenantId,
    viewer: &super::Viewer,
    member_id: Uuid,
) -> Result<super::StaffMember, AppError> {
    let mut tx = db.begin_for_read(tenant).await?;
    let member = super::db::find_staff(&mut tx, member_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    if member.account_id == viewer.account_id {
        return Err(AppError::Invalid(
            "you cannot change your own role or deactivate yourself".into(),
        )
        .respond());
    }
    may_assign(viewer, member.role)?;
    Ok(member)
}

#[server(prefix = "/api", endpoint = "change_staff_role")]
pub async fn change_staff_role(member_id: Uuid, role: Role) -> Result<(), AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    may_assign(&viewer, role)?;
    let db = auth::db()?;
    let member = member_for_change(&db, tenant, &viewer, member_id).await?;
    let mut tx = db.begin_for(tenant).await?;
    super::db::set_staff_role(&mut tx, member.id, role).await?;
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "member.role_changed",
        Some(&format!(
            "{}: {} → {}",
            member.display_name, member.role, role
        )),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    // Their open sessions here end; the next sign-in carries the new role. Their
    // sessions at other clinics are those clinics' business.
    auth::revoke_tenant_sessions(&db, member.account_id, tenant).await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "deactivate_staff")]
pub async fn deactivate_staff(member_id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let member = member_for_change(&db, tenant, &viewer, member_id).await?;
    let mut tx = db.begin_for(tenant).await?;
    super::db::set_staff_status(&mut tx, member.id, MemberStatus::Deactivated).await?;
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "member.deactivated",
        Some(&member.display_name),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    auth::revoke_tenant_sessions(&db, member.account_id, tenant).await?;
    Ok(())
}

/// Deactivates a member (`active` = "false") or gives a deactivated member their
/// access back (`active` = "true", a seat of the plan again): one action for
/// the Users page's two buttons.
#[server(prefix = "/api", endpoint = "set_staff_active")]
pub async fn set_staff_active(member_id: Uuid, active: String) -> Result<(), AppError> {
    match active.as_str() {
        "true" => reactivate_staff(member_id).await,
        "false" => deactivate_staff(member_id).await,
        _ => Err(AppError::Invalid(
            "choose to deactivate or to reactivate".into(),
        )),
    }
}

/// Gives a deactivated member their access back (a seat of the plan again).
#[cfg(feature = "ssr")]
async fn reactivate_staff(member_id: Uuid) -> Result<(), AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let member = member_for_change(&db, tenant, &viewer, member_id).await?;
    if member.status == MemberStatus::Active {
        return Ok(());
    }
    let mut tx = db.begin_for(tenant).await?;
    if let Err(limit) =
        crate::plans::db::ensure_room(&mut tx, crate::plans::LimitKind::Users, 1).await?
    {
        return Err(AppError::Upgrade(limit.0).respond());
    }
    super::db::set_staff_status(&mut tx, member.id, MemberStatus::Active).await?;
    super::audit::record(
        &mut tx,
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "member.reactivated",
        Some(&member.display_name),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "set_security_policy")]
pub async fn set_security_policy(
    require_staff_2fa: Option<String>,
    idle_minutes: Option<String>,
    doctors_see_own_patients: Option<String>,
) -> Result<(), AppError> {
    use ssr::*;
    let (tenant, viewer) = auth::staff_viewer()?;
    let idle = match idle_minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|m| (1..=720).contains(m))
                .ok_or_else(|| {
                    AppError::field("idle_minutes", "enter a number of minutes from 1 to 720")
                })?,
        ),
    };
    let policy = crate::tenancy::SecurityPolicy {
        require_staff_2fa: require_staff_2fa.is_some_and(|v| v == "on" || v == "true"),
        staff_idle_minutes: idle,
        doctors_see_own_patients: doctors_see_own_patients
            .is_some_and(|v| v == "on" || v == "true"),
    };
    let db = auth::db()?;
    let mut platform = db.begin_platform().await?;
    crate::tenancy::db::set_security_policy(&mut platform, tenant, policy).await?;
    platform.commit().await?;
    auth::audit_event(
        &db,
        Some(tenant),
        super::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "settings.security_changed",
        Some(&format!(
            "two-factor required: {}, idle minutes: {}, doctors see own patients only: {}",
            policy.require_staff_2fa,
            idle.map_or("default".into(), |m| m.to_string()),
            policy.doctors_see_own_patients
        )),
    )
    .await;
    Ok(())
}

/// The clinic's current sign-in and visibility policy, for its settings page.
#[server(prefix = "/api", endpoint = "clinic_security_policy")]
pub async fn clinic_security_policy() -> Result<crate::tenancy::SecurityPolicy, AppError> {
    use ssr::*;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut platform = db.begin_platform().await?;
    let policy = crate::tenancy::db::security_policy(&mut platform, tenant).await?;
    platform.commit().await?;
    Ok(policy)
}

#[server(prefix = "/api", endpoint = "list_audit")]
pub async fn list_audit(
    action: Option<String>,
    actor: Option<String>,
) -> Result<Vec<AuditEntry>, AppError> {
    use ssr::*;
    let (tenant, _) = auth::staff_viewer()?;
    let action = crate::text::search_text("action", action).map_err(AppError::respond)?;
    let actor = crate::text::search_text("actor", actor).map_err(AppError::respond)?;
    let db = auth::db()?;
    let settings = ssr::tenant()?.settings;
    let mut tx = db.begin_for_read(tenant).await?;
    let mut entries = super::audit::list(&mut tx, action.as_deref(), actor.as_deref(), 200).await?;
    for entry in &mut entries {
        entry.when = settings.format_datetime(entry.occurred_at);
    }
    Ok(entries)
}

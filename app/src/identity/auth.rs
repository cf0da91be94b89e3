//! Server-side authentication: who the viewer of a request is, and the sign-in
//! steps the server functions are built from. Every failure a stranger could probe
//! gives the same answer.

use chrono::{Duration, Utc};
use leptos::prelude::*;
use tower_sessions::Session;
use uuid::Uuid;

use super::audit::{self, Actor, RequestMeta};
use super::credentials::{self, Credentials};
use super::permissions::PlatformRole;
use super::sessions::{
    AwaitingDoor, AwaitingSecondFactor, SignedIn, Stale, AWAITING_DOOR, AWAITING_SECOND_FACTOR,
    SIGNED_IN,
};
use super::{db as staff_db, Audience, Email, Standing, Viewer};
use crate::db::{Db, DbError};
use crate::error::AppError;
use crate::site::{current_site, SiteInfo};
use crate::tenancy::{self, TenantId};

/// Failed attempts in a row before an account is locked.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// A second factor must follow the password within this time.
const SECOND_FACTOR_MINUTES: i64 = 5;
/// Changing password or two-factor needs the password typed this recently.
pub const REAUTH_MINUTES: i64 = 10;

/// The one answer to every failed sign-in, whatever failed.
pub const SIGN_IN_FAILED: &str = "We could not sign you in with that email and password. \
     After 5 failed attempts an account is locked for 15 minutes.";

/// Session limits, from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
    /// Development mode: the dev mailbox is on.
    pub development: bool,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(12),
            development: false,
        }
    }
}

// ----------------------------------------------------------- request context --

pub fn db() -> Result<Db, AppError> {
    use_context::<Db>().ok_or_else(|| {
        tracing::error!("no database in context");
        AppError::Internal
    })
}

pub fn request_meta() -> RequestMeta {
    use_context::<RequestMeta>().unwrap_or_default()
}

pub fn limits() -> SessionLimits {
    use_context::<SessionLimits>().unwrap_or_default()
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer");
        AppError::Internal
    })
}

/// The signed-in viewer, already checked against this site by the server.
pub fn viewer() -> Result<Viewer, AppError> {
    current_site()
        .viewer
        .ok_or_else(|| AppError::Unauthenticated.respond())
}

/// The tenant of this request and a staff viewer of it.
pub fn staff_viewer() -> Result<(TenantId, Viewer), AppError> {
    let site = current_site();
    match (site.tenant, site.viewer) {
        (Some(t), Some(v)) if matches!(v.standing, Standing::Staff { .. }) => Ok((t.id, v)),
        (_, None) => Err(AppError::Unauthenticated.respond()),
        _ => Err(AppError::Forbidden.respond()),
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "session error");
    AppError::Internal
}

// --------------------------------------------------------- viewer resolution --

/// Who a stored sign-in is on `site`, or `None` when it does not count here: another
/// tenant's session, a membership since removed, a locked-out platform account.
pub async fn resolve_viewer(
    db: &Db,
    site: &SiteInfo,
    signed_in: &SignedIn,
) -> Result<Option<Viewer>, DbError> {
    let site_tenant = site.tenant.as_ref().map(|t| t.id);
    if let (Some(grant), Some(tenant)) = (&signed_in.support, site_tenant) {
        if grant.tenant == tenant && signed_in.audience == Audience::Platform {
            return support_viewer(db, signed_in, grant).await;
        }
    }
    if signed_in.tenant != site_tenant {
        return Ok(None);
    }
    // One read transaction: the account (without its secrets) and its standing here.
    let (principal, standing) = match (signed_in.audience, site_tenant) {
        (Audience::Platform, None) => {
            let mut platform = db.begin_platform_read().await?;
            let principal = credentials::principal(&mut platform, signed_in.account_id).await?;
            let standing = principal
                .as_ref()
                .and_then(|p| p.platform_role)
                .map(|role| Standing::Platform { role });
            (principal, standing)
        }
        (Audience::Staff, Some(tenant)) => {
            let mut tx = db.begin_for_read(tenant).await?;
            let principal = credentials::principal(tx.platform(), signed_in.account_id).await?;
            let standing = staff_db::active_staff_by_account(&mut tx, signed_in.account_id)
                .await?
                .map(|m| Standing::Staff {
                    member_id: m.id,
                    role: m.role,
                });
            (principal, standing)
        }
        (Audience::Patient, Some(tenant)) => {
            let mut tx = db.begin_for_read(tenant).await?;
            let principal = credentials::principal(tx.platform(), signed_in.account_id).await?;
            let standing = crate::patients::db::find_by_account(&mut tx, signed_in.account_id)
                .await?
                .map(|p| Standing::Patient { patient_id: p.id });
            (principal, standing)
        }
        _ => (None, None),
    };
    let (Some(principal), Some(standing)) = (principal, standing) else {
        return Ok(None);
    };
    let billing = matches!(standing, Standing::Staff { .. })
        .then(|| billing_notice(site))
        .flatten();
    Ok(Some(Viewer {
        account_id: principal.account.id,
        email: principal.account.email,
        display_name: principal.account.display_name,
        standing,
        totp_enabled: principal.totp_enabled,
        must_set_up_two_factor: false,
        support: None,
        billing,
    }))
}

/// The arrears banner's facts for staff of `site`'s clinic, if it is in arrears.
fn billing_notice(site: &SiteInfo) -> Option<super::BillingNotice> {
    let tenant = site.tenant.as_ref()?;
    tenant.payment_failed_at?;
    Some(super::BillingNotice {
        read_only: tenant.read_only_at(chrono::Utc::now()),
        read_only_on: tenant
            .read_only_from
            .map(|at| tenant.settings.format_date(at)),
    })
}

/// An operator inside a clinic through a support session that is still open:
/// acting as an administrator, with the banner's details.
async fn support_viewer(
    db: &Db,
    signed_in: &SignedIn,
    grant: &super::sessions::SupportGrant,
) -> Result<Option<Viewer>, DbError> {
    let mut platform = db.begin_platform_read().await?;
    let Some(creds) = credentials::by_id(&mut platform, signed_in.account_id).await? else {
        return Ok(None);
    };
    drop(platform);
    if !creds
        .platform_role
        .is_some_and(|r| r.can(super::permissions::PlatformPermission::Impersonate))
    {
        return Ok(None);
    }
    let mut tx = db.begin_for_read(grant.tenant).await?;
    let Some(open) =
        crate::platform::db::open_impersonation(&mut tx, grant.impersonation_id).await?
    else {
        return Ok(None);
    };
    Ok(Some(Viewer {
        account_id: creds.account.id,
        email: creds.account.email.clone(),
        display_name: creds.account.display_name.clone(),
        standing: Standing::Staff {
            member_id: Uuid::nil(),
            role: super::SUPPORT_ROLE,
        },
        totp_enabled: creds.totp_enabled,
        must_set_up_two_factor: false,
        support: Some(super::SupportAccess {
            operator_email: creds.account.email.to_string(),
            reason: open.reason,
            expires_at: open.expires_at,
        }),
        billing: None,
    }))
}

/// What a stored sign-in must obey on its site.
#[derive(Debug, Clone, Copy)]
pub struct SessionRules {
    /// The tenant's own idle limit for staff, else the platform's.
    pub idle: Duration,
    /// Staff of a clinic that requires it, and platform operators always.
    pub two_factor_required: bool,
}

/// The rules of a sign-in under its tenant's `policy` (staff sign-ins), else the
/// platform's.
pub fn rules_under(
    signed_in: &SignedIn,
    policy: Option<tenancy::SecurityPolicy>,
    limits: SessionLimits,
) -> SessionRules {
    match (signed_in.audience, policy) {
        (Audience::Staff, Some(policy)) => SessionRules {
            idle: policy
                .staff_idle_minutes
                .map_or(limits.idle, Duration::minutes),
            two_factor_required: policy.require_staff_2fa,
        },
        (audience, _) => SessionRules {
            idle: limits.idle,
            two_factor_required: audience == Audience::Platform,
        },
    }
}

/// Checks a stored sign-in's age at `now`.
pub fn check_fresh(
    signed_in: &SignedIn,
    idle: Duration,
    limits: SessionLimits,
) -> Result<(), Stale> {
    signed_in.freshness(Utc::now(), idle, limits.absolute)
}

// ------------------------------------------------------------------ sign-in --

/// Records an event on the tenant's trail, or the platform's when `tenant` is
/// `None`. Failures to record are logged, never shown: the action itself stands.
pub async fn audit_event(
    db: &Db,
    tenant: Option<TenantId>,
    actor: Actor<'_>,
    action: &str,
    target: Option<&str>,
) {
    let meta = request_meta();
    let result = async {
        match tenant {
            Some(t) => {
                let mut tx = db.begin_for(t).await?;
                audit::record(&mut tx, actor, action, target, &meta).await?;
                tx.commit().await
            }
            None => {
                let mut tx = db.begin_platform().await?;
                audit::record_platform(&mut tx, actor, action, target, &meta).await?;
                tx.commit().await
            }
        }
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, action, "could not write audit event");
    }
}

/// Where a sign-in stands after the password.
#[derive(Debug)]
pub enum AfterPassword {
    /// Signed in. `must_enroll`: two-factor is required and not yet set up.
    Complete,
    SecondFactor,
}

fn wrong() -> AppError {
    AppError::Invalid(SIGN_IN_FAILED.into()).respond()
}

/// Checks the password and which doors into this site the account has; counts
/// failures toward the lockout. Every refusal of a wrong email or password looks
/// the same; a right password without any door here is told so plainly.
pub async fn check_password(
    db: &Db,
    site: &SiteInfo,
    email: &str,
    password: &str,
) -> Result<(Credentials, Doors), AppError> {
    let started = std::time::Instant::now();
    let result = check_password_inner(db, site, email, password).await;
    if result.is_err() {
        answer_no_sooner_than(started, UNIFORM_ANSWER).await;
    }
    result
}

/// The time every failed sign-in and every password-reset request takes, at
/// least: unknown email, wrong password, locked account and "no access here"
/// all answer alike, so timing tells nothing about which accounts exist.
pub const UNIFORM_ANSWER: std::time::Duration = std::time::Duration::from_millis(300);

/// Waits until `floor` has passed since `started` (at once if it has).
pub async fn answer_no_sooner_than(started: std::time::Instant, floor: std::time::Duration) {
    if let Some(rest) = floor.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

async fn check_password_inner(
    db: &Db,
    site: &SiteInfo,
    email: &str,
    password: &str,
) -> Result<(Credentials, Doors), AppError> {
    let tenant = site.tenant.as_ref().map(|t| t.id);
    let Ok(email) = Email::parse(email) else {
        return Err(
            AppError::Invalid("enter the email address you registered with".into()).respond(),
        );
    };
    let fail = |action: &'static str| {
        let email = email.clone();
        async move {
            audit_event(
                db,
                tenant,
                Actor {
                    id: None,
                    email: Some(email.as_str()),
                },
                action,
                None,
            )
            .await;
            wrong()
        }
    };
    let mut tx = db.begin_platform_read().await?;
    let creds = credentials::by_email(&mut tx, &email).await?;
    drop(tx);
    let Some(creds) = creds else {
        let typed = password.to_owned();
        let _ =
            tokio::task::spawn_blocking(move || super::password::verify_against_nothing(&typed))
                .await;
        return Err(fail("sign_in.failed").await);
    };
    let actor = Actor::account(creds.account.id, creds.account.email.as_str());
    let creds = match check_password_only(db, &creds, password).await {
        Ok(c) => c,
        Err(e) => {
            audit_event(db, tenant, actor, "sign_in.failed", None).await;
            return Err(e);
        }
    };
    let doors = doors_of(db, site, &creds).await?;
    if doors.is_empty() {
        audit_event(db, tenant, actor, "sign_in.failed", Some("no access here")).await;
        // The password was right: say plainly why this door stays shut.
        return Err(no_access_here(site));
    }
    let mut tx = db.begin_platform().await?;
    credentials::clear_failures(&mut tx, creds.account.id).await?;
    tx.commit().await?;
    Ok((creds, doors))
}

/// Which doors into this site an account has: on a clinic's address, staff and
/// patient (either, both or neither); on the platform's, the operators' console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Doors {
    pub staff: bool,
    pub patient: bool,
    pub platform: bool,
}

impl Doors {
    pub fn is_empty(self) -> bool {
        !(self.staff || self.patient || self.platform)
    }

    /// The door to go through, or `None` when the person must choose: only one
    /// is open, or `hint` (the sign-in page used, or where they were going) names
    /// one of several.
    pub fn choose(self, hint: Option<Audience>) -> Option<Audience> {
        if self.platform {
            return Some(Audience::Platform);
        }
        match (self.staff, self.patient, hint) {
            (true, false, _) => Some(Audience::Staff),
            (false, true, _) => Some(Audience::Patient),
            (true, true, Some(h)) if h != Audience::Platform => Some(h),
            _ => None,
        }
    }

    pub fn opens(self, audience: Audience) -> bool {
        match audience {
            Audience::Staff => self.staff,
            Audience::Patient => self.patient,
            Audience::Platform => self.platform,
        }
    }
}

/// The doors `creds` has into `site`.
pub async fn doors_of(db: &Db, site: &SiteInfo, creds: &Credentials) -> Result<Doors, AppError> {
    Ok(if site.tenant.is_some() {
        Doors {
            staff: may_enter(db, site, Audience::Staff, creds).await?,
            patient: may_enter(db, site, Audience::Patient, creds).await?,
            platform: false,
        }
    } else {
        Doors {
            platform: may_enter(db, site, Audience::Platform, creds).await?,
            ..Doors::default()
        }
    })
}

/// The answer to a right password without a door here.
fn no_access_here(site: &SiteInfo) -> AppError {
    let message = match &site.tenant {
        Some(t) => format!(
            "This account has no access at {}: it is not on the clinic's team and has no patient portal here. \
             If you expected access, ask the clinic to invite you. To find the clinics where you can sign in, \
             use \"Find my clinic\" on the MediSync home page.",
            t.name
        ),
        None => "This sign-in is for MediSync's operators. Clinic teams and patients sign in at their clinic's own address: \
                 use \"Find my clinic\" below and we will email you the addresses."
            .to_owned(),
    };
    AppError::Invalid(message).respond()
}

/// Checks one account's password, honouring and counting toward the lockout.
pub async fn check_password_only(
    db: &Db,
    creds: &Credentials,
    password: &str,
) -> Result<Credentials, AppError> {
    let tenant = current_site().tenant.map(|t| t.id);
    let actor = Actor::account(creds.account.id, creds.account.email.as_str());
    // The hash runs on every path (locked, no password set) so that no path is
    // measurably cheaper than a wrong password.
    let typed = password.to_owned();
    let stored = creds.password_hash.clone();
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => super::password::verify(&stored, &typed),
        None => {
            super::password::verify_against_nothing(&typed);
            false
        }
    })
    .await
    .map_err(internal)?;
    if creds.locked_until.is_some_and(|until| until > Utc::now()) {
        audit_event(db, tenant, actor, "sign_in.refused_locked", None).await;
        return Err(wrong());
    }
    if !matches {
        let mut tx = db.begin_platform().await?;
        let locked = credentials::record_failure(
            &mut tx,
            creds.account.id,
            LOCK_THRESHOLD,
            Duration::minutes(LOCK_MINUTES),
        )
        .await?;
        tx.commit().await?;
        if locked {
            audit_event(db, tenant, actor, "account.locked", None).await;
        }
        return Err(wrong());
    }
    Ok(creds.clone())
}

/// Whether the account is an active staff member of this site's clinic.
pub async fn is_staff_here(
    db: &Db,
    site: &SiteInfo,
    creds: &Credentials,
) -> Result<bool, AppError> {
    may_enter(db, site, Audience::Staff, creds).await
}

/// Whether the account has a door into this site for `audience`.
async fn may_enter(
    db: &Db,
    site: &SiteInfo,
    audience: Audience,
    creds: &Credentials,
) -> Result<bool, AppError> {
    let probe = SignedIn {
        account_id: creds.account.id,
        audience,
        tenant: site.tenant.as_ref().map(|t| t.id),
        signed_in_at: Utc::now(),
        last_seen: Utc::now(),
        authenticated_at: Utc::now(),
        support: None,
    };
    Ok(resolve_viewer(db, site, &probe).await?.is_some())
}

/// Whether this sign-in must add two-factor before going anywhere.
pub async fn two_factor_required(
    db: &Db,
    site: &SiteInfo,
    audience: Audience,
) -> Result<bool, AppError> {
    Ok(match (audience, site.tenant.as_ref()) {
        (Audience::Platform, _) => true,
        (Audience::Staff, Some(t)) => {
            let mut tx = db.begin_platform_read().await?;
            tenancy::db::security_policy(&mut tx, t.id)
                .await?
                .require_staff_2fa
        }
        _ => false,
    })
}

/// After a good password: either asks for the second factor, or signs in.
pub async fn after_password(
    session: &Session,
    site: &SiteInfo,
    audience: Audience,
    creds: &Credentials,
    next: &str,
) -> Result<AfterPassword, AppError> {
    let tenant = site.tenant.as_ref().map(|t| t.id);
    if creds.totp_enabled {
        session.cycle_id().await.map_err(internal)?;
        session
            .insert(
                AWAITING_SECOND_FACTOR,
                AwaitingSecondFactor {
                    account_id: creds.account.id,
                    audience,
                    tenant,
                    started_at: Utc::now(),
                    next: next.to_owned(),
                },
            )
            .await
            .map_err(internal)?;
        return Ok(AfterPassword::SecondFactor);
    }
    establish(session, creds.account.id, audience, tenant).await?;
    Ok(AfterPassword::Complete)
}

/// Starts a signed-in session under a new id (no fixation).
pub async fn establish(
    session: &Session,
    account_id: Uuid,
    audience: Audience,
    tenant: Option<TenantId>,
) -> Result<(), AppError> {
    let now = Utc::now();
    session.cycle_id().await.map_err(internal)?;
    session.clear().await;
    session
        .insert(
            SIGNED_IN,
            SignedIn {
                account_id,
                audience,
                tenant,
                signed_in_at: now,
                last_seen: now,
                authenticated_at: now,
                support: None,
            },
        )
        .await
        .map_err(internal)
}

/// The pending second-factor step of this session, if still valid for this site.
pub async fn awaiting_second_factor(
    session: &Session,
    site: &SiteInfo,
) -> Result<Option<AwaitingSecondFactor>, AppError> {
    let pending: Option<AwaitingSecondFactor> = session
        .get(AWAITING_SECOND_FACTOR)
        .await
        .map_err(internal)?;
    Ok(pending.filter(|p| {
        p.tenant == site.tenant.as_ref().map(|t| t.id)
            && Utc::now() - p.started_at < Duration::minutes(SECOND_FACTOR_MINUTES)
    }))
}

/// Remembers, for a few minutes, a right password that still has to choose its
/// door (staff or patient).
pub async fn await_door(
    session: &Session,
    account_id: Uuid,
    tenant: Option<TenantId>,
    next: Option<String>,
) -> Result<(), AppError> {
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(
            AWAITING_DOOR,
            AwaitingDoor {
                account_id,
                tenant,
                started_at: Utc::now(),
                next,
            },
        )
        .await
        .map_err(internal)
}

/// The pending door choice of this session, if still valid for this site (and
/// taken out: a choice is made once).
pub async fn take_awaiting_door(
    session: &Session,
    site: &SiteInfo,
) -> Result<Option<AwaitingDoor>, AppError> {
    let pending: Option<AwaitingDoor> = session.remove(AWAITING_DOOR).await.map_err(internal)?;
    Ok(pending.filter(|p| {
        p.tenant == site.tenant.as_ref().map(|t| t.id)
            && Utc::now() - p.started_at < Duration::minutes(SECOND_FACTOR_MINUTES)
    }))
}

/// Checks a TOTP code, or else a recovery code (spending it).
pub async fn check_second_factor(
    db: &Db,
    creds: &Credentials,
    code: &str,
) -> Result<bool, AppError> {
    let mut tx = db.begin_platform().await?;
    if let Some(secret) = &creds.totp_secret {
        if let Some(step) = super::totp::verify(secret, code, Utc::now().timestamp()) {
            // A replayed code (same or earlier step) fails like a wrong one.
            let fresh = credentials::claim_totp_step(&mut tx, creds.account.id, step).await?;
            tx.commit().await?;
            return Ok(fresh);
        }
    }
    let digest = super::secrets::digest(&super::secrets::normalize_recovery_code(code));
    let used = credentials::use_recovery_code(&mut tx, creds.account.id, &digest).await?;
    tx.commit().await?;
    Ok(used)
}

/// The signed-in session record, for re-authentication checks and sign-out.
pub async fn signed_in(session: &Session) -> Result<Option<SignedIn>, AppError> {
    session.get(SIGNED_IN).await.map_err(internal)
}

/// Refuses unless the password was typed within [`REAUTH_MINUTES`].
pub async fn require_recent_password(session: &Session) -> Result<SignedIn, AppError> {
    let current = signed_in(session)
        .await?
        .ok_or_else(|| AppError::Unauthenticated.respond())?;
    if Utc::now() - current.authenticated_at > Duration::minutes(REAUTH_MINUTES) {
        return Err(AppError::Invalid(
            "for your security, confirm your current password first".into(),
        )
        .respond());
    }
    Ok(current)
}

/// Saves a changed sign-in record (a support grant added or removed).
pub async fn store_signed_in(session: &Session, record: SignedIn) -> Result<(), AppError> {
    session.insert(SIGNED_IN, record).await.map_err(internal)
}

/// Marks the password as just re-typed.
pub async fn mark_reauthenticated(session: &Session) -> Result<(), AppError> {
    if let Some(mut current) = signed_in(session).await? {
        current.authenticated_at = Utc::now();
        session.insert(SIGNED_IN, current).await.map_err(internal)?;
    }
    Ok(())
}

/// Ends an account's sessions at one tenant; used when an admin there changes a
/// member's role or deactivates them.
pub async fn revoke_tenant_sessions(
    db: &Db,
    account: Uuid,
    tenant: crate::ids::TenantId,
) -> Result<u64, AppError> {
    let mut tx = db.begin_platform().await?;
    let n = credentials::revoke_sessions_at(&mut tx, account, tenant).await?;
    tx.commit().await?;
    Ok(n)
}

/// Ends every session of an account; used after a password reset or change, and
/// "sign out everywhere".
pub async fn revoke_all_sessions(
    db: &Db,
    account: Uuid,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    let mut tx = db.begin_platform().await?;
    let n = credentials::revoke_sessions(&mut tx, account, keep).await?;
    tx.commit().await?;
    Ok(n)
}

/// The platform role of an account, for the console.
pub fn platform_role(viewer: &Viewer) -> Option<PlatformRole> {
    match viewer.standing {
        Standing::Platform { role } => Some(role),
        _ => None,
    }
}

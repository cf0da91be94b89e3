//! Server functions of plans and usage.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Plan, Usage};
use crate::error::AppError;

/// The plans on sale, for the sign-up form and the plan page.
#[server(prefix = "/api", endpoint = "list_plans")]
pub async fn list_plans() -> Result<Vec<Plan>, AppError> {
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_platform_read().await?;
    Ok(super::db::all(&mut tx)
        .await?
        .into_iter()
        .filter(|p| !p.retired)
        .collect())
}

/// A clinic's plan, its usage against it, and the plans it could move to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAndUsage {
    pub plan: Plan,
    pub usage: Usage,
    pub status: crate::tenancy::TenantStatus,
    /// The trial's end in the clinic's format, while in trial.
    pub trial_ends: Option<String>,
    pub plans: Vec<Plan>,
    /// Only owners change the plan.
    pub may_change: bool,
    /// The platform takes subscriptions (its provider is configured).
    #[serde(default)]
    pub subscriptions_open: bool,
    #[serde(default)]
    pub subscription: Option<super::SubscriptionView>,
}

#[server(prefix = "/api", endpoint = "plan_usage")]
pub async fn plan_usage() -> Result<PlanAndUsage, AppError> {
    use crate::identity::{auth, Role};
    let (tenant, viewer) = auth::staff_viewer()?;
    let db = auth::db()?;
    let mut platform = db.begin_platform_read().await?;
    let stored = crate::tenancy::db::find_by_id(&mut platform, tenant)
        .await?
        .ok_or(AppError::NotFound)?;
    let plans = super::db::all(&mut platform).await?;
    drop(platform);
    // The clinic's plan is among all plans, retired ones included.
    let plan = plans
        .iter()
        .find(|p| p.id == stored.plan)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let subscription = ssr::view(&db, &stored, &plans).await?;
    let mut tx = db.begin_for_read(tenant).await?;
    let usage = super::db::usage(&mut tx).await?;
    Ok(PlanAndUsage {
        subscriptions_open: ssr::billing().is_ok_and(|b| b.is_open()),
        subscription,
        plan,
        usage,
        status: stored.status,
        trial_ends: stored
            .trial_ends_at
            .filter(|_| stored.status == crate::tenancy::TenantStatus::Trial)
            .map(|at| stored.settings.format_date(at)),
        plans: plans.into_iter().filter(|p| !p.retired).collect(),
        may_change: viewer.role() == Some(Role::Owner),
    })
}

/// Moves the clinic to another plan. During the trial any plan on sale may be
/// tried; once paying, changes go through billing (not yet available).
#[server(prefix = "/api", endpoint = "choose_plan")]
pub async fn choose_plan(plan: String) -> Result<(), AppError> {
    use crate::identity::{audit::Actor, auth, Role};
    let (tenant, viewer) = auth::staff_viewer()?;
    if viewer.role() != Some(Role::Owner) {
        return Err(
            AppError::Invalid("only the clinic's owner can change its plan".into()).respond(),
        );
    }
    let id = super::PlanId::parse(&plan).map_err(|m| AppError::field("plan", m).respond())?;
    let db = auth::db()?;
    let mut platform = db.begin_platform().await?;
    let target = super::db::get(&mut platform, &id)
        .await?
        .filter(|p| !p.retired)
        .ok_or_else(|| AppError::field("plan", "choose one of the plans shown").respond())?;
    let stored = crate::tenancy::db::find_by_id(&mut platform, tenant)
        .await?
        .ok_or(AppError::NotFound)?;
    let running = super::subscriptions::get(&mut platform, tenant)
        .await?
        .is_some_and(|s| s.is_running());
    if stored.status != crate::tenancy::TenantStatus::Trial && !running {
        return Err(AppError::Invalid(
            "subscribe to the plan below to change it; MediSync support can help".into(),
        )
        .respond());
    }
    drop(platform);
    let mut tx = db.begin_for(tenant).await?;
    ssr::fits(&mut tx, &target).await?;
    if running {
        // Stripe prorates the change; the plan follows once it agreed.
        drop(tx);
        let billing = ssr::billing()?;
        super::subscriptions::change_plan(&db, &billing, tenant, &target, chrono::Utc::now())
            .await
            .map_err(ssr::refusal)?;
        tx = db.begin_for(tenant).await?;
    } else {
        super::db::set_tenant_plan(tx.platform(), tenant, &target.id).await?;
    }
    crate::identity::audit::record(
        &mut tx,
        Actor::account(viewer.account_id, viewer.email.as_str()),
        "plan.changed",
        Some(&format!("{} → {}", stored.plan, target.id)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens the provider's page where the owner subscribes the clinic to `plan`,
/// billed monthly or yearly; its address. The plan takes effect when the
/// provider's signed event says the first payment went through.
#[server(prefix = "/api", endpoint = "subscribe")]
pub async fn subscribe(plan: String, interval: String) -> Result<String, AppError> {
    use crate::identity::{auth, Role};
    let (tenant, viewer) = auth::staff_viewer()?;
    if viewer.role() != Some(Role::Owner) {
        return Err(AppError::Invalid("only the clinic's owner can subscribe".into()).respond());
    }
    let id = super::PlanId::parse(&plan).map_err(|m| AppError::field("plan", m).respond())?;
    let interval = interval
        .trim()
        .parse::<super::Interval>()
        .map_err(|_| AppError::field("interval", "choose monthly or yearly").respond())?;
    let db = auth::db()?;
    let mut platform = db.begin_platform_read().await?;
    let target = super::db::get(&mut platform, &id)
        .await?
        .filter(|p| !p.retired)
        .ok_or_else(|| AppError::field("plan", "choose one of the plans shown").respond())?;
    drop(platform);
    let mut tx = db.begin_for_read(tenant).await?;
    ssr::fits(&mut tx, &target).await?;
    drop(tx);
    let billing = ssr::billing()?;
    let meta = auth::request_meta();
    let page = crate::site::current_site().href("/staff/plan");
    let return_to = format!("{}{page}", meta.origin);
    let url = super::subscriptions::open_checkout(
        &db,
        &billing,
        &super::subscriptions::Checkout {
            tenant,
            plan: &target,
            interval,
            email: viewer.email.as_str(),
            return_to: &return_to,
            now: chrono::Utc::now(),
        },
    )
    .await
    .map_err(ssr::refusal)?;
    let mut tx = db.begin_for(tenant).await?;
    crate::identity::audit::record(
        &mut tx,
        crate::identity::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        "subscription.checkout_opened",
        Some(&format!("{} {}", target.id, interval)),
        &meta,
    )
    .await?;
    tx.commit().await?;
    crate::forms::lands_on(&page);
    Ok(url)
}

/// The provider's page where an owner or administrator changes the card the
/// subscription is paid with (and pays a failed invoice); its address.
#[server(prefix = "/api", endpoint = "subscription_card_page")]
pub async fn subscription_card_page() -> Result<String, AppError> {
    use crate::identity::auth;
    let (tenant, _) = auth::staff_viewer()?;
    let db = auth::db()?;
    let billing = ssr::billing()?;
    let page = crate::site::current_site().href("/staff/plan");
    let return_to = format!("{}{page}", auth::request_meta().origin);
    let url = super::subscriptions::card_page(&db, &billing, tenant, &return_to)
        .await
        .map_err(ssr::refusal)?;
    crate::forms::lands_on(&page);
    Ok(url)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::super::subscriptions::{self, Billing, Refusal};
    use super::super::{Plan, SubscriptionInvoice, SubscriptionView};
    use crate::db::{Db, TenantTx};
    use crate::error::AppError;
    use crate::tenancy::Tenant;

    pub fn billing() -> Result<Billing, AppError> {
        leptos::prelude::use_context::<Billing>().ok_or(AppError::Internal)
    }

    pub fn refusal(r: Refusal) -> AppError {
        match r {
            Refusal::Said(words) => AppError::Invalid(words).respond(),
            Refusal::Db(e) => AppError::from(e),
        }
    }

    /// Refuses a plan the clinic has outgrown (moving down must not leave it
    /// over its new limits).
    pub async fn fits(tx: &mut TenantTx, target: &Plan) -> Result<(), AppError> {
        use super::super::{amount, bytes_label, db, LimitKind};
        let usage = db::usage(tx).await?;
        let seats = db::seats_taken(tx).await?;
        for (kind, used) in [
            (LimitKind::Users, seats),
            (LimitKind::Patients, usage.patients),
            (LimitKind::Storage, usage.storage_bytes),
        ] {
            if target.limit(kind).is_some_and(|limit| used > limit) {
                return Err(AppError::Invalid(format!(
                    "{} includes {}, and this clinic already uses {}; reduce it first",
                    target.name,
                    amount(kind, target.limit(kind)),
                    if kind == LimitKind::Storage {
                        bytes_label(used)
                    } else {
                        used.to_string()
                    }
                ))
                .respond());
            }
        }
        Ok(())
    }

    /// The subscription as the plan page shows it.
    pub async fn view(
        db: &Db,
        tenant: &Tenant,
        plans: &[Plan],
    ) -> Result<Option<SubscriptionView>, AppError> {
        let mut tx = db.begin_platform_read().await?;
        let Some(stored) = subscriptions::get(&mut tx, tenant.id).await? else {
            return Ok(None);
        };
        let invoices = subscriptions::invoices(&mut tx, tenant.id).await?;
        let paid_until: Option<chrono::DateTime<chrono::Utc>> = stored.current_period_end;
        let settings = &tenant.settings;
        let interval = stored
            .billing_interval
            .parse()
            .unwrap_or(super::super::Interval::Month);
        Ok(Some(SubscriptionView {
            status: stored.status(),
            plan_name: plans
                .iter()
                .find(|p| p.id.as_str() == stored.plan_id)
                .map_or_else(|| stored.plan_id.clone(), |p| p.name.clone()),
            interval,
            price: format!(
                "{} / {}",
                super::super::money_label(&stored.currency, stored.amount),
                interval
            ),
            paid_until: paid_until.map(|at| settings.format_date(at)),
            failed_on: tenant.payment_failed_at.map(|at| settings.format_date(at)),
            read_only_on: tenant.read_only_from.map(|at| settings.format_date(at)),
            read_only: tenant
                .read_only_from
                .is_some_and(|at| at <= chrono::Utc::now()),
            invoices: invoices
                .into_iter()
                .map(|i| SubscriptionInvoice {
                    number: i.number.unwrap_or_else(|| "—".into()),
                    date: settings.format_date(i.at),
                    amount: super::super::money_label(&i.currency, i.amount),
                    paid: i.status == "paid",
                    url: i.hosted_url,
                })
                .collect(),
        }))
    }
}

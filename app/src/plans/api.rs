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
    let mut tx = db.begin_for_read(tenant).await?;
    let usage = super::db::usage(&mut tx).await?;
    Ok(PlanAndUsage {
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
    if stored.status != crate::tenancy::TenantStatus::Trial {
        return Err(AppError::Invalid(
            "plan changes for paying clinics go through billing, which is not open yet; contact MediSync support to change plan".into(),
        )
        .respond());
    }
    drop(platform);
    // Moving down must not leave the clinic over its new limits.
    let mut tx = db.begin_for(tenant).await?;
    let usage = super::db::usage(&mut tx).await?;
    let seats = super::db::seats_taken(&mut tx).await?;
    for (kind, used) in [
        (super::LimitKind::Users, seats),
        (super::LimitKind::Patients, usage.patients),
        (super::LimitKind::Storage, usage.storage_bytes),
    ] {
        if target.limit(kind).is_some_and(|limit| used > limit) {
            return Err(AppError::Invalid(format!(
                "{} includes {}, and this clinic already uses {}; reduce it first",
                target.name,
                super::amount(kind, target.limit(kind)),
                if kind == super::LimitKind::Storage {
                    super::bytes_label(used)
                } else {
                    used.to_string()
                }
            ))
            .respond());
        }
    }
    super::db::set_tenant_plan(tx.platform(), tenant, &target.id).await?;
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

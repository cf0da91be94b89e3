//! Plans, their limits and features, and a clinic's usage against them. Plans are
//! data (the `plans` table): operators create, edit and retire them; a tenant keeps
//! the plan it has even after the plan is retired.

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod subscriptions;
#[cfg(feature = "ssr")]
pub mod trials;

use serde::{Deserialize, Serialize};

use crate::text::{text_enum, text_newtype};

/// Something a plan may include. Server functions and navigation check these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    BasicEhr,
    Patients,
    Appointments,
    Prescriptions,
    LabIntegration,
    Reports,
    ApiAccess,
    CustomIntegrations,
    AdvancedAnalytics,
}

text_enum!(Feature {
    BasicEhr => "basic_ehr",
    Patients => "patients",
    Appointments => "appointments",
    Prescriptions => "prescriptions",
    LabIntegration => "lab_integration",
    Reports => "reports",
    ApiAccess => "api_access",
    CustomIntegrations => "custom_integrations",
    AdvancedAnalytics => "advanced_analytics",
});

impl Feature {
    pub const ALL: &'static [Feature] = &[
        Feature::BasicEhr,
        Feature::Patients,
        Feature::Appointments,
        Feature::Prescriptions,
        Feature::LabIntegration,
        Feature::Reports,
        Feature::ApiAccess,
        Feature::CustomIntegrations,
        Feature::AdvancedAnalytics,
    ];

    /// Whether the module is in the product today. Plans list to clinics only
    /// the modules that exist; each joins when its issue ships.
    pub fn exists(self) -> bool {
        matches!(
            self,
            Feature::Patients | Feature::Reports | Feature::Prescriptions | Feature::Appointments
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Feature::BasicEhr => "Basic health records",
            Feature::Patients => "Patients",
            Feature::Appointments => "Appointments",
            Feature::Prescriptions => "Prescriptions",
            Feature::LabIntegration => "Lab integration",
            Feature::Reports => "Reports",
            Feature::ApiAccess => "API access",
            Feature::CustomIntegrations => "Custom integrations",
            Feature::AdvancedAnalytics => "Advanced analytics",
        }
    }
}

/// A plan's code: `starter`, `professional`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanId(String);

impl PlanId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim();
        let ok = (2..=40).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err("a plan code is 2 to 40 lowercase letters, digits, hyphens or underscores".into())
        }
    }

    pub fn starter() -> Self {
        Self("starter".into())
    }
}

text_newtype!(PlanId, String);

/// A plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub name: String,
    /// Monthly price in the currency's minor unit.
    pub price_cents: i64,
    pub currency: String,
    /// `None`: unlimited.
    pub max_users: Option<i64>,
    pub max_patients: Option<i64>,
    pub storage_bytes: i64,
    pub features: Vec<Feature>,
    pub sort_order: i64,
    pub retired: bool,
}

impl Plan {
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    pub fn limit(&self, kind: LimitKind) -> Option<i64> {
        match kind {
            LimitKind::Users => self.max_users,
            LimitKind::Patients => self.max_patients,
            LimitKind::Storage => Some(self.storage_bytes),
        }
    }

    pub fn price_label(&self) -> String {
        format!("{} / month", money_label(&self.currency, self.price_cents))
    }

    /// Checks what an operator typed before it is saved.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        crate::text::plain_name(&self.name, 1, 60)
            .map_err(|m| ("name", format!("plan name: {m}")))?;
        if !(0..=100_000_000).contains(&self.price_cents) {
            return Err(("price", "enter a monthly price from 0 to 1,000,000".into()));
        }
        let currency_ok =
            self.currency.len() == 3 && self.currency.chars().all(|c| c.is_ascii_uppercase());
        if !currency_ok {
            return Err((
                "currency",
                "use a three-letter currency code such as USD".into(),
            ));
        }
        for (field, limit) in [
            ("max_users", self.max_users),
            ("max_patients", self.max_patients),
        ] {
            if limit.is_some_and(|n| n < 1) {
                return Err((
                    field,
                    "a limit is at least 1; leave it empty for unlimited".into(),
                ));
            }
        }
        if self.storage_bytes < 1 {
            return Err(("storage_gb", "storage is at least 1 GB".into()));
        }
        Ok(())
    }
}

/// How often a subscription is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interval {
    Month,
    Year,
}

text_enum!(Interval { Month => "month", Year => "year" });

/// A year costs ten months: two months free for paying ahead.
pub const MONTHS_BILLED_PER_YEAR: i64 = 10;

/// What one interval of `plan` costs, in minor units.
pub fn price_for(plan: &Plan, interval: Interval) -> i64 {
    match interval {
        Interval::Month => plan.price_cents,
        Interval::Year => plan.price_cents * MONTHS_BILLED_PER_YEAR,
    }
}

/// `USD 299.00`: an amount in minor units with its currency.
pub fn money_label(currency: &str, minor: i64) -> String {
    format!(
        "{currency} {}",
        crate::money::format_amount(minor, currency)
    )
}

/// Where a clinic's subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    /// The owner went to the provider's page; nothing paid yet.
    Checkout,
    Active,
    /// A renewal failed; the provider retries (dunning).
    PastDue,
    /// The provider stopped retrying.
    Unpaid,
    Canceled,
}

text_enum!(SubscriptionStatus {
    Checkout => "checkout",
    Active => "active",
    PastDue => "past_due",
    Unpaid => "unpaid",
    Canceled => "canceled",
});

impl SubscriptionStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Checkout => "Waiting for the first payment",
            Self::Active => "Active",
            Self::PastDue => "Payment failed: retrying",
            Self::Unpaid => "Unpaid",
            Self::Canceled => "Cancelled",
        }
    }
}

/// The clinic's subscription as the plan page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub status: SubscriptionStatus,
    pub plan_name: String,
    pub interval: Interval,
    /// `USD 299.00 / month`.
    pub price: String,
    /// The end of the period paid for, in the clinic's format.
    pub paid_until: Option<String>,
    /// The first failed renewal, while in arrears.
    pub failed_on: Option<String>,
    /// The day the records become (or became) read-only, while in arrears.
    pub read_only_on: Option<String>,
    pub read_only: bool,
    pub invoices: Vec<SubscriptionInvoice>,
}

/// One of the provider's invoices to the clinic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInvoice {
    pub number: String,
    pub date: String,
    pub amount: String,
    pub paid: bool,
    /// The provider's page for it (receipt, or paying a failed one).
    pub url: Option<String>,
}

/// What a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitKind {
    Users,
    Patients,
    Storage,
}

impl LimitKind {
    fn noun(self) -> &'static str {
        match self {
            LimitKind::Users => "users",
            LimitKind::Patients => "patients",
            LimitKind::Storage => "of file storage",
        }
    }
}

/// How much a limit amounts to, in words: `10 users`, `5 GB of file storage`.
pub fn amount(kind: LimitKind, value: Option<i64>) -> String {
    match (kind, value) {
        (_, None) => format!("unlimited {}", kind.noun()),
        (LimitKind::Storage, Some(bytes)) => format!("{} {}", bytes_label(bytes), kind.noun()),
        (_, Some(n)) => format!("{n} {}", kind.noun()),
    }
}

/// `5 GB`, `1.2 MB`, `340 KB`.
pub fn bytes_label(bytes: i64) -> String {
    const GB: f64 = 1024.0 * 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= GB {
        let gb = b / GB;
        if (gb - gb.round()).abs() < 0.05 {
            format!("{:.0} GB", gb)
        } else {
            format!("{gb:.1} GB")
        }
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.0} KB", (b / 1024.0).ceil())
    }
}

/// The message when a limit is reached: names the limit and the way up.
pub fn limit_message(plan: &Plan, kind: LimitKind, upgrade: Option<&Plan>) -> String {
    let reached = format!(
        "Your {} plan includes {}, and this clinic has reached that limit.",
        plan.name,
        amount(kind, plan.limit(kind))
    );
    match upgrade {
        Some(next) => format!(
            "{reached} Upgrade to {} ({}, {}) on the Plan and usage page.",
            next.name,
            amount(kind, next.limit(kind)),
            next.price_label()
        ),
        None => format!("{reached} Contact MediSync to raise it."),
    }
}

/// The first plan (by order) that is on sale and allows more than `plan` does.
pub fn upgrade_for<'a>(plans: &'a [Plan], plan: &Plan, kind: LimitKind) -> Option<&'a Plan> {
    let more = |p: &Plan| match (p.limit(kind), plan.limit(kind)) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
        _ => false,
    };
    plans
        .iter()
        .filter(|p| !p.retired && p.sort_order > plan.sort_order && more(p))
        .min_by_key(|p| p.sort_order)
}

/// A clinic's usage against its plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Active staff members.
    pub users: i64,
    /// Staff invitations not yet answered: each holds a seat.
    #[serde(default)]
    pub pending_invitations: i64,
    pub patients: i64,
    pub storage_bytes: i64,
    pub api_calls_this_month: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(id: &str, order: i64, users: Option<i64>) -> Plan {
        Plan {
            id: PlanId::parse(id).expect("id"),
            name: id.to_uppercase(),
            price_cents: 9900 * order,
            currency: "USD".into(),
            max_users: users,
            max_patients: Some(500 * order),
            storage_bytes: 5 * 1024 * 1024 * 1024,
            features: vec![Feature::Patients],
            sort_order: order,
            retired: false,
        }
    }

    #[test]
    fn the_upgrade_is_the_next_plan_that_allows_more() {
        let mut plans = vec![
            plan("starter", 1, Some(10)),
            plan("legacy", 2, Some(20)),
            plan("pro", 3, Some(50)),
            plan("ent", 4, None),
        ];
        plans[1].retired = true;
        let next = upgrade_for(&plans, &plans[0], LimitKind::Users).expect("an upgrade");
        assert_eq!(next.id.as_str(), "pro");
        assert!(upgrade_for(&plans, &plans[3], LimitKind::Users).is_none());
        let message = limit_message(&plans[0], LimitKind::Users, Some(next));
        assert!(message.contains("includes 10 users"), "{message}");
        assert!(message.contains("Upgrade to PRO (50 users"), "{message}");
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(bytes_label(5 * 1024 * 1024 * 1024), "5 GB");
        assert_eq!(bytes_label(1536 * 1024), "1.5 MB");
        assert_eq!(bytes_label(10), "1 KB");
        assert_eq!(amount(LimitKind::Users, None), "unlimited users");
    }

    #[test]
    fn plan_codes_and_values_are_validated() {
        assert!(PlanId::parse("Starter").is_err());
        assert!(PlanId::parse("x").is_err());
        let mut p = plan("starter", 1, Some(10));
        assert!(p.validate().is_ok());
        p.currency = "usd".into();
        assert_eq!(p.validate().map_err(|e| e.0), Err("currency"));
        p.currency = "USD".into();
        p.max_users = Some(0);
        assert_eq!(p.validate().map_err(|e| e.0), Err("max_users"));
    }
}

//! The permission matrix: which staff role may do what inside its tenant, and what
//! platform operators may do. Defined once, here; server functions check it and the
//! UI reads it to hide what a role cannot do.

use serde::{Deserialize, Serialize};

use super::Role;
use crate::text::text_enum;

/// Something a person may be allowed to do inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    PatientsCreate,
    PatientsRead,
    PatientsUpdate,
    PatientsDelete,
    ClinicalWrite,
    PrescriptionsCreate,
    PrescriptionsDispense,
    AppointmentsManage,
    BillingManage,
    PaymentsTake,
    ReportsRead,
    /// Revenue figures: the clinic's, or a doctor's own visits'.
    RevenueRead,
    SettingsManage,
    BrandingManage,
    UsersManage,
    AuditRead,
}

text_enum!(Permission {
    PatientsCreate => "patients.create",
    PatientsRead => "patients.read",
    PatientsUpdate => "patients.update",
    PatientsDelete => "patients.delete",
    ClinicalWrite => "clinical.write",
    PrescriptionsCreate => "prescriptions.create",
    PrescriptionsDispense => "prescriptions.dispense",
    AppointmentsManage => "appointments.manage",
    BillingManage => "billing.manage",
    PaymentsTake => "payments.take",
    ReportsRead => "reports.read",
    RevenueRead => "revenue.read",
    SettingsManage => "settings.manage",
    BrandingManage => "branding.manage",
    UsersManage => "users.manage",
    AuditRead => "audit.read",
});

use Permission as P;
use Role as R;

/// Everyone who registers patients and books their visits.
const PATIENT_FACING: &[Role] = &[
    R::Owner,
    R::Admin,
    R::Manager,
    R::Doctor,
    R::Nurse,
    R::Receptionist,
];
/// Who runs the clinic's account: settings, branding, users, audit.
const ADMINISTRATORS: &[Role] = &[R::Owner, R::Admin];

/// Permission → roles. The single source of truth.
const MATRIX: &[(Permission, &[Role])] = &[
    (P::PatientsCreate, PATIENT_FACING),
    (P::PatientsRead, Role::ALL),
    (P::PatientsUpdate, PATIENT_FACING),
    (P::PatientsDelete, ADMINISTRATORS),
    (P::ClinicalWrite, &[R::Doctor, R::Nurse]),
    (P::PrescriptionsCreate, &[R::Doctor]),
    (P::PrescriptionsDispense, &[R::Pharmacist]),
    (P::AppointmentsManage, PATIENT_FACING),
    (
        P::BillingManage,
        &[R::Owner, R::Admin, R::Manager, R::Billing],
    ),
    // The front desk invoices visits and takes payments; discounts above the
    // clinic's threshold, credit notes and refunds stay with billing.
    (
        P::PaymentsTake,
        &[R::Owner, R::Admin, R::Manager, R::Billing, R::Receptionist],
    ),
    (P::ReportsRead, &[R::Owner, R::Admin, R::Manager]),
    // Billing sees the clinic's revenue; a doctor sees their own visits'.
    (
        P::RevenueRead,
        &[R::Owner, R::Admin, R::Manager, R::Billing, R::Doctor],
    ),
    (P::SettingsManage, ADMINISTRATORS),
    (P::BrandingManage, ADMINISTRATORS),
    (P::UsersManage, ADMINISTRATORS),
    (P::AuditRead, ADMINISTRATORS),
];

/// Every permission, for tests and for listing a role's rights.
pub const ALL: &[Permission] = &[
    P::PatientsCreate,
    P::PatientsRead,
    P::PatientsUpdate,
    P::PatientsDelete,
    P::ClinicalWrite,
    P::PrescriptionsCreate,
    P::PrescriptionsDispense,
    P::AppointmentsManage,
    P::BillingManage,
    P::PaymentsTake,
    P::ReportsRead,
    P::RevenueRead,
    P::SettingsManage,
    P::BrandingManage,
    P::UsersManage,
    P::AuditRead,
];

impl Role {
    /// Whether this role holds `permission`. Anything not listed is denied.
    pub fn can(self, permission: Permission) -> bool {
        MATRIX
            .iter()
            .find(|(p, _)| *p == permission)
            .is_some_and(|(_, roles)| roles.contains(&self))
    }
}

/// A platform operator's role, on the platform domain only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    SuperAdmin,
    Support,
}

text_enum!(PlatformRole { SuperAdmin => "super_admin", Support => "support" });

/// Something a platform operator may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlatformPermission {
    TenantsManage,
    PlansManage,
    Impersonate,
}

text_enum!(PlatformPermission {
    TenantsManage => "tenants.manage",
    PlansManage => "plans.manage",
    Impersonate => "impersonate",
});

impl PlatformRole {
    pub fn can(self, permission: PlatformPermission) -> bool {
        match self {
            PlatformRole::SuperAdmin => true,
            PlatformRole::Support => permission == PlatformPermission::Impersonate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &[Role] = Role::ALL;

    #[test]
    fn every_permission_is_in_the_matrix_exactly_once() {
        for permission in ALL {
            let rows = MATRIX.iter().filter(|(p, _)| p == permission).count();
            assert_eq!(rows, 1, "{permission} has {rows} rows");
        }
        assert_eq!(MATRIX.len(), ALL.len());
    }

    #[test]
    fn clinical_rights_follow_the_profession() {
        assert!(R::Doctor.can(P::PrescriptionsCreate));
        assert!(!R::Nurse.can(P::PrescriptionsCreate));
        assert!(!R::Pharmacist.can(P::PrescriptionsCreate));
        assert!(R::Pharmacist.can(P::PrescriptionsDispense));
        assert!(!R::Doctor.can(P::PrescriptionsDispense));
        assert!(!R::Receptionist.can(P::ClinicalWrite));
        assert!(
            !R::Owner.can(P::ClinicalWrite),
            "owning the clinic is not a licence"
        );
    }

    #[test]
    fn administration_is_for_owners_and_admins() {
        for &role in ROLES {
            let admin = matches!(role, R::Owner | R::Admin);
            for p in [
                P::UsersManage,
                P::BrandingManage,
                P::SettingsManage,
                P::AuditRead,
                P::PatientsDelete,
            ] {
                assert_eq!(role.can(p), admin, "{role} / {p}");
            }
        }
        assert!(R::Billing.can(P::BillingManage) && !R::Nurse.can(P::BillingManage));
    }

    #[test]
    fn every_staff_role_can_read_patients() {
        assert!(ROLES.iter().all(|r| r.can(P::PatientsRead)));
    }

    #[test]
    fn support_may_only_impersonate() {
        assert!(PlatformRole::Support.can(PlatformPermission::Impersonate));
        assert!(!PlatformRole::Support.can(PlatformPermission::TenantsManage));
        assert!(!PlatformRole::Support.can(PlatformPermission::PlansManage));
        assert!(PlatformRole::SuperAdmin.can(PlatformPermission::PlansManage));
    }

    #[test]
    fn permissions_have_stable_names() {
        assert_eq!(
            "prescriptions.dispense".parse::<Permission>(),
            Ok(P::PrescriptionsDispense)
        );
        assert_eq!(P::AuditRead.to_string(), "audit.read");
    }
}

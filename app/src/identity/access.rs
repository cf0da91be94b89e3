//! Who may call each server function and open each page: one table, enforced by
//! the server before anything runs, read by tests that try every rule × every role.
//!
//! A server function missing from [`SERVER_FUNCTIONS`] is refused for everyone, so a
//! new one does nothing until it is given a rule here.

use super::permissions::{Permission, PlatformPermission};
use super::{Standing, Viewer};

/// Who a rule lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not (sign-in itself, public profiles, reset links).
    Public,
    /// Anyone signed in on this site (their own account's settings).
    SignedIn,
    /// A staff member of this tenant holding the permission, or any staff member.
    Staff(Option<Permission>),
    /// A patient of this tenant, for their own record.
    Patient,
    /// A platform operator, on the platform site, holding the permission.
    Platform(Option<PlatformPermission>),
}

/// The outcome of checking a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Sign in first (401 / redirect to the sign-in page).
    SignIn,
    /// Signed in, but not allowed (403).
    Deny,
}

impl Rule {
    /// The decision for `viewer` (already matched to this request's site).
    pub fn decide(self, viewer: Option<&Viewer>) -> Decision {
        let Some(viewer) = viewer else {
            return if self == Rule::Public {
                Decision::Allow
            } else {
                Decision::SignIn
            };
        };
        let allowed = match self {
            Rule::Public | Rule::SignedIn => true,
            Rule::Staff(None) => matches!(viewer.standing, Standing::Staff { .. }),
            Rule::Staff(Some(p)) => viewer.can(p),
            Rule::Patient => matches!(viewer.standing, Standing::Patient { .. }),
            Rule::Platform(None) => matches!(viewer.standing, Standing::Platform { .. }),
            Rule::Platform(Some(p)) => viewer.can_platform(p),
        };
        if allowed {
            Decision::Allow
        } else {
            Decision::Deny
        }
    }
}

use crate::plans::Feature;
use Permission as P;
use PlatformPermission as PP;
use Rule as R;

/// Every server function (by endpoint, under `/api/`) and who may call it.
pub const SERVER_FUNCTIONS: &[(&str, Rule)] = &[
    ("tenant_profile", R::Public),
    ("sign_in", R::Public),
    ("second_factor", R::Public),
    ("choose_door", R::Public),
    ("find_my_clinic", R::Public),
    ("request_password_reset", R::Public),
    ("reset_password", R::Public),
    ("invitation_details", R::Public),
    ("accept_invitation", R::Public),
    ("verify_email", R::Public),
    ("sign_out", R::SignedIn),
    ("sign_out_everywhere", R::SignedIn),
    ("security_overview", R::SignedIn),
    ("change_password", R::SignedIn),
    ("start_totp", R::SignedIn),
    ("confirm_totp", R::SignedIn),
    ("disable_totp", R::SignedIn),
    ("my_clinics", R::SignedIn),
    ("list_staff", R::Staff(Some(P::UsersManage))),
    ("invite_staff", R::Staff(Some(P::UsersManage))),
    ("change_staff_role", R::Staff(Some(P::UsersManage))),
    ("deactivate_staff", R::Staff(Some(P::UsersManage))),
    ("set_staff_active", R::Staff(Some(P::UsersManage))),
    ("list_staff_invitations", R::Staff(Some(P::UsersManage))),
    ("manage_staff_invitation", R::Staff(Some(P::UsersManage))),
    ("set_security_policy", R::Staff(Some(P::SettingsManage))),
    ("clinic_security_policy", R::Staff(Some(P::SettingsManage))),
    ("list_audit", R::Staff(Some(P::AuditRead))),
    // Patients (registry)
    ("list_patients", R::Staff(Some(P::PatientsRead))),
    ("recent_patients", R::Staff(Some(P::PatientsRead))),
    ("register_patient", R::Staff(Some(P::PatientsCreate))),
    ("invite_patient", R::Staff(Some(P::PatientsUpdate))),
    ("set_patient_archived", R::Staff(Some(P::PatientsDelete))),
    ("update_patient", R::Staff(Some(P::PatientsUpdate))),
    ("patient_fields", R::Staff(Some(P::PatientsRead))),
    ("merge_patients", R::Staff(Some(P::PatientsDelete))),
    ("erase_patient", R::Staff(Some(P::PatientsDelete))),
    ("open_restricted", R::Staff(Some(P::PatientsDelete))),
    ("request_erasure", R::Patient),
    ("define_patient_field", R::Staff(Some(P::SettingsManage))),
    ("retire_patient_field", R::Staff(Some(P::SettingsManage))),
    ("add_emergency_contact", R::Staff(Some(P::PatientsUpdate))),
    ("add_insurance", R::Staff(Some(P::PatientsUpdate))),
    ("add_identifier", R::Staff(Some(P::PatientsUpdate))),
    ("remove_registry_entry", R::Staff(Some(P::PatientsUpdate))),
    ("decide_correction", R::Staff(Some(P::PatientsUpdate))),
    ("request_correction", R::Patient),
    ("my_record", R::Patient),
    ("my_chart", R::Patient),
    ("my_access_log", R::Patient),
    ("my_bills", R::Patient),
    ("pay_online", R::Patient),
    // The chart
    ("chart", R::Staff(Some(P::PatientsRead))),
    ("add_allergy", R::Staff(Some(P::ClinicalWrite))),
    ("no_known_allergies", R::Staff(Some(P::ClinicalWrite))),
    ("set_allergy_status", R::Staff(Some(P::ClinicalWrite))),
    ("add_problem", R::Staff(Some(P::ClinicalWrite))),
    ("set_problem_status", R::Staff(Some(P::ClinicalWrite))),
    ("record_vitals", R::Staff(Some(P::ClinicalWrite))),
    ("save_note", R::Staff(Some(P::ClinicalWrite))),
    ("sign_note", R::Staff(Some(P::ClinicalWrite))),
    ("add_addendum", R::Staff(Some(P::ClinicalWrite))),
    ("my_unsigned_notes", R::Staff(Some(P::ClinicalWrite))),
    ("set_flag", R::Staff(Some(P::PatientsUpdate))),
    ("clear_flag", R::Staff(Some(P::PatientsUpdate))),
    ("record_consent", R::Staff(Some(P::PatientsUpdate))),
    ("set_message_opt_out", R::Staff(Some(P::PatientsUpdate))),
    // Prescribing: only doctors prescribe, only pharmacists dispense, everyone
    // who reads charts reads the medicines.
    ("medications", R::Staff(Some(P::PatientsRead))),
    ("prescribe", R::Staff(Some(P::PrescriptionsCreate))),
    ("end_prescription", R::Staff(Some(P::PrescriptionsCreate))),
    ("dispensing_queue", R::Staff(Some(P::PrescriptionsDispense))),
    ("dispense", R::Staff(Some(P::PrescriptionsDispense))),
    ("medication_alert_report", R::Staff(Some(P::ReportsRead))),
    ("my_prescriptions", R::Patient),
    ("request_refill", R::Patient),
    ("refill_requests", R::Staff(Some(P::PrescriptionsCreate))),
    ("decide_refill", R::Staff(Some(P::PrescriptionsCreate))),
    ("clinic_medicines", R::Staff(Some(P::PatientsRead))),
    ("add_other_medication", R::Staff(Some(P::ClinicalWrite))),
    ("review_medications", R::Staff(Some(P::PrescriptionsCreate))),
    ("add_clinic_medicine", R::Staff(Some(P::SettingsManage))),
    (
        "set_clinic_medicine_active",
        R::Staff(Some(P::SettingsManage)),
    ),
    (
        "set_prescriber_details",
        R::Staff(Some(P::PrescriptionsCreate)),
    ),
    // Scheduling: everyone who faces patients books; administrators set it up.
    ("day_calendar", R::Staff(Some(P::AppointmentsManage))),
    ("booking_search", R::Staff(Some(P::AppointmentsManage))),
    ("book_appointment", R::Staff(Some(P::AppointmentsManage))),
    ("book_series", R::Staff(Some(P::AppointmentsManage))),
    (
        "reschedule_appointment",
        R::Staff(Some(P::AppointmentsManage)),
    ),
    (
        "set_appointment_status",
        R::Staff(Some(P::AppointmentsManage)),
    ),
    ("scheduling_setup", R::Staff(Some(P::SettingsManage))),
    ("add_location", R::Staff(Some(P::SettingsManage))),
    ("add_opening_hours", R::Staff(Some(P::SettingsManage))),
    ("remove_opening_hours", R::Staff(Some(P::SettingsManage))),
    ("set_location_active", R::Staff(Some(P::SettingsManage))),
    ("save_practitioner", R::Staff(Some(P::SettingsManage))),
    ("save_appointment_type", R::Staff(Some(P::SettingsManage))),
    (
        "set_appointment_type_active",
        R::Staff(Some(P::SettingsManage)),
    ),
    ("add_hours", R::Staff(Some(P::SettingsManage))),
    ("remove_hours", R::Staff(Some(P::SettingsManage))),
    ("add_day_off", R::Staff(Some(P::SettingsManage))),
    ("remove_day_off", R::Staff(Some(P::SettingsManage))),
    ("save_scheduling_rules", R::Staff(Some(P::SettingsManage))),
    ("save_messaging_hours", R::Staff(Some(P::SettingsManage))),
    ("add_reminder_rule", R::Staff(Some(P::SettingsManage))),
    ("remove_reminder_rule", R::Staff(Some(P::SettingsManage))),
    ("connect_sms", R::Staff(Some(P::SettingsManage))),
    ("disconnect_sms", R::Staff(Some(P::SettingsManage))),
    ("send_test_sms", R::Staff(Some(P::SettingsManage))),
    ("connect_whatsapp", R::Staff(Some(P::SettingsManage))),
    ("disconnect_whatsapp", R::Staff(Some(P::SettingsManage))),
    ("send_test_whatsapp", R::Staff(Some(P::SettingsManage))),
    // Billing: the front desk invoices and takes payments; billing corrects,
    // refunds and keeps the catalog; administrators set up tax and numbering.
    ("billing_setup", R::Staff(Some(P::BillingManage))),
    ("save_billing_settings", R::Staff(Some(P::SettingsManage))),
    ("connect_payments", R::Staff(Some(P::SettingsManage))),
    ("disconnect_payments", R::Staff(Some(P::SettingsManage))),
    ("save_tax_category", R::Staff(Some(P::SettingsManage))),
    ("save_service", R::Staff(Some(P::BillingManage))),
    ("draft_invoice", R::Staff(Some(P::PaymentsTake))),
    ("patient_dues", R::Staff(Some(P::PaymentsTake))),
    ("add_invoice_line", R::Staff(Some(P::PaymentsTake))),
    ("remove_invoice_line", R::Staff(Some(P::PaymentsTake))),
    ("set_invoice_discount", R::Staff(Some(P::PaymentsTake))),
    ("delete_draft_invoice", R::Staff(Some(P::PaymentsTake))),
    ("issue_invoice", R::Staff(Some(P::PaymentsTake))),
    ("email_invoice", R::Staff(Some(P::PaymentsTake))),
    ("email_receipt", R::Staff(Some(P::PaymentsTake))),
    ("invoice_page", R::Staff(Some(P::PaymentsTake))),
    ("patient_billing", R::Staff(Some(P::PaymentsTake))),
    ("take_payment", R::Staff(Some(P::PaymentsTake))),
    ("apply_patient_credit", R::Staff(Some(P::PaymentsTake))),
    ("credit_invoice", R::Staff(Some(P::BillingManage))),
    ("refund_credit_note", R::Staff(Some(P::BillingManage))),
    ("recent_invoices", R::Staff(Some(P::PaymentsTake))),
    ("collections_report", R::Staff(Some(P::BillingManage))),
    // The clinic's revenue for billing and reports; a doctor's own (decided inside).
    ("revenue_report", R::Staff(Some(P::RevenueRead))),
    // Documents: the front desk files letters and scans; clinicians review them.
    ("upload_document", R::Staff(Some(P::PatientsUpdate))),
    ("review_document", R::Staff(Some(P::ClinicalWrite))),
    // Clinic self-service
    ("check_slug", R::Public),
    ("sign_up", R::Public),
    ("list_plans", R::Public),
    ("resend_verification", R::SignedIn),
    ("onboarding_checklist", R::Staff(Some(P::SettingsManage))),
    ("dismiss_checklist", R::Staff(Some(P::SettingsManage))),
    ("dashboard_counts", R::Staff(None)),
    ("save_branding", R::Staff(Some(P::BrandingManage))),
    ("reset_branding", R::Staff(Some(P::BrandingManage))),
    ("remove_logo", R::Staff(Some(P::BrandingManage))),
    ("upload_logo", R::Staff(Some(P::BrandingManage))),
    ("save_clinic_settings", R::Staff(Some(P::SettingsManage))),
    ("custom_domain", R::Staff(Some(P::SettingsManage))),
    ("set_custom_domain", R::Staff(Some(P::SettingsManage))),
    ("verify_custom_domain", R::Staff(Some(P::SettingsManage))),
    ("plan_usage", R::Staff(Some(P::SettingsManage))),
    ("choose_plan", R::Staff(Some(P::SettingsManage))),
    ("subscribe", R::Staff(Some(P::SettingsManage))),
    ("subscription_card_page", R::Staff(Some(P::SettingsManage))),
    ("clinic_report", R::Staff(Some(P::ReportsRead))),
    // Platform console
    ("platform_overview", R::Platform(None)),
    ("list_tenants", R::Platform(None)),
    ("tenant_detail", R::Platform(None)),
    ("all_plans", R::Platform(None)),
    ("suspend_tenant", R::Platform(Some(PP::TenantsManage))),
    ("reactivate_tenant", R::Platform(Some(PP::TenantsManage))),
    ("extend_grace", R::Platform(Some(PP::TenantsManage))),
    ("save_plan", R::Platform(Some(PP::PlansManage))),
    ("set_plan_retired", R::Platform(Some(PP::PlansManage))),
    ("start_support_session", R::Platform(Some(PP::Impersonate))),
    ("job_queue", R::Platform(None)),
    // Sending a job back may send a message a second time: super admins only.
    ("requeue_job", R::Platform(Some(PP::TenantsManage))),
    ("end_support_session", R::SignedIn),
];

/// The server functions a support session may call (each still under its rule
/// above). Anything not listed is refused to support, whatever its rule: a new
/// function (an invitation of any kind, a portal account, an API key, a webhook)
/// stays closed to support until someone decides here that nothing it creates can
/// outlast the session. Reading, and editing the clinic's own records and look,
/// is what support is for.
pub const SUPPORT_MAY_CALL: &[&str] = &[
    "tenant_profile",
    "sign_out",
    "end_support_session",
    "my_clinics",
    "list_audit",
    "list_patients",
    "chart",
    "onboarding_checklist",
    "dashboard_counts",
    "save_branding",
    "reset_branding",
    "remove_logo",
    "upload_logo",
    "custom_domain",
    "plan_usage",
    "clinic_report",
];

/// The decision on calling the server function at `path` (`/api/name`): its rule,
/// and for a support session [`SUPPORT_MAY_CALL`] as well. `None`: no such
/// function (refused for everyone).
pub fn server_function_decision(path: &str, viewer: Option<&Viewer>) -> Option<Decision> {
    let rule = server_function_rule(path)?;
    let endpoint = path.strip_prefix("/api/")?;
    let decision = rule.decide(viewer);
    let in_support = viewer.is_some_and(|v| v.support.is_some());
    if decision == Decision::Allow && in_support && !SUPPORT_MAY_CALL.contains(&endpoint) {
        return Some(Decision::Deny);
    }
    Some(decision)
}

/// Server functions that change a patient's record, refused (402, with the
/// reason) while the clinic is read-only for want of MediSync's payment. Reading,
/// exporting, billing and the clinic's settings stay open, so the clinic is
/// never locked out of its records and can still collect what it is owed.
pub const RECORD_WRITES: &[&str] = &[
    "register_patient",
    "invite_patient",
    "set_patient_archived",
    "update_patient",
    "merge_patients",
    "erase_patient",
    "request_erasure",
    "add_emergency_contact",
    "add_insurance",
    "add_identifier",
    "remove_registry_entry",
    "decide_correction",
    "request_correction",
    "add_allergy",
    "no_known_allergies",
    "set_allergy_status",
    "add_problem",
    "set_problem_status",
    "record_vitals",
    "save_note",
    "sign_note",
    "add_addendum",
    "set_flag",
    "clear_flag",
    "record_consent",
    "prescribe",
    "dispense",
    "request_refill",
    "decide_refill",
    "add_other_medication",
    "review_medications",
    "set_prescriber_details",
    "book_appointment",
    "book_series",
    "reschedule_appointment",
    "set_appointment_status",
    "upload_document",
    "review_document",
];

/// Functions under a record-changing permission (or a patient's) that stay open
/// while read-only: they read, or they make the patient safer (stopping a
/// medicine, honouring a patient's wish for no messages). A new function under
/// such a rule must be put in one list or the other (a test checks).
pub const OPEN_WHILE_READ_ONLY: &[&str] = &[
    "open_restricted",
    "my_unsigned_notes",
    "end_prescription",
    "dispensing_queue",
    "refill_requests",
    "day_calendar",
    "booking_search",
    "set_message_opt_out",
    "my_record",
    "my_chart",
    "my_access_log",
    "my_bills",
    "pay_online",
    "my_prescriptions",
];

/// Whether the server function at `path` (`/api/name`) changes the record and
/// is refused while the clinic is read-only.
pub fn changes_records(path: &str) -> bool {
    path.strip_prefix("/api/")
        .is_some_and(|name| RECORD_WRITES.contains(&name))
}

/// Server functions and page areas that need a feature of the clinic's plan, on
/// top of their access rule. Without it: 402 with the upgrade message.
pub const FEATURES: &[(&str, Feature)] = &[
    ("clinic_report", Feature::Reports),
    ("/staff/reports", Feature::Reports),
    // Stopping a medicine and reading the list stay possible on any plan.
    ("prescribe", Feature::Prescriptions),
    ("dispensing_queue", Feature::Prescriptions),
    ("dispense", Feature::Prescriptions),
    ("medication_alert_report", Feature::Prescriptions),
    ("/staff/pharmacy", Feature::Prescriptions),
    ("decide_refill", Feature::Prescriptions),
    ("book_appointment", Feature::Appointments),
    ("book_series", Feature::Appointments),
    ("reschedule_appointment", Feature::Appointments),
    ("/staff/calendar", Feature::Appointments),
];

/// The plan feature a server function (`/api/name`) or page path needs.
pub fn required_feature(path: &str) -> Option<Feature> {
    let key = path.strip_prefix("/api/").unwrap_or(path);
    FEATURES
        .iter()
        .find(|(name, _)| {
            *name == key
                || key
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(|(_, f)| *f)
}

/// Protected page areas (path prefixes after tenant resolution); the longest match
/// wins. Paths not listed are public.
pub const PAGES: &[(&str, Rule)] = &[
    ("/staff", R::Staff(None)),
    ("/staff/users", R::Staff(Some(P::UsersManage))),
    ("/staff/audit", R::Staff(Some(P::AuditRead))),
    ("/staff/patients", R::Staff(Some(P::PatientsRead))),
    ("/staff/security", R::Staff(Some(P::SettingsManage))),
    ("/staff/branding", R::Staff(Some(P::BrandingManage))),
    ("/staff/settings", R::Staff(Some(P::SettingsManage))),
    ("/staff/patient-fields", R::Staff(Some(P::SettingsManage))),
    ("/staff/domain", R::Staff(Some(P::SettingsManage))),
    ("/staff/plan", R::Staff(Some(P::SettingsManage))),
    ("/staff/reports", R::Staff(Some(P::ReportsRead))),
    ("/staff/pharmacy", R::Staff(Some(P::PrescriptionsDispense))),
    ("/staff/refills", R::Staff(Some(P::PrescriptionsCreate))),
    ("/staff/formulary", R::Staff(Some(P::SettingsManage))),
    ("/staff/calendar", R::Staff(Some(P::AppointmentsManage))),
    ("/staff/scheduling", R::Staff(Some(P::SettingsManage))),
    ("/staff/billing", R::Staff(Some(P::PaymentsTake))),
    ("/staff/revenue", R::Staff(Some(P::RevenueRead))),
    ("/portal", R::Patient),
    ("/portal/signin", R::Public),
    ("/account", R::SignedIn),
    ("/admin", R::Platform(None)),
];

/// The rule of a server function, by the endpoint path it was called on.
pub fn server_function_rule(path: &str) -> Option<Rule> {
    let endpoint = path.strip_prefix("/api/")?;
    SERVER_FUNCTIONS
        .iter()
        .find(|(name, _)| *name == endpoint)
        .map(|(_, rule)| *rule)
}

/// The rule of a page path; `None` for public pages.
pub fn page_rule(path: &str) -> Option<Rule> {
    PAGES
        .iter()
        .filter(|(prefix, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, rule)| *rule)
        .filter(|rule| *rule != Rule::Public)
}

/// A safe place to go after signing in: a path on this site, never another origin.
///
/// Browsers drop tabs and line breaks inside a URL and read a backslash as `/`, so
/// `/\t/evil.example` would become `//evil.example` (another origin); any control
/// character, backslash or second leading slash sends the person to `fallback`.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n) if is_same_site_path(n) => n.to_owned(),
        _ => fallback.to_owned(),
    }
}

fn is_same_site_path(next: &str) -> bool {
    let mut after_slash = match next.strip_prefix('/') {
        Some(rest) => rest.chars(),
        None => return false,
    };
    next.len() <= 512
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !matches!(after_slash.next(), Some('/'))
        && !next.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::permissions::PlatformRole;
    use crate::identity::{Email, Role};
    use uuid::Uuid;

    fn staff(role: Role) -> Viewer {
        Viewer {
            account_id: Uuid::nil(),
            email: Email::parse("a@b.com").expect("email"),
            display_name: "A".into(),
            standing: Standing::Staff {
                member_id: Uuid::nil(),
                role,
            },
            totp_enabled: false,
            must_set_up_two_factor: false,
            billing: None,
            support: None,
        }
    }

    #[test]
    fn rules_follow_the_matrix() {
        let rule = server_function_rule("/api/invite_staff").expect("listed");
        assert_eq!(rule.decide(None), Decision::SignIn);
        assert_eq!(rule.decide(Some(&staff(Role::Admin))), Decision::Allow);
        assert_eq!(rule.decide(Some(&staff(Role::Nurse))), Decision::Deny);
        let mut operator = staff(Role::Owner);
        operator.standing = Standing::Platform {
            role: PlatformRole::SuperAdmin,
        };
        assert_eq!(rule.decide(Some(&operator)), Decision::Deny);
    }

    #[test]
    fn every_function_that_may_change_a_record_is_classified_for_read_only_clinics() {
        let writes = [
            P::PatientsCreate,
            P::PatientsUpdate,
            P::PatientsDelete,
            P::ClinicalWrite,
            P::PrescriptionsCreate,
            P::PrescriptionsDispense,
            P::AppointmentsManage,
        ];
        for (name, rule) in SERVER_FUNCTIONS {
            let may_write = match rule {
                R::Staff(Some(p)) => writes.contains(p),
                R::Patient => true,
                _ => false,
            };
            let listed = RECORD_WRITES.contains(name) || OPEN_WHILE_READ_ONLY.contains(name);
            assert!(
                !may_write || listed,
                "{name}: put it in RECORD_WRITES or OPEN_WHILE_READ_ONLY"
            );
        }
        for name in RECORD_WRITES.iter().chain(OPEN_WHILE_READ_ONLY) {
            assert!(
                server_function_rule(&format!("/api/{name}")).is_some(),
                "{name} is not a server function"
            );
            assert!(
                !(RECORD_WRITES.contains(name) && OPEN_WHILE_READ_ONLY.contains(name)),
                "{name} is in both lists"
            );
        }
        assert!(changes_records("/api/save_note"));
        assert!(!changes_records("/api/chart"));
        assert!(!changes_records("/api/take_payment"));
    }

    #[test]
    fn unknown_functions_have_no_rule() {
        assert_eq!(server_function_rule("/api/drop_everything"), None);
    }

    #[test]
    fn the_longest_page_prefix_wins() {
        assert_eq!(
            page_rule("/staff/users"),
            Some(R::Staff(Some(P::UsersManage)))
        );
        assert_eq!(
            page_rule("/staff/users/1"),
            Some(R::Staff(Some(P::UsersManage)))
        );
        assert_eq!(page_rule("/staffroom"), None);
        assert_eq!(page_rule("/portal/signin"), None);
        assert_eq!(page_rule("/portal"), Some(R::Patient));
        assert_eq!(page_rule("/"), None);
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/staff/users"), "/staff"), "/staff/users");
        assert_eq!(
            safe_next(Some("/staff/patients?q=a%2F%2Fb"), "/staff"),
            "/staff/patients?q=a%2F%2Fb"
        );
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "staff",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\u{0}/evil.example",
            "/\u{1b}/x",
            "\t//evil.example",
            " //evil.example",
            "/\\/evil.example",
        ] {
            assert_eq!(safe_next(Some(bad), "/staff"), "/staff", "{bad}");
        }
    }
}

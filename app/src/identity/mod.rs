//! People who sign in: platform-wide accounts, their memberships in tenants, and
//! everything about proving who they are (passwords, sessions, two-factor,
//! invitations, resets) and what they may do (the permission matrix, the audit).

pub mod access;
pub mod api;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod credentials;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod invitations;
pub mod pages;
pub mod password;
pub mod permissions;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod sessions;
#[cfg(feature = "ssr")]
pub mod totp;

use permissions::{Permission, PlatformPermission, PlatformRole};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// A normalized email address: trimmed and lower-cased, so one person has one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let invalid = || "enter an email address such as name@clinic.com".to_string();
        if email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }
}

crate::text::text_newtype!(Email, String);

/// A staff member's role inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Doctor,
    Nurse,
    Receptionist,
    Billing,
    LabTechnician,
    Pharmacist,
}

text_enum!(Role {
    Owner => "owner",
    Admin => "admin",
    Manager => "manager",
    Doctor => "doctor",
    Nurse => "nurse",
    Receptionist => "receptionist",
    Billing => "billing",
    LabTechnician => "lab_technician",
    Pharmacist => "pharmacist",
});

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Doctor,
        Role::Nurse,
        Role::Receptionist,
        Role::Billing,
        Role::LabTechnician,
        Role::Pharmacist,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Deactivated,
}

text_enum!(MemberStatus { Active => "active", Deactivated => "deactivated" });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub email: Email,
    pub display_name: String,
}

/// An account's membership of one tenant's staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: Uuid,
    pub account_id: Uuid,
    pub role: Role,
    pub status: MemberStatus,
    pub display_name: String,
}

/// Which door a person signed in through: a tenant's staff app, a tenant's patient
/// portal, or the platform console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Staff,
    Patient,
    Platform,
}

text_enum!(Audience { Staff => "staff", Patient => "patient", Platform => "platform" });

/// What a signed-in person is, on the site they are looking at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Standing {
    Staff { member_id: Uuid, role: Role },
    Patient { patient_id: Uuid },
    Platform { role: PlatformRole },
}

/// The signed-in person of the current request. The server derives it from the
/// session and the database on every request; pages receive a copy to decide what
/// to show, but every decision that matters is taken again on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub account_id: Uuid,
    pub email: Email,
    pub display_name: String,
    pub standing: Standing,
    pub totp_enabled: bool,
    /// Two-factor is required here and not yet set up: only the security page opens.
    #[serde(default)]
    pub must_set_up_two_factor: bool,
    /// Set while a platform operator works inside a clinic as support.
    #[serde(default)]
    pub support: Option<SupportAccess>,
    /// Staff only: MediSync's subscription of this clinic is in arrears.
    #[serde(default)]
    pub billing: Option<BillingNotice>,
}

/// What staff are told while the clinic's subscription is in arrears (the
/// banner); the server decides what is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingNotice {
    /// The records are read-only now (reading and exporting go on).
    pub read_only: bool,
    /// The day they become (or became) read-only, in the clinic's format.
    pub read_only_on: Option<String>,
}

/// A support session as the clinic's pages show it (the banner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportAccess {
    pub operator_email: String,
    pub reason: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The role a support session acts with inside a clinic.
pub const SUPPORT_ROLE: Role = Role::Admin;

/// The permissions a support session may use (within [`SUPPORT_ROLE`]'s), and no
/// others: nothing that could outlast the session (staff, roles, sign-in policy,
/// the clinic's domain and plan) or destroy records. A permission added later is
/// withheld from support until it is listed here. Which server functions a support
/// session may call at all is decided in one more list,
/// [`access::SUPPORT_MAY_CALL`].
pub const SUPPORT_PERMISSIONS: &[Permission] = &[
    Permission::PatientsRead,
    Permission::PatientsCreate,
    Permission::PatientsUpdate,
    Permission::AppointmentsManage,
    Permission::BillingManage,
    Permission::ReportsRead,
    Permission::BrandingManage,
    Permission::AuditRead,
];

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        match self.standing {
            Standing::Staff { role, .. } => Some(role),
            _ => None,
        }
    }

    /// Whether this viewer holds a staff permission in the current tenant. A
    /// support session holds only [`SUPPORT_PERMISSIONS`].
    pub fn can(&self, permission: Permission) -> bool {
        if self.support.is_some() && !SUPPORT_PERMISSIONS.contains(&permission) {
            return false;
        }
        self.role().is_some_and(|r| r.can(permission))
    }

    pub fn can_platform(&self, permission: PlatformPermission) -> bool {
        matches!(self.standing, Standing::Platform { role } if role.can(permission))
    }

    pub fn audience(&self) -> Audience {
        match self.standing {
            Standing::Staff { .. } => Audience::Staff,
            Standing::Patient { .. } => Audience::Patient,
            Standing::Platform { .. } => Audience::Platform,
        }
    }
}

/// What each audit action means, in words a clinic's administrator reads. An
/// action missing here is shown by its code (a test keeps every recorded action
/// listed). Server-side only: the words travel with each entry, so the browser's
/// download does not carry the whole list.
#[cfg(feature = "ssr")]
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("patient.registered", "Registered a patient"),
    ("patient.archived", "Archived a patient's record"),
    ("patient.updated", "Changed a patient's details"),
    ("patient.restored", "Restored an archived patient's record"),
    ("chart.viewed", "Opened a patient's chart"),
    ("patient.contact_added", "Added an emergency contact"),
    ("patient_field.defined", "Added a custom patient field"),
    (
        "patient.merged",
        "Merged another record into this patient's",
    ),
    (
        "patient.merged_away",
        "Merged this record into another patient's",
    ),
    ("patient_field.retired", "Retired a custom patient field"),
    (
        "patient.erased",
        "Carried out an erasure request (record restricted)",
    ),
    (
        "patient.restricted_opened",
        "Opened a restricted record, giving a reason",
    ),
    ("patient.purged", "Purged a record whose retention ended"),
    (
        "patient.import_started",
        "Started or resumed an import of patients",
    ),
    (
        "patient.import_rolled_back",
        "Rolled back an import, removing the patients it registered",
    ),
    (
        "patient.import_report_read",
        "Downloaded the rows an import did not register",
    ),
    ("prescriptions.viewed", "Opened the patient's medicines"),
    ("prescription.created", "Wrote a prescription"),
    (
        "prescription.alert_overridden",
        "Went ahead despite a safety alert, giving a reason",
    ),
    (
        "prescription.unchecked_acknowledged",
        "Acknowledged a safety check that was not performed",
    ),
    ("prescription.discontinued", "Discontinued a prescription"),
    ("prescription.completed", "Marked a prescription completed"),
    ("prescription.dispensed", "Dispensed medicine"),
    (
        "medicine.added",
        "Added a medicine to the clinic's formulary",
    ),
    (
        "medication.recorded_elsewhere",
        "Recorded a medicine taken from elsewhere",
    ),
    (
        "medication.reviewed",
        "Reviewed the medicines (continued or stopped)",
    ),
    ("medicine.retired", "Retired a medicine from the formulary"),
    ("appointment.booked", "Booked an appointment"),
    ("invoice.drafted", "Started an invoice"),
    ("invoice.changed", "Changed a draft invoice"),
    ("invoice.deleted", "Deleted a draft invoice"),
    ("invoice.issued", "Issued an invoice"),
    (
        "invoice.emailed",
        "Emailed a patient that a document waits in their portal",
    ),
    ("invoice.viewed", "Opened an invoice"),
    ("billing.viewed", "Opened a patient's billing"),
    ("credit_note.issued", "Issued a credit note"),
    ("payment.recorded", "Recorded a payment"),
    (
        "payment.credit_applied",
        "Applied a patient's credit to an invoice",
    ),
    ("refund.recorded", "Recorded a refund"),
    (
        "payment.received_online",
        "Recorded a payment the provider confirmed online",
    ),
    ("payment.page_opened", "Opened an online payment page"),
    (
        "billing.payments_connected",
        "Connected an online payment provider",
    ),
    (
        "billing.payments_disconnected",
        "Disconnected an online payment provider",
    ),
    ("billing.settings_changed", "Changed the billing settings"),
    ("service.saved", "Saved a service in the catalog"),
    ("invoice.printed", "Printed an invoice or credit note"),
    ("receipt.printed", "Printed a receipt"),
    (
        "receipt.emailed",
        "Emailed a patient that a receipt waits in their portal",
    ),
    ("appointment.moved", "Moved an appointment"),
    (
        "calendar_feed.created",
        "Made a new private link to their calendar feed",
    ),
    ("calendar_feed.revoked", "Turned their calendar feed off"),
    (
        "queue.joined",
        "Gave a walk-in a token in the waiting-room queue",
    ),
    (
        "queue.changed",
        "Called, started, finished or skipped a patient in the queue",
    ),
    (
        "queue_board.created",
        "Made a new link to the waiting-room screen",
    ),
    ("queue_board.revoked", "Turned the waiting-room screen off"),
    ("waitlist.joined", "Put a patient on the waitlist"),
    ("waitlist.withdrawn", "Took a patient off the waitlist"),
    (
        "waitlist.window_changed",
        "Changed how long a waitlist offer holds its time",
    ),
    ("appointment.cancelled", "Cancelled an appointment"),
    (
        "appointment.status_changed",
        "Marked an appointment arrived, in consultation, completed or no-show",
    ),
    ("location.added", "Added a location"),
    (
        "location.hours_changed",
        "Changed a location's opening hours",
    ),
    ("location.retired", "Retired a location"),
    ("location.restored", "Restored a location"),
    (
        "practitioner.saved",
        "Changed a practitioner's booking profile",
    ),
    ("appointment_type.saved", "Changed a visit type"),
    (
        "hours.changed",
        "Changed practitioners' hours, leave or holidays",
    ),
    ("scheduling.rules_changed", "Changed the booking rules"),
    (
        "messaging.settings_changed",
        "Changed patient reminders or messaging hours",
    ),
    (
        "messages.opted_out",
        "Recorded that the patient wants no messages by a channel",
    ),
    (
        "messages.opted_in",
        "Recorded that the patient wants messages by a channel again",
    ),
    ("messages.patient_stopped", "The patient sent STOP"),
    ("messages.patient_restarted", "The patient sent START"),
    ("messaging.channel_connected", "Connected SMS or WhatsApp"),
    (
        "messaging.channel_disconnected",
        "Disconnected SMS or WhatsApp",
    ),
    ("messaging.test_sent", "Sent a test text"),
    ("medicine.restored", "Restored a medicine to the formulary"),
    (
        "staff.prescriber_details_changed",
        "Changed the qualifications printed on their prescriptions",
    ),
    (
        "prescription.printed",
        "Printed a prescription (clinic copy)",
    ),
    ("portal.prescription_printed", "Printed their prescription"),
    ("prescription.refill_approved", "Approved a refill request"),
    ("prescription.refill_declined", "Declined a refill request"),
    ("portal.prescriptions_viewed", "Opened their medicines"),
    ("portal.refill_requested", "Asked for a refill"),
    ("prescriptions.queue_viewed", "Opened the dispensing queue"),
    (
        "portal.erasure_requested",
        "Asked the clinic to erase their data",
    ),
    ("patient.insurance_added", "Added an insurance entry"),
    (
        "patient.identifier_added",
        "Added an identifier from another system",
    ),
    (
        "patient.entry_removed",
        "Removed a contact, insurance or identifier",
    ),
    (
        "portal.record_viewed",
        "Opened their own record in the portal",
    ),
    ("allergy.recorded", "Recorded an allergy"),
    ("allergy.none_known", "Recorded no known allergies"),
    ("allergy.status_changed", "Changed an allergy's status"),
    ("problem.recorded", "Recorded a problem"),
    ("problem.status_changed", "Changed a problem's status"),
    ("vitals.recorded", "Recorded vital signs"),
    ("note.saved", "Saved a draft visit note"),
    ("note.signed", "Signed a visit note"),
    ("note.addendum_signed", "Signed an addendum to a visit note"),
    ("flag.set", "Set a flag on a chart"),
    ("flag.cleared", "Cleared a flag on a chart"),
    ("consent.granted", "Recorded a consent as granted"),
    ("consent.revoked", "Recorded a consent as revoked"),
    (
        "patient.correction_decided",
        "Answered a request to correct the patient's details",
    ),
    (
        "portal.correction_requested",
        "Asked the clinic to correct their details",
    ),
    ("document.uploaded", "Filed a document on a chart"),
    ("document.reviewed", "Reviewed a document"),
    ("document.approved", "Approved a document for the patient"),
    (
        "document.entered_in_error",
        "Marked a document entered in error",
    ),
    ("document.downloaded", "Downloaded a document"),
    ("record.exported", "Exported the whole record (FHIR)"),
    (
        "portal.record_exported",
        "Downloaded their own whole record in the portal",
    ),
    (
        "portal.document_downloaded",
        "Downloaded a document of their own in the portal",
    ),
    ("sign_in.succeeded", "Signed in"),
    (
        "account.clinics_emailed",
        "Emailed the clinics where this address can sign in",
    ),
    (
        "sign_in.failed",
        "Sign-in refused (wrong email or password, or no access here)",
    ),
    ("sign_in.refused_locked", "Sign-in refused: account locked"),
    ("sign_in.second_factor_failed", "Wrong two-factor code"),
    ("sign_out", "Signed out"),
    ("sign_out.all_devices", "Signed out on every device"),
    (
        "account.locked",
        "Account locked after repeated failed sign-ins",
    ),
    ("password.changed", "Changed their password"),
    (
        "password.reset_requested",
        "Asked for a password reset link",
    ),
    ("password.reset", "Reset their password"),
    ("two_factor.enabled", "Turned on two-factor sign-in"),
    ("two_factor.removed", "Turned off two-factor sign-in"),
    ("invitation.sent", "Sent an invitation"),
    ("invitation.accepted", "Accepted an invitation"),
    ("invitation.resent", "Sent an invitation again"),
    ("invitation.revoked", "Withdrew an invitation"),
    ("member.role_changed", "Changed a staff member's role"),
    ("member.deactivated", "Deactivated a staff member"),
    ("member.reactivated", "Reactivated a staff member"),
    ("clinic.created", "Created the clinic"),
    ("branding.changed", "Changed the branding"),
    ("branding.reset", "Reset the branding to the default"),
    ("branding.logo_uploaded", "Uploaded a logo"),
    ("branding.logo_removed", "Removed the logo"),
    ("settings.changed", "Changed the clinic settings"),
    ("settings.security_changed", "Changed the sign-in policy"),
    ("settings.domain_changed", "Changed the custom domain"),
    ("settings.domain_verified", "Proved the custom domain"),
    ("plan.changed", "Changed the plan"),
    (
        "subscription.checkout_opened",
        "Went to the subscription payment page",
    ),
    ("subscription.started", "Subscription started"),
    ("subscription.paid", "Subscription payment received"),
    ("subscription.payment_failed", "Subscription payment failed"),
    (
        "subscription.suspended",
        "Suspended for an unpaid subscription",
    ),
    (
        "subscription.grace_extended",
        "Extended the grace period of an unpaid subscription",
    ),
    ("tenant.suspended", "Clinic suspended by MediSync"),
    ("tenant.reactivated", "Clinic reactivated by MediSync"),
    (
        "job.requeued",
        "Background job sent back to the queue by MediSync",
    ),
    ("tenant.trial_ended", "Trial ended"),
    (
        "support.session_started",
        "MediSync support opened a support session",
    ),
    ("support.session_ended", "MediSync support session ended"),
    (
        "access.denied",
        "Opened something their role does not allow",
    ),
];

/// The audit page's filter: a label and the action-code prefix it selects.
pub const AUDIT_FILTERS: &[(&str, &str)] = &[
    ("", "All activity"),
    ("sign_", "Sign-in and sign-out"),
    ("account.", "Account locks"),
    ("password.", "Passwords"),
    ("two_factor.", "Two-factor sign-in"),
    ("invitation.", "Invitations"),
    ("member.", "Staff changes"),
    ("branding.", "Branding"),
    ("settings.", "Settings"),
    ("plan.", "Plan"),
    ("support.", "Support sessions"),
    ("tenant.", "Suspension and trial"),
    ("access.", "Refused access"),
    ("patient.", "Patient registry"),
    ("chart.", "Chart reads"),
    ("allergy.", "Allergies"),
    ("problem.", "Problems"),
    ("vitals.", "Vital signs"),
    ("note.", "Visit notes"),
    ("flag.", "Chart flags"),
    ("consent.", "Consents"),
    ("document.", "Documents"),
    ("record.", "Record exports"),
];

/// The sentence for an audit action (its code when it has none).
#[cfg(feature = "ssr")]
pub fn describe_action(code: &str) -> &str {
    AUDIT_ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, words)| words)
}

/// One line of a tenant's audit trail, as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// `occurred_at` in the clinic's time zone and date format.
    #[serde(default)]
    pub when: String,
    pub actor: Option<String>,
    pub action: String,
    /// The action in words ([`describe_action`]).
    #[serde(default)]
    pub description: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalized_and_validated() {
        assert_eq!(
            Email::parse("  Dr.Who@Clinic.COM ").map(String::from),
            Ok("dr.who@clinic.com".to_string())
        );
        for bad in [
            "",
            "no-at-sign",
            "@clinic.com",
            "a@b",
            "a b@c.com",
            "a@.com",
            "a@c..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        assert_eq!("lab_technician".parse::<Role>(), Ok(Role::LabTechnician));
        assert_eq!(Role::Pharmacist.as_str(), "pharmacist");
        assert!("superuser".parse::<Role>().is_err());
    }
}

#![allow(dead_code)]

use chrono::NaiveDate;
use uuid::Uuid;

use app::db::Db;
use app::identity::{self, Email, Role, StaffMember};
use app::patients::{self, Mrn, NewPatient, Patient, Sex};
use app::tenancy::{
    self, Branding, NewTenant, Slug, Tenant, TenantKind, TenantSettings, TenantStatus,
};

pub struct Clinic {
    pub tenant: Tenant,
    pub doctor: StaffMember,
    pub patient: Patient,
}

pub fn new_tenant(slug: &str, name: &str, status: TenantStatus) -> NewTenant {
    NewTenant {
        slug: Slug::parse(slug).expect("valid slug"),
        name: name.into(),
        kind: TenantKind::Clinic,
        status,
        branding: Branding::default(),
        settings: TenantSettings::default(),
    }
}

pub fn new_patient(mrn: &str, given: &str, family: &str, doctor: Option<Uuid>) -> NewPatient {
    NewPatient {
        mrn: Mrn::parse(mrn).expect("valid mrn"),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).expect("date"),
        sex: Sex::Unknown,
        email: None,
        phone: None,
        primary_staff_id: doctor,
    }
}

/// A tenant with one doctor and one patient. Patient MRNs are the same in every
/// clinic on purpose: uniqueness is per tenant.
pub async fn clinic(db: &Db, slug: &str, doctor_email: &str) -> Clinic {
    let mut platform = db.begin_platform().await.expect("begin");
    let tenant = tenancy::db::create(
        &mut platform,
        &new_tenant(slug, &format!("{slug} clinic"), TenantStatus::Active),
    )
    .await
    .expect("create tenant");
    let email = Email::parse(doctor_email).expect("email");
    let account = identity::db::create_account(&mut platform, &email, "Dr. Test")
        .await
        .expect("create account");
    platform.commit().await.expect("commit");

    let mut tx = db.begin_for(tenant.id).await.expect("begin tenant");
    let doctor = identity::db::add_staff(&mut tx, &account, Role::Doctor)
        .await
        .expect("add staff");
    let patient =
        patients::db::create(&mut tx, &new_patient("MRN-1", "Pat", slug, Some(doctor.id)))
            .await
            .expect("create patient");
    tx.commit().await.expect("commit");
    Clinic {
        tenant,
        doctor,
        patient,
    }
}

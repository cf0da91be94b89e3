//! Server functions of the patient registry. The server checks each one's rule in
//! `identity::access::SERVER_FUNCTIONS` before it runs.
// Forms post their fields as arguments, one per input.
#![allow(clippy::too_many_arguments)]

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Paged;
use crate::error::AppError;

/// Whether a patient can use the clinic's portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PortalStatus {
    /// Never invited, or every invitation lapsed or was replaced.
    #[default]
    None,
    /// An invitation waits for an answer.
    Invited,
    /// The patient has a portal account.
    Active,
}

/// A patient row for staff lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: Uuid,
    pub mrn: String,
    pub name: String,
    pub email: Option<String>,
    /// Date of birth in the clinic's format, and age.
    #[serde(default)]
    pub born: String,
    #[serde(default)]
    pub portal: PortalStatus,
}

impl From<super::Patient> for PatientSummary {
    /// The summary with ISO dates and no portal state (lists fill both in).
    fn from(p: super::Patient) -> Self {
        Self {
            id: p.id,
            mrn: p.mrn.to_string(),
            name: p.display_name(),
            email: p.email.clone(),
            born: p.birth_date.to_string(),
            portal: if p.portal_account {
                PortalStatus::Active
            } else {
                PortalStatus::None
            },
        }
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    pub use crate::identity::auth;
    pub use crate::site::current_site;

    use uuid::Uuid;

    use crate::db::TenantTx;
    use crate::error::AppError;
    use crate::identity::audit::{self, Actor};
    use crate::identity::{Standing, Viewer};
    use crate::tenancy::TenantPublic;

    /// Who is writing: the clinic, the viewer, their staff id and role.
    pub struct Writer {
        pub tenant: TenantPublic,
        pub viewer: Viewer,
        pub staff_id: Uuid,
        pub role: &'static str,
    }

    pub fn writer() -> Result<Writer, AppError> {
        let (tenant, viewer, role) = staff()?;
        let Standing::Staff { member_id, .. } = viewer.standing else {
            return Err(AppError::Forbidden.respond());
        };
        Ok(Writer {
            tenant,
            viewer,
            staff_id: member_id,
            role,
        })
    }

    impl Writer {
        /// A transaction in the clinic, once the patient is known to be its own.
        pub async fn open(&self, patient: Uuid) -> Result<TenantTx, AppError> {
            let db = auth::db()?;
            let mut tx = db.begin_for(self.tenant.id).await?;
            super::super::db::get(&mut tx, patient)
                .await?
                .ok_or_else(|| AppError::NotFound.respond())?;
            ensure_visible(&mut tx, &self.viewer, patient).await?;
            Ok(tx)
        }

        /// Audits a change to the patient's chart and commits.
        pub async fn done(
            &self,
            mut tx: TenantTx,
            patient: Uuid,
            action: &str,
            target: Option<&str>,
        ) -> Result<(), AppError> {
            self.audit(&mut tx, patient, action, target).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Audits a change to the clinic's own set-up (no patient) and commits.
        pub async fn finish(
            &self,
            mut tx: TenantTx,
            action: &str,
            target: Option<&str>,
        ) -> Result<(), AppError> {
            audit::record(
                &mut tx,
                Actor::account(self.viewer.account_id, self.viewer.email.as_str()),
                action,
                target,
                &auth::request_meta(),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }

        /// Audits one step about the patient inside `tx` (committed by the caller).
        pub async fn audit(
            &self,
            tx: &mut TenantTx,
            patient: Uuid,
            action: &str,
            target: Option<&str>,
        ) -> Result<(), AppError> {
            audit::record_for_patient(
                tx,
                Actor::account(self.viewer.account_id, self.viewer.email.as_str()),
                Some(self.role),
                patient,
                action,
                target,
                &auth::request_meta(),
            )
            .await?;
            Ok(())
        }
    }

    /// The staff member whose own patients are all `viewer` may see, when the
    /// clinic limits doctors to their own patients; `None`: everyone.
    pub async fn own_patients_of(
        tx: &mut TenantTx,
        viewer: &Viewer,
    ) -> Result<Option<Uuid>, AppError> {
        match viewer.standing {
            Standing::Staff { member_id, role }
                if super::super::db::sees_own_patients_only(tx, role).await? =>
            {
                Ok(Some(member_id))
            }
            _ => Ok(None),
        }
    }

    /// Refuses (as not found) a patient `viewer` may not see under the clinic's
    /// doctor-level visibility.
    pub async fn ensure_visible(
        tx: &mut TenantTx,
        viewer: &Viewer,
        patient: Uuid,
    ) -> Result<(), AppError> {
        if let Some(staff) = own_patients_of(tx, viewer).await? {
            if !super::super::db::is_own_patient(tx, staff, patient).await? {
                return Err(AppError::NotFound.respond());
            }
        }
        let member = match viewer.standing {
            Standing::Staff { member_id, .. } => Some(member_id),
            _ => None,
        };
        if let Some(opened) = super::super::erasure::db::restricted_for(tx, patient, member).await?
        {
            let admin = viewer.can(crate::identity::permissions::Permission::PatientsDelete);
            if !(admin && opened) {
                return Err(AppError::field(
                    "restricted",
                    if admin {
                        "this record is restricted after an erasure request; give a reason to open it for an hour"
                    } else {
                        "this record is restricted after an erasure request; only an administrator can open it, with a reason"
                    },
                )
                .respond());
            }
        }
        Ok(())
    }

    pub fn tenant() -> Result<TenantPublic, AppError> {
        current_site()
            .tenant
            .ok_or_else(|| AppError::NotFound.respond())
    }

    /// The tenant, the staff viewer and their role name, for audit rows.
    pub fn staff() -> Result<(TenantPublic, Viewer, &'static str), AppError> {
        let (_, viewer) = auth::staff_viewer()?;
        let role = match viewer.standing {
            Standing::Staff { role, .. } => role.as_str(),
            _ => return Err(AppError::Forbidden.respond()),
        };
        Ok((tenant()?, viewer, role))
    }

    /// Today's date where the clinic is.
    pub fn clinic_today(tenant: &TenantPublic) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&tenant.settings.tz())
            .date_naive()
    }

    /// The default country for local phone numbers, from the clinic's time zone.
    pub fn clinic_country(tenant: &TenantPublic) -> Option<&'static str> {
        super::super::phone::country_of_timezone(&tenant.settings.timezone)
    }
}

/// A page of the clinic's patients, found by the search box's text (names in any
/// order, record number, phone, email, date of birth), by name.
#[server(prefix = "/api", endpoint = "list_patients")]
pub async fn list_patients(
    query: Option<String>,
    page: Option<u32>,
) -> Result<Paged<PatientSummary>, AppError> {
    use ssr::*;
    let (tenant, (_, viewer)) = (tenant()?, auth::staff_viewer()?);
    let query = crate::text::search_text("query", query).map_err(AppError::respond)?;
    let parsed = super::search::parse(
        query.as_deref().unwrap_or(""),
        &tenant.settings.date_format,
        clinic_country(&tenant),
    );
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let own_of = own_patients_of(&mut tx, &viewer).await?;
    let found = super::db::search_page_for(&mut tx, &parsed, page.unwrap_or(1), 25, own_of).await?;
    let invited = crate::identity::invitations::patients_invited(&mut tx).await?;
    let today = clinic_today(&tenant);
    let (items, position) = (
        found.items,
        Paged::<()>::new(Vec::new(), found.page, found.limit, found.total_items),
    );
    let items = items
        .into_iter()
        .map(|p| PatientSummary {
            id: p.id,
            mrn: p.mrn.to_string(),
            name: p.display_name(),
            email: p.email.clone(),
            born: format!(
                "{} ({})",
                tenant.settings.format_day(p.birth_date),
                p.age_on(today)
            ),
            portal: if p.portal_account {
                PortalStatus::Active
            } else if invited.contains(&p.id) {
                PortalStatus::Invited
            } else {
                PortalStatus::None
            },
        })
        .collect();
    Ok(Paged::new(
        items,
        position.page,
        position.limit,
        position.total_items,
    ))
}

/// Registers a patient. The record number is the clinic's next one unless typed.
/// Someone who may already be registered (same birth date and a shared name, or
/// the same phone or email) is shown before saving: the form is sent again with
/// `confirm_new` to register them anyway. Lands on the new patient's chart.
#[server(prefix = "/api", endpoint = "register_patient")]
pub async fn register_patient(
    mrn: Option<String>,
    given_name: String,
    family_name: String,
    preferred_name: Option<String>,
    birth_date: String,
    sex: String,
    gender_identity: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    preferred_language: Option<String>,
    blood_type: Option<String>,
    confirm_new: Option<String>,
    custom: Option<HashMap<String, String>>,
) -> Result<String, AppError> {
    use ssr::*;
    let Writer {
        tenant,
        viewer,
        staff_id,
        role,
    } = writer()?;
    let typed_mrn = mrn
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .map(|m| super::Mrn::parse(&m))
        .transpose()
        .map_err(|m| AppError::field("mrn", m).respond())?;
    let mut new = read_demographics(
        &tenant,
        given_name,
        family_name,
        preferred_name,
        birth_date,
        sex,
        gender_identity,
        phone,
        email,
        address,
        preferred_language,
        blood_type,
    )?;
    let field = |name: &str, m: String| AppError::field(name, m).respond();

    let db = auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    // A doctor who sees only their own patients is the one they register.
    if let Some(me) = own_patients_of(&mut tx, &viewer).await? {
        new.primary_staff_id = Some(me);
    }
    let custom = super::fields::api::ssr::read_values(&mut tx, &custom.unwrap_or_default()).await?;
    if confirm_new.is_none() {
        let candidates = super::db::possible_duplicates(&mut tx, &new).await?;
        if !candidates.is_empty() {
            let listed: Vec<String> = candidates
                .iter()
                .map(|p| {
                    format!(
                        "{} ({}, born {})",
                        p.display_name(),
                        p.mrn,
                        tenant.settings.format_day(p.birth_date)
                    )
                })
                .collect();
            return Err(field(
                "confirm_new",
                format!(
                    "this may be someone already registered: {}. Open their chart instead, or tick \"This is a different person\" and register again",
                    listed.join("; ")
                ),
            ));
        }
    }
    if let Err(limit) =
        crate::plans::db::ensure_room(&mut tx, crate::plans::LimitKind::Patients, 1).await?
    {
        return Err(AppError::Upgrade(limit.0).respond());
    }
    new.mrn = match typed_mrn {
        Some(m) => m,
        None => super::db::next_mrn(&mut tx, &default_prefix(&tenant)).await?,
    };
    let patient = super::db::create(&mut tx, &new)
        .await
        .map_err(|e| match e {
            crate::db::DbError::Conflict(_) => {
                field("mrn", "another patient has this record number".into())
            }
            other => AppError::from(other).respond(),
        })?;
    super::fields::api::ssr::keep_values(&mut tx, patient.id, &custom, staff_id).await?;
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        Some(role),
        patient.id,
        "patient.registered",
        Some(patient.mrn.as_str()),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(crate::forms::landing(
        current_site().href(&format!("/staff/patients/{}", patient.id)),
    ))
}

/// Archives a patient (hidden from lists and search; the record stays whole and
/// readable from its chart) or restores them. Nothing is deleted.
#[server(prefix = "/api", endpoint = "set_patient_archived")]
pub async fn set_patient_archived(patient_id: Uuid, archived: bool) -> Result<(), AppError> {
    use ssr::*;
    let (tenant, viewer, role) = staff()?;
    let db = auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    if let Some((_, into)) = super::merge::db::merged_into(&mut tx, patient_id).await? {
        return Err(AppError::field(
            "archived",
            format!(
                "this record was merged into {into} and stays archived; open that record instead"
            ),
        )
        .respond());
    }
    super::db::set_archived(&mut tx, patient_id, archived)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        Some(role),
        patient_id,
        if archived {
            "patient.archived"
        } else {
            "patient.restored"
        },
        None,
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reads and checks the demographics a registration or an edit posts; the error
/// names the field.
#[cfg(feature = "ssr")]
pub(crate) fn read_demographics(
    clinic: &crate::tenancy::TenantPublic,
    given_name: String,
    family_name: String,
    preferred_name: Option<String>,
    birth_date: String,
    sex: String,
    gender_identity: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    preferred_language: Option<String>,
    blood_type: Option<String>,
) -> Result<super::NewPatient, AppError> {
    use ssr::{clinic_country, clinic_today};
    let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let field = |name: &str, m: String| AppError::field(name, m).respond();
    let birth = chrono::NaiveDate::parse_from_str(birth_date.trim(), "%Y-%m-%d").map_err(|_| {
        field(
            "birth_date",
            "enter the date of birth (year, month, day)".into(),
        )
    })?;
    let sex = sex
        .parse::<super::Sex>()
        .map_err(|_| field("sex", "choose the sex recorded for the patient".into()))?;
    let phone = blank(phone)
        .map(|p| super::phone::normalize(&p, clinic_country(clinic)))
        .transpose()
        .map_err(|m| field("phone", m))?;
    let email = blank(email)
        .map(|e| crate::identity::Email::parse(&e))
        .transpose()
        .map_err(|m| field("email", m))?
        .map(|e| e.to_string());
    let blood_type = blank(blood_type)
        .map(|b| b.parse::<super::BloodType>())
        .transpose()
        .map_err(|_| field("blood_type", "choose a blood type from the list".into()))?;
    let new = super::NewPatient {
        mrn: super::Mrn::parse("PENDING").map_err(|_| AppError::Internal)?,
        given_name: given_name.trim().to_owned(),
        family_name: family_name.trim().to_owned(),
        birth_date: birth,
        sex,
        email,
        phone,
        primary_staff_id: None,
        details: super::Details {
            preferred_name: blank(preferred_name),
            gender_identity: blank(gender_identity),
            address: blank(address),
            preferred_language: blank(preferred_language),
            blood_type,
        },
    };
    new.validate(clinic_today(clinic))
        .map_err(|(name, m)| field(name, m))?;
    Ok(new)
}

/// Corrects a patient's demographics and status (the record number stays).
#[server(prefix = "/api", endpoint = "update_patient")]
pub async fn update_patient(
    patient_id: Uuid,
    given_name: String,
    family_name: String,
    preferred_name: Option<String>,
    birth_date: String,
    sex: String,
    gender_identity: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    preferred_language: Option<String>,
    blood_type: Option<String>,
    status: String,
    deceased_on: Option<String>,
    custom: Option<HashMap<String, String>>,
) -> Result<(), AppError> {
    use ssr::*;
    let Writer {
        tenant,
        viewer,
        staff_id,
        role,
    } = writer()?;
    let new = read_demographics(
        &tenant,
        given_name,
        family_name,
        preferred_name,
        birth_date,
        sex,
        gender_identity,
        phone,
        email,
        address,
        preferred_language,
        blood_type,
    )?;
    let status: super::PatientStatus = status
        .parse()
        .map_err(|_| AppError::field("status", "choose a status").respond())?;
    let deceased_on = match (status, deceased_on.filter(|d| !d.trim().is_empty())) {
        (super::PatientStatus::Deceased, Some(d)) => {
            let date = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                AppError::field("deceased_on", "enter the date of death (year, month, day)")
                    .respond()
            })?;
            if date > clinic_today(&tenant) || date < new.birth_date {
                return Err(AppError::field(
                    "deceased_on",
                    "the date of death must be between the birth date and today",
                )
                .respond());
            }
            Some(date)
        }
        (super::PatientStatus::Deceased, None) => {
            return Err(AppError::field("deceased_on", "enter the date of death").respond())
        }
        _ => None,
    };
    let db = auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    ensure_visible(&mut tx, &viewer, patient_id).await?;
    super::db::update(&mut tx, patient_id, &new)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    super::db::set_status(&mut tx, patient_id, status, deceased_on).await?;
    // A form without the clinic's fields (an older page, a script) leaves them be.
    if let Some(posted) = custom {
        let values = super::fields::api::ssr::read_values(&mut tx, &posted).await?;
        super::fields::api::ssr::keep_values(&mut tx, patient_id, &values, staff_id).await?;
    }
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        Some(role),
        patient_id,
        "patient.updated",
        None,
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A clinic's record numbers start with its slug's first letters, until it sets
/// its own prefix.
#[cfg(feature = "ssr")]
pub(crate) fn default_prefix(tenant: &crate::tenancy::TenantPublic) -> String {
    tenant.settings.record_prefix(tenant.slug.as_str())
}

#[server(prefix = "/api", endpoint = "invite_patient")]
pub async fn invite_patient(patient_id: Uuid, email: String) -> Result<(), AppError> {
    use crate::identity::{audit, invitations, secrets};
    use ssr::*;
    let (tenant, viewer, role) = staff()?;
    let tenant_id = tenant.id;
    let email = crate::identity::Email::parse(&email).map_err(|m| AppError::field("email", m))?;
    let db = auth::db()?;
    let mut tx = db.begin_for(tenant_id).await?;
    let patient = super::db::get(&mut tx, patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    ensure_visible(&mut tx, &viewer, patient_id).await?;
    if patient.portal_account {
        return Err(AppError::field(
            "email",
            "this patient already uses the portal; they can reset their password from its sign-in page",
        )
        .respond());
    }
    // Inviting again replaces the earlier link: one way in at a time.
    invitations::revoke_for_patient(&mut tx, patient.id).await?;
    let (token, digest) = secrets::new_token();
    invitations::create(
        &mut tx,
        &email,
        &invitations::Invited::Patient(patient.id),
        &digest,
        viewer.account_id,
    )
    .await?;
    let link = format!(
        "{}{}",
        auth::request_meta().origin,
        current_site().href(&format!("/invite?token={token}"))
    );
    let message = crate::mail::branded(
        Some(&tenant),
        &email,
        "Your patient portal",
        &[
            &format!("Hello {},", patient.given_name),
            &format!(
                "{} invites you to its patient portal, where you can see your record.",
                tenant.name
            ),
            "The link works once, within 72 hours.",
        ],
        ("Set up your portal account", &link),
    );
    crate::mail::enqueue(tx.platform(), &message).await?;
    audit::record_for_patient(
        &mut tx,
        audit::Actor::account(viewer.account_id, viewer.email.as_str()),
        Some(role),
        patient.id,
        "invitation.sent",
        Some(&format!("patient portal for {}", patient.mrn)),
        &auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a patient sees of their own record in the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnRecord {
    pub mrn: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: chrono::NaiveDate,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[server(prefix = "/api", endpoint = "my_record")]
pub async fn my_record() -> Result<OwnRecord, AppError> {
    use ssr::*;
    let tenant = tenant()?;
    let viewer = auth::viewer()?;
    let crate::identity::Standing::Patient { patient_id } = viewer.standing else {
        return Err(AppError::Forbidden.respond());
    };
    let db = auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let p = super::db::get(&mut tx, patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    Ok(OwnRecord {
        mrn: p.mrn.to_string(),
        given_name: p.given_name,
        family_name: p.family_name,
        birth_date: p.birth_date,
        email: p.email,
        phone: p.phone,
    })
}

// ------------------------------------------------------- the registry's lists --

/// Who to call in an emergency. With `primary`, this contact becomes the primary
/// one (the previous primary stays on the list).
#[server(prefix = "/api", endpoint = "add_emergency_contact")]
pub async fn add_emergency_contact(
    patient_id: Uuid,
    name: String,
    relation: String,
    phone: String,
    primary: Option<String>,
) -> Result<(), AppError> {
    use super::lists::{short, EmergencyContact};
    let w = ssr::writer()?;
    let field = |(name, m): (&str, String)| AppError::field(name, m).respond();
    let country = ssr::clinic_country(&w.tenant);
    let contact = EmergencyContact {
        id: Uuid::now_v7(),
        name: short("name", &name, 2, 120).map_err(field)?,
        relation: short("relation", &relation, 1, 60).map_err(field)?,
        phone: super::phone::normalize(&phone, country)
            .map_err(|m| AppError::field("phone", m).respond())?,
        primary: primary.is_some_and(|p| p == "yes" || p == "on" || p == "true"),
    };
    let mut tx = w.open(patient_id).await?;
    super::db::add_contact(&mut tx, patient_id, &contact, w.staff_id).await?;
    w.done(tx, patient_id, "patient.contact_added", None).await
}

/// An insurance entry: provider and policy number, optional group, subscriber
/// and dates of cover.
#[server(prefix = "/api", endpoint = "add_insurance")]
pub async fn add_insurance(
    patient_id: Uuid,
    provider: String,
    policy_number: String,
    group_number: Option<String>,
    subscriber: Option<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    primary: Option<String>,
) -> Result<(), AppError> {
    use super::lists::{optional, short, validity, Insurance};
    let w = ssr::writer()?;
    let field = |(name, m): (&str, String)| AppError::field(name, m).respond();
    let date = |name: &'static str,
                v: Option<String>|
     -> Result<Option<chrono::NaiveDate>, AppError> {
        match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(text) => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| AppError::field(name, "enter a date (year, month, day)").respond()),
        }
    };
    let (valid_from, valid_to) =
        validity(date("valid_from", valid_from)?, date("valid_to", valid_to)?).map_err(field)?;
    let entry = Insurance {
        id: Uuid::now_v7(),
        provider: short("provider", &provider, 2, 120).map_err(field)?,
        policy_number: short("policy_number", &policy_number, 1, 60).map_err(field)?,
        group_number: optional("group_number", group_number.as_deref(), 60).map_err(field)?,
        subscriber: optional("subscriber", subscriber.as_deref(), 120).map_err(field)?,
        valid_from,
        valid_to,
        primary: primary.is_some_and(|p| p == "yes" || p == "on" || p == "true"),
    };
    let mut tx = w.open(patient_id).await?;
    super::db::add_insurance(&mut tx, patient_id, &entry, w.staff_id).await?;
    w.done(tx, patient_id, "patient.insurance_added", None)
        .await
}

/// An identifier from another system. One identifier names one patient of the
/// clinic: a second patient with the same one is refused, naming the field.
#[server(prefix = "/api", endpoint = "add_identifier")]
pub async fn add_identifier(
    patient_id: Uuid,
    system: String,
    value: String,
) -> Result<(), AppError> {
    use super::lists::{short, Identifier};
    let w = ssr::writer()?;
    let field = |(name, m): (&str, String)| AppError::field(name, m).respond();
    let entry = Identifier {
        id: Uuid::now_v7(),
        system: short("system", &system, 2, 60).map_err(field)?,
        value: short("value", &value, 1, 60).map_err(field)?,
    };
    let mut tx = w.open(patient_id).await?;
    if !super::db::add_identifier(&mut tx, patient_id, &entry, w.staff_id).await? {
        return Err(AppError::field(
            "value",
            format!(
                "another patient of this clinic already has this {}",
                entry.system
            ),
        )
        .respond());
    }
    w.done(tx, patient_id, "patient.identifier_added", None)
        .await
}

/// Takes an entry off one of the patient's lists (marked removed, kept).
#[server(prefix = "/api", endpoint = "remove_registry_entry")]
pub async fn remove_registry_entry(
    patient_id: Uuid,
    list: super::lists::ListKind,
    entry_id: Uuid,
) -> Result<(), AppError> {
    let w = ssr::writer()?;
    let mut tx = w.open(patient_id).await?;
    super::db::remove_entry(&mut tx, list, patient_id, entry_id, w.staff_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    w.done(tx, patient_id, "patient.entry_removed", Some(list.as_str()))
        .await
}

/// The charts the signed-in staff member opened last, newest first.
#[server(prefix = "/api", endpoint = "recent_patients")]
pub async fn recent_patients() -> Result<Vec<PatientSummary>, AppError> {
    let w = ssr::writer()?;
    let db = ssr::auth::db()?;
    let mut tx = db.begin_for_read(w.tenant.id).await?;
    let mut list = super::db::recent(&mut tx, w.staff_id).await?;
    if let Some(staff) = ssr::own_patients_of(&mut tx, &w.viewer).await? {
        let mut own = Vec::with_capacity(list.len());
        for p in list {
            if super::db::is_own_patient(&mut tx, staff, p.id).await? {
                own.push(p);
            }
        }
        list = own;
    }
    tx.commit().await?;
    let settings = &w.tenant.settings;
    let today = ssr::clinic_today(&w.tenant);
    Ok(list
        .into_iter()
        .map(|p| {
            let born = format!(
                "{} ({} y)",
                settings.format_day(p.birth_date),
                p.age_on(today)
            );
            PatientSummary {
                born,
                ..PatientSummary::from(p)
            }
        })
        .collect())
}

/// From the portal: asks the clinic to correct the patient's details (a
/// misspelt name, a new address). At most a few may wait at once.
#[server(prefix = "/api", endpoint = "request_correction")]
pub async fn request_correction(message: String) -> Result<(), AppError> {
    use crate::identity::Standing;
    let tenant = ssr::tenant()?;
    let viewer = ssr::auth::viewer()?;
    let Standing::Patient { patient_id } = viewer.standing else {
        return Err(AppError::Forbidden.respond());
    };
    let message = message.trim();
    let len = message.chars().count();
    if !(5..=2000).contains(&len) {
        return Err(AppError::field(
            "message",
            "say in a few words (5 to 2,000 characters) what should be corrected",
        )
        .respond());
    }
    if message
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(AppError::field("message", "remove the control characters").respond());
    }
    let db = ssr::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    if !super::db::request_correction(&mut tx, patient_id, message).await? {
        return Err(AppError::field(
            "message",
            "you already have several requests waiting; the clinic will answer them first",
        )
        .respond());
    }
    crate::identity::audit::record_for_patient(
        &mut tx,
        crate::identity::audit::Actor {
            id: Some(viewer.account_id),
            email: None,
        },
        None,
        patient_id,
        "portal.correction_requested",
        None,
        &ssr::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Closes a patient's correction request: corrected (the details were changed)
/// or declined (with the reason the patient will read).
#[server(prefix = "/api", endpoint = "decide_correction")]
pub async fn decide_correction(
    patient_id: Uuid,
    request_id: Uuid,
    decision: super::lists::CorrectionStatus,
    response: Option<String>,
) -> Result<(), AppError> {
    use super::lists::CorrectionStatus;
    let w = ssr::writer()?;
    let response = response
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(r) = &response {
        if r.chars().count() > 1000 || r.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Err(
                AppError::field("response", "keep the answer to 1,000 plain characters").respond(),
            );
        }
    }
    match decision {
        CorrectionStatus::Pending => {
            return Err(AppError::field("decision", "choose corrected or declined").respond())
        }
        CorrectionStatus::Declined if response.is_none() => {
            return Err(AppError::field(
                "response",
                "tell the patient why the details stay as they are",
            )
            .respond())
        }
        _ => {}
    }
    let mut tx = w.open(patient_id).await?;
    super::db::decide_correction(
        &mut tx,
        patient_id,
        request_id,
        decision,
        response.as_deref(),
        w.staff_id,
    )
    .await
    .map_err(|e| AppError::from(e).respond())?;
    w.done(
        tx,
        patient_id,
        "patient.correction_decided",
        Some(decision.as_str()),
    )
    .await
}

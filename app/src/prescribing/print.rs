//! A prescription on paper (`GET /prescriptions/{id}/print`, HTML for the
//! browser's print dialog) and as a PDF (`GET /prescriptions/{id}/pdf`), both
//! from one [`Sheet`] made by the shared renderer (`crate::print`).
//!
//! Staff get the clinic's internal copy, which shows every overridden safety
//! alert and the prescriber's reason; the patient (from the portal) gets their
//! copy without them. Generic names are printed in capitals. Every print is
//! audited as a read of the record.

use chrono::Utc;
use uuid::Uuid;

use super::db::{LineRow, PrescriptionRow};
use crate::db::{Db, DbError, TenantTx};
use crate::error::AppError;
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::identity::permissions::Permission;
use crate::identity::Standing;
use crate::patients::Patient;
use crate::print::{Block, PageSize, Sheet};
use crate::site::SiteInfo;
use crate::tenancy::TenantPublic;

/// Which copy is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// The clinic's: overridden alerts and reasons shown.
    Internal,
    Patient,
}

/// The prescriber as printed: name, qualifications, registration number.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Prescriber {
    pub display_name: String,
    pub qualifications: Option<String>,
    pub registration_number: Option<String>,
}

async fn prescriber_of(tx: &mut TenantTx, prescription: Uuid) -> Result<Prescriber, DbError> {
    tx.fetch_one(
        "SELECT s.display_name, s.qualifications, s.registration_number FROM prescriptions p \
         JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.prescriber_id \
         WHERE p.tenant_id = $1 AND p.id = $2",
        &[prescription.into()],
    )
    .await
}

/// Everything a printed prescription shows.
pub struct Printable {
    pub tenant: TenantPublic,
    pub patient: Patient,
    pub head: PrescriptionRow,
    pub lines: Vec<LineRow>,
    pub prescriber: Prescriber,
    pub copy: Copy,
    /// The clinic's address for the letterhead.
    pub address: Option<String>,
}

/// Reads prescription `id` for whoever is signed in on `site`, audits it, and
/// answers what to print. Another clinic's id, or a prescription this person
/// may not see, is `NotFound`.
pub async fn load(
    db: &Db,
    site: &SiteInfo,
    meta: &RequestMeta,
    id: Uuid,
) -> Result<Printable, AppError> {
    let tenant = site.tenant.clone().ok_or(AppError::NotFound)?;
    let viewer = site.viewer.as_ref().ok_or(AppError::Unauthenticated)?;
    let mut tx = db.begin_for(tenant.id).await?;
    let (head, lines) = super::db::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (copy, role) = match viewer.standing {
        Standing::Staff { role, .. }
            if role.can(Permission::PatientsRead) && viewer.support.is_none() =>
        {
            crate::patients::api::ssr::ensure_visible(&mut tx, viewer, head.patient_id)
                .await
                .map_err(|_| AppError::NotFound)?;
            (Copy::Internal, Some(role.as_str()))
        }
        Standing::Patient { patient_id } => {
            if !crate::patients::merge::db::is_part_of(&mut tx, head.patient_id, patient_id).await?
            {
                return Err(AppError::NotFound);
            }
            (Copy::Patient, None)
        }
        _ => return Err(AppError::NotFound),
    };
    let patient = crate::patients::db::get(&mut tx, head.patient_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let prescriber = prescriber_of(&mut tx, id).await?;
    let address = crate::scheduling::db::letterhead_address(&mut tx).await?;
    audit::record_for_patient(
        &mut tx,
        Actor::account(viewer.account_id, viewer.email.as_str()),
        role,
        head.patient_id,
        match copy {
            Copy::Internal => "prescription.printed",
            Copy::Patient => "portal.prescription_printed",
        },
        Some(&id.to_string()),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(Printable {
        tenant,
        patient,
        head,
        lines,
        prescriber,
        copy,
        address,
    })
}

/// The prescription as a printable sheet.
pub fn sheet(p: &Printable, size: PageSize) -> Sheet {
    let settings = &p.tenant.settings;
    let today = Utc::now().with_timezone(&settings.tz()).date_naive();
    let mut blocks = vec![Block::Title(p.tenant.name.clone())];
    let mut doctor = vec![p.prescriber.display_name.clone()];
    doctor.extend(p.prescriber.qualifications.clone());
    if let Some(reg) = &p.prescriber.registration_number {
        doctor.push(format!("Registration no. {reg}"));
    }
    let mut head: Vec<String> = p.address.iter().cloned().collect();
    head.push(doctor.join(" · "));
    blocks.push(Block::Letterhead(head));
    blocks.push(Block::Rule);
    blocks.push(Block::Facts(vec![
        ("Patient".into(), p.patient.display_name()),
        (
            "Age / sex".into(),
            format!(
                "{} years / {}",
                p.patient.age_on(today),
                p.patient.sex.as_str()
            ),
        ),
        ("Record no.".into(), p.patient.mrn.to_string()),
        ("Date".into(), settings.format_datetime(p.head.written_at)),
        ("Starts".into(), settings.format_day(p.head.start_on)),
        ("Prescription".into(), p.head.id.to_string()),
    ]));
    if p.head.status != "active" {
        let why = p
            .head
            .end_reason
            .clone()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        blocks.push(Block::Notice(format!(
            "This prescription is {}{why}.",
            p.head.status
        )));
    }
    blocks.push(Block::Heading("Rx".into()));
    for (n, line) in p.lines.iter().enumerate() {
        blocks.extend(line_blocks(n, line, p.copy));
    }
    if p.copy == Copy::Internal && p.head.check_status != "performed" {
        blocks.push(Block::Notice(format!(
            "Allergy/interaction check NOT performed in full: {}",
            p.head.check_note.clone().unwrap_or_default()
        )));
    }
    blocks.push(Block::Signature(p.prescriber.display_name.clone()));
    Sheet {
        title: format!("Prescription for {}", p.patient.display_name()),
        size,
        blocks,
        footer: match p.copy {
            Copy::Internal => format!(
                "{} · clinic copy (internal) · knowledge base {}",
                p.tenant.name,
                p.head
                    .kb_version
                    .clone()
                    .unwrap_or_else(|| "unavailable".into())
            ),
            Copy::Patient => format!("{} · patient copy", p.tenant.name),
        },
    }
}

fn line_blocks(n: usize, l: &LineRow, copy: Copy) -> Vec<Block> {
    let mut out = Vec::new();
    let view = l.clone().into_view();
    let Ok(view) = view else {
        return out;
    };
    // Generic names in capitals, as Indian prescription rules ask.
    out.push(Block::Strong(format!(
        "{}. {}",
        n + 1,
        view.medicine.to_uppercase()
    )));
    out.push(Block::Text(view.sig.clone()));
    out.push(Block::Small(format!(
        "Dispense {} {} · refills {}",
        view.quantity, view.quantity_unit, view.refills
    )));
    if let Some(i) = &view.instructions {
        out.push(Block::Text(i.clone()));
    }
    if copy == Copy::Internal {
        if let Some(reason) = &view.override_reason {
            let alerts: Vec<String> = view.alerts.iter().map(|a| a.title.clone()).collect();
            out.push(Block::Notice(format!(
                "Alert overridden ({}): {reason}{}",
                alerts.join("; "),
                view.override_note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )));
        }
    }
    out
}

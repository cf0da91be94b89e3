//! Merging two records of one person: everything that can move moves to the
//! survivor; the merged record stays as an archived tombstone pointing at it.
//!
//! Signed notes and documents are not moved: their hashes cover the patient they
//! were written for. The survivor's chart reads them through the tombstone's
//! pointer ([`db::RECORD_OF`]), so they show on it all the same.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;

/// Merges the record numbered `merged_mrn` into `survivor_id`. Administrators
/// only (`patients.delete`); `confirm` must be ticked ("these are one person").
#[server(prefix = "/api", endpoint = "merge_patients")]
pub async fn merge_patients(
    survivor_id: Uuid,
    merged_mrn: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    use super::api::ssr::*;
    use crate::identity::audit;
    let w = writer()?;
    let field = |name: &str, m: &str| AppError::field(name, m).respond();
    let mut tx = w.open(survivor_id).await?;
    let merged_id = db::id_of_mrn(&mut tx, merged_mrn.trim())
        .await?
        .ok_or_else(|| field("merged_mrn", "no record of this clinic has this number"))?;
    if survivor_id == merged_id {
        return Err(field(
            "merged_mrn",
            "that is this record's own number; enter the duplicate's",
        ));
    }
    ensure_visible(&mut tx, &w.viewer, merged_id).await?;
    let survivor = super::db::get(&mut tx, survivor_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    let merged = super::db::get(&mut tx, merged_id)
        .await?
        .ok_or_else(|| AppError::NotFound.respond())?;
    if survivor.archived || merged.archived {
        return Err(field(
            "merged_mrn",
            "restore archived records before merging them (a merged record is archived already)",
        ));
    }
    if confirm.is_none() {
        return Err(field(
            "confirm",
            &format!(
                "tick the box to confirm that {} ({}) and {} ({}) are one person",
                survivor.display_name(),
                survivor.mrn,
                merged.display_name(),
                merged.mrn
            ),
        ));
    }
    db::merge(
        &mut tx,
        survivor_id,
        merged_id,
        merged.mrn.as_str(),
        w.staff_id,
    )
    .await?;
    let meta = crate::identity::auth::request_meta();
    let actor = || audit::Actor::account(w.viewer.account_id, w.viewer.email.as_str());
    audit::record_for_patient(
        &mut tx,
        actor(),
        Some(w.role),
        merged_id,
        "patient.merged_away",
        Some(survivor.mrn.as_str()),
        &meta,
    )
    .await?;
    w.done(tx, survivor_id, "patient.merged", Some(merged.mrn.as_str()))
        .await
}

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::Utc;
    use uuid::Uuid;

    use crate::db::{DbError, TenantTx};

    /// The ids of a record and of every record merged into it, as a subquery on
    /// `$1` (tenant) and `$2` (the record): `WHERE x.patient_id IN {RECORD_OF}`.
    pub const RECORD_OF: &str =
        "(SELECT r.id FROM patients r WHERE r.tenant_id = $1 AND (r.id = $2 OR r.merged_into = $2))";

    /// Tables whose rows simply move to the survivor.
    const MOVING: &[&str] = &[
        "problems",
        "other_medications",
        "vitals",
        "patient_flags",
        "patient_consents",
        "patient_identifiers",
        "patient_correction_requests",
        // Their history stays with the appointment (written once).
        "appointments",
        "appointment_series",
        "queue_entries",
        "waitlist_entries",
    ];

    /// The record with this number, if the clinic has one.
    pub async fn id_of_mrn(tx: &mut TenantTx, mrn: &str) -> Result<Option<Uuid>, DbError> {
        let found: Option<(Uuid,)> = tx
            .fetch_optional(
                "SELECT id FROM patients WHERE tenant_id = $1 AND mrn = $2",
                &[mrn.into()],
            )
            .await?;
        Ok(found.map(|(id,)| id))
    }

    /// Whether `record` is `own` or was merged into it.
    pub async fn is_part_of(tx: &mut TenantTx, record: Uuid, own: Uuid) -> Result<bool, DbError> {
        let found: Option<(i32,)> = tx
            .fetch_optional(
                "SELECT 1 FROM patients WHERE tenant_id = $1 AND id = $2 AND (id = $3 OR merged_into = $3)",
                &[record.into(), own.into()],
            )
            .await?;
        Ok(found.is_some())
    }

    /// A record and the records merged into it, the record itself first.
    pub async fn records_of(tx: &mut TenantTx, own: Uuid) -> Result<Vec<Uuid>, DbError> {
        let rows: Vec<(Uuid,)> = tx
            .fetch_all(
                &format!("SELECT id FROM patients WHERE tenant_id = $1 AND id IN {RECORD_OF} ORDER BY id"),
                &[own.into()],
            )
            .await?;
        let mut records: Vec<Uuid> = rows.into_iter().map(|(id,)| id).collect();
        records.sort_by_key(|id| *id != own);
        Ok(records)
    }

    /// The record this one was merged into, if it was.
    pub async fn merged_into(
        tx: &mut TenantTx,
        id: Uuid,
    ) -> Result<Option<(Uuid, String)>, DbError> {
        tx.fetch_optional(
            "SELECT s.id, s.mrn FROM patients p JOIN patients s ON s.tenant_id = p.tenant_id \
             AND s.id = p.merged_into WHERE p.tenant_id = $1 AND p.id = $2",
            &[id.into()],
        )
        .await
    }

    /// Moves the merged record's entries to the survivor and leaves the tombstone.
    pub async fn merge(
        tx: &mut TenantTx,
        survivor: Uuid,
        merged: Uuid,
        merged_mrn: &str,
        by: Uuid,
    ) -> Result<(), DbError> {
        let now = Utc::now();
        let pair = [survivor.into(), merged.into()];
        // The tombstone first: moving a consent is allowed (by the database)
        // only to the record its patient was merged into.
        let (portal,): (Option<Uuid>,) = tx
            .fetch_one(
                "SELECT account_id FROM patients WHERE tenant_id = $1 AND id = $2",
                &[merged.into()],
            )
            .await?;
        // Tombstones pointing at the merged record now point at the survivor.
        tx.execute(
            "UPDATE patients SET merged_into = $2 WHERE tenant_id = $1 AND merged_into = $3",
            &pair,
        )
        .await?;
        tx.execute_one(
            "UPDATE patients SET archived_at = $4, merged_into = $2, merged_by = $5, merged_at = $4, \
             account_id = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $3 AND merged_into IS NULL",
            &[pair[0], pair[1], now.into(), by.into()],
        )
        .await?;
        // One "no known allergies" statement at most, and none beside an allergy:
        // the duplicate's goes when the survivor has any current entry, the
        // survivor's when the duplicate has a current allergy.
        for (holder, other, other_kind) in [(merged, survivor, "%"), (survivor, merged, "allergy")]
        {
            tx.execute(
                "UPDATE allergies SET status = 'inactive', updated_by = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND patient_id = $2 AND kind = 'none_known' AND status = 'active' \
                 AND EXISTS (SELECT 1 FROM allergies a WHERE a.tenant_id = $1 AND a.patient_id = $3 \
                 AND a.status = 'active' AND a.kind LIKE $6)",
                &[
                    holder.into(),
                    other.into(),
                    by.into(),
                    now.into(),
                    other_kind.into(),
                ],
            )
            .await?;
        }
        tx.execute(
            "UPDATE allergies SET patient_id = $2 WHERE tenant_id = $1 AND patient_id = $3",
            &pair,
        )
        .await?;
        for table in MOVING {
            // Table names come from the constant list above, never from input.
            let sql = format!(
                "UPDATE {table} SET patient_id = $2 WHERE tenant_id = $1 AND patient_id = $3"
            );
            tx.execute(&sql, &pair).await?;
        }
        // One primary contact and insurance: the survivor's stays primary.
        for table in ["patient_contacts", "patient_insurance"] {
            let demote = format!(
                "UPDATE {table} SET is_primary = $4 WHERE tenant_id = $1 AND patient_id = $3 \
                 AND EXISTS (SELECT 1 FROM {table} s WHERE s.tenant_id = $1 AND s.patient_id = $2 \
                 AND s.is_primary = $5 AND s.removed_at IS NULL)"
            );
            tx.execute(&demote, &[pair[0], pair[1], false.into(), true.into()])
                .await?;
            let moving = format!(
                "UPDATE {table} SET patient_id = $2 WHERE tenant_id = $1 AND patient_id = $3"
            );
            tx.execute(&moving, &pair).await?;
        }
        // Drafts move (they are not signed yet); signed notes are read through
        // the tombstone.
        tx.execute(
            "UPDATE visit_notes SET patient_id = $2 WHERE tenant_id = $1 AND patient_id = $3 AND status = 'draft'",
            &pair,
        )
        .await?;
        // Custom values: the survivor's stay; where it has none (no row, or a
        // cleared one), the duplicate's value comes over.
        tx.execute(
            "UPDATE patient_field_values SET value = (SELECT m.value FROM patient_field_values m \
               WHERE m.tenant_id = $1 AND m.patient_id = $3 AND m.field_id = patient_field_values.field_id) \
             WHERE tenant_id = $1 AND patient_id = $2 AND value IS NULL AND EXISTS (SELECT 1 FROM \
               patient_field_values m WHERE m.tenant_id = $1 AND m.patient_id = $3 \
               AND m.field_id = patient_field_values.field_id AND m.value IS NOT NULL)",
            &pair,
        )
        .await?;
        tx.execute(
            "UPDATE patient_field_values SET patient_id = $2 WHERE tenant_id = $1 AND patient_id = $3 \
             AND NOT EXISTS (SELECT 1 FROM patient_field_values s WHERE s.tenant_id = $1 \
             AND s.patient_id = $2 AND s.field_id = patient_field_values.field_id)",
            &pair,
        )
        .await?;
        tx.execute(
            "DELETE FROM recent_patients WHERE tenant_id = $1 AND patient_id = $2",
            &[merged.into()],
        )
        .await?;
        // The portal account follows when the survivor has none.
        if let Some(account) = portal {
            tx.execute(
                "UPDATE patients SET account_id = $3 WHERE tenant_id = $1 AND id = $2 AND account_id IS NULL",
                &[survivor.into(), account.into()],
            )
            .await?;
        }
        // The old record number stays findable on the survivor.
        super::super::db::add_identifier(
            tx,
            survivor,
            &super::super::lists::Identifier {
                id: Uuid::now_v7(),
                system: "Merged record".into(),
                value: merged_mrn.to_owned(),
            },
            by,
        )
        .await?;
        tx.execute(
            "DELETE FROM patient_search_terms WHERE tenant_id = $1 AND patient_id = $2",
            &[merged.into()],
        )
        .await?;
        super::super::db::reindex(tx, survivor).await
    }
}

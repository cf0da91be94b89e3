//! Custom field queries, on the one-line tenant query helper.

use chrono::Utc;
use uuid::Uuid;

use super::{FieldDefinition, FieldValue, NewField};
use crate::db::{DbError, TenantTx};

#[derive(sqlx::FromRow)]
struct DefinitionRow {
    id: Uuid,
    label: String,
    kind: String,
    choices: String,
    required: bool,
    searchable: bool,
}

impl TryFrom<DefinitionRow> for FieldDefinition {
    type Error = DbError;
    fn try_from(r: DefinitionRow) -> Result<Self, DbError> {
        Ok(FieldDefinition {
            id: r.id,
            label: r.label,
            kind: r.kind.parse().map_err(DbError::Corrupt)?,
            choices: r.choices.lines().map(str::to_owned).collect(),
            required: r.required,
            searchable: r.searchable,
        })
    }
}

/// The clinic's current fields, in the order it defined them.
#[tracing::instrument(skip_all)]
pub async fn definitions(tx: &mut TenantTx) -> Result<Vec<FieldDefinition>, DbError> {
    let rows: Vec<DefinitionRow> = tx
        .fetch_all(
            "SELECT id, label, kind, choices, required, searchable FROM patient_field_definitions \
             WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY position, id",
            &[],
        )
        .await?;
    rows.into_iter().map(FieldDefinition::try_from).collect()
}

/// Adds a field after the clinic's others. `Conflict` when a current field has
/// the same name (any case).
#[tracing::instrument(skip_all)]
pub async fn define(tx: &mut TenantTx, new: &NewField, by: Uuid) -> Result<Uuid, DbError> {
    let (count, last): (i64, Option<i64>) = tx
        .fetch_one(
            "SELECT count(*), CAST(max(position) AS BIGINT) FROM patient_field_definitions \
             WHERE tenant_id = $1 AND retired_at IS NULL",
            &[],
        )
        .await?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= super::MAX_FIELDS {
        return Err(DbError::Invalid(format!(
            "a clinic keeps at most {} patient fields; retire one first",
            super::MAX_FIELDS
        )));
    }
    let id = Uuid::now_v7();
    let choices = new.choices.join("\n");
    tx.execute(
        "INSERT INTO patient_field_definitions (tenant_id, id, label, kind, choices, required, \
         searchable, position, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            id.into(),
            new.label.as_str().into(),
            new.kind.as_str().into(),
            choices.as_str().into(),
            new.required.into(),
            new.searchable.into(),
            (last.unwrap_or(0) + 1).into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await
    .map_err(|e| match e {
        DbError::Sqlx(inner) => DbError::conflict_on("field name")(inner),
        other => other,
    })?;
    Ok(id)
}

/// Retires a field: it leaves the forms and search; values already kept stay.
#[tracing::instrument(skip_all)]
pub async fn retire(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE patient_field_definitions SET retired_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND retired_at IS NULL",
        &[id.into(), Utc::now().into()],
    )
    .await
}

/// The patient's values of the clinic's current fields (every field listed,
/// `None` where nothing is kept).
#[tracing::instrument(skip_all)]
pub async fn values(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<FieldValue>, DbError> {
    let fields = definitions(tx).await?;
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let kept: Vec<(Uuid, Option<String>)> = tx
        .fetch_all(
            "SELECT field_id, value FROM patient_field_values WHERE tenant_id = $1 AND patient_id = $2",
            &[patient.into()],
        )
        .await?;
    Ok(fields
        .into_iter()
        .map(|field| {
            let value = kept
                .iter()
                .find(|(id, _)| *id == field.id)
                .and_then(|(_, v)| v.clone());
            FieldValue { field, value }
        })
        .collect())
}

/// Keeps the patient's checked values (`None` clears one). Search terms are
/// rewritten by the caller (`patients::db::reindex`).
#[tracing::instrument(skip_all)]
pub async fn set_values(
    tx: &mut TenantTx,
    patient: Uuid,
    values: &[(Uuid, Option<String>)],
    by: Uuid,
) -> Result<(), DbError> {
    let now = Utc::now();
    for (field, value) in values {
        tx.execute(
            "INSERT INTO patient_field_values (tenant_id, patient_id, field_id, value, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, patient_id, field_id) DO UPDATE SET value = excluded.value, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            &[
                patient.into(),
                (*field).into(),
                value.into(),
                by.into(),
                now.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// The search words of the patient's searchable field values.
#[tracing::instrument(skip_all)]
pub async fn search_words(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<String>, DbError> {
    Ok(values(tx, patient)
        .await?
        .into_iter()
        .flat_map(|v| match &v.value {
            Some(value) => v.field.search_words(value),
            None => Vec::new(),
        })
        .collect())
}

//! Server functions of custom patient fields. Rules in
//! `identity::access::SERVER_FUNCTIONS`: reading the definitions takes
//! `patients.read`, defining and retiring them `settings.manage`.

use leptos::prelude::*;
use uuid::Uuid;

use super::FieldDefinition;
use crate::error::AppError;

/// The clinic's current custom patient fields, for the patient forms.
#[server(prefix = "/api", endpoint = "patient_fields")]
pub async fn patient_fields() -> Result<Vec<FieldDefinition>, AppError> {
    let (tenant, _, _) = crate::patients::api::ssr::staff()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let fields = super::db::definitions(&mut tx).await?;
    tx.commit().await?;
    Ok(fields)
}

/// Adds a custom field to the clinic's patient forms.
#[server(prefix = "/api", endpoint = "define_patient_field")]
pub async fn define_patient_field(
    label: String,
    kind: String,
    choices: Option<String>,
    required: Option<String>,
    searchable: Option<String>,
) -> Result<(), AppError> {
    use crate::identity::audit;
    let w = crate::patients::api::ssr::writer()?;
    let ticked = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| matches!(v, "yes" | "on" | "true"))
    };
    let new = super::NewField::parse(
        &label,
        &kind,
        choices.as_deref().unwrap_or_default(),
        ticked(&required),
        ticked(&searchable),
    )
    .map_err(|(name, m)| AppError::field(name, m).respond())?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::define(&mut tx, &new, w.staff_id)
        .await
        .map_err(|e| match e {
            crate::db::DbError::Conflict(_) => {
                AppError::field("label", "a field with this name exists already").respond()
            }
            crate::db::DbError::Invalid(m) => AppError::field("label", m).respond(),
            other => AppError::from(other).respond(),
        })?;
    audit::record(
        &mut tx,
        audit::Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        "patient_field.defined",
        Some(&new.label),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a custom field off the forms and out of search. Values already kept
/// stay on the records (nothing is deleted).
#[server(prefix = "/api", endpoint = "retire_patient_field")]
pub async fn retire_patient_field(field_id: Uuid) -> Result<(), AppError> {
    use crate::identity::audit;
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::retire(&mut tx, field_id)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    audit::record(
        &mut tx,
        audit::Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        "patient_field.retired",
        Some(&field_id.to_string()),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::collections::HashMap;

    use uuid::Uuid;

    use crate::db::TenantTx;
    use crate::error::AppError;

    /// Checks the custom field values a patient form posted (`custom[<id>]`)
    /// against the clinic's current fields; the error names the input to fix.
    /// Every current field is answered, so a required one left out is refused.
    pub async fn read_values(
        tx: &mut TenantTx,
        posted: &HashMap<String, String>,
    ) -> Result<Vec<(Uuid, Option<String>)>, AppError> {
        let fields = super::super::db::definitions(tx).await?;
        if let Some(unknown) = posted
            .keys()
            .find(|k| !fields.iter().any(|f| super::super::form_key(f.id) == **k))
        {
            return Err(AppError::field(
                "custom",
                format!("there is no patient field {unknown:?}; reload the page"),
            )
            .respond());
        }
        fields
            .iter()
            .map(|f| {
                let raw = posted
                    .get(&super::super::form_key(f.id))
                    .map(String::as_str)
                    .unwrap_or("");
                f.check(raw)
                    .map(|v| (f.id, v))
                    .map_err(|m| AppError::field(&super::super::input_name(f.id), m).respond())
            })
            .collect()
    }

    /// Keeps the values and rewrites the patient's search terms.
    pub async fn keep_values(
        tx: &mut TenantTx,
        patient: Uuid,
        values: &[(Uuid, Option<String>)],
        by: Uuid,
    ) -> Result<(), AppError> {
        if values.is_empty() {
            return Ok(());
        }
        super::super::db::set_values(tx, patient, values, by).await?;
        crate::patients::db::reindex(tx, patient).await?;
        Ok(())
    }
}

//! Imports, their reports, and the bulk writes of a run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Field, Import, ImportState, Mapping, Rejected};
use crate::db::Arg;
use crate::db::{DbError, TenantTx};

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: Uuid,
    file_name: String,
    headers: String,
    mapping: String,
    date_format: String,
    allow_similar: bool,
    state: String,
    total_rows: i64,
    processed_rows: i64,
    imported_rows: i64,
    rejected_rows: i64,
    message: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<ImportRow> for Import {
    type Error = DbError;
    fn try_from(r: ImportRow) -> Result<Self, DbError> {
        let corrupt = |e: serde_json::Error| DbError::Corrupt(e.to_string());
        Ok(Import {
            id: r.id,
            file_name: r.file_name,
            headers: serde_json::from_str(&r.headers).map_err(corrupt)?,
            mapping: serde_json::from_str(&r.mapping).map_err(corrupt)?,
            date_format: r.date_format,
            allow_similar: r.allow_similar,
            state: r.state.parse().map_err(DbError::Corrupt)?,
            total_rows: r.total_rows,
            processed_rows: r.processed_rows,
            imported_rows: r.imported_rows,
            rejected_rows: r.rejected_rows,
            message: r.message,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

const COLUMNS: &str = "id, file_name, headers, mapping, date_format, allow_similar, state, \
     total_rows, processed_rows, imported_rows, rejected_rows, message, created_at, finished_at";

fn json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Invalid(e.to_string()))
}

/// A new import of this file, waiting for its columns to be mapped.
pub struct NewImport<'a> {
    pub account: Uuid,
    pub file_name: &'a str,
    pub headers: &'a [String],
    pub mapping: &'a Mapping,
    pub date_format: &'a str,
    pub content: &'a str,
    pub rows: i64,
}

pub async fn create(tx: &mut TenantTx, new: &NewImport<'_>) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let (headers, mapping) = (json(&new.headers)?, json(new.mapping)?);
    tx.execute_one(
        "INSERT INTO patient_imports (tenant_id, id, created_by, file_name, headers, mapping, \
         date_format, content, total_rows, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'mapping', $10)",
        &[
            id.into(),
            new.account.into(),
            new.file_name.into(),
            (&headers).into(),
            (&mapping).into(),
            new.date_format.into(),
            new.content.into(),
            new.rows.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(id)
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<Import>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM patient_imports WHERE tenant_id = $1 AND id = $2");
    tx.fetch_optional::<ImportRow>(&sql, &[id.into()])
        .await?
        .map(Import::try_from)
        .transpose()
}

/// The clinic's latest imports, newest first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> Result<Vec<Import>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM patient_imports WHERE tenant_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    tx.fetch_all::<ImportRow>(&sql, &[limit.into()])
        .await?
        .into_iter()
        .map(Import::try_from)
        .collect()
}

/// The file of an import (empty once it has ended).
pub async fn content(tx: &mut TenantTx, id: Uuid) -> Result<String, DbError> {
    let (content,): (String,) = tx
        .fetch_optional(
            "SELECT content FROM patient_imports WHERE tenant_id = $1 AND id = $2",
            &[id.into()],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(content)
}

/// Header → field, as the clinic last mapped its columns (the newest import
/// that was started).
pub async fn remembered_mapping(tx: &mut TenantTx) -> Result<HashMap<String, Field>, DbError> {
    let last: Option<(String, String)> = tx
        .fetch_optional(
            "SELECT headers, mapping FROM patient_imports WHERE tenant_id = $1 \
             AND state <> 'mapping' ORDER BY created_at DESC, id DESC LIMIT 1",
            &[],
        )
        .await?;
    let Some((headers, mapping)) = last else {
        return Ok(HashMap::new());
    };
    let corrupt = |e: serde_json::Error| DbError::Corrupt(e.to_string());
    let headers: Vec<String> = serde_json::from_str(&headers).map_err(corrupt)?;
    let mapping: Mapping = serde_json::from_str(&mapping).map_err(corrupt)?;
    Ok(mapping.remembered(&headers))
}

/// Keeps the columns' mapping and the run's options (only before it starts).
pub async fn set_mapping(
    tx: &mut TenantTx,
    id: Uuid,
    mapping: &Mapping,
    date_format: &str,
    allow_similar: bool,
) -> Result<(), DbError> {
    let mapping = json(mapping)?;
    tx.execute_one(
        "UPDATE patient_imports SET mapping = $3, date_format = $4, allow_similar = $5 \
         WHERE tenant_id = $1 AND id = $2 AND state = 'mapping'",
        &[
            id.into(),
            (&mapping).into(),
            date_format.into(),
            allow_similar.into(),
        ],
    )
    .await
}

/// Starts (or resumes) the run.
pub async fn start(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE patient_imports SET state = 'running', message = NULL, \
         started_at = COALESCE(started_at, $3) \
         WHERE tenant_id = $1 AND id = $2 AND state IN ('mapping', 'stopped')",
        &[id.into(), Utc::now().into()],
    )
    .await
}

/// Takes the next chunk of a running import that has done `done` rows: the
/// row is locked until the chunk's transaction ends, and a run that finds the
/// import moved on (another worker took it) or no longer running gets `false`.
pub async fn take_chunk(tx: &mut TenantTx, id: Uuid, done: i64) -> Result<bool, DbError> {
    let n = tx
        .execute(
            "UPDATE patient_imports SET processed_rows = processed_rows \
             WHERE tenant_id = $1 AND id = $2 AND processed_rows = $3 AND state = 'running'",
            &[id.into(), done.into()],
        )
        .await?;
    Ok(n == 1)
}

/// Counts a chunk that landed.
pub async fn advance(
    tx: &mut TenantTx,
    id: Uuid,
    rows: i64,
    imported: i64,
    rejected: i64,
) -> Result<(), DbError> {
    tx.execute_one(
        "UPDATE patient_imports SET processed_rows = processed_rows + $3, \
         imported_rows = imported_rows + $4, rejected_rows = rejected_rows + $5 \
         WHERE tenant_id = $1 AND id = $2",
        &[id.into(), rows.into(), imported.into(), rejected.into()],
    )
    .await
}

/// Ends a run: `Done` and `RolledBack` drop the file (the report keeps the
/// rows that were not imported); `Stopped` keeps it to resume from.
pub async fn end(
    tx: &mut TenantTx,
    id: Uuid,
    state: ImportState,
    message: Option<&str>,
) -> Result<(), DbError> {
    let keep_file = state == ImportState::Stopped;
    tx.execute_one(
        "UPDATE patient_imports SET state = $3, message = $4, finished_at = $5, \
         content = CASE WHEN $6 THEN content ELSE '' END WHERE tenant_id = $1 AND id = $2",
        &[
            id.into(),
            state.as_str().into(),
            message.into(),
            Utc::now().into(),
            keep_file.into(),
        ],
    )
    .await
}

pub async fn add_rejected(
    tx: &mut TenantTx,
    id: Uuid,
    rejected: &[Rejected],
) -> Result<(), DbError> {
    for chunk in rejected.chunks(500) {
        let cells: Vec<String> = chunk
            .iter()
            .map(|r| json(&r.cells))
            .collect::<Result<_, _>>()?;
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 4);
        for (r, cells) in chunk.iter().zip(&cells) {
            args.extend::<[Arg<'_>; 4]>([
                id.into(),
                r.row.into(),
                r.reason.as_str().into(),
                cells.into(),
            ]);
        }
        let sql = values_sql(
            "INSERT INTO patient_import_rejects (tenant_id, import_id, row_number, reason, cells) VALUES ",
            chunk.len(),
            4,
        );
        tx.execute(&sql, &args).await?;
    }
    Ok(())
}

pub async fn rejected(tx: &mut TenantTx, id: Uuid) -> Result<Vec<Rejected>, DbError> {
    let rows: Vec<(i64, String, String)> = tx
        .fetch_all(
            "SELECT row_number, reason, cells FROM patient_import_rejects \
             WHERE tenant_id = $1 AND import_id = $2 ORDER BY row_number",
            &[id.into()],
        )
        .await?;
    rows.into_iter()
        .map(|(row, reason, cells)| {
            Ok(Rejected {
                row,
                reason,
                cells: serde_json::from_str(&cells).map_err(|e| DbError::Corrupt(e.to_string()))?,
            })
        })
        .collect()
}

/// Forgets the files and reports of imports that ended, or were last touched,
/// before `before` (the daily purge); answers how many imports it cleared.
pub async fn forget_old(tx: &mut TenantTx, before: DateTime<Utc>) -> Result<u64, DbError> {
    tx.execute(
        "DELETE FROM patient_import_rejects WHERE tenant_id = $1 AND import_id IN \
         (SELECT id FROM patient_imports WHERE tenant_id = $1 AND state <> 'running' \
          AND COALESCE(finished_at, created_at) < $2)",
        &[before.into()],
    )
    .await?;
    tx.execute(
        "UPDATE patient_imports SET content = '', \
         state = CASE WHEN state IN ('mapping', 'stopped') THEN 'done' ELSE state END, \
         message = CASE WHEN state IN ('mapping', 'stopped') \
           THEN 'closed: left unfinished for 30 days' ELSE message END, \
         finished_at = COALESCE(finished_at, $3) \
         WHERE tenant_id = $1 AND state <> 'running' AND content <> '' \
         AND COALESCE(finished_at, created_at) < $2",
        &[before.into(), Utc::now().into()],
    )
    .await
}

/// `INSERT ... VALUES` for `rows` rows of `$1` (the tenant) and `width` values.
pub(crate) fn values_sql(head: &str, rows: usize, width: usize) -> String {
    let mut sql = String::from(head);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("($1");
        for col in 0..width {
            sql.push_str(&format!(", ${}", 2 + row * width + col));
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, ...` for an `IN (...)` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which of these record numbers the clinic already uses.
pub async fn mrns_in_use(tx: &mut TenantTx, mrns: &[&str]) -> Result<HashSet<String>, DbError> {
    let mut used = HashSet::new();
    for chunk in mrns.chunks(1_000) {
        let sql = format!(
            "SELECT mrn FROM patients WHERE tenant_id = $1 AND mrn IN ({})",
            placeholders(2, chunk.len())
        );
        let args: Vec<Arg<'_>> = chunk.iter().map(|m| (*m).into()).collect();
        let rows: Vec<(String,)> = tx.fetch_all(&sql, &args).await?;
        used.extend(rows.into_iter().map(|(m,)| m));
    }
    Ok(used)
}

/// Which of `values` current patients of the clinic already carry as
/// identifiers of `system` (one identifier names one patient).
pub async fn identifiers_in_use(
    tx: &mut TenantTx,
    system: &str,
    values: &[&str],
) -> Result<HashSet<String>, DbError> {
    let mut used = HashSet::new();
    for chunk in values.chunks(1_000) {
        let sql = format!(
            "SELECT value FROM patient_identifiers WHERE tenant_id = $1 AND system = $2 \
             AND removed_at IS NULL AND value IN ({})",
            placeholders(3, chunk.len())
        );
        let mut args: Vec<Arg<'_>> = vec![system.into()];
        args.extend(chunk.iter().map(|v| Arg::from(*v)));
        let rows: Vec<(String,)> = tx.fetch_all(&sql, &args).await?;
        used.extend(rows.into_iter().map(|(v,)| v));
    }
    Ok(used)
}

/// The staff member who started the import: the "added by" of the registry
/// entries it brings.
pub async fn importer(tx: &mut TenantTx, import: Uuid) -> Result<Uuid, DbError> {
    let (staff,): (Uuid,) = tx
        .fetch_one(
            "SELECT s.id FROM patient_imports i JOIN staff_members s \
             ON s.tenant_id = i.tenant_id AND s.account_id = i.created_by \
             WHERE i.tenant_id = $1 AND i.id = $2",
            &[import.into()],
        )
        .await?;
    Ok(staff)
}

/// Adds the imported patients' emergency contacts, insurance entries and
/// identifiers (each the patient's first, so primary), marked with the import
/// so that a rollback takes them too; identifiers are found by the search box.
pub async fn insert_details(
    tx: &mut TenantTx,
    import: Uuid,
    by: Uuid,
    rows: &[(Uuid, &super::RowPatient)],
) -> Result<(), DbError> {
    let now = Utc::now();
    let contacts: Vec<(Uuid, &crate::patients::lists::EmergencyContact)> = rows
        .iter()
        .filter_map(|(p, r)| r.contact.as_ref().map(|c| (*p, c)))
        .collect();
    for chunk in contacts.chunks(500) {
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 9);
        for (patient, c) in chunk {
            args.extend::<[Arg<'_>; 9]>([
                c.id.into(),
                (*patient).into(),
                c.name.as_str().into(),
                c.relation.as_str().into(),
                c.phone.as_str().into(),
                c.primary.into(),
                by.into(),
                now.into(),
                import.into(),
            ]);
        }
        let sql = values_sql(
            "INSERT INTO patient_contacts (tenant_id, id, patient_id, name, relation, phone, \
             is_primary, added_by, added_at, import_id) VALUES ",
            chunk.len(),
            9,
        );
        tx.execute(&sql, &args).await?;
    }
    let insurance: Vec<(Uuid, &crate::patients::lists::Insurance)> = rows
        .iter()
        .filter_map(|(p, r)| r.insurance.as_ref().map(|i| (*p, i)))
        .collect();
    for chunk in insurance.chunks(500) {
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 9);
        for (patient, i) in chunk {
            args.extend::<[Arg<'_>; 9]>([
                i.id.into(),
                (*patient).into(),
                i.provider.as_str().into(),
                i.policy_number.as_str().into(),
                (&i.group_number).into(),
                i.primary.into(),
                by.into(),
                now.into(),
                import.into(),
            ]);
        }
        let sql = values_sql(
            "INSERT INTO patient_insurance (tenant_id, id, patient_id, provider, policy_number, \
             group_number, is_primary, added_by, added_at, import_id) VALUES ",
            chunk.len(),
            9,
        );
        tx.execute(&sql, &args).await?;
    }
    let identifiers: Vec<(Uuid, &crate::patients::lists::Identifier)> = rows
        .iter()
        .filter_map(|(p, r)| r.identifier.as_ref().map(|i| (*p, i)))
        .collect();
    for chunk in identifiers.chunks(500) {
        // As the registry indexes them (`patients::db::index`).
        let words: Vec<String> = chunk
            .iter()
            .map(|(_, i)| format!("m:{}", i.value.to_lowercase()))
            .collect();
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 7);
        let mut terms: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 2);
        for ((patient, i), word) in chunk.iter().zip(&words) {
            args.extend::<[Arg<'_>; 7]>([
                i.id.into(),
                (*patient).into(),
                i.system.as_str().into(),
                i.value.as_str().into(),
                by.into(),
                now.into(),
                import.into(),
            ]);
            terms.extend::<[Arg<'_>; 2]>([word.into(), (*patient).into()]);
        }
        let sql = values_sql(
            "INSERT INTO patient_identifiers (tenant_id, id, patient_id, system, value, \
             added_by, added_at, import_id) VALUES ",
            chunk.len(),
            7,
        );
        tx.execute(&sql, &args).await?;
        let sql = values_sql(
            "INSERT INTO patient_search_terms (tenant_id, term, patient_id) VALUES ",
            chunk.len(),
            2,
        ) + " ON CONFLICT DO NOTHING";
        tx.execute(&sql, &terms).await?;
    }
    Ok(())
}

/// A registered patient a row may duplicate.
#[derive(sqlx::FromRow)]
pub struct Registered {
    pub mrn: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: chrono::NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Registered patients (not archived, not from this import) born on one of
/// `dates` or holding one of `phones` or `emails`.
pub async fn registered_like(
    tx: &mut TenantTx,
    import: Uuid,
    dates: &[chrono::NaiveDate],
    phones: &[&str],
    emails: &[&str],
) -> Result<Vec<Registered>, DbError> {
    const SELECT: &str = "SELECT mrn, given_name, family_name, birth_date, phone, email \
         FROM patients WHERE tenant_id = $1 AND archived_at IS NULL \
         AND (import_id IS NULL OR import_id <> $2) AND ";
    let mut out = Vec::new();
    for chunk in dates.chunks(1_000) {
        let sql = format!("{SELECT}birth_date IN ({})", placeholders(3, chunk.len()));
        let mut args: Vec<Arg<'_>> = vec![import.into()];
        args.extend(chunk.iter().map(|d| Arg::from(*d)));
        out.extend(tx.fetch_all::<Registered>(&sql, &args).await?);
    }
    // `email IS NOT NULL` lets both databases use the partial email index.
    for (column, values) in [
        ("phone", phones),
        ("email IS NOT NULL AND lower(email)", emails),
    ] {
        for chunk in values.chunks(1_000) {
            let sql = format!("{SELECT}{column} IN ({})", placeholders(3, chunk.len()));
            let mut args: Vec<Arg<'_>> = vec![import.into()];
            args.extend(chunk.iter().map(|v| Arg::from(*v)));
            out.extend(tx.fetch_all::<Registered>(&sql, &args).await?);
        }
    }
    Ok(out)
}

/// How many patients this import registered that are still on the books.
pub async fn imported_count(tx: &mut TenantTx, import: Uuid) -> Result<i64, DbError> {
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT count(*) FROM patients WHERE tenant_id = $1 AND import_id = $2",
            &[import.into()],
        )
        .await?;
    Ok(n)
}

/// Removes every patient this import registered, with their search terms.
/// A patient who has anything else recorded by now (a visit, a note, a
/// portal account...) makes the database refuse it (foreign keys), and the
/// whole rollback with it: such an import is archived patient by patient
/// instead, never deleted.
pub async fn remove_imported(tx: &mut TenantTx, import: Uuid) -> Result<i64, DbError> {
    // The registry entries' delete triggers let an import's own entries go
    // only while it is marked rolled back.
    tx.execute_one(
        "UPDATE patient_imports SET state = 'rolled_back' WHERE tenant_id = $1 AND id = $2",
        &[import.into()],
    )
    .await?;
    for table in [
        "patient_contacts",
        "patient_insurance",
        "patient_identifiers",
    ] {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND import_id = $2 AND patient_id IN \
                 (SELECT id FROM patients WHERE tenant_id = $1 AND import_id = $2)"
            ),
            &[import.into()],
        )
        .await?;
    }
    tx.execute(
        "DELETE FROM patient_search_terms WHERE tenant_id = $1 AND patient_id IN \
         (SELECT id FROM patients WHERE tenant_id = $1 AND import_id = $2)",
        &[import.into()],
    )
    .await?;
    let n = tx
        .execute(
            "DELETE FROM patients WHERE tenant_id = $1 AND import_id = $2 \
             AND account_id IS NULL",
            &[import.into()],
        )
        .await?;
    let left = imported_count(tx, import).await?;
    if left > 0 {
        return Err(DbError::Invalid(format!(
            "{left} of the imported patients now use the portal; archive them instead"
        )));
    }
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_row_insert_has_a_placeholder_per_value_after_the_tenant() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b, c) VALUES ", 2, 2),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3),($1, $4, $5)"
        );
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
    }
}

//! Chart queries. Every one takes a [`TenantTx`] and binds its tenant id; none
//! deletes anything.

use crate::patients::merge::db::RECORD_OF;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::vitals::{Measures, Reading};
use super::{
    Allergy, AllergyCategory, Consent, ConsentKind, Criticality, EntryStatus, Flag, FlagKind, Note,
    NoteStatus, Problem, Severity, Soap,
};
use crate::db::{on_conn, one_row, DbError, TenantTx};

fn corrupt(e: String) -> DbError {
    DbError::Corrupt(e)
}

// ------------------------------------------------------------------ allergies --

#[derive(sqlx::FromRow)]
struct AllergyRow {
    id: Uuid,
    kind: String,
    substance: String,
    category: String,
    criticality: String,
    severity: Option<String>,
    reaction: Option<String>,
    onset_on: Option<NaiveDate>,
    status: String,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<AllergyRow> for Allergy {
    type Error = DbError;
    fn try_from(r: AllergyRow) -> Result<Self, DbError> {
        Ok(Allergy {
            id: r.id,
            none_known: r.kind == "none_known",
            substance: r.substance,
            category: r.category.parse().map_err(corrupt)?,
            criticality: r.criticality.parse().map_err(corrupt)?,
            severity: r.severity.map(|s| s.parse()).transpose().map_err(corrupt)?,
            reaction: r.reaction,
            onset_on: r.onset_on,
            status: r.status.parse().map_err(corrupt)?,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        })
    }
}

/// A patient's allergies, current first, newest first.
#[tracing::instrument(skip_all)]
pub async fn allergies(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Allergy>, DbError> {
    let (tenant, conn) = tx.scoped();
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, AllergyRow>(
            "SELECT a.id, a.kind, a.substance, a.category, a.criticality, a.severity, a.reaction, \
             a.onset_on, a.status, s.display_name AS recorded_by, a.recorded_at \
             FROM allergies a JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.recorded_by \
             WHERE a.tenant_id = $1 AND a.patient_id = $2 \
             ORDER BY CASE a.status WHEN 'active' THEN 0 ELSE 1 END, a.recorded_at DESC, a.id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(c)
        .await?
    });
    rows.into_iter().map(Allergy::try_from).collect()
}

/// What a clinician records about an allergy.
#[derive(Debug, Clone)]
pub struct NewAllergy {
    pub substance: String,
    pub category: AllergyCategory,
    pub criticality: Criticality,
    pub severity: Option<Severity>,
    pub reaction: Option<String>,
    pub onset_on: Option<NaiveDate>,
}

/// Records an allergy; a current "no known allergies" statement is retired by it.
#[tracing::instrument(skip_all)]
pub async fn add_allergy(
    tx: &mut TenantTx,
    patient: Uuid,
    new: &NewAllergy,
    by: Uuid,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE allergies SET status = 'inactive', updated_by = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND patient_id = $2 AND kind = 'none_known' AND status = 'active'",
        )
        .bind(tenant)
        .bind(patient)
        .bind(by)
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO allergies (tenant_id, id, patient_id, kind, substance, category, criticality, \
             severity, reaction, onset_on, status, recorded_by, recorded_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, 'allergy', $4, $5, $6, $7, $8, $9, 'active', $10, $11, $10, $11)",
        )
        .bind(tenant)
        .bind(id)
        .bind(patient)
        .bind(&new.substance)
        .bind(new.category.as_str())
        .bind(new.criticality.as_str())
        .bind(new.severity.map(Severity::as_str))
        .bind(&new.reaction)
        .bind(new.onset_on)
        .bind(by)
        .bind(now)
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// Records that the patient was asked and has no known allergies. Refused while
/// an allergy is active (retire it first if it was recorded in error).
#[tracing::instrument(skip_all)]
pub async fn record_none_known(tx: &mut TenantTx, patient: Uuid, by: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let active: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT count(*) FROM allergies WHERE tenant_id = $1 AND patient_id = $2 \
             AND kind = 'allergy' AND status = 'active'",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_one(c)
        .await?
    });
    if active > 0 {
        return Err(DbError::Invalid(
            "this patient has active allergies; mark them resolved or entered in error first"
                .into(),
        ));
    }
    let now = Utc::now();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO allergies (tenant_id, id, patient_id, kind, substance, category, criticality, \
             status, recorded_by, recorded_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, 'none_known', 'No known allergies', 'other', 'low', 'active', $4, $5, $4, $5)",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(patient)
        .bind(by)
        .bind(now)
        .execute(c)
        .await
        .map_err(DbError::conflict_on("statement of no known allergies"))?;
    });
    Ok(())
}

/// Changes an allergy's status (resolved, inactive, entered in error, active).
#[tracing::instrument(skip_all)]
pub async fn set_allergy_status(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    status: EntryStatus,
    by: Uuid,
) -> Result<(), DbError> {
    set_entry_status(tx, "allergies", patient, id, status, by).await
}

/// The status update allergies and problems share; `table` is one of the two
/// names above, never input.
async fn set_entry_status(
    tx: &mut TenantTx,
    table: &'static str,
    patient: Uuid,
    id: Uuid,
    status: EntryStatus,
    by: Uuid,
) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE {table} SET status = $4, updated_by = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3"
    );
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(tenant)
            .bind(patient)
            .bind(id)
            .bind(status.as_str())
            .bind(by)
            .bind(Utc::now())
            .execute(c)
            .await?
            .rows_affected()
    });
    one_row(affected)
}

// ------------------------------------------------------------------- problems --

#[derive(sqlx::FromRow)]
struct ProblemRow {
    id: Uuid,
    code: Option<String>,
    description: String,
    onset_on: Option<NaiveDate>,
    status: String,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all)]
pub async fn problems(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Problem>, DbError> {
    let (tenant, conn) = tx.scoped();
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, ProblemRow>(
            "SELECT p.id, p.code, p.description, p.onset_on, p.status, s.display_name AS recorded_by, \
             p.recorded_at FROM problems p \
             JOIN staff_members s ON s.tenant_id = p.tenant_id AND s.id = p.recorded_by \
             WHERE p.tenant_id = $1 AND p.patient_id = $2 \
             ORDER BY CASE p.status WHEN 'active' THEN 0 WHEN 'chronic' THEN 1 ELSE 2 END, \
             p.recorded_at DESC, p.id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(c)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            Ok(Problem {
                id: r.id,
                code: r.code,
                description: r.description,
                onset_on: r.onset_on,
                status: r.status.parse().map_err(corrupt)?,
                recorded_by: r.recorded_by,
                recorded_at: r.recorded_at,
            })
        })
        .collect()
}

#[tracing::instrument(skip_all)]
pub async fn add_problem(
    tx: &mut TenantTx,
    patient: Uuid,
    code: Option<&str>,
    description: &str,
    onset_on: Option<NaiveDate>,
    status: EntryStatus,
    by: Uuid,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO problems (tenant_id, id, patient_id, code, description, onset_on, status, \
             recorded_by, recorded_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $9)",
        )
        .bind(tenant)
        .bind(id)
        .bind(patient)
        .bind(code)
        .bind(description)
        .bind(onset_on)
        .bind(status.as_str())
        .bind(by)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn set_problem_status(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    status: EntryStatus,
    by: Uuid,
) -> Result<(), DbError> {
    set_entry_status(tx, "problems", patient, id, status, by).await
}

// --------------------------------------------------------------------- vitals --

#[derive(sqlx::FromRow)]
struct VitalsRow {
    id: Uuid,
    taken_at: DateTime<Utc>,
    height_mm: Option<i32>,
    weight_g: Option<i32>,
    systolic: Option<i32>,
    diastolic: Option<i32>,
    pulse: Option<i32>,
    temperature_dc: Option<i32>,
    spo2: Option<i32>,
    resp_rate: Option<i32>,
    recorded_by: String,
}

/// The most recent `limit` readings, oldest first (as charts draw them).
#[tracing::instrument(skip_all)]
pub async fn vitals(tx: &mut TenantTx, patient: Uuid, limit: i64) -> Result<Vec<Reading>, DbError> {
    let (tenant, conn) = tx.scoped();
    let mut rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, VitalsRow>(
            "SELECT v.id, v.taken_at, v.height_mm, v.weight_g, v.systolic, v.diastolic, v.pulse, \
             v.temperature_dc, v.spo2, v.resp_rate, s.display_name AS recorded_by FROM vitals v \
             JOIN staff_members s ON s.tenant_id = v.tenant_id AND s.id = v.recorded_by \
             WHERE v.tenant_id = $1 AND v.patient_id = $2 AND v.status = 'final' \
             ORDER BY v.taken_at DESC, v.id DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(patient)
        .bind(limit)
        .fetch_all(c)
        .await?
    });
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(|r| Reading {
            id: r.id,
            taken_at: r.taken_at,
            measures: Measures {
                height_mm: r.height_mm,
                weight_g: r.weight_g,
                systolic: r.systolic,
                diastolic: r.diastolic,
                pulse: r.pulse,
                temperature_dc: r.temperature_dc,
                spo2: r.spo2,
                resp_rate: r.resp_rate,
            },
            recorded_by: r.recorded_by,
        })
        .collect())
}

#[tracing::instrument(skip_all)]
pub async fn add_vitals(
    tx: &mut TenantTx,
    patient: Uuid,
    taken_at: DateTime<Utc>,
    m: &Measures,
    by: Uuid,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO vitals (tenant_id, id, patient_id, taken_at, height_mm, weight_g, systolic, \
             diastolic, pulse, temperature_dc, spo2, resp_rate, status, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'final', $13, $14)",
        )
        .bind(tenant)
        .bind(id)
        .bind(patient)
        .bind(taken_at)
        .bind(m.height_mm)
        .bind(m.weight_g)
        .bind(m.systolic)
        .bind(m.diastolic)
        .bind(m.pulse)
        .bind(m.temperature_dc)
        .bind(m.spo2)
        .bind(m.resp_rate)
        .bind(by)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(id)
}

// ---------------------------------------------------------------------- notes --

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: Uuid,
    author_id: Uuid,
    author: String,
    addendum_to: Option<Uuid>,
    title: String,
    subjective: String,
    objective: String,
    assessment: String,
    plan: String,
    shareable: bool,
    status: String,
    created_at: DateTime<Utc>,
    signed_at: Option<DateTime<Utc>>,
    content_sha256: Option<String>,
}

const NOTE_COLUMNS: &str = "n.id, n.author_id, s.display_name AS author, n.addendum_to, n.title, \
     n.subjective, n.objective, n.assessment, n.plan, n.shareable, n.status, n.created_at, \
     n.signed_at, n.content_sha256";

impl TryFrom<NoteRow> for Note {
    type Error = DbError;
    fn try_from(r: NoteRow) -> Result<Self, DbError> {
        Ok(Note {
            id: r.id,
            author_id: r.author_id,
            author: r.author,
            addendum_to: r.addendum_to,
            title: r.title,
            soap: Soap {
                subjective: r.subjective,
                objective: r.objective,
                assessment: r.assessment,
                plan: r.plan,
            },
            shareable: r.shareable,
            status: r.status.parse().map_err(corrupt)?,
            created_at: r.created_at,
            signed_at: r.signed_at,
            content_sha256: r.content_sha256,
        })
    }
}

/// A patient's notes and addenda, newest first (those of records merged into
/// this one included: signed notes keep the patient they were signed for).
#[tracing::instrument(skip_all)]
pub async fn notes(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Note>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM visit_notes n \
         JOIN staff_members s ON s.tenant_id = n.tenant_id AND s.id = n.author_id \
         WHERE n.tenant_id = $1 AND n.patient_id IN {RECORD_OF} ORDER BY n.created_at DESC, n.id DESC"
    );
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, NoteRow>(&sql)
            .bind(tenant)
            .bind(patient)
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(Note::try_from).collect()
}

#[tracing::instrument(skip_all)]
pub async fn note(tx: &mut TenantTx, patient: Uuid, id: Uuid) -> Result<Option<Note>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM visit_notes n \
         JOIN staff_members s ON s.tenant_id = n.tenant_id AND s.id = n.author_id \
         WHERE n.tenant_id = $1 AND n.patient_id IN {RECORD_OF} AND n.id = $3"
    );
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, NoteRow>(&sql)
            .bind(tenant)
            .bind(patient)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(Note::try_from).transpose()
}

/// Starts a draft note (or, with `addendum_to`, a draft addendum).
#[tracing::instrument(skip_all)]
pub async fn create_draft(
    tx: &mut TenantTx,
    patient: Uuid,
    author: Uuid,
    addendum_to: Option<Uuid>,
    title: &str,
    soap: &Soap,
    shareable: bool,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO visit_notes (tenant_id, id, patient_id, author_id, addendum_to, title, \
             subjective, objective, assessment, plan, shareable, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12, $12)",
        )
        .bind(tenant)
        .bind(id)
        .bind(patient)
        .bind(author)
        .bind(addendum_to)
        .bind(title)
        .bind(&soap.subjective)
        .bind(&soap.objective)
        .bind(&soap.assessment)
        .bind(&soap.plan)
        .bind(shareable)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Saves the author's own draft. A signed note is refused here, and by the
/// database whatever path tries.
#[tracing::instrument(skip_all)]
pub async fn update_draft(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    author: Uuid,
    title: &str,
    soap: &Soap,
    shareable: bool,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE visit_notes SET title = $5, subjective = $6, objective = $7, assessment = $8, \
             plan = $9, shareable = $10, updated_at = $11 \
             WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND author_id = $4 AND status = 'draft'",
        )
        .bind(tenant)
        .bind(patient)
        .bind(id)
        .bind(author)
        .bind(title)
        .bind(&soap.subjective)
        .bind(&soap.objective)
        .bind(&soap.assessment)
        .bind(&soap.plan)
        .bind(shareable)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

/// Signs the author's draft: stores the signing time and the SHA-256 of what
/// was signed; from then on the row cannot change.
#[tracing::instrument(skip_all)]
pub async fn sign(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    author: Uuid,
) -> Result<String, DbError> {
    let note = note(tx, patient, id).await?.ok_or(DbError::NotFound)?;
    if note.status == NoteStatus::Signed {
        return Err(DbError::Invalid("this note is already signed".into()));
    }
    if note.author_id != author {
        return Err(DbError::Invalid(
            "only the note's author can sign it".into(),
        ));
    }
    let now = Utc::now();
    let signed_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let hash = super::signed_content_hash(&note, patient, signed_at);
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE visit_notes SET status = 'signed', signed_at = $4, content_sha256 = $5, updated_at = $4 \
             WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND status = 'draft'",
        )
        .bind(tenant)
        .bind(patient)
        .bind(id)
        .bind(signed_at)
        .bind(&hash)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)?;
    Ok(hash)
}

/// The author's drafts started before `before`, oldest first: notes waiting for
/// a signature, with the patient's name.
#[tracing::instrument(skip_all)]
pub async fn unsigned_before(
    tx: &mut TenantTx,
    author: Uuid,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<super::Unsigned>, DbError> {
    let (tenant, conn) = tx.scoped();
    let rows: Vec<(Uuid, Uuid, String, String, String, DateTime<Utc>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT n.id, n.patient_id, p.given_name, p.family_name, n.title, n.created_at \
             FROM visit_notes n JOIN patients p ON p.tenant_id = n.tenant_id AND p.id = n.patient_id \
             WHERE n.tenant_id = $1 AND n.author_id = $2 AND n.status = 'draft' AND n.created_at < $3 \
             ORDER BY n.created_at, n.id LIMIT $4",
        )
        .bind(tenant)
        .bind(author)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(note_id, patient_id, given, family, title, started)| super::Unsigned {
                note_id,
                patient_id,
                patient: format!("{given} {family}"),
                title,
                started_at: started,
                started: String::new(),
            },
        )
        .collect())
}

// ---------------------------------------------------------- flags, consents --

#[derive(sqlx::FromRow)]
struct FlagRow {
    id: Uuid,
    kind: String,
    note: Option<String>,
    set_by: String,
    set_at: DateTime<Utc>,
    cleared: bool,
}

/// A patient's flags, current first.
#[tracing::instrument(skip_all)]
pub async fn flags(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Flag>, DbError> {
    let (tenant, conn) = tx.scoped();
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, FlagRow>(
            "SELECT f.id, f.kind, f.note, s.display_name AS set_by, f.set_at, \
             (f.cleared_at IS NOT NULL) AS cleared FROM patient_flags f \
             JOIN staff_members s ON s.tenant_id = f.tenant_id AND s.id = f.set_by \
             WHERE f.tenant_id = $1 AND f.patient_id = $2 \
             ORDER BY (f.cleared_at IS NOT NULL), f.set_at DESC, f.id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(c)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            Ok(Flag {
                id: r.id,
                kind: r.kind.parse::<FlagKind>().map_err(corrupt)?,
                note: r.note,
                set_by: r.set_by,
                set_at: r.set_at,
                cleared: r.cleared,
            })
        })
        .collect()
}

#[tracing::instrument(skip_all)]
pub async fn set_flag(
    tx: &mut TenantTx,
    patient: Uuid,
    kind: FlagKind,
    note: Option<&str>,
    by: Uuid,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO patient_flags (tenant_id, id, patient_id, kind, note, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(id)
        .bind(patient)
        .bind(kind.as_str())
        .bind(note)
        .bind(by)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn clear_flag(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    by: Uuid,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patient_flags SET cleared_by = $4, cleared_at = $5 \
             WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND cleared_at IS NULL",
        )
        .bind(tenant)
        .bind(patient)
        .bind(id)
        .bind(by)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    kind: String,
    granted: bool,
    effective_on: NaiveDate,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
}

/// The latest decision for each kind of consent recorded for the patient.
#[tracing::instrument(skip_all)]
pub async fn consents(tx: &mut TenantTx, patient: Uuid) -> Result<Vec<Consent>, DbError> {
    let (tenant, conn) = tx.scoped();
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, ConsentRow>(
            "SELECT c.kind, c.granted, c.effective_on, s.display_name AS recorded_by, c.recorded_at \
             FROM patient_consents c \
             JOIN staff_members s ON s.tenant_id = c.tenant_id AND s.id = c.recorded_by \
             WHERE c.tenant_id = $1 AND c.patient_id = $2 \
             ORDER BY c.recorded_at DESC, c.id DESC",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(c)
        .await?
    });
    let mut latest: Vec<Consent> = Vec::new();
    for r in rows {
        let kind = r.kind.parse::<ConsentKind>().map_err(corrupt)?;
        if latest.iter().all(|c| c.kind != kind) {
            latest.push(Consent {
                kind,
                granted: r.granted,
                effective_on: r.effective_on,
                recorded_by: r.recorded_by,
                recorded_at: r.recorded_at,
            });
        }
    }
    latest.sort_by_key(|c| ConsentKind::ALL.iter().position(|k| *k == c.kind));
    Ok(latest)
}

#[tracing::instrument(skip_all)]
pub async fn record_consent(
    tx: &mut TenantTx,
    patient: Uuid,
    kind: ConsentKind,
    granted: bool,
    effective_on: NaiveDate,
    by: Uuid,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO patient_consents (tenant_id, id, patient_id, kind, granted, effective_on, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(patient)
        .bind(kind.as_str())
        .bind(granted)
        .bind(effective_on)
        .bind(by)
        .bind(Utc::now())
        .execute(c)
        .await?;
    });
    Ok(())
}

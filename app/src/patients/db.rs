//! Patient queries. Every one takes a [`TenantTx`] and binds its tenant id.

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::lists::{
    CorrectionRequest, CorrectionStatus, EmergencyContact, Identifier, Insurance, ListKind,
    RegistryLists, MAX_PENDING_CORRECTIONS,
};
use super::search::{self, Query, Searchable};
use super::{BloodType, Details, Mrn, NewPatient, Paged, Patient};
use crate::db::{on_conn, one_row, DbError, TenantTx};

#[derive(sqlx::FromRow)]
struct PatientRow {
    id: Uuid,
    mrn: String,
    given_name: String,
    family_name: String,
    birth_date: NaiveDate,
    sex: String,
    email: Option<String>,
    phone: Option<String>,
    primary_staff_id: Option<Uuid>,
    portal_account: bool,
    preferred_name: Option<String>,
    gender_identity: Option<String>,
    address: Option<String>,
    preferred_language: Option<String>,
    blood_type: Option<String>,
    status: String,
    deceased_on: Option<NaiveDate>,
    archived: bool,
}

impl TryFrom<PatientRow> for Patient {
    type Error = DbError;
    fn try_from(r: PatientRow) -> Result<Self, DbError> {
        Ok(Patient {
            id: r.id,
            mrn: Mrn::parse(&r.mrn).map_err(DbError::Corrupt)?,
            given_name: r.given_name,
            family_name: r.family_name,
            birth_date: r.birth_date,
            sex: r.sex.parse().map_err(DbError::Corrupt)?,
            email: r.email,
            phone: r.phone,
            primary_staff_id: r.primary_staff_id,
            portal_account: r.portal_account,
            details: Details {
                preferred_name: r.preferred_name,
                gender_identity: r.gender_identity,
                address: r.address,
                preferred_language: r.preferred_language,
                blood_type: r
                    .blood_type
                    .map(|b| b.parse::<BloodType>())
                    .transpose()
                    .map_err(DbError::Corrupt)?,
            },
            status: r.status.parse().map_err(DbError::Corrupt)?,
            deceased_on: r.deceased_on,
            archived: r.archived,
        })
    }
}

const COLUMNS: &str = "p.id, p.mrn, p.given_name, p.family_name, p.birth_date, p.sex, p.email, \
     p.phone, p.primary_staff_id, (p.account_id IS NOT NULL) AS portal_account, p.preferred_name, \
     p.gender_identity, p.address, p.preferred_language, p.blood_type, p.status, p.deceased_on, \
     (p.archived_at IS NOT NULL) AS archived";

fn invalid((field, message): (&'static str, String)) -> DbError {
    DbError::Invalid(format!("{}: {message}", field.replace('_', " ")))
}

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut TenantTx, new: &NewPatient) -> Result<Patient, DbError> {
    new.validate(Utc::now().date_naive()).map_err(invalid)?;
    let id = Uuid::now_v7();
    let (tenant, conn) = tx.scoped();
    let now = Utc::now();
    let d = &new.details;
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO patients (tenant_id, id, mrn, given_name, family_name, search_name, birth_date, \
             sex, email, phone, primary_staff_id, preferred_name, gender_identity, address, \
             preferred_language, blood_type, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
        )
        .bind(tenant)
        .bind(id)
        .bind(new.mrn.as_str())
        .bind(new.given_name.trim())
        .bind(new.family_name.trim())
        .bind(new.search_name())
        .bind(new.birth_date)
        .bind(new.sex.as_str())
        .bind(&new.email)
        .bind(&new.phone)
        .bind(new.primary_staff_id)
        .bind(&d.preferred_name)
        .bind(&d.gender_identity)
        .bind(&d.address)
        .bind(&d.preferred_language)
        .bind(d.blood_type.map(BloodType::as_str))
        .bind(now)
        .execute(c)
        .await
        .map_err(DbError::conflict_on("record number"))?;
    });
    let patient = get(tx, id).await?.ok_or(DbError::NotFound)?;
    index(tx, &patient).await?;
    Ok(patient)
}

/// Registers an import's patients (already checked, numbered and found free of
/// duplicates) in multi-row statements, with their search terms; each keeps the
/// import's id so that the import can be rolled back.
#[tracing::instrument(skip_all)]
pub async fn insert_imported(
    tx: &mut TenantTx,
    import: Uuid,
    patients: &[NewPatient],
) -> Result<Vec<Uuid>, DbError> {
    use crate::db::Arg;
    use crate::patients::import::db::values_sql;
    const HEAD: &str = "INSERT INTO patients (tenant_id, id, mrn, given_name, family_name, \
         search_name, birth_date, sex, email, phone, preferred_name, gender_identity, address, \
         preferred_language, blood_type, created_at, updated_at, import_id) VALUES ";
    let now = Utc::now();
    let ids: Vec<Uuid> = patients.iter().map(|_| Uuid::now_v7()).collect();
    for (chunk, ids) in patients.chunks(500).zip(ids.chunks(500)) {
        let names: Vec<String> = chunk.iter().map(NewPatient::search_name).collect();
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 17);
        for ((p, id), search_name) in chunk.iter().zip(ids).zip(&names) {
            let d = &p.details;
            args.extend::<[Arg<'_>; 17]>([
                (*id).into(),
                p.mrn.as_str().into(),
                p.given_name.trim().into(),
                p.family_name.trim().into(),
                search_name.into(),
                p.birth_date.into(),
                p.sex.as_str().into(),
                (&p.email).into(),
                (&p.phone).into(),
                (&d.preferred_name).into(),
                (&d.gender_identity).into(),
                (&d.address).into(),
                (&d.preferred_language).into(),
                d.blood_type.map(BloodType::as_str).into(),
                now.into(),
                now.into(),
                import.into(),
            ]);
        }
        tx.execute(&values_sql(HEAD, chunk.len(), 17), &args)
            .await
            .map_err(|e| match e {
                DbError::Sqlx(e) => DbError::conflict_on("record number")(e),
                other => other,
            })?;
    }
    let terms: Vec<(String, Uuid)> = patients
        .iter()
        .zip(&ids)
        .flat_map(|(p, id)| {
            search::terms(&Searchable {
                given_name: &p.given_name,
                family_name: &p.family_name,
                preferred_name: p.details.preferred_name.as_deref(),
                mrn: p.mrn.as_str(),
                phone: p.phone.as_deref(),
                email: p.email.as_deref(),
            })
            .into_iter()
            .map(move |t| (t, *id))
        })
        .collect();
    for chunk in terms.chunks(2_000) {
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 2);
        for (term, id) in chunk {
            args.extend::<[Arg<'_>; 2]>([term.into(), (*id).into()]);
        }
        let sql = values_sql(
            "INSERT INTO patient_search_terms (tenant_id, term, patient_id) VALUES ",
            chunk.len(),
            2,
        );
        tx.execute(&sql, &args).await?;
    }
    Ok(ids)
}

/// Changes a patient's registry fields (not the record number or portal link).
#[tracing::instrument(skip_all)]
pub async fn update(tx: &mut TenantTx, id: Uuid, new: &NewPatient) -> Result<Patient, DbError> {
    new.validate(Utc::now().date_naive()).map_err(invalid)?;
    let (tenant, conn) = tx.scoped();
    let d = &new.details;
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET given_name = $3, family_name = $4, search_name = $5, birth_date = $6, \
             sex = $7, email = $8, phone = $9, preferred_name = $10, gender_identity = $11, \
             address = $12, preferred_language = $13, blood_type = $14, updated_at = $15 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(new.given_name.trim())
        .bind(new.family_name.trim())
        .bind(new.search_name())
        .bind(new.birth_date)
        .bind(new.sex.as_str())
        .bind(&new.email)
        .bind(&new.phone)
        .bind(&d.preferred_name)
        .bind(&d.gender_identity)
        .bind(&d.address)
        .bind(&d.preferred_language)
        .bind(d.blood_type.map(BloodType::as_str))
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)?;
    let patient = get(tx, id).await?.ok_or(DbError::NotFound)?;
    index(tx, &patient).await?;
    Ok(patient)
}

/// Sets where the patient stands with the clinic (a date of death with `Deceased`).
#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: super::PatientStatus,
    deceased_on: Option<NaiveDate>,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET status = $3, deceased_on = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(status.as_str())
        .bind(deceased_on)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

/// Rewrites the search terms of the patient with this id from the record as it
/// now stands (after its custom field values change, say).
pub async fn reindex(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    let patient = get(tx, id).await?.ok_or(DbError::NotFound)?;
    index(tx, &patient).await
}

/// Rewrites a patient's search terms from the record as it now stands: names,
/// record number, phone, email, identifiers from other systems and the words of
/// searchable custom fields (the last two found like a record number).
async fn index(tx: &mut TenantTx, p: &Patient) -> Result<(), DbError> {
    let mut terms = search::terms(&Searchable {
        given_name: &p.given_name,
        family_name: &p.family_name,
        preferred_name: p.details.preferred_name.as_deref(),
        mrn: p.mrn.as_str(),
        phone: p.phone.as_deref(),
        email: p.email.as_deref(),
    });
    terms.extend(
        super::fields::db::search_words(tx, p.id)
            .await?
            .into_iter()
            .map(|w| format!("m:{w}")),
    );
    let identifiers: Vec<(String,)> = tx
        .fetch_all(
            "SELECT value FROM patient_identifiers WHERE tenant_id = $1 AND patient_id = $2 \
             AND removed_at IS NULL",
            &[p.id.into()],
        )
        .await?;
    terms.extend(
        identifiers
            .into_iter()
            .map(|(v,)| format!("m:{}", v.to_lowercase())),
    );
    terms.sort();
    terms.dedup();
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM patient_search_terms WHERE tenant_id = $1 AND patient_id = $2")
            .bind(tenant)
            .bind(p.id)
            .execute(&mut *c)
            .await?;
        for term in &terms {
            sqlx::query(
                "INSERT INTO patient_search_terms (tenant_id, term, patient_id) VALUES ($1, $2, $3)",
            )
            .bind(tenant)
            .bind(term)
            .bind(p.id)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!("SELECT {COLUMNS} FROM patients p WHERE p.tenant_id = $1 AND p.id = $2");
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.map(Patient::try_from).transpose()
}

/// How a query narrows the clinic's patients: an optional *driver* (the set of
/// patients whose terms match the first word, as a derived table `m`), further
/// conditions on `p`, and the values they bind after `$1` (the tenant).
///
/// Matching is driven from the terms' btree ranges, never by probing every
/// patient: a correlated `EXISTS` with `OR`ed ranges made SQLite scan all of a
/// clinic's terms for each of its patients (minutes at 200,000 patients).
struct Filter {
    driver: Option<String>,
    cond: String,
    values: Vec<String>,
    date: Option<NaiveDate>,
}

/// The patients whose terms start with one of `options`, as a `SELECT` of
/// `patient_id`s (`UNION` removes repeats; each range uses the index).
fn matching(options: &[String], values: &mut Vec<String>, union: &str) -> String {
    options
        .iter()
        .map(|prefix| {
            values.push(prefix.clone());
            values.push(search::prefix_end(prefix));
            let n = values.len() + 1;
            format!(
                "SELECT t.patient_id FROM patient_search_terms t WHERE t.tenant_id = $1 \
                 AND t.term >= ${} AND t.term < ${}",
                n - 1,
                n
            )
        })
        .collect::<Vec<_>>()
        .join(union)
}

fn filter(query: &Query) -> Filter {
    match query {
        Query::Everyone => Filter {
            driver: None,
            cond: String::new(),
            values: Vec::new(),
            date: None,
        },
        Query::BirthDate(date) => Filter {
            driver: None,
            cond: " AND p.birth_date = $2".into(),
            values: Vec::new(),
            date: Some(*date),
        },
        Query::Words(words) => {
            let mut values = Vec::new();
            let mut driver = None;
            let mut cond = String::new();
            for (i, options) in words.iter().enumerate() {
                if i == 0 {
                    let set = matching(options, &mut values, " UNION ");
                    driver = Some(format!("({set}) m"));
                } else {
                    let set = matching(options, &mut values, " UNION ALL ");
                    cond.push_str(&format!(" AND p.id IN ({set})"));
                }
            }
            Filter {
                driver,
                cond,
                values,
                date: None,
            }
        }
    }
}

/// One page of the patients matching `query` (archived records left out), by name.
#[tracing::instrument(skip_all)]
pub async fn search_page(
    tx: &mut TenantTx,
    query: &Query,
    page: u32,
    limit: u32,
) -> Result<Paged<Patient>, DbError> {
    search_page_for(tx, query, page, limit, None).await
}

/// [`search_page`], limited to `own_of`'s own patients when given (the
/// doctors-see-only-their-patients setting).
#[tracing::instrument(skip_all)]
pub async fn search_page_for(
    tx: &mut TenantTx,
    query: &Query,
    page: u32,
    limit: u32,
    own_of: Option<Uuid>,
) -> Result<Paged<Patient>, DbError> {
    let page = page.max(1);
    let limit = limit.clamp(1, 100);
    let Filter {
        driver,
        mut cond,
        values,
        date,
    } = filter(query);
    if own_of.is_some() {
        // Placeholders: $1 tenant, then the date (when any), then the values.
        cond.push_str(&own_patient_condition(
            2 + usize::from(date.is_some()) + values.len(),
        ));
    }
    let (tenant, conn) = tx.scoped();
    let base = match driver {
        // SQLite joins in the order written only with CROSS JOIN (PostgreSQL has
        // no ON for CROSS JOIN, and plans the join well by itself).
        Some(set) => {
            let join = if matches!(conn, crate::db::Tx::Sqlite(_)) {
                "CROSS JOIN"
            } else {
                "JOIN"
            };
            format!(
                "FROM {set} {join} patients p ON p.tenant_id = $1 AND p.id = m.patient_id \
                 WHERE p.archived_at IS NULL{cond}"
            )
        }
        None => format!("FROM patients p WHERE p.tenant_id = $1 AND p.archived_at IS NULL{cond}"),
    };
    // The page's ids are chosen from the narrow index alone (id, name); only
    // those rows are then read whole.
    let list_sql = format!(
        "SELECT {COLUMNS} FROM patients p WHERE p.tenant_id = $1 AND p.id IN \
         (SELECT p.id {base} ORDER BY p.search_name, p.id LIMIT {limit} OFFSET {}) \
         ORDER BY p.search_name, p.id",
        u64::from(page - 1) * u64::from(limit)
    );
    let count_sql = format!("SELECT count(*) {base}");
    let (rows, total) = on_conn!(conn, |c| {
        let mut list = sqlx::query_as::<_, PatientRow>(&list_sql).bind(tenant);
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(tenant);
        if let Some(date) = date {
            list = list.bind(date);
            count = count.bind(date);
        }
        for v in &values {
            list = list.bind(v);
            count = count.bind(v);
        }
        if let Some(staff) = own_of {
            list = list.bind(staff);
            count = count.bind(staff);
        }
        let rows = list.fetch_all(&mut *c).await?;
        let total = count.fetch_one(&mut *c).await?;
        (rows, total)
    });
    let items = rows
        .into_iter()
        .map(Patient::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Paged::new(
        items,
        page,
        limit,
        u64::try_from(total).unwrap_or(0),
    ))
}

/// The first `limit` patients matching a search box's text, read with ISO dates
/// and no default country (the API reads it with the clinic's settings).
#[tracing::instrument(skip_all)]
pub async fn search(tx: &mut TenantTx, query: &str, limit: i64) -> Result<Vec<Patient>, DbError> {
    let query = search::parse(query, "%Y-%m-%d", None);
    let limit = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
    Ok(search_page(tx, &query, 1, limit).await?.items)
}

/// Patients the new registration may duplicate: same birth date and a similar
/// name (a shared name word, or the same family name), or the same phone or email.
#[tracing::instrument(skip_all)]
pub async fn possible_duplicates(
    tx: &mut TenantTx,
    new: &NewPatient,
) -> Result<Vec<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT {COLUMNS} FROM patients p WHERE p.tenant_id = $1 AND p.archived_at IS NULL AND (\
         (p.birth_date = $2 AND EXISTS (SELECT 1 FROM patient_search_terms t WHERE t.tenant_id = $1 \
           AND t.patient_id = p.id AND (t.term = $3 OR t.term = $4))) \
         OR (p.phone IS NOT NULL AND p.phone = $5) OR (p.email IS NOT NULL AND p.email = $6)) \
         ORDER BY p.search_name, p.id LIMIT 10"
    );
    let family = format!("n:{}", search::fold(new.family_name.trim()));
    let given = format!("n:{}", search::fold(new.given_name.trim()));
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(new.birth_date)
            .bind(&family)
            .bind(&given)
            .bind(&new.phone)
            .bind(&new.email)
            .fetch_all(c)
            .await?
    });
    rows.into_iter().map(Patient::try_from).collect()
}

/// The next record number of the clinic's series (`prefix` + six digits), skipping
/// numbers already typed by hand. The series row is created on first use.
#[tracing::instrument(skip_all)]
pub async fn next_mrn(tx: &mut TenantTx, default_prefix: &str) -> Result<Mrn, DbError> {
    for _ in 0..1_000 {
        let (tenant, conn) = tx.scoped();
        let (prefix, value): (String, i64) = on_conn!(conn, |c| {
            sqlx::query_as(
                "INSERT INTO patient_mrn_series (tenant_id, prefix, next_value) VALUES ($1, $2, 2) \
                 ON CONFLICT (tenant_id) DO UPDATE SET next_value = patient_mrn_series.next_value + 1 \
                 RETURNING prefix, next_value - 1",
            )
            .bind(tenant)
            .bind(default_prefix)
            .fetch_one(c)
            .await?
        });
        let mrn = Mrn::parse(&format!("{prefix}{value:06}")).map_err(DbError::Corrupt)?;
        if !mrn_taken(tx, &mrn).await? {
            return Ok(mrn);
        }
    }
    Err(DbError::Invalid(
        "no free record number in this series; type one, or change the prefix".into(),
    ))
}

async fn mrn_taken(tx: &mut TenantTx, mrn: &Mrn) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM patients WHERE tenant_id = $1 AND mrn = $2",
        )
        .bind(tenant)
        .bind(mrn.as_str())
        .fetch_one(c)
        .await?
            > 0
    }))
}

/// The clinic's record-number prefix, and the number the next patient gets.
#[tracing::instrument(skip_all)]
pub async fn mrn_series(tx: &mut TenantTx) -> Result<Option<(String, i64)>, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT prefix, next_value FROM patient_mrn_series WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(c)
            .await?
    }))
}

/// Sets the prefix of the clinic's record numbers (numbering continues).
#[tracing::instrument(skip_all)]
pub async fn set_mrn_prefix(tx: &mut TenantTx, prefix: &str) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO patient_mrn_series (tenant_id, prefix, next_value) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id) DO UPDATE SET prefix = $2",
        )
        .bind(tenant)
        .bind(prefix)
        .execute(c)
        .await?;
    });
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn update_contact(
    tx: &mut TenantTx,
    id: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET email = $3, phone = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(email)
        .bind(phone)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)?;
    let patient = get(tx, id).await?.ok_or(DbError::NotFound)?;
    index(tx, &patient).await
}

/// Archives (hides from lists and search) or restores a patient; nothing is deleted.
#[tracing::instrument(skip_all)]
pub async fn set_archived(tx: &mut TenantTx, id: Uuid, archived: bool) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let now = Utc::now();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET archived_at = CASE WHEN $3 THEN $4 ELSE NULL END, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(archived)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

/// Removes a patient who has nothing recorded yet (tests and failed imports; the
/// application archives instead).
#[tracing::instrument(skip_all)]
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query("DELETE FROM patient_search_terms WHERE tenant_id = $1 AND patient_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM patients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    one_row(affected)
}

#[tracing::instrument(skip_all)]
pub async fn count(tx: &mut TenantTx) -> Result<i64, DbError> {
    let (tenant, conn) = tx.scoped();
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(c)
            .await?
    }))
}

/// The patient record a portal account is linked to in this tenant.
#[tracing::instrument(skip_all)]
pub async fn find_by_account(tx: &mut TenantTx, account: Uuid) -> Result<Option<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql =
        format!("SELECT {COLUMNS} FROM patients p WHERE p.tenant_id = $1 AND p.account_id = $2");
    let row = on_conn!(conn, |c| {
        sqlx::query_as::<_, PatientRow>(&sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(c)
            .await?
    });
    row.map(Patient::try_from).transpose()
}

/// Links a portal account to a patient record (one account per record per tenant).
#[tracing::instrument(skip_all)]
pub async fn link_account(tx: &mut TenantTx, id: Uuid, account: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let done = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patients SET account_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(account)
        .bind(Utc::now())
        .execute(c)
        .await
        .map_err(DbError::conflict_on("portal account"))?
        .rows_affected()
    });
    one_row(done)
}

// ------------------------------------------------------- the registry's lists --

/// The patient's current emergency contacts, insurance entries and identifiers,
/// primary entries first.
#[tracing::instrument(skip_all)]
pub async fn lists(tx: &mut TenantTx, patient: Uuid) -> Result<RegistryLists, DbError> {
    let (tenant, conn) = tx.scoped();
    let (contacts, insurance, identifiers) = on_conn!(conn, |c| {
        let contacts = sqlx::query_as::<_, (Uuid, String, String, String, bool)>(
            "SELECT id, name, relation, phone, is_primary FROM patient_contacts \
             WHERE tenant_id = $1 AND patient_id = $2 AND removed_at IS NULL \
             ORDER BY is_primary DESC, added_at, id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(&mut *c)
        .await?;
        #[allow(clippy::type_complexity)]
        let insurance = sqlx::query_as::<
            _,
            (
                Uuid,
                String,
                String,
                Option<String>,
                Option<String>,
                Option<NaiveDate>,
                Option<NaiveDate>,
                bool,
            ),
        >(
            "SELECT id, provider, policy_number, group_number, subscriber, valid_from, valid_to, \
             is_primary FROM patient_insurance \
             WHERE tenant_id = $1 AND patient_id = $2 AND removed_at IS NULL \
             ORDER BY is_primary DESC, added_at, id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(&mut *c)
        .await?;
        let identifiers = sqlx::query_as::<_, (Uuid, String, String)>(
            "SELECT id, system, value FROM patient_identifiers \
             WHERE tenant_id = $1 AND patient_id = $2 AND removed_at IS NULL ORDER BY added_at, id",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(&mut *c)
        .await?;
        (contacts, insurance, identifiers)
    });
    Ok(RegistryLists {
        contacts: contacts
            .into_iter()
            .map(|(id, name, relation, phone, primary)| EmergencyContact {
                id,
                name,
                relation,
                phone,
                primary,
            })
            .collect(),
        insurance: insurance
            .into_iter()
            .map(
                |(
                    id,
                    provider,
                    policy_number,
                    group_number,
                    subscriber,
                    valid_from,
                    valid_to,
                    primary,
                )| {
                    Insurance {
                        id,
                        provider,
                        policy_number,
                        group_number,
                        subscriber,
                        valid_from,
                        valid_to,
                        primary,
                    }
                },
            )
            .collect(),
        identifiers: identifiers
            .into_iter()
            .map(|(id, system, value)| Identifier { id, system, value })
            .collect(),
    })
}

/// Makes room for a new primary entry: the current one stops being primary.
async fn demote_primary(tx: &mut TenantTx, kind: ListKind, patient: Uuid) -> Result<(), DbError> {
    // The table name comes from a closed enum, never from input.
    let sql = format!(
        "UPDATE {} SET is_primary = $3 WHERE tenant_id = $1 AND patient_id = $2 \
         AND is_primary = $4 AND removed_at IS NULL",
        kind.table()
    );
    tx.execute(&sql, &[patient.into(), false.into(), true.into()])
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn add_contact(
    tx: &mut TenantTx,
    patient: Uuid,
    c: &EmergencyContact,
    by: Uuid,
) -> Result<(), DbError> {
    if c.primary {
        demote_primary(tx, ListKind::Contact, patient).await?;
    }
    tx.execute(
        "INSERT INTO patient_contacts (tenant_id, id, patient_id, name, relation, phone, \
         is_primary, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            c.id.into(),
            patient.into(),
            (&c.name).into(),
            (&c.relation).into(),
            (&c.phone).into(),
            c.primary.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn add_insurance(
    tx: &mut TenantTx,
    patient: Uuid,
    i: &Insurance,
    by: Uuid,
) -> Result<(), DbError> {
    if i.primary {
        demote_primary(tx, ListKind::Insurance, patient).await?;
    }
    tx.execute(
        "INSERT INTO patient_insurance (tenant_id, id, patient_id, provider, policy_number, \
         group_number, subscriber, valid_from, valid_to, is_primary, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            i.id.into(),
            patient.into(),
            (&i.provider).into(),
            (&i.policy_number).into(),
            (&i.group_number).into(),
            (&i.subscriber).into(),
            i.valid_from.into(),
            i.valid_to.into(),
            i.primary.into(),
            by.into(),
            Utc::now().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Adds an identifier; `Ok(false)` when another current patient of the clinic
/// already carries the same system and value.
#[tracing::instrument(skip_all)]
pub async fn add_identifier(
    tx: &mut TenantTx,
    patient: Uuid,
    i: &Identifier,
    by: Uuid,
) -> Result<bool, DbError> {
    let inserted = tx
        .execute(
            "INSERT INTO patient_identifiers (tenant_id, id, patient_id, system, value, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                i.id.into(),
                patient.into(),
                (&i.system).into(),
                (&i.value).into(),
                by.into(),
                Utc::now().into(),
            ],
        )
        .await?;
    if inserted == 1 {
        reindex(tx, patient).await?;
    }
    Ok(inserted == 1)
}

/// Marks an entry of the patient's list removed.
#[tracing::instrument(skip_all)]
pub async fn remove_entry(
    tx: &mut TenantTx,
    kind: ListKind,
    patient: Uuid,
    id: Uuid,
    by: Uuid,
) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE {} SET removed_by = $4, removed_at = $5 \
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND removed_at IS NULL",
        kind.table()
    );
    tx.execute_one(
        &sql,
        &[patient.into(), id.into(), by.into(), Utc::now().into()],
    )
    .await?;
    if kind == ListKind::Identifier {
        reindex(tx, patient).await?;
    }
    Ok(())
}

// ------------------------------------------------------------ recent patients --

/// How many recently opened charts each staff member keeps.
pub const RECENT: i64 = 10;

/// Notes that `staff` opened `patient`'s chart now; keeps the newest [`RECENT`].
#[tracing::instrument(skip_all)]
pub async fn note_recent(tx: &mut TenantTx, staff: Uuid, patient: Uuid) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO recent_patients (tenant_id, staff_id, patient_id, viewed_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, staff_id, patient_id) DO UPDATE SET viewed_at = excluded.viewed_at",
        )
        .bind(tenant)
        .bind(staff)
        .bind(patient)
        .bind(Utc::now())
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "DELETE FROM recent_patients WHERE tenant_id = $1 AND staff_id = $2 AND patient_id NOT IN \
             (SELECT patient_id FROM recent_patients WHERE tenant_id = $1 AND staff_id = $2 \
              ORDER BY viewed_at DESC LIMIT $3)",
        )
        .bind(tenant)
        .bind(staff)
        .bind(RECENT)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// The charts `staff` opened last, newest first (archived records left out).
#[tracing::instrument(skip_all)]
pub async fn recent(tx: &mut TenantTx, staff: Uuid) -> Result<Vec<Patient>, DbError> {
    let (tenant, conn) = tx.scoped();
    let ids = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, Uuid>(
            "SELECT r.patient_id FROM recent_patients r \
             JOIN patients p ON p.tenant_id = r.tenant_id AND p.id = r.patient_id \
             WHERE r.tenant_id = $1 AND r.staff_id = $2 AND p.archived_at IS NULL \
             ORDER BY r.viewed_at DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(staff)
        .bind(RECENT)
        .fetch_all(c)
        .await?
    });
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(p) = get(tx, id).await? {
            out.push(p);
        }
    }
    Ok(out)
}

// ------------------------------------------------------- correction requests --

/// The patient's correction requests, newest first.
#[tracing::instrument(skip_all)]
pub async fn corrections(
    tx: &mut TenantTx,
    patient: Uuid,
) -> Result<Vec<CorrectionRequest>, DbError> {
    let (tenant, conn) = tx.scoped();
    #[allow(clippy::type_complexity)]
    let rows = on_conn!(conn, |c| {
        sqlx::query_as::<
            _,
            (
                Uuid,
                String,
                String,
                chrono::DateTime<Utc>,
                Option<String>,
                Option<String>,
            ),
        >(
            "SELECT r.id, r.message, r.status, r.requested_at, s.display_name, r.response \
             FROM patient_correction_requests r \
             LEFT JOIN staff_members s ON s.tenant_id = r.tenant_id AND s.id = r.decided_by \
             WHERE r.tenant_id = $1 AND r.patient_id = $2 ORDER BY r.requested_at DESC, r.id DESC",
        )
        .bind(tenant)
        .bind(patient)
        .fetch_all(c)
        .await?
    });
    rows.into_iter()
        .map(
            |(id, message, status, requested_at, decided_by, response)| {
                Ok(CorrectionRequest {
                    id,
                    message,
                    status: status.parse().map_err(DbError::Corrupt)?,
                    requested_at,
                    decided_by,
                    response,
                })
            },
        )
        .collect()
}

/// Files a request; `Ok(false)` when the patient already has the most waiting.
#[tracing::instrument(skip_all)]
pub async fn request_correction(
    tx: &mut TenantTx,
    patient: Uuid,
    message: &str,
) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let inserted = on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO patient_correction_requests (tenant_id, id, patient_id, message, status, requested_at) \
             SELECT $1, $2, $3, $4, 'pending', $5 WHERE (SELECT count(*) FROM patient_correction_requests \
               WHERE tenant_id = $1 AND patient_id = $3 AND status = 'pending') < $6",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(patient)
        .bind(message)
        .bind(Utc::now())
        .bind(MAX_PENDING_CORRECTIONS)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// Closes a pending request of the patient.
#[tracing::instrument(skip_all)]
pub async fn decide_correction(
    tx: &mut TenantTx,
    patient: Uuid,
    id: Uuid,
    status: CorrectionStatus,
    response: Option<&str>,
    by: Uuid,
) -> Result<(), DbError> {
    let (tenant, conn) = tx.scoped();
    let affected = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE patient_correction_requests SET status = $4, response = $5, decided_by = $6, decided_at = $7 \
             WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND status = 'pending'",
        )
        .bind(tenant)
        .bind(patient)
        .bind(id)
        .bind(status.as_str())
        .bind(response)
        .bind(by)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    one_row(affected)
}

// ---------------------------------------------------- doctor-level visibility --

/// Whether the clinic limits what `role` sees to their own patients (the
/// "doctors see only their patients" setting; it concerns doctors only).
#[tracing::instrument(skip_all)]
pub async fn sees_own_patients_only(
    tx: &mut TenantTx,
    role: crate::identity::Role,
) -> Result<bool, DbError> {
    if role != crate::identity::Role::Doctor {
        return Ok(false);
    }
    let tenant = tx.tenant_id();
    Ok(crate::tenancy::db::security_policy(tx.platform(), tenant)
        .await?
        .doctors_see_own_patients)
}

/// The condition, on `patients p`, that the patient is `staff`'s own: assigned to
/// them, or with a visit note they wrote. `$n` is the staff id's placeholder.
fn own_patient_condition(n: usize) -> String {
    format!(
        " AND (p.primary_staff_id = ${n} OR EXISTS (SELECT 1 FROM visit_notes v \
         WHERE v.tenant_id = p.tenant_id AND v.patient_id = p.id AND v.author_id = ${n}))"
    )
}

/// Whether `patient` is `staff`'s own (see [`own_patient_condition`]).
#[tracing::instrument(skip_all)]
pub async fn is_own_patient(
    tx: &mut TenantTx,
    staff: Uuid,
    patient: Uuid,
) -> Result<bool, DbError> {
    let (tenant, conn) = tx.scoped();
    let sql = format!(
        "SELECT count(*) FROM patients p WHERE p.tenant_id = $1 AND p.id = $2{}",
        own_patient_condition(3)
    );
    let n = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(tenant)
            .bind(patient)
            .bind(staff)
            .fetch_one(c)
            .await?
    });
    Ok(n > 0)
}

//! The import's run: the [`kinds::PATIENT_IMPORT`] job. Rows go in chunks of
//! [`CHUNK`]; each chunk, its rejected rows and the import's progress commit
//! together, so a run that stops resumes exactly where the last chunk landed.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::db::{self, Registered};
use super::{read_row, twins_in_file, Import, ImportState, RowPatient, RowRules, Table};
use crate::db::{Db, DbError, TenantTx};
use crate::ids::TenantId;
use crate::jobs::{kinds, Done, Failure, Job, NewJob};
use crate::patients::{Mrn, NewPatient};
use crate::plans::LimitKind;

/// Rows per transaction: large enough that 50,000 rows take seconds, small
/// enough that a chunk holds the clinic's patient lock only briefly.
pub const CHUNK: usize = 500;

/// The job that runs (or resumes) an import. Each start is a job of its own; a
/// second run of one import finds its chunk taken and stops ([`db::take_chunk`]).
pub fn job(tenant: TenantId, import: Uuid) -> NewJob {
    NewJob::new(
        kinds::PATIENT_IMPORT,
        format!("patient-import:{import}:{}", Uuid::now_v7()),
        Utc::now(),
    )
    .payload(format!("{tenant}/{import}"))
    .attempts(5)
}

fn retry(e: DbError) -> Failure {
    Failure::Retry(format!("patient import: {e}"))
}

/// Every row of the file read once per run: what it would register, or why not.
struct Prepared {
    table: Table,
    read: Vec<Result<RowPatient, String>>,
    /// Row index → the earlier row (index) it repeats.
    twins: HashMap<usize, usize>,
}

/// Reads the file by the import's mapping (also what the preview shows).
fn prepare(content: &str, import: &Import, rules: &RowRules<'_>) -> Result<Prepared, String> {
    let table = Table::parse(content.as_bytes())?;
    let system = import.mapping.identifier_system(&import.headers);
    let read: Vec<Result<RowPatient, String>> = table
        .rows
        .iter()
        .map(|row| read_row(row, &import.mapping, rules, system.as_deref()))
        .collect();
    let ok: Vec<Option<RowPatient>> = read.iter().map(|r| r.as_ref().ok().cloned()).collect();
    let twins = twins_in_file(&ok, !import.allow_similar);
    Ok(Prepared { table, read, twins })
}

/// A row of the preview: its number, its cells and what stops it, if anything.
pub struct PreviewRow {
    pub number: usize,
    pub cells: Vec<String>,
    pub problem: Option<String>,
}

/// The preview: the first rows with their problems, and how many rows of the
/// whole file read (duplicates of registered patients are found by the run).
pub struct Preview {
    pub rows: Vec<PreviewRow>,
    pub readable: usize,
    pub unreadable: usize,
}

pub fn preview(content: &str, import: &Import, rules: &RowRules<'_>) -> Result<Preview, String> {
    let p = prepare(content, import, rules)?;
    let rows = (0..p.table.rows.len().min(super::PREVIEW_ROWS))
        .map(|i| PreviewRow {
            number: p.table.numbers[i],
            cells: p.table.rows[i].clone(),
            problem: problem(&p, i),
        })
        .collect();
    let unreadable = (0..p.table.rows.len())
        .filter(|&i| problem(&p, i).is_some())
        .count();
    Ok(Preview {
        rows,
        readable: p.table.rows.len() - unreadable,
        unreadable,
    })
}

/// Why row `i` cannot go in, as far as the file alone tells.
fn problem(p: &Prepared, i: usize) -> Option<String> {
    match (&p.read[i], p.twins.get(&i)) {
        (Err(e), _) => Some(e.clone()),
        (Ok(_), Some(&first)) => Some(format!(
            "repeats row {} of this file",
            p.table.numbers[first]
        )),
        (Ok(_), None) => None,
    }
}

/// The job: payload `tenant/import`.
pub async fn run(db: &Db, job: &Job) -> Result<Done, Failure> {
    let parsed = job
        .payload
        .split_once('/')
        .and_then(|(t, i)| Some((t.parse::<Uuid>().ok()?, i.parse::<Uuid>().ok()?)));
    let Some((tenant, import)) = parsed else {
        return Err(Failure::Permanent("the job does not name an import".into()));
    };
    let tenant = TenantId::from_uuid(tenant);
    let mut platform = db.begin_platform_read().await.map_err(retry)?;
    let Some(clinic) = crate::tenancy::db::find_by_id(&mut platform, tenant)
        .await
        .map_err(retry)?
    else {
        return Ok(Done::Finished);
    };
    platform.commit().await.map_err(retry)?;
    match run_import(db, &clinic, import).await {
        Ok(()) => Ok(Done::Finished),
        Err(e) if job.attempts + 1 >= job.max_attempts => {
            // The last attempt: the import says it stopped, and can be resumed.
            tracing::error!(error = %e, "patient import stopped");
            let mut tx = db.begin_for(tenant).await.map_err(retry)?;
            db::end(
                &mut tx,
                import,
                ImportState::Stopped,
                Some("the import stopped on a server error; resume it, or roll it back"),
            )
            .await
            .map_err(retry)?;
            tx.commit().await.map_err(retry)?;
            Ok(Done::Finished)
        }
        Err(e) => Err(retry(e)),
    }
}

pub(super) async fn run_import(
    db: &Db,
    clinic: &crate::tenancy::Tenant,
    id: Uuid,
) -> Result<(), DbError> {
    let mut tx = db.begin_for(clinic.id).await?;
    let Some(import) = db::get(&mut tx, id).await? else {
        return Ok(());
    };
    if import.state != ImportState::Running {
        return Ok(());
    }
    let content = db::content(&mut tx, id).await?;
    tx.commit().await?;
    let today = Utc::now().with_timezone(&clinic.settings.tz()).date_naive();
    let rules = RowRules {
        today,
        date_format: &import.date_format,
        country: crate::patients::phone::country_of_timezone(&clinic.settings.timezone),
    };
    let prepared = match prepare(&content, &import, &rules) {
        Ok(p) => p,
        Err(e) => {
            let mut tx = db.begin_for(clinic.id).await?;
            db::end(&mut tx, id, ImportState::Stopped, Some(&e)).await?;
            return tx.commit().await;
        }
    };
    let prefix = clinic.settings.record_prefix(clinic.slug.as_str());
    let mut done = usize::try_from(import.processed_rows).unwrap_or(usize::MAX);
    let mut first_chunk = true;
    loop {
        let mut tx = db.begin_for(clinic.id).await?;
        if done >= prepared.table.rows.len() {
            if db::take_chunk(&mut tx, id, done as i64).await? {
                db::end(&mut tx, id, ImportState::Done, None).await?;
            }
            return tx.commit().await;
        }
        if !db::take_chunk(&mut tx, id, done as i64).await? {
            // Another worker moved it on, or someone stopped it.
            return Ok(());
        }
        let end = (done + CHUNK).min(prepared.table.rows.len());
        match import_chunk(&mut tx, &import, &prepared, done..end, &prefix).await? {
            Ok(()) => {
                tx.commit().await?;
                if first_chunk {
                    // Statistics for the foreign-key checks' plans (see there).
                    let mut tx = db.begin_for(clinic.id).await?;
                    tx.analyze_registry().await?;
                    tx.commit().await?;
                    first_chunk = false;
                }
                done = end;
            }
            Err(limit) => {
                db::end(&mut tx, id, ImportState::Stopped, Some(&limit)).await?;
                return tx.commit().await;
            }
        }
    }
}

/// Registers the rows of `range` that pass and reports the others; the inner
/// error is the plan's limit (the chunk then registers nothing).
async fn import_chunk(
    tx: &mut TenantTx,
    import: &Import,
    p: &Prepared,
    range: std::ops::Range<usize>,
    prefix: &str,
) -> Result<Result<(), String>, DbError> {
    let mut rejected = Vec::new();
    let mut accepted: Vec<(usize, &RowPatient)> = Vec::new();
    for i in range.clone() {
        match problem(p, i) {
            Some(reason) => rejected.push((i, reason)),
            None => {
                if let Ok(row) = &p.read[i] {
                    accepted.push((i, row));
                }
            }
        }
    }
    // Record numbers typed in the file that the clinic already uses.
    let typed: Vec<&str> = accepted
        .iter()
        .filter_map(|(_, r)| r.mrn.as_ref().map(Mrn::as_str))
        .collect();
    let in_use = db::mrns_in_use(tx, &typed).await?;
    let system = import.mapping.identifier_system(&import.headers);
    let held: Vec<&str> = accepted
        .iter()
        .filter_map(|(_, r)| r.identifier.as_ref().map(|i| i.value.as_str()))
        .collect();
    let held = match &system {
        Some(system) if !held.is_empty() => db::identifiers_in_use(tx, system, &held).await?,
        _ => Default::default(),
    };
    let registered = if import.allow_similar {
        Vec::new()
    } else {
        let rows: Vec<&NewPatient> = accepted.iter().map(|(_, r)| &r.patient).collect();
        registered_like(tx, import.id, &rows).await?
    };
    let look_alike = LookAlike::new(&registered);
    accepted.retain(|(i, row)| {
        let held_by_another = row.identifier.as_ref().filter(|i| held.contains(&i.value));
        let reason = match (&row.mrn, held_by_another) {
            (Some(m), _) if in_use.contains(m.as_str()) => {
                Some(format!("record number {m} is in use"))
            }
            (_, Some(i)) => Some(format!(
                "{} {} belongs to a registered patient",
                i.system, i.value
            )),
            _ => look_alike
                .find(&row.patient)
                .map(|mrn| format!("may already be registered, as {mrn}")),
        };
        match reason {
            Some(reason) => {
                rejected.push((*i, reason));
                false
            }
            None => true,
        }
    });
    let adding = i64::try_from(accepted.len()).unwrap_or(i64::MAX);
    if let Err(limit) = crate::plans::db::ensure_room(tx, LimitKind::Patients, adding).await? {
        return Ok(Err(format!(
            "{} The rows before row {} were imported; resume once there is room, or roll back.",
            limit.0, p.table.numbers[range.start]
        )));
    }
    let wanted = accepted.iter().filter(|(_, r)| r.mrn.is_none()).count();
    let mut numbers = reserve_mrns(tx, prefix, wanted).await?.into_iter();
    let mut patients = Vec::with_capacity(accepted.len());
    for (_, row) in &accepted {
        let mut patient = row.patient.clone();
        patient.mrn = match &row.mrn {
            Some(m) => m.clone(),
            None => numbers.next().ok_or(DbError::NotFound)?,
        };
        patients.push(patient);
    }
    let ids = crate::patients::db::insert_imported(tx, import.id, &patients).await?;
    let with_details: Vec<(Uuid, &RowPatient)> = ids
        .into_iter()
        .zip(&accepted)
        .filter(|(_, (_, r))| {
            r.contact.is_some() || r.insurance.is_some() || r.identifier.is_some()
        })
        .map(|(id, (_, r))| (id, *r))
        .collect();
    if !with_details.is_empty() {
        let by = db::importer(tx, import.id).await?;
        db::insert_details(tx, import.id, by, &with_details).await?;
    }
    rejected.sort_by_key(|(i, _)| *i);
    let rejected: Vec<super::Rejected> = rejected
        .into_iter()
        .map(|(i, reason)| super::Rejected {
            row: p.table.numbers[i] as i64,
            reason,
            cells: p.table.rows[i].clone(),
        })
        .collect();
    db::add_rejected(tx, import.id, &rejected).await?;
    db::advance(
        tx,
        import.id,
        range.len() as i64,
        patients.len() as i64,
        rejected.len() as i64,
    )
    .await?;
    Ok(Ok(()))
}

async fn registered_like(
    tx: &mut TenantTx,
    import: Uuid,
    rows: &[&NewPatient],
) -> Result<Vec<Registered>, DbError> {
    let mut dates: Vec<NaiveDate> = rows.iter().map(|p| p.birth_date).collect();
    dates.sort_unstable();
    dates.dedup();
    let phones: Vec<&str> = rows.iter().filter_map(|p| p.phone.as_deref()).collect();
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|p| p.email.as_deref().map(str::to_lowercase))
        .collect();
    let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
    db::registered_like(tx, import, &dates, &phones, &emails).await
}

/// Registered patients by what a duplicate would share with them.
struct LookAlike<'a> {
    by_key: HashMap<String, &'a str>,
}

impl<'a> LookAlike<'a> {
    fn new(registered: &'a [Registered]) -> Self {
        let mut by_key = HashMap::new();
        for r in registered {
            for key in keys(
                &r.given_name,
                &r.family_name,
                r.birth_date,
                r.phone.as_deref(),
                r.email.as_deref(),
            ) {
                by_key.entry(key).or_insert(r.mrn.as_str());
            }
        }
        Self { by_key }
    }

    fn find(&self, p: &NewPatient) -> Option<&'a str> {
        keys(
            &p.given_name,
            &p.family_name,
            p.birth_date,
            p.phone.as_deref(),
            p.email.as_deref(),
        )
        .iter()
        .find_map(|k| self.by_key.get(k).copied())
    }
}

fn keys(
    given: &str,
    family: &str,
    born: NaiveDate,
    phone: Option<&str>,
    email: Option<&str>,
) -> Vec<String> {
    let mut keys: Vec<String> = super::name_words(given, family)
        .into_iter()
        .map(|w| format!("n:{born}:{w}"))
        .collect();
    keys.extend(phone.map(|v| format!("p:{v}")));
    keys.extend(email.map(|v| format!("e:{}", v.to_lowercase())));
    keys
}

/// `n` record numbers of the clinic's series that nobody holds.
async fn reserve_mrns(tx: &mut TenantTx, prefix: &str, n: usize) -> Result<Vec<Mrn>, DbError> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..100 {
        let want = n - out.len();
        if want == 0 {
            return Ok(out);
        }
        let (prefix, first): (String, i64) = tx
            .fetch_one(
                "INSERT INTO patient_mrn_series (tenant_id, prefix, next_value) VALUES ($1, $2, 1 + $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET next_value = patient_mrn_series.next_value + $3 \
                 RETURNING prefix, next_value - $3",
                &[prefix.into(), (want as i64).into()],
            )
            .await?;
        let fresh: Vec<Mrn> = (first..first + want as i64)
            .map(|v| Mrn::parse(&format!("{prefix}{v:06}")).map_err(DbError::Corrupt))
            .collect::<Result<_, _>>()?;
        let names: Vec<&str> = fresh.iter().map(Mrn::as_str).collect();
        let taken = db::mrns_in_use(tx, &names).await?;
        out.extend(fresh.into_iter().filter(|m| !taken.contains(m.as_str())));
    }
    Err(DbError::Invalid(
        "no free record numbers in this series; change the prefix".into(),
    ))
}

//! Load-test data (`medisync seed-load`): many clinics, one very large one, and a
//! million patients, written through the same schema and the same tenant-scoped
//! transactions as the application (row-level security stays on), in multi-row
//! inserts so that it takes minutes, not hours.

use chrono::{Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::db::{on_conn, Db, DbError, TenantTx};
use crate::identity::{self, Email, Role};
use crate::tenancy::{self, Branding, NewTenant, Slug, TenantKind, TenantSettings, TenantStatus};

/// How much to create.
#[derive(Debug, Clone, Copy)]
pub struct LoadShape {
    pub clinics: usize,
    pub patients: usize,
    /// Patients of the one large hospital (part of `patients`).
    pub largest: usize,
}

impl Default for LoadShape {
    fn default() -> Self {
        Self {
            clinics: 1_000,
            patients: 1_000_000,
            largest: 200_000,
        }
    }
}

impl LoadShape {
    pub fn validate(&self) -> Result<(), String> {
        if self.clinics == 0 {
            return Err("--clinics must be at least 1".into());
        }
        if self.largest > self.patients {
            return Err("--largest cannot exceed --patients".into());
        }
        Ok(())
    }

    /// Patients of clinic `index` (0 is the large hospital).
    fn patients_of(&self, index: usize) -> usize {
        if index == 0 {
            return self.largest;
        }
        let rest = self.patients - self.largest;
        let others = self.clinics - 1;
        if others == 0 {
            return 0;
        }
        rest / others + usize::from(index - 1 < rest % others)
    }
}

/// The address and staff sign-in of seeded clinic `index`: `load-00000` is the
/// large hospital. Staff accounts are `owner@load-NNNNN.example`.
pub fn slug_of(index: usize) -> String {
    format!("load-{index:05}")
}

pub fn owner_email(index: usize) -> String {
    format!("owner@{}.example", slug_of(index))
}

/// What `seed-load` made.
#[derive(Debug)]
pub struct LoadSeeded {
    pub clinics: usize,
    pub patients: usize,
}

const GIVEN: &[&str] = &[
    "Amara", "James", "Aiko", "Samuel", "Priya", "Olivia", "Mateo", "Fatima", "Chen", "Noah",
    "Zara", "Ivan", "Leila", "Kwame", "Sofia", "Ravi", "Emma", "Yusuf", "Hana", "Lucas",
];
const FAMILY: &[&str] = &[
    "Okafor", "Carter", "Tanaka", "Osei", "Nair", "Lopez", "Garcia", "Haddad", "Wang", "Smith",
    "Mensah", "Petrov", "Rahman", "Kowalski", "Rossi", "Sharma", "Brown", "Yilmaz", "Kim", "Silva",
];

/// Rows per INSERT statement: 11 binds each, well under both databases' limits.
const BATCH: usize = 500;

/// Creates the clinics (each with an owner whose password is `password`) and
/// their patients.
pub async fn seed(db: &Db, shape: LoadShape, password: &str) -> Result<LoadSeeded, DbError> {
    shape.validate().map_err(DbError::Invalid)?;
    let password = identity::password::NewPassword::parse(password).map_err(DbError::Invalid)?;
    let hash = identity::password::hash(&password).map_err(DbError::Invalid)?;
    let mut patients = 0;
    for index in 0..shape.clinics {
        let (tenant, owner) = create_clinic(db, index, &hash).await?;
        let count = shape.patients_of(index);
        let mut tx = db.begin_for(tenant).await?;
        let mut written = 0;
        while written < count {
            let n = BATCH.min(count - written);
            insert_patients(&mut tx, written, n, owner).await?;
            written += n;
        }
        tx.commit().await?;
        patients += count;
    }
    Ok(LoadSeeded {
        clinics: shape.clinics,
        patients,
    })
}

async fn create_clinic(
    db: &Db,
    index: usize,
    password_hash: &str,
) -> Result<(tenancy::TenantId, Uuid), DbError> {
    let mut platform = db.begin_platform().await?;
    let slug = Slug::parse(&slug_of(index)).map_err(|e| DbError::Invalid(e.to_string()))?;
    let (name, kind, plan) = if index == 0 {
        (
            "Load General Hospital".to_owned(),
            TenantKind::Hospital,
            "enterprise",
        )
    } else {
        (
            format!("Load Clinic {index}"),
            TenantKind::Clinic,
            "enterprise",
        )
    };
    let tenant = tenancy::db::create(
        &mut platform,
        &NewTenant {
            slug,
            name,
            kind,
            status: TenantStatus::Active,
            branding: Branding::default(),
            settings: TenantSettings::default(),
            plan: crate::plans::PlanId::parse(plan).map_err(DbError::Invalid)?,
            trial_ends_at: None,
        },
    )
    .await?;
    let email = Email::parse(&owner_email(index)).map_err(DbError::Invalid)?;
    let account = identity::db::create_account(&mut platform, &email, "Load Owner").await?;
    identity::credentials::set_password_hash(&mut platform, account.id, password_hash).await?;
    identity::credentials::mark_email_verified(&mut platform, account.id).await?;
    platform.commit().await?;
    let mut tx = db.begin_for(tenant.id).await?;
    let member = identity::db::add_staff(&mut tx, &account, Role::Doctor).await?;
    tx.commit().await?;
    Ok((tenant.id, member.id))
}

/// Patients `from..from + n` of this clinic, in one statement, and their search
/// terms (as `patients::db` writes them) in another.
async fn insert_patients(
    tx: &mut TenantTx,
    from: usize,
    n: usize,
    doctor: Uuid,
) -> Result<(), DbError> {
    let sql = insert_sql(n);
    let now = Utc::now();
    let epoch = NaiveDate::from_ymd_opt(1940, 1, 1)
        .ok_or_else(|| DbError::Invalid("the birth-date epoch".into()))?;
    let rows: Vec<(Uuid, String, &str, &str, NaiveDate)> = (from..from + n)
        .map(|i| {
            let given = GIVEN[i % GIVEN.len()];
            let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
            let birth = epoch + Duration::days(((i * 7919) % 29_000) as i64);
            (Uuid::now_v7(), format!("L{i:07}"), given, family, birth)
        })
        .collect();
    let terms: Vec<(String, Uuid)> = rows
        .iter()
        .flat_map(|(id, mrn, given, family, _)| {
            crate::patients::search::terms(&crate::patients::search::Searchable {
                given_name: given,
                family_name: family,
                preferred_name: None,
                mrn,
                phone: None,
                email: None,
            })
            .into_iter()
            .map(move |t| (t, *id))
        })
        .collect();
    let terms_sql = terms_sql(terms.len());
    let (tenant, conn) = tx.scoped();
    on_conn!(conn, |c| {
        let mut q = sqlx::query(&sql);
        for (i, (id, mrn, given, family, birth)) in rows.iter().enumerate() {
            q = q
                .bind(tenant)
                .bind(*id)
                .bind(mrn)
                .bind(*given)
                .bind(*family)
                .bind(format!(
                    "{} {}",
                    family.to_lowercase(),
                    given.to_lowercase()
                ))
                .bind(*birth)
                .bind(["female", "male"][(from + i) % 2])
                .bind(Some(doctor))
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *c).await?;
        let mut q = sqlx::query(&terms_sql);
        for (term, id) in &terms {
            q = q.bind(tenant).bind(term).bind(*id);
        }
        q.execute(&mut *c).await?;
    });
    Ok(())
}

fn terms_sql(rows: usize) -> String {
    let mut sql =
        String::from("INSERT INTO patient_search_terms (tenant_id, term, patient_id) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        let b = row * 3;
        sql.push_str(&format!("(${}, ${}, ${})", b + 1, b + 2, b + 3));
    }
    sql
}

fn insert_sql(rows: usize) -> String {
    const COLUMNS: usize = 11;
    let mut sql = String::from(
        "INSERT INTO patients (tenant_id, id, mrn, given_name, family_name, search_name, \
         birth_date, sex, primary_staff_id, created_at, updated_at) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for col in 0..COLUMNS {
            if col > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", row * COLUMNS + col + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_shared_out_exactly() {
        let shape = LoadShape {
            clinics: 7,
            patients: 1_003,
            largest: 400,
        };
        let total: usize = (0..shape.clinics).map(|i| shape.patients_of(i)).sum();
        assert_eq!(total, 1_003);
        assert_eq!(shape.patients_of(0), 400);
        let default = LoadShape::default();
        let total: usize = (0..default.clinics).map(|i| default.patients_of(i)).sum();
        assert_eq!(total, 1_000_000);
    }

    #[test]
    fn an_insert_has_a_placeholder_per_value() {
        let sql = insert_sql(2);
        assert!(sql.ends_with(
            "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11),($12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)"
        ));
    }

    #[test]
    fn impossible_shapes_are_refused() {
        let shape = LoadShape {
            clinics: 2,
            patients: 10,
            largest: 11,
        };
        assert!(shape.validate().is_err());
        assert!(LoadShape {
            clinics: 0,
            ..LoadShape::default()
        }
        .validate()
        .is_err());
    }
}

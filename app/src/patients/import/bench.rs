//! `medisync bench-import` (`scripts/bench-import`): times imports of `rows`
//! generated patients into a throw-away clinic, through the same run the job
//! does (parsing, the registry's rules, duplicates within the file and against
//! the registry, record numbers, chunked inserts with their search terms). The
//! first file goes into an empty registry; the second, of as many different
//! patients, into the registry the first filled. Target: 50,000 rows in under
//! a minute.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use uuid::Uuid;

use super::db::{self, NewImport};
use super::{Mapping, Table};
use crate::db::{Db, DbError};
use crate::identity::{self, Email};
use crate::tenancy::{self, Branding, NewTenant, Slug, TenantKind, TenantSettings, TenantStatus};

const GIVEN: &[&str] = &[
    "Ada", "Bola", "Chidi", "Dana", "Emeka", "Fatima", "Grace", "Hassan", "Ines", "Jomo", "Kofi",
    "Lena", "Musa", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sani", "Tariq",
];
const FAMILY: &[&str] = &[
    "Okafor", "Adeyemi", "Nwosu", "Mensah", "Diallo", "Kariuki", "Banda", "Smith", "Garcia",
    "Novak", "Sato", "Kim", "Silva", "Haddad", "Cohen", "Ivanova", "Murphy", "Rossi", "Dubois",
    "Larsen", "Meyer", "Tan", "Patel", "Singh", "Khan",
];

/// A file of `rows` patients, the `batch`-th of its kind: one in fifty has a
/// malformed email (the report's share), one in ten a record number typed.
/// Birth dates repeat every 29,000 patients; the given name then moves on, so
/// that no two patients share a birth date and a name word.
pub fn csv(rows: usize, batch: usize) -> String {
    let mut out = String::from("Surname,First Name,DOB,Sex,Mobile,Email,Patient ID\n");
    let epoch = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default();
    for i in 0..rows {
        let n = batch * rows + i;
        let given = GIVEN[(n + n / 29_000) % GIVEN.len()];
        let family = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
        let born = epoch + Duration::days(((n * 7_919) % 29_000) as i64);
        let email = if i % 50 == 7 {
            format!("{given}.{n}-at-example.com")
        } else {
            format!("{}.{n}@example.com", given.to_lowercase())
        };
        let mrn = if i % 10 == 3 {
            format!("OLD-{n}")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{family}{n},{given},{},{},+4420{:08},{email},{mrn}\n",
            born.format("%Y-%m-%d"),
            ["F", "M"][n % 2],
            n % 100_000_000,
        ));
    }
    out
}

pub async fn run(db: &Db, rows: usize) -> Result<String, DbError> {
    let suffix = Uuid::now_v7().simple().to_string();
    let slug = format!("bench-import-{}", &suffix[suffix.len() - 8..]);
    let mut platform = db.begin_platform().await?;
    let tenant = tenancy::db::create(
        &mut platform,
        &NewTenant {
            slug: Slug::parse(&slug).map_err(|e| DbError::Invalid(e.to_string()))?,
            name: "Import benchmark clinic".into(),
            kind: TenantKind::Hospital,
            status: TenantStatus::Active,
            branding: Branding::default(),
            settings: TenantSettings {
                timezone: "Europe/London".into(),
                ..TenantSettings::default()
            },
            plan: crate::plans::PlanId::parse("enterprise").map_err(DbError::Invalid)?,
            trial_ends_at: None,
        },
    )
    .await?;
    let email = Email::parse(&format!("owner@{slug}.example")).map_err(DbError::Invalid)?;
    let account = identity::db::create_account(&mut platform, &email, "Bench owner").await?;
    platform.commit().await?;

    let mut table = String::from(
        "| import | rows | imported | not imported | seconds | rows per second |\n|---|---|---|---|---|---|\n",
    );
    for (batch, label) in [
        (0, "into an empty registry"),
        (1, "into the registry the first filled"),
    ] {
        let content = csv(rows, batch);
        let parsed = Table::parse(content.as_bytes()).map_err(DbError::Invalid)?;
        let mapping = Mapping::guess(&parsed.headers, &Default::default());
        let mut tx = db.begin_for(tenant.id).await?;
        let id = db::create(
            &mut tx,
            &NewImport {
                account: account.id,
                file_name: "bench-import.csv",
                headers: &parsed.headers,
                mapping: &mapping,
                date_format: "%Y-%m-%d",
                content: &content,
                rows: rows as i64,
            },
        )
        .await?;
        db::start(&mut tx, id).await?;
        tx.commit().await?;
        let started = Instant::now();
        super::run::run_import(db, &tenant, id).await?;
        let seconds = started.elapsed().as_secs_f64();
        let mut tx = db.begin_for_read(tenant.id).await?;
        let import = db::get(&mut tx, id).await?.ok_or(DbError::NotFound)?;
        tx.commit().await?;
        if import.state != super::ImportState::Done {
            return Err(DbError::Invalid(format!(
                "the import ended {}: {:?}",
                import.state.as_str(),
                import.message
            )));
        }
        table.push_str(&format!(
            "| {label} | {rows} | {} | {} | {seconds:.2} | {:.0} |\n",
            import.imported_rows,
            import.rejected_rows,
            rows as f64 / seconds,
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_file_reads_with_the_usual_headers() {
        let text = csv(100, 0);
        let table = Table::parse(text.as_bytes()).expect("parses");
        assert_eq!(table.rows.len(), 100);
        let mapping = Mapping::guess(&table.headers, &Default::default());
        // Surname, first name, DOB, sex, mobile, email, patient id.
        assert_eq!(mapping.0.len(), 7);
        assert!(mapping.check(&table.headers).is_ok());
    }

    #[test]
    fn the_generated_rows_are_all_different_people_and_one_in_fifty_is_bad() {
        let text = csv(30_000, 0);
        let table = Table::parse(text.as_bytes()).expect("parses");
        let mapping = Mapping::guess(&table.headers, &Default::default());
        let rules = super::super::RowRules {
            today: NaiveDate::from_ymd_opt(2026, 12, 3).expect("day"),
            date_format: "%Y-%m-%d",
            country: Some("GB"),
        };
        let read: Vec<_> = table
            .rows
            .iter()
            .map(|r| super::super::read_row(r, &mapping, &rules, None).ok())
            .collect();
        assert_eq!(read.iter().filter(|r| r.is_none()).count(), 600);
        assert!(super::super::twins_in_file(&read, true).is_empty());
    }
}

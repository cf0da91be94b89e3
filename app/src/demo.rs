//! Demo data: two differently branded tenants with staff and patients, plus one
//! suspended tenant. Names and records are fictional.

use chrono::NaiveDate;

use crate::db::{Db, DbError};
use crate::identity::{self, Email, Role};
use crate::patients::{self, Mrn, NewPatient, Sex};
use crate::tenancy::{
    self, Branding, HexColor, NewTenant, Slug, TenantKind, TenantSettings, TenantStatus,
};

/// MRN, given name, family name, date of birth (y, m, d), sex.
type DemoPatient = (
    &'static str,
    &'static str,
    &'static str,
    (i32, u32, u32),
    Sex,
);

struct DemoTenant {
    slug: &'static str,
    name: &'static str,
    kind: TenantKind,
    status: TenantStatus,
    primary: &'static str,
    accent: &'static str,
    headline: &'static str,
    welcome: &'static str,
    /// Shown on the sign-in page (and the suspended page) when set.
    support_phone: Option<&'static str>,
    settings: (&'static str, &'static str, &'static str, &'static str),
    plan: &'static str,
    staff: &'static [(&'static str, &'static str, Role)],
    patients: &'static [DemoPatient],
}

const TENANTS: &[DemoTenant] = &[
    DemoTenant {
        slug: "acme",
        name: "Acme Family Clinic",
        kind: TenantKind::Clinic,
        status: TenantStatus::Active,
        primary: "#0f766e",
        accent: "#b45309",
        headline: "Welcome to Acme Family Clinic",
        welcome: "Book visits, see your results and message your care team.",
        support_phone: None,
        settings: ("America/New_York", "USD", "en", "%m/%d/%Y"),
        plan: "professional",
        staff: &[
            ("olivia.owner@acme.example", "Olivia Owens", Role::Owner),
            (
                "amara.okafor@medisync.example",
                "Dr. Amara Okafor",
                Role::Doctor,
            ),
            ("sam.sato@acme.example", "Dr. Sam Sato", Role::Doctor),
            ("nate.ng@acme.example", "Nate Ng", Role::Nurse),
            ("rita.reyes@acme.example", "Rita Reyes", Role::Receptionist),
            ("ben.baker@acme.example", "Ben Baker", Role::Billing),
            ("paul.patel@acme.example", "Paul Patel", Role::Pharmacist),
        ],
        patients: &[
            ("ACM-0001", "Maria", "Lopez", (1984, 3, 12), Sex::Female),
            ("ACM-0002", "James", "Carter", (1972, 11, 2), Sex::Male),
            ("ACM-0003", "Aiko", "Tanaka", (1999, 7, 21), Sex::Female),
            ("ACM-0004", "Samuel", "Osei", (2015, 1, 30), Sex::Male),
            ("ACM-0005", "Priya", "Nair", (1990, 9, 9), Sex::Female),
        ],
    },
    DemoTenant {
        slug: "northwind",
        name: "Northwind General Hospital",
        kind: TenantKind::Hospital,
        status: TenantStatus::Active,
        primary: "#1e3a8a",
        accent: "#c2410c",
        headline: "Northwind staff and patient sign-in",
        welcome: "Access your hospital workspace or your patient record securely.",
        support_phone: None,
        settings: ("Europe/London", "GBP", "en-GB", "%d/%m/%Y"),
        plan: "starter",
        staff: &[
            (
                "hannah.hughes@northwind.example",
                "Hannah Hughes",
                Role::Owner,
            ),
            (
                "ian.ibbotson@northwind.example",
                "Ian Ibbotson",
                Role::Admin,
            ),
            (
                "amara.okafor@medisync.example",
                "Dr. Amara Okafor",
                Role::Doctor,
            ),
            (
                "lena.lund@northwind.example",
                "Lena Lund",
                Role::LabTechnician,
            ),
            (
                "pavel.petrov@northwind.example",
                "Pavel Petrov",
                Role::Pharmacist,
            ),
            ("mia.moore@northwind.example", "Mia Moore", Role::Manager),
        ],
        patients: &[
            ("NW-100001", "Oliver", "Smith", (1958, 5, 14), Sex::Male),
            ("NW-100002", "Grace", "Evans", (1967, 12, 1), Sex::Female),
            ("NW-100003", "Noah", "Williams", (2001, 4, 18), Sex::Male),
            ("NW-100004", "Amelia", "Brown", (1979, 8, 27), Sex::Female),
            ("NW-100005", "Alex", "Taylor", (1993, 2, 3), Sex::Other),
            ("NW-100006", "Harry", "Jones", (1948, 10, 10), Sex::Male),
        ],
    },
    DemoTenant {
        slug: "harbor",
        name: "Harbor Street Practice",
        kind: TenantKind::Practice,
        status: TenantStatus::Suspended,
        primary: "#6d28d9",
        accent: "#be123c",
        headline: "Harbor Street Practice",
        welcome: "Family medicine on Harbor Street.",
        support_phone: Some("+1 312 555 0142"),
        settings: ("America/Chicago", "USD", "en", "%m/%d/%Y"),
        plan: "starter",
        staff: &[("hal.harper@harbor.example", "Hal Harper", Role::Owner)],
        patients: &[("HSP-1", "Iris", "Ibarra", (1988, 6, 6), Sex::Female)],
    },
];

/// What `seed-demo` did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Seeded { tenants: usize },
    SkippedNotEmpty,
}

/// The password of every demo account (documented in the README; demo data only).
pub const DEMO_PASSWORD: &str = "correct horse clinic demo";
/// The demo platform operator (two-factor is set up at first sign-in).
pub const DEMO_OPERATOR: &str = "operator@medisync.example";
/// A demo patient with a portal account at Acme: (tenant, MRN, email, name).
pub const DEMO_PORTAL_PATIENT: (&str, &str, &str, &str) = (
    "acme",
    "ACM-0005",
    "priya.nair@patients.example",
    "Priya Nair",
);

/// Creates the demo tenants. With `only_if_empty`, does nothing when any tenant exists.
/// Demo documents' bytes go to `storage`.
pub async fn seed(
    db: &Db,
    storage: &crate::storage::Storage,
    only_if_empty: bool,
) -> Result<SeedOutcome, DbError> {
    let password =
        identity::password::NewPassword::parse(DEMO_PASSWORD).map_err(DbError::Invalid)?;
    let demo_hash = identity::password::hash(&password).map_err(DbError::Invalid)?;
    let mut platform = db.begin_platform().await?;
    if only_if_empty && tenancy::db::count(&mut platform).await? > 0 {
        return Ok(SeedOutcome::SkippedNotEmpty);
    }
    let operator_email = Email::parse(DEMO_OPERATOR).map_err(DbError::Invalid)?;
    if identity::db::find_account_by_email(&mut platform, &operator_email)
        .await?
        .is_none()
    {
        let operator =
            identity::db::create_account(&mut platform, &operator_email, "Pat Operator").await?;
        identity::credentials::set_password_hash(&mut platform, operator.id, &demo_hash).await?;
        identity::credentials::mark_email_verified(&mut platform, operator.id).await?;
        identity::credentials::set_platform_role(
            &mut platform,
            operator.id,
            Some(identity::permissions::PlatformRole::SuperAdmin),
        )
        .await?;
    }
    let mut created = Vec::new();
    for demo in TENANTS {
        let tenant = tenancy::db::create(&mut platform, &new_tenant(demo)?).await?;
        let mut accounts = Vec::new();
        for (email, name, role) in demo.staff {
            let email = Email::parse(email).map_err(DbError::Invalid)?;
            let account = match identity::db::find_account_by_email(&mut platform, &email).await? {
                Some(existing) => existing,
                None => {
                    let account = identity::db::create_account(&mut platform, &email, name).await?;
                    identity::credentials::set_password_hash(&mut platform, account.id, &demo_hash)
                        .await?;
                    identity::credentials::mark_email_verified(&mut platform, account.id).await?;
                    account
                }
            };
            accounts.push((account, *role));
        }
        created.push((tenant.id, demo, accounts));
    }
    let portal_patient = portal_account(&mut platform, &demo_hash).await?;
    platform.commit().await?;

    for (tenant_id, demo, accounts) in &created {
        let mut tx = db.begin_for(*tenant_id).await?;
        let mut doctor = None;
        let mut pharmacist = None;
        for (account, role) in accounts {
            let member = identity::db::add_staff(&mut tx, account, *role).await?;
            // The first doctor listed keeps the demo charts.
            if *role == Role::Doctor && doctor.is_none() {
                doctor = Some(member.id);
            }
            if *role == Role::Pharmacist {
                pharmacist = Some(member.id);
            }
        }
        // What the demo prescriptions print under the doctor's name.
        if let Some(doctor) = doctor {
            tx.execute(
                "UPDATE staff_members SET qualifications = $3, registration_number = $4 \
                 WHERE tenant_id = $1 AND id = $2",
                &[
                    doctor.into(),
                    "MBBS, MD (Internal Medicine)".into(),
                    "REG-48213".into(),
                ],
            )
            .await?;
        }
        // Two clinic-defined patient fields, so the forms show how they work.
        let referral = match doctor {
            Some(by) => Some(demo_fields(&mut tx, by).await?),
            None => None,
        };
        let mut chart_index = 0_usize;
        let mut demo_patients = Vec::new();
        for (mrn, given, family, (y, m, d), sex) in demo.patients {
            let patient = NewPatient {
                mrn: Mrn::parse(mrn).map_err(DbError::Invalid)?,
                given_name: (*given).into(),
                family_name: (*family).into(),
                birth_date: NaiveDate::from_ymd_opt(*y, *m, *d)
                    .ok_or_else(|| DbError::Invalid(format!("bad demo date for {mrn}")))?,
                sex: *sex,
                email: None,
                phone: None,
                primary_staff_id: doctor,
                details: Default::default(),
            };
            let created = patients::db::create(&mut tx, &patient).await?;
            demo_patients.push(created.id);
            if let (Some(field), Some(by)) = (referral, doctor) {
                let source = ["Walk-in", "Doctor referral", "Website"][chart_index % 3];
                patients::fields::db::set_values(
                    &mut tx,
                    created.id,
                    &[(field, Some(source.into()))],
                    by,
                )
                .await?;
            }
            let (slug, portal_mrn, ..) = DEMO_PORTAL_PATIENT;
            let in_portal = demo.slug == slug && *mrn == portal_mrn;
            if let Some(doctor) = doctor {
                seed_chart(&mut tx, created.id, doctor, chart_index).await?;
                seed_prescriptions(&mut tx, created.id, doctor, pharmacist, chart_index).await?;
                // A report awaiting review on the first chart; an approved one
                // the portal patient can open.
                if chart_index == 0 || in_portal {
                    let file = DemoFile {
                        tenant: *tenant_id,
                        patient: created.id,
                        doctor,
                        approved: in_portal,
                    };
                    seed_document(&mut tx, storage, &file).await?;
                }
                chart_index += 1;
            }
            if in_portal {
                patients::db::link_account(&mut tx, created.id, portal_patient).await?;
            }
        }
        if let Some(doctor) = doctor {
            seed_schedule(
                &mut tx,
                doctor,
                demo.settings.0,
                demo.settings.1,
                &demo_patients,
            )
            .await?;
        }
        seed_billing(&mut tx, demo.settings.1).await?;
        tx.commit().await?;
    }
    Ok(SeedOutcome::Seeded {
        tenants: created.len(),
    })
}

/// The demo clinic's billing: VAT where the clinic's currency is pounds
/// (clinical care exempt, products at 20 %), no tax elsewhere, and a small
/// catalog.
async fn seed_billing(tx: &mut crate::db::TenantTx, currency: &str) -> Result<(), DbError> {
    use crate::billing::{db, BillingSettings, Regime};
    let settings = BillingSettings {
        regime: if currency == "GBP" {
            Regime::Vat
        } else {
            Regime::None
        },
        ..BillingSettings::default()
    };
    db::save_settings(tx, &settings).await?;
    for (code, name, kind, price, category) in [
        ("CONS", "Consultation", "service", 6_000, "health"),
        ("DRESS", "Wound dressing", "service", 2_500, "health"),
        ("SPF50", "Sunscreen SPF 50", "product", 1_200, "standard"),
    ] {
        db::save_service(
            tx,
            None,
            &db::ServiceInput {
                code,
                name,
                kind,
                price_minor: price,
                currency,
                tax_category: category,
                active: true,
            },
        )
        .await?;
    }
    Ok(())
}

/// The demo clinic's scheduling: a clinic and a hospital, the doctor's weekday
/// mornings at the clinic and rounds at the hospital on Monday, Wednesday and
/// Friday afternoons, two visit types, and a few booked visits on the next
/// working days.
async fn seed_schedule(
    tx: &mut crate::db::TenantTx,
    doctor: uuid::Uuid,
    zone: &str,
    currency: &str,
    patients: &[uuid::Uuid],
) -> Result<(), DbError> {
    use crate::scheduling::{db, slots};
    use chrono::Datelike;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let clinic = db::add_location(
        tx,
        &db::NewLocation {
            name: "Main clinic",
            kind: "clinic",
            address: Some("12 High Street"),
            time_zone: zone,
        },
    )
    .await?;
    let hospital = db::add_location(
        tx,
        &db::NewLocation {
            name: "City Hospital",
            kind: "hospital",
            address: Some("1 Infirmary Road"),
            time_zone: zone,
        },
    )
    .await?;
    db::save_practitioner(
        tx,
        &db::ProfileInput {
            staff_id: doctor,
            specialty: Some("Internal medicine"),
            bio: None,
            fee_minor: 4500,
            currency,
            bookable_online: true,
            active: true,
        },
    )
    .await?;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    for weekday in 1..=5 {
        let block = |location, kind, start_min, end_min| db::NewBlock {
            staff_id: doctor,
            location_id: location,
            kind,
            weekday,
            start_min,
            end_min,
            every_weeks: 1,
            valid_from: today - chrono::Duration::days(7),
            valid_until: None,
        };
        db::add_block(tx, &block(clinic, "clinic", 9 * 60, 13 * 60)).await?;
        if weekday % 2 == 1 {
            db::add_block(tx, &block(hospital, "rounds", 14 * 60, 17 * 60)).await?;
        }
    }
    let consultation = db::TypeInput {
        name: "Consultation",
        duration_min: 15,
        buffer_before_min: 0,
        buffer_after_min: 0,
        price_minor: 4500,
        currency,
        capacity: 1,
        colour: "#0f766e",
        online_bookable: true,
        service_id: None,
        practitioners: &[doctor],
        locations: &[clinic],
    };
    let consultation_id = db::save_type(tx, None, &consultation).await?;
    let follow_up = db::TypeInput {
        name: "Follow-up",
        duration_min: 10,
        buffer_after_min: 5,
        price_minor: 2500,
        colour: "#7c3aed",
        ..consultation
    };
    db::save_type(tx, None, &follow_up).await?;
    // The demo clinics take bookings on their public page (`/book`).
    let rules = db::Rules {
        public_booking: true,
        ..db::Rules::default()
    };
    db::save_rules(tx, &rules).await?;
    // Three visits on each of the next two working days.
    let mut day = today + chrono::Duration::days(1);
    let mut booked = 0;
    for _ in 0..2 {
        while day.weekday().number_from_monday() > 5 {
            day += chrono::Duration::days(1);
        }
        for (slot, patient) in patients.iter().skip(booked).take(3).enumerate() {
            let start = slots::instant(tz, day, 9 * 60 + 30 * u32::try_from(slot).unwrap_or(0));
            let visit = db::NewAppointment {
                booked_by: Some(doctor),
                ..db::NewAppointment::at_desk(*patient, doctor, clinic, consultation_id, start, 15)
            };
            db::insert(tx, &visit).await?;
        }
        booked += 3;
        day += chrono::Duration::days(1);
    }
    Ok(())
}

/// The account of [`DEMO_PORTAL_PATIENT`], created on first use.
/// Defines the demo clinics' own patient fields; answers the referral source's id.
async fn demo_fields(tx: &mut crate::db::TenantTx, by: uuid::Uuid) -> Result<uuid::Uuid, DbError> {
    use patients::fields::{db, NewField};
    let insurance = NewField::parse("National insurance number", "text", "", false, true)
        .map_err(|(_, m)| DbError::Invalid(m))?;
    db::define(tx, &insurance, by).await?;
    let source = NewField::parse(
        "Referral source",
        "choice",
        "Walk-in\nDoctor referral\nWebsite",
        false,
        false,
    )
    .map_err(|(_, m)| DbError::Invalid(m))?;
    db::define(tx, &source, by).await
}

async fn portal_account(
    platform: &mut crate::db::PlatformTx,
    password_hash: &str,
) -> Result<uuid::Uuid, DbError> {
    let (_, _, email, name) = DEMO_PORTAL_PATIENT;
    let email = Email::parse(email).map_err(DbError::Invalid)?;
    let account = match identity::db::find_account_by_email(platform, &email).await? {
        Some(existing) => existing,
        None => {
            let account = identity::db::create_account(platform, &email, name).await?;
            identity::credentials::set_password_hash(platform, account.id, password_hash).await?;
            identity::credentials::mark_email_verified(platform, account.id).await?;
            account
        }
    };
    Ok(account.id)
}

fn new_tenant(demo: &DemoTenant) -> Result<NewTenant, DbError> {
    let color = |c: &str| HexColor::parse(c).map_err(DbError::Invalid);
    let (timezone, currency, language, date_format) = demo.settings;
    Ok(NewTenant {
        slug: Slug::parse(demo.slug).map_err(|e| DbError::Invalid(e.to_string()))?,
        name: demo.name.into(),
        kind: demo.kind,
        status: demo.status,
        branding: Branding {
            logo_url: None,
            primary_color: color(demo.primary)?,
            accent_color: color(demo.accent)?,
            sign_in_headline: demo.headline.into(),
            welcome_text: demo.welcome.into(),
            support_phone: demo.support_phone.map(str::to_owned),
            ..Branding::default()
        },
        settings: TenantSettings {
            timezone: timezone.into(),
            currency: currency.into(),
            language: language.into(),
            date_format: date_format.into(),
            ..TenantSettings::default()
        },
        // Demo clinics are on paying plans, so no trial clock runs for them.
        plan: crate::plans::PlanId::parse(demo.plan).map_err(DbError::Invalid)?,
        trial_ends_at: None,
    })
}

/// A living chart for a demo patient: the first has a penicillin allergy, the
/// second no known allergies, the rest were not asked yet; everyone has a
/// problem, four months of vitals, a signed note and an unsigned draft.
struct DemoFile {
    tenant: crate::tenancy::TenantId,
    patient: uuid::Uuid,
    doctor: uuid::Uuid,
    approved: bool,
}

/// A lab report (a real, one-page PDF) filed on the chart.
async fn seed_document(
    tx: &mut crate::db::TenantTx,
    storage: &crate::storage::Storage,
    file: &DemoFile,
) -> Result<(), DbError> {
    use crate::documents::{db as docs, DocumentKind, ReviewStatus};
    let bytes = one_page_pdf(&[
        "Full blood count (demo data)",
        "Haemoglobin 13.9 g/dL   (13.0 - 17.0)",
        "White cells 6.2 x10^9/L (4.0 - 11.0)",
        "Platelets   250 x10^9/L (150 - 400)",
    ]);
    let id = uuid::Uuid::now_v7();
    let key = crate::storage::Storage::document_key(file.tenant, id);
    let (sha256, sha1) = crate::documents::digests(&bytes);
    let size = bytes.len() as i64;
    storage
        .put(&key, bytes)
        .await
        .map_err(|e| DbError::Invalid(format!("demo document: {e}")))?;
    crate::plans::db::add_file(tx, "document", &key, "application/pdf", size).await?;
    docs::insert(
        tx,
        &docs::NewDocument {
            id,
            patient: file.patient,
            kind: DocumentKind::LabReport,
            title: "Full blood count",
            file_name: "full-blood-count.pdf",
            content_type: "application/pdf",
            size_bytes: size,
            sha256: &sha256,
            sha1: &sha1,
            object_key: &key,
            report_date: Some(chrono::Utc::now().date_naive() - chrono::Duration::days(3)),
            uploaded_by: file.doctor,
        },
    )
    .await?;
    if file.approved {
        docs::set_status(
            tx,
            id,
            ReviewStatus::Pending,
            ReviewStatus::Approved,
            file.doctor,
        )
        .await?;
    }
    Ok(())
}

/// A valid single-page PDF showing `lines` in Helvetica.
fn one_page_pdf(lines: &[&str]) -> Vec<u8> {
    let mut text = String::from("BT /F1 12 Tf 72 760 Td 16 TL\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        text.push_str(&format!("({escaped}) Tj T*\n"));
    }
    text.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

/// Prescriptions on the first three charts, each run through the real safety
/// check: amoxicillin despite the penicillin allergy (overridden with a reason),
/// metformin with refills and a first fill dispensed, and a finished course of
/// paracetamol as needed.
async fn seed_prescriptions(
    tx: &mut crate::db::TenantTx,
    patient: uuid::Uuid,
    doctor: uuid::Uuid,
    pharmacist: Option<uuid::Uuid>,
    index: usize,
) -> Result<(), DbError> {
    use crate::prescribing::{checks, db as rx, PrescriptionStatus};
    let (medicine, dose, unit, frequency, days, quantity, refills, prn, reason) = match index {
        0 => (
            "amoxicillin-500mg-capsule",
            500_000,
            "mg",
            "1-0-1",
            Some(5),
            10,
            0,
            None,
            Some((
                "Tolerated this medicine before",
                "Took amoxicillin in 2021 without a reaction; the rash was viral.",
            )),
        ),
        1 => (
            "metformin-500mg-tablet",
            1000,
            "tablet",
            "1-0-1",
            Some(30),
            60,
            2,
            None,
            None,
        ),
        2 => (
            "paracetamol-500mg-tablet",
            1000,
            "tablet",
            "prn",
            None,
            20,
            0,
            Some("pain or fever"),
            None,
        ),
        _ => return Ok(()),
    };
    let handle = crate::prescribing::kb::KbHandle::shipped();
    let kb = handle.get().map_err(|e| DbError::Invalid(e.to_owned()))?;
    let m = kb.medicine(medicine).ok_or_else(|| {
        DbError::Invalid(format!("demo medicine {medicine} is not in the formulary"))
    })?;
    let allergies = crate::clinical::db::allergies(tx, patient).await?;
    let current = rx::current_drugs(tx, patient).await?;
    let drug = checks::Drug {
        name: m.label(),
        ingredients: Some(m.ingredients.clone()),
    };
    let review = checks::check(Ok(kb), &allergies, &current, &[drug], &|t| t.to_rfc3339());
    let id = uuid::Uuid::new_v4();
    rx::insert(
        tx,
        &rx::NewPrescription {
            id,
            patient,
            prescriber: doctor,
            visit_note: None,
            start_on: chrono::Utc::now().date_naive() - chrono::Duration::days(3),
            kb_version: review.kb_version.clone(),
            check_status: if review.not_performed.is_some() {
                "partial"
            } else {
                "performed"
            },
            check_note: review.not_performed.clone(),
            lines: vec![rx::NewLine {
                medicine_code: Some(m.id.clone()),
                medicine: m.label(),
                ingredients: m.ingredients.join(" "),
                strength: Some(m.strength.clone()),
                form: Some(m.form.clone()),
                route: m.route.clone(),
                dose_milli: dose,
                dose_unit: unit.into(),
                frequency: frequency.into(),
                prn_indication: prn.map(str::to_owned),
                duration_days: days,
                quantity,
                quantity_unit: m.unit.clone(),
                refills,
                instructions: Some("Take with food.".into()),
                override_reason: reason.map(|(r, _)| r.to_owned()),
                override_note: reason.map(|(_, n)| n.to_owned()),
                alerts: review.alerts.clone(),
            }],
        },
    )
    .await?;
    let outcome = if reason.is_some() {
        "overridden"
    } else {
        "shown"
    };
    let events: Vec<_> = review
        .alerts
        .iter()
        .map(|a| (a, outcome, reason.map(|(r, _)| r)))
        .collect();
    rx::record_alerts(
        tx,
        patient,
        Some(id),
        review.kb_version.as_deref(),
        doctor,
        &events,
    )
    .await?;
    if index == 1 {
        let (line,): (uuid::Uuid,) = tx
            .fetch_one(
                "SELECT id FROM prescription_lines WHERE tenant_id = $1 AND prescription_id = $2",
                &[id.into()],
            )
            .await?;
        rx::dispense(
            tx,
            &rx::NewDispensing {
                prescription: id,
                line,
                patient,
                quantity: 60,
                batch: "MF2611",
                expires_on: chrono::Utc::now().date_naive() + chrono::Duration::days(540),
                by: pharmacist.unwrap_or(doctor),
            },
        )
        .await?;
    }
    if index == 2 {
        rx::end(tx, id, patient, PrescriptionStatus::Completed, None, doctor).await?;
    }
    Ok(())
}

async fn seed_chart(
    tx: &mut crate::db::TenantTx,
    patient: uuid::Uuid,
    doctor: uuid::Uuid,
    index: usize,
) -> Result<(), DbError> {
    use crate::clinical::{self, db as chart, vitals::Measures, EntryStatus, Soap};
    match index {
        0 => {
            let penicillin = chart::NewAllergy {
                substance: "Penicillins".into(),
                category: clinical::AllergyCategory::Medication,
                criticality: clinical::Criticality::High,
                severity: Some(clinical::Severity::Severe),
                reaction: Some("Hives and swelling of the lips".into()),
                onset_on: NaiveDate::from_ymd_opt(2015, 6, 1),
            };
            chart::add_allergy(tx, patient, &penicillin, doctor).await?;
        }
        1 => chart::record_none_known(tx, patient, doctor).await?,
        _ => {}
    }
    let problems = [
        ("I10", "Essential (primary) hypertension"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        ("J45.909", "Unspecified asthma, uncomplicated"),
    ];
    let (code, description) = problems[index % problems.len()];
    chart::add_problem(
        tx,
        patient,
        Some(code),
        description,
        None,
        EntryStatus::Chronic,
        doctor,
    )
    .await?;
    let now = chrono::Utc::now();
    for month in 0..4_i32 {
        let taken = now - chrono::Duration::days(i64::from(30 * (3 - month)));
        let drift = month * 2 + i32::try_from(index % 5).unwrap_or(0);
        let measures = Measures {
            height_mm: Some(1680 + 10 * i32::try_from(index % 7).unwrap_or(0)),
            weight_g: Some(78_000 - 600 * month + 1000 * drift),
            systolic: Some(142 - 4 * month),
            diastolic: Some(91 - 2 * month),
            pulse: Some(76 + drift),
            temperature_dc: Some(368 + month % 2),
            spo2: Some(97),
            resp_rate: Some(16),
        };
        chart::add_vitals(tx, patient, taken, &measures, doctor).await?;
    }
    let visit = Soap {
        subjective: "Feels well. Takes medicines as prescribed; no side effects.".into(),
        objective: "BP 134/87, pulse 80. Chest clear.".into(),
        assessment: format!("{description}: improving."),
        plan: "Continue treatment. Review in three months with blood tests.".into(),
    };
    let signed =
        chart::create_draft(tx, patient, doctor, None, "Follow-up visit", &visit, true).await?;
    chart::sign(tx, patient, signed, doctor).await?;
    let draft = Soap {
        subjective: "Phoned about a cough for three days.".into(),
        ..Soap::default()
    };
    chart::create_draft(
        tx,
        patient,
        doctor,
        None,
        "Telephone consultation",
        &draft,
        false,
    )
    .await?;
    Ok(())
}

use chrono::NaiveDate;
use uuid::Uuid;

use app::db::Db;
use app::identity::{self, Email, Role, StaffMember};
use app::patients::{self, Mrn, NewPatient, Patient, Sex};
use app::plans::PlanId;
use app::tenancy::{
    self, Branding, NewTenant, Slug, Tenant, TenantKind, TenantSettings, TenantStatus,
};

pub struct Clinic {
    pub tenant: Tenant,
    pub doctor: StaffMember,
    pub patient: Patient,
}

pub fn new_tenant(slug: &str, name: &str, status: TenantStatus) -> NewTenant {
    NewTenant {
        slug: Slug::parse(slug).expect("valid slug"),
        name: name.into(),
        kind: TenantKind::Clinic,
        status,
        branding: Branding::default(),
        settings: TenantSettings::default(),
        // Unlimited, so plan limits stay out of tests that are not about them.
        plan: PlanId::parse("enterprise").expect("plan"),
        trial_ends_at: None,
    }
}

pub fn new_patient(mrn: &str, given: &str, family: &str, doctor: Option<Uuid>) -> NewPatient {
    NewPatient {
        mrn: Mrn::parse(mrn).expect("valid mrn"),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).expect("date"),
        sex: Sex::Unknown,
        email: None,
        phone: None,
        primary_staff_id: doctor,
        details: Default::default(),
    }
}

/// A tenant with one doctor and one patient. Patient MRNs are the same in every
/// clinic on purpose: uniqueness is per tenant.
pub async fn clinic(db: &Db, slug: &str, doctor_email: &str) -> Clinic {
    let mut platform = db.begin_platform().await.expect("begin");
    let tenant = tenancy::db::create(
        &mut platform,
        &new_tenant(slug, &format!("{slug} clinic"), TenantStatus::Active),
    )
    .await
    .expect("create tenant");
    let email = Email::parse(doctor_email).expect("email");
    let account = identity::db::create_account(&mut platform, &email, "Dr. Test")
        .await
        .expect("create account");
    platform.commit().await.expect("commit");

    let mut tx = db.begin_for(tenant.id).await.expect("begin tenant");
    let doctor = identity::db::add_staff(&mut tx, &account, Role::Doctor)
        .await
        .expect("add staff");
    let patient =
        patients::db::create(&mut tx, &new_patient("MRN-1", "Pat", slug, Some(doctor.id)))
            .await
            .expect("create patient");
    // One row in every other tenant table too, so isolation tests cover them all.
    identity::invitations::create(
        &mut tx,
        &Email::parse(&format!("invitee@{slug}.example")).expect("email"),
        &identity::invitations::Invited::Staff(Role::Nurse),
        &format!("digest-{slug}"),
        account.id,
    )
    .await
    .expect("invitation");
    identity::audit::record(
        &mut tx,
        identity::audit::Actor::account(account.id, doctor_email),
        "fixture.created",
        None,
        &identity::audit::RequestMeta::default(),
    )
    .await
    .expect("audit");
    app::plans::db::add_file(
        &mut tx,
        "logo",
        &format!("tenants/{slug}/x.png"),
        "image/png",
        10,
    )
    .await
    .expect("file");
    app::plans::db::add_api_calls(&mut tx, "2026-11", 1)
        .await
        .expect("usage");
    app::platform::db::start_impersonation(
        &mut tx,
        account.id,
        doctor_email,
        "fixture support session",
        chrono::Utc::now(),
    )
    .await
    .expect("impersonation");
    // The chart: one entry of each kind (the note stays a draft, so raw SQL
    // tests may move it).
    app::patients::db::next_mrn(&mut tx, "FX-")
        .await
        .expect("mrn series");
    app::clinical::db::add_allergy(
        &mut tx,
        patient.id,
        &app::clinical::db::NewAllergy {
            substance: "Penicillins".into(),
            category: app::clinical::AllergyCategory::Medication,
            criticality: app::clinical::Criticality::High,
            severity: None,
            reaction: None,
            onset_on: None,
        },
        doctor.id,
    )
    .await
    .expect("allergy");
    app::clinical::db::add_problem(
        &mut tx,
        patient.id,
        Some("I10"),
        "Essential (primary) hypertension",
        None,
        app::clinical::EntryStatus::Active,
        doctor.id,
    )
    .await
    .expect("problem");
    app::clinical::db::add_vitals(
        &mut tx,
        patient.id,
        chrono::Utc::now(),
        &app::clinical::vitals::Measures {
            pulse: Some(72),
            ..Default::default()
        },
        doctor.id,
    )
    .await
    .expect("vitals");
    app::clinical::db::create_draft(
        &mut tx,
        patient.id,
        doctor.id,
        None,
        "Visit note",
        &app::clinical::Soap {
            plan: "Review".into(),
            ..Default::default()
        },
        false,
    )
    .await
    .expect("note");
    app::clinical::db::set_flag(
        &mut tx,
        patient.id,
        app::clinical::FlagKind::Vip,
        None,
        doctor.id,
    )
    .await
    .expect("flag");
    app::clinical::db::record_consent(
        &mut tx,
        patient.id,
        app::clinical::ConsentKind::Treatment,
        true,
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        doctor.id,
    )
    .await
    .expect("consent");
    // A document row (its bytes are not needed by the tests that use this fixture).
    let document = uuid::Uuid::now_v7();
    let key = app::storage::Storage::document_key(tenant.id, document);
    app::documents::db::insert(
        &mut tx,
        &app::documents::db::NewDocument {
            id: document,
            patient: patient.id,
            kind: app::documents::DocumentKind::LabReport,
            title: "Fixture report",
            file_name: "fixture.pdf",
            content_type: "application/pdf",
            size_bytes: 9,
            sha256: &"0".repeat(64),
            sha1: "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
            object_key: &key,
            report_date: None,
            uploaded_by: doctor.id,
        },
    )
    .await
    .expect("document");
    // One entry on each of the registry's lists.
    app::patients::db::add_contact(
        &mut tx,
        patient.id,
        &app::patients::lists::EmergencyContact {
            id: uuid::Uuid::now_v7(),
            name: "Fixture Contact".into(),
            relation: "spouse".into(),
            phone: "+15555550100".into(),
            primary: true,
        },
        doctor.id,
    )
    .await
    .expect("contact");
    app::patients::db::add_insurance(
        &mut tx,
        patient.id,
        &app::patients::lists::Insurance {
            id: uuid::Uuid::now_v7(),
            provider: "Fixture Mutual".into(),
            policy_number: "FX-1".into(),
            group_number: None,
            subscriber: None,
            valid_from: None,
            valid_to: None,
            primary: true,
        },
        doctor.id,
    )
    .await
    .expect("insurance");
    app::patients::db::add_identifier(
        &mut tx,
        patient.id,
        &app::patients::lists::Identifier {
            id: uuid::Uuid::now_v7(),
            system: "National ID".into(),
            value: "FX-NID-1".into(),
        },
        doctor.id,
    )
    .await
    .expect("identifier");
    app::patients::db::note_recent(&mut tx, doctor.id, patient.id)
        .await
        .expect("recent");
    app::patients::db::request_correction(&mut tx, patient.id, "Fixture correction")
        .await
        .expect("correction");
    let field = app::patients::fields::NewField::parse("Fixture number", "text", "", false, true)
        .expect("field");
    let field = app::patients::fields::db::define(&mut tx, &field, doctor.id)
        .await
        .expect("define field");
    app::patients::fields::db::set_values(
        &mut tx,
        patient.id,
        &[(field, Some("FX-9".into()))],
        doctor.id,
    )
    .await
    .expect("field value");
    app::patients::erasure::db::grant(&mut tx, patient.id, doctor.id, "Fixture reason to open")
        .await
        .expect("restricted-record access");
    prescribing_rows(&mut tx, patient.id, doctor.id).await;
    scheduling_rows(&mut tx, patient.id, doctor.id).await;
    billing_rows(&mut tx, patient.id, doctor.id).await;
    import_rows(&mut tx, account.id).await;
    tx.commit().await.expect("commit");
    Clinic {
        tenant,
        doctor,
        patient,
    }
}

/// A patient import waiting for its columns, with a rejected row in its
/// report: a row in each import table.
async fn import_rows(tx: &mut app::db::TenantTx, account: uuid::Uuid) {
    use app::patients::import::{db, Mapping, Rejected};
    let headers = vec!["Given".to_owned(), "Family".to_owned()];
    let id = db::create(
        tx,
        &db::NewImport {
            account,
            file_name: "fixture.csv",
            headers: &headers,
            mapping: &Mapping::default(),
            date_format: "%Y-%m-%d",
            content: "Given,Family\nA,Fixture\n",
            rows: 1,
        },
    )
    .await
    .expect("import");
    db::add_rejected(
        tx,
        id,
        &[Rejected {
            row: 2,
            reason: "given name: too short".into(),
            cells: vec!["A".into(), "Fixture".into()],
        }],
    )
    .await
    .expect("rejected row");
}

/// A clinic medicine, a prescription with one line, a dispensing and an alert
/// record: one row in each prescribing table.
async fn prescribing_rows(tx: &mut app::db::TenantTx, patient: uuid::Uuid, doctor: uuid::Uuid) {
    use app::prescribing::db;
    db::add_medicine(
        tx,
        &db::NewMedicine {
            name: "Fixturemox",
            generic_code: Some("amoxicillin-500mg-capsule"),
            ingredients: "amoxicillin",
            strength: "500 mg",
            form: "capsule",
            route: "oral",
            unit: "capsule",
        },
        doctor,
    )
    .await
    .expect("clinic medicine");
    let id = uuid::Uuid::new_v4();
    db::insert(
        tx,
        &db::NewPrescription {
            id,
            patient,
            prescriber: doctor,
            visit_note: None,
            start_on: chrono::Utc::now().date_naive(),
            kb_version: Some("fixture".into()),
            check_status: "performed",
            check_note: None,
            lines: vec![db::NewLine {
                medicine_code: None,
                medicine: "Fixture tablets".into(),
                ingredients: "paracetamol".into(),
                strength: Some("500 mg".into()),
                form: Some("tablet".into()),
                route: "oral".into(),
                dose_milli: 1000,
                dose_unit: "tablet".into(),
                frequency: "1-0-1".into(),
                prn_indication: None,
                duration_days: Some(5),
                quantity: 10,
                quantity_unit: "tablet".into(),
                refills: 0,
                instructions: None,
                override_reason: None,
                override_note: None,
                alerts: Vec::new(),
            }],
        },
    )
    .await
    .expect("prescription");
    let (line,): (uuid::Uuid,) = tx
        .fetch_one(
            "SELECT id FROM prescription_lines WHERE tenant_id = $1 AND prescription_id = $2",
            &[id.into()],
        )
        .await
        .expect("line");
    db::dispense(
        tx,
        &db::NewDispensing {
            prescription: id,
            line,
            patient,
            quantity: 4,
            batch: "FX1",
            expires_on: chrono::Utc::now().date_naive() + chrono::Duration::days(365),
            by: doctor,
        },
    )
    .await
    .expect("dispensing");
    app::prescribing::refills::db::insert(tx, patient, line, doctor, Some("Fixture refill"))
        .await
        .expect("refill request");
    app::prescribing::review::db::add(
        tx,
        &app::prescribing::review::db::NewOther {
            patient,
            medicine: "Fixture drops",
            ingredients: "",
            dose: None,
            source: None,
            by: doctor,
        },
    )
    .await
    .expect("medicine taken elsewhere");
    app::prescribing::review::db::record(tx, patient, None, Some(id), None, "continued", doctor)
        .await
        .expect("medication review");
    let alert = app::prescribing::Alert {
        key: "fixture".into(),
        rule: "fixture".into(),
        level: app::prescribing::AlertLevel::Warning,
        line: Some(0),
        title: "Fixture".into(),
        detail: "Fixture".into(),
    };
    db::record_alerts(
        tx,
        patient,
        Some(id),
        Some("fixture"),
        doctor,
        &[(&alert, "shown", None)],
    )
    .await
    .expect("alert record");
}

/// The password of every fixture account.
pub const PASSWORD: &str = "violet harbor lantern";

/// An account with [`PASSWORD`].
pub async fn account_with_password(db: &Db, email: &str, name: &str) -> identity::Account {
    let password = identity::password::NewPassword::parse(PASSWORD).expect("policy");
    let hash = identity::password::hash(&password).expect("hash");
    let mut tx = db.begin_platform().await.expect("begin");
    let email = Email::parse(email).expect("email");
    let account = identity::db::create_account(&mut tx, &email, name)
        .await
        .expect("account");
    identity::credentials::set_password_hash(&mut tx, account.id, &hash)
        .await
        .expect("password");
    tx.commit().await.expect("commit");
    account
}

/// A clinic with one member per staff role (`{role}@{slug}.example`), and one
/// patient with a portal account (`patient@{slug}.example`).
pub struct StaffedClinic {
    pub tenant: Tenant,
}

pub fn staff_email(role: Role, slug: &str) -> String {
    format!("{}@{slug}.example", role.as_str().replace('_', "-"))
}

pub fn patient_email(slug: &str) -> String {
    format!("patient@{slug}.example")
}

pub async fn staffed_clinic(db: &Db, slug: &str) -> StaffedClinic {
    let mut platform = db.begin_platform().await.expect("begin");
    let tenant = tenancy::db::create(
        &mut platform,
        &new_tenant(slug, &format!("{slug} clinic"), TenantStatus::Active),
    )
    .await
    .expect("tenant");
    platform.commit().await.expect("commit");
    let mut members = Vec::new();
    for &role in Role::ALL {
        let account = account_with_password(db, &staff_email(role, slug), role.as_str()).await;
        members.push((account, role));
    }
    let patient_account = account_with_password(db, &patient_email(slug), "Pat Patient").await;
    let mut tx = db.begin_for(tenant.id).await.expect("begin tenant");
    for (account, role) in &members {
        identity::db::add_staff(&mut tx, account, *role)
            .await
            .expect("staff");
    }
    let patient = patients::db::create(&mut tx, &new_patient("MRN-1", "Pat", slug, None))
        .await
        .expect("patient");
    patients::db::link_account(&mut tx, patient.id, patient_account.id)
        .await
        .expect("link");
    tx.commit().await.expect("commit");
    StaffedClinic { tenant }
}

/// A platform operator with [`PASSWORD`], two-factor on (`totp_secret`), and the
/// given one-time recovery codes (tests sign in with those: a TOTP code works once).
pub async fn operator_account(
    db: &Db,
    email: &str,
    role: identity::permissions::PlatformRole,
    totp_secret: &str,
    recovery_codes: &[String],
) -> identity::Account {
    let account = account_with_password(db, email, "Operator").await;
    let mut tx = db.begin_platform().await.expect("begin");
    identity::credentials::set_platform_role(&mut tx, account.id, Some(role))
        .await
        .expect("role");
    identity::credentials::stage_totp(&mut tx, account.id, totp_secret)
        .await
        .expect("totp");
    identity::credentials::enable_totp(&mut tx, account.id)
        .await
        .expect("totp on");
    let digests: Vec<String> = recovery_codes
        .iter()
        .map(|c| identity::secrets::digest(c))
        .collect();
    identity::credentials::replace_recovery_codes(&mut tx, account.id, &digests)
        .await
        .expect("recovery codes");
    tx.commit().await.expect("commit");
    account
}

/// A location, the doctor's profile and hours, a visit type, a day off of each
/// kind, the booking rules, a booked appointment and a booking-form search: a
/// row in each scheduling table.
async fn scheduling_rows(tx: &mut app::db::TenantTx, patient: uuid::Uuid, doctor: uuid::Uuid) {
    use app::scheduling::db;
    use chrono::{Duration, NaiveDate, Utc};
    let day = |d: u32| NaiveDate::from_ymd_opt(2030, 1, d).expect("date");
    let location = db::add_location(
        tx,
        &db::NewLocation {
            name: "Fixture branch",
            kind: "clinic",
            address: Some("1 Fixture Road"),
            time_zone: "UTC",
        },
    )
    .await
    .expect("location");
    db::add_opening(tx, location, 1, (480, 1080))
        .await
        .expect("opening hours");
    db::save_practitioner(
        tx,
        &db::ProfileInput {
            staff_id: doctor,
            specialty: Some("General practice"),
            bio: None,
            fee_minor: 5000,
            currency: "USD",
            bookable_online: true,
            active: true,
        },
    )
    .await
    .expect("practitioner");
    let kind = db::save_type(
        tx,
        None,
        &db::TypeInput {
            name: "Fixture visit",
            duration_min: 30,
            buffer_before_min: 0,
            buffer_after_min: 0,
            price_minor: 5000,
            currency: "USD",
            capacity: 1,
            colour: "#0f766e",
            online_bookable: true,
            service_id: None,
            practitioners: &[doctor],
            locations: &[location],
        },
    )
    .await
    .expect("type");
    db::add_block(
        tx,
        &db::NewBlock {
            staff_id: doctor,
            location_id: location,
            kind: "clinic",
            weekday: 1,
            start_min: 540,
            end_min: 780,
            every_weeks: 1,
            valid_from: day(1),
            valid_until: None,
        },
    )
    .await
    .expect("hours");
    db::add_override(
        tx,
        &db::NewOverride {
            staff_id: doctor,
            location_id: Some(location),
            on_date: day(5),
            open: true,
            start_min: 600,
            end_min: 660,
            note: None,
        },
    )
    .await
    .expect("override");
    db::add_leave(tx, doctor, day(20), day(24), Some("Fixture leave"))
        .await
        .expect("leave");
    db::add_holiday(tx, Some(location), day(1), "Fixture holiday")
        .await
        .expect("holiday");
    db::save_rules(tx, &db::Rules::default())
        .await
        .expect("rules");
    // Messaging set-up (settings and rules); the booking below plans its
    // reminders and its update: a row in each engagement table.
    app::engagement::db::add_rule(tx, 120, app::engagement::Channel::Email)
        .await
        .expect("reminder rule");
    app::channels::db::set_opt_out(tx, patient, app::engagement::Channel::Sms, true, doctor)
        .await
        .expect("message opt-out");
    // A connected SMS account and a text (channels).
    let account = app::channels::twilio::Account {
        sid: format!("AC{}", Uuid::now_v7().simple()),
        token: "fixture-token-0123456789".into(),
        sender: "+14155550100".into(),
    };
    app::channels::db::connect_twilio(tx, &account, doctor)
        .await
        .expect("sms connection");
    app::channels::db::queue_text(
        tx,
        app::channels::Channel::Sms,
        Some(patient),
        "+14155550123",
        "Fixture text",
        Utc::now(),
    )
    .await
    .expect("text");
    app::channels::db::note_whatsapp_inbound(tx, "+14155550123", Utc::now())
        .await
        .expect("whatsapp window");
    let start = Utc::now() + Duration::days(3650);
    // The first visit of a recurring series (its report keeps a missed date).
    let series = Uuid::now_v7();
    db::insert_series(
        tx,
        &db::NewSeries {
            id: series,
            patient,
            staff: doctor,
            location,
            type_id: kind,
            first_start: start,
            every_weeks: 1,
            times: 2,
            created_by: doctor,
        },
    )
    .await
    .expect("series");
    db::set_series_missed(tx, series, "2040-01-08\tthe time is taken")
        .await
        .expect("series report");
    let visit = db::NewAppointment {
        notes: Some("Fixture appointment"),
        booked_by: Some(doctor),
        series: Some(series),
        ..db::NewAppointment::at_desk(patient, doctor, location, kind, start, 30)
    };
    db::insert(tx, &visit).await.expect("appointment");
    db::set_booking_search(tx, doctor, Some("Fixture"))
        .await
        .expect("booking search");
    // An online booking request holding a time, and the doctor's calendar feed.
    let request = Uuid::now_v7();
    let held = start + Duration::days(7);
    let pick = app::booking::db::Pick {
        type_id: kind,
        staff_id: doctor,
        location_id: location,
        starts_at: held,
    };
    let visitor = NewPatient {
        email: Some("visitor@example.com".into()),
        ..new_patient("PENDING", "Online", "Visitor", None)
    };
    let until = Utc::now() + Duration::minutes(10);
    app::booking::db::insert_request(tx, request, &pick, &visitor, &"0".repeat(64), until)
        .await
        .expect("online booking request");
    let occupied = (held, held + Duration::minutes(30));
    app::booking::db::hold(tx, request, doctor, held, occupied, until, Utc::now())
        .await
        .expect("held time");
    app::scheduling::feed::renew(tx, doctor, Utc::now())
        .await
        .expect("calendar feed");
    // A walk-in's token in the waiting-room queue, and the screen's link.
    use app::scheduling::queue;
    queue::db::insert(
        tx,
        doctor,
        day(6),
        patient,
        None,
        Utc::now(),
        Utc::now(),
        Some(doctor),
    )
    .await
    .expect("queue entry");
    queue::db::renew_board(tx, Utc::now())
        .await
        .expect("queue screen");
    // A waitlist entry with an offer of a time.
    use app::scheduling::waitlist::db as waitlist;
    let entry = waitlist::add(
        tx,
        &waitlist::NewEntry {
            patient,
            type_id: kind,
            location,
            staff: Some(doctor),
            from: day(6),
            until: day(20),
            via: "desk",
            by: Some(doctor),
            email: "fixture@example.com".into(),
        },
        Utc::now(),
    )
    .await
    .expect("waitlist entry");
    let offered = app::scheduling::slots::instant(chrono_tz::UTC, day(13), 600);
    waitlist::insert_offer(
        tx,
        &waitlist::NewOffer {
            entry,
            staff: doctor,
            starts_at: offered,
            occupied: (offered, offered + Duration::minutes(30)),
            token_hash: &app::identity::secrets::new_token().1,
            expires_at: Utc::now() + Duration::hours(1),
        },
        Utc::now(),
    )
    .await
    .expect("waitlist offer");
}

/// Billing settings and categories, a service, an issued invoice with a line
/// (and so its series), a payment put against it: a row in each billing table.
async fn billing_rows(tx: &mut app::db::TenantTx, patient: uuid::Uuid, staff: uuid::Uuid) {
    use app::billing::{db, BillingSettings, PaymentMethod};
    let settings = BillingSettings::default();
    db::save_settings(tx, &settings).await.expect("settings");
    let service = db::save_service(
        tx,
        None,
        &db::ServiceInput {
            code: "FIX",
            name: "Fixture service",
            kind: "service",
            price_minor: 5000,
            currency: "USD",
            tax_category: "health",
            active: true,
        },
    )
    .await
    .expect("service");
    let invoice = db::create_draft(
        tx,
        &db::NewDraft {
            patient,
            appointment: None,
            currency: "USD",
            regime: settings.regime,
            place_of_supply: None,
            inter_state: false,
            notes: Some("Fixture invoice"),
            created_by: staff,
        },
    )
    .await
    .expect("draft");
    db::add_line(
        tx,
        invoice,
        &db::NewLine {
            service: Some(service),
            description: "Fixture service",
            tax_category: "health",
            quantity: 1,
            unit_price: 5000,
            line_discount: 0,
            rate_bp: 0,
            exempt: true,
        },
    )
    .await
    .expect("line");
    let today = chrono::Utc::now().date_naive();
    db::issue(tx, invoice, staff, today, &settings)
        .await
        .expect("issue");
    db::record_payment(
        tx,
        &db::NewPayment {
            patient,
            method: PaymentMethod::Cash,
            amount: 5000,
            currency: "USD",
            reference: None,
            by: Some(staff),
            day: today,
        },
        &[(invoice, 5000)],
        &settings,
    )
    .await
    .expect("payment");
    online_payment_rows(tx, invoice, patient).await;
}

/// A clinic's Stripe keys, a payment page for an invoice, and a handled event.
async fn online_payment_rows(tx: &mut app::db::TenantTx, invoice: uuid::Uuid, patient: uuid::Uuid) {
    use app::payments::{Keys, Provider};
    let keys = Keys {
        key_id: None,
        secret_key: "sk_test_fixture0000000000000".into(),
        webhook_secret: "whsec_fixture_secret".into(),
    };
    app::billing::online::connect(tx, Provider::Stripe, &keys, None)
        .await
        .expect("payment keys");
    let now = chrono::Utc::now();
    tx.execute(
        "INSERT INTO online_checkouts (tenant_id, id, provider, invoice_id, patient_id, amount, currency, \
         status, page_id, page_url, created_at, expires_at, settled_at) \
         VALUES ($1, $2, 'stripe', $3, $4, 100, 'USD', 'closed', $5, 'https://checkout.stripe.test/x', $6, $6, $6)",
        &[
            uuid::Uuid::now_v7().into(),
            invoice.into(),
            patient.into(),
            format!("cs_test_{}", uuid::Uuid::now_v7().simple()).as_str().into(),
            now.into(),
        ],
    )
    .await
    .expect("payment page");
    tx.execute(
        "INSERT INTO payment_events (tenant_id, provider, event_id, kind, received_at) \
         VALUES ($1, 'stripe', $2, 'checkout.session.expired', $3)",
        &[
            format!("evt_{}", uuid::Uuid::now_v7().simple())
                .as_str()
                .into(),
            now.into(),
        ],
    )
    .await
    .expect("payment event");
}

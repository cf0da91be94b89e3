//! Billing (issue 15): a GST clinic invoices clinical care and a product on
//! one document (titled and taxed as the law asks); issuing numbers documents
//! without gaps even when twenty are issued at once; an issued invoice, its
//! lines and every payment stay as they were, even with the application
//! bypassed; a credit note corrects a line and bounds its refund; the day's
//! collections add up per method and per member of staff.

use reqwest::StatusCode;

use app::billing::numbering;
use app::db::Backend;
use app::identity::Role;

use crate::self_service::{register, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    a_gst_clinic_bills_care_and_a_product_on_one_document,
    twenty_invoices_issued_at_once_take_twenty_consecutive_numbers,
    issued_documents_and_money_stay_as_they_were_with_the_application_bypassed,
    a_credit_note_corrects_a_line_and_bounds_its_refund,
    the_days_collections_add_up_per_method_and_member_of_staff,
    revenue_splits_by_practitioner_and_service_and_a_doctor_sees_only_their_own,
    a_visit_type_billed_as_a_service_is_invoiced_as_that_service,
    issued_invoices_and_receipts_are_emailed_as_pointers_to_the_portal,
);

/// The clinic's date (the test clinics run on UTC).
fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// An Indian clinic in Karnataka, financial years from April, and a product.
async fn gst_clinic(admin: &Browser, billing: &Browser) -> String {
    admin
        .api_ok(
            "acme",
            "save_billing_settings",
            &[
                ("regime", "india_gst"),
                ("tax_id", "29ABCDE1234F1Z5"),
                ("state", "Karnataka"),
                ("invoice_prefix", "INV-"),
                ("credit_prefix", "CN-"),
                ("receipt_prefix", "RCT-"),
                ("refund_prefix", "RFD-"),
                ("fy_start_month", "4"),
                ("discount_reason_above", "10"),
            ],
        )
        .await;
    let id = billing
        .api_ok(
            "acme",
            "save_service",
            &[
                ("code", "SPF50"),
                ("name", "Sunscreen SPF 50"),
                ("kind", "product"),
                ("price", "250.00"),
                ("tax_category", "standard"),
            ],
        )
        .await;
    id.as_str().expect("service id").to_owned()
}

/// Starts an invoice at `slug` from `form` (the patient and what else the
/// draft names); answers its id.
pub(crate) async fn draft_with(b: &Browser, slug: &str, form: &[(&str, &str)]) -> String {
    let href = b.api_ok(slug, "draft_invoice", form).await;
    href.as_str()
        .and_then(|h| h.split("?invoice=").nth(1))
        .expect("invoice address")
        .to_owned()
}

/// Starts an invoice for `patient`; answers its id.
async fn draft(b: &Browser, patient: &str, place: &str) -> String {
    draft_with(
        b,
        "acme",
        &[("patient_id", patient), ("place_of_supply", place)],
    )
    .await
}

/// Books `patient` at next Monday's first free time and starts that visit's
/// invoice (in Karnataka); answers (visit, invoice).
async fn visit_invoice(
    desk: &Browser,
    s: &crate::scheduling::Setup,
    patient: &str,
) -> (String, String) {
    use crate::scheduling::{book, day, free_starts, next_monday};
    let free = free_starts(&day(desk, s, next_monday()).await);
    let visit = book(desk, s, patient, &free[0]).await;
    assert_eq!(visit.status, StatusCode::OK, "{}", visit.body);
    let visit = visit.json().as_str().expect("appointment").to_owned();
    let invoice = draft_with(
        desk,
        "acme",
        &[
            ("patient_id", patient),
            ("appointment_id", &visit),
            ("place_of_supply", "Karnataka"),
        ],
    )
    .await;
    (visit, invoice)
}

async fn line(b: &Browser, invoice: &str, fields: &[(&str, &str)]) -> server::Reply {
    let mut form = vec![("invoice_id", invoice)];
    form.extend_from_slice(fields);
    b.api("acme", "add_invoice_line", &form).await
}

async fn page(b: &Browser, invoice: &str) -> serde_json::Value {
    b.api_ok("acme", "invoice_page", &[("invoice_id", invoice)])
        .await
}

fn expected_number(prefix: &str, seq: i64) -> String {
    numbering::number(prefix, &numbering::period(4, today()), seq).expect("number")
}

async fn a_gst_clinic_bills_care_and_a_product_on_one_document(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let sunscreen = gst_clinic(&admin, &billing).await;
    admin
        .api_ok(
            "acme",
            "add_location",
            &[
                ("name", "Indiranagar"),
                ("kind", "clinic"),
                ("time_zone", "Asia/Kolkata"),
                ("address", "80 MG Road, Bengaluru 560001"),
            ],
        )
        .await;
    let patient = register(&desk, "acme", "Asha", "Rao", "1985-04-12", &[]).await;

    // Within the state: exempt care and an 18 % product, CGST + SGST.
    let invoice = draft(&desk, &patient, "karnataka").await;
    let care = line(
        &desk,
        &invoice,
        &[
            ("description", "Consultation"),
            ("quantity", "1"),
            ("unit_price", "500"),
            ("tax_category", "health"),
        ],
    )
    .await;
    assert_eq!(care.status, StatusCode::OK, "{}", care.body);
    let product = line(
        &desk,
        &invoice,
        &[("service_id", &sunscreen), ("quantity", "2")],
    )
    .await;
    assert_eq!(product.status, StatusCode::OK, "{}", product.body);
    let shown = page(&desk, &invoice).await;
    let doc = &shown["invoice"];
    assert_eq!(doc["title"], "Invoice-cum-bill of supply", "{doc}");
    assert_eq!(doc["lines"][0]["tax"]["kind"], "Exempt");
    assert_eq!(doc["lines"][1]["tax"]["kind"], "CgstSgst");
    // 9 % of 500.00 each.
    assert_eq!(
        (doc["cgst"].as_i64(), doc["sgst"].as_i64()),
        (Some(4500), Some(4500))
    );
    assert_eq!(doc["igst"], 0);
    assert_eq!(doc["total"], 50_000 + 50_000 + 9_000);

    // A discount above the threshold: not the front desk's to give; billing
    // gives it with a reason.
    let big = [("amount", "150"), ("reason", "")];
    let refused = desk
        .api(
            "acme",
            "set_invoice_discount",
            &[("invoice_id", invoice.as_str()), big[0], big[1]],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let no_reason = billing
        .api(
            "acme",
            "set_invoice_discount",
            &[("invoice_id", invoice.as_str()), big[0], big[1]],
        )
        .await;
    assert!(no_reason.body.contains("reason"), "{}", no_reason.body);
    billing
        .api_ok(
            "acme",
            "set_invoice_discount",
            &[
                ("invoice_id", &invoice),
                ("amount", "100"),
                ("reason", "Staff family"),
            ],
        )
        .await;
    // 100.00 shared 50:50 over 500 + 500: the product is taxed on 450.00.
    let doc = page(&desk, &invoice).await["invoice"].clone();
    assert_eq!(doc["cgst"], 4050, "{doc}");
    assert_eq!(doc["total"], 45_000 + 45_000 + 8_100);

    // A nurse does not invoice.
    let r = nurse
        .api("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let number = desk
        .api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    assert_eq!(number, expected_number("INV-", 1));
    // Issued is final, for the application too.
    let late = line(
        &desk,
        &invoice,
        &[
            ("description", "Dressing"),
            ("quantity", "1"),
            ("unit_price", "10"),
        ],
    )
    .await;
    assert_eq!(
        late.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        late.body
    );
    let gone = desk
        .api("acme", "delete_draft_invoice", &[("invoice_id", &invoice)])
        .await;
    assert_eq!(
        gone.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        gone.body
    );

    // A partial cash payment, then the rest by UPI with 10.00 too much: credit.
    let receipt = desk
        .api_ok(
            "acme",
            "take_payment",
            &[
                ("invoice_id", &invoice),
                ("method", "cash"),
                ("amount", "600"),
            ],
        )
        .await;
    assert_eq!(receipt, expected_number("RCT-", 1));
    let after = page(&desk, &invoice).await;
    assert_eq!(after["invoice"]["outstanding"], 98_100 - 60_000);
    assert_eq!(after["dues"]["outstanding"], 98_100 - 60_000);
    assert_eq!(after["dues"]["aging"][0], 98_100 - 60_000);
    desk.api_ok(
        "acme",
        "take_payment",
        &[
            ("invoice_id", &invoice),
            ("method", "upi"),
            ("amount", "391.00"),
            ("reference", "UPI-778812"),
        ],
    )
    .await;
    let paid = page(&desk, &invoice).await;
    assert_eq!(paid["invoice"]["outstanding"], 0);
    assert_eq!(paid["dues"]["credit"], 1_000);

    // Printed and as PDF, for the front desk; not for a nurse.
    let printed = desk
        .get(
            "localhost",
            &format!("/t/acme/billing/documents/{invoice}/print"),
        )
        .await;
    assert_eq!(printed.status, StatusCode::OK, "{}", printed.body);
    for text in [
        "Invoice-cum-bill of supply",
        "GSTIN: 29ABCDE1234F1Z5",
        "80 MG Road, Bengaluru 560001",
        "CGST 9.00 %: 40.50",
        "Asha Rao",
    ] {
        assert!(printed.body.contains(text), "{text} missing");
    }
    let pdf = desk
        .get(
            "localhost",
            &format!("/t/acme/billing/documents/{invoice}/pdf?size=receipt"),
        )
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF"), "not a PDF");
    let receipt_id = paid["payments"][1]["id"]
        .as_str()
        .expect("first receipt")
        .to_owned();
    let receipt = desk
        .get(
            "localhost",
            &format!("/t/acme/billing/receipts/{receipt_id}/print"),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(
        receipt.body.contains("data-size=\"receipt\""),
        "80 mm by default"
    );
    assert!(receipt.body.contains(&expected_number("RCT-", 1)));
    let on_a4 = desk
        .get(
            "localhost",
            &format!("/t/acme/billing/receipts/{receipt_id}/pdf?size=a4"),
        )
        .await;
    assert!(on_a4.body.starts_with("%PDF"), "the receipt as a PDF");
    for path in [
        format!("/t/acme/billing/documents/{invoice}/print"),
        format!("/t/acme/billing/receipts/{receipt_id}/print"),
    ] {
        let r = nurse.get("localhost", &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Across a state line: IGST at the full rate, a tax invoice for the product alone.
    let other = draft(&desk, &patient, "Maharashtra").await;
    line(
        &desk,
        &other,
        &[("service_id", &sunscreen), ("quantity", "1")],
    )
    .await;
    let doc = page(&desk, &other).await["invoice"].clone();
    assert_eq!(doc["title"], "Tax invoice");
    assert_eq!(
        (doc["igst"].as_i64(), doc["cgst"].as_i64()),
        (Some(4500), Some(0))
    );

    // Bad input is named, never a 500.
    for (field, value) in [
        ("quantity", "0"),
        ("unit_price", "-5"),
        ("unit_price", "12.345"),
    ] {
        let mut fields = vec![
            ("description", "X-ray"),
            ("quantity", "1"),
            ("unit_price", "10"),
        ];
        fields.retain(|f| f.0 != field);
        fields.push((field, value));
        let r = line(&desk, &other, &fields).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {}",
            r.body
        );
        assert!(r.body.contains(field), "{}", r.body);
    }
}

async fn twenty_invoices_issued_at_once_take_twenty_consecutive_numbers(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    gst_clinic(&admin, &billing).await;
    let patient = register(&admin, "acme", "Ravi", "Iyer", "1970-01-01", &[]).await;
    let mut drafts = Vec::new();
    for i in 0..20 {
        let invoice = draft(&billing, &patient, "Karnataka").await;
        let price = format!("{}", 100 + i);
        line(
            &billing,
            &invoice,
            &[
                ("description", "Consultation"),
                ("quantity", "1"),
                ("unit_price", &price),
            ],
        )
        .await;
        drafts.push(invoice);
    }
    let issuing = drafts.iter().map(|d| async {
        billing
            .api("acme", "issue_invoice", &[("invoice_id", d.as_str())])
            .await
    });
    let replies = futures_util::future::join_all(issuing).await;
    let mut numbers: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.json().as_str().expect("number").to_owned()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| expected_number("INV-", n)).collect();
    assert_eq!(numbers, expected);
}

/// Runs `sql` as the application's database role inside the tenant,
/// bypassing the application.
async fn raw(
    t: &TestDb,
    tenant: uuid::Uuid,
    sql: &str,
    binds: &[&str],
) -> Result<u64, sqlx::Error> {
    let uuid = |b: &&str| b.parse::<uuid::Uuid>().ok();
    match t.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.app_url).await?;
            let mut q = sqlx::query(sql);
            for b in binds {
                q = match uuid(b) {
                    Some(u) => q.bind(u),
                    None => q.bind(b.to_string()),
                };
            }
            Ok(q.execute(&pool).await?.rows_affected())
        }
        Backend::Postgres => {
            let mut tx = t.app_tx_in(tenant).await?;
            let mut q = sqlx::query(sql);
            for b in binds {
                q = match uuid(b) {
                    Some(u) => q.bind(u),
                    None => q.bind(b.to_string()),
                };
            }
            let n = q.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        }
    }
}

async fn issued_documents_and_money_stay_as_they_were_with_the_application_bypassed(t: &TestDb) {
    let clinic = staffed_clinic(&t.db, "acme").await;
    let tenant = clinic.tenant.id.into_uuid();
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    gst_clinic(&admin, &billing).await;
    let patient = register(&admin, "acme", "Meera", "Nair", "1992-03-03", &[]).await;
    let invoice = draft(&billing, &patient, "Karnataka").await;
    line(
        &billing,
        &invoice,
        &[
            ("description", "Consultation"),
            ("quantity", "1"),
            ("unit_price", "500"),
        ],
    )
    .await;
    billing
        .api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    billing
        .api_ok(
            "acme",
            "take_payment",
            &[
                ("invoice_id", &invoice),
                ("method", "cash"),
                ("amount", "200"),
            ],
        )
        .await;
    let draft_id = draft(&billing, &patient, "Karnataka").await;
    line(
        &billing,
        &draft_id,
        &[
            ("description", "Dressing"),
            ("quantity", "1"),
            ("unit_price", "50"),
        ],
    )
    .await;

    let refusals = [
        ("UPDATE invoices SET total = 1 WHERE id = $1", vec![invoice.as_str()]),
        ("UPDATE invoices SET notes = 'changed' WHERE id = $1", vec![invoice.as_str()]),
        ("DELETE FROM invoices WHERE id = $1", vec![invoice.as_str()]),
        ("UPDATE invoice_lines SET unit_price = 1 WHERE invoice_id = $1", vec![invoice.as_str()]),
        ("DELETE FROM invoice_lines WHERE invoice_id = $1", vec![invoice.as_str()]),
        (
            "INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, description, tax_category, quantity, \
             unit_price, line_discount, rate_bp, exempt) SELECT tenant_id, $2, invoice_id, 9, 'Extra', tax_category, \
             1, 100, 0, 0, exempt FROM invoice_lines WHERE invoice_id = $1",
            vec![invoice.as_str(), "0190a0b0-0000-7000-8000-000000000001"],
        ),
        ("UPDATE payments SET amount = 1 WHERE patient_id = $1", vec![patient.as_str()]),
        ("DELETE FROM payments WHERE patient_id = $1", vec![patient.as_str()]),
        ("UPDATE payment_allocations SET amount = 1 WHERE patient_id = $1", vec![patient.as_str()]),
        ("DELETE FROM payment_allocations WHERE patient_id = $1", vec![patient.as_str()]),
        // Skipping numbers: moving a series on, or issuing out of turn.
        ("UPDATE document_series SET next_seq = next_seq + 5", vec![]),
        ("DELETE FROM document_series", vec![]),
        (
            "UPDATE invoices SET status = 'issued', period = (SELECT period FROM invoices WHERE id = $2), \
             seq = 7, number = 'INV-X7', title = 'Invoice', issued_at = created_at WHERE id = $1",
            vec![draft_id.as_str(), invoice.as_str()],
        ),
    ];
    for (sql, binds) in &refusals {
        let r = raw(t, tenant, sql, binds).await;
        assert!(r.is_err(), "the database allowed: {sql} ({r:?})");
    }
    let doc = page(&billing, &invoice).await["invoice"].clone();
    assert_eq!(
        (doc["total"].as_i64(), doc["paid"].as_i64()),
        (Some(50_000), Some(20_000))
    );
    // A draft is still a draft: it can change and go.
    assert_eq!(
        raw(
            t,
            tenant,
            "UPDATE invoice_lines SET quantity = 2 WHERE invoice_id = $1",
            &[&draft_id]
        )
        .await
        .ok(),
        Some(1)
    );
    billing
        .api_ok("acme", "delete_draft_invoice", &[("invoice_id", &draft_id)])
        .await;
    // The next invoice still takes the next number.
    let next = draft(&billing, &patient, "Karnataka").await;
    line(
        &billing,
        &next,
        &[
            ("description", "Review"),
            ("quantity", "1"),
            ("unit_price", "100"),
        ],
    )
    .await;
    let number = billing
        .api_ok("acme", "issue_invoice", &[("invoice_id", &next)])
        .await;
    assert_eq!(number, expected_number("INV-", 2));
}

async fn a_credit_note_corrects_a_line_and_bounds_its_refund(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let sunscreen = gst_clinic(&admin, &billing).await;
    let patient = register(&desk, "acme", "Kiran", "Shah", "1988-08-08", &[]).await;
    let invoice = draft(&desk, &patient, "Karnataka").await;
    line(
        &desk,
        &invoice,
        &[
            ("description", "Consultation"),
            ("quantity", "1"),
            ("unit_price", "500"),
        ],
    )
    .await;
    line(
        &desk,
        &invoice,
        &[("service_id", &sunscreen), ("quantity", "1")],
    )
    .await;
    desk.api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    desk.api_ok(
        "acme",
        "take_payment",
        &[
            ("invoice_id", &invoice),
            ("method", "card"),
            ("amount", "795"),
        ],
    )
    .await;
    let doc = page(&desk, &invoice).await["invoice"].clone();
    assert_eq!(doc["outstanding"], 0, "{doc}");
    let product_line = doc["lines"][1]["id"].as_str().expect("line").to_owned();
    let product_box = format!("lines[l{product_line}]");

    // The front desk does not correct invoices.
    let form = [
        ("invoice_id", invoice.as_str()),
        ("reason", "Returned unopened"),
        (product_box.as_str(), "on"),
    ];
    let r = desk.api("acme", "credit_invoice", &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let number = billing.api_ok("acme", "credit_invoice", &form).await;
    assert_eq!(number, expected_number("CN-", 1));
    let after = page(&billing, &invoice).await;
    assert_eq!(after["invoice"]["credited"], 29_500);
    assert_eq!(after["invoice"]["outstanding"], 0);
    // What was paid for the returned product is the patient's credit again.
    assert_eq!(after["dues"]["credit"], 29_500, "{}", after["dues"]);
    // Once only.
    let again = billing.api("acme", "credit_invoice", &form).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );

    let note = after["credit_notes"][0]["id"]
        .as_str()
        .expect("credit note")
        .to_owned();
    assert_eq!(after["credit_notes"][0]["tax"], 4_500);
    let refund = |amount: &'static str| {
        let note = note.clone();
        let billing = &billing;
        async move {
            billing
                .api(
                    "acme",
                    "refund_credit_note",
                    &[
                        ("credit_note_id", note.as_str()),
                        ("method", "card"),
                        ("amount", amount),
                        ("reference", "Card refund 4411"),
                    ],
                )
                .await
        }
    };
    let too_much = refund("295.01").await;
    assert_eq!(
        too_much.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_much.body
    );
    let r = desk
        .api(
            "acme",
            "refund_credit_note",
            &[
                ("credit_note_id", note.as_str()),
                ("method", "cash"),
                ("amount", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let ok = refund("295").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let done = page(&billing, &invoice).await;
    assert_eq!(done["dues"]["credit"], 0);
    assert_eq!(refund("1").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_days_collections_add_up_per_method_and_member_of_staff(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    gst_clinic(&admin, &billing).await;
    let patient = register(&desk, "acme", "Lata", "Menon", "1960-12-12", &[]).await;
    let mut takings = Vec::new();
    for (who, method, amount) in [
        (&desk, "cash", "100"),
        (&desk, "card", "250.50"),
        (&billing, "cash", "40"),
        (&billing, "upi", "10"),
    ] {
        let invoice = draft(who, &patient, "Karnataka").await;
        line(
            who,
            &invoice,
            &[
                ("description", "Visit"),
                ("quantity", "1"),
                ("unit_price", amount),
            ],
        )
        .await;
        who.api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
            .await;
        who.api_ok(
            "acme",
            "take_payment",
            &[
                ("invoice_id", &invoice),
                ("method", method),
                ("amount", amount),
            ],
        )
        .await;
        takings.push(invoice);
    }
    let report = billing.api_ok("acme", "collections_report", &[]).await;
    assert_eq!(
        report["received"],
        10_000 + 25_050 + 4_000 + 1_000,
        "{report}"
    );
    let methods = report["by_method"].as_array().expect("methods");
    let cash = methods.iter().find(|m| m[0] == "Cash").expect("cash");
    assert_eq!(cash[1], 14_000);
    let staff = report["by_staff"].as_array().expect("staff");
    let per_staff: i64 = staff.iter().map(|s| s[1].as_i64().unwrap_or(0)).sum();
    let per_method: i64 = methods.iter().map(|m| m[1].as_i64().unwrap_or(0)).sum();
    assert_eq!(per_staff, per_method);
    assert_eq!(staff.len(), 2, "{report}");
    // Another day holds nothing; the front desk does not see the report.
    let yesterday = (today() - chrono::Duration::days(1)).to_string();
    let empty = billing
        .api_ok("acme", "collections_report", &[("date", &yesterday)])
        .await;
    assert_eq!(empty["received"], 0);
    let r = desk.api("acme", "collections_report", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let bad = billing
        .api("acme", "collections_report", &[("date", "30/11/2026")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn revenue_splits_by_practitioner_and_service_and_a_doctor_sees_only_their_own(t: &TestDb) {
    use crate::scheduling::set_up_in;
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let sunscreen = gst_clinic(&admin, &billing).await;
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let patient = register(&desk, "acme", "Kiran", "Shah", "1988-08-08", &[]).await;
    // The visit's invoice: a consultation typed by hand and a product from the
    // catalog; a second invoice by hand, with no visit.
    let (_, invoice) = visit_invoice(&desk, &s, &patient).await;
    line(
        &desk,
        &invoice,
        &[
            ("description", "Consultation"),
            ("quantity", "1"),
            ("unit_price", "500"),
        ],
    )
    .await;
    line(
        &desk,
        &invoice,
        &[("service_id", &sunscreen), ("quantity", "1")],
    )
    .await;
    desk.api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    let by_hand = draft(&desk, &patient, "Karnataka").await;
    line(
        &desk,
        &by_hand,
        &[("service_id", &sunscreen), ("quantity", "2")],
    )
    .await;
    desk.api_ok("acme", "issue_invoice", &[("invoice_id", &by_hand)])
        .await;
    // The product on the visit's invoice is returned: a credit note.
    let doc = page(&billing, &invoice).await["invoice"].clone();
    // Drafted from the visit, the invoice starts with the visit's own line.
    assert_eq!(doc["lines"].as_array().map(Vec::len), Some(3), "{doc}");
    let product_line = doc["lines"]
        .as_array()
        .and_then(|l| {
            l.iter().find(|l| {
                l["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("Sunscreen"))
            })
        })
        .and_then(|l| l["id"].as_str())
        .expect("the product's line")
        .to_owned();
    let product_box = format!("lines[l{product_line}]");
    billing
        .api_ok(
            "acme",
            "credit_invoice",
            &[
                ("invoice_id", invoice.as_str()),
                ("reason", "Returned unopened"),
                (product_box.as_str(), "on"),
            ],
        )
        .await;

    let report = billing.api_ok("acme", "revenue_report", &[]).await;
    let row = |rows: &serde_json::Value, label: &str| -> serde_json::Value {
        rows.as_array()
            .and_then(|r| r.iter().find(|x| x["label"] == label))
            .cloned()
            .unwrap_or_else(|| panic!("{label} in {rows}"))
    };
    let doctor_name = report["by_practitioner"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|x| x["label"] != "No visit (invoiced by hand)")
        })
        .map(|x| x["label"].as_str().expect("name").to_owned())
        .expect("the doctor's row");
    // The visit (40.00) and the consultation (500.00) stay with the doctor;
    // the product went back.
    assert_eq!(
        row(&report["by_practitioner"], &doctor_name)["net"],
        54_000,
        "{report}"
    );
    assert_eq!(row(&report["by_practitioner"], &doctor_name)["invoices"], 1);
    let sunscreen_row = row(&report["by_service"], "Sunscreen SPF 50");
    assert_eq!(sunscreen_row["invoices"], 2, "{report}");
    let by_hand_net = row(&report["by_practitioner"], "No visit (invoiced by hand)")["net"].clone();
    assert_eq!(
        sunscreen_row["net"], by_hand_net,
        "one returned, two sold by hand"
    );
    assert_eq!(
        row(&report["by_service"], "Other (typed on the invoice)")["net"],
        54_000
    );
    assert_eq!(report["totals"]["invoices"], 2);

    // The doctor sees only their own visits; the front desk sees none of it.
    let own = doctor.api_ok("acme", "revenue_report", &[]).await;
    assert_eq!(own["own_only"], true);
    assert_eq!(
        own["by_practitioner"].as_array().map(Vec::len),
        Some(1),
        "{own}"
    );
    assert_eq!(own["totals"]["net"], 54_000);
    assert_eq!(
        desk.api("acme", "revenue_report", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = billing
        .api(
            "acme",
            "revenue_report",
            &[("from", "2026-12-31"), ("to", "2026-01-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // The CSV carries the same figures, for the same people.
    let csv = billing
        .get("localhost", "/t/acme/billing/revenue.csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("text/csv")));
    assert!(
        csv.body
            .starts_with("breakdown,label,invoices,net,tax,total,currency,from,to\r\n"),
        "{}",
        csv.body
    );
    assert!(
        csv.body
            .contains(&format!("practitioner,\"{doctor_name}\",1,540.00,")),
        "{}",
        csv.body
    );
    assert_eq!(
        desk.get("localhost", "/t/acme/billing/revenue.csv")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let own_csv = doctor.get("localhost", "/t/acme/billing/revenue.csv").await;
    assert!(!own_csv.body.contains("No visit"), "{}", own_csv.body);
}

/// A visit type billed as a catalog service: its visits are invoiced in one
/// click with the service's name, price and tax category; the type's price
/// follows the service's; only the clinic's own active services can be
/// chosen, and the database holds that rule with the application bypassed.
async fn a_visit_type_billed_as_a_service_is_invoiced_as_that_service(t: &TestDb) {
    use crate::scheduling::set_up_in;
    let clinic = staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "beta").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    gst_clinic(&admin, &billing).await;
    let service = |b: &'static str, code: &'static str, price: &'static str| {
        [
            ("code", code),
            ("name", b),
            ("kind", "service"),
            ("price", price),
            ("tax_category", "health"),
        ]
    };
    let consult = billing
        .api_ok(
            "acme",
            "save_service",
            &service("Specialist consultation", "SPEC", "700"),
        )
        .await;
    let consult = consult.as_str().expect("service id").to_owned();
    let s = set_up_in(&admin, "30", "1", "UTC").await;
    let doctor_box = format!("practitioners[s{}]", s.doctor);
    let location_box = format!("locations[l{}]", s.location);
    let link = |service: &str| {
        vec![
            ("type_id".to_owned(), s.kind.clone()),
            ("name".to_owned(), "Consultation".to_owned()),
            ("duration_min".to_owned(), "30".to_owned()),
            ("price".to_owned(), "40".to_owned()),
            ("service_id".to_owned(), service.to_owned()),
            (doctor_box.clone(), "on".to_owned()),
            (location_box.clone(), "on".to_owned()),
        ]
    };
    fn form(fields: &[(String, String)]) -> Vec<(&str, &str)> {
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
    let type_of = |setup: &serde_json::Value| {
        setup["types"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["id"].as_str() == Some(s.kind.as_str())))
            .cloned()
            .expect("the visit type")
    };

    // Only the clinic's own active services: nonsense, another clinic's, a
    // retired one are each refused by name.
    let beta_admin = staff_of(addr, "beta", Role::Admin).await;
    let beta_billing = staff_of(addr, "beta", Role::Billing).await;
    beta_admin
        .api_ok(
            "beta",
            "save_billing_settings",
            &[
                ("regime", "none"),
                ("invoice_prefix", "B-"),
                ("credit_prefix", "BC-"),
                ("receipt_prefix", "BR-"),
                ("refund_prefix", "BF-"),
                ("fy_start_month", "1"),
                ("discount_reason_above", "10"),
            ],
        )
        .await;
    let theirs = beta_billing
        .api_ok(
            "beta",
            "save_service",
            &service("Their consultation", "THEIRS", "10"),
        )
        .await;
    let theirs = theirs.as_str().expect("their service").to_owned();
    let retired = billing
        .api_ok(
            "acme",
            "save_service",
            &service("Old consultation", "OLD", "30"),
        )
        .await;
    let retired = retired.as_str().expect("service id").to_owned();
    let mut retire = service("Old consultation", "OLD", "30").to_vec();
    retire.push(("id", &retired));
    billing.api_ok("acme", "save_service", &retire).await;
    for wrong in ["not-a-service", theirs.as_str(), retired.as_str()] {
        let refused = admin
            .api("acme", "save_appointment_type", &form(&link(wrong)))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wrong}: {}",
            refused.body
        );
        assert!(refused.body.contains("service_id"), "{}", refused.body);
    }

    // Linked, the type costs what the service costs, whatever price was typed.
    admin
        .api_ok("acme", "save_appointment_type", &form(&link(&consult)))
        .await;
    let kind = type_of(&admin.api_ok("acme", "scheduling_setup", &[]).await);
    assert_eq!(
        kind["service_id"].as_str(),
        Some(consult.as_str()),
        "{kind}"
    );
    assert_eq!(kind["price_minor"], 70_000, "{kind}");

    // A visit is invoiced in one click as that service: exempt clinical care.
    let patient = register(&desk, "acme", "Anil", "Rao", "1979-07-07", &[]).await;
    let (_, invoice) = visit_invoice(&desk, &s, &patient).await;
    let doc = page(&desk, &invoice).await["invoice"].clone();
    let first = &doc["lines"][0];
    assert_eq!(first["description"], "Specialist consultation", "{doc}");
    assert_eq!(first["unit_price"], 70_000, "{doc}");
    assert_eq!(first["tax_category"], "health", "{doc}");
    assert_eq!(doc["lines"].as_array().map(Vec::len), Some(1), "{doc}");

    // The service's new price is the type's; a price a visit may not have is
    // refused while a type is billed as it.
    let mut repriced = service("Specialist consultation", "SPEC", "800").to_vec();
    repriced.push(("id", &consult));
    billing.api_ok("acme", "save_service", &repriced).await;
    let kind = type_of(&admin.api_ok("acme", "scheduling_setup", &[]).await);
    assert_eq!(kind["price_minor"], 80_000, "{kind}");
    let mut too_dear = service("Specialist consultation", "SPEC", "2000000").to_vec();
    too_dear.push(("id", &consult));
    let refused = billing.api("acme", "save_service", &too_dear).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("price"), "{}", refused.body);

    // With the application bypassed, a type cannot be billed as another
    // clinic's service, nor as one that does not exist.
    let tenant = clinic.tenant.id.into_uuid();
    let missing = uuid::Uuid::now_v7().to_string();
    for other in [theirs.as_str(), missing.as_str()] {
        let sneaked = raw(
            t,
            tenant,
            "UPDATE appointment_types SET service_id = $1 WHERE id = $2",
            &[other, &s.kind],
        )
        .await;
        assert!(sneaked.is_err(), "{other}: {sneaked:?}");
    }
}

/// Emailing a document tells the patient it waits in their portal: the
/// clinic, the kind and the number, never what was bought or treated. A draft
/// is not sent, nor is a patient without an address emailed; each refusal says
/// why. Audited.
async fn issued_invoices_and_receipts_are_emailed_as_pointers_to_the_portal(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = server::start(&t.db, |_| {}).await;
    let admin = staff_of(addr, "acme", Role::Admin).await;
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    gst_clinic(&admin, &billing).await;
    let patient = register(
        &desk,
        "acme",
        "Leela",
        "Menon",
        "1985-05-05",
        &[("email", "leela.menon@patients.example")],
    )
    .await;
    let invoice = draft(&desk, &patient, "Karnataka").await;
    line(
        &desk,
        &invoice,
        &[
            ("description", "Mole removal"),
            ("quantity", "1"),
            ("unit_price", "900"),
        ],
    )
    .await;
    let before = app::mail::recent(&t.db, 500).await.expect("outbox").len();
    let refused = desk
        .api("acme", "email_invoice", &[("invoice_id", &invoice)])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("issue it first"), "{}", refused.body);

    let number = desk
        .api_ok("acme", "issue_invoice", &[("invoice_id", &invoice)])
        .await;
    let number = number.as_str().expect("number").to_owned();
    desk.api_ok("acme", "email_invoice", &[("invoice_id", &invoice)])
        .await;
    let outbox = app::mail::recent(&t.db, 500).await.expect("outbox");
    assert_eq!(outbox.len(), before + 1);
    let sent = outbox
        .iter()
        .find(|m| m.to_address == "leela.menon@patients.example")
        .expect("the patient's message");
    assert!(sent.subject.contains(&number), "{}", sent.subject);
    assert!(
        sent.text_body.contains("/portal/bills"),
        "{}",
        sent.text_body
    );
    for body in [&sent.subject, &sent.text_body, &sent.html_body] {
        assert!(
            !body.contains("Mole"),
            "what was treated stays in the portal: {body}"
        );
        assert!(
            !body.contains("900"),
            "the amount stays in the portal: {body}"
        );
    }
    let raw = crate::chart::raw_pool(t).await;
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'invoice.emailed'")
            .await,
        1
    );

    // A payment's receipt is emailed the same way: its number, not its amount.
    let receipt = desk
        .api_ok(
            "acme",
            "take_payment",
            &[
                ("invoice_id", &invoice),
                ("method", "cash"),
                ("amount", "617"),
            ],
        )
        .await;
    let receipt = receipt.as_str().expect("receipt number").to_owned();
    let payment = page(&desk, &invoice).await["payments"][0]["id"]
        .as_str()
        .expect("payment id")
        .to_owned();
    desk.api_ok(
        "acme",
        "email_receipt",
        &[("payment_id", &payment), ("back_to", &invoice)],
    )
    .await;
    let outbox = app::mail::recent(&t.db, 500).await.expect("outbox");
    assert_eq!(outbox.len(), before + 2);
    let sent = outbox
        .iter()
        .find(|m| m.subject.contains(&receipt))
        .expect("the receipt's message");
    assert_eq!(sent.to_address, "leela.menon@patients.example");
    for body in [&sent.subject, &sent.text_body, &sent.html_body] {
        assert!(
            !body.contains("617"),
            "the amount stays in the portal: {body}"
        );
        assert!(!body.contains("Mole"), "{body}");
    }
    assert_eq!(
        raw.count("SELECT count(*) FROM audit_events WHERE action = 'receipt.emailed'")
            .await,
        1
    );
    // Another clinic's staff cannot reach it.
    let stranger = staff_of(addr, "other", Role::Owner).await;
    let refused = stranger
        .api("other", "email_receipt", &[("payment_id", &payment)])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);

    // No address on the record: the desk is told to add one, nothing is sent.
    let no_email = register(&desk, "acme", "Ravi", "Iyer", "1970-01-02", &[]).await;
    let other = draft(&desk, &no_email, "Karnataka").await;
    line(
        &desk,
        &other,
        &[
            ("description", "Dressing"),
            ("quantity", "1"),
            ("unit_price", "50"),
        ],
    )
    .await;
    desk.api_ok("acme", "issue_invoice", &[("invoice_id", &other)])
        .await;
    let refused = desk
        .api("acme", "email_invoice", &[("invoice_id", &other)])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("no email address"),
        "{}",
        refused.body
    );
    assert_eq!(
        app::mail::recent(&t.db, 500).await.expect("outbox").len(),
        before + 2
    );
}

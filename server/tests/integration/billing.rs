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

/// Starts an invoice for `patient`; answers its id.
async fn draft(b: &Browser, patient: &str, place: &str) -> String {
    let href = b
        .api_ok(
            "acme",
            "draft_invoice",
            &[("patient_id", patient), ("place_of_supply", place)],
        )
        .await;
    href.as_str()
        .and_then(|h| h.split("?invoice=").nth(1))
        .expect("invoice address")
        .to_owned()
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
            let pool = sqlx::PgPool::connect(&t.app_url).await?;
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(tenant.to_string())
                .execute(&mut *tx)
                .await?;
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

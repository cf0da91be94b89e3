//! Revenue by practitioner and by service over a period, on screen and as CSV:
//! what issued invoices earned (after discounts, before tax), less what credit
//! notes took back, by the day each document was issued in the clinic's time
//! zone. A visit's practitioner is the invoice's appointment's; a credit note
//! counts against its invoice's practitioner and its line's service.
//!
//! Billing staff, managers and owners see the whole clinic; a doctor sees only
//! their own visits' revenue.

use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The longest period one report covers, in days (both ends counted).
pub const MAX_DAYS: i64 = 366;

/// One line of a breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueRow {
    pub label: String,
    /// Invoices issued (credit notes not counted).
    pub invoices: i64,
    /// After discounts, before tax; credit notes subtracted. Minor units.
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// A revenue report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revenue {
    pub currency: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only the viewer's own visits (a doctor's view).
    pub own_only: bool,
    pub by_practitioner: Vec<RevenueRow>,
    pub by_service: Vec<RevenueRow>,
    pub totals: RevenueRow,
}

/// Revenue from `from` to `to` (both included; the month so far by default).
#[server(prefix = "/api", endpoint = "revenue_report")]
pub async fn revenue_report(from: Option<String>, to: Option<String>) -> Result<Revenue, AppError> {
    let site = crate::site::current_site();
    let db = crate::identity::auth::db()?;
    ssr::report(&db, &site, from.as_deref(), to.as_deref()).await
}

/// Who sees what: the clinic's revenue, or a practitioner's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Clinic,
    Practitioner(uuid::Uuid),
}

use crate::text::csv_field;

/// The report as CSV (RFC 4180, CRLF), one row per breakdown line, amounts in
/// plain decimals of the currency.
pub fn csv(r: &Revenue) -> String {
    let amount = |minor: i64| crate::money::format_amount(minor, &r.currency);
    let mut out = String::from("breakdown,label,invoices,net,tax,total,currency,from,to\r\n");
    let sections = [
        ("practitioner", &r.by_practitioner),
        ("service", &r.by_service),
    ];
    for (section, rows) in sections {
        for row in rows.iter() {
            out.push_str(&format!(
                "{section},{},{},{},{},{},{},{},{}\r\n",
                csv_field(&row.label),
                row.invoices,
                amount(row.net),
                amount(row.tax),
                amount(row.total),
                r.currency,
                r.from,
                r.to
            ));
        }
    }
    out.push_str(&format!(
        "total,{},{},{},{},{},{},{},{}\r\n",
        csv_field("All"),
        r.totals.invoices,
        amount(r.totals.net),
        amount(r.totals.tax),
        amount(r.totals.total),
        r.currency,
        r.from,
        r.to
    ));
    out
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Datelike, Duration, NaiveDate};
    use uuid::Uuid;

    use super::{Revenue, RevenueRow, Scope, MAX_DAYS};
    use crate::db::{Db, DbError, TenantTx};
    use crate::error::AppError;
    use crate::identity::permissions::Permission;
    use crate::identity::{Role, Standing};
    use crate::tenancy::SiteInfo;

    /// What the viewer of `site` may see; refused for anyone else.
    pub fn scope(site: &SiteInfo) -> Result<Scope, AppError> {
        let viewer = site
            .viewer
            .as_ref()
            .ok_or_else(|| AppError::Unauthenticated.respond())?;
        if site.tenant.is_none() {
            return Err(AppError::Forbidden.respond());
        }
        if !viewer.can(Permission::RevenueRead) {
            return Err(AppError::Forbidden.respond());
        }
        if viewer.can(Permission::BillingManage) || viewer.can(Permission::ReportsRead) {
            return Ok(Scope::Clinic);
        }
        match viewer.standing {
            Standing::Staff {
                member_id,
                role: Role::Doctor,
            } if viewer.support.is_none() => Ok(Scope::Practitioner(member_id)),
            _ => Err(AppError::Forbidden.respond()),
        }
    }

    fn day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => crate::forms::input::date(field, t).map(Some),
        }
    }

    /// The period asked for: both ends included, `from` not after `to`, at most
    /// [`MAX_DAYS`]; the month so far by default.
    pub fn period(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<(NaiveDate, NaiveDate), AppError> {
        let to = day("to", to)?.unwrap_or(today);
        let from = day("from", from)?.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
        if from > to {
            return Err(AppError::field("from", "the start comes after the end").respond());
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(AppError::field("to", "a report covers at most a year").respond());
        }
        Ok((from, to))
    }

    /// The report for the viewer of `site` (the server function and the CSV).
    pub async fn report(
        db: &Db,
        site: &SiteInfo,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Revenue, AppError> {
        let scope = scope(site)?;
        let tenant = site.tenant.as_ref().ok_or(AppError::Forbidden)?;
        let today = crate::patients::api::ssr::clinic_today(tenant);
        let (from, to) = period(from, to, today)?;
        let mut tx = db.begin_for_read(tenant.id).await?;
        let r = revenue(
            &mut tx,
            from,
            to,
            tenant.settings.tz(),
            &tenant.settings.currency,
            scope,
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// One line of an issued document, with what it is attributed to.
    #[derive(sqlx::FromRow)]
    struct Earned {
        invoice_id: Uuid,
        kind: String,
        practitioner: Option<String>,
        service: Option<String>,
        taxable: i64,
        tax: i64,
        total: i64,
    }

    const NO_PRACTITIONER: &str = "No visit (invoiced by hand)";
    const NO_SERVICE: &str = "Other (typed on the invoice)";

    pub async fn revenue(
        tx: &mut TenantTx,
        from: NaiveDate,
        to: NaiveDate,
        tz: chrono_tz::Tz,
        currency: &str,
        scope: Scope,
    ) -> Result<Revenue, DbError> {
        let start = crate::scheduling::slots::instant(tz, from, 0);
        let end = crate::scheduling::slots::instant(tz, to + Duration::days(1), 0);
        let practitioner = match scope {
            Scope::Clinic => None,
            Scope::Practitioner(id) => Some(id),
        };
        let lines: Vec<Earned> = tx
            .fetch_all(
                "SELECT i.id AS invoice_id, i.kind, s.display_name AS practitioner, sv.name AS service, \
                 l.taxable, l.tax, l.total \
                 FROM invoice_lines l \
                 JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id \
                 LEFT JOIN invoices o ON o.tenant_id = i.tenant_id AND o.id = i.credit_for \
                 LEFT JOIN appointments a ON a.tenant_id = i.tenant_id \
                      AND a.id = COALESCE(i.appointment_id, o.appointment_id) \
                 LEFT JOIN staff_members s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id \
                 LEFT JOIN invoice_lines ol ON ol.tenant_id = l.tenant_id AND ol.id = l.credit_of_line \
                 LEFT JOIN services sv ON sv.tenant_id = l.tenant_id \
                      AND sv.id = COALESCE(l.service_id, ol.service_id) \
                 WHERE l.tenant_id = $1 AND i.status = 'issued' AND i.currency = $4 \
                 AND i.issued_at >= $2 AND i.issued_at < $3 \
                 AND ($5 IS NULL OR a.staff_id = $5)",
                &[
                    start.into(),
                    end.into(),
                    currency.into(),
                    practitioner.into(),
                ],
            )
            .await?;
        Ok(tally(lines, from, to, currency, practitioner.is_some()))
    }

    fn tally(
        lines: Vec<Earned>,
        from: NaiveDate,
        to: NaiveDate,
        currency: &str,
        own_only: bool,
    ) -> Revenue {
        #[derive(Default)]
        struct Sum {
            invoices: BTreeSet<Uuid>,
            row: RevenueRow,
        }
        let add = |sums: &mut BTreeMap<String, Sum>, key: &str, line: &Earned| {
            let sum = sums.entry(key.to_owned()).or_default();
            let sign = if line.kind == "credit_note" { -1 } else { 1 };
            if sign == 1 {
                sum.invoices.insert(line.invoice_id);
            }
            sum.row.net += sign * line.taxable;
            sum.row.tax += sign * line.tax;
            sum.row.total += sign * line.total;
        };
        let (mut people, mut services, mut all) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for line in &lines {
            add(
                &mut people,
                line.practitioner.as_deref().unwrap_or(NO_PRACTITIONER),
                line,
            );
            add(
                &mut services,
                line.service.as_deref().unwrap_or(NO_SERVICE),
                line,
            );
            add(&mut all, "All", line);
        }
        let rows = |sums: BTreeMap<String, Sum>| -> Vec<RevenueRow> {
            let mut rows: Vec<RevenueRow> = sums
                .into_iter()
                .map(|(label, s)| RevenueRow {
                    label,
                    invoices: s.invoices.len() as i64,
                    ..s.row
                })
                .collect();
            // The largest first; equal ones by name, so the order is stable.
            rows.sort_by(|a, b| b.net.cmp(&a.net).then_with(|| a.label.cmp(&b.label)));
            rows
        };
        Revenue {
            currency: currency.to_owned(),
            from,
            to,
            own_only,
            by_practitioner: rows(people),
            by_service: rows(services),
            totals: rows(all).pop().unwrap_or_else(|| RevenueRow {
                label: "All".into(),
                ..RevenueRow::default()
            }),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn line(
            invoice: u128,
            kind: &str,
            who: Option<&str>,
            what: Option<&str>,
            net: i64,
        ) -> Earned {
            Earned {
                invoice_id: Uuid::from_u128(invoice),
                kind: kind.into(),
                practitioner: who.map(Into::into),
                service: what.map(Into::into),
                taxable: net,
                tax: net / 10,
                total: net + net / 10,
            }
        }

        #[test]
        fn credit_notes_take_back_from_their_invoices_practitioner_and_service() {
            let d = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
            let r = tally(
                vec![
                    line(1, "invoice", Some("Dr Mensah"), Some("Consultation"), 5000),
                    line(1, "invoice", Some("Dr Mensah"), None, 1000),
                    line(2, "invoice", Some("Dr Osei"), Some("Consultation"), 5000),
                    line(
                        3,
                        "credit_note",
                        Some("Dr Osei"),
                        Some("Consultation"),
                        2000,
                    ),
                    line(4, "invoice", None, Some("Dressing"), 700),
                ],
                d,
                d,
                "USD",
                false,
            );
            let by = |rows: &[RevenueRow], label: &str| {
                rows.iter()
                    .find(|r| r.label == label)
                    .cloned()
                    .expect(label)
            };
            assert_eq!(by(&r.by_practitioner, "Dr Mensah").net, 6000);
            assert_eq!(by(&r.by_practitioner, "Dr Mensah").invoices, 1);
            assert_eq!(by(&r.by_practitioner, "Dr Osei").net, 3000);
            assert_eq!(
                by(&r.by_practitioner, "Dr Osei").invoices,
                1,
                "a credit note is no invoice"
            );
            assert_eq!(by(&r.by_practitioner, NO_PRACTITIONER).net, 700);
            assert_eq!(by(&r.by_service, "Consultation").net, 8000);
            assert_eq!(by(&r.by_service, NO_SERVICE).net, 1000);
            assert_eq!(r.totals.net, 9700);
            assert_eq!(r.totals.invoices, 3);
            assert_eq!(r.totals.tax, 500 + 100 + 500 - 200 + 70);
            assert_eq!(r.by_practitioner[0].label, "Dr Mensah", "largest first");
        }

        #[test]
        fn a_period_is_the_month_so_far_by_default_and_at_most_a_year() {
            let today = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
            let (from, to) = period(None, None, today).expect("default");
            assert_eq!(
                (from.to_string(), to.to_string()),
                ("2026-11-01".into(), "2026-11-29".into())
            );
            assert!(period(Some("2026-11-30"), Some("2026-11-01"), today).is_err());
            assert!(period(Some("2025-10-31"), Some("2026-11-01"), today).is_err());
            assert!(period(Some("2025-11-01"), Some("2026-11-01"), today).is_ok());
            assert!(period(Some("yesterday"), None, today).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_quotes_labels_and_defuses_formulas() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let r = Revenue {
            currency: "INR".into(),
            from: d,
            to: d,
            own_only: false,
            by_practitioner: vec![RevenueRow {
                label: "Dr \"Ama\" Mensah".into(),
                invoices: 2,
                net: 123_456,
                tax: 0,
                total: 123_456,
            }],
            by_service: vec![RevenueRow {
                label: "=HYPERLINK(\"x\")".into(),
                invoices: 1,
                net: -500,
                tax: 0,
                total: -500,
            }],
            totals: RevenueRow {
                label: "All".into(),
                invoices: 2,
                net: 122_956,
                tax: 0,
                total: 122_956,
            },
        };
        let text = csv(&r);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "breakdown,label,invoices,net,tax,total,currency,from,to"
        );
        assert_eq!(
            lines[1],
            "practitioner,\"Dr \"\"Ama\"\" Mensah\",2,1234.56,0.00,1234.56,INR,2026-11-01,2026-11-01"
        );
        assert!(
            lines[2].starts_with("service,\"'=HYPERLINK(\"\"x\"\")\",1,-5.00,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("total,\"All\",2,1229.56,"),
            "{}",
            lines[3]
        );
        assert_eq!(lines.len(), 5, "ends with CRLF");
    }
}

const TABLE: &str = "mt-2 w-full text-left text-sm";

fn breakdown(
    title: &'static str,
    testid: &'static str,
    rows: Vec<RevenueRow>,
    currency: String,
) -> impl IntoView {
    let amount = move |minor: i64| crate::money::format_amount(minor, &currency);
    view! {
        <h2 class="mt-4 font-semibold">{title}</h2>
        {if rows.is_empty() {
            view! { <p class="text-sm text-slate-600">"Nothing issued in this period."</p> }.into_any()
        } else {
            view! {
                <table class=TABLE data-testid=testid>
                    <thead><tr><th>"Name"</th><th class="text-right">"Invoices"</th><th class="text-right">"Net"</th><th class="text-right">"Tax"</th><th class="text-right">"Total"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| view! {
                            <tr class="border-t"><td>{r.label}</td><td class="text-right">{r.invoices}</td>
                                <td class="text-right">{amount(r.net)}</td><td class="text-right">{amount(r.tax)}</td><td class="text-right">{amount(r.total)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// `/staff/revenue?from=&to=`: revenue by practitioner and service (a doctor's
/// own only), with its CSV.
#[component]
pub fn RevenuePage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k)).filter(|v| !v.is_empty());
    let data = Resource::new(
        move || (param("from"), param("to")),
        |(from, to)| revenue_report(from, to),
    );
    let site = crate::site::current_site();
    let page = site.href("/staff/revenue");
    let csv_base = site.href("/billing/revenue.csv");
    view! {
        <crate::shell::PageTitle text="Revenue"/>
        <crate::identity::pages::SignedInShell testid="revenue-page">
            <h1 class="text-xl font-semibold">"Revenue"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let (page, csv_base) = (page.clone(), csv_base.clone());
                    Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                            Ok(r) => {
                                let csv = format!("{csv_base}?from={}&to={}", r.from, r.to);
                                let cur = r.currency.clone();
                                let t = r.totals.clone();
                                view! {
                                    <form method="get" action=page class="mt-2 flex flex-wrap items-end gap-2 print:hidden">
                                        <label class="text-sm">"From"<input type="date" name="from" value=r.from.to_string() class=crate::identity::pages::INPUT/></label>
                                        <label class="text-sm">"To"<input type="date" name="to" value=r.to.to_string() class=crate::identity::pages::INPUT/></label>
                                        <button type="submit" class=crate::identity::pages::BUTTON>"Show"</button>
                                        <a class="text-brand underline" href=csv data-testid="revenue-csv" download>"Download CSV"</a>
                                    </form>
                                    <p class="mt-3" data-testid="revenue-total">{format!(
                                        "{}{} invoices, net {} {cur}, tax {}, total {} ({} to {}; after discounts, credit notes subtracted)",
                                        if r.own_only { "Your visits: " } else { "" },
                                        t.invoices,
                                        crate::money::format_amount(t.net, &cur),
                                        crate::money::format_amount(t.tax, &cur),
                                        crate::money::format_amount(t.total, &cur),
                                        r.from, r.to,
                                    )}</p>
                                    {breakdown("By practitioner", "revenue-by-practitioner", r.by_practitioner, cur.clone())}
                                    {breakdown("By service", "revenue-by-service", r.by_service, cur)}
                                }.into_any()
                            }
                        }
                    })
                }}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
    .into_any()
}

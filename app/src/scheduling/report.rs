//! The scheduling report (issue 14): utilisation per practitioner and location
//! (booked hours against the hours they were open for booking), no-show and
//! cancellation rates, how far ahead visits are booked, and new against
//! returning patients, over a period of local days; on screen
//! (`/reports/scheduling`, a plain page) and as CSV.
//!
//! Definitions, so the numbers can be checked by hand:
//! - *available*: the practitioner's bookable time at the location (weekly
//!   hours and extra hours, less leave, holidays, closures and hospital
//!   rounds), within the period;
//! - *booked*: the time of visits not cancelled, within the period (a group
//!   session counts once however many seats it has);
//! - *no-show rate*: no-shows among the visits that have started and were not
//!   cancelled; *cancellation rate*: cancelled among all visits booked;
//! - *lead time*: from booking to the visit's start, for visits not cancelled;
//! - a *new* patient had no visit (not cancelled) before the period.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::slots::{self, Span};
use crate::db::{DbError, TenantTx};
use crate::text::escape_html as escape;

/// The longest period one report covers, in days (both ends counted).
pub const MAX_DAYS: i64 = 366;

/// The days a report covers, both included, in the clinic's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The period asked for: the last four weeks up to `today` by default.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, String> {
        let day = |text: Option<&str>, name: &str| -> Result<Option<NaiveDate>, String> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| format!("give the {name} date as YYYY-MM-DD")),
            }
        };
        let to = day(to, "last")?.unwrap_or(today);
        let from = day(from, "first")?.unwrap_or(to - Duration::days(27));
        if from > to {
            return Err("the first date is after the last".into());
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(format!("a report covers at most {MAX_DAYS} days"));
        }
        Ok(Self { from, to })
    }

    /// The period's instants in `tz`: from the first day's midnight to the
    /// midnight after the last.
    pub fn span_in(&self, tz: Tz) -> Span {
        Span::new(
            slots::instant(tz, self.from, 0),
            slots::instant(tz, self.to + Duration::days(1), 0),
        )
    }
}

/// One practitioner at one location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub practitioner: String,
    pub location: String,
    pub available_minutes: i64,
    pub booked_minutes: i64,
    pub visits: i64,
    pub completed: i64,
    pub no_shows: i64,
    pub cancelled: i64,
    /// Visits that had started by the time of the report, not cancelled.
    pub past: i64,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.available_minutes += other.available_minutes;
        self.booked_minutes += other.booked_minutes;
        self.visits += other.visits;
        self.completed += other.completed;
        self.no_shows += other.no_shows;
        self.cancelled += other.cancelled;
        self.past += other.past;
    }
}

/// `part` of `whole` in whole per cent, or none of nothing.
pub fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 100 + whole / 2) / whole)
}

/// The middle value (the lower of the two middle ones), or none of nothing.
pub fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub period: Period,
    pub rows: Vec<Row>,
    pub totals: Row,
    /// Median hours from booking to visit.
    pub median_lead_hours: Option<i64>,
    pub new_patients: i64,
    pub returning_patients: i64,
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    staff_id: Uuid,
    location_id: Uuid,
    occupancy: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: String,
    created_at: DateTime<Utc>,
}

/// Minutes of `span` inside `within`.
fn minutes_within(span: &Span, within: &Span) -> i64 {
    let start = span.start.max(within.start);
    let end = span.end.min(within.end);
    (end - start).num_minutes().max(0)
}

/// The report for `period`, as of `now`.
pub async fn report(
    tx: &mut TenantTx,
    clinic_tz: Tz,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    let locations = super::db::locations(tx).await?;
    let practitioners = super::db::practitioners(tx).await?;
    let whole = period.span_in(clinic_tz);
    // A day's margin either side: a location may be in another zone.
    let (from, until) = (
        whole.start - Duration::days(1),
        whole.end + Duration::days(1),
    );
    let visits: Vec<VisitRow> = tx
        .fetch_all(
            "SELECT staff_id, location_id, occupancy, starts_at, ends_at, status, created_at \
             FROM appointments WHERE tenant_id = $1 AND starts_at >= $2 AND starts_at < $3",
            &[from.into(), until.into()],
        )
        .await?;
    let staff: Vec<Uuid> = practitioners.iter().map(|p| p.staff_id).collect();
    let schedules = super::db::schedules(tx, &staff, period.from, period.to, clinic_tz).await?;

    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut leads = Vec::new();
    let mut counted_sessions = BTreeSet::new();
    for l in &locations {
        let within = period.span_in(l.tz());
        for p in &practitioners {
            let schedule = schedules
                .iter()
                .find(|(s, _)| *s == p.staff_id)
                .map(|(_, s)| s);
            let available: i64 = schedule
                .map(|s| slots::open_time(s, l.id, (period.from, period.to)))
                .unwrap_or_default()
                .iter()
                .map(|span| minutes_within(span, &within))
                .sum();
            let mut row = Row {
                practitioner: p.name.clone(),
                location: l.name.clone(),
                available_minutes: available,
                ..Row::default()
            };
            for v in visits
                .iter()
                .filter(|v| v.staff_id == p.staff_id && v.location_id == l.id)
                .filter(|v| within.start <= v.starts_at && v.starts_at < within.end)
            {
                row.visits += 1;
                match v.status.as_str() {
                    "cancelled" => {
                        row.cancelled += 1;
                        continue;
                    }
                    "completed" => row.completed += 1,
                    "no_show" => row.no_shows += 1,
                    _ => {}
                }
                if v.starts_at <= now {
                    row.past += 1;
                }
                leads.push((v.starts_at - v.created_at).num_hours().max(0));
                // A group session's time is booked once, however many seats.
                if counted_sessions.insert(v.occupancy) {
                    row.booked_minutes +=
                        minutes_within(&Span::new(v.starts_at, v.ends_at), &within);
                }
            }
            if row.available_minutes > 0 || row.visits > 0 {
                rows.insert(
                    (row.practitioner.to_lowercase(), row.location.to_lowercase()),
                    row,
                );
            }
        }
    }
    let rows: Vec<Row> = rows.into_values().collect();
    let mut totals = Row {
        practitioner: "All".into(),
        location: "All".into(),
        ..Row::default()
    };
    for r in &rows {
        totals.add(r);
    }
    let (new_patients, returning_patients) = patients_seen(tx, whole).await?;
    Ok(Report {
        period,
        rows,
        totals,
        median_lead_hours: median(leads),
        new_patients,
        returning_patients,
    })
}

/// Patients with a visit (not cancelled) in `span`: those with none before it
/// (new), and the others (returning).
async fn patients_seen(tx: &mut TenantTx, span: Span) -> Result<(i64, i64), DbError> {
    let all: (i64,) = tx
        .fetch_one(
            "SELECT COUNT(DISTINCT patient_id) FROM appointments WHERE tenant_id = $1 \
             AND status <> 'cancelled' AND starts_at >= $2 AND starts_at < $3",
            &[span.start.into(), span.end.into()],
        )
        .await?;
    let new: (i64,) = tx
        .fetch_one(
            "SELECT COUNT(DISTINCT a.patient_id) FROM appointments a WHERE a.tenant_id = $1 \
             AND a.status <> 'cancelled' AND a.starts_at >= $2 AND a.starts_at < $3 AND NOT EXISTS \
             (SELECT 1 FROM appointments b WHERE b.tenant_id = a.tenant_id AND b.patient_id = a.patient_id \
              AND b.status <> 'cancelled' AND b.starts_at < $2)",
            &[span.start.into(), span.end.into()],
        )
        .await?;
    Ok((new.0, all.0 - new.0))
}

use crate::text::csv_field;

fn hours(minutes: i64) -> String {
    format!("{}.{:02}", minutes / 60, (minutes % 60) * 100 / 60)
}

fn rate(value: Option<i64>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

/// The report as CSV (RFC 4180, CRLF): one row per practitioner and location,
/// then the totals; hours in decimals, rates in per cent.
pub fn csv(r: &Report) -> String {
    let mut out = String::from(
        "practitioner,location,available_hours,booked_hours,utilisation_percent,visits,completed,no_shows,\
         no_show_percent,cancelled,cancellation_percent,from,to\r\n",
    );
    for row in r.rows.iter().chain(std::iter::once(&r.totals)) {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            csv_field(&row.practitioner),
            csv_field(&row.location),
            hours(row.available_minutes),
            hours(row.booked_minutes),
            rate(percent(row.booked_minutes, row.available_minutes)),
            row.visits,
            row.completed,
            row.no_shows,
            rate(percent(row.no_shows, row.past)),
            row.cancelled,
            rate(percent(row.cancelled, row.visits)),
            r.period.from,
            r.period.to,
        ));
    }
    out
}

fn cell(text: &str) -> String {
    format!(r#"<td class="py-1 pr-2">{}</td>"#, escape(text))
}

fn shown_rate(value: Option<i64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v}%"))
}

/// The report's page.
pub fn page(clinic: &str, stylesheet: &str, base: &str, r: &Report, error: Option<&str>) -> String {
    let mut body = String::new();
    for row in r.rows.iter().chain(std::iter::once(&r.totals)) {
        body.push_str(&format!(
            r#"<tr data-testid="report-row" class="border-t border-slate-200">{}{}{}{}{}{}{}{}</tr>"#,
            cell(&row.practitioner),
            cell(&row.location),
            cell(&hours(row.available_minutes)),
            cell(&hours(row.booked_minutes)),
            cell(&shown_rate(percent(row.booked_minutes, row.available_minutes))),
            cell(&row.visits.to_string()),
            cell(&shown_rate(percent(row.no_shows, row.past))),
            cell(&shown_rate(percent(row.cancelled, row.visits))),
        ));
    }
    let lead = r.median_lead_hours.map_or_else(
        || "–".to_owned(),
        |h| {
            if h >= 48 {
                format!("{} days", h / 24)
            } else {
                format!("{h} hours")
            }
        },
    );
    let error = error.map_or_else(String::new, |e| {
        format!(
            r#"<p role="alert" data-testid="report-error" class="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-800">{}</p>"#,
            escape(e)
        )
    });
    let csv = format!(
        "{base}/reports/scheduling.csv?from={}&to={}",
        r.period.from, r.period.to
    );
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Scheduling report · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="min-h-screen bg-slate-50 text-slate-900"><header class="flex flex-wrap gap-4 border-b border-slate-200 bg-white px-4 py-3 sm:px-8"><span class="font-semibold">{clinic}</span><a class="underline" href="{home}">Home</a><a class="underline" href="{reports}">Reports</a></header><main data-testid="scheduling-report" class="mx-auto max-w-5xl px-4 py-6 sm:px-8"><h1 class="text-2xl font-semibold">Scheduling report</h1>{error}<form method="get" class="mt-3 flex flex-wrap items-end gap-2"><label class="text-sm">From<br><input type="date" name="from" value="{from}" class="rounded border border-slate-300 px-2 py-1"></label><label class="text-sm">To<br><input type="date" name="to" value="{to}" class="rounded border border-slate-300 px-2 py-1"></label><button type="submit" class="rounded border border-slate-300 bg-white px-2 py-1 text-sm">Show</button><a class="text-sm underline" data-testid="report-csv" href="{csv}">Download CSV</a></form><p class="mt-4 text-sm" data-testid="report-summary">Patients seen: {new} new, {returning} returning. Median time from booking to visit: {lead}.</p><div class="overflow-x-auto"><table class="mt-2 w-full text-left text-sm"><thead><tr class="text-slate-600"><th class="pr-2">Practitioner</th><th class="pr-2">Location</th><th class="pr-2">Available hours</th><th class="pr-2">Booked hours</th><th class="pr-2">Utilisation</th><th class="pr-2">Visits</th><th class="pr-2">No-shows</th><th class="pr-2">Cancelled</th></tr></thead><tbody>{body}</tbody></table></div><p class="mt-4 text-sm text-slate-600">Utilisation is booked time against the time open for booking. No-shows count among visits that have started; cancellations among all visits booked.</p></main></body></html>"#,
        clinic = escape(clinic),
        css = escape(stylesheet),
        home = escape(&format!("{base}/staff")),
        reports = escape(&format!("{base}/staff/reports")),
        from = r.period.from,
        to = r.period.to,
        csv = escape(&csv),
        new = r.new_patients,
        returning = r.returning_patients,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_period_defaults_to_four_weeks_and_refuses_what_makes_no_sense() {
        let today = day("2026-03-31");
        assert_eq!(
            Period::parse(None, None, today),
            Ok(Period {
                from: day("2026-03-04"),
                to: today
            })
        );
        assert!(Period::parse(Some("2026-04-02"), Some("2026-04-01"), today).is_err());
        assert!(Period::parse(Some("2025-01-01"), Some("2026-03-01"), today).is_err());
        assert_eq!(
            Period::parse(Some("31/03/2026"), None, today),
            Err("give the first date as YYYY-MM-DD".into())
        );
    }

    #[test]
    fn a_day_lost_to_the_clock_change_is_23_hours_long() {
        let london: Tz = "Europe/London".parse().expect("zone");
        let p = Period {
            from: day("2026-03-29"),
            to: day("2026-03-29"),
        };
        let span = p.span_in(london);
        assert_eq!((span.end - span.start).num_hours(), 23);
    }

    #[test]
    fn spreadsheet_formulas_are_defused_in_the_csv() {
        let report = Report {
            period: Period {
                from: day("2026-01-01"),
                to: day("2026-01-31"),
            },
            rows: vec![Row {
                practitioner: "=HYPERLINK(\"x\")".into(),
                location: "Main, \"A\"".into(),
                available_minutes: 90,
                booked_minutes: 45,
                visits: 2,
                past: 2,
                no_shows: 1,
                ..Row::default()
            }],
            totals: Row::default(),
            median_lead_hours: None,
            new_patients: 0,
            returning_patients: 0,
        };
        let csv = csv(&report);
        let line = csv.lines().nth(1).expect("a row");
        assert!(line
            .starts_with("\"'=HYPERLINK(\"\"x\"\")\",\"Main, \"\"A\"\"\",1.50,0.75,50,2,0,1,50,"));
        assert!(csv.ends_with("\r\n"));
    }

    proptest! {
        #[test]
        fn rates_stay_between_nought_and_a_hundred(part in 0i64..10_000, extra in 0i64..10_000) {
            let whole = part + extra;
            match percent(part, whole) {
                None => prop_assert_eq!(whole, 0),
                Some(p) => prop_assert!((0..=100).contains(&p)),
            }
        }

        #[test]
        fn the_median_is_one_of_the_values_with_as_many_below_as_above(values in proptest::collection::vec(-1000i64..1000, 1..50)) {
            let m = median(values.clone()).expect("a median");
            prop_assert!(values.contains(&m));
            let below = values.iter().filter(|v| **v < m).count();
            let above = values.iter().filter(|v| **v > m).count();
            prop_assert!(below <= values.len() / 2 && above <= values.len() / 2);
        }
    }
}

//! A practitioner's private calendar feed (RFC 5545) for their own calendar
//! app: `/calendar/{secret}.ics` on the clinic's site.
//!
//! Only the secret's SHA-256 is kept. Making a new link replaces the old one
//! and turning the feed off deletes it, so a link that leaked is revoked in one
//! click. An entry names the visit type, the place and the patient's initials,
//! never a full name, record number or reason: calendar apps copy the feed to
//! other companies' servers. The feed spans the last 30 days and the next 180.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::ics::{self, Entry};
use crate::db::{DbError, TenantTx};
use crate::identity::secrets;
use crate::text::escape_html as escape;

const PAST_DAYS: i64 = 30;
const AHEAD_DAYS: i64 = 180;
/// The most entries one feed answers (a full practice's half year fits).
const MOST: i64 = 5000;

/// Whether `staff` sees patients here (only they have a calendar).
pub async fn is_practitioner(tx: &mut TenantTx, staff: Uuid) -> Result<bool, DbError> {
    let found: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT staff_id FROM practitioners WHERE tenant_id = $1 AND staff_id = $2",
            &[staff.into()],
        )
        .await?;
    Ok(found.is_some())
}

/// When `staff`'s current link was made, if the feed is on.
pub async fn made_at(tx: &mut TenantTx, staff: Uuid) -> Result<Option<DateTime<Utc>>, DbError> {
    let found: Option<(DateTime<Utc>,)> = tx
        .fetch_optional(
            "SELECT created_at FROM calendar_feeds WHERE tenant_id = $1 AND staff_id = $2",
            &[staff.into()],
        )
        .await?;
    Ok(found.map(|r| r.0))
}

/// A new secret for `staff`'s feed (the old link stops working); answers it.
pub async fn renew(tx: &mut TenantTx, staff: Uuid, now: DateTime<Utc>) -> Result<String, DbError> {
    let (token, hash) = secrets::new_token();
    tx.execute(
        "INSERT INTO calendar_feeds (tenant_id, staff_id, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, staff_id) DO UPDATE SET token_hash = excluded.token_hash, \
         created_at = excluded.created_at",
        &[staff.into(), hash.as_str().into(), now.into()],
    )
    .await?;
    Ok(token)
}

/// Turns `staff`'s feed off; answers whether it was on.
pub async fn revoke(tx: &mut TenantTx, staff: Uuid) -> Result<bool, DbError> {
    Ok(tx
        .execute(
            "DELETE FROM calendar_feeds WHERE tenant_id = $1 AND staff_id = $2",
            &[staff.into()],
        )
        .await?
        > 0)
}

/// Whose feed a secret opens, if any.
pub async fn owner(tx: &mut TenantTx, token: &str) -> Result<Option<Uuid>, DbError> {
    let found: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT staff_id FROM calendar_feeds WHERE tenant_id = $1 AND token_hash = $2",
            &[secrets::digest(token).as_str().into()],
        )
        .await?;
    Ok(found.map(|r| r.0))
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: Uuid,
    given_name: String,
    family_name: String,
    type_name: String,
    location: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: String,
    revision: i64,
}

/// "A. O.": enough for the practitioner to recognise a visit in their own
/// calendar, little for anyone else who reads it.
pub fn initials(given: &str, family: &str) -> String {
    let first = |name: &str| {
        name.chars()
            .find(|c| c.is_alphabetic())
            .map(|c| format!("{}.", c.to_uppercase()))
    };
    [first(given), first(family)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `staff`'s feed as of `now`.
pub async fn calendar(
    tx: &mut TenantTx,
    clinic: &str,
    staff: Uuid,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<String, DbError> {
    let rows: Vec<FeedRow> = tx
        .fetch_all(
            "SELECT a.id, p.given_name, p.family_name, t.name AS type_name, l.name AS location, a.starts_at, \
             a.ends_at, a.status, (SELECT COUNT(*) FROM appointment_events e WHERE e.tenant_id = a.tenant_id \
             AND e.appointment_id = a.id) AS revision \
             FROM appointments a \
             JOIN patients p ON p.tenant_id = a.tenant_id AND p.id = a.patient_id \
             JOIN appointment_types t ON t.tenant_id = a.tenant_id AND t.id = a.type_id \
             JOIN locations l ON l.tenant_id = a.tenant_id AND l.id = a.location_id \
             WHERE a.tenant_id = $1 AND a.staff_id = $2 AND a.starts_at >= $3 AND a.starts_at < $4 \
             ORDER BY a.starts_at, a.id LIMIT $5",
            &[
                staff.into(),
                (now - Duration::days(PAST_DAYS)).into(),
                (now + Duration::days(AHEAD_DAYS)).into(),
                MOST.into(),
            ],
        )
        .await?;
    let name: Option<(String,)> = tx
        .fetch_optional(
            "SELECT display_name FROM staff_members WHERE tenant_id = $1 AND id = $2",
            &[staff.into()],
        )
        .await?;
    let host = origin.split_once("://").map_or(origin, |(_, h)| h);
    let summaries: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} · {}",
                r.type_name,
                initials(&r.given_name, &r.family_name)
            )
        })
        .collect();
    let entries: Vec<Entry<'_>> = rows
        .iter()
        .zip(&summaries)
        .map(|(r, summary)| Entry {
            uid: format!("{}@{host}", r.id),
            sequence: u32::try_from(r.revision).unwrap_or(0),
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            summary,
            location: Some(&r.location),
            description: None,
            cancelled: r.status == super::AppointmentStatus::Cancelled.as_str(),
            stamp: now,
        })
        .collect();
    let title = match name {
        Some((who,)) => format!("{clinic} · {who}"),
        None => clinic.to_owned(),
    };
    Ok(ics::feed(Some(&title), &entries))
}

/// What the feed page shows.
pub enum Shown<'a> {
    /// The person has no calendar here.
    NotPractitioner,
    Off,
    On {
        made: &'a str,
    },
    /// Just made: the address, shown this once.
    Made {
        url: &'a str,
    },
}

/// The feed page (plain HTML: it is reached from the calendar).
pub fn page(clinic: &str, stylesheet: &str, base: &str, shown: Shown<'_>) -> String {
    let button = "mt-3 rounded bg-slate-900 px-4 py-2 font-semibold text-white hover:bg-slate-700";
    let form = |action: &str, label: &str, testid: &str| {
        format!(
            r#"<form method="post" action="{}"><input type="hidden" name="action" value="{action}"><button class="{button}" data-testid="{testid}">{label}</button></form>"#,
            escape(&format!("{base}/calendar/feed"))
        )
    };
    let body = match shown {
        Shown::NotPractitioner => {
            r#"<p class="mt-3">Only staff who see patients have a calendar here.</p>"#.to_owned()
        }
        Shown::Off => format!(
            r#"<p class="mt-3">Your feed is off. Make a private link to see your appointments in your own calendar app.</p>{}"#,
            form("renew", "Make a private link", "feed-make")
        ),
        Shown::On { made } => format!(
            r#"<p class="mt-3" data-testid="feed-on">Your feed is on (its link was made {}). The link is shown only when it is made: if you lost it, make a new one.</p>{}{}"#,
            escape(made),
            form(
                "renew",
                "Make a new link (the old one stops working)",
                "feed-make"
            ),
            form("revoke", "Turn the feed off", "feed-revoke"),
        ),
        Shown::Made { url } => format!(
            r#"<p class="mt-3">Copy this address into your calendar app ("subscribe to a calendar"). It is shown only now; keep it private: anyone with it sees your appointments (visit types and patients' initials).</p>
<label class="mt-3 block text-sm font-medium">Your feed's address<input data-testid="feed-url" readonly class="mt-1 block w-full rounded border border-slate-400 px-3 py-2 font-mono text-sm" value="{}"></label>{}"#,
            escape(url),
            form("revoke", "Turn the feed off", "feed-revoke"),
        ),
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Calendar feed · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="bg-slate-50 text-slate-900">
<main data-testid="calendar-feed" class="mx-auto max-w-2xl px-4 py-6 sm:px-8"><p><a class="underline" href="{back}">Back to the calendar</a></p>
<h1 class="mt-2 text-2xl font-semibold">Your calendar feed</h1>{body}</main></body></html>"#,
        clinic = escape(clinic),
        css = escape(stylesheet),
        back = escape(&format!("{base}/staff/calendar")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_name_nobody() {
        assert_eq!(initials("Ada", "Okafor"), "A. O.");
        assert_eq!(initials("élodie", "'t Hooft"), "É. T.");
        assert_eq!(initials("", "Okafor"), "O.");
    }
}

//! Calendar entries (iCalendar, RFC 5545) for an appointment, attached to the
//! patient's booking emails.
//!
//! Times are written in UTC (`DTSTART:20261203T093000Z`), which every calendar
//! shows in its reader's own zone; so no `VTIMEZONE` is needed and a change of
//! daylight-saving rules cannot shift a visit. The entry is published
//! (`METHOD:PUBLISH`): one `UID` per appointment and a `SEQUENCE` that grows
//! with its history, so a move or a cancellation replaces the entry a calendar
//! already holds. Like the email it travels with, it names the clinic, the
//! place and the time, never the kind of visit or the practitioner.

use chrono::{DateTime, Utc};

/// One appointment's entry.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Unique and stable for the appointment: `"{id}@{host}"`.
    pub uid: String,
    /// Grows with every change of the appointment.
    pub sequence: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: &'a str,
    pub location: Option<&'a str>,
    pub description: Option<&'a str>,
    pub cancelled: bool,
    /// When this entry was written (`DTSTAMP`).
    pub stamp: DateTime<Utc>,
}

/// The file's media type, as an attachment declares it.
pub const MEDIA_TYPE: &str = "text/calendar; charset=utf-8; method=PUBLISH";

/// The entry of appointment `a` as an email attachment: published, or
/// cancelled when the appointment is.
pub async fn attachment(
    tx: &mut crate::db::TenantTx,
    clinic: &str,
    a: &super::db::AppointmentRow,
    origin: &str,
) -> Result<crate::mail::Attachment, crate::db::DbError> {
    let sequence = super::db::revision(tx, a.id).await?;
    let place = super::db::location(tx, a.location_id).await?;
    let location = place.map(|l| match l.address.as_deref().map(str::trim) {
        Some(address) if !address.is_empty() => format!("{}, {address}", l.name),
        _ => l.name,
    });
    let host = origin.split_once("://").map_or(origin, |(_, h)| h);
    let summary = format!("Appointment at {clinic}");
    let entry = Entry {
        uid: format!("{}@{host}", a.id),
        sequence,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        summary: &summary,
        location: location.as_deref(),
        description: None,
        cancelled: a.status == super::AppointmentStatus::Cancelled.as_str(),
        stamp: Utc::now(),
    };
    Ok(crate::mail::Attachment {
        name: "appointment.ics".into(),
        content_type: MEDIA_TYPE.into(),
        body: calendar(&entry),
    })
}

/// The whole `VCALENDAR` text of one entry, lines folded and ended with CRLF.
pub fn calendar(entry: &Entry<'_>) -> String {
    feed(None, std::slice::from_ref(entry))
}

/// A calendar of `entries` (a practitioner's feed), named `name` in the
/// reader's calendar list.
pub fn feed(name: Option<&str>, entries: &[Entry<'_>]) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//MediSync//Appointments//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
    ];
    if let Some(name) = name {
        lines.push(format!("X-WR-CALNAME:{}", text(name)));
    }
    for entry in entries {
        event(entry, &mut lines);
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

fn event(entry: &Entry<'_>, lines: &mut Vec<String>) {
    lines.extend([
        "BEGIN:VEVENT".into(),
        format!("UID:{}", text(&entry.uid)),
        format!("SEQUENCE:{}", entry.sequence),
        format!("DTSTAMP:{}", utc(entry.stamp)),
        format!("DTSTART:{}", utc(entry.starts_at)),
        format!("DTEND:{}", utc(entry.ends_at)),
        format!("SUMMARY:{}", text(entry.summary)),
    ]);
    if let Some(l) = entry.location.filter(|l| !l.trim().is_empty()) {
        lines.push(format!("LOCATION:{}", text(l)));
    }
    if let Some(d) = entry.description.filter(|d| !d.trim().is_empty()) {
        lines.push(format!("DESCRIPTION:{}", text(d)));
    }
    lines.push(if entry.cancelled {
        "STATUS:CANCELLED".into()
    } else {
        "STATUS:CONFIRMED".into()
    });
    lines.push("TRANSP:OPAQUE".into());
    lines.push("END:VEVENT".into());
}

/// A UTC date-time in iCalendar's basic form.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a character (§3.1), and
/// ends it with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(summary: &str, cancelled: bool) -> Entry<'_> {
        Entry {
            uid: "0190-abc@acme.example".into(),
            sequence: 2,
            starts_at: Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap(),
            summary,
            location: Some("Main St, 1; Floor 2"),
            description: None,
            cancelled,
            stamp: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn an_entry_is_a_well_formed_calendar_in_utc() {
        let ics = calendar(&entry("Appointment at Acme", false));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(ics.contains("\r\nDTSTART:20260329T003000Z\r\n"));
        assert!(ics.contains("\r\nDTEND:20260329T010000Z\r\n"));
        assert!(ics.contains("\r\nDTSTAMP:20260301T120000Z\r\n"));
        assert!(ics.contains("\r\nLOCATION:Main St\\, 1\\; Floor 2\r\n"));
        assert!(ics.contains("\r\nSTATUS:CONFIRMED\r\n"));
        // Every line ends with CRLF; no bare LF anywhere.
        assert!(!ics.replace("\r\n", "").contains('\n'));
        let cancelled = calendar(&entry("Appointment at Acme", true));
        assert!(cancelled.contains("\r\nSTATUS:CANCELLED\r\n"));
    }

    #[test]
    fn long_and_multibyte_lines_fold_within_75_octets_without_splitting_characters() {
        for name in ["Ünïcødé Klinik ", "診療所", "a", "Acme, Clinic; \\ "] {
            let summary = name.repeat(40);
            let ics = calendar(&entry(&summary, false));
            for line in ics.split("\r\n") {
                assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            }
            // Unfolding gives back the escaped value whole.
            let unfolded = ics.replace("\r\n ", "");
            assert!(unfolded.contains(&format!("SUMMARY:{}\r\n", text(&summary))));
        }
    }

    #[test]
    fn a_feed_holds_every_entry_under_its_name() {
        let (a, b) = (entry("First", false), entry("Second", true));
        let ics = feed(Some("Acme, Dr Okafor"), &[a, b]);
        assert!(ics.contains("\r\nX-WR-CALNAME:Acme\\, Dr Okafor\r\n"));
        assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 2);
        assert_eq!(ics.matches("END:VCALENDAR").count(), 1);
        assert!(ics.contains("SUMMARY:Second\r\n") && ics.contains("STATUS:CANCELLED"));
    }

    #[test]
    fn text_values_are_escaped_and_control_characters_dropped() {
        assert_eq!(text("a,b;c\\d\ne\r\u{7}"), "a\\,b\\;c\\\\d\\ne");
    }
}

//! The import's pages as plain HTML: the list and the upload form, then one
//! import's mapping and preview, its progress (the page reloads itself every
//! two seconds while the run goes on) and its outcome.

use super::run::Preview;
use super::{Field, Import, ImportState};
use crate::tenancy::{TenantPublic, DATE_FORMATS};
use crate::text::escape_html as escape;

const FIELD: &str = "rounded border border-slate-300 px-2 py-1";
const BUTTON: &str = "rounded border border-slate-300 bg-white px-3 py-1 text-sm";
const PRIMARY: &str = "rounded bg-slate-800 px-3 py-1 text-sm font-medium text-white";

/// What every import page shows around its body.
pub struct Frame<'a> {
    pub tenant: &'a TenantPublic,
    pub base: &'a str,
    pub stylesheet: &'a str,
    pub error: Option<&'a str>,
    pub message: Option<&'a str>,
}

impl Frame<'_> {
    fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn document(&self, testid: &str, refresh: bool, body: &str) -> String {
        let note = match (self.error, self.message) {
            (Some(e), _) => format!(
                r#"<p role="alert" data-testid="import-error" class="mt-3 rounded bg-red-50 p-3 text-sm text-red-900">{}</p>"#,
                escape(e)
            ),
            (None, Some(m)) => format!(
                r#"<p role="status" data-testid="import-message" class="mt-3 rounded bg-green-50 p-3 text-sm text-green-900">{}</p>"#,
                escape(m)
            ),
            (None, None) => String::new(),
        };
        let refresh = if refresh {
            r#"<meta http-equiv="refresh" content="2">"#
        } else {
            ""
        };
        format!(
            r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">{refresh}<title>Import patients · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="min-h-screen bg-slate-50 text-slate-900"><header class="flex flex-wrap gap-4 border-b border-slate-200 bg-white px-4 py-3 sm:px-8"><span class="font-semibold">{clinic}</span><a class="underline" href="{home}">Home</a><a class="underline" href="{patients}">Patients</a><a class="underline" href="{imports}">Imports</a></header><main data-testid="{testid}" class="mx-auto max-w-5xl px-4 py-6 sm:px-8">{note}{body}</main></body></html>"#,
            clinic = escape(&self.tenant.name),
            css = escape(self.stylesheet),
            home = escape(&self.href("/staff")),
            patients = escape(&self.href("/staff/patients")),
            imports = escape(&self.href("/patients/import")),
            testid = escape(testid),
        )
    }
}

fn state_label(state: ImportState) -> &'static str {
    match state {
        ImportState::Mapping => "Columns to map",
        ImportState::Running => "Importing",
        ImportState::Stopped => "Stopped",
        ImportState::Done => "Done",
        ImportState::RolledBack => "Rolled back",
    }
}

/// `/patients/import`: the upload form and the clinic's latest imports.
pub fn index(f: &Frame<'_>, imports: &[Import]) -> String {
    let rows: String = imports
        .iter()
        .map(|i| {
            format!(
                r#"<tr class="border-t border-slate-200"><td class="py-1 pr-2"><a class="underline" href="{href}">{name}</a></td><td class="pr-2">{when}</td><td class="pr-2">{state}</td><td class="pr-2">{imported} of {total}</td><td>{rejected}</td></tr>"#,
                href = escape(&f.href(&format!("/patients/import/{}", i.id))),
                name = escape(&i.file_name),
                when = escape(&f.tenant.settings.format_datetime(i.created_at)),
                state = state_label(i.state),
                imported = i.imported_rows,
                total = i.total_rows,
                rejected = i.rejected_rows,
            )
        })
        .collect();
    let list = if rows.is_empty() {
        r#"<p class="mt-2 text-sm text-slate-600">No imports yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="Earlier imports"><table class="mt-2 w-full text-left text-sm" data-testid="import-list"><thead><tr class="text-slate-600"><th class="pr-2">File</th><th class="pr-2">Uploaded</th><th class="pr-2">State</th><th class="pr-2">Imported</th><th>Not imported</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let body = format!(
        r#"<h1 class="text-2xl font-semibold">Import patients</h1><p class="mt-2 max-w-prose text-sm">Moving from another system or a spreadsheet? Export your patients as a CSV file (one row per patient, the first row naming the columns). You will match its columns to MediSync's fields and check the first rows before anything is imported. Rows with a problem, and possible duplicates of patients already registered, are left out and listed in a report you can download, fix and import again. The file and the report are deleted {keep} days after the import ends.</p><section class="mt-4 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">Upload a file</h2><form method="post" action="{action}" enctype="multipart/form-data" class="mt-2 flex flex-wrap items-end gap-2" data-testid="import-upload"><label class="text-sm">CSV file (up to 20 MB, 200,000 rows)<br><input type="file" name="file" accept=".csv,.txt,text/csv" required class="max-w-full text-sm"></label><button type="submit" class="{PRIMARY}" data-testid="import-upload-submit">Upload</button></form></section><section class="mt-6"><h2 class="text-lg font-semibold">Earlier imports</h2>{list}</section>"#,
        action = escape(&f.href("/patients/import")),
        keep = super::KEEP_DAYS,
    );
    f.document("import-index", false, &body)
}

/// `/patients/import/{id}`: mapping and preview, progress, or outcome.
pub fn import(f: &Frame<'_>, i: &Import, preview: Option<&Preview>) -> String {
    let summary = format!(
        r#"<h1 class="text-2xl font-semibold">Import of {name}</h1><p class="mt-1 text-sm text-slate-600" data-testid="import-state" data-state="{state_key}">{state} · {total} rows · uploaded {when}</p>"#,
        name = escape(&i.file_name),
        state_key = i.state.as_str(),
        state = state_label(i.state),
        total = i.total_rows,
        when = escape(&f.tenant.settings.format_datetime(i.created_at)),
    );
    let body = match i.state {
        ImportState::Mapping => format!("{summary}{}", mapping(f, i, preview)),
        ImportState::Running => format!("{summary}{}", progress(i)),
        _ => format!("{summary}{}{}", progress(i), outcome(f, i)),
    };
    f.document("import-page", i.state == ImportState::Running, &body)
}

fn action(f: &Frame<'_>, i: &Import) -> String {
    escape(&f.href(&format!("/patients/import/{}", i.id)))
}

fn mapping(f: &Frame<'_>, i: &Import, preview: Option<&Preview>) -> String {
    let selects: String = Field::ALL
        .into_iter()
        .map(|field| {
            let chosen = i.mapping.0.get(&field).copied();
            let none = if field.required() {
                "Choose the column…"
            } else {
                "Not in the file"
            };
            let options: String = i
                .headers
                .iter()
                .enumerate()
                .map(|(n, h)| {
                    let label = if h.is_empty() {
                        format!("Column {}", n + 1)
                    } else {
                        h.clone()
                    };
                    format!(
                        r#"<option value="{n}"{sel}>{label}</option>"#,
                        sel = if chosen == Some(n) { " selected" } else { "" },
                        label = escape(&label)
                    )
                })
                .collect();
            format!(
                r#"<label class="text-sm">{label}{req}<br><select name="map_{key}" class="{FIELD} w-full" data-testid="map-{key}"><option value="">{none}</option>{options}</select></label>"#,
                label = escape(field.label()),
                req = if field.required() { "" } else { " (optional)" },
                key = field.key(),
            )
        })
        .collect();
    let formats: String = DATE_FORMATS
        .iter()
        .map(|(fmt, example)| {
            format!(
                r#"<option value="{v}"{sel}>{e}</option>"#,
                v = escape(fmt),
                sel = if *fmt == i.date_format {
                    " selected"
                } else {
                    ""
                },
                e = escape(example)
            )
        })
        .collect();
    let preview = preview.map(|p| preview_table(i, p)).unwrap_or_default();
    format!(
        r#"<form method="post" action="{action}" class="mt-4 rounded border border-slate-200 bg-white p-4" data-testid="import-mapping"><h2 class="text-lg font-semibold">Match the columns</h2><p class="text-sm text-slate-600">Columns were matched by their names where MediSync knew them (and as you matched them last time). Check each field.</p><div class="mt-3 grid gap-3 sm:grid-cols-2">{selects}<label class="text-sm">Dates of birth are written like<br><select name="date_format" class="{FIELD} w-full" data-testid="import-date-format">{formats}</select></label></div><label class="mt-3 flex items-start gap-2 text-sm"><input type="checkbox" name="allow_similar" value="yes"{similar} data-testid="import-allow-similar"><span>Also import rows that only look like a registered patient or an earlier row (same phone or email, or same date of birth and a shared name). Leave this off unless you have checked them: a record number already in use is never imported.</span></label><div class="mt-4 flex flex-wrap gap-2"><button type="submit" name="step" value="map" class="{BUTTON}" data-testid="import-check">Check the first rows</button><button type="submit" name="step" value="start" class="{PRIMARY}" data-testid="import-start">Start the import</button></div></form>{preview}"#,
        action = action(f, i),
        similar = if i.allow_similar { " checked" } else { "" },
    )
}

fn preview_table(i: &Import, p: &Preview) -> String {
    let mapped: Vec<(Field, usize)> = Field::ALL
        .into_iter()
        .filter_map(|f| i.mapping.0.get(&f).map(|&c| (f, c)))
        .collect();
    let head: String = mapped
        .iter()
        .map(|(f, _)| format!(r#"<th class="pr-2">{}</th>"#, escape(short_label(*f))))
        .collect();
    let rows: String = p
        .rows
        .iter()
        .map(|r| {
            let cells: String = mapped
                .iter()
                .map(|(_, c)| {
                    format!(
                        r#"<td class="pr-2">{}</td>"#,
                        escape(r.cells.get(*c).map(String::as_str).unwrap_or_default())
                    )
                })
                .collect();
            let problem = match &r.problem {
                Some(m) => format!(r#"<td class="text-red-800">{}</td>"#, escape(m)),
                None => r#"<td class="text-green-800">Ready</td>"#.to_owned(),
            };
            format!(
                r#"<tr class="border-t border-slate-200" data-testid="preview-row"><td class="pr-2">{n}</td>{cells}{problem}</tr>"#,
                n = r.number
            )
        })
        .collect();
    format!(
        r#"<section class="mt-6" data-testid="import-preview"><h2 class="text-lg font-semibold">The first rows</h2><p class="text-sm" data-testid="import-readable">{ok} of {total} rows read well; {bad} have a problem and will be listed in the report. Possible duplicates of registered patients are found while importing.</p><div class="max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="The first rows of the file"><table class="mt-2 w-full text-left text-sm"><thead><tr class="text-slate-600"><th class="pr-2">Row</th>{head}<th>Check</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        ok = p.readable,
        bad = p.unreadable,
        total = i.total_rows,
    )
}

fn short_label(f: Field) -> &'static str {
    match f {
        Field::Mrn => "Record number",
        Field::Identifier => "Identifier",
        other => other.label(),
    }
}

fn progress(i: &Import) -> String {
    format!(
        r#"<section class="mt-4 rounded border border-slate-200 bg-white p-4"><label class="block text-sm font-medium" for="import-progress">Progress</label><progress id="import-progress" class="mt-1 w-full" max="{total}" value="{done}" data-testid="import-progress">{done} of {total}</progress><p class="mt-2 text-sm" aria-live="polite" data-testid="import-counts">{done} of {total} rows done: {imported} imported, {rejected} not imported.</p></section>"#,
        total = i.total_rows,
        done = i.processed_rows,
        imported = i.imported_rows,
        rejected = i.rejected_rows,
    )
}

fn outcome(f: &Frame<'_>, i: &Import) -> String {
    let mut out = String::new();
    if let Some(m) = &i.message {
        out.push_str(&format!(
            r#"<p role="alert" class="mt-3 rounded bg-amber-50 p-3 text-sm text-amber-900" data-testid="import-stop-reason">{}</p>"#,
            escape(m)
        ));
    }
    let forgotten = i
        .finished_at
        .is_some_and(|at| chrono::Utc::now() - at > chrono::Duration::days(super::KEEP_DAYS));
    if i.rejected_rows > 0 && forgotten {
        out.push_str(&format!(
            r#"<p class="mt-3 text-sm text-slate-600">The report of rows not imported was deleted {} days after the import ended.</p>"#,
            super::KEEP_DAYS
        ));
    } else if i.rejected_rows > 0 {
        out.push_str(&format!(
            r#"<p class="mt-3 text-sm"><a class="underline" data-testid="import-report" href="{href}">Download the {n} rows that were not imported, with the reason for each</a> (CSV: fix them and import the file again).</p>"#,
            href = escape(&f.href(&format!("/patients/import/{}/report.csv", i.id))),
            n = i.rejected_rows,
        ));
    }
    let resume = if i.state == ImportState::Stopped {
        format!(
            r#"<button type="submit" name="step" value="resume" class="{PRIMARY}" data-testid="import-resume">Resume the import</button>"#
        )
    } else {
        String::new()
    };
    if matches!(i.state, ImportState::Stopped | ImportState::Done) {
        out.push_str(&format!(
            r#"<form method="post" action="{action}" class="mt-4 rounded border border-slate-200 bg-white p-4"><div class="flex flex-wrap items-center gap-2">{resume}<label class="flex items-center gap-2 text-sm"><input type="checkbox" name="confirm" value="yes" data-testid="import-rollback-confirm">Remove the {n} patients this import registered</label><button type="submit" name="step" value="rollback" class="{BUTTON}" data-testid="import-rollback">Roll back</button></div><p class="mt-2 text-xs text-slate-600">A rollback is refused once any of these patients has something recorded (a visit, a note, a portal account): archive those patients instead.</p></form>"#,
            action = action(f, i),
            n = i.imported_rows,
        ));
    }
    out
}

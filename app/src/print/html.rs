//! A [`Sheet`] as a standalone HTML page for the browser's print dialog: an
//! `@page` rule for the paper size, the clinic's logo when it has one, and no
//! script (the page carries its nonce-less CSP like any server page).

use super::{Block, Sheet};
use crate::text::escape_html;

/// The page. `logo` is an address on this site; `other_size` links the same
/// document on the other paper size, `pdf` its PDF.
pub fn page(sheet: &Sheet, logo: Option<&str>, other_size: &str, pdf: &str) -> String {
    let mut body = String::new();
    if let Some(src) = logo {
        body.push_str(&format!(
            "<img class=\"logo\" src=\"{}\" alt=\"\">",
            escape_html(src)
        ));
    }
    for block in &sheet.blocks {
        body.push_str(&block_html(block));
    }
    let size = sheet.size.css();
    let (width, _) = sheet.size.points();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}@page {{ size: {size}; margin: {margin}; }}\
         main {{ max-width: {max}pt; }}</style></head><body>\
         <nav class=\"tools\" aria-label=\"Print options\"><a href=\"{other}\">Other paper size</a> · \
         <a href=\"{pdf}\">Download PDF</a> · <span>Use your browser's Print command.</span></nav>\
         <main data-testid=\"printable\" data-size=\"{size_id}\">{body}\
         <footer>{footer}</footer></main></body></html>",
        title = escape_html(&sheet.title),
        max = width.round(),
        other = escape_html(other_size),
        pdf = escape_html(pdf),
        size_id = sheet.size.as_str(),
        margin = sheet.size.margin_css(),
        footer = escape_html(&sheet.footer),
    )
}

const STYLE: &str = "body{font-family:'Noto Sans',system-ui,sans-serif;color:#111;margin:0;padding:16px}\
main{margin:0 auto}.logo{max-height:56px;max-width:180px;float:right}\
h1{font-size:20px;margin:0}h2{font-size:14px;margin:14px 0 4px;text-transform:uppercase;letter-spacing:.04em}\
.letterhead{font-size:12px;color:#333;margin:2px 0}p{margin:4px 0;font-size:13px}.small{font-size:11px;color:#555}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px;margin:6px 0}dt{color:#555}dd{margin:0}\
.notice{border:2px solid #b91c1c;padding:6px;font-size:12px;color:#7f1d1d}hr{border:0;border-top:1px solid #999;margin:10px 0}\
.signature{margin-top:36px;border-top:1px solid #111;width:220px;padding-top:4px;font-size:12px}\
footer{margin-top:24px;font-size:10px;color:#555}.tools{font-size:13px;margin-bottom:12px}\
@media print{.tools{display:none}body{padding:0}}";

fn block_html(block: &Block) -> String {
    let e = |t: &str| escape_html(t);
    match block {
        Block::Title(t) => format!("<h1>{}</h1>", e(t)),
        Block::Letterhead(lines) => lines
            .iter()
            .map(|l| format!("<p class=\"letterhead\">{}</p>", e(l)))
            .collect(),
        Block::Heading(t) => format!("<h2>{}</h2>", e(t)),
        Block::Text(t) => format!("<p>{}</p>", e(t)),
        Block::Strong(t) => format!("<p><strong>{}</strong></p>", e(t)),
        Block::Small(t) => format!("<p class=\"small\">{}</p>", e(t)),
        Block::Facts(pairs) => format!(
            "<dl>{}</dl>",
            pairs
                .iter()
                .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", e(k), e(v)))
                .collect::<String>()
        ),
        Block::Notice(t) => format!("<p class=\"notice\">{}</p>", e(t)),
        Block::Rule => "<hr>".into(),
        Block::Signature(name) => format!("<p class=\"signature\">{}</p>", e(name)),
    }
}

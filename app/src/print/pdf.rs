//! A [`Sheet`] as a PDF, made on the server with `krilla`. Text is split into
//! runs by script (Devanagari and Tamil get their Noto fonts, everything else
//! Noto Sans), each run shaped with rustybuzz (conjuncts, reordered vowel
//! signs), measured for word wrapping, and drawn as the shaped glyphs; krilla
//! embeds subsets of the fonts with ToUnicode maps and ActualText, so the text
//! can be searched and extracted.

use std::sync::{Arc, OnceLock};

use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Document;

use super::{Block, Sheet};

const LATIN: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
const LATIN_BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");
const DEVANAGARI: &[u8] = include_bytes!("../../assets/fonts/NotoSansDevanagari-Regular.ttf");
const TAMIL: &[u8] = include_bytes!("../../assets/fonts/NotoSansTamil-Regular.ttf");

/// A font for drawing (krilla) and for shaping and measuring (rustybuzz).
struct Face {
    font: Font,
    bytes: &'static [u8],
}

struct Fonts {
    latin: Face,
    latin_bold: Face,
    devanagari: Face,
    tamil: Face,
}

fn fonts() -> Result<&'static Fonts, String> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let face = |bytes: &'static [u8], name: &str| {
                Font::new(Arc::new(bytes.to_vec()).into(), 0)
                    .map(|font| Face { font, bytes })
                    .ok_or_else(|| format!("the font {name} could not be read"))
            };
            Ok(Fonts {
                latin: face(LATIN, "Noto Sans")?,
                latin_bold: face(LATIN_BOLD, "Noto Sans Bold")?,
                devanagari: face(DEVANAGARI, "Noto Sans Devanagari")?,
                tamil: face(TAMIL, "Noto Sans Tamil")?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Devanagari,
    Tamil,
}

/// The script a character needs a font for; `None` for spaces and joiners,
/// which stay with the run around them.
fn script_of(c: char) -> Option<Script> {
    match u32::from(c) {
        0x0900..=0x097F | 0xA8E0..=0xA8FF | 0x1CD0..=0x1CFF => Some(Script::Devanagari),
        0x0B80..=0x0BFF => Some(Script::Tamil),
        0x200C | 0x200D => None,
        _ if c.is_whitespace() => None,
        _ => Some(Script::Latin),
    }
}

/// `text` cut into runs of one script each.
fn runs(text: &str) -> Vec<(Script, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut current = None;
    for (i, c) in text.char_indices() {
        if let Some(s) = script_of(c) {
            match current {
                Some(p) if p != s => {
                    out.push((p, &text[start..i]));
                    start = i;
                    current = Some(s);
                }
                None => current = Some(s),
                _ => {}
            }
        }
    }
    if start < text.len() {
        out.push((current.unwrap_or(Script::Latin), &text[start..]));
    }
    out
}

/// A run shaped: its glyphs and its width at `size`.
struct Shaped<'a> {
    face: &'a Face,
    text: &'a str,
    glyphs: Vec<KrillaGlyph>,
    width: f32,
}

fn shape<'a>(face: &'a Face, text: &'a str, size: f32) -> Shaped<'a> {
    let Some(rb) = rustybuzz::Face::from_slice(face.bytes, 0) else {
        return Shaped {
            face,
            text,
            glyphs: Vec::new(),
            width: 0.0,
        };
    };
    let upem = f32::from(rb.units_per_em().max(1) as u16);
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let out = rustybuzz::shape(&rb, &[], buffer);
    let (infos, positions) = (out.glyph_infos(), out.glyph_positions());
    let mut glyphs = Vec::with_capacity(infos.len());
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        let end = infos[i + 1..]
            .iter()
            .map(|g| g.cluster as usize)
            .find(|c| *c != start)
            .unwrap_or(text.len());
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            pos.x_advance as f32 / upem,
            pos.x_offset as f32 / upem,
            pos.y_offset as f32 / upem,
            pos.y_advance as f32 / upem,
            start.min(end)..end.max(start),
            None,
        ));
    }
    let width = glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size;
    Shaped {
        face,
        text,
        glyphs,
        width,
    }
}

/// The runs of `text`, shaped with the bold Latin face when `bold`.
fn shape_line<'a>(fonts: &'a Fonts, text: &'a str, size: f32, bold: bool) -> Vec<Shaped<'a>> {
    runs(text)
        .into_iter()
        .map(|(script, run)| {
            let face = match script {
                Script::Devanagari => &fonts.devanagari,
                Script::Tamil => &fonts.tamil,
                Script::Latin if bold => &fonts.latin_bold,
                Script::Latin => &fonts.latin,
            };
            shape(face, run, size)
        })
        .collect()
}

fn width_of(fonts: &Fonts, text: &str, size: f32, bold: bool) -> f32 {
    shape_line(fonts, text, size, bold)
        .iter()
        .map(|s| s.width)
        .sum()
}

/// Words of `text` packed into lines no wider than `max`.
fn wrap(fonts: &Fonts, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && width_of(fonts, &candidate, size, bold) > max {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

/// Where the pen is: pages are added as the text needs them.
struct Pen<'d> {
    doc: &'d mut Document,
    fonts: &'static Fonts,
    size: (f32, f32),
    margin: f32,
    y: f32,
    footer: String,
    page_number: usize,
    lines: Vec<Op>,
}

/// What is drawn on the current page, kept until the page is finished
/// (krilla's surface borrows the page).
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        width: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
    },
}

impl Pen<'_> {
    fn width(&self) -> f32 {
        self.size.0 - 2.0 * self.margin
    }

    /// Makes room for `height` points, starting a new page when needed.
    fn room(&mut self, height: f32) {
        if self.y + height > self.size.1 - self.margin - 20.0 {
            self.flush();
            self.y = self.margin;
        }
    }

    fn text(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        let lines = wrap(self.fonts, text, size, bold, self.width() - indent);
        for line in lines {
            let leading = size * 1.35;
            self.room(leading);
            self.y += leading;
            self.lines.push(Op::Text {
                x: self.margin + indent,
                y: self.y - size * 0.3,
                size,
                bold,
                text: line,
            });
        }
    }

    fn rule(&mut self) {
        self.room(10.0);
        self.y += 6.0;
        self.lines.push(Op::Line {
            x1: self.margin,
            y1: self.y,
            x2: self.margin + self.width(),
            width: 0.6,
        });
        self.y += 4.0;
    }

    /// Draws what was queued on a page of its own, with the footer.
    fn flush(&mut self) {
        self.page_number += 1;
        let ops = std::mem::take(&mut self.lines);
        let settings = PageSettings::from_wh(self.size.0, self.size.1);
        let Some(settings) = settings else {
            return;
        };
        let mut page = self.doc.start_page_with(settings);
        let mut surface = page.surface();
        for op in &ops {
            draw(&mut surface, self.fonts, op);
        }
        let footer = format!("{} · page {}", self.footer, self.page_number);
        draw(
            &mut surface,
            self.fonts,
            &Op::Text {
                x: self.margin,
                y: self.size.1 - self.margin / 2.0,
                size: 7.5,
                bold: false,
                text: footer,
            },
        );
        surface.finish();
        page.finish();
    }
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            text,
        } => {
            let mut cx = *x;
            for run in shape_line(fonts, text, *size, *bold) {
                surface.draw_glyphs(
                    Point::from_xy(cx, *y),
                    &run.glyphs,
                    run.face.font.clone(),
                    run.text,
                    *size,
                    false,
                );
                cx += run.width;
            }
        }
        Op::Line { x1, y1, x2, width } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y1);
            path.line_to(*x2, *y1);
            stroke(surface, path, *width);
        }
        Op::Rect { x, y, w, h, width } => {
            let mut path = PathBuilder::new();
            path.move_to(*x, *y);
            path.line_to(x + w, *y);
            path.line_to(x + w, y + h);
            path.line_to(*x, y + h);
            path.close();
            stroke(surface, path, *width);
        }
    }
}

fn stroke(surface: &mut Surface<'_>, path: PathBuilder, width: f32) {
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            width,
            ..Default::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.set_fill(Some(Default::default()));
    }
}

/// The sheet as PDF bytes.
pub fn render(sheet: &Sheet) -> Result<Vec<u8>, String> {
    let fonts = fonts()?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(sheet.title.clone())
            .creator("MediSync".into()),
    );
    let size = sheet.size.points();
    // A receipt roll is narrow: little margin, smaller type.
    let margin = if size.0 < 300.0 {
        12.0
    } else if size.0 < 500.0 {
        32.0
    } else {
        44.0
    };
    let mut pen = Pen {
        doc: &mut doc,
        fonts,
        size,
        margin,
        y: margin,
        footer: sheet.footer.clone(),
        page_number: 0,
        lines: Vec::new(),
    };
    let base = if size.0 < 300.0 {
        8.0
    } else if size.0 < 500.0 {
        9.0
    } else {
        10.5
    };
    for block in &sheet.blocks {
        match block {
            Block::Title(t) => pen.text(t, base * 1.8, true, 0.0),
            Block::Letterhead(lines) => {
                for l in lines {
                    pen.text(l, base * 0.9, false, 0.0);
                }
            }
            Block::Heading(t) => {
                pen.y += base * 0.6;
                pen.text(&t.to_uppercase(), base * 1.05, true, 0.0);
            }
            Block::Text(t) => pen.text(t, base, false, 0.0),
            Block::Strong(t) => pen.text(t, base * 1.05, true, 0.0),
            Block::Small(t) => pen.text(t, base * 0.85, false, 0.0),
            Block::Facts(pairs) => {
                for (k, v) in pairs {
                    pen.text(&format!("{k}: {v}"), base, false, 0.0);
                }
            }
            Block::Notice(t) => {
                let top = pen.y + 3.0;
                pen.y += 4.0;
                pen.text(t, base * 0.9, false, 6.0);
                pen.y += 4.0;
                let w = pen.width();
                let h = pen.y - top;
                pen.lines.push(Op::Rect {
                    x: margin,
                    y: top,
                    w,
                    h,
                    width: 1.2,
                });
            }
            Block::Rule => pen.rule(),
            Block::Signature(name) => {
                pen.room(60.0);
                pen.y += 40.0;
                pen.lines.push(Op::Line {
                    x1: margin,
                    y1: pen.y,
                    x2: margin + 180.0,
                    width: 0.8,
                });
                pen.text(name, base * 0.9, false, 0.0);
            }
        }
    }
    pen.flush();
    doc.finish()
        .map_err(|e| format!("the PDF could not be made: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_into_runs_by_script() {
        let r: Vec<(Script, &str)> = runs("RAMESH कुमार, மருந்து 5 mg");
        assert_eq!(
            r,
            vec![
                (Script::Latin, "RAMESH "),
                (Script::Devanagari, "कुमार"),
                (Script::Latin, ", "),
                (Script::Tamil, "மருந்து "),
                (Script::Latin, "5 mg"),
            ]
        );
    }

    #[test]
    fn shaping_makes_devanagari_conjuncts_and_measures_them() {
        let fonts = fonts().expect("fonts");
        // "क्ष" is one conjunct glyph, fewer glyphs than its three code points.
        let conjunct = shape(&fonts.devanagari, "क्ष", 10.0);
        assert!(
            !conjunct.glyphs.is_empty() && conjunct.glyphs.len() < 3,
            "{}",
            conjunct.glyphs.len()
        );
        assert!(conjunct.width > 0.0);
        let longer = width_of(fonts, "Amoxicillin 500 mg capsule", 10.0, false);
        let shorter = width_of(fonts, "Amoxicillin", 10.0, false);
        assert!(longer > shorter && shorter > 0.0);
    }

    #[test]
    fn long_text_wraps_and_a_document_renders() {
        let fonts = fonts().expect("fonts");
        let text = "Take one capsule twice a day after food for five days, and finish the course even if you feel better.";
        let lines = wrap(fonts, text, 10.0, false, 150.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| width_of(fonts, l, 10.0, false) <= 150.0 || !l.contains(' ')));
        let sheet = Sheet {
            title: "Test".into(),
            size: super::super::PageSize::A5,
            blocks: vec![
                Block::Title("Clinic".into()),
                Block::Text("रमेश कुमार".into()),
                Block::Notice(text.into()),
                Block::Signature("Dr A".into()),
            ],
            footer: "footer".into(),
        };
        let pdf = render(&sheet).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
    }
}

//! The receipt PDF (SPEC 3.6): one A4 page in Indonesian that a signer keeps. This module
//! owns its layout (word wrapping and justification with the builtin fonts' metrics, shrinking
//! the body until it fits one page), its drawing (text, the QR code as filled rectangles,
//! the drawn mark as vector paths), and the data it carries for offline checking: the record
//! (base32) and the exact statement in the document information dictionary, read back by
//! [`extract`], and the printed name and NIP, marked in the page content so that
//! [`extract_printed`] reads them as drawn. Pure: a [`Receipt`] in, bytes out. The
//! [`slips`] submodule prints the QR slips that hand out signing links, with the same
//! fonts, wrapping and QR drawing.
//!
//! Only the builtin fonts are used (Helvetica and Times-Italic with WinAnsi encoding): they
//! cover Indonesian, are never embedded, and keep a page at a few kilobytes. Streams are
//! not compressed: deflate would be most of the rendering time, and the page stays far
//! below SPEC's 100 KB without it.

mod metrics;
pub mod slips;

use lopdf::content::Content;
use lopdf::{Dictionary, Object, StringFormat};
use printpdf::{
    BuiltinFont, Color, CurTransMat, Line, LineCapStyle, LineJoinStyle, LinePoint, Mm, Op,
    PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
    TextMatrix,
};
use unicode_normalization::UnicodeNormalization;

use crate::domain::mark::Mark;
use crate::domain::template::Template;
use crate::render::qr::{self, QrError, QrMatrix};

/// Document information keys that carry the signed data for offline checking.
const INFO_RECORD: &str = "IkrarRecord";
const INFO_STATEMENT: &str = "IkrarStatement";
/// Marked-content tags around the printed name and NIP in the identity table.
const TAG_NAME: &str = "IkrarNama";
const TAG_NIP: &str = "IkrarNip";

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const MARGIN_X: f32 = 25.0 * MM;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;
const TOP: f32 = PAGE_H - 18.0 * MM;
const BOTTOM: f32 = 14.0 * MM;
/// Width of the QR code's modules, without its quiet zone (SPEC 3.3: at least 30 mm).
const QR_SIDE: f32 = 34.0 * MM;
const QUIET_MODULES: f32 = 4.0;
/// Body text size before any shrinking, and the smallest it may shrink to.
const BODY_SIZE: f32 = 10.5;
const MIN_SCALE: f32 = 0.7;
/// Ink colour of the drawn signature.
const INK: (f32, f32, f32) = (0.05, 0.12, 0.45);

/// Everything printed on one receipt, already resolved from the stored pledge.
pub struct Receipt<'a> {
    /// Heading.
    pub instansi_name: &'a str,
    /// Already rendered with the instansi name.
    pub template: &'a Template,
    pub name: &'a str,
    /// Grouped NIP (`19850330 201001 1 001`), or the staff number for non-ASN staff.
    pub nip_display: &'a str,
    pub position: &'a str,
    pub unit: &'a str,
    pub place: &'a str,
    /// E.g. "29 November 2026", from [`tanggal`].
    pub date_text: &'a str,
    /// Typed name, printed above the name when there is no mark.
    pub consent_name: &'a str,
    /// Drawn signature, drawn as vector paths above the name.
    pub mark: Option<&'a Mark>,
    pub qr_text: &'a str,
    /// Issuer HOST printed beside the QR.
    pub host: &'a str,
    pub log_index: u64,
    pub key_id_hex: &'a str,
    /// Carried inside the PDF for offline checking.
    pub record_base32: &'a str,
    /// Carried inside the PDF for offline checking, byte-exact.
    pub statement: &'a str,
    pub verify_url: &'a str,
    /// The entry's c2sp.org/tlog-proof, attached as `ikrar-<log_index>.tlog-proof`.
    pub tlog_proof: Option<&'a str>,
}

/// The name and NIP as printed in the receipt's identity table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintedFields {
    pub name: String,
    pub nip: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("cannot encode the QR code: {0}")]
    Qr(#[from] QrError),
    #[error("the pledge text does not fit on one A4 page, even in the smallest type")]
    DoesNotFit,
    #[error("cannot write the PDF: {0}")]
    Write(String),
    #[error("not a readable PDF: {0}")]
    Parse(String),
    #[error("the PDF's embedded {0} is malformed")]
    Malformed(&'static str),
    #[error("there are no slips to print")]
    NoSlips,
}

pub use crate::domain::instansi::tanggal;

/// Renders the receipt: one A4 page, uncompressed, with the record and statement embedded.
pub fn render(r: &Receipt) -> Result<Vec<u8>, PdfError> {
    let qr = qr::encode(r.qr_text)?;
    render_with_qr(r, &qr)
}

/// [`render`] with the QR code already encoded (benchmarks measure the two apart).
pub fn render_with_qr(r: &Receipt, qr: &QrMatrix) -> Result<Vec<u8>, PdfError> {
    let mut page = Page::default();
    let panel_top = verification_panel(&mut page, r, qr);
    let body_floor = panel_top + 14.0;
    // Long templates (up to 20 points) shrink the body type rather than spill onto a
    // second page: a receipt is one sheet.
    let mut scale = 1.0;
    loop {
        let mut body = Page::default();
        if body_and_signature(&mut body, r, scale) >= body_floor {
            page.lines.append(&mut body.lines);
            page.graphics.append(&mut body.graphics);
            break;
        }
        scale -= 0.05;
        if scale < MIN_SCALE - 1e-3 {
            return Err(PdfError::DoesNotFit);
        }
    }
    save(r, page.into_ops())
}

/// Reads back what [`render`] embedded: (record base32, statement text). `None` if absent.
pub fn extract(pdf: &[u8]) -> Result<Option<(String, String)>, PdfError> {
    let doc = load(pdf)?;
    let Some(info) = info_dict(&doc) else {
        return Ok(None);
    };
    let (Ok(record), Ok(statement)) = (
        info.get(INFO_RECORD.as_bytes()),
        info.get(INFO_STATEMENT.as_bytes()),
    ) else {
        return Ok(None);
    };
    let record = record
        .as_str()
        .ok()
        .and_then(|b| std::str::from_utf8(b).ok())
        .filter(|s| s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or(PdfError::Malformed("record"))?
        .to_owned();
    let statement = statement
        .as_str()
        .ok()
        .and_then(decode_text_string)
        .ok_or(PdfError::Malformed("statement"))?;
    Ok(Some((record, statement)))
}

/// Text as printed (for the "printed name and NIP match the statement" check): the name
/// and NIP lines of the identity table as drawn. `None` if the page has no such marks.
pub fn extract_printed(pdf: &[u8]) -> Result<Option<PrintedFields>, PdfError> {
    let doc = load(pdf)?;
    let Some((_, &page_id)) = doc.get_pages().iter().next() else {
        return Ok(None);
    };
    let content = doc
        .get_page_content_with_limit(page_id, 4 << 20)
        .map_err(|e| PdfError::Parse(e.to_string()))?;
    let content = Content::decode(&content).map_err(|e| PdfError::Parse(e.to_string()))?;
    let (mut name, mut nip): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut tags: Vec<Vec<u8>> = Vec::new();
    for op in &content.operations {
        match op.operator.as_str() {
            "BMC" | "BDC" => tags.push(
                op.operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .unwrap_or_default()
                    .to_vec(),
            ),
            "EMC" => {
                tags.pop();
            }
            "Tj" | "TJ" => {
                let target = match tags.last().map(Vec::as_slice) {
                    Some(t) if t == TAG_NAME.as_bytes() => &mut name,
                    Some(t) if t == TAG_NIP.as_bytes() => &mut nip,
                    _ => continue,
                };
                let mut text = String::new();
                shown_text(&op.operands, &mut text);
                target.push(text);
            }
            _ => {}
        }
    }
    if name.is_empty() || nip.is_empty() {
        return Ok(None);
    }
    Ok(Some(PrintedFields {
        name: name.join(" "),
        nip: nip.join(" "),
    }))
}

// ---------------------------------------------------------------------------------------
// Layout

/// The faces the receipt uses, with their metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
    /// The typed name in place of a drawn signature.
    Script,
}

impl Face {
    fn builtin(self) -> BuiltinFont {
        match self {
            Face::Regular => BuiltinFont::Helvetica,
            Face::Bold => BuiltinFont::HelveticaBold,
            Face::Script => BuiltinFont::TimesItalic,
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Face::Regular => &metrics::HELVETICA,
            Face::Bold => &metrics::HELVETICA_BOLD,
            Face::Script => &metrics::TIMES_ITALIC,
        }
    }

    /// Width of already-printable text (see [`printable`]) in points.
    fn measure(self, text: &str, size: f32) -> f32 {
        let widths = self.widths();
        let units: u32 = text
            .chars()
            .filter_map(metrics::win_ansi)
            .map(|b| u32::from(widths[usize::from(b.saturating_sub(0x20))]))
            .sum();
        units as f32 * size / 1000.0
    }
}

/// One line of text, positioned at its baseline's left end.
struct TextLine {
    face: Face,
    size: f32,
    x: f32,
    y: f32,
    text: String,
    /// Extra space per space character (`Tw`), for justified lines.
    word_spacing: f32,
    tag: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Center,
    Justify,
}

/// A paragraph's placement: font, column and line spacing.
#[derive(Clone, Copy)]
struct Style {
    face: Face,
    size: f32,
    x: f32,
    width: f32,
    leading: f32,
    align: Align,
}

#[derive(Default)]
struct Page {
    lines: Vec<TextLine>,
    /// Paths and fills, painted before the text.
    graphics: Vec<Op>,
}

impl Page {
    /// Sets `text` in lines from baseline `y` downwards; returns the baseline below the last.
    fn paragraph(&mut self, text: &str, s: Style, y: f32, tag: Option<&'static str>) -> f32 {
        let lines = wrap(&printable(text), s.face, s.size, s.width);
        let count = lines.len();
        let mut y = y;
        for (i, line) in lines.into_iter().enumerate() {
            let natural = s.face.measure(&line, s.size);
            let (x, word_spacing) = match s.align {
                Align::Left => (s.x, 0.0),
                Align::Center => (s.x + (s.width - natural) / 2.0, 0.0),
                Align::Justify => {
                    let gaps = line.matches(' ').count();
                    let spread = if gaps > 0 && i + 1 < count {
                        (s.width - natural) / gaps as f32
                    } else {
                        0.0
                    };
                    // A nearly empty line stretched to full width reads worse than ragged.
                    (s.x, if spread < s.size { spread } else { 0.0 })
                }
            };
            self.lines.push(TextLine {
                face: s.face,
                size: s.size,
                x,
                y,
                text: line,
                word_spacing,
                tag,
            });
            y -= s.leading;
        }
        y
    }

    fn rule(&mut self, x0: f32, x1: f32, y: f32, thickness: f32) {
        self.graphics
            .push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.graphics.push(Op::DrawLine {
            line: Line {
                points: vec![point(x0, y), point(x1, y)],
                is_closed: false,
            },
        });
    }

    /// Text first set in one BT…ET object, after the graphics, so fonts are switched only
    /// when they change.
    fn into_ops(self) -> Vec<Op> {
        let mut ops = Vec::with_capacity(self.graphics.len() + self.lines.len() * 4 + 8);
        ops.push(Op::SaveGraphicsState);
        ops.extend(self.graphics);
        ops.push(Op::RestoreGraphicsState);
        ops.push(Op::StartTextSection);
        let mut font: Option<(Face, f32)> = None;
        let mut spacing = 0.0;
        for line in self.lines {
            if font != Some((line.face, line.size)) {
                ops.push(Op::SetFont {
                    font: PdfFontHandle::Builtin(line.face.builtin()),
                    size: Pt(line.size),
                });
                font = Some((line.face, line.size));
            }
            if line.word_spacing != spacing {
                ops.push(Op::SetWordSpacing {
                    pt: Pt(line.word_spacing),
                });
                spacing = line.word_spacing;
            }
            if let Some(tag) = line.tag {
                ops.push(Op::BeginMarkedContent {
                    tag: tag.to_owned(),
                });
            }
            ops.push(Op::SetTextMatrix {
                matrix: TextMatrix::Translate(Pt(line.x), Pt(line.y)),
            });
            ops.push(Op::ShowText {
                items: vec![TextItem::Text(line.text)],
            });
            if line.tag.is_some() {
                ops.push(Op::EndMarkedContent);
            }
        }
        ops.push(Op::EndTextSection);
        ops
    }
}

fn point(x: f32, y: f32) -> LinePoint {
    LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    }
}

/// Text the WinAnsi builtin fonts can show: characters outside WinAnsi become their
/// unaccented base letter when they have one (ő → o), else `?`; line breaks and tabs
/// become spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_whitespace() {
                return ' ';
            }
            match metrics::win_ansi(c) {
                Some(b) => metrics::from_win_ansi(b).unwrap_or('?'),
                None => std::iter::once(c)
                    .nfd()
                    .next()
                    .filter(|&base| base != c && metrics::win_ansi(base).is_some())
                    .unwrap_or('?'),
            }
        })
        .collect()
}

/// Greedy word wrap to `width` points; a word longer than a line is broken between letters
/// (base32 in the verification link has no spaces).
fn wrap(text: &str, face: Face, size: f32, width: f32) -> Vec<String> {
    let space = face.measure(" ", size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_w = 0.0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word_w = face.measure(word, size);
        if !line.is_empty() && line_w + space + word_w <= width {
            line.push(' ');
            line.push_str(word);
            line_w += space + word_w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if word_w <= width {
            line.push_str(word);
            line_w = word_w;
            continue;
        }
        line_w = 0.0;
        for c in word.chars() {
            let c_w = face.measure(c.encode_utf8(&mut [0; 4]), size);
            if line_w + c_w > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            line.push(c);
            line_w += c_w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Heading, pledge text, identity table and signature block, top down at `scale` times the
/// normal type size. Returns the lowest point used.
fn body_and_signature(page: &mut Page, r: &Receipt, scale: f32) -> f32 {
    let size = BODY_SIZE * scale;
    let leading = size * 1.38;
    let full = |face, size: f32, align| Style {
        face,
        size,
        x: MARGIN_X,
        width: CONTENT_W,
        leading: size * 1.3,
        align,
    };

    // Letterhead: the instansi in capitals over a thick-and-thin double rule.
    let heading_size = 14.0 * scale.max(0.85);
    let mut y = TOP - heading_size;
    y = page.paragraph(
        &r.instansi_name.to_uppercase(),
        full(Face::Bold, heading_size, Align::Center),
        y,
        None,
    );
    let rule_y = y + heading_size * 1.3 - heading_size * 0.55;
    page.rule(MARGIN_X, PAGE_W - MARGIN_X, rule_y, 1.6);
    page.rule(MARGIN_X, PAGE_W - MARGIN_X, rule_y - 2.6, 0.5);
    y = rule_y - 2.6 - 20.0 * scale;

    let title_size = 12.0 * scale;
    y = page.paragraph(
        &r.template.title,
        full(Face::Bold, title_size, Align::Center),
        y - (title_size - size),
        None,
    );
    y -= 8.0 * scale;

    let body = Style {
        face: Face::Regular,
        size,
        x: MARGIN_X,
        width: CONTENT_W,
        leading,
        align: Align::Justify,
    };
    y = page.paragraph(&r.template.preamble, body, y, None);
    y -= 3.0 * scale;
    let indent = 18.0 * scale;
    for (i, point) in r.template.points.iter().enumerate() {
        page.lines.push(TextLine {
            face: Face::Regular,
            size,
            x: MARGIN_X,
            y,
            text: format!("{}.", i + 1),
            word_spacing: 0.0,
            tag: None,
        });
        let hanging = Style {
            x: MARGIN_X + indent,
            width: CONTENT_W - indent,
            ..body
        };
        y = page.paragraph(point, hanging, y, None);
        y -= 3.0 * scale;
    }
    y -= 4.0 * scale;
    y = page.paragraph(&r.template.closing, body, y, None);
    y -= 12.0 * scale;

    // Identity table: label, colon, value (wrapped in its own column).
    let nip_label = if looks_like_nip(r.nip_display) {
        "NIP"
    } else {
        "Nomor pegawai"
    };
    let label_w = 80.0 * scale;
    let value = Style {
        x: MARGIN_X + label_w + 10.0 * scale,
        width: CONTENT_W - label_w - 10.0 * scale,
        align: Align::Left,
        ..body
    };
    let rows = [
        ("Nama", r.name, Some(TAG_NAME)),
        (nip_label, r.nip_display, Some(TAG_NIP)),
        ("Jabatan", r.position, None),
        ("Unit kerja", r.unit, None),
    ];
    for (label, text, tag) in rows {
        let text = if text.trim().is_empty() { "-" } else { text };
        for (x, s) in [(MARGIN_X, label), (MARGIN_X + label_w, ":")] {
            page.lines.push(TextLine {
                face: Face::Regular,
                size,
                x,
                y,
                text: s.to_owned(),
                word_spacing: 0.0,
                tag: None,
            });
        }
        y = page.paragraph(text, value, y, tag);
    }
    y -= 14.0 * scale;

    // Signature block, centred in the right-hand column as on a paper pledge.
    let col_w = 210.0;
    let col = Style {
        x: PAGE_W - MARGIN_X - col_w,
        width: col_w,
        align: Align::Center,
        ..body
    };
    y = page.paragraph(&format!("{}, {}", r.place, r.date_text), col, y, None);
    y = page.paragraph(&r.template.sign_off(), col, y, None);
    let sig_h = 58.0 * scale;
    let sig_top = y + size * 0.4;
    match r.mark {
        Some(mark) => draw_mark(
            page,
            mark,
            col.x + 10.0,
            sig_top - sig_h + 5.0 * scale,
            col_w - 20.0,
            sig_h - 8.0 * scale,
        ),
        None => {
            let script = Style {
                face: Face::Script,
                size: 20.0 * scale,
                leading: 20.0 * scale,
                ..col
            };
            page.paragraph(r.consent_name, script, sig_top - sig_h * 0.62, None);
        }
    }
    y = sig_top - sig_h - size * 1.1;
    let name_style = Style {
        face: Face::Bold,
        ..col
    };
    let name_lines_from = page.lines.len();
    let after_name = page.paragraph(r.name, name_style, y, None);
    // Underline each line of the name, as signed names are on official letters.
    let underlines: Vec<(f32, f32, f32)> = page.lines[name_lines_from..]
        .iter()
        .map(|l| {
            (
                l.x,
                l.x + Face::Bold.measure(&l.text, l.size),
                l.y - size * 0.18,
            )
        })
        .collect();
    for (x0, x1, uy) in underlines {
        page.rule(x0, x1, uy, 0.6);
    }
    y = page.paragraph(
        &format!("{nip_label} {}", r.nip_display),
        col,
        after_name,
        None,
    );
    y + leading - size * 0.3
}

/// Whether a display identifier is a grouped NIP (18 digits) rather than a staff number.
fn looks_like_nip(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    digits == 18 && s.bytes().all(|b| b.is_ascii_digit() || b == b' ')
}

/// The verification panel along the bottom: the QR code with its quiet zone on the left,
/// the issuer's HOST, the log line and how to verify beside it. Returns the panel's top.
fn verification_panel(page: &mut Page, r: &Receipt, qr: &QrMatrix) -> f32 {
    let module = QR_SIDE / qr.width() as f32;
    let quiet = QUIET_MODULES * module;
    let text_x = MARGIN_X + QR_SIDE + quiet + 4.0;
    let text_w = PAGE_W - MARGIN_X - text_x;
    let style = |face, size: f32| Style {
        face,
        size,
        x: text_x,
        width: text_w,
        leading: size * 1.3,
        align: Align::Left,
    };

    // Set the text from an arbitrary origin, then move it so the panel is as tall as the
    // taller of the text and the QR code with its quiet zone.
    let first = page.lines.len();
    let mut y = 0.0;
    y = page.paragraph("VERIFIKASI KEASLIAN", style(Face::Bold, 8.5), y, None);
    y = page.paragraph(r.host, style(Face::Bold, 11.0), y - 2.0, None);
    y = page.paragraph(
        &format!(
            "Log transparansi: entri nomor {} \u{b7} ID kunci {}",
            r.log_index, r.key_id_hex
        ),
        style(Face::Regular, 8.0),
        y - 1.0,
        None,
    );
    y = page.paragraph(
        &format!(
            "Ikrar ini ditandatangani secara elektronik. Server {} membubuhkan tanda tangan \
             digital (Ed25519) dan mencatatnya dalam log transparansi publik.",
            r.host
        ),
        style(Face::Regular, 8.0),
        y - 3.0,
        None,
    );
    y = page.paragraph(
        "Untuk memverifikasi, pindai kode QR di samping atau buka alamat berikut:",
        style(Face::Regular, 8.0),
        y,
        None,
    );
    y = page.paragraph(r.verify_url, style(Face::Regular, 7.0), y, None);
    y = page.paragraph(
        "Status terkini ikrar ini, termasuk pembatalan, hanya dapat diperiksa secara daring \
         melalui alamat di atas.",
        style(Face::Bold, 8.0),
        y - 2.0,
        None,
    );
    // From the first line's cap height to the last line's descenders.
    let cap = 8.5 * 0.72;
    let text_h = cap - (y + 8.0 * 1.3) + 2.0;
    let qr_h = QR_SIDE + 2.0 * quiet;
    // The text starts level with the QR code's top row.
    let top = BOTTOM + qr_h.max(text_h + quiet);
    let shift = top - quiet - cap;
    for line in &mut page.lines[first..] {
        line.y += shift;
    }

    page.rule(MARGIN_X, PAGE_W - MARGIN_X, top + 6.0, 0.5);
    draw_qr(page, qr, MARGIN_X, top - quiet, module);
    top + 6.0
}

/// The QR code's dark modules as filled rectangles, one per horizontal run, in a
/// coordinate system of one unit per module with y pointing down from `(x, top)`.
fn draw_qr(page: &mut Page, qr: &QrMatrix, x: f32, top: f32, module: f32) {
    let g = &mut page.graphics;
    g.push(Op::SaveGraphicsState);
    g.push(Op::SetTransformationMatrix {
        matrix: CurTransMat::Raw([module, 0.0, 0.0, -module, x, top]),
    });
    g.push(Op::SetFillColor {
        col: Color::Greyscale(printpdf::Greyscale {
            percent: 0.0,
            icc_profile: None,
        }),
    });
    for (rx, ry, len) in qr.runs() {
        g.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(rx as f32),
                y: Pt(ry as f32),
                width: Pt(len as f32),
                height: Pt(1.0),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }
    g.push(Op::RestoreGraphicsState);
}

/// The drawn signature, scaled to fit the box (keeping its proportions) and centred in it.
/// Points stay integers in the mark's own 0–4096 space; a matrix maps them to the page.
fn draw_mark(page: &mut Page, mark: &Mark, x: f32, y: f32, w: f32, h: f32) {
    let strokes = mark.strokes();
    let all = strokes.iter().flatten();
    let (min_x, max_x) = all
        .clone()
        .fold((u16::MAX, 0), |(lo, hi), &(px, _)| (lo.min(px), hi.max(px)));
    let (min_y, max_y) = all.fold((u16::MAX, 0), |(lo, hi), &(_, py)| (lo.min(py), hi.max(py)));
    if min_x > max_x {
        return;
    }
    let span_x = f32::from(max_x - min_x).max(1.0);
    let span_y = f32::from(max_y - min_y).max(1.0);
    let s = (w / span_x).min(h / span_y);
    let tx = x + (w - span_x * s) / 2.0 - f32::from(min_x) * s;
    let ty = y + h - (h - span_y * s) / 2.0 + f32::from(min_y) * s;
    let g = &mut page.graphics;
    g.push(Op::SaveGraphicsState);
    g.push(Op::SetTransformationMatrix {
        matrix: CurTransMat::Raw([s, 0.0, 0.0, -s, tx, ty]),
    });
    g.push(Op::SetOutlineColor {
        col: Color::Rgb(Rgb {
            r: INK.0,
            g: INK.1,
            b: INK.2,
            icc_profile: None,
        }),
    });
    // Line width is in the scaled space: 1.2 pt on paper whatever the drawing's size.
    g.push(Op::SetOutlineThickness { pt: Pt(1.2 / s) });
    g.push(Op::SetLineCapStyle {
        cap: LineCapStyle::Round,
    });
    g.push(Op::SetLineJoinStyle {
        join: LineJoinStyle::Round,
    });
    for stroke in strokes {
        let mut points: Vec<LinePoint> = stroke
            .iter()
            .map(|&(px, py)| point(f32::from(px), f32::from(py)))
            .collect();
        // A lone point is a dot: a zero-length segment with round caps.
        if points.len() == 1 {
            points.push(points[0].clone());
        }
        g.push(Op::DrawLine {
            line: Line {
                points,
                is_closed: false,
            },
        });
    }
    g.push(Op::RestoreGraphicsState);
}

// ---------------------------------------------------------------------------------------
// Serialisation and reading back

fn save(r: &Receipt, ops: Vec<Op>) -> Result<Vec<u8>, PdfError> {
    let proof_name = proof_file_name(r.log_index);
    let attachments: Vec<(&str, &[u8])> = r
        .tlog_proof
        .map(|proof| (proof_name.as_str(), proof.as_bytes()))
        .into_iter()
        .collect();
    save_pages(
        &r.template.title,
        vec![ops],
        vec![
            ("Author", text_string(r.name)),
            (
                "Subject",
                text_string(&format!("Ikrar elektronik \u{2014} {}", r.instansi_name)),
            ),
            (
                INFO_RECORD,
                Object::String(r.record_base32.as_bytes().to_vec(), StringFormat::Literal),
            ),
            (INFO_STATEMENT, text_string(r.statement)),
        ],
        &attachments,
    )
}

/// The attachment name of an entry's proof bundle (SPEC 3.6).
pub fn proof_file_name(log_index: u64) -> String {
    format!("ikrar-{log_index}.tlog-proof")
}

/// Writes A4 pages, uncompressed, with `title` and `info` in the information dictionary
/// and `attachments` (name, bytes) as embedded files in the catalog's name tree.
fn save_pages(
    title: &str,
    pages: Vec<Vec<Op>>,
    info: Vec<(&str, Object)>,
    attachments: &[(&str, &[u8])],
) -> Result<Vec<u8>, PdfError> {
    let mut doc = PdfDocument::new(title);
    doc.pages = pages
        .into_iter()
        .map(|ops| PdfPage::new(Mm(210.0), Mm(297.0), ops))
        .collect();
    let opts = PdfSaveOptions {
        optimize: false,
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&opts, &mut warnings);

    // Our own information dictionary: printpdf's carries 1970 dates and PDF/X keys that a
    // receipt has no use for, and it has no place for the record and statement.
    let mut entries = vec![("Title", text_string(title))];
    entries.extend(info);
    entries.push(("Creator", text_string("ikrar")));
    entries.push(("Producer", text_string("ikrar")));
    let info_id = lo.add_object(Dictionary::from_iter(entries));
    lo.trailer.set("Info", Object::Reference(info_id));
    if !attachments.is_empty() {
        attach(&mut lo, attachments)?;
    }

    let mut out = Vec::with_capacity(16 * 1024);
    lo.save_to(&mut out)
        .map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(out)
}

/// Embeds files as PDF 1.7 §7.11.4 describes: an `EmbeddedFile` stream per file, a file
/// specification naming it, and the catalog's `/Names /EmbeddedFiles` name tree (one leaf
/// node, names in order) plus `/AF`, so PDF readers list them as attachments.
fn attach(lo: &mut lopdf::Document, files: &[(&str, &[u8])]) -> Result<(), PdfError> {
    let mut sorted = files.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut names = Vec::with_capacity(2 * sorted.len());
    let mut specs = Vec::with_capacity(sorted.len());
    for (name, bytes) in sorted {
        let mut params = Dictionary::new();
        params.set("Size", bytes.len() as i64);
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
        dict.set("Subtype", Object::Name(b"text/plain".to_vec()));
        dict.set("Params", params);
        let stream = lopdf::Stream::new(dict, bytes.to_vec()).with_compression(false);
        let stream_id = lo.add_object(stream);
        let mut ef = Dictionary::new();
        ef.set("F", Object::Reference(stream_id));
        let mut spec = Dictionary::new();
        spec.set("Type", Object::Name(b"Filespec".to_vec()));
        // Our names are ASCII, which PDFDocEncoding shares: both keys hold the same bytes.
        let file_name = Object::String(name.as_bytes().to_vec(), StringFormat::Literal);
        spec.set("F", file_name.clone());
        spec.set("UF", file_name);
        spec.set("EF", ef);
        spec.set("AFRelationship", Object::Name(b"Supplement".to_vec()));
        let spec_id = lo.add_object(spec);
        names.push(Object::String(
            name.as_bytes().to_vec(),
            StringFormat::Literal,
        ));
        names.push(Object::Reference(spec_id));
        specs.push(Object::Reference(spec_id));
    }
    let mut tree = Dictionary::new();
    tree.set("Names", names);
    let mut name_dict = Dictionary::new();
    name_dict.set("EmbeddedFiles", tree);
    let catalog = lo
        .catalog_mut()
        .map_err(|e| PdfError::Write(format!("no catalog: {e}")))?;
    catalog.set("Names", name_dict);
    catalog.set("AF", specs);
    Ok(())
}

/// Reads back an attachment [`render`] embedded (by its name in the catalog's
/// `/EmbeddedFiles` name tree, a single leaf node as [`attach`] writes it). `None` if the
/// PDF has no such file; an attachment larger than `limit` bytes is refused unread.
pub fn extract_attachment(
    pdf: &[u8],
    name: &str,
    limit: usize,
) -> Result<Option<Vec<u8>>, PdfError> {
    let doc = load(pdf)?;
    // A dictionary entry, following a reference if it is one.
    let entry = |dict: &Dictionary, key: &[u8]| -> Option<Object> {
        let value = dict.get(key).ok()?;
        doc.dereference(value).ok().map(|(_, o)| o.clone())
    };
    let names = doc
        .catalog()
        .ok()
        .and_then(|catalog| entry(catalog, b"Names"))
        .and_then(|o| entry(o.as_dict().ok()?, b"EmbeddedFiles"))
        .and_then(|o| entry(o.as_dict().ok()?, b"Names"));
    let Some(Object::Array(names)) = names else {
        return Ok(None);
    };
    let malformed = || PdfError::Malformed("attachment");
    for pair in names.chunks(2) {
        let [key, spec] = pair else {
            return Err(malformed());
        };
        if key.as_str().ok() != Some(name.as_bytes()) {
            continue;
        }
        let spec = doc
            .dereference(spec)
            .ok()
            .and_then(|(_, o)| o.as_dict().ok())
            .ok_or_else(malformed)?;
        let stream_id = entry(spec, b"EF")
            .and_then(|ef| ef.as_dict().ok()?.get(b"F").ok()?.as_reference().ok())
            .ok_or_else(malformed)?;
        let bytes = doc
            .get_object(stream_id)
            .and_then(Object::as_stream)
            .and_then(|stream| stream.get_plain_content_with_limit(limit))
            .map_err(|_| malformed())?;
        return Ok(Some(bytes));
    }
    Ok(None)
}

/// A PDF text string in UTF-16BE with its byte-order mark, written in hex so that every
/// byte (line feeds, bytes that look like `\r` or `)`) survives any reader unchanged.
fn text_string(s: &str) -> Object {
    let mut bytes = Vec::with_capacity(2 + s.len() * 2);
    bytes.extend_from_slice(&[0xFE, 0xFF]);
    for unit in s.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// Reads a text string written by [`text_string`]; also plain ASCII.
fn decode_text_string(bytes: &[u8]) -> Option<String> {
    match bytes {
        [0xFE, 0xFF, rest @ ..] => {
            if rest.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ if bytes.is_ascii() => std::str::from_utf8(bytes).ok().map(str::to_owned),
        _ => None,
    }
}

fn load(pdf: &[u8]) -> Result<lopdf::Document, PdfError> {
    lopdf::Document::load_mem(pdf).map_err(|e| PdfError::Parse(e.to_string()))
}

fn info_dict(doc: &lopdf::Document) -> Option<&Dictionary> {
    match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Appends the characters a `Tj`/`TJ` operand shows in a WinAnsi font.
fn shown_text(operands: &[Object], out: &mut String) {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => {
                out.extend(bytes.iter().filter_map(|&b| metrics::from_win_ansi(b)));
            }
            Object::Array(items) => shown_text(items, out),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests;

//! Printable QR slips (SPEC 4, invitations): A4 sheets of eight slips, two columns by four
//! rows, with dashed cut lines. Each slip names one employee (name, NIP, unit), says in a
//! sentence what to do, and carries that employee's signing link as a QR code and in
//! print. HR hands the slips out where staff have no e-mail, e.g. at a ceremony.
//!
//! The QR code is QR alphanumeric mode, like the receipt's: the link is encoded in
//! uppercase ([`qr_link`]), which the server accepts because `/S/` and the token are read
//! in either case. That keeps the code small and its modules large on a 105 × 74 mm slip.

use printpdf::{Color, Greyscale, Line, LineDashPattern, Op, Pt};

use super::{Face, MM, PAGE_H, PAGE_W, Page, PdfError, TextLine, draw_qr, looks_like_nip, point};
use super::{printable, save_pages, text_string, wrap};
use crate::render::qr;

/// One employee's slip.
#[derive(Clone, Copy, Debug)]
pub struct Slip<'a> {
    pub name: &'a str,
    /// Grouped NIP (`19850330 201001 1 001`), or the staff number for non-ASN staff.
    pub nip_display: &'a str,
    pub unit: &'a str,
    /// The signing link, `PUBLIC_URL/s/TOKEN`.
    pub link: &'a str,
}

const COLUMNS: usize = 2;
const ROWS: usize = 4;
/// Slips per A4 sheet.
pub const PER_PAGE: usize = COLUMNS * ROWS;

const SLIP_W: f32 = PAGE_W / COLUMNS as f32;
const SLIP_H: f32 = PAGE_H / ROWS as f32;
/// Space between a slip's cut lines and its content. Also keeps the content clear of the
/// few millimetres most printers cannot reach at the sheet's edges.
const PAD: f32 = 7.0 * MM;
/// Width of the QR code's modules, without its quiet zone.
const QR_SIDE: f32 = 30.0 * MM;
const QUIET_MODULES: f32 = 4.0;
/// Space between the text column and the QR code's quiet zone.
const GUTTER: f32 = 3.0 * MM;

const INSTRUCTION: &str = "Pindai kode QR ini dengan kamera ponsel untuk menandatangani ikrar. \
                           Tautan ini pribadi: jangan dibagikan.";

/// The text a slip's QR code holds: the link in uppercase, so that it is all QR
/// alphanumeric characters (`HTTPS://HOST/S/TOKEN`).
pub fn qr_link(link: &str) -> String {
    link.to_ascii_uppercase()
}

/// Renders the slips in order, eight per A4 page; the last page may hold fewer.
pub fn render(
    instansi_name: &str,
    campaign_title: &str,
    slips: &[Slip],
) -> Result<Vec<u8>, PdfError> {
    if slips.is_empty() {
        return Err(PdfError::NoSlips);
    }
    let mut pages = Vec::with_capacity(slips.len().div_ceil(PER_PAGE));
    for sheet in slips.chunks(PER_PAGE) {
        let mut page = Page::default();
        for (i, slip) in sheet.iter().enumerate() {
            let x = (i % COLUMNS) as f32 * SLIP_W;
            let y = PAGE_H - (i / COLUMNS + 1) as f32 * SLIP_H;
            slip_at(&mut page, instansi_name, campaign_title, slip, x, y)?;
        }
        cut_lines(&mut page, sheet.len());
        pages.push(page.into_ops());
    }
    save_pages(
        &format!("Kode QR penandatanganan \u{2014} {campaign_title}"),
        pages,
        vec![("Subject", text_string(instansi_name))],
        &[],
    )
}

/// Lays out one slip whose lower left corner is (`x`, `y`).
fn slip_at(
    page: &mut Page,
    instansi_name: &str,
    campaign_title: &str,
    slip: &Slip,
    x: f32,
    y: f32,
) -> Result<(), PdfError> {
    let code = qr::encode(&qr_link(slip.link))?;
    let module = QR_SIDE / code.width() as f32;
    let quiet = QUIET_MODULES * module;
    let left = x + PAD;
    let right = x + SLIP_W - PAD;
    let top = y + SLIP_H - PAD;
    let across = |face, size, max_lines| Block {
        face,
        size,
        width: right - left,
        max_lines,
    };

    // Heading across the slip, in a fixed height: who issues it and for which campaign.
    let baseline = top - 7.5 * 0.72;
    across(Face::Bold, 7.5, 1).set_down(page, left, baseline, &instansi_name.to_uppercase());
    across(Face::Regular, 7.5, 2).set_down(page, left, baseline - 9.5, campaign_title);
    let rule_y = top - 31.0;
    page.rule(left, right, rule_y, 0.4);

    // The link in print along the bottom, for a phone that cannot scan. A link too long
    // for one line breaks between letters onto the next; four lines hold more than the
    // longest text a QR code of version 11 can.
    let link = across(Face::Regular, 6.5, 4);
    let link_top = link.set_up(page, left, y + PAD, &format!("Tautan: {}", slip.link));

    // The QR code on the right, centred between the rule and the link, its quiet zone
    // clear of both; to its right the quiet zone lies in the slip's padding.
    let body_top = rule_y - 2.0;
    let body_bottom = link_top + link.size;
    let block = QR_SIDE + 2.0 * quiet;
    let qr_x = right - QR_SIDE;
    let qr_top = body_top - ((body_top - body_bottom - block) / 2.0).max(0.0) - quiet;
    draw_qr(page, &code, qr_x, qr_top, module);

    // Who the slip is for, top down in the column left of the QR code; the instruction
    // sits at the column's foot, level with the QR code's last row.
    let column = |face, size, max_lines| Block {
        face,
        size,
        width: qr_x - quiet - GUTTER - left,
        max_lines,
    };
    let label = if looks_like_nip(slip.nip_display) {
        "NIP"
    } else {
        "Nomor pegawai"
    };
    let mut baseline = body_top - 6.0 - 10.5 * 0.72;
    baseline = column(Face::Bold, 10.5, 2).set_down(page, left, baseline, slip.name) - 1.5;
    let id = format!("{label} {}", slip.nip_display);
    baseline = column(Face::Regular, 9.0, 2).set_down(page, left, baseline, &id) - 1.5;
    column(Face::Regular, 8.5, 2).set_down(page, left, baseline, slip.unit);
    column(Face::Regular, 7.5, 4).set_up(page, left, qr_top - QR_SIDE + 1.0, INSTRUCTION);
    Ok(())
}

/// Text confined to a width and a number of lines; what does not fit is shortened with
/// an ellipsis (see [`fit`]).
#[derive(Clone, Copy)]
struct Block {
    face: Face,
    size: f32,
    width: f32,
    max_lines: usize,
}

impl Block {
    fn leading(self) -> f32 {
        self.size * 1.2
    }

    /// Sets `text` from baseline `y` down; returns the baseline below the last line.
    fn set_down(self, page: &mut Page, x: f32, y: f32, text: &str) -> f32 {
        let lines = fit(text, self.face, self.size, self.width, self.max_lines);
        self.set_lines(page, x, y, lines)
    }

    /// Sets `text` so that its last line's baseline is `y`; returns the first line's.
    fn set_up(self, page: &mut Page, x: f32, y: f32, text: &str) -> f32 {
        let lines = fit(text, self.face, self.size, self.width, self.max_lines);
        let first = y + lines.len().saturating_sub(1) as f32 * self.leading();
        self.set_lines(page, x, first, lines);
        first
    }

    fn set_lines(self, page: &mut Page, x: f32, y: f32, lines: Vec<String>) -> f32 {
        let mut y = y;
        for text in lines {
            page.lines.push(TextLine {
                face: self.face,
                size: self.size,
                x,
                y,
                text,
                word_spacing: 0.0,
                tag: None,
            });
            y -= self.leading();
        }
        y
    }
}

/// `text` wrapped to `width`, at most `max_lines` lines; a cut-off last line ends in "…".
fn fit(text: &str, face: Face, size: f32, width: f32, max_lines: usize) -> Vec<String> {
    let text = printable(text);
    let mut lines = wrap(&text, face, size, width);
    if lines.len() <= max_lines {
        return lines;
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        let ellipsis = "\u{2026}";
        loop {
            let kept = last.trim_end_matches([' ', ',', '.', ';', ':', '-']);
            if kept.is_empty() || face.measure(&format!("{kept}{ellipsis}"), size) <= width {
                *last = format!("{kept}{ellipsis}");
                break;
            }
            last.pop();
        }
    }
    lines
}

/// Dashed grey lines between the slips of a sheet holding `count` slips, where the sheet
/// is to be cut. The sheet's own edges need no line.
fn cut_lines(page: &mut Page, count: usize) {
    let rows = count.div_ceil(COLUMNS);
    let g = &mut page.graphics;
    g.push(Op::SaveGraphicsState);
    g.push(Op::SetOutlineColor {
        col: Color::Greyscale(Greyscale {
            percent: 0.55,
            icc_profile: None,
        }),
    });
    g.push(Op::SetOutlineThickness { pt: Pt(0.4) });
    g.push(Op::SetLineDashPattern {
        dash: LineDashPattern::new(0.0, &[4.0, 3.0]),
    });
    let mut line = |x0: f32, y0: f32, x1: f32, y1: f32| {
        g.push(Op::DrawLine {
            line: Line {
                points: vec![point(x0, y0), point(x1, y1)],
                is_closed: false,
            },
        });
    };
    let bottom = PAGE_H - rows as f32 * SLIP_H;
    line(SLIP_W, PAGE_H, SLIP_W, bottom);
    for r in 1..=rows.min(ROWS - 1) {
        let y = PAGE_H - r as f32 * SLIP_H;
        line(0.0, y, PAGE_W, y);
    }
    g.push(Op::RestoreGraphicsState);
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests;

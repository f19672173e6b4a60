//! The receipt's QR code (SPEC 3.3): alphanumeric mode, error correction M, at most version
//! 11, as a module matrix ready to be drawn. Pure: text in, modules out.
//!
//! `qrcode` does the standard work (segment bits, Reed–Solomon codewords, function patterns,
//! data placement). Choosing the mask is done here: `qrcode` scores each of the eight masks
//! on a full module canvas, which is most of its ~1.4 ms per code. A version ≤ 11 code is at
//! most 61 modules wide, so every row fits in one `u64` and the ISO 18004 penalty rules
//! become a handful of bit operations per row. The 30 format-information modules are left
//! out of the score (they are drawn only once the mask is chosen); the penalty-based choice
//! is a recommendation of the standard, and every decoder reads any mask.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::{EcLevel, Version};

/// Highest version SPEC 3.3 allows.
pub const MAX_VERSION: u8 = 11;

/// Data codewords per version at error correction M (ISO 18004 table 7), versions 1..=11.
const DATA_CODEWORDS_M: [usize; MAX_VERSION as usize] =
    [16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254];

/// The 45 characters of QR alphanumeric mode.
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    #[error(
        "character {found:?} at byte {at} is not in QR alphanumeric mode (0-9, A-Z, space, $%*+-./:)"
    )]
    NotAlphanumeric { at: usize, found: char },
    #[error(
        "{len} characters need a QR version above {MAX_VERSION}; at most {max} fit in version {MAX_VERSION} at error correction M"
    )]
    TooLong { len: usize, max: usize },
    #[error("QR encoding failed: {0}")]
    Encoding(String),
}

/// A QR code's modules, encoded with error correction M, alphanumeric mode (the text is all
/// uppercase per SPEC 3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    version: u8,
    width: usize,
    /// One word per row; bit `x` set = dark module at column `x`.
    rows: Vec<u64>,
}

/// Encodes `text` as the smallest QR code of version ≤ 11 at error correction M.
pub fn encode(text: &str) -> Result<QrMatrix, QrError> {
    if let Some((at, found)) = text
        .char_indices()
        .find(|&(_, c)| !c.is_ascii() || !ALPHANUMERIC.contains(&(c as u8)))
    {
        return Err(QrError::NotAlphanumeric { at, found });
    }
    let len = text.len();
    let version = (1..=MAX_VERSION)
        .find(|&v| alphanumeric_bits(v, len) <= DATA_CODEWORDS_M[usize::from(v) - 1] * 8)
        .ok_or(QrError::TooLong {
            len,
            max: max_chars(MAX_VERSION),
        })?;
    let qr_version = Version::Normal(i16::from(version));
    let failed = |e: qrcode::types::QrError| QrError::Encoding(e.to_string());

    let mut bits = Bits::new(qr_version);
    bits.push_alphanumeric_data(text.as_bytes())
        .map_err(failed)?;
    bits.push_terminator(EcLevel::M).map_err(failed)?;
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), qr_version, EcLevel::M)
        .map_err(failed)?;
    let mut canvas = Canvas::new(qr_version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);

    let width = 17 + 4 * usize::from(version);
    let mask = best_mask(&canvas, width);
    canvas.apply_mask(mask);
    let rows = (0..width)
        .map(|y| {
            (0..width).fold(0u64, |row, x| {
                row | (u64::from(module(&canvas, x, y).is_dark()) << x)
            })
        })
        .collect();
    Ok(QrMatrix {
        version,
        width,
        rows,
    })
}

impl QrMatrix {
    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    /// Whether the module at column `x`, row `y` (from the top left) is dark; false outside.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && self.rows.get(y).is_some_and(|row| row >> x & 1 == 1)
    }

    /// Horizontal runs of dark modules per row: (x, y, length) — one rectangle each when
    /// drawing.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::with_capacity(self.width * self.width / 4);
        for (y, &row) in self.rows.iter().enumerate() {
            let mut rest = row;
            while rest != 0 {
                let x = rest.trailing_zeros() as usize;
                let len = (!(rest >> x)).trailing_zeros() as usize;
                runs.push((x, y, len));
                // `len` < 64 because a row is at most 61 modules wide.
                rest &= !(((1u64 << len) - 1) << x);
            }
        }
        runs
    }
}

/// Bits of an alphanumeric segment of `len` characters plus its header, in a `version` code.
fn alphanumeric_bits(version: u8, len: usize) -> usize {
    let count_bits = if version <= 9 { 9 } else { 11 };
    4 + count_bits + 11 * (len / 2) + 6 * (len % 2)
}

/// Most alphanumeric characters that fit in `version` at error correction M.
fn max_chars(version: u8) -> usize {
    let capacity = DATA_CODEWORDS_M[usize::from(version) - 1] * 8;
    (0..)
        .take_while(|&n| alphanumeric_bits(version, n) <= capacity)
        .last()
        .unwrap_or(0)
}

fn module(canvas: &Canvas, x: usize, y: usize) -> Module {
    // Coordinates are below 61 (version ≤ 11), so they fit in i16.
    canvas.get(x as i16, y as i16)
}

/// The mask with the lowest ISO 18004 penalty (N1–N4), ties to the lower pattern number.
fn best_mask(canvas: &Canvas, width: usize) -> MaskPattern {
    // Function patterns are fixed; data modules (and still-empty ones, which `apply_mask`
    // treats as light data) flip where the mask pattern is dark.
    let mut fixed = vec![0u64; width];
    let mut maskable = vec![0u64; width];
    for y in 0..width {
        for x in 0..width {
            match module(canvas, x, y) {
                Module::Masked(c) => fixed[y] |= u64::from(c == qrcode::Color::Dark) << x,
                Module::Unmasked(c) => {
                    fixed[y] |= u64::from(c == qrcode::Color::Dark) << x;
                    maskable[y] |= 1 << x;
                }
                Module::Empty => maskable[y] |= 1 << x,
            }
        }
    }
    let mut best = (u32::MAX, MaskPattern::Checkerboard);
    let mut rows = vec![0u64; width];
    let mut cols = vec![0u64; width];
    for (n, &pattern) in MASKS.iter().enumerate() {
        for y in 0..width {
            rows[y] = fixed[y] ^ (maskable[y] & MASK_ROWS[n][y % 12]);
        }
        transpose(&rows, &mut cols);
        let score = penalty(&rows, &cols, width);
        if score < best.0 {
            best = (score, pattern);
        }
    }
    best.1
}

/// Mask patterns repeat every 12 rows (lcm of their periods 2, 3, 4 and 6), so each is kept
/// as 12 rows of 64 columns: bit `x` of `MASK_ROWS[n][y % 12]` is set where ISO 18004
/// table 10's condition for pattern `n` holds.
const MASK_ROWS: [[u64; 12]; 8] = mask_rows();

const fn mask_rows() -> [[u64; 12]; 8] {
    let mut out = [[0u64; 12]; 8];
    let mut n = 0;
    while n < 8 {
        let mut y = 0;
        while y < 12 {
            let mut x = 0;
            while x < 64 {
                let hit = match n {
                    0 => (x + y) % 2 == 0,
                    1 => y % 2 == 0,
                    2 => x % 3 == 0,
                    3 => (x + y) % 3 == 0,
                    4 => (x / 3 + y / 2) % 2 == 0,
                    5 => (x * y) % 2 + (x * y) % 3 == 0,
                    6 => ((x * y) % 2 + (x * y) % 3) % 2 == 0,
                    _ => ((x + y) % 2 + (x * y) % 3) % 2 == 0,
                };
                if hit {
                    out[n][y] |= 1 << x;
                }
                x += 1;
            }
            y += 1;
        }
        n += 1;
    }
    out
}

fn transpose(rows: &[u64], cols: &mut [u64]) {
    cols.fill(0);
    for (y, &row) in rows.iter().enumerate() {
        let mut rest = row;
        while rest != 0 {
            let x = rest.trailing_zeros() as usize;
            cols[x] |= 1 << y;
            rest &= rest - 1;
        }
    }
}

/// ISO 18004 §7.8.3 penalty of a masked symbol, given its rows and columns as bit lines.
fn penalty(rows: &[u64], cols: &[u64], width: usize) -> u32 {
    let all = (1u64 << width) - 1;
    let mut score = 0;
    for line in rows.iter().chain(cols) {
        score += runs_penalty(*line, width) + finder_penalty(*line, width);
    }
    // N2: 3 points per 2×2 block of one colour.
    for pair in rows.windows(2) {
        let vertical_same = !(pair[0] ^ pair[1]);
        let horizontal_same = !(pair[0] ^ (pair[0] >> 1));
        let blocks = vertical_same & (vertical_same >> 1) & horizontal_same & (all >> 1);
        score += 3 * blocks.count_ones();
    }
    // N4: 10 points per full 5 % that the dark share deviates from 50 %.
    let dark: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let total = (width * width) as u32;
    let percent = dark * 100 / total;
    score + 10 * (percent.abs_diff(50) / 5)
}

/// N1: a run of k ≥ 5 modules of one colour costs k − 2.
fn runs_penalty(line: u64, width: usize) -> u32 {
    // Bit i of `same` says modules i and i+1 match; a run of k modules is k − 1 such bits,
    // and `long` keeps the k − 4 positions that start four matches in a row.
    let same = !(line ^ (line >> 1)) & ((1u64 << (width - 1)) - 1);
    let long = same & (same >> 1) & (same >> 2) & (same >> 3);
    let starts = long & !(long << 1);
    long.count_ones() + 2 * starts.count_ones()
}

/// N3: 40 points per 1:1:3:1:1 finder-like pattern with four light modules on one side.
fn finder_penalty(line: u64, width: usize) -> u32 {
    const PATTERNS: [u16; 2] = [0b000_0101_1101, 0b101_1101_0000];
    if width < 11 {
        return 0;
    }
    let positions = (1u64 << (width - 10)) - 1;
    let count: u32 = PATTERNS
        .iter()
        .map(|&pattern| {
            let hits = (0..11).fold(positions, |acc, j| {
                let bit = if pattern >> j & 1 == 1 { line } else { !line };
                acc & (bit >> j)
            });
            hits.count_ones()
        })
        .sum();
    40 * count
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// `HTTPS://` + host + `/V/` + the base32 of a record of `record_len` bytes.
    pub(crate) fn sample_text(host: &str, record_len: usize) -> String {
        let bytes: Vec<u8> = (0..record_len).map(|i| (i * 37 + 11) as u8).collect();
        let b32 = data_encoding::BASE32_NOPAD.encode(&bytes);
        format!("HTTPS://{}/V/{b32}", host.to_ascii_uppercase())
    }

    /// Runs `zbarimg` on an image and returns the decoded QR texts.
    pub(crate) fn zbar_decode(image: &Path) -> Vec<String> {
        let out = Command::new("zbarimg")
            .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
            .arg(image)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run zbarimg ({e}): install Debian's zbar-tools \
                     (apt-get install -y zbar-tools) to run this test"
                )
            });
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A binary PGM of the code with a 4-module quiet zone, `scale` pixels per module.
    fn pgm(qr: &QrMatrix, scale: usize) -> Vec<u8> {
        let side = (qr.width() + 8) * scale;
        let mut out = format!("P5\n{side} {side}\n255\n").into_bytes();
        for py in 0..side {
            for px in 0..side {
                let (x, y) = ((px / scale).wrapping_sub(4), (py / scale).wrapping_sub(4));
                out.push(if qr.is_dark(x, y) { 0 } else { 255 });
            }
        }
        out
    }

    #[test]
    fn decodes_with_zbar_at_every_record_length() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = ["ikrar.surakarta.go.id", "127.0.0.1:8080", "a.id"];
        for (i, record_len) in [105, 110, 118, 124, 130].into_iter().enumerate() {
            let text = sample_text(hosts[i % hosts.len()], record_len);
            let qr = encode(&text).unwrap();
            assert!(qr.version() <= MAX_VERSION);
            let path = dir.path().join(format!("qr{record_len}.pgm"));
            std::fs::write(&path, pgm(&qr, 4)).unwrap();
            assert_eq!(
                zbar_decode(&path),
                vec![text.clone()],
                "version {}",
                qr.version()
            );
        }
    }

    #[test]
    fn decodes_the_longest_text_version_11_holds() {
        let max = max_chars(MAX_VERSION);
        assert_eq!(
            max, 366,
            "ISO 18004 table 7: version 11-M holds 366 alphanumerics"
        );
        let mut text = "HTTPS://IKRAR.EXAMPLE/V/".to_owned() + &"Q7".repeat(max / 2);
        text.truncate(max);
        assert_eq!(text.len(), max);
        let qr = encode(&text).unwrap();
        assert_eq!((qr.version(), qr.width()), (11, 61));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("max.pgm");
        std::fs::write(&path, pgm(&qr, 3)).unwrap();
        assert_eq!(zbar_decode(&path), vec![text]);
    }

    #[test]
    fn refuses_text_that_needs_version_12() {
        let text = "A".repeat(max_chars(MAX_VERSION) + 1);
        let e = encode(&text).unwrap_err();
        assert_eq!(e, QrError::TooLong { len: 367, max: 366 });
        assert!(e.to_string().contains("above 11"), "{e}");
    }

    #[test]
    fn refuses_lowercase_and_non_alphanumeric_text() {
        assert_eq!(
            encode("HTTPS://X/v/AB").unwrap_err(),
            QrError::NotAlphanumeric { at: 10, found: 'v' }
        );
        assert!(matches!(
            encode("HTTPS://É"),
            Err(QrError::NotAlphanumeric { at: 8, .. })
        ));
    }

    #[test]
    fn picks_the_smallest_version() {
        assert_eq!(encode("HELLO WORLD").unwrap().version(), 1);
        // 130-byte record on a typical host: 8 + 21 + 3 + 208 = 240 characters.
        let text = sample_text("ikrar.surakarta.go.id", 130);
        assert_eq!(text.len(), 240);
        assert_eq!(encode(&text).unwrap().version(), 9);
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let qr = encode(&sample_text("ikrar.example", 120)).unwrap();
        let mut seen = vec![vec![false; qr.width()]; qr.width()];
        for (x, y, len) in qr.runs() {
            assert!(len > 0);
            assert!(
                x == 0 || !qr.is_dark(x - 1, y),
                "run at ({x},{y}) is not maximal"
            );
            assert!(!qr.is_dark(x + len, y), "run at ({x},{y}) is not maximal");
            for cell in &mut seen[y][x..x + len] {
                *cell = true;
            }
        }
        for (y, row) in seen.iter().enumerate() {
            for (x, &covered) in row.iter().enumerate() {
                assert_eq!(covered, qr.is_dark(x, y), "({x},{y})");
            }
        }
    }

    #[test]
    fn finder_patterns_are_in_the_corners() {
        let qr = encode("HTTPS://IKRAR.EXAMPLE/V/ABC").unwrap();
        let w = qr.width();
        for (cx, cy) in [(0, 0), (w - 7, 0), (0, w - 7)] {
            for d in 0..7 {
                assert!(qr.is_dark(cx + d, cy) && qr.is_dark(cx, cy + d));
            }
            assert!(qr.is_dark(cx + 3, cy + 3));
            assert!(!qr.is_dark(cx + 1, cy + 1));
        }
    }

    #[test]
    fn penalty_rules_count_known_patterns() {
        // One run of 7 dark modules in a 21-wide light line: runs of 7 (dark) and 14 (light).
        assert_eq!(runs_penalty(0b111_1111, 21), 5 + 12);
        // 1011101 at x = 0 followed by light modules: one hit (nothing light precedes it).
        assert_eq!(finder_penalty(0b101_1101, 21) / 40, 1);
    }

    #[test]
    fn mask_choice_matches_the_penalty_minimum() {
        // The chosen mask must score no worse than any other, recomputed independently
        // through qrcode's own canvas with the format information drawn.
        let text = sample_text("ikrar.surakarta.go.id", 118);
        let qr = encode(&text).unwrap();
        let w = qr.width();
        let rows: Vec<u64> = (0..w)
            .map(|y| (0..w).fold(0, |r, x| r | (u64::from(qr.is_dark(x, y)) << x)))
            .collect();
        let mut cols = vec![0; w];
        transpose(&rows, &mut cols);
        let chosen = penalty(&rows, &cols, w);
        let reference = qrcode::QrCode::with_error_correction_level(&text, EcLevel::M).unwrap();
        assert_eq!(reference.width(), w);
        let colors = reference.to_colors();
        let ref_rows: Vec<u64> = (0..w)
            .map(|y| {
                (0..w).fold(0, |r, x| {
                    r | (u64::from(colors[y * w + x] == qrcode::Color::Dark) << x)
                })
            })
            .collect();
        let mut ref_cols = vec![0; w];
        transpose(&ref_rows, &mut ref_cols);
        let theirs = penalty(&ref_rows, &ref_cols, w);
        // Format modules are not scored when choosing, so allow their small influence.
        assert!(chosen <= theirs + 60, "chosen {chosen}, qrcode's {theirs}");
    }
}

/// The code as an SVG (one path; each horizontal run of dark modules a rectangle), with the
/// 4-module quiet zone, for showing on screen.
pub fn to_svg(m: &QrMatrix) -> String {
    use std::fmt::Write;
    let side = m.width() + 8;
    let mut path = String::with_capacity(m.width() * m.width());
    for (x, y, len) in m.runs() {
        let _ = write!(path, "M{} {}h{len}v1h-{len}z", x + 4, y + 4);
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"Kode QR verifikasi\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    )
}

#[cfg(test)]
mod svg_tests {
    use super::*;

    #[test]
    fn svg_has_one_rectangle_per_run_inside_a_quiet_zone() {
        let m = encode("HTTPS://IKRAR.EXAMPLE/V/ABCDEF").expect("encodes");
        let svg = to_svg(&m);
        assert_eq!(svg.matches('z').count(), m.runs().len());
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", m.width() + 8)));
    }
}

//! c2sp.org/tlog-tiles coordinates: which tile a path names and which stored hashes or
//! entries it holds. Pure: the store reads the ranges these coordinates describe.
//!
//! The tile at level `L`, index `N` and width `W` holds the Merkle tree hashes of the
//! perfect subtrees of height `8·L` with indexes `N·256 .. N·256 + W` (RFC 9162 §2.1) — the
//! nodes the log already stores at tree level `8·L`. Full tiles have `W = 256`; the
//! rightmost tiles of a tree are partial (`.p/<W>`, `W` in 1–255). The entry bundle with
//! index `N` holds the records `N·256 .. N·256 + W`, each behind its big-endian uint16
//! length.

use std::fmt;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;

/// Tree levels one tile level spans.
pub const LEVELS_PER_TILE: u8 = 8;

/// The highest tile level a path may name (tlog-tiles: 0–63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// A hash tile or an entry bundle, by its coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Tile level; entry bundles are at level 0.
    pub level: u8,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes (or entries): 1–256, 256 for a full tile.
    pub width: u16,
}

/// What a path under `<prefix>/tile/` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileRequest {
    Hashes(Tile),
    Entries(Tile),
}

/// Why a path is not a canonical tlog-tiles path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("the level must be 0–63 without leading zeros")]
    Level,
    #[error(
        "the index must be 3-digit groups, all but the last prefixed with x, without leading zero groups"
    )]
    Index,
    #[error("the width of a partial tile must be 1–255 without leading zeros")]
    Width,
}

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tree level of the hashes in this tile, or `None` for levels no log of at most
    /// 2^64 − 1 entries can reach.
    pub fn node_level(&self) -> Option<u8> {
        let level = self.level.checked_mul(LEVELS_PER_TILE)?;
        (level < 64).then_some(level)
    }

    /// Indexes `[start, end)` of the tile's items among the nodes (or entries) of its
    /// level, or `None` when they overflow u64 (such a tile is past every tree).
    pub fn item_range(&self) -> Option<(u64, u64)> {
        let start = self.index.checked_mul(u64::from(TILE_WIDTH))?;
        let end = start.checked_add(u64::from(self.width))?;
        Some((start, end))
    }

    /// Whether a tree of `size` leaves holds every item of this tile.
    pub fn within(&self, size: u64) -> bool {
        match (self.node_level(), self.item_range()) {
            (Some(level), Some((_, end))) => end <= size >> level,
            _ => false,
        }
    }

    /// The path below `<prefix>/tile/` of this hash tile: `<L>/<N>[.p/<W>]`.
    pub fn hash_path(&self) -> String {
        format!("{}/{}", self.level, self.index_path())
    }

    /// The path below `<prefix>/tile/` of this entry bundle: `entries/<N>[.p/<W>]`.
    pub fn entries_path(&self) -> String {
        format!("entries/{}", self.index_path())
    }

    fn index_path(&self) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut out = String::new();
        for (i, g) in groups.iter().rev().enumerate() {
            if i > 0 {
                out.push('/');
            }
            if i + 1 < groups.len() {
                out.push('x');
            }
            out.push_str(&format!("{g:03}"));
        }
        if !self.is_full() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }
}

impl fmt::Display for TileRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TileRequest::Hashes(t) => write!(f, "tile/{}", t.hash_path()),
            TileRequest::Entries(t) => write!(f, "tile/{}", t.entries_path()),
        }
    }
}

/// The tiles a tree of `size` leaves consists of: for each level with items, its full
/// tiles and (when the level's item count is not a multiple of 256) one partial tile.
pub fn tiles_of(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let Some(shift) = level.checked_mul(LEVELS_PER_TILE).filter(|s| *s < 64) else {
            break;
        };
        let items = size >> shift;
        if items == 0 {
            break;
        }
        let full = items / u64::from(TILE_WIDTH);
        out.extend((0..full).map(|index| Tile {
            level,
            index,
            width: TILE_WIDTH,
        }));
        let rest = (items % u64::from(TILE_WIDTH)) as u16;
        if rest > 0 {
            out.push(Tile {
                level,
                index: full,
                width: rest,
            });
        }
    }
    out
}

/// Parses the path below `<prefix>/tile/`, refusing every non-canonical spelling, so that
/// one tile has exactly one URL (and one cache entry).
pub fn parse_path(path: &str) -> Result<TileRequest, TilePathError> {
    let (level, rest) = path.split_once('/').ok_or(TilePathError::Index)?;
    let entries = level == "entries";
    let level = if entries { 0 } else { parse_level(level)? };
    let (index_part, width) = match rest.split_once(".p/") {
        Some((index, width)) => (index, parse_width(width)?),
        None => (rest, TILE_WIDTH),
    };
    let tile = Tile {
        level,
        index: parse_index(index_part)?,
        width,
    };
    Ok(if entries {
        TileRequest::Entries(tile)
    } else {
        TileRequest::Hashes(tile)
    })
}

fn is_plain_decimal(s: &str) -> bool {
    crate::tlog::note::canonical_decimal(s)
}

fn parse_level(s: &str) -> Result<u8, TilePathError> {
    if !is_plain_decimal(s) || s.len() > 2 {
        return Err(TilePathError::Level);
    }
    s.parse::<u8>()
        .ok()
        .filter(|l| *l <= MAX_TILE_LEVEL)
        .ok_or(TilePathError::Level)
}

fn parse_width(s: &str) -> Result<u16, TilePathError> {
    if !is_plain_decimal(s) || s.len() > 3 {
        return Err(TilePathError::Width);
    }
    s.parse::<u16>()
        .ok()
        .filter(|w| (1..TILE_WIDTH).contains(w))
        .ok_or(TilePathError::Width)
}

fn parse_index(s: &str) -> Result<u64, TilePathError> {
    let groups: Vec<&str> = s.split('/').collect();
    let last = groups.len() - 1;
    let mut n: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group.strip_prefix('x').ok_or(TilePathError::Index)?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TilePathError::Index);
        }
        let g: u64 = digits.parse().map_err(|_| TilePathError::Index)?;
        // A leading group of zeros would give one index a second spelling.
        if i == 0 && i < last && g == 0 {
            return Err(TilePathError::Index);
        }
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(g))
            .ok_or(TilePathError::Index)?;
    }
    Ok(n)
}

/// An entry bundle: each record behind its length as a big-endian uint16.
pub fn entry_bundle<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, EntryTooLong> {
    let mut out = Vec::new();
    for r in records {
        let len = u16::try_from(r.len()).map_err(|_| EntryTooLong(r.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(r);
    }
    Ok(out)
}

/// A record too long for an entry bundle's uint16 length prefix.
#[derive(Debug, thiserror::Error)]
#[error("an entry of {0} bytes does not fit an entry bundle")]
pub struct EntryTooLong(pub usize);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hashes(level: u8, index: u64, width: u16) -> TileRequest {
        TileRequest::Hashes(Tile {
            level,
            index,
            width,
        })
    }

    #[test]
    fn encodes_the_spec_example_index() {
        let t = Tile {
            level: 0,
            index: 1_234_067,
            width: 256,
        };
        assert_eq!(t.hash_path(), "0/x001/x234/067");
        assert_eq!(t.entries_path(), "entries/x001/x234/067");
        let p = Tile { width: 5, ..t };
        assert_eq!(p.hash_path(), "0/x001/x234/067.p/5");
        assert_eq!(Tile { index: 0, ..t }.hash_path(), "0/000");
        assert_eq!(Tile { index: 1000, ..t }.hash_path(), "0/x001/000");
    }

    #[test]
    fn parses_hash_tiles_and_entry_bundles() {
        assert_eq!(parse_path("0/000"), Ok(hashes(0, 0, 256)));
        assert_eq!(parse_path("3/x001/x234/067"), Ok(hashes(3, 1_234_067, 256)));
        assert_eq!(parse_path("1/067.p/255"), Ok(hashes(1, 67, 255)));
        assert_eq!(parse_path("63/001.p/1"), Ok(hashes(63, 1, 1)));
        assert_eq!(
            parse_path("entries/x002/000.p/17"),
            Ok(TileRequest::Entries(Tile {
                level: 0,
                index: 2000,
                width: 17
            }))
        );
    }

    #[test]
    fn refuses_non_canonical_paths() {
        for bad in [
            "",
            "0",
            "0/",
            "00/000",
            "01/000",
            "64/000",
            "-1/000",
            "+1/000",
            "a/000",
            "0/0",
            "0/00",
            "0/0000",
            "0/67",
            "0/x067",
            "0/x000/067",
            "0/001/067",
            "0/x1/067",
            "0/x001/67",
            "0/X001/067",
            "0/x001//067",
            "0/067/",
            "0/067.p/0",
            "0/067.p/256",
            "0/067.p/05",
            "0/067.p/",
            "0/067.p",
            "0/067.p/5/",
            "0/067.p/5.p/5",
            "0/06a",
            "0/x018/x446/x744/x073/x709/x551/616",
            "entries/x000/001",
            "Entries/001",
            "entries/1",
        ] {
            assert!(parse_path(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_largest_index_round_trips_and_one_more_is_refused() {
        let t = Tile {
            level: 0,
            index: u64::MAX,
            width: 256,
        };
        assert_eq!(t.hash_path(), "0/x018/x446/x744/x073/x709/x551/615");
        assert_eq!(parse_path(&t.hash_path()), Ok(TileRequest::Hashes(t)));
    }

    #[test]
    fn lists_the_tiles_of_the_specs_example_tree() {
        // tlog-tiles: a tree of 70,000 leaves has 273 full level-0 tiles, a partial one of
        // width 112, one full level-1 tile, a partial one of width 17 and a partial level-2
        // tile of width 1.
        let tiles = tiles_of(70_000);
        let level = |l: u8| tiles.iter().filter(move |t| t.level == l);
        assert_eq!(level(0).filter(|t| t.is_full()).count(), 273);
        assert_eq!(level(0).find(|t| !t.is_full()).map(|t| t.width), Some(112));
        assert_eq!(level(1).filter(|t| t.is_full()).count(), 1);
        assert_eq!(level(1).find(|t| !t.is_full()).map(|t| t.width), Some(17));
        assert_eq!(
            level(2).map(|t| (t.index, t.width)).collect::<Vec<_>>(),
            [(0, 1)]
        );
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        // A tree of 256 leaves: one full level-0 tile and a level-1 tile of width 1.
        assert_eq!(
            tiles_of(256),
            [
                Tile {
                    level: 0,
                    index: 0,
                    width: 256
                },
                Tile {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        assert!(tiles_of(0).is_empty());
    }

    #[test]
    fn a_tile_is_within_a_tree_only_when_every_item_exists() {
        let t = |level, index, width| Tile {
            level,
            index,
            width,
        };
        assert!(t(0, 0, 5).within(5));
        assert!(!t(0, 0, 6).within(5));
        assert!(t(0, 0, 256).within(256));
        assert!(!t(0, 1, 1).within(256));
        assert!(t(1, 0, 1).within(256));
        assert!(!t(1, 0, 2).within(511));
        assert!(t(1, 0, 2).within(512));
        assert!(!t(8, 0, 1).within(u64::MAX));
        assert!(!t(0, u64::MAX, 256).within(u64::MAX));
    }

    #[test]
    fn bundles_prefix_each_entry_with_its_length() {
        let b = entry_bundle([&b"ab"[..], &b""[..], &[7u8; 300][..]]).expect("short entries");
        assert_eq!(&b[..4], &[0, 2, b'a', b'b']);
        assert_eq!(&b[4..6], &[0, 0]);
        assert_eq!(&b[6..8], &300u16.to_be_bytes());
        assert_eq!(b.len(), 8 + 300);
        assert!(entry_bundle([&vec![0u8; 65_536][..]]).is_err());
    }

    proptest! {
        #[test]
        fn paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256, entries in any::<bool>()) {
            let tile = Tile { level: if entries { 0 } else { level }, index, width };
            let (path, want) = if entries {
                (tile.entries_path(), TileRequest::Entries(tile))
            } else {
                (tile.hash_path(), TileRequest::Hashes(tile))
            };
            prop_assert_eq!(parse_path(&path), Ok(want));
        }

        #[test]
        fn any_string_that_parses_is_the_canonical_spelling(s in "(entries|[0-9]{1,2})/(x[0-9]{3}/){0,2}[0-9]{1,4}(\\.p/[0-9]{1,3})?") {
            if let Ok(req) = parse_path(&s) {
                prop_assert_eq!(req.to_string(), format!("tile/{s}"));
            }
        }

        #[test]
        fn tiles_of_cover_exactly_the_tree(size in 0u64..5_000_000) {
            for t in tiles_of(size) {
                prop_assert!(t.within(size));
                let (_, end) = t.item_range().expect("small");
                let level_items = size >> (8 * u32::from(t.level));
                if t.is_full() {
                    prop_assert!(end <= level_items);
                } else {
                    prop_assert_eq!(end, level_items);
                }
            }
        }
    }
}

//! The log as c2sp.org/tlog-tiles (SPEC 3.5): hash tiles read from the stored node hashes
//! (never a rebuild of the tree) and entry bundles, which hold every NIP and name and so
//! are for `log-auditor` accounts only.

use crate::domain::account::Role;
use crate::service::{ServiceError, ServiceResult};
use crate::store::Store;
use crate::tlog::tiles::{Tile, TilePathError, TileRequest, entry_bundle, parse_path};

/// A tile's bytes and whether the tile is full (immutable forever) or partial.
#[derive(Debug)]
pub struct TileBody {
    pub bytes: bytes::Bytes,
    pub full: bool,
}

/// What the path below `/log/tile/` names, or 404: a non-canonical path names no tile.
pub fn parse(path: &str) -> ServiceResult<TileRequest> {
    parse_path(path).map_err(|e: TilePathError| {
        ServiceError::not_found(
            "tile_not_found",
            format!("Alamat tile tidak sah menurut c2sp.org/tlog-tiles: {e}."),
        )
    })
}

fn past_the_tree() -> ServiceError {
    ServiceError::not_found(
        "tile_not_found",
        "Tile ini belum ada: log belum sebesar itu.",
    )
}

/// The hash tile: 32 bytes per stored node hash at tree level 8·L. A tile any of whose
/// hashes is not stored yet (past the tree) is not found; a partial tile of any width the
/// tree covers is served, since every width was the right edge of some checkpoint's tree
/// or is a prefix of one, and stored hashes never change.
pub async fn hash_tile(store: &dyn Store, tile: Tile) -> ServiceResult<TileBody> {
    let (Some(level), Some((start, end))) = (tile.node_level(), tile.item_range()) else {
        return Err(past_the_tree());
    };
    if end > i64::MAX as u64 {
        return Err(past_the_tree());
    }
    let hashes = store.log_level_range(level, start, end).await?;
    if hashes.len() as u64 != end - start {
        return Err(past_the_tree());
    }
    Ok(TileBody {
        bytes: hashes.concat().into(),
        full: tile.is_full(),
    })
}

/// The entry bundle, for a caller of role `log-auditor`; any other role is told it does
/// not exist, as for records of another instansi.
pub async fn entry_bundle_for(
    store: &dyn Store,
    role: Role,
    tile: Tile,
) -> ServiceResult<TileBody> {
    if role != Role::LogAuditor {
        return Err(ServiceError::not_found(
            "not_found",
            "Data yang diminta tidak ditemukan.",
        ));
    }
    let Some((start, end)) = tile.item_range().filter(|(_, end)| *end <= i64::MAX as u64) else {
        return Err(past_the_tree());
    };
    let records = store.log_entries_range(start, end).await?;
    if records.len() as u64 != end - start {
        return Err(past_the_tree());
    }
    let bytes = entry_bundle(records.iter().map(Vec::as_slice))
        .map_err(|e| ServiceError::internal("building an entry bundle", e))?;
    Ok(TileBody {
        bytes: bytes.into(),
        full: tile.is_full(),
    })
}

//! The public log (SPEC 3.5): the latest signed checkpoint, c2sp.org/tlog-tiles hash tiles
//! and entry bundles, and RFC 9162 proofs.

use axum::Json;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::Caller;
use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::service::tiles::{self, TileBody};
use crate::service::verification::{self, Inclusion};
use crate::tlog::tiles::TileRequest;

/// The published checkpoint as a signed note (SPEC 3.5): the newest that the witness
/// policy accepts, with every cosignature gathered for it; without a policy, or before any
/// checkpoint met it, the newest log-signed one (before the first append, a signed empty
/// tree). Mutable, so cached for two seconds at most (tlog-tiles: "a few seconds").
pub async fn checkpoint(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    let note = state
        .reads
        .published(state.store.as_ref(), &state.keys, state.policy.as_deref())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=2"),
        ],
        note,
    ))
}

/// `GET /log/tile/<L>/<N>[.p/<W>]`: a hash tile, from the stored node hashes.
pub async fn hash_tile(State(state): State<AppState>, uri: Uri) -> AppResult<impl IntoResponse> {
    let TileRequest::Hashes(tile) = tiles::parse(tile_path(&uri))? else {
        // `/log/tile/entries/…` has its own route; no other path names a bundle.
        return Err(crate::http::auth::not_found());
    };
    let body = state.reads.hash_tile(state.store.as_ref(), tile).await?;
    Ok(tile_response(&body, "public"))
}

/// `GET /log/tile/entries/<N>[.p/<W>]`: an entry bundle, for `log-auditor` tokens only
/// (without credentials 401, any other role 404).
pub async fn entry_bundle(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> AppResult<impl IntoResponse> {
    let TileRequest::Entries(tile) = tiles::parse(tile_path(&uri))? else {
        return Err(crate::http::auth::not_found());
    };
    Ok(tile_response(
        &tiles::entry_bundle_for(state.store.as_ref(), caller.role, tile).await?,
        // Bundles hold every NIP and name: no shared cache may keep them.
        "private",
    ))
}

/// The path below `/log/tile/` as sent, not percent-decoded: `000%2Ep/1` is not a
/// canonical spelling of `000.p/1`, so it names no tile.
fn tile_path(uri: &Uri) -> &str {
    uri.path().strip_prefix("/log/tile/").unwrap_or_default()
}

/// Full tiles never change; a partial tile's bytes do not either, but it is replaced by
/// wider ones as the log grows, so caches keep it briefly.
fn tile_response(body: &TileBody, scope: &str) -> impl IntoResponse + use<> {
    let cache = if body.full {
        format!("{scope}, max-age=31536000, immutable")
    } else {
        format!("{scope}, max-age=60")
    };
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CACHE_CONTROL, cache),
        ],
        body.bytes.clone(),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// The tree size the proof leads to (at most the log's size).
    size: u64,
}

#[utoipa::path(get, path = "/api/v1/log/inclusion", tag = "log",
    params(InclusionQuery),
    responses(
        (status = 200, description = "An RFC 9162 inclusion proof.", body = Inclusion),
        (status = 400, description = "Malformed query, or an index or size the log does not have.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> AppResult<Json<Inclusion>> {
    Ok(Json(
        verification::inclusion(state.store.as_ref(), q.index, q.size).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    old: u64,
    /// The newer tree size (at most the log's size).
    new: u64,
}

/// An RFC 9162 consistency proof (SPEC 4.1).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    /// Base64 node hashes.
    pub hashes: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "An RFC 9162 consistency proof.", body = ConsistencyProof),
        (status = 400, description = "Malformed query, or sizes the log does not have.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> AppResult<Json<ConsistencyProof>> {
    Ok(Json(ConsistencyProof {
        old: q.old,
        new: q.new,
        hashes: verification::consistency(state.store.as_ref(), q.old, q.new).await?,
    }))
}

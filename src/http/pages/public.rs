//! Public pages: `/` (what this is, the NIP lookup form, how to scan) and `/cek?nip=`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::http::extract::{ApiQuery, ClientAddr};
use crate::http::pages::{html, page_error};
use crate::http::state::AppState;
use crate::service::verification::{self, LookupItem};

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    host: String,
}

pub async fn index(State(state): State<AppState>) -> Response {
    html(
        StatusCode::OK,
        IndexPage {
            host: state.public_url.host().to_string(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct CekQuery {
    #[serde(default)]
    nip: String,
}

#[derive(Template)]
#[template(path = "cek.html")]
struct CekPage {
    nip: String,
    pledges: Vec<LookupItem>,
}

pub async fn cek(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiQuery(q): ApiQuery<CekQuery>,
) -> Response {
    if let Err(e) = state.check_lookup_limit(client) {
        return page_error(e);
    }
    match verification::lookup(state.store.as_ref(), &q.nip).await {
        Ok(pledges) => html(
            StatusCode::OK,
            CekPage {
                nip: q.nip.trim().to_string(),
                pledges,
            },
        ),
        Err(e) => page_error(e.into()),
    }
}

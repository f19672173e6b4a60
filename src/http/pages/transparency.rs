//! The public transparency page (`/transparansi`, SPEC 4.3): for campaigns HR marked public,
//! how much each unit has signed, rolled up the unit tree — counts only, never a name or a
//! NIP, units under [`crate::domain::compliance::MIN_PUBLIC_UNIT`] people pooled (see
//! [`crate::domain::compliance::public_tree`]). Computed at most once per log size and
//! shared by every viewer; the page reloads itself while it is open.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::domain::instansi::waktu;
use crate::http::auth::not_found;
use crate::http::error::AppError;
use crate::http::extract::ApiPath;
use crate::http::pages::dashboard::{percent, thousands};
use crate::http::pages::{html, page_error};
use crate::http::state::AppState;

/// Depth classes the stylesheet indents; deeper lines share the last.
const MAX_DEPTH: usize = 5;

struct CampaignLink {
    id: i64,
    title: String,
    instansi: String,
    period: String,
}

#[derive(Template)]
#[template(path = "transparansi_list.html")]
struct ListPage {
    campaigns: Vec<CampaignLink>,
}

struct Line {
    depth: usize,
    name: String,
    signed: String,
    target: String,
    percent: String,
}

#[derive(Template)]
#[template(path = "transparansi.html")]
struct CampaignPage {
    title: String,
    instansi: String,
    period: String,
    closed: bool,
    signed: String,
    target: String,
    percent: String,
    lines: Vec<Line>,
}

fn public(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// `GET /transparansi`: the public campaigns.
pub async fn list(State(state): State<AppState>) -> Response {
    let page = async {
        let mut campaigns = Vec::new();
        for c in state.store.public_campaigns().await? {
            let Some(i) = state.store.instansi_by_id(c.instansi_id).await? else {
                continue;
            };
            campaigns.push(CampaignLink {
                id: c.id,
                title: c.title,
                instansi: i.name,
                period: format!(
                    "{} – {}",
                    waktu(i.tz.at(c.opens_at)),
                    waktu(i.tz.at(c.closes_at))
                ),
            });
        }
        Ok::<_, AppError>(ListPage { campaigns })
    }
    .await;
    match page {
        Ok(p) => public(html(StatusCode::OK, p)),
        Err(e) => page_error(e),
    }
}

/// `GET /transparansi/{id}`: one public campaign's counts per unit; any other is 404.
pub async fn campaign(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Response {
    let page = async {
        let c = state
            .store
            .campaign(id)
            .await?
            .filter(|c| c.public_enabled)
            .ok_or_else(not_found)?;
        let i = state
            .store
            .instansi_by_id(c.instansi_id)
            .await?
            .ok_or_else(not_found)?;
        let tree = state
            .live
            .screens
            .tree(state.store.as_ref(), &c, state.live.log.size())
            .await?;
        Ok::<_, AppError>(CampaignPage {
            title: c.title.clone(),
            instansi: i.name.clone(),
            period: format!(
                "{} – {}",
                waktu(i.tz.at(c.opens_at)),
                waktu(i.tz.at(c.closes_at))
            ),
            closed: c.closed_at.is_some(),
            signed: thousands(tree.signed),
            target: thousands(tree.target),
            percent: percent(tree.signed, tree.target),
            lines: tree
                .lines
                .iter()
                .map(|l| Line {
                    depth: l.depth.min(MAX_DEPTH),
                    name: l.name.clone(),
                    signed: thousands(l.signed),
                    target: thousands(l.target),
                    percent: percent(l.signed, l.target),
                })
                .collect(),
        })
    }
    .await;
    match page {
        Ok(p) => public(html(StatusCode::OK, p)),
        Err(e) => page_error(e),
    }
}

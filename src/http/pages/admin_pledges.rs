//! HR's pledge pages: find a pledge by NIP or name (`/admin/pledges?q=`), see it in full
//! (`/admin/pledges/{id}`), and annul it there (an instansi admin: category, reason, then a
//! confirmation step), through the same annulment use case as the API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::http::auth::{Caller, PageCaller, check_csrf};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ApiPath, ApiQuery};
use crate::http::pages::{html, respond};
use crate::http::state::AppState;
use crate::service::{ServiceError, pledge, pledge_search};
use crate::store::PledgeView;
use crate::tlog::record::ANNUL_CATEGORIES;

/// The annulment categories (SPEC 2) as HR reads them.
fn category_label(code: &str) -> &'static str {
    match code {
        "salah-orang" => "Salah orang",
        "paksaan" => "Ditandatangani di bawah paksaan",
        "ganda" => "Ganda",
        "lainnya" => "Lainnya",
        _ => "Tidak dikenal",
    }
}

pub struct PledgeLine {
    pub id: i64,
    pub name: String,
    pub nip: String,
    pub unit: String,
    pub campaign: String,
    pub signed_at: String,
    pub annulled: bool,
}

#[derive(Template)]
#[template(path = "admin/pledges.html")]
struct SearchPage {
    q: String,
    searched: bool,
    results: Vec<PledgeLine>,
    limit: i64,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn when(p: &PledgeView, t: i64) -> String {
    p.tz.at(t).format("%Y-%m-%d %H:%M").to_string()
}

/// `GET /admin/pledges?q=`: pledges of the caller's instansi by NIP or name.
pub async fn search(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Response {
    respond(
        async {
            let instansi_id = caller.instansi()?;
            let mut page = SearchPage {
                q: q.q.clone(),
                searched: false,
                results: Vec::new(),
                limit: pledge_search::LIMIT,
                error: None,
            };
            if q.q.trim().is_empty() {
                return Ok(html(StatusCode::OK, page));
            }
            page.searched = true;
            match pledge_search::search(state.store.as_ref(), instansi_id, &q.q).await {
                Ok(found) => {
                    page.results = found
                        .iter()
                        .map(|p| PledgeLine {
                            id: p.pledge_id,
                            name: p.name.clone(),
                            nip: pledge::display_number(p.kind, &p.number),
                            unit: p.unit_name.clone(),
                            campaign: p.campaign_title.clone(),
                            signed_at: when(p, p.signed_at),
                            annulled: p.annulled_at.is_some(),
                        })
                        .collect();
                    Ok(html(StatusCode::OK, page))
                }
                Err(ServiceError::Invalid(e)) => {
                    page.error = Some(e.message);
                    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
                }
                Err(e) => Err(e.into()),
            }
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "admin/pledge.html")]
struct PledgePage {
    csrf: String,
    can_annul: bool,
    id: i64,
    name: String,
    nip: String,
    kind: &'static str,
    unit: String,
    campaign_id: i64,
    campaign: String,
    template: String,
    signed_at: String,
    log_index: i64,
    annulled_at: Option<String>,
    annul_category: Option<&'static str>,
    annul_text: Option<String>,
    annul_log_index: Option<i64>,
    categories: Vec<(&'static str, &'static str)>,
    /// The form's input, kept after an error and shown again in the confirmation step.
    category: String,
    reason: String,
    confirm: bool,
    message: Option<String>,
    error: Option<String>,
}

impl PledgePage {
    /// Whether `code` is the category the form was sent with.
    fn chosen(&self, code: &str) -> bool {
        self.category == code
    }
}

#[derive(Default)]
struct FormState {
    category: String,
    reason: String,
    confirm: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn pledge_page(
    state: &AppState,
    caller: &Caller,
    id: i64,
    form: FormState,
) -> AppResult<PledgePage> {
    let p = pledge::view(state.store.as_ref(), caller.instansi()?, id).await?;
    Ok(PledgePage {
        csrf: caller.csrf.clone().unwrap_or_default(),
        can_annul: caller.role.can_annul(),
        id: p.pledge_id,
        name: p.name.clone(),
        nip: pledge::display_number(p.kind, &p.number),
        kind: p.kind.as_str(),
        unit: p.unit_name.clone(),
        campaign_id: p.campaign_id,
        campaign: p.campaign_title.clone(),
        template: format!("{} (versi {})", p.template_title, p.template_version),
        signed_at: when(&p, p.signed_at),
        log_index: p.log_index,
        annulled_at: p.annulled_at.map(|t| when(&p, t)),
        annul_category: p.annul_category.as_deref().map(category_label),
        annul_text: p.annul_text.clone(),
        annul_log_index: p.annul_log_index,
        categories: ANNUL_CATEGORIES
            .iter()
            .map(|c| (*c, category_label(c)))
            .collect(),
        category: form.category,
        reason: form.reason,
        confirm: form.confirm,
        message: form.message,
        error: form.error,
    })
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    ok: Option<String>,
}

/// `GET /admin/pledges/{id}`: the pledge in full for HR of its instansi.
pub async fn show(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DoneQuery>,
) -> Response {
    respond(
        async {
            let message = (q.ok.as_deref() == Some("dibatalkan")).then(|| {
                "Ikrar telah dibatalkan. Pembatalan dicatat di log transparansi dan jejak audit; \
                 pegawai ini dapat diundang kembali."
                    .to_string()
            });
            let form = FormState {
                message,
                ..FormState::default()
            };
            Ok(html(
                StatusCode::OK,
                pledge_page(&state, &caller, id, form).await?,
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
pub struct AnnulForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /admin/pledges/{id}/annul`: first the confirmation step (category and reason
/// shown again), then the annulment.
pub async fn annul(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm<AnnulForm>,
) -> Response {
    respond(
        async {
            check_csrf(&caller, &form.csrf)?;
            let kept = |error: Option<String>, confirm: bool| FormState {
                category: form.category.clone(),
                reason: form.reason.clone(),
                confirm,
                message: None,
                error,
            };
            if form.confirm.is_none() {
                let error = if !ANNUL_CATEGORIES.contains(&form.category.as_str()) {
                    Some("Pilih kategori pembatalan.".to_string())
                } else if form.reason.trim().is_empty() {
                    Some("Tulis alasan pembatalan.".to_string())
                } else {
                    None
                };
                let status = if error.is_some() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                };
                let confirm = error.is_none();
                return Ok(html(
                    status,
                    pledge_page(&state, &caller, id, kept(error, confirm)).await?,
                ));
            }
            let outcome = pledge::annul(
                state.store.as_ref(),
                &state.keys,
                &state.guard,
                &state.health,
                &state.live.log,
                caller.instansi()?,
                caller.role,
                id,
                &form.category,
                &form.reason,
                &caller.actor(),
            )
            .await;
            match outcome.map_err(AppError::from) {
                Ok(_) => {
                    Ok(Redirect::to(&format!("/admin/pledges/{id}?ok=dibatalkan")).into_response())
                }
                Err(e)
                    if e.status == StatusCode::UNPROCESSABLE_ENTITY
                        || e.status == StatusCode::CONFLICT =>
                {
                    Ok(html(
                        e.status,
                        pledge_page(&state, &caller, id, kept(Some(e.message), false)).await?,
                    ))
                }
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

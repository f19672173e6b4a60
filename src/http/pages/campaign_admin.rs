//! The admin pages that make and change a campaign without the CLI: the campaign form (target
//! units picked from the unit tree, the target count before creating), the edit form, the
//! confirmation step of closing and reissuing, and one issue of links that gives both its CSV
//! and its QR slips (`service::batches`).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::campaign::Phase;
use crate::domain::instansi::{TimeZone, waktu};
use crate::http::auth::{Caller, PageCaller, check_csrf, owned_campaign, tz_of};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{ApiForm, ApiPath};
use crate::http::pages::{html, respond};
use crate::http::state::AppState;
use crate::service::ServiceError;
use crate::service::audit::now;
use crate::service::batches::Batch;
use crate::service::campaign::{self, CampaignChange, CampaignInput};
use crate::service::invitation;
use crate::store::CampaignRow;

/// A URL-encoded form as its pairs: checkboxes of one name come once per ticked box, which
/// `serde_urlencoded` cannot put into a struct's `Vec`.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The notices a page shows after an action, by the code in `?pesan=` (a fixed set, so
/// the address cannot put words on the page).
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "dibuat" => "Kampanye berhasil dibuat.",
        "diubah" => "Perubahan kampanye berhasil disimpan.",
        "tetap" => "Tidak ada yang berubah.",
        "ditutup" => {
            "Kampanye berhasil ditutup. Tautan tidak dapat dipakai lagi untuk menandatangani."
        }
        "sudah-ditutup" => "Kampanye ini sudah ditutup sebelumnya.",
        _ => return None,
    })
}

/// `datetime-local` values carry no zone: they are the instansi's local time.
fn local_to_rfc3339(value: &str, tz: TimeZone) -> String {
    let v = value.trim();
    let with_seconds = if v.len() == 16 {
        format!("{v}:00")
    } else {
        v.to_string()
    };
    format!("{with_seconds}{}", tz.offset())
}

/// A moment as a `datetime-local` value in the instansi's zone.
fn local_value(unix: i64, tz: TimeZone) -> String {
    tz.at(unix).format("%Y-%m-%dT%H:%M").to_string()
}

/// One checkbox of the target-unit picker.
pub struct UnitBox {
    pub key: String,
    pub name: String,
    pub label: String,
    pub depth: usize,
    pub staff: u64,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/campaign_form.html")]
struct CampaignForm {
    csrf: String,
    /// `None`: a new campaign; `Some(id)`: editing that one.
    editing: Option<i64>,
    templates: Vec<(String, String, bool)>,
    title: String,
    place: String,
    opens: String,
    closes: String,
    mark: bool,
    screen: bool,
    public: bool,
    units: Vec<UnitBox>,
    /// The target count of the units as ticked, once HR asked for it (or after an error).
    count: Option<u64>,
    /// `WIB (Asia/Jakarta)`: the zone of the times typed.
    zone: String,
    error: Option<String>,
}

/// What the form holds, as typed.
struct Typed {
    template: String,
    title: String,
    place: String,
    opens: String,
    closes: String,
    mark: bool,
    screen: bool,
    public: bool,
    units: Vec<String>,
}

impl Typed {
    fn from_fields(f: &Fields) -> Typed {
        Typed {
            template: f.get("template").to_string(),
            title: f.get("title").to_string(),
            place: f.get("place").to_string(),
            opens: f.get("opens").to_string(),
            closes: f.get("closes").to_string(),
            mark: f.has("mark"),
            screen: f.has("screen"),
            public: f.has("public"),
            units: f.all("units"),
        }
    }
}

fn zone_text(tz: TimeZone) -> String {
    format!("{} ({})", tz.abbreviation(), tz.name())
}

async fn form_page(
    state: &AppState,
    caller: &Caller,
    editing: Option<i64>,
    typed: Typed,
    count: Option<u64>,
    error: Option<String>,
) -> AppResult<CampaignForm> {
    let instansi_id = caller.instansi()?;
    let tz = tz_of(state, instansi_id).await?;
    let templates = state
        .store
        .templates()
        .await?
        .into_iter()
        .map(|t| {
            let r = format!("{}@{}", t.code, t.version);
            let selected = r == typed.template;
            (r, t.title, selected)
        })
        .collect();
    let units = campaign::unit_choices(state.store.as_ref(), instansi_id)
        .await?
        .into_iter()
        .map(|c| UnitBox {
            checked: typed.units.contains(&c.key),
            key: c.key,
            name: c.line.name,
            label: c.line.label,
            depth: c.line.depth.min(4),
            staff: c.staff,
        })
        .collect();
    Ok(CampaignForm {
        csrf: caller.csrf.clone().unwrap_or_default(),
        editing,
        templates,
        title: typed.title,
        place: typed.place,
        opens: typed.opens,
        closes: typed.closes,
        mark: typed.mark,
        screen: typed.screen,
        public: typed.public,
        units,
        count,
        zone: zone_text(tz),
        error,
    })
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /admin/campaigns/baru`: the empty campaign form.
pub async fn new_form(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    respond(
        async {
            caller.must_manage()?;
            let typed = Typed {
                template: String::new(),
                title: String::new(),
                place: String::new(),
                opens: String::new(),
                closes: String::new(),
                mark: true,
                screen: false,
                public: false,
                units: Vec::new(),
            };
            Ok(html(
                StatusCode::OK,
                form_page(&state, &caller, None, typed, None, None).await?,
            ))
        }
        .await,
    )
}

/// `POST /admin/campaigns`: "Hitung sasaran" shows the count and keeps the form; "Buat"
/// creates. A refusal shows the form again as typed, with the reason.
pub async fn create(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    respond(
        async {
            check_csrf(&caller, fields.get("csrf"))?;
            caller.must_manage()?;
            let instansi_id = caller.instansi()?;
            let tz = tz_of(&state, instansi_id).await?;
            let typed = Typed::from_fields(&fields);
            let count = campaign::count_targets(state.store.as_ref(), instansi_id, &typed.units)
                .await
                .ok();
            if fields.get("action") == "hitung" {
                let page = form_page(&state, &caller, None, typed, count, None).await?;
                return Ok(no_store(html(StatusCode::OK, page)));
            }
            let input = CampaignInput {
                template: typed.template.clone(),
                title: typed.title.clone(),
                place: typed.place.clone(),
                opens: local_to_rfc3339(&typed.opens, tz),
                closes: local_to_rfc3339(&typed.closes, tz),
                units: typed.units.clone(),
                mark: typed.mark,
                screen: typed.screen,
                public: typed.public,
            };
            match campaign::create(state.store.as_ref(), instansi_id, &input, &caller.actor()).await
            {
                Ok(id) => Ok(
                    Redirect::to(&format!("/admin/campaigns/{id}?pesan=dibuat")).into_response()
                ),
                Err(ServiceError::Invalid(e)) => {
                    let page =
                        form_page(&state, &caller, None, typed, count, Some(e.message)).await?;
                    Ok(no_store(html(StatusCode::UNPROCESSABLE_ENTITY, page)))
                }
                Err(e) => Err(e.into()),
            }
        }
        .await,
    )
}

/// A campaign HR may still change, or the refusal to show.
async fn editable(state: &AppState, caller: &Caller, id: i64) -> AppResult<CampaignRow> {
    caller.must_manage()?;
    let c = owned_campaign(state, caller, id).await?;
    if c.phase(now()) == Phase::Closed {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "campaign_closed",
            "Kampanye sudah ditutup; isinya tidak dapat diubah lagi.",
        ));
    }
    Ok(c)
}

/// `GET /admin/campaigns/{id}/ubah`: the edit form, filled with the campaign as it is.
pub async fn edit_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    respond(
        async {
            let c = editable(&state, &caller, id).await?;
            let tz = tz_of(&state, c.instansi_id).await?;
            let unit_ids = state.store.campaign_unit_ids(c.id).await?;
            let keys = state
                .store
                .units(c.instansi_id)
                .await?
                .into_iter()
                .filter(|u| unit_ids.contains(&u.id))
                .map(|u| u.key)
                .collect();
            let typed = Typed {
                template: String::new(),
                title: c.title.clone(),
                place: c.place.clone(),
                opens: local_value(c.opens_at, tz),
                closes: local_value(c.closes_at, tz),
                mark: c.mark_enabled,
                screen: c.screen_enabled,
                public: c.public_enabled,
                units: keys,
            };
            let count = campaign::targets(state.store.as_ref(), &c).await?.count;
            let page = form_page(&state, &caller, Some(c.id), typed, Some(count), None).await?;
            Ok(no_store(html(StatusCode::OK, page)))
        }
        .await,
    )
}

/// `POST /admin/campaigns/{id}/ubah`: saves the changes (each an audit event).
pub async fn edit(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    respond(
        async {
            check_csrf(&caller, fields.get("csrf"))?;
            let c = editable(&state, &caller, id).await?;
            let tz = tz_of(&state, c.instansi_id).await?;
            let mut typed = Typed::from_fields(&fields);
            // Neither the template nor the opening time nor the mark changes once made.
            typed.opens = local_value(c.opens_at, tz);
            typed.mark = c.mark_enabled;
            let count = campaign::count_targets(state.store.as_ref(), c.instansi_id, &typed.units)
                .await
                .ok();
            if fields.get("action") == "hitung" {
                let page = form_page(&state, &caller, Some(id), typed, count, None).await?;
                return Ok(no_store(html(StatusCode::OK, page)));
            }
            let change = CampaignChange {
                title: Some(typed.title.clone()),
                place: Some(typed.place.clone()),
                closes: Some(local_to_rfc3339(&typed.closes, tz)),
                units: Some(typed.units.clone()),
                screen: Some(typed.screen),
                public: Some(typed.public),
            };
            match campaign::edit(state.store.as_ref(), &c, &change, &caller.actor()).await {
                Ok(changes) => {
                    let code = if changes.is_empty() {
                        "tetap"
                    } else {
                        "diubah"
                    };
                    Ok(
                        Redirect::to(&format!("/admin/campaigns/{id}?pesan={code}"))
                            .into_response(),
                    )
                }
                Err(ServiceError::Invalid(e)) => {
                    let page =
                        form_page(&state, &caller, Some(id), typed, count, Some(e.message)).await?;
                    Ok(no_store(html(StatusCode::UNPROCESSABLE_ENTITY, page)))
                }
                Err(e) => Err(e.into()),
            }
        }
        .await,
    )
}

/// The step before a destructive action: what will happen, and a button that does it.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct Confirm {
    heading: String,
    text: String,
    action: String,
    csrf: String,
    /// Fields the confirmed form carries on, besides `confirm=ya`.
    hidden: Vec<(String, String)>,
    button: String,
    back: String,
}

/// `POST /admin/campaigns/{id}/close`: without `confirm=ya` asks first; then closes and
/// says so on the campaign page, which shows when it closed.
pub async fn close(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    respond(
        async {
            check_csrf(&caller, fields.get("csrf"))?;
            caller.must_manage()?;
            let c = owned_campaign(&state, &caller, id).await?;
            if fields.get("confirm") != "ya" {
                return Ok(html(
                    StatusCode::OK,
                    Confirm {
                        heading: format!("Tutup kampanye \"{}\"?", c.title),
                        text: "Setelah ditutup, tidak ada lagi yang dapat menandatangani, dan \
                               kampanye tidak dapat dibuka kembali. Tanda terima yang sudah ada \
                               tetap berlaku."
                            .to_string(),
                        action: format!("/admin/campaigns/{id}/close"),
                        csrf: caller.csrf.clone().unwrap_or_default(),
                        hidden: Vec::new(),
                        button: "Ya, tutup kampanye".to_string(),
                        back: format!("/admin/campaigns/{id}"),
                    },
                ));
            }
            let closed = campaign::close(state.store.as_ref(), &c, &caller.actor()).await?;
            let code = if closed { "ditutup" } else { "sudah-ditutup" };
            Ok(Redirect::to(&format!("/admin/campaigns/{id}?pesan={code}")).into_response())
        }
        .await,
    )
}

/// `POST /admin/campaigns/{id}/invitations`: issues links once (a reissue asks first), and
/// shows how many it issued with both downloads of that batch. When nobody needs a new
/// link it says so on the campaign page: never an empty file.
pub async fn issue(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    respond(
        async {
            check_csrf(&caller, fields.get("csrf"))?;
            caller.must_manage()?;
            let c = owned_campaign(&state, &caller, id).await?;
            let reissue = fields.has("reissue");
            let nip = Some(fields.get("nip").trim().to_string()).filter(|n| !n.is_empty());
            if reissue && fields.get("confirm") != "ya" {
                let whom = match &nip {
                    Some(n) => format!("pegawai dengan NIP {n}"),
                    None => "setiap pegawai sasaran yang belum menandatangani".to_string(),
                };
                let mut hidden = vec![("reissue".to_string(), "ya".to_string())];
                if let Some(n) = &nip {
                    hidden.push(("nip".to_string(), n.clone()));
                }
                return Ok(html(
                    StatusCode::OK,
                    Confirm {
                        heading: "Terbitkan ulang tautan?".to_string(),
                        text: format!(
                            "Tautan baru akan diterbitkan untuk {whom}. Tautan lama mereka \
                             langsung tidak berlaku lagi: bagikan tautan atau slip yang baru."
                        ),
                        action: format!("/admin/campaigns/{id}/invitations"),
                        csrf: caller.csrf.clone().unwrap_or_default(),
                        hidden,
                        button: "Ya, terbitkan ulang".to_string(),
                        back: format!("/admin/campaigns/{id}"),
                    },
                ));
            }
            let links = invitation::issue(
                state.store.as_ref(),
                &c,
                reissue,
                nip.as_deref(),
                &state.public_url,
                &caller.actor(),
            )
            .await?;
            if links.is_empty() {
                let code = if reissue || nip.is_some() {
                    "tidak-ada"
                } else {
                    "tidak-ada-baru"
                };
                return Ok(
                    Redirect::to(&format!("/admin/campaigns/{id}?tautan={code}")).into_response(),
                );
            }
            let at = now();
            let batch = state.batches.put(
                Batch {
                    user_id: caller.user_id,
                    campaign_id: c.id,
                    reissue,
                    issued_at: at,
                    links,
                },
                at,
            );
            Ok(Redirect::to(&format!("/admin/campaigns/{id}/tautan/{batch}")).into_response())
        }
        .await,
    )
}

/// What the campaign page says after an issue that gave nobody a link.
pub fn issue_notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "tidak-ada-baru" => {
            "Tidak ada tautan yang diterbitkan: semua pegawai sasaran sudah punya tautan. \
             Untuk memberi tautan baru (misalnya karena tautan atau slip hilang), centang \
             \"Terbitkan ulang\"."
        }
        "tidak-ada" => {
            "Tidak ada tautan yang diterbitkan: tidak ada pegawai sasaran yang belum \
             menandatangani untuk pilihan ini."
        }
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "admin/batch.html")]
struct BatchPage {
    id: i64,
    title: String,
    batch: String,
    count: usize,
    reissue: bool,
    issued: String,
    until: String,
}

fn batch_of(
    state: &AppState,
    caller: &Caller,
    c: &CampaignRow,
    batch: &str,
) -> AppResult<std::sync::Arc<Batch>> {
    state
        .batches
        .get(batch, caller.user_id, c.id, now())
        .ok_or_else(|| {
            AppError::new(
                StatusCode::GONE,
                "batch_gone",
                "Tautan terbitan ini tidak tersedia lagi (hanya disimpan sementara, 1 jam). \
                 Terbitkan ulang dari halaman kampanye bila berkasnya hilang.",
            )
        })
}

/// `GET /admin/campaigns/{id}/tautan/{batch}`: how many links one issue gave, with its
/// CSV and its slips.
pub async fn batch(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath((id, batch)): ApiPath<(i64, String)>,
) -> Response {
    respond(
        async {
            let c = owned_campaign(&state, &caller, id).await?;
            let b = batch_of(&state, &caller, &c, &batch)?;
            let tz = tz_of(&state, c.instansi_id).await?;
            Ok(no_store(html(
                StatusCode::OK,
                BatchPage {
                    id: c.id,
                    title: c.title.clone(),
                    batch,
                    count: b.links.len(),
                    reissue: b.reissue,
                    issued: waktu(tz.at(b.issued_at)),
                    until: waktu(tz.at(b.issued_at + crate::service::batches::BATCH_TTL)),
                },
            )))
        }
        .await,
    )
}

/// `GET /admin/campaigns/{id}/tautan/{batch}/csv` and `…/slip`: the batch's links.
pub async fn batch_file(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    ApiPath((id, batch, kind)): ApiPath<(i64, String, String)>,
) -> Response {
    respond(
        async {
            let c = owned_campaign(&state, &caller, id).await?;
            let b = batch_of(&state, &caller, &c, &batch)?;
            let stamp = state
                .store
                .instansi_by_id(c.instansi_id)
                .await?
                .map(|i| i.tz)
                .unwrap_or(TimeZone::Jakarta)
                .at(b.issued_at)
                .format("%Y%m%d-%H%M%S")
                .to_string();
            let (content_type, name, bytes) = match kind.as_str() {
                "csv" => (
                    "text/csv; charset=utf-8",
                    format!("tautan-kampanye-{}-{stamp}.csv", c.id),
                    invitation::csv(&b.links)?,
                ),
                "slip" => (
                    "application/pdf",
                    format!("slip-kampanye-{}-{stamp}.pdf", c.id),
                    invitation::slips_pdf(state.store.as_ref(), &c, &b.links).await?,
                ),
                _ => return Err(crate::http::auth::not_found()),
            };
            Ok((
                [
                    (header::CONTENT_TYPE, content_type.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                bytes,
            )
                .into_response())
        }
        .await,
    )
}

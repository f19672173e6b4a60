//! Verifying a record (SPEC 3.2, 6): `GET /api/v1/verify/{record}` and the page a scanned QR
//! opens, `/v/{record}` (also `/V/…`). The record is the capability: anyone holding it may see
//! what the printed paper shows, never more (no drawn signature, no IP, no roster).

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::domain::instansi::TimeZone;
use crate::domain::nip::StaffId;
use crate::http::api::log::{current_checkpoint, encode, inclusion_proof};
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::tlog::record::{Format, Record};

pub async fn verify_json(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(verify(&state, &raw).await?))
}

pub async fn verify_page(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let result = verify(&state, &raw).await;
    if wants_json {
        return Ok(Json(result?).into_response());
    }
    let page = match result {
        Ok(v) => VerifyPage::from_json(&v),
        Err(e) => VerifyPage::error(&e.message),
    };
    let html = page.render().map_err(AppError::internal)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Outcome of checking one record against the keys, the log and the stored statement.
pub async fn verify(state: &AppState, raw: &str) -> AppResult<Value> {
    let bytes = Record::decode_base32(raw).map_err(|_| {
        AppError::bad_request(
            "record_malformed",
            "Kode rekaman tidak sah: bukan base32 atau panjangnya tidak mungkin.",
        )
        .field("record")
    })?;
    let (checkpoint_size, checkpoint) = current_checkpoint(state).await?;
    let invalid = |code: &str, reason: &str, record: Option<Value>| {
        let mut v = json!({
            "valid": false,
            "reason_code": code,
            "reason": reason,
            "annulled": false,
            "checkpoint": checkpoint,
        });
        if let Some(r) = record {
            v["record"] = r;
        }
        v
    };
    let record = match Record::parse(&bytes) {
        Ok(r) => r,
        Err(_) => {
            return Ok(invalid(
                "record_unparseable",
                "Rekaman tidak dapat dibaca.",
                None,
            ));
        }
    };
    let body = &record.body;
    let record_json = json!({
        "format": body.format as u8,
        "key_id": hex::encode(body.key_id),
        "log_index": body.log_index,
        "sequenced_at": utc(body.sequenced_at as i64),
        "nip": if body.nip == 0 { String::new() } else { format!("{:018}", body.nip) },
        "template_no": body.template_no,
        "name": body.name,
    });
    let keys = state.store.keys().await?;
    let t = body.sequenced_at as i64;
    let key = keys.iter().find(|k| {
        k.purpose == "pledge"
            && k.key_id == body.key_id
            && k.not_before <= t
            && k.not_after.is_none_or(|end| t <= end)
    });
    let Some(key) = key else {
        return Ok(invalid(
            "key_unknown",
            "Rekaman tidak ditandatangani dengan kunci ikrar yang diterbitkan server ini.",
            Some(record_json),
        ));
    };
    let verifying = key
        .public_key
        .as_slice()
        .try_into()
        .ok()
        .and_then(|b: [u8; 32]| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| AppError::internal("a published key is not a valid Ed25519 key"))?;
    if record.verify_signature(&verifying).is_err() {
        return Ok(invalid(
            "signature_invalid",
            "Tanda tangan digital rekaman tidak sah: rekaman telah diubah.",
            Some(record_json),
        ));
    }
    let stored = state.store.log_entry(body.log_index).await?;
    if stored.as_deref() != Some(bytes.as_slice()) || body.log_index >= checkpoint_size {
        return Ok(invalid(
            "not_in_log",
            "Rekaman tidak tercatat di log transparansi server ini.",
            Some(record_json),
        ));
    }
    let mut out = json!({
        "valid": true,
        "annulled": false,
        "record": record_json,
        "checkpoint": checkpoint,
    });
    if body.format == Format::Pledge {
        let Some(p) = state.store.pledge_by_log_index(body.log_index).await? else {
            return Err(AppError::internal(
                "a logged pledge record has no pledge row",
            ));
        };
        if !record.commits_to(&p.statement) {
            return Ok(invalid(
                "statement_mismatch",
                "Teks pernyataan yang tersimpan tidak cocok dengan rekaman.",
                Some(out["record"].clone()),
            ));
        }
        let tz = TimeZone::parse(&p.tz).unwrap_or(TimeZone::Jakarta);
        let non_asn = p.kind == "NON_ASN";
        let nip_display = StaffId::from_stored(&p.kind, &p.number)
            .map(|id| id.masked())
            .unwrap_or_else(|| "***".to_string());
        let mut pledge = json!({
            "name": p.name,
            "nip": nip_display,
            "kind": p.kind,
            "unit": p.unit_name,
            "instansi": p.instansi_name,
            "campaign": p.campaign_title,
            "template": format!("{}@{}", p.template_code, p.template_version),
            "template_title": p.template_title,
            "signed_at": crate::domain::statement::format_time(tz.at(p.signed_at)),
        });
        // A non-ASN statement carries the full staff number, which public pages must mask.
        if !non_asn {
            pledge["statement"] = json!(p.statement);
        }
        if let Some(at) = p.annulled_at {
            out["annulled"] = json!(true);
            pledge["annulled_at"] = json!(crate::domain::statement::format_time(tz.at(at)));
            pledge["annul_category"] = json!(p.annul_category);
        }
        out["pledge"] = pledge;
    } else {
        let Some(p) = state
            .store
            .pledge_by_annulment_index(body.log_index)
            .await?
        else {
            return Err(AppError::internal("a logged annulment has no pledge row"));
        };
        let text = p.annul_text.clone().unwrap_or_default();
        if !record.commits_to(&text) {
            return Ok(invalid(
                "statement_mismatch",
                "Teks pembatalan yang tersimpan tidak cocok dengan rekaman.",
                Some(out["record"].clone()),
            ));
        }
        let tz = TimeZone::parse(&p.tz).unwrap_or(TimeZone::Jakarta);
        out["annulment"] = json!({
            "pledge_log_index": p.log_index,
            "category": p.annul_category,
            "annulled_at": p.annulled_at.map(|t| crate::domain::statement::format_time(tz.at(t))),
            "text": text,
        });
    }
    let hashes = inclusion_proof(state.store.as_ref(), body.log_index, checkpoint_size).await?;
    out["inclusion"] = json!({
        "index": body.log_index,
        "tree_size": checkpoint_size,
        "hashes": encode(&hashes),
    });
    out["leaf_hash"] = json!(B64.encode(record.leaf_hash()));
    Ok(out)
}

fn utc(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    valid: bool,
    annulled: bool,
    reason: String,
    rows: Vec<(&'static str, String)>,
    statement: Option<String>,
    log_index: String,
    tree_size: String,
}

impl VerifyPage {
    fn from_json(v: &Value) -> VerifyPage {
        let s = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        };
        let p = &v["pledge"];
        let mut rows = Vec::new();
        for (label, key) in [
            ("Nama", "name"),
            ("NIP", "nip"),
            ("Unit kerja", "unit"),
            ("Instansi", "instansi"),
            ("Kampanye", "campaign"),
            ("Naskah", "template_title"),
            ("Ditandatangani", "signed_at"),
            ("Dibatalkan pada", "annulled_at"),
            ("Kategori pembatalan", "annul_category"),
        ] {
            if let Some(value) = p.get(key).filter(|x| !x.is_null()) {
                rows.push((label, s(value)));
            }
        }
        VerifyPage {
            valid: v["valid"].as_bool().unwrap_or(false),
            annulled: v["annulled"].as_bool().unwrap_or(false),
            reason: v["reason"].as_str().unwrap_or_default().to_string(),
            rows,
            statement: p["statement"].as_str().map(str::to_string),
            log_index: v["record"]["log_index"].to_string(),
            tree_size: v["inclusion"]["tree_size"].to_string(),
        }
    }

    fn error(message: &str) -> VerifyPage {
        VerifyPage {
            valid: false,
            annulled: false,
            reason: message.to_string(),
            rows: Vec::new(),
            statement: None,
            log_index: String::new(),
            tree_size: String::new(),
        }
    }
}

//! Instansi (tenants) and pledge templates: the superadmin's setup.

use crate::domain::instansi::{TimeZone, parse_code};
use crate::domain::template::{self, Template};
use crate::domain::{ValidationError, text};
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::{Instansi, NewInstansi, Store, StoreError, TemplateRow};

pub async fn add(
    store: &dyn Store,
    code: &str,
    name: &str,
    place: &str,
    tz: &str,
    actor: &str,
) -> ServiceResult<i64> {
    let code = parse_code(code)?;
    let name = text::clean(name, "name")?;
    let place = text::clean(place, "place")?;
    for (field, value) in [("name", &name), ("place", &place)] {
        if value.is_empty() {
            return Err(ValidationError::new("text_empty", field, "Tidak boleh kosong.").into());
        }
    }
    let tz = TimeZone::parse(tz)?;
    let id = store
        .add_instansi(
            &NewInstansi {
                code: code.clone(),
                name,
                place,
                tz,
            },
            now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::conflict(
                "instansi_exists",
                format!("Instansi dengan kode '{code}' sudah ada."),
            ),
            other => other.into(),
        })?;
    audit::record(
        store,
        Some(id),
        actor,
        "instansi.add",
        &format!("instansi {code} ditambahkan"),
    )
    .await?;
    Ok(id)
}

pub async fn by_code(store: &dyn Store, code: &str) -> ServiceResult<Instansi> {
    store.instansi_by_code(code).await?.ok_or_else(|| {
        ServiceError::not_found(
            "instansi_unknown",
            format!("Instansi '{code}' tidak ditemukan (tambahkan dengan `ikrar instansi add`)."),
        )
    })
}

/// The instansi's time zone, for showing its times.
pub async fn time_zone(store: &dyn Store, instansi_id: i64) -> ServiceResult<TimeZone> {
    let inst = store
        .instansi_by_id(instansi_id)
        .await?
        .ok_or_else(ServiceError::unknown)?;
    Ok(inst.tz)
}

/// Adds a template version (superadmin); returns its deployment-wide number.
pub async fn add_template(store: &dyn Store, t: &Template, actor: &str) -> ServiceResult<i64> {
    let number = store.add_template(&template_row(t), now()).await?;
    audit::record(
        store,
        None,
        actor,
        "template.add",
        &format!("{} nomor {number}", t.reference()),
    )
    .await?;
    Ok(number)
}

/// The shipped templates are numbers 1 and 2 in every deployment.
pub async fn ensure_builtin_templates(store: &dyn Store) -> ServiceResult<()> {
    for t in template::builtin() {
        store.add_template(&template_row(&t), now()).await?;
    }
    Ok(())
}

/// Every template version with its parsed text, in number order.
pub async fn templates(store: &dyn Store) -> ServiceResult<Vec<(TemplateRow, Template)>> {
    let mut out = Vec::new();
    for row in store.templates().await? {
        let t = template_from_row(&row)?;
        out.push((row, t));
    }
    Ok(out)
}

pub fn template_row(t: &Template) -> TemplateRow {
    TemplateRow {
        number: 0,
        code: t.code.clone(),
        version: i64::from(t.version),
        title: t.title.clone(),
        body: serde_json::json!({
            "code": t.code,
            "version": t.version,
            "title": t.title,
            "preamble": t.preamble,
            "points": t.points,
            "closing": t.closing,
            "sign_off": t.sign_off,
        })
        .to_string(),
        sha256: t.sha256().to_vec(),
    }
}

pub fn template_from_row(row: &TemplateRow) -> Result<Template, StoreError> {
    serde_json::from_str(&row.body)
        .map_err(|e| StoreError::Corrupt(format!("template {}: {e}", row.number)))
}

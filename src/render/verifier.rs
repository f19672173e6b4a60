//! The verifier page (SPEC 4.3): `/periksa` as the issuer serves it, and the same page as
//! one self-contained file (style and scripts inline, keys pinned) for `ikrar verifier`.

use askama::Template;

use crate::service::verifier::{Hosting, VerifierConfig};

pub const SCRIPT: &str = include_str!("../../templates/static/periksa.js");
pub const SERVICE_WORKER: &str = include_str!("../../templates/static/periksa-sw.js");
pub const STYLESHEET: &str = include_str!("../../templates/static/app.css");
/// jsQR 1.4.0 from the npm registry, unmodified (Apache-2.0; see its README).
pub const JSQR: &str = include_str!("../../templates/static/vendor/jsqr/jsQR.js");

#[derive(Template)]
#[template(path = "periksa.html")]
struct Page<'a> {
    standalone: bool,
    config: String,
    keys: Vec<String>,
    witnesses: Option<String>,
    css: &'a str,
    jsqr: &'a str,
    script: &'a str,
}

/// The page for `config`; inline everything when it is to be a single file.
pub fn page(config: &VerifierConfig, hosting: Hosting) -> Result<String, askama::Error> {
    let keys = config
        .keys
        .keys
        .iter()
        .map(|k| {
            let window = match &k.not_after {
                Some(end) => format!("{} s.d. {end}", k.not_before),
                None => format!("sejak {}", k.not_before),
            };
            format!("{} ({}, {window})", k.vkey, k.purpose)
        })
        .collect();
    let witnesses = config.policy.as_ref().map(|p| {
        if p.witnesses.is_empty() {
            "tidak ada".to_string()
        } else {
            p.witnesses
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    Page {
        standalone: hosting == Hosting::File,
        config: config.to_embedded_json(),
        keys,
        witnesses,
        css: STYLESHEET,
        jsqr: JSQR,
        script: SCRIPT,
    }
    .render()
}

/// The service worker's script: a version that changes with what it caches, then the code.
pub fn service_worker() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            SCRIPT,
            STYLESHEET,
            JSQR,
            SERVICE_WORKER,
            env!("CARGO_PKG_VERSION"),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let version = hex::encode(&h.finalize()[..8]);
        format!("const VERSION = \"{version}\";\n{SERVICE_WORKER}")
    });
    &TEXT
}

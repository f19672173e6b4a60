//! The verifier page (SPEC 4.3): `/periksa` as the issuer serves it, and the same page as
//! one self-contained file (style and scripts inline, keys pinned) for `ikrar verifier`.

use askama::Template;

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

/// What the page shows besides its script: the embedded config (JSON with no `<`), the
/// pinned keys and witnesses as lines for people, and whether it is to be a single file.
pub struct VerifierPage {
    pub standalone: bool,
    pub config_json: String,
    pub keys: Vec<String>,
    pub witnesses: Option<String>,
}

/// The page; everything inline when it is to be a single file.
pub fn page(p: VerifierPage) -> Result<String, askama::Error> {
    Page {
        standalone: p.standalone,
        config: p.config_json,
        keys: p.keys,
        witnesses: p.witnesses,
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

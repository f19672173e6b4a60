//! The public's own verifier (SPEC 4.3): what the in-browser verifier is given to trust —
//! the pledge and log keys with their windows, the witness policy, and the zone dates are
//! shown in — for `/periksa` on this server and for the single file `ikrar verifier` writes.
//! The checks themselves run in the reader's browser (`templates/static/periksa.js`).

use serde::Serialize;

use crate::domain::instansi::TimeZone;
use crate::render::{self, verifier::VerifierPage};
use crate::service::error::ServiceError;
use crate::service::offline::{Invalid, KeySet, PublishedKey};
use crate::store::Store;
use crate::tlog::policy::{Policy, PolicyDescription};

/// Where the verifier runs, which decides where it fetches proofs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosting {
    /// `/periksa` on the issuer's server: proofs from the same origin, a service worker
    /// keeps the page for offline use.
    Issuer,
    /// One self-contained file, hosted anywhere or opened from disk: proofs from the
    /// issuer named in the QR, when that issuer's key is among the pinned ones.
    File,
}

/// The JSON embedded in the verifier page.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifierConfig {
    pub keys: KeySet,
    pub zone: Zone,
    pub policy: Option<PolicyDescription>,
    pub same_origin: bool,
    /// Where the fallback QR decoder loads from, when it is not in the page.
    pub jsqr_url: Option<&'static str>,
    pub service_worker: Option<&'static str>,
    pub service_worker_scope: Option<&'static str>,
}

/// The zone dates are shown in: the instansi's (SPEC 4.3: `… pukul 08.15 WIB`).
#[derive(Clone, Debug, Serialize)]
pub struct Zone {
    pub abbreviation: &'static str,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl From<TimeZone> for Zone {
    fn from(tz: TimeZone) -> Self {
        Zone {
            abbreviation: tz.abbreviation(),
            offset: tz.at(0).offset().local_minus_utc(),
        }
    }
}

pub const PAGE: &str = "/periksa";
pub const SERVICE_WORKER: &str = "/periksa-sw.js";
pub const JSQR: &str = "/static/vendor/jsQR.js";

impl VerifierConfig {
    /// Checks that the keys are usable before they are pinned into a page: at least one
    /// pledge key, every key decodable, windows readable.
    pub fn new(
        keys: KeySet,
        policy: Option<&Policy>,
        zone: TimeZone,
        hosting: Hosting,
    ) -> Result<Self, Invalid> {
        if !keys.keys.iter().any(|k| k.purpose == "pledge") {
            return Err(Invalid(
                "berkas kunci tidak memuat kunci ikrar (pledge)".into(),
            ));
        }
        for k in &keys.keys {
            k.verifying_key()?;
            let readable = |t: &str| chrono::DateTime::parse_from_rfc3339(t).is_ok();
            if !readable(&k.not_before) || k.not_after.as_deref().is_some_and(|t| !readable(t)) {
                return Err(Invalid(format!(
                    "masa berlaku kunci {} tidak terbaca",
                    k.key_id
                )));
            }
        }
        let issuer = hosting == Hosting::Issuer;
        Ok(VerifierConfig {
            keys,
            zone: zone.into(),
            policy: policy.map(Policy::describe),
            same_origin: issuer,
            jsqr_url: issuer.then_some(JSQR),
            service_worker: issuer.then_some(SERVICE_WORKER),
            service_worker_scope: issuer.then_some(PAGE),
        })
    }

    /// The config as it goes inside `<script type="application/json">`: no `<` at all, so
    /// no `</script>` or `<!--` can end or bend the element.
    pub fn to_embedded_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "{}".into())
            .replace('<', "\\u003c")
    }
}

impl VerifierConfig {
    /// The verifier page with this config pinned; one self-contained file for
    /// [`Hosting::File`].
    pub fn page(&self, hosting: Hosting) -> Result<String, ServiceError> {
        let keys = self
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
        let witnesses = self.policy.as_ref().map(|p| {
            if p.witnesses.is_empty() {
                "tidak ada".to_string()
            } else {
                let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
                names.join(", ")
            }
        });
        render::verifier::page(VerifierPage {
            standalone: hosting == Hosting::File,
            config_json: self.to_embedded_json(),
            keys,
            witnesses,
        })
        .map_err(|e| ServiceError::Internal {
            what: "verifier page",
            source: Box::new(e),
        })
    }
}

/// Every pledge and log key this deployment ever used, with its window: what
/// `/api/v1/keys` publishes and `/periksa` pins.
pub async fn published_keys(store: &dyn Store) -> Result<KeySet, ServiceError> {
    let keys = store
        .keys()
        .await?
        .into_iter()
        .map(|k| {
            let public: [u8; 32] = k.public_key.as_slice().try_into().unwrap_or([0; 32]);
            PublishedKey {
                key_id: hex::encode(&k.key_id),
                purpose: k.purpose.as_str().to_string(),
                public_key: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    public,
                ),
                vkey: crate::tlog::note::vkey(&k.name, &public),
                not_before: rfc3339(k.not_before),
                not_after: k.not_after.map(rfc3339),
                name: k.name,
            }
        })
        .collect();
    Ok(KeySet { keys })
}

fn rfc3339(unix: i64) -> String {
    TimeZone::Jakarta
        .at(unix)
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The config of `/periksa` on this server: its keys, its witness policy, and the zone of
/// its (first) instansi.
pub async fn for_issuer(
    store: &dyn Store,
    policy: Option<&Policy>,
) -> Result<VerifierConfig, ServiceError> {
    let keys = published_keys(store).await?;
    let zone = store
        .instansi_all()
        .await?
        .first()
        .map(|i| i.tz)
        .unwrap_or(TimeZone::Jakarta);
    VerifierConfig::new(keys, policy, zone, Hosting::Issuer).map_err(|e| ServiceError::Internal {
        what: "verifier keys",
        source: Box::new(e),
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first unexpected result"
)]
mod tests {
    use super::*;

    fn key(purpose: &str, name: &str) -> PublishedKey {
        PublishedKey {
            name: name.into(),
            key_id: "00000000".into(),
            purpose: purpose.into(),
            public_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                    .verifying_key()
                    .as_bytes(),
            ),
            vkey: "x".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: None,
        }
    }

    #[test]
    fn keys_without_a_pledge_key_or_with_an_unreadable_window_are_not_pinned() {
        let only_log = KeySet {
            keys: vec![key("log", "a.example/log")],
        };
        let e = VerifierConfig::new(only_log, None, TimeZone::Jakarta, Hosting::File).unwrap_err();
        assert!(e.0.contains("kunci ikrar"), "{e}");
        let mut bad = key("pledge", "a.example/pledge");
        bad.not_after = Some("kemarin".into());
        let e = VerifierConfig::new(
            KeySet { keys: vec![bad] },
            None,
            TimeZone::Jakarta,
            Hosting::File,
        )
        .unwrap_err();
        assert!(e.0.contains("masa berlaku"), "{e}");
    }

    #[test]
    fn the_embedded_json_cannot_close_its_script_element() {
        let keys = KeySet {
            keys: vec![key("pledge", "</script><script>alert(1)</script>/pledge")],
        };
        let c = VerifierConfig::new(keys, None, TimeZone::Makassar, Hosting::Issuer).unwrap();
        let json = c.to_embedded_json();
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["keys"]["keys"][0]["name"],
            "</script><script>alert(1)</script>/pledge"
        );
        assert_eq!(back["zone"]["abbreviation"], "WITA");
        assert_eq!(back["zone"]["offset"], 28_800);
        assert_eq!(back["serviceWorker"], SERVICE_WORKER);
        assert_eq!(back["sameOrigin"], true);
    }
}

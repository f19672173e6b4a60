//! Startup: migrate, fix the log's identity, publish keys, check the rollback guard and
//! start the sequencer; the result is the [`AppState`] the way in serves from.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use governor::{Quota, RateLimiter};

use crate::domain::public_url::PublicUrl;
use crate::http::state::AppState;
use crate::metrics::Metrics;
use crate::service::ServiceError;
use crate::service::live::Live;
use crate::service::read_cache::ReadCache;
use crate::service::sequencer::{Health, Keys, RollbackGuard, Sequencer};
use crate::service::witnessing::Witnessing;
use crate::store::{KeyRow, Store, StoreError};
use crate::tlog::keys::{KeyPurpose, NamedKey};
use crate::tlog::note::Verifier;
use crate::tlog::policy::Policy;

/// Everything `serve` needs, already read from files and flags.
pub struct Settings {
    pub public_url: PublicUrl,
    pub pledge_key: SigningKey,
    pub log_key: SigningKey,
    pub checkpoint_file: Option<PathBuf>,
    pub trusted_proxies: Vec<IpAddr>,
    pub lookup_limit: u32,
    /// Witnesses to push checkpoints to, and the quorum to publish (SPEC 3.8).
    pub witness_policy: Option<Policy>,
    /// Client networks that may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Sign-in with SSO (`--oidc-*`); its callback is under the public URL.
    pub oidc: Option<crate::service::oidc::OidcSettings>,
    /// Where reminder emails go (SPEC 4.2), if anywhere.
    pub smtp: Option<crate::service::reminder::SmtpConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Oidc(#[from] crate::service::oidc::OidcError),
    #[error(transparent)]
    Sequencer(#[from] crate::service::sequencer::SequencerError),
    #[error("the pledge key and the log key must be different keys (SPEC 3.4)")]
    SameKey,
}

/// Migrates, fixes the log's identity on first start, publishes the keys, and starts the
/// sequencer. Key names and the origin come from the database once stored, never recomputed.
pub async fn build_state(
    store: Arc<dyn Store>,
    settings: Settings,
) -> Result<AppState, StartError> {
    if settings.pledge_key.verifying_key() == settings.log_key.verifying_key() {
        return Err(StartError::SameKey);
    }
    store.migrate().await?;
    let host = settings.public_url.host().to_string();
    store
        .init_setting("public_url", &settings.public_url.origin())
        .await?;
    let pledge_name = store
        .init_setting("pledge_key_name", &format!("{host}/pledge"))
        .await?;
    let log_name = store
        .init_setting("log_key_name", &format!("{host}/log"))
        .await?;
    let origin = store
        .init_setting("log_origin", &format!("{host}/log"))
        .await?;
    let keys = Keys {
        pledge: NamedKey::new(&pledge_name, settings.pledge_key),
        log: NamedKey::new(&log_name, settings.log_key),
        origin,
    };
    let now = chrono::Utc::now().timestamp();
    for (purpose, key) in [
        (KeyPurpose::Pledge, &keys.pledge),
        (KeyPurpose::Log, &keys.log),
    ] {
        store
            .publish_key(&KeyRow {
                key_id: key.key_id.to_vec(),
                purpose,
                name: key.name.clone(),
                public_key: key.public_bytes().to_vec(),
                not_before: now,
                not_after: None,
            })
            .await?;
    }
    crate::service::instansi::ensure_builtin_templates(store.as_ref()).await?;

    let published = store.keys().await?;
    let health = Arc::new(Health::default());
    for (purpose, key) in [
        (KeyPurpose::Pledge, &keys.pledge),
        (KeyPurpose::Log, &keys.log),
    ] {
        // Restarted with a key that a newer one already replaced: never sign with it.
        let current = published
            .iter()
            .any(|k| k.key_id == key.key_id && k.purpose == purpose && k.not_after.is_none());
        if !current {
            health.retire(purpose);
        }
    }
    let guard = match settings.checkpoint_file {
        Some(path) => {
            let log_keys: Vec<Verifier> = published
                .iter()
                .filter(|k| k.purpose == KeyPurpose::Log)
                .filter_map(|k| {
                    let public: [u8; 32] = k.public_key.as_slice().try_into().ok()?;
                    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).ok()?;
                    Some(Verifier::new(&k.name, key))
                })
                .collect();
            RollbackGuard::open(path, &log_keys)?
        }
        None => RollbackGuard::disabled(),
    };
    let head = store.log_head().await?;
    if let Err(e) = guard.check(head.size) {
        tracing::error!(error = %e, "signing is disabled until an operator resolves this");
    }
    guard.note_start(head.size);
    let guard = Arc::new(guard);
    let keys = Arc::new(keys);
    let metrics = Metrics::new();
    metrics.spawn_upkeep();
    let live = Arc::new(Live::new(head.size));
    live.log
        .spawn_poller(store.clone(), crate::service::sequencer::POLL_EVERY);
    let sequencer = Sequencer::spawn(
        store.clone(),
        keys.clone(),
        guard.clone(),
        health.clone(),
        live.log.clone(),
        metrics.clone(),
    );
    let policy = settings.witness_policy.map(Arc::new);
    let witnessing = policy.as_ref().map(|p| {
        Arc::new(Witnessing::spawn(
            store.clone(),
            p.clone(),
            live.log.clone(),
        ))
    });
    let reads = Arc::new(ReadCache::new(live.log.clone()));
    let mailer = settings
        .smtp
        .as_ref()
        .map(crate::service::reminder::Mailer::new)
        .transpose()
        .map_err(ServiceError::from)?;
    let per_minute = NonZeroU32::new(settings.lookup_limit.max(1)).expect("at least one");
    let oidc = match settings.oidc {
        Some(o) => {
            let callback = format!("{}/auth/oidc/callback", settings.public_url.origin());
            let oidc = Arc::new(crate::service::oidc::Oidc::new(o, callback)?);
            let warm = oidc.clone();
            tokio::spawn(async move { warm.warm_up().await });
            Some(oidc)
        }
        None => None,
    };
    let state = AppState {
        store,
        sequencer,
        keys,
        public_url: Arc::new(settings.public_url),
        guard,
        health,
        lookup_limiter: Arc::new(RateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(per_minute),
        )),
        login_ip_limiter: Arc::new(RateLimiter::keyed(
            Quota::per_minute(NonZeroU32::new(10).expect("ten"))
                .allow_burst(NonZeroU32::new(10).expect("ten")),
        )),
        login_user_limiter: Arc::new(RateLimiter::keyed(
            Quota::per_minute(NonZeroU32::new(5).expect("five"))
                .allow_burst(NonZeroU32::new(5).expect("five")),
        )),
        trusted_proxies: Arc::new(settings.trusted_proxies),
        live,
        batches: Default::default(),
        streams: Default::default(),
        policy,
        witnessing,
        reads,
        metrics,
        metrics_allow: Arc::new(settings.metrics_allow),
        oidc,
        mailer,
    };
    spawn_limiter_cleanup(&state);
    crate::service::housekeeping::spawn_purger(&state.store);
    Ok(state)
}

/// Keyed rate limiters remember every address they saw; forget the idle ones each minute so
/// a public lookup page cannot grow memory without bound. Stops when the state is dropped.
fn spawn_limiter_cleanup(state: &AppState) {
    let lookup = Arc::downgrade(&state.lookup_limiter);
    let login_ip = Arc::downgrade(&state.login_ip_limiter);
    let login_user = Arc::downgrade(&state.login_user_limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let (Some(a), Some(b), Some(c)) =
                (lookup.upgrade(), login_ip.upgrade(), login_user.upgrade())
            else {
                return;
            };
            a.retain_recent();
            b.retain_recent();
            c.retain_recent();
        }
    });
}

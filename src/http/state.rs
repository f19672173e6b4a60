//! The state every handler shares: the store, the sequencer, the keys and the limiters.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};
use ipnet::IpNet;

use crate::http::conn::StreamSlots;
use crate::http::error::AppError;

use crate::domain::public_url::PublicUrl;
use crate::metrics::Metrics;
use crate::service::batches::Batches;
use crate::service::live::Live;
use crate::service::read_cache::ReadCache;
use crate::service::sequencer::{Health, Keys, RollbackGuard, Sequencer, Signed};
use crate::service::witnessing::Witnessing;
use crate::store::Store;
use crate::tlog::policy::Policy;

pub type Limiter = DefaultKeyedRateLimiter<IpAddr>;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub sequencer: Sequencer,
    pub keys: Arc<Keys>,
    pub public_url: Arc<PublicUrl>,
    pub guard: Arc<RollbackGuard>,
    /// Whether appends succeed and this instance's keys are current (`/readyz`).
    pub health: Arc<Health>,
    pub lookup_limiter: Arc<Limiter>,
    /// Login attempts per client address and per username (argon2id is expensive).
    pub login_ip_limiter: Arc<Limiter>,
    pub login_user_limiter: Arc<DefaultKeyedRateLimiter<String>>,
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// The ceremony screens' "log grew" signal and shared counts.
    pub live: Arc<Live>,
    /// Links just issued from the admin pages, for their CSV and slips downloads.
    pub batches: Arc<Batches>,
    /// Event streams held per client address (SPEC 4.6).
    pub streams: Arc<StreamSlots>,
    /// The witness policy: which checkpoint is published, what proofs lead to (SPEC 3.8).
    pub policy: Option<Arc<Policy>>,
    /// Pushes checkpoints to the policy's witnesses while this state lives.
    pub witnessing: Option<Arc<Witnessing>>,
    /// Keys, checkpoints, tiles and checked signatures for the public read path.
    pub reads: Arc<ReadCache>,
    /// This instance's instruments, rendered on `/metrics`.
    pub metrics: Metrics,
    /// Client networks that may read `/metrics` (`--metrics-allow`).
    pub metrics_allow: Arc<Vec<IpNet>>,
    /// Sign-in with the government's SSO, when `--oidc-issuer` is set (SPEC 4.5).
    pub oidc: Option<Arc<crate::service::oidc::Oidc>>,
    /// The SMTP transport for reminder emails (`--smtp-url`), when configured.
    pub mailer: Option<crate::service::reminder::Mailer>,
}

impl AppState {
    /// Counts one NIP lookup against the client's address (IPv6 per /64); 429 when over.
    pub fn check_lookup_limit(&self, client: IpAddr) -> Result<(), AppError> {
        self.lookup_limiter
            .check_key(&rate_key(client))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.metrics.rate_limited("lookup");
                AppError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            })
    }

    /// Counts one sign request's outcome (SPEC 4.6): `created`, `repeated`, or the refusal's
    /// error code — a fixed set of codes, never a token or a person.
    pub fn count_sign(&self, outcome: &Result<Signed, AppError>) {
        self.metrics.sign_request(match outcome {
            Ok(s) if s.created => "created",
            Ok(_) => "repeated",
            Err(e) => e.code,
        });
    }

    /// Whether `client` (the address `ClientAddr` determines, behind trusted proxies) may read
    /// `/metrics`.
    pub fn may_read_metrics(&self, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        self.metrics_allow.iter().any(|net| net.contains(&client))
    }
}

/// The key a client is counted under: IPv4 as is, IPv6 by its /64 (one household or phone).
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

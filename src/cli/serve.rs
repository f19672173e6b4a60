//! `ikrar serve`: keys (or the demo keys, loudly), startup, and the server until a signal.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::redact;
use crate::cli::args::{OidcArgs, ServeArgs};
use crate::cli::setup::sqlite_path;
use crate::domain::public_url::PublicUrl;
use crate::service::oidc::OidcSettings;
use crate::startup::{self, Settings};
use crate::store;
use crate::tlog::keys;

pub(super) async fn serve(url: &str, args: ServeArgs) -> Result<()> {
    let public_url = match &args.public_url {
        Some(u) => PublicUrl::parse(u).map_err(|e| anyhow!(e.message))?,
        None => {
            PublicUrl::parse(&format!("http://{}", args.bind)).map_err(|e| anyhow!(e.message))?
        }
    };
    if public_url.scheme() == "http" && !public_url.is_loopback() && !args.demo {
        bail!(
            "--public-url {} uses http:// for a non-loopback host; use https:// (or --demo)",
            public_url.origin()
        );
    }
    let (pledge_key, log_key) = if args.demo {
        tracing::warn!(
            "DEMO MODE: signing with the PUBLIC development keys of keys-example/. Never use this for real pledges."
        );
        eprintln!(
            "\n!!! MODE DEMO: kunci pengembangan publik dari keys-example/ dipakai. JANGAN untuk ikrar sungguhan. !!!\n"
        );
        (
            keys::signing_key_from_pem(include_str!("../../keys-example/pledge.pem"))?,
            keys::signing_key_from_pem(include_str!("../../keys-example/log.pem"))?,
        )
    } else {
        let p = args
            .keys
            .pledge_key
            .as_deref()
            .ok_or_else(|| missing_key("IKRAR_PLEDGE_KEY", "--pledge-key"))?;
        let l = args
            .keys
            .log_key
            .as_deref()
            .ok_or_else(|| missing_key("IKRAR_LOG_KEY", "--log-key"))?;
        (keys::load_signing_key(p)?, keys::load_signing_key(l)?)
    };
    let witness_policy = match &args.witness_policy {
        Some(path) => Some(super::read_policy(path)?),
        None => None,
    };
    let oidc = oidc_settings(&args.oidc)?;
    let store = store::connect(url)
        .await
        .with_context(|| format!("opening database {}", redact(url)))?;
    let checkpoint_file = args.checkpoint_file.clone().or_else(|| {
        sqlite_path(url).map(|p| {
            let mut name = p.file_name().unwrap_or_default().to_os_string();
            name.push(".checkpoint");
            p.with_file_name(name)
        })
    });
    let state = startup::build_state(
        store.clone(),
        Settings {
            public_url: public_url.clone(),
            pledge_key,
            log_key,
            checkpoint_file,
            trusted_proxies: args.trusted_proxy.clone(),
            lookup_limit: args.lookup_limit,
            witness_policy,
            metrics_allow: args.metrics_allow.clone(),
            oidc,
            smtp: super::remind::smtp_config(&args.smtp)?,
        },
    )
    .await?;
    if args.demo {
        crate::service::demo::prepare(store.as_ref(), &public_url).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    tracing::info!(bind = %args.bind, public_url = %public_url.origin(), engine = store.engine(), "serving");
    eprintln!(
        "ikrar melayani di {} (URL publik {})",
        args.bind,
        public_url.origin()
    );
    if let Some(n) = crate::http::conn::raise_open_file_limit() {
        tracing::info!(open_files = n, "open-file limit");
    }
    let limits = crate::http::ServeLimits {
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections,
    };
    crate::http::serve_with_limits(listener, state, limits, shutdown_signal()).await?;
    Ok(())
}

/// The OIDC settings of `--oidc-*`, the secret read from its file; `None` without an issuer.
fn oidc_settings(args: &OidcArgs) -> Result<Option<OidcSettings>> {
    let Some(issuer) = &args.oidc_issuer else {
        return Ok(None);
    };
    let client_id = args
        .oidc_client_id
        .clone()
        .ok_or_else(|| anyhow!("--oidc-issuer needs --oidc-client-id (IKRAR_OIDC_CLIENT_ID)"))?;
    let file = args.oidc_client_secret_file.as_deref().ok_or_else(|| {
        anyhow!("--oidc-issuer needs --oidc-client-secret-file (IKRAR_OIDC_CLIENT_SECRET_FILE)")
    })?;
    let secret = std::fs::read_to_string(file)
        .with_context(|| format!("reading the OIDC client secret from {}", file.display()))?
        .trim()
        .to_string();
    if secret.is_empty() {
        bail!("{} holds no OIDC client secret", file.display());
    }
    Ok(Some(OidcSettings {
        issuer: issuer.trim().to_string(),
        client_id,
        client_secret: secret,
        nip_claim: args.oidc_nip_claim.trim().to_string(),
    }))
}

pub(super) fn missing_key(var: &str, flag: &str) -> anyhow::Error {
    anyhow!(
        "{var} ({flag}) is not set: ikrar will not sign without its keys. Make a pair with \
         `ikrar keygen --out keys`, or try `ikrar serve --demo`; see keys-example/README.md"
    )
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

//! `ikrar witness keygen|serve`: the witness a Bawaslu office, the Ombudsman or a newsroom
//! runs (SPEC 3.8). The protocol lives in [`crate::witness`]; this only reads files and
//! flags.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};

use crate::cli::args::{WitnessCommand, WitnessServeArgs};
use crate::tlog::cosignature::{self, Cosigner};
use crate::tlog::keys;
use crate::tlog::note::Verifier;
use crate::witness::state::{DEFAULT_DATABASE_URL, WitnessState};
use crate::witness::{self, Witness};

pub(super) async fn witness(database_url: Option<&str>, command: WitnessCommand) -> Result<()> {
    match command {
        WitnessCommand::Keygen { out, name, force } => keygen(&out, &name, force),
        WitnessCommand::Serve(args) => {
            serve(database_url.unwrap_or(DEFAULT_DATABASE_URL), args).await
        }
    }
}

/// Writes `witness.pem` (0600) and `witness.vkey`; refuses to overwrite unless `force`.
fn keygen(out: &Path, name: &str, force: bool) -> Result<()> {
    if !cosignature::valid_name(name) {
        bail!("nama saksi {name:?} tidak sah: tidak boleh kosong, berisi spasi, atau '+'");
    }
    let (pem, vkey) = (out.join("witness.pem"), out.join("witness.vkey"));
    if !force && let Some(existing) = [&pem, &vkey].into_iter().find(|p| p.exists()) {
        bail!(
            "{} sudah ada; kunci tidak ditimpa tanpa --force",
            existing.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("membuat {}", out.display()))?;
    let cosigner = Cosigner::new(name, keys::generate())?;
    keys::write_file(
        &pem,
        keys::signing_key_to_pem(cosigner.signing_key()).as_bytes(),
        true,
        force,
    )?;
    keys::write_file(
        &vkey,
        format!("{}\n", cosigner.vkey()).as_bytes(),
        false,
        force,
    )?;
    eprintln!("ditulis: {}", pem.display());
    eprintln!("ditulis: {}", vkey.display());
    println!("{}", cosigner.vkey());
    Ok(())
}

/// A `--log` value: a verifier key, or a file of them (one a line; blank lines and `#`
/// comments skipped).
fn log_keys(value: &str) -> Result<Vec<Verifier>> {
    let as_vkey = match Verifier::from_vkey(value.trim()) {
        Ok(v) => return Ok(vec![v]),
        Err(e) => e,
    };
    if !Path::new(value).exists() {
        bail!("--log {value:?} bukan berkas maupun kunci verifikasi log yang sah: {as_vkey}");
    }
    let text =
        std::fs::read_to_string(value).with_context(|| format!("membaca --log {value:?}"))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| Verifier::from_vkey(l).with_context(|| format!("{value}: {l:?}")))
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        bail!("{value}: tidak memuat kunci verifikasi log");
    }
    Ok(keys)
}

async fn serve(url: &str, args: WitnessServeArgs) -> Result<()> {
    let key = keys::load_signing_key(&args.key)?;
    let cosigner = Cosigner::new(&args.name, key)?;
    let mut verifiers = Vec::new();
    for value in &args.logs {
        verifiers.extend(log_keys(value)?);
    }
    let logs = witness::watched_logs(verifiers);
    let state = WitnessState::open(url).await?;
    let witness = Arc::new(Witness::new(cosigner, logs, state).await?);

    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("mendengarkan di {}", args.bind))?;
    eprintln!(
        "Saksi {} berjalan di http://{} — kunci verifikasi: {}",
        witness.cosigner.name,
        listener.local_addr()?,
        witness.cosigner.vkey()
    );
    for log in &witness.logs {
        eprintln!("mengawasi log {}", log.origin);
    }
    let limits = crate::http::ServeLimits {
        max_connections: 1024,
        ..Default::default()
    };
    crate::http::conn::serve(
        listener,
        witness::server::router(witness),
        limits,
        super::serve::shutdown_signal(),
    )
    .await?;
    Ok(())
}

//! `ikrar verify`: checks a QR text or a receipt PDF against the keys it is given, offline
//! or against a server's keys and log. A PDF's attached tlog-proof is checked offline, and
//! with `--policy` so is the witness quorum on its checkpoint.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::tlog::policy::Policy;

/// `ikrar verify`: prints one line and exits 0 (valid) or 1 (invalid).
pub(super) async fn verify(input: &str, keys_arg: &str, policy: Option<&Policy>) -> Result<()> {
    use crate::service::offline::{self as v, Invalid};
    crate::install_tls();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()?;
    let online = v::is_url(keys_arg);
    let outcome: Result<String, Invalid> = async {
        let keys = v::load_keys(&client, keys_arg).await?;
        let path = Path::new(input);
        let verified = if path.is_file() {
            let bytes =
                std::fs::read(path).map_err(|e| Invalid(format!("{input} tidak terbaca: {e}")))?;
            v::verify_pdf(&bytes, &keys)?
        } else {
            let (host, bytes) = v::parse_qr_text(input)?;
            v::verify_record(&bytes, &keys, Some(&host))?
        };
        let mut line = format!(
            "SAH: {} · log indeks {} · ditandatangani kunci {}",
            verified.record.body.name, verified.record.body.log_index, verified.key_name
        );
        match verified.included_in {
            Some(size) => line.push_str(&format!(
                " · tercatat di log menurut bukti di PDF (checkpoint {size}, diperiksa luring)"
            )),
            None if path.is_file() && !online => {
                line.push_str(" · inklusi di log tidak diperiksa: PDF ini tidak memuat bukti log")
            }
            None => {}
        }
        let mut quorum_checked = false;
        if let (Some(policy), Some(note)) = (policy, &verified.checkpoint) {
            line.push_str(&witnessed(&v::check_quorum(note, policy)?));
            quorum_checked = true;
        }
        if online {
            let (size, note) = v::check_log(&client, keys_arg, &keys, &verified.record).await?;
            line.push_str(&format!(" · tercatat di log (checkpoint {size})"));
            if let Some(policy) = policy {
                line.push_str(&witnessed(&v::check_quorum(&note, policy)?));
                quorum_checked = true;
            }
        } else {
            line.push_str(" · status pembatalan hanya dapat diperiksa daring");
        }
        if policy.is_some() && !quorum_checked {
            return Err(Invalid(
                "kuorum saksi tidak dapat diperiksa: tidak ada checkpoint untuk diperiksa \
                 (kode QR tidak memuatnya; periksa PDF-nya, atau gunakan --keys URL)"
                    .to_string(),
            ));
        }
        Ok(line)
    }
    .await;
    match outcome {
        Ok(line) => {
            println!("{line}");
            Ok(())
        }
        Err(reason) => {
            println!("TIDAK SAH: {reason}");
            std::process::exit(1);
        }
    }
}

fn witnessed(names: &[String]) -> String {
    if names.is_empty() {
        " · kebijakan saksi tidak meminta tanda tangan saksi".to_string()
    } else {
        format!(" · disaksikan oleh {}", names.join(", "))
    }
}

/// `ikrar verifier`: the in-browser verifier as one file with the given keys pinned.
pub(super) async fn write_verifier(
    keys_arg: &str,
    policy: Option<&Policy>,
    zone: &str,
    out: &Path,
) -> Result<()> {
    use crate::service::offline as v;
    use crate::service::verifier::{Hosting, VerifierConfig};
    crate::install_tls();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()?;
    let zone = crate::domain::instansi::TimeZone::parse(zone).map_err(|e| anyhow!(e.message))?;
    let keys = v::load_keys(&client, keys_arg)
        .await
        .map_err(|e| anyhow!(e.0))?;
    let config =
        VerifierConfig::new(keys, policy, zone, Hosting::File).map_err(|e| anyhow!(e.0))?;
    let html = config.page(Hosting::File)?;
    std::fs::write(out, html).with_context(|| format!("menulis {}", out.display()))?;
    let pledge = config
        .keys
        .keys
        .iter()
        .filter(|k| k.purpose == "pledge")
        .count();
    eprintln!(
        "Pemeriksa ditulis ke {} ({pledge} kunci ikrar{}).",
        out.display(),
        match &config.policy {
            Some(p) => format!(", {} saksi", p.witnesses.len()),
            None => String::new(),
        }
    );
    Ok(())
}

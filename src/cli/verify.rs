//! `ikrar verify`: checks a QR text or a receipt PDF against the keys it is given, offline
//! or against a server's keys and log. A PDF's attached tlog-proof is checked offline, and
//! with `--policy` so is the witness quorum on its checkpoint.

use std::path::Path;

use anyhow::Result;

use crate::tlog::policy::Policy;

/// `ikrar verify`: prints one line and exits 0 (valid) or 1 (invalid).
pub(super) async fn verify(input: &str, keys_arg: &str, policy: Option<&Policy>) -> Result<()> {
    use crate::service::offline::{self as v, Invalid, KeySet};
    crate::install_tls();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()?;
    let online = keys_arg.starts_with("http://") || keys_arg.starts_with("https://");
    let outcome: Result<String, Invalid> = async {
        let keys = if online {
            v::fetch_keys(&client, keys_arg).await?
        } else {
            let text = std::fs::read_to_string(keys_arg)
                .map_err(|e| Invalid(format!("berkas kunci {keys_arg} tidak terbaca: {e}")))?;
            KeySet::parse(&text)?
        };
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

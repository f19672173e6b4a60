//! `ikrar remind`: one reminder round from the command line, with a progress bar while the
//! emails go out and a summary on stderr (never anyone's address).

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};

use super::ACTOR;
use super::campaign::public_url;
use crate::cli::args::{RemindArgs, SmtpArgs};
use crate::service::campaign as campaigns;
use crate::service::reminder::{self, Channel, Mailer, RoundRequest, SmtpConfig};
use crate::store::Store;

/// `--smtp-url` and `--smtp-from` go together.
pub(super) fn smtp_config(args: &SmtpArgs) -> Result<Option<SmtpConfig>> {
    match (&args.smtp_url, &args.smtp_from) {
        (Some(url), Some(from)) => Ok(Some(SmtpConfig {
            url: url.clone(),
            from: from.clone(),
        })),
        (None, None) => Ok(None),
        _ => bail!(
            "--smtp-url (IKRAR_SMTP_URL) dan --smtp-from (IKRAR_SMTP_FROM) harus diisi bersama"
        ),
    }
}

pub(super) async fn remind(store: &dyn Store, args: &RemindArgs) -> Result<()> {
    let channel = Channel::parse(&args.channel).map_err(|e| anyhow!(e.message))?;
    let c = campaigns::by_id(store, args.campaign).await?;
    let url = public_url(store, args.public_url.as_deref()).await?;
    if channel == Channel::Whatsapp && args.out.is_none() {
        bail!("--out FILE.csv wajib untuk --channel whatsapp: tautan hanya ditampilkan sekali");
    }
    let mailer = match channel {
        Channel::Email => {
            let config = smtp_config(&args.smtp)?.ok_or_else(|| {
                anyhow!("--channel email memerlukan --smtp-url dan --smtp-from (atau IKRAR_SMTP_URL dan IKRAR_SMTP_FROM)")
            })?;
            Some(Mailer::new(&config).map_err(|e| anyhow!(e.message))?)
        }
        Channel::Whatsapp => None,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} mengirim surel {pos}/{len} [{bar:30}] {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let outcome = reminder::remind(
        store,
        mailer.as_ref(),
        &c,
        &RoundRequest {
            channel,
            unit: args.unit.as_deref(),
            nip: args.nip.as_deref(),
            round_key: None,
        },
        &url,
        ACTOR,
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let outcome = outcome?;
    if let Some(out) = &args.out
        && channel == Channel::Whatsapp
    {
        std::fs::write(out, reminder::whatsapp_csv(&outcome.links)?)
            .with_context(|| format!("menulis {}", out.display()))?;
        eprintln!("Tautan WhatsApp ditulis ke {}.", out.display());
    }
    eprintln!("{}", outcome.message());
    for f in &outcome.failed {
        eprintln!(
            "  gagal: {} {} ({}): {}",
            f.number, f.name, f.unit, f.reason
        );
    }
    Ok(())
}

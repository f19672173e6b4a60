//! Campaigns from the command line: create, edit, close, list (with each one's phase), issue
//! links, export compliance.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::ACTOR;
use crate::cli::args::{CampaignCommand, InvitationsArgs};
use crate::domain::public_url::PublicUrl;
use crate::service::audit::now;
use crate::service::campaign::{self as campaigns, CampaignChange, CampaignInput};
use crate::service::compliance::{self, ExportFormat};
use crate::service::{instansi, invitation};
use crate::store::Store;

pub(super) async fn campaign(store: &dyn Store, command: CampaignCommand) -> Result<()> {
    match command {
        CampaignCommand::Create {
            instansi: code,
            template,
            title,
            place,
            opens,
            closes,
            units,
            no_mark,
            screen,
            public,
        } => {
            let inst = instansi::by_code(store, &code).await?;
            let input = CampaignInput {
                template,
                title,
                place,
                opens,
                closes,
                units,
                mark: !no_mark,
                screen,
                public,
            };
            let id = campaigns::create(store, inst.id, &input, ACTOR).await?;
            println!("{id}");
            Ok(())
        }
        CampaignCommand::Edit {
            campaign: id,
            title,
            place,
            closes,
            units,
            screen,
            public,
        } => {
            let c = campaigns::by_id(store, id).await?;
            let change = CampaignChange {
                title,
                place,
                closes,
                units: units.map(|u| u.into_iter().filter(|u| !u.trim().is_empty()).collect()),
                screen,
                public,
            };
            let changes = campaigns::edit(store, &c, &change, ACTOR).await?;
            if changes.is_empty() {
                eprintln!("Kampanye {id}: tidak ada yang berubah.");
            }
            for what in changes {
                eprintln!("Kampanye {id}: {what}.");
            }
            Ok(())
        }
        CampaignCommand::Close { campaign: id } => {
            let c = campaigns::by_id(store, id).await?;
            if campaigns::close(store, &c, ACTOR).await? {
                eprintln!("Kampanye {id} ditutup.");
            } else {
                eprintln!("Kampanye {id} sudah ditutup sebelumnya.");
            }
            Ok(())
        }
        CampaignCommand::List { instansi: code } => {
            let inst = instansi::by_code(store, &code).await?;
            let now = now();
            for c in campaigns::list(store, inst.id).await? {
                println!("{}\t{}\t{}", c.id, c.phase(now).label(), c.title);
            }
            Ok(())
        }
    }
}

pub(super) async fn public_url(store: &dyn Store, flag: Option<&str>) -> Result<PublicUrl> {
    let raw = match flag {
        Some(u) => u.to_string(),
        None => store.setting("public_url").await?.ok_or_else(|| {
            anyhow!("URL publik belum diketahui: jalankan `ikrar serve --public-url …` sekali, atau beri --public-url")
        })?,
    };
    PublicUrl::parse(&raw).map_err(|e| anyhow!(e.message))
}

pub(super) async fn invitations(store: &dyn Store, args: &InvitationsArgs) -> Result<()> {
    let c = campaigns::by_id(store, args.campaign).await?;
    let url = public_url(store, args.public_url.as_deref()).await?;
    let issued =
        invitation::issue(store, &c, args.reissue, args.nip.as_deref(), &url, ACTOR).await?;
    std::fs::write(&args.out, invitation::csv(&issued)?)
        .with_context(|| format!("menulis {}", args.out.display()))?;
    if let Some(slips) = &args.slips {
        let pdf = invitation::slips_pdf(store, &c, &issued).await?;
        std::fs::write(slips, pdf).with_context(|| format!("menulis {}", slips.display()))?;
        eprintln!("Slip QR untuk dicetak: {}", slips.display());
    }
    eprintln!(
        "{} tautan {} untuk kampanye {} → {}",
        issued.len(),
        if args.reissue {
            "diterbitkan ulang"
        } else {
            "diterbitkan"
        },
        c.id,
        args.out.display()
    );
    if issued.is_empty() && args.nip.is_some() {
        eprintln!(
            "Tidak ada tautan baru: orang itu bukan sasaran, sudah punya tautan aktif, atau sudah menandatangani."
        );
    }
    Ok(())
}

pub(super) async fn export_compliance(
    store: &dyn Store,
    id: i64,
    format: &str,
    out: &Path,
) -> Result<()> {
    let c = campaigns::by_id(store, id).await?;
    let Some(format) = ExportFormat::parse(format) else {
        bail!("--format {format}: gunakan csv, csv-excel atau xlsx");
    };
    let bytes = compliance::export(store, &c, format, ACTOR).await?;
    std::fs::write(out, bytes).with_context(|| format!("menulis {}", out.display()))?;
    eprintln!(
        "Ekspor kepatuhan kampanye {id} ditulis ke {}.",
        out.display()
    );
    Ok(())
}

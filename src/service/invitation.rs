//! Invitations: signing links issued (shown once, stored hashed), reissued, revoked, and
//! handed out as a CSV or as printable QR slips.

use crate::domain::nip::normalize_identifier;
use crate::domain::public_url::PublicUrl;
use crate::domain::text::spreadsheet_safe;
use crate::domain::token;
use crate::render::pdf::slips::{self, Slip};
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult, blocking};
use crate::store::{CampaignRow, Store};

/// One issued link, shown exactly once.
#[derive(Clone, Debug)]
pub struct Issued {
    pub number: String,
    pub name: String,
    pub unit: String,
    pub link: String,
}

/// Issues links for target staff who have none; `reissue` revokes and reissues for every
/// unsigned target; `nip` limits either to one person, however the NIP is written.
pub async fn issue(
    store: &dyn Store,
    campaign: &CampaignRow,
    reissue: bool,
    nip: Option<&str>,
    url: &PublicUrl,
    actor: &str,
) -> ServiceResult<Vec<Issued>> {
    let number = nip
        .filter(|n| !n.trim().is_empty())
        .map(normalize_identifier);
    let issued = store
        .issue_invitations(campaign.id, reissue, number.as_deref(), now(), &token::mint)
        .await?;
    audit::record(
        store,
        Some(campaign.instansi_id),
        actor,
        "invitations.issue",
        &format!(
            "{} tautan {} untuk kampanye {}{}",
            issued.len(),
            if reissue {
                "diterbitkan ulang"
            } else {
                "diterbitkan"
            },
            campaign.id,
            number
                .as_deref()
                .map(|n| format!(" (NIP {n})"))
                .unwrap_or_default()
        ),
    )
    .await?;
    // Same-name units are told apart in the files HR hands out, too.
    let tree = crate::service::campaign::unit_tree(store, campaign.instansi_id).await?;
    Ok(issued
        .into_iter()
        .map(|(t, tok)| {
            let label = tree.label(t.unit_id);
            Issued {
                number: t.number,
                name: t.name,
                unit: if label.is_empty() { t.unit } else { label },
                link: url.signing_link(&tok),
            }
        })
        .collect())
}

/// Revokes a person's active link; the old token then answers 410 `token_revoked`.
pub async fn revoke(
    store: &dyn Store,
    campaign: &CampaignRow,
    nip: &str,
    actor: &str,
) -> ServiceResult<u64> {
    let number = normalize_identifier(nip);
    let n = store.revoke_invitation(campaign.id, &number, now()).await?;
    audit::record(
        store,
        Some(campaign.instansi_id),
        actor,
        "invitations.revoke",
        &format!("tautan {number} dicabut pada kampanye {}", campaign.id),
    )
    .await?;
    Ok(n)
}

/// `nip,nama,unit,link`, formula-safe.
pub fn csv(issued: &[Issued]) -> ServiceResult<Vec<u8>> {
    links_csv(issued).map_err(|e| ServiceError::internal("writing the links CSV", e))
}

fn links_csv(issued: &[Issued]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["nip", "nama", "unit", "link"])?;
    for i in issued {
        out.write_record([
            spreadsheet_safe(&i.number).as_ref(),
            spreadsheet_safe(&i.name).as_ref(),
            spreadsheet_safe(&i.unit).as_ref(),
            &i.link,
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Printable QR slips (8 per A4 page) for links just issued, for staff who sign on a shared
/// device. Rendered off the async threads.
pub async fn slips_pdf(
    store: &dyn Store,
    campaign: &CampaignRow,
    issued: &[Issued],
) -> ServiceResult<Vec<u8>> {
    let instansi = store
        .instansi_by_id(campaign.instansi_id)
        .await?
        .map(|i| i.name)
        .unwrap_or_default();
    let title = campaign.title.clone();
    let issued = issued.to_vec();
    blocking("rendering QR slips", move || {
        let list: Vec<Slip> = issued
            .iter()
            .map(|i| Slip {
                name: &i.name,
                nip_display: &i.number,
                unit: &i.unit,
                link: &i.link,
            })
            .collect();
        slips::render(&instansi, &title, &list)
    })
    .await?
    .map_err(|e| ServiceError::internal("rendering QR slips", e))
}

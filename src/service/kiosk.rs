//! Kiosks (SPEC 4.4): a shared tablet that signs for one campaign. HR starts one (which
//! ends HR's session in that browser), lists and ends them; the device holds a secret whose
//! hash is stored. Each signer is one *step*: a slip token taken by camera, scanner or hand
//! starts it, and "Selesai" (or the scan screen) ends it on the server, so nothing of the
//! previous signer can be reached again from the device.

use crate::domain::statement::sha256;
use crate::domain::{text, token};
use crate::service::audit::{self, now};
use crate::service::error::{RefusalKind, ServiceError, ServiceResult};
use crate::service::{housekeeping, pledge};
use crate::store::admin::{KioskRow, NewKiosk};
use crate::store::{CampaignRow, SignContext, Store};

/// How long the receipt stays on the kiosk's screen after signing (SPEC 4.4).
pub const RECEIPT_SECONDS: u32 = 60;
/// Longest kiosk label, in characters.
const MAX_LABEL_CHARS: usize = 60;

/// A kiosk just set up: the device's secret, shown only to its cookie.
pub struct Started {
    pub id: i64,
    pub secret: String,
    pub expires_at: i64,
}

/// HR makes the calling browser a kiosk for campaign `c`, until it closes or HR ends it.
pub async fn start(
    store: &dyn Store,
    c: &CampaignRow,
    label: &str,
    actor: &str,
) -> ServiceResult<Started> {
    if c.phase(now()) == crate::domain::campaign::Phase::Closed {
        return Err(ServiceError::gone(
            "campaign_closed",
            "Kampanye ini sudah ditutup; kiosk tidak dapat dimulai.",
        ));
    }
    let label = text::clean(label, "label")?.trim().to_string();
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
            "label_too_long",
            "label",
            "Nama kiosk terlalu panjang (paling banyak 60 karakter).",
        )));
    }
    let label = if label.is_empty() {
        "Kiosk".to_string()
    } else {
        label
    };
    housekeeping::purge_expired(store).await?;
    let secret = token::random(32);
    let at = now();
    let id = store
        .create_kiosk(&NewKiosk {
            campaign_id: c.id,
            label: &label,
            secret_hash: sha256(secret.as_bytes()),
            started_by: actor,
            started_at: at,
            expires_at: c.closes_at,
        })
        .await?;
    audit::record(
        store,
        Some(c.instansi_id),
        actor,
        "kiosk.start",
        &format!("kiosk {id} ({label}) untuk kampanye {} dimulai", c.id),
    )
    .await?;
    Ok(Started {
        id,
        secret,
        expires_at: c.closes_at,
    })
}

/// HR ends a kiosk of campaign `c`: its device can no longer sign, at once.
pub async fn end(store: &dyn Store, c: &CampaignRow, id: i64, actor: &str) -> ServiceResult<()> {
    if !store.end_kiosk(c.id, id, actor, now()).await? {
        return Err(ServiceError::refused(
            RefusalKind::NotFound,
            "kiosk_unknown",
            "Kiosk itu tidak ada atau sudah diakhiri.",
        ));
    }
    audit::record(
        store,
        Some(c.instansi_id),
        actor,
        "kiosk.end",
        &format!("kiosk {id} untuk kampanye {} diakhiri", c.id),
    )
    .await
}

/// A campaign's kiosks, newest first.
pub async fn list(store: &dyn Store, campaign_id: i64) -> ServiceResult<Vec<KioskRow>> {
    Ok(store.kiosks(campaign_id).await?)
}

/// The kiosk a device's secret belongs to, while it may sign.
pub async fn by_secret(store: &dyn Store, secret: &str) -> ServiceResult<Option<KioskRow>> {
    Ok(store.live_kiosk(&sha256(secret.as_bytes()), now()).await?)
}

/// The slip token in what a scanner or a person typed: the slip's full link
/// (`https://…/s/TOKEN`) or the bare token, in either case.
pub fn slip_token(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s.split(['?', '#']).next().unwrap_or_default();
    let last = s
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let t = last.trim().to_ascii_uppercase();
    token::looks_valid(&t).then_some(t)
}

/// Starts a signer's step on kiosk `k` from a slip. Returns the step cookie's value (the
/// step's secret, whose hash the kiosk row holds, and the slip token) and the invitation.
pub async fn begin_step(
    store: &dyn Store,
    k: &KioskRow,
    slip: &str,
) -> ServiceResult<(String, SignContext)> {
    let unknown = || {
        ServiceError::not_found(
            "token_unknown",
            "Slip tidak dikenali. Pindai QR pada slip, atau ketik kode di bawah QR.",
        )
        .field("slip")
    };
    let t = slip_token(slip).ok_or_else(unknown)?;
    let ctx = pledge::invitation(store, &t).await?;
    if ctx.campaign_id != k.campaign_id {
        return Err(ServiceError::not_found(
            "slip_other_campaign",
            "Slip ini untuk kampanye lain; kiosk ini hanya menerima slip kampanye ini.",
        )
        .field("slip"));
    }
    let secret = token::random(16);
    store
        .set_kiosk_step(k.id, Some(&sha256(secret.as_bytes())))
        .await?;
    Ok((format!("{secret}.{t}"), ctx))
}

/// The slip token of the kiosk's current step, if the step cookie is that step's.
pub fn step_token(k: &KioskRow, cookie: &str) -> Option<String> {
    let (secret, t) = cookie.split_once('.')?;
    let current = k.step_hash.as_deref()?;
    (current == sha256(secret.as_bytes()).as_slice() && token::looks_valid(t))
        .then(|| t.to_string())
}

/// Ends the kiosk's current signer step on the server.
pub async fn end_step(store: &dyn Store, k: &KioskRow) -> ServiceResult<()> {
    if k.step_hash.is_some() {
        store.set_kiosk_step(k.id, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    #[test]
    fn takes_the_token_from_a_slip_link_or_bare() {
        assert_eq!(slip_token(T).as_deref(), Some(T));
        assert_eq!(
            slip_token(&format!("  {}\n", T.to_lowercase())).as_deref(),
            Some(T)
        );
        assert_eq!(
            slip_token(&format!("https://ikrar.example.go.id/s/{T}")).as_deref(),
            Some(T)
        );
        assert_eq!(
            slip_token(&format!("HTTPS://IKRAR.EXAMPLE.GO.ID/S/{T}/?x=1")).as_deref(),
            Some(T)
        );
    }

    #[test]
    fn refuses_what_is_not_a_token() {
        assert_eq!(slip_token(""), None);
        assert_eq!(slip_token("https://ikrar.example.go.id/"), None);
        assert_eq!(slip_token("ABC"), None);
        assert_eq!(slip_token("ABCDEFGHIJKLMNOPQRSTUVWXY1"), None);
    }
}

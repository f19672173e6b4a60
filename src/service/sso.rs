//! Signers signed in with SSO (SPEC 4.5): a session that holds the NIP the provider vouched
//! for, the open invitations of that NIP, and an invitation resolved only for its own NIP —
//! so the signer needs no link. The signing itself is `pledge::sign_after_sso`.

use crate::domain::campaign::Phase;
use crate::domain::nip::Nip;
use crate::domain::sso::session_expiry;
use crate::domain::statement::sha256;
use crate::domain::token;
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::oidc::Identity;
use crate::store::{NewSignerSession, SignContext, Store};

/// A signer's session lasts this long (cut to 8 hours after the ID token).
pub const SIGNER_SESSION_SECS: i64 = 2 * 3600;

/// A signer signed in with SSO.
#[derive(Clone, Debug)]
pub struct Signer {
    pub nip: String,
    pub subject: String,
    pub csrf: String,
}

/// A new signer session: its id (for the cookie).
pub struct SignerSession {
    pub id: String,
}

/// Why a verified sign-in still gives no signer session.
pub enum Refusal {
    /// The ID token has no NIP claim, or its value is no valid NIP.
    NoNip,
}

/// Opens a signer session for a verified identity whose NIP claim is a valid NIP.
pub async fn open_session(
    store: &dyn Store,
    identity: &Identity,
) -> ServiceResult<Result<SignerSession, Refusal>> {
    let today = chrono::Utc::now().date_naive();
    let Some(nip) = identity
        .nip
        .as_deref()
        .and_then(|n| Nip::parse(n, today).ok())
    else {
        return Ok(Err(Refusal::NoNip));
    };
    let id = token::random(32);
    let csrf = token::random(16);
    let at = now();
    store
        .create_signer_session(&NewSignerSession {
            id_hash: &sha256(id.as_bytes()),
            nip: nip.as_str(),
            subject: &identity.subject,
            csrf: &csrf,
            now: at,
            expires_at: session_expiry(at, SIGNER_SESSION_SECS, identity.expires_at),
        })
        .await?;
    Ok(Ok(SignerSession { id }))
}

/// The signer behind a session id, if the session is live.
pub async fn signer(store: &dyn Store, session: &str) -> ServiceResult<Option<Signer>> {
    Ok(store
        .signer_session(&sha256(session.as_bytes()), now())
        .await?
        .map(|r| Signer {
            nip: r.number,
            subject: r.subject,
            csrf: r.csrf,
        }))
}

pub async fn end_session(store: &dyn Store, session: &str) -> ServiceResult<()> {
    Ok(store
        .delete_signer_session(&sha256(session.as_bytes()))
        .await?)
}

/// The signer's invitations of campaigns open now, signed or not, soonest closing first.
pub async fn open_invitations(
    store: &dyn Store,
    signer: &Signer,
) -> ServiceResult<Vec<SignContext>> {
    let at = now();
    Ok(store
        .invitations_by_nip(&signer.nip)
        .await?
        .into_iter()
        .filter(|c| c.window().phase(at) == Phase::Open)
        .collect())
}

/// One of the signer's own invitations (revoked or another NIP's answers like a missing one).
pub async fn invitation(
    store: &dyn Store,
    signer: &Signer,
    invitation_id: i64,
) -> ServiceResult<SignContext> {
    match store.sign_context_by_invitation(invitation_id).await? {
        Some(ctx)
            if ctx.number == signer.nip
                && ctx.revoked_at.is_none()
                && ctx.kind != crate::domain::nip::EmployeeKind::NonAsn =>
        {
            Ok(ctx)
        }
        _ => Err(ServiceError::not_found(
            "invitation_unknown",
            "Undangan ini tidak ada atau bukan untuk NIP Anda.",
        )),
    }
}

/// Records a refused signer sign-in (no usable NIP claim) in the audit trail.
pub async fn record_refusal(store: &dyn Store, subject: &str) -> ServiceResult<()> {
    audit::record(
        store,
        None,
        &format!("oidc:{subject}"),
        "signer.login.refused",
        "masuk penanda tangan dengan SSO ditolak: token tanpa NIP yang sah",
    )
    .await
}

//! Pledges: sign (the API and the signing page share [`sign`]), see the receipt and its PDF,
//! report a wrong roster entry instead of signing, and annul (an instansi admin, once).
//! A repeated sign — a double tap, a retry after a dropped connection, a race — answers
//! with the same pledge, never a second one.

use crate::domain::account::Role;
use crate::domain::campaign::Phase;
use crate::domain::mark::Mark;
use crate::domain::nip::{EmployeeKind, StaffId};
use crate::domain::public_url::PublicUrl;
use crate::domain::sso::SignedVia;
use crate::domain::statement::Statement;
use crate::domain::template::Template;
use crate::domain::{text, token};
use crate::render::pdf::{self, Receipt};
use crate::service::audit::{self, now};
use crate::service::error::{RefusalKind, ServiceError, ServiceResult, blocking};
use crate::service::proof;
use crate::service::sequencer::{
    self, AnnulRequest, Annulled, Health, Keys, LogSignal, RollbackGuard, Sequencer,
    SequencerError, SignJob, Signed,
};
use crate::store::{AuditEvent, PledgeReceipt, PledgeView, SignContext, Store, StoreError};
use crate::tlog::policy::Policy;
use crate::tlog::proof::TlogProof;
use crate::tlog::record::{ANNUL_CATEGORIES, Record};

/// A receipt stays visible this long after its campaign closes (SPEC 2).
pub const RECEIPT_DAYS_AFTER_CLOSE: i64 = 30;
/// Longest typed consent name, in characters.
const MAX_CONSENT_CHARS: usize = 200;
/// Longest annulment reason, in characters.
const MAX_REASON_CHARS: usize = 1000;

/// What a signer sends, from the API or the signing page's form.
pub struct SignInput<'a> {
    pub token: &'a str,
    pub consent_name: &'a str,
    pub mark_svg: Option<&'a str>,
    /// Evidence, never public (SPEC 6).
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Resolves a token: unknown answers `token_unknown`, revoked `token_revoked`, replaced by
/// a reminder's fresh link `token_replaced`.
pub async fn invitation(store: &dyn Store, raw: &str) -> ServiceResult<SignContext> {
    let unknown = || {
        ServiceError::not_found(
            "token_unknown",
            "Tautan penandatanganan tidak dikenal. Periksa kembali tautan dari BKPSDM.",
        )
        .field("token")
    };
    if !token::looks_valid(raw.trim()) {
        return Err(unknown());
    }
    let ctx = store
        .sign_context(&token::hash(raw))
        .await?
        .ok_or_else(unknown)?;
    if ctx.revoked_at.is_some() && ctx.replaced {
        return Err(ServiceError::gone(
            "token_replaced",
            "Tautan baru telah dikirim kepada Anda. Gunakan tautan terbaru dari pengingat BKPSDM.",
        )
        .field("token"));
    }
    if ctx.revoked_at.is_some() {
        return Err(ServiceError::gone(
            "token_revoked",
            "Tautan ini sudah dicabut. Mintalah tautan baru kepada BKPSDM.",
        )
        .field("token"));
    }
    Ok(ctx)
}

/// Signing happens only while the campaign is open.
pub fn check_open(ctx: &SignContext, now: i64) -> ServiceResult<()> {
    match ctx.window().phase(now) {
        Phase::Open => Ok(()),
        Phase::Closed => Err(ServiceError::gone(
            "campaign_closed",
            "Kampanye ini sudah ditutup; penandatanganan tidak dapat dilakukan lagi.",
        )),
        Phase::NotOpen => Err(ServiceError::forbidden(
            "campaign_not_open",
            format!(
                "Kampanye ini {} untuk penandatanganan.",
                Phase::NotOpen.label()
            ),
        )),
    }
}

/// Signs for a token, or finds the pledge it already made.
pub async fn sign(
    store: &dyn Store,
    sequencer: &Sequencer,
    input: SignInput<'_>,
) -> ServiceResult<Signed> {
    let ctx = invitation(store, input.token).await?;
    sign_invitation(store, sequencer, ctx, input, SignedVia::Link, None).await
}

/// [`sign`] for a slip token typed or scanned at a kiosk, recorded so in the evidence.
pub async fn sign_at_kiosk(
    store: &dyn Store,
    sequencer: &Sequencer,
    input: SignInput<'_>,
) -> ServiceResult<Signed> {
    let ctx = invitation(store, input.token).await?;
    sign_invitation(store, sequencer, ctx, input, SignedVia::Kiosk, None).await
}

/// Signs an invitation that a signer signed in with SSO was shown (`/masuk`), recording that
/// in the pledge's evidence with the provider's subject. `input.token` is not read: the
/// caller resolved `ctx` from the signer's session.
pub async fn sign_after_sso(
    store: &dyn Store,
    sequencer: &Sequencer,
    ctx: SignContext,
    input: SignInput<'_>,
    subject: &str,
) -> ServiceResult<Signed> {
    let subject = Some(subject.to_string());
    sign_invitation(store, sequencer, ctx, input, SignedVia::Sso, subject).await
}

async fn sign_invitation(
    store: &dyn Store,
    sequencer: &Sequencer,
    ctx: SignContext,
    input: SignInput<'_>,
    signed_via: SignedVia,
    sso_subject: Option<String>,
) -> ServiceResult<Signed> {
    // A pledge already made is answered before the campaign's window is looked at:
    // the receipt stays available after the campaign closes.
    if ctx.pledge_id.is_some()
        && let Some(receipt) = store.receipt_for_invitation(ctx.invitation_id).await?
    {
        let head = store.log_head().await?;
        return Ok(Signed {
            pledge_id: receipt.pledge_id,
            log_index: receipt.log_index as u64,
            record: receipt.record,
            statement: receipt.statement,
            checkpoint: head.checkpoint,
            created: false,
        });
    }
    check_open(&ctx, now())?;
    let consent = text::clean(input.consent_name, "consent_name")?;
    if consent.is_empty() {
        return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
            "consent_empty",
            "consent_name",
            "Ketik nama Anda sebagai tanda persetujuan.",
        )));
    }
    if consent.chars().count() > MAX_CONSENT_CHARS {
        return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
            "consent_too_long",
            "consent_name",
            "Nama persetujuan terlalu panjang (paling banyak 200 karakter).",
        )));
    }
    let mark = match input.mark_svg.filter(|m| !m.is_empty()) {
        None => None,
        Some(_) if !ctx.mark_enabled => {
            return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
                "mark_disabled",
                "mark_svg",
                "Kampanye ini tidak memakai tanda tangan gambar; kirim tanpa gambar.",
            )));
        }
        Some(m) => Some(Mark::parse(m)?),
    };
    Ok(sequencer
        .sign(SignJob {
            ctx,
            consent,
            mark,
            client_ip: input.client_ip,
            user_agent: input.user_agent,
            signed_via,
            sso_subject,
        })
        .await?)
}

/// The invitation's pledge, while its receipt may still be shown (30 days after close).
pub async fn receipt(store: &dyn Store, ctx: &SignContext) -> ServiceResult<Option<PledgeReceipt>> {
    let receipt = store.receipt_for_invitation(ctx.invitation_id).await?;
    if receipt.is_some() && now() > ctx.window().ends_at() + RECEIPT_DAYS_AFTER_CLOSE * 86_400 {
        return Err(ServiceError::gone(
            "receipt_expired",
            "Tanda terima ini sudah tidak ditampilkan (lebih dari 30 hari setelah kampanye ditutup). \
             Keabsahan ikrar tetap dapat diperiksa dengan memindai QR pada PDF.",
        ));
    }
    Ok(receipt)
}

/// The campaign's pledge text with the instansi's name filled in.
pub fn template_of(ctx: &SignContext) -> ServiceResult<Template> {
    let t: Template = serde_json::from_str(&ctx.template_body).map_err(|e| {
        ServiceError::Store(StoreError::Corrupt(format!(
            "template {}: {e}",
            ctx.template_no
        )))
    })?;
    Ok(t.render(&ctx.instansi_name))
}

/// Grouped NIP, or the staff number, as printed for the signer.
pub fn display_number(kind: EmployeeKind, number: &str) -> String {
    StaffId::from_stored(kind, number)
        .map(|id| id.display())
        .unwrap_or_else(|| number.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(format!("{what}: {e}")))
}

/// Renders a stored pledge's receipt PDF, off the async threads, never stored. Name,
/// position and unit come from the signed statement (the snapshot at signing), never from
/// today's roster. It carries the pledge's tlog-proof into the newest checkpoint (SPEC 3.6).
pub async fn receipt_pdf(
    store: &dyn Store,
    policy: Option<&Policy>,
    url: &PublicUrl,
    ctx: &SignContext,
    receipt: &PledgeReceipt,
) -> ServiceResult<Vec<u8>> {
    let tlog_proof = proof::for_index(store, policy, receipt.log_index as u64)
        .await?
        .to_text();
    let statement =
        Statement::parse(&receipt.statement).map_err(|e| corrupt("statement", e.message))?;
    let template = template_of(ctx)?;
    let record = Record::parse(&receipt.record).map_err(|e| corrupt("record", e))?;
    let b32 = record.to_base32();
    let qr_text = url.qr_text(&b32);
    let verify_url = url.verify_link(&b32);
    let host = url.host().to_string();
    let mark = receipt
        .mark
        .as_deref()
        .map(Mark::parse)
        .transpose()
        .map_err(|e| corrupt("mark", e.message))?;
    let tz = ctx.tz;
    let date_text = pdf::tanggal(tz.at(receipt.signed_at).date_naive());
    let nip_display = display_number(ctx.kind, &ctx.number);
    let place = ctx.campaign_place.clone();
    let key_id = hex::encode(record.body.key_id);
    let raw_statement = receipt.statement.clone();
    let log_index = receipt.log_index as u64;
    blocking("rendering a receipt", move || {
        let dash = |s: &str| {
            if s == "-" {
                String::new()
            } else {
                s.to_string()
            }
        };
        pdf::render(&Receipt {
            instansi_name: &statement.instansi,
            template: &template,
            name: &statement.name,
            nip_display: &nip_display,
            position: &dash(&statement.position),
            unit: &statement.unit,
            place: &place,
            date_text: &date_text,
            consent_name: &statement.consent,
            mark: mark.as_ref(),
            qr_text: &qr_text,
            host: &host,
            log_index,
            key_id_hex: &key_id,
            record_base32: &b32,
            statement: &raw_statement,
            verify_url: &verify_url,
            tlog_proof: Some(&tlog_proof),
        })
    })
    .await?
    .map_err(|e| ServiceError::internal("rendering a receipt", e))
}

/// "Data saya salah" reports one invitation may send (SPEC 6); the next answers 429.
pub const MAX_REPORTS: i64 = 3;

/// "Data saya salah": the signer tells HR the roster entry is wrong, instead of signing it.
/// At most [`MAX_REPORTS`] per invitation, so one link cannot flood HR's audit trail.
pub async fn report_wrong_data(
    store: &dyn Store,
    raw_token: &str,
    note: &str,
) -> ServiceResult<()> {
    let ctx = invitation(store, raw_token).await?;
    report_for_invitation(store, &ctx, note).await
}

/// [`report_wrong_data`] for an invitation already resolved (a signer signed in with SSO).
pub async fn report_for_invitation(
    store: &dyn Store,
    ctx: &SignContext,
    note: &str,
) -> ServiceResult<()> {
    let note = text::clean(note, "note")?;
    let note = text::cut_utf8(&note, 500);
    let summary = format!(
        "pegawai {} ({}) melaporkan data roster salah pada kampanye {}: {}",
        ctx.name,
        ctx.number,
        ctx.campaign_id,
        if note.is_empty() { "-" } else { note }
    );
    let actor = format!("pegawai:{}", ctx.employee_id);
    let event = AuditEvent {
        instansi_id: Some(ctx.instansi_id),
        actor: &actor,
        action: "roster.report",
        summary: &summary,
    };
    if store
        .record_report(ctx.invitation_id, MAX_REPORTS, &event, audit::now())
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::refused(
            RefusalKind::TooMany {
                retry_after: 24 * 3600,
            },
            "report_limit",
            format!(
                "Laporan data salah dari tautan ini sudah dikirim {MAX_REPORTS} kali dan sudah \
                 diterima BKPSDM. Mohon tunggu tindak lanjutnya, atau hubungi BKPSDM langsung."
            ),
        ))
    }
}

/// A pledge of `instansi_id`, in full, for its HR; another instansi's answers 404.
pub async fn view(store: &dyn Store, instansi_id: i64, id: i64) -> ServiceResult<PledgeView> {
    match store.pledge_by_id(id).await? {
        Some(p) if p.instansi_id == instansi_id => Ok(p),
        _ => Err(ServiceError::unknown()),
    }
}

/// The receipt PDF of a pledge, for HR of its instansi (audited). Returns the log index and
/// the bytes.
pub async fn pdf_for_hr(
    store: &dyn Store,
    policy: Option<&Policy>,
    url: &PublicUrl,
    instansi_id: i64,
    id: i64,
    actor: &str,
) -> ServiceResult<(i64, Vec<u8>)> {
    let p = view(store, instansi_id, id).await?;
    let (invitation_id, _) = store
        .pledge_record(id)
        .await?
        .ok_or_else(ServiceError::unknown)?;
    let ctx = store
        .sign_context_by_invitation(invitation_id)
        .await?
        .ok_or_else(ServiceError::unknown)?;
    let receipt = store
        .receipt_for_invitation(invitation_id)
        .await?
        .ok_or_else(ServiceError::unknown)?;
    let bytes = receipt_pdf(store, policy, url, &ctx, &receipt).await?;
    audit::record(
        store,
        Some(p.instansi_id),
        actor,
        "pledge.pdf",
        &format!("PDF ikrar {id} (log {}) diunduh", p.log_index),
    )
    .await?;
    Ok((p.log_index, bytes))
}

/// The signer's tlog-proof (`/s/{token}/proof`), while the receipt is shown.
pub async fn proof_for_signer(
    store: &dyn Store,
    policy: Option<&Policy>,
    raw_token: &str,
) -> ServiceResult<TlogProof> {
    let ctx = invitation(store, raw_token).await?;
    let receipt = receipt(store, &ctx)
        .await?
        .ok_or_else(|| ServiceError::not_found("pledge_missing", "Ikrar belum ditandatangani."))?;
    proof::for_index(store, policy, receipt.log_index as u64).await
}

/// A pledge's tlog-proof for HR of its instansi; another instansi's answers 404. Not
/// audited: it holds hashes and the public checkpoint, nothing about the person.
pub async fn proof_for_hr(
    store: &dyn Store,
    policy: Option<&Policy>,
    instansi_id: i64,
    id: i64,
) -> ServiceResult<TlogProof> {
    let p = view(store, instansi_id, id).await?;
    proof::for_index(store, policy, p.log_index as u64).await
}

/// Annuls a pledge once (SPEC 2): the annulment is itself a log entry, and the employee can
/// then be invited again.
#[allow(
    clippy::too_many_arguments,
    reason = "one use case, each value from the caller"
)]
pub async fn annul(
    store: &dyn Store,
    keys: &Keys,
    guard: &RollbackGuard,
    health: &Health,
    grown: &LogSignal,
    instansi_id: i64,
    role: Role,
    id: i64,
    category: &str,
    reason: &str,
    actor: &str,
) -> ServiceResult<Annulled> {
    let p = view(store, instansi_id, id).await?;
    if !role.can_annul() {
        return Err(ServiceError::forbidden(
            "forbidden",
            "Hanya admin instansi yang dapat membatalkan ikrar.",
        ));
    }
    if !ANNUL_CATEGORIES.contains(&category) {
        return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
            "category_unknown",
            "category",
            "Kategori harus salah-orang, paksaan, ganda atau lainnya.",
        )));
    }
    let reason = text::clean(reason, "reason")?;
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::Invalid(crate::domain::ValidationError::new(
            "reason_length",
            "reason",
            "Tulis alasan pembatalan (1 sampai 1000 karakter).",
        )));
    }
    let already = || {
        ServiceError::refused(
            RefusalKind::Conflict,
            "already_annulled",
            "Ikrar ini sudah dibatalkan sebelumnya.",
        )
    };
    if p.annulled_at.is_some() {
        return Err(already());
    }
    let (invitation_id, record) = store
        .pledge_record(id)
        .await?
        .ok_or_else(ServiceError::unknown)?;
    let out = sequencer::annul(
        store,
        keys,
        guard,
        health,
        grown,
        &AnnulRequest {
            pledge_id: id,
            invitation_id,
            pledge_record: record,
            category: category.to_string(),
            reason: reason.clone(),
            tz: p.tz,
        },
    )
    .await
    .map_err(|e| match e {
        SequencerError::Store(StoreError::Conflict(_)) => already(),
        other => ServiceError::Sequencer(std::sync::Arc::new(other)),
    })?;
    audit::record(
        store,
        Some(p.instansi_id),
        actor,
        "pledge.annul",
        &format!(
            "ikrar {} (log {}) dibatalkan: {} — {}",
            id, p.log_index, category, reason
        ),
    )
    .await?;
    Ok(out)
}

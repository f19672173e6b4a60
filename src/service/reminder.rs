//! Reminders to a campaign's unsigned targets (SPEC 4.2), by email through an SMTP server or
//! as WhatsApp click-to-chat links. The CLI (`ikrar remind`), the HR API and the admin
//! page all run a round through [`remind`].
//!
//! A round gives each reminded person a fresh link that replaces their old one (which then
//! answers 410 `token_replaced`). Someone without an address for the channel, and someone
//! whose email could not be delivered, keeps their old link. A round has a key: the same
//! key again (HR pressing the button twice, a client retrying) finds the round it repeats
//! and sends nothing. Contact data never leaves this module except into the message itself
//! (and, for WhatsApp, the link HR taps): summaries, audit events and logs name people by
//! NIP and name only.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::domain::ValidationError;
use crate::domain::campaign::Phase;
use crate::domain::contact::parse_mobile;
use crate::domain::instansi::waktu;
use crate::domain::nip::normalize_identifier;
use crate::domain::public_url::PublicUrl;
use crate::domain::{text, token};
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::{CampaignRow, ReminderTarget, RoundCounts, RoundStart, Store};

/// Messages in flight at once (and pooled SMTP connections): enough to hide a server's
/// round trips, few enough not to look like a flood to a government mail server.
pub const CONCURRENCY: usize = 16;
/// Tries per message; transient failures (4xx, a dropped connection) wait and retry.
const ATTEMPTS: u32 = 4;
/// The first retry's wait; each next one doubles it.
const BACKOFF: Duration = Duration::from_millis(250);
/// Longest round key a client may send.
const MAX_ROUND_KEY: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Whatsapp,
}

impl Channel {
    pub fn parse(s: &str) -> Result<Channel, ValidationError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "email" => Ok(Channel::Email),
            "whatsapp" => Ok(Channel::Whatsapp),
            _ => Err(ValidationError::new(
                "channel_unknown",
                "channel",
                "Saluran pengingat harus \"email\" atau \"whatsapp\".",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Whatsapp => "whatsapp",
        }
    }

    /// The channel as HR reads it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "surel",
            Channel::Whatsapp => "WhatsApp",
        }
    }
}

/// Where reminder emails go: `smtp://host:port` (STARTTLS where the server offers it; add
/// `?tls=required` to insist), `smtps://host:port` (implicit TLS), with `user:pass@` when
/// the server wants a login. The URL may hold a password, so `Debug` hides it.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut url = url::Url::parse(&self.url).ok();
        if let Some(u) = url.as_mut().filter(|u| u.password().is_some()) {
            let _ = u.set_password(Some("***"));
        }
        f.debug_struct("SmtpConfig")
            .field(
                "url",
                &url.map_or("<invalid>".to_owned(), |u| u.to_string()),
            )
            .field("from", &self.from)
            .finish()
    }
}

/// A pooled SMTP transport and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Checks the URL and the sender; connects only when the first message goes out.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, ValidationError> {
        let mut url = url::Url::parse(config.url.trim()).map_err(|_| smtp_url_invalid())?;
        match url.scheme() {
            "smtps" => {}
            // STARTTLS whenever the server offers it, unless the URL says otherwise.
            "smtp" if !url.query_pairs().any(|(k, _)| k == "tls") => {
                url.query_pairs_mut().append_pair("tls", "opportunistic");
            }
            "smtp" => {}
            _ => return Err(smtp_url_invalid()),
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|_| smtp_url_invalid())?
            .pool_config(PoolConfig::new().max_size(CONCURRENCY as u32))
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = Mailbox::from_str(config.from.trim()).map_err(|_| {
            ValidationError::new(
                "smtp_from_invalid",
                "smtp_from",
                "Alamat pengirim surel (--smtp-from) tidak sah, misalnya \
                 \"BKPSDM Surakarta <noreply@bkpsdm.surakarta.go.id>\".",
            )
        })?;
        Ok(Mailer { transport, from })
    }
}

fn smtp_url_invalid() -> ValidationError {
    ValidationError::new(
        "smtp_url_invalid",
        "smtp_url",
        "Alamat server surel (--smtp-url) tidak sah: gunakan smtp://host:port atau \
         smtps://host:port.",
    )
}

/// What HR asks for: a channel, and optionally one unit (key or name, with its subtree),
/// one person, and the round's key.
#[derive(Clone, Debug)]
pub struct RoundRequest<'a> {
    pub channel: Channel,
    pub unit: Option<&'a str>,
    pub nip: Option<&'a str>,
    /// The same key again repeats nothing; none makes a new round.
    pub round_key: Option<&'a str>,
}

/// Someone the round did not reach, and why (never their address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotReached {
    pub number: String,
    pub name: String,
    pub unit: String,
    pub reason: String,
}

/// One WhatsApp reminder: the click-to-chat link holds the message and the fresh link.
#[derive(Clone, Debug)]
pub struct WhatsappLink {
    pub number: String,
    pub name: String,
    pub unit: String,
    /// Normalised, `62…`.
    pub telepon: String,
    pub wa_link: String,
}

/// What a round did.
#[derive(Clone, Debug)]
pub struct RoundOutcome {
    pub round_id: i64,
    pub channel: Channel,
    /// The key was used before: this is that round's record, and nothing was sent now.
    pub repeated: bool,
    /// Whether a repeated round had finished (a round still sending has not).
    pub finished: bool,
    /// Reminders delivered to the SMTP server, or WhatsApp links made.
    pub sent: i64,
    /// Unsigned targets without an address for the channel; they keep their link.
    pub no_address: i64,
    /// Delivery failures and unusable numbers, each with its reason.
    pub failed: Vec<NotReached>,
    /// Count of failures (also for a repeated round, whose list is gone).
    pub failed_count: i64,
    /// WhatsApp only: one link per person, shown once.
    pub links: Vec<WhatsappLink>,
}

impl RoundOutcome {
    /// One sentence for people, the same in every way in.
    pub fn message(&self) -> String {
        if self.repeated {
            return if self.finished {
                format!(
                    "Putaran pengingat ini sudah dijalankan sebelumnya ({} terkirim, {} gagal, {} \
                     tanpa alamat); tidak ada yang dikirim ulang.",
                    self.sent, self.failed_count, self.no_address
                )
            } else {
                "Putaran pengingat ini sedang berjalan; tidak ada yang dikirim ulang.".to_owned()
            };
        }
        let verb = match self.channel {
            Channel::Email => "surel terkirim",
            Channel::Whatsapp => "tautan WhatsApp dibuat",
        };
        format!(
            "Pengingat {}: {} {verb}, {} gagal, {} tanpa {}.",
            self.channel.label(),
            self.sent,
            self.failed_count,
            self.no_address,
            match self.channel {
                Channel::Email => "alamat surel",
                Channel::Whatsapp => "nomor telepon",
            }
        )
    }
}

/// Called as messages finish: (done, total).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Runs one reminder round. See the module documentation.
pub async fn remind(
    store: &dyn Store,
    mailer: Option<&Mailer>,
    campaign: &CampaignRow,
    request: &RoundRequest<'_>,
    url: &PublicUrl,
    actor: &str,
    progress: Progress<'_>,
) -> ServiceResult<RoundOutcome> {
    match campaign.phase(now()) {
        Phase::Open => {}
        Phase::Closed => {
            return Err(ServiceError::gone(
                "campaign_closed",
                "Kampanye ini sudah ditutup; pengingat tidak dapat dikirim lagi.",
            ));
        }
        Phase::NotOpen => {
            return Err(ServiceError::forbidden(
                "campaign_not_open",
                "Kampanye ini belum dibuka; kirim pengingat setelah kampanye dibuka.",
            ));
        }
    }
    let mailer = match (request.channel, mailer) {
        (Channel::Email, None) => {
            return Err(ServiceError::forbidden(
                "smtp_not_configured",
                "Server surel belum diatur: jalankan dengan --smtp-url dan --smtp-from (atau \
                 IKRAR_SMTP_URL dan IKRAR_SMTP_FROM).",
            ));
        }
        (_, m) => m,
    };
    let unit = match request.unit.map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(wanted) => {
            let wanted = text::normalize(wanted);
            let units = store.units(campaign.instansi_id).await?;
            let found = units
                .iter()
                .find(|u| u.key == wanted)
                .or_else(|| units.iter().find(|u| u.name.eq_ignore_ascii_case(&wanted)))
                .ok_or_else(|| {
                    ValidationError::new(
                        "unit_unknown",
                        "unit",
                        format!("Unit '{wanted}' tidak ada di roster instansi ini."),
                    )
                })?;
            Some((found.id, found.name.clone()))
        }
    };
    let nip = request
        .nip
        .filter(|n| !n.trim().is_empty())
        .map(normalize_identifier);
    let key = match request.round_key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) if k.len() <= MAX_ROUND_KEY && k.chars().all(|c| c.is_ascii_graphic()) => {
            k.to_owned()
        }
        Some(_) => {
            return Err(ValidationError::new(
                "round_key_invalid",
                "round_key",
                format!("Kunci putaran paling banyak {MAX_ROUND_KEY} karakter ASCII tanpa spasi."),
            )
            .into());
        }
        None => token::random(16),
    };

    let round = match store
        .start_reminder_round(campaign.id, request.channel.as_str(), &key, actor, now())
        .await?
    {
        RoundStart::New(id) => id,
        RoundStart::Repeated(row) => {
            return Ok(RoundOutcome {
                round_id: row.id,
                channel: Channel::parse(&row.channel).unwrap_or(request.channel),
                repeated: true,
                finished: row.finished_at.is_some(),
                sent: row.counts.sent,
                no_address: row.counts.skipped,
                failed: Vec::new(),
                failed_count: row.counts.failed,
                links: Vec::new(),
            });
        }
    };

    let channel = request.channel;
    let eligible = move |t: &ReminderTarget| match channel {
        Channel::Email => t.email.is_some(),
        Channel::Whatsapp => t
            .telepon
            .as_deref()
            .is_some_and(|p| parse_mobile(p).is_ok()),
    };
    let targets = store
        .replace_links(
            campaign.id,
            unit.as_ref().map(|(id, _)| *id),
            nip.as_deref(),
            now(),
            &eligible,
            &token::mint,
        )
        .await?;

    let mut outcome = RoundOutcome {
        round_id: round,
        channel,
        repeated: false,
        finished: true,
        sent: 0,
        no_address: 0,
        failed: Vec::new(),
        failed_count: 0,
        links: Vec::new(),
    };
    let context = MessageContext::load(store, campaign).await?;
    let mut fresh = Vec::new();
    for (target, token) in targets {
        match token {
            Some(token) => fresh.push((target, url.signing_link(&token))),
            None if channel == Channel::Whatsapp && target.telepon.is_some() => {
                outcome.failed.push(not_reached(
                    &target,
                    "nomor telepon di roster bukan nomor ponsel Indonesia yang sah",
                ));
            }
            None => outcome.no_address += 1,
        }
    }
    match (channel, mailer) {
        (Channel::Whatsapp, _) => {
            for (t, link) in fresh {
                let telepon = t
                    .telepon
                    .as_deref()
                    .and_then(|p| parse_mobile(p).ok())
                    .expect("only valid numbers got a fresh link");
                let text = context.whatsapp_text(&t.name, &link);
                outcome.links.push(WhatsappLink {
                    wa_link: wa_link(&telepon, &text),
                    number: t.number,
                    name: t.name,
                    unit: t.unit,
                    telepon,
                });
            }
            outcome.sent = outcome.links.len() as i64;
        }
        (Channel::Email, Some(mailer)) => {
            let results = send_all(mailer, &context, fresh, progress).await;
            let mut undelivered = Vec::new();
            for (t, result) in results {
                match result {
                    Ok(()) => outcome.sent += 1,
                    Err(reason) => {
                        outcome.failed.push(not_reached(&t, &reason));
                        undelivered.push(t);
                    }
                }
            }
            // Whoever did not get the new link keeps the old one.
            if !undelivered.is_empty() {
                store
                    .restore_links(campaign.id, &undelivered, now())
                    .await?;
            }
        }
        (Channel::Email, None) => unreachable!("checked above"),
    }
    outcome
        .failed
        .sort_by(|a, b| (&a.unit, &a.name).cmp(&(&b.unit, &b.name)));
    outcome.failed_count = outcome.failed.len() as i64;
    store
        .finish_reminder_round(
            round,
            RoundCounts {
                sent: outcome.sent,
                failed: outcome.failed_count,
                skipped: outcome.no_address,
            },
            now(),
        )
        .await?;
    let scope = match (&unit, &nip) {
        (Some((_, name)), Some(n)) => format!(" (unit {name}, NIP {n})"),
        (Some((_, name)), None) => format!(" (unit {name})"),
        (None, Some(n)) => format!(" (NIP {n})"),
        (None, None) => String::new(),
    };
    audit::record(
        store,
        Some(campaign.instansi_id),
        actor,
        match channel {
            Channel::Email => "reminder.email",
            Channel::Whatsapp => "reminder.whatsapp",
        },
        &format!(
            "putaran pengingat {} kampanye {}{scope}: {} {}, {} gagal, {} tanpa {}",
            channel.label(),
            campaign.id,
            outcome.sent,
            match channel {
                Channel::Email => "surel terkirim",
                Channel::Whatsapp => "tautan WhatsApp dibuat",
            },
            outcome.failed_count,
            outcome.no_address,
            match channel {
                Channel::Email => "alamat surel",
                Channel::Whatsapp => "nomor telepon",
            }
        ),
    )
    .await?;
    Ok(outcome)
}

fn not_reached(t: &ReminderTarget, reason: &str) -> NotReached {
    NotReached {
        number: t.number.clone(),
        name: t.name.clone(),
        unit: t.unit.clone(),
        reason: reason.to_owned(),
    }
}

/// What every message of a round says about the campaign.
struct MessageContext {
    instansi: String,
    title: String,
    closes: String,
}

impl MessageContext {
    async fn load(store: &dyn Store, c: &CampaignRow) -> ServiceResult<MessageContext> {
        let inst = store
            .instansi_by_id(c.instansi_id)
            .await?
            .ok_or_else(ServiceError::unknown)?;
        Ok(MessageContext {
            closes: waktu(inst.tz.at(c.closes_at)),
            instansi: inst.name,
            title: c.title.clone(),
        })
    }

    fn subject(&self) -> String {
        format!("Pengingat: {}", self.title)
    }

    fn email_body(&self, name: &str, link: &str) -> String {
        format!(
            "Yth. {name},\n\n\
             Menurut catatan kami, Anda belum menandatangani \"{title}\" di {instansi}.\n\n\
             Silakan baca naskahnya dan tandatangani melalui tautan pribadi berikut \
             (jangan dibagikan kepada orang lain):\n\n{link}\n\n\
             Tautan ini menggantikan tautan yang dikirim sebelumnya; tautan lama tidak berlaku \
             lagi. Penandatanganan ditutup {closes}.\n\n\
             Jika Anda merasa sudah menandatangani atau data Anda salah, hubungi BKPSDM.\n\n\
             Hormat kami,\n{instansi}\n",
            title = self.title,
            instansi = self.instansi,
            closes = self.closes,
        )
    }

    fn whatsapp_text(&self, name: &str, link: &str) -> String {
        format!(
            "Yth. {name}, Anda belum menandatangani \"{}\" di {}. Silakan tandatangani melalui \
             tautan pribadi berikut: {link} (tautan ini menggantikan tautan sebelumnya; \
             ditutup {}).",
            self.title, self.instansi, self.closes
        )
    }
}

/// `https://wa.me/62…?text=…`, the text percent-encoded (spaces as `%20`).
pub fn wa_link(telepon: &str, text: &str) -> String {
    // form_urlencoded writes a space as '+' and a real '+' as %2B, so this swap is exact.
    let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("https://wa.me/{telepon}?text={encoded}")
}

/// Sends one message per person, at most [`CONCURRENCY`] at once over the pooled
/// transport, in the order the results come back.
async fn send_all(
    mailer: &Mailer,
    context: &MessageContext,
    jobs: Vec<(ReminderTarget, String)>,
    progress: Progress<'_>,
) -> Vec<(ReminderTarget, Result<(), String>)> {
    let total = jobs.len() as u64;
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = JoinSet::new();
    let mut done = Vec::with_capacity(jobs.len());
    let finish = |done: &mut Vec<_>, r| {
        done.push(r);
        progress(done.len() as u64, total);
    };
    progress(0, total);
    for (target, link) in jobs {
        let message = build_message(mailer, context, &target, &link);
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let transport = mailer.transport.clone();
        running.spawn(async move {
            let result = match message {
                Ok(m) => send_with_retries(&transport, m).await,
                Err(reason) => Err(reason),
            };
            drop(slot);
            (target, result)
        });
        while let Some(r) = running.try_join_next() {
            if let Ok(r) = r {
                finish(&mut done, r);
            }
        }
    }
    while let Some(r) = running.join_next().await {
        if let Ok(r) = r {
            finish(&mut done, r);
        }
    }
    done
}

fn build_message(
    mailer: &Mailer,
    context: &MessageContext,
    target: &ReminderTarget,
    link: &str,
) -> Result<Message, String> {
    let unusable = || "alamat surel di roster tidak dapat dipakai".to_owned();
    let address = target
        .email
        .as_deref()
        .and_then(|e| lettre::Address::from_str(e).ok())
        .ok_or_else(unusable)?;
    Message::builder()
        .from(mailer.from.clone())
        .to(Mailbox::new(Some(target.name.clone()), address))
        .subject(context.subject())
        .header(ContentType::TEXT_PLAIN)
        .body(context.email_body(&target.name, link))
        .map_err(|_| unusable())
}

/// Sends, retrying transient failures with doubling waits. The reason of a failure names
/// the SMTP code, never the server's text (which often repeats the address).
async fn send_with_retries(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
) -> Result<(), String> {
    let mut wait = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        match transport.send(message.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_permanent() => {
                return Err(match e.status() {
                    Some(code) => format!("ditolak server surel (kode {code})"),
                    None => "ditolak server surel".to_owned(),
                });
            }
            Err(e) if attempt == ATTEMPTS => {
                tracing::warn!(error = %e.status().map_or("-".to_owned(), |c| c.to_string()), "reminder email failed after retries");
                return Err(match e.status() {
                    Some(code) => {
                        format!("gagal sementara setelah {ATTEMPTS} percobaan (kode {code})")
                    }
                    None => {
                        format!("server surel tidak dapat dihubungi setelah {ATTEMPTS} percobaan")
                    }
                });
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// The WhatsApp CSV: `nip,nama,unit,telepon,wa_link`, formula-safe.
pub fn whatsapp_csv(links: &[WhatsappLink]) -> ServiceResult<Vec<u8>> {
    let write = || -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(["nip", "nama", "unit", "telepon", "wa_link"])?;
        for l in links {
            out.write_record([
                text::spreadsheet_safe(&l.number).as_ref(),
                text::spreadsheet_safe(&l.name).as_ref(),
                text::spreadsheet_safe(&l.unit).as_ref(),
                &l.telepon,
                &l.wa_link,
            ])?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    };
    write().map_err(|e| ServiceError::internal("writing the WhatsApp CSV", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wa_links_carry_the_text_percent_encoded() {
        let link = wa_link("6281234567890", "Yth. Budi + Ani: https://x.id/s/AB?c=1");
        assert_eq!(
            link,
            "https://wa.me/6281234567890?text=Yth.%20Budi%20%2B%20Ani%3A%20https%3A%2F%2Fx.id%2Fs%2FAB%3Fc%3D1"
        );
    }

    #[tokio::test]
    async fn smtp_urls_get_starttls_when_offered_and_hide_passwords() {
        let cfg = SmtpConfig {
            url: "smtp://hr:rahasia@mail.example.go.id:587".into(),
            from: "BKPSDM <noreply@example.go.id>".into(),
        };
        assert!(Mailer::new(&cfg).is_ok());
        assert!(!format!("{cfg:?}").contains("rahasia"));
        let bad = SmtpConfig {
            url: "http://mail".into(),
            ..cfg.clone()
        };
        assert_eq!(
            Mailer::new(&bad).err().map(|e| e.code),
            Some("smtp_url_invalid")
        );
        let bad_from = SmtpConfig {
            from: "not an address".into(),
            ..cfg
        };
        assert_eq!(
            Mailer::new(&bad_from).err().map(|e| e.code),
            Some("smtp_from_invalid")
        );
    }

    #[test]
    fn channels_parse_in_either_case() {
        assert_eq!(Channel::parse("EMAIL"), Ok(Channel::Email));
        assert_eq!(Channel::parse("whatsapp"), Ok(Channel::Whatsapp));
        assert!(Channel::parse("sms").is_err());
    }
}

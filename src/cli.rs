//! Runs the commands of [`crate::config::Cli`]. Output meant for scripts goes to stdout
//! (ids, tokens); everything meant for people goes to stderr, in Indonesian.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use chrono::DateTime;

use crate::app::{self, Settings, template_row};
use crate::config::{
    CampaignCommand, Cli, Command, InstansiCommand, InvitationsArgs, KeygenArgs, RosterCommand,
    ServeArgs, TemplateCommand,
};
use crate::domain::instansi::{TimeZone, parse_code};
use crate::domain::public_url::PublicUrl;
use crate::domain::roster::{RosterReader, RosterRow};
use crate::domain::template::{Template, parse_reference};
use crate::domain::text::{self, spreadsheet_safe};
use crate::domain::token;
use crate::keys;
use crate::store::{self, NewCampaign, NewInstansi, Store};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://ikrar.db";
pub const DEMO_DATABASE_URL: &str = "sqlite://ikrar-demo.db";

pub async fn run(cli: Cli) -> Result<()> {
    let demo = matches!(&cli.command, Command::Serve(s) if s.demo);
    let url = cli.database_url.clone().unwrap_or_else(|| {
        if demo {
            DEMO_DATABASE_URL
        } else {
            DEFAULT_DATABASE_URL
        }
        .to_string()
    });
    match cli.command {
        Command::Keygen(args) => keygen(&args),
        Command::Serve(args) => serve(&url, args).await,
        Command::Verify { input, keys } => verify(&input, &keys).await,
        Command::Loadtest(args) => {
            let tokens = crate::loadtest::read_tokens(&args.links)?;
            let report = crate::loadtest::run(
                &args.url,
                tokens,
                args.concurrency,
                args.duration.map(std::time::Duration::from_secs),
            )
            .await?;
            println!("{}", report.render());
            Ok(())
        }
        command => {
            let store = open(&url).await?;
            match command {
                Command::Migrate => {
                    app::ensure_builtin_templates(store.as_ref()).await?;
                    eprintln!("Migrasi selesai ({}).", store.engine());
                    Ok(())
                }
                Command::Instansi(InstansiCommand::Add {
                    code,
                    name,
                    place,
                    tz,
                }) => add_instansi(store.as_ref(), &code, &name, &place, &tz).await,
                Command::Roster(RosterCommand::Import {
                    instansi,
                    file,
                    dry_run,
                    deactivate_missing,
                }) => {
                    import(
                        store.as_ref(),
                        &instansi,
                        &file,
                        dry_run,
                        deactivate_missing,
                    )
                    .await
                }
                Command::Template(TemplateCommand::Add { file }) => {
                    add_template(store.as_ref(), &file).await
                }
                Command::Campaign(c) => campaign(store.as_ref(), c).await,
                Command::Invitations(args) => invitations(store.as_ref(), &args).await,
                Command::Backup { file } => backup(&url, &file).await,
                Command::Keygen(_)
                | Command::Serve(_)
                | Command::Loadtest(_)
                | Command::Verify { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Connects and migrates: every command works on a fresh database.
async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let store = store::connect(url)
        .await
        .with_context(|| format!("membuka basis data {}", redact(url)))?;
    store.migrate().await.context("menjalankan migrasi")?;
    app::ensure_builtin_templates(store.as_ref()).await?;
    Ok(store)
}

/// Database URLs may carry passwords; never print them.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn today() -> chrono::NaiveDate {
    // The latest of Indonesia's zones: a NIP appointed "today" anywhere in Indonesia is valid.
    chrono::Utc::now()
        .with_timezone(&TimeZone::Jayapura.offset())
        .date_naive()
}

fn keygen(args: &KeygenArgs) -> Result<()> {
    let url = PublicUrl::parse(&args.public_url).map_err(|e| anyhow!(e.message))?;
    let written = keys::keygen(&args.out, url.host(), args.force)?;
    for path in written {
        eprintln!("ditulis: {}", path.display());
    }
    Ok(())
}

async fn add_instansi(
    store: &dyn Store,
    code: &str,
    name: &str,
    place: &str,
    tz: &str,
) -> Result<()> {
    let code = parse_code(code).map_err(|e| anyhow!(e.message))?;
    let name = text::clean(name, "name").map_err(|e| anyhow!(e.message))?;
    let place = text::clean(place, "place").map_err(|e| anyhow!(e.message))?;
    if name.is_empty() || place.is_empty() {
        bail!("--name dan --place tidak boleh kosong");
    }
    let tz = TimeZone::parse(tz).map_err(|e| anyhow!(e.message))?;
    let id = store
        .add_instansi(
            &NewInstansi {
                code: code.clone(),
                name,
                place,
                tz: tz.name().to_string(),
            },
            now(),
        )
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict(_) => anyhow!("instansi dengan kode '{code}' sudah ada"),
            other => other.into(),
        })?;
    store
        .audit(
            Some(id),
            "cli",
            "instansi.add",
            &format!("instansi {code} ditambahkan"),
            now(),
        )
        .await?;
    println!("{id}");
    Ok(())
}

async fn instansi(store: &dyn Store, code: &str) -> Result<store::Instansi> {
    store.instansi_by_code(code).await?.ok_or_else(|| {
        anyhow!("instansi '{code}' tidak ditemukan (tambahkan dengan `ikrar instansi add`)")
    })
}

/// Reads and validates a whole roster file; returns the rows or every row error.
pub fn read_roster(path: &Path) -> Result<Result<Vec<RosterRow>, Vec<String>>> {
    let file = File::open(path).with_context(|| format!("membuka {}", path.display()))?;
    let reader = RosterReader::new(BufReader::new(file), today())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for item in reader {
        match item {
            Ok(row) => rows.push(row),
            Err(row_errors) => errors.extend(row_errors.into_iter().map(|e| {
                format!(
                    "baris {}, kolom {}: {} [{}]",
                    e.line, e.column, e.message, e.code
                )
            })),
        }
    }
    Ok(if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    })
}

async fn import(
    store: &dyn Store,
    code: &str,
    file: &Path,
    dry_run: bool,
    deactivate_missing: bool,
) -> Result<()> {
    let inst = instansi(store, code).await?;
    let rows = match read_roster(file)? {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!(
                "{} baris bermasalah; tidak ada data yang diimpor. Perbaiki baris di atas lalu impor ulang.",
                errors.len()
            );
        }
    };
    if dry_run {
        eprintln!(
            "Pemeriksaan selesai: {} baris sah; tidak ada yang diimpor (--dry-run).",
            rows.len()
        );
        return Ok(());
    }
    let summary = store
        .import_roster(inst.id, &rows, deactivate_missing, now())
        .await?;
    let line = format!(
        "{} baris diimpor: {} baru, {} diperbarui, {} dinonaktifkan, {} unit baru",
        rows.len(),
        summary.created,
        summary.updated,
        summary.deactivated,
        summary.units_created
    );
    store
        .audit(Some(inst.id), "cli", "roster.import", &line, now())
        .await?;
    eprintln!("{line}.");
    Ok(())
}

async fn add_template(store: &dyn Store, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("membaca {}", file.display()))?;
    let t = Template::from_toml(&text).map_err(|e| anyhow!("{}: {}", file.display(), e.message))?;
    let number = store.add_template(&template_row(&t), now()).await?;
    store
        .audit(
            None,
            "cli",
            "template.add",
            &format!("{} nomor {number}", t.reference()),
            now(),
        )
        .await?;
    println!("{number}");
    Ok(())
}

fn parse_time(flag: &str, s: &str) -> Result<i64> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| {
            anyhow!("{flag}: '{s}' bukan waktu RFC 3339 (contoh: 2026-11-29T07:00:00+07:00)")
        })
}

async fn campaign(store: &dyn Store, command: CampaignCommand) -> Result<()> {
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
        } => {
            let inst = instansi(store, &code).await?;
            let (tcode, tversion) = parse_reference(&template).ok_or_else(|| {
                anyhow!("--template: tulis sebagai kode@versi, misalnya ikrar-netralitas-2024@1")
            })?;
            let template_no = store
                .templates()
                .await?
                .into_iter()
                .find(|t| t.code == tcode && t.version == i64::from(tversion))
                .map(|t| t.number)
                .ok_or_else(|| anyhow!("naskah '{template}' tidak ada"))?;
            let title = text::clean(&title, "title").map_err(|e| anyhow!(e.message))?;
            let place = text::clean(&place, "place").map_err(|e| anyhow!(e.message))?;
            if title.is_empty() || place.is_empty() {
                bail!("--title dan --place tidak boleh kosong");
            }
            let opens_at = parse_time("--opens", &opens)?;
            let closes_at = parse_time("--closes", &closes)?;
            if closes_at <= opens_at {
                bail!("--closes harus sesudah --opens");
            }
            let all_units = store.units(inst.id).await?;
            let mut unit_ids = Vec::new();
            for wanted in &units {
                let wanted_norm = text::normalize(wanted);
                let unit = all_units
                    .iter()
                    .find(|u| u.key == wanted_norm || u.name.eq_ignore_ascii_case(&wanted_norm))
                    .ok_or_else(|| anyhow!("--units: unit '{wanted}' tidak ada di {code}"))?;
                unit_ids.push(unit.id);
            }
            let id = store
                .create_campaign(
                    &NewCampaign {
                        instansi_id: inst.id,
                        template_no,
                        title: title.clone(),
                        place,
                        opens_at,
                        closes_at,
                        mark_enabled: !no_mark,
                        screen_enabled: screen,
                        unit_ids,
                    },
                    now(),
                )
                .await?;
            store
                .audit(
                    Some(inst.id),
                    "cli",
                    "campaign.create",
                    &format!("kampanye {id}: {title}"),
                    now(),
                )
                .await?;
            println!("{id}");
            Ok(())
        }
        CampaignCommand::Close { campaign } => {
            let c = store
                .campaign(campaign)
                .await?
                .ok_or_else(|| anyhow!("kampanye {campaign} tidak ada"))?;
            if store.close_campaign(campaign, now()).await? {
                store
                    .audit(
                        Some(c.instansi_id),
                        "cli",
                        "campaign.close",
                        &format!("kampanye {campaign} ditutup"),
                        now(),
                    )
                    .await?;
                eprintln!("Kampanye {campaign} ditutup.");
            } else {
                eprintln!("Kampanye {campaign} sudah ditutup sebelumnya.");
            }
            Ok(())
        }
    }
}

async fn public_url(store: &dyn Store, flag: Option<&str>) -> Result<PublicUrl> {
    let raw = match flag {
        Some(u) => u.to_string(),
        None => store.setting("public_url").await?.ok_or_else(|| {
            anyhow!("URL publik belum diketahui: jalankan `ikrar serve --public-url …` sekali, atau beri --public-url")
        })?,
    };
    PublicUrl::parse(&raw).map_err(|e| anyhow!(e.message))
}

async fn invitations(store: &dyn Store, args: &InvitationsArgs) -> Result<()> {
    let c = store
        .campaign(args.campaign)
        .await?
        .ok_or_else(|| anyhow!("kampanye {} tidak ada", args.campaign))?;
    let url = public_url(store, args.public_url.as_deref()).await?;
    let number = args.nip.as_deref().map(|n| {
        n.chars()
            .filter(|c| !matches!(c, ' ' | '.'))
            .collect::<String>()
    });
    let issued = store
        .issue_invitations(c.id, args.reissue, number.as_deref(), now(), &token::mint)
        .await?;
    let mut out = csv::Writer::from_path(&args.out)
        .with_context(|| format!("menulis {}", args.out.display()))?;
    out.write_record(["nip", "nama", "unit", "link"])?;
    for (target, tok) in &issued {
        out.write_record([
            spreadsheet_safe(&target.number).as_ref(),
            spreadsheet_safe(&target.name).as_ref(),
            spreadsheet_safe(&target.unit).as_ref(),
            &url.signing_link(tok),
        ])?;
    }
    out.flush()?;
    let summary = format!(
        "{} tautan {} untuk kampanye {}",
        issued.len(),
        if args.reissue {
            "diterbitkan ulang"
        } else {
            "diterbitkan"
        },
        c.id
    );
    store
        .audit(
            Some(c.instansi_id),
            "cli",
            "invitations.issue",
            &summary,
            now(),
        )
        .await?;
    eprintln!("{summary} → {}", args.out.display());
    if issued.is_empty() && args.nip.is_some() {
        eprintln!(
            "Tidak ada tautan baru: orang itu bukan sasaran, sudah punya tautan aktif, atau sudah menandatangani."
        );
    }
    Ok(())
}

async fn backup(url: &str, file: &Path) -> Result<()> {
    if file.exists() {
        bail!(
            "{} sudah ada; cadangan tidak menimpa berkas",
            file.display()
        );
    }
    if sqlite_path(url).is_none() {
        bail!("`ikrar backup` menyalin basis data SQLite; untuk PostgreSQL gunakan pg_dump");
    }
    let store = store::sqlite::SqliteStore::connect(url).await?;
    store
        .backup(file.to_str().context("path is not UTF-8")?)
        .await?;
    eprintln!("Cadangan konsisten ditulis ke {}.", file.display());
    Ok(())
}

/// `ikrar verify`: prints one line and exits 0 (valid) or 1 (invalid).
async fn verify(input: &str, keys_arg: &str) -> Result<()> {
    use crate::verify::{self as v, Invalid, KeySet};
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
        if online {
            let size = v::check_log(&client, keys_arg, &keys, &verified.record).await?;
            line.push_str(&format!(" · tercatat di log (checkpoint {size})"));
        } else {
            line.push_str(" · status pembatalan hanya dapat diperiksa daring");
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

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn missing_key(var: &str, flag: &str) -> anyhow::Error {
    anyhow!(
        "{var} ({flag}) is not set: ikrar will not sign without its keys. Make a pair with \
         `ikrar keygen --out keys`, or try `ikrar serve --demo`; see keys-example/README.md"
    )
}

async fn serve(url: &str, args: ServeArgs) -> Result<()> {
    let public_url = match &args.public_url {
        Some(u) => PublicUrl::parse(u).map_err(|e| anyhow!(e.message))?,
        None => {
            PublicUrl::parse(&format!("http://{}", args.bind)).map_err(|e| anyhow!(e.message))?
        }
    };
    if public_url.scheme() == "http" && !public_url.is_loopback() && !args.demo {
        bail!(
            "--public-url {} uses http:// for a non-loopback host; use https:// (or --demo)",
            public_url.origin()
        );
    }
    let (pledge_key, log_key) = if args.demo {
        tracing::warn!(
            "DEMO MODE: signing with the PUBLIC development keys of keys-example/. Never use this for real pledges."
        );
        eprintln!(
            "\n!!! MODE DEMO: kunci pengembangan publik dari keys-example/ dipakai. JANGAN untuk ikrar sungguhan. !!!\n"
        );
        (
            keys::signing_key_from_pem(include_str!("../keys-example/pledge.pem"))?,
            keys::signing_key_from_pem(include_str!("../keys-example/log.pem"))?,
        )
    } else {
        let p = args
            .keys
            .pledge_key
            .as_deref()
            .ok_or_else(|| missing_key("IKRAR_PLEDGE_KEY", "--pledge-key"))?;
        let l = args
            .keys
            .log_key
            .as_deref()
            .ok_or_else(|| missing_key("IKRAR_LOG_KEY", "--log-key"))?;
        (keys::load_signing_key(p)?, keys::load_signing_key(l)?)
    };
    let store = store::connect(url)
        .await
        .with_context(|| format!("opening database {}", redact(url)))?;
    let checkpoint_file = args.checkpoint_file.clone().or_else(|| {
        sqlite_path(url).map(|p| {
            let mut name = p.file_name().unwrap_or_default().to_os_string();
            name.push(".checkpoint");
            p.with_file_name(name)
        })
    });
    let state = app::build_state(
        store.clone(),
        Settings {
            public_url: public_url.clone(),
            pledge_key,
            log_key,
            checkpoint_file,
            trusted_proxies: args.trusted_proxy.clone(),
            lookup_limit: args.lookup_limit,
        },
    )
    .await?;
    if args.demo {
        crate::demo::prepare(store.as_ref(), &public_url).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    tracing::info!(bind = %args.bind, public_url = %public_url.origin(), engine = store.engine(), "serving");
    eprintln!(
        "ikrar melayani di {} (URL publik {})",
        args.bind,
        public_url.origin()
    );
    app::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

//! Runs the commands of [`args::Cli`]. Output meant for scripts goes to stdout
//! (ids, tokens); everything meant for people goes to stderr, in Indonesian.

pub mod args;
pub mod loadtest;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::args::{
    CampaignCommand, Cli, Command, ExportCommand, InstansiCommand, InvitationsArgs, KeygenArgs,
    RosterCommand, ServeArgs, TemplateCommand, TokenCommand, UserCommand,
};
use crate::domain::instansi::{TimeZone, parse_code};
use crate::domain::public_url::PublicUrl;
use crate::domain::template::Template;
use crate::domain::text;
use crate::keys;
use crate::service::ops::{self, OpsError};
use crate::startup::{self, Settings, template_row};
use crate::store::{self, NewInstansi, Store};

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
            let tokens = crate::cli::loadtest::read_tokens(&args.links)?;
            let report = crate::cli::loadtest::run(
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
                    startup::ensure_builtin_templates(store.as_ref()).await?;
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
                Command::Export(ExportCommand::Compliance {
                    campaign,
                    format,
                    out,
                }) => export_compliance(store.as_ref(), campaign, &format, &out).await,
                Command::User(UserCommand::Add {
                    instansi: code,
                    username,
                    role,
                }) => add_user(store.as_ref(), code.as_deref(), &username, &role).await,
                Command::Token(TokenCommand::Create {
                    instansi: code,
                    username,
                }) => create_token(store.as_ref(), code.as_deref(), &username).await,
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
    startup::ensure_builtin_templates(store.as_ref()).await?;
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

async fn import(
    store: &dyn Store,
    code: &str,
    file: &Path,
    dry_run: bool,
    deactivate_missing: bool,
) -> Result<()> {
    let inst = instansi(store, code).await?;
    let rows = match crate::formats::roster_file::read_path(file, true) {
        Ok(rows) => rows,
        Err(OpsError::Rows(errors)) => {
            for e in &errors {
                eprintln!(
                    "baris {}, kolom {}: {} [{}]",
                    e.line, e.column, e.message, e.code
                );
            }
            ops::record_rejection(store, inst.id, "cli", errors.len()).await?;
            bail!(
                "{} baris bermasalah; tidak ada data yang diimpor. Perbaiki baris di atas lalu impor ulang.",
                errors.len()
            );
        }
        Err(e) => return Err(e.into()),
    };
    if dry_run {
        eprintln!(
            "Pemeriksaan selesai: {} baris sah; tidak ada yang diimpor (--dry-run).",
            rows.len()
        );
        return Ok(());
    }
    let s = ops::import_roster(store, inst.id, &rows, deactivate_missing, "cli").await?;
    eprintln!("{}.", ops::import_summary(rows.len(), &s));
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
            let input = ops::CampaignInput {
                template,
                title,
                place,
                opens,
                closes,
                units,
                mark: !no_mark,
                screen,
            };
            let id = ops::create_campaign(store, inst.id, &input, "cli").await?;
            println!("{id}");
            Ok(())
        }
        CampaignCommand::Close { campaign } => {
            let c = store
                .campaign(campaign)
                .await?
                .ok_or_else(|| anyhow!("kampanye {campaign} tidak ada"))?;
            if ops::close_campaign(store, &c, "cli").await? {
                eprintln!("Kampanye {campaign} ditutup.");
            } else {
                eprintln!("Kampanye {campaign} sudah ditutup sebelumnya.");
            }
            Ok(())
        }
        CampaignCommand::List { instansi: code } => {
            let inst = instansi(store, &code).await?;
            for c in store.campaigns(inst.id).await? {
                let state = if c.closed_at.is_some() || c.closes_at <= now() {
                    "ditutup"
                } else {
                    "terbuka"
                };
                println!("{}\t{}\t{}", c.id, state, c.title);
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
    let issued =
        ops::issue_invitations(store, &c, args.reissue, args.nip.as_deref(), &url, "cli").await?;
    std::fs::write(&args.out, ops::invitations_csv(&issued)?)
        .with_context(|| format!("menulis {}", args.out.display()))?;
    if let Some(slips) = &args.slips {
        let pdf = ops::slips_pdf(store, &c, &issued).await?;
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

async fn add_user(store: &dyn Store, code: Option<&str>, username: &str, role: &str) -> Result<()> {
    use crate::domain::account::{Role, check_password_strength, hash_password, parse_username};
    let role = Role::parse(role).map_err(|e| anyhow!(e.message))?;
    let username = parse_username(username).map_err(|e| anyhow!(e.message))?;
    let instansi_id = match (role.per_instansi(), code) {
        (true, Some(code)) => Some(instansi(store, code).await?.id),
        (true, None) => bail!("peran {} perlu --instansi", role.as_str()),
        (false, Some(_)) => bail!(
            "peran {} berlaku untuk seluruh deployment: tanpa --instansi",
            role.as_str()
        ),
        (false, None) => None,
    };
    let password = match std::env::var("IKRAR_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let p = rpassword::prompt_password("Kata sandi: ")?;
            if rpassword::prompt_password("Ulangi kata sandi: ")? != p {
                bail!("kata sandi tidak sama");
            }
            p
        }
    };
    check_password_strength(&password).map_err(|e| anyhow!(e.message))?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await?;
    let id = store
        .add_user(instansi_id, &username, role.as_str(), &hash, now())
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict(_) => anyhow!("nama pengguna '{username}' sudah dipakai"),
            other => other.into(),
        })?;
    store
        .audit(
            instansi_id,
            "cli",
            "user.add",
            &format!("akun {username} ({}) dibuat", role.as_str()),
            now(),
        )
        .await?;
    eprintln!("Akun {username} ({}) dibuat.", role.as_str());
    println!("{id}");
    Ok(())
}

async fn create_token(store: &dyn Store, code: Option<&str>, username: &str) -> Result<()> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| anyhow!("akun '{username}' tidak ada"))?;
    if let Some(code) = code {
        let inst = instansi(store, code).await?;
        if user.instansi_id != Some(inst.id) {
            bail!("akun '{username}' bukan milik instansi {code}");
        }
    }
    let token = format!("ikr_{}", crate::http::auth::random_token(32));
    store
        .add_api_token(
            user.id,
            &crate::domain::statement::sha256(token.as_bytes()),
            now(),
        )
        .await?;
    store
        .audit(
            user.instansi_id,
            "cli",
            "token.create",
            &format!("token API untuk {username}"),
            now(),
        )
        .await?;
    println!("{token}");
    Ok(())
}

async fn export_compliance(store: &dyn Store, id: i64, format: &str, out: &Path) -> Result<()> {
    let c = store
        .campaign(id)
        .await?
        .ok_or_else(|| anyhow!("kampanye {id} tidak ada"))?;
    let bytes = match format {
        "csv" => crate::formats::export::to_csv(&ops::compliance(store, &c).await?).into_bytes(),
        "xlsx" => ops::compliance_xlsx(store, &c).await?,
        other => bail!("--format {other}: gunakan csv atau xlsx"),
    };
    std::fs::write(out, bytes).with_context(|| format!("menulis {}", out.display()))?;
    store
        .audit(
            Some(c.instansi_id),
            "cli",
            "export.compliance",
            &format!("ekspor kepatuhan kampanye {id} ({format})"),
            now(),
        )
        .await?;
    eprintln!(
        "Ekspor kepatuhan kampanye {id} ditulis ke {}.",
        out.display()
    );
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
    let state = startup::build_state(
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
        crate::service::demo::prepare(store.as_ref(), &public_url).await?;
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
    crate::http::serve(listener, state, shutdown_signal()).await?;
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

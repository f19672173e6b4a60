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
use crate::domain::account::Role;
use crate::domain::public_url::PublicUrl;
use crate::domain::template::Template;
use crate::service::ServiceError;
use crate::service::audit::now;
use crate::service::campaign::{self, CampaignInput};
use crate::service::compliance::{self, ExportFormat};
use crate::service::roster::{self, ImportOptions};
use crate::service::{account, instansi, invitation};
use crate::startup::{self, Settings};
use crate::store::{self, Store};
use crate::tlog::keys;

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
                    instansi::ensure_builtin_templates(store.as_ref()).await?;
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
    instansi::ensure_builtin_templates(store.as_ref()).await?;
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

/// The audit trail's actor for everything done from the command line.
const ACTOR: &str = "cli";

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
    let id = instansi::add(store, code, name, place, tz, ACTOR).await?;
    println!("{id}");
    Ok(())
}

async fn import(
    store: &dyn Store,
    code: &str,
    file: &Path,
    dry_run: bool,
    deactivate_missing: bool,
) -> Result<()> {
    let inst = instansi::by_code(store, code).await?;
    let outcome = roster::import(
        store,
        inst.id,
        roster::Source::Path {
            path: file.to_path_buf(),
            progress: true,
        },
        ImportOptions {
            dry_run,
            deactivate_missing,
        },
        ACTOR,
    )
    .await;
    match outcome {
        Ok(outcome) => {
            eprintln!("{}.", outcome.message());
            Ok(())
        }
        Err(ServiceError::Rows(errors)) => {
            for e in &errors {
                eprintln!(
                    "baris {}, kolom {}: {} [{}]",
                    e.line, e.column, e.message, e.code
                );
            }
            bail!(
                "{} baris bermasalah; tidak ada data yang diimpor. Perbaiki baris di atas lalu impor ulang.",
                errors.len()
            );
        }
        Err(e) => Err(e.into()),
    }
}

async fn add_template(store: &dyn Store, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("membaca {}", file.display()))?;
    let t = Template::from_toml(&text).map_err(|e| anyhow!("{}: {}", file.display(), e.message))?;
    let number = instansi::add_template(store, &t, ACTOR).await?;
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
            };
            let id = campaign::create(store, inst.id, &input, ACTOR).await?;
            println!("{id}");
            Ok(())
        }
        CampaignCommand::Close { campaign: id } => {
            let c = campaign::by_id(store, id).await?;
            if campaign::close(store, &c, ACTOR).await? {
                eprintln!("Kampanye {id} ditutup.");
            } else {
                eprintln!("Kampanye {id} sudah ditutup sebelumnya.");
            }
            Ok(())
        }
        CampaignCommand::List { instansi: code } => {
            let inst = instansi::by_code(store, &code).await?;
            let now = now();
            for c in campaign::list(store, inst.id).await? {
                println!("{}\t{}\t{}", c.id, c.phase(now).label(), c.title);
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
    let c = campaign::by_id(store, args.campaign).await?;
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

async fn add_user(store: &dyn Store, code: Option<&str>, username: &str, role: &str) -> Result<()> {
    let role = Role::parse(role).map_err(|e| anyhow!(e.message))?;
    let instansi_id = match code {
        Some(code) => Some(instansi::by_code(store, code).await?.id),
        None => None,
    };
    if role.per_instansi() != instansi_id.is_some() {
        // Say what is wrong before asking for a password.
        account::check_scope(role, instansi_id)?;
    }
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
    let id = account::add_user(store, instansi_id, username, role, password, ACTOR).await?;
    eprintln!("Akun {} ({}) dibuat.", username.trim(), role.as_str());
    println!("{id}");
    Ok(())
}

async fn create_token(store: &dyn Store, code: Option<&str>, username: &str) -> Result<()> {
    let instansi_id = match code {
        Some(code) => Some(instansi::by_code(store, code).await?.id),
        None => None,
    };
    let token = account::create_token(store, username, instansi_id, ACTOR).await?;
    println!("{token}");
    Ok(())
}

async fn export_compliance(store: &dyn Store, id: i64, format: &str, out: &Path) -> Result<()> {
    let c = campaign::by_id(store, id).await?;
    let format = match format {
        "csv" => ExportFormat::Csv,
        "xlsx" => ExportFormat::Xlsx,
        other => bail!("--format {other}: gunakan csv atau xlsx"),
    };
    let bytes = compliance::export(store, &c, format, ACTOR).await?;
    std::fs::write(out, bytes).with_context(|| format!("menulis {}", out.display()))?;
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

//! Runs the commands of [`args::Cli`]. Output meant for scripts goes to stdout
//! (ids, tokens); everything meant for people goes to stderr, in Indonesian.

pub mod args;
mod audit;
mod campaign;
pub mod loadtest;
mod remind;
mod roster;
mod serve;
mod setup;
mod verify;
mod witness;

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::args::{
    Cli, Command, ExportCommand, InstansiCommand, RosterCommand, TemplateCommand, TokenCommand,
    UserCommand,
};
use crate::service::instansi;
use crate::store::{self, Store};

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
        Command::Keygen(args) => setup::keygen(&args),
        Command::Serve(args) => serve::serve(&url, args).await,
        Command::Audit(args) => audit::audit(&args).await,
        Command::Verify {
            input,
            keys,
            policy,
        } => {
            let policy = policy.as_deref().map(read_policy).transpose()?;
            verify::verify(&input, &keys, policy.as_ref()).await
        }
        Command::Verifier {
            keys,
            policy,
            zone,
            out,
        } => {
            let policy = policy.as_deref().map(read_policy).transpose()?;
            verify::write_verifier(&keys, policy.as_ref(), &zone, &out).await
        }
        Command::Witness(command) => witness::witness(cli.database_url.as_deref(), command).await,
        Command::Loadtest(args) if args.slow_bodies + args.stalled_lines > 0 => {
            let report = crate::cli::loadtest::slow_clients(&args).await?;
            println!("{}", report.render());
            Ok(())
        }
        Command::Loadtest(args) => {
            let links = args
                .links
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("--links is required"))?;
            let tokens = crate::cli::loadtest::read_tokens(links)?;
            let report = crate::cli::loadtest::run(
                &args.url,
                tokens,
                args.concurrency,
                args.duration.map(std::time::Duration::from_secs),
                args.watch_checkpoint,
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
                }) => setup::add_instansi(store.as_ref(), &code, &name, &place, &tz).await,
                Command::Roster(RosterCommand::Import {
                    instansi,
                    file,
                    dry_run,
                    deactivate_missing,
                }) => {
                    roster::import(
                        store.as_ref(),
                        &instansi,
                        &file,
                        dry_run,
                        deactivate_missing,
                    )
                    .await
                }
                Command::Template(TemplateCommand::Add { file }) => {
                    setup::add_template(store.as_ref(), &file).await
                }
                Command::Campaign(c) => campaign::campaign(store.as_ref(), c).await,
                Command::Invitations(args) => campaign::invitations(store.as_ref(), &args).await,
                Command::Remind(args) => remind::remind(store.as_ref(), &args).await,
                Command::Backup { file } => setup::backup(&url, &file).await,
                Command::Export(ExportCommand::Compliance {
                    campaign,
                    format,
                    out,
                }) => campaign::export_compliance(store.as_ref(), campaign, &format, &out).await,
                Command::User(UserCommand::Add {
                    instansi: code,
                    username,
                    role,
                }) => setup::add_user(store.as_ref(), code.as_deref(), &username, &role).await,
                Command::User(UserCommand::LinkOidc { username, subject }) => {
                    setup::link_oidc(store.as_ref(), &username, &subject).await
                }
                Command::Token(TokenCommand::Create {
                    instansi: code,
                    username,
                }) => setup::create_token(store.as_ref(), code.as_deref(), &username).await,
                Command::Keygen(_)
                | Command::Serve(_)
                | Command::Loadtest(_)
                | Command::Witness(_)
                | Command::Audit(_)
                | Command::Verify { .. }
                | Command::Verifier { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Reads and parses a witness policy file (c2sp.org/tlog-policy).
pub(crate) fn read_policy(path: &std::path::Path) -> Result<crate::tlog::policy::Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the witness policy {}", path.display()))?;
    crate::tlog::policy::Policy::parse(&text)
        .with_context(|| format!("the witness policy {}", path.display()))
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
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The audit trail's actor for everything done from the command line.
pub(crate) const ACTOR: &str = "cli";

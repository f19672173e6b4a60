//! Setting a deployment up: keys, instansi, templates, accounts, API tokens, backups.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::ACTOR;
use crate::cli::args::KeygenArgs;
use crate::domain::account::Role;
use crate::domain::public_url::PublicUrl;
use crate::domain::template::Template;
use crate::service::{account, instansi};
use crate::store::{self, Store};
use crate::tlog::keys;

pub(super) fn keygen(args: &KeygenArgs) -> Result<()> {
    let url = PublicUrl::parse(&args.public_url).map_err(|e| anyhow!(e.message))?;
    let written = keys::keygen(&args.out, url.host(), args.force)?;
    for path in written {
        eprintln!("ditulis: {}", path.display());
    }
    Ok(())
}

pub(super) async fn add_instansi(
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

pub(super) async fn add_template(store: &dyn Store, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("membaca {}", file.display()))?;
    let t = Template::from_toml(&text).map_err(|e| anyhow!("{}: {}", file.display(), e.message))?;
    let number = instansi::add_template(store, &t, ACTOR).await?;
    println!("{number}");
    Ok(())
}

pub(super) async fn add_user(
    store: &dyn Store,
    code: Option<&str>,
    username: &str,
    role: &str,
) -> Result<()> {
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

pub(super) async fn link_oidc(store: &dyn Store, username: &str, subject: &str) -> Result<()> {
    account::link_oidc(store, username, subject, ACTOR).await?;
    eprintln!("Akun {} ditautkan ke subjek SSO.", username.trim());
    Ok(())
}

pub(super) async fn create_token(
    store: &dyn Store,
    code: Option<&str>,
    username: &str,
) -> Result<()> {
    let instansi_id = match code {
        Some(code) => Some(instansi::by_code(store, code).await?.id),
        None => None,
    };
    let token = account::create_token(store, username, instansi_id, ACTOR).await?;
    println!("{token}");
    Ok(())
}

pub(super) async fn backup(url: &str, file: &Path) -> Result<()> {
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

pub(super) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

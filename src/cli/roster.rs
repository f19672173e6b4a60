//! `ikrar roster import`: the same all-or-nothing import as the API, with a progress bar
//! and every bad row printed.

use std::path::Path;

use anyhow::{Result, bail};

use super::ACTOR;
use crate::service::ServiceError;
use crate::service::instansi;
use crate::service::roster::{self as roster_import, ImportOptions};
use crate::store::Store;

pub(super) async fn import(
    store: &dyn Store,
    code: &str,
    file: &Path,
    dry_run: bool,
    deactivate_missing: bool,
) -> Result<()> {
    let inst = instansi::by_code(store, code).await?;
    let outcome = roster_import::import(
        store,
        inst.id,
        roster_import::Source::Path {
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
        Err(ServiceError::Rows(bad)) => {
            for e in &bad.errors {
                eprintln!(
                    "baris {}, kolom {}: {} [{}]",
                    e.line, e.column, e.message, e.code
                );
            }
            bail!("{} Perbaiki baris di atas lalu impor ulang.", bad.summary());
        }
        Err(e) => Err(e.into()),
    }
}

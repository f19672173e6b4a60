//! Rebuilds when a migration file changes: `sqlx::migrate!` embeds the directory at compile
//! time, and cargo does not know it reads it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

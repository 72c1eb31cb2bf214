//! Loading the resource hub's seed file (`hub.file`) into the database.

use std::path::Path;

use anyhow::{Context, Result};
use concierge_store::{ResourceImport, Store};

/// The shipped hub data, compiled in so the binary runs from any directory.
const BUILTIN: &str = include_str!("../config/resource-hub/hub.toml");

/// Reads, validates and imports the hub file: entries are upserted, and
/// those no longer in the file are marked inactive. Entries changed in the
/// dashboard are left alone until an admin returns them to the file.
/// An empty `path` means the hub data shipped in the binary
/// (`config/resource-hub/hub.toml` as built).
pub async fn import(store: &Store, path: &Path) -> Result<ResourceImport> {
    let (hub, name) = if path.as_os_str().is_empty() {
        (concierge_hub::parse(BUILTIN)?, "(built in)".to_owned())
    } else {
        (concierge_hub::load(path)?, path.display().to_string())
    };
    let done = store
        .upsert_resources(&hub.entries)
        .await
        .with_context(|| format!("importing {name}"))?;
    tracing::info!(
        file = %name,
        entries = done.entries,
        changed = done.changed,
        deactivated = done.deactivated,
        kept_dashboard_edits = done.kept,
        "resource hub imported"
    );
    Ok(done)
}

/// For `serve`: imports the hub file when the table has never been filled.
/// Failures are logged, not fatal: mail intake must not wait on the hub.
pub async fn import_on_start(store: &Store, path: &Path) {
    let result = async {
        if store.has_resources().await? {
            return Ok(());
        }
        import(store, path).await.map(|_| ())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(
            error = format!("{e:#}"),
            "resource hub not imported; run `concierge hub import`"
        );
    }
}

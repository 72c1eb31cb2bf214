//! Loading the resource hub's seed file (`hub.file`) into the database.

use std::path::Path;

use anyhow::{Context, Result};
use concierge_store::{ResourceImport, Store};

/// Reads, validates and imports the hub file: entries are upserted, and
/// those no longer in the file are marked inactive. Entries changed in the
/// dashboard are left alone until an admin returns them to the file.
pub async fn import(store: &Store, path: &Path) -> Result<ResourceImport> {
    let hub = concierge_hub::load(path)?;
    let done = store
        .upsert_resources(&hub.entries)
        .await
        .with_context(|| format!("importing {}", path.display()))?;
    tracing::info!(
        file = %path.display(),
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

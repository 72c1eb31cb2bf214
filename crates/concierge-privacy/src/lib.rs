//! Privacy operations around the store (issue 14). The store gathers and
//! erases (`concierge_store::Store::{export_person, erase_person,
//! retention_pass}`); this crate writes the subject access export as one
//! zip archive, the same for the CLI and the dashboard:
//!
//! ```text
//! export.json                       every case, message, note (marked internal),
//!                                   status, assignment and audit entry
//! README.txt                        what the files are
//! C-7K2M9X/001-inbound.eml          each original message, and each reply as sent
//! C-7K2M9X/001-attachments/1-scan.pdf
//! ```

use std::io::{Seek, Write};

use concierge_mail::inbound::safe_filename;
use concierge_store::PersonExport;
use zip::write::SimpleFileOptions;

/// Writing the archive failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The zip writer failed (usually the disk or the stream).
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Writing a member failed.
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    /// The JSON document could not be built.
    #[error("building export.json: {0}")]
    Json(#[from] serde_json::Error),
}

/// What went into an archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Cases.
    pub cases: usize,
    /// Messages and notes (in export.json).
    pub messages: usize,
    /// `.eml` files.
    pub eml: usize,
    /// Attachment files.
    pub attachments: usize,
}

const README: &str = "\
This archive holds everything the concierge service stores about the
address in export.json (\"email\"), as of the time in export.json
(\"exported_at\").

export.json   every case: its status, priority, country and language as
              placed, who it was assigned to, every message you sent, every
              reply sent to you, the caseworkers' internal notes (marked
              \"internal\": true), and who viewed or changed the case when.
<reference>/  per case: each original message as received, and each reply
              as sent, as .eml files (open them with any mail program), and
              the attachments of each message.
";

/// Writes `export` as a zip archive to `out`; `exported_at` is stamped in
/// `export.json` (RFC 3339).
pub fn write_zip<W: Write + Seek>(
    export: &PersonExport,
    exported_at: &str,
    out: W,
) -> Result<Written, ExportError> {
    let mut zip = zip::ZipWriter::new(out);
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut doc = serde_json::to_value(export)?;
    if let Some(o) = doc.as_object_mut() {
        o.insert("exported_at".into(), exported_at.into());
    }
    zip.start_file("export.json", opts)?;
    zip.write_all(&serde_json::to_vec_pretty(&doc)?)?;
    zip.start_file("README.txt", opts)?;
    zip.write_all(README.as_bytes())?;
    let mut n = Written {
        cases: export.cases.len(),
        ..Written::default()
    };
    for case in &export.cases {
        // References are `C-` and base-32 letters; keep only those.
        let dir: String = case
            .reference
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        for (i, m) in case.messages.iter().enumerate() {
            n.messages += 1;
            let stem = format!("{dir}/{:03}-{}", i + 1, m.direction);
            if let Some(raw) = &m.raw {
                zip.start_file(format!("{stem}.eml"), opts)?;
                zip.write_all(raw)?;
                n.eml += 1;
            }
            for a in &m.attachments {
                let name = safe_filename(a.filename.as_deref().unwrap_or(""));
                let name = if name.is_empty() {
                    "attachment".to_owned()
                } else {
                    name
                };
                zip.start_file(
                    format!("{stem}-attachments/{}-{name}", a.position + 1),
                    opts,
                )?;
                zip.write_all(&a.data)?;
                n.attachments += 1;
            }
        }
    }
    zip.finish()?;
    Ok(n)
}

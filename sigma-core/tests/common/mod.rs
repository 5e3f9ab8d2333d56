//! Helpers shared by sigma-core's integration tests.

use std::path::PathBuf;

/// The shared data folder (`$SIGIL_SHARED`, or `../shared` beside the
/// repository) when it holds the corpus; `None`, with a message saying why
/// the test is skipped, when it does not.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if p.join("corpus/sigma").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared not found (set SIGIL_SHARED to the shared data folder)");
        None
    }
}

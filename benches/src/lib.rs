//! Shared helpers for the criterion benches: where the shared data lives
//! and reading corpus files once, so benches measure work, not the disk.

use std::path::{Path, PathBuf};

/// The shared data folder (`SIGIL_SHARED`, or `../shared` beside the
/// repository), when it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var_os("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    p.is_dir().then_some(p)
}

/// The Sigma corpus folder of the shared data, when it exists.
pub fn corpus_root() -> Option<PathBuf> {
    shared_dir()
        .map(|p| p.join("corpus/sigma"))
        .filter(|p| p.is_dir())
}

/// Reads every rule file of the given corpus folders into memory.
pub fn corpus_texts(root: &Path, folders: &[&str]) -> Vec<(PathBuf, String)> {
    let mut texts = Vec::new();
    for f in folders {
        for path in sigma_core::rule_files(&root.join(f)).unwrap_or_default() {
            if let Ok(t) = std::fs::read_to_string(&path) {
                texts.push((path, t));
            }
        }
    }
    texts
}

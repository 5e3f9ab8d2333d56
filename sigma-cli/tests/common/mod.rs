//! What the `sigil hunt` integration tests share: running the binary from
//! the repository root, reading its output, finding `../shared`.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root (the binary runs there, so fixture paths are the
/// README's).
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `sigil ARGS...` in the repository root.
pub fn sigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run sigil")
}

/// The run's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The hits on stdout, one JSON object per line.
pub fn hits(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("hit is JSON"))
        .collect()
}

/// The shared data folder (`SIGIL_SHARED`, else `../shared` beside the
/// repository) when it holds `marker`; `None`, with a message saying
/// what is skipped, otherwise.
pub fn shared(marker: &str) -> Option<PathBuf> {
    let p = std::env::var_os("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    if p.join(marker).exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} not found (set SIGIL_SHARED to the shared data folder)",
            p.join(marker).display()
        );
        None
    }
}

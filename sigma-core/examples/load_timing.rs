//! Times rule loading alone, for profiling:
//! `cargo run --release -p sigma-core --example load_timing -- PATH... [--repeat N]`.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut repeat = 1usize;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    for _ in 0..repeat {
        let t = Instant::now();
        let set = sigma_core::load_paths(&paths);
        println!(
            "load {:?}: {} files, {} documents, {} errors",
            t.elapsed(),
            set.files,
            set.documents.len(),
            set.errors.len()
        );
    }
}

//! `sigil parse`: load rules and report errors.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sigma_core::Document;

/// Arguments of `sigil parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// Rule files or folders (searched recursively for *.yml and *.yaml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print one JSON object per parsed document on stdout (its kind, id,
    /// title, file and the full syntax tree).
    #[arg(long)]
    pub json: bool,
}

/// Runs the command; returns the exit status (0 ok, 1 when any file failed).
pub fn run(args: ParseArgs) -> u8 {
    let set = sigma_core::load_paths(&args.paths);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        for doc in &set.documents {
            let meta = doc.meta();
            let line = serde_json::json!({
                "kind": doc.kind_name(),
                "id": meta.id,
                "title": meta.title,
                "file": doc.origin().file,
                "document": doc,
            });
            if writeln!(out, "{line}").is_err() {
                return 1;
            }
        }
    }
    let _ = out.flush();
    for e in &set.errors {
        eprintln!("{e}");
    }
    let (mut rules, mut corr, mut filters) = (0, 0, 0);
    for d in &set.documents {
        match d {
            Document::Rule(_) => rules += 1,
            Document::Correlation(_) => corr += 1,
            Document::Filter(_) => filters += 1,
        }
    }
    eprintln!(
        "parsed {} files: {} rules, {} correlation rules, {} filters, {} errors",
        set.files,
        rules,
        corr,
        filters,
        set.errors.len()
    );
    u8::from(!set.errors.is_empty())
}

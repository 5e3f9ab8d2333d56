//! `sigil parse`: load rules and report errors.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sigma_core::Document;

/// Arguments of `sigil parse`.
#[derive(Args, Debug)]
#[command(after_long_help = "\
Examples:
  sigil parse rules/windows
  sigil parse rules/windows/proc_creation_win_amsi_registry_tampering.yml
  sigil parse --json rules/windows > rules.jsonl

Every error goes to stderr as FILE:LINE:COL: error: MESSAGE (FILE: error:
MESSAGE when the problem has no position, e.g. an unreadable file), then a
summary line: parsed N files: N rules, N correlation rules, N filters, N errors.

Exit status: 0 when every file parsed, 1 when any file or document failed,
2 on usage errors (including a PATH that does not exist).")]
pub struct ParseArgs {
    /// Rule files or folders (searched recursively for *.yml and *.yaml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print one JSON object per parsed document on stdout (its kind, id,
    /// title, file and the full syntax tree).
    #[arg(long)]
    pub json: bool,
}

/// Runs the command; returns the exit status (0 ok, 1 when any file failed,
/// 2 when a path does not exist).
pub fn run(args: ParseArgs) -> u8 {
    if let Err(code) = super::require_inputs("parse", &args.paths) {
        return code;
    }
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

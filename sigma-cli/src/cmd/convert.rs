//! `sigil convert`: turn Sigma rules into Splunk and Elasticsearch queries.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::Args;
use rayon::prelude::*;
use sigma_backends::{Backend, Output};
use sigma_core::pipeline::Pipeline;
use sigma_core::RuleSet;

/// Arguments of `sigil convert`.
#[derive(Args, Debug)]
#[command(after_help = targets_and_formats(), after_long_help = long_after_help())]
pub struct ConvertArgs {
    /// Target query language.
    #[arg(short = 't', long, value_name = "TARGET", value_parser = target_values())]
    pub target: String,

    /// Output format of the target (see the list below).
    #[arg(short = 'f', long, value_name = "FORMAT", default_value = "default")]
    pub format: String,

    /// Processing pipeline: a built-in name or a pipeline YAML file
    /// (repeatable; the built-ins are listed by --help).
    #[arg(
        short = 'p',
        long = "pipeline",
        value_name = "PIPELINE",
        long_help = pipeline_help()
    )]
    pub pipelines: Vec<String>,

    /// Convert without any processing pipeline (field names are kept as
    /// written in the rules). Like sigma-cli, sigil asks for either a
    /// pipeline or this flag.
    #[arg(long)]
    pub without_pipeline: bool,

    /// Write the output to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print one JSON object per rule file:
    /// {"path": …, "ok": …, "queries": […], "error": "…"}.
    #[arg(long)]
    pub jsonl: bool,

    /// Rule files or folders (searched recursively for *.yml and *.yaml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The `-f` formats of each target (shown by `-h` and `--help`).
fn targets_and_formats() -> String {
    let mut s = String::from("Targets and formats:");
    for target in Backend::targets() {
        let formats = Backend::formats(target).unwrap_or_default().join(", ");
        s.push_str(&format!("\n  {target:<7} {formats}"));
        if *target == "splunk" {
            s.push_str(" (data_model needs -p splunk_cim)");
        }
    }
    s
}

/// Examples, formats and exit status (shown by `--help`).
fn long_after_help() -> String {
    format!(
        "Examples:
  sigil convert -t splunk -p splunk_windows rules/windows
  sigil convert -t lucene -p ecs_windows -f dsl_lucene rules/windows
  sigil convert -t esql -p ecs_windows --jsonl rules/windows > queries.jsonl
  sigil convert -t splunk --without-pipeline -f savedsearches -o out.conf rules/windows
  sigil convert -t splunk -p splunk_windows -p fixtures/hunt/rename-commandline.yml rules/windows

{}

Exit status: 0 when every rule converted, 1 when any rule was refused or
failed to load (the others are still converted) or the output cannot be
written, 2 on usage errors (unknown target, format or pipeline, a PATH that
does not exist).",
        targets_and_formats()
    )
}

/// The `-t` values: the backend's target names, described.
fn target_values() -> PossibleValuesParser {
    PossibleValuesParser::new(Backend::targets().iter().map(|&name| {
        let help = match name {
            "splunk" => "Splunk SPL (pySigma-backend-splunk)",
            "lucene" => "Elasticsearch query string (pySigma-backend-elasticsearch)",
            "esql" => "Elasticsearch ES|QL (pySigma-backend-elasticsearch)",
            "eql" => "Elasticsearch EQL (pySigma-backend-elasticsearch)",
            _ => "",
        };
        PossibleValue::new(name).help(help)
    }))
}

/// The long help of `-p`: every built-in pipeline with its description.
fn pipeline_help() -> String {
    let mut s = String::from(
        "Processing pipeline: a built-in name or a pySigma pipeline YAML file. \
         Repeatable; pipelines run in ascending priority, as in pySigma. \
         Built-in pipelines:\n",
    );
    for name in Pipeline::builtin_names() {
        let what = Pipeline::builtin_description(name).unwrap_or_default();
        s.push_str(&format!("\n  {name}\n      {what}"));
    }
    s
}

/// Result of one rule file.
struct FileResult {
    path: PathBuf,
    outputs: Vec<Output>,
    errors: Vec<String>,
}

fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    super::EXIT_USAGE
}

/// Runs the command; returns the exit status.
pub fn run(args: ConvertArgs) -> u8 {
    if let Err(code) = super::require_inputs("convert", &args.paths) {
        return code;
    }
    if args.pipelines.is_empty() && !args.without_pipeline {
        return usage(
            "a processing pipeline is required by the backend: choose one with -p \
             (e.g. -p splunk_windows, -p ecs_windows) or convert without one with --without-pipeline",
        );
    }
    if !args.pipelines.is_empty() && args.without_pipeline {
        return usage("-p/--pipeline and --without-pipeline exclude each other");
    }
    let backend = match Backend::new(&args.target, &args.format)
        .and_then(|b| b.with_pipelines(&args.pipelines))
    {
        Ok(b) => b,
        Err(e) => return usage(&e.to_string()),
    };

    let mut files = Vec::new();
    for p in &args.paths {
        match sigma_core::rule_files(p) {
            Ok(list) => files.extend(list),
            Err(e) => return usage(&e.to_string()),
        }
    }

    // Load every file first (in parallel): correlation rules may refer to
    // rules of other files. All documents go into one set; each file keeps
    // the range of its documents.
    let loaded: Vec<RuleSet> = files.par_iter().map(|f| sigma_core::load_file(f)).collect();
    let mut all = RuleSet::default();
    let mut spans = Vec::with_capacity(files.len());
    for (path, set) in files.iter().zip(loaded) {
        let start = all.documents.len();
        all.documents.extend(set.documents);
        spans.push((path, set.errors, start..all.documents.len()));
    }
    let refs = sigma_backends::References::of(&all);
    let results: Vec<FileResult> = spans
        .par_iter()
        .map(|(path, errors, range)| {
            let mut result = FileResult {
                path: path.to_path_buf(),
                outputs: Vec::new(),
                errors: errors.iter().map(|e| e.to_string()).collect(),
            };
            let docs = all.documents.get(range.clone()).unwrap_or_default();
            for r in backend.convert_docs_with(docs, &all, &refs) {
                match r {
                    Ok(outputs) => result.outputs.extend(outputs),
                    Err(e) => result.errors.push(e.to_string()),
                }
            }
            result
        })
        .collect();
    let failed = results.iter().any(|r| !r.errors.is_empty());

    let text = if args.jsonl {
        let mut s = String::new();
        for r in &results {
            let line = serde_json::json!({
                "path": r.path.display().to_string(),
                "ok": r.errors.is_empty(),
                "queries": r.outputs.iter().map(Output::to_json).collect::<Vec<_>>(),
                "error": r.errors.join("\n"),
            });
            s.push_str(&line.to_string());
            s.push('\n');
        }
        s
    } else {
        for r in &results {
            for e in &r.errors {
                eprintln!("Error: {e}");
            }
        }
        let all: Vec<Output> = results.iter().flat_map(|r| r.outputs.clone()).collect();
        let mut s = match backend.render(&all) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        };
        if !s.is_empty() {
            s.push('\n');
        }
        s
    };

    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write output: {e}"))
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return 1;
    }
    u8::from(failed)
}

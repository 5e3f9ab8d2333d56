//! `sigil hunt`: run Sigma rules over exported logs.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use sigma_core::Level;
use sigma_hunt::incident::collect::IncidentCollector;
use sigma_hunt::incident::correlate::CorrelationSet;
use sigma_hunt::{scan_paths, Engine, EngineOptions, Hit, InputError, ScanOptions, Sink};

use super::incidents::{self, IncidentArgs};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// One JSON object per hit.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
    /// A readable table (the default on a terminal).
    Table,
}

/// Arguments of `sigil hunt`.
#[derive(Args, Debug)]
#[command(after_long_help = "\
Examples:
  sigil hunt -r rules/windows logs/
  sigil hunt -r rules/windows --format csv -o hits.csv --errors errors.jsonl logs/
  sigil hunt -r rules/windows --from 2024-05-01 --to 2024-05-02T12:00+02:00 Security.evtx
  sigil hunt -r rules/windows -p windows-audit -p my-fields.yml logs/*.jsonl.gz
  sigil hunt -r rules/ --incidents incidents.jsonl --report report.html logs/

Inputs: .json (array, single object or one object per line), .jsonl,
.ndjson and .evtx files, optionally gzip or zstd compressed; folders are
walked recursively. A bad line, record or file is reported on stderr (the
first 20; all with --errors) and counted; the scan goes on.

Exit status: 0 on success (with or without hits), 1 when any input or rule
failed (input errors, rule parse errors, unsupported rules, a failed write)
or, with --fail-on-hit, when there is a hit, 2 on usage errors (an unknown
option, level or pipeline, an invalid --from/--to time).")]
pub struct HuntArgs {
    /// Rule file or folder (repeat `-r` for several).
    #[arg(short = 'r', long = "rules", required = true, value_name = "RULES")]
    pub rules: Vec<PathBuf>,

    /// Processing pipeline applied to every rule before routing: a built-in
    /// name or a pySigma pipeline YAML file; repeat to chain.
    #[arg(
        short = 'p',
        long = "pipeline",
        value_name = "PIPELINE",
        help = pipeline_help(false),
        long_help = pipeline_help(true)
    )]
    pub pipelines: Vec<String>,

    /// Output format; a table on a terminal, JSON lines otherwise.
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,

    /// Write hits to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only run rules of at least this level
    /// (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub min_level: Option<Level>,

    /// Only events at or after TIME: ISO 8601 (2024-05-01, 2024-05-01T10:00:00,
    /// 2024-05-01T10:00:00+02:00; UTC without an offset) or epoch seconds.
    /// Compared as instants.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Only events at or before TIME (same forms as --from); a bound covers
    /// the span it names, so a date includes the whole day.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// Worker threads (default, or 0: all cores).
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub threads: usize,

    /// Include the whole event in each hit.
    #[arg(long)]
    pub full: bool,

    /// Write every input error (file, line or record, message) to FILE as
    /// JSON lines.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,

    /// List every rule whose logsource has no route, with the reason.
    #[arg(long)]
    pub show_unrouted: bool,

    /// Exit with status 1 when there is any hit (for CI).
    #[arg(long)]
    pub fail_on_hit: bool,

    /// Parse and evaluate every event against every routed rule, without
    /// the raw-line prefilter (for debugging; same hits, slower).
    #[arg(long)]
    pub no_prefilter: bool,

    #[command(flatten)]
    pub incident: IncidentArgs,

    /// Log files or folders (.json, .jsonl, .ndjson, .evtx, optionally
    /// .gz or .zst compressed).
    #[arg(required = true, value_name = "LOGS")]
    pub logs: Vec<PathBuf>,
}

/// The `-p` help, naming the built-in pipelines of `sigma_core` (with
/// what each does in the long help).
fn pipeline_help(long: bool) -> String {
    let names = sigma_core::pipeline::Pipeline::builtin_names();
    let mut s = String::from(
        "Processing pipeline applied to every rule before routing: a built-in name or a \
         pySigma pipeline YAML file; repeat to chain. Windows routing (event layouts and \
         logsource routes) is always on, without -p (`windows` is accepted and does nothing).",
    );
    if long {
        s.push_str("\n\nBuilt-in pipelines:");
        for n in names {
            let what = sigma_core::pipeline::Pipeline::builtin_description(n).unwrap_or("");
            s.push_str(&format!("\n- {n}: {what}"));
        }
    } else {
        s.push_str(" Built-ins: ");
        s.push_str(&names.join(", "));
    }
    s
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::from_name(s)
        .ok_or_else(|| format!("unknown level '{s}' (informational, low, medium, high, critical)"))
}

struct Output {
    out: Box<dyn Write>,
    format: OutFormat,
    errors_file: Option<BufWriter<File>>,
    shown_errors: usize,
    write_failed: bool,
    progress: Option<indicatif::ProgressBar>,
}

const MAX_SHOWN_ERRORS: usize = 20;

fn location(hit_src: &sigma_hunt::Source) -> String {
    let file = hit_src.file.display();
    if let Some(l) = hit_src.line {
        format!("{file}:{l}")
    } else if let Some(r) = hit_src.record_id {
        format!("{file}#record{r}")
    } else if let Some(e) = hit_src.element {
        format!("{file}[{e}]")
    } else {
        file.to_string()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}

impl Output {
    fn write_hit(&mut self, engine: &Engine, hit: &Hit) -> std::io::Result<()> {
        let Some(rule) = engine.rules().get(hit.rule as usize) else {
            return Ok(());
        };
        match self.format {
            OutFormat::Jsonl => {
                // Serialized straight from borrowed parts: building a
                // `Value` per hit (and cloning its fields) was a visible
                // share of a hunt with many hits.
                let file = hit.source.file.display().to_string();
                let line = HitLine {
                    rule_id: &rule.rule.id,
                    title: &rule.rule.title,
                    level: &rule.level,
                    tags: &rule.tags,
                    timestamp: hit.timestamp.as_deref(),
                    file: &file,
                    line: hit.source.line,
                    record_id: hit.source.record_id,
                    element: hit.source.element,
                    fields: &hit.fields,
                    event: hit.event.as_ref(),
                };
                serde_json::to_writer(&mut self.out, &line)?;
                writeln!(self.out)
            }
            OutFormat::Csv => {
                let fields = Value::Object(hit.fields.clone()).to_string();
                let mut cols = vec![
                    csv_field(hit.timestamp.as_deref().unwrap_or("")),
                    csv_field(&rule.level),
                    csv_field(&rule.rule.id),
                    csv_field(&rule.rule.title),
                    csv_field(&rule.tags.join(";")),
                    csv_field(&location(&hit.source)),
                    csv_field(&fields),
                ];
                if let Some(ev) = &hit.event {
                    cols.push(csv_field(&ev.to_string()));
                }
                writeln!(self.out, "{}", cols.join(","))
            }
            OutFormat::Table => {
                writeln!(
                    self.out,
                    "{:<28} {:<13} {}  [{}]",
                    hit.timestamp.as_deref().unwrap_or("-"),
                    rule.level,
                    rule.rule.title,
                    rule.rule.id
                )?;
                writeln!(self.out, "    at {}", location(&hit.source))?;
                for (k, v) in &hit.fields {
                    writeln!(self.out, "    {k}: {}", short(v))?;
                }
                if let Some(ev) = &hit.event {
                    writeln!(self.out, "    event: {ev}")?;
                }
                Ok(())
            }
        }
    }
}

/// One hit as a JSON line (the field order is the output format).
#[derive(serde::Serialize)]
struct HitLine<'a> {
    rule_id: &'a str,
    title: &'a str,
    level: &'a str,
    tags: &'a [String],
    timestamp: Option<&'a str>,
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    element: Option<u64>,
    fields: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a Value>,
}

impl Sink for Output {
    fn hit(&mut self, engine: &Engine, hit: &Hit) {
        if !self.write_failed && self.write_hit(engine, hit).is_err() {
            self.write_failed = true;
        }
    }

    fn error(&mut self, err: &InputError) {
        if let Some(f) = &mut self.errors_file {
            let _ = writeln!(f, "{}", json!(err));
        }
        if self.shown_errors < MAX_SHOWN_ERRORS {
            let msg = format!("{}: error: {}", location(&err.source), err.message);
            match &self.progress {
                Some(p) => p.println(msg),
                None => eprintln!("{msg}"),
            }
        }
        self.shown_errors += 1;
    }

    fn progress(&mut self, bytes: u64) {
        if let Some(p) = &self.progress {
            p.set_position(bytes);
        }
    }
}

fn total_size(paths: &[PathBuf]) -> u64 {
    let mut total = 0;
    for p in paths {
        for e in walkdir::WalkDir::new(p).into_iter().flatten() {
            if e.file_type().is_file() {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

fn reasons(list: &[(sigma_hunt::compile::RuleRef, String)]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in list {
        *by.entry(r.as_str()).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(8)
        .map(|(r, n)| format!("      {n:>5}  {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rule_line(r: &sigma_hunt::compile::RuleRef, why: &str) -> String {
    let file = r
        .file
        .as_ref()
        .map_or_else(|| "<input>".to_string(), |f| f.display().to_string());
    format!("{file}: {} ({}): {why}", r.title, r.id)
}

/// Runs the command; returns the exit status.
pub fn run(args: HuntArgs) -> u8 {
    let started = Instant::now();
    // The scan parses the bounds again; checking them here makes a bad
    // one a usage error before any rule is loaded.
    if let Err(e) = sigma_hunt::TimeRange::parse(args.from.as_deref(), args.to.as_deref()) {
        eprintln!("error: {e}");
        return 2;
    }
    // `windows` (layouts and routing) is always on; any other built-in
    // name or YAML file is applied to every rule before routing.
    // (sorted by name and chained by priority, as `sigil convert` does).
    let names: Vec<&str> = args
        .pipelines
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "windows")
        .collect();
    let pipeline = match sigma_core::pipeline::Pipeline::resolve(&names) {
        Ok(p) => p,
        Err(e) => {
            // `FILE[:LINE:COL]: error: MESSAGE`.
            eprintln!("{e}");
            return 2;
        }
    };
    // The rule set and the engine live until the process exits: freeing
    // their many small allocations one by one took 15-30 ms of a hunt
    // with the corpus rules (measured with `hunt_timing`), for memory the
    // operating system reclaims at exit anyway.
    let set = std::mem::ManuallyDrop::new(sigma_hunt::load_rules(&args.rules));
    let mut engine = std::mem::ManuallyDrop::new(Engine::build(
        &set,
        EngineOptions {
            min_level: args.min_level,
            router: None,
            pipeline,
        },
    ));
    engine.set_prefilter(!args.no_prefilter);
    let (correlations, correlation_problems) = CorrelationSet::new(&set);
    let correlations = correlations.with_state_cap(args.incident.correlation_cap);
    for p in &correlation_problems {
        eprintln!("warning: {p}");
    }
    let rep = &engine.report;
    for e in &rep.errors {
        eprintln!("{e}");
    }
    for (r, why) in &rep.unsupported {
        eprintln!(
            "{}: unsupported: {why}",
            rule_line(r, "").trim_end_matches(": ")
        );
    }
    if args.show_unrouted {
        for (r, why) in &rep.unrouted {
            eprintln!("{}", rule_line(r, &format!("unrouted: {why}")));
        }
    }
    let load_time = started.elapsed();

    let out: Box<dyn Write> = match &args.output {
        Some(p) => match File::create(p) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", p.display());
                return 1;
            }
        },
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let stdout_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if stdout_tty {
        OutFormat::Table
    } else {
        OutFormat::Jsonl
    });
    let errors_file = match &args.errors {
        Some(p) => match File::create(p) {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", p.display());
                return 1;
            }
        },
        None => None,
    };
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total_size(&args.logs));
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let mut sink = Output {
        out,
        format,
        errors_file,
        shown_errors: 0,
        write_failed: false,
        progress,
    };
    if format == OutFormat::Csv {
        let mut header = "timestamp,level,rule_id,title,tags,source,fields".to_string();
        if args.full {
            header.push_str(",event");
        }
        let _ = writeln!(sink.out, "{header}");
    }
    let opts = ScanOptions {
        threads: args.threads,
        from: args.from.clone(),
        to: args.to.clone(),
        // Correlations and incidents read entities from the events.
        full: args.full || args.incident.active(&correlations),
        ..ScanOptions::default()
    };
    let format_name = match format {
        OutFormat::Jsonl => "jsonl",
        OutFormat::Csv => "csv",
        OutFormat::Table => "table",
    };
    let (stats, outcome, collected) = if args.incident.active(&correlations) {
        let mut collector = IncidentCollector::new(&mut sink, &set, &correlations, args.full);
        if args.incident.incidents.is_none() && args.incident.report.is_none() {
            collector = collector.correlations_only();
        }
        let stats = scan_paths(&engine, &args.logs, &opts, &mut collector);
        let outcome = incidents::finish(&mut collector, &args.incident, format_name, args.full);
        let collected = collector.stats.clone();
        drop(collector);
        for line in &outcome.lines {
            if writeln!(sink.out, "{line}").is_err() {
                sink.write_failed = true;
            }
        }
        (stats, Some(outcome), Some(collected))
    } else {
        (
            scan_paths(&engine, &args.logs, &opts, &mut sink),
            None,
            None,
        )
    };
    if let Some(p) = &sink.progress {
        p.finish_and_clear();
    }
    let flushed = sink.out.flush().is_ok() && !sink.write_failed;
    if let Some(f) = &mut sink.errors_file {
        let _ = f.flush();
    }
    if sink.shown_errors > MAX_SHOWN_ERRORS {
        eprintln!(
            "... {} more input errors{}",
            sink.shown_errors - MAX_SHOWN_ERRORS,
            if args.errors.is_some() {
                " (all in --errors file)"
            } else {
                " (use --errors FILE to list all)"
            }
        );
    }

    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let skipped = stats.skipped_total();
    eprintln!("summary:");
    eprintln!(
        "  rules:  {} loaded from {} files, {} unrouted, {} unsupported, {} skipped, {} failed to parse (loading took {:.2}s)",
        rep.loaded,
        rep.files,
        rep.unrouted.len(),
        rep.unsupported.len(),
        rep.skipped.len(),
        rep.errors.len(),
        load_time.as_secs_f64()
    );
    if !rep.unrouted.is_empty() {
        eprintln!(
            "    unrouted by reason{}:",
            if args.show_unrouted {
                ""
            } else {
                " (--show-unrouted lists them)"
            }
        );
        eprintln!("{}", reasons(&rep.unrouted));
    }
    if !rep.unsupported.is_empty() {
        eprintln!("    unsupported by reason:");
        eprintln!("{}", reasons(&rep.unsupported));
    }
    if !rep.skipped.is_empty() {
        eprintln!("    skipped by reason:");
        eprintln!("{}", reasons(&rep.skipped));
    }
    eprintln!(
        "  input:  {} files, {} bytes, {} events read = {} evaluated + {} skipped, {} input errors",
        stats.files, stats.bytes, stats.events_read, stats.events_evaluated, skipped, stats.errors
    );
    for (why, n) in &stats.skipped {
        eprintln!("    skipped: {n} {why}");
    }
    match (&outcome, &collected) {
        (Some(o), Some(c)) => {
            // Base hits: matched = reported + hidden; the output holds
            // the reported base hits and the correlation alerts.
            let shown = if c.suppressed > 0 {
                format!(
                    "{} reported + {} hidden (their correlations have generate: false)",
                    c.passed_on, c.suppressed
                )
            } else {
                format!("{} reported", c.passed_on)
            };
            eprintln!(
                "  hits:   {} matched = {shown}; {} correlation alerts; {} reported in all",
                stats.hits,
                o.alerts,
                c.passed_on + o.alerts as u64
            );
            eprintln!(
                "  correlations: {} loaded, {} alerts, {} events without a group-by field",
                correlations.len(),
                o.alerts,
                o.stats.missing_group_field
            );
            for (title, n) in &o.stats.overflow {
                eprintln!("    cap hit: {n} events dropped by '{title}' (raise --correlation-cap)");
            }
            if c.over_cap > 0 {
                eprintln!("    cap hit: {} hits not kept for incidents", c.over_cap);
            }
            if args.incident.incidents.is_some() || args.incident.report.is_some() {
                eprintln!("  incidents: {}", o.incidents);
            }
        }
        _ => eprintln!("  hits:   {}", stats.hits),
    }
    eprintln!(
        "  speed:  {:.2}s, {:.1} MB/s, {:.0} events/s",
        secs,
        stats.bytes as f64 / 1e6 / secs,
        stats.events_read as f64 / secs
    );
    if !flushed {
        eprintln!("error: writing the hits failed");
        return 1;
    }
    let failed = stats.errors > 0
        || !rep.errors.is_empty()
        || !rep.unsupported.is_empty()
        || outcome.as_ref().is_some_and(|o| o.failed);
    u8::from(failed || (args.fail_on_hit && stats.hits > 0))
}

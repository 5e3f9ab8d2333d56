//! `sigil lint`: check rules against pySigma's validators, SigmaHQ's
//! conventions and sigil's own checks (see `sigma_core::lint`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sigma_core::lint::{report, AttackData, LintConfig, Linter, Severity, CHECKS};

/// Output formats of `sigil lint`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    /// One line per finding plus a summary, for terminals.
    Text,
    /// One JSON object per finding and line.
    Json,
    /// A SARIF 2.1.0 log for code-scanning dashboards.
    Sarif,
}

/// Arguments of `sigil lint`.
#[derive(Args, Debug)]
#[command(after_long_help = "\
Check groups (for --enable, --disable and the config file):
  all       every check
  pysigma   pySigma's core validators (alias: core); on by default
  sigmahq   SigmaHQ's conventions (sigmahq_*); off by default
  sigil     sigil's own checks; on by default

Examples:
  sigil lint rules/windows
  sigil lint --enable sigmahq --disable sigmahq_title_length rules/windows
  sigil lint --strict --format json rules/windows > findings.jsonl
  sigil lint --format sarif -o lint.sarif rules/windows
  sigil lint --list-checks

In a rule file, `# sigil-disable: CHECK` at the end of a line (or alone on
the line before it) silences CHECK there; `# sigil-disable-file: CHECK`
silences it in the whole file.

Exit status: 0 when no error-level finding, 1 on error-level findings (also
on warnings with --strict; a file that does not parse is an error-level
parse_error finding), 2 on usage errors (unknown check, unreadable
--config or --attack-stix file, output that cannot be written, a PATH
that does not exist).")]
pub struct LintArgs {
    /// Rule files or folders (searched recursively for *.yml and *.yaml).
    #[arg(value_name = "PATH", required_unless_present = "list_checks")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,

    /// Configuration file (YAML; pySigma's `sigma check` format is accepted).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Disable a check or a group: a check id (see --list-checks) or `all`,
    /// `pysigma` (alias `core`), `sigmahq`, `sigil`. Repeatable; applied
    /// after --enable.
    #[arg(long, value_name = "CHECK")]
    pub disable: Vec<String>,

    /// Enable a check or a group: a check id (see --list-checks) or `all`,
    /// `pysigma` (alias `core`), `sigmahq` (the SigmaHQ conventions, off by
    /// default), `sigil`. Repeatable.
    #[arg(long, value_name = "CHECK")]
    pub enable: Vec<String>,

    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,

    /// Read ATT&CK data from a MITRE STIX bundle (enterprise-attack.json)
    /// instead of the table built into sigil.
    #[arg(long, value_name = "FILE")]
    pub attack_stix: Option<PathBuf>,

    /// Write the output to a file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// List the checks with their default severity and exit.
    #[arg(long)]
    pub list_checks: bool,
}

fn fail(msg: String) -> u8 {
    eprintln!("sigil lint: {msg}");
    2
}

/// Runs the command; returns 0 (clean), 1 (errors, or warnings with
/// `--strict`) or 2 (bad arguments or configuration, missing input path).
pub fn run(args: LintArgs) -> u8 {
    if args.list_checks {
        for c in CHECKS {
            println!("{:<40} {:<8} {}", c.id, c.severity.name(), c.summary);
        }
        return 0;
    }
    if let Err(code) = super::require_inputs("lint", &args.paths) {
        return code;
    }
    let mut config = match &args.config {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => match LintConfig::from_yaml(&text) {
                Ok(c) => c,
                Err(e) => return fail(format!("{}: {e}", p.display())),
            },
            Err(e) => return fail(format!("cannot read {}: {e}", p.display())),
        },
        None => LintConfig::default(),
    };
    for name in &args.enable {
        if let Err(e) = config.enable(name) {
            return fail(e);
        }
    }
    for name in &args.disable {
        if let Err(e) = config.disable(name) {
            return fail(e);
        }
    }
    let mut linter = Linter::new(config);
    if let Some(p) = &args.attack_stix {
        match std::fs::read_to_string(p).map_err(|e| e.to_string()) {
            Ok(text) => match AttackData::from_stix(&text) {
                Ok(d) => linter.attack = d,
                Err(e) => return fail(format!("{}: {e}", p.display())),
            },
            Err(e) => return fail(format!("cannot read {}: {e}", p.display())),
        }
    }
    let rep = linter.lint_paths(&args.paths);
    let text = match args.format {
        LintFormat::Text => report::to_text(&rep),
        LintFormat::Json => report::to_json_lines(&rep),
        LintFormat::Sarif => {
            let v = report::to_sarif(&rep, env!("CARGO_PKG_VERSION"));
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
    };
    let written = match &args.output {
        Some(p) => std::fs::write(p, text.as_bytes()).map_err(|e| e.to_string()),
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = written {
        return fail(format!("cannot write output: {e}"));
    }
    let errors = rep.count(Severity::Error);
    let warnings = rep.count(Severity::Warning);
    u8::from(errors > 0 || (args.strict && warnings > 0))
}

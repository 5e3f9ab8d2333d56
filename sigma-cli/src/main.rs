//! `sigil`: parse, convert, hunt, lint and test Sigma rules.
//!
//! The binary is a thin layer over the library crates: each subcommand lives
//! in its own module under `cmd/`, parses its arguments with clap and calls
//! the public APIs of `sigma-core`, `sigma-backends` and `sigma-hunt`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// sigil: parse, convert, hunt, lint and test Sigma detection rules.
///
/// Parse rules and report every error with its file, line and column
/// (parse), convert them to Splunk and Elasticsearch queries (convert), run
/// thousands of rules at once over exported logs in JSON, JSON lines or EVTX
/// (hunt), check them against pySigma's validators and SigmaHQ's
/// conventions (lint), and replay regression events against them (test).
///
/// `sigil COMMAND --help` shows a command's options, examples and exit
/// codes. parse, convert, lint and test exit with 2 on a usage error,
/// including an input path that does not exist.
#[derive(Parser, Debug)]
#[command(name = "sigil", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse rule files and folders and report every error.
    Parse(cmd::parse::ParseArgs),
    /// Convert rules into Splunk, Lucene, ES|QL or EQL queries.
    Convert(cmd::convert::ConvertArgs),
    /// Run Sigma rules over exported logs (JSON, JSON lines, EVTX).
    Hunt(cmd::hunt::HuntArgs),
    /// Check rules with pySigma's validators, SigmaHQ's conventions and
    /// sigil's own checks (text, JSON lines or SARIF output).
    Lint(cmd::lint::LintArgs),
    /// Replay events against rules (SigmaHQ regression folders, case lists,
    /// inline tests) and report pass/fail, optionally as JUnit XML.
    Test(cmd::test::TestArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Hunt(args) => cmd::hunt::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Test(args) => cmd::test::run(args),
    };
    ExitCode::from(code)
}

/// mimalloc instead of the system allocator. Loading and compiling the
/// rules and parsing candidate events make millions of small allocations:
/// with glibc's malloc, allocating and freeing were 15 % of the
/// instructions of a hunt over a bench file, and mimalloc cuts the whole
/// hunt by 10 % of its instructions and about a fifth of its wall-clock
/// time (docs/performance.md). Transparent huge pages are off (`no_thp`):
/// with them, mimalloc's peak RSS was twice glibc's; without, it is the
/// same or lower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

//! The correlation and incident part of `sigil hunt`: flags, the collector
//! around the hit output, and what is written once the scan is over.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use sigma_hunt::incident::collect::IncidentCollector;
use sigma_hunt::incident::correlate::{CorrelationAlert, CorrelationSet, CorrelationStats};
use sigma_hunt::incident::time::{format_timestamp, parse_duration};
use sigma_hunt::incident::{build_incidents, report, summary_text, IncidentOptions};
use sigma_hunt::Sink;

/// Flags for correlations and incidents.
#[derive(Args, Debug, Clone)]
pub struct IncidentArgs {
    /// Group all hits (including correlation alerts) into incidents by host
    /// and time proximity, and write them as JSON lines to FILE (schema in
    /// docs/incidents.md). A summary is printed on stderr.
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,

    /// Write a self-contained HTML report (incident list, timeline chart,
    /// ATT&CK tactics touched) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Two hits of one host more than this apart start a new incident: a
    /// whole number and a unit, s (seconds), m (minutes), h (hours), d
    /// (days), w (weeks), M (months of 30.44 days) or y (years of 365.24
    /// days), e.g. 90s, 30m, 2h, 1d.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_gap)]
    pub incident_gap: i64,

    /// The most events one correlation rule keeps in its open windows;
    /// beyond it events are dropped and the summary says how many.
    #[arg(long, value_name = "N", default_value_t = sigma_hunt::incident::correlate::DEFAULT_STATE_CAP)]
    pub correlation_cap: usize,
}

fn parse_gap(s: &str) -> Result<i64, String> {
    parse_duration(s).ok_or_else(|| format!("invalid duration '{s}' (a whole number and a unit: s, m, h, d, w, M or y; e.g. 30m, 2h, 90s)"))
}

impl IncidentArgs {
    /// Whether hits must be recorded (incidents, report, or correlations).
    pub fn active(&self, correlations: &CorrelationSet) -> bool {
        self.incidents.is_some() || self.report.is_some() || !correlations.is_empty()
    }
}

/// One correlation alert as a JSON object (the `jsonl` hit format).
pub fn alert_json(a: &CorrelationAlert, sources: &[String]) -> serde_json::Value {
    json!({
        "correlation": true,
        "rule_id": a.id,
        "title": a.title,
        "level": a.level.map(|l| l.name()),
        "tags": a.tags,
        "type": a.kind.name(),
        "timestamp": format_timestamp(a.last),
        "first_seen": format_timestamp(a.first),
        "group": a.group,
        "value": a.value,
        "hit_count": a.hits.len(),
        "events": sources,
    })
}

/// What the incident stage reports back for the summary.
pub struct IncidentOutcome {
    /// Correlation alerts rendered in the hit format, to append to the hit
    /// output.
    pub lines: Vec<String>,
    /// Correlation alerts written.
    pub alerts: usize,
    /// Correlation counters.
    pub stats: CorrelationStats,
    /// Incidents built (0 when not requested).
    pub incidents: usize,
    /// Whether writing any output failed.
    pub failed: bool,
}

/// Runs the correlations, renders their alerts in the hit format, then
/// writes incidents and the report when requested. `full`: the hit output
/// has the `event` column (`--full`), which alerts leave empty in CSV.
pub fn finish<S: Sink>(
    collector: &mut IncidentCollector<'_, S>,
    args: &IncidentArgs,
    format: &str,
    full: bool,
) -> IncidentOutcome {
    let (alerts, stats) = collector.finish_correlations();
    let mut failed = false;
    let mut lines = Vec::new();
    for a in &alerts {
        let mut buf: Vec<u8> = Vec::new();
        let out = &mut buf;
        let sources: Vec<String> = a
            .hits
            .iter()
            .filter_map(|&i| collector.hits.get(i).map(|h| h.source.to_string()))
            .collect();
        let res = match format {
            // The hit columns: timestamp, level, rule_id, title, tags,
            // source, fields and, with --full, an empty event.
            "csv" => writeln!(
                out,
                "{},{},{},{},{},correlation,{}{}",
                csv(&format_timestamp(a.last)),
                a.level.map_or("", |l| l.name()),
                csv(a.id.as_deref().unwrap_or("")),
                csv(&a.title),
                csv(&a.tags.join(";")),
                csv(&json!({"group": a.group, "value": a.value, "events": sources}).to_string()),
                if full { "," } else { "" }
            ),
            "table" => writeln!(
                out,
                "{:<28} {:<13} {}  [{}]\n    correlation {} of {} hits, value {}, group {}",
                format_timestamp(a.last),
                a.level.map_or("", |l| l.name()),
                a.title,
                a.id.as_deref().unwrap_or(""),
                a.kind.name(),
                a.hits.len(),
                a.value,
                json!(a.group)
            ),
            _ => writeln!(out, "{}", alert_json(a, &sources)),
        };
        failed |= res.is_err();
        lines.push(String::from_utf8_lossy(&buf).trim_end().to_string());
    }
    let mut incidents_count = 0;
    if args.incidents.is_some() || args.report.is_some() {
        let incidents = build_incidents(
            collector.reported_hits(),
            IncidentOptions {
                gap_ms: args.incident_gap,
            },
        );
        incidents_count = incidents.len();
        if let Some(path) = &args.incidents {
            match File::create(path) {
                Ok(f) => {
                    let mut w = BufWriter::new(f);
                    for i in &incidents {
                        match serde_json::to_string(i) {
                            Ok(line) => failed |= writeln!(w, "{line}").is_err(),
                            Err(_) => failed = true,
                        }
                    }
                    failed |= w.flush().is_err();
                }
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    failed = true;
                }
            }
            eprint!("{}", summary_text(&incidents));
        }
        if let Some(path) = &args.report {
            let html = report::render_html(&incidents, "sigil hunt report");
            if let Err(e) = std::fs::write(path, html) {
                eprintln!("error: cannot write {}: {e}", path.display());
                failed = true;
            }
        }
    }
    IncidentOutcome {
        lines,
        alerts: alerts.len(),
        stats,
        incidents: incidents_count,
        failed,
    }
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

//! Rendering a [`LintReport`] as text, JSON lines or SARIF 2.1.0.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value as Json};

use super::{LintReport, Severity, CHECKS};

/// The file name of a finding for humans.
fn file_name(f: Option<&Path>) -> String {
    f.map_or_else(|| "<input>".to_string(), |p| p.display().to_string())
}

/// Terminal text: `FILE:LINE:COL: severity[check]: message` (`FILE:
/// severity[check]: message` for a finding without a position, such as a
/// file that cannot be read), then a summary.
pub fn to_text(report: &LintReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let place = if f.line == 0 {
            file_name(f.file.as_deref())
        } else {
            format!("{}:{}:{}", file_name(f.file.as_deref()), f.line, f.column)
        };
        let _ = writeln!(
            out,
            "{place}: {}[{}]: {}",
            f.severity.name(),
            f.check,
            f.message
        );
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info(s) in {} file(s), {} document(s)",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
        report.files,
        report.documents
    );
    out
}

/// JSON lines: one object per finding (`id` of the check, `severity`, `file`, `line`,
/// `column`, `message`, and `rule_id` when known).
pub fn to_json_lines(report: &LintReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let v = json!({
            "id": f.check,
            "severity": f.severity.name(),
            "file": f.file.as_ref().map(|p| p.display().to_string()),
            "line": f.line,
            "column": f.column,
            "message": f.message,
            "rule_id": f.rule_id,
        });
        let _ = writeln!(out, "{v}");
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference (forward slashes, spaces and `%`
/// escaped); absolute paths become `file://` URIs.
fn uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let mut enc = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => enc.push_str("%20"),
            '%' => enc.push_str("%25"),
            '#' => enc.push_str("%23"),
            '?' => enc.push_str("%3F"),
            c => enc.push(c),
        }
    }
    if p.is_absolute() {
        format!("file://{enc}")
    } else {
        enc
    }
}

/// A SARIF 2.1.0 log with one run: every check as a rule (id, description,
/// default level, origin) and every finding as a result with its location.
pub fn to_sarif(report: &LintReport, tool_version: &str) -> Json {
    let rules: Vec<Json> = CHECKS
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id,
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.summary},
                "defaultConfiguration": {"level": sarif_level(c.severity)},
                "properties": {"origin": c.origin, "tags": ["sigma"]},
            })
        })
        .collect();
    let results: Vec<Json> = report
        .findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.check,
                "level": sarif_level(f.severity),
                "message": {"text": f.message},
            });
            if let Some(i) = CHECKS.iter().position(|c| c.id == f.check) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(p) = &f.file {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(p)},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                }]);
            }
            if let Some(id) = &f.rule_id {
                r["properties"] = json!({"sigmaRuleId": id});
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sigil",
                "version": tool_version,
                "informationUri": "https://github.com/SigmaHQ/sigma-specification",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

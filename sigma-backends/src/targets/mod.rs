//! The targets: one module per query language.

pub mod eql;
pub mod esql;
pub mod lucene;
pub mod splunk;

use sigma_core::SigmaRule;

use crate::convert::{build, Ctx, Target, Walker};
use crate::ConvertError;

/// The supported targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Splunk SPL.
    Splunk,
    /// Elasticsearch query string.
    Lucene,
    /// Elasticsearch ES|QL.
    Esql,
    /// Elasticsearch EQL.
    Eql,
}

impl TargetKind {
    /// Target names, as sigma-cli spells them.
    pub const NAMES: &'static [&'static str] = &["splunk", "lucene", "esql", "eql"];

    /// Looks a target up by name.
    pub fn from_name(name: &str) -> Option<TargetKind> {
        Some(match name {
            "splunk" => TargetKind::Splunk,
            "lucene" => TargetKind::Lucene,
            "esql" => TargetKind::Esql,
            "eql" => TargetKind::Eql,
            _ => return None,
        })
    }

    /// The output formats of the target.
    pub fn formats(self) -> &'static [&'static str] {
        match self {
            TargetKind::Splunk => &["default", "savedsearches", "data_model"],
            TargetKind::Lucene => &[
                "default",
                "kibana_ndjson",
                "dsl_lucene",
                "siem_rule",
                "siem_rule_ndjson",
            ],
            TargetKind::Esql => &["default", "kibana_ndjson", "siem_rule", "siem_rule_ndjson"],
            TargetKind::Eql => &["default", "eqlapi", "siem_rule", "siem_rule_ndjson"],
        }
    }

    /// The target implementation.
    pub fn target(self) -> &'static dyn Target {
        match self {
            TargetKind::Splunk => &splunk::Splunk,
            TargetKind::Lucene => &lucene::Lucene,
            TargetKind::Esql => &esql::Esql,
            TargetKind::Eql => &eql::Eql,
        }
    }
}

/// Converts every condition of a rule into a bare query (no output format
/// applied yet).
pub fn convert_queries(kind: TargetKind, rule: &SigmaRule) -> Result<Vec<String>, ConvertError> {
    let target = kind.target();
    let mut out = Vec::new();
    for cond in &rule.detection.conditions {
        if let Some(agg) = &cond.legacy_aggregation {
            return Err(ConvertError::new(format!(
                "The Sigma v1 aggregation '{agg}' is not supported: convert it into a correlation rule."
            )));
        }
        let node = build(&cond.expr, &rule.detection)?;
        let mut w = Walker::new(target);
        let res = w.convert(&node, Ctx::default())?;
        if let Some(q) = target.finalize_query(res, &mut w.state) {
            out.push(q);
        }
    }
    Ok(out)
}

//! Output formats: wrappers around finished queries.

use std::collections::BTreeMap;
use std::fmt;

use sigma_core::SigmaRule;

use crate::targets::TargetKind;
use crate::ConvertError;

/// One converted query in its output format.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A text query.
    Text(String),
    /// A JSON document.
    Json(serde_json::Value),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Text(s) => f.write_str(s),
            Output::Json(v) => f.write_str(&v.to_string()),
        }
    }
}

/// Applies the per-query part of an output format.
pub fn finalize(
    kind: TargetKind,
    format: &str,
    rule: &SigmaRule,
    query: String,
    _state: &BTreeMap<String, serde_json::Value>,
) -> Result<Output, ConvertError> {
    Ok(match (kind, format) {
        (TargetKind::Splunk, "default") => {
            if rule.meta.fields.is_empty() {
                Output::Text(query)
            } else {
                Output::Text(format!("{query} | table {}", rule.meta.fields.join(",")))
            }
        }
        _ => Output::Text(query),
    })
}

//! Filter (meta filter) documents.

use serde::Serialize;

use super::correlation::string_or_list;
use super::fields::err;
use super::{parse_meta, LogSource, Origin, RuleMeta};
use crate::detection::Detections;
use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{YamlNode, YamlValue};

/// Which rules a filter applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "rules", rename_all = "snake_case")]
pub enum FilterTarget {
    /// Every rule with a matching log source.
    Any,
    /// The listed rule ids or names.
    Rules(Vec<String>),
}

/// A filter (meta filter) document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// The log source the filter applies to.
    pub logsource: LogSource,
    /// The targeted rules.
    pub target: FilterTarget,
    /// The filter's detections and condition.
    pub detection: Detections,
}

/// Parses a filter document.
pub fn parse_filter(doc: &YamlNode, origin: Origin) -> Result<FilterRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let logsource = super::logsource::required_logsource(doc, "filter", &mut errors);
    let Some(f) = doc.get("filter") else {
        return Err(vec![err(
            ErrorKind::MissingField,
            doc.location,
            "no 'filter' section",
        )]);
    };
    let target = match f.get("rules") {
        None => {
            errors.push(err(
                ErrorKind::Filter,
                f.location,
                "the filter has no 'rules' (use 'any' for every rule)",
            ));
            FilterTarget::Any
        }
        Some(n) => match &n.value {
            YamlValue::String(s) if s.eq_ignore_ascii_case("any") => FilterTarget::Any,
            YamlValue::Seq(items) if items.is_empty() => FilterTarget::Any,
            _ => FilterTarget::Rules(string_or_list(n, "rules", &mut errors)),
        },
    };
    // The filter section minus `rules` is a detection section.
    let mut det_entries = Vec::new();
    if let Some(entries) = f.as_map() {
        for (k, v) in entries {
            if k.as_str() != Some("rules") {
                det_entries.push((k.clone(), v.clone()));
            }
        }
    }
    let det_node = YamlNode::new(YamlValue::Map(det_entries), f.location);
    let detection = match Detections::parse(&det_node) {
        Ok(d) => Some(d),
        Err(mut es) => {
            errors.append(&mut es);
            None
        }
    };
    match detection {
        Some(detection) if errors.is_empty() => Ok(FilterRule {
            origin,
            meta,
            logsource,
            target,
            detection,
        }),
        _ => Err(errors),
    }
}

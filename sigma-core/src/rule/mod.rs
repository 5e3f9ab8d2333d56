//! Rule documents: detection rules, correlation rules and filters, with
//! their metadata and log source.
//!
//! The types and parsers live in submodules (metadata, log source,
//! correlation, filter); everything public is re-exported here, so paths are
//! `sigma_core::rule::Name`.

use std::path::PathBuf;

use serde::Serialize;

use crate::detection::Detections;
use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{Location, YamlNode};

mod correlation;
mod fields;
mod filter;
mod logsource;
mod meta;

pub use correlation::{
    parse_correlation, Correlation, CorrelationAlias, CorrelationCondition, CorrelationOp,
    CorrelationRule, CorrelationType, Timespan,
};
pub use filter::{parse_filter, FilterRule, FilterTarget};
pub use logsource::{parse_logsource, LogSource};
pub use meta::{is_uuid, is_valid_date, parse_meta, Level, Related, RuleMeta, Status, Tag};

use fields::err;

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Origin {
    /// The file, when loaded from one.
    pub file: Option<PathBuf>,
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    /// Where the document starts.
    pub location: Location,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigmaRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// Log source.
    pub logsource: LogSource,
    /// Detection section.
    pub detection: Detections,
}

/// Any Sigma document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Document {
    /// A detection rule.
    Rule(SigmaRule),
    /// A correlation rule.
    Correlation(CorrelationRule),
    /// A filter.
    Filter(FilterRule),
}

impl Document {
    /// The metadata.
    pub fn meta(&self) -> &RuleMeta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(r) => &r.meta,
            Document::Filter(r) => &r.meta,
        }
    }

    /// The origin.
    pub fn origin(&self) -> &Origin {
        match self {
            Document::Rule(r) => &r.origin,
            Document::Correlation(r) => &r.origin,
            Document::Filter(r) => &r.origin,
        }
    }

    /// `rule`, `correlation` or `filter`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Document::Rule(_) => "rule",
            Document::Correlation(_) => "correlation",
            Document::Filter(_) => "filter",
        }
    }
}

/// Parses a detection rule document.
pub fn parse_rule(doc: &YamlNode, origin: Origin) -> Result<SigmaRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let logsource = logsource::required_logsource(doc, "rule", &mut errors);
    let detection = match doc.get("detection") {
        Some(n) => match Detections::parse(n) {
            Ok(d) => Some(d),
            Err(mut es) => {
                errors.append(&mut es);
                None
            }
        },
        None => {
            errors.push(err(
                ErrorKind::MissingField,
                doc.location,
                "the rule has no 'detection'",
            ));
            None
        }
    };
    match detection {
        Some(detection) if errors.is_empty() => Ok(SigmaRule {
            origin,
            meta,
            logsource,
            detection,
        }),
        _ => Err(errors),
    }
}

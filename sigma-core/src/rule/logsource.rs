//! The `logsource` section.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fields::err;
use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{Location, YamlNode, YamlValue};

/// The `logsource` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LogSource {
    /// `category`.
    pub category: Option<String>,
    /// `product`.
    pub product: Option<String>,
    /// `service`.
    pub service: Option<String>,
    /// `definition` (free text).
    pub definition: Option<String>,
    /// Other keys.
    pub custom: BTreeMap<String, String>,
    /// Where it was written.
    pub location: Location,
}

impl LogSource {
    /// pySigma's containment: every field set in `self` equals the one in
    /// `other`.
    pub fn contains(&self, other: &LogSource) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
        eq(&self.category, &other.category)
            && eq(&self.product, &other.product)
            && eq(&self.service, &other.service)
    }
}

/// The `logsource` of a rule or filter document (`what`: "rule",
/// "filter"); a missing one is an error at the document and an empty log
/// source.
pub(super) fn required_logsource(
    doc: &YamlNode,
    what: &str,
    errors: &mut Vec<SigmaError>,
) -> LogSource {
    match doc.get("logsource") {
        Some(n) => parse_logsource(n, errors),
        None => {
            errors.push(err(
                ErrorKind::MissingField,
                doc.location,
                format!("the {what} has no 'logsource'"),
            ));
            LogSource::default()
        }
    }
}

/// Parses a `logsource` mapping.
pub fn parse_logsource(node: &YamlNode, errors: &mut Vec<SigmaError>) -> LogSource {
    let mut ls = LogSource {
        location: node.location,
        ..LogSource::default()
    };
    let Some(entries) = node.as_map() else {
        errors.push(err(
            ErrorKind::Logsource,
            node.location,
            format!(
                "'logsource' must be a mapping, found a {}",
                node.type_name()
            ),
        ));
        return ls;
    };
    for (k, v) in entries {
        // Borrowed: only unknown keys are copied (into `custom`).
        let key = k.scalar_str().unwrap_or_default();
        let Some(text) = v.scalar_text() else {
            if v.value != YamlValue::Null {
                errors.push(err(
                    ErrorKind::Logsource,
                    v.location,
                    format!(
                        "logsource '{key}' must be a string, found a {}",
                        v.type_name()
                    ),
                ));
            }
            continue;
        };
        match &*key {
            "category" => ls.category = Some(text),
            "product" => ls.product = Some(text),
            "service" => ls.service = Some(text),
            "definition" => ls.definition = Some(text),
            _ => {
                ls.custom.insert(key.into_owned(), text);
            }
        }
    }
    if ls.category.is_none() && ls.product.is_none() && ls.service.is_none() {
        errors.push(err(
            ErrorKind::Logsource,
            node.location,
            "the logsource needs at least one of category, product or service",
        ));
    }
    ls
}

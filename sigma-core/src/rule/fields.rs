//! Typed reads of YAML attributes that record problems and go on.

use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{Location, YamlNode, YamlValue};

pub(super) fn err(kind: ErrorKind, loc: Location, msg: impl Into<String>) -> SigmaError {
    SigmaError::new(kind, loc, msg)
}

pub(super) fn expect_string(
    node: &YamlNode,
    key: &str,
    errors: &mut Vec<SigmaError>,
) -> Option<String> {
    match &node.value {
        YamlValue::String(s) => Some(s.to_string()),
        _ => {
            errors.push(err(
                ErrorKind::WrongType,
                node.location,
                format!("'{key}' must be a string, found a {}", node.type_name()),
            ));
            None
        }
    }
}

pub(super) fn expect_string_list(
    node: &YamlNode,
    key: &str,
    errors: &mut Vec<SigmaError>,
) -> Vec<String> {
    match &node.value {
        YamlValue::Seq(items) => items
            .iter()
            .filter_map(|i| match i.scalar_text() {
                Some(s) => Some(s),
                None if i.value == YamlValue::Null => None,
                None => {
                    errors.push(err(
                        ErrorKind::WrongType,
                        i.location,
                        format!(
                            "entries of '{key}' must be strings, found a {}",
                            i.type_name()
                        ),
                    ));
                    None
                }
            })
            .collect(),
        YamlValue::Null => Vec::new(),
        _ => {
            errors.push(err(
                ErrorKind::WrongType,
                node.location,
                format!("'{key}' must be a list, found a {}", node.type_name()),
            ));
            Vec::new()
        }
    }
}

//! The detection section: search identifiers, detection items and their
//! typed values.
//!
//! The structure mirrors pySigma's `SigmaDetection` exactly, because query
//! backends must reproduce pySigma's grouping: a map is an AND of items, a
//! list of scalars is one keyword item whose values are OR-linked, and a list
//! that holds any map or list is an OR of nested detections.

use serde::Serialize;

use crate::condition::Condition;
use crate::error::{ErrorKind, SigmaError};
use crate::modifiers::{self, Modifier};
use crate::value::{Number, RegexFlags, SigmaString, Value};
use crate::yaml::{Location, YamlNode, YamlValue};

/// How the members of a group or the values of an item are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Linking {
    /// All must match.
    And,
    /// Any may match.
    Or,
}

/// A value of a detection item with the location it was written at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemValue {
    /// The typed value, modifiers applied.
    pub value: Value,
    /// Where the value was written.
    pub location: Location,
}

/// One `field|modifiers: values` entry, or a keyword (unbound) item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionItem {
    /// The field name; `None` for keywords.
    pub field: Option<String>,
    /// The modifiers as written, in order.
    pub modifiers: Vec<Modifier>,
    /// The values, modifiers applied.
    pub values: Vec<ItemValue>,
    /// OR by default, AND with `all`.
    pub linking: Linking,
    /// Set by `neq`: the whole item is negated.
    pub negated: bool,
    /// Where the key (or the keyword value) was written.
    pub location: Location,
}

/// A member of a [`Detection`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DetectionEntry {
    /// A field or keyword item.
    Item(DetectionItem),
    /// A nested detection (an element of a list of maps).
    Group(Detection),
}

/// A detection: items or nested detections, AND-linked (from a map) or
/// OR-linked (from a list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// How the entries are linked.
    pub linking: Linking,
    /// The entries, in document order.
    pub entries: Vec<DetectionEntry>,
    /// Where the definition starts.
    pub location: Location,
}

/// A named search identifier of the detection section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchIdentifier {
    /// The name (`selection`, `filter_main_x`, …).
    pub name: String,
    /// Where the name was written.
    pub location: Location,
    /// Its definition.
    pub detection: Detection,
}

/// The detection section of a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detections {
    /// Search identifiers in document order.
    pub searches: Vec<SearchIdentifier>,
    /// One or more conditions (a list of conditions is OR-linked).
    pub conditions: Vec<Condition>,
    /// The legacy (Sigma v1) `timeframe`, kept so tools can explain it.
    pub timeframe: Option<String>,
    /// Where `detection:` starts.
    pub location: Location,
}

impl Detections {
    /// Looks a search identifier up by name.
    pub fn get(&self, name: &str) -> Option<&SearchIdentifier> {
        self.searches.iter().find(|s| s.name == name)
    }

    /// Parses a `detection:` mapping (identifiers plus `condition`).
    pub fn parse(node: &YamlNode) -> Result<Detections, Vec<SigmaError>> {
        let Some(entries) = node.as_map() else {
            return Err(vec![SigmaError::new(
                ErrorKind::WrongType,
                node.location,
                format!(
                    "'detection' must be a mapping, found a {}",
                    node.type_name()
                ),
            )]);
        };
        let mut errors = Vec::new();
        let mut searches = Vec::new();
        // Names of identifiers that failed to parse still count as defined,
        // so one bad selection yields one error, not a cascade.
        let mut failed_names: Vec<String> = Vec::new();
        let mut condition_node = None;
        let mut timeframe = None;
        // One expansion budget for the whole detection section.
        let mut budget = modifiers::MAX_EXPANDED_VALUES;
        for (key, value) in entries {
            let Some(name) = key.scalar_text() else {
                errors.push(SigmaError::new(
                    ErrorKind::Detection,
                    key.location,
                    "search identifier names must be strings",
                ));
                continue;
            };
            match name.as_str() {
                "condition" => condition_node = Some(value),
                "timeframe" => timeframe = value.scalar_text(),
                _ => match parse_definition_within(value, &mut budget) {
                    Ok(detection) => searches.push(SearchIdentifier {
                        name,
                        location: key.location,
                        detection,
                    }),
                    Err(e) => {
                        errors.push(e);
                        failed_names.push(name);
                    }
                },
            }
        }
        let mut conditions = Vec::new();
        match condition_node {
            None => errors.push(SigmaError::new(
                ErrorKind::MissingField,
                node.location,
                "detection has no 'condition'",
            )),
            Some(cond) => {
                let texts: Vec<&YamlNode> = match &cond.value {
                    YamlValue::Seq(items) => items.iter().collect(),
                    _ => vec![cond],
                };
                if texts.is_empty() {
                    errors.push(SigmaError::new(
                        ErrorKind::Condition,
                        cond.location,
                        "the condition list is empty",
                    ));
                }
                let names: Vec<&str> = searches
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(failed_names.iter().map(String::as_str))
                    .collect();
                for t in texts {
                    match t.as_str() {
                        Some(text) => match Condition::parse(text, t.location, &names) {
                            Ok(c) => conditions.push(c),
                            Err(e) => errors.push(e),
                        },
                        None => errors.push(SigmaError::new(
                            ErrorKind::WrongType,
                            t.location,
                            format!("the condition must be a string, found a {}", t.type_name()),
                        )),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Detections {
                searches,
                conditions,
                timeframe,
                location: node.location,
            })
        } else {
            Err(errors)
        }
    }
}

/// Parses the definition of one search identifier.
pub fn parse_definition(node: &YamlNode) -> Result<Detection, SigmaError> {
    let mut budget = modifiers::MAX_EXPANDED_VALUES;
    parse_definition_within(node, &mut budget)
}

/// [`parse_definition`] drawing the values it creates from `budget` (the
/// values the rest of the rule may still expand into).
fn parse_definition_within(node: &YamlNode, budget: &mut usize) -> Result<Detection, SigmaError> {
    match &node.value {
        YamlValue::Map(entries) => {
            if entries.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::Detection,
                    node.location,
                    "detection is empty: a search identifier needs at least one field",
                ));
            }
            let mut items = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                // String keys are borrowed; only other scalars are rendered.
                let Some(key) = k.scalar_str() else {
                    return Err(SigmaError::new(
                        ErrorKind::Detection,
                        k.location,
                        format!("a field name must be a string, found a {}", k.type_name()),
                    ));
                };
                items.push(DetectionEntry::Item(parse_item_within(
                    &key, k.location, v, budget,
                )?));
            }
            Ok(Detection {
                linking: Linking::And,
                entries: items,
                location: node.location,
            })
        }
        YamlValue::Seq(elements) => {
            if elements.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::Detection,
                    node.location,
                    "detection is an empty list: give at least one value or mapping",
                ));
            }
            let nested = elements
                .iter()
                .any(|e| matches!(e.value, YamlValue::Map(_) | YamlValue::Seq(_)));
            if nested {
                let entries = elements
                    .iter()
                    .map(|e| parse_definition_within(e, budget).map(DetectionEntry::Group))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Detection {
                    linking: Linking::Or,
                    entries,
                    location: node.location,
                })
            } else {
                let item = parse_item_values(None, Vec::new(), node.location, elements, budget)?;
                Ok(Detection {
                    linking: Linking::And,
                    entries: vec![DetectionEntry::Item(item)],
                    location: node.location,
                })
            }
        }
        YamlValue::Null => Err(SigmaError::new(
            ErrorKind::Detection,
            node.location,
            "a null value must be bound to a field",
        )),
        _ => {
            let item = parse_item_values(
                None,
                Vec::new(),
                node.location,
                std::slice::from_ref(node),
                budget,
            )?;
            Ok(Detection {
                linking: Linking::And,
                entries: vec![DetectionEntry::Item(item)],
                location: node.location,
            })
        }
    }
}

/// Parses `field|mod|mod: value(s)`.
pub fn parse_item(
    key: &str,
    key_loc: Location,
    value: &YamlNode,
) -> Result<DetectionItem, SigmaError> {
    let mut budget = modifiers::MAX_EXPANDED_VALUES;
    parse_item_within(key, key_loc, value, &mut budget)
}

fn parse_item_within(
    key: &str,
    key_loc: Location,
    value: &YamlNode,
    budget: &mut usize,
) -> Result<DetectionItem, SigmaError> {
    let mut pieces = key.split('|');
    let field = pieces.next().unwrap_or_default();
    let mut mods = Vec::new();
    for name in pieces {
        match Modifier::from_name(name) {
            Some(m) => mods.push(m),
            None => {
                let hint = if Modifier::from_name(&name.to_lowercase()).is_some() {
                    format!(" (modifiers are lowercase: '{}')", name.to_lowercase())
                } else {
                    String::new()
                };
                return Err(SigmaError::new(
                    ErrorKind::UnknownModifier,
                    key_loc,
                    format!("unknown modifier '{name}' in '{key}'{hint}"),
                ));
            }
        }
    }
    let field = if field.is_empty() {
        None
    } else {
        Some(field.to_string())
    };
    // The values are only read: borrow them rather than copying the tree.
    let empty_list;
    let values: &[YamlNode] = match &value.value {
        YamlValue::Seq(items) if items.is_empty() => {
            empty_list = [YamlNode::new(YamlValue::Null, value.location)];
            &empty_list
        }
        YamlValue::Seq(items) => items,
        _ => std::slice::from_ref(value),
    };
    parse_item_values(field, mods, key_loc, values, budget)
}

fn parse_item_values(
    field: Option<String>,
    modifiers: Vec<Modifier>,
    location: Location,
    raw: &[YamlNode],
    budget: &mut usize,
) -> Result<DetectionItem, SigmaError> {
    let first_only = [Modifier::Re, Modifier::Cidr, Modifier::Exists];
    for (i, m) in modifiers.iter().enumerate() {
        if i > 0 && first_only.contains(m) {
            return Err(SigmaError::new(
                ErrorKind::ModifierChain,
                location,
                format!(
                    "modifier '{m}' must come first: it is only applicable to unmodified values (found after '{}')",
                    modifiers[i - 1]
                ),
            ));
        }
    }
    if field.is_none() && modifiers.contains(&Modifier::Exists) {
        return Err(SigmaError::new(
            ErrorKind::ModifierChain,
            location,
            "modifier 'exists' needs a field name",
        ));
    }
    if field.is_none() && modifiers.contains(&Modifier::FieldRef) {
        return Err(SigmaError::new(
            ErrorKind::ModifierChain,
            location,
            "modifier 'fieldref' needs a field name",
        ));
    }
    let raw_regex = modifiers.first() == Some(&Modifier::Re);
    let mut linking = Linking::Or;
    let mut negated = false;
    let mut values = Vec::with_capacity(raw.len());
    for node in raw {
        let mut v = initial_value(node, raw_regex)?;
        for (i, &m) in modifiers.iter().enumerate() {
            v = match m {
                Modifier::All => {
                    linking = Linking::And;
                    v
                }
                Modifier::Neq => {
                    negated = true;
                    v
                }
                Modifier::Re if i == 0 => match v {
                    Value::Regex { .. } => v,
                    other => {
                        return Err(SigmaError::new(
                            ErrorKind::ModifierChain,
                            node.location,
                            format!(
                                "modifier 're' needs a string value, found a {}",
                                other.type_name()
                            ),
                        ))
                    }
                },
                Modifier::Cidr if i == 0 => match &v {
                    Value::String { value, .. } => {
                        let text = value.as_plain().unwrap_or_else(|| value.to_string());
                        modifiers::parse_cidr(&text, node.location)?;
                        Value::Cidr { network: text }
                    }
                    other => {
                        return Err(SigmaError::new(
                            ErrorKind::ModifierChain,
                            node.location,
                            format!(
                                "modifier 'cidr' needs a string value, found a {}",
                                other.type_name()
                            ),
                        ))
                    }
                },
                Modifier::Exists if i == 0 => match &v {
                    Value::Bool { value } => Value::Exists { value: *value },
                    other => {
                        return Err(SigmaError::new(
                            ErrorKind::ModifierChain,
                            node.location,
                            format!(
                            "modifier 'exists' needs a boolean value (true or false), found a {}",
                            other.type_name()
                        ),
                        ))
                    }
                },
                m => modifiers::apply(m, v, node.location)?,
            };
        }
        if let Value::Regex { pattern, flags } = &v {
            modifiers::check_regex(pattern, *flags, node.location)?;
        }
        // Only expansions draw from the budget: plain values cost what
        // their YAML text costs.
        if let Value::Expansion { .. } = v {
            *budget = budget
                .checked_sub(modifiers::expanded_len(&v))
                .ok_or_else(|| modifiers::too_many_values(node.location))?;
        }
        values.push(ItemValue {
            value: v,
            location: node.location,
        });
    }
    Ok(DetectionItem {
        field,
        modifiers,
        values,
        linking,
        negated,
        location,
    })
}

fn initial_value(node: &YamlNode, raw_regex: bool) -> Result<Value, SigmaError> {
    Ok(match &node.value {
        YamlValue::String(s) if raw_regex => Value::Regex {
            pattern: s.to_string(),
            flags: RegexFlags::default(),
        },
        YamlValue::String(s) => Value::string(SigmaString::parse(s)),
        YamlValue::Int(i) => Value::Number {
            value: Number::Int(*i),
        },
        YamlValue::Float(f) => Value::Number {
            value: modifiers::number_from_f64(*f),
        },
        YamlValue::Bool(b) => Value::Bool { value: *b },
        YamlValue::Null => Value::Null,
        YamlValue::Seq(_) | YamlValue::Map(_) => {
            return Err(SigmaError::new(
                ErrorKind::WrongType,
                node.location,
                format!(
                    "unsupported value type: a {} cannot be used as a field value",
                    node.type_name()
                ),
            ))
        }
    })
}

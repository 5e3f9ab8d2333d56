//! Correlation rules: types, conditions, timespans, and their parser.

use serde::Serialize;

use super::fields::{err, expect_string_list};
use super::meta::parse_meta;
use super::{Origin, RuleMeta};
use crate::condition::{Condition, ConditionExpr};
use crate::error::{ErrorKind, SigmaError};
use crate::value::Number;
use crate::yaml::{Location, YamlNode, YamlValue};

/// Correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// Number of events per group.
    EventCount,
    /// Number of distinct values of a field per group.
    ValueCount,
    /// All referenced rules matched within the timespan.
    Temporal,
    /// As temporal, in the order of `rules`.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// Percentile of a numeric field.
    ValuePercentile,
    /// Median of a numeric field (pySigma extension).
    ValueMedian,
}

impl CorrelationType {
    /// Parses a type name case-insensitively.
    pub fn from_name(s: &str) -> Option<Self> {
        use CorrelationType::*;
        Some(match s.to_ascii_lowercase().as_str() {
            "event_count" => EventCount,
            "value_count" => ValueCount,
            "temporal" => Temporal,
            "temporal_ordered" => TemporalOrdered,
            "value_sum" => ValueSum,
            "value_avg" => ValueAvg,
            "value_percentile" => ValuePercentile,
            "value_median" => ValueMedian,
            _ => return None,
        })
    }

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        use CorrelationType::*;
        match self {
            EventCount => "event_count",
            ValueCount => "value_count",
            Temporal => "temporal",
            TemporalOrdered => "temporal_ordered",
            ValueSum => "value_sum",
            ValueAvg => "value_avg",
            ValuePercentile => "value_percentile",
            ValueMedian => "value_median",
        }
    }

    /// Whether the type aggregates a `field`.
    pub fn needs_field(self) -> bool {
        use CorrelationType::*;
        matches!(
            self,
            ValueCount | ValueSum | ValueAvg | ValuePercentile | ValueMedian
        )
    }
}

/// A threshold operator of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CorrelationOp {
    /// Whether `lhs op rhs` holds.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CorrelationOp::Gt => lhs > rhs,
            CorrelationOp::Gte => lhs >= rhs,
            CorrelationOp::Lt => lhs < rhs,
            CorrelationOp::Lte => lhs <= rhs,
            CorrelationOp::Eq => lhs == rhs,
            CorrelationOp::Neq => lhs != rhs,
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => CorrelationOp::Gt,
            "gte" => CorrelationOp::Gte,
            "lt" => CorrelationOp::Lt,
            "lte" => CorrelationOp::Lte,
            "eq" => CorrelationOp::Eq,
            "neq" => CorrelationOp::Neq,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            CorrelationOp::Gt => "gt",
            CorrelationOp::Gte => "gte",
            CorrelationOp::Lt => "lt",
            CorrelationOp::Lte => "lte",
            CorrelationOp::Eq => "eq",
            CorrelationOp::Neq => "neq",
        }
    }
}

/// A correlation timespan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timespan {
    /// As written (`5m`).
    pub text: String,
    /// In seconds.
    pub seconds: u64,
}

impl Timespan {
    /// Parses `<integer><unit>` with units s, m, h, d, w, M (month), y.
    pub fn parse(text: &str) -> Option<Timespan> {
        let unit = text.chars().last()?;
        let digits = &text[..text.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'M' => 2_629_746,
            'y' => 31_556_952,
            _ => return None,
        };
        Some(Timespan {
            text: text.to_string(),
            seconds: n.checked_mul(mult)?,
        })
    }
}

/// The condition of a correlation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorrelationCondition {
    /// Thresholds, AND-linked (a range has two).
    Threshold {
        /// The aggregated field(s), for the value_* types.
        field: Vec<String>,
        /// Operator and bound pairs.
        bounds: Vec<(CorrelationOp, Number)>,
        /// `percentile:` for value_percentile.
        percentile: Option<Number>,
    },
    /// A boolean expression over rule names (temporal types).
    Expression {
        /// The expression text.
        text: String,
        /// The parsed expression (identifiers are rule names/ids).
        expr: ConditionExpr,
    },
}

/// A field alias across the correlated rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrelationAlias {
    /// The alias name used in `group-by`.
    pub name: String,
    /// Rule reference → field in that rule's events.
    pub fields: Vec<(String, String)>,
}

/// The `correlation` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// The type.
    pub kind: CorrelationType,
    /// Referenced rules (ids or names).
    pub rules: Vec<String>,
    /// Grouping fields.
    pub group_by: Vec<String>,
    /// The time window.
    pub timespan: Option<Timespan>,
    /// The condition.
    pub condition: CorrelationCondition,
    /// Field aliases.
    pub aliases: Vec<CorrelationAlias>,
    /// Whether referenced rules also produce their own output.
    pub generate: bool,
    /// Where `correlation:` starts.
    pub location: Location,
}

/// A correlation rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// The correlation.
    pub correlation: Correlation,
}

pub(super) fn string_or_list(
    node: &YamlNode,
    key: &str,
    errors: &mut Vec<SigmaError>,
) -> Vec<String> {
    match &node.value {
        YamlValue::String(s) => vec![s.to_string()],
        _ => expect_string_list(node, key, errors),
    }
}

/// Parses a correlation rule document.
pub fn parse_correlation(
    doc: &YamlNode,
    origin: Origin,
) -> Result<CorrelationRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let Some(c) = doc.get("correlation") else {
        return Err(vec![err(
            ErrorKind::MissingField,
            doc.location,
            "no 'correlation' section",
        )]);
    };
    if c.as_map().is_none() {
        return Err(vec![err(
            ErrorKind::Correlation,
            c.location,
            format!("'correlation' must be a mapping, found a {}", c.type_name()),
        )]);
    }
    let kind = match c.get("type").and_then(|t| t.scalar_text()) {
        Some(t) => match CorrelationType::from_name(&t) {
            Some(k) => Some(k),
            None => {
                errors.push(err(ErrorKind::Correlation, c.get("type").map_or(c.location, |n| n.location), format!(
                    "unknown correlation type '{t}' (expected event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile or value_median)"
                )));
                None
            }
        },
        None => {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                "the correlation has no 'type'",
            ));
            None
        }
    };
    let rules = c
        .get("rules")
        .map(|n| string_or_list(n, "rules", &mut errors))
        .unwrap_or_default();
    let group_by = c
        .get("group-by")
        .map(|n| string_or_list(n, "group-by", &mut errors))
        .unwrap_or_default();
    let timespan = match c.get("timespan") {
        Some(n) => match n.scalar_text().and_then(|t| Timespan::parse(&t)) {
            Some(ts) => Some(ts),
            None => {
                errors.push(err(ErrorKind::Correlation, n.location, format!(
                    "invalid timespan '{}' (expected an integer and a unit: s, m, h, d, w, M or y, e.g. 90m)",
                    n.scalar_text().unwrap_or_default()
                )));
                None
            }
        },
        None => None,
    };
    let generate = match c.get("generate") {
        Some(YamlNode {
            value: YamlValue::Bool(b),
            ..
        }) => *b,
        Some(n) => {
            errors.push(err(
                ErrorKind::WrongType,
                n.location,
                "'generate' must be true or false",
            ));
            false
        }
        None => false,
    };
    let aliases = c
        .get("aliases")
        .map(|a| parse_aliases(a, &mut errors))
        .unwrap_or_default();
    let condition = c
        .get("condition")
        .and_then(|n| parse_correlation_condition(n, &rules, &mut errors));
    let Some(kind) = kind else { return Err(errors) };
    let condition = match condition {
        Some(c) => c,
        None if matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        ) =>
        {
            CorrelationCondition::Threshold {
                field: Vec::new(),
                bounds: vec![(CorrelationOp::Gte, Number::Int(rules.len() as i64))],
                percentile: None,
            }
        }
        None => {
            if !errors.iter().any(|e| e.kind == ErrorKind::Correlation) {
                errors.push(err(
                    ErrorKind::Correlation,
                    c.location,
                    format!("a {} correlation needs a 'condition'", kind.name()),
                ));
            }
            return Err(errors);
        }
    };
    if let CorrelationCondition::Threshold { field, bounds, .. } = &condition {
        if bounds.is_empty() {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                "the correlation condition has no threshold (gt, gte, lt, lte, eq or neq)",
            ));
        }
        if kind.needs_field() && field.is_empty() {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                format!(
                    "a {} correlation needs 'field' in its condition",
                    kind.name()
                ),
            ));
        }
    }
    if rules.is_empty() && !matches!(condition, CorrelationCondition::Expression { .. }) {
        errors.push(err(
            ErrorKind::Correlation,
            c.location,
            "the correlation lists no 'rules'",
        ));
    }
    if timespan.is_none() && !errors.iter().any(|e| e.message.contains("timespan")) {
        errors.push(err(
            ErrorKind::Correlation,
            c.location,
            "the correlation has no 'timespan'",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CorrelationRule {
        origin,
        meta,
        correlation: Correlation {
            kind,
            rules,
            group_by,
            timespan,
            condition,
            aliases,
            generate,
            location: c.location,
        },
    })
}

/// Parses `aliases`: alias name → (rule reference → field).
fn parse_aliases(a: &YamlNode, errors: &mut Vec<SigmaError>) -> Vec<CorrelationAlias> {
    let mut aliases = Vec::new();
    match a.as_map() {
        Some(entries) => {
            for (name, map) in entries {
                let fields = map
                    .as_map()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(r, f)| Some((r.scalar_text()?, f.scalar_text()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                aliases.push(CorrelationAlias {
                    name: name.scalar_text().unwrap_or_default(),
                    fields,
                });
            }
        }
        None => errors.push(err(
            ErrorKind::Correlation,
            a.location,
            "'aliases' must be a mapping",
        )),
    }
    aliases
}

/// Parses the `condition` of a correlation: a threshold mapping, or (for
/// temporal types) a boolean expression over the referenced rule names.
/// `None`, with an error recorded, when it is malformed.
fn parse_correlation_condition(
    n: &YamlNode,
    rules: &[String],
    errors: &mut Vec<SigmaError>,
) -> Option<CorrelationCondition> {
    match &n.value {
        YamlValue::String(text) => {
            // A boolean expression over rule names (temporal extension).
            let mut names: Vec<&str> = rules.iter().map(String::as_str).collect();
            let mut extra = Vec::new();
            if rules.is_empty() {
                extra = text
                    .split(|ch: char| {
                        !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.')
                    })
                    .filter(|w| !w.is_empty() && !["and", "or", "not"].contains(w))
                    .map(str::to_string)
                    .collect();
            }
            names.extend(extra.iter().map(String::as_str));
            match Condition::parse(text, n.location, &names) {
                Ok(cond) => Some(CorrelationCondition::Expression {
                    text: text.to_string(),
                    expr: cond.expr,
                }),
                Err(e) => {
                    errors.push(err(ErrorKind::Correlation, e.location, e.message));
                    None
                }
            }
        }
        YamlValue::Map(entries) => {
            let mut field = Vec::new();
            let mut bounds = Vec::new();
            let mut percentile = None;
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or_default();
                if key == "field" {
                    field = string_or_list(v, "field", errors);
                } else if key == "percentile" {
                    percentile = number_of(v);
                } else if let Some(op) = CorrelationOp::from_name(&key) {
                    match number_of(v) {
                        Some(num) => bounds.push((op, num)),
                        None => errors.push(err(
                            ErrorKind::Correlation,
                            v.location,
                            format!("the '{key}' threshold must be a number"),
                        )),
                    }
                } else {
                    errors.push(err(ErrorKind::Correlation, k.location, format!(
                        "unknown correlation condition operator '{key}' (expected gt, gte, lt, lte, eq, neq or field)"
                    )));
                }
            }
            Some(CorrelationCondition::Threshold {
                field,
                bounds,
                percentile,
            })
        }
        _ => {
            errors.push(err(ErrorKind::Correlation, n.location, "the correlation condition must be a mapping (or, for temporal types, an expression)"));
            None
        }
    }
}

fn number_of(n: &YamlNode) -> Option<Number> {
    match n.value {
        YamlValue::Int(i) => Some(Number::Int(i)),
        YamlValue::Float(f) => Some(Number::Float(f)),
        _ => None,
    }
}

//! Processing-item conditions: on the rule, on detection items and on field
//! names, linked with `and`/`or`, negated, or combined by a boolean
//! expression over named conditions (`rule_cond_expr: "a and not b"`).

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::Value as J;

use crate::detection::DetectionItem;
use crate::rule::{LogSource, RuleMeta, SigmaRule};
use crate::value::{Number, SigmaString, Value};

/// Comparison operators of `processing_state` and `rule_attribute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq` (default).
    Eq,
    /// `ne`.
    Ne,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `in`: list membership (rule attributes only).
    In,
    /// `not_in` (rule attributes only).
    NotIn,
}

impl CompareOp {
    pub(crate) fn parse(s: &str) -> Option<CompareOp> {
        Some(match s {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "gt" => CompareOp::Gt,
            "gte" => CompareOp::Gte,
            "lt" => CompareOp::Lt,
            "lte" => CompareOp::Lte,
            "in" => CompareOp::In,
            "not_in" => CompareOp::NotIn,
            _ => return None,
        })
    }

    /// Compares two JSON scalars (numbers numerically, strings by text).
    pub fn holds(self, lhs: &J, rhs: &J) -> bool {
        use std::cmp::Ordering;
        let ord = match (lhs, rhs) {
            (J::Number(a), J::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (J::String(a), J::String(b)) => Some(a.cmp(b)),
            (J::Bool(a), J::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        };
        match self {
            CompareOp::Eq => ord == Some(Ordering::Equal),
            CompareOp::Ne => ord != Some(Ordering::Equal),
            CompareOp::Gt => ord == Some(Ordering::Greater),
            CompareOp::Gte => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            CompareOp::Lt => ord == Some(Ordering::Less),
            CompareOp::Lte => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            CompareOp::In | CompareOp::NotIn => false,
        }
    }
}

/// A condition on the whole rule.
#[derive(Debug, Clone)]
pub enum RuleCondition {
    /// `logsource`: every field given (category, product, service) equals
    /// the rule's ([`LogSource::contains`]).
    Logsource(LogSource),
    /// `contains_detection_item`: some item has this field and value.
    ContainsDetectionItem {
        /// The field.
        field: String,
        /// The value (compared as pySigma does: same type, equal).
        value: J,
    },
    /// `contains_field`: some item uses this field.
    ContainsField {
        /// The field.
        field: String,
    },
    /// `processing_item_applied`: an earlier item with this id applied.
    ProcessingItemApplied {
        /// The item id.
        id: String,
    },
    /// `processing_state`: compares a pipeline state value.
    ProcessingState {
        /// State key.
        key: String,
        /// Value compared with.
        val: J,
        /// Operator.
        op: CompareOp,
    },
    /// `is_sigma_rule`: always true for detection rules.
    IsSigmaRule,
    /// `is_sigma_correlation_rule`: always false for detection rules.
    IsSigmaCorrelationRule,
    /// `rule_attribute`: compares a rule attribute (level, status, date,
    /// author, custom attributes, …).
    RuleAttribute {
        /// Attribute name.
        attribute: String,
        /// Value compared with.
        value: J,
        /// Operator.
        op: CompareOp,
    },
    /// `tag`: the rule has this tag (`namespace.name`).
    Tag {
        /// The tag.
        tag: String,
    },
}

/// A condition on one detection item.
#[derive(Debug, Clone)]
pub enum ItemCondition {
    /// `match_string`: string values match the regex (from the start).
    MatchString {
        /// The regex.
        pattern: Regex,
        /// Negate per value.
        negate: bool,
        /// `cond: all` instead of `any`.
        all: bool,
    },
    /// `match_value`: a value equals this one.
    MatchValue {
        /// The value.
        value: J,
        /// `cond: all`.
        all: bool,
    },
    /// `contains_wildcard`: a string value has a wildcard.
    ContainsWildcard {
        /// `cond: all`.
        all: bool,
    },
    /// `is_null`: a value is `null`.
    IsNull {
        /// `cond: all`.
        all: bool,
    },
    /// `processing_item_applied` to this item.
    ProcessingItemApplied {
        /// The item id.
        id: String,
    },
    /// `processing_state`.
    ProcessingState {
        /// State key.
        key: String,
        /// Value compared with.
        val: J,
        /// Operator.
        op: CompareOp,
    },
}

/// A condition on a field name.
#[derive(Debug, Clone)]
pub enum FieldCondition {
    /// `include_fields` (`exclude: false`) or `exclude_fields` (`exclude: true`).
    Fields {
        /// The names or patterns.
        fields: Vec<String>,
        /// Compiled patterns with `mode: re` (anchored at the start, as
        /// Python's `re.match`).
        patterns: Option<Vec<Regex>>,
        /// True for `exclude_fields`.
        exclude: bool,
    },
    /// `processing_item_applied` to the field (or the item).
    ProcessingItemApplied {
        /// The item id.
        id: String,
    },
    /// `processing_state`.
    ProcessingState {
        /// State key.
        key: String,
        /// Value compared with.
        val: J,
        /// Operator.
        op: CompareOp,
    },
}

/// A boolean expression over named conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondExpr {
    /// A condition by name.
    Ref(String),
    /// Negation.
    Not(Box<CondExpr>),
    /// All must hold.
    And(Vec<CondExpr>),
    /// Any must hold.
    Or(Vec<CondExpr>),
}

/// How the conditions of one kind are combined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondLogic {
    /// All must hold (`*_cond_op: and`, the default).
    All,
    /// Any must hold (`*_cond_op: or`).
    Any,
    /// A boolean expression (`*_cond_expr`).
    Expr(CondExpr),
}

/// The conditions of one kind of a processing item.
#[derive(Debug, Clone)]
pub struct Conditions<C> {
    /// The conditions with their names (names are given when the conditions
    /// are written as a mapping).
    pub items: Vec<(Option<String>, C)>,
    /// How they are combined.
    pub logic: CondLogic,
    /// `*_cond_not`: negate the combined result.
    pub negated: bool,
}

impl<C> Default for Conditions<C> {
    fn default() -> Self {
        Conditions {
            items: Vec::new(),
            logic: CondLogic::All,
            negated: false,
        }
    }
}

impl<C> Conditions<C> {
    /// Evaluates with `f` per condition. `empty_true`: pySigma treats an
    /// empty list of rule conditions as a match even when negated.
    pub(crate) fn eval(&self, empty_true: bool, mut f: impl FnMut(&C) -> bool) -> bool {
        if empty_true && self.items.is_empty() {
            return true;
        }
        let r = match &self.logic {
            CondLogic::All => self.items.iter().all(|(_, c)| f(c)),
            CondLogic::Any => self.items.iter().any(|(_, c)| f(c)),
            CondLogic::Expr(e) => self.eval_expr(e, &mut f),
        };
        r != self.negated
    }

    fn eval_expr(&self, e: &CondExpr, f: &mut impl FnMut(&C) -> bool) -> bool {
        match e {
            CondExpr::Ref(n) => self
                .items
                .iter()
                .find(|(name, _)| name.as_deref() == Some(n))
                .is_some_and(|(_, c)| f(c)),
            CondExpr::Not(i) => !self.eval_expr(i, f),
            CondExpr::And(v) => v.iter().all(|x| self.eval_expr(x, f)),
            CondExpr::Or(v) => v.iter().any(|x| self.eval_expr(x, f)),
        }
    }
}

/// What conditions can see while a pipeline runs.
pub(crate) struct EvalCtx<'a> {
    pub state: &'a BTreeMap<String, J>,
    pub rule_applied: &'a [String],
    pub field_applied: &'a BTreeMap<String, BTreeSet<String>>,
}

impl RuleCondition {
    pub(crate) fn matches(&self, rule: &SigmaRule, walk: &mut ItemWalk, cx: &EvalCtx) -> bool {
        match self {
            RuleCondition::Logsource(ls) => ls.contains(&rule.logsource),
            RuleCondition::ContainsDetectionItem { field, value } => walk(&mut |i| {
                i.field.as_deref() == Some(field.as_str())
                    && i.values.iter().any(|v| value_eq_json(&v.value, value))
            }),
            RuleCondition::ContainsField { field } => {
                walk(&mut |i| i.field.as_deref() == Some(field.as_str()))
            }
            RuleCondition::IsSigmaRule => true,
            RuleCondition::IsSigmaCorrelationRule => false,
            _ => self.matches_meta(&rule.meta, cx),
        }
    }

    /// Evaluates on a correlation rule, as pySigma does: a `logsource`
    /// condition holds when it holds for any referenced rule; conditions on
    /// detection items never hold.
    pub(crate) fn matches_correlation(
        &self,
        meta: &RuleMeta,
        referenced: &[&SigmaRule],
        cx: &EvalCtx,
    ) -> bool {
        match self {
            RuleCondition::Logsource(ls) => referenced.iter().any(|r| ls.contains(&r.logsource)),
            RuleCondition::ContainsDetectionItem { .. } | RuleCondition::ContainsField { .. } => {
                false
            }
            RuleCondition::IsSigmaRule => false,
            RuleCondition::IsSigmaCorrelationRule => true,
            _ => self.matches_meta(meta, cx),
        }
    }

    /// The conditions that only look at the metadata and the run.
    fn matches_meta(&self, meta: &RuleMeta, cx: &EvalCtx) -> bool {
        match self {
            RuleCondition::RuleAttribute {
                attribute,
                value,
                op,
            } => rule_attribute(meta, attribute, value, *op),
            RuleCondition::Tag { tag } => meta
                .tags
                .iter()
                .any(|t| format!("{}.{}", t.namespace, t.name) == *tag),
            RuleCondition::ProcessingItemApplied { id } => cx.rule_applied.iter().any(|a| a == id),
            RuleCondition::ProcessingState { key, val, op } => {
                cx.state.get(key).is_some_and(|s| op.holds(s, val))
            }
            _ => false,
        }
    }
}

fn rule_attribute(m: &RuleMeta, attribute: &str, value: &J, op: CompareOp) -> bool {
    let as_text = |s: Option<&str>| s.map(|s| J::String(s.to_string()));
    let list = |v: &[String]| Some(J::Array(v.iter().map(|s| J::String(s.clone())).collect()));
    let actual = match attribute {
        "title" => Some(J::String(m.title.clone())),
        "id" => as_text(m.id.as_deref()),
        "name" => as_text(m.name.as_deref()),
        "author" => as_text(m.author.as_deref()),
        "description" => as_text(m.description.as_deref()),
        "license" => as_text(m.license.as_deref()),
        "date" => as_text(m.date.as_deref()),
        "modified" => as_text(m.modified.as_deref()),
        "references" => list(&m.references),
        "falsepositives" => list(&m.falsepositives),
        "fields" => list(&m.fields),
        "scope" => list(&m.scope),
        "level" => {
            // Ordered comparison of levels, as pySigma's SigmaLevel enum.
            let rank = |s: &str| {
                ["informational", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|l| *l == s)
            };
            let Some(have) = m.level.map(|l| l.name()) else {
                return false;
            };
            return match (
                rank(have),
                value.as_str().and_then(|s| rank(&s.to_lowercase())),
            ) {
                (Some(a), Some(b)) => op.holds(&J::from(a), &J::from(b)),
                _ => false,
            };
        }
        "status" => m.status.map(|s| J::String(s.name().to_string())),
        other => m.custom.get(other).cloned(),
    };
    let Some(actual) = actual else { return false };
    match (&actual, op) {
        (J::Array(items), CompareOp::In) => items.contains(value),
        (J::Array(items), CompareOp::NotIn) => !items.contains(value),
        (J::Array(_), CompareOp::Ne) => true,
        (J::Array(_), _) => false,
        (J::String(a), CompareOp::Eq) => value.as_str() == Some(a) || *value == actual,
        (J::String(a), CompareOp::Ne) => value.as_str() != Some(a),
        (J::String(_), _) => op.holds(&actual, value),
        (J::Number(_), _) => {
            let rhs = match value {
                J::String(s) => s
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(J::Number),
                other => Some(other.clone()),
            };
            rhs.is_some_and(|r| op.holds(&actual, &r))
        }
        _ => op.holds(&actual, value),
    }
}

/// Visits the rule's current detection items until the callback says true.
pub(crate) type ItemWalk<'a> = dyn FnMut(&mut dyn FnMut(&DetectionItem) -> bool) -> bool + 'a;

/// pySigma's `sigma_type(value) in item.value` restricted to the same type.
pub(crate) fn value_eq_json(v: &Value, j: &J) -> bool {
    match (v, j) {
        (Value::String { value, .. }, J::String(s)) => *value == SigmaString::parse(s),
        (Value::Number { value }, J::Number(n)) => match value {
            Number::Int(i) => n.as_i64() == Some(*i) || n.as_f64() == Some(*i as f64),
            other => n.as_f64() == Some(other.as_f64()),
        },
        (Value::Bool { value }, J::Bool(b)) => value == b,
        (Value::Null, J::Null) => true,
        _ => false,
    }
}

impl ItemCondition {
    pub(crate) fn matches(
        &self,
        item: &DetectionItem,
        applied: &BTreeSet<String>,
        cx: &EvalCtx,
    ) -> bool {
        let over = |all: bool, f: &dyn Fn(&Value) -> bool| {
            if all {
                item.values.iter().all(|v| f(&v.value))
            } else {
                item.values.iter().any(|v| f(&v.value))
            }
        };
        match self {
            ItemCondition::MatchString {
                pattern,
                negate,
                all,
            } => over(*all, &|v| {
                let r = match v {
                    Value::String { value, .. } => pattern
                        .find(&value.to_string())
                        .is_some_and(|m| m.start() == 0),
                    _ => false,
                };
                r != *negate
            }),
            ItemCondition::MatchValue { value, all } => over(*all, &|v| value_eq_json(v, value)),
            ItemCondition::ContainsWildcard { all } => over(
                *all,
                &|v| matches!(v, Value::String { value, .. } if value.has_wildcards()),
            ),
            ItemCondition::IsNull { all } => over(*all, &|v| matches!(v, Value::Null)),
            ItemCondition::ProcessingItemApplied { id } => applied.contains(id),
            ItemCondition::ProcessingState { key, val, op } => {
                cx.state.get(key).is_some_and(|s| op.holds(s, val))
            }
        }
    }
}

impl FieldCondition {
    /// Evaluates on a field name (`None` for keywords).
    pub(crate) fn matches_name(&self, field: Option<&str>, cx: &EvalCtx) -> bool {
        match self {
            FieldCondition::Fields {
                fields,
                patterns,
                exclude,
            } => {
                let hit = match (field, patterns) {
                    (None, _) => false,
                    (Some(f), None) => fields.iter().any(|x| x == f),
                    (Some(f), Some(ps)) => ps.iter().any(|p| p.is_match(f)),
                };
                hit != *exclude
            }
            FieldCondition::ProcessingItemApplied { id } => {
                field.is_some_and(|f| cx.field_applied.get(f).is_some_and(|s| s.contains(id)))
            }
            FieldCondition::ProcessingState { key, val, op } => {
                cx.state.get(key).is_some_and(|s| op.holds(s, val))
            }
        }
    }

    /// Evaluates on a detection item: its field, or a field reference among
    /// its values.
    pub(crate) fn matches_item(
        &self,
        item: &DetectionItem,
        applied: &BTreeSet<String>,
        cx: &EvalCtx,
    ) -> bool {
        if let FieldCondition::ProcessingItemApplied { id } = self {
            return applied.contains(id);
        }
        self.matches_name(item.field.as_deref(), cx)
            || item.values.iter().any(|v| match &v.value {
                Value::FieldRef { field, .. } => self.matches_name(Some(field), cx),
                _ => false,
            })
    }
}

//! The EventIDs a rule's compiled program will require, read from the
//! syntax tree before compilation.
//!
//! The plan's automaton needs every variant's needles, and a variant's
//! EventID needles come from [`required_ids`](super::super::required_ids)
//! of its compiled program. To build the automaton while the rules
//! compile, the build predicts these ids from the syntax tree, following
//! the shape compilation gives the program (one search per identifier, a
//! single child standing for its parent, OR-linked conditions, meta
//! filters AND-ed after the rule's condition). The prediction is checked
//! against the compiled programs: when any differs, the plan is built
//! again from the real ids, so a wrong guess only costs time.
//!
//! The one place the guess can differ is an AND with several children
//! that each require ids: compilation orders them cheapest first and the
//! first one wins; here the first in the rule wins.

use sigma_core::{
    ConditionExpr, Detection, DetectionEntry, DetectionItem, Detections, Linking, Quantifier,
    SigmaRule, Value,
};

/// The predicted `required_ids` of the program compiled from `rule` and
/// `filters` with the field renames of `mapping`.
pub(super) fn predicted_ids(
    rule: &SigmaRule,
    filters: &[&Detections],
    mapping: &[(String, String)],
) -> Option<Vec<i64>> {
    let eid = |name: &str| {
        mapping
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
            == "EventID"
    };
    let rule_ids = || detections_ids(&rule.detection, &eid);
    if filters.is_empty() {
        return rule_ids();
    }
    // `Cond::And([rule, filters...])`: the first that requires ids.
    rule_ids().or_else(|| filters.iter().find_map(|f| detections_ids(f, &eid)))
}

fn detections_ids(d: &Detections, eid: &dyn Fn(&str) -> bool) -> Option<Vec<i64>> {
    if let [one] = d.conditions.as_slice() {
        return cond_ids(&one.expr, d, eid);
    }
    union(d.conditions.iter().map(|c| cond_ids(&c.expr, d, eid)))
}

fn cond_ids(e: &ConditionExpr, d: &Detections, eid: &dyn Fn(&str) -> bool) -> Option<Vec<i64>> {
    let search = |name: &str| d.get(name).and_then(|s| detection_ids(&s.detection, eid));
    match e {
        ConditionExpr::Identifier(n) => search(n),
        ConditionExpr::Selector {
            quantifier,
            matched,
            ..
        } => match quantifier {
            Quantifier::Any => union(matched.iter().map(|m| search(m))),
            Quantifier::All => matched.iter().find_map(|m| search(m)),
        },
        ConditionExpr::Not(_) => None,
        ConditionExpr::And(xs) => xs.iter().find_map(|x| cond_ids(x, d, eid)),
        ConditionExpr::Or(xs) => union(xs.iter().map(|x| cond_ids(x, d, eid))),
    }
}

fn detection_ids(d: &Detection, eid: &dyn Fn(&str) -> bool) -> Option<Vec<i64>> {
    let child = |e: &DetectionEntry| match e {
        DetectionEntry::Item(i) => item_ids(i, eid),
        DetectionEntry::Group(g) => detection_ids(g, eid),
    };
    if let [one] = d.entries.as_slice() {
        return child(one);
    }
    match d.linking {
        Linking::And => d.entries.iter().find_map(child),
        Linking::Or => union(d.entries.iter().map(child)),
    }
}

fn item_ids(item: &DetectionItem, eid: &dyn Fn(&str) -> bool) -> Option<Vec<i64>> {
    let field = item.field.as_deref()?;
    if item.negated || item.linking != Linking::Or || !eid(field) {
        return None;
    }
    let mut ids = Vec::new();
    for v in &item.values {
        numbers(&v.value, &mut ids)?;
    }
    (!ids.is_empty()).then_some(ids)
}

/// Appends the integers of a value; `None` when it holds anything else.
fn numbers(v: &Value, out: &mut Vec<i64>) -> Option<()> {
    match v {
        Value::Number { value } => {
            let x = value.as_f64();
            (x.fract() == 0.0 && x.abs() < 1e15).then(|| out.push(x as i64))
        }
        Value::Expansion { values } => values.iter().try_for_each(|x| numbers(x, out)),
        _ => None,
    }
}

/// [`super::super::union`]: every part must require ids.
fn union(parts: impl Iterator<Item = Option<Vec<i64>>>) -> Option<Vec<i64>> {
    super::super::union(parts)
}

/// True when compiling the rule fails for a reason seen at a glance: an
/// unresolved placeholder (the usual reason in the corpus) or a legacy
/// aggregation. Such a rule adds no variant to the predicted plan.
pub(super) fn surely_fails(rule: &SigmaRule, filters: &[&Detections]) -> bool {
    std::iter::once(&rule.detection)
        .chain(filters.iter().copied())
        .any(|d| {
            d.conditions.iter().any(|c| c.legacy_aggregation.is_some())
                || d.searches.iter().any(|s| has_placeholder(&s.detection))
        })
}

fn has_placeholder(d: &Detection) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::String { value, .. } => value
                .parts
                .iter()
                .any(|p| matches!(p, sigma_core::StrPart::Placeholder(_))),
            Value::Expansion { values } => values.iter().any(value),
            _ => false,
        }
    }
    d.entries.iter().any(|e| match e {
        DetectionEntry::Item(i) => i.values.iter().any(|v| value(&v.value)),
        DetectionEntry::Group(g) => has_placeholder(g),
    })
}

//! sigil's own checks: mistakes that core pySigma accepts silently
//! (`spec-features.md` §4.3, "Core pySigma has no lint for these cases").

use std::collections::BTreeSet;

use super::core::{all_items, detections, show};
use super::{DocCtx, Sink};
use crate::condition::ConditionExpr;
use crate::rule::{CorrelationType, Document, FilterTarget};
use crate::value::{StrPart, TimePart, Value};
use crate::yaml::{YamlNode, YamlValue};

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// `Field: []` in the raw YAML of a detection definition.
fn empty_lists(node: &YamlNode, sink: &mut Sink) {
    match &node.value {
        YamlValue::Map(entries) => {
            for (k, v) in entries {
                match &v.value {
                    YamlValue::Seq(items) if items.is_empty() => sink.emit(
                        "empty_value_list",
                        k.location,
                        format!(
                            "'{}: []' is an empty list, read as null (field absent or null); write 'null' if that is meant",
                            k.scalar_text().unwrap_or_default()
                        ),
                    ),
                    _ => empty_lists(v, sink),
                }
            }
        }
        YamlValue::Seq(items) => items.iter().for_each(|i| empty_lists(i, sink)),
        _ => {}
    }
}

fn identifier_checks(ctx: &DocCtx, sink: &mut Sink) {
    let Some(d) = detections(ctx.doc) else { return };
    let mut by_name = BTreeSet::new();
    fn named<'a>(e: &'a ConditionExpr, out: &mut BTreeSet<&'a str>) {
        match e {
            ConditionExpr::Identifier(n) => {
                out.insert(n.as_str());
            }
            ConditionExpr::Selector { .. } => {}
            ConditionExpr::Not(x) => named(x, out),
            ConditionExpr::And(xs) | ConditionExpr::Or(xs) => xs.iter().for_each(|x| named(x, out)),
        }
    }
    for c in &d.conditions {
        named(&c.expr, &mut by_name);
        if let Some(agg) = &c.legacy_aggregation {
            sink.emit(
                "legacy_aggregation",
                c.location,
                format!("'| {agg}' is a Sigma v1 aggregation that no backend supports; write a correlation rule"),
            );
        }
    }
    const KEYWORDS: &[&str] = &["and", "or", "not", "of", "them", "all", "any", "1"];
    for s in &d.searches {
        let n = s.name.as_str();
        if !n.chars().all(is_ident_char) || KEYWORDS.contains(&n) {
            sink.emit(
                "unreachable_identifier",
                s.location,
                format!("detection name '{n}' cannot be written in a condition (use letters, digits, '_', '-', '.' and no keyword)"),
            );
        }
        let lower = n.to_lowercase();
        if by_name.contains(n) {
            if let Some(kw) = ["not", "and", "or"]
                .iter()
                .find(|k| lower.starts_with(**k) && lower.len() > k.len())
            {
                sink.emit(
                    "operator_prefixed_identifier",
                    s.location,
                    format!("detection name '{n}' starts with '{kw}': pySigma's condition tokenizer reads it as '{kw} {}'", n.get(kw.len()..).unwrap_or("")),
                );
            }
        }
    }
    if let Some(raw) = ctx.raw.and_then(|r| r.get("detection")) {
        for (k, v) in raw.as_map().unwrap_or_default() {
            if !matches!(k.as_str(), Some("condition" | "timeframe")) {
                empty_lists(v, sink);
            }
        }
    }
}

/// Regex syntax outside the specification's subset.
fn regex_issue(p: &str) -> Option<&'static str> {
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                let c = b[i + 1];
                if b"dDwWsS".contains(&c) {
                    return Some("shorthand classes such as \\d, \\w, \\s");
                }
                if c.is_ascii_digit() && c != b'0' {
                    return Some("back-references");
                }
                i += 2;
                continue;
            }
            b'(' if b.get(i + 1) == Some(&b'?') => {
                return Some("'(?...)' groups (non-capturing, look-around, named, inline flags)")
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn time_range(part: TimePart) -> Option<(f64, f64)> {
    match part {
        TimePart::Minute => Some((0.0, 59.0)),
        TimePart::Hour => Some((0.0, 23.0)),
        TimePart::Day => Some((1.0, 31.0)),
        TimePart::Week => Some((1.0, 53.0)),
        TimePart::Month => Some((1.0, 12.0)),
        TimePart::Year => None,
    }
}

fn value_checks(ctx: &DocCtx, sink: &mut Sink) {
    for item in all_items(ctx.doc) {
        let field = item.field.as_deref().unwrap_or("keyword");
        if item.values.len() > 1 {
            if let Some(v) = item.values.iter().find(|v| v.value == Value::Null) {
                sink.emit(
                    "null_in_value_list",
                    v.location,
                    format!("'{field}' has null inside a list of values; the specification forbids it (pySigma ORs it): use a separate detection"),
                );
            }
        }
        if item.modifiers.contains(&crate::Modifier::All) && item.values.len() == 1 {
            sink.emit(
                "all_single_value",
                item.location,
                format!("'{field}|all' has a single value; 'all' needs a list"),
            );
        }
        for v in &item.values {
            match &v.value {
                Value::String { value, .. }
                    if value
                        .parts
                        .iter()
                        .any(|p| matches!(p, StrPart::Placeholder(_))) =>
                {
                    sink.emit(
                        "unresolved_placeholder",
                        v.location,
                        format!("'{}' uses a placeholder that a pipeline must resolve before conversion", show(value)),
                    )
                }
                Value::Regex { pattern, .. } => {
                    if let Some(what) = regex_issue(pattern) {
                        sink.emit(
                            "regex_outside_spec",
                            v.location,
                            format!("regular expression uses {what}, outside the Sigma specification's PCRE subset; some backends reject it"),
                        );
                    }
                }
                Value::TimestampPart { part, value }
                | Value::Compare {
                    part: Some(part),
                    value,
                    ..
                } => {
                    let n = value.as_f64();
                    if let Some((lo, hi)) = time_range(*part) {
                        if n < lo || n > hi {
                            sink.emit(
                                "timestamp_part_range",
                                v.location,
                                format!("{n} is outside the range of '{field}' ({lo} to {hi})"),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn document_checks(ctx: &DocCtx, sink: &mut Sink) {
    match ctx.doc {
        Document::Correlation(c) => {
            let corr = &c.correlation;
            let mut seen = BTreeSet::new();
            for r in &corr.rules {
                if !seen.insert(r) {
                    sink.emit(
                        "correlation_reference",
                        corr.location,
                        format!("rule '{r}' is listed twice"),
                    );
                }
            }
            if matches!(
                corr.kind,
                CorrelationType::Temporal | CorrelationType::TemporalOrdered
            ) && seen.len() < 2
            {
                sink.emit(
                    "correlation_reference",
                    corr.location,
                    format!(
                        "a {} correlation needs at least two rules",
                        corr.kind.name()
                    ),
                );
            }
        }
        Document::Filter(f) => {
            let any = match &f.target {
                FilterTarget::Any => true,
                FilterTarget::Rules(r) => r.is_empty(),
            };
            if any {
                sink.emit(
                    "filter_target",
                    f.origin.location,
                    "the filter applies to every rule with a matching log source",
                );
            }
        }
        Document::Rule(_) => {}
    }
}

/// Runs sigil's own checks on one document.
pub(crate) fn check_document(ctx: &DocCtx, sink: &mut Sink) {
    identifier_checks(ctx, sink);
    value_checks(ctx, sink);
    document_checks(ctx, sink);
}

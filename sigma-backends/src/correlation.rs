//! Correlation rules: Splunk `stats`, ES|QL `stats` and EQL `sequence`
//! queries, as pySigma's correlation templates build them.
//!
//! Every correlation query is assembled from the queries of the referenced
//! rules (converted with the same pipelines, but without the output-format
//! frame) plus an aggregation and a condition part. Unsupported types and
//! features are refused with pySigma's messages.

use sigma_core::{
    ConditionExpr, CorrelationCondition, CorrelationOp, CorrelationRule, CorrelationType, Number,
};

use crate::syntax::{number, Syntax};
use crate::targets::TargetKind;
use crate::ConvertError;

/// A referenced rule, already converted.
pub struct Referenced {
    /// Rule name, or id when it has no name (pySigma's `ruleid`).
    pub rule_id: String,
    /// Its queries (no output-format frame).
    pub queries: Vec<String>,
    /// Its `fields:` list.
    pub fields: Vec<String>,
}

fn unsupported(kind: &str) -> ConvertError {
    ConvertError::new(format!(
        "Correlation type '{kind}' is not supported by backend."
    ))
}

fn op_token(op: CorrelationOp) -> &'static str {
    match op {
        CorrelationOp::Lt => "<",
        CorrelationOp::Lte => "<=",
        CorrelationOp::Gt => ">",
        CorrelationOp::Gte => ">=",
        CorrelationOp::Eq => "==",
        CorrelationOp::Neq => "!=",
    }
}

/// The single `(operator, count)` condition and the value field.
fn threshold(c: &CorrelationRule) -> Result<(CorrelationOp, Number, Option<String>), ConvertError> {
    match &c.correlation.condition {
        CorrelationCondition::Threshold { field, bounds, .. } => {
            let [(op, n)] = bounds.as_slice() else {
                return Err(ConvertError::new(
                    "Correlation conditions with more than one comparison are not supported by backend.",
                ));
            };
            Ok((*op, *n, field.first().cloned()))
        }
        CorrelationCondition::Expression { .. } => Err(ConvertError::new(
            "A threshold condition is required for this correlation type.",
        )),
    }
}

/// The temporal types: the condition is `>= number of rules` unless given.
fn temporal_threshold(c: &CorrelationRule, n_rules: usize) -> (CorrelationOp, Number) {
    match &c.correlation.condition {
        CorrelationCondition::Threshold { bounds, .. } if bounds.len() == 1 => bounds[0],
        _ => (CorrelationOp::Gte, Number::Int(n_rules as i64)),
    }
}

fn is_extended(c: &CorrelationRule) -> bool {
    c.correlation.kind == CorrelationType::Temporal
        && matches!(
            c.correlation.condition,
            CorrelationCondition::Expression { .. }
        )
}

fn escape_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for ch in id.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Builds the correlation query text (before the output format).
pub fn build(
    kind: TargetKind,
    syn: &Syntax,
    c: &CorrelationRule,
    refs: &[Referenced],
) -> Result<String, ConvertError> {
    if c.correlation.kind.needs_field() && c.correlation.kind != CorrelationType::ValueCount {
        return Err(unsupported(c.correlation.kind.name()));
    }
    match kind {
        TargetKind::Splunk => splunk(syn, c, refs),
        TargetKind::Esql => esql(syn, c, refs),
        TargetKind::Eql => eql(syn, c, refs),
        TargetKind::Lucene => Err(ConvertError::new(
            "Backend does not support correlation rules.",
        )),
    }
}

fn all_queries(refs: &[Referenced]) -> Vec<(&Referenced, &String)> {
    refs.iter()
        .flat_map(|r| r.queries.iter().map(move |q| (r, q)))
        .collect()
}

fn splunk_span(c: &CorrelationRule) -> String {
    let text = c
        .correlation
        .timespan
        .as_ref()
        .map_or(String::new(), |t| t.text.clone());
    match text.strip_suffix('M') {
        Some(n) => format!("{n}mon"),
        None => text,
    }
}

fn splunk(syn: &Syntax, c: &CorrelationRule, refs: &[Referenced]) -> Result<String, ConvertError> {
    let corr = &c.correlation;
    if corr.kind == CorrelationType::TemporalOrdered {
        return Err(unsupported("temporal_ordered"));
    }
    let queries = all_queries(refs);
    let search = if refs.len() == 1 && queries.len() == 1 {
        queries[0].1.clone()
    } else {
        let parts: Vec<String> = queries
            .iter()
            .map(|(r, q)| {
                let mut norm = String::new();
                for alias in &corr.aliases {
                    if let Some((_, field)) =
                        alias.fields.iter().find(|(rule, _)| *rule == r.rule_id)
                    {
                        norm.push_str(&format!(
                            " | rename {} as {}",
                            syn.field(field),
                            syn.field(&alias.name)
                        ));
                    }
                }
                format!(
                    "[ search {q} | eval event_type=\"{}\"{norm} ]",
                    escape_id(&r.rule_id)
                )
            })
            .collect();
        format!("| multisearch\n{}", parts.join("\n"))
    };
    let groupby = if corr.group_by.is_empty() {
        String::new()
    } else {
        let fields: Vec<String> = corr.group_by.iter().map(|f| syn.field(f)).collect();
        format!(" {}", fields.join(" "))
    };
    let span = splunk_span(c);
    let (aggregate, condition) = match corr.kind {
        CorrelationType::EventCount => {
            let (op, n, _) = threshold(c)?;
            (
                format!("| bin _time span={span}\n| stats count as event_count by _time{groupby}"),
                format!("| search event_count {} {}", op_token(op), number(n)),
            )
        }
        CorrelationType::ValueCount => {
            let (op, n, field) = threshold(c)?;
            let field = field.ok_or_else(|| {
                ConvertError::new("value_count correlation needs a condition field")
            })?;
            (
                format!(
                    "| bin _time span={span}\n| stats dc({}) as value_count by _time{groupby}",
                    syn.field(&field)
                ),
                format!("| search value_count {} {}", op_token(op), number(n)),
            )
        }
        CorrelationType::Temporal if is_extended(c) => {
            let CorrelationCondition::Expression { expr, .. } = &corr.condition else {
                return Err(unsupported("temporal_extended"));
            };
            (
                format!(
                    "| bin _time span={span}\n| stats values(event_type) as event_types by _time{groupby}"
                ),
                format!("| search {}", extended(expr)),
            )
        }
        CorrelationType::Temporal => {
            let (op, n) = temporal_threshold(c, refs.len());
            (
                format!("| bin _time span={span}\n| stats dc(event_type) as event_type_count by _time{groupby}"),
                format!("| search event_type_count {} {}", op_token(op), number(n)),
            )
        }
        other => return Err(unsupported(other.name())),
    };
    Ok(format!("{search}\n\n{aggregate}\n\n{condition}"))
}

/// The Splunk extended temporal condition over `event_types`.
fn extended(expr: &ConditionExpr) -> String {
    match expr {
        ConditionExpr::Identifier(name) => format!("event_types=\"{}\"", escape_id(name)),
        ConditionExpr::Selector { matched, .. } => matched
            .iter()
            .map(|m| format!("event_types=\"{}\"", escape_id(m)))
            .collect::<Vec<_>>()
            .join(" OR "),
        ConditionExpr::Not(e) => format!("NOT {}", extended_group(e)),
        ConditionExpr::And(es) => es
            .iter()
            .map(extended_group)
            .collect::<Vec<_>>()
            .join("   "),
        ConditionExpr::Or(es) => es
            .iter()
            .map(extended_group)
            .collect::<Vec<_>>()
            .join(" OR "),
    }
}

fn extended_group(expr: &ConditionExpr) -> String {
    match expr {
        ConditionExpr::And(_) | ConditionExpr::Or(_) => format!("({})", extended(expr)),
        other => extended(other),
    }
}

fn esql_span(c: &CorrelationRule) -> String {
    let text = c
        .correlation
        .timespan
        .as_ref()
        .map_or(String::new(), |t| t.text.clone());
    let split = text
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(text.len());
    let (count, unit) = text.split_at(split);
    let unit = match unit {
        "s" => "seconds",
        "m" => "minutes",
        "h" => "hours",
        "d" => "days",
        "w" => "weeks",
        "M" => "months",
        "y" => "years",
        other => other,
    };
    format!("{count}{unit}")
}

fn esql(syn: &Syntax, c: &CorrelationRule, refs: &[Referenced]) -> Result<String, ConvertError> {
    let corr = &c.correlation;
    if corr.kind == CorrelationType::TemporalOrdered {
        return Err(unsupported("temporal_ordered"));
    }
    if is_extended(c) {
        return Err(unsupported("temporal_extended"));
    }
    if !corr.aliases.is_empty() {
        return Err(ConvertError::new(
            "Correlation field normalization is not supported by backend.",
        ));
    }
    let queries = all_queries(refs);
    let search = if queries.len() == 1 {
        queries[0].1.clone()
    } else {
        queries
            .iter()
            .map(|(_, q)| format!("({q})"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let mut fields = Vec::new();
    for r in refs {
        for f in &r.fields {
            if !corr.group_by.contains(f) && !fields.contains(f) {
                fields.push(f.clone());
            }
        }
    }
    let fields: String = fields
        .iter()
        .map(|f| format!(", {0}=values({0})", syn.field(f)))
        .collect();
    let groupby = if corr.group_by.is_empty() {
        " by timebucket".to_string()
    } else {
        let g: String = corr
            .group_by
            .iter()
            .map(|f| format!(", {}", syn.field(f)))
            .collect();
        format!(" by timebucket{g}")
    };
    let span = esql_span(c);
    let bucket = format!("| eval timebucket=date_trunc({span}, @timestamp) | stats");
    Ok(match corr.kind {
        CorrelationType::EventCount => {
            let (op, n, _) = threshold(c)?;
            format!(
                "{search}\n{bucket} event_count=count(){fields}{groupby}\n| where event_count {} {}",
                op_token(op),
                number(n)
            )
        }
        CorrelationType::ValueCount => {
            let (op, n, field) = threshold(c)?;
            let field = field.ok_or_else(|| {
                ConvertError::new("value_count correlation needs a condition field")
            })?;
            format!(
                "{search}\n{bucket} value_count=count_distinct({}){fields}{groupby}\n| where value_count {} {}",
                syn.field(&field),
                op_token(op),
                number(n)
            )
        }
        CorrelationType::Temporal => {
            let (op, n) = temporal_threshold(c, refs.len());
            let typing: Vec<String> = queries
                .iter()
                .map(|(r, q)| format!("{q}, \"{}\"", escape_id(&r.rule_id)))
                .collect();
            format!(
                "{search}\n| eval event_type=case({})\n{bucket} event_type_count=count_distinct(event_type){fields}{groupby}\n| where event_type_count {} {}",
                typing.join(", "),
                op_token(op),
                number(n)
            )
        }
        other => return Err(unsupported(other.name())),
    })
}

fn eql(syn: &Syntax, c: &CorrelationRule, refs: &[Referenced]) -> Result<String, ConvertError> {
    let corr = &c.correlation;
    if is_extended(c) {
        return Err(unsupported("temporal_extended"));
    }
    if !corr.aliases.is_empty() {
        return Err(ConvertError::new(
            "Correlation field normalization is not supported by backend.",
        ));
    }
    let groupby = if corr.group_by.is_empty() {
        String::new()
    } else {
        let g: Vec<String> = corr.group_by.iter().map(|f| syn.field(f)).collect();
        format!("by {}", g.join(", "))
    };
    let span = corr
        .timespan
        .as_ref()
        .map_or(String::new(), |t| t.text.clone());
    let subqueries: String = all_queries(refs)
        .iter()
        .map(|(_, q)| format!("\n [any where {q}] "))
        .collect();
    Ok(match corr.kind {
        CorrelationType::EventCount => {
            // `with runs=N` means "N matching events": only lower bounds can
            // be expressed (pySigma writes `runs=N` whatever the operator).
            let (op, n, _) = threshold(c)?;
            let runs = match (op, n) {
                (CorrelationOp::Gte, Number::Int(n)) => n,
                (CorrelationOp::Gt, Number::Int(n)) => n.saturating_add(1),
                _ => {
                    return Err(ConvertError::new(format!(
                        "EQL sequences can only express 'gte'/'gt' event counts, not '{}'.",
                        op.name()
                    )))
                }
            };
            format!("sequence {groupby} with maxspan={span} {subqueries} with runs={runs}")
        }
        CorrelationType::ValueCount => {
            // A sequence `by field` joins events with the *same* value; it
            // cannot count distinct values (pySigma writes it anyway).
            return Err(ConvertError::new(
                "Correlation type 'value_count' cannot be expressed in EQL: a sequence cannot count distinct values.",
            ));
        }
        CorrelationType::Temporal => format!("sample {groupby} {subqueries}"),
        CorrelationType::TemporalOrdered => {
            // The rules in order: a plain sequence (pySigma appends
            // `by  with runs=N`, which is not valid EQL and would repeat the
            // last rule).
            let (op, n) = temporal_threshold(c, refs.len());
            if (op, n) != (CorrelationOp::Gte, Number::Int(refs.len() as i64)) {
                return Err(ConvertError::new(
                    "EQL sequences can only express temporal_ordered correlations over all referenced rules.",
                ));
            }
            format!("sequence {groupby} with maxspan={span} {subqueries}")
        }
        other => return Err(unsupported(other.name())),
    })
}

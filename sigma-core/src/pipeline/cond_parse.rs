//! Parsing of processing-item conditions and condition expressions.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;
use serde_json::Value as J;

use super::conditions::{
    CompareOp, CondExpr, CondLogic, Conditions, FieldCondition, ItemCondition, RuleCondition,
};
use super::params::{perr, str_list, Params};
use crate::rule::LogSource;
use crate::yaml::{Location, YamlNode, YamlValue};
use crate::SigmaError;

fn parse_op(p: &mut Params, key: &str) -> Result<CompareOp, SigmaError> {
    match p.get(key) {
        None => Ok(CompareOp::Eq),
        Some(n) => n.as_str().and_then(CompareOp::parse).ok_or_else(|| {
            p.err(
                n.location,
                format!(
                    "invalid operator in {}: use eq, ne, gt, gte, lt, lte, in or not_in",
                    p.what
                ),
            )
        }),
    }
}

fn json_of(p: &mut Params, key: &str) -> Result<J, SigmaError> {
    Ok(p.req(key)?.to_json())
}

/// `cond: any|all` of value conditions: required, as in pySigma.
fn cond_all(p: &mut Params) -> Result<bool, SigmaError> {
    match p.req_str("cond")?.as_str() {
        "any" => Ok(false),
        "all" => Ok(true),
        other => Err(p.err(
            p.node.location,
            format!("'cond' must be 'any' or 'all', not '{other}'"),
        )),
    }
}

/// Parses one rule condition.
pub(crate) fn parse_rule_condition(
    node: &YamlNode,
    file: Option<&Path>,
) -> Result<RuleCondition, SigmaError> {
    let mut p = Params::new(node, file, "a rule condition")?;
    let ty = p.req_str("type")?;
    p.what = format!("rule condition '{ty}'");
    let c = match ty.as_str() {
        "logsource" => RuleCondition::Logsource(LogSource {
            category: p.opt_str("category")?,
            product: p.opt_str("product")?,
            service: p.opt_str("service")?,
            ..LogSource::default()
        }),
        "contains_detection_item" => RuleCondition::ContainsDetectionItem {
            field: p.req_str("field")?,
            value: json_of(&mut p, "value")?,
        },
        "contains_field" => RuleCondition::ContainsField {
            field: p.req_str("field")?,
        },
        "processing_item_applied" => RuleCondition::ProcessingItemApplied {
            id: p.req_str("processing_item_id")?,
        },
        "processing_state" => RuleCondition::ProcessingState {
            key: p.req_str("key")?,
            val: json_of(&mut p, "val")?,
            op: parse_op(&mut p, "op")?,
        },
        "is_sigma_rule" => RuleCondition::IsSigmaRule,
        "is_sigma_correlation_rule" => RuleCondition::IsSigmaCorrelationRule,
        "rule_attribute" => RuleCondition::RuleAttribute {
            attribute: p.req_str("attribute")?,
            value: json_of(&mut p, "value")?,
            op: parse_op(&mut p, "op")?,
        },
        "tag" => RuleCondition::Tag {
            tag: p.req_str("tag")?,
        },
        other => return Err(unknown(&p, "rule condition", other, node)),
    };
    p.finish()?;
    Ok(c)
}

fn unknown(p: &Params, kind: &str, name: &str, node: &YamlNode) -> SigmaError {
    let loc = node.get("type").map_or(node.location, |n| n.location);
    p.err(loc, format!("unknown {kind} type '{name}'"))
}

/// Parses one detection-item condition.
pub(crate) fn parse_item_condition(
    node: &YamlNode,
    file: Option<&Path>,
) -> Result<ItemCondition, SigmaError> {
    let mut p = Params::new(node, file, "a detection item condition")?;
    let ty = p.req_str("type")?;
    p.what = format!("detection item condition '{ty}'");
    let c = match ty.as_str() {
        "match_string" => {
            let pat_node = p.req("pattern")?;
            let text = pat_node.scalar_text().unwrap_or_default();
            let pattern = Regex::new(&text).map_err(|e| {
                p.err(
                    pat_node.location,
                    format!("invalid regular expression '{text}': {e}"),
                )
            })?;
            ItemCondition::MatchString {
                pattern,
                negate: p.bool_or("negate", false)?,
                all: cond_all(&mut p)?,
            }
        }
        "match_value" => ItemCondition::MatchValue {
            value: json_of(&mut p, "value")?,
            all: cond_all(&mut p)?,
        },
        "contains_wildcard" => ItemCondition::ContainsWildcard {
            all: cond_all(&mut p)?,
        },
        "is_null" => ItemCondition::IsNull {
            all: cond_all(&mut p)?,
        },
        "processing_item_applied" => ItemCondition::ProcessingItemApplied {
            id: p.req_str("processing_item_id")?,
        },
        "processing_state" => ItemCondition::ProcessingState {
            key: p.req_str("key")?,
            val: json_of(&mut p, "val")?,
            op: parse_op(&mut p, "op")?,
        },
        other => return Err(unknown(&p, "detection item condition", other, node)),
    };
    p.finish()?;
    Ok(c)
}

/// Parses one field-name condition.
pub(crate) fn parse_field_condition(
    node: &YamlNode,
    file: Option<&Path>,
) -> Result<FieldCondition, SigmaError> {
    let mut p = Params::new(node, file, "a field name condition")?;
    let ty = p.req_str("type")?;
    p.what = format!("field name condition '{ty}'");
    let c = match ty.as_str() {
        "include_fields" | "exclude_fields" => {
            let fnode = p.req("fields")?;
            let fields = str_list(fnode, file, "'fields'")?;
            let mut mode = p.opt_str("mode")?;
            if mode.is_none() {
                mode = p.opt_str("match_type")?;
            }
            let patterns = match mode.as_deref() {
                None | Some("plain") => None,
                Some("re" | "regex") => Some(
                    fields
                        .iter()
                        .map(|f| {
                            Regex::new(&format!("^(?:{f})")).map_err(|e| {
                                p.err(
                                    fnode.location,
                                    format!("invalid regular expression '{f}': {e}"),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(other) => {
                    return Err(p.err(
                        node.location,
                        format!("invalid field name matching mode '{other}': use 'plain' or 're'"),
                    ))
                }
            };
            FieldCondition::Fields {
                fields,
                patterns,
                exclude: ty == "exclude_fields",
            }
        }
        "processing_item_applied" => FieldCondition::ProcessingItemApplied {
            id: p.req_str("processing_item_id")?,
        },
        "processing_state" => FieldCondition::ProcessingState {
            key: p.req_str("key")?,
            val: json_of(&mut p, "val")?,
            op: parse_op(&mut p, "op")?,
        },
        other => return Err(unknown(&p, "field name condition", other, node)),
    };
    p.finish()?;
    Ok(c)
}

/// Parses a list or a mapping of conditions plus the `_cond_op`,
/// `_cond_not` and `_cond_expr` keys of an item.
pub(crate) fn parse_conditions<C>(
    p: &mut Params,
    prefix: &str,
    list_key: &str,
    parse_one: fn(&YamlNode, Option<&Path>) -> Result<C, SigmaError>,
) -> Result<Conditions<C>, SigmaError> {
    let file = p.file;
    let mut out = Conditions::default();
    if let Some(n) = p.get(list_key) {
        match &n.value {
            YamlValue::Seq(items) => {
                for i in items {
                    out.items.push((None, parse_one(i, file)?));
                }
            }
            YamlValue::Map(entries) => {
                for (k, v) in entries {
                    out.items.push((k.scalar_text(), parse_one(v, file)?));
                }
            }
            YamlValue::Null => {}
            _ => {
                return Err(perr(
                    file,
                    n.location,
                    format!("'{list_key}' must be a list or a mapping of conditions"),
                ))
            }
        }
    }
    if let Some(n) = p.get(&format!("{prefix}_cond_op")) {
        out.logic = match n.as_str() {
            Some("and") => CondLogic::All,
            Some("or") => CondLogic::Any,
            _ => {
                return Err(perr(
                    file,
                    n.location,
                    format!("'{prefix}_cond_op' must be 'and' or 'or'"),
                ))
            }
        };
    }
    out.negated = p.bool_or(&format!("{prefix}_cond_not"), false)?;
    if let Some(n) = p.get(&format!("{prefix}_cond_expr")) {
        let text = n.as_str().ok_or_else(|| {
            perr(
                file,
                n.location,
                format!("'{prefix}_cond_expr' must be a string"),
            )
        })?;
        if p.node.get(&format!("{prefix}_cond_op")).is_some() {
            return Err(perr(
                file,
                n.location,
                format!("'{prefix}_cond_expr' and '{prefix}_cond_op' are mutually exclusive"),
            ));
        }
        let names: Vec<String> = out.items.iter().filter_map(|(n, _)| n.clone()).collect();
        if names.len() != out.items.len() {
            return Err(perr(file, n.location, format!("'{prefix}_cond_expr' needs the conditions as a mapping from names to conditions")));
        }
        let expr = parse_cond_expr(text, n.location, file)?;
        let mut used = BTreeSet::new();
        let mut missing = None;
        collect_refs(&expr, &mut |r| {
            used.insert(r.to_string());
            if !names.iter().any(|x| x == r) {
                missing = Some(r.to_string());
            }
        });
        if let Some(m) = missing {
            return Err(perr(
                file,
                n.location,
                format!("condition expression refers to an unknown condition '{m}'"),
            ));
        }
        if let Some(unused) = names.iter().find(|x| !used.contains(*x)) {
            return Err(perr(
                file,
                n.location,
                format!("condition '{unused}' is not referenced by the condition expression"),
            ));
        }
        out.logic = CondLogic::Expr(expr);
    }
    Ok(out)
}

fn collect_refs(e: &CondExpr, f: &mut impl FnMut(&str)) {
    match e {
        CondExpr::Ref(r) => f(r),
        CondExpr::Not(i) => collect_refs(i, f),
        CondExpr::And(v) | CondExpr::Or(v) => v.iter().for_each(|x| collect_refs(x, f)),
    }
}

/// Parses `a and (b or not c)`.
pub fn parse_cond_expr(
    text: &str,
    loc: Location,
    file: Option<&Path>,
) -> Result<CondExpr, SigmaError> {
    let tokens: Vec<String> = text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut pos = 0;
    let bad = |m: &str| {
        perr(
            file,
            loc,
            format!("invalid condition expression '{text}': {m}"),
        )
    };
    let e = expr_or(&tokens, &mut pos, 0).map_err(|m| bad(&m))?;
    if pos != tokens.len() {
        return Err(bad(&format!("unexpected '{}'", tokens[pos])));
    }
    Ok(e)
}

type PRes = Result<CondExpr, String>;

fn expr_or(t: &[String], pos: &mut usize, depth: usize) -> PRes {
    let mut v = vec![expr_and(t, pos, depth)?];
    while t.get(*pos).is_some_and(|x| x == "or") {
        *pos += 1;
        v.push(expr_and(t, pos, depth)?);
    }
    Ok(if v.len() == 1 {
        v.remove(0)
    } else {
        CondExpr::Or(v)
    })
}

fn expr_and(t: &[String], pos: &mut usize, depth: usize) -> PRes {
    let mut v = vec![expr_not(t, pos, depth)?];
    while t.get(*pos).is_some_and(|x| x == "and") {
        *pos += 1;
        v.push(expr_not(t, pos, depth)?);
    }
    Ok(if v.len() == 1 {
        v.remove(0)
    } else {
        CondExpr::And(v)
    })
}

fn expr_not(t: &[String], pos: &mut usize, depth: usize) -> PRes {
    if depth > 64 {
        return Err("nested too deeply".into());
    }
    match t.get(*pos).map(String::as_str) {
        Some("not") => {
            *pos += 1;
            Ok(CondExpr::Not(Box::new(expr_not(t, pos, depth + 1)?)))
        }
        Some("(") => {
            *pos += 1;
            let e = expr_or(t, pos, depth + 1)?;
            if t.get(*pos).map(String::as_str) != Some(")") {
                return Err("missing ')'".into());
            }
            *pos += 1;
            Ok(e)
        }
        Some(w) if !matches!(w, ")" | "and" | "or") => {
            *pos += 1;
            Ok(CondExpr::Ref(w.to_string()))
        }
        Some(w) => Err(format!("unexpected '{w}'")),
        None => Err("unexpected end".into()),
    }
}

//! Query postprocessing and finalizers: parsed with the pipeline, applied by
//! backends to the text they produce ([`Pipeline::postprocess`],
//! [`Pipeline::finalize`]), as pySigma does after conversion.
//!
//! Supported: `embed`, `simple_template` (`{query}`, `{rule.title}`, …),
//! `json` (`%QUERY%` in a JSON template, printed like Python's
//! `json.dumps`), `replace` (regex) and `nest`; finalizers `concat`, `json`
//! and `nested`. Jinja2 `template` postprocessing and finalizers and the
//! `yaml` finalizer are kept as data and refuse when applied.

use std::path::Path;

use regex::Regex;
use serde_json::Value as J;

use super::cond_parse::{parse_conditions, parse_rule_condition};
use super::params::{perr, Params};
use super::track::Tracking;
use super::transform::python_replacement;
use super::{Finalizer, Pipeline, PostprocessingItem, ProcessedRule};
use crate::detection::{DetectionEntry, DetectionItem};
use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{Location, YamlNode, YamlValue};

const COND_KEYS: &[&str] = &[
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "rule_cond_expr",
];

/// The largest `indent` a `json` or `yaml` finalizer accepts: the output
/// holds `indent × depth` spaces per line, so a huge value would exhaust
/// memory.
const MAX_INDENT: usize = 64;

fn rest_as_json(node: &YamlNode, skip: &[&str]) -> J {
    let mut m = serde_json::Map::new();
    for (k, v) in node.as_map().unwrap_or_default() {
        let key = k.scalar_text().unwrap_or_default();
        if !skip.contains(&key.as_str()) {
            m.insert(key, v.to_json());
        }
    }
    J::Object(m)
}

fn list<'a>(p: &mut Params<'a>, key: &str) -> Result<&'a [YamlNode<'a>], SigmaError> {
    let n = p.req(key)?;
    match &n.value {
        YamlValue::Seq(items) => Ok(items),
        _ => Err(p.err(n.location, format!("'{key}' of {} must be a list", p.what))),
    }
}

/// Parses a postprocessing item and checks its parameters.
pub(crate) fn parse_postprocessing(
    node: &YamlNode,
    file: Option<&Path>,
) -> Result<PostprocessingItem, SigmaError> {
    let mut p = Params::new(node, file, "a postprocessing item")?;
    let id = p.opt_str("id")?;
    let kind = p.req_str("type")?;
    p.what = format!("postprocessing '{kind}'");
    let rule_conditions =
        parse_conditions(&mut p, "rule", "rule_conditions", parse_rule_condition)?;
    let mut items = Vec::new();
    match kind.as_str() {
        "embed" => {
            p.opt_str("prefix")?;
            p.opt_str("suffix")?;
        }
        "simple_template" | "template" => {
            p.req_str("template")?;
            p.ignore(&["vars"]);
        }
        "json" => {
            let n = p.req("json_template")?;
            let text = n.scalar_text().unwrap_or_default();
            if let Err(e) = serde_json::from_str::<J>(&text) {
                return Err(p.err(
                    n.location,
                    format!("'json_template' is not valid JSON: {e}"),
                ));
            }
        }
        "replace" => {
            let n = p.req("pattern")?;
            let text = n.scalar_text().unwrap_or_default();
            if let Err(e) = Regex::new(&text) {
                return Err(p.err(
                    n.location,
                    format!("invalid regular expression '{text}': {e}"),
                ));
            }
            p.req_str("replacement")?;
        }
        "nest" => {
            for i in list(&mut p, "items")? {
                items.push(parse_postprocessing(i, file)?);
            }
        }
        other => {
            let loc = node.get("type").map_or(node.location, |n| n.location);
            return Err(perr(
                file,
                loc,
                format!("unknown postprocessing type '{other}' (known: embed, simple_template, template, json, replace, nest)"),
            ));
        }
    }
    p.finish()?;
    let mut skip = COND_KEYS.to_vec();
    skip.push("items");
    Ok(PostprocessingItem {
        id,
        kind,
        params: rest_as_json(node, &skip),
        rule_conditions,
        items,
        location: node.location,
    })
}

/// Parses a finalizer and checks its parameters.
pub(crate) fn parse_finalizer(
    node: &YamlNode,
    file: Option<&Path>,
) -> Result<Finalizer, SigmaError> {
    let mut p = Params::new(node, file, "a finalizer")?;
    let kind = p.req_str("type")?;
    p.what = format!("finalizer '{kind}'");
    let mut finalizers = Vec::new();
    match kind.as_str() {
        "concat" => {
            p.ignore(&["separator", "prefix", "suffix"]);
        }
        "json" | "yaml" => {
            if let Some(n) = p.get("indent") {
                match n.value {
                    YamlValue::Null => {}
                    YamlValue::Int(i) if i > MAX_INDENT as i64 => {
                        return Err(p.err(
                            n.location,
                            format!(
                                "'indent' of {} must be at most {MAX_INDENT}, found {i}",
                                p.what
                            ),
                        ))
                    }
                    YamlValue::Int(_) => {}
                    _ => return Err(p.err(n.location, "'indent' must be an integer")),
                }
            }
        }
        "template" => {
            p.req_str("template")?;
            p.ignore(&["vars"]);
        }
        "nested" => {
            for f in list(&mut p, "finalizers")? {
                finalizers.push(parse_finalizer(f, file)?);
            }
        }
        other => {
            let loc = node.get("type").map_or(node.location, |n| n.location);
            return Err(perr(
                file,
                loc,
                format!("unknown finalizer type '{other}' (known: concat, json, yaml, template, nested)"),
            ));
        }
    }
    p.finish()?;
    Ok(Finalizer {
        kind,
        params: rest_as_json(node, &["type", "finalizers"]),
        finalizers,
        location: node.location,
    })
}

fn unsupported(loc: Location, what: &str) -> SigmaError {
    SigmaError::new(
        ErrorKind::Pipeline,
        loc,
        format!("{what} is not supported by sigil (Jinja2/YAML output)"),
    )
}

fn param<'a>(params: &'a J, key: &str) -> &'a str {
    params.get(key).and_then(J::as_str).unwrap_or_default()
}

impl Pipeline {
    /// Applies the postprocessing items whose rule conditions hold to one
    /// query of a processed rule (pySigma's `postprocess_query`).
    pub fn postprocess(
        &self,
        processed: &ProcessedRule,
        query: &str,
    ) -> Result<String, SigmaError> {
        postprocess_items(&self.postprocessing, processed, query.to_string())
    }

    /// Applies the finalizers to all queries of a conversion; `None` when the
    /// pipeline has no finalizer (the queries stay separate).
    pub fn finalize(&self, queries: &[String]) -> Result<Option<String>, SigmaError> {
        if self.finalizers.is_empty() {
            return Ok(None);
        }
        finalize_with(&self.finalizers, queries).map(Some)
    }
}

fn postprocess_items(
    items: &[PostprocessingItem],
    processed: &ProcessedRule,
    mut query: String,
) -> Result<String, SigmaError> {
    for item in items {
        let tr = Tracking {
            state: processed.state.clone(),
            applied: processed.applied.clone(),
            ..Tracking::default()
        };
        let cx = tr.cx();
        let searches = &processed.rule.detection.searches;
        let mut walk = |f: &mut dyn FnMut(&DetectionItem) -> bool| {
            searches.iter().any(|s| any_item(&s.detection.entries, f))
        };
        if !item
            .rule_conditions
            .eval(true, |c| c.matches(&processed.rule, &mut walk, &cx))
        {
            continue;
        }
        let p = &item.params;
        query = match item.kind.as_str() {
            "embed" => format!("{}{query}{}", param(p, "prefix"), param(p, "suffix")),
            "simple_template" => {
                simple_template(param(p, "template"), &query, processed, item.location)?
            }
            "json" => {
                let template: J =
                    serde_json::from_str(param(p, "json_template")).unwrap_or(J::Null);
                py_json(&replace_query(template, &query), None, 0)
            }
            "replace" => match Regex::new(param(p, "pattern")) {
                Ok(re) => re
                    .replace_all(&query, python_replacement(param(p, "replacement")).as_str())
                    .into_owned(),
                Err(e) => {
                    return Err(SigmaError::new(
                        ErrorKind::Pipeline,
                        item.location,
                        e.to_string(),
                    ))
                }
            },
            "nest" => postprocess_items(&item.items, processed, query)?,
            other => {
                return Err(unsupported(
                    item.location,
                    &format!("postprocessing '{other}'"),
                ))
            }
        };
    }
    Ok(query)
}

fn any_item(entries: &[DetectionEntry], f: &mut dyn FnMut(&DetectionItem) -> bool) -> bool {
    entries.iter().any(|e| match e {
        DetectionEntry::Item(i) => f(i),
        DetectionEntry::Group(g) => any_item(&g.entries, f),
    })
}

fn replace_query(v: J, query: &str) -> J {
    match v {
        J::String(s) if s == "%QUERY%" => J::String(query.to_string()),
        J::Array(a) => J::Array(a.into_iter().map(|x| replace_query(x, query)).collect()),
        J::Object(o) => J::Object(
            o.into_iter()
                .map(|(k, x)| (k, replace_query(x, query)))
                .collect(),
        ),
        other => other,
    }
}

/// Python's `str.format` with `query` and `rule.<attribute>`.
fn simple_template(
    template: &str,
    query: &str,
    processed: &ProcessedRule,
    loc: Location,
) -> Result<String, SigmaError> {
    let m = &processed.rule.meta;
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|&x| x != '}').collect();
                let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "None".into());
                out.push_str(&match name.as_str() {
                    "query" => query.to_string(),
                    "rule.title" => m.title.clone(),
                    "rule.id" => opt(&m.id),
                    "rule.name" => opt(&m.name),
                    "rule.description" => opt(&m.description),
                    "rule.author" => opt(&m.author),
                    "rule.date" => opt(&m.date),
                    "rule.modified" => opt(&m.modified),
                    "rule.license" => opt(&m.license),
                    "rule.level" => m.level.map_or_else(|| "None".into(), |l| l.name().to_string()),
                    "rule.status" => m.status.map_or_else(|| "None".into(), |s| s.name().to_string()),
                    other => {
                        return Err(SigmaError::new(
                            ErrorKind::Pipeline,
                            loc,
                            format!("simple_template: unsupported placeholder '{{{other}}}' (use {{query}} or {{rule.title}}, {{rule.id}}, …)"),
                        ))
                    }
                });
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn finalize_with(finalizers: &[Finalizer], queries: &[String]) -> Result<String, SigmaError> {
    let mut current: Vec<String> = queries.to_vec();
    let mut out = String::new();
    for f in finalizers {
        out = match f.kind.as_str() {
            "concat" => {
                let sep = f
                    .params
                    .get("separator")
                    .and_then(J::as_str)
                    .unwrap_or("\n");
                format!(
                    "{}{}{}",
                    param(&f.params, "prefix"),
                    current.join(sep),
                    param(&f.params, "suffix")
                )
            }
            "json" => {
                // Python's `json.dumps` treats a negative indent as 0:
                // newlines without indentation.
                let indent = f
                    .params
                    .get("indent")
                    .and_then(|v| v.as_u64().or_else(|| v.as_i64().map(|_| 0)));
                // Checked when the pipeline is parsed; a finalizer built in
                // code is checked here.
                if let Some(i) = indent.filter(|&i| i > MAX_INDENT as u64) {
                    let msg = format!(
                        "finalizer 'json': 'indent' must be at most {MAX_INDENT}, found {i}"
                    );
                    return Err(SigmaError::new(ErrorKind::Pipeline, f.location, msg));
                }
                let indent = indent.map(|i| i as usize);
                py_json(
                    &J::Array(current.iter().map(|q| J::String(q.clone())).collect()),
                    indent,
                    0,
                )
            }
            "nested" => finalize_with(&f.finalizers, &current)?,
            other => return Err(unsupported(f.location, &format!("finalizer '{other}'"))),
        };
        current = vec![out.clone()];
    }
    Ok(out)
}

/// `json.dumps` as Python prints it: `", "`/`": "` separators (`","` with
/// an indent), non-ASCII escaped as `\uXXXX`.
pub(crate) fn py_json(v: &J, indent: Option<usize>, level: usize) -> String {
    let (item_sep, nl) = match indent {
        Some(n) => (
            ",".to_string(),
            format!("\n{}", " ".repeat(n * (level + 1))),
        ),
        None => (", ".to_string(), String::new()),
    };
    let close = indent.map_or(String::new(), |n| format!("\n{}", " ".repeat(n * level)));
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => py_number(n),
        J::String(s) => py_str(s),
        J::Array(a) if a.is_empty() => "[]".into(),
        J::Array(a) => {
            let parts: Vec<String> = a
                .iter()
                .map(|x| format!("{nl}{}", py_json(x, indent, level + 1)))
                .collect();
            format!("[{}{close}]", parts.join(&item_sep))
        }
        J::Object(o) if o.is_empty() => "{}".into(),
        J::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{nl}{}: {}", py_str(k), py_json(x, indent, level + 1)))
                .collect();
            format!("{{{}{close}}}", parts.join(&item_sep))
        }
    }
}

/// `json.dumps(value)` with Python's default arguments: `", "` and
/// `": "` separators, non-ASCII escaped as `\uXXXX`. Backends use it so
/// their JSON output formats are byte-identical to pySigma's.
pub fn python_json_dumps(v: &J) -> String {
    py_json(v, None, 0)
}

/// Integers as written; an integral float keeps its `.0`, as Python
/// prints it.
fn py_number(n: &serde_json::Number) -> String {
    match n.as_f64().filter(|_| n.is_f64()) {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

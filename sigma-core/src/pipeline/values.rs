//! Value transformations and the helpers of `apply.rs` that do not need
//! the run state.

use std::collections::{BTreeMap, BTreeSet};

use super::apply::{Outcome, WDet, WEntry, WItem};
use super::transform::{parse_number, CaseMethod, RegexMethod, Transformation};
use crate::detection::{
    parse_definition, parse_item, Detection, DetectionEntry, DetectionItem, ItemValue, Linking,
};
use crate::error::{ErrorKind, SigmaError};
use crate::modifiers::MAX_EXPANDED_VALUES;
use crate::rule::LogSource;
use crate::value::{RegexFlags, SigmaString, StrPart, Value};
use crate::yaml::{Location, YamlNode, YamlValue};

/// One value through a value transformation: `Some(replacements)` or
/// `None` to keep it.
pub(super) fn value(
    t: &Transformation,
    v: &Value,
    vars: &BTreeMap<String, Vec<String>>,
) -> Result<Option<Vec<Value>>, String> {
    let string = |v: &Value| match v {
        Value::String { value, cased } => Some((value.clone(), *cased)),
        _ => None,
    };
    Ok(match t {
        Transformation::ReplaceString {
            regex,
            replacement,
            skip_special,
            interpret_special,
        } => {
            let (s, cased) = match v {
                Value::Number { value } => (SigmaString::literal(&value.to_string()), false),
                other => match string(other) {
                    Some(x) => x,
                    None => return Ok(None),
                },
            };
            let new = if *skip_special {
                let mut out = SigmaString::default();
                for p in s.parts {
                    match p {
                        StrPart::Literal(l) => {
                            let r = regex.replace_all(&l, replacement.as_str()).into_owned();
                            if *interpret_special {
                                SigmaString::parse(&r)
                                    .parts
                                    .into_iter()
                                    .for_each(|x| out.push_part(x));
                            } else {
                                out.push_str(&r);
                            }
                        }
                        other => out.push_part(other),
                    }
                }
                out
            } else {
                let replaced = regex
                    .replace_all(&s.to_string(), replacement.as_str())
                    .into_owned();
                SigmaString::parse(&double_lone_backslashes(&replaced))
            };
            Some(vec![Value::String { value: new, cased }])
        }
        Transformation::MapString { mapping } => {
            let Some((s, cased)) = string(v) else {
                return Ok(None);
            };
            let key = s.to_string();
            mapping.iter().find(|(k, _)| *k == key).map(|(_, targets)| {
                targets
                    .iter()
                    .map(|x| Value::String {
                        value: SigmaString::parse(x),
                        cased,
                    })
                    .collect()
            })
        }
        Transformation::Regex { method } => {
            let Some((s, _)) = string(v) else {
                return Ok(None);
            };
            if s.is_empty() {
                return Ok(None);
            }
            let mut re = String::new();
            for p in &s.parts {
                match p {
                    StrPart::Literal(l) if *method == RegexMethod::IgnoreCaseBrackets => {
                        for c in l.chars() {
                            if c.is_alphabetic() {
                                re.push_str(&format!("[{}{}]", c.to_lowercase(), c.to_uppercase()));
                            } else {
                                re.push_str(&py_re_escape(&c.to_string()));
                            }
                        }
                    }
                    StrPart::Literal(l) => re.push_str(&py_re_escape(l)),
                    StrPart::AnyChars => re.push_str(".*"),
                    StrPart::AnyChar => re.push('.'),
                    StrPart::Placeholder(n) => {
                        return Err(format!("placeholder '{n}' can't be converted to a regular expression; resolve it first"))
                    }
                }
            }
            let flags = RegexFlags {
                ignore_case: *method == RegexMethod::IgnoreCaseFlag,
                ..RegexFlags::default()
            };
            Some(vec![Value::Regex { pattern: re, flags }])
        }
        Transformation::SetValue { value } => Some(vec![value.clone()]),
        Transformation::ConvertType { to_number } => convert(v, *to_number)?.map(|x| vec![x]),
        Transformation::Case { method } => {
            let Some((s, cased)) = string(v) else {
                return Ok(None);
            };
            let parts = s
                .parts
                .into_iter()
                .map(|p| match p {
                    StrPart::Literal(l) => StrPart::Literal(match method {
                        CaseMethod::Lower => l.to_lowercase(),
                        CaseMethod::Upper => l.to_uppercase(),
                        CaseMethod::SnakeCase => snake_case(&l),
                    }),
                    other => other,
                })
                .collect();
            Some(vec![Value::String {
                value: SigmaString { parts },
                cased,
            }])
        }
        Transformation::WildcardPlaceholders { include, exclude } => {
            let Some((s, cased)) = string(v) else {
                return Ok(None);
            };
            if !s.parts.iter().any(|p| handled(p, include, exclude)) {
                return Ok(None);
            }
            let mut out = SigmaString::default();
            for p in s.parts {
                if handled(&p, include, exclude) {
                    out.push_part(StrPart::AnyChars);
                } else {
                    out.push_part(p);
                }
            }
            Some(vec![Value::String { value: out, cased }])
        }
        Transformation::ValuePlaceholders { include, exclude } => {
            let Some((s, cased)) = string(v) else {
                return Ok(None);
            };
            if !s.parts.iter().any(|p| handled(p, include, exclude)) {
                return Ok(None);
            }
            let mut results = vec![SigmaString::default()];
            for p in s.parts {
                match &p {
                    StrPart::Placeholder(name) if handled(&p, include, exclude) => {
                        let vals = vars.get(name).ok_or_else(|| {
                            format!("Placeholder replacement variable '{name}' doesn't exist.")
                        })?;
                        if results.len().saturating_mul(vals.len()) > MAX_EXPANDED_VALUES {
                            return Err(format!("placeholders expand this value into more than {MAX_EXPANDED_VALUES} values"));
                        }
                        results = results
                            .iter()
                            .flat_map(|r| {
                                vals.iter().map(move |x| {
                                    let mut n = r.clone();
                                    SigmaString::parse(x)
                                        .parts
                                        .into_iter()
                                        .for_each(|q| n.push_part(q));
                                    n
                                })
                            })
                            .collect();
                    }
                    _ => results.iter_mut().for_each(|r| r.push_part(p.clone())),
                }
            }
            Some(
                results
                    .into_iter()
                    .map(|value| Value::String { value, cased })
                    .collect(),
            )
        }
        Transformation::QueryExpressionPlaceholders {
            include, exclude, ..
        } => {
            let Some((s, _)) = string(v) else {
                return Ok(None);
            };
            if s.parts.iter().any(|p| handled(p, include, exclude)) {
                return Err("query_expression_placeholders is not supported by sigil yet".into());
            }
            None
        }
        _ => None,
    })
}

fn handled(p: &StrPart, include: &Option<Vec<String>>, exclude: &Option<Vec<String>>) -> bool {
    match p {
        StrPart::Placeholder(n) => match (include, exclude) {
            (Some(i), _) => i.contains(n),
            (None, Some(e)) => !e.contains(n),
            (None, None) => true,
        },
        _ => false,
    }
}

fn convert(v: &Value, to_number: bool) -> Result<Option<Value>, String> {
    Ok(match (v, to_number) {
        (Value::Number { value }, false) => {
            Some(Value::string(SigmaString::literal(&value.to_string())))
        }
        (Value::String { value, .. }, true) => {
            let text = value.to_string();
            Some(Value::Number {
                value: parse_number(&text)
                    .ok_or_else(|| format!("Value '{text}' can't be converted to number"))?,
            })
        }
        (Value::Expansion { values }, _) => {
            let mut out = Vec::with_capacity(values.len());
            for x in values {
                out.push(convert(x, to_number)?.unwrap_or_else(|| x.clone()));
            }
            Some(Value::Expansion { values: out })
        }
        _ => None,
    })
}

/// pySigma's `replace_string` post-processing: a backslash that does not
/// escape a wildcard is doubled before the text is read back as a Sigma
/// string, so it stays literal.
fn double_lone_backslashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' && !matches!(chars.peek(), Some('*' | '?')) {
            out.push('\\');
        }
    }
    out
}

fn snake_case(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '-' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

pub(super) fn hashes(t: &Transformation, w: &mut WItem) -> Result<Outcome, SigmaError> {
    let Transformation::HashesFields {
        valid_hash_algos,
        field_prefix,
        drop_algo_prefix,
        field_to_parse,
    } = t
    else {
        return Ok(Outcome::Unchanged);
    };
    let Some(field) = &w.item.field else {
        return Ok(Outcome::Unchanged);
    };
    if !field_to_parse.contains(field) {
        return Ok(Outcome::Unchanged);
    }
    let mut texts = Vec::new();
    for v in &w.item.values {
        match &v.value {
            Value::String { value, .. } => texts.push(plain(value)),
            _ => return Ok(Outcome::Unchanged),
        }
    }
    let mut algos: Vec<(String, Vec<String>)> = Vec::new();
    for text in texts {
        let parts: Vec<&str> = if text.contains('|') {
            text.split('|').collect()
        } else {
            text.split('=').collect()
        };
        let (algo, hash) = if parts.len() == 2 {
            (
                parts[0].trim_start_matches('*').to_uppercase(),
                parts[1].trim_matches(['*', '?']).to_string(),
            )
        } else {
            let h = parts[0].trim_matches(['*', '?']).to_string();
            let a = match h.len() {
                32 => "MD5",
                40 => "SHA1",
                64 => "SHA256",
                128 => "SHA512",
                _ => "",
            };
            (a.to_string(), h)
        };
        if !valid_hash_algos.contains(&algo) {
            continue;
        }
        let name = format!(
            "{field_prefix}{}",
            if *drop_algo_prefix { "" } else { algo.as_str() }
        );
        match algos.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(hash),
            None => algos.push((name, vec![hash])),
        }
    }
    if algos.is_empty() {
        return Err(SigmaError::new(
            ErrorKind::Pipeline,
            w.item.location,
            format!(
                "No valid hash algorithm found in Hashes field. Please use one of the following: {}",
                valid_hash_algos.join(", ")
            ),
        ));
    }
    let loc = w.item.location;
    let entries = algos
        .into_iter()
        .map(|(name, hashes)| {
            let values = hashes
                .iter()
                .map(|h| Value::string(SigmaString::parse(h)))
                .collect();
            new_item(Some(name), values, loc, &w.applied)
        })
        .collect();
    Ok(Outcome::Replace(WEntry::Group(WDet {
        linking: Linking::Or,
        entries,
        location: loc,
    })))
}

/// `$category`, `$product`, `$service` (and `${…}`) in string values.
pub(super) fn substitute<'a>(node: &YamlNode<'a>, ls: &LogSource) -> YamlNode<'a> {
    let mut n = node.clone();
    let subst = |s: &str| {
        let mut out = s.to_string();
        for (k, v) in [
            ("category", &ls.category),
            ("product", &ls.product),
            ("service", &ls.service),
        ] {
            let val = v.clone().unwrap_or_else(|| "None".to_string());
            out = out
                .replace(&format!("${{{k}}}"), &val)
                .replace(&format!("${k}"), &val);
        }
        out
    };
    fn walk(n: &mut YamlNode, f: &dyn Fn(&str) -> String) {
        match &mut n.value {
            YamlValue::String(s) => *s = f(s).into(),
            YamlValue::Seq(items) => items.iter_mut().for_each(|i| walk(i, f)),
            YamlValue::Map(entries) => entries.iter_mut().for_each(|(_, v)| walk(v, f)),
            _ => {}
        }
    }
    walk(&mut n, &subst);
    n
}

/// The detection of an `add_condition`: like a rule's detection mapping,
/// but a `null` key makes a keyword item (pySigma's
/// `SigmaDetection.from_definition({None: "ParentProcessGuid"})`).
pub(super) fn condition_detection(node: &YamlNode) -> Result<Detection, SigmaError> {
    let Some(entries) = node.as_map() else {
        return parse_definition(node);
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if k.value == YamlValue::Null {
            let list = match &v.value {
                YamlValue::Seq(_) => v.clone(),
                _ => YamlNode::new(YamlValue::Seq(vec![v.clone()]), v.location),
            };
            out.extend(parse_definition(&list)?.entries);
        } else {
            let key = k.scalar_text().unwrap_or_default();
            out.push(DetectionEntry::Item(parse_item(&key, k.location, v)?));
        }
    }
    Ok(Detection {
        linking: Linking::And,
        entries: out,
        location: node.location,
    })
}

/// pySigma's `extract_fields`: every string value that matches the regex
/// becomes an AND of one item per non-empty named group.
pub(super) fn extract_fields(t: &Transformation, w: &mut WItem) -> Outcome {
    let Transformation::ExtractFields {
        regex,
        field_prefix,
        preserve_unmatched,
    } = t
    else {
        return Outcome::Unchanged;
    };
    let mut texts = Vec::with_capacity(w.item.values.len());
    for v in &w.item.values {
        match &v.value {
            Value::String { value, .. } => texts.push((value.clone(), v.location)),
            _ => return Outcome::Unchanged,
        }
    }
    let item = |field: Option<String>, value: Value, location| {
        new_item(field, vec![value], location, &w.applied)
    };
    let mut out = Vec::new();
    for (s, loc) in texts {
        let plain = plain(&s);
        let Some(caps) = regex
            .captures(&plain)
            .filter(|c| c.get(0).is_some_and(|m| m.start() == 0))
        else {
            if *preserve_unmatched {
                out.push(item(
                    w.item.field.clone(),
                    Value::String {
                        value: s,
                        cased: false,
                    },
                    loc,
                ));
            }
            continue;
        };
        let mut items = Vec::new();
        for name in regex.capture_names().flatten() {
            let Some(m) = caps
                .name(name)
                .map(|m| m.as_str())
                .filter(|m| !m.is_empty())
            else {
                continue;
            };
            let field = match field_prefix {
                Some(p) if !p.is_empty() => format!("{p}.{name}"),
                _ => name.to_string(),
            };
            items.push(item(Some(field), extracted_value(m), loc));
        }
        if !items.is_empty() {
            out.push(WEntry::Group(WDet {
                linking: Linking::And,
                entries: items,
                location: loc,
            }));
        }
    }
    match out.len() {
        0 => Outcome::Unchanged,
        1 => Outcome::Replace(out.remove(0)),
        _ => Outcome::Replace(WEntry::Group(WDet {
            linking: w.item.linking,
            entries: out,
            location: w.item.location,
        })),
    }
}

fn extracted_value(s: &str) -> Value {
    if matches!(s.to_lowercase().as_str(), "null" | "none" | "") {
        return Value::Null;
    }
    if s != "0" && s.starts_with('0') {
        return Value::string(SigmaString::parse(s));
    }
    match parse_number(s) {
        Some(n) => Value::Number { value: n },
        None => Value::string(SigmaString::parse(s)),
    }
}

/// Python's `re.escape` (3.7+), which pySigma uses: the regex text backends
/// print must be identical.
fn py_re_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// pySigma's `SigmaString.to_plain()`: wildcards as `*`/`?`, nothing escaped.
fn plain(s: &SigmaString) -> String {
    s.render("*", "?", "", |_| false)
}

/// A new plain detection item (no modifiers, OR-linked values) that keeps
/// the tracking of the item it replaces.
fn new_item(
    field: Option<String>,
    values: Vec<Value>,
    location: Location,
    applied: &BTreeSet<String>,
) -> WEntry {
    WEntry::Item(WItem {
        item: DetectionItem {
            field,
            modifiers: Vec::new(),
            values: values
                .into_iter()
                .map(|value| ItemValue { value, location })
                .collect(),
            linking: Linking::Or,
            negated: false,
            location,
        },
        applied: applied.clone(),
    })
}

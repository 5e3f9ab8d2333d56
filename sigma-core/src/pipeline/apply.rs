//! Running a pipeline over a rule.
//!
//! The rule's detections are copied into a working tree that remembers, per
//! detection item, which processing items changed it (pySigma tracks this on
//! its objects; sigma-core's AST stays plain data), the transformations run
//! in order, and the tree is turned back into a [`SigmaRule`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

use super::conditions::EvalCtx;
use super::transform::{parse_number, CaseMethod, FieldTarget, RegexMethod, Transformation};
use super::{Pipeline, ProcessedRule, ProcessingItem};
use crate::condition::Condition;
use crate::detection::{
    parse_definition, parse_item, Detection, DetectionEntry, DetectionItem, ItemValue, Linking,
    SearchIdentifier,
};
use crate::error::{ErrorKind, SigmaError};
use crate::rule::{LogSource, SigmaRule};
use crate::value::{RegexFlags, SigmaString, StrPart, Value};
use crate::yaml::{Location, YamlNode, YamlValue};

#[derive(Debug, Clone)]
struct WItem {
    item: DetectionItem,
    applied: BTreeSet<String>,
}

#[derive(Debug, Clone)]
enum WEntry {
    Item(WItem),
    Group(WDet),
}

#[derive(Debug, Clone)]
struct WDet {
    linking: Linking,
    entries: Vec<WEntry>,
    location: Location,
}

impl WDet {
    fn from(d: &Detection) -> WDet {
        WDet {
            linking: d.linking,
            location: d.location,
            entries: d
                .entries
                .iter()
                .map(|e| match e {
                    DetectionEntry::Item(i) => WEntry::Item(WItem {
                        item: i.clone(),
                        applied: BTreeSet::new(),
                    }),
                    DetectionEntry::Group(g) => WEntry::Group(WDet::from(g)),
                })
                .collect(),
        }
    }

    fn into_detection(self) -> Detection {
        Detection {
            linking: self.linking,
            location: self.location,
            entries: self
                .entries
                .into_iter()
                .map(|e| match e {
                    WEntry::Item(i) => DetectionEntry::Item(i.item),
                    WEntry::Group(g) => DetectionEntry::Group(g.into_detection()),
                })
                .collect(),
        }
    }

    fn any_item(&self, f: &mut dyn FnMut(&DetectionItem) -> bool) -> bool {
        self.entries.iter().any(|e| match e {
            WEntry::Item(i) => f(&i.item),
            WEntry::Group(g) => g.any_item(f),
        })
    }

    fn mark_all(&mut self, id: &str) {
        for e in &mut self.entries {
            match e {
                WEntry::Item(i) => {
                    i.applied.insert(id.to_string());
                }
                WEntry::Group(g) => g.mark_all(id),
            }
        }
    }
}

/// What a per-item transformation did.
enum Outcome {
    Unchanged,
    Changed,
    Replace(WEntry),
    Drop,
}

/// The state of one pipeline run over one rule.
pub(crate) struct Run<'p> {
    rule: SigmaRule,
    searches: Vec<(String, Location, WDet)>,
    state: BTreeMap<String, J>,
    applied: Vec<String>,
    field_applied: BTreeMap<String, BTreeSet<String>>,
    field_mappings: BTreeMap<String, BTreeSet<String>>,
    added: usize,
    pipeline: &'p Pipeline,
}

pub(crate) fn run(pipeline: &Pipeline, rule: &SigmaRule) -> Result<ProcessedRule, SigmaError> {
    let mut r = Run {
        searches: rule
            .detection
            .searches
            .iter()
            .map(|s| (s.name.clone(), s.location, WDet::from(&s.detection)))
            .collect(),
        rule: rule.clone(),
        state: BTreeMap::new(),
        applied: Vec::new(),
        field_applied: BTreeMap::new(),
        field_mappings: BTreeMap::new(),
        added: 0,
        pipeline,
    };
    for (i, item) in pipeline.items.iter().enumerate() {
        r.apply_item(item, &pipeline.item_label(item, i))?;
    }
    let Run {
        mut rule,
        searches,
        state,
        applied,
        ..
    } = r;
    rule.detection.searches = searches
        .into_iter()
        .map(|(name, location, det)| SearchIdentifier {
            name,
            location,
            detection: det.into_detection(),
        })
        .collect();
    Ok(ProcessedRule {
        rule,
        state,
        applied,
    })
}

impl Run<'_> {
    fn fail(&self, loc: Location, msg: &str) -> SigmaError {
        let e = SigmaError::new(ErrorKind::Pipeline, loc, msg.to_string());
        match &self.rule.origin.file {
            Some(f) => e.with_file(f.clone()),
            None => e,
        }
    }

    fn apply_item(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let matched = {
            let cx = EvalCtx {
                state: &self.state,
                rule_applied: &self.applied,
                field_applied: &self.field_applied,
            };
            let searches = &self.searches;
            let mut walk = |f: &mut dyn FnMut(&DetectionItem) -> bool| {
                searches.iter().any(|(_, _, d)| d.any_item(f))
            };
            item.rule_conditions
                .eval(true, |c| c.matches(&self.rule, &mut walk, &cx))
        };
        if !matched {
            return Ok(());
        }
        self.transform(item, label)?;
        self.applied.push(label.to_string());
        Ok(())
    }

    /// Detection-item and field-name conditions of `item` on one item.
    fn item_matches(&self, item: &ProcessingItem, w: &WItem) -> bool {
        let cx = EvalCtx {
            state: &self.state,
            rule_applied: &self.applied,
            field_applied: &self.field_applied,
        };
        item.detection_item_conditions
            .eval(false, |c| c.matches(&w.item, &w.applied, &cx))
            && item
                .field_name_conditions
                .eval(false, |c| c.matches_item(&w.item, &w.applied, &cx))
    }

    fn field_matches(&self, item: &ProcessingItem, field: Option<&str>) -> bool {
        let cx = EvalCtx {
            state: &self.state,
            rule_applied: &self.applied,
            field_applied: &self.field_applied,
        };
        item.field_name_conditions
            .eval(false, |c| c.matches_name(field, &cx))
    }

    /// Runs `f` on every detection item the item's conditions select.
    fn each_item(
        &mut self,
        item: &ProcessingItem,
        label: &str,
        f: &mut dyn FnMut(&mut Run, &mut WItem) -> Result<Outcome, SigmaError>,
    ) -> Result<(), SigmaError> {
        let mut searches = std::mem::take(&mut self.searches);
        let mut res = Ok(());
        for (_, _, det) in &mut searches {
            res = self.walk(det, item, label, f);
            if res.is_err() {
                break;
            }
        }
        self.searches = searches;
        res
    }

    fn walk(
        &mut self,
        det: &mut WDet,
        item: &ProcessingItem,
        label: &str,
        f: &mut dyn FnMut(&mut Run, &mut WItem) -> Result<Outcome, SigmaError>,
    ) -> Result<(), SigmaError> {
        let mut out = Vec::with_capacity(det.entries.len());
        for e in std::mem::take(&mut det.entries) {
            match e {
                WEntry::Group(mut g) => {
                    self.walk(&mut g, item, label, f)?;
                    out.push(WEntry::Group(g));
                }
                WEntry::Item(mut w) => {
                    if !self.item_matches(item, &w) {
                        out.push(WEntry::Item(w));
                        continue;
                    }
                    match f(self, &mut w)? {
                        Outcome::Unchanged => out.push(WEntry::Item(w)),
                        Outcome::Changed => {
                            w.applied.insert(label.to_string());
                            out.push(WEntry::Item(w));
                        }
                        Outcome::Replace(WEntry::Item(mut n)) => {
                            n.applied.insert(label.to_string());
                            out.push(WEntry::Item(n));
                        }
                        Outcome::Replace(WEntry::Group(mut g)) => {
                            g.mark_all(label);
                            out.push(WEntry::Group(g));
                        }
                        Outcome::Drop => {}
                    }
                }
            }
        }
        det.entries = out;
        Ok(())
    }

    /// pySigma's `_apply_field_name`: the mapped names when the mapping
    /// applies and the field conditions hold, else the name itself.
    fn map_name(
        &mut self,
        item: &ProcessingItem,
        label: &str,
        t: &Transformation,
        field: &str,
    ) -> Vec<String> {
        match field_target(t, Some(field)) {
            Some(target) if self.field_matches(item, Some(field)) => {
                let names = target.names();
                if names != [field] {
                    let mut ids = self.field_applied.remove(field).unwrap_or_default();
                    ids.insert(label.to_string());
                    for n in &names {
                        self.field_applied.insert(n.clone(), ids.clone());
                    }
                }
                self.field_mappings
                    .entry(field.to_string())
                    .or_default()
                    .extend(names.iter().cloned());
                names
            }
            _ => vec![field.to_string()],
        }
    }

    fn transform(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let t = &item.transformation;
        match t {
            Transformation::FieldNameMapping { .. }
            | Transformation::FieldNamePrefixMapping { .. }
            | Transformation::FieldNamePrefix { .. }
            | Transformation::FieldNameSuffix { .. } => {
                let fields = std::mem::take(&mut self.rule.meta.fields);
                self.rule.meta.fields = fields
                    .iter()
                    .flat_map(|f| self.map_name(item, label, t, f))
                    .collect();
                self.each_item(item, label, &mut |run, w| {
                    Ok(run.map_item_field(item, label, t, w))
                })
            }
            Transformation::DropDetectionItem => {
                self.each_item(item, label, &mut |_, _| Ok(Outcome::Drop))
            }
            Transformation::HashesFields { .. } => {
                self.each_item(item, label, &mut |_, w| hashes(t, w))
            }
            Transformation::AddCondition {
                conditions,
                name,
                template,
                negated,
            } => self.add_condition(conditions, name.as_deref(), *template, *negated, label),
            Transformation::ChangeLogsource {
                category,
                product,
                service,
            } => {
                self.rule.logsource = LogSource {
                    category: category.clone(),
                    product: product.clone(),
                    service: service.clone(),
                    definition: None,
                    custom: BTreeMap::new(),
                    location: self.rule.logsource.location,
                };
                Ok(())
            }
            Transformation::AddField { fields } => {
                self.rule.meta.fields.extend(fields.iter().cloned());
                Ok(())
            }
            Transformation::RemoveField { fields } => {
                for f in fields {
                    if let Some(pos) = self.rule.meta.fields.iter().position(|x| x == f) {
                        self.rule.meta.fields.remove(pos);
                    }
                }
                Ok(())
            }
            Transformation::SetField { fields } => {
                self.rule.meta.fields = fields.clone();
                Ok(())
            }
            Transformation::SetState { key, val } => {
                self.state.insert(key.clone(), val.clone());
                Ok(())
            }
            Transformation::SetCustomAttribute { attribute, value } => {
                self.rule
                    .meta
                    .custom
                    .insert(attribute.clone(), value.clone());
                Ok(())
            }
            Transformation::RuleFailure { message } => {
                Err(self.fail(self.rule.origin.location, message))
            }
            Transformation::DetectionItemFailure { message } => {
                let message = message.clone();
                self.each_item(item, label, &mut |run, w| {
                    Err(run.fail(w.item.location, &message))
                })
            }
            Transformation::StrictFieldMappingFailure => {
                let mut unmapped = Vec::new();
                let mapped: BTreeSet<&String> = self
                    .field_mappings
                    .keys()
                    .chain(self.field_mappings.values().flatten())
                    .collect();
                for (_, _, d) in &self.searches {
                    d.any_item(&mut |i| {
                        if let Some(f) = &i.field {
                            if !mapped.contains(f) && !unmapped.contains(f) {
                                unmapped.push(f.clone());
                            }
                        }
                        false
                    });
                }
                if unmapped.is_empty() {
                    Ok(())
                } else {
                    Err(self.fail(
                        self.rule.origin.location,
                        &format!(
                            "The following fields are not mapped: {}",
                            unmapped.join(", ")
                        ),
                    ))
                }
            }
            Transformation::Nest { items } => {
                for (i, nested) in items.iter().enumerate() {
                    let l = nested
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("{label}.{}", i + 1));
                    self.apply_item(nested, &l)?;
                }
                Ok(())
            }
            _ => self.each_item(item, label, &mut |run, w| run.values(t, w)),
        }
    }

    fn map_item_field(
        &mut self,
        item: &ProcessingItem,
        label: &str,
        t: &Transformation,
        w: &mut WItem,
    ) -> Outcome {
        let mut changed = false;
        // Field references among the values.
        let mut new_values = Vec::with_capacity(w.item.values.len());
        for v in std::mem::take(&mut w.item.values) {
            match &v.value {
                Value::FieldRef {
                    field,
                    starts_with,
                    ends_with,
                } if self.field_matches(item, Some(field)) => {
                    for name in self.map_name(item, label, t, field) {
                        changed |= name != *field;
                        new_values.push(ItemValue {
                            value: Value::FieldRef {
                                field: name,
                                starts_with: *starts_with,
                                ends_with: *ends_with,
                            },
                            location: v.location,
                        });
                    }
                }
                _ => new_values.push(v),
            }
        }
        w.item.values = new_values;
        let field = w.item.field.clone();
        let Some(target) = field_target(t, field.as_deref()) else {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        };
        if !self.field_matches(item, field.as_deref()) {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        }
        if let Some(f) = &field {
            self.field_mappings
                .entry(f.clone())
                .or_default()
                .extend(target.names());
        }
        match target {
            FieldTarget::One(n) => {
                w.item.field = Some(n);
                Outcome::Changed
            }
            FieldTarget::Many(names) => Outcome::Replace(WEntry::Group(WDet {
                linking: Linking::Or,
                location: w.item.location,
                entries: names
                    .into_iter()
                    .map(|n| {
                        let mut c = w.clone();
                        c.item.field = Some(n);
                        WEntry::Item(c)
                    })
                    .collect(),
            })),
        }
    }

    fn add_condition(
        &mut self,
        conditions: &YamlNode,
        name: Option<&str>,
        template: bool,
        negated: bool,
        label: &str,
    ) -> Result<(), SigmaError> {
        let node = if template {
            substitute(conditions, &self.rule.logsource)
        } else {
            conditions.clone()
        };
        let det = condition_detection(&node)
            .map_err(|e| self.fail(e.location, &format!("add_condition: {}", e.message)))?;
        self.added += 1;
        let name = match name {
            Some(n) => n.to_string(),
            None => format!("_cond_{}", self.added),
        };
        let mut w = WDet::from(&det);
        w.mark_all(label);
        self.searches.retain(|(n, _, _)| *n != name);
        self.searches.push((name.clone(), conditions.location, w));
        let names: Vec<String> = self.searches.iter().map(|(n, _, _)| n.clone()).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let not = if negated { "not " } else { "" };
        let mut out = Vec::new();
        for c in &self.rule.detection.conditions {
            let text = if c.text.trim().is_empty() {
                format!("{not}{name}")
            } else {
                format!("{not}{name} and ({})", c.text)
            };
            let mut parsed = Condition::parse(&text, c.location, &refs)
                .map_err(|e| self.fail(c.location, &e.message))?;
            parsed.legacy_aggregation = c.legacy_aggregation.clone();
            out.push(parsed);
        }
        self.rule.detection.conditions = out;
        Ok(())
    }

    fn values(&mut self, t: &Transformation, w: &mut WItem) -> Result<Outcome, SigmaError> {
        let mut modified = false;
        let mut out = Vec::with_capacity(w.item.values.len());
        for v in std::mem::take(&mut w.item.values) {
            match self
                .value(t, &v.value)
                .map_err(|m| self.fail(v.location, &m))?
            {
                Some(new) => {
                    modified = true;
                    out.extend(new.into_iter().map(|value| ItemValue {
                        value,
                        location: v.location,
                    }));
                }
                None => out.push(v),
            }
        }
        w.item.values = out;
        Ok(if modified {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    }

    /// One value through a value transformation: `Some(replacements)` or
    /// `None` to keep it.
    fn value(&self, t: &Transformation, v: &Value) -> Result<Option<Vec<Value>>, String> {
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
                                    re.push_str(&regex::escape(&c.to_string()));
                                }
                            }
                        }
                        StrPart::Literal(l) => re.push_str(&regex::escape(l)),
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
                            let vals = self.pipeline.vars.get(name).ok_or_else(|| {
                                format!("Placeholder replacement variable '{name}' doesn't exist.")
                            })?;
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
                    return Err(
                        "query_expression_placeholders is not supported by sigil yet".into(),
                    );
                }
                None
            }
            _ => None,
        })
    }
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

/// The mapping a field-name transformation gives for a field, if any.
fn field_target(t: &Transformation, field: Option<&str>) -> Option<FieldTarget> {
    let field = field?;
    match t {
        Transformation::FieldNameMapping { mapping } => mapping
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone()),
        Transformation::FieldNamePrefixMapping { mapping } => mapping
            .iter()
            .find(|(k, _)| field.starts_with(k.as_str()))
            .map(|(k, v)| v.with_suffix(&field[k.len()..])),
        Transformation::FieldNamePrefix { prefix } => {
            Some(FieldTarget::One(format!("{prefix}{field}")))
        }
        Transformation::FieldNameSuffix { suffix } => {
            Some(FieldTarget::One(format!("{field}{suffix}")))
        }
        _ => None,
    }
}

fn hashes(t: &Transformation, w: &mut WItem) -> Result<Outcome, SigmaError> {
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
    let mut plain = Vec::new();
    for v in &w.item.values {
        match &v.value {
            Value::String { value, .. } => plain.push(value.to_string()),
            _ => return Ok(Outcome::Unchanged),
        }
    }
    let mut algos: Vec<(String, Vec<String>)> = Vec::new();
    for text in plain {
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
            WEntry::Item(WItem {
                item: DetectionItem {
                    field: Some(name),
                    modifiers: Vec::new(),
                    values: hashes
                        .iter()
                        .map(|h| ItemValue {
                            value: Value::string(SigmaString::literal(h)),
                            location: loc,
                        })
                        .collect(),
                    linking: Linking::Or,
                    negated: false,
                    location: loc,
                },
                applied: w.applied.clone(),
            })
        })
        .collect();
    Ok(Outcome::Replace(WEntry::Group(WDet {
        linking: Linking::Or,
        entries,
        location: loc,
    })))
}

/// `$category`, `$product`, `$service` (and `${…}`) in string values.
fn substitute(node: &YamlNode, ls: &LogSource) -> YamlNode {
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
            YamlValue::String(s) => *s = f(s),
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
fn condition_detection(node: &YamlNode) -> Result<Detection, SigmaError> {
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

//! Running a pipeline over a rule.
//!
//! The rule's detections are copied into a working tree that remembers, per
//! detection item, which processing items changed it (pySigma tracks this on
//! its objects; sigma-core's AST stays plain data), the transformations run
//! in order, and the tree is turned back into a [`SigmaRule`].

use std::collections::{BTreeMap, BTreeSet};

use super::track::{refuse, Tracking};
use super::transform::{FieldTarget, Transformation};
use super::values::{condition_detection, extract_fields, hashes, substitute, value};
use super::{Pipeline, ProcessedRule, ProcessingItem};
use crate::condition::Condition;
use crate::detection::{
    Detection, DetectionEntry, DetectionItem, ItemValue, Linking, SearchIdentifier,
};
use crate::error::SigmaError;
use crate::modifiers::MAX_EXPANDED_VALUES;
use crate::rule::{LogSource, SigmaRule};
use crate::value::Value;
use crate::yaml::{Location, YamlNode};

#[derive(Debug, Clone)]
pub(super) struct WItem {
    pub(super) item: DetectionItem,
    pub(super) applied: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(super) enum WEntry {
    Item(WItem),
    Group(WDet),
}

#[derive(Debug, Clone)]
pub(super) struct WDet {
    pub(super) linking: Linking,
    pub(super) entries: Vec<WEntry>,
    pub(super) location: Location,
}

impl WDet {
    pub(super) fn from_owned(d: Detection) -> WDet {
        WDet {
            linking: d.linking,
            location: d.location,
            entries: d
                .entries
                .into_iter()
                .map(|e| match e {
                    DetectionEntry::Item(item) => WEntry::Item(WItem {
                        item,
                        applied: BTreeSet::new(),
                    }),
                    DetectionEntry::Group(g) => WEntry::Group(WDet::from_owned(g)),
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
pub(super) enum Outcome {
    Unchanged,
    Changed,
    Replace(WEntry),
    Drop,
}

/// The state of one pipeline run over one rule.
pub(crate) struct Run<'p> {
    rule: SigmaRule,
    searches: Vec<(String, Location, WDet)>,
    tr: Tracking,
    field_mappings: BTreeMap<String, BTreeSet<String>>,
    added: usize,
    /// Values that value transformations added (placeholders, map_string
    /// lists), bounded by [`MAX_EXPANDED_VALUES`] per rule.
    values_added: usize,
    pipeline: &'p Pipeline,
}

pub(crate) fn run(pipeline: &Pipeline, rule: &SigmaRule) -> Result<ProcessedRule, SigmaError> {
    let mut rule = rule.clone();
    let searches = std::mem::take(&mut rule.detection.searches)
        .into_iter()
        .map(|s| (s.name, s.location, WDet::from_owned(s.detection)))
        .collect();
    let mut r = Run {
        searches,
        rule,
        tr: Tracking::default(),
        field_mappings: BTreeMap::new(),
        added: 0,
        values_added: 0,
        pipeline,
    };
    for (i, item) in pipeline.items.iter().enumerate() {
        r.apply_item(item, &pipeline.item_label(item, i))?;
    }
    let Run {
        mut rule,
        searches,
        tr,
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
        state: tr.state,
        applied: tr.applied,
    })
}

impl Run<'_> {
    fn fail(&self, loc: Location, msg: &str) -> SigmaError {
        refuse(&self.rule.origin, loc, msg)
    }

    fn apply_item(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let matched = {
            let cx = self.tr.cx();
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
        self.tr.applied.push(label.to_string());
        Ok(())
    }

    /// Detection-item and field-name conditions of `item` on one item.
    fn item_matches(&self, item: &ProcessingItem, w: &WItem) -> bool {
        let cx = self.tr.cx();
        item.detection_item_conditions
            .eval(false, |c| c.matches(&w.item, &w.applied, &cx))
            && item
                .field_name_conditions
                .eval(false, |c| c.matches_item(&w.item, &w.applied, &cx))
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

    /// pySigma's `_apply_field_name`: the mapped names, or the name itself.
    fn map_name(&mut self, item: &ProcessingItem, label: &str, field: &str) -> Vec<String> {
        self.tr
            .map_name(item, label, field)
            .unwrap_or_else(|| vec![field.to_string()])
    }

    fn transform(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let t = &item.transformation;
        if let Some(done) = self
            .tr
            .meta_transformation(t, &mut self.rule.meta, &self.rule.origin)
        {
            return done;
        }
        match t {
            Transformation::FieldNameMapping { .. }
            | Transformation::FieldNamePrefixMapping { .. }
            | Transformation::FieldNamePrefix { .. }
            | Transformation::FieldNameSuffix { .. } => {
                let fields = std::mem::take(&mut self.rule.meta.fields);
                self.rule.meta.fields = fields
                    .iter()
                    .flat_map(|f| self.map_name(item, label, f))
                    .collect();
                self.each_item(item, label, &mut |run, w| {
                    Ok(run.map_item_field(item, label, t, w))
                })
            }
            Transformation::DropDetectionItem => {
                self.each_item(item, label, &mut |_, _| Ok(Outcome::Drop))
            }
            Transformation::ExtractFields { .. } => {
                self.each_item(item, label, &mut |_, w| Ok(extract_fields(t, w)))
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
                } if self.tr.field_holds(item, Some(field)) => {
                    for name in self.map_name(item, label, field) {
                        // pySigma marks the item as processed even when the
                        // reference keeps its name.
                        changed = true;
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
        if !self.tr.field_holds(item, field.as_deref()) {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        }
        match &field {
            Some(f) => self
                .field_mappings
                .entry(f.clone())
                .or_default()
                .extend(target.names()),
            // A keyword mapped to a field keeps its "anywhere" meaning.
            None => {
                for v in &mut w.item.values {
                    if let Value::String { value, .. } = &mut v.value {
                        value.prepend_wildcard();
                        value.append_wildcard();
                    }
                }
            }
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
        let mut w = WDet::from_owned(det);
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
            match value(t, &v.value, &self.pipeline.vars).map_err(|m| self.fail(v.location, &m))? {
                Some(new) => {
                    modified = true;
                    self.values_added += new.len().saturating_sub(1);
                    if self.values_added > MAX_EXPANDED_VALUES {
                        return Err(self.fail(
                            v.location,
                            &format!("value transformations expand this rule's values into more than {MAX_EXPANDED_VALUES} values"),
                        ));
                    }
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
}

/// The mapping a field-name transformation gives for a field, if any.
pub(super) fn field_target(t: &Transformation, field: Option<&str>) -> Option<FieldTarget> {
    if let (Transformation::FieldNameMapping { keywords, .. }, None) = (t, field) {
        return keywords.clone();
    }
    let field = field?;
    match t {
        Transformation::FieldNameMapping { mapping, .. } => mapping
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

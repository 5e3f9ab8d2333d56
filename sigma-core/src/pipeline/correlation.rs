//! Running a pipeline over a correlation rule, as pySigma does: field-name
//! transformations rename the `group-by` fields (except alias names), the
//! fields of aliases and the aggregated field of the condition, and the
//! rule's `fields`; `set_state`, `set_custom_attribute`, `rule_failure` and
//! `nest` act as on detection rules; transformations of detection items,
//! `add_condition` and `change_logsource` do nothing. A `logsource` rule
//! condition holds when it holds for any referenced rule.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

use super::apply::field_target;
use super::conditions::EvalCtx;
use super::transform::Transformation;
use super::{Pipeline, ProcessingItem};
use crate::error::{ErrorKind, SigmaError};
use crate::rule::{CorrelationCondition, CorrelationRule, SigmaRule};

/// A correlation rule after a pipeline ran over it.
#[derive(Debug, Clone)]
pub struct ProcessedCorrelation {
    /// The transformed copy.
    pub rule: CorrelationRule,
    /// The pipeline state (`set_state`).
    pub state: BTreeMap<String, J>,
    /// The ids of the processing items that applied.
    pub applied: Vec<String>,
}

struct CorrRun<'a> {
    rule: CorrelationRule,
    referenced: &'a [&'a SigmaRule],
    state: BTreeMap<String, J>,
    applied: Vec<String>,
    field_applied: BTreeMap<String, BTreeSet<String>>,
}

pub(crate) fn run(
    pipeline: &Pipeline,
    rule: &CorrelationRule,
    referenced: &[&SigmaRule],
) -> Result<ProcessedCorrelation, SigmaError> {
    let mut r = CorrRun {
        rule: rule.clone(),
        referenced,
        state: BTreeMap::new(),
        applied: Vec::new(),
        field_applied: BTreeMap::new(),
    };
    for (i, item) in pipeline.items.iter().enumerate() {
        r.apply_item(item, &pipeline.item_label(item, i))?;
    }
    Ok(ProcessedCorrelation {
        rule: r.rule,
        state: r.state,
        applied: r.applied,
    })
}

impl CorrRun<'_> {
    fn cx(&self) -> EvalCtx<'_> {
        EvalCtx {
            state: &self.state,
            rule_applied: &self.applied,
            field_applied: &self.field_applied,
        }
    }

    fn apply_item(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let matched = {
            let cx = self.cx();
            item.rule_conditions.eval(true, |c| {
                c.matches_correlation(&self.rule.meta, self.referenced, &cx)
            })
        };
        if !matched {
            return Ok(());
        }
        match &item.transformation {
            Transformation::FieldNameMapping { .. }
            | Transformation::FieldNamePrefixMapping { .. }
            | Transformation::FieldNamePrefix { .. }
            | Transformation::FieldNameSuffix { .. } => self.map_fields(item, label)?,
            Transformation::AddField { fields } => {
                self.rule.meta.fields.extend(fields.iter().cloned())
            }
            Transformation::RemoveField { fields } => {
                for f in fields {
                    if let Some(pos) = self.rule.meta.fields.iter().position(|x| x == f) {
                        self.rule.meta.fields.remove(pos);
                    }
                }
            }
            Transformation::SetField { fields } => self.rule.meta.fields = fields.clone(),
            Transformation::SetState { key, val } => {
                self.state.insert(key.clone(), val.clone());
            }
            Transformation::SetCustomAttribute { attribute, value } => {
                self.rule
                    .meta
                    .custom
                    .insert(attribute.clone(), value.clone());
            }
            Transformation::RuleFailure { message } => {
                return Err(self.fail(message));
            }
            Transformation::Nest { items } => {
                for (i, nested) in items.iter().enumerate() {
                    let l = nested
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("{label}.{}", i + 1));
                    self.apply_item(nested, &l)?;
                }
            }
            _ => {}
        }
        self.applied.push(label.to_string());
        Ok(())
    }

    fn fail(&self, message: &str) -> SigmaError {
        let e = SigmaError::new(ErrorKind::Pipeline, self.rule.origin.location, message);
        match &self.rule.origin.file {
            Some(f) => e.with_file(f.clone()),
            None => e,
        }
    }

    /// pySigma's `_apply_field_name` with its field tracking.
    fn map_name(&mut self, item: &ProcessingItem, label: &str, field: &str) -> Vec<String> {
        let t = &item.transformation;
        let holds = {
            let cx = self.cx();
            item.field_name_conditions
                .eval(false, |c| c.matches_name(Some(field), &cx))
        };
        match field_target(t, Some(field)) {
            Some(target) if holds => {
                let names = target.names();
                if names != [field] {
                    let mut ids = self.field_applied.remove(field).unwrap_or_default();
                    ids.insert(label.to_string());
                    for n in &names {
                        self.field_applied.insert(n.clone(), ids.clone());
                    }
                }
                names
            }
            _ => vec![field.to_string()],
        }
    }

    fn single(
        &mut self,
        item: &ProcessingItem,
        label: &str,
        field: &str,
        what: &str,
    ) -> Result<String, SigmaError> {
        let mut names = self.map_name(item, label, field);
        if names.len() > 1 {
            return Err(self.fail(&format!(
                "Field name mapping transformation can't be applied to correlation rule {what} because it results in multiple field names."
            )));
        }
        Ok(names.pop().unwrap_or_else(|| field.to_string()))
    }

    fn map_fields(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let fields = std::mem::take(&mut self.rule.meta.fields);
        self.rule.meta.fields = fields
            .iter()
            .flat_map(|f| self.map_name(item, label, f))
            .collect();
        let mut aliases = std::mem::take(&mut self.rule.correlation.aliases);
        for alias in &mut aliases {
            for (_, field) in &mut alias.fields {
                *field = self.single(item, label, field, "alias mapping")?;
            }
        }
        let names: Vec<String> = aliases.iter().map(|a| a.name.clone()).collect();
        self.rule.correlation.aliases = aliases;
        let group_by = std::mem::take(&mut self.rule.correlation.group_by);
        let mut mapped = Vec::with_capacity(group_by.len());
        for g in group_by {
            if names.contains(&g) {
                mapped.push(g);
            } else {
                mapped.extend(self.map_name(item, label, &g));
            }
        }
        self.rule.correlation.group_by = mapped;
        if let CorrelationCondition::Threshold { field, .. } = &mut self.rule.correlation.condition
        {
            let mut fs = std::mem::take(field);
            for f in &mut fs {
                *f = self.single(item, label, f, "condition field reference")?;
            }
            if let CorrelationCondition::Threshold { field, .. } =
                &mut self.rule.correlation.condition
            {
                *field = fs;
            }
        }
        Ok(())
    }
}

//! Running a pipeline over a correlation rule, as pySigma does: field-name
//! transformations rename the `group-by` fields (except alias names), the
//! fields of aliases and the aggregated field of the condition, and the
//! rule's `fields`; `set_state`, `set_custom_attribute`, `rule_failure` and
//! `nest` act as on detection rules; transformations of detection items,
//! `add_condition` and `change_logsource` do nothing. A `logsource` rule
//! condition holds when it holds for any referenced rule.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::track::{refuse, Tracking};
use super::transform::Transformation;
use super::{Pipeline, ProcessingItem};
use crate::error::SigmaError;
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
    tr: Tracking,
}

pub(crate) fn run(
    pipeline: &Pipeline,
    rule: &CorrelationRule,
    referenced: &[&SigmaRule],
) -> Result<ProcessedCorrelation, SigmaError> {
    let mut r = CorrRun {
        rule: rule.clone(),
        referenced,
        tr: Tracking::default(),
    };
    for (i, item) in pipeline.items.iter().enumerate() {
        r.apply_item(item, &pipeline.item_label(item, i))?;
    }
    Ok(ProcessedCorrelation {
        rule: r.rule,
        state: r.tr.state,
        applied: r.tr.applied,
    })
}

impl CorrRun<'_> {
    fn apply_item(&mut self, item: &ProcessingItem, label: &str) -> Result<(), SigmaError> {
        let matched = {
            let cx = self.tr.cx();
            item.rule_conditions.eval(true, |c| {
                c.matches_correlation(&self.rule.meta, self.referenced, &cx)
            })
        };
        if !matched {
            return Ok(());
        }
        let t = &item.transformation;
        if let Some(done) = self
            .tr
            .meta_transformation(t, &mut self.rule.meta, &self.rule.origin)
        {
            done?;
            self.tr.applied.push(label.to_string());
            return Ok(());
        }
        match t {
            Transformation::FieldNameMapping { .. }
            | Transformation::FieldNamePrefixMapping { .. }
            | Transformation::FieldNamePrefix { .. }
            | Transformation::FieldNameSuffix { .. } => self.map_fields(item, label)?,
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
        self.tr.applied.push(label.to_string());
        Ok(())
    }

    fn fail(&self, message: &str) -> SigmaError {
        refuse(&self.rule.origin, self.rule.origin.location, message)
    }

    fn map_name(&mut self, item: &ProcessingItem, label: &str, field: &str) -> Vec<String> {
        self.tr
            .map_name(item, label, field)
            .unwrap_or_else(|| vec![field.to_string()])
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

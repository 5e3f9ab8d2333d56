//! What a pipeline run tracks, shared by detection rules (`apply.rs`) and
//! correlation rules (`correlation.rs`): the state, the items that applied,
//! which items renamed each field name, and the transformations that only
//! touch the rule's metadata.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

use super::apply::field_target;
use super::conditions::EvalCtx;
use super::transform::Transformation;
use super::ProcessingItem;
use crate::error::{ErrorKind, SigmaError};
use crate::rule::{Origin, RuleMeta};
use crate::yaml::Location;

/// The tracking state of one run.
#[derive(Debug, Default)]
pub(crate) struct Tracking {
    /// `set_state` values.
    pub state: BTreeMap<String, J>,
    /// Labels of the items that applied, in order.
    pub applied: Vec<String>,
    /// Field name → items that renamed it (pySigma's `field_name_applied_ids`).
    pub field_applied: BTreeMap<String, BTreeSet<String>>,
}

impl Tracking {
    /// The view conditions evaluate against.
    pub fn cx(&self) -> EvalCtx<'_> {
        EvalCtx {
            state: &self.state,
            rule_applied: &self.applied,
            field_applied: &self.field_applied,
        }
    }

    /// The field-name conditions of `item` on a field name.
    pub fn field_holds(&self, item: &ProcessingItem, field: Option<&str>) -> bool {
        let cx = self.cx();
        item.field_name_conditions
            .eval(false, |c| c.matches_name(field, &cx))
    }

    /// pySigma's `_apply_field_name`: the names a field-name transformation
    /// gives `field` when it applies and the field-name conditions hold
    /// (`None` otherwise); a renamed field passes its tracking on to the
    /// new names.
    pub fn map_name(
        &mut self,
        item: &ProcessingItem,
        label: &str,
        field: &str,
    ) -> Option<Vec<String>> {
        let target = field_target(&item.transformation, Some(field))?;
        if !self.field_holds(item, Some(field)) {
            return None;
        }
        let names = target.names();
        if names != [field] {
            let mut ids = self.field_applied.remove(field).unwrap_or_default();
            ids.insert(label.to_string());
            for n in &names {
                self.field_applied.insert(n.clone(), ids.clone());
            }
        }
        Some(names)
    }

    /// The transformations that act on the metadata of any kind of rule.
    /// Returns `None` for the others.
    pub fn meta_transformation(
        &mut self,
        t: &Transformation,
        meta: &mut RuleMeta,
        origin: &Origin,
    ) -> Option<Result<(), SigmaError>> {
        match t {
            Transformation::AddField { fields } => meta.fields.extend(fields.iter().cloned()),
            Transformation::RemoveField { fields } => {
                for f in fields {
                    if let Some(pos) = meta.fields.iter().position(|x| x == f) {
                        meta.fields.remove(pos);
                    }
                }
            }
            Transformation::SetField { fields } => meta.fields = fields.clone(),
            Transformation::SetState { key, val } => {
                self.state.insert(key.clone(), val.clone());
            }
            Transformation::SetCustomAttribute { attribute, value } => {
                meta.custom.insert(attribute.clone(), value.clone());
            }
            Transformation::RuleFailure { message } => {
                return Some(Err(refuse(origin, origin.location, message)))
            }
            _ => return None,
        }
        Some(Ok(()))
    }
}

/// A rule refused by a transformation: an error pointing at the rule's file.
pub(crate) fn refuse(origin: &Origin, loc: Location, msg: &str) -> SigmaError {
    let e = SigmaError::new(ErrorKind::Pipeline, loc, msg.to_string());
    match &origin.file {
        Some(f) => e.with_file(f.clone()),
        None => e,
    }
}

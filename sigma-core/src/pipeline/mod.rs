//! # Processing pipelines, compatible with pySigma
//!
//! A processing pipeline adapts rules to an environment before they are
//! converted to a query (`sigma-backends`) or matched against events
//! (`sigma-hunt`): it renames fields, adds conditions for the log source
//! (`source="WinEventLog:Security"`, `winlog.channel`, `Channel`/`EventID`),
//! changes log sources, rewrites values, and refuses what the target cannot
//! handle. The YAML format is pySigma's, so existing pipeline files load
//! unchanged.
//!
//! ## Design
//!
//! * **Data, not code.** A [`Pipeline`] is a list of [`ProcessingItem`]s,
//!   each a [`Transformation`] plus rule, detection-item and field-name
//!   [`conditions`]. Built-in pipelines are YAML files under
//!   `rules/pipelines/` embedded with `include_str!`, parsed by the same
//!   loader as user files ([`Pipeline::builtin`]).
//! * **pySigma's tree shapes.** Backends must print pySigma-identical text,
//!   so [`Pipeline::apply`] reproduces pySigma's structure exactly: a
//!   one-to-many field mapping replaces the item with an OR group of copies
//!   (a [`DetectionEntry::Group`](crate::DetectionEntry) with
//!   [`Linking::Or`](crate::Linking)); `add_condition` appends a search
//!   identifier `_cond_N` (or the configured `name`) and re-parses every
//!   condition as `_cond_N and (<original>)`, which gives
//!   `And([Identifier("_cond_N"), <original expression>])`; a dropped item
//!   disappears from its detection (a detection left empty matches nothing
//!   on its own and is pruned by pySigma's condition conversion).
//! * **Tracking.** Which processing items applied to the rule, to each
//!   detection item and to each field name is tracked during a run, so
//!   `processing_item_applied` conditions behave as in pySigma. The ids of
//!   the items that applied are returned in [`ProcessedRule::applied`]
//!   (items without an `id` get `<pipeline name>#<position>`).
//! * **Errors with locations.** Every problem in a pipeline file (YAML
//!   syntax, unknown transformation or condition type, unknown or missing
//!   parameter, bad regex, …) is a [`SigmaError`] of kind
//!   [`ErrorKind::Pipeline`](crate::ErrorKind) with file, line and column.
//!   A transformation refusing a rule (`rule_failure`, …) is an error of the
//!   same kind pointing at the rule.
//! * **Correlation rules** go through [`Pipeline::apply_correlation`]:
//!   field-name transformations rename `group-by`, alias and condition
//!   fields, as pySigma does.
//! * **Postprocessing and finalizers** are parsed with the pipeline
//!   ([`PostprocessingItem`], [`Finalizer`]) and applied by backends with
//!   [`Pipeline::postprocess`] and [`Pipeline::finalize`] (all but the Jinja2
//!   and YAML kinds).
//!
//! ## Example: a user pipeline
//!
//! ```
//! use sigma_core::pipeline::Pipeline;
//! use sigma_core::{parse_str, Document};
//!
//! let pipeline = Pipeline::from_yaml_str(r#"
//! name: my-windows
//! priority: 30
//! transformations:
//!   - id: security_source
//!     type: add_condition
//!     conditions:
//!       source: 'WinEventLog:Security'
//!     rule_conditions:
//!       - type: logsource
//!         product: windows
//!         service: security
//!   - type: field_name_mapping
//!     mapping:
//!       EventID: EventCode
//! "#, None).unwrap();
//!
//! let set = parse_str(r#"
//! title: Logon
//! logsource: {product: windows, service: security}
//! detection:
//!     selection: {EventID: 4624}
//!     condition: selection
//! "#, None);
//! let Document::Rule(rule) = &set.documents[0] else { unreachable!() };
//! let out = pipeline.apply(rule).unwrap();
//! assert_eq!(out.rule.detection.conditions[0].text, "_cond_1 and (selection)");
//! assert_eq!(out.applied, ["security_source", "my-windows#2"]);
//! ```
//!
//! ## Logsource routing for matchers
//!
//! [`windows_logsource_routes`] exposes the built-in Windows routing table
//! (the data behind the `windows-hunt` pipeline) so an in-process matcher can
//! evaluate channel / provider / EventID constraints and Security-log field
//! renames without going through query text:
//!
//! ```
//! use sigma_core::pipeline::{routes_for, windows_logsource_routes};
//!
//! let routes = windows_logsource_routes();
//! let alts = routes_for(routes, Some("process_creation"), Some("windows"), None).unwrap();
//! assert!(alts.iter().any(|a| a.channel == ["Microsoft-Windows-Sysmon/Operational"] && a.event_ids == [1]));
//! let security = alts.iter().find(|a| a.event_ids == [4688]).unwrap();
//! assert_eq!(security.field_renames.get("Image").map(String::as_str), Some("NewProcessName"));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as J;

use crate::error::{ErrorKind, SigmaError};
use crate::rule::{CorrelationRule, SigmaRule};
use crate::yaml::{self, Location, YamlNode, YamlValue};

mod apply;
mod builtin;
mod cond_parse;
pub mod conditions;
mod correlation;
mod params;
mod postprocess;
mod routes;
mod track;
mod transform;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_builtin;
#[cfg(test)]
mod tests_diff;
#[cfg(test)]
mod tests_docs;
#[cfg(test)]
mod tests_routes;

pub use conditions::{
    CompareOp, CondExpr, CondLogic, Conditions, FieldCondition, ItemCondition, RuleCondition,
};
pub use correlation::ProcessedCorrelation;
pub use routes::{routes_for, windows_logsource_routes, LogsourceRoute, RouteAlternative};
pub use transform::{CaseMethod, FieldTarget, RegexMethod, Transformation, TRANSFORMATION_TYPES};

use cond_parse::{
    parse_conditions, parse_field_condition, parse_item_condition, parse_rule_condition,
};
use params::{perr, Params};
pub use postprocess::python_json_dumps;
use postprocess::{parse_finalizer, parse_postprocessing};

/// A processing pipeline: pySigma's `ProcessingPipeline`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The name (`name:` in YAML; the built-in name for built-ins).
    pub name: String,
    /// Pipelines are chained in ascending priority (pySigma's resolver).
    pub priority: i64,
    /// The processing items, in order.
    pub items: Vec<ProcessingItem>,
    /// Variables for `value_placeholders` (a scalar is a one-element list).
    pub vars: BTreeMap<String, Vec<String>>,
    /// Query postprocessing items, kept as data for backends.
    pub postprocessing: Vec<PostprocessingItem>,
    /// Finalizers, kept as data for backends.
    pub finalizers: Vec<Finalizer>,
    /// Backends this pipeline is meant for (empty: any).
    pub allowed_backends: Vec<String>,
}

/// One transformation with its conditions.
#[derive(Debug, Clone)]
pub struct ProcessingItem {
    /// The `id`, when given.
    pub id: Option<String>,
    /// What it does.
    pub transformation: Transformation,
    /// Conditions on the rule (all must hold by default).
    pub rule_conditions: Conditions<RuleCondition>,
    /// Conditions on each detection item.
    pub detection_item_conditions: Conditions<ItemCondition>,
    /// Conditions on field names.
    pub field_name_conditions: Conditions<FieldCondition>,
    /// Where the item was written.
    pub location: Location,
}

/// A query postprocessing item (`postprocessing:`), applied by
/// [`Pipeline::postprocess`].
#[derive(Debug, Clone)]
pub struct PostprocessingItem {
    /// The `id`, when given.
    pub id: Option<String>,
    /// The type (`embed`, `simple_template`, `template`, `json`, `replace`, `nest`).
    pub kind: String,
    /// The other parameters as JSON (conditions removed).
    pub params: J,
    /// Rule conditions.
    pub rule_conditions: Conditions<RuleCondition>,
    /// The nested items of `nest`.
    pub items: Vec<PostprocessingItem>,
    /// Where it was written.
    pub location: Location,
}

/// A finalizer (`finalizers:`), applied by [`Pipeline::finalize`].
#[derive(Debug, Clone)]
pub struct Finalizer {
    /// The type (`concat`, `json`, `yaml`, `template`, `nested`).
    pub kind: String,
    /// The other parameters as JSON.
    pub params: J,
    /// The nested finalizers of `nested`.
    pub finalizers: Vec<Finalizer>,
    /// Where it was written.
    pub location: Location,
}

/// A rule after a pipeline ran over it.
#[derive(Debug, Clone)]
pub struct ProcessedRule {
    /// The transformed copy of the rule.
    pub rule: SigmaRule,
    /// The pipeline state (`set_state`), read by backends (`index`, …).
    pub state: BTreeMap<String, J>,
    /// The ids of the processing items whose rule conditions held, in order
    /// (items without an `id` appear as `<pipeline name>#<position>`).
    pub applied: Vec<String>,
}

const TOP_KEYS: &[&str] = &[
    "name",
    "priority",
    "vars",
    "transformations",
    "postprocessing",
    "finalizers",
    "allowed_backends",
];

impl Pipeline {
    /// An empty pipeline.
    pub fn empty(name: &str) -> Pipeline {
        Pipeline {
            name: name.to_string(),
            priority: 0,
            items: Vec::new(),
            vars: BTreeMap::new(),
            postprocessing: Vec::new(),
            finalizers: Vec::new(),
            allowed_backends: Vec::new(),
        }
    }

    /// A built-in pipeline by name (see [`Pipeline::builtin_names`]).
    pub fn builtin(name: &str) -> Option<Pipeline> {
        builtin::get(name)
    }

    /// The names of the built-in pipelines.
    pub fn builtin_names() -> &'static [&'static str] {
        builtin::NAMES
    }

    /// One line on what a built-in pipeline does (for `--help` and listings).
    pub fn builtin_description(name: &str) -> Option<&'static str> {
        builtin::description(name)
    }

    /// The pipeline that pipeline names given on a command line stand for:
    /// each a built-in name or a YAML file, combined as pySigma's
    /// `sigma-cli` does (sorted by name, then chained stably by priority,
    /// so equal priorities keep name order). `Ok(None)` when `names` is
    /// empty; an unknown name or a broken file is an error naming it.
    ///
    /// ```
    /// use sigma_core::pipeline::Pipeline;
    /// let p = Pipeline::resolve(&["sysmon", "splunk_windows"]).unwrap().unwrap();
    /// assert!(p.name.contains("sysmon"));
    /// assert!(Pipeline::resolve(&["no-such-pipeline"]).is_err());
    /// assert!(Pipeline::resolve::<&str>(&[]).unwrap().is_none());
    /// ```
    pub fn resolve<S: AsRef<str>>(names: &[S]) -> Result<Option<Pipeline>, SigmaError> {
        if names.is_empty() {
            return Ok(None);
        }
        let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        sorted.sort_unstable();
        let mut list = Vec::with_capacity(sorted.len());
        for n in sorted {
            match Pipeline::builtin(n) {
                Some(p) => list.push(p),
                None => {
                    let path = Path::new(n);
                    if !path.is_file() {
                        return Err(SigmaError::new(
                            ErrorKind::Io,
                            Location::default(),
                            format!(
                                "not a built-in pipeline ({}) nor a file",
                                Pipeline::builtin_names().join(", ")
                            ),
                        )
                        .with_file(path));
                    }
                    list.push(Pipeline::from_file(path)?);
                }
            }
        }
        Ok(Some(Pipeline::chain(list)))
    }

    /// Loads a pipeline from a file.
    pub fn from_file(path: &Path) -> Result<Pipeline, SigmaError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SigmaError::new(
                ErrorKind::Io,
                Location::default(),
                format!("cannot read pipeline: {e}"),
            )
            .with_file(path)
        })?;
        Pipeline::from_yaml_str(&text, Some(path))
    }

    /// Parses a pipeline in pySigma's YAML format. `file` is used in errors.
    pub fn from_yaml_str(text: &str, file: Option<&Path>) -> Result<Pipeline, SigmaError> {
        let docs = yaml::parse_documents(text)
            .map_err(|e| perr(file, e.location, format!("invalid YAML: {}", e.message)))?;
        let doc = match docs.as_slice() {
            [d] => d,
            [] => {
                return Err(perr(
                    file,
                    Location::new(1, 1),
                    "the pipeline file is empty",
                ))
            }
            [_, second, ..] => {
                return Err(perr(
                    file,
                    second.location,
                    "a pipeline file must hold one YAML document",
                ))
            }
        };
        let mut p = Params::new(doc, file, "a processing pipeline")?;
        p.ignore(TOP_KEYS);
        if let Some((k, _)) = doc
            .as_map()
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| !TOP_KEYS.contains(&k.as_str().unwrap_or("")))
        {
            return Err(perr(
                file,
                k.location,
                format!(
                    "unknown key '{}' in the pipeline (allowed: {})",
                    k.scalar_text().unwrap_or_default(),
                    TOP_KEYS.join(", ")
                ),
            ));
        }
        let name = doc
            .get("name")
            .and_then(YamlNode::scalar_text)
            .unwrap_or_else(|| {
                file.and_then(|f| f.file_stem()).map_or_else(
                    || "pipeline".to_string(),
                    |s| s.to_string_lossy().into_owned(),
                )
            });
        let priority = match doc.get("priority") {
            None => 0,
            Some(n) => match n.value {
                YamlValue::Int(i) => i,
                YamlValue::Null => 0,
                _ => {
                    return Err(perr(
                        file,
                        n.location,
                        format!("'priority' must be an integer, found a {}", n.type_name()),
                    ))
                }
            },
        };
        let mut vars = BTreeMap::new();
        if let Some(n) = doc.get("vars") {
            let Some(entries) = n.as_map() else {
                return Err(perr(
                    file,
                    n.location,
                    "'vars' must be a mapping of names to values",
                ));
            };
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or_default();
                vars.insert(
                    key.clone(),
                    params::str_list(v, file, &format!("variable '{key}'"))?,
                );
            }
        }
        let list = |key: &str| -> Result<&[YamlNode], SigmaError> {
            match doc.get(key) {
                None => Ok(&[]),
                Some(YamlNode {
                    value: YamlValue::Seq(items),
                    ..
                }) => Ok(items),
                Some(YamlNode {
                    value: YamlValue::Null,
                    ..
                }) => Ok(&[]),
                Some(n) => Err(perr(
                    file,
                    n.location,
                    format!("'{key}' must be a list, found a {}", n.type_name()),
                )),
            }
        };
        let items = list("transformations")?
            .iter()
            .map(|n| parse_item(n, file))
            .collect::<Result<Vec<_>, _>>()?;
        let postprocessing = list("postprocessing")?
            .iter()
            .map(|n| parse_postprocessing(n, file))
            .collect::<Result<Vec<_>, _>>()?;
        let finalizers = list("finalizers")?
            .iter()
            .map(|n| parse_finalizer(n, file))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed_backends = match doc.get("allowed_backends") {
            Some(n) => params::str_list(n, file, "'allowed_backends'")?,
            None => Vec::new(),
        };
        Ok(Pipeline {
            name,
            priority,
            items,
            vars,
            postprocessing,
            finalizers,
            allowed_backends,
        })
    }

    /// Merges pipelines into one, ordered by ascending priority (stable for
    /// equal priorities), as pySigma's `ProcessingPipelineResolver` does.
    /// Later variables override earlier ones; the name joins the names with
    /// `+`; the priority is the lowest one.
    pub fn chain(mut pipelines: Vec<Pipeline>) -> Pipeline {
        pipelines.sort_by_key(|p| p.priority);
        let mut out = Pipeline::empty("");
        out.priority = pipelines.first().map_or(0, |p| p.priority);
        let mut names = Vec::new();
        for p in pipelines {
            names.push(p.name.clone());
            for (i, mut item) in p.items.into_iter().enumerate() {
                if item.id.is_none() {
                    // Keep the label of the item stable across chaining.
                    item.id = Some(format!("{}#{}", p.name, i + 1));
                }
                out.items.push(item);
            }
            out.postprocessing.extend(p.postprocessing);
            out.finalizers.extend(p.finalizers);
            out.vars.extend(p.vars);
            for b in p.allowed_backends {
                if !out.allowed_backends.contains(&b) {
                    out.allowed_backends.push(b);
                }
            }
        }
        out.name = names.join("+");
        out
    }

    /// Runs the pipeline over a copy of the rule.
    pub fn apply(&self, rule: &SigmaRule) -> Result<ProcessedRule, SigmaError> {
        apply::run(self, rule)
    }

    /// Runs the pipeline over a copy of a correlation rule. `referenced` are
    /// the (unprocessed) rules it correlates: a `logsource` rule condition
    /// holds when it holds for any of them, as in pySigma.
    pub fn apply_correlation(
        &self,
        rule: &CorrelationRule,
        referenced: &[&SigmaRule],
    ) -> Result<ProcessedCorrelation, SigmaError> {
        correlation::run(self, rule, referenced)
    }

    fn item_label(&self, item: &ProcessingItem, index: usize) -> String {
        item.id
            .clone()
            .unwrap_or_else(|| format!("{}#{}", self.name, index + 1))
    }
}

/// Parses one processing item (an element of `transformations:`).
fn parse_item(node: &YamlNode, file: Option<&Path>) -> Result<ProcessingItem, SigmaError> {
    let mut p = Params::new(node, file, "a processing item")?;
    let id = p.opt_str("id")?;
    let rule_conditions =
        parse_conditions(&mut p, "rule", "rule_conditions", parse_rule_condition)?;
    let detection_item_conditions = parse_conditions(
        &mut p,
        "detection_item",
        "detection_item_conditions",
        parse_item_condition,
    )?;
    let field_name_conditions = parse_conditions(
        &mut p,
        "field_name",
        "field_name_conditions",
        parse_field_condition,
    )?;
    let transformation = transform::parse_transformation(&mut p, &parse_item)?;
    p.finish()?;
    Ok(ProcessingItem {
        id,
        transformation,
        rule_conditions,
        detection_item_conditions,
        field_name_conditions,
        location: node.location,
    })
}

//! # sigma-backends: Sigma rules to Splunk and Elasticsearch queries
//!
//! This crate converts the typed rules of `sigma-core` into the query
//! languages of Splunk (SPL) and Elasticsearch (Lucene query string,
//! ES|QL, EQL), producing *the same text* as pySigma and its backends, so
//! that sigil can replace `sigma convert` in existing workflows.
//!
//! ## Design
//!
//! pySigma's `TextQueryBackend` is mostly a table: tokens for AND, OR and
//! NOT, a precedence order, quoting and escaping characters, and templates
//! for every kind of comparison. This crate keeps that shape.
//!
//! * [`syntax::Syntax`] is the table. Each target module
//!   (`targets::splunk`, `targets::lucene`, `targets::esql`,
//!   `targets::eql`) defines one static table.
//! * [`convert`] holds the *one* generic walker. It first rebuilds pySigma's
//!   post-processed condition tree ([`convert::Node`]) — a detection with a
//!   single item is not wrapped, a selector becomes an OR/AND of its
//!   detections, a list of values becomes an OR of field comparisons — and
//!   then renders it: grouping by precedence, in-lists, value dispatch,
//!   deferred parts.
//! * [`convert::Target`] is the override surface. Its methods default to
//!   the generic behaviour; a target overrides only what really differs
//!   (Splunk's deferred `| regex`, Lucene's `_exists_` rewriting, ES|QL's
//!   `starts_with`, EQL's `==` for IP addresses, …).
//! * Output formats (`savedsearches`, `kibana_ndjson`, `siem_rule`, …)
//!   are wrappers around finished queries ([`formats`]); JSON is written
//!   exactly as Python's `json.dumps` writes it ([`pyjson`]).
//! * Correlation rules ([`correlation`]) are assembled from the queries of
//!   the rules they reference, with pySigma's per-target templates (Splunk
//!   and ES|QL `stats`, EQL `sequence`/`sample`).
//! * Processing pipelines come from `sigma-core`: a rule is transformed by
//!   [`sigma_core::pipeline::Pipeline::apply`] before conversion, its
//!   queries go through the pipeline's postprocessing afterwards, and the
//!   pipeline's finalizers replace the plain rendering of a run.
//!
//! Exactness is measured, not assumed: `tests/oracle.rs` converts the
//! SigmaHQ corpus for the six target/pipeline combinations of pySigma's
//! recorded output and `tests/probes.rs` replays ~230 probe conversions;
//! both skip when `../shared` is absent.
//!
//! Values never escape their quoting: every literal character of a string
//! passes through the target's escape table, regular expressions escape
//! the target's delimiter and backslashes, and quoted field names escape
//! the quote. A rule the target cannot express is refused with a
//! [`RuleError`] naming the file, the rule and the reason; other rules
//! still convert.
//!
//! ## Example
//!
//! ```
//! use sigma_backends::Backend;
//! use sigma_core::{parse_str, Document};
//!
//! let set = parse_str(r#"
//! title: Whoami
//! logsource: {category: process_creation, product: windows}
//! detection:
//!     selection:
//!         Image|endswith: '\whoami.exe'
//!     condition: selection
//! "#, None);
//! let backend = Backend::new("splunk", "default").unwrap();
//! let out = backend.convert_document(&set.documents[0]).unwrap();
//! assert_eq!(out[0].to_string(), r#"Image="*\\whoami.exe""#);
//! ```
#![deny(missing_docs)]

pub mod convert;
pub mod correlation;
pub mod formats;
pub mod pyjson;
pub mod syntax;
pub mod targets;

use std::fmt;
use std::path::PathBuf;

use sigma_core::{
    ConditionExpr, CorrelationCondition, CorrelationRule, Document, RuleSet, SigmaRule,
};

pub use formats::Output;
use targets::TargetKind;

/// Why a construct cannot be converted (no rule context yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// The reason, in pySigma's words where pySigma refuses the same thing.
    pub message: String,
}

impl ConvertError {
    /// A new error.
    pub fn new(message: impl Into<String>) -> Self {
        ConvertError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConvertError {}

/// A refused rule: the file, the rule and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file, when known.
    pub file: Option<PathBuf>,
    /// The rule title.
    pub title: String,
    /// The rule id, when present.
    pub id: Option<String>,
    /// The reason.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<input>".to_string());
        write!(
            f,
            "{file}: cannot convert rule '{}': {}",
            self.title, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// Configuration errors: unknown target, format or pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A configured conversion: target, output format and pipelines.
pub struct Backend {
    kind: TargetKind,
    format: String,
    pipeline: Option<sigma_core::pipeline::Pipeline>,
}

impl Backend {
    /// A backend for `target` (`splunk`, `lucene`, `esql`, `eql`) and
    /// `format` (`default` or a target format, see [`Backend::formats`]).
    pub fn new(target: &str, format: &str) -> Result<Backend, ConfigError> {
        let kind = TargetKind::from_name(target).ok_or_else(|| {
            ConfigError(format!(
                "unknown target '{target}' (known: {})",
                TargetKind::NAMES.join(", ")
            ))
        })?;
        if !kind.formats().contains(&format) {
            return Err(ConfigError(format!(
                "target '{target}' has no format '{format}' (known: {})",
                kind.formats().join(", ")
            )));
        }
        Ok(Backend {
            kind,
            format: format.to_string(),
            pipeline: None,
        })
    }

    /// Adds processing pipelines (built-in names or YAML files), combined
    /// as pySigma's `sigma-cli` does (see
    /// [`Pipeline::resolve`](sigma_core::pipeline::Pipeline::resolve)).
    pub fn with_pipelines(mut self, names: &[String]) -> Result<Backend, ConfigError> {
        self.pipeline = sigma_core::pipeline::Pipeline::resolve(names).map_err(|e| {
            // `FILE[:LINE:COL]: MESSAGE`; the caller says it is an error.
            let file = e
                .file
                .as_ref()
                .map_or_else(String::new, |f| format!("{}: ", f.display()));
            ConfigError(match e.location.line {
                0 => format!("{file}{}", e.message),
                l => format!(
                    "{}:{l}:{}: {}",
                    file.trim_end_matches(": "),
                    e.location.column,
                    e.message
                ),
            })
        })?;
        Ok(self)
    }

    /// The formats of a target.
    pub fn formats(target: &str) -> Option<&'static [&'static str]> {
        TargetKind::from_name(target).map(|k| k.formats())
    }

    /// The target names.
    pub fn targets() -> &'static [&'static str] {
        TargetKind::NAMES
    }

    /// Renders the outputs of a run as sigma-cli prints them (queries
    /// separated by an empty line, JSON documents one per line, one
    /// `savedsearches.conf` text).
    /// Pipeline finalizers (`concat`, `json`, …) replace this rendering.
    pub fn render(&self, outputs: &[Output]) -> Result<String, ConvertError> {
        if let Some(p) = &self.pipeline {
            let texts: Vec<String> = outputs.iter().map(|o| o.to_string()).collect();
            if let Some(text) = p
                .finalize(&texts)
                .map_err(|e| ConvertError::new(e.to_string()))?
            {
                return Ok(text);
            }
        }
        Ok(formats::render(self.kind, &self.format, outputs))
    }

    /// The output format.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// Converts one document on its own. Filters produce nothing;
    /// correlation rules need their referenced rules (see
    /// [`Backend::convert_set`]) and are refused here.
    pub fn convert_document(&self, doc: &Document) -> Result<Vec<Output>, RuleError> {
        match doc {
            Document::Rule(rule) => self.convert_rule(rule),
            Document::Correlation(c) => self.convert_correlation(c, None),
            Document::Filter(_) => Ok(Vec::new()),
        }
    }

    /// Converts every document of a rule set in order, stopping at the first
    /// refusal (as sigma-cli does). Rules referenced by a correlation rule
    /// are not emitted on their own unless the correlation says
    /// `generate: true` (then they are emitted without output frame, as
    /// pySigma does).
    pub fn convert_set(&self, set: &RuleSet) -> Result<Vec<Output>, RuleError> {
        let mut out = Vec::new();
        for r in self.convert_each(set, set) {
            out.extend(r?);
        }
        Ok(out)
    }

    /// Converts every document of `docs`, one result per document; rule
    /// references of correlations are looked up in `all` (usually a set
    /// holding every loaded file).
    pub fn convert_each(
        &self,
        docs: &RuleSet,
        all: &RuleSet,
    ) -> Vec<Result<Vec<Output>, RuleError>> {
        self.convert_each_with(docs, all, &References::of(all))
    }

    /// [`Backend::convert_each`] with the correlation references of `all`
    /// computed once (for runs over many files).
    pub fn convert_each_with(
        &self,
        docs: &RuleSet,
        all: &RuleSet,
        refs: &References,
    ) -> Vec<Result<Vec<Output>, RuleError>> {
        self.convert_docs_with(&docs.documents, all, refs)
    }

    /// [`Backend::convert_each_with`] over a slice of documents (for
    /// callers that keep every loaded document in one set).
    pub fn convert_docs_with(
        &self,
        docs: &[Document],
        all: &RuleSet,
        refs: &References,
    ) -> Vec<Result<Vec<Output>, RuleError>> {
        let (hidden, generated) = (&refs.hidden, &refs.generated);
        docs.iter()
            .map(|doc| match doc {
                Document::Rule(rule) => {
                    let key = (rule.origin.file.clone(), rule.origin.document);
                    if generated.contains(&key) {
                        self.base_queries(rule)
                            .map(|(qs, _)| qs.into_iter().map(Output::Text).collect())
                    } else if hidden.contains(&key) {
                        Ok(Vec::new())
                    } else {
                        self.convert_rule(rule)
                    }
                }
                Document::Correlation(c) => self.convert_correlation(c, Some(all)),
                Document::Filter(_) => Ok(Vec::new()),
            })
            .collect()
    }

    /// Converts a correlation rule; `set` holds the referenced rules.
    pub fn convert_correlation(
        &self,
        c: &CorrelationRule,
        set: Option<&RuleSet>,
    ) -> Result<Vec<Output>, RuleError> {
        let wrap = |message: String| RuleError {
            file: c.origin.file.clone(),
            title: c.meta.title.clone(),
            id: c.meta.id.clone(),
            message,
        };
        if self.kind == TargetKind::Lucene {
            return Err(wrap("Backend does not support correlation rules.".into()));
        }
        let mut refs = Vec::new();
        let mut ref_rules: Vec<&SigmaRule> = Vec::new();
        let mut state = formats::PipelineState::new();
        for name in referenced_names(c) {
            let Some(Document::Rule(rule)) = set.and_then(|s| s.find(&name)) else {
                return Err(wrap(format!(
                    "the referenced rule '{name}' was not found among the loaded rules"
                )));
            };
            ref_rules.push(rule);
            let (queries, st) = self.base_queries(rule).map_err(|e| wrap(e.message))?;
            // ES|QL: the index list of the referenced rules ("*" when a
            // rule sets none), de-duplicated when the query is framed.
            let index = st
                .get("index")
                .cloned()
                .unwrap_or_else(|| serde_json::Value::String("*".into()));
            if self.kind == TargetKind::Esql {
                let list = state
                    .entry("index".to_string())
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let serde_json::Value::Array(items) = list {
                    items.push(index);
                }
            }
            refs.push(correlation::Referenced {
                rule_id: rule
                    .meta
                    .name
                    .clone()
                    .or_else(|| rule.meta.id.clone())
                    .unwrap_or(name),
                queries,
                fields: rule.meta.fields.clone(),
            });
        }
        let processed = match &self.pipeline {
            Some(p) => {
                let pc = p
                    .apply_correlation(c, &ref_rules)
                    .map_err(|e| wrap(e.to_string()))?;
                for (k, v) in pc.state {
                    if k != "index" {
                        state.insert(k, v);
                    }
                }
                std::borrow::Cow::Owned(pc.rule)
            }
            None => std::borrow::Cow::Borrowed(c),
        };
        let text = correlation::build(self.kind, self.kind.target().syntax(), &processed, &refs)
            .map_err(|e| wrap(e.message))?;
        formats::finalize(self.kind, &self.format, &c.meta, text, &state, true)
            .map(|o| vec![o])
            .map_err(|e| wrap(e.message))
    }

    /// The queries of a rule (pipeline transformations and query
    /// postprocessing applied, no output format) and the pipeline state.
    fn base_queries(
        &self,
        rule: &SigmaRule,
    ) -> Result<(Vec<String>, formats::PipelineState), RuleError> {
        let wrap = |message: String| RuleError {
            file: rule.origin.file.clone(),
            title: rule.meta.title.clone(),
            id: rule.meta.id.clone(),
            message,
        };
        let Some(p) = &self.pipeline else {
            let queries = targets::convert_queries(self.kind, rule).map_err(|e| wrap(e.message))?;
            return Ok((queries, Default::default()));
        };
        let processed = p.apply(rule).map_err(|e| wrap(e.to_string()))?;
        let queries = targets::convert_queries(self.kind, &processed.rule)
            .map_err(|e| wrap(e.message))?
            .into_iter()
            .map(|q| {
                p.postprocess(&processed, &q)
                    .map_err(|e| wrap(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((queries, processed.state))
    }

    /// Converts one detection rule (pipelines applied first).
    pub fn convert_rule(&self, rule: &SigmaRule) -> Result<Vec<Output>, RuleError> {
        let (queries, state) = self.base_queries(rule)?;
        queries
            .into_iter()
            .map(|q| formats::finalize(self.kind, &self.format, &rule.meta, q, &state, false))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RuleError {
                file: rule.origin.file.clone(),
                title: rule.meta.title.clone(),
                id: rule.meta.id.clone(),
                message: e.message,
            })
    }
}

/// Which rules of a rule set are referenced by correlation rules: those are
/// not emitted on their own, unless a correlation says `generate: true`.
#[derive(Debug, Default)]
pub struct References {
    hidden: std::collections::HashSet<(Option<PathBuf>, usize)>,
    generated: std::collections::HashSet<(Option<PathBuf>, usize)>,
}

impl References {
    /// Collects the references of every correlation rule of `all`.
    pub fn of(all: &RuleSet) -> References {
        let mut refs = References::default();
        for c in all.correlations() {
            for r in referenced_names(c) {
                if let Some(Document::Rule(rule)) = all.find(&r) {
                    let key = (rule.origin.file.clone(), rule.origin.document);
                    if c.correlation.generate {
                        refs.generated.insert(key);
                    } else {
                        refs.hidden.insert(key);
                    }
                }
            }
        }
        refs
    }
}

/// The rules a correlation refers to: `rules:`, or for an extended
/// temporal condition without `rules:` the identifiers of the condition.
fn referenced_names(c: &CorrelationRule) -> Vec<String> {
    if !c.correlation.rules.is_empty() {
        return c.correlation.rules.clone();
    }
    let mut out = Vec::new();
    if let CorrelationCondition::Expression { expr, .. } = &c.correlation.condition {
        collect_names(expr, &mut out);
    }
    out
}

fn collect_names(expr: &ConditionExpr, out: &mut Vec<String>) {
    expr.for_each_identifier(&mut |n| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    });
}

/// The Rust examples of `docs/convert.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/convert.md")]
pub struct ConvertDocTests;

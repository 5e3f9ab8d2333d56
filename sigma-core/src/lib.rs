//! # sigma-core: the Sigma rule model and parser
//!
//! This crate turns Sigma YAML into a typed, located syntax tree that every
//! other part of sigil builds on: the query backends (`sigma-backends`), the
//! in-process matcher (`sigma-hunt`) and the linter.
//!
//! ## Design
//!
//! * **Locations everywhere.** YAML is read into a [`yaml::YamlNode`] tree
//!   that carries the line and column of every node (via `serde-saphyr`,
//!   which is panic-free and enforces budgets against alias bombs and deep
//!   nesting). Every error is a [`SigmaError`] naming the file, line, column
//!   and the problem in plain words. The YAML subset rules actually use is
//!   read by a much faster dedicated reader that gives the same trees and
//!   leaves everything else (errors included) to `serde-saphyr`.
//! * **pySigma's semantics, typed.** Modifiers are applied eagerly and left
//!   to right with explicit type flow ([`modifiers`]), so an item's values are
//!   already [`Value`]s (strings with structured wildcards, regexes, CIDR
//!   networks, comparisons, …). The detection tree ([`detection`]) mirrors
//!   pySigma's grouping exactly, so backends can reproduce its output.
//! * **A real grammar for conditions.** [`condition`] uses `nom`; keywords
//!   are whole words, selectors are resolved at load time, and nesting is
//!   bounded.
//! * **Never stop at the first bad file.** [`load_paths`] reads everything
//!   and returns a [`RuleSet`] with all good documents and all errors.
//! * **Bounded work.** Inputs cannot make the loader allocate without
//!   limit: YAML budgets, a rule file size limit
//!   ([`collection::MAX_RULE_FILE_BYTES`]), at most 6 `windash` flag
//!   positions per value and 100,000 expanded alternatives per rule
//!   ([`modifiers::MAX_EXPANDED_VALUES`]); crossing one is a located error.
//! * **Pipelines are data.** [`pipeline`] reads pySigma's processing-pipeline
//!   YAML (with located errors for every mistake) and applies it to a typed
//!   rule, producing a transformed copy with pySigma's exact tree shapes so
//!   backends print pySigma's text; postprocessing and finalizers are
//!   applied by the backends to their queries. The same module exposes the
//!   Windows log-source routing table used by the matcher.
//! * **The linter works on the same trees.** [`lint`] runs pySigma's core
//!   validators (same ids and logic), SigmaHQ's conventions and sigil's own
//!   checks over loaded documents (values after modifiers) and, where the
//!   AST cannot tell, the located YAML; parse errors are findings and
//!   linting goes on. Findings render as text, JSON lines or SARIF
//!   ([`lint::report`]).
//!
//! ## Example
//!
//! ```
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
//! assert!(set.errors.is_empty());
//! let Document::Rule(rule) = &set.documents[0] else { unreachable!() };
//! assert_eq!(rule.meta.title, "Whoami");
//! assert_eq!(rule.detection.conditions[0].text, "selection");
//! ```
//!
//! From the command line, `sigil parse` loads files and folders, prints
//! every error as `FILE:LINE:COL: error: MESSAGE` and, with `--json`, each
//! document's syntax tree (run from the repository root):
//!
//! ```sh
//! cargo run --release -p sigma-cli -- parse --json rules/windows > rules.jsonl
//! ```
#![deny(missing_docs)]

pub mod collection;
pub mod condition;
pub mod detection;
pub mod error;
pub mod lint;
pub mod modifiers;
pub mod pipeline;
mod regex_check;
pub mod rule;
pub mod value;
pub mod yaml;

pub use collection::{load_file, load_paths, parse_str, rule_files, RuleSet};
pub use condition::{Condition, ConditionExpr, Quantifier};
pub use detection::{
    Detection, DetectionEntry, DetectionItem, Detections, ItemValue, Linking, SearchIdentifier,
};
pub use error::{ErrorKind, SigmaError};
pub use modifiers::Modifier;
pub use rule::{
    Correlation, CorrelationCondition, CorrelationOp, CorrelationRule, CorrelationType, Document,
    FilterRule, FilterTarget, Level, LogSource, Origin, RuleMeta, SigmaRule, Status, Tag, Timespan,
};
pub use value::{CompareOp, Number, RegexFlags, SigmaString, StrPart, TimePart, Value};
pub use yaml::Location;

/// The Rust examples of `docs/pipelines.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/pipelines.md")]
pub struct PipelinesDocTests;

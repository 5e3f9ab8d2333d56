//! # The Sigma linter behind `sigil lint`
//!
//! The linter checks rule files against three sets of rules:
//!
//! * **pySigma's core validators** (`sigma/validators/core`), under the same
//!   identifiers (`dangling_detection`, `escaped_wildcard`, `attacktag`, …)
//!   and with the same logic, so `sigil lint` and `sigma check` agree on the
//!   same corpus. pySigma's severities map as HIGH → [`Severity::Error`],
//!   MEDIUM → [`Severity::Warning`], LOW → [`Severity::Info`].
//! * **SigmaHQ's conventions** (the `sigmahq_*` checks of
//!   pySigma-validators-sigmaHQ that need no downloaded data: title, file
//!   name, description, dates, false positives, references, conditions).
//! * **sigil's own checks** for mistakes core pySigma accepts silently:
//!   `|all` with a single value, `null` inside a value list, `Field: []`,
//!   identifiers no condition can name, identifiers that pySigma's tokenizer
//!   splits (`notepad` → `not epad`), placeholders, regexes outside the
//!   specification's subset, out-of-range timestamp parts, and correlation
//!   and filter documents.
//!
//! ## Design
//!
//! * Loading is done by [`crate::load_file`]: every parse error becomes an
//!   error-level [`Finding`] (`parse_error`, or `dangling_condition` for a
//!   selector that matches nothing, as pySigma reports it) and linting
//!   continues with the other documents and files.
//! * Checks work on the typed AST (values after modifiers, exactly the data
//!   pySigma's validators see) and, where the AST cannot tell (an empty
//!   list, a comment), on the located YAML tree of [`crate::yaml`].
//! * Per-document checks run first; cross-file checks (duplicate ids,
//!   titles and file names) run once all files are loaded.
//! * Every check is listed in [`CHECKS`] with its default severity, origin
//!   and a one-line description (used for `--list`, SARIF rule metadata and
//!   the docs). [`LintConfig`] enables, disables, re-grades and configures
//!   checks and excludes them per rule id; inline comments
//!   (`# sigil-disable: id`, see [`config`]) silence them in a file.
//! * ATT&CK tags are checked against a table compiled into the binary
//!   ([`attack::AttackData::bundled`]) or loaded from a STIX bundle.

pub mod attack;
pub mod config;
mod core;
mod extra;
pub mod report;
mod sigmahq;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ErrorKind;
use crate::rule::Document;
use crate::yaml::{self, Location, YamlNode};
use crate::SigmaError;

pub use attack::AttackData;
pub use config::LintConfig;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Certainly wrong (pySigma HIGH). Makes `sigil lint` exit 1.
    Error,
    /// May misbehave (pySigma MEDIUM). Exit 1 only with `--strict`.
    Warning,
    /// Readability or a hint (pySigma LOW).
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses `error`/`warning`/`info` (also pySigma's `high`/`medium`/`low`).
    pub fn from_name(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "high" => Some(Severity::Error),
            "warning" | "medium" => Some(Severity::Warning),
            "info" | "low" | "note" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// Where a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOrigin {
    /// A pySigma core validator (same identifier).
    Pysigma,
    /// A SigmaHQ convention (pySigma-validators-sigmaHQ identifier).
    Sigmahq,
    /// A sigil check without a pySigma counterpart.
    Sigil,
}

/// Static description of one check.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CheckInfo {
    /// Identifier used in output, config files and inline comments.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Where the check comes from.
    pub origin: CheckOrigin,
    /// One-line description.
    pub summary: &'static str,
}

macro_rules! checks {
    ($($id:literal $sev:ident $origin:ident $summary:literal;)*) => {
        /// Every check the linter knows, in documentation order.
        pub const CHECKS: &[CheckInfo] = &[$(CheckInfo {
            id: $id,
            severity: Severity::$sev,
            origin: CheckOrigin::$origin,
            summary: $summary,
        }),*];
    };
}

checks! {
    "parse_error" Error Sigil "The file or document does not load (YAML, metadata, detection or condition error).";
    "dangling_detection" Error Pysigma "A detection is never referenced from any condition.";
    "dangling_condition" Error Pysigma "A '1 of'/'all of' pattern in the condition matches no detection.";
    "them_condition_with_single_detection" Info Pysigma "'them' is used while only one detection exists.";
    "all_of_them_condition" Warning Pysigma "'all of them' is discouraged; use 'all of selection*'.";
    "invalid_modifier_combinations" Error Pysigma "Field-bound 'all' without 'contains', 'base64offset' without 'contains', 'windash' with 'all' (errors), a modifier applied twice (warning).";
    "wildcards_instead_of_modifiers" Info Pysigma "Hand-written '*x*', '*x' or 'x*' where contains, endswith or startswith would do.";
    "double_wildcard" Info Pysigma "A string contains consecutive '**' wildcards.";
    "escaped_wildcard" Info Pysigma "A string contains an escaped wildcard (\\* or \\?); make sure it is intended.";
    "control_character" Error Pysigma "A string contains a control character, usually a missing backslash (\\t in double quotes).";
    "number_as_string" Info Pysigma "An integer was written as a quoted string.";
    "specific_instead_of_generic_logsource" Error Pysigma "A Sysmon or Security EventID is used where a generic log source category exists.";
    "fieldname_logsource" Error Pysigma "The logsource has a key other than category, product, service and definition.";
    "identifier_existence" Warning Pysigma "The rule has no 'id'.";
    "identifier_uniqueness" Error Pysigma "The same 'id' is used by several rules.";
    "duplicate_title" Error Pysigma "The same title is used by several rules.";
    "duplicate_filename" Error Pysigma "The same file name is used in several folders.";
    "filename_length" Error Pysigma "The file name is shorter or longer than allowed (10 to 90 characters by default).";
    "duplicate_references" Warning Pysigma "A reference appears more than once.";
    "custom_attributes" Warning Pysigma "A custom attribute looks like a typo of a standard one (realted, reference, ...).";
    "tag_format" Warning Pysigma "A tag does not match ^[a-z0-9_-]+\\.[a-z0-9._-]+$.";
    "namespace_tag" Warning Pysigma "A tag namespace is not one of attack, car, cve, d3fend, detection, stp, tlp.";
    "duplicate_tag" Warning Pysigma "A tag appears more than once.";
    "attacktag" Warning Pysigma "An attack.* tag is not a current ATT&CK tactic, technique, group, software or mitigation.";
    "cartag" Warning Pysigma "A car.* tag does not match car.NNNN-NN-NNN.";
    "cvetag" Warning Pysigma "A cve.* tag does not match cve.YYYY-NNNN.";
    "detection_tag" Warning Pysigma "A detection.* tag is not dfir, emerging-threats or threat-hunting.";
    "stptag" Warning Pysigma "An stp.* tag does not match stp.[1-5][auk]?.";
    "tlptag" Warning Pysigma "A tlp.* tag is not a TLP v1 or v2 label.";
    "tlpv1_tag" Warning Pysigma "A tlp.* tag is not a TLP v1 label (white, green, amber, red).";
    "tlpv2_tag" Warning Pysigma "A tlp.* tag is not a TLP v2 label (clear, green, amber, amber-strict, red).";
    "sigmahq_title_length" Warning Sigmahq "The title is longer than 120 characters.";
    "sigmahq_title_start" Warning Sigmahq "The title starts with 'Detect' or 'Detects'.";
    "sigmahq_title_end" Warning Sigmahq "The title ends with a dot.";
    "sigmahq_title_case" Warning Sigmahq "A title word is lowercase (Title Case is required, short words excepted).";
    "sigmahq_filename_convention" Warning Sigmahq "The file name is not [a-z0-9_]{10,90}.yml.";
    "sigmahq_correlation_filename_prefix" Warning Sigmahq "A correlation rule file name does not start with 'correlation_'.";
    "sigmahq_author_existence" Warning Sigmahq "The rule has no author.";
    "sigmahq_date_existence" Warning Sigmahq "The rule has no date.";
    "sigmahq_modified_without_date" Error Sigmahq "The rule has 'modified' but no 'date'.";
    "sigmahq_modified_date_order" Warning Sigmahq "'modified' is older than 'date'.";
    "sigmahq_redundant_modified" Warning Sigmahq "'modified' equals 'date'.";
    "sigmahq_description_existence" Warning Sigmahq "The rule has no description.";
    "sigmahq_description_length" Warning Sigmahq "The description is shorter than 16 characters.";
    "sigmahq_link_in_description" Warning Sigmahq "The description holds a link while 'references' is empty.";
    "sigmahq_level_existence" Warning Sigmahq "The rule has no level.";
    "sigmahq_status_existence" Warning Sigmahq "The rule has no status.";
    "sigmahq_status" Error Sigmahq "The status is deprecated or unsupported (such rules belong in their own folders).";
    "sigmahq_falsepositives_capital" Warning Sigmahq "A falsepositives entry does not start with a capital letter.";
    "sigmahq_falsepositives_banned_word" Warning Sigmahq "A falsepositives entry uses a banned word (none, pentest, penetration).";
    "sigmahq_falsepositives_typo_word" Warning Sigmahq "A falsepositives entry contains a common typo.";
    "sigmahq_github_link" Warning Sigmahq "A GitHub reference points at a branch instead of a commit.";
    "sigmahq_mitre_link" Warning Sigmahq "A reference points at attack.mitre.org instead of using an attack tag.";
    "sigmahq_fields_existence" Warning Sigmahq "The rule uses the deprecated 'fields' attribute.";
    "sigmahq_unknown_field" Warning Sigmahq "The rule has a custom attribute other than regression_tests_path and simulation.";
    "sigmahq_ofthem_condition" Info Sigmahq "' of them' is used with a single detection.";
    "sigmahq_ofselection_condition" Info Sigmahq "'1 of x_*' / 'all of x_*' matches fewer than two detections.";
    "sigmahq_missing_asterisk_condition" Warning Sigmahq "'1 of'/'all of' is followed by a name without '*'.";
    "sigmahq_space_field_name" Warning Sigmahq "A field name contains a space.";
    "sigmahq_invalid_all_modifier" Error Sigmahq "'|all' is used with fewer than two values.";
    "sigmahq_tags_unique_detection" Error Sigmahq "The rule has more than one detection.* tag.";
    "sigmahq_tags_detection" Info Sigmahq "A rule under rules-dfir/-emerging-threats/-threat-hunting lacks the matching detection.* tag.";
    "sigmahq_tags_unique_tlp" Error Sigmahq "The rule has more than one tlp.* tag.";
    "sigmahq_tags_tlp" Error Sigmahq "A TLP tag other than tlp.clear.";
    "sigmahq_tags_techniques_without_tactics" Warning Sigmahq "An ATT&CK technique tag without the tag of its tactic(s).";
    "sigmahq_correlation_rules_minimum" Error Sigmahq "A temporal correlation references fewer than two rules.";
    "sigmahq_correlation_group_by_existence" Error Sigmahq "An event_count, value_count or temporal correlation has no group-by.";
    "sigmahq_field_user" Error Sigmahq "A User field matches a localized account name (AUTORITE NT, NT AUTHORITY, ...).";
    "sigmahq_invalid_hash_kv" Error Sigmahq "A Hashes value is not TYPE=VALUE with MD5, SHA1, SHA256 or IMPHASH and a hex digest of the right length.";
    "sigmahq_field_duplicate_value" Error Sigmahq "A value list holds the same value twice.";
    "all_single_value" Warning Sigil "'|all' with a single value (the specification requires a list; pySigma accepts it).";
    "null_in_value_list" Warning Sigil "'null' inside a list of values (the specification forbids it; pySigma ORs it).";
    "empty_value_list" Warning Sigil "'Field: []' is read as 'Field: null' by pySigma; write null explicitly.";
    "unreachable_identifier" Warning Sigil "A detection name cannot be written in a condition (characters outside [A-Za-z0-9_.-]) or is only reachable by patterns.";
    "operator_prefixed_identifier" Warning Sigil "A detection name starts with and/or/not, which pySigma's tokenizer splits off ('notepad' -> 'not epad').";
    "unresolved_placeholder" Info Sigil "A value uses an '|expand' placeholder that needs a pipeline to resolve.";
    "regex_outside_spec" Info Sigil "A regular expression uses syntax outside the Sigma specification's PCRE subset.";
    "timestamp_part_range" Warning Sigil "A timestamp-part value is outside its range (minute 0-59, hour 0-23, ...).";
    "legacy_aggregation" Error Sigil "The condition uses a deprecated Sigma v1 aggregation ('| count()' or 'near').";
    "correlation_reference" Warning Sigil "A correlation lists a rule twice or has fewer rules than its type needs.";
    "filter_target" Info Sigil "A filter applies to every rule of its log source ('rules: any' or an empty list).";
}

/// Looks a check up by identifier.
pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CHECKS.iter().find(|c| c.id == id)
}

/// One problem found by the linter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check identifier (see [`CHECKS`]); `id` in JSON.
    #[serde(rename = "id")]
    pub check: String,
    /// The severity after configuration.
    pub severity: Severity,
    /// The file (absent for in-memory text).
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Plain-words description.
    pub message: String,
    /// The `id` of the rule the finding belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
}

/// Findings of a lint run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LintReport {
    /// Findings, sorted by file, line, column and check.
    pub findings: Vec<Finding>,
    /// Number of files read.
    pub files: usize,
    /// Number of documents that loaded.
    pub documents: usize,
}

impl LintReport {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Findings per check identifier.
    pub fn per_check(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.check.as_str()).or_insert(0) += 1;
        }
        m
    }
}

/// Collects the findings of one document.
pub(crate) struct Sink<'a> {
    file: Option<&'a Path>,
    rule_id: Option<&'a str>,
    out: Vec<Finding>,
}

impl<'a> Sink<'a> {
    fn new(file: Option<&'a Path>, rule_id: Option<&'a str>) -> Self {
        Sink {
            file,
            rule_id,
            out: Vec::new(),
        }
    }

    /// Records a finding with the check's default severity.
    pub(crate) fn emit(&mut self, check: &str, at: Location, message: impl Into<String>) {
        let sev = check_info(check).map_or(Severity::Warning, |c| c.severity);
        self.emit_with(check, sev, at, message);
    }

    /// Records a finding with an explicit severity.
    pub(crate) fn emit_with(
        &mut self,
        check: &str,
        severity: Severity,
        at: Location,
        message: impl Into<String>,
    ) {
        self.out.push(Finding {
            check: check.to_string(),
            severity,
            file: self.file.map(Path::to_path_buf),
            line: at.line.max(1),
            column: at.column.max(1),
            message: message.into(),
            rule_id: self.rule_id.map(str::to_string),
        });
    }
}

/// Everything a per-document check may look at.
pub(crate) struct DocCtx<'a> {
    /// The parsed document.
    pub doc: &'a Document,
    /// Its file.
    pub file: Option<&'a Path>,
    /// Its raw YAML mapping, when available.
    pub raw: Option<&'a YamlNode<'a>>,
    /// The configuration (per-check options).
    pub config: &'a LintConfig,
    /// ATT&CK data.
    pub attack: &'a AttackData,
}

/// The linter: configuration plus ATT&CK data.
#[derive(Debug, Clone, Default)]
pub struct Linter {
    /// Which checks run, how severe they are, their options.
    pub config: LintConfig,
    /// ATT&CK data for `attacktag`.
    pub attack: AttackData,
}

/// One loaded file: its documents, errors and text.
struct LoadedFile {
    path: Option<PathBuf>,
    text: Option<String>,
    docs: Vec<Document>,
    errors: Vec<SigmaError>,
}

impl Linter {
    /// A linter with the given configuration and the bundled ATT&CK data.
    pub fn new(config: LintConfig) -> Self {
        Linter {
            config,
            attack: AttackData::bundled(),
        }
    }

    /// Lints files and folders (folders recursively, `*.yml`/`*.yaml`).
    pub fn lint_paths<P: AsRef<Path>>(&self, paths: &[P]) -> LintReport {
        let mut files = Vec::new();
        let mut io_errors = Vec::new();
        for p in paths {
            match crate::rule_files(p.as_ref()) {
                Ok(list) => {
                    for f in list {
                        let set = crate::load_file(&f);
                        let text = std::fs::read_to_string(&f).ok();
                        files.push(LoadedFile {
                            path: Some(f),
                            text,
                            docs: set.documents,
                            errors: set.errors,
                        });
                    }
                }
                Err(e) => io_errors.push(e),
            }
        }
        let mut report = self.lint_loaded(files);
        for e in io_errors {
            report.findings.push(error_finding(&e, None));
        }
        report
    }

    /// Lints rule text held in memory (`file` only names it in findings
    /// and feeds the file-name checks).
    pub fn lint_str(&self, text: &str, file: Option<&Path>) -> LintReport {
        let set = crate::parse_str(text, file);
        self.lint_loaded(vec![LoadedFile {
            path: file.map(Path::to_path_buf),
            text: Some(text.to_string()),
            docs: set.documents,
            errors: set.errors,
        }])
    }

    fn lint_loaded(&self, files: Vec<LoadedFile>) -> LintReport {
        let mut report = LintReport {
            files: files.len(),
            ..LintReport::default()
        };
        let mut findings = Vec::new();
        let mut suppressions = Vec::new();
        for lf in &files {
            let raw_docs = lf
                .text
                .as_deref()
                .and_then(|t| yaml::parse_documents(t.strip_prefix('\u{feff}').unwrap_or(t)).ok())
                .unwrap_or_default();
            let supp = lf
                .text
                .as_deref()
                .map(config::Suppressions::parse)
                .unwrap_or_default();
            let start = findings.len();
            for e in &lf.errors {
                findings.push(error_finding(e, lf.path.as_deref()));
            }
            for doc in &lf.docs {
                report.documents += 1;
                let ctx = DocCtx {
                    doc,
                    file: lf.path.as_deref(),
                    raw: raw_docs.get(doc.origin().document),
                    config: &self.config,
                    attack: &self.attack,
                };
                let mut sink = Sink::new(lf.path.as_deref(), doc.meta().id.as_deref());
                core::check_document(&ctx, &mut sink);
                sigmahq::check_document(&ctx, &mut sink);
                extra::check_document(&ctx, &mut sink);
                findings.extend(sink.out);
            }
            suppressions.push((lf.path.clone(), supp, start..findings.len()));
        }
        let all_docs: Vec<&Document> = files.iter().flat_map(|f| f.docs.iter()).collect();
        let cross = core::check_collection(&all_docs);
        // Cross-file findings are subject to the suppressions of their file.
        let mut findings: Vec<Finding> = findings
            .into_iter()
            .enumerate()
            .filter(|(i, f)| {
                !suppressions
                    .iter()
                    .any(|(_, s, range)| range.contains(i) && s.suppresses(&f.check, f.line))
            })
            .map(|(_, f)| f)
            .collect();
        findings.extend(cross.into_iter().filter(|f| {
            !suppressions
                .iter()
                .any(|(p, s, _)| p.as_ref() == f.file.as_ref() && s.suppresses(&f.check, f.line))
        }));
        findings.retain_mut(|f| self.config.apply(f));
        findings.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.check, &a.message)
                .cmp(&(&b.file, b.line, b.column, &b.check, &b.message))
        });
        findings.dedup();
        report.findings = findings;
        report
    }
}

/// Turns a load error into a finding.
fn error_finding(e: &SigmaError, file: Option<&Path>) -> Finding {
    let check = match e.kind {
        ErrorKind::EmptySelector => "dangling_condition",
        _ => "parse_error",
    };
    Finding {
        check: check.to_string(),
        severity: Severity::Error,
        file: e.file.clone().or_else(|| file.map(Path::to_path_buf)),
        line: e.location.line.max(1),
        column: e.location.column.max(1),
        message: e.message.clone(),
        rule_id: None,
    }
}

/// Lints paths with a configuration and the bundled ATT&CK data.
pub fn lint_paths<P: AsRef<Path>>(paths: &[P], config: &LintConfig) -> LintReport {
    Linter::new(config.clone()).lint_paths(paths)
}

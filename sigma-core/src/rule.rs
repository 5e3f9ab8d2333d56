//! Rule documents: detection rules, correlation rules and filters, with
//! their metadata and log source.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::condition::{Condition, ConditionExpr};
use crate::detection::Detections;
use crate::error::{ErrorKind, SigmaError};
use crate::value::Number;
use crate::yaml::{Location, YamlNode, YamlValue};

/// Rule maturity (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `unsupported`
    Unsupported,
    /// `deprecated`
    Deprecated,
    /// `experimental`
    Experimental,
    /// `test`
    Test,
    /// `stable`
    Stable,
}

/// Rule severity (`level`), ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// Parses a level name case-insensitively.
    pub fn from_name(s: &str) -> Option<Level> {
        // Compared in place: no lowercase copy per rule.
        [
            Level::Informational,
            Level::Low,
            Level::Medium,
            Level::High,
            Level::Critical,
        ]
        .into_iter()
        .find(|v| v.name().eq_ignore_ascii_case(s))
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Status {
    /// Parses a status name case-insensitively.
    pub fn from_name(s: &str) -> Option<Status> {
        // Compared in place: no lowercase copy per rule.
        [
            Status::Stable,
            Status::Test,
            Status::Experimental,
            Status::Deprecated,
            Status::Unsupported,
        ]
        .into_iter()
        .find(|v| v.name().eq_ignore_ascii_case(s))
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

/// A tag such as `attack.t1059.001`: namespace before the first dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Tag {
    /// `attack`, `cve`, `tlp`, …
    pub namespace: String,
    /// The rest after the first dot.
    pub name: String,
    /// Where the tag was written.
    pub location: Location,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// A `related` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// The related rule id.
    pub id: String,
    /// The relation (`derived`, `obsolete`, `merged`, `renamed`, `similar`).
    pub kind: String,
}

/// Metadata shared by rules, correlations and filters.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RuleMeta {
    /// `title` (mandatory).
    pub title: String,
    /// `id` (a UUID).
    pub id: Option<String>,
    /// `name` (unique name used by correlations and filters).
    pub name: Option<String>,
    /// `related`.
    pub related: Vec<Related>,
    /// `taxonomy`.
    pub taxonomy: Option<String>,
    /// `status`.
    pub status: Option<Status>,
    /// `description`.
    pub description: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `date`, as written (`YYYY-MM-DD`, or legacy `YYYY/MM/DD`).
    pub date: Option<String>,
    /// `modified`, as written.
    pub modified: Option<String>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `tags`.
    pub tags: Vec<Tag>,
    /// `scope`.
    pub scope: Vec<String>,
    /// Any other top-level attribute, kept as JSON.
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Where each top-level key was written (for lint findings).
    pub key_locations: BTreeMap<String, Location>,
}

/// The `logsource` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LogSource {
    /// `category`.
    pub category: Option<String>,
    /// `product`.
    pub product: Option<String>,
    /// `service`.
    pub service: Option<String>,
    /// `definition` (free text).
    pub definition: Option<String>,
    /// Other keys.
    pub custom: BTreeMap<String, String>,
    /// Where it was written.
    pub location: Location,
}

impl LogSource {
    /// pySigma's containment: every field set in `self` equals the one in
    /// `other`.
    pub fn contains(&self, other: &LogSource) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
        eq(&self.category, &other.category)
            && eq(&self.product, &other.product)
            && eq(&self.service, &other.service)
    }
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Origin {
    /// The file, when loaded from one.
    pub file: Option<PathBuf>,
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    /// Where the document starts.
    pub location: Location,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigmaRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// Log source.
    pub logsource: LogSource,
    /// Detection section.
    pub detection: Detections,
}

/// Correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// Number of events per group.
    EventCount,
    /// Number of distinct values of a field per group.
    ValueCount,
    /// All referenced rules matched within the timespan.
    Temporal,
    /// As temporal, in the order of `rules`.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// Percentile of a numeric field.
    ValuePercentile,
    /// Median of a numeric field (pySigma extension).
    ValueMedian,
}

impl CorrelationType {
    /// Parses a type name case-insensitively.
    pub fn from_name(s: &str) -> Option<Self> {
        use CorrelationType::*;
        Some(match s.to_ascii_lowercase().as_str() {
            "event_count" => EventCount,
            "value_count" => ValueCount,
            "temporal" => Temporal,
            "temporal_ordered" => TemporalOrdered,
            "value_sum" => ValueSum,
            "value_avg" => ValueAvg,
            "value_percentile" => ValuePercentile,
            "value_median" => ValueMedian,
            _ => return None,
        })
    }

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        use CorrelationType::*;
        match self {
            EventCount => "event_count",
            ValueCount => "value_count",
            Temporal => "temporal",
            TemporalOrdered => "temporal_ordered",
            ValueSum => "value_sum",
            ValueAvg => "value_avg",
            ValuePercentile => "value_percentile",
            ValueMedian => "value_median",
        }
    }

    /// Whether the type aggregates a `field`.
    pub fn needs_field(self) -> bool {
        use CorrelationType::*;
        matches!(
            self,
            ValueCount | ValueSum | ValueAvg | ValuePercentile | ValueMedian
        )
    }
}

/// A threshold operator of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CorrelationOp {
    /// Whether `lhs op rhs` holds.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CorrelationOp::Gt => lhs > rhs,
            CorrelationOp::Gte => lhs >= rhs,
            CorrelationOp::Lt => lhs < rhs,
            CorrelationOp::Lte => lhs <= rhs,
            CorrelationOp::Eq => lhs == rhs,
            CorrelationOp::Neq => lhs != rhs,
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => CorrelationOp::Gt,
            "gte" => CorrelationOp::Gte,
            "lt" => CorrelationOp::Lt,
            "lte" => CorrelationOp::Lte,
            "eq" => CorrelationOp::Eq,
            "neq" => CorrelationOp::Neq,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            CorrelationOp::Gt => "gt",
            CorrelationOp::Gte => "gte",
            CorrelationOp::Lt => "lt",
            CorrelationOp::Lte => "lte",
            CorrelationOp::Eq => "eq",
            CorrelationOp::Neq => "neq",
        }
    }
}

/// A correlation timespan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timespan {
    /// As written (`5m`).
    pub text: String,
    /// In seconds.
    pub seconds: u64,
}

impl Timespan {
    /// Parses `<integer><unit>` with units s, m, h, d, w, M (month), y.
    pub fn parse(text: &str) -> Option<Timespan> {
        let unit = text.chars().last()?;
        let digits = &text[..text.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'M' => 2_629_746,
            'y' => 31_556_952,
            _ => return None,
        };
        Some(Timespan {
            text: text.to_string(),
            seconds: n.checked_mul(mult)?,
        })
    }
}

/// The condition of a correlation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorrelationCondition {
    /// Thresholds, AND-linked (a range has two).
    Threshold {
        /// The aggregated field(s), for the value_* types.
        field: Vec<String>,
        /// Operator and bound pairs.
        bounds: Vec<(CorrelationOp, Number)>,
        /// `percentile:` for value_percentile.
        percentile: Option<Number>,
    },
    /// A boolean expression over rule names (temporal types).
    Expression {
        /// The expression text.
        text: String,
        /// The parsed expression (identifiers are rule names/ids).
        expr: ConditionExpr,
    },
}

/// A field alias across the correlated rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrelationAlias {
    /// The alias name used in `group-by`.
    pub name: String,
    /// Rule reference → field in that rule's events.
    pub fields: Vec<(String, String)>,
}

/// The `correlation` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// The type.
    pub kind: CorrelationType,
    /// Referenced rules (ids or names).
    pub rules: Vec<String>,
    /// Grouping fields.
    pub group_by: Vec<String>,
    /// The time window.
    pub timespan: Option<Timespan>,
    /// The condition.
    pub condition: CorrelationCondition,
    /// Field aliases.
    pub aliases: Vec<CorrelationAlias>,
    /// Whether referenced rules also produce their own output.
    pub generate: bool,
    /// Where `correlation:` starts.
    pub location: Location,
}

/// A correlation rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// The correlation.
    pub correlation: Correlation,
}

/// Which rules a filter applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "rules", rename_all = "snake_case")]
pub enum FilterTarget {
    /// Every rule with a matching log source.
    Any,
    /// The listed rule ids or names.
    Rules(Vec<String>),
}

/// A filter (meta filter) document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterRule {
    /// Where it came from.
    pub origin: Origin,
    /// Metadata.
    pub meta: RuleMeta,
    /// The log source the filter applies to.
    pub logsource: LogSource,
    /// The targeted rules.
    pub target: FilterTarget,
    /// The filter's detections and condition.
    pub detection: Detections,
}

/// Any Sigma document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Document {
    /// A detection rule.
    Rule(SigmaRule),
    /// A correlation rule.
    Correlation(CorrelationRule),
    /// A filter.
    Filter(FilterRule),
}

impl Document {
    /// The metadata.
    pub fn meta(&self) -> &RuleMeta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(r) => &r.meta,
            Document::Filter(r) => &r.meta,
        }
    }

    /// The origin.
    pub fn origin(&self) -> &Origin {
        match self {
            Document::Rule(r) => &r.origin,
            Document::Correlation(r) => &r.origin,
            Document::Filter(r) => &r.origin,
        }
    }

    /// `rule`, `correlation` or `filter`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Document::Rule(_) => "rule",
            Document::Correlation(_) => "correlation",
            Document::Filter(_) => "filter",
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

fn err(kind: ErrorKind, loc: Location, msg: impl Into<String>) -> SigmaError {
    SigmaError::new(kind, loc, msg)
}

fn expect_string(node: &YamlNode, key: &str, errors: &mut Vec<SigmaError>) -> Option<String> {
    match &node.value {
        YamlValue::String(s) => Some(s.to_string()),
        _ => {
            errors.push(err(
                ErrorKind::WrongType,
                node.location,
                format!("'{key}' must be a string, found a {}", node.type_name()),
            ));
            None
        }
    }
}

fn expect_string_list(node: &YamlNode, key: &str, errors: &mut Vec<SigmaError>) -> Vec<String> {
    match &node.value {
        YamlValue::Seq(items) => items
            .iter()
            .filter_map(|i| match i.scalar_text() {
                Some(s) => Some(s),
                None if i.value == YamlValue::Null => None,
                None => {
                    errors.push(err(
                        ErrorKind::WrongType,
                        i.location,
                        format!(
                            "entries of '{key}' must be strings, found a {}",
                            i.type_name()
                        ),
                    ));
                    None
                }
            })
            .collect(),
        YamlValue::Null => Vec::new(),
        _ => {
            errors.push(err(
                ErrorKind::WrongType,
                node.location,
                format!("'{key}' must be a list, found a {}", node.type_name()),
            ));
            Vec::new()
        }
    }
}

/// True when `s` is a UUID (hyphenated, or 32 hex digits, optionally in
/// braces or with a `urn:uuid:` prefix, as Python's `uuid.UUID` accepts).
pub fn is_uuid(s: &str) -> bool {
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    // 32 hex digits once the hyphens are left out (checked without copying).
    let digits = s.bytes().filter(|&b| b != b'-');
    if digits.clone().count() != 32 || !digits.clone().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    if s.contains('-') {
        let mut groups = s.split('-').map(str::len);
        return [8, 4, 4, 4, 12].iter().all(|&n| groups.next() == Some(n))
            && groups.next().is_none();
    }
    true
}

/// True for `YYYY-MM-DD` or the legacy `YYYY/M/D` (year 1000–3999).
pub fn is_valid_date(s: &str) -> bool {
    let sep = if s.contains('-') { '-' } else { '/' };
    // Exactly three parts, read without collecting them.
    let mut split = s.split(sep);
    let (Some(y), Some(m), Some(d), None) =
        (split.next(), split.next(), split.next(), split.next())
    else {
        return false;
    };
    let parts = [y, m, d];
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if sep == '-' && (parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2) {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        parts[0].parse::<u32>(),
        parts[1].parse::<u32>(),
        parts[2].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1000..=3999).contains(&y) && d >= 1 && d <= days
}

/// Keys that are structure, not metadata.
const STRUCTURAL: &[&str] = &["logsource", "detection", "correlation", "filter", "action"];

/// Parses the metadata keys of a document.
pub fn parse_meta(doc: &YamlNode, errors: &mut Vec<SigmaError>) -> RuleMeta {
    let mut meta = RuleMeta::default();
    let Some(entries) = doc.as_map() else {
        return meta;
    };
    let mut title_seen = false;
    for (k, v) in entries {
        // String keys (all of them, in practice) are borrowed, not copied.
        let Some(key) = k.scalar_str() else {
            errors.push(err(
                ErrorKind::WrongType,
                k.location,
                "attribute names must be strings",
            ));
            continue;
        };
        let key: &str = &key;
        meta.key_locations.insert(key.to_owned(), k.location);
        match key {
            "title" => {
                title_seen = true;
                if let Some(t) = expect_string(v, "title", errors) {
                    if t.chars().count() > 256 {
                        errors.push(err(
                            ErrorKind::InvalidMetadata,
                            v.location,
                            "'title' is longer than 256 characters",
                        ));
                    }
                    meta.title = t;
                }
            }
            "id" => {
                if let Some(id) = v.scalar_text() {
                    if !is_uuid(&id) {
                        errors.push(err(
                            ErrorKind::InvalidMetadata,
                            v.location,
                            format!("'id' must be a UUID, found '{id}'"),
                        ));
                    }
                    meta.id = Some(id);
                } else {
                    errors.push(err(
                        ErrorKind::WrongType,
                        v.location,
                        format!("'id' must be a string, found a {}", v.type_name()),
                    ));
                }
            }
            "name" => meta.name = expect_string(v, "name", errors),
            "taxonomy" => meta.taxonomy = expect_string(v, "taxonomy", errors),
            "description" => meta.description = expect_string(v, "description", errors),
            "license" => meta.license = expect_string(v, "license", errors),
            "author" => meta.author = expect_string(v, "author", errors),
            "status" => {
                if let Some(s) = expect_string(v, "status", errors) {
                    match Status::from_name(&s) {
                        Some(st) => meta.status = Some(st),
                        None => errors.push(err(ErrorKind::InvalidMetadata, v.location, format!(
                            "unknown status '{s}' (expected stable, test, experimental, deprecated or unsupported)"
                        ))),
                    }
                }
            }
            "level" => {
                if let Some(s) = expect_string(v, "level", errors) {
                    match Level::from_name(&s) {
                        Some(l) => meta.level = Some(l),
                        None => errors.push(err(ErrorKind::InvalidMetadata, v.location, format!(
                            "unknown level '{s}' (expected informational, low, medium, high or critical)"
                        ))),
                    }
                }
            }
            "date" | "modified" => {
                if let Some(d) = v.scalar_text() {
                    if !is_valid_date(&d) {
                        errors.push(err(
                            ErrorKind::InvalidMetadata,
                            v.location,
                            format!("'{key}' must be a date (YYYY-MM-DD), found '{d}'"),
                        ));
                    }
                    if key == "date" {
                        meta.date = Some(d)
                    } else {
                        meta.modified = Some(d)
                    }
                } else {
                    errors.push(err(
                        ErrorKind::WrongType,
                        v.location,
                        format!("'{key}' must be a date string, found a {}", v.type_name()),
                    ));
                }
            }
            "references" => meta.references = expect_string_list(v, "references", errors),
            "fields" => meta.fields = expect_string_list(v, "fields", errors),
            "falsepositives" => {
                meta.falsepositives = expect_string_list(v, "falsepositives", errors)
            }
            "scope" => meta.scope = expect_string_list(v, "scope", errors),
            "tags" => {
                if let YamlValue::Seq(items) = &v.value {
                    for t in items {
                        match t.scalar_text() {
                            Some(text) => match text.split_once('.') {
                                Some((ns, name)) => meta.tags.push(Tag { namespace: ns.to_string(), name: name.to_string(), location: t.location }),
                                None => errors.push(err(ErrorKind::InvalidMetadata, t.location, format!("tag '{text}' has no namespace (expected namespace.name, e.g. attack.t1059)"))),
                            },
                            None => errors.push(err(ErrorKind::WrongType, t.location, "tags must be strings")),
                        }
                    }
                } else if v.value != YamlValue::Null {
                    errors.push(err(
                        ErrorKind::WrongType,
                        v.location,
                        format!("'tags' must be a list, found a {}", v.type_name()),
                    ));
                }
            }
            "related" => {
                if let YamlValue::Seq(items) = &v.value {
                    for r in items {
                        let id = r.get("id").and_then(|n| n.scalar_text());
                        let kind = r.get("type").and_then(|n| n.scalar_text());
                        match (id, kind) {
                            (Some(id), Some(kind)) => {
                                let kind = kind.to_ascii_lowercase();
                                if ![
                                    "derived",
                                    "obsolete",
                                    "obsoletes",
                                    "merged",
                                    "renamed",
                                    "similar",
                                    "correlation",
                                ]
                                .contains(&kind.as_str())
                                {
                                    errors.push(err(
                                        ErrorKind::InvalidMetadata,
                                        r.location,
                                        format!("unknown related type '{kind}'"),
                                    ));
                                }
                                meta.related.push(Related { id, kind });
                            }
                            _ => errors.push(err(
                                ErrorKind::InvalidMetadata,
                                r.location,
                                "each 'related' entry needs an 'id' and a 'type'",
                            )),
                        }
                    }
                } else {
                    errors.push(err(
                        ErrorKind::WrongType,
                        v.location,
                        format!("'related' must be a list, found a {}", v.type_name()),
                    ));
                }
            }
            k if STRUCTURAL.contains(&k) => {}
            _ => {
                meta.custom.insert(key.to_owned(), v.to_json());
            }
        }
    }
    if !title_seen {
        errors.push(err(
            ErrorKind::MissingField,
            doc.location,
            "the document has no 'title'",
        ));
    }
    meta
}

/// Parses a `logsource` mapping.
pub fn parse_logsource(node: &YamlNode, errors: &mut Vec<SigmaError>) -> LogSource {
    let mut ls = LogSource {
        location: node.location,
        ..LogSource::default()
    };
    let Some(entries) = node.as_map() else {
        errors.push(err(
            ErrorKind::Logsource,
            node.location,
            format!(
                "'logsource' must be a mapping, found a {}",
                node.type_name()
            ),
        ));
        return ls;
    };
    for (k, v) in entries {
        // Borrowed: only unknown keys are copied (into `custom`).
        let key = k.scalar_str().unwrap_or_default();
        let Some(text) = v.scalar_text() else {
            if v.value != YamlValue::Null {
                errors.push(err(
                    ErrorKind::Logsource,
                    v.location,
                    format!(
                        "logsource '{key}' must be a string, found a {}",
                        v.type_name()
                    ),
                ));
            }
            continue;
        };
        match &*key {
            "category" => ls.category = Some(text),
            "product" => ls.product = Some(text),
            "service" => ls.service = Some(text),
            "definition" => ls.definition = Some(text),
            _ => {
                ls.custom.insert(key.into_owned(), text);
            }
        }
    }
    if ls.category.is_none() && ls.product.is_none() && ls.service.is_none() {
        errors.push(err(
            ErrorKind::Logsource,
            node.location,
            "the logsource needs at least one of category, product or service",
        ));
    }
    ls
}

/// Parses a detection rule document.
pub fn parse_rule(doc: &YamlNode, origin: Origin) -> Result<SigmaRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let logsource = match doc.get("logsource") {
        Some(n) => parse_logsource(n, &mut errors),
        None => {
            errors.push(err(
                ErrorKind::MissingField,
                doc.location,
                "the rule has no 'logsource'",
            ));
            LogSource::default()
        }
    };
    let detection = match doc.get("detection") {
        Some(n) => match Detections::parse(n) {
            Ok(d) => Some(d),
            Err(mut es) => {
                errors.append(&mut es);
                None
            }
        },
        None => {
            errors.push(err(
                ErrorKind::MissingField,
                doc.location,
                "the rule has no 'detection'",
            ));
            None
        }
    };
    match detection {
        Some(detection) if errors.is_empty() => Ok(SigmaRule {
            origin,
            meta,
            logsource,
            detection,
        }),
        _ => Err(errors),
    }
}

fn string_or_list(node: &YamlNode, key: &str, errors: &mut Vec<SigmaError>) -> Vec<String> {
    match &node.value {
        YamlValue::String(s) => vec![s.to_string()],
        _ => expect_string_list(node, key, errors),
    }
}

/// Parses a correlation rule document.
pub fn parse_correlation(
    doc: &YamlNode,
    origin: Origin,
) -> Result<CorrelationRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let Some(c) = doc.get("correlation") else {
        return Err(vec![err(
            ErrorKind::MissingField,
            doc.location,
            "no 'correlation' section",
        )]);
    };
    if c.as_map().is_none() {
        return Err(vec![err(
            ErrorKind::Correlation,
            c.location,
            format!("'correlation' must be a mapping, found a {}", c.type_name()),
        )]);
    }
    let kind = match c.get("type").and_then(|t| t.scalar_text()) {
        Some(t) => match CorrelationType::from_name(&t) {
            Some(k) => Some(k),
            None => {
                errors.push(err(ErrorKind::Correlation, c.get("type").map_or(c.location, |n| n.location), format!(
                    "unknown correlation type '{t}' (expected event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile or value_median)"
                )));
                None
            }
        },
        None => {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                "the correlation has no 'type'",
            ));
            None
        }
    };
    let rules = c
        .get("rules")
        .map(|n| string_or_list(n, "rules", &mut errors))
        .unwrap_or_default();
    let group_by = c
        .get("group-by")
        .map(|n| string_or_list(n, "group-by", &mut errors))
        .unwrap_or_default();
    let timespan = match c.get("timespan") {
        Some(n) => match n.scalar_text().and_then(|t| Timespan::parse(&t)) {
            Some(ts) => Some(ts),
            None => {
                errors.push(err(ErrorKind::Correlation, n.location, format!(
                    "invalid timespan '{}' (expected an integer and a unit: s, m, h, d, w, M or y, e.g. 90m)",
                    n.scalar_text().unwrap_or_default()
                )));
                None
            }
        },
        None => None,
    };
    let generate = match c.get("generate") {
        Some(YamlNode {
            value: YamlValue::Bool(b),
            ..
        }) => *b,
        Some(n) => {
            errors.push(err(
                ErrorKind::WrongType,
                n.location,
                "'generate' must be true or false",
            ));
            false
        }
        None => false,
    };
    let mut aliases = Vec::new();
    if let Some(a) = c.get("aliases") {
        match a.as_map() {
            Some(entries) => {
                for (name, map) in entries {
                    let fields = map
                        .as_map()
                        .map(|m| {
                            m.iter()
                                .filter_map(|(r, f)| Some((r.scalar_text()?, f.scalar_text()?)))
                                .collect()
                        })
                        .unwrap_or_default();
                    aliases.push(CorrelationAlias {
                        name: name.scalar_text().unwrap_or_default(),
                        fields,
                    });
                }
            }
            None => errors.push(err(
                ErrorKind::Correlation,
                a.location,
                "'aliases' must be a mapping",
            )),
        }
    }
    let condition = match c.get("condition") {
        Some(n) => match &n.value {
            YamlValue::String(text) => {
                // A boolean expression over rule names (temporal extension).
                let mut names: Vec<&str> = rules.iter().map(String::as_str).collect();
                let mut extra = Vec::new();
                if rules.is_empty() {
                    extra = text
                        .split(|ch: char| {
                            !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.')
                        })
                        .filter(|w| !w.is_empty() && !["and", "or", "not"].contains(w))
                        .map(str::to_string)
                        .collect();
                }
                names.extend(extra.iter().map(String::as_str));
                match Condition::parse(text, n.location, &names) {
                    Ok(cond) => Some(CorrelationCondition::Expression {
                        text: text.to_string(),
                        expr: cond.expr,
                    }),
                    Err(e) => {
                        errors.push(err(ErrorKind::Correlation, e.location, e.message));
                        None
                    }
                }
            }
            YamlValue::Map(entries) => {
                let mut field = Vec::new();
                let mut bounds = Vec::new();
                let mut percentile = None;
                for (k, v) in entries {
                    let key = k.scalar_text().unwrap_or_default();
                    if key == "field" {
                        field = string_or_list(v, "field", &mut errors);
                    } else if key == "percentile" {
                        percentile = number_of(v);
                    } else if let Some(op) = CorrelationOp::from_name(&key) {
                        match number_of(v) {
                            Some(num) => bounds.push((op, num)),
                            None => errors.push(err(
                                ErrorKind::Correlation,
                                v.location,
                                format!("the '{key}' threshold must be a number"),
                            )),
                        }
                    } else {
                        errors.push(err(ErrorKind::Correlation, k.location, format!(
                            "unknown correlation condition operator '{key}' (expected gt, gte, lt, lte, eq, neq or field)"
                        )));
                    }
                }
                Some(CorrelationCondition::Threshold {
                    field,
                    bounds,
                    percentile,
                })
            }
            _ => {
                errors.push(err(ErrorKind::Correlation, n.location, "the correlation condition must be a mapping (or, for temporal types, an expression)"));
                None
            }
        },
        None => None,
    };
    let Some(kind) = kind else { return Err(errors) };
    let condition = match condition {
        Some(c) => c,
        None if matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        ) =>
        {
            CorrelationCondition::Threshold {
                field: Vec::new(),
                bounds: vec![(CorrelationOp::Gte, Number::Int(rules.len() as i64))],
                percentile: None,
            }
        }
        None => {
            if !errors.iter().any(|e| e.kind == ErrorKind::Correlation) {
                errors.push(err(
                    ErrorKind::Correlation,
                    c.location,
                    format!("a {} correlation needs a 'condition'", kind.name()),
                ));
            }
            return Err(errors);
        }
    };
    if let CorrelationCondition::Threshold { field, bounds, .. } = &condition {
        if bounds.is_empty() {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                "the correlation condition has no threshold (gt, gte, lt, lte, eq or neq)",
            ));
        }
        if kind.needs_field() && field.is_empty() {
            errors.push(err(
                ErrorKind::Correlation,
                c.location,
                format!(
                    "a {} correlation needs 'field' in its condition",
                    kind.name()
                ),
            ));
        }
    }
    if rules.is_empty() && !matches!(condition, CorrelationCondition::Expression { .. }) {
        errors.push(err(
            ErrorKind::Correlation,
            c.location,
            "the correlation lists no 'rules'",
        ));
    }
    if timespan.is_none() && !errors.iter().any(|e| e.message.contains("timespan")) {
        errors.push(err(
            ErrorKind::Correlation,
            c.location,
            "the correlation has no 'timespan'",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CorrelationRule {
        origin,
        meta,
        correlation: Correlation {
            kind,
            rules,
            group_by,
            timespan,
            condition,
            aliases,
            generate,
            location: c.location,
        },
    })
}

fn number_of(n: &YamlNode) -> Option<Number> {
    match n.value {
        YamlValue::Int(i) => Some(Number::Int(i)),
        YamlValue::Float(f) => Some(Number::Float(f)),
        _ => None,
    }
}

/// Parses a filter document.
pub fn parse_filter(doc: &YamlNode, origin: Origin) -> Result<FilterRule, Vec<SigmaError>> {
    let mut errors = Vec::new();
    let meta = parse_meta(doc, &mut errors);
    let logsource = match doc.get("logsource") {
        Some(n) => parse_logsource(n, &mut errors),
        None => {
            errors.push(err(
                ErrorKind::MissingField,
                doc.location,
                "the filter has no 'logsource'",
            ));
            LogSource::default()
        }
    };
    let Some(f) = doc.get("filter") else {
        return Err(vec![err(
            ErrorKind::MissingField,
            doc.location,
            "no 'filter' section",
        )]);
    };
    let target = match f.get("rules") {
        None => {
            errors.push(err(
                ErrorKind::Filter,
                f.location,
                "the filter has no 'rules' (use 'any' for every rule)",
            ));
            FilterTarget::Any
        }
        Some(n) => match &n.value {
            YamlValue::String(s) if s.eq_ignore_ascii_case("any") => FilterTarget::Any,
            YamlValue::Seq(items) if items.is_empty() => FilterTarget::Any,
            _ => FilterTarget::Rules(string_or_list(n, "rules", &mut errors)),
        },
    };
    // The filter section minus `rules` is a detection section.
    let mut det_entries = Vec::new();
    if let Some(entries) = f.as_map() {
        for (k, v) in entries {
            if k.as_str() != Some("rules") {
                det_entries.push((k.clone(), v.clone()));
            }
        }
    }
    let det_node = YamlNode::new(YamlValue::Map(det_entries), f.location);
    let detection = match Detections::parse(&det_node) {
        Ok(d) => Some(d),
        Err(mut es) => {
            errors.append(&mut es);
            None
        }
    };
    match detection {
        Some(detection) if errors.is_empty() => Ok(FilterRule {
            origin,
            meta,
            logsource,
            target,
            detection,
        }),
        _ => Err(errors),
    }
}

//! Rule metadata: status, level, tags, `related`, and the metadata parser.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::fields::{err, expect_string, expect_string_list};
use crate::error::{ErrorKind, SigmaError};
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

//! pySigma's core validators (`sigma/validators/core/*.py`), same
//! identifiers and logic. Values are inspected after modifiers were
//! applied, as pySigma does; expansions (`windash`, `base64offset`) are not
//! descended into, as in pySigma.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use std::sync::LazyLock;

use regex::Regex;

use super::{DocCtx, Finding, Severity, Sink};
use crate::detection::{Detection, DetectionEntry, DetectionItem, Detections};
use crate::modifiers::Modifier;
use crate::rule::{Document, LogSource};
use crate::value::{SigmaString, StrPart, Value};
use crate::yaml::Location;

/// The detections of a rule or filter.
pub(crate) fn detections(doc: &Document) -> Option<&Detections> {
    match doc {
        Document::Rule(r) => Some(&r.detection),
        Document::Filter(f) => Some(&f.detection),
        Document::Correlation(_) => None,
    }
}

/// Calls `f` on every detection item of a detection, depth first.
pub(crate) fn walk_items<'a>(d: &'a Detection, f: &mut impl FnMut(&'a DetectionItem)) {
    for e in &d.entries {
        match e {
            DetectionEntry::Item(i) => f(i),
            DetectionEntry::Group(g) => walk_items(g, f),
        }
    }
}

/// Every detection item of a rule or filter.
pub(crate) fn all_items(doc: &Document) -> Vec<&DetectionItem> {
    let mut out = Vec::new();
    if let Some(d) = detections(doc) {
        for s in &d.searches {
            walk_items(&s.detection, &mut |i| out.push(i));
        }
    }
    out
}

/// The text of a string for messages, wildcards shown as written.
pub(crate) fn show(s: &SigmaString) -> String {
    let mut out = String::new();
    for p in &s.parts {
        match p {
            StrPart::Literal(t) => {
                for c in t.chars() {
                    match c {
                        '*' | '?' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        c if (c as u32) < 0x20 => out.push_str(&c.escape_default().to_string()),
                        c => out.push(c),
                    }
                }
            }
            StrPart::AnyChars => out.push('*'),
            StrPart::AnyChar => out.push('?'),
            StrPart::Placeholder(n) => {
                out.push('%');
                out.push_str(n);
                out.push('%');
            }
        }
    }
    out
}

/// Python's `int()` on a string: optional whitespace and sign, digits with
/// single underscores between them.
fn python_int(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    !t.is_empty()
        && !t.starts_with('_')
        && !t.ends_with('_')
        && !t.contains("__")
        && t.chars().all(|c| c.is_numeric() || c == '_')
}

fn string_checks(item: &DetectionItem, sink: &mut Sink) {
    for v in &item.values {
        let Value::String { value: s, .. } = &v.value else {
            continue;
        };
        let shown = show(s);
        let mut prev_any = false;
        for p in &s.parts {
            if *p == StrPart::AnyChars && prev_any {
                sink.emit(
                    "double_wildcard",
                    v.location,
                    format!("'{shown}' contains consecutive '*' wildcards"),
                );
                break;
            }
            prev_any = *p == StrPart::AnyChars;
        }
        let literals = || {
            s.parts.iter().filter_map(|p| match p {
                StrPart::Literal(t) => Some(t.as_str()),
                _ => None,
            })
        };
        if literals().any(|t| t.contains(['*', '?'])) {
            sink.emit(
                "escaped_wildcard",
                v.location,
                format!("'{shown}' contains an escaped wildcard; make sure the escape is intended"),
            );
        }
        if literals().any(|t| t.chars().any(|c| (c as u32) < 0x20)) {
            sink.emit(
                "control_character",
                v.location,
                format!("'{shown}' contains a control character, likely a missing backslash (write '\\\\' or use single quotes)"),
            );
        }
        if let [StrPart::Literal(t)] = s.parts.as_slice() {
            if !t.contains(' ') && python_int(t) {
                sink.emit(
                    "number_as_string",
                    v.location,
                    format!("the number {t} is written as a string"),
                );
            }
        }
    }
}

fn modifier_checks(item: &DetectionItem, sink: &mut Sink) {
    let has = |m: Modifier| item.modifiers.contains(&m);
    let at = item.location;
    if item.field.is_some() && has(Modifier::All) && !has(Modifier::Contains) {
        sink.emit_with("invalid_modifier_combinations", Severity::Error, at,
            "a field-bound 'all' modifier without 'contains' matches nothing (one field cannot equal several values)");
    }
    if has(Modifier::Base64Offset) && !has(Modifier::Contains) {
        sink.emit_with("invalid_modifier_combinations", Severity::Error, at,
            "'base64offset' must be followed by 'contains': the encoded values are surrounded by other characters");
    }
    if has(Modifier::WinDash) && has(Modifier::All) {
        sink.emit_with(
            "invalid_modifier_combinations",
            Severity::Error,
            at,
            "'windash' cannot be combined with 'all': the dash variants would all be required",
        );
    }
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for m in &item.modifiers {
        if !seen.insert(m.name()) && *m != Modifier::Base64 {
            twice.insert(m.name());
        }
    }
    if !twice.is_empty() {
        let names: Vec<&str> = twice.into_iter().collect();
        sink.emit_with(
            "invalid_modifier_combinations",
            Severity::Warning,
            at,
            format!("modifier(s) applied more than once: {}", names.join(", ")),
        );
    }
}

/// pySigma's `wildcards_instead_of_modifiers`, evaluated on items whose
/// values were not rewritten by modifiers (so they equal the originals).
fn wildcard_modifier_checks(item: &DetectionItem, sink: &mut Sink) {
    let transparent = item
        .modifiers
        .iter()
        .all(|m| matches!(m, Modifier::All | Modifier::Cased));
    if !transparent || item.values.is_empty() {
        return;
    }
    let strings: Option<Vec<&SigmaString>> = item
        .values
        .iter()
        .map(|v| match &v.value {
            Value::String { value, .. } if value.parts.len() > 1 => Some(value),
            _ => None,
        })
        .collect();
    let Some(strings) = strings else { return };
    let plain = |parts: &[StrPart]| parts.iter().all(|p| matches!(p, StrPart::Literal(_)));
    let any = |p: Option<&StrPart>| p == Some(&StrPart::AnyChars);
    let field = item.field.as_deref().unwrap_or("keyword");
    let (kind, modifier) = if strings.iter().all(|s| {
        let n = s.parts.len();
        any(s.parts.first()) && any(s.parts.last()) && plain(&s.parts[1..n - 1])
    }) {
        ("at both ends", "contains")
    } else if strings
        .iter()
        .all(|s| any(s.parts.first()) && plain(&s.parts[1..]))
    {
        ("at the start", "endswith")
    } else if strings
        .iter()
        .all(|s| any(s.parts.last()) && plain(&s.parts[..s.parts.len() - 1]))
    {
        ("at the end", "startswith")
    } else {
        return;
    };
    sink.emit(
        "wildcards_instead_of_modifiers",
        item.location,
        format!("'{field}' uses '*' {kind} of its values; use the '{modifier}' modifier instead"),
    );
}

/// (product, service) → EventID → generic category (pySigma's table).
fn generic_category(ls: &LogSource, event_id: i64) -> Option<&'static str> {
    let sysmon = LogSource {
        product: Some("windows".into()),
        service: Some("sysmon".into()),
        ..LogSource::default()
    };
    let security = LogSource {
        product: Some("windows".into()),
        service: Some("security".into()),
        ..LogSource::default()
    };
    if sysmon.contains(ls) {
        Some(match event_id {
            1 => "process_creation",
            2 => "file_change",
            3 => "network_connection",
            4 | 16 => "sysmon_status",
            5 => "process_termination",
            6 => "driver_load",
            7 => "image_load",
            8 => "create_remote_thread",
            9 => "raw_access_thread",
            10 => "process_access",
            11 => "file_event",
            12..=14 => "registry_event",
            15 => "create_stream_hash",
            17 | 18 => "pipe_created",
            19..=21 => "wmi_event",
            22 => "dns_query",
            23 => "file_delete",
            24 => "clipboard_change",
            25 => "process_tampering",
            26 => "file_delete_detected",
            27 => "file_block_executable",
            28 => "file_block_shredding",
            29 => "file_executable_detected",
            255 => "sysmon_error",
            _ => return None,
        })
    } else if security.contains(ls) && event_id == 4688 {
        Some("process_creation")
    } else {
        None
    }
}

fn condition_checks(d: &Detections, sink: &mut Sink) {
    let mut referenced = BTreeSet::new();
    for c in &d.conditions {
        c.expr.for_each_identifier(&mut |n| {
            referenced.insert(n.to_string());
        });
    }
    for s in &d.searches {
        if !referenced.contains(&s.name) {
            sink.emit(
                "dangling_detection",
                s.location,
                format!(
                    "detection '{}' is not referenced from any condition",
                    s.name
                ),
            );
        }
    }
    static ALL_OF_THEM_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"all\s+of\s+them").ok());
    let all_of_them = &*ALL_OF_THEM_RE;
    for c in &d.conditions {
        if c.text.contains("them") && d.searches.len() == 1 {
            sink.emit(
                "them_condition_with_single_detection",
                c.location,
                "the condition refers to 'them' but there is only one detection",
            );
        }
        if all_of_them.as_ref().is_some_and(|re| re.is_match(&c.text)) {
            sink.emit(
                "all_of_them_condition",
                c.location,
                "'all of them' is discouraged; use 'all of selection*'",
            );
        }
    }
}

fn tag_checks(ctx: &DocCtx, sink: &mut Sink) {
    let meta = ctx.doc.meta();
    static FORMAT_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9\-_]+\.[a-z0-9\-_.]+$").ok());
    let format = &*FORMAT_RE;
    static CAR_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{3}$").ok());
    let car = &*CAR_RE;
    static CVE_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d+-\d+$").ok());
    let cve = &*CVE_RE;
    static STP_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^[1-5][auk]?$").ok());
    let stp = &*STP_RE;
    let matches = |re: &Option<Regex>, s: &str| re.as_ref().is_some_and(|r| r.is_match(s));
    let mut counts: BTreeMap<String, (usize, Location)> = BTreeMap::new();
    for tag in &meta.tags {
        let full = tag.to_string();
        let at = tag.location;
        let e = counts.entry(full.clone()).or_insert((0, at));
        e.0 += 1;
        if !matches(format, &full) {
            sink.emit(
                "tag_format",
                at,
                format!("tag '{full}' has characters outside [a-z0-9_-] (namespace) or [a-z0-9_.-] (name)"),
            );
        }
        let (ns, name) = (tag.namespace.as_str(), tag.name.as_str());
        if !["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"].contains(&ns) {
            sink.emit(
                "namespace_tag",
                at,
                format!("tag namespace '{ns}' is not one of attack, car, cve, d3fend, detection, stp, tlp"),
            );
        }
        match ns {
            "attack" if ctx.attack.lookup(name).is_none() => sink.emit(
                "attacktag",
                at,
                format!("'{full}' is not a current MITRE ATT&CK tactic, technique, group, software or mitigation"),
            ),
            "car" if !matches(car, name) => sink.emit(
                "cartag",
                at,
                format!("'{full}' does not match car.NNNN-NN-NNN"),
            ),
            "cve" if !matches(cve, name) => sink.emit(
                "cvetag",
                at,
                format!("'{full}' does not match cve.YYYY-NNNN (use a dash after the year)"),
            ),
            "detection"
                if !["dfir", "emerging-threats", "threat-hunting"]
                    .iter()
                    .any(|p| name.starts_with(p)) =>
            {
                sink.emit(
                    "detection_tag",
                    at,
                    format!("'{full}' is not detection.dfir, detection.emerging-threats or detection.threat-hunting"),
                )
            }
            "stp" if !matches(stp, name) => sink.emit(
                "stptag",
                at,
                format!("'{full}' does not match stp.[1-5][auk]?"),
            ),
            "tlp" => {
                let v1 = ["white", "green", "amber", "red"].contains(&name);
                let v2 = ["clear", "green", "amber", "amber-strict", "red"].contains(&name);
                if !v1 && !v2 {
                    sink.emit("tlptag", at, format!("'{full}' is not a TLP label"));
                }
                if !v1 {
                    sink.emit(
                        "tlpv1_tag",
                        at,
                        format!("'{full}' is not a TLP v1 label (white, green, amber, red)"),
                    );
                }
                if !v2 {
                    sink.emit(
                        "tlpv2_tag",
                        at,
                        format!(
                            "'{full}' is not a TLP v2 label (clear, green, amber, amber-strict, red)"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    for (tag, (n, at)) in counts {
        if n > 1 {
            sink.emit(
                "duplicate_tag",
                at,
                format!("tag '{tag}' appears {n} times"),
            );
        }
    }
}

fn metadata_checks(ctx: &DocCtx, sink: &mut Sink) {
    let meta = ctx.doc.meta();
    let origin = ctx.doc.origin();
    let key_at = |k: &str| {
        meta.key_locations
            .get(k)
            .copied()
            .unwrap_or(origin.location)
    };
    if meta.id.is_none() {
        sink.emit(
            "identifier_existence",
            origin.location,
            "the rule has no 'id' (a UUID)",
        );
    }
    let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &meta.references {
        *refs.entry(r.as_str()).or_insert(0) += 1;
    }
    for (r, n) in refs {
        if n > 1 {
            sink.emit(
                "duplicate_references",
                key_at("references"),
                format!("reference '{r}' appears {n} times"),
            );
        }
    }
    if let Some(k) = ["realted", "relatde", "relted", "rlated", "reference"]
        .iter()
        .find(|k| meta.custom.contains_key(**k))
    {
        sink.emit(
            "custom_attributes",
            key_at(k),
            format!("attribute '{k}' looks like a typo of a standard attribute"),
        );
    }
    if let Some(name) = ctx
        .file
        .and_then(|f| f.file_name())
        .and_then(|n| n.to_str())
    {
        let min = ctx.config.option("filename_length", "min_size", 10);
        let max = ctx.config.option("filename_length", "max_size", 90);
        let len = name.chars().count() as i64;
        if len < min || len > max {
            sink.emit(
                "filename_length",
                Location::new(1, 1),
                format!("file name '{name}' has {len} characters (allowed: {min} to {max})"),
            );
        }
    }
}

/// Runs the per-document core checks.
pub(crate) fn check_document(ctx: &DocCtx, sink: &mut Sink) {
    metadata_checks(ctx, sink);
    tag_checks(ctx, sink);
    let Document::Rule(rule) = ctx.doc else {
        return;
    };
    for key in rule.logsource.custom.keys() {
        sink.emit(
            "fieldname_logsource",
            rule.logsource.location,
            format!("logsource key '{key}' is not one of category, product, service, definition"),
        );
    }
    condition_checks(&rule.detection, sink);
    for item in all_items(ctx.doc) {
        string_checks(item, sink);
        modifier_checks(item, sink);
        wildcard_modifier_checks(item, sink);
        if item.field.as_deref() == Some("EventID") {
            for v in &item.values {
                if let Value::Number { value } = &v.value {
                    let n = value.as_f64();
                    if n.fract() != 0.0 {
                        continue;
                    }
                    if let Some(cat) = generic_category(&rule.logsource, n as i64) {
                        sink.emit(
                            "specific_instead_of_generic_logsource",
                            v.location,
                            format!("EventID {n} of this log source has the generic category '{cat}'; use 'category: {cat}'"),
                        );
                    }
                }
            }
        }
    }
    // Conditions that pySigma reports as `dangling_condition` fail to load
    // here (the `EmptySelector` error kind) and are reported by the loader.
}

/// Cross-document checks: duplicate ids, titles and file names.
pub(crate) fn check_collection(docs: &[&Document]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |check: &str, doc: &Document, at: Location, message: String| {
        out.push(Finding {
            check: check.to_string(),
            severity: Severity::Error,
            file: doc.origin().file.clone(),
            line: at.line.max(1),
            column: at.column.max(1),
            message,
            rule_id: doc.meta().id.clone(),
        });
    };
    let mut ids: BTreeMap<&str, Vec<&Document>> = BTreeMap::new();
    let mut titles: BTreeMap<&str, Vec<&Document>> = BTreeMap::new();
    let mut names: BTreeMap<String, BTreeSet<PathBuf>> = BTreeMap::new();
    for d in docs {
        if let Some(id) = &d.meta().id {
            ids.entry(id.as_str()).or_default().push(d);
        }
        titles.entry(d.meta().title.as_str()).or_default().push(d);
        if let Some(f) = &d.origin().file {
            if let Some(n) = f.file_name().and_then(|n| n.to_str()) {
                names.entry(n.to_string()).or_default().insert(f.clone());
            }
        }
    }
    let at = |d: &Document, key: &str| {
        d.meta()
            .key_locations
            .get(key)
            .copied()
            .unwrap_or(d.origin().location)
    };
    for (id, list) in &ids {
        if list.len() > 1 {
            for d in list {
                push(
                    "identifier_uniqueness",
                    d,
                    at(d, "id"),
                    format!("id {id} is used by {} rules", list.len()),
                );
            }
        }
    }
    for (title, list) in &titles {
        if list.len() > 1 {
            for d in list {
                push(
                    "duplicate_title",
                    d,
                    at(d, "title"),
                    format!("title '{title}' is used by {} rules", list.len()),
                );
            }
        }
    }
    for d in docs {
        if let Some(f) = &d.origin().file {
            if let Some(n) = f.file_name().and_then(|n| n.to_str()) {
                if names.get(n).is_some_and(|p| p.len() > 1) {
                    push(
                        "duplicate_filename",
                        d,
                        Location::new(1, 1),
                        format!(
                            "file name '{n}' is used in {} folders",
                            names.get(n).map_or(0, BTreeSet::len)
                        ),
                    );
                }
            }
        }
    }
    out
}

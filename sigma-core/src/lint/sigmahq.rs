//! SigmaHQ conventions (`sigmahq-rule-convention.md`,
//! `sigmahq-title-convention.md`, `sigmahq-filename-convention.md`), with
//! the identifiers and logic of pySigma-validators-sigmaHQ for the checks
//! that need no downloaded data.

use std::collections::BTreeSet;

use std::sync::LazyLock;

use regex::Regex;

use super::core::all_items;
use super::{DocCtx, Sink};
use crate::condition::match_pattern;
use crate::modifiers::Modifier;
use crate::rule::{CorrelationType, Document, Status};
use crate::value::{StrPart, Value};
use crate::yaml::Location;

const TITLE_SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "new", "of", "on", "or", "over",
    "the", "through", "to", "via", "with", "without",
];

/// `YYYY-MM-DD` or `YYYY/M/D` as a sortable triple.
fn date_key(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split(['-', '/']).map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Python's `str.islower()`: at least one cased character, none uppercase.
fn py_islower(w: &str) -> bool {
    w.chars().any(char::is_lowercase) && !w.chars().any(char::is_uppercase)
}

fn title_checks(ctx: &DocCtx, sink: &mut Sink) {
    let meta = ctx.doc.meta();
    let at = meta
        .key_locations
        .get("title")
        .copied()
        .unwrap_or(ctx.doc.origin().location);
    let t = meta.title.as_str();
    let max = ctx.config.option("sigmahq_title_length", "max_length", 120);
    if t.chars().count() as i64 > max {
        sink.emit(
            "sigmahq_title_length",
            at,
            format!(
                "the title has {} characters (at most {max})",
                t.chars().count()
            ),
        );
    }
    if t.starts_with("Detect ") || t.starts_with("Detects ") {
        sink.emit(
            "sigmahq_title_start",
            at,
            "the title starts with 'Detect(s)'; describe what happens instead",
        );
    }
    if t.ends_with('.') {
        sink.emit("sigmahq_title_end", at, "the title ends with a dot");
    }
    for w in t.split(' ') {
        if py_islower(w)
            && !TITLE_SMALL_WORDS.contains(&w.to_lowercase().as_str())
            && !w.contains(['.', '/', '_'])
            && !w.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            sink.emit(
                "sigmahq_title_case",
                at,
                format!("title word '{w}' should be capitalised"),
            );
        }
    }
}

fn filename_checks(ctx: &DocCtx, sink: &mut Sink) {
    let Some(name) = ctx
        .file
        .and_then(|f| f.file_name())
        .and_then(|n| n.to_str())
    else {
        return;
    };
    static NAME_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9_]{10,90}\.yml$").ok());
    let ok = NAME_RE.as_ref().is_none_or(|re| re.is_match(name));
    if !ok {
        sink.emit(
            "sigmahq_filename_convention",
            Location::new(1, 1),
            format!("file name '{name}' does not match [a-z0-9_]{{10,90}}.yml"),
        );
    }
    if matches!(ctx.doc, Document::Correlation(_)) && !name.starts_with("correlation_") {
        sink.emit(
            "sigmahq_correlation_filename_prefix",
            Location::new(1, 1),
            format!("correlation rule file name '{name}' does not start with 'correlation_'"),
        );
    }
}

fn metadata_checks(ctx: &DocCtx, sink: &mut Sink) {
    let meta = ctx.doc.meta();
    let doc_at = ctx.doc.origin().location;
    let at = |k: &str| meta.key_locations.get(k).copied().unwrap_or(doc_at);
    if meta.author.is_none() {
        sink.emit("sigmahq_author_existence", doc_at, "the rule has no author");
    }
    if meta.date.is_none() {
        sink.emit("sigmahq_date_existence", doc_at, "the rule has no date");
        if meta.modified.is_some() {
            sink.emit(
                "sigmahq_modified_without_date",
                at("modified"),
                "the rule has 'modified' but no 'date' (new rules only have 'date')",
            );
        }
    }
    if let (Some(d), Some(m)) = (&meta.date, &meta.modified) {
        match (date_key(d), date_key(m)) {
            (Some(dk), Some(mk)) if mk < dk => sink.emit(
                "sigmahq_modified_date_order",
                at("modified"),
                format!("'modified' ({m}) is older than 'date' ({d})"),
            ),
            (Some(dk), Some(mk)) if mk == dk => sink.emit(
                "sigmahq_redundant_modified",
                at("modified"),
                "'modified' equals 'date'; remove it",
            ),
            _ => {}
        }
    }
    match &meta.description {
        None => sink.emit(
            "sigmahq_description_existence",
            doc_at,
            "the rule has no description",
        ),
        Some(d) => {
            let min = ctx
                .config
                .option("sigmahq_description_length", "description_len", 16);
            if (d.chars().count() as i64) < min {
                sink.emit(
                    "sigmahq_description_length",
                    at("description"),
                    format!("the description is shorter than {min} characters"),
                );
            }
            let lower = d.to_lowercase();
            if meta.references.is_empty() {
                if let Some(w) = ["http://", "https://", "internal research"]
                    .iter()
                    .find(|w| lower.contains(**w))
                {
                    sink.emit(
                        "sigmahq_link_in_description",
                        at("description"),
                        format!("the description contains '{w}'; links belong in 'references'"),
                    );
                }
            }
        }
    }
    if meta.level.is_none() && !matches!(ctx.doc, Document::Filter(_)) {
        sink.emit("sigmahq_level_existence", doc_at, "the rule has no level");
    }
    match meta.status {
        None => sink.emit("sigmahq_status_existence", doc_at, "the rule has no status"),
        Some(s @ (Status::Deprecated | Status::Unsupported)) => sink.emit(
            "sigmahq_status",
            at("status"),
            format!(
                "status '{}': SigmaHQ keeps such rules out of its rule folders (deprecated/, unsupported/)",
                s.name()
            ),
        ),
        _ => {}
    }
    for fp in &meta.falsepositives {
        let first = fp.split(' ').next().unwrap_or("");
        if fp
            .chars()
            .next()
            .is_some_and(|c| c.to_uppercase().next() != Some(c))
        {
            sink.emit(
                "sigmahq_falsepositives_capital",
                at("falsepositives"),
                format!("falsepositives entry '{first}…' should start with a capital letter"),
            );
        }
        for w in fp.split(' ') {
            let lw = w.trim().to_lowercase();
            if ["none", "pentest", "penetration"].contains(&lw.as_str()) {
                sink.emit(
                    "sigmahq_falsepositives_banned_word",
                    at("falsepositives"),
                    format!("falsepositives entry uses the banned word '{w}'"),
                );
            }
            if ["unkown", "ligitimate", "legitim ", "legitimeate"].contains(&lw.as_str()) {
                sink.emit(
                    "sigmahq_falsepositives_typo_word",
                    at("falsepositives"),
                    format!("falsepositives entry has the typo '{w}'"),
                );
            }
        }
    }
    static GH_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^https://github.com/.*\.\w{1,3}$").ok());
    let gh = &*GH_RE;
    static COMMIT_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^.*/[0-9a-z]{40}/.*").ok());
    let commit = &*COMMIT_RE;
    for r in &meta.references {
        if gh.as_ref().is_some_and(|g| g.is_match(r))
            && !commit.as_ref().is_some_and(|c| c.is_match(r))
        {
            sink.emit(
                "sigmahq_github_link",
                at("references"),
                format!("reference '{r}' points at a branch; use a commit permalink"),
            );
        }
        if r.starts_with("https://attack.mitre.org/") {
            sink.emit(
                "sigmahq_mitre_link",
                at("references"),
                format!("reference '{r}' should be an attack.* tag"),
            );
        }
    }
    if !meta.fields.is_empty() {
        sink.emit(
            "sigmahq_fields_existence",
            at("fields"),
            "'fields' is deprecated",
        );
    }
    let unknown: Vec<&str> = meta
        .custom
        .keys()
        .map(String::as_str)
        .filter(|k| !["regression_tests_path", "simulation"].contains(k))
        .collect();
    if !unknown.is_empty() {
        sink.emit(
            "sigmahq_unknown_field",
            at(unknown[0]),
            format!("unknown attribute(s): {}", unknown.join(", ")),
        );
    }
}

fn condition_checks(ctx: &DocCtx, sink: &mut Sink) {
    let Document::Rule(rule) = ctx.doc else {
        return;
    };
    let d = &rule.detection;
    let names: Vec<&str> = d.searches.iter().map(|s| s.name.as_str()).collect();
    static OF_THEM_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\s+of\s+them").ok());
    let of_them = &*OF_THEM_RE;
    static X_OF_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?:\d+|all)\s+of\s+([^\s]+)").ok());
    let x_of = &*X_OF_RE;
    static OF_X_RE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"\s+of\s+([^\s\)]+)").ok());
    let of_x = &*OF_X_RE;
    for c in &d.conditions {
        if names.len() == 1 && of_them.as_ref().is_some_and(|r| r.is_match(&c.text)) {
            sink.emit(
                "sigmahq_ofthem_condition",
                c.location,
                "' of them' is used with a single detection; name it instead",
            );
        }
        if let Some(re) = &x_of {
            for cap in re.captures_iter(&c.text) {
                let name = &cap[1];
                if (name.starts_with("filter_") || name.starts_with("selection_"))
                    && name.ends_with("_*")
                    || !name.ends_with("_*")
                {
                    continue;
                }
                if match_pattern(name, &names).len() < 2 {
                    sink.emit(
                        "sigmahq_ofselection_condition",
                        c.location,
                        format!("'{name}' matches fewer than two detections"),
                    );
                    break;
                }
            }
        }
        if let Some(re) = &of_x {
            if let Some(cap) = re
                .captures_iter(&c.text)
                .find(|cap| &cap[1] != "them" && !cap[1].ends_with('*'))
            {
                sink.emit(
                    "sigmahq_missing_asterisk_condition",
                    c.location,
                    format!(
                        "'of {}' has no '*'; name the detection directly or use a pattern",
                        &cap[1]
                    ),
                );
            }
        }
    }
}

fn item_checks(ctx: &DocCtx, sink: &mut Sink) {
    if !matches!(ctx.doc, Document::Rule(_)) {
        return;
    }
    for item in all_items(ctx.doc) {
        let Some(field) = &item.field else { continue };
        if field.contains(' ') {
            sink.emit(
                "sigmahq_space_field_name",
                item.location,
                format!("field name '{field}' contains a space; use an underscore"),
            );
        }
        if item.modifiers.contains(&Modifier::All) && item.values.len() < 2 {
            sink.emit(
                "sigmahq_invalid_all_modifier",
                item.location,
                format!("'{field}|all' has fewer than two values"),
            );
        }
        if field.to_lowercase().contains("user") && item.values.len() == 1 {
            if let Value::String { value, .. } = &item.values[0].value {
                let user = super::core::show(value);
                if user.contains("AUTORI") || user.contains("AUTHORI") {
                    sink.emit(
                        "sigmahq_field_user",
                        item.values[0].location,
                        format!("'{field}' uses the localized account name '{user}'; match the SID or use a language-independent value"),
                    );
                }
            }
        }
        if field == "Hashes" || field == "Hash" {
            for v in &item.values {
                for bad in invalid_hashes(&v.value) {
                    sink.emit(
                        "sigmahq_invalid_hash_kv",
                        v.location,
                        format!("'{bad}' is not a valid Sysmon hash search (TYPE=VALUE with MD5, SHA1, SHA256 or IMPHASH)"),
                    );
                }
            }
        }
        let cased = item.modifiers.iter().any(|m| {
            matches!(
                m,
                Modifier::Base64
                    | Modifier::Base64Offset
                    | Modifier::Re
                    | Modifier::IgnoreCase
                    | Modifier::MultiLine
                    | Modifier::DotAll
                    | Modifier::Cased
            )
        });
        let mut seen = BTreeSet::new();
        for v in &item.values {
            let key = match &v.value {
                Value::String { value, .. } => super::core::show(value),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            let key = if cased { key } else { key.to_lowercase() };
            if !seen.insert(key.clone()) {
                sink.emit(
                    "sigmahq_field_duplicate_value",
                    v.location,
                    format!("'{field}' lists the value '{key}' twice"),
                );
            }
        }
    }
}

/// The invalid parts of a `Hashes` value (pySigma-validators-sigmaHQ's
/// `sigmahq_invalid_hash_kv`: every literal run must be `TYPE=hex`).
fn invalid_hashes(v: &Value) -> Vec<String> {
    let Value::String { value, .. } = v else {
        return vec![serde_json::to_string(v).unwrap_or_default()];
    };
    let mut bad = Vec::new();
    for p in &value.parts {
        let StrPart::Literal(s) = p else { continue };
        let pieces: Vec<&str> = s.split('=').collect();
        let [name, data] = pieces.as_slice() else {
            bad.push(s.clone());
            continue;
        };
        let len = match *name {
            "MD5" | "IMPHASH" => 32,
            "SHA1" => 40,
            "SHA256" => 64,
            _ => {
                bad.push((*name).to_string());
                continue;
            }
        };
        if data.len() != len || !data.chars().all(|c| c.is_ascii_hexdigit()) {
            bad.push((*data).to_string());
        }
    }
    bad
}

fn tag_checks(ctx: &DocCtx, sink: &mut Sink) {
    let meta = ctx.doc.meta();
    let doc_at = ctx.doc.origin().location;
    let at = meta.key_locations.get("tags").copied().unwrap_or(doc_at);
    let tags = &meta.tags;
    let in_ns = |ns: &'static str| tags.iter().filter(move |t| t.namespace == ns);
    if in_ns("detection").count() > 1 {
        sink.emit(
            "sigmahq_tags_unique_detection",
            at,
            "the rule has more than one detection.* tag",
        );
    }
    if in_ns("tlp").count() > 1 {
        sink.emit(
            "sigmahq_tags_unique_tlp",
            at,
            "the rule has more than one tlp.* tag",
        );
    }
    if let Some(t) = in_ns("tlp").find(|t| t.name != "clear") {
        sink.emit(
            "sigmahq_tags_tlp",
            t.location,
            format!(
                "'tlp.{}' is not authorized in SigmaHQ rules (only tlp.clear)",
                t.name
            ),
        );
    }
    let path = ctx
        .file
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    if let Some(name) = ["dfir", "emerging-threats", "threat-hunting"]
        .iter()
        .find(|n| path.contains(&format!("rules-{n}")))
    {
        if !in_ns("detection").any(|t| t.name == *name) {
            sink.emit(
                "sigmahq_tags_detection",
                at,
                format!("rules under rules-{name} need the tag 'detection.{name}'"),
            );
        }
    }
    let attack: Vec<&str> = in_ns("attack").map(|t| t.name.as_str()).collect();
    let techniques: Vec<&str> = attack
        .iter()
        .copied()
        .filter(|n| n.starts_with('t') && n.chars().any(|c| c.is_ascii_digit()))
        .collect();
    let tactics: Vec<&str> = attack
        .iter()
        .copied()
        .filter(|n| !n.starts_with('t'))
        .collect();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    for t in &techniques {
        if let Some(e) = ctx.attack.lookup(&t.to_lowercase()) {
            if e.kind == "technique" {
                missing.extend(
                    e.extra
                        .split(',')
                        .filter(|x| !x.is_empty() && !tactics.contains(x))
                        .map(str::to_string),
                );
            }
        }
    }
    for m in missing {
        sink.emit(
            "sigmahq_tags_techniques_without_tactics",
            at,
            format!("a technique tag needs its tactic: add 'attack.{m}'"),
        );
    }
}

fn correlation_checks(ctx: &DocCtx, sink: &mut Sink) {
    let Document::Correlation(c) = ctx.doc else {
        return;
    };
    let corr = &c.correlation;
    let temporal = matches!(
        corr.kind,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    );
    if temporal && corr.rules.len() < 2 {
        sink.emit(
            "sigmahq_correlation_rules_minimum",
            corr.location,
            format!(
                "a {} correlation must reference at least two rules",
                corr.kind.name()
            ),
        );
    }
    let needs_group = temporal
        || matches!(
            corr.kind,
            CorrelationType::EventCount | CorrelationType::ValueCount
        );
    if needs_group && corr.group_by.is_empty() {
        sink.emit(
            "sigmahq_correlation_group_by_existence",
            corr.location,
            format!("'{}' correlations need 'group-by'", corr.kind.name()),
        );
    }
}

/// Runs the SigmaHQ convention checks of one document.
pub(crate) fn check_document(ctx: &DocCtx, sink: &mut Sink) {
    // pySigma validates rules and correlations, not filter documents.
    if matches!(ctx.doc, Document::Filter(_)) {
        return;
    }
    tag_checks(ctx, sink);
    correlation_checks(ctx, sink);
    title_checks(ctx, sink);
    filename_checks(ctx, sink);
    metadata_checks(ctx, sink);
    condition_checks(ctx, sink);
    item_checks(ctx, sink);
}

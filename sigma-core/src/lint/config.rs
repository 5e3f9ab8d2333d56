//! Lint configuration files and inline disable comments.
//!
//! ## Configuration file (`sigil lint --config FILE`)
//!
//! A YAML mapping. pySigma's `sigma check` format (SigmaHQ's
//! `tests/sigma_cli_conf.yml`) is accepted as is, plus a few sigil keys:
//!
//! ```yaml
//! validators: [all, -tlpv1_tag]    # pySigma style: 'all', names, '-name'
//! enabled: [sigmahq_title_case]    # sigil style: add checks ...
//! disabled: [escaped_wildcard]     # ... or remove them
//! exclusions:                      # rule id -> check(s) not run on it
//!   5f1b0a2e-0000-4000-8000-000000000001: dangling_detection
//!   0e95725d-7320-415d-80f7-004da920fc11: [escaped_wildcard, number_as_string]
//! config:                          # per-check options
//!   filename_length: {min_size: 10, max_size: 90}
//!   sigmahq_title_length: {max_length: 120}
//!   sigmahq_description_length: {description_len: 16}
//! severity:                        # re-grade checks
//!   escaped_wildcard: warning
//! ```
//!
//! Without `validators`/`enabled`, the default set is every pySigma core
//! check plus sigil's checks; the `sigmahq_*` conventions are opt-in
//! (`validators: [all]` or `enabled: [sigmahq]` turns all of them on).
//!
//! ## Inline comments
//!
//! * `# sigil-disable-file: check_a, check_b` anywhere in a file silences
//!   those checks for the whole file (`all` silences every check).
//! * `# sigil-disable: check_a` at the end of a line silences the checks
//!   for findings on that line; on a line of its own it applies to the next
//!   line that is not a comment.
//!
//! The markers are found by plain text search, so they also work inside
//! block scalars; they are meant to be written as YAML comments.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_info, CheckOrigin, Finding, Severity, CHECKS};
use crate::yaml::{self, YamlNode, YamlValue};

/// Which checks run and how.
#[derive(Debug, Clone, PartialEq)]
pub struct LintConfig {
    /// The checks that run.
    pub enabled: BTreeSet<String>,
    /// Rule id → checks not reported for that rule (`all` for every check).
    pub exclusions: BTreeMap<String, BTreeSet<String>>,
    /// Per-check options, e.g. `filename_length` → `min_size`/`max_size`.
    pub options: BTreeMap<String, BTreeMap<String, i64>>,
    /// Severity overrides.
    pub severity: BTreeMap<String, Severity>,
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            enabled: CHECKS
                .iter()
                .filter(|c| c.origin != CheckOrigin::Sigmahq)
                .map(|c| c.id.to_string())
                .collect(),
            exclusions: BTreeMap::new(),
            options: BTreeMap::new(),
            severity: BTreeMap::new(),
        }
    }
}

fn strings(node: &YamlNode) -> Vec<String> {
    match &node.value {
        YamlValue::Seq(items) => items.iter().filter_map(YamlNode::scalar_text).collect(),
        _ => node.scalar_text().into_iter().collect(),
    }
}

/// Expands `all`, `sigmahq`, `pysigma`, `sigil` or a single identifier.
fn expand(name: &str) -> Result<Vec<String>, String> {
    let group = |o: CheckOrigin| {
        CHECKS
            .iter()
            .filter(move |c| c.origin == o)
            .map(|c| c.id.to_string())
            .collect()
    };
    match name {
        "all" => Ok(CHECKS.iter().map(|c| c.id.to_string()).collect()),
        "sigmahq" => Ok(group(CheckOrigin::Sigmahq)),
        "pysigma" | "core" => Ok(group(CheckOrigin::Pysigma)),
        "sigil" => Ok(group(CheckOrigin::Sigil)),
        // pySigma validators sigil does not implement are accepted and ignored.
        "d3_fendtag" => Ok(Vec::new()),
        n if check_info(n).is_some() || n.starts_with("sigmahq_") => Ok(vec![n.to_string()]),
        n => Err(format!("unknown check '{n}'")),
    }
}

impl LintConfig {
    /// Reads a configuration file's text. Unknown check names are errors.
    pub fn from_yaml(text: &str) -> Result<LintConfig, String> {
        let docs = yaml::parse_documents(text).map_err(|e| {
            format!(
                "invalid YAML at {}:{}: {}",
                e.location.line, e.location.column, e.message
            )
        })?;
        let mut cfg = LintConfig::default();
        let Some(doc) = docs.first() else {
            return Ok(cfg);
        };
        if doc.as_map().is_none() {
            return Err("the configuration must be a YAML mapping".into());
        }
        if let Some(v) = doc.get("validators") {
            cfg.enabled.clear();
            for name in strings(v) {
                match name.strip_prefix('-') {
                    Some(n) => {
                        for id in expand(n)? {
                            cfg.enabled.remove(&id);
                        }
                    }
                    None => cfg.enabled.extend(expand(&name)?),
                }
            }
        }
        if let Some(v) = doc.get("enabled") {
            for name in strings(v) {
                cfg.enabled.extend(expand(&name)?);
            }
        }
        if let Some(v) = doc.get("disabled") {
            for name in strings(v) {
                for id in expand(&name)? {
                    cfg.enabled.remove(&id);
                }
            }
        }
        if let Some(map) = doc.get("exclusions").and_then(YamlNode::as_map) {
            for (k, v) in map {
                let Some(id) = k.scalar_text() else { continue };
                cfg.exclusions
                    .entry(id.to_ascii_lowercase())
                    .or_default()
                    .extend(strings(v));
            }
        }
        if let Some(map) = doc.get("config").and_then(YamlNode::as_map) {
            for (k, v) in map {
                let Some(check) = k.scalar_text() else {
                    continue;
                };
                let entry = cfg.options.entry(check).or_default();
                for (ok, ov) in v.as_map().unwrap_or_default() {
                    if let (Some(name), YamlValue::Int(n)) = (ok.scalar_text(), &ov.value) {
                        entry.insert(name, *n);
                    } else if let Some(name) = ok.scalar_text() {
                        return Err(format!("option '{name}' must be an integer"));
                    }
                }
            }
        }
        if let Some(map) = doc.get("severity").and_then(YamlNode::as_map) {
            for (k, v) in map {
                let (Some(check), Some(sev)) = (k.scalar_text(), v.scalar_text()) else {
                    continue;
                };
                let sev = Severity::from_name(&sev)
                    .ok_or_else(|| format!("unknown severity '{sev}' for '{check}'"))?;
                cfg.severity.insert(check, sev);
            }
        }
        Ok(cfg)
    }

    /// Disables a check (or a group: `sigmahq`, `sigil`, `pysigma`).
    pub fn disable(&mut self, name: &str) -> Result<(), String> {
        for id in expand(name)? {
            self.enabled.remove(&id);
        }
        Ok(())
    }

    /// Enables a check (or a group).
    pub fn enable(&mut self, name: &str) -> Result<(), String> {
        self.enabled.extend(expand(name)?);
        Ok(())
    }

    /// An integer option of a check, or its default.
    pub fn option(&self, check: &str, name: &str, default: i64) -> i64 {
        self.options
            .get(check)
            .and_then(|o| o.get(name))
            .copied()
            .unwrap_or(default)
    }

    /// Applies enablement, exclusions and severity overrides to a finding;
    /// false when the finding must be dropped. Parse errors are always kept.
    pub fn apply(&self, f: &mut Finding) -> bool {
        if f.check != "parse_error" && !self.enabled.contains(&f.check) {
            return false;
        }
        if let Some(id) = &f.rule_id {
            if let Some(ex) = self.exclusions.get(&id.to_ascii_lowercase()) {
                if ex.contains(&f.check) || ex.contains("all") {
                    return false;
                }
            }
        }
        if let Some(sev) = self.severity.get(&f.check) {
            f.severity = *sev;
        }
        true
    }
}

/// Inline `# sigil-disable…` comments of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressions {
    /// Checks silenced in the whole file.
    pub file: BTreeSet<String>,
    /// Line → checks silenced on it.
    pub lines: BTreeMap<u32, BTreeSet<String>>,
}

fn id_list(s: &str) -> BTreeSet<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl Suppressions {
    /// Scans a file's text for disable comments.
    pub fn parse(text: &str) -> Suppressions {
        let mut s = Suppressions::default();
        let mut pending: Option<BTreeSet<String>> = None;
        for (i, line) in text.lines().enumerate() {
            let n = i as u32 + 1;
            let trimmed = line.trim_start();
            if let Some(pos) = line.find("# sigil-disable-file:") {
                s.file
                    .extend(id_list(&line[pos + "# sigil-disable-file:".len()..]));
                continue;
            }
            if let Some(pos) = line.find("# sigil-disable:") {
                let ids = id_list(&line[pos + "# sigil-disable:".len()..]);
                if trimmed.starts_with('#') {
                    pending.get_or_insert_with(BTreeSet::new).extend(ids);
                } else {
                    s.lines.entry(n).or_default().extend(ids);
                }
                continue;
            }
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            if let Some(ids) = pending.take() {
                s.lines.entry(n).or_default().extend(ids);
            }
        }
        s
    }

    /// True when a finding of `check` on `line` is silenced.
    pub fn suppresses(&self, check: &str, line: u32) -> bool {
        let hit = |set: &BTreeSet<String>| set.contains(check) || set.contains("all");
        hit(&self.file) || self.lines.get(&line).is_some_and(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pysigma_format() {
        let cfg = LintConfig::from_yaml(
            "validators: [all, -tlptag, -sigmahq]\nexclusions:\n  ABC: [escaped_wildcard]\nconfig:\n  filename_length: {min_size: 3}\nseverity: {escaped_wildcard: error}\n",
        )
        .expect("valid config");
        assert!(!cfg.enabled.contains("tlptag"));
        assert!(cfg.enabled.contains("tlpv1_tag"));
        assert!(!cfg.enabled.contains("sigmahq_title_case"));
        assert_eq!(cfg.option("filename_length", "min_size", 10), 3);
        assert_eq!(cfg.option("filename_length", "max_size", 90), 90);
        assert!(cfg.exclusions["abc"].contains("escaped_wildcard"));
        assert_eq!(cfg.severity["escaped_wildcard"], Severity::Error);
        assert!(LintConfig::from_yaml("disabled: [no_such_check]").is_err());
    }

    #[test]
    fn inline_comments() {
        let s = Suppressions::parse(
            "# sigil-disable-file: tlptag\ntitle: x # sigil-disable: a, b\n# sigil-disable: c\n\nid: 1\n",
        );
        assert!(s.suppresses("tlptag", 99));
        assert!(s.suppresses("a", 2) && s.suppresses("b", 2) && !s.suppresses("a", 3));
        assert!(s.suppresses("c", 5));
    }
}

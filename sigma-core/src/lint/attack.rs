//! MITRE ATT&CK data for the `attacktag` check, available offline.
//!
//! The binary embeds `sigma-core/data/attack.tsv` (regenerate it with
//! `scripts/gen_attack_tsv.py`): one line per current Enterprise ATT&CK
//! object, `kind<TAB>id<TAB>name<TAB>extra`. A newer table can be read at
//! run time from a MITRE STIX bundle (`enterprise-attack.json`) with
//! [`AttackData::from_stix`] (`sigil lint --attack-stix FILE`).
//!
//! Valid `attack.*` tag names follow pySigma: tactic short names
//! (`defense-evasion`), technique and sub-technique ids (`t1059.001`),
//! group (`g0016`), software (`s0002`) and mitigation (`m1042`) ids, all in
//! lowercase. Campaign ids are kept in the table but are not valid tags,
//! as in pySigma.

use std::collections::BTreeMap;

/// The bundled table.
const BUNDLED: &str = include_str!("../../data/attack.tsv");

/// One ATT&CK object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackEntry {
    /// `tactic`, `technique`, `group`, `campaign`, `software`, `mitigation`.
    pub kind: String,
    /// External id (`T1059.001`, `TA0002`, …).
    pub id: String,
    /// Name.
    pub name: String,
    /// Tactic short name (tactics) or comma-separated tactics (techniques).
    pub extra: String,
}

/// ATT&CK tags known to the linter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackData {
    /// Valid tag name (after `attack.`, lowercase) → entry.
    tags: BTreeMap<String, AttackEntry>,
    /// Where the data came from.
    pub source: String,
}

impl AttackData {
    /// The table compiled into the binary.
    pub fn bundled() -> AttackData {
        let mut d = AttackData::from_tsv(BUNDLED);
        d.source = BUNDLED
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .unwrap_or("bundled table")
            .to_string();
        d
    }

    /// Reads a table in the bundled TSV format.
    pub fn from_tsv(text: &str) -> AttackData {
        let mut d = AttackData {
            source: "tsv".into(),
            ..AttackData::default()
        };
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(kind), Some(id), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            d.add(AttackEntry {
                kind: kind.to_string(),
                id: id.to_string(),
                name: name.to_string(),
                extra: cols.next().unwrap_or("").to_string(),
            });
        }
        d
    }

    /// Reads a MITRE ATT&CK STIX 2.x bundle, skipping revoked and
    /// deprecated objects.
    pub fn from_stix(json: &str) -> Result<AttackData, String> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("invalid STIX JSON: {e}"))?;
        let objects = v
            .get("objects")
            .and_then(|o| o.as_array())
            .ok_or("the STIX bundle has no 'objects' list")?;
        let mut d = AttackData {
            source: "STIX bundle".into(),
            ..AttackData::default()
        };
        for obj in objects {
            let flag = |k: &str| obj.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
            if flag("revoked") || flag("x_mitre_deprecated") {
                continue;
            }
            let text = |k: &str| obj.get(k).and_then(|x| x.as_str()).unwrap_or("");
            let kind = match text("type") {
                "x-mitre-tactic" => "tactic",
                "attack-pattern" => "technique",
                "intrusion-set" => "group",
                "campaign" => "campaign",
                "malware" | "tool" => "software",
                "course-of-action" => "mitigation",
                _ => continue,
            };
            let ext = obj
                .get("external_references")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .find(|r| r.get("source_name").and_then(|s| s.as_str()) == Some("mitre-attack"))
                .and_then(|r| r.get("external_id"))
                .and_then(|x| x.as_str());
            let Some(ext) = ext else { continue };
            let extra = match kind {
                "tactic" => text("x_mitre_shortname").to_string(),
                "technique" => obj
                    .get("kill_chain_phases")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                    .filter(|p| {
                        p.get("kill_chain_name").and_then(|x| x.as_str()) == Some("mitre-attack")
                    })
                    .filter_map(|p| p.get("phase_name").and_then(|x| x.as_str()))
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            };
            d.add(AttackEntry {
                kind: kind.to_string(),
                id: ext.to_string(),
                name: text("name").to_string(),
                extra,
            });
        }
        if d.tags.is_empty() {
            return Err("the STIX bundle holds no ATT&CK objects".into());
        }
        Ok(d)
    }

    fn add(&mut self, e: AttackEntry) {
        let key = match e.kind.as_str() {
            "tactic" => e.extra.to_lowercase(),
            "campaign" => return,
            _ => e.id.to_lowercase(),
        };
        if !key.is_empty() {
            self.tags.insert(key, e);
        }
    }

    /// The entry for a tag name (the part after `attack.`), compared as
    /// written (pySigma does not lowercase the tag).
    pub fn lookup(&self, name: &str) -> Option<&AttackEntry> {
        self.tags.get(name)
    }

    /// Number of valid tag names.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True when no data is loaded.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table() {
        let d = AttackData::bundled();
        assert!(d.len() > 1000, "{}", d.len());
        assert!(d.lookup("execution").is_some());
        assert!(d.lookup("defense-evasion").is_some());
        assert_eq!(
            d.lookup("t1059.001").map(|e| e.name.as_str()),
            Some("PowerShell")
        );
        assert!(d.lookup("g0016").is_some());
        assert!(d.lookup("T1059").is_none());
        assert!(d.lookup("t9999").is_none());
    }

    #[test]
    fn stix_bundle() {
        let json = r#"{"type":"bundle","objects":[
          {"type":"x-mitre-tactic","name":"Execution","x_mitre_shortname":"execution",
           "external_references":[{"source_name":"mitre-attack","external_id":"TA0002"}]},
          {"type":"attack-pattern","name":"Old","revoked":true,
           "external_references":[{"source_name":"mitre-attack","external_id":"T0001"}]},
          {"type":"attack-pattern","name":"Cmd","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}],
           "external_references":[{"source_name":"mitre-attack","external_id":"T1059"}]}]}"#;
        let d = AttackData::from_stix(json).expect("valid bundle");
        assert!(d.lookup("execution").is_some());
        assert!(d.lookup("t1059").is_some());
        assert!(d.lookup("t0001").is_none());
        assert!(AttackData::from_stix("{}").is_err());
    }
}

//! From hits to incidents: correlation rules, grouping, entities, ATT&CK
//! context and a report.
//!
//! A hunt over a real dump yields thousands of hits; an analyst or a SOAR
//! playbook wants a few incidents. This module turns hits (including
//! [`correlate`] alerts) into [`Incident`]s:
//!
//! 1. Each hit is summarised as an [`IncidentHit`]: rule, level, tags, time,
//!    source, host and the entities found in its event ([`Entities`]),
//!    read through the same field resolution the matcher uses (a closure
//!    from Sigma field name to value), so a field mapping is written once.
//! 2. Hits are grouped by host, then split where two consecutive hits are
//!    more than a gap apart (30 minutes by default). Hits without a
//!    timestamp form one "undated" incident per host. Every hit lands in
//!    exactly one incident, so incident hit counts add up to the hits
//!    reported.
//! 3. Each incident gets a stable id (a hash of its host, first time and
//!    first hit), a severity (see [`severity`]), first and last seen, the
//!    entities, the ATT&CK tactics and techniques of its rules with their
//!    names (bundled offline data), the rules with hit counts and the
//!    ordered timeline.
//!
//! The JSON-lines schema is documented in `docs/incidents.md`; [`report`]
//! writes a self-contained HTML page.

pub mod collect;
pub mod correlate;
pub mod report;
pub mod time;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde::Serialize;
use sigma_core::lint::attack::AttackData;
use sigma_core::Level;

/// Default gap between two hits of one incident.
pub const DEFAULT_GAP_MS: i64 = 30 * 60 * 1000;

/// Entities seen in the events of a hit or an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entities {
    /// Accounts (`User`, `SubjectUserName`, `TargetUserName`, …).
    pub users: BTreeSet<String>,
    /// Process images (`Image`, `NewProcessName`, …).
    pub processes: BTreeSet<String>,
    /// Parent process images.
    pub parent_processes: BTreeSet<String>,
    /// Command lines.
    pub command_lines: BTreeSet<String>,
    /// IP addresses.
    pub ips: BTreeSet<String>,
    /// File hashes (`SHA256=…` split into entries).
    pub hashes: BTreeSet<String>,
    /// Files written or loaded.
    pub files: BTreeSet<String>,
    /// Registry keys.
    pub registry_keys: BTreeSet<String>,
    /// Services.
    pub services: BTreeSet<String>,
}

/// Sigma field names read for each entity kind, in order of preference.
pub const HOST_FIELDS: &[&str] = &[
    "Computer",
    "ComputerName",
    "Hostname",
    "host.name",
    "Workstation",
    "WorkstationName",
];
const USER_FIELDS: &[&str] = &[
    "User",
    "SubjectUserName",
    "TargetUserName",
    "AccountName",
    "UserName",
    "user.name",
];
const PROCESS_FIELDS: &[&str] = &[
    "Image",
    "NewProcessName",
    "ProcessName",
    "process.executable",
];
const PARENT_FIELDS: &[&str] = &[
    "ParentImage",
    "ParentProcessName",
    "process.parent.executable",
];
const COMMAND_FIELDS: &[&str] = &[
    "CommandLine",
    "ParentCommandLine",
    "ProcessCommandLine",
    "process.command_line",
];
const IP_FIELDS: &[&str] = &[
    "SourceIp",
    "DestinationIp",
    "IpAddress",
    "SourceAddress",
    "DestAddress",
    "ClientAddress",
    "source.ip",
    "destination.ip",
];
const HASH_FIELDS: &[&str] = &["Hashes", "Hash", "md5", "sha1", "sha256", "Imphash"];
const FILE_FIELDS: &[&str] = &["TargetFilename", "ImageLoaded", "FileName"];
const REGISTRY_FIELDS: &[&str] = &["TargetObject", "ObjectName"];
const SERVICE_FIELDS: &[&str] = &["ServiceName", "ServiceFileName"];

/// Every field name the entity extraction reads (for callers that
/// pre-resolve field paths).
pub fn entity_fields() -> Vec<&'static str> {
    [
        HOST_FIELDS,
        USER_FIELDS,
        PROCESS_FIELDS,
        PARENT_FIELDS,
        COMMAND_FIELDS,
        IP_FIELDS,
        HASH_FIELDS,
        FILE_FIELDS,
        REGISTRY_FIELDS,
        SERVICE_FIELDS,
    ]
    .concat()
}

fn useful(v: &str) -> bool {
    let t = v.trim();
    !t.is_empty() && t != "-" && t != "::" && !t.eq_ignore_ascii_case("null")
}

/// The kind of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An account.
    User,
    /// A process image.
    Process,
    /// A parent process image.
    ParentProcess,
    /// A command line.
    CommandLine,
    /// An IP address.
    Ip,
    /// A hash.
    Hash,
    /// A file.
    File,
    /// A registry key.
    RegistryKey,
    /// A service.
    Service,
}

/// Shares equal strings: one allocation per distinct entity value, so a
/// million hits of one command line cost one copy of it.
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<Arc<str>>,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(x) = self.set.get(s) {
            return x.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }
}

/// The entities of one hit, compact: (kind, shared value) pairs.
pub type HitEntities = Vec<(EntityKind, Arc<str>)>;

/// Reads the host and the entities of an event through `get` (Sigma field
/// name → value as text).
pub fn extract_entities(
    get: impl Fn(&str) -> Option<String>,
    interner: &mut Interner,
) -> (Option<Arc<str>>, HitEntities) {
    let host = HOST_FIELDS
        .iter()
        .find_map(|f| get(f).filter(|v| useful(v)))
        .map(|h| interner.get(&h));
    let mut out = HitEntities::new();
    let table: [(EntityKind, &[&str]); 9] = [
        (EntityKind::User, USER_FIELDS),
        (EntityKind::Process, PROCESS_FIELDS),
        (EntityKind::ParentProcess, PARENT_FIELDS),
        (EntityKind::CommandLine, COMMAND_FIELDS),
        (EntityKind::Ip, IP_FIELDS),
        (EntityKind::Hash, HASH_FIELDS),
        (EntityKind::File, FILE_FIELDS),
        (EntityKind::RegistryKey, REGISTRY_FIELDS),
        (EntityKind::Service, SERVICE_FIELDS),
    ];
    for (kind, fields) in table {
        for f in fields {
            let Some(v) = get(f).filter(|v| useful(v)) else {
                continue;
            };
            if kind == EntityKind::Hash {
                // Sysmon writes `SHA1=…,MD5=…,SHA256=…`.
                for part in v.split(',').filter(|p| useful(p)) {
                    out.push((kind, interner.get(part.trim())));
                }
            } else {
                out.push((kind, interner.get(&v)));
            }
        }
    }
    out.sort();
    out.dedup();
    (host, out)
}

impl Entities {
    /// Adds the entities of one hit.
    pub fn add(&mut self, hit: &[(EntityKind, Arc<str>)]) {
        for (kind, v) in hit {
            let set = match kind {
                EntityKind::User => &mut self.users,
                EntityKind::Process => &mut self.processes,
                EntityKind::ParentProcess => &mut self.parent_processes,
                EntityKind::CommandLine => &mut self.command_lines,
                EntityKind::Ip => &mut self.ips,
                EntityKind::Hash => &mut self.hashes,
                EntityKind::File => &mut self.files,
                EntityKind::RegistryKey => &mut self.registry_keys,
                EntityKind::Service => &mut self.services,
            };
            if !set.contains(&**v) {
                set.insert(v.to_string());
            }
        }
    }

    /// Adds another set of entities.
    pub fn merge(&mut self, other: &Entities) {
        self.users.extend(other.users.iter().cloned());
        self.processes.extend(other.processes.iter().cloned());
        self.parent_processes
            .extend(other.parent_processes.iter().cloned());
        self.command_lines
            .extend(other.command_lines.iter().cloned());
        self.ips.extend(other.ips.iter().cloned());
        self.hashes.extend(other.hashes.iter().cloned());
        self.files.extend(other.files.iter().cloned());
        self.registry_keys
            .extend(other.registry_keys.iter().cloned());
        self.services.extend(other.services.iter().cloned());
    }
}

/// The rule of a hit (shared by all its hits).
#[derive(Debug, Clone, Serialize)]
pub struct HitRule {
    /// Rule id.
    pub id: Option<String>,
    /// Rule title.
    pub title: String,
    /// Rule level.
    pub level: Option<Level>,
    /// Rule tags (`attack.t1059.001`, …).
    pub tags: Vec<String>,
}

/// One hit, as incidents see it. Compact on purpose: the rule and every
/// entity value are shared, so a hunt keeps about a hundred bytes per hit.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentHit {
    /// The rule.
    pub rule: Arc<HitRule>,
    /// Event time (ms since the epoch), when known.
    pub time: Option<i64>,
    /// Where the event came from (`file:line` or `file#record`).
    pub source: Arc<str>,
    /// The host.
    pub host: Option<Arc<str>>,
    /// Entities of the event.
    pub entities: HitEntities,
    /// True for a correlation alert.
    pub correlation: bool,
}

/// An ATT&CK tactic or technique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AttackRef {
    /// `TA0002`, `T1059.001`.
    pub id: String,
    /// `Execution`, `PowerShell`.
    pub name: String,
}

/// A rule that fired in an incident.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    /// Rule id.
    pub id: Option<String>,
    /// Rule title.
    pub title: String,
    /// Rule level.
    pub level: Option<Level>,
    /// Hits of this rule in the incident.
    pub hits: usize,
}

/// One entry of an incident's timeline. It shares the hit's rule and source,
/// so a long timeline costs a few words per entry; it serializes as
/// `{time, rule_id, title, level, source, correlation}`.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// Event time (ms since the epoch), when known.
    pub time: Option<i64>,
    /// The rule.
    pub rule: Arc<HitRule>,
    /// Event source.
    pub source: Arc<str>,
    /// True for a correlation alert.
    pub correlation: bool,
}

impl Serialize for TimelineEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("time", &self.time.map(time::format_timestamp))?;
        m.serialize_entry("rule_id", &self.rule.id)?;
        m.serialize_entry("title", &self.rule.title)?;
        m.serialize_entry("level", &self.rule.level)?;
        m.serialize_entry("source", &*self.source)?;
        m.serialize_entry("correlation", &self.correlation)?;
        m.end()
    }
}

/// A group of related hits.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Stable id (`INC-` and 16 hex digits).
    pub id: String,
    /// Severity (see [`severity`]).
    pub severity: Level,
    /// Weighted score behind the severity.
    pub score: u32,
    /// First hit time (RFC 3339), when known.
    pub first_seen: Option<String>,
    /// Last hit time (RFC 3339), when known.
    pub last_seen: Option<String>,
    /// Hosts (one, or none when unknown).
    pub hosts: Vec<String>,
    /// Entities of all its hits.
    pub entities: Entities,
    /// ATT&CK tactics of its rules.
    pub tactics: Vec<AttackRef>,
    /// ATT&CK techniques of its rules.
    pub techniques: Vec<AttackRef>,
    /// Rules with hit counts, most hits first.
    pub rules: Vec<RuleCount>,
    /// Number of hits.
    pub hit_count: usize,
    /// Correlation alerts among them.
    pub correlation_hits: usize,
    /// All hits in time order.
    pub timeline: Vec<TimelineEntry>,
}

/// Grouping options.
#[derive(Debug, Clone, Copy)]
pub struct IncidentOptions {
    /// Two hits more than this apart (ms) start a new incident.
    pub gap_ms: i64,
}

impl Default for IncidentOptions {
    fn default() -> Self {
        IncidentOptions {
            gap_ms: DEFAULT_GAP_MS,
        }
    }
}

fn weight(level: Option<Level>) -> u32 {
    match level {
        Some(Level::Critical) => 16,
        Some(Level::High) => 8,
        Some(Level::Medium) => 4,
        Some(Level::Low) => 2,
        _ => 1,
    }
}

/// Severity of an incident: the highest level among its rules, raised one
/// step (up to critical) when at least three distinct rules of level
/// medium or above fired, or when a correlation alert of level medium or
/// above is part of it. The score is the sum of the weights of the distinct
/// rules (informational 1, low 2, medium 4, high 8, critical 16).
pub fn severity(hits: &[&IncidentHit]) -> (Level, u32) {
    let mut distinct: BTreeMap<(Option<&str>, &str), Option<Level>> = BTreeMap::new();
    for h in hits {
        distinct.insert((h.rule.id.as_deref(), h.rule.title.as_str()), h.rule.level);
    }
    let max = distinct
        .values()
        .filter_map(|l| *l)
        .max()
        .unwrap_or(Level::Informational);
    let strong = distinct
        .values()
        .filter(|l| l.is_some_and(|l| l >= Level::Medium))
        .count();
    let corr = hits
        .iter()
        .any(|h| h.correlation && h.rule.level.is_some_and(|l| l >= Level::Medium));
    let raised = if strong >= 3 || corr {
        match max {
            Level::Informational => Level::Low,
            Level::Low => Level::Medium,
            Level::Medium => Level::High,
            _ => Level::Critical,
        }
    } else {
        max
    };
    let score = distinct.values().map(|l| weight(*l)).sum();
    (raised, score)
}

fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// ATT&CK tactics and techniques named by a rule's tags.
pub fn attack_context(
    tags: &[String],
    data: &AttackData,
) -> (BTreeSet<AttackRef>, BTreeSet<AttackRef>) {
    let mut tactics = BTreeSet::new();
    let mut techniques = BTreeSet::new();
    for t in tags {
        let Some(name) = t.strip_prefix("attack.") else {
            continue;
        };
        let name = name.to_ascii_lowercase().replace('_', "-");
        let Some(e) = data.lookup(&name) else {
            continue;
        };
        let r = AttackRef {
            id: e.id.clone(),
            name: e.name.clone(),
        };
        match e.kind.as_str() {
            "tactic" => {
                tactics.insert(r);
            }
            "technique" => {
                techniques.insert(r);
            }
            _ => {}
        }
    }
    (tactics, techniques)
}

/// Groups hits into incidents. Every hit is in exactly one incident.
pub fn build_incidents<'a>(
    hits: impl IntoIterator<Item = &'a IncidentHit>,
    opts: IncidentOptions,
) -> Vec<Incident> {
    let data = AttackData::bundled();
    // Host → hits in time order (undated hits last).
    let mut by_host: BTreeMap<&str, Vec<&IncidentHit>> = BTreeMap::new();
    for h in hits {
        by_host
            .entry(h.host.as_deref().unwrap_or(""))
            .or_default()
            .push(h);
    }
    let mut incidents = Vec::new();
    for (host, mut list) in by_host {
        list.sort_by_key(|h| (h.time.is_none(), h.time));
        let mut current: Vec<&IncidentHit> = Vec::new();
        let mut last: Option<i64> = None;
        for h in list {
            let split = match (last, h.time) {
                (Some(prev), Some(t)) => t.saturating_sub(prev) > opts.gap_ms,
                (Some(_), None) => true,
                (None, _) => false,
            } && !current.is_empty();
            let undated_run = current.last().is_some_and(|c| c.time.is_none()) && h.time.is_none();
            if split && !undated_run {
                incidents.push(make_incident(host, &current, &data));
                current.clear();
            }
            last = h.time.or(last);
            current.push(h);
        }
        if !current.is_empty() {
            incidents.push(make_incident(host, &current, &data));
        }
    }
    incidents.sort_by(|a, b| (&a.first_seen, &a.id).cmp(&(&b.first_seen, &b.id)));
    incidents
}

fn make_incident(host: &str, hits: &[&IncidentHit], data: &AttackData) -> Incident {
    let mut entities = Entities::default();
    let mut tactics = BTreeSet::new();
    let mut techniques = BTreeSet::new();
    let mut rules: BTreeMap<(Option<String>, String), RuleCount> = BTreeMap::new();
    let mut seen_rules: HashSet<*const HitRule> = HashSet::new();
    for h in hits {
        entities.add(&h.entities);
        // ATT&CK context once per distinct rule.
        if seen_rules.insert(Arc::as_ptr(&h.rule)) {
            let (ta, te) = attack_context(&h.rule.tags, data);
            tactics.extend(ta);
            techniques.extend(te);
        }
        rules
            .entry((h.rule.id.clone(), h.rule.title.clone()))
            .or_insert_with(|| RuleCount {
                id: h.rule.id.clone(),
                title: h.rule.title.clone(),
                level: h.rule.level,
                hits: 0,
            })
            .hits += 1;
    }
    let mut rules: Vec<RuleCount> = rules.into_values().collect();
    rules.sort_by(|a, b| b.hits.cmp(&a.hits).then(a.title.cmp(&b.title)));
    let (severity, score) = severity(hits);
    let first = hits.iter().filter_map(|h| h.time).min();
    let last = hits.iter().filter_map(|h| h.time).max();
    let mut key = fnv1a(host.as_bytes(), 0xcbf2_9ce4_8422_2325);
    key = fnv1a(&first.unwrap_or(i64::MIN).to_le_bytes(), key);
    if let Some(h) = hits.first() {
        key = fnv1a(h.source.as_bytes(), key);
        key = fnv1a(h.rule.title.as_bytes(), key);
    }
    Incident {
        id: format!("INC-{key:016x}"),
        severity,
        score,
        first_seen: first.map(time::format_timestamp),
        last_seen: last.map(time::format_timestamp),
        hosts: if host.is_empty() {
            Vec::new()
        } else {
            vec![host.to_string()]
        },
        entities,
        tactics: tactics.into_iter().collect(),
        techniques: techniques.into_iter().collect(),
        rules,
        hit_count: hits.len(),
        correlation_hits: hits.iter().filter(|h| h.correlation).count(),
        timeline: hits
            .iter()
            .map(|h| TimelineEntry {
                time: h.time,
                rule: h.rule.clone(),
                source: h.source.clone(),
                correlation: h.correlation,
            })
            .collect(),
    }
}

/// A short terminal summary: one line per incident, most severe first.
pub fn summary_text(incidents: &[Incident]) -> String {
    let mut sorted: Vec<&Incident> = incidents.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.score.cmp(&a.score)));
    let mut out = format!("{} incidents\n", incidents.len());
    for i in sorted {
        let tactics: Vec<&str> = i.tactics.iter().map(|t| t.name.as_str()).collect();
        out.push_str(&format!(
            "{:<21} {:<13} {:<24} {} .. {}  {} hits, {} rules  {}\n",
            i.id,
            i.severity.name(),
            i.hosts.first().map_or("(unknown host)", String::as_str),
            i.first_seen.as_deref().unwrap_or("?"),
            i.last_seen.as_deref().unwrap_or("?"),
            i.hit_count,
            i.rules.len(),
            tactics.join(", ")
        ));
    }
    out
}

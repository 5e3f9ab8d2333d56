//! Channel groups: one small automaton per event channel, built on first
//! use.
//!
//! The plan's automaton holds the needles of every rule (about 14,000 for
//! the corpus `rules/windows` folder), and searching a line with it is the
//! largest single cost of the prefilter: the automaton does not fit in the
//! CPU caches. Yet an event can only match the variants routed to its
//! channel (and the few routed to any channel), so a Security event only
//! needs the needles of the Security rules. A [`Groups`] table holds, for
//! each channel the routes name, the needles of the variants routed there,
//! and builds that group's automaton the first time a line of the channel
//! is seen (`OnceLock`, shared by the scan threads): a dump with a handful
//! of channels never pays for the automata of the others.
//!
//! The channel is read from the raw text while the prefilter copies the
//! line's values ([`crate::prefilter`]): the keys the evaluator reads the
//! channel from (`Channel`, Winlogbeat's `channel`, see
//! [`Fields::leaf_keys`](crate::layout::Fields::leaf_keys)) are counted,
//! spaces removed and ASCII case folded, so a spaced or differently cased
//! key counts too. Only when exactly one such key occurs and its value is
//! a string without escapes is the group automaton used: the evaluator's
//! channel is then that string or absent (the key was off its paths, and
//! no rule matches an event without a channel), and in both cases every
//! variant that can match is in the group. Any other line (no channel key,
//! two of them, a non-string or escaped value) is searched with the
//! plan's full automaton, as before. Needle ids stay those of the plan, so
//! the trigger and check tables are shared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::plan::{FxMap, Plan, SPECIALS};
use super::{ById, Engine};
use crate::values::KeyKind;

/// Which EventIDs a group covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ids {
    /// Events whose EventID is this one.
    Id(i64),
    /// Events whose EventID no variant of the channel is indexed under.
    Other,
    /// Events whose EventID could not be read from the raw text.
    All,
}

/// One group's needles and automaton, built on first use.
struct Group {
    /// Plan needle ids, ascending; the automaton's pattern `i` is
    /// `needles[i]`, patterns past the end are [`SPECIALS`].
    needles: Vec<u32>,
    ac: AhoCorasick,
    /// Lines searched with `ac` so far (counted until the upgrade).
    searched: AtomicU32,
    /// The same needles as a DFA, built when a large group has searched
    /// [`UPGRADE_LINES`] lines (see [`Group::automaton`]).
    dfa: OnceLock<Option<AhoCorasick>>,
}

/// A group slot: built on first use, shared by the threads.
type GroupSlot = OnceLock<Option<Arc<Group>>>;

/// Lines a group built as a contiguous NFA searches before it is rebuilt
/// as a DFA.
const UPGRADE_LINES: u32 = 16_384;

impl Group {
    /// The automaton to search the next line with.
    ///
    /// A DFA searches about twice as fast as a contiguous NFA, but for a
    /// group of a few thousand needles it takes tens of milliseconds and
    /// megabytes to build: more than a small dump saves with it. So a
    /// large group starts as a contiguous NFA, and the thread that
    /// searches its `upgrade`th line ([`UPGRADE_LINES`] unless a test
    /// says otherwise) builds the DFA (the other
    /// threads go on with the NFA meanwhile). Both hold the same patterns
    /// in the same order, so the matches are the same.
    fn automaton(&self, plan: &Plan, upgrade: u32) -> &AhoCorasick {
        match self.dfa.get() {
            Some(dfa) => dfa.as_ref().unwrap_or(&self.ac),
            None => {
                if self.searched.fetch_add(1, Ordering::Relaxed) != upgrade {
                    return &self.ac;
                }
                self.dfa
                    .get_or_init(|| {
                        let pats = patterns(plan, &self.needles)?;
                        builder(AhoCorasickKind::DFA).build(pats).ok()
                    })
                    .as_ref()
                    .unwrap_or(&self.ac)
            }
        }
    }
}

/// The (channel, EventID) groups of a plan.
pub(crate) struct Groups {
    /// Keys (lowercased, spaces removed) the evaluator reads the channel
    /// and the EventID from; empty when they cannot be told from the raw
    /// text.
    channel_keys: Vec<Vec<u8>>,
    id_keys: Vec<Vec<u8>>,
    /// First bytes and lengths (bit mask) of those keys, for a quick test.
    first_bytes: Vec<u8>,
    lengths: u64,
    /// Lowercased channel name → index into `routes`.
    /// (Both maps are looked up for every line, with the fast hash: their
    /// content is fixed by the rules.)
    by_name: FxMap<Vec<u8>, usize>,
    /// Variants by EventID for each named channel, then for channels no
    /// route names (empty).
    routes: Vec<ById>,
    /// Variants routed to any channel.
    anywhere: ById,
    /// Variant → every needle of its clauses.
    needles_of: Vec<Vec<u32>>,
    /// (channel, ids) → group; every key exists from the start, so the
    /// map is only read while scanning.
    groups: FxMap<(usize, Ids), GroupSlot>,
    /// Groups by needle set: many (channel, EventID) pairs route to the
    /// same variants' needles, and share one automaton. The lock is held
    /// only to find or add a set's slot, never while building, so the
    /// threads build different groups at the same time.
    built: Mutex<HashMap<Vec<u32>, Arc<GroupSlot>>>,
    /// Lines after which a group's NFA is rebuilt as a DFA.
    pub(crate) upgrade_lines: u32,
}

/// The automaton chosen for one line and how its pattern ids map to the
/// plan's needle ids (`None`: they are the plan's ids).
pub(crate) type Chosen<'a> = (&'a AhoCorasick, Option<&'a [u32]>);

fn leaf_keys(engine: &Engine, field: crate::layout::FieldId) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = engine
        .fields
        .leaf_keys(field)
        .map(|ks| ks.iter().map(|k| normalize_key(k.as_bytes())).collect())
        .unwrap_or_default();
    keys.sort();
    keys.dedup();
    keys
}

impl Groups {
    /// Groups the plan's needles by the channels and EventIDs the engine's
    /// variants are routed to.
    pub(crate) fn build(engine: &Engine, plan: &Plan) -> Groups {
        let mut needles_of: Vec<Vec<u32>> = vec![Vec::new(); engine.variants.len()];
        for (n, vs) in plan.trigger.iter().enumerate() {
            for &v in vs {
                if let Some(list) = needles_of.get_mut(v as usize) {
                    list.push(n as u32);
                }
            }
        }
        for (v, clauses) in plan.checks.iter().enumerate() {
            if let Some(list) = needles_of.get_mut(v) {
                list.extend(clauses.iter().flat_map(|c| c.iter().copied()));
            }
        }
        let mut by_name: FxMap<Vec<u8>, usize> = HashMap::default();
        let mut routes = Vec::new();
        for (name, by) in &engine.channels {
            by_name.insert(name.to_ascii_lowercase().into_bytes(), routes.len());
            routes.push(by.clone());
        }
        routes.push(ById::default());
        let anywhere = engine.any_channel.clone();
        let mut groups: FxMap<_, _> = HashMap::default();
        for (ch, by) in routes.iter().enumerate() {
            for ids in [Ids::All, Ids::Other] {
                groups.insert((ch, ids), OnceLock::new());
            }
            for id in by.by_id.keys().chain(anywhere.by_id.keys()) {
                groups.insert((ch, Ids::Id(*id)), OnceLock::new());
            }
        }
        let channel_keys = leaf_keys(engine, engine.channel_field);
        let id_keys = leaf_keys(engine, engine.event_id_field);
        let all = || channel_keys.iter().chain(&id_keys);
        let mut first_bytes: Vec<u8> = all().filter_map(|k| k.first().copied()).collect();
        first_bytes.sort_unstable();
        first_bytes.dedup();
        let lengths = all()
            .filter(|k| k.len() < 64)
            .fold(0u64, |m, k| m | (1u64 << k.len()));
        Groups {
            first_bytes,
            lengths,
            channel_keys,
            id_keys,
            by_name,
            routes,
            anywhere,
            needles_of,
            groups,
            built: Mutex::new(HashMap::new()),
            upgrade_lines: UPGRADE_LINES,
        }
    }

    /// What a JSON key (raw, as written in the line) can hold.
    #[inline]
    pub(crate) fn kind_of(&self, key: &[u8]) -> KeyKind {
        let kind = |k: &[u8]| {
            if self.channel_keys.iter().any(|c| c.eq_ignore_ascii_case(k)) {
                KeyKind::Channel
            } else if self.id_keys.iter().any(|c| c.eq_ignore_ascii_case(k)) {
                KeyKind::EventId
            } else {
                KeyKind::Other
            }
        };
        // Most keys differ from every routing key in length or first byte.
        let plausible = key.first().is_some_and(|b| {
            self.first_bytes.contains(&b.to_ascii_lowercase()) && (key.len() as u64) < 64
        }) && self.lengths & (1u64 << key.len()) != 0;
        if plausible {
            let k = kind(key);
            if k != KeyKind::Other {
                return k;
            }
        }
        // Spaced names (`Event ID`) resolve without their spaces.
        if memchr::memchr(b' ', key).is_some() {
            return kind(&normalize_key(key));
        }
        KeyKind::Other
    }

    /// True when the table can be used at all.
    pub(crate) fn enabled(&self) -> bool {
        !self.channel_keys.is_empty()
    }

    /// The automaton for a line whose only channel key holds `channel`
    /// (raw, ASCII-lowercased, without escapes) and whose EventID is `id`
    /// when it could be read; `None` when it cannot be built (the caller
    /// then uses the plan's automaton).
    pub(crate) fn automaton<'a>(
        &'a self,
        plan: &Plan,
        channel: &[u8],
        id: Option<i64>,
    ) -> Option<Chosen<'a>> {
        let ch = self
            .by_name
            .get(channel)
            .copied()
            .unwrap_or(self.routes.len().saturating_sub(1));
        // An EventID no variant of the channel is indexed under meets the
        // variants that accept any EventID: the `Other` group.
        let (ids, slot) = match id {
            None => (Ids::All, self.groups.get(&(ch, Ids::All))?),
            Some(i) => match self.groups.get(&(ch, Ids::Id(i))) {
                Some(slot) => (Ids::Id(i), slot),
                None => (Ids::Other, self.groups.get(&(ch, Ids::Other))?),
            },
        };
        let g = slot
            .get_or_init(|| self.build_group(plan, ch, ids))
            .as_ref()?;
        Some((g.automaton(plan, self.upgrade_lines), Some(&g.needles)))
    }

    /// The variants an event of channel `ch` with EventID `ids` is routed
    /// to (as `Engine::evaluate` routes it), and their needles.
    fn build_group(&self, plan: &Plan, ch: usize, ids: Ids) -> Option<Arc<Group>> {
        let mut variants: Vec<u32> = Vec::new();
        for by in [self.routes.get(ch)?, &self.anywhere] {
            match ids {
                Ids::All => variants.extend(by.by_id.values().flatten()),
                Ids::Id(i) => variants.extend(by.by_id.get(&i).into_iter().flatten()),
                Ids::Other => {}
            }
            variants.extend(&by.any_id);
        }
        let mut needles: Vec<u32> = variants
            .iter()
            .filter_map(|&v| self.needles_of.get(v as usize))
            .flatten()
            .copied()
            .collect();
        needles.sort_unstable();
        needles.dedup();
        // A poisoned lock only means another thread panicked while
        // building; the map itself is still consistent.
        let shared = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(needles.clone())
            .or_default()
            .clone();
        shared
            .get_or_init(|| {
                let kind = kind_for(needles.len());
                let ac = builder(kind).build(patterns(plan, &needles)?).ok()?;
                Some(Arc::new(Group {
                    needles,
                    ac,
                    searched: AtomicU32::new(0),
                    // A DFA already: nothing to upgrade.
                    dfa: if kind == AhoCorasickKind::DFA {
                        OnceLock::from(None)
                    } else {
                        OnceLock::new()
                    },
                }))
            })
            .clone()
    }
}

/// A group's patterns: its needles, then the specials.
fn patterns<'p>(plan: &'p Plan, needles: &[u32]) -> Option<Vec<&'p str>> {
    needles
        .iter()
        .map(|&n| plan.patterns.get(n as usize).map(String::as_str))
        .chain(SPECIALS.iter().map(|s| Some(*s)))
        .collect()
}

fn builder(kind: AhoCorasickKind) -> AhoCorasickBuilder {
    let mut b = AhoCorasickBuilder::new();
    b.match_kind(MatchKind::Standard).kind(Some(kind));
    b
}

/// A DFA searches about twice as fast as a contiguous NFA but takes much
/// longer to build and more memory as the automaton grows: worth it for
/// the small groups only.
fn kind_for(needles: usize) -> AhoCorasickKind {
    if needles <= DFA_NEEDLES {
        AhoCorasickKind::DFA
    } else {
        AhoCorasickKind::ContiguousNFA
    }
}

/// See [`kind_for`].
const DFA_NEEDLES: usize = 100;

fn normalize_key(key: &[u8]) -> Vec<u8> {
    key.iter()
        .filter(|b| **b != b' ')
        .map(u8::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalized() {
        assert_eq!(normalize_key(b"Chan nel"), b"channel".to_vec());
    }
}

//! The line prefilter: one automaton pass over each raw line decides which
//! rule variants are worth evaluating, and whether the line needs parsing
//! at all.
//!
//! [`Engine::prefilter`] runs the [`Plan`](crate::engine::plan::Plan)'s
//! Aho-Corasick automaton over the raw bytes of a line (overlapping
//! matches, so needles sharing text are all seen), records the needles
//! seen in a bitset, and marks as candidates the variants whose trigger
//! clause matched and whose other clauses hold. The result is one of:
//!
//! * [`LineCheck::Exact`]: the line has an escape the needles cannot see
//!   through (`\uXXXX`, `\/`) or a character that folds to ASCII (see
//!   `plan::SPECIALS`); it is evaluated against every rule, as without a
//!   prefilter;
//! * [`LineCheck::Candidates`]: parse the line and evaluate the candidates
//!   only ([`Engine::evaluate_prefiltered`]);
//! * [`LineCheck::Nothing`]: no rule can match. The scanner then only
//!   checks that the line is a well-formed JSON object
//!   ([`valid_object`], no allocation), so malformed lines are still
//!   reported exactly as before, and counts it as evaluated.
//!
//! All state lives in the per-thread [`PlanScratch`]; nothing is allocated
//! per line once the buffers have grown.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Engine, Scratch};
use crate::values::{values_text, KeyKind, Probes};

/// Per-thread state of the prefilter.
#[derive(Default)]
pub struct PlanScratch {
    /// Needles seen in the current line (bitset).
    seen: Vec<u64>,
    /// Needle ids set in `seen`, to clear them.
    touched: Vec<u32>,
    /// Candidate variants of the current line (bitset).
    allowed: Vec<u64>,
    /// The last prefilter result applies to the next evaluation.
    active: bool,
    /// The ASCII-lowercased line.
    lower: Vec<u8>,
    /// Leaf keys the candidates read (see [`crate::engine::sparse`]).
    wanted: Vec<u64>,
}

/// What the prefilter decided for one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCheck {
    /// Evaluate every rule (no plan, or a line the needles cannot judge).
    Exact,
    /// Evaluate the candidate variants.
    Candidates,
    /// No rule can match the line.
    Nothing,
}

impl PlanScratch {
    /// True when variant `vi` is a candidate of the last line.
    #[inline]
    pub(crate) fn allows(&self, vi: u32) -> bool {
        test(&self.allowed, vi as usize)
    }
}

#[inline]
fn test(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

#[inline]
fn set(bits: &mut [u64], i: usize) -> bool {
    match bits.get_mut(i / 64) {
        Some(w) => {
            let was = *w & (1 << (i % 64)) != 0;
            *w |= 1 << (i % 64);
            !was
        }
        None => false,
    }
}

impl Engine {
    /// True when lines are prefiltered.
    pub fn prefilter_enabled(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.enabled)
    }

    /// Turns the prefilter on or off (off: every line is parsed and
    /// evaluated against every routed rule, the plain evaluator).
    pub fn set_prefilter(&mut self, on: bool) {
        if let Some(p) = &mut self.plan {
            p.enabled = on;
        }
    }

    /// Sets how many lines without a usable channel key are evaluated
    /// exactly before the full prefilter automaton is built (default
    /// [`FULL_WARMUP`](crate::engine::plan::FULL_WARMUP)); 0 builds it at
    /// the first such line, which tests use to exercise it. Hits are the
    /// same either way.
    #[doc(hidden)]
    pub fn set_prefilter_warmup(&mut self, lines: u32) {
        if let Some(p) = &mut self.plan {
            p.warmup = lines;
        }
    }

    /// Sets after how many lines a (channel, EventID) group's automaton is
    /// rebuilt as a DFA (0: at its first line), for tests of that path.
    #[doc(hidden)]
    pub fn set_automaton_upgrade(&mut self, lines: u32) {
        if let Some(g) = self.plan.as_mut().and_then(|p| p.groups.as_mut()) {
            g.upgrade_lines = lines;
        }
    }

    /// Figures about the plan.
    pub fn plan_stats(&self) -> Option<&crate::engine::plan::PlanStats> {
        self.plan.as_ref().map(|p| &p.stats)
    }

    /// Runs the prefilter over one raw line. The decision is kept in the
    /// scratch space for the next [`Engine::evaluate_prefiltered`].
    pub fn prefilter(&self, line: &[u8], scratch: &mut Scratch) -> LineCheck {
        let s = &mut scratch.plan;
        s.active = false;
        let Some(plan) = self.plan.as_ref().filter(|p| p.enabled) else {
            return LineCheck::Exact;
        };
        for &n in &s.touched {
            if let Some(w) = s.seen.get_mut(n as usize / 64) {
                *w = 0;
            }
        }
        s.touched.clear();
        let words = plan.needles.div_ceil(64);
        if s.seen.len() != words {
            s.seen = vec![0; words];
        }
        let vwords = self.variants.len().div_ceil(64);
        if s.allowed.len() != vwords {
            s.allowed = vec![0; vwords];
        } else {
            s.allowed.fill(0);
        }
        let mut probes = Probes::default();
        let groups = plan.groups.as_ref().filter(|g| g.enabled());
        let kind_of = |k: &[u8]| groups.map_or(KeyKind::Other, |g| g.kind_of(k));
        if values_text(line, &mut s.lower, &kind_of, &mut probes) {
            return LineCheck::Exact;
        }
        let chosen = groups
            .zip(probes.channel.text(&s.lower))
            .and_then(|(g, ch)| g.automaton(plan, ch, probes.event_id.id(&s.lower)))
            .or_else(|| plan.full_automaton().map(|ac| (ac, None)));
        let Some((ac, ids)) = chosen else {
            // No automaton could be built: evaluate exactly.
            return LineCheck::Exact;
        };
        for m in ac.find_overlapping_iter(&s.lower) {
            let pid = match ids {
                None => m.pattern().as_usize(),
                // Past the group's needles: one of the specials.
                Some(ids) => ids
                    .get(m.pattern().as_usize())
                    .map_or(usize::MAX, |&n| n as usize),
            };
            if pid >= plan.needles {
                // KELVIN SIGN, a dotted capital I or a long s: rules can
                // see them as ASCII letters, the needles cannot (see
                // `plan::SPECIALS`).
                return LineCheck::Exact;
            }
            if set(&mut s.seen, pid) {
                s.touched.push(pid as u32);
            }
        }
        let mut any = false;
        for &n in &s.touched {
            let Some(list) = plan.trigger.get(n as usize) else {
                continue;
            };
            for &v in list {
                if test(&s.allowed, v as usize) {
                    continue;
                }
                let ok = plan.checks.get(v as usize).is_some_and(|cs| {
                    cs.iter()
                        .all(|c| c.iter().any(|&x| test(&s.seen, x as usize)))
                });
                if ok {
                    set(&mut s.allowed, v as usize);
                    any = true;
                }
            }
        }
        for &v in &plan.always {
            set(&mut s.allowed, v as usize);
            any = true;
        }
        s.active = true;
        if any {
            LineCheck::Candidates
        } else {
            LineCheck::Nothing
        }
    }

    /// Evaluates one event like [`Engine::evaluate`], restricted to the
    /// candidates of the last [`Engine::prefilter`] call when there was
    /// one (the decision is used once).
    pub fn evaluate_prefiltered(
        &self,
        root: &Map<String, Value>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
    ) {
        let filtered = std::mem::take(&mut scratch.plan.active);
        self.evaluate_where(root, scratch, hits, filtered);
    }
}

impl Engine {
    /// Parses a line the last [`Engine::prefilter`] call found candidates
    /// in, keeping only what those candidates read (see
    /// the engine's `sparse` module). `None` when the whole event is needed
    /// (a keyword rule among the candidates, or no decision); then, and
    /// when this fails, the caller parses the line in full.
    pub fn parse_candidates(
        &self,
        line: &[u8],
        scratch: &mut Scratch,
    ) -> Option<Result<Option<Map<String, Value>>, serde_json::Error>> {
        let sparse = self.plan.as_ref()?.sparse.as_ref()?;
        if !scratch.plan.active {
            return None;
        }
        sparse.wanted(&scratch.plan.allowed, &mut scratch.plan.wanted)?;
        Some(super::sparse::parse_sparse(
            line,
            sparse,
            &scratch.plan.wanted,
        ))
    }
}

impl Scratch {
    /// Drops the last prefilter decision: the next evaluation is exact.
    pub fn forget_prefilter(&mut self) {
        self.plan.active = false;
    }
}

/// Walks a JSON document through the same deserializer paths as
/// `serde_json::Value` (so it accepts and rejects exactly the same
/// documents) without building anything.
pub(crate) struct Validate;

impl<'de> Deserialize<'de> for Validate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Validate)
    }
}

impl<'de> Visitor<'de> for Validate {
    type Value = Validate;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_str<E>(self, _: &str) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_unit<E>(self) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Validate, A::Error> {
        while a.next_element::<Validate>()?.is_some() {}
        Ok(Validate)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Validate, A::Error> {
        while a.next_entry::<Validate, Validate>()?.is_some() {}
        Ok(Validate)
    }
}

/// True when `line` (trimmed) is valid UTF-8 holding one well-formed JSON
/// object: exactly the lines that parse into a `Value::Object`.
///
/// One hand-written pass (the crate's `validate` module) decides almost every line;
/// the few it is unsure about take [`valid_object_serde`].
pub fn valid_object(line: &[u8]) -> bool {
    use crate::validate::{check, Verdict};
    line.first() == Some(&b'{')
        && match check(line) {
            Verdict::Valid => true,
            Verdict::Invalid => false,
            Verdict::Unsure => valid_object_serde(line),
        }
}

/// [`valid_object`] by serde_json's deserializer with a do-nothing visitor:
/// the reference the fast path must agree with, and its fallback.
#[doc(hidden)]
pub fn valid_object_serde(line: &[u8]) -> bool {
    // No separate UTF-8 check: `serde_json` checks every string it reads
    // (`Validate` visits them all as `&str`), and a non-ASCII byte outside
    // a string is a syntax error.
    line.first() == Some(&b'{') && serde_json::from_slice::<Validate>(line).is_ok()
}

impl Engine {
    /// How often each needle occurs in the lines of `data`, most frequent
    /// first (for tuning tools).
    #[doc(hidden)]
    pub fn debug_needle_counts(&self, data: &[u8]) -> Vec<(String, usize)> {
        let Some(plan) = &self.plan else {
            return Vec::new();
        };
        let mut counts = vec![0usize; plan.needles];
        let lower: Vec<u8> = data.iter().map(u8::to_ascii_lowercase).collect();
        let Some(ac) = plan.full_automaton_now() else {
            return Vec::new();
        };
        for m in ac.find_overlapping_iter(&lower) {
            if let Some(c) = counts.get_mut(m.pattern().as_usize()) {
                *c += 1;
            }
        }
        let mut out: Vec<(String, usize)> = plan
            .patterns
            .iter()
            .cloned()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .collect();
        out.sort_by_key(|x| std::cmp::Reverse(x.1));
        out
    }

    /// Candidate variants of the last [`Engine::prefilter`] call, with the
    /// rule of each and the needles that trigger it (for tuning tools).
    #[doc(hidden)]
    pub fn debug_candidates(&self, scratch: &Scratch) -> Vec<(u32, String)> {
        let Some(plan) = &self.plan else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (vi, v) in self.variants.iter().enumerate() {
            if test(&scratch.plan.allowed, vi) {
                let needles: Vec<&str> = plan
                    .trigger
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.contains(&(vi as u32)))
                    .filter_map(|(n, _)| plan.patterns.get(n).map(String::as_str))
                    .collect();
                out.push((v.rule, needles.join(" | ")));
            }
        }
        out
    }
}

// `valid_object` is tested against serde_json in `validate_tests.rs`.

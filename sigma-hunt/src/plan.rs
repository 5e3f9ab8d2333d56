//! The rule-set plan: what each compiled rule needs to see in a raw line
//! before it is worth parsing the line.
//!
//! For every (rule, route) variant of the [`Engine`](super::Engine), the plan
//! derives a conservative requirement from the rule's detection: a list of
//! clauses, all of which must hold, each satisfied when any of its
//! *needles* occurs in the raw JSON text of the line. A needle is a
//! case-folded literal substring of a string value, written the way it
//! appears inside a JSON string (`\` doubled, `"` escaped, `\n`, `\r`,
//! `\t`, `\b`, `\f`). The derivation follows the condition:
//!
//! * a field or keyword item with OR-linked string values needs one of the
//!   longest literal parts of its values (`*\whoami.exe` needs
//!   `\\whoami.exe`); an item with `|all` needs each value, so any one of
//!   them is a requirement;
//! * AND (a map, `and`, `all of`) keeps the best clauses of its children;
//!   OR (a list, `or`, `1 of`) unions one clause of each child, and has no
//!   requirement as soon as one child has none;
//! * `not`, `neq`, `null`, `exists`, numbers, `cidr`, comparisons,
//!   `fieldref`, `re` and values with no usable literal have no
//!   requirement, so rules satisfied by absence always run.
//!
//! Route conditions add clauses: one of the route's channels, one of the
//! accepted providers. Each variant is *triggered* by one clause (the most
//! selective detection clause) and checks the others against the set of
//! needles seen; variants without any clause always run.
//!
//! At scan time ([`crate::prefilter`]) one Aho-Corasick automaton finds
//! every needle in the ASCII-lowercased values of the line (object keys
//! left out; overlapping matches).
//! The prefilter only removes work, never a hit: a needle is a substring of
//! the JSON text of any value that can match, because JSON escaping is
//! applied character by character. Lines where that reasoning could fail
//! are evaluated exactly against every rule: lines with a `\uXXXX` or `\/`
//! escape, and lines holding one of the three non-ASCII characters a rule
//! can see as ASCII: KELVIN SIGN and LATIN CAPITAL LETTER I WITH DOT ABOVE
//! (their lowercase form is ASCII), and LATIN SMALL LETTER LONG S (the
//! case-insensitive regexes of wildcard patterns match it with `s`).
//! Needles made only of digits, `.`, `e`, `+` and `-` are never used, as a
//! number's text in the event may differ from the text the rule compares.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sigma_core::{
    ConditionExpr, Detection, DetectionEntry, DetectionItem, Detections, Linking, Quantifier,
    SigmaRule, SigmaString, StrPart, Value,
};

/// Needles, any of which satisfies the clause.
type Clause = Vec<String>;

/// Clauses, all of which must be satisfied; empty: no requirement.
pub(crate) type Req = Vec<Clause>;

/// Detection clauses kept per variant (more cost automaton work, fewer
/// remove more candidates).
const MAX_CLAUSES: usize = 2;

/// Needles are cut to their last bytes: a shorter automaton builds 3 to 4
/// times faster (45 ms instead of 160 ms for the corpus `rules/windows`
/// folder) and 16 bytes lose almost no selectivity (1.7 % more candidate
/// lines on the bench files).
const MAX_NEEDLE: usize = 16;

/// Shorter needles are not worth their matches.
const MIN_NEEDLE: usize = 3;

/// Patterns that send a line to exact evaluation, after the needles: the
/// non-ASCII characters that can stand for an ASCII letter of a needle
/// (escapes are found while the line's values are copied, see
/// [`crate::prefilter`]). Literal patterns compare the rule's lowercased
/// text with the value's `to_lowercase()`: KELVIN SIGN lowercases to `k`,
/// LATIN CAPITAL LETTER I WITH DOT ABOVE to `i` + U+0307. Patterns with
/// inner wildcards (and `?`) run as `(?i)` regexes on the raw value, with
/// Unicode simple case folding: KELVIN SIGN matches `k` and LATIN SMALL
/// LETTER LONG S matches `s`, although `ſ` lowercases to itself, so a line
/// writing `ſ` for `s` matched such a pattern without holding its needle
/// (`mimikatz*sekurlsa::logonpasswords` against `ſekurlſa::...`). The
/// test `specials_cover_every_ascii_fold` checks the list is complete.
pub(crate) const SPECIALS: [&str; 3] = ["\u{212A}", "\u{130}", "\u{17F}"];

/// The compiled plan of a rule set.
pub struct Plan {
    /// Needles, then [`SPECIALS`].
    pub(crate) ac: OnceLock<Option<AhoCorasick>>,
    /// Number of needles (pattern ids below this are needles).
    pub(crate) needles: usize,
    /// Needle → variants it triggers.
    pub(crate) trigger: Vec<Vec<u32>>,
    /// Variant → the other clauses (needle ids) it must satisfy.
    pub(crate) checks: Vec<Vec<Box<[u32]>>>,
    /// Variants without any requirement.
    pub(crate) always: Vec<u32>,
    /// The needles (for tuning tools).
    pub(crate) patterns: Vec<String>,
    /// Used by the scanner (off for `--no-prefilter` and tests).
    pub(crate) enabled: bool,
    /// Lines evaluated exactly before the full automaton is built (see
    /// [`Plan::full_automaton`]).
    pub(crate) warmup: u32,
    /// Lines that asked for the full automaton before it was built.
    full_seen: AtomicU32,
    /// Figures for reports and docs.
    pub stats: PlanStats,
    /// The needles grouped by channel (see [`crate::engine::groups`]).
    pub(crate) groups: Option<super::groups::Groups>,
    /// The leaf keys each variant reads (see [`crate::engine::sparse`]).
    pub(crate) sparse: Option<super::sparse::SparsePlan>,
}

/// Lines without a usable channel key evaluated exactly before the full
/// automaton is built (`Plan::full_automaton`).
pub const FULL_WARMUP: u32 = 256;

/// Figures about a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanStats {
    /// Variants (rule × route).
    pub variants: usize,
    /// Distinct needles in the automaton.
    pub needles: usize,
    /// Variants that run on every line of their channel (no detection
    /// requirement).
    pub channel_only: usize,
    /// Variants that run on every line.
    pub always: usize,
}

/// Characters a needle cannot span: the automaton folds ASCII case only
/// (the line fallback covers the non-ASCII characters that fold to
/// ASCII), and control characters other than the JSON short escapes.
fn breaks_needle(c: char) -> bool {
    !c.is_ascii() || (c.is_ascii_control() && !"\n\r\t\u{8}\u{c}".contains(c))
}

/// The JSON-escaped, ASCII-lowercased form of a literal, or `None` when
/// no part of it can serve as a needle.
fn needle_of(literal: &str) -> Option<String> {
    // Almost every literal is one run of printable ASCII: lowercase it in
    // one pass instead of lowercasing, splitting and copying char by char.
    let b = literal.as_bytes();
    if b.iter()
        .all(|&c| (b' '..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        if b.iter()
            .all(|&c| c.is_ascii_digit() || b".e+-".contains(&c))
        {
            return None;
        }
        return Some(literal.to_ascii_lowercase());
    }
    if !literal.chars().any(breaks_needle) {
        return escaped(literal.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    }
    let lower = literal.to_lowercase();
    let best = lower.split(breaks_needle).max_by_key(|s| s.len())?;
    escaped(best.chars())
}

/// A needle from its (lowercased) characters.
fn escaped(best: impl Iterator<Item = char> + Clone) -> Option<String> {
    let mut n = 0;
    let mut numeric = true;
    for c in best.clone() {
        n += 1;
        numeric &= c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-');
    }
    if n == 0 || numeric {
        return None;
    }
    let mut out = String::with_capacity(n + 4);
    for c in best {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// The best needle of a Sigma string: its longest usable literal part.
fn string_needle(s: &SigmaString) -> Option<String> {
    s.parts
        .iter()
        .filter_map(|p| match p {
            StrPart::Literal(l) => needle_of(l),
            _ => None,
        })
        .max_by_key(|n| n.len())
}

/// Needles, one of which any event matching the value contains.
fn value_needles(v: &Value, out: &mut Clause) -> bool {
    match v {
        Value::String { value, .. } => match string_needle(value) {
            Some(n) => {
                out.push(n);
                true
            }
            None => false,
        },
        Value::Bool { value } => {
            out.push(if *value { "true" } else { "false" }.to_string());
            true
        }
        Value::Expansion { values } => values.iter().all(|x| value_needles(x, out)),
        _ => false,
    }
}

/// Rank of a clause: longer shortest needle first, then fewer needles.
fn score(c: &Clause) -> (usize, std::cmp::Reverse<usize>) {
    (
        c.iter().map(String::len).min().unwrap_or(0),
        std::cmp::Reverse(c.len()),
    )
}

fn best_first(mut r: Req) -> Req {
    r.sort_by_key(|c| std::cmp::Reverse(score(c)));
    r.dedup();
    r.truncate(MAX_CLAUSES);
    r
}

fn and(parts: impl Iterator<Item = Req>) -> Req {
    best_first(parts.flatten().collect())
}

fn or(parts: impl Iterator<Item = Req>) -> Req {
    let mut parts: Vec<Req> = parts.collect();
    if parts.len() == 1 {
        return best_first(parts.pop().unwrap_or_default());
    }
    let mut clause = Clause::new();
    let mut any = false;
    for p in parts {
        match best_first(p).into_iter().next() {
            Some(c) => clause.extend(c),
            None => return Req::new(),
        }
        any = true;
    }
    if !any {
        return Req::new();
    }
    clause.sort();
    clause.dedup();
    vec![clause]
}

fn item_req(item: &DetectionItem) -> Req {
    if item.negated || item.values.is_empty() {
        return Req::new();
    }
    match item.linking {
        Linking::Or => {
            let mut clause = Clause::new();
            if item
                .values
                .iter()
                .all(|v| value_needles(&v.value, &mut clause))
            {
                clause.sort();
                clause.dedup();
                vec![clause]
            } else {
                Req::new()
            }
        }
        Linking::And => best_first(
            item.values
                .iter()
                .filter_map(|v| {
                    let mut c = Clause::new();
                    value_needles(&v.value, &mut c).then_some(c)
                })
                .collect(),
        ),
    }
}

fn detection_req(d: &Detection) -> Req {
    let parts = d.entries.iter().map(|e| match e {
        DetectionEntry::Item(i) => item_req(i),
        DetectionEntry::Group(g) => detection_req(g),
    });
    match d.linking {
        Linking::And => and(parts),
        Linking::Or => or(parts),
    }
}

fn cond_req(e: &ConditionExpr, d: &Detections) -> Req {
    let search = |name: &str| {
        d.get(name)
            .map_or_else(Req::new, |s| detection_req(&s.detection))
    };
    match e {
        ConditionExpr::Identifier(n) => search(n),
        ConditionExpr::Selector {
            quantifier,
            matched,
            ..
        } => {
            let parts = matched.iter().map(|m| search(m));
            match quantifier {
                Quantifier::Any => or(parts),
                Quantifier::All => and(parts),
            }
        }
        ConditionExpr::Not(_) => Req::new(),
        ConditionExpr::And(xs) => and(xs.iter().map(|x| cond_req(x, d))),
        ConditionExpr::Or(xs) => or(xs.iter().map(|x| cond_req(x, d))),
    }
}

/// The requirement of a rule's detection, as compiled (after the
/// pipeline). Its conditions are OR-linked; meta filters only add AND-ed
/// conditions, which never weaken it.
pub(crate) fn rule_requirement(rule: &SigmaRule) -> Req {
    rule_req(&rule.detection)
}

fn rule_req(d: &Detections) -> Req {
    or(d.conditions.iter().map(|c| cond_req(&c.expr, d)))
}

/// A clause from route values (channels, providers), `None` when one of
/// them gives no needle.
fn values_clause(vals: &[String]) -> Option<Clause> {
    let mut c = Clause::new();
    for v in vals {
        c.push(needle_of(v)?);
    }
    c.sort();
    c.dedup();
    (!c.is_empty()).then_some(c)
}

/// The rustc hash: interning tens of thousands of short needles (which
/// come from rules, not from an adversary) with SipHash costs more than
/// the rest of the interning. Also used for lookups of log keys in tables
/// built from the rules (see [`crate::engine::sparse`]): the table's
/// content is fixed, so crafted keys cannot lengthen its probe chains.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

/// A map hashed with [`Fx`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let w = <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in words.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Cuts a needle to its last [`MAX_NEEDLE`] bytes: any substring of a
/// needle is a needle, and the end is the distinctive part (file names,
/// the end of paths).
fn cut(mut n: String) -> String {
    if n.len() > MAX_NEEDLE {
        let mut at = n.len() - MAX_NEEDLE;
        while !n.is_char_boundary(at) {
            at += 1;
        }
        n = n.split_off(at);
    }
    n
}

/// What one variant must see in a line: its clauses, needles already cut,
/// the trigger clause first. Computed per variant while the rules are
/// compiled in parallel, so that only interning and the automaton are
/// left for [`Plan::build`].
#[derive(Debug, Default)]
pub(crate) struct VariantNeeds {
    /// Clauses, all of which must hold; none: the variant always runs.
    clauses: Vec<Clause>,
    /// The trigger comes from the detection (not from the route alone).
    from_detection: bool,
}

impl VariantNeeds {
    /// The needs of a variant with detection requirement `det`, indexed
    /// under `event_ids` (empty: any EventID, or not indexed) for
    /// `channels` (empty: any channel, or not indexed), with route guards
    /// (`Provider_Name` values, then other fields' values, in guard
    /// order).
    pub(crate) fn new<'a>(
        det: &Req,
        event_ids: &[i64],
        guards: impl Iterator<Item = &'a [String]>,
        channels: &[String],
    ) -> VariantNeeds {
        // Route clauses, most selective first. A variant indexed by
        // EventID is only reached when the event's EventID is one of its
        // ids: a JSON integer (no leading zeros, written as its digits) or
        // a string that parses as one, so the digits occur in the line.
        let mut route: Req = Vec::new();
        if !event_ids.is_empty() {
            let mut ids: Vec<i64> = Vec::with_capacity(event_ids.len());
            for id in event_ids {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            route.push(ids.iter().map(|id| id.to_string()).collect());
        }
        for vals in guards {
            route.extend(values_clause(vals));
        }
        if !channels.is_empty() {
            route.extend(values_clause(channels));
        }
        // A clause with a very short needle (`-`, EventID `1`) matches
        // almost everywhere: dropping it weakens the requirement (always
        // allowed) and spares the automaton most of its matches.
        let useful = |c: &&Clause| c.iter().all(|n| n.len() >= MIN_NEEDLE);
        let mut clauses: Vec<Clause> = Vec::new();
        let mut from_detection = false;
        for c in det.iter().filter(useful) {
            clauses.push(c.iter().map(|n| cut(n.clone())).collect());
            from_detection = true;
        }
        for c in route.into_iter().filter(|c| useful(&c)) {
            clauses.push(c.into_iter().map(cut).collect());
        }
        VariantNeeds {
            clauses,
            from_detection,
        }
    }
}

impl Plan {
    /// The plan of an engine's variants, from their needs in variant
    /// order.
    pub(crate) fn build(needs: Vec<VariantNeeds>) -> Plan {
        let nv = needs.len();
        let mut ids: FxMap<String, u32> = HashMap::default();
        let mut patterns: Vec<String> = Vec::new();
        let mut intern = |n: String| -> u32 {
            *ids.entry(n).or_insert_with_key(|k| {
                patterns.push(k.clone());
                (patterns.len() - 1) as u32
            })
        };
        let mut stats = PlanStats {
            variants: nv,
            ..PlanStats::default()
        };
        // (trigger clause, other clauses) per variant.
        type Clauses = (Option<Vec<u32>>, Vec<Box<[u32]>>);
        let mut per_variant: Vec<Clauses> = Vec::with_capacity(nv);
        for v in needs {
            let mut clauses: Vec<Vec<u32>> = v
                .clauses
                .into_iter()
                .map(|c| c.into_iter().map(&mut intern).collect())
                .collect();
            if clauses.is_empty() {
                stats.always += 1;
                per_variant.push((None, Vec::new()));
                continue;
            }
            if !v.from_detection {
                stats.channel_only += 1;
            }
            let first = clauses.remove(0);
            per_variant.push((
                Some(first),
                clauses.into_iter().map(Vec::into_boxed_slice).collect(),
            ));
        }
        // Needle ids in sorted needle order: the automaton's trie is built
        // 15 % faster from sorted patterns (neighbours share prefixes).
        let mut order: Vec<u32> = (0..patterns.len() as u32).collect();
        order.sort_unstable_by(|a, b| patterns.get(*a as usize).cmp(&patterns.get(*b as usize)));
        let mut rank = vec![0u32; patterns.len()];
        for (new, old) in order.iter().enumerate() {
            if let Some(r) = rank.get_mut(*old as usize) {
                *r = new as u32;
            }
        }
        let renumber = |n: &mut u32| *n = rank.get(*n as usize).copied().unwrap_or(*n);
        for (first, rest) in &mut per_variant {
            first.iter_mut().flatten().for_each(renumber);
            rest.iter_mut()
                .flat_map(|c| c.iter_mut())
                .for_each(renumber);
        }
        let mut slots: Vec<Option<String>> = patterns.into_iter().map(Some).collect();
        let patterns: Vec<String> = order
            .iter()
            .filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take))
            .collect();
        let needles = patterns.len();
        stats.needles = needles;
        let mut trigger = vec![Vec::new(); needles];
        let mut checks = Vec::with_capacity(nv);
        let mut always = Vec::new();
        for (vi, (first, rest)) in per_variant.into_iter().enumerate() {
            match first {
                Some(f) => {
                    for n in f {
                        if let Some(t) = trigger.get_mut(n as usize) {
                            t.push(vi as u32);
                        }
                    }
                }
                None => always.push(vi as u32),
            }
            checks.push(rest);
        }
        Plan {
            ac: OnceLock::new(),
            needles,
            trigger,
            checks,
            always,
            enabled: true,
            warmup: FULL_WARMUP,
            full_seen: AtomicU32::new(0),
            stats,
            patterns,
            groups: None,
            sparse: None,
        }
    }

    /// The automaton of every needle, for the lines without a usable
    /// channel key (no key, two keys, a non-string value). Most lines are
    /// searched with their (channel, EventID) group's automaton
    /// ([`crate::engine::groups`]), and in a Windows dump the others are
    /// rare (one line of the flat bench file has no `Channel`), while this
    /// automaton of some 14,000 needles takes tens of milliseconds to
    /// build. So it is built only once [`FULL_WARMUP`] lines have asked
    /// for it; before that, and if it cannot be built, this returns `None`
    /// and the line is evaluated exactly.
    pub(crate) fn full_automaton(&self) -> Option<&AhoCorasick> {
        if self.ac.get().is_none() && self.full_seen.fetch_add(1, Ordering::Relaxed) < self.warmup {
            return None;
        }
        self.full_automaton_now()
    }

    /// The full automaton, built now if it is not yet.
    pub(crate) fn full_automaton_now(&self) -> Option<&AhoCorasick> {
        self.ac
            .get_or_init(|| {
                let all: Vec<&str> = self
                    .patterns
                    .iter()
                    .map(String::as_str)
                    .chain(SPECIALS.iter().copied())
                    .collect();
                // Needles are ASCII-lowercase; the scanner lowercases each
                // line (ASCII only) before the search, which is cheaper
                // than a case-insensitive automaton (3 times faster to
                // build).
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&all)
                    .ok()
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigma_core::Document;

    /// Every non-ASCII character that lowercases to something holding an
    /// ASCII character, or that a case-insensitive regex matches with an
    /// ASCII character, is a special.
    #[test]
    fn specials_cover_every_ascii_fold() {
        let re = regex::Regex::new(r"(?i)^[\x00-\x7F]$").expect("regex");
        let mut buf = [0u8; 4];
        let found: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| {
                c.to_lowercase().any(|l| l.is_ascii()) || re.is_match(c.encode_utf8(&mut buf))
            })
            .collect();
        let specials: Vec<char> = SPECIALS.iter().filter_map(|s| s.chars().next()).collect();
        for c in &found {
            assert!(specials.contains(c), "U+{:04X} is missing", *c as u32);
        }
        assert_eq!(found.len(), SPECIALS.len());
    }

    #[test]
    fn needles_are_json_escaped_and_folded() {
        assert_eq!(needle_of(r"\WhoAmI.exe").as_deref(), Some(r"\\whoami.exe"));
        assert_eq!(
            needle_of("say \"hi\"\n").as_deref(),
            Some("say \\\"hi\\\"\\n")
        );
        assert_eq!(needle_of("4624"), None);
        assert_eq!(needle_of("1.5e-3"), None);
        assert_eq!(needle_of("ümlaut").as_deref(), Some("mlaut"));
        assert_eq!(needle_of(""), None);
    }

    fn req(yaml: &str) -> Req {
        let set = sigma_core::parse_str(yaml, None);
        match set.documents.first() {
            Some(Document::Rule(r)) => rule_req(&r.detection),
            _ => panic!("not a rule: {:?}", set.errors),
        }
    }

    #[test]
    fn requirements_follow_the_condition() {
        let r = req(r#"
title: t
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: ['\a.exe', '\bb.exe']
        CommandLine|contains: 'longer needle'
    filter:
        User: SYSTEM
    condition: sel and not filter
"#);
        assert_eq!(r.first(), Some(&vec!["longer needle".to_string()]));
        assert!(r.contains(&vec![r"\\a.exe".to_string(), r"\\bb.exe".to_string()]));
        // A negation alone: nothing required.
        let r = req(r#"
title: t
logsource: {product: windows, category: process_creation}
detection:
    filter:
        User: SYSTEM
    condition: not filter
"#);
        assert!(r.is_empty());
        // An OR with a null branch: nothing required.
        let r = req(r#"
title: t
logsource: {product: windows, category: process_creation}
detection:
    a:
        User: SYSTEM
    b:
        Image: null
    condition: a or b
"#);
        assert!(r.is_empty());
        // Keywords with wildcards: the longest literal part.
        let r = req(r#"
title: t
logsource: {product: windows, service: security}
detection:
    keywords:
        - 'abc*defgh'
        - 'xyz'
    condition: keywords
"#);
        assert_eq!(r, vec![vec!["defgh".to_string(), "xyz".to_string()]]);
    }
}

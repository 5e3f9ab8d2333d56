//! Matchers compiled on first use.
//!
//! Building the engine used to spend most of its time compiling regular
//! expressions and per-field Aho-Corasick automata, although the prefilter
//! hands any given log only a small fraction of the rules, and evaluation
//! orders cheap checks first: most of these matchers are never run. Here
//! they are compiled the first time a value reaches them, behind a
//! [`OnceLock`] (the engine is shared by the scan threads; a thread that
//! finds the matcher being built waits for it).
//!
//! Laziness must not change which rules load. A set holding a rule's own
//! `re` values is checked at build time with the `regex` crate's parser
//! (the same `regex-syntax` configuration `RegexSet` uses), which finds
//! every syntax error; the only other way a set can fail to compile is
//! the NFA size limit, so a set whose estimated NFA size comes anywhere
//! near it is compiled eagerly, as before. When the check fails, the set
//! is compiled eagerly too, so the load report carries the `regex` crate's
//! own message. An automaton fails to build only beyond aho-corasick's
//! state-id limits (gigabytes of patterns); large pattern sets are built
//! eagerly anyway, and a lazy build that failed would fall back to
//! comparing the patterns one by one, with the same result.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, MatchKind, StartKind};
use regex::{RegexSet, RegexSetBuilder};
use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_syntax::hir::{Class, Hir, HirKind, Repetition};
use regex_syntax::utf8::Utf8Sequences;

/// The regex size limit: some corpus rules have very large alternations.
const REGEX_SIZE_LIMIT: usize = 256 * 1024 * 1024;

/// Sets whose estimated NFA size exceeds this are compiled at build time.
/// The estimate is already an upper bound (1.5 to 4.5 times the measured
/// sizes: `\w` takes 50 kB, `.` 1.1 kB, a literal byte 32 bytes), and this
/// is 16 times below [`REGEX_SIZE_LIMIT`], so a lazily compiled set cannot
/// hit the limit.
const EAGER_REGEX_ESTIMATE: usize = REGEX_SIZE_LIMIT / 16;

/// Pattern sets with more bytes than this build their automaton at once.
const EAGER_AUTOMATON_BYTES: usize = 1024 * 1024;

/// A compiled set of regexes.
#[derive(Debug)]
pub(crate) enum CompiledSet {
    /// Compiled at build time, as written (a set too large to compile
    /// lazily, or one whose error message the load report needs).
    Whole(RegexSet),
    /// Compiled on first use, with the tails that cannot change whether
    /// it matches cut off (see [`trim_tail`]).
    Trimmed(meta::Regex),
}

impl CompiledSet {
    /// True when some pattern matches somewhere in `hay`.
    pub(crate) fn is_match(&self, hay: &str) -> bool {
        match self {
            CompiledSet::Whole(set) => set.is_match(hay),
            CompiledSet::Trimmed(set) => set.is_match(hay),
        }
    }
}

/// A set of regexes compiled on first use, only ever asked whether one of
/// them matches somewhere.
///
/// Clones share the compiled set: a rule compiled for two routes (Sysmon
/// and Security process creation) has the same sets twice, and the
/// engine build makes equal sets share one (see [`LazyRegexSet::share`]),
/// which saved a third of the regex compilation of a bench file hunt.
#[derive(Debug, Clone)]
pub(crate) struct LazyRegexSet(Arc<SetSlot>);

#[derive(Debug)]
struct SetSlot {
    patterns: Vec<String>,
    set: OnceLock<Option<CompiledSet>>,
}

/// The lazily compiled matchers of an engine by what they compile, so
/// that equal ones share one (see [`LazyRegexSet::share`],
/// [`LazyAc::share`]).
#[derive(Default)]
pub(crate) struct Shared {
    sets: HashMap<Vec<String>, LazyRegexSet>,
    /// Keyed by patterns and match kind.
    automata: HashMap<(Vec<String>, String), LazyAc>,
}

impl LazyRegexSet {
    /// Patterns produced by the toolkit itself (escaped wildcard
    /// literals): they cannot fail to compile, so nothing is checked.
    pub(crate) fn trusted(patterns: Vec<String>) -> LazyRegexSet {
        LazyRegexSet(Arc::new(SetSlot {
            patterns,
            set: OnceLock::new(),
        }))
    }

    /// This set, or the set with the same patterns met before (which it
    /// then shares, compiled or not).
    pub(crate) fn share(&mut self, seen: &mut Shared) {
        match seen.sets.get(&self.0.patterns) {
            Some(other) => *self = other.clone(),
            None => {
                seen.sets.insert(self.0.patterns.clone(), self.clone());
            }
        }
    }

    /// Patterns that include a rule's own regexes: fails, with the message
    /// compiling the set would give, when the set cannot compile.
    pub(crate) fn checked(patterns: Vec<String>) -> Result<LazyRegexSet, String> {
        let lazy = LazyRegexSet::trusted(patterns);
        if !lazy.surely_compiles() {
            let set = compile_set(&lazy.0.patterns)?;
            let _ = lazy.0.set.set(Some(CompiledSet::Whole(set)));
        }
        Ok(lazy)
    }

    /// True when every pattern parses and the whole set is small: then
    /// `RegexSet` compilation cannot fail.
    fn surely_compiles(&self) -> bool {
        let mut parser = regex_syntax::ParserBuilder::new().utf8(true).build();
        let mut total = 0usize;
        for p in &self.0.patterns {
            match parser.parse(p) {
                // 4 kB per pattern: the unanchored prefix, match states.
                Ok(hir) => total = total.saturating_add(4096 + nfa_estimate(&hir)),
                Err(_) => return false,
            }
        }
        total <= EAGER_REGEX_ESTIMATE
    }

    /// The compiled set (`None` if it cannot compile, which the build-time
    /// check rules out for rule regexes).
    pub(crate) fn get(&self) -> Option<&CompiledSet> {
        let slot = &self.0;
        slot.set
            .get_or_init(|| {
                compile_trimmed(&slot.patterns)
                    .map(CompiledSet::Trimmed)
                    .or_else(|_| compile_set(&slot.patterns).map(CompiledSet::Whole))
                    .ok()
            })
            .as_ref()
    }
}

/// Compiles a set for `is_match` with the configuration `RegexSet` uses
/// (`regex` 1.x: all matches, UTF-8, no captures, the same limits), from
/// the patterns with their tails trimmed.
fn compile_trimmed(patterns: &[String]) -> Result<meta::Regex, String> {
    let syntax = regex_automata::util::syntax::Config::new().utf8(true);
    let hirs = patterns
        .iter()
        .map(|p| {
            regex_automata::util::syntax::parse_with(p, &syntax)
                .map(trim_tail)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = meta::Config::new()
        .match_kind(regex_automata::MatchKind::All)
        .utf8_empty(true)
        .which_captures(WhichCaptures::None)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(REGEX_SIZE_LIMIT);
    meta::Builder::new()
        .configure(config)
        .build_many_from_hir(&hirs)
        .map_err(|e| e.to_string())
}

/// An expression that matches somewhere in a text exactly when `h` does,
/// cheaper to compile: what follows the last part that must match is
/// dropped when it can match the empty string without a look-around
/// (`-k\s\w{1,64}(?:\s?-p)?` becomes `-k\s\w`), and a repetition that
/// ends the expression keeps its minimum count only (`x{n,m}`, `x{n,}`
/// become `x{n}`).
///
/// A match of the original always starts with a match of the trimmed
/// expression (its dropped tail matched something after it), and a match
/// of the trimmed expression is a match of the original (the tail matches
/// the empty string there), so an unanchored `is_match` gives the same
/// answer. A bounded repetition of a Unicode class is copied once per
/// count when compiled: `\w{1,64}` alone took 19 ms, half of all the
/// regex compilation of a hunt over a bench file.
fn trim_tail(h: Hir) -> Hir {
    match h.kind() {
        HirKind::Concat(subs) => {
            let mut subs = subs.to_vec();
            while subs.last().is_some_and(|s| {
                s.properties().minimum_len() == Some(0) && s.properties().look_set().is_empty()
            }) {
                subs.pop();
            }
            if let Some(last) = subs.pop() {
                subs.push(trim_tail(last));
            }
            Hir::concat(subs)
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().cloned().map(trim_tail).collect())
        }
        HirKind::Capture(c) => trim_tail((*c.sub).clone()),
        HirKind::Repetition(r) if r.max != Some(r.min) => Hir::repetition(Repetition {
            min: r.min,
            max: Some(r.min),
            greedy: r.greedy,
            sub: r.sub.clone(),
        }),
        _ => h,
    }
}

fn compile_set(patterns: &[String]) -> Result<RegexSet, String> {
    RegexSetBuilder::new(patterns)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("regular expression not supported: {e}"))
}

/// A generous upper bound of the bytes a pattern's Thompson NFA takes
/// (forward or reverse): 64 bytes per state (14 to 41 bytes measured per
/// byte range of a class's UTF-8 sequences, 32 per literal byte), each
/// repetition copied as often as compilation copies it.
fn nfa_estimate(h: &Hir) -> usize {
    const STATE: usize = 64;
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => STATE,
        HirKind::Literal(l) => STATE.saturating_mul(l.0.len().max(1)),
        HirKind::Class(Class::Unicode(c)) => {
            // One state per byte range of each UTF-8 sequence.
            let bytes: usize = c
                .ranges()
                .iter()
                .flat_map(|r| Utf8Sequences::new(r.start(), r.end()))
                .map(|s| s.len())
                .sum();
            STATE.saturating_mul(bytes.saturating_add(1))
        }
        HirKind::Class(Class::Bytes(c)) => STATE.saturating_mul(c.ranges().len().max(1)),
        HirKind::Repetition(r) => {
            let copies = r.max.unwrap_or(r.min).saturating_add(1).max(1) as usize;
            nfa_estimate(&r.sub)
                .saturating_mul(copies)
                .saturating_add(STATE)
        }
        HirKind::Capture(c) => nfa_estimate(&c.sub).saturating_add(2 * STATE),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .fold(STATE, |acc, s| acc.saturating_add(nfa_estimate(s))),
    }
}

/// An Aho-Corasick automaton over string patterns, built on first use.
/// Clones share the automaton, as [`LazyRegexSet`]s do.
#[derive(Debug, Clone)]
pub(crate) struct LazyAc(Arc<AcSlot>);

#[derive(Debug)]
struct AcSlot {
    patterns: Vec<String>,
    kind: MatchKind,
    ac: OnceLock<Option<AhoCorasick>>,
}

impl LazyAc {
    /// An automaton over `patterns` (built now if they are large).
    pub(crate) fn new(patterns: Vec<String>, kind: MatchKind) -> Result<LazyAc, String> {
        let lazy = AcSlot {
            patterns,
            kind,
            ac: OnceLock::new(),
        };
        let bytes: usize = lazy.patterns.iter().map(String::len).sum();
        if bytes > EAGER_AUTOMATON_BYTES {
            let ac = automaton(&lazy.patterns, kind)?;
            let _ = lazy.ac.set(Some(ac));
        }
        Ok(LazyAc(Arc::new(lazy)))
    }

    /// This automaton, or the one with the same patterns and match kind
    /// met before (which it then shares).
    pub(crate) fn share(&mut self, seen: &mut Shared) {
        let key = (self.0.patterns.clone(), format!("{:?}", self.0.kind));
        match seen.automata.get(&key) {
            Some(other) => *self = other.clone(),
            None => {
                seen.automata.insert(key, self.clone());
            }
        }
    }

    fn get(&self) -> Option<&AhoCorasick> {
        let slot = &self.0;
        slot.ac
            .get_or_init(|| automaton(&slot.patterns, slot.kind).ok())
            .as_ref()
    }

    fn patterns(&self) -> &[String] {
        &self.0.patterns
    }

    /// Some pattern is a prefix of `hay`.
    pub(crate) fn is_prefix(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.is_match(Input::new(hay).anchored(Anchored::Yes)),
            None => self.patterns().iter().any(|p| hay.starts_with(p.as_str())),
        }
    }

    /// Some pattern is a suffix of `hay`.
    pub(crate) fn is_suffix(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.find_overlapping_iter(hay).any(|m| m.end() == hay.len()),
            None => self.patterns().iter().any(|p| hay.ends_with(p.as_str())),
        }
    }

    /// Some pattern occurs in `hay`.
    pub(crate) fn is_inside(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.is_match(hay),
            None => self.patterns().iter().any(|p| hay.contains(p.as_str())),
        }
    }
}

fn automaton(pats: &[String], kind: MatchKind) -> Result<AhoCorasick, String> {
    AhoCorasickBuilder::new()
        .match_kind(kind)
        .start_kind(StartKind::Both)
        .build(pats)
        .map_err(|e| format!("cannot build string automaton: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_regex_fails_with_the_regex_message() {
        let eager = compile_set(&["a(b".to_string()]).err();
        let lazy = LazyRegexSet::checked(vec!["a(b".to_string()]).err();
        assert!(eager.is_some());
        assert_eq!(eager, lazy);
    }

    #[test]
    fn valid_regex_is_compiled_on_first_use() {
        let lazy = LazyRegexSet::checked(vec!["(?i)invoke-[a-z]+".to_string()]).expect("valid");
        assert!(lazy.0.set.get().is_none());
        assert!(lazy
            .get()
            .is_some_and(|s| s.is_match("x Invoke-Expression")));
    }

    /// Trimmed sets answer exactly as `RegexSet` does over the patterns as
    /// written, on every prefix and suffix of texts chosen to end inside
    /// or right after the trimmed tails.
    #[test]
    fn trimmed_sets_agree_with_regex_set() {
        let sets: &[&[&str]] = &[
            &[r"-k\s\w{1,64}(?:\s?(?:-p|-s))?"],
            &[r"\w{1,64}", r"x{2,}"],
            &[r"a{2,5}b?", r"(c{1,3})d*"],
            &[r"ab{0,3}$", r"ab{1,3}\b"],
            &[r#"(?i)exe["']?\s+[^"]{0,64}wer\.exe["']?\s+\d{2,10}"#],
            &[r"(Copy-Item|cpi) .{2,128} -Destination .{1,32}\\Windows"],
            &[r"(?:foo|ba(?:r{1,9}|z?))(?:q|)", r"^\s*$"],
            &[r"(?m)^end(?:x*)$", r"(?s)a.{1,4}", r"a?"],
            &[r"\bword\b(?:s)?", r"[^\\]{1,256}$", r"(?i)k{2,3}"],
        ];
        let texts = [
            "",
            "-k svchost -p",
            "-k\tnetsvcs",
            "-k ",
            "x-k\u{e9}t\u{e9}",
            "aaaaab",
            "aab",
            "ab",
            "abbb",
            "abbbb",
            "abb x",
            "ccd",
            "foo",
            "barrrrrrrrrrq",
            "baz",
            "line\nend\nmore",
            "endxx",
            "a\nbcde",
            "words",
            "sword",
            "C:\\x\\y.exe",
            "run.exe \"  wer.exe\"  12345",
            "cpi a -Destination C:\\Windows",
            "Copy-Item ab -Destination x\\Windows",
            "\u{212A}\u{212A}",
            "kk",
        ];
        for pats in sets {
            let owned: Vec<String> = pats.iter().map(|p| p.to_string()).collect();
            let whole = compile_set(&owned).expect("compiles");
            let trimmed = compile_trimmed(&owned).expect("compiles");
            for t in texts {
                for i in (0..=t.len()).filter(|&i| t.is_char_boundary(i)) {
                    for piece in [&t[..i], &t[i..]] {
                        assert_eq!(
                            whole.is_match(piece),
                            trimmed.is_match(piece),
                            "{pats:?} on {piece:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tails_are_trimmed() {
        let parse = |p: &str| regex_syntax::Parser::new().parse(p).expect("parses");
        let cases = [
            (r"-k\s\w{1,64}(?:\s?(?:-p|-s))?", r"-k\s\w"),
            (r"ab{2,}c*", r"ab{2}"),
            (r"ab{0,3}$", r"ab{0,3}$"),
            (r"x\b", r"x\b"),
            (r"(a|b{1,4})", r"a|b"),
        ];
        for (p, want) in cases {
            assert_eq!(trim_tail(parse(p)), parse(want), "{p}");
        }
    }

    #[test]
    fn huge_regex_is_compiled_at_build_time() {
        // Over the size limit: compiled (and failing) at build time, as
        // before.
        let p = r"\w{1000}{1000}".to_string();
        assert!(!LazyRegexSet::trusted(vec![p]).surely_compiles());
        let p = r"(?i)\w+\s*\d{1,3}[^\n]{0,40}".to_string();
        assert!(LazyRegexSet::trusted(vec![p]).surely_compiles());
    }

    #[test]
    fn lazy_automaton_shapes() {
        let pats = vec!["abc".to_string(), "xyz".to_string()];
        let ac = LazyAc::new(pats.clone(), MatchKind::LeftmostFirst).expect("builds");
        assert!(ac.is_prefix("abcd") && !ac.is_prefix("dabc"));
        assert!(ac.is_inside("dabcd") && !ac.is_inside("ab"));
        let ac = LazyAc::new(pats, MatchKind::Standard).expect("builds");
        assert!(ac.is_suffix("wxyz") && !ac.is_suffix("xyzw"));
    }
}

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

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, MatchKind, StartKind};
use regex::{RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};
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

/// A `RegexSet` compiled on first use.
#[derive(Debug)]
pub(crate) struct LazyRegexSet {
    patterns: Vec<String>,
    set: OnceLock<Option<RegexSet>>,
}

impl LazyRegexSet {
    /// Patterns produced by the toolkit itself (escaped wildcard
    /// literals): they cannot fail to compile, so nothing is checked.
    pub(crate) fn trusted(patterns: Vec<String>) -> LazyRegexSet {
        LazyRegexSet {
            patterns,
            set: OnceLock::new(),
        }
    }

    /// Patterns that include a rule's own regexes: fails, with the message
    /// compiling the set would give, when the set cannot compile.
    pub(crate) fn checked(patterns: Vec<String>) -> Result<LazyRegexSet, String> {
        let lazy = LazyRegexSet::trusted(patterns);
        if !lazy.surely_compiles() {
            let set = compile_set(&lazy.patterns)?;
            let _ = lazy.set.set(Some(set));
        }
        Ok(lazy)
    }

    /// True when every pattern parses and the whole set is small: then
    /// `RegexSet` compilation cannot fail.
    fn surely_compiles(&self) -> bool {
        let mut parser = regex_syntax::ParserBuilder::new().utf8(true).build();
        let mut total = 0usize;
        for p in &self.patterns {
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
    pub(crate) fn get(&self) -> Option<&RegexSet> {
        self.set
            .get_or_init(|| compile_set(&self.patterns).ok())
            .as_ref()
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
#[derive(Debug)]
pub(crate) struct LazyAc {
    patterns: Vec<String>,
    kind: MatchKind,
    ac: OnceLock<Option<AhoCorasick>>,
}

impl LazyAc {
    /// An automaton over `patterns` (built now if they are large).
    pub(crate) fn new(patterns: Vec<String>, kind: MatchKind) -> Result<LazyAc, String> {
        let lazy = LazyAc {
            patterns,
            kind,
            ac: OnceLock::new(),
        };
        let bytes: usize = lazy.patterns.iter().map(String::len).sum();
        if bytes > EAGER_AUTOMATON_BYTES {
            let ac = automaton(&lazy.patterns, kind)?;
            let _ = lazy.ac.set(Some(ac));
        }
        Ok(lazy)
    }

    fn get(&self) -> Option<&AhoCorasick> {
        self.ac
            .get_or_init(|| automaton(&self.patterns, self.kind).ok())
            .as_ref()
    }

    /// Some pattern is a prefix of `hay`.
    pub(crate) fn is_prefix(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.is_match(Input::new(hay).anchored(Anchored::Yes)),
            None => self.patterns.iter().any(|p| hay.starts_with(p.as_str())),
        }
    }

    /// Some pattern is a suffix of `hay`.
    pub(crate) fn is_suffix(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.find_overlapping_iter(hay).any(|m| m.end() == hay.len()),
            None => self.patterns.iter().any(|p| hay.ends_with(p.as_str())),
        }
    }

    /// Some pattern occurs in `hay`.
    pub(crate) fn is_inside(&self, hay: &str) -> bool {
        match self.get() {
            Some(ac) => ac.is_match(hay),
            None => self.patterns.iter().any(|p| hay.contains(p.as_str())),
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
        assert!(lazy.set.get().is_none());
        assert!(lazy
            .get()
            .is_some_and(|s| s.is_match("x Invoke-Expression")));
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

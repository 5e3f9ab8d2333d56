//! Validating `re` values without compiling them.
//!
//! Loading a rule checks every regular expression the way the `regex` crate
//! builds it (so that a bad pattern is reported at load time, with the
//! crate's own message). Building a `regex::Regex` compiles forward and
//! reverse automata and more, and was a third of all loading time for the
//! Windows rules, although the compiled regex was thrown away.
//!
//! A build can only fail in two ways: a syntax error, or a compiled NFA over
//! the size limit. This module parses the pattern with `regex-syntax`,
//! configured exactly as `regex::RegexBuilder` configures it, and bounds
//! the memory the Thompson NFA builder of `regex-automata` can use for the
//! resulting HIR, in either direction. When the pattern parses and the bound
//! is at most three quarters of the limit, the build cannot fail and is skipped. In every
//! other case (syntax errors included) the caller builds the regex as
//! before, so every error and its message still come from the `regex` crate.
//!
//! The bound follows the compiler (`regex-automata` 0.4,
//! `nfa/thompson/compiler.rs`): a builder state is 32 bytes, a sparse
//! transition 8 and a union alternate 4; every HIR node adds at most the
//! states, transitions and alternates counted in [`node_bytes`], whichever
//! way it is compiled. It over-counts on purpose (both directions' heap at
//! once, no state sharing), and the tests compare it with real NFAs.

use regex_syntax::hir::{Class, Hir, HirKind};
use regex_syntax::utf8::Utf8Sequences;

/// The NFA size limit the loader gives `regex::RegexBuilder::size_limit`.
pub(crate) const SIZE_LIMIT: usize = 1 << 24;

/// Bytes of one NFA builder state.
const STATE: u64 = 32;
/// Bytes of one transition of a sparse state.
const TRANSITION: u64 = 8;
/// Bytes of one alternate of a union state.
const ALTERNATE: u64 = 4;
/// The unanchored prefix, the implicit capture group, start and match
/// states: a few dozen states, counted generously.
const FIXED: u64 = 4096;

/// True when building `pattern` with the given flags certainly succeeds:
/// it parses, and its NFA stays below three quarters of [`SIZE_LIMIT`]
/// even by the over-counting bound (real NFAs are several times smaller). False means
/// "unknown": the caller must build the regex to find out.
pub(crate) fn certainly_builds(
    pattern: &str,
    ignore_case: bool,
    multi_line: bool,
    dot_all: bool,
) -> bool {
    nfa_bytes_bound(pattern, ignore_case, multi_line, dot_all)
        .is_some_and(|bound| bound <= SIZE_LIMIT as u64 / 4 * 3)
}

/// An upper bound of the NFA builder's memory for `pattern`, or `None` when
/// it does not parse.
fn nfa_bytes_bound(
    pattern: &str,
    ignore_case: bool,
    multi_line: bool,
    dot_all: bool,
) -> Option<u64> {
    // The defaults of regex::RegexBuilder (regex-automata's syntax::Config),
    // spelled out, plus the three flags the loader sets.
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(true)
        .utf8(true)
        .nest_limit(250)
        .octal(false)
        .crlf(false)
        .line_terminator(b'\n')
        .swap_greed(false)
        .ignore_whitespace(false)
        .case_insensitive(ignore_case)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    Some(node_bytes(&hir).saturating_add(FIXED))
}

/// Sums states, transitions and alternates into bytes.
fn bytes(states: u64, transitions: u64, alternates: u64) -> u64 {
    states
        .saturating_mul(STATE)
        .saturating_add(transitions.saturating_mul(TRANSITION))
        .saturating_add(alternates.saturating_mul(ALTERNATE))
}

/// The bound for one HIR node, compiled once.
fn node_bytes(hir: &Hir) -> u64 {
    match hir.kind() {
        // One empty, look or byte-range state per item.
        HirKind::Empty | HirKind::Look(_) => bytes(1, 0, 0),
        HirKind::Literal(lit) => bytes(lit.0.len() as u64, 0, 0),
        // An ASCII or byte class: one sparse state and an end state.
        HirKind::Class(Class::Bytes(c)) => bytes(2, c.ranges().len() as u64, 0),
        HirKind::Class(Class::Unicode(c)) if c.is_ascii() => bytes(2, c.ranges().len() as u64, 0),
        HirKind::Class(Class::Unicode(c)) => {
            // Forward: at most one sparse state and one transition per byte
            // range of every UTF-8 sequence. Reverse: at most one range
            // state per byte range and one union alternate per sequence.
            let s: u64 = c
                .iter()
                .flat_map(|r| Utf8Sequences::new(r.start(), r.end()))
                .map(|seq| seq.as_slice().len() as u64)
                .sum();
            bytes(s.saturating_add(3), s, s)
        }
        // Capture start and end states around the group.
        HirKind::Capture(c) => node_bytes(&c.sub).saturating_add(bytes(2, 0, 0)),
        // Joining pieces may add an alternate to a union end.
        HirKind::Concat(subs) => subs.iter().fold(bytes(1, 0, 1), |acc, s| {
            acc.saturating_add(node_bytes(s))
                .saturating_add(bytes(0, 0, 1))
        }),
        HirKind::Alternation(subs) => {
            let n = subs.len() as u64;
            let general = subs.iter().fold(bytes(2, 0, 2 * n + 2), |acc, s| {
                acc.saturating_add(node_bytes(s))
            });
            // An alternation of literals is compiled as a trie instead.
            let literal_bytes: u64 = subs
                .iter()
                .map(|s| match s.kind() {
                    HirKind::Literal(l) => l.0.len() as u64,
                    _ => 0,
                })
                .sum();
            let b = literal_bytes;
            let trie = bytes(2 * b + 2 * n + 3, b + n, 2 * b + 4 * n + 4);
            general.saturating_add(trie)
        }
        HirKind::Repetition(rep) => {
            // `x{m,n}` compiles `x` n times (`x{m,}` m times, at least once),
            // each optional copy behind a union state.
            let copies = u64::from(rep.max.unwrap_or(rep.min).max(1));
            let copy = node_bytes(&rep.sub).saturating_add(bytes(1, 0, 3));
            copies.saturating_mul(copy).saturating_add(bytes(3, 0, 4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::nfa::thompson::{self, WhichCaptures};

    /// The real NFAs (forward with captures, reverse without, unshrunk, as
    /// the meta regex builds them) never use more than the bound.
    #[test]
    fn bound_exceeds_real_nfas() {
        let patterns = [
            r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
            r"(?i)\.exe[\x22\x27]?\s+[^\x22]{0,64}werfaultsecure\.exe",
            r"\w+`(?:\w+|-|.)`[\w+|\s]",
            r"(Copy-Item|cpi) .{2,128} -Destination .{1,32}\\Windows\\(System32|SysWOW64)",
            r"(?:[Pp]rogram[Dd]ata|%(?:[Ll]ocal)?[Aa]pp[Dd]ata%)\\[^\\]{1,256}$",
            r"(?i)(abc|def|ghij|k|lmnop)+x*y?",
            r"\pL{10,20}\d*\s+\W{3}",
            r"(?s).*(?m)^a$|\bword\b",
            r"(?i)[a-zä-ü]{50}",
            r"(a|b|c|dd|eee){5,}",
            r"(?-u:[a-z\x00]{2,3})",
            r"",
            r"()",
        ];
        for p in patterns {
            let hir = regex_syntax::parse(p).unwrap();
            let bound = nfa_bytes_bound(p, false, false, false).unwrap();
            for reverse in [false, true] {
                let captures = if reverse {
                    WhichCaptures::None
                } else {
                    WhichCaptures::All
                };
                let nfa = thompson::Compiler::new()
                    .configure(
                        thompson::Config::new()
                            .reverse(reverse)
                            .shrink(false)
                            .which_captures(captures),
                    )
                    .build_from_hir(&hir)
                    .unwrap();
                // The builder's memory, as far as the built NFA shows it
                // (the builder also had empty states, dropped since).
                let builder: u64 = nfa
                    .states()
                    .iter()
                    .map(|s| {
                        STATE
                            + match s {
                                thompson::State::Sparse(t) => {
                                    TRANSITION * t.transitions.len() as u64
                                }
                                thompson::State::Union { alternates } => {
                                    ALTERNATE * alternates.len() as u64
                                }
                                thompson::State::BinaryUnion { .. } => 2 * ALTERNATE,
                                _ => 0,
                            }
                    })
                    .sum();
                let real = builder.max(nfa.memory_usage() as u64);
                assert!(
                    bound >= real,
                    "{p}: bound {bound} < real {real} (reverse: {reverse})"
                );
                // Not so loose that common patterns always compile.
                assert!(
                    bound <= 64 * real.max(4096),
                    "{p}: bound {bound}, real {real}"
                );
            }
        }
    }

    #[test]
    fn huge_or_invalid_patterns_are_left_to_the_regex_crate() {
        assert!(certainly_builds(r"-k\s\w{1,64}", false, false, false));
        assert!(!certainly_builds(r"\w{1000}{1000}", false, false, false));
        assert!(!certainly_builds(r"\pL{5000}", true, false, false));
        assert!(!certainly_builds(r"a{4294967295}", false, false, false));
        assert!(!certainly_builds(r"(unclosed", false, false, false));
        assert!(!certainly_builds(r"a{2,1}", false, false, false));
    }
}

//! Merged string matching: all the string values of one detection item
//! compiled into a handful of automata.
//!
//! Sigma string values reduce to four literal shapes (`x`, `x*`, `*x`, `*x*`)
//! plus everything with inner wildcards. Literal shapes are merged into one
//! Aho-Corasick automaton per shape (anchored for equality and prefixes), so
//! a 4,432-value hash list costs one automaton walk instead of 4,432
//! comparisons; the rest, and raw `re` values, go into one `RegexSet`.
//!
//! Case-insensitive patterns are stored lowercased and the automata fold
//! ASCII case, so an ASCII haystack is searched as is, without allocating;
//! only a non-ASCII haystack is lowercased first.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, MatchKind, StartKind};
use regex::{RegexSet, RegexSetBuilder};
use sigma_core::{RegexFlags, SigmaString, StrPart};

/// The regex size limit: some corpus rules have very large alternations.
const REGEX_SIZE_LIMIT: usize = 256 * 1024 * 1024;

/// Literal patterns of one case mode, grouped by shape.
#[derive(Debug, Default)]
struct Shapes {
    exact: Vec<String>,
    prefix: Vec<String>,
    suffix: Vec<String>,
    contains: Vec<String>,
}

/// Compiled literal matchers of one case mode.
#[derive(Debug)]
struct Lits {
    exact: Option<AhoCorasick>,
    prefix: Option<AhoCorasick>,
    suffix: Suffixes,
    contains: Option<AhoCorasick>,
}

/// Suffix checks: a loop for a few patterns, an overlapping automaton
/// for many.
#[derive(Debug)]
enum Suffixes {
    None,
    Few(Vec<String>),
    Many(AhoCorasick),
}

/// A set of string patterns, OR-linked.
#[derive(Debug, Default)]
pub struct StrSetBuilder {
    fold: Shapes,
    cased: Shapes,
    regexes: Vec<String>,
    any: bool,
}

/// A compiled, OR-linked set of string patterns.
#[derive(Debug)]
pub struct StrSet {
    fold: Option<Lits>,
    cased: Option<Lits>,
    regex: Option<RegexSet>,
    any: bool,
}

impl StrSetBuilder {
    /// Adds a Sigma string. Placeholders must have been rejected before.
    pub fn add_string(&mut self, s: &SigmaString, cased: bool) {
        let parts = &s.parts;
        let lead = matches!(parts.first(), Some(StrPart::AnyChars));
        let trail = parts.len() > 1 && matches!(parts.last(), Some(StrPart::AnyChars));
        let start = usize::from(lead);
        let end = parts.len() - usize::from(trail);
        let middle = if start <= end {
            &parts[start..end]
        } else {
            &[]
        };
        let literal: Option<String> = match middle {
            [] => Some(String::new()),
            [StrPart::Literal(l)] => Some(l.clone()),
            _ => None,
        };
        let Some(lit) = literal else {
            self.regexes.push(wildcard_regex(s, cased));
            return;
        };
        if lit.is_empty() && (lead || trail) {
            // `*` (or `**`): any string at all, including the empty one.
            self.any = true;
            return;
        }
        let shapes = if cased {
            &mut self.cased
        } else {
            &mut self.fold
        };
        let lit = if cased { lit } else { lit.to_lowercase() };
        match (lead, trail) {
            (false, false) => shapes.exact.push(lit),
            (false, true) => shapes.prefix.push(lit),
            (true, false) => shapes.suffix.push(lit),
            (true, true) => shapes.contains.push(lit),
        }
    }

    /// Adds a raw `re` value (search semantics).
    pub fn add_regex(&mut self, pattern: &str, flags: RegexFlags) {
        let mut f = String::new();
        if flags.ignore_case {
            f.push('i');
        }
        if flags.multi_line {
            f.push('m');
        }
        if flags.dot_all {
            f.push('s');
        }
        if f.is_empty() {
            self.regexes.push(pattern.to_string());
        } else {
            self.regexes.push(format!("(?{f}){pattern}"));
        }
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        !self.any
            && self.regexes.is_empty()
            && shapes_empty(&self.fold)
            && shapes_empty(&self.cased)
    }

    /// Compiles the set; fails on an invalid regex.
    pub fn build(self) -> Result<StrSet, String> {
        let regex = if self.regexes.is_empty() {
            None
        } else {
            Some(
                RegexSetBuilder::new(&self.regexes)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("regular expression not supported: {e}"))?,
            )
        };
        Ok(StrSet {
            fold: build_lits(self.fold, true)?,
            cased: build_lits(self.cased, false)?,
            regex,
            any: self.any,
        })
    }
}

fn shapes_empty(s: &Shapes) -> bool {
    s.exact.is_empty() && s.prefix.is_empty() && s.suffix.is_empty() && s.contains.is_empty()
}

fn automaton(pats: &[String], fold: bool, kind: MatchKind) -> Result<Option<AhoCorasick>, String> {
    if pats.is_empty() {
        return Ok(None);
    }
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(fold)
        .match_kind(kind)
        .start_kind(StartKind::Both)
        .build(pats)
        .map(Some)
        .map_err(|e| format!("cannot build string automaton: {e}"))
}

fn build_lits(s: Shapes, fold: bool) -> Result<Option<Lits>, String> {
    if shapes_empty(&s) {
        return Ok(None);
    }
    let suffix = if s.suffix.is_empty() {
        Suffixes::None
    } else if s.suffix.len() <= 8 {
        Suffixes::Few(s.suffix)
    } else {
        match automaton(&s.suffix, fold, MatchKind::Standard)? {
            Some(ac) => Suffixes::Many(ac),
            None => Suffixes::None,
        }
    };
    Ok(Some(Lits {
        exact: automaton(&s.exact, fold, MatchKind::LeftmostLongest)?,
        prefix: automaton(&s.prefix, fold, MatchKind::LeftmostFirst)?,
        suffix,
        contains: automaton(&s.contains, fold, MatchKind::LeftmostFirst)?,
    }))
}

/// `^...$` over the whole value, `*` and `?` spanning newlines.
fn wildcard_regex(s: &SigmaString, cased: bool) -> String {
    let flags = if cased { "(?s)" } else { "(?is)" };
    format!("{flags}^{}$", s.to_regex())
}

impl Lits {
    fn is_match(&self, hay: &str, fold: bool) -> bool {
        if let Some(ac) = &self.exact {
            let input = Input::new(hay).anchored(Anchored::Yes);
            if ac.find(input).is_some_and(|m| m.end() == hay.len()) {
                return true;
            }
        }
        if let Some(ac) = &self.prefix {
            if ac.is_match(Input::new(hay).anchored(Anchored::Yes)) {
                return true;
            }
        }
        match &self.suffix {
            Suffixes::None => {}
            Suffixes::Few(list) => {
                let h = hay.as_bytes();
                for p in list {
                    let p = p.as_bytes();
                    if h.len() >= p.len() {
                        let tail = &h[h.len() - p.len()..];
                        let eq = if fold {
                            tail.eq_ignore_ascii_case(p)
                        } else {
                            tail == p
                        };
                        if eq {
                            return true;
                        }
                    }
                }
            }
            Suffixes::Many(ac) => {
                if ac.find_overlapping_iter(hay).any(|m| m.end() == hay.len()) {
                    return true;
                }
            }
        }
        if let Some(ac) = &self.contains {
            if ac.is_match(hay) {
                return true;
            }
        }
        false
    }
}

/// Lowercases a non-ASCII haystack; ASCII is folded by the automata.
fn fold(hay: &str) -> Cow<'_, str> {
    if hay.is_ascii() {
        Cow::Borrowed(hay)
    } else {
        Cow::Owned(hay.to_lowercase())
    }
}

impl StrSet {
    /// True when any pattern matches the value.
    pub fn is_match(&self, hay: &str) -> bool {
        if self.any {
            return true;
        }
        if let Some(l) = &self.fold {
            if l.is_match(&fold(hay), true) {
                return true;
            }
        }
        if let Some(l) = &self.cased {
            if l.is_match(hay, false) {
                return true;
            }
        }
        if let Some(r) = &self.regex {
            if r.is_match(hay) {
                return true;
            }
        }
        false
    }

    /// A rough cost estimate, used to order checks cheapest first.
    pub fn cost(&self) -> u32 {
        let mut c = 1;
        if self.fold.as_ref().is_some_and(|l| l.contains.is_some()) {
            c += 2;
        }
        if self.regex.is_some() {
            c += 8;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> StrSet {
        let mut b = StrSetBuilder::default();
        for v in values {
            b.add_string(&SigmaString::parse(v), false);
        }
        b.build().expect("builds")
    }

    #[test]
    fn shapes() {
        let s = set(&[r"C:\Windows\System32\whoami.exe"]);
        assert!(s.is_match(r"c:\windows\system32\WHOAMI.EXE"));
        assert!(!s.is_match(r"c:\windows\system32\whoami.exe.bak"));
        assert!(!s.is_match(r"X:\C:\Windows\System32\whoami.exe"));
        let s = set(&["*/etc/*.conf*"]);
        assert!(s.is_match("cat /etc/ssh/sshd.conf"));
        let s = set(&["*8???"]);
        assert!(s.is_match("0x8010"));
        assert!(!s.is_match("0x801"));
        let s = set(&["abc*", "*xyz", "*mid*"]);
        assert!(s.is_match("ABCd"));
        assert!(s.is_match("wXYZ"));
        assert!(s.is_match("a MID b"));
        assert!(!s.is_match("nothing"));
    }

    #[test]
    fn non_ascii_haystack_folds() {
        let s = set(&["*ümlaut*"]);
        assert!(s.is_match("ÜMLAUT here"));
    }

    #[test]
    fn many_suffixes() {
        let v: Vec<String> = (0..20).map(|i| format!("*\\tool{i}.exe")).collect();
        let refs: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        let s = set(&refs);
        assert!(s.is_match(r"C:\x\TOOL13.exe"));
        assert!(!s.is_match(r"C:\x\tool13.exe.txt"));
    }

    #[test]
    fn cased_and_regex() {
        let mut b = StrSetBuilder::default();
        b.add_string(&SigmaString::parse(r"*\PowerShell.exe"), true);
        let s = b.build().expect("builds");
        assert!(!s.is_match(r"c:\powershell.exe"));
        assert!(s.is_match(r"c:\PowerShell.exe"));
        let mut b = StrSetBuilder::default();
        b.add_regex("Invoke-Expression", RegexFlags::default());
        let s = b.build().expect("builds");
        assert!(!s.is_match("invoke-expression"));
        assert!(s.is_match("x Invoke-Expression y"));
    }
}

//! Merged string matching: all the string values of one detection item
//! compiled into a handful of automata.
//!
//! Sigma string values reduce to four literal shapes (`x`, `x*`, `*x`, `*x*`)
//! plus everything with inner wildcards. Literal shapes are merged into one
//! Aho-Corasick automaton per shape (anchored for equality and prefixes), so
//! a 4,432-value hash list costs one automaton walk instead of 4,432
//! comparisons; the rest, and raw `re` values, go into one `RegexSet`.
//! Automata and regex sets are compiled on first use (the crate's `lazy` module):
//! most of them never meet a value.
//!
//! Case-insensitive patterns are stored lowercased and compared with the
//! lowercased value, which the evaluator computes once per field and event
//! (and only when the value has an uppercase letter), so each comparison is
//! a plain byte comparison or a SIMD substring search (`memchr::memmem`).

use std::borrow::Cow;

use aho_corasick::MatchKind;
use sigma_core::{RegexFlags, SigmaString, StrPart};

use crate::lazy::{LazyAc, LazyRegexSet, Shared};

/// Literal patterns of one case mode, grouped by shape.
#[derive(Debug, Default)]
struct Shapes {
    exact: Vec<String>,
    prefix: Vec<String>,
    suffix: Vec<String>,
    contains: Vec<String>,
}

/// How many patterns of one shape are compared one by one before an
/// automaton or a hash set takes over.
const FEW: usize = 8;

/// Compiled literal matchers of one case mode. Haystacks are already in
/// the right case (lowercased for case-insensitive patterns), so every
/// comparison is a plain byte comparison.
#[derive(Debug)]
struct Lits {
    exact: Exact,
    prefix: Prefixes,
    suffix: Suffixes,
    contains: Contains,
}

#[derive(Debug)]
enum Exact {
    None,
    Few(Vec<String>),
    Many(std::collections::HashSet<String>),
}

#[derive(Debug)]
enum Prefixes {
    None,
    Few(Vec<String>),
    Many(LazyAc),
}

/// Suffix checks: a loop for a few patterns, an overlapping automaton
/// for many.
#[derive(Debug)]
enum Suffixes {
    None,
    Few(Vec<String>),
    Many(LazyAc),
}

#[derive(Debug)]
enum Contains {
    None,
    Few(Vec<memchr::memmem::Finder<'static>>),
    Many(LazyAc),
}

/// A set of string patterns, OR-linked.
#[derive(Debug, Default)]
pub struct StrSetBuilder {
    fold: Shapes,
    cased: Shapes,
    regexes: Vec<String>,
    /// Some regex came from a rule's `re` (and must be validated at load).
    user_regex: bool,
    any: bool,
}

/// A compiled, OR-linked set of string patterns.
#[derive(Debug)]
pub struct StrSet {
    fold: Option<Lits>,
    cased: Option<Lits>,
    regex: Option<LazyRegexSet>,
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
        self.user_regex = true;
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
        } else if self.user_regex {
            // A rule's own regex may be invalid for the `regex` crate:
            // find out at load time so the rule is reported.
            Some(LazyRegexSet::checked(self.regexes)?)
        } else {
            // Wildcard patterns are escaped literals and cannot fail.
            Some(LazyRegexSet::trusted(self.regexes))
        };
        Ok(StrSet {
            fold: build_lits(self.fold)?,
            cased: build_lits(self.cased)?,
            regex,
            any: self.any,
        })
    }
}

fn shapes_empty(s: &Shapes) -> bool {
    s.exact.is_empty() && s.prefix.is_empty() && s.suffix.is_empty() && s.contains.is_empty()
}

fn build_lits(s: Shapes) -> Result<Option<Lits>, String> {
    if shapes_empty(&s) {
        return Ok(None);
    }
    let exact = match s.exact.len() {
        0 => Exact::None,
        n if n <= FEW => Exact::Few(s.exact),
        _ => Exact::Many(s.exact.into_iter().collect()),
    };
    let prefix = match s.prefix.len() {
        0 => Prefixes::None,
        n if n <= FEW => Prefixes::Few(s.prefix),
        _ => Prefixes::Many(LazyAc::new(s.prefix, MatchKind::LeftmostFirst)?),
    };
    let suffix = match s.suffix.len() {
        0 => Suffixes::None,
        n if n <= FEW => Suffixes::Few(s.suffix),
        _ => Suffixes::Many(LazyAc::new(s.suffix, MatchKind::Standard)?),
    };
    let contains = match s.contains.len() {
        0 => Contains::None,
        n if n <= FEW => Contains::Few(
            s.contains
                .iter()
                .map(|p| memchr::memmem::Finder::new(p.as_bytes()).into_owned())
                .collect(),
        ),
        _ => Contains::Many(LazyAc::new(s.contains, MatchKind::LeftmostFirst)?),
    };
    Ok(Some(Lits {
        exact,
        prefix,
        suffix,
        contains,
    }))
}

/// `^...$` over the whole value, `*` and `?` spanning newlines.
fn wildcard_regex(s: &SigmaString, cased: bool) -> String {
    let flags = if cased { "(?s)" } else { "(?is)" };
    format!("{flags}^{}$", s.to_regex())
}

impl Lits {
    fn is_match(&self, hay: &str) -> bool {
        let ok = match &self.exact {
            Exact::None => false,
            Exact::Few(list) => list.iter().any(|p| p == hay),
            Exact::Many(set) => set.contains(hay),
        };
        if ok {
            return true;
        }
        let ok = match &self.prefix {
            Prefixes::None => false,
            Prefixes::Few(list) => list.iter().any(|p| hay.starts_with(p.as_str())),
            Prefixes::Many(ac) => ac.is_prefix(hay),
        };
        if ok {
            return true;
        }
        let ok = match &self.suffix {
            Suffixes::None => false,
            Suffixes::Few(list) => list.iter().any(|p| hay.ends_with(p.as_str())),
            Suffixes::Many(ac) => ac.is_suffix(hay),
        };
        if ok {
            return true;
        }
        match &self.contains {
            Contains::None => false,
            Contains::Few(list) => list.iter().any(|f| f.find(hay.as_bytes()).is_some()),
            Contains::Many(ac) => ac.is_inside(hay),
        }
    }
}

/// The case-folded form of a value: what case-insensitive patterns are
/// compared with.
pub fn fold(hay: &str) -> Cow<'_, str> {
    if hay.bytes().any(|b| b.is_ascii_uppercase()) || !hay.is_ascii() {
        Cow::Owned(hay.to_lowercase())
    } else {
        Cow::Borrowed(hay)
    }
}

impl StrSet {
    /// Shares the lazily compiled matchers with equal ones met before
    /// (see [`LazyRegexSet::share`], [`LazyAc::share`]).
    pub(crate) fn share(&mut self, seen: &mut Shared) {
        if let Some(r) = &mut self.regex {
            r.share(seen);
        }
        for lits in [&mut self.fold, &mut self.cased].into_iter().flatten() {
            if let Prefixes::Many(ac) = &mut lits.prefix {
                ac.share(seen);
            }
            if let Suffixes::Many(ac) = &mut lits.suffix {
                ac.share(seen);
            }
            if let Contains::Many(ac) = &mut lits.contains {
                ac.share(seen);
            }
        }
    }

    /// True when any pattern matches the value; `folded` is
    /// [`fold`]`(hay)`, computed once per field and event by the caller.
    pub fn is_match(&self, hay: &str, folded: &str) -> bool {
        if self.any {
            return true;
        }
        if let Some(l) = &self.fold {
            if l.is_match(folded) {
                return true;
            }
        }
        if let Some(l) = &self.cased {
            if l.is_match(hay) {
                return true;
            }
        }
        if let Some(r) = &self.regex {
            if r.get().is_some_and(|set| set.is_match(hay)) {
                return true;
            }
        }
        false
    }

    /// True when only case-sensitive checks are needed (no folded text).
    pub fn needs_fold(&self) -> bool {
        self.fold.is_some()
    }

    /// Matches a value that was not folded yet.
    pub fn is_match_raw(&self, hay: &str) -> bool {
        if self.fold.is_some() {
            self.is_match(hay, &fold(hay))
        } else {
            self.is_match(hay, hay)
        }
    }

    /// A rough cost estimate, used to order checks cheapest first.
    pub fn cost(&self) -> u32 {
        let mut c = 1;
        if self
            .fold
            .as_ref()
            .is_some_and(|l| !matches!(l.contains, Contains::None))
        {
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
        assert!(s.is_match_raw(r"c:\windows\system32\WHOAMI.EXE"));
        assert!(!s.is_match_raw(r"c:\windows\system32\whoami.exe.bak"));
        assert!(!s.is_match_raw(r"X:\C:\Windows\System32\whoami.exe"));
        let s = set(&["*/etc/*.conf*"]);
        assert!(s.is_match_raw("cat /etc/ssh/sshd.conf"));
        let s = set(&["*8???"]);
        assert!(s.is_match_raw("0x8010"));
        assert!(!s.is_match_raw("0x801"));
        let s = set(&["abc*", "*xyz", "*mid*"]);
        assert!(s.is_match_raw("ABCd"));
        assert!(s.is_match_raw("wXYZ"));
        assert!(s.is_match_raw("a MID b"));
        assert!(!s.is_match_raw("nothing"));
    }

    #[test]
    fn non_ascii_haystack_folds() {
        let s = set(&["*ümlaut*"]);
        assert!(s.is_match_raw("ÜMLAUT here"));
    }

    #[test]
    fn many_suffixes() {
        let v: Vec<String> = (0..20).map(|i| format!("*\\tool{i}.exe")).collect();
        let refs: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        let s = set(&refs);
        assert!(s.is_match_raw(r"C:\x\TOOL13.exe"));
        assert!(!s.is_match_raw(r"C:\x\tool13.exe.txt"));
    }

    #[test]
    fn cased_and_regex() {
        let mut b = StrSetBuilder::default();
        b.add_string(&SigmaString::parse(r"*\PowerShell.exe"), true);
        let s = b.build().expect("builds");
        assert!(!s.is_match_raw(r"c:\powershell.exe"));
        assert!(s.is_match_raw(r"c:\PowerShell.exe"));
        let mut b = StrSetBuilder::default();
        b.add_regex("Invoke-Expression", RegexFlags::default());
        let s = b.build().expect("builds");
        assert!(!s.is_match_raw("invoke-expression"));
        assert!(s.is_match_raw("x Invoke-Expression y"));
    }
}

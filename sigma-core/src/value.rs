//! Typed Sigma values: strings with wildcards and placeholders, numbers,
//! regular expressions, CIDR networks and the other value kinds that
//! modifiers produce.
//!
//! Strings are kept *structured* (literal runs, wildcards, placeholders) and
//! never round-tripped through text: pySigma's `to_plain()` loses the
//! difference between "backslash followed by a wildcard" and "a literal
//! star", and so would any string-based representation.

use std::fmt;

use serde::Serialize;

/// The byte length of the literal run at the start of `text` (up to the
/// first unescaped `*` or `?`): an upper bound of its unescaped length.
fn literal_run_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'*' | b'?' => break,
            b'\\' if matches!(bytes.get(i + 1), Some(b'*' | b'?' | b'\\')) => i += 2,
            _ => i += 1,
        }
    }
    i
}

/// One piece of a [`SigmaString`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum StrPart {
    /// Literal text (escapes already resolved).
    Literal(String),
    /// `*`: any sequence of characters, possibly empty.
    AnyChars,
    /// `?`: exactly one character.
    AnyChar,
    /// `%name%` placeholder (only with the `expand` modifier).
    Placeholder(String),
}

/// A Sigma string value: literal text interleaved with wildcards and
/// placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct SigmaString {
    /// The parts, with adjacent literals merged.
    pub parts: Vec<StrPart>,
}

impl SigmaString {
    /// Parses a rule string with pySigma's exact wildcard and escape rules
    /// (see the Sigma specification, "String Wildcard" and "Escape Character"):
    ///
    /// * unescaped `*` and `?` are wildcards;
    /// * `\` before `*`, `?` or `\` yields that character literally;
    /// * `\` before any other character (or at the end) is kept literally.
    pub fn parse(text: &str) -> SigmaString {
        let mut out = SigmaString::default();
        // The literal run being read; each run gets its final size up front
        // instead of growing character by character.
        let mut literal = String::new();
        let mut rest = text;
        loop {
            if literal.capacity() == 0 {
                literal.reserve_exact(literal_run_len(rest));
            }
            // Literal runs are copied in one piece; only `*`, `?` and `\`
            // need a closer look.
            let Some(i) = rest.find(['*', '?', '\\']) else {
                literal.push_str(rest);
                break;
            };
            let (text, tail) = rest.split_at(i);
            literal.push_str(text);
            let mut chars = tail.chars();
            let wildcard = match chars.next() {
                Some('*') => Some(StrPart::AnyChars),
                Some('?') => Some(StrPart::AnyChar),
                _ => {
                    match chars.clone().next() {
                        Some(next @ ('*' | '?' | '\\')) => {
                            chars.next();
                            literal.push(next);
                        }
                        _ => literal.push('\\'),
                    }
                    None
                }
            };
            if let Some(w) = wildcard {
                if !literal.is_empty() {
                    out.parts
                        .push(StrPart::Literal(std::mem::take(&mut literal)));
                }
                out.parts.push(w);
            }
            rest = chars.as_str();
        }
        if !literal.is_empty() {
            out.parts.push(StrPart::Literal(literal));
        }
        out
    }

    /// A string made of one literal run (no wildcard interpretation).
    pub fn literal(text: &str) -> SigmaString {
        let mut s = SigmaString::default();
        s.push_str(text);
        s
    }

    /// Appends one literal character, merging with a preceding literal.
    pub fn push_char(&mut self, c: char) {
        if let Some(StrPart::Literal(last)) = self.parts.last_mut() {
            last.push(c);
        } else {
            self.parts.push(StrPart::Literal(c.to_string()));
        }
    }

    /// Appends literal text, merging with a preceding literal.
    pub fn push_str(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(StrPart::Literal(last)) = self.parts.last_mut() {
            last.push_str(s);
        } else {
            self.parts.push(StrPart::Literal(s.to_string()));
        }
    }

    /// Appends a part, merging literals.
    pub fn push_part(&mut self, part: StrPart) {
        match part {
            StrPart::Literal(s) => self.push_str(&s),
            other => self.parts.push(other),
        }
    }

    /// True when the string starts with `*`.
    pub fn starts_with_wildcard(&self) -> bool {
        matches!(self.parts.first(), Some(StrPart::AnyChars))
    }

    /// True when the string ends with `*`.
    pub fn ends_with_wildcard(&self) -> bool {
        matches!(self.parts.last(), Some(StrPart::AnyChars))
    }

    /// True when any `*` or `?` is present.
    pub fn has_wildcards(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, StrPart::AnyChars | StrPart::AnyChar))
    }

    /// True when any placeholder is present.
    pub fn has_placeholders(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, StrPart::Placeholder(_)))
    }

    /// The literal text when the string has no wildcard and no placeholder.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Literal(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Adds a leading `*` unless one is already there.
    pub fn prepend_wildcard(&mut self) {
        if !self.starts_with_wildcard() {
            self.parts.insert(0, StrPart::AnyChars);
        }
    }

    /// Adds a trailing `*` unless one is already there.
    pub fn append_wildcard(&mut self) {
        if !self.ends_with_wildcard() {
            self.parts.push(StrPart::AnyChars);
        }
    }

    /// Renders the string with a target's escaping rules: wildcards become
    /// `multi`/`single`, and every literal character for which `escape`
    /// returns true is preceded by `escape_char`. Placeholders render as
    /// `%name%`. This is the building block of every text backend.
    pub fn render(
        &self,
        multi: &str,
        single: &str,
        escape_char: &str,
        escape: impl Fn(char) -> bool,
    ) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Literal(s) => {
                    for c in s.chars() {
                        if escape(c) {
                            out.push_str(escape_char);
                        }
                        out.push(c);
                    }
                }
                StrPart::AnyChars => out.push_str(multi),
                StrPart::AnyChar => out.push_str(single),
                StrPart::Placeholder(name) => {
                    out.push('%');
                    out.push_str(name);
                    out.push('%');
                }
            }
        }
        out
    }

    /// A regular expression (without anchors) equivalent to the string:
    /// `*` → `.*`, `?` → `.`, literals escaped.
    pub fn to_regex(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Literal(s) => out.push_str(&regex::escape(s)),
                StrPart::AnyChars => out.push_str(".*"),
                StrPart::AnyChar => out.push('.'),
                StrPart::Placeholder(name) => out.push_str(&regex::escape(&format!("%{name}%"))),
            }
        }
        out
    }
}

impl fmt::Display for SigmaString {
    /// Sigma notation: wildcards as `*`/`?`, literal `*`, `?` and `\`
    /// escaped where needed to round-trip.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.render("*", "?", "\\", |c| matches!(c, '*' | '?'));
        f.write_str(&s)
    }
}

/// A number as written in the rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Number {
    /// The value as `f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Flags of a `re` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct RegexFlags {
    /// `i` / `ignorecase`.
    pub ignore_case: bool,
    /// `m` / `multiline`.
    pub multi_line: bool,
    /// `s` / `dotall`.
    pub dot_all: bool,
}

/// A numeric comparison operator (`gt`, `gte`, `lt`, `lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl CompareOp {
    /// Whether `lhs op rhs` holds.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CompareOp::Gt => lhs > rhs,
            CompareOp::Gte => lhs >= rhs,
            CompareOp::Lt => lhs < rhs,
            CompareOp::Lte => lhs <= rhs,
        }
    }
}

/// A part of a timestamp (`minute`, `hour`, … modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePart {
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the month.
    Day,
    /// ISO week of the year.
    Week,
    /// Month of the year.
    Month,
    /// Year.
    Year,
}

/// A typed value of a detection item, after its modifiers were applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// A string, possibly with wildcards; `cased` when `|cased` was used.
    String {
        /// The string.
        value: SigmaString,
        /// Case-sensitive comparison requested.
        cased: bool,
    },
    /// A number.
    Number {
        /// The number.
        value: Number,
    },
    /// A boolean.
    Bool {
        /// The boolean.
        value: bool,
    },
    /// `null`: the field is null or absent.
    Null,
    /// A regular expression (`re`), taken raw from the rule.
    Regex {
        /// The pattern text.
        pattern: String,
        /// Its flags.
        flags: RegexFlags,
    },
    /// An IP network (`cidr`).
    Cidr {
        /// The network as written (validated).
        network: String,
    },
    /// A numeric comparison (`gt`, `gte`, `lt`, `lte`), optionally on a
    /// timestamp part.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The number compared with.
        value: Number,
        /// Set when a timestamp-part modifier came first.
        part: Option<TimePart>,
    },
    /// Equality on a timestamp part (`|hour: 9`).
    TimestampPart {
        /// The part.
        part: TimePart,
        /// The expected value.
        value: Number,
    },
    /// Comparison with another field of the same event (`fieldref`).
    FieldRef {
        /// The other field.
        field: String,
        /// `startswith`/`contains` applied: a prefix comparison.
        starts_with: bool,
        /// `endswith`/`contains` applied: a suffix comparison.
        ends_with: bool,
    },
    /// Field presence (`exists`).
    Exists {
        /// True: the field must exist; false: it must be absent.
        value: bool,
    },
    /// Several alternatives from one value (`windash`, `base64offset`),
    /// OR-linked.
    Expansion {
        /// The alternatives.
        values: Vec<Value>,
    },
}

impl Value {
    /// A case-insensitive string value.
    pub fn string(s: SigmaString) -> Value {
        Value::String {
            value: s,
            cased: false,
        }
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String { .. } => "string",
            Value::Number { .. } => "number",
            Value::Bool { .. } => "boolean",
            Value::Null => "null",
            Value::Regex { .. } => "regular expression",
            Value::Cidr { .. } => "CIDR network",
            Value::Compare { .. } => "comparison",
            Value::TimestampPart { .. } => "timestamp part",
            Value::FieldRef { .. } => "field reference",
            Value::Exists { .. } => "exists check",
            Value::Expansion { .. } => "expansion",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StrPart::*;
    use super::*;

    fn lit(s: &str) -> StrPart {
        Literal(s.to_string())
    }

    #[test]
    fn escape_table_from_the_spec() {
        let cases: &[(&str, Vec<StrPart>)] = &[
            (r"C:\Windows\System32\", vec![lit(r"C:\Windows\System32\")]),
            (r"\\", vec![lit(r"\")]),
            (r"\\\a", vec![lit(r"\\a")]),
            (r"\\\\a", vec![lit(r"\\a")]),
            (r"a\*b", vec![lit("a*b")]),
            (r"a\\*b", vec![lit(r"a\"), AnyChars, lit("b")]),
            (r"a\\\*b", vec![lit(r"a\*b")]),
            (r"\\\\127.0.0.1\\", vec![lit(r"\\127.0.0.1\")]),
            (r"C:\Users\*\AppData", vec![lit(r"C:\Users*\AppData")]),
            (
                r"C:\Users\\*\AppData",
                vec![lit(r"C:\Users\"), AnyChars, lit(r"\AppData")],
            ),
            (r"\\\\\?\\GLOBALROOT", vec![lit(r"\\?\GLOBALROOT")]),
            (r"\\\*\IPC$", vec![lit(r"\*\IPC$")]),
            ("8???", vec![lit("8"), AnyChar, AnyChar, AnyChar]),
            (r"\?", vec![lit("?")]),
            (r"\n\t", vec![lit(r"\n\t")]),
            ("", vec![]),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &SigmaString::parse(input).parts,
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn wildcard_helpers() {
        let mut s = SigmaString::parse("*abc");
        assert!(s.starts_with_wildcard());
        s.prepend_wildcard();
        s.append_wildcard();
        assert_eq!(s.parts, vec![AnyChars, lit("abc"), AnyChars]);
        assert_eq!(s.to_string(), "*abc*");
        assert_eq!(SigmaString::literal("a*b").to_string(), r"a\*b");
        assert_eq!(SigmaString::parse("a.b*").to_regex(), r"a\.b.*");
        assert_eq!(SigmaString::parse("ab").as_plain().as_deref(), Some("ab"));
        assert_eq!(SigmaString::parse("a*").as_plain(), None);
    }
}

//! A YAML node tree that remembers where every node came from.
//!
//! Sigma needs more than the values of a YAML document: every error and every
//! lint finding must point at a line and column. `serde-saphyr` gives us a
//! panic-free parser with resource budgets (alias bombs and runaway nesting
//! fail cleanly) and [`serde_saphyr::Spanned`] to capture locations, so the
//! tree below is a thin, typed mirror of the YAML with a [`Location`] on every
//! node. Everything above this module works on [`YamlNode`] only.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

mod fast;
mod fast_scalar;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Location {
    /// 1-based line number (0 when unknown).
    pub line: u32,
    /// 1-based column number (0 when unknown).
    pub column: u32,
}

impl Location {
    /// Builds a location from a line and column.
    pub const fn new(line: u32, column: u32) -> Self {
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML value. Scalars are typed the way YAML 1.2 core schema types them:
/// quoted scalars are always strings, `12` is an integer, `true` a boolean,
/// `null`/`~`/empty a null.
#[derive(Debug, Clone, PartialEq)]
pub enum YamlValue<'a> {
    /// `null`, `~` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A float (or an integer too large for `i64`).
    Float(f64),
    /// A string scalar: borrowed from the source text when it needs no
    /// unescaping (most scalars of a rule), so reading a file does not copy
    /// every scalar into its own allocation.
    String(Cow<'a, str>),
    /// A sequence.
    Seq(Vec<YamlNode<'a>>),
    /// A mapping, in document order.
    Map(Vec<(YamlNode<'a>, YamlNode<'a>)>),
}

/// A YAML value with the location where it appears.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlNode<'a> {
    /// The value.
    pub value: YamlValue<'a>,
    /// Where the node starts.
    pub location: Location,
    /// Byte range of the node in the source text, when known.
    pub span: Option<(usize, usize)>,
}

impl<'a> YamlNode<'a> {
    /// Builds a node.
    pub fn new(value: YamlValue<'a>, location: Location) -> Self {
        YamlNode {
            value,
            location,
            span: None,
        }
    }

    /// The string, when this node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            YamlValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping entries, when this node is a mapping.
    pub fn as_map(&self) -> Option<&[(YamlNode<'a>, YamlNode<'a>)]> {
        match &self.value {
            YamlValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks a string key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&YamlNode<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            YamlValue::Null => "null",
            YamlValue::Bool(_) => "boolean",
            YamlValue::Int(_) => "integer",
            YamlValue::Float(_) => "number",
            YamlValue::String(_) => "string",
            YamlValue::Seq(_) => "list",
            YamlValue::Map(_) => "mapping",
        }
    }

    /// The scalar rendered as text (strings as-is, numbers and booleans in
    /// their canonical form). `None` for null, lists and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        self.scalar_str().map(Cow::into_owned)
    }

    /// [`YamlNode::scalar_text`] without copying string scalars (mapping
    /// keys are read this way for every rule).
    pub fn scalar_str(&self) -> Option<Cow<'_, str>> {
        match &self.value {
            YamlValue::String(s) => Some(Cow::Borrowed(s)),
            YamlValue::Int(i) => Some(Cow::Owned(i.to_string())),
            YamlValue::Float(f) => Some(Cow::Owned(f.to_string())),
            YamlValue::Bool(b) => Some(Cow::Owned(b.to_string())),
            _ => None,
        }
    }

    /// The node with every string owned, detached from the source text.
    pub fn into_owned(self) -> YamlNode<'static> {
        let value = match self.value {
            YamlValue::Null => YamlValue::Null,
            YamlValue::Bool(b) => YamlValue::Bool(b),
            YamlValue::Int(i) => YamlValue::Int(i),
            YamlValue::Float(f) => YamlValue::Float(f),
            YamlValue::String(s) => YamlValue::String(Cow::Owned(s.into_owned())),
            YamlValue::Seq(items) => {
                YamlValue::Seq(items.into_iter().map(YamlNode::into_owned).collect())
            }
            YamlValue::Map(entries) => YamlValue::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
        };
        YamlNode {
            value,
            location: self.location,
            span: self.span,
        }
    }

    /// Converts the node into JSON (mapping keys become strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            YamlValue::Null => J::Null,
            YamlValue::Bool(b) => J::Bool(*b),
            YamlValue::Int(i) => J::from(*i),
            YamlValue::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            YamlValue::String(s) => J::String(s.to_string()),
            YamlValue::Seq(items) => J::Array(items.iter().map(|n| n.to_json()).collect()),
            YamlValue::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = YamlValue<'static>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::Int(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<YamlValue<'static>, E> {
        Ok(i64::try_from(v).map_or(YamlValue::Float(v as f64), YamlValue::Int))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<YamlValue<'static>, E> {
        Ok(i64::try_from(v).map_or(YamlValue::Float(v as f64), YamlValue::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<YamlValue<'static>, E> {
        Ok(i64::try_from(v).map_or(YamlValue::Float(v as f64), YamlValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::String(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<YamlValue<'static>, E> {
        Ok(YamlValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YamlValue<'static>, D::Error> {
        YamlValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlValue<'static>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<YamlNode<'static>>()? {
            items.push(item);
        }
        Ok(YamlValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlValue<'static>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<YamlNode<'static>>()? {
            let value = map.next_value::<YamlNode<'static>>()?;
            entries.push((key, value));
        }
        Ok(YamlValue::Map(entries))
    }
}

impl<'de> Deserialize<'de> for YamlValue<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for YamlNode<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<YamlValue>::deserialize(d)?;
        let loc = spanned.referenced;
        let span = loc.span();
        let span = match (span.byte_offset(), span.byte_len()) {
            (Some(o), Some(l)) => Some((o as usize, l as usize)),
            _ => None,
        };
        Ok(YamlNode {
            value: spanned.value,
            location: Location::new(loc.line() as u32, loc.column() as u32),
            span,
        })
    }
}

/// A YAML syntax or budget error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where the problem was found, when the parser knows.
    pub location: Location,
    /// What went wrong, in plain words.
    pub message: String,
}

/// Limits that keep hostile YAML (alias bombs, deep nesting, huge
/// documents) from exhausting memory or the stack.
fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_events = 2_000_000;
    budget.max_depth = 64;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options
}

/// Parses every document of a YAML stream. Empty documents (a trailing
/// `---`) are skipped.
///
/// Text in the subset of YAML that Sigma rules use is read by a fast
/// reader; anything else (and every error) goes through `serde-saphyr`. Both
/// give the same tree, locations and spans (see the `fast` module).
pub fn parse_documents(text: &str) -> Result<Vec<YamlNode<'_>>, YamlError> {
    match parse_documents_fast(text) {
        Some(docs) => Ok(docs),
        None => parse_documents_reference(text),
    }
}

/// The fast reader alone: `None` when the text needs the full parser.
/// Public so that tests can compare it with [`parse_documents_reference`].
pub fn parse_documents_fast(text: &str) -> Option<Vec<YamlNode<'_>>> {
    // The fast reader applies the YAML 1.1 fix-ups as it types scalars.
    fast::parse(text)
}

/// The reference path: `serde-saphyr` for every text.
pub fn parse_documents_reference(text: &str) -> Result<Vec<YamlNode<'static>>, YamlError> {
    let docs: Vec<Option<YamlNode<'static>>> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| {
            let location = e
                .location()
                .map(|l| Location::new(l.line() as u32, l.column() as u32))
                .unwrap_or_default();
            YamlError {
                location,
                message: first_line(&e.to_string()),
            }
        })?;
    let mut docs: Vec<YamlNode<'static>> = docs
        .into_iter()
        .flatten()
        .filter(|d| d.value != YamlValue::Null)
        .collect();
    for d in &mut docs {
        yaml11_compatible_scalars(d, text);
    }
    Ok(docs)
}

/// YAML 1.2 reads the plain scalar `00000429` as the integer 429, while the
/// YAML 1.1 loader that pySigma uses keeps it as the string `00000429`
/// (corpus rules rely on that, e.g. keyboard layout ids). Numbers written
/// with a leading zero are therefore turned back into their text.
fn yaml11_compatible_scalars(node: &mut YamlNode<'_>, text: &str) {
    match &mut node.value {
        YamlValue::Int(_) | YamlValue::Float(_) | YamlValue::Bool(_) => {
            let Some((off, len)) = node.span else { return };
            let Some(src) = text.get(off..off + len) else {
                return;
            };
            if yaml11_string(&node.value, src) {
                node.value = YamlValue::String(Cow::Owned(src.to_string()));
            }
        }
        YamlValue::Seq(items) => items
            .iter_mut()
            .for_each(|i| yaml11_compatible_scalars(i, text)),
        YamlValue::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            yaml11_compatible_scalars(k, text);
            yaml11_compatible_scalars(v, text);
        }),
        _ => {}
    }
}

/// Whether a typed scalar written as `src` becomes the string `src` under
/// the YAML 1.1 fix-ups above. The fast reader calls this for each scalar
/// it types, so that its trees need no second walk.
pub(crate) fn yaml11_string(value: &YamlValue<'_>, src: &str) -> bool {
    match value {
        YamlValue::Int(_) | YamlValue::Float(_) => {
            let digits = src.trim_start_matches(['-', '+']);
            let leading_zero = digits.len() > 1
                && digits.starts_with('0')
                && digits.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
            leading_zero
        }
        // serde-saphyr also reads `y`, `n`, `yes`, `on`, … as booleans;
        // YAML 1.2 (and Sigma) only knows true/false.
        YamlValue::Bool(_) => {
            !matches!(src, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        }
        _ => false,
    }
}

/// serde-saphyr renders errors with a source snippet; one line is enough for
/// our `FILE:LINE:COL: error: MESSAGE` format.
fn first_line(s: &str) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    line.trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_types() {
        let docs = parse_documents("a: 1\nb:\n  - 'x'\n  - null\nc: true\n").unwrap();
        assert_eq!(docs.len(), 1);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.location.line, 3);
        match &b.value {
            YamlValue::Seq(items) => {
                assert_eq!(items[0].value, YamlValue::String("x".into()));
                assert_eq!(items[0].location, Location::new(3, 5));
                assert_eq!(items[1].value, YamlValue::Null);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(docs[0].get("c").unwrap().value, YamlValue::Bool(true));
        assert_eq!(docs[0].get("a").unwrap().value, YamlValue::Int(1));
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let docs = parse_documents("a: '4624'\nd: 2024-01-01\n").unwrap();
        assert_eq!(docs[0].get("a").unwrap().as_str(), Some("4624"));
        assert_eq!(docs[0].get("d").unwrap().as_str(), Some("2024-01-01"));
    }

    #[test]
    fn leading_zero_numbers_stay_text() {
        let docs = parse_documents("a: 00000429\nb: 0\nc: 12\nd: [y, n, yes, off, true, False]\n")
            .unwrap();
        let d: Vec<YamlValue> = match &docs[0].get("d").unwrap().value {
            YamlValue::Seq(items) => items.iter().map(|i| i.value.clone()).collect(),
            _ => panic!(),
        };
        let s = |x: &'static str| YamlValue::String(x.into());
        assert_eq!(
            d,
            vec![
                s("y"),
                s("n"),
                s("yes"),
                s("off"),
                YamlValue::Bool(true),
                YamlValue::Bool(false)
            ]
        );
        assert_eq!(docs[0].get("a").unwrap().as_str(), Some("00000429"));
        assert_eq!(docs[0].get("b").unwrap().value, YamlValue::Int(0));
        assert_eq!(docs[0].get("c").unwrap().value, YamlValue::Int(12));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_documents("a: 1\na: 2\n").unwrap_err();
        assert!(
            err.message.to_lowercase().contains("duplicate"),
            "{}",
            err.message
        );
        assert_eq!(err.location.line, 2);
    }

    #[test]
    fn alias_bomb_hits_budget() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..30 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse_documents(&s).is_err());
    }

    #[test]
    fn deep_nesting_fails_cleanly() {
        let s = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_documents(&s).is_err());
    }

    #[test]
    fn multi_documents_skip_empty() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].location.line, 3);
    }
}

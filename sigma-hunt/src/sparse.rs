//! Sparse parsing: build only the part of an event its candidate rules
//! read.
//!
//! Once the prefilter has chosen the candidate variants of a line, only
//! the fields those variants read matter. A [`SparsePlan`] knows, for every
//! variant, the *leaf keys* of those fields (the last key of each path the
//! field is read from in any layout, see
//! [`Fields::leaf_keys`](crate::layout::Fields::leaf_keys)), as a bitset
//! over the distinct leaf keys of the rule set. [`parse_sparse`] then parses
//! the line with the same `serde_json` deserializer as a full parse, but:
//!
//! * every object is kept, with its keys in order (paths go through
//!   objects, layout detection looks at them, `UserData.*` picks the first
//!   child holding a field);
//! * in a `UserData` object, whose children the evaluator walks in order,
//!   a dropped value leaves a `null` in its place: a full parse keeps a
//!   duplicate key at its first position, so without the placeholder
//!   `{"A": 0, "B": {..}, "A": {..}}` would list `B` before `A` and the
//!   walk would read `B`'s field instead of `A`'s;
//! * a value whose key is wanted is built in full, as `Value`;
//! * any other scalar or array is only validated, through the same
//!   deserializer paths as `Value` (so exactly the same lines are accepted
//!   and rejected), and dropped.
//!
//! Always wanted: the keys the channel, EventID and timestamps are read
//! from, `#text` (element text), and keys holding a space (spaced names
//! resolve without their spaces). Variants with a keyword search read every
//! value, and lines with such a candidate are parsed in full, as are lines
//! whose events are kept whole (`--full`) and any line the sparse parse
//! rejects (so error messages are those of the full parse).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::plan::FxMap;
use super::Engine;
use crate::compile::{Node, Program};
use crate::layout::{FieldId, ORDERED_PARENT};
use crate::prefilter::Validate;

/// What each variant reads, by leaf key.
pub(crate) struct SparsePlan {
    /// Leaf key → bit.
    index: FxMap<Box<str>, u32>,
    /// Words per bitset.
    words: usize,
    /// Bits wanted on every line.
    always: Vec<u64>,
    /// Per variant: its bits, or `None` when it reads every value.
    per_variant: Vec<Option<Box<[u64]>>>,
}

fn reads_everything(p: &Program) -> bool {
    fn node(n: &Node) -> bool {
        match n {
            Node::And(xs) | Node::Or(xs) => xs.iter().any(node),
            Node::Field { .. } => false,
            Node::Keyword { .. } => true,
        }
    }
    p.searches.iter().any(node)
}

impl SparsePlan {
    /// Indexes the leaf keys of every field the engine's variants read.
    pub(crate) fn build(engine: &Engine) -> SparsePlan {
        let mut index: FxMap<Box<str>, u32> = HashMap::default();
        let mut bit = |k: &str| -> u32 {
            let n = index.len() as u32;
            *index.entry(k.into()).or_insert(n)
        };
        // Field → its bits (None: a path without a fixed leaf key, read
        // by walking: the whole event is needed).
        let mut per_field: Vec<Option<Vec<u32>>> = Vec::with_capacity(engine.fields.len());
        for i in 0..engine.fields.len() {
            let id = FieldId(i as u32);
            per_field.push(
                engine
                    .fields
                    .leaf_keys(id)
                    .map(|ks| ks.iter().map(|k| bit(k)).collect()),
            );
        }
        let mut always_bits: Vec<u32> =
            crate::layout::timestamp_leaf_keys().map(&mut bit).collect();
        always_bits.push(bit("#text"));
        // Routing fields without fixed leaf keys: every line needs the
        // whole event (`per_variant` all `None`).
        let mut routable = true;
        for f in [engine.channel_field, engine.event_id_field] {
            match per_field.get(f.0 as usize) {
                Some(Some(bits)) => always_bits.extend(bits),
                _ => routable = false,
            }
        }
        let words = index.len().div_ceil(64).max(1);
        let to_set = |bits: &[u32]| {
            let mut set = vec![0u64; words];
            for &b in bits {
                if let Some(w) = set.get_mut(b as usize / 64) {
                    *w |= 1 << (b % 64);
                }
            }
            set
        };
        let always = to_set(&always_bits);
        let own: Vec<Option<Box<[u64]>>> = engine
            .variants
            .iter()
            .map(|v| {
                if !routable || reads_everything(&v.program) {
                    return None;
                }
                let mut bits = Vec::new();
                let read = v.program.fields.iter().chain(v.guards.iter().map(|g| &g.0));
                for f in read {
                    bits.extend(per_field.get(f.0 as usize)?.as_ref()?);
                }
                Some(to_set(&bits).into_boxed_slice())
            })
            .collect();
        // A hit reports the fields of every variant of its rule (see
        // `Engine::matched_fields`): a variant wants what its siblings
        // read too. Variants are stored in rule order.
        let mut per_variant = Vec::with_capacity(own.len());
        let mut start = 0;
        while let Some(first) = engine.variants.get(start) {
            let end = engine
                .variants
                .get(start..)
                .unwrap_or_default()
                .iter()
                .position(|v| v.rule != first.rule)
                .map_or(engine.variants.len(), |n| start + n);
            let mut union: Option<Vec<u64>> = Some(vec![0; words]);
            for bits in own.get(start..end).unwrap_or_default() {
                match (bits, union.as_mut()) {
                    (Some(b), Some(u)) => u.iter_mut().zip(b.iter()).for_each(|(u, b)| *u |= b),
                    _ => union = None,
                }
            }
            let union = union.map(Vec::into_boxed_slice);
            per_variant.extend((start..end).map(|_| union.clone()));
            start = end;
        }
        SparsePlan {
            index,
            words,
            always,
            per_variant,
        }
    }

    /// The keys wanted for a line whose candidate variants are the set
    /// bits of `allowed`; `None` when the whole event is needed.
    pub(crate) fn wanted(&self, allowed: &[u64], out: &mut Vec<u64>) -> Option<()> {
        out.clear();
        out.extend_from_slice(&self.always);
        for (wi, &word) in allowed.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                let v = wi * 64 + w.trailing_zeros() as usize;
                w &= w - 1;
                let bits = self.per_variant.get(v)?.as_ref()?;
                for (o, b) in out.iter_mut().zip(bits.iter()) {
                    *o |= b;
                }
            }
        }
        debug_assert_eq!(out.len(), self.words);
        Some(())
    }

    fn is_wanted(&self, wanted: &[u64], key: &str) -> bool {
        if key.contains(' ') {
            return true;
        }
        self.index.get(key).is_some_and(|&b| {
            wanted
                .get(b as usize / 64)
                .is_some_and(|w| w & (1 << (b % 64)) != 0)
        })
    }
}

/// Parses a line into its root object, keeping only the wanted keys'
/// values (and every object). `Ok(None)`: the line is JSON but not an
/// object.
pub(crate) fn parse_sparse(
    line: &[u8],
    plan: &SparsePlan,
    wanted: &[u64],
) -> Result<Option<Map<String, Value>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let root = Sparse {
        plan,
        wanted,
        ordered: false,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(root.and_then(|v| match v {
        Value::Object(m) => Some(m),
        _ => None,
    }))
}

/// A value under an unwanted key: objects are kept sparse, anything else
/// validated and dropped (`None`).
#[derive(Clone, Copy)]
struct Sparse<'p> {
    plan: &'p SparsePlan,
    wanted: &'p [u64],
    /// The value is the object under [`ORDERED_PARENT`]: its dropped
    /// values leave a `null` so its keys keep their full-parse positions.
    ordered: bool,
}

impl<'de> DeserializeSeed<'de> for Sparse<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Sparse<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Option<Value>, A::Error> {
        while a.next_element::<Validate>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Option<Value>, A::Error> {
        let mut m = Map::new();
        while let Some(key) = a.next_key_seed(Key)? {
            if self.plan.is_wanted(self.wanted, &key) {
                let v: Value = a.next_value()?;
                m.insert(key.into_owned(), v);
                continue;
            }
            let child = Sparse {
                ordered: key == ORDERED_PARENT,
                ..self
            };
            if let Some(v) = a.next_value_seed(child)? {
                m.insert(key.into_owned(), v);
            } else if self.ordered {
                // In place of the dropped value (no path reads it: it is
                // not an object, and the key is no field's last key), so a
                // later duplicate stays where a full parse puts it.
                m.insert(key.into_owned(), Value::Null);
            } else if m.contains_key(key.as_ref()) {
                // A duplicate key: the last value wins, as in a full
                // parse, even when it is one that is dropped.
                m.shift_remove(key.as_ref());
            }
        }
        Ok(Some(Value::Object(m)))
    }
}

/// An object key, borrowed from the line when it has no escape.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(keys: &[&str]) -> (SparsePlan, Vec<u64>) {
        let index: FxMap<Box<str>, u32> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (Box::from(*k), i as u32))
            .collect();
        let p = SparsePlan {
            index,
            words: 1,
            always: vec![0],
            per_variant: Vec::new(),
        };
        (p, vec![u64::MAX])
    }

    #[test]
    fn keeps_wanted_keys_and_objects() {
        let (p, w) = plan(&["Image", "#text"]);
        let line = br##"{"Event": {"System": {"EventID": {"#text": 1}, "X": [1, {"Image": 2}]}, "EventData": {"Image": "a.exe", "CommandLine": "x", "Some Key": 3}}, "Image": ["b"]}"##;
        let got = parse_sparse(line, &p, &w).expect("valid").expect("object");
        let want = serde_json::json!({"Event": {"System": {"EventID": {"#text": 1}}, "EventData": {"Image": "a.exe", "Some Key": 3}}, "Image": ["b"]});
        assert_eq!(Value::Object(got), want);
    }

    #[test]
    fn user_data_children_keep_their_positions() {
        let (p, w) = plan(&["Param1"]);
        let line = br#"{"UserData": {"A": 0, "B": {"Param1": "b"}, "A": {"Param1": "a"}}, "X": {"A": 0, "B": {}, "A": {}}}"#;
        let got = parse_sparse(line, &p, &w).expect("valid").expect("object");
        let full: Value = serde_json::from_slice(line).expect("valid");
        let keys = |v: &Value, k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let got = Value::Object(got);
        assert_eq!(keys(&got, "UserData"), keys(&full, "UserData"));
        assert_eq!(got["UserData"]["A"], full["UserData"]["A"]);
        // Elsewhere, dropped values leave nothing.
        assert_eq!(keys(&got, "X"), vec!["B".to_string(), "A".to_string()]);
    }

    #[test]
    fn last_duplicate_wins() {
        let (p, w) = plan(&["Image"]);
        let line = br#"{"Event": {"a": 1}, "Image": "x", "Event": "flat", "Image": "y"}"#;
        let got = parse_sparse(line, &p, &w).expect("valid").expect("object");
        assert_eq!(Value::Object(got), serde_json::json!({"Image": "y"}));
    }

    #[test]
    fn accepts_exactly_what_a_full_parse_accepts() {
        let (p, w) = plan(&["a"]);
        let deep = format!("{{\"b\": {}1{}}}", "[".repeat(200), "]".repeat(200));
        for l in [
            &br#"{"a": 1, "b": [true, null, "x\"y"], "c": {"d": 1.5e3}}"#[..],
            br#"{"b": 1e400}"#,
            br#"{"b": "\ud800"}"#,
            br#"{"b": 1} x"#,
            br#"[1]"#,
            br#""s""#,
            br#"{"b": "c""#,
            b"{\"b\": \"\xff\"}",
            br#"{"b\u0041": 1}"#,
            deep.as_bytes(),
        ] {
            let full = serde_json::from_slice::<Value>(l);
            let sparse = parse_sparse(l, &p, &w);
            assert_eq!(
                full.is_ok(),
                sparse.is_ok(),
                "{}",
                String::from_utf8_lossy(l)
            );
            if let (Ok(f), Ok(s)) = (full, sparse) {
                assert_eq!(f.is_object(), s.is_some());
            }
        }
    }
}

//! Evaluation of compiled programs against one event.
//!
//! Semantics (see `docs/hunt.md` and the specification's edge cases):
//! strings compare case-insensitively as whole values unless wildcards say
//! otherwise; numbers equal numbers and numeric strings; a string pattern
//! sees a number through its decimal text, so `'4624'` matches `4624` but
//! `'0x17'` does not match `23`; `null` matches an absent or JSON-null field
//! but not `""`; arrays match when any element does; a missing field makes
//! every test false except `null` and `exists: false`, so `neq` and `not`
//! over a missing field are true.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::{Map, Value};
use sigma_core::TimePart;

use crate::compile::{Cond, Matcher, Node, Program, Scalar, Test};
use crate::layout::{FieldId, Fields, Layout};

/// One event being evaluated: its root object, its layout and a cache of
/// resolved fields, so each field is looked up (and lowercased) once per
/// event however many rules read it.
///
/// The cache is sparse: a small index per interned field (4 bytes) points
/// into a dense list of the fields this event actually touched, so
/// preparing an event costs a short `memset`, not one slot per field of
/// the whole rule set.
pub struct EventCtx<'a> {
    /// The event.
    pub root: &'a Map<String, Value>,
    /// Its layout.
    pub layout: Layout,
    fields: &'a Fields,
    /// Per field: 0 = not resolved yet, otherwise the slot number + 1.
    index: Vec<u32>,
    slots: Vec<Slot<'a>>,
    /// The event data object when some of its keys contain spaces.
    spaced: Option<Option<&'a Map<String, Value>>>,
}

struct Slot<'a> {
    value: Option<&'a Value>,
    /// The lowercased string value, once computed.
    folded: Option<Cow<'a, str>>,
}

impl<'a> EventCtx<'a> {
    /// Prepares an event for evaluation.
    pub fn new(root: &'a Map<String, Value>, fields: &'a Fields) -> EventCtx<'a> {
        EventCtx {
            root,
            layout: Layout::detect(root),
            fields,
            index: vec![0; fields.len()],
            slots: Vec::new(),
            spaced: None,
        }
    }

    fn slot_of(&self, id: FieldId) -> Option<usize> {
        match self.index.get(id.0 as usize) {
            Some(&n) if n > 0 => Some(n as usize - 1),
            _ => None,
        }
    }

    /// The value of a field (cached).
    pub fn get(&mut self, id: FieldId) -> Option<&'a Value> {
        if let Some(s) = self.slot_of(id).and_then(|i| self.slots.get(i)) {
            return s.value;
        }
        let mut v = self.fields.resolve(id, self.layout, self.root);
        if v.is_none() {
            let layout = self.layout;
            let root = self.root;
            let spaced = *self.spaced.get_or_insert_with(|| {
                Fields::data_map(layout, root).filter(|m| m.keys().any(|k| k.contains(' ')))
            });
            if let Some(data) = spaced {
                v = self.fields.resolve_spaceless(id, data);
            }
        }
        let n = self.slots.len() + 1;
        if let (Some(entry), Ok(n)) = (self.index.get_mut(id.0 as usize), u32::try_from(n)) {
            *entry = n;
            self.slots.push(Slot {
                value: v,
                folded: None,
            });
        }
        v
    }

    /// The lowercased form of a field's string value `s` (cached; `s` is
    /// the value [`EventCtx::get`] returned for the field).
    fn folded(&mut self, id: FieldId, s: &'a str) -> Option<&str> {
        let i = self.slot_of(id)?;
        let slot = self.slots.get_mut(i)?;
        Some(slot.folded.get_or_insert_with(|| crate::strmatch::fold(s)))
    }
}

/// Evaluates a program.
pub fn eval_program(p: &Program, ev: &mut EventCtx<'_>) -> bool {
    eval_cond(&p.condition, p, ev)
}

fn eval_cond(c: &Cond, p: &Program, ev: &mut EventCtx<'_>) -> bool {
    match c {
        Cond::Search(i) => p.searches.get(*i).is_some_and(|n| eval_node(n, ev)),
        Cond::Not(x) => !eval_cond(x, p, ev),
        Cond::And(xs) => xs.iter().all(|x| eval_cond(x, p, ev)),
        Cond::Or(xs) => xs.iter().any(|x| eval_cond(x, p, ev)),
    }
}

fn eval_node(n: &Node, ev: &mut EventCtx<'_>) -> bool {
    match n {
        Node::And(xs) => xs.iter().all(|x| eval_node(x, ev)),
        Node::Or(xs) => xs.iter().any(|x| eval_node(x, ev)),
        Node::Field {
            field,
            negated,
            test,
        } => {
            let v = ev.get(*field);
            let r = match test {
                Test::Any(m) => field_match(m, *field, v, ev),
                Test::All(ms) => ms.iter().all(|m| field_match(m, *field, v, ev)),
            };
            r != *negated
        }
        Node::Keyword { negated, test } => {
            let root = ev.root;
            let r = match test {
                Test::Any(m) => keyword_match(m, root),
                Test::All(ms) => ms.iter().all(|m| keyword_match(m, root)),
            };
            r != *negated
        }
    }
}

fn field_match<'a>(
    m: &Matcher,
    field: FieldId,
    v: Option<&'a Value>,
    ev: &mut EventCtx<'a>,
) -> bool {
    for s in &m.scalars {
        if scalar_match(s, v, ev) {
            return true;
        }
    }
    match (&m.strs, v) {
        (Some(set), Some(Value::String(s))) => {
            if set.needs_fold() {
                match ev.folded(field, s) {
                    Some(f) => set.is_match(s, f),
                    None => set.is_match_raw(s),
                }
            } else {
                set.is_match(s, s)
            }
        }
        (Some(set), Some(v)) => str_match(set, v),
        _ => false,
    }
}

fn str_match(set: &crate::strmatch::StrSet, v: &Value) -> bool {
    match v {
        Value::String(s) => set.is_match_raw(s),
        Value::Number(n) => set.is_match_raw(&n.to_string()),
        Value::Bool(b) => set.is_match_raw(if *b { "true" } else { "false" }),
        Value::Array(a) => a.iter().any(|x| str_match(set, x)),
        _ => false,
    }
}

/// Keywords: any string (or number) anywhere in the event.
fn keyword_match(m: &Matcher, root: &Map<String, Value>) -> bool {
    root.values().any(|v| keyword_value(m, v))
}

fn keyword_value(m: &Matcher, v: &Value) -> bool {
    match v {
        Value::Object(o) => o.values().any(|x| keyword_value(m, x)),
        Value::Array(a) => a.iter().any(|x| keyword_value(m, x)),
        Value::Null => false,
        _ => {
            if m.strs.as_ref().is_some_and(|s| str_match(s, v)) {
                return true;
            }
            m.scalars.iter().any(|s| match s {
                Scalar::Number(n) => number_eq(*n, v),
                Scalar::Bool(b) => bool_eq(*b, v),
                _ => false,
            })
        }
    }
}

/// Parses a JSON string as a decimal number (no hex, no `inf`/`nan`).
fn numeric_str(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => numeric_str(s),
        _ => None,
    }
}

fn number_eq(n: f64, v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|x| number_eq(n, x)),
        _ => as_number(v) == Some(n),
    }
}

fn bool_eq(b: bool, v: &Value) -> bool {
    match v {
        Value::Bool(x) => *x == b,
        Value::String(s) => s.eq_ignore_ascii_case(if b { "true" } else { "false" }),
        Value::Array(a) => a.iter().any(|x| bool_eq(b, x)),
        _ => false,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn any_elem(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
    match v {
        Value::Array(a) => a.iter().any(f),
        _ => f(v),
    }
}

fn scalar_match(s: &Scalar, v: Option<&Value>, ev: &mut EventCtx<'_>) -> bool {
    match s {
        Scalar::Null => matches!(v, None | Some(Value::Null)),
        Scalar::Exists(want) => v.is_some() == *want,
        Scalar::Number(n) => v.is_some_and(|v| number_eq(*n, v)),
        Scalar::Bool(b) => v.is_some_and(|v| bool_eq(*b, v)),
        Scalar::Cidr(net) => v.is_some_and(|v| {
            any_elem(v, &|x| {
                x.as_str()
                    .and_then(|s| s.trim().parse::<IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip))
            })
        }),
        Scalar::Compare(op, rhs, part) => v.is_some_and(|v| {
            any_elem(v, &|x| {
                let lhs = match part {
                    None => as_number(x),
                    Some(p) => x.as_str().and_then(|s| time_part(s, *p)),
                };
                lhs.is_some_and(|l| op.holds(l, *rhs))
            })
        }),
        Scalar::TimePart(p, want) => v.is_some_and(|v| {
            any_elem(v, &|x| {
                x.as_str().and_then(|s| time_part(s, *p)) == Some(*want)
            })
        }),
        Scalar::FieldRef {
            field,
            starts_with,
            ends_with,
        } => {
            let Some(other) = ev.get(*field).and_then(scalar_text) else {
                return false;
            };
            let Some(mine) = v.and_then(scalar_text) else {
                return false;
            };
            let (a, b) = (mine.to_lowercase(), other.to_lowercase());
            match (starts_with, ends_with) {
                (true, true) => a.contains(&b),
                (true, false) => a.starts_with(&b),
                (false, true) => a.ends_with(&b),
                (false, false) => a == b,
            }
        }
    }
}

/// Extracts a part of an ISO-8601-like timestamp (`2024-05-01T13:45:00Z`,
/// `2024-05-01 13:45:00.123`).
pub fn time_part(s: &str, part: TimePart) -> Option<f64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let t = s.get(from..from + len)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let v = match part {
        TimePart::Year => year,
        TimePart::Month => month,
        TimePart::Day => day,
        TimePart::Hour => num(11, 2)?,
        TimePart::Minute => num(14, 2)?,
        TimePart::Week => iso_week(year as i64, month, day)?,
    };
    Some(f64::from(v))
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn iso_week(y: i64, m: u32, d: u32) -> Option<u32> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let weekday = (days + 3).rem_euclid(7) + 1;
    let thursday = days - weekday + 4;
    let year_of_thursday = {
        // Year containing that Thursday.
        let mut yy = y;
        if thursday < days_from_civil(y, 1, 1) {
            yy -= 1;
        } else if thursday >= days_from_civil(y + 1, 1, 1) {
            yy += 1;
        }
        yy
    };
    let week = (thursday - days_from_civil(year_of_thursday, 1, 1)) / 7 + 1;
    u32::try_from(week).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_parts() {
        let t = "2024-05-01T13:45:00.123Z";
        assert_eq!(time_part(t, TimePart::Hour), Some(13.0));
        assert_eq!(time_part(t, TimePart::Minute), Some(45.0));
        assert_eq!(time_part(t, TimePart::Month), Some(5.0));
        assert_eq!(time_part("2021-01-03 00:00:00", TimePart::Week), Some(53.0));
        assert_eq!(time_part("2024-12-30 00:00:00", TimePart::Week), Some(1.0));
        assert_eq!(time_part("garbage", TimePart::Hour), None);
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(numeric_str("4624"), Some(4624.0));
        assert_eq!(numeric_str("0x17"), None);
        assert_eq!(numeric_str("inf"), None);
    }
}

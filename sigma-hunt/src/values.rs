//! The text the prefilter searches: a line's values, and what its routing
//! keys hold.
//!
//! [`values_text`] copies a raw JSON line ASCII-lowercased with every
//! object key replaced by a NUL byte, in one pass with `memchr`. On the way
//! it watches the keys the evaluator reads the channel and the EventID
//! from ([`KeyProbe`]), so the prefilter can pick the small automaton of
//! the line's (channel, EventID) group (see [`crate::engine::groups`])
//! without parsing the line.

/// Which routing key a JSON key can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// Neither.
    Other,
    /// A key the channel is read from.
    Channel,
    /// A key the EventID is read from.
    EventId,
}

/// What [`values_text`] saw of one routing key.
#[derive(Debug, Default)]
pub(crate) struct KeyProbe {
    /// Occurrences of the key.
    count: u32,
    /// The next string is the key's value.
    pending: bool,
    /// A value is not a plain string (or, for the EventID, an integer).
    not_plain: bool,
    /// Byte range of the string value in the copied text.
    value: (usize, usize),
    /// The integer value, when the value is a JSON integer.
    number: Option<i64>,
}

impl KeyProbe {
    fn plain(&self) -> bool {
        self.count == 1 && !self.not_plain && !self.pending
    }

    /// The string value, lowercased, when the key occurs exactly once and
    /// holds a string without escapes.
    pub(crate) fn text<'a>(&self, text: &'a [u8]) -> Option<&'a [u8]> {
        if !self.plain() || self.number.is_some() {
            return None;
        }
        text.get(self.value.0..self.value.1)
    }

    /// The EventID the evaluator reads, when the key occurs exactly once
    /// and holds an integer or a string that parses as one (the same rule
    /// as `Engine::evaluate`: JSON integers, trimmed numeric strings).
    pub(crate) fn id(&self, text: &[u8]) -> Option<i64> {
        if !self.plain() {
            return None;
        }
        if let Some(n) = self.number {
            return Some(n);
        }
        let s = std::str::from_utf8(text.get(self.value.0..self.value.1)?).ok()?;
        s.trim().parse::<i64>().ok()
    }

    /// Notes a key and what follows its colon (`after`: the raw text after
    /// the colon).
    fn key(&mut self, kind: KeyKind, after: &[u8]) {
        self.count += 1;
        let start = after
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(after.len());
        let rest = after.get(start..).unwrap_or_default();
        match rest.first() {
            Some(b'"') => self.pending = true,
            Some(b'-' | b'0'..=b'9') if kind == KeyKind::EventId => {
                let end = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .unwrap_or(rest.len());
                // Only a plain integer token is an i64 for serde_json
                // (`4688.0` is a float, which `as_i64` refuses).
                let token = rest.get(..end).unwrap_or_default();
                match std::str::from_utf8(token).ok().and_then(|t| t.parse().ok()) {
                    Some(n) => self.number = Some(n),
                    None => self.not_plain = true,
                }
            }
            _ => self.not_plain = true,
        }
    }
}

/// The probes of one line.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    /// The channel keys.
    pub(crate) channel: KeyProbe,
    /// The EventID keys.
    pub(crate) event_id: KeyProbe,
}

fn push_lower(out: &mut Vec<u8>, bytes: &[u8]) {
    // Copy, then lowercase in place: both vectorize.
    let start = out.len();
    out.extend_from_slice(bytes);
    if let Some(tail) = out.get_mut(start..) {
        tail.make_ascii_lowercase();
    }
}

/// Copies what the needles are searched in: the line ASCII-lowercased,
/// with every object key replaced by a NUL byte (keys are never compared
/// with rule values, and field names such as `SubjectUserName` or
/// `ProcessId` would otherwise match needles like `user` or `process` on
/// every line). String contents keep their raw escaped form. Returns true
/// when a string holds a `\uXXXX` or `\/` escape: the needles cannot see
/// through those, so the line must be evaluated exactly.
///
/// Every key without escapes is passed (raw) to `kind_of`; the routing
/// keys it recognises are recorded in `probes` with their values.
pub(crate) fn values_text(
    line: &[u8],
    out: &mut Vec<u8>,
    kind_of: &dyn Fn(&[u8]) -> KeyKind,
    probes: &mut Probes,
) -> bool {
    out.clear();
    let mut exact = false;
    let mut rest = line;
    // The probe waiting for its string value.
    let mut waiting: Option<KeyKind> = None;
    loop {
        // Outside strings: up to the next quote.
        let Some(q) = memchr::memchr(b'"', rest) else {
            push_lower(out, rest);
            break;
        };
        push_lower(out, rest.get(..q).unwrap_or_default());
        rest = rest.get(q + 1..).unwrap_or_default();
        // Inside a string: find its closing quote first, so that keys are
        // never copied.
        let mut escaped = false;
        let mut end = None;
        let mut at = 0;
        while let Some(k) = rest.get(at..).and_then(|r| memchr::memchr2(b'"', b'\\', r)) {
            let i = at + k;
            if rest.get(i) == Some(&b'"') {
                end = Some(i);
                break;
            }
            escaped = true;
            exact |= matches!(rest.get(i + 1), Some(b'u' | b'/'));
            at = i + 2;
        }
        let Some(end) = end else {
            // Unterminated: malformed, validated later.
            out.push(b'"');
            push_lower(out, rest);
            break;
        };
        let body = rest.get(..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
        // A key is followed by a colon.
        let colon = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .filter(|&i| rest.get(i) == Some(&b':'));
        if let Some(i) = colon {
            let kind = if escaped {
                KeyKind::Other
            } else {
                kind_of(body)
            };
            let probe = match kind {
                KeyKind::Other => None,
                KeyKind::Channel => Some(&mut probes.channel),
                KeyKind::EventId => Some(&mut probes.event_id),
            };
            if let Some(p) = probe {
                p.key(kind, rest.get(i + 1..).unwrap_or_default());
                if p.pending {
                    waiting = Some(kind);
                }
            }
            out.push(0);
        } else {
            out.push(b'"');
            let start = out.len();
            push_lower(out, body);
            let value = (start, out.len());
            out.push(b'"');
            if let Some(kind) = waiting.take() {
                let p = match kind {
                    KeyKind::EventId => &mut probes.event_id,
                    _ => &mut probes.channel,
                };
                p.pending = false;
                p.not_plain |= escaped;
                p.value = value;
            }
        }
    }
    exact
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(k: &[u8]) -> KeyKind {
        match k.to_ascii_lowercase().as_slice() {
            b"channel" => KeyKind::Channel,
            b"eventid" | b"event_id" => KeyKind::EventId,
            _ => KeyKind::Other,
        }
    }

    fn probe(line: &[u8]) -> (Option<Vec<u8>>, Option<i64>) {
        let mut out = Vec::new();
        let mut p = Probes::default();
        values_text(line, &mut out, &kinds, &mut p);
        (
            p.channel.text(&out).map(<[u8]>::to_vec),
            p.event_id.id(&out),
        )
    }

    #[test]
    fn values_without_keys() {
        let mut out = Vec::new();
        let no = |_: &[u8]| KeyKind::Other;
        let mut p = Probes::default();
        let line = br#"{"User": "A\\Users\"x", "n": [1, "K"], "o": {"Key" : true}}"#;
        assert!(!values_text(line, &mut out, &no, &mut p));
        assert_eq!(
            out,
            b"{\0: \"a\\\\users\\\"x\", \0: [1, \"k\"], \0: {\0 : true}}".to_vec()
        );
        assert!(values_text(br#"{"a": "\u0041"}"#, &mut out, &no, &mut p));
        assert!(values_text(br#"{"a": "x\/y"}"#, &mut out, &no, &mut p));
        assert!(!values_text(
            br#"{"a": "C:\\users"}"#,
            &mut out,
            &no,
            &mut p
        ));
        assert!(!values_text(
            br#"{"a": "unterminated"#,
            &mut out,
            &no,
            &mut p
        ));
    }

    #[test]
    fn routing_keys() {
        let (ch, id) = probe(br#"{"Channel": "Security", "EventID": 4688}"#);
        assert_eq!(ch.as_deref(), Some(&b"security"[..]));
        assert_eq!(id, Some(4688));
        assert_eq!(probe(br#"{"EventID": " 42 "}"#).1, Some(42));
        assert_eq!(probe(br#"{"EventID": 4688.0}"#).1, None);
        assert_eq!(probe(br##"{"EventID": {"#text": 1}}"##).1, None);
        assert_eq!(probe(br#"{"EventID": 1, "a": {"EventID": 1}}"#).1, None);
        assert_eq!(probe(br#"{"Channel": "A\\B"}"#).0, None);
        assert_eq!(probe(br#"{"Channel": 5}"#).0, None);
        assert_eq!(probe(br#"{"Channel": "x", "channel": "x"}"#).0, None);
        assert_eq!(probe(br#"{"Channel": "unterminated"#).0, None);
    }
}

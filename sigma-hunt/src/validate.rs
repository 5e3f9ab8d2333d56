//! A fast, exact check that a line is one well-formed JSON object.
//!
//! About half the lines of a hunt have no candidate rule and are never
//! parsed, yet the scan must still count and report exactly the lines that
//! `serde_json::from_slice::<Value>` rejects. Running serde_json's
//! deserializer with a do-nothing visitor costs nearly as much as parsing;
//! [`check`] is one pass over the bytes with no allocation, several times
//! cheaper: strings, most of a line, are scanned eight bytes at a time
//! (SWAR) and long ones sixteen at a time with compares the compiler
//! vectorizes.
//!
//! Exactness: [`check`] answers [`Verdict::Valid`] or [`Verdict::Invalid`]
//! only where serde_json's rules (checked against serde_json itself in the
//! tests below and in `tests/validate.rs`) leave no doubt, and
//! [`Verdict::Unsure`] otherwise; the caller then asks serde_json. Unsure
//! covers numbers with an exponent or more than [`MAX_NUMBER`] bytes (which
//! may overflow `f64`, an error), `\u` escapes in the surrogate range
//! D800-DFFF (serde_json's pairing rules) and nesting deeper than
//! [`MAX_DEPTH`] (its recursion limit of 128). Everything else is decided:
//!
//! * the whole line must be UTF-8, checked with `std::str::from_utf8` when
//!   a string holds a non-ASCII byte (serde_json checks every string it
//!   reads, and a non-ASCII byte outside a string is a syntax error;
//!   escapes split a string only at ASCII bytes and never decode to a
//!   continuation byte, so a line-wide check is equivalent);
//! * whitespace is space, `\t`, `\n`, `\r` only, before, between and after
//!   tokens; anything after the top-level value is an error;
//! * strings: raw bytes below 0x20 are errors; escapes are `\" \\ \/ \b \f
//!   \n \r \t` and `\u` with four hex digits of either case;
//! * numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; literals `true false null`;
//! * object keys are strings, no trailing commas; the top-level value must
//!   be an object (`Value::Object`).

/// Nesting deeper than this is left to serde_json (limit 128).
pub(crate) const MAX_DEPTH: u32 = 100;
/// Longer numbers are left to serde_json (309 integer digits overflow).
pub(crate) const MAX_NUMBER: usize = 100;

/// The answer of [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `serde_json::from_slice::<Value>` returns `Ok(Value::Object(_))`.
    Valid,
    /// It returns an error or another kind of value.
    Invalid,
    /// Not decided here: ask serde_json.
    Unsure,
}

use Verdict::{Invalid, Unsure, Valid};

/// Whether `line` parses into a `Value::Object` (see the module doc).
pub(crate) fn check(line: &[u8]) -> Verdict {
    let mut p = Parser {
        b: line,
        i: 0,
        ascii: true,
        unsure: false,
    };
    let ok = p.document();
    if p.unsure {
        Unsure
    } else if !ok || (!p.ascii && std::str::from_utf8(line).is_err()) {
        Invalid
    } else {
        Valid
    }
}

/// The scanner's state. Its methods return `false` at the first byte
/// that makes the line invalid or undecided (then `unsure` is set).
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// No non-ASCII byte seen in a string so far.
    ascii: bool,
    unsure: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips whitespace; the next byte, if any.
    #[inline(always)]
    fn ws(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    fn unsure(&mut self) -> bool {
        self.unsure = true;
        false
    }

    /// The whole input: one object, then only whitespace.
    fn document(&mut self) -> bool {
        if self.ws() != Some(b'{') {
            return false;
        }
        // Open containers, innermost in bit 0 (1 = object).
        let mut stack: u128 = 0;
        let mut depth: u32 = 0;
        'value: loop {
            // A value starts at the next non-whitespace byte.
            let ok = match self.ws() {
                Some(b'{') => {
                    self.i += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return self.unsure();
                    }
                    stack = (stack << 1) | 1;
                    if self.ws() != Some(b'}') {
                        if !self.key() {
                            return false;
                        }
                        continue 'value;
                    }
                    self.i += 1;
                    depth -= 1;
                    stack >>= 1;
                    true
                }
                Some(b'[') => {
                    self.i += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return self.unsure();
                    }
                    stack <<= 1;
                    if self.ws() != Some(b']') {
                        continue 'value;
                    }
                    self.i += 1;
                    depth -= 1;
                    stack >>= 1;
                    true
                }
                Some(b'"') => self.string(),
                Some(b't') => self.literal(b"true"),
                Some(b'f') => self.literal(b"false"),
                Some(b'n') => self.literal(b"null"),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => false,
            };
            if !ok {
                return false;
            }
            // After a value: a separator or the end of its container.
            loop {
                if depth == 0 {
                    return self.ws().is_none();
                }
                let object = stack & 1 == 1;
                match (self.ws(), object) {
                    (Some(b','), true) => {
                        self.i += 1;
                        self.ws();
                        if !self.key() {
                            return false;
                        }
                        continue 'value;
                    }
                    (Some(b','), false) => {
                        self.i += 1;
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.i += 1;
                        depth -= 1;
                        stack >>= 1;
                    }
                    _ => return false,
                }
            }
        }
    }

    /// A key and its colon, at the key's opening quote.
    #[inline(always)]
    fn key(&mut self) -> bool {
        if self.peek() != Some(b'"') || !self.string() || self.ws() != Some(b':') {
            return false;
        }
        self.i += 1;
        true
    }

    /// A string, at its opening quote.
    #[inline(always)]
    fn string(&mut self) -> bool {
        let mut i = self.i + 1;
        loop {
            i += stop(self.b.get(i..).unwrap_or_default());
            match self.b.get(i) {
                Some(b'"') => {
                    self.i = i + 1;
                    return true;
                }
                Some(b'\\') => match self.b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        let mut n: u32 = 0;
                        for k in i + 2..i + 6 {
                            let d = match self.b.get(k) {
                                Some(&c @ b'0'..=b'9') => c - b'0',
                                Some(&c @ b'a'..=b'f') => c - b'a' + 10,
                                Some(&c @ b'A'..=b'F') => c - b'A' + 10,
                                _ => return false,
                            };
                            n = n << 4 | u32::from(d);
                        }
                        if (0xD800..=0xDFFF).contains(&n) {
                            return self.unsure();
                        }
                        i += 6;
                    }
                    _ => return false,
                },
                Some(&c) if c >= 0x80 => {
                    self.ascii = false;
                    i += 1;
                }
                // A control byte, or no closing quote.
                _ => return false,
            }
        }
    }

    /// `true`, `false` or `null`, at its first byte.
    fn literal(&mut self, word: &[u8]) -> bool {
        let ok = self.b.get(self.i..self.i + word.len()) == Some(word);
        self.i += word.len();
        ok
    }

    /// A number, at its first byte (`-` or a digit).
    fn number(&mut self) -> bool {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return false;
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return false,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return false;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.i - start > MAX_NUMBER {
            return self.unsure();
        }
        true
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

/// A byte that ends the plain run of a string: `"`, `\`, a control byte
/// (below 0x20) or a non-ASCII one.
fn special(c: u8) -> bool {
    (c == b'"') | (c == b'\\') | (c.wrapping_sub(0x20) >= 0x60)
}

/// The high bit of each byte of the word at `s[at..]` that is [`special`],
/// and possibly of bytes after the first such one; `None` past the end.
///
/// A byte is zero after XOR with `"` or `\`, below 0x20 (a borrow only
/// moves up from a flagged byte, so the lowest flag is exact) or has its
/// high bit set.
#[inline(always)]
fn word(s: &[u8], at: usize) -> Option<u64> {
    const L: u64 = 0x0101_0101_0101_0101;
    let x = u64::from_le_bytes(*s.get(at..)?.first_chunk::<8>()?);
    let q = x ^ (L * u64::from(b'"'));
    let b = x ^ (L * u64::from(b'\\'));
    let m = (q.wrapping_sub(L) & !q) | (b.wrapping_sub(L) & !b) | (x.wrapping_sub(L * 0x20) & !x);
    Some((m | x) & (L * 0x80))
}

/// The index of the first [`special`] byte of `s`, or its length.
#[inline(always)]
fn stop(s: &[u8]) -> usize {
    let mut at = 0;
    let mut words = 0;
    loop {
        match word(s, at) {
            Some(0) => at += 8,
            Some(m) => return at + m.trailing_zeros() as usize / 8,
            None => break,
        }
        words += 1;
        if words == 2 {
            // A long string: sixteen bytes at a time (vectorized), then
            // the word loop finds the byte in the block that has one.
            while let Some(block) = s.get(at..).and_then(<[u8]>::first_chunk::<16>) {
                if block.iter().fold(false, |a, &c| a | special(c)) {
                    break;
                }
                at += 16;
            }
        }
    }
    let tail = s.get(at..).unwrap_or_default();
    at + tail.iter().position(|&c| special(c)).unwrap_or(tail.len())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

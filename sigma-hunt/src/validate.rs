//! A fast, exact check that a line is one well-formed JSON object.
//!
//! About half the lines of a hunt have no candidate rule and are never
//! parsed, yet the scan must still count and report exactly the lines that
//! `serde_json::from_slice::<Value>` rejects. Running serde_json's
//! deserializer with a do-nothing visitor costs nearly as much as parsing;
//! [`check`] is one pass over the bytes with no allocation, several times
//! cheaper.
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
//! * the whole line must be UTF-8 (serde_json checks every string it reads,
//!   and a non-ASCII byte outside a string is a syntax error; escapes split
//!   a string only at ASCII bytes and never decode to a continuation byte,
//!   so a line-wide check is equivalent);
//! * whitespace is space, `\t`, `\n`, `\r` only, before, between and after
//!   tokens; anything after the top-level value is an error;
//! * strings: raw bytes below 0x20 are errors; escapes are `\" \\ \/ \b \f
//!   \n \r \t` and `\u` with four hex digits of either case;
//! * numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; literals `true false null`;
//! * object keys are strings, no trailing commas; the top-level value must
//!   be an object (`Value::Object`).

use memchr::memchr2;

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
    if std::str::from_utf8(line).is_err() {
        return Invalid;
    }
    // Control bytes are rare; without any, strings need no check for them.
    let controls = line
        .chunks(64)
        .any(|c| c.iter().fold(false, |a, &b| a | (b < 0x20)));
    let mut p = Parser {
        b: line,
        i: 0,
        controls,
    };
    match p.document() {
        Ok(()) => Valid,
        Err(v) => v,
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    controls: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips whitespace; the next byte, if any.
    fn ws(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// The whole input: one object, then only whitespace. `Err` carries
    /// [`Invalid`] or [`Unsure`].
    fn document(&mut self) -> Result<(), Verdict> {
        if self.ws() != Some(b'{') {
            return Err(Invalid);
        }
        // Open containers, innermost in bit 0 (1 = object).
        let mut stack: u128 = 0;
        let mut depth: u32 = 0;
        'value: loop {
            // A value starts at the next non-whitespace byte.
            match self.ws() {
                Some(b'{') => {
                    self.i += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Unsure);
                    }
                    stack = (stack << 1) | 1;
                    match self.ws() {
                        Some(b'}') => {
                            self.i += 1;
                            depth -= 1;
                            stack >>= 1;
                        }
                        _ => {
                            self.key()?;
                            continue 'value;
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Unsure);
                    }
                    stack <<= 1;
                    if self.ws() == Some(b']') {
                        self.i += 1;
                        depth -= 1;
                        stack >>= 1;
                    } else {
                        continue 'value;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(Invalid),
            }
            // After a value: a separator or the end of its container.
            loop {
                if depth == 0 {
                    return match self.ws() {
                        None => Ok(()),
                        Some(_) => Err(Invalid),
                    };
                }
                let object = stack & 1 == 1;
                match (self.ws(), object) {
                    (Some(b','), true) => {
                        self.i += 1;
                        self.ws();
                        self.key()?;
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
                    _ => return Err(Invalid),
                }
            }
        }
    }

    /// A key and its colon, at the key's opening quote.
    fn key(&mut self) -> Result<(), Verdict> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        self.string()?;
        if self.ws() != Some(b':') {
            return Err(Invalid);
        }
        self.i += 1;
        Ok(())
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> Result<(), Verdict> {
        self.i += 1;
        loop {
            let rest = self.b.get(self.i..).unwrap_or_default();
            let Some(n) = memchr2(b'"', b'\\', rest) else {
                return Err(Invalid);
            };
            if self.controls && rest.iter().take(n).any(|&c| c < 0x20) {
                return Err(Invalid);
            }
            self.i += n + 1;
            if rest.get(n) == Some(&b'"') {
                return Ok(());
            }
            // An escape: `self.i` is just past the backslash.
            match self.peek() {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                Some(b'u') => {
                    let mut n: u32 = 0;
                    for k in 1..5 {
                        let d = match self.b.get(self.i + k) {
                            Some(&c @ b'0'..=b'9') => c - b'0',
                            Some(&c @ b'a'..=b'f') => c - b'a' + 10,
                            Some(&c @ b'A'..=b'F') => c - b'A' + 10,
                            _ => return Err(Invalid),
                        };
                        n = n << 4 | u32::from(d);
                    }
                    if (0xD800..=0xDFFF).contains(&n) {
                        return Err(Unsure);
                    }
                    self.i += 5;
                }
                _ => return Err(Invalid),
            }
        }
    }

    /// `true`, `false` or `null`, at its first byte.
    fn literal(&mut self, word: &[u8]) -> Result<(), Verdict> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A number, at its first byte (`-` or a digit).
    fn number(&mut self) -> Result<(), Verdict> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(Invalid);
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Invalid),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Invalid);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.i - start > MAX_NUMBER {
            return Err(Unsure);
        }
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

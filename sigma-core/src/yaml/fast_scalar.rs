//! Scalars for the fast YAML reader (see `fast`): which characters it
//! accepts at all, single-line quoted scalars, and how plain scalars are
//! typed.

use std::borrow::Cow;

use super::YamlValue;

/// Only characters the reader treats like the reference parser: no tabs or
/// carriage returns (indentation and line-break rules differ), no control
/// characters, and none of the Unicode characters YAML treats specially
/// (NEL, BOM, line/paragraph separators, non-characters).
pub(super) fn plain_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    // A fold without early exit per chunk lets the compiler vectorize this.
    let control = |acc: bool, &b: &u8| acc | ((b < 0x20) & (b != b'\n')) | (b == 0x7f);
    if bytes.chunks(64).any(|c| c.iter().fold(false, control)) {
        return false;
    }
    if bytes.is_ascii() {
        return true;
    }
    !text.chars().any(|c| {
        matches!(
            c,
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    })
}

/// A single-line quoted scalar at `pos`: its value and the offset just
/// past the closing quote. Escapes outside the common set fall back.
pub(super) fn quoted(text: &str, pos: usize, end: usize) -> Option<(Cow<'_, str>, usize)> {
    let quote = *text.as_bytes().get(pos)?;
    let body = text.get(pos + 1..end)?;
    // Most quoted scalars have no escape: borrow them in one piece.
    let bytes = body.as_bytes();
    let stop = if quote == b'"' {
        bytes.iter().position(|&b| b == b'"' || b == b'\\')
    } else {
        bytes.iter().position(|&b| b == b'\'')
    };
    if let Some(i) = stop {
        let closes =
            bytes.get(i) == Some(&quote) && !(quote == b'\'' && bytes.get(i + 1) == Some(&b'\''));
        if closes {
            return Some((Cow::Borrowed(body.get(..i)?), pos + 1 + i + 1));
        }
    }
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if quote == b'\'' => {
                if body.as_bytes().get(i + 1) == Some(&b'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    return Some((Cow::Owned(out), pos + 1 + i + 1));
                }
            }
            '"' if quote == b'"' => return Some((Cow::Owned(out), pos + 1 + i + 1)),
            '\\' if quote == b'"' => {
                let (_, e) = chars.next()?;
                let hex = |n: usize, chars: &mut std::str::CharIndices| {
                    let mut v = 0u32;
                    for _ in 0..n {
                        v = v * 16 + chars.next()?.1.to_digit(16)?;
                    }
                    char::from_u32(v)
                };
                out.push(match e {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    ' ' => ' ',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'e' => '\u{1b}',
                    'f' => '\u{c}',
                    'v' => '\u{b}',
                    'x' => hex(2, &mut chars)?,
                    'u' => hex(4, &mut chars)?,
                    'U' => hex(8, &mut chars)?,
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    // The closing quote is on a later line: a multi-line scalar.
    None
}

/// Characters that cannot start a plain scalar in block context (or that
/// start constructs this reader leaves to the full parser).
pub(super) fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

/// Types a plain scalar the way the reference path does: as `serde-saphyr`
/// types it, then with the YAML 1.1 fix-ups of the parent module. `None`
/// when the scalar must be left to the full parser.
pub(super) fn plain_value(text: &str) -> Option<YamlValue<'_>> {
    let value = typed_value(text)?;
    // The parent module's YAML 1.1 fix-ups, applied here once per scalar
    // rather than in a second walk over the tree.
    if super::yaml11_string(&value, text) {
        return Some(YamlValue::String(Cow::Borrowed(text)));
    }
    Some(value)
}

/// [`plain_value`] before the YAML 1.1 fix-ups. Keys are typed this way:
/// a key that is not a string before the fix-ups (`012`, `yes`) falls back,
/// because the reference path finds duplicates among the typed keys.
pub(super) fn typed_value(text: &str) -> Option<YamlValue<'_>> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    match text {
        "~" | "null" | "Null" | "NULL" => return Some(YamlValue::Null),
        _ => {}
    }
    if bytes.len() <= 5 {
        let b = ["true", "yes", "y", "on"]
            .iter()
            .any(|w| text.eq_ignore_ascii_case(w));
        if b || ["false", "no", "n", "off"]
            .iter()
            .any(|w| text.eq_ignore_ascii_case(w))
        {
            return Some(YamlValue::Bool(b));
        }
    }
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        // Numbers start with a digit, a sign or a dot; every other text
        // (including `inf` or `nan`, which the reference keeps) is a string.
        return Some(YamlValue::String(Cow::Borrowed(text)));
    }
    if bytes.iter().all(u8::is_ascii_digit) && bytes.len() <= 18 {
        return text.parse::<i64>().ok().map(YamlValue::Int);
    }
    let number_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-');
    let dots = bytes.iter().filter(|&&b| b == b'.').count();
    // Past the first character, a `-` only appears in an exponent (`1e-5`).
    let inner_minus = bytes
        .windows(2)
        .any(|w| w.get(1) == Some(&b'-') && !matches!(w.first(), Some(b'e' | b'E')));
    if !bytes.iter().all(number_char) || dots > 1 || inner_minus {
        // No integer or float spelling has these characters, two dots, or a
        // `-` elsewhere than first or after an exponent mark (dates, UUIDs).
        return Some(YamlValue::String(Cow::Borrowed(text)));
    }
    oracle(text)
}

/// Types a number-like plain scalar by asking `serde-saphyr` itself, so its
/// rules (radix prefixes, underscores, floats, overflow, `.inf`) are never
/// re-implemented. Errors and anything that is not that very scalar fall
/// back to the full parser.
fn oracle(text: &str) -> Option<YamlValue<'_>> {
    let value: YamlValue<'static> = serde_saphyr::from_str(text).ok()?;
    match &value {
        YamlValue::String(s) if s != text => None,
        YamlValue::Seq(_) | YamlValue::Map(_) => None,
        _ => Some(value),
    }
}

//! A fast reader for the subset of YAML that Sigma rules use.
//!
//! # Why
//!
//! Loading the SigmaHQ corpus spent about two thirds of its time inside the
//! general YAML machinery (`serde-saphyr` scanning, events, the serde
//! visitor and many small allocations). Sigma rules use a tiny, regular part
//! of YAML, and this module reads that part directly into [`YamlNode`]s in
//! one pass over the text.
//!
//! # Design
//!
//! The reader is line based: every line is classified once (blank, comment,
//! content with its indentation), and a small recursive descent builds block
//! mappings and sequences from the indentation. It understands:
//!
//! * block mappings and block sequences (including "indentless" sequences
//!   under a key and mappings inside `- ` items),
//! * single-line plain, single-quoted and double-quoted scalars,
//! * `|`, `|-`, `>` and `>-` block scalars,
//! * single-line flow sequences of scalars (`[a, 'b']`),
//! * comments, blank lines and `---` document separators.
//!
//! Every node gets exactly the value, [`Location`] and span that the
//! `serde-saphyr` path gives it (those conventions are not obvious, e.g. a
//! block sequence starts at its first `-` but an indentless one at its first
//! item, and an empty value sits on the `:`; they were read off the
//! reference path and are checked over the whole corpus by
//! `tests/fast_yaml.rs`).
//!
//! Plain scalars are typed like `serde-saphyr` types them, then given the
//! YAML 1.1 fix-ups of the parent module (the same function the reference
//! path applies in a walk over its tree; keys are checked before it). Text
//! that is obviously a string, a null, a boolean word or a short decimal
//! integer is typed here; anything else that
//! could be a number (`1.5`, `0x1F`, `+1`, `.inf`, …) is handed to
//! `serde-saphyr` as a one-scalar document, so the typing rules are never
//! re-implemented.
//!
//! Scalar details (accepted characters, quoted scalars, plain scalar
//! typing) live in the sibling module `fast_scalar`.
//!
//! # The fallback rule
//!
//! [`parse`] returns `None` as soon as it meets anything it does not handle
//! with certainty: tabs, carriage returns, control or special Unicode
//! characters, anchors, aliases, tags, directives, flow mappings, multi-line
//! plain or quoted scalars, explicit keys, unusual indentation, empty
//! sequence items, block scalar indicators other than the four above,
//! non-string or duplicate keys, deep nesting, very large documents, and
//! anything malformed. The caller then parses the whole text again with
//! `serde-saphyr`, so every error message and location still comes from
//! that parser. A `Some` result is meant only for text that the reference
//! path reads without error into the same tree; `tests/fast_yaml.rs` checks
//! that on the corpus, on edge cases and on randomly mutated files.

use std::borrow::Cow;
use std::collections::HashSet;

use super::fast_scalar::{is_indicator, plain_characters, plain_value, quoted, typed_value};
use super::{Location, YamlNode, YamlValue};

/// Nesting deeper than this falls back (the reference budget stops at 64).
const MAX_DEPTH: usize = 48;
/// More nodes than this fall back (the reference budget stops at 250,000).
const MAX_NODES: usize = 200_000;
/// More documents than this fall back (the reference budget stops at 1024).
const MAX_DOCUMENTS: usize = 500;
/// Implicit keys longer than this fall back (YAML caps them at 1024).
const MAX_KEY_LEN: usize = 1000;

/// Parses every document of `text`, or returns `None` when the text needs
/// the full YAML parser (see the module documentation).
pub(crate) fn parse(text: &str) -> Option<Vec<YamlNode<'_>>> {
    if !plain_characters(text) {
        return None;
    }
    // The reader's work vectors are kept per thread between files, so that
    // loading thousands of small files does not allocate and grow them anew
    // for each one.
    // `try_with`: during thread teardown, work without the scratch.
    let scratch = SCRATCH.try_with(|s| s.take()).unwrap_or_default();
    let mut reader = Reader::new(text, scratch);
    let docs = reader.documents();
    let mut scratch = Scratch {
        lines: reader.lines,
        entries: detach(reader.entries),
        items: detach(reader.items),
    };
    if scratch.lines.capacity() <= MAX_KEPT_LINES {
        scratch.lines.clear();
        scratch.entries.clear();
        scratch.items.clear();
        let _ = SCRATCH.try_with(|s| s.replace(scratch));
    }
    docs
}

/// Work vectors of a [`Reader`], reused by the next file on this thread.
#[derive(Default)]
struct Scratch {
    lines: Vec<Line>,
    entries: Vec<(YamlNode<'static>, YamlNode<'static>)>,
    items: Vec<YamlNode<'static>>,
}

/// A work vector's allocation without its nodes, which borrow from the
/// text just read: an in-place collect keeps the buffer (the element types
/// differ only in lifetime), so the next file reuses it.
fn detach<T, U>(v: Vec<T>) -> Vec<U> {
    v.into_iter().filter_map(|_| None).collect()
}

/// Line tables larger than this (huge files) are not kept for reuse.
const MAX_KEPT_LINES: usize = 1 << 16;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// One line of the text, without its line break.
#[derive(Clone, Copy)]
struct Line {
    /// Byte offset of the first character.
    start: usize,
    /// Byte offset just past the last character.
    end: usize,
    /// Number of leading spaces.
    indent: usize,
    /// Nothing but spaces.
    blank: bool,
    /// The first non-space character is `#`.
    comment: bool,
}

/// What a line's content turned out to be when looking for a key.
enum KeyScan<'a> {
    /// A mapping key: its node and the byte offset of its `:`.
    Key(YamlNode<'a>, usize),
    /// Not a key (a scalar).
    NotKey,
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    lines: Vec<Line>,
    /// The current line.
    i: usize,
    /// Nodes built so far.
    nodes: usize,
    /// Entries of the mappings being read, innermost last: each mapping
    /// takes its own off the top when done, in one exact allocation.
    entries: Vec<(YamlNode<'a>, YamlNode<'a>)>,
    /// Items of the sequences being read, likewise.
    items: Vec<YamlNode<'a>>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, scratch: Scratch) -> Self {
        let bytes = text.as_bytes();
        let mut lines = scratch.lines;
        lines.reserve(bytes.len() / 24 + 1);
        let mut start = 0;
        // Lines are short: a plain loop beats a memchr call per line.
        let breaks = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| (b == b'\n').then_some(i));
        // The last line may lack its line break.
        let last = bytes.last().is_some_and(|&b| b != b'\n');
        for end in breaks.chain(last.then_some(bytes.len())) {
            let line = bytes.get(start..end).unwrap_or_default();
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            lines.push(Line {
                start,
                end,
                indent,
                blank: indent == line.len(),
                comment: line.get(indent) == Some(&b'#'),
            });
            start = end + 1;
        }
        Reader {
            text,
            bytes,
            lines,
            i: 0,
            nodes: 0,
            entries: scratch.entries,
            items: scratch.items,
        }
    }

    fn byte(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn line(&self) -> Option<Line> {
        self.lines.get(self.i).copied()
    }

    /// A node at byte offset `pos` of the current line.
    fn node(&mut self, value: YamlValue<'a>, pos: usize, len: usize) -> Option<YamlNode<'a>> {
        self.node_on(self.i, value, pos, len)
    }

    /// A node at byte offset `pos` of line `line` (0-based). Columns count
    /// characters, as the reference parser does; spans count bytes.
    fn node_on(
        &mut self,
        line: usize,
        value: YamlValue<'a>,
        pos: usize,
        len: usize,
    ) -> Option<YamlNode<'a>> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return None;
        }
        let start = self.lines.get(line)?.start;
        let column = self
            .bytes
            .get(start..pos)?
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count();
        Some(YamlNode {
            value,
            location: Location::new(line as u32 + 1, column as u32 + 1),
            span: Some((pos, len)),
        })
    }

    /// `-`, `?` and `:` start a plain scalar when a non-space follows
    /// (`-nop -w hidden`, `:\ProgramData`).
    fn plain_start(&self, pos: usize) -> bool {
        matches!(self.byte(pos), Some(b'-' | b'?' | b':'))
            && self
                .byte(pos + 1)
                .is_some_and(|b| !matches!(b, b' ' | b'\n'))
    }

    /// Whether the byte before `pos` is a space (a `#` after one starts a
    /// comment).
    fn after_space(&self, pos: usize) -> bool {
        pos.checked_sub(1).and_then(|p| self.byte(p)) == Some(b' ')
    }

    /// Moves past blank and comment lines.
    fn skip_insignificant(&mut self) {
        while self.line().is_some_and(|l| l.blank || l.comment) {
            self.i += 1;
        }
    }

    /// The offset just past the spaces starting at `pos` on the current line.
    fn skip_spaces(&self, mut pos: usize, end: usize) -> usize {
        while pos < end && self.byte(pos) == Some(b' ') {
            pos += 1;
        }
        pos
    }

    /// Whether the content from `pos` to `end` is empty or a comment.
    fn rest_is_empty(&self, pos: usize, end: usize) -> bool {
        let p = self.skip_spaces(pos, end);
        p == end || self.byte(p) == Some(b'#')
    }

    /// A `-` followed by a space or the end of the line starts a sequence item.
    fn is_item(&self, pos: usize, end: usize) -> bool {
        self.byte(pos) == Some(b'-') && (pos + 1 == end || self.byte(pos + 1) == Some(b' '))
    }

    fn documents(&mut self) -> Option<Vec<YamlNode<'a>>> {
        let mut docs = Vec::new();
        let mut separators = 0;
        loop {
            self.skip_insignificant();
            let Some(line) = self.line() else { break };
            let content = self.text.get(line.start..line.end)?;
            if content == "---" {
                // The reference budget caps the number of documents.
                separators += 1;
                if separators > MAX_DOCUMENTS {
                    return None;
                }
                self.i += 1;
                continue;
            }
            if line.indent != 0 || content.starts_with("---") || content.starts_with("...") {
                return None;
            }
            if content.starts_with('%') || self.is_item(line.start, line.end) {
                return None;
            }
            let KeyScan::Key(key, colon) = self.scan_key(line.start, line.end)? else {
                return None;
            };
            docs.push(self.mapping(0, line.start, key, colon, 0)?);
            // A document ends at a separator or at the end of the text.
            self.skip_insignificant();
            if let Some(next) = self.line() {
                if self.text.get(next.start..next.end)? != "---" {
                    return None;
                }
            }
        }
        Some(docs)
    }

    /// A block mapping whose first key (already scanned) starts at `pos` on
    /// the current line, with its keys at column `indent`.
    fn mapping(
        &mut self,
        indent: usize,
        pos: usize,
        first_key: YamlNode<'a>,
        first_colon: usize,
        depth: usize,
    ) -> Option<YamlNode<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut node = self.node(YamlValue::Null, pos, 0)?;
        let base = self.entries.len();
        // Only large mappings get a set for duplicate keys.
        let mut seen: Option<HashSet<&'a str>> = None;
        let (mut key, mut colon) = (first_key, first_colon);
        loop {
            // Only string keys are read here; the reference parser's rules
            // for duplicates among typed keys are not re-implemented.
            let YamlValue::String(k) = &key.value else {
                return None;
            };
            let entries = self.entries.get(base..)?;
            if entries.len() < 16 {
                if entries.iter().any(|(e, _)| e.as_str() == Some(k)) {
                    return None;
                }
            } else {
                let set = match &mut seen {
                    Some(set) => set,
                    None => {
                        let mut set = HashSet::with_capacity(entries.len() * 2);
                        for (e, _) in entries {
                            set.insert(self.key_text(e)?);
                        }
                        seen.insert(set)
                    }
                };
                if !set.insert(self.key_text(&key)?) {
                    return None;
                }
            }
            let value = self.value(indent, colon, depth)?;
            self.entries.push((key, value));
            self.skip_insignificant();
            let Some(line) = self.line() else { break };
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if indent == 0 && self.text.get(line.start..line.end)? == "---" {
                break;
            }
            let start = line.start + indent;
            if self.is_item(start, line.end) {
                return None;
            }
            match self.scan_key(start, line.end)? {
                KeyScan::Key(k, c) => (key, colon) = (k, c),
                KeyScan::NotKey => return None,
            }
        }
        node.value = YamlValue::Map(self.entries.split_off(base));
        Some(node)
    }

    /// The unescaped text of a string key node, borrowed from the source
    /// (only used for duplicate detection in large mappings, where keys
    /// without escapes are the rule; others fall back).
    fn key_text(&self, key: &YamlNode<'a>) -> Option<&'a str> {
        let (off, len) = key.span?;
        let src = self.text.get(off..off + len)?;
        (key.as_str() == Some(src)).then_some(src)
    }

    /// The value after the `:` at `colon` of a key in a mapping at `indent`.
    /// On return the current line is the first line after the value.
    fn value(&mut self, indent: usize, colon: usize, depth: usize) -> Option<YamlNode<'a>> {
        let key_line = self.i;
        let line = self.line()?;
        let pos = self.skip_spaces(colon + 1, line.end);
        if pos == line.end || self.byte(pos) == Some(b'#') {
            // The value, if any, is on the following lines.
            self.i += 1;
            self.skip_insignificant();
            if let Some(next) = self.line() {
                let start = next.start + next.indent;
                let indentless = next.indent == indent && self.is_item(start, next.end);
                if next.indent > indent || indentless {
                    return self.block_node(next.indent, indentless, depth + 1);
                }
            }
            // An empty value: the reference parser puts it on the `:`.
            return self.node_on(key_line, YamlValue::Null, colon, 0);
        }
        match self.byte(pos)? {
            b'|' | b'>' => self.block_scalar(indent, pos),
            _ => {
                let node = self.inline_scalar(pos, line.end)?;
                self.i += 1;
                Some(node)
            }
        }
    }

    /// A block mapping or sequence starting on the current line at column
    /// `indent` (`indentless`: a sequence at its parent key's column).
    fn block_node(
        &mut self,
        indent: usize,
        indentless: bool,
        depth: usize,
    ) -> Option<YamlNode<'a>> {
        let line = self.line()?;
        let start = line.start + indent;
        if self.is_item(start, line.end) {
            return self.sequence(indent, indentless, depth);
        }
        match self.scan_key(start, line.end)? {
            KeyScan::Key(key, colon) => self.mapping(indent, start, key, colon, depth),
            // A scalar on the line after its key is a multi-line plain scalar.
            KeyScan::NotKey => None,
        }
    }

    /// A block sequence whose items' `-` are at column `indent`.
    fn sequence(&mut self, indent: usize, indentless: bool, depth: usize) -> Option<YamlNode<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let first = self.line()?;
        let dash = first.start + indent;
        let mut node = self.node(YamlValue::Null, dash, 0)?;
        let base = self.items.len();
        loop {
            let line = self.line()?;
            let pos = self.skip_spaces(line.start + indent + 1, line.end);
            if self.rest_is_empty(pos, line.end) || self.is_item(pos, line.end) {
                // Empty items and compact nested sequences fall back.
                return None;
            }
            let item = match self.byte(pos) {
                Some(b'|' | b'>') => return None,
                Some(b'[' | b'\'' | b'"') if !self.quoted_is_key(pos, line.end)? => {
                    let n = self.inline_scalar(pos, line.end)?;
                    self.i += 1;
                    n
                }
                _ => match self.scan_key(pos, line.end)? {
                    KeyScan::Key(key, colon) => {
                        self.mapping(pos - line.start, pos, key, colon, depth + 1)?
                    }
                    KeyScan::NotKey => {
                        let n = self.inline_scalar(pos, line.end)?;
                        self.i += 1;
                        n
                    }
                },
            };
            if self.items.len() == base && indentless {
                // An indentless sequence starts where its first item does.
                node.location = item.location;
                node.span = item.span.map(|(o, _)| (o, 0));
            }
            self.items.push(item);
            self.skip_insignificant();
            let Some(next) = self.line() else { break };
            if next.indent < indent {
                break;
            }
            if next.indent > indent {
                return None;
            }
            if !self.is_item(next.start + indent, next.end) {
                if indentless || (indent == 0 && self.text.get(next.start..next.end)? == "---") {
                    break;
                }
                return None;
            }
        }
        node.value = YamlValue::Seq(self.items.split_off(base));
        Some(node)
    }

    /// Whether the quoted scalar or flow sequence at `pos` is followed by a
    /// `:` (then it is a key). `None` when it cannot be read.
    fn quoted_is_key(&self, pos: usize, end: usize) -> Option<bool> {
        if self.byte(pos) == Some(b'[') {
            return Some(false);
        }
        let (_, after) = self.quoted(pos, end)?;
        let p = self.skip_spaces(after, end);
        Some(self.byte(p) == Some(b':') && p < end)
    }

    /// Looks for a mapping key at `pos`: a plain or quoted scalar followed
    /// by `:` and a space or the end of the line.
    fn scan_key(&mut self, pos: usize, end: usize) -> Option<KeyScan<'a>> {
        match self.byte(pos)? {
            b'\'' | b'"' => {
                let (value, after) = self.quoted(pos, end)?;
                if self.byte(after) == Some(b':') && after < end {
                    if after - pos > MAX_KEY_LEN {
                        return None;
                    }
                    if after + 1 < end && self.byte(after + 1) != Some(b' ') {
                        return None;
                    }
                    let key = self.node(YamlValue::String(value), pos, after - pos)?;
                    return Some(KeyScan::Key(key, after));
                }
                // A quoted scalar followed by spaces then `:` is unusual.
                let p = self.skip_spaces(after, end);
                if p < end && self.byte(p) != Some(b'#') {
                    return None;
                }
                Some(KeyScan::NotKey)
            }
            b if is_indicator(b) && !self.plain_start(pos) => None,
            _ => {
                let Some((p, true)) = self.plain_stop(pos, end) else {
                    return Some(KeyScan::NotKey);
                };
                if self.after_space(p) || p - pos > MAX_KEY_LEN {
                    return None;
                }
                let text = self.text.get(pos..p)?;
                let value = typed_value(text)?;
                let key = self.node(value, pos, p - pos)?;
                Some(KeyScan::Key(key, p))
            }
        }
    }

    /// A scalar or flow sequence that ends on this line, followed only by
    /// spaces or a comment.
    fn inline_scalar(&mut self, pos: usize, end: usize) -> Option<YamlNode<'a>> {
        let (node, after) = match self.byte(pos)? {
            b'\'' | b'"' => {
                let (value, after) = self.quoted(pos, end)?;
                (
                    self.node(YamlValue::String(value), pos, after - pos)?,
                    after,
                )
            }
            b'[' => self.flow_sequence(pos, end)?,
            b if is_indicator(b) && !self.plain_start(pos) => return None,
            _ => self.plain(pos, end)?,
        };
        let p = self.skip_spaces(after, end);
        if p == end || (p > after && self.byte(p) == Some(b'#')) {
            Some(node)
        } else {
            None
        }
    }

    /// A plain scalar in block context running to the end of the line or a
    /// comment. A `: ` inside means a nested mapping (an error) and a
    /// trailing `:` a key: both fall back.
    fn plain(&mut self, pos: usize, end: usize) -> Option<(YamlNode<'a>, usize)> {
        let (p, colon) = self.plain_stop(pos, end)?;
        if colon {
            return None;
        }
        let text = self.text.get(pos..p)?.trim_end_matches(' ');
        let value = plain_value(text)?;
        Some((self.node(value, pos, text.len())?, pos + text.len()))
    }

    /// Where a plain scalar starting at `pos` stops on its line: at a `:`
    /// followed by a space or the line end (`true`: a mapping indicator),
    /// at a comment, or at the line end.
    fn plain_stop(&self, pos: usize, end: usize) -> Option<(usize, bool)> {
        let line = self.bytes.get(pos..end)?;
        let mut from = 0;
        // Only `:` and `#` matter; the search skips everything else quickly.
        while let Some(i) = line
            .get(from..)?
            .iter()
            .position(|&b| b == b':' || b == b'#')
        {
            let at = from + i;
            match line.get(at) {
                Some(b':') if matches!(line.get(at + 1), None | Some(b' ')) => {
                    return Some((pos + at, true))
                }
                Some(b'#') if self.after_space(pos + at) => return Some((pos + at, false)),
                _ => from = at + 1,
            }
        }
        Some((end, false))
    }

    /// A single-line flow sequence of scalars, `[a, 'b', 3]`.
    fn flow_sequence(&mut self, pos: usize, end: usize) -> Option<(YamlNode<'a>, usize)> {
        let mut node = self.node(YamlValue::Null, pos, 1)?;
        let mut items = Vec::new();
        let mut p = self.skip_spaces(pos + 1, end);
        loop {
            match self.byte(p) {
                Some(b']') if p < end => break,
                Some(b'\'' | b'"') if p < end => {
                    let (value, after) = self.quoted(p, end)?;
                    items.push(self.node(YamlValue::String(value), p, after - p)?);
                    p = after;
                }
                Some(b) if p < end && !is_indicator(b) => {
                    let mut q = p;
                    while q < end {
                        match self.byte(q)? {
                            b',' | b']' => break,
                            b'[' | b'{' | b'}' | b'#' | b':' => return None,
                            _ => q += 1,
                        }
                    }
                    let text = self.text.get(p..q)?.trim_end_matches(' ');
                    let value = plain_value(text)?;
                    items.push(self.node(value, p, text.len())?);
                    p += text.len();
                }
                _ => return None,
            }
            p = self.skip_spaces(p, end);
            match self.byte(p) {
                Some(b',') if p < end => p = self.skip_spaces(p + 1, end),
                Some(b']') if p < end => break,
                _ => return None,
            }
        }
        node.value = YamlValue::Seq(items);
        Some((node, p + 1))
    }

    fn quoted(&self, pos: usize, end: usize) -> Option<(Cow<'a, str>, usize)> {
        quoted(self.text, pos, end)
    }

    /// A `|`, `|-`, `>` or `>-` block scalar whose header is at `pos`, as
    /// the value of a key in a mapping at `indent`.
    fn block_scalar(&mut self, indent: usize, pos: usize) -> Option<YamlNode<'a>> {
        let line = self.line()?;
        let literal = self.byte(pos) == Some(b'|');
        let mut p = pos + 1;
        let strip = self.byte(p) == Some(b'-') && p < line.end;
        if strip {
            p += 1;
        }
        if p < line.end && self.byte(p) != Some(b' ') {
            return None;
        }
        if !self.rest_is_empty(p, line.end) {
            return None;
        }
        self.i += 1;
        let first = self.line()?;
        // Leading blank lines and empty scalars have their own rules.
        if first.blank || first.indent <= indent {
            return None;
        }
        let content_indent = first.indent;
        let start = first.start + content_indent;
        let first_index = self.i;
        // Lines of the scalar, `None` for empty lines.
        let mut rows: Vec<Option<&'a str>> = Vec::new();
        let mut span_end = self.text.len();
        while let Some(l) = self.line() {
            if l.start == l.end {
                rows.push(None);
            } else if l.blank {
                // Whitespace-only lines keep or lose spaces by indentation.
                return None;
            } else if l.indent >= content_indent {
                if !literal && l.indent > content_indent {
                    // More-indented lines are not folded.
                    return None;
                }
                rows.push(Some(self.text.get(l.start + content_indent..l.end)?));
            } else {
                span_end = l.start + l.indent;
                break;
            }
            self.i += 1;
        }
        // Trailing empty lines only count through chomping.
        while rows.last() == Some(&None) {
            rows.pop();
        }
        let mut value = String::new();
        let mut breaks = 0usize;
        for (n, row) in rows.iter().enumerate() {
            match row {
                None => breaks += 1,
                Some(text) => {
                    if n > 0 {
                        if literal {
                            value.extend(std::iter::repeat_n('\n', breaks + 1));
                        } else if breaks == 0 {
                            value.push(' ');
                        } else {
                            value.extend(std::iter::repeat_n('\n', breaks));
                        }
                    }
                    breaks = 0;
                    value.push_str(text);
                }
            }
        }
        if !strip {
            value.push('\n');
        }
        self.node_on(
            first_index,
            YamlValue::String(Cow::Owned(value)),
            start,
            span_end.checked_sub(start)?,
        )
    }
}

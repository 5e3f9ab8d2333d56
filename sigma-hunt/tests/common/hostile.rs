//! The hostile re-encoder of `tests/adversarial.rs`: a seeded generator
//! that writes a JSON event back with duplicate keys, routing keys in
//! other cases or layouts, numbers as floats or strings, escapes, odd
//! whitespace, truncation, invalid UTF-8 and deep nesting, so the fast
//! scan path can be compared with the plain evaluator on lines no export
//! tool writes.

use serde_json::{Map, Value};

/// A small deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// How one line is re-encoded (percentages per occasion).
#[derive(Default, Clone, Copy)]
struct Style {
    /// Odd whitespace around structural characters.
    ws: u64,
    /// A decoy entry with the same key before a real one (the real one
    /// wins) or after it (the decoy wins).
    dup_before: u64,
    dup_after: u64,
    /// Extra routing-like keys (other case, spaced, ECS names).
    routing_keys: u64,
    /// String values wrapped in `{"#text": ...}`.
    text_wrap: u64,
    /// Integers written in another form.
    numbers: u64,
    /// Per character: `\uXXXX`; `/` as `\/`.
    u_escape: u64,
    slash_escape: u64,
    /// Per character: `s`, `k`, `i` replaced by a character that folds
    /// (or regex-folds) to them.
    fold_chars: u64,
    /// Upper-cased string values.
    upper: u64,
}

const WS: [&str; 6] = ["", " ", "\t", "\r", "  ", " \t\r "];

fn ws(out: &mut Vec<u8>, rng: &mut Rng, style: &Style) {
    if style.ws > 0 && rng.chance(style.ws) {
        out.extend_from_slice(rng.pick(&WS).as_bytes());
    }
}

fn emit_str(s: &str, out: &mut Vec<u8>, rng: &mut Rng, style: &Style, is_key: bool) {
    out.push(b'"');
    let upper;
    let s = if !is_key && style.upper > 0 && rng.chance(style.upper) {
        upper = s.to_uppercase();
        upper.as_str()
    } else {
        s
    };
    for c in s.chars() {
        let c = if !is_key && style.fold_chars > 0 && rng.chance(style.fold_chars) {
            match c {
                's' | 'S' => '\u{17F}',
                'k' | 'K' => '\u{212A}',
                'I' => '\u{130}',
                c => c,
            }
        } else {
            c
        };
        let mut buf = [0u8; 4];
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '/' if style.slash_escape > 0 && rng.chance(style.slash_escape) => {
                out.extend_from_slice(b"\\/")
            }
            c if (c as u32) < 0x20 || (style.u_escape > 0 && rng.chance(style.u_escape)) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{u:04X}").as_bytes());
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out.push(b'"');
}

fn decoy(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::from(rng.below(5000) as u64),
        1 => Value::String("Security".into()),
        2 => Value::Null,
        3 => serde_json::json!({}),
        4 => serde_json::json!([]),
        5 => serde_json::json!({ "#text": "Microsoft-Windows-Sysmon/Operational" }),
        6 => serde_json::json!([{ "EventID": 4688 }]),
        7 => Value::Bool(true),
        _ => Value::String("C:\\Windows\\System32\\whoami.exe".into()),
    }
}

const ROUTING_KEYS: [&str; 12] = [
    "CHANNEL", "channel", "Chan nel", "Channel ", "EVENTID", "Event ID", "event_id", "Code",
    "code", "EventId", "EventID", "Channel",
];

fn emit_number(n: &serde_json::Number, out: &mut Vec<u8>, rng: &mut Rng, style: &Style) {
    let text = n.to_string();
    if style.numbers > 0 && n.is_u64() && rng.chance(style.numbers) {
        let forms = [
            format!("{text}.0"),
            format!("{text}e0"),
            format!("{text}E+0"),
            format!("\"{text}\""),
            format!("\" {text}\u{a0}\""),
            format!("\"+{text}\""),
            format!("\"0{text}\""),
            format!("-{text}"),
            "-0".to_string(),
            format!("{text}00000000000000000000"),
            format!("{{\"#text\":{text}}}"),
        ];
        out.extend_from_slice(rng.pick(&forms).as_bytes());
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

fn emit(v: &Value, out: &mut Vec<u8>, rng: &mut Rng, style: &Style, depth: usize) {
    match v {
        Value::Object(m) => emit_object(m, out, rng, style, depth),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                ws(out, rng, style);
                emit(x, out, rng, style, depth + 1);
            }
            ws(out, rng, style);
            out.push(b']');
        }
        Value::String(s) => {
            if style.text_wrap > 0 && rng.chance(style.text_wrap) {
                out.extend_from_slice(br##"{"#attributes":{"a":1},"#text":"##);
                emit_str(s, out, rng, style, false);
                out.push(b'}');
            } else {
                emit_str(s, out, rng, style, false);
            }
        }
        Value::Number(n) => emit_number(n, out, rng, style),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

fn emit_entry(
    k: &str,
    v: &Value,
    first: &mut bool,
    out: &mut Vec<u8>,
    rng: &mut Rng,
    style: &Style,
    depth: usize,
) {
    if !*first {
        ws(out, rng, style);
        out.push(b',');
    }
    *first = false;
    ws(out, rng, style);
    emit_str(k, out, rng, style, true);
    ws(out, rng, style);
    out.push(b':');
    ws(out, rng, style);
    emit(v, out, rng, style, depth + 1);
}

fn emit_object(m: &Map<String, Value>, out: &mut Vec<u8>, rng: &mut Rng, style: &Style, d: usize) {
    out.push(b'{');
    let mut first = true;
    for (k, v) in m {
        if style.routing_keys > 0 && rng.chance(style.routing_keys) {
            let key = *rng.pick(&ROUTING_KEYS);
            let val = decoy(rng);
            emit_entry(key, &val, &mut first, out, rng, style, d);
        }
        if style.dup_before > 0 && rng.chance(style.dup_before) {
            let val = decoy(rng);
            emit_entry(k, &val, &mut first, out, rng, style, d);
        }
        emit_entry(k, v, &mut first, out, rng, style, d);
        if style.dup_after > 0 && rng.chance(style.dup_after) {
            let val = decoy(rng);
            emit_entry(k, &val, &mut first, out, rng, style, d);
        }
    }
    ws(out, rng, style);
    out.push(b'}');
}

/// Structural rewrites of a parsed event before it is re-encoded.
fn restructure(v: &mut Value, rng: &mut Rng) {
    let Value::Object(root) = v else {
        return;
    };
    match rng.below(8) {
        // Event data moved under UserData, after a child of the same name
        // that is not an object and a decoy child.
        0 => {
            if let Some(Value::Object(event)) = root.get_mut("Event") {
                if let Some(data) = event.shift_remove("EventData") {
                    let mut decoy = data.clone();
                    if let Value::Object(d) = &mut decoy {
                        d.values_mut()
                            .for_each(|x| *x = Value::String("benign".into()));
                    }
                    // Placeholder object, fixed up in the text below.
                    event.insert(
                        "UserData".into(),
                        serde_json::json!({ "\u{1}A": 0, "B": decoy, "A": data }),
                    );
                }
            }
        }
        // System routing fields moved into the event data, spaced.
        1 => {
            if let Some(Value::Object(event)) = root.get_mut("Event") {
                let mut moved = Vec::new();
                if let Some(Value::Object(sys)) = event.get_mut("System") {
                    for (from, to) in [("Channel", "Chan nel"), ("EventID", "Event ID")] {
                        if let Some(x) = sys.shift_remove(from) {
                            moved.push((to, x));
                        }
                    }
                }
                if let Some(Value::Object(data)) = event.get_mut("EventData") {
                    for (k, x) in moved {
                        data.insert(k.into(), x);
                    }
                }
            }
        }
        // Layout confusion: another layout's routing keys at the top.
        2 => {
            root.insert("Channel".into(), Value::String("Security".into()));
            root.insert("EventID".into(), Value::from(4688));
        }
        3 => {
            root.insert(
                "winlog".into(),
                serde_json::json!({"channel": "Microsoft-Windows-Sysmon/Operational",
                    "event_id": 1, "event_data": {"Image": "C:\\x\\whoami.exe"}}),
            );
            root.insert("event".into(), serde_json::json!({"code": "1"}));
        }
        // A flat event turned into an ECS one.
        4 if !root.contains_key("Event") => {
            let channel = root.shift_remove("Channel");
            let id = root.shift_remove("EventID");
            let data = std::mem::take(root);
            let mut winlog = Map::new();
            if let Some(c) = channel {
                winlog.insert("channel".into(), c);
            }
            winlog.insert("event_data".into(), Value::Object(data));
            root.insert("winlog".into(), Value::Object(winlog));
            if let Some(i) = id {
                let code = match i {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                root.insert("event".into(), serde_json::json!({ "code": code }));
            }
        }
        _ => {}
    }
}

pub fn generated_line(v: &Value, rng: &mut Rng) -> Vec<u8> {
    let mut v = v.clone();
    if rng.chance(40) {
        restructure(&mut v, rng);
    }
    let mut style = Style::default();
    // A few hostile traits per line, so most lines stay close enough to
    // the original to still match rules.
    for _ in 0..1 + rng.below(3) {
        match rng.below(10) {
            0 => style.ws = 30,
            1 => style.dup_before = 10,
            2 => style.dup_after = 3,
            3 => style.routing_keys = 5,
            4 => style.text_wrap = 10,
            5 => style.numbers = 30,
            6 => style.u_escape = 2,
            7 => style.slash_escape = 50,
            8 => style.fold_chars = 30,
            _ => style.upper = 30,
        }
    }
    let mut out = Vec::new();
    emit(&v, &mut out, rng, &style, 0);
    // The UserData placeholder key becomes a true duplicate key.
    let placeholder = "\"\\u0001A\"".as_bytes();
    if let Some(at) = out
        .windows(placeholder.len())
        .position(|w| w == placeholder)
    {
        out.splice(at..at + placeholder.len(), b"\"A\"".iter().copied());
    }
    // Damage at the byte level, now and then.
    match rng.below(40) {
        0 if !out.is_empty() => {
            let at = rng.below(out.len());
            out.truncate(at);
        }
        1 if !out.is_empty() => {
            let at = rng.below(out.len());
            out.insert(at, 0xff);
        }
        2 => {
            let mut w = b"[".to_vec();
            w.extend_from_slice(&out);
            w.push(b']');
            out = w;
        }
        3 => {
            let depth = 120 + rng.below(16);
            let mut w = Vec::new();
            for _ in 0..depth {
                w.extend_from_slice(b"{\"a\":");
            }
            w.extend_from_slice(&out);
            w.extend(std::iter::repeat_n(b'}', depth));
            out = w;
        }
        4 => out.extend_from_slice(b" {}"),
        _ => {}
    }
    out
}

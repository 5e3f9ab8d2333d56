//! [`check`] and [`valid_object`] against `serde_json::from_slice::<Value>`
//! itself: hand-written hostile lines and seeded random mutations of real
//! event lines.

use super::*;
use crate::prefilter::{valid_object, valid_object_serde};
use serde_json::Value;

/// What serde_json says: the line parses into an object.
fn object(l: &[u8]) -> bool {
    matches!(serde_json::from_slice::<Value>(l), Ok(Value::Object(_)))
}

/// Decided, undecided, parsed as an object (for the vacuity checks).
#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    unsure: usize,
}

/// Asserts that every answer agrees with serde_json on `l`.
fn agree(l: &[u8], t: &mut Tally) {
    let want = object(l);
    let v = check(l);
    match v {
        Valid => t.valid += 1,
        Invalid => t.invalid += 1,
        Unsure => t.unsure += 1,
    }
    let show = || String::from_utf8_lossy(l).into_owned();
    assert!(
        v == Unsure || (v == Valid) == want,
        "check {v:?}, serde_json object {want}: {:?}",
        show()
    );
    let first = l.first() == Some(&b'{');
    assert_eq!(valid_object(l), first && want, "valid_object {:?}", show());
    assert_eq!(valid_object_serde(l), first && want, "serde {:?}", show());
}

/// Real event lines (flat and nested layouts) and a synthetic one with
/// every kind of token.
const SEEDS: [&str; 4] = [
    r#"{"Provider_Name": "Microsoft-Windows-PowerShell", "EventID": 4104, "Version": 1, "Level": 5, "Task": 2, "Opcode": 15, "Keywords": "0x0", "TimeCreated": "2017-08-30T16:31:49.8768395Z", "EventRecordID": 568566, "Channel": "Microsoft-Windows-PowerShell/Operational", "Computer": "SEC511", "ScriptBlockText": ".\\DeepBlue-0.2.ps1 \"\" powershell", "Path": ""}"#,
    r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-PowerShell"}},"EventID":4104,"Level":5,"Correlation":{"#attributes":{"ActivityID":"{cf705cdf-21a7-0000-ddf7-70cfa721d301}"}},"Execution":{"#attributes":{"ProcessID":4196,"ThreadID":5528}}},"EventData":{"MessageNumber":1,"ScriptBlockText":".\\DeepBlue-0.2.ps1 \"\" powershell","Path":""}}}"##,
    r#"{"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1, "Correlation": null, "Computer": "fs03vuln.offsec.lan", "Image": "C:\\Program Files\\Microsoft\\Search\\Data\\Temp\\usgthrsvc\" \"DownLevelDaemon\"", "User": "NT AUTHORITY\\SYSTEM", "Hashes": "SHA1=1B2C"}"#,
    "{\"a\": [1, -0, 0.5, -12.25, true, false, null, [], {}, [[{\"b\": {}}]]],\r\n\t\"e\": \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uFFFF\", \"u\": \"d\u{e9}j\u{e0} \u{1F600}\", \"n\": -1.25}",
];

#[test]
fn hand_written() {
    let mut t = Tally::default();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let fixed: &[&[u8]] = &[
        br#"{"a": 1, "b": [true, null, "x\"y"], "c": {"d": 1.5e3}}"#,
        br#"{"a": 1e400}"#,
        br#"{"a": "\ud800"}"#,
        br#"{"a": 1} x"#,
        br#"[1]"#,
        br#"{"a": "b""#,
        b"{\"a\": \"\xff\"}",
        b"{\"\xff\": 1}",
        b"{\"a\": 1}\xff",
        b"{\"a\": \xff}",
        b"{\"a\": [\"\xc3\"]}",
        b"",
        b" ",
        b" \t\r\n",
        b"{",
        b"}",
        b"{}",
        b" {} ",
        b"\xef\xbb\xbf{}",
        b"{}\xef\xbb\xbf",
        b"[]",
        b"1",
        b"\"a\"",
        b"null",
        b"true",
        b"{}{}",
        b"{},",
        b"{}\x00",
        b"{}\x0c",
        b"\x0c{}",
        b"{}\n\r\t ",
        b"{1:2}",
        b"{a:1}",
        b"{\"a\" 1}",
        b"{\"a\"::1}",
        b"{\"a\":1,}",
        b"{,}",
        b"{\"a\":1 \"b\":2}",
        b"{\"a\":1,,\"b\":2}",
        b"{\"a\":[1,]}",
        b"{\"a\":[,1]}",
        b"{\"a\":[1 2]}",
        b"{\"a\":[1,2}",
        b"{\"a\":{]}",
        b"{\"a\":tru}",
        b"{\"a\":truex}",
        b"{\"a\":True}",
        b"{\"a\":nul}",
        b"{\"a\":nulll}",
        b"{\"a\":fals}",
        b"{\"a\":\"x}",
        b"{\"a\":\"x\\",
        b"{\"a\":\"x\\\"}",
        b"{\"a\":\"\\u12\"}",
        b"{\"a\":\"\\u12",
        b"{\"a\":\"\\u00G0\"}",
        b"{\"a\":\"\\U0041\"}",
        b"{\"a\":\"\\uD7FF\\uE000\\u0000\\uabcd\\uABCD\"}",
        b"{\"\xc0\x80\":1}",
        b"{\"a\":\"\xed\xa0\x80\"}",
        b"{\"a\":\"\xf4\x90\x80\x80\"}",
        b"{\"a\":\"\xf0\x9f\x98\x80\"}",
        b"{\"a\":\"\xe2\x82\"}",
        b"{\"a\":\"\x80\"}",
        b"{\"a\":\"\xc3\\n\"}",
        b"{\"a\":\"\xc3\\u00e9\"}",
        b"{\"a\":\"\\u00e9\xa9\"}",
        b"{\"a\":\"x\x7f\"}",
        b"{\"a\":1}\x80",
        b"\x80{\"a\":1}",
    ];
    lines.extend(fixed.iter().map(|l| l.to_vec()));
    // Every byte inside a string, after a backslash, as whitespace, as a
    // value, after a value and around the document.
    for b in 0..=255u8 {
        for (pre, post) in [
            (&b"{\"a\":\"x"[..], &b"y\"}"[..]),
            (b"{\"x", b"\":1}"),
            (b"{\"a\":\"\\", b"\"}"),
            (b"{\"a\":\"\\u00", b"0\"}"),
            (b"{\"a\":\"\\u", b"041\"}"),
            (b"{", b"\"a\":1}"),
            (b"{\"a\"", b":1}"),
            (b"{\"a\":", b"1}"),
            (b"{\"a\":1", b"}"),
            (b"{\"a\":[1", b",2]}"),
            (b"{\"a\":[1,", b"2]}"),
            (b"{\"a\":1}", b""),
            (b"", b"{\"a\":1}"),
            (b"{\"a\":", b"}"),
            (b"{\"a\":1", b"5}"),
            (b"{\"a\":0", b"}"),
            (b"{\"a\":-", b"}"),
            (b"{\"a\":1.", b"}"),
        ] {
            lines.push([pre, &[b], post].concat());
        }
    }
    // Special bytes at every position of long strings (the word and block
    // scans and their boundaries).
    for b in [
        b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0x80, 0xc3, 0xff,
    ] {
        for k in 0..72 {
            let mut s = vec![b'x'; 72];
            s[k] = b;
            lines.push([&b"{\"a\":\""[..], &s, b"\"}"].concat());
            lines.push([&b"{\"a\":\""[..], &s[..k + 1]].concat());
        }
    }
    // Surrogates, alone, paired, mispaired.
    for s in [
        "\\ud800",
        "\\udc00",
        "\\udfff",
        "\\ud7ff",
        "\\ue000",
        "\\ud800\\udc00",
        "\\uDBFF\\uDFFF",
        "\\ud800\\u0041",
        "\\ud800x",
        "\\ud800\\n",
        "\\ud800\\",
        "\\ud800\\ud800\\udc00",
        "\\udc00\\ud800",
    ] {
        lines.push(format!("{{\"a\":\"{s}\"}}").into_bytes());
        lines.push(format!("{{\"{s}\":1}}").into_bytes());
    }
    // Numbers at the edges.
    let long = |n: usize| "1".repeat(n);
    let mut numbers: Vec<String> = [
        "0",
        "-0",
        "00",
        "01",
        "-01",
        "-00",
        "1.",
        "-1.",
        ".5",
        "-.5",
        "1.5",
        "0.0",
        "-0.0",
        "-",
        "-a",
        "--1",
        "+1",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "1e-",
        "1E",
        "1.e5",
        "1e400",
        "-1e400",
        "0e400",
        "1e-400",
        "1.5e308",
        "1.8e308",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.5.3",
        "1-2",
        "0x10",
        "Infinity",
        "-Infinity",
        "NaN",
        "1_000",
        "0.",
        "2.0e",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [15, 19, 20, 21, 99, 100, 101, 200, 300, 308, 309, 310, 400] {
        numbers.push(long(n));
        numbers.push(format!("-{}", long(n)));
        numbers.push(format!("0.{}", long(n)));
        numbers.push(format!("{}.{}", long(n), long(n)));
    }
    for n in numbers {
        lines.push(format!("{{\"a\":{n}}}").into_bytes());
        lines.push(format!("{{\"a\":[{n}]}}").into_bytes());
        lines.push(format!("{{\"a\":{n} }}").into_bytes());
        lines.push(format!("{{\"a\":{n},\"b\":1}}").into_bytes());
    }
    // Nesting around serde_json's limit of 128.
    for d in (1..=140).chain([200, 1000]) {
        for (open, close) in [("[", "]"), ("{\"k\":", "}"), ("[{\"k\":", "}]")] {
            let (o, c) = (open.repeat(d), close.repeat(d));
            lines.push(format!("{{\"a\":{o}1{c}}}").into_bytes());
            lines.push(format!("{{\"a\":{o}{c}}}").into_bytes());
            lines.push(format!("{{\"a\":{o}1{c}").into_bytes());
            lines.push(format!("{{\"a\":{o}1{c}}}}}").into_bytes());
        }
        lines.push(format!("{}{}", "{\"k\":".repeat(d), "}".repeat(d)).into_bytes());
        lines.push(format!("{{\"a\":{}{{}}{}}}", "[".repeat(d), "]".repeat(d)).into_bytes());
    }
    // The seeds, whole, truncated and with surrounding whitespace.
    for s in SEEDS {
        let s = s.as_bytes();
        for n in 0..=s.len() {
            lines.push(s[..n].to_vec());
        }
        lines.push([b" \t", s, b"\r\n"].concat());
    }
    for l in &lines {
        agree(l, &mut t);
    }
    eprintln!("{} hand-written lines: {t:?}", lines.len());
    assert!(t.valid > 800 && t.invalid > 6000, "{t:?}");
}

/// A small seeded generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes and snippets the mutations insert.
const BYTES: &[u8] =
    b"\"\\{}[],: \t\r\n\x00\x01\x1f\x7f\x80\xbf\xc3\xe2\xed\xef\xf0\xff0-1.eEu/aftn";
const SNIPPETS: [&[u8]; 14] = [
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\\u00e9",
    b"\\uD83D\\uDE00",
    b"1e400",
    b"1e5",
    b"-0",
    b"true",
    b"null",
    b"[[[",
    b"]]]",
    b"{\"k\":",
    b"\xc3\xa9",
];

/// One random change to `l`.
fn mutate(l: &mut Vec<u8>, r: &mut Rng) {
    let at = r.below(l.len() + 1);
    match r.below(8) {
        0 if at < l.len() => l[at] = BYTES[r.below(BYTES.len())],
        1 if at < l.len() => l[at] = r.next() as u8,
        2 if at < l.len() => l[at] ^= 1 << r.below(8),
        3 if at < l.len() => {
            l.remove(at);
        }
        4 => l.insert(at, BYTES[r.below(BYTES.len())]),
        5 => {
            let s = SNIPPETS[r.below(SNIPPETS.len())];
            l.splice(at..at, s.iter().copied());
        }
        6 => l.truncate(at),
        _ => {
            // Duplicate a random piece elsewhere (nesting, repeated tokens).
            let end = (at + r.below(40)).min(l.len());
            let piece = l[at..end].to_vec();
            let to = r.below(l.len() + 1);
            l.splice(to..to, piece);
        }
    }
}

#[test]
fn random_mutations() {
    let mut r = Rng(0x005E_ED0F_5161_u64);
    let mut t = Tally::default();
    let cases = 150_000;
    for _ in 0..cases {
        let mut l = SEEDS[r.below(SEEDS.len())].as_bytes().to_vec();
        // Mostly one change, so that many lines stay valid.
        let changes = [0, 1, 1, 1, 2, 3, 5][r.below(7)];
        for _ in 0..changes {
            mutate(&mut l, &mut r);
        }
        agree(&l, &mut t);
    }
    eprintln!("{cases} mutated lines: {t:?}");
    assert!(t.valid > cases / 10 && t.invalid > cases / 3, "{t:?}");
}

//! Replays the ~150 probe conversions of
//! `../shared/reference/backends_probes.md` (exact sigma-cli output for
//! small probe rules) and compares sigil's output with them.
//!
//! Probes of targets sigil does not implement (splunk_spl2, elastalert) are
//! skipped; the few known differences are listed in [`KNOWN`] and in
//! `docs/differences.md`.

use std::path::PathBuf;

use sigma_backends::Backend;

/// Probes whose output differs on purpose (see docs/differences.md).
/// Deliberate fixes of invalid or wrong pySigma output for EQL: `"` inside
/// regex strings is escaped; a case-sensitive wildcard uses `like`, not
/// `==`; sequences refuse what `with runs=N` cannot express (`lt`, distinct
/// counts) and temporal_ordered drops the invalid `by  with runs=N` tail.
/// Splunk: an AND of regular expressions only is kept as `*` plus the
/// `| regex` commands (pySigma emits no query at all).
const KNOWN: &[&str] = &[
    "regex_only_and.yml | sigma convert -t splunk ",
    "regex_flags.yml | sigma convert -t splunk ",
    "regex.yml | sigma convert -t eql ",
    "regex_and_field.yml | sigma convert -t eql ",
    "cased.yml | sigma convert -t eql ",
    "corr_event_count_nogroup.yml | sigma convert -t eql ",
    "corr_value_count.yml | sigma convert -t eql ",
    "corr_temporal.yml | sigma convert -t eql ",
];

fn shared() -> Option<PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    p.join("reference/backends_probes.md")
        .is_file()
        .then_some(p)
}

struct Probe {
    name: String,
    yaml: String,
    runs: Vec<(String, String)>,
}

fn parse(md: &str) -> Vec<Probe> {
    let mut probes: Vec<Probe> = Vec::new();
    let mut lines = md.lines().peekable();
    let mut pending_cmd: Option<String> = None;
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("### ") {
            probes.push(Probe {
                name: name.trim().to_string(),
                yaml: String::new(),
                runs: Vec::new(),
            });
        } else if line.starts_with("```") {
            let mut block = Vec::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                block.push(l);
            }
            let text = block.join("\n");
            if let Some(p) = probes.last_mut() {
                if line.starts_with("```yaml") && p.yaml.is_empty() {
                    p.yaml = text;
                } else if let Some(cmd) = pending_cmd.take() {
                    p.runs.push((cmd, text));
                }
            }
        } else if line.starts_with("`sigma convert") {
            pending_cmd = Some(line.trim_matches('`').to_string());
        }
    }
    probes
}

/// The rule header of the probes whose Markdown shows only the detection
/// (backends.md describes their metadata and log sources).
fn header(name: &str) -> &'static str {
    match name {
        "basic.yml" => {
            "title: Suspicious Whoami\nid: 11111111-2222-3333-4444-555555555555\n\
             description: Detects whoami execution\nauthor: Example\n\
             tags: [attack.discovery, attack.t1033]\n\
             logsource: {category: process_creation, product: windows}\n"
        }
        "security.yml" => "title: Probe\nlogsource: {product: windows, service: security}\n",
        "sysmon_pc.yml" => {
            "title: Probe\nlogsource: {category: process_creation, product: windows, service: sysmon}\n"
        }
        "powershell.yml" => "title: Probe\nlogsource: {product: windows, service: powershell}\n",
        _ => "title: Probe\nlogsource: {category: process_creation, product: windows}\n",
    }
}

fn rule_text(name: &str, yaml: &str) -> String {
    if yaml.trim_start().starts_with("detection:") {
        format!("{}{yaml}\n", header(name))
    } else {
        yaml.to_string()
    }
}

fn run(cmd: &str, name: &str, yaml: &str) -> Option<Result<String, String>> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut target = "";
    let mut format = "default";
    let mut pipelines = Vec::new();
    let mut i = 2;
    while i < words.len() {
        match words[i] {
            "-t" => {
                target = words.get(i + 1).copied().unwrap_or_default();
                i += 1;
            }
            "-f" => {
                format = words.get(i + 1).copied().unwrap_or_default();
                i += 1;
            }
            "-p" => {
                pipelines.push(words.get(i + 1).copied().unwrap_or_default().to_string());
                i += 1;
            }
            "-O" => return None,
            _ => {}
        }
        i += 1;
    }
    let backend = Backend::new(target, format)
        .and_then(|b| b.with_pipelines(&pipelines))
        .ok()?;
    let set = sigma_core::parse_str(&rule_text(name, yaml), None);
    if let Some(e) = set.errors.first() {
        return Some(Err(e.to_string()));
    }
    match backend.convert_set(&set) {
        Ok(outputs) => Some(backend.render(&outputs).map_err(|e| e.to_string())),
        Err(e) => Some(Err(e.to_string())),
    }
}

#[test]
fn probes_match_pysigma() {
    let Some(shared) = shared() else {
        eprintln!("skipping: ../shared not found (set SIGIL_SHARED)");
        return;
    };
    let md =
        std::fs::read_to_string(shared.join("reference/backends_probes.md")).expect("probes file");
    let (mut same, mut total) = (0, 0);
    let mut failures = Vec::new();
    for probe in parse(&md) {
        for (cmd, expected) in &probe.runs {
            let Some(got) = run(cmd, &probe.name, &probe.yaml) else {
                continue;
            };
            total += 1;
            let expected = if expected == "(no output, exit 0)" {
                ""
            } else {
                expected.as_str()
            };
            let ok = match (&got, expected.strip_prefix("ERROR (exit 1): ")) {
                (Err(_), Some(_)) => true,
                (Ok(text), None) => text == expected,
                _ => false,
            };
            if ok {
                same += 1;
            } else {
                let key = format!("{} | {cmd}", probe.name);
                if !KNOWN.iter().any(|k| key.contains(k)) {
                    failures.push(format!(
                        "== {key}\n-- expected:\n{expected}\n++ sigil:\n{}",
                        match got {
                            Ok(t) => t,
                            Err(e) => format!("ERROR {e}"),
                        }
                    ));
                }
            }
        }
    }
    eprintln!("probes: {same}/{total} identical");
    assert!(
        failures.is_empty(),
        "{} probe mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

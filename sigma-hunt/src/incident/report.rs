//! A self-contained HTML report: incident list, a timeline chart of hits
//! per incident and the ATT&CK tactics touched.
//!
//! One file, no external assets, no network: styles and a small script
//! (a filter box) are inline, and the chart is SVG drawn here. Every text
//! taken from rules or events is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{time, Incident};

/// Kill-chain order of the Enterprise tactics.
const TACTIC_ORDER: &[&str] = &[
    "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0006", "TA0007",
    "TA0008", "TA0009", "TA0011", "TA0010", "TA0040",
];

/// The most hit marks drawn per incident row (the count is always shown).
const MAX_MARKS: usize = 400;

/// HTML-escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn level_color(level: &str) -> &'static str {
    match level {
        "critical" => "#7b1fa2",
        "high" => "#c62828",
        "medium" => "#ef6c00",
        "low" => "#2e7d32",
        _ => "#546e7a",
    }
}

/// Renders the report.
pub fn render_html(incidents: &[Incident], title: &str) -> String {
    let mut h = String::new();
    let total_hits: usize = incidents.iter().map(|i| i.hit_count).sum();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{css}</style></head><body>\n\
<header><h1>{t}</h1><p id=\"totals\">{n} incidents, {hits} hits</p>\
<input id=\"filter\" type=\"search\" placeholder=\"Filter incidents (host, rule, user, tactic…)\"></header>\n",
        t = escape(title),
        css = CSS,
        n = incidents.len(),
        hits = total_hits
    );
    h.push_str(&tactics_section(incidents));
    h.push_str(&timeline_chart(incidents));
    h.push_str("<section><h2>Incidents</h2>\n");
    for i in incidents {
        h.push_str(&incident_card(i));
    }
    h.push_str("</section>\n");
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body></html>\n");
    h
}

fn tactics_section(incidents: &[Incident]) -> String {
    let mut counts: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for i in incidents {
        for t in &i.tactics {
            counts
                .entry(t.id.as_str())
                .or_insert((t.name.as_str(), 0))
                .1 += 1;
        }
    }
    let mut s =
        String::from("<section><h2>ATT&amp;CK tactics touched</h2><div class=\"tactics\">\n");
    for id in TACTIC_ORDER {
        let (name, n) = counts.get(id).copied().unwrap_or(("", 0));
        let label = if name.is_empty() {
            (*id).to_string()
        } else {
            format!("{name} ({id})")
        };
        let _ = writeln!(
            s,
            "<div class=\"tactic{}\" data-tactic=\"{}\"><span>{}</span><b>{}</b></div>",
            if n > 0 { " hit" } else { "" },
            escape(id),
            escape(&label),
            n
        );
    }
    s.push_str("</div></section>\n");
    s
}

fn timeline_chart(incidents: &[Incident]) -> String {
    let times: Vec<i64> = incidents
        .iter()
        .flat_map(|i| i.timeline.iter().filter_map(|t| t.time))
        .collect();
    let mut s = String::from("<section><h2>Timeline of hits per incident</h2>\n");
    let (Some(&min), Some(&max)) = (times.iter().min(), times.iter().max()) else {
        s.push_str("<p>No timestamps.</p></section>\n");
        return s;
    };
    let span = max.saturating_sub(min).max(1) as f64;
    let (left, width, row) = (260.0, 700.0, 22.0);
    let height = row * incidents.len() as f64 + 30.0;
    let _ = writeln!(
        s,
        "<svg id=\"timeline\" role=\"img\" aria-label=\"timeline\" viewBox=\"0 0 {} {height}\" width=\"100%\">",
        left + width + 20.0
    );
    for (n, i) in incidents.iter().enumerate() {
        let y = 20.0 + row * n as f64;
        let label = format!(
            "{} {}",
            i.hosts.first().map_or("?", String::as_str),
            &i.id[4..12.min(i.id.len())]
        );
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{}\" class=\"lbl\">{}</text>",
            y + 12.0,
            escape(&label)
        );
        let pos = |t: i64| left + t.saturating_sub(min) as f64 / span * width;
        let ts: Vec<i64> = i.timeline.iter().filter_map(|t| t.time).collect();
        if let (Some(a), Some(b)) = (ts.iter().min(), ts.iter().max()) {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"14\" fill=\"{}\" opacity=\"0.25\"><title>{} hits</title></rect>",
                pos(*a),
                y + 2.0,
                (pos(*b) - pos(*a)).max(2.0),
                level_color(i.severity.name()),
                i.hit_count
            );
            for t in ts.iter().take(MAX_MARKS) {
                let _ = writeln!(
                    s,
                    "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\"/>",
                    y + 2.0,
                    y + 16.0,
                    level_color(i.severity.name()),
                    x = pos(*t)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{}\" class=\"axis\">{}</text><text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text></svg></section>",
        height - 2.0,
        time::format_timestamp(min),
        left + width,
        height - 2.0,
        time::format_timestamp(max)
    );
    s
}

fn list(label: &str, items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = items
        .iter()
        .take(50)
        .map(|i| format!("<li>{}</li>", escape(i)))
        .collect();
    let more = if items.len() > 50 {
        format!("<li>… {} more</li>", items.len() - 50)
    } else {
        String::new()
    };
    format!(
        "<dt>{}</dt><dd><ul>{}{}</ul></dd>",
        escape(label),
        shown.concat(),
        more
    )
}

fn incident_card(i: &Incident) -> String {
    let e = &i.entities;
    let mut s = String::new();
    let _ = write!(
        s,
        "<article class=\"incident\" id=\"{id}\" data-severity=\"{sev}\"><h3><span class=\"sev\" style=\"background:{color}\">{sev}</span> {id} — {host}</h3>\
<p class=\"meta\">{first} → {last} · {hits} hits · {rules} rules{corr}</p><dl>",
        id = escape(&i.id),
        sev = i.severity.name(),
        color = level_color(i.severity.name()),
        host = escape(i.hosts.first().map_or("(unknown host)", String::as_str)),
        first = escape(i.first_seen.as_deref().unwrap_or("?")),
        last = escape(i.last_seen.as_deref().unwrap_or("?")),
        hits = i.hit_count,
        rules = i.rules.len(),
        corr = if i.correlation_hits > 0 { format!(" · {} correlation alerts", i.correlation_hits) } else { String::new() },
    );
    s.push_str(&list(
        "Rules",
        i.rules.iter().map(|r| {
            format!(
                "{} ({}, {} hits)",
                r.title,
                r.level.map_or("?", |l| l.name()),
                r.hits
            )
        }),
    ));
    s.push_str(&list(
        "Tactics",
        i.tactics.iter().map(|t| format!("{} {}", t.id, t.name)),
    ));
    s.push_str(&list(
        "Techniques",
        i.techniques.iter().map(|t| format!("{} {}", t.id, t.name)),
    ));
    s.push_str(&list("Users", e.users.iter().cloned()));
    s.push_str(&list("Processes", e.processes.iter().cloned()));
    s.push_str(&list(
        "Parent processes",
        e.parent_processes.iter().cloned(),
    ));
    s.push_str(&list("Command lines", e.command_lines.iter().cloned()));
    s.push_str(&list("IPs", e.ips.iter().cloned()));
    s.push_str(&list("Hashes", e.hashes.iter().cloned()));
    s.push_str(&list("Files", e.files.iter().cloned()));
    s.push_str(&list("Registry keys", e.registry_keys.iter().cloned()));
    s.push_str(&list("Services", e.services.iter().cloned()));
    s.push_str("</dl><details><summary>Timeline</summary><table><tr><th>time</th><th>rule</th><th>level</th><th>source</th></tr>");
    for t in i.timeline.iter().take(1000) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            t.time
                .map_or_else(|| "?".to_string(), time::format_timestamp),
            if t.correlation { "⛓ " } else { "" },
            escape(&t.rule.title),
            t.rule.level.map_or("?", |l| l.name()),
            escape(&t.source)
        );
    }
    if i.timeline.len() > 1000 {
        let _ = write!(
            s,
            "<tr><td colspan=\"4\">… {} more hits in the JSON output</td></tr>",
            i.timeline.len() - 1000
        );
    }
    s.push_str("</table></details></article>\n");
    s
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 2em 2em;color:#222}\
header{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd}\
h1{margin:.2em 0}#filter{width:40em;max-width:100%;padding:.3em}\
.tactics{display:flex;flex-wrap:wrap;gap:4px}.tactic{border:1px solid #ccc;padding:4px 8px;border-radius:4px;color:#888}\
.tactic.hit{background:#fff3e0;color:#222;border-color:#ef6c00}.tactic b{margin-left:6px}\
.incident{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:.8em 0}\
.sev{color:#fff;padding:1px 6px;border-radius:3px;font-size:12px;text-transform:uppercase}\
.meta{color:#555}dl{display:grid;grid-template-columns:10em 1fr;gap:2px 8px}dt{font-weight:600}dd{margin:0}\
dd ul{margin:0;padding-left:1.2em}table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #eee;padding:2px 6px;text-align:left}\
svg text.lbl{font-size:11px;font-family:monospace}svg text.axis{font-size:10px;fill:#666}";

const SCRIPT: &str = "(function(){\
var box=document.getElementById('filter');\
var cards=Array.prototype.slice.call(document.querySelectorAll('article.incident'));\
box.addEventListener('input',function(){var q=box.value.toLowerCase();\
cards.forEach(function(c){c.style.display=c.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});\
document.body.setAttribute('data-ready','ok');})();";

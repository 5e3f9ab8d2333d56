//! Pipelines from the Sigma documentation (sigmahq.io, "Processing
//! Pipelines"), checked to act as documented there. The expected trees were
//! produced by pySigma 1.5.1 on the same inputs (its Splunk output is quoted
//! for reference).

use super::tests::{pipe, rule, search};

const NAMING: &str = r#"name: Fixing the field naming mess
priority: 30
transformations:
  - id: image_fail_path
    type: detection_item_failure
    message: Image must only contain file name without any further path components.
    field_name_conditions:
      - type: include_fields
        fields:
          - Image
    detection_item_conditions:
      - type: match_string
        cond: any
        pattern: "^\\*\\\\?[^\\\\]+$"
        negate: true
  - id: image_file_only
    type: replace_string
    regex: "^\\*\\\\([^\\\\]+)$"
    replacement: "\\1"
    field_name_conditions:
      - type: include_fields
        fields:
          - Image
  - id: field_mapping
    type: field_name_mapping
    mapping:
      EventID:
        - event_id
        - evtid
  - id: windows_field_prefix
    type: field_name_prefix
    prefix: "win."
    field_name_cond_not: true
    field_name_conditions:
      - type: processing_item_applied
        processing_item_id: field_mapping
  - id: index_condition
    type: add_condition
    conditions:
      index: windows
    rule_conditions:
      - type: logsource
        product: windows
"#;

const QUICK_START: &str = r#"name: Example Splunk Pipeline
priority: 100
transformations:
  - id: set_index_and_source
    type: add_condition
    conditions:
      index: windows_logs
      source: WinEventLog:Security
  - id: map_commandline
    type: field_name_mapping
    mapping:
      CommandLine: Process_Command_Line
"#;

const SUSPICIOUS: &str = r#"title: Suspicious Command
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    EventID: 4688
    CommandLine|contains: suspicious_command
  condition: selection
"#;

const IMAGE: &str = r#"title: Image
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    EventID: 1
    Image|endswith: '\cmd.exe'
    CommandLine|contains: whoami
  condition: selection
"#;

const IMAGE_PATH: &str = r#"title: Image path
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image: 'C:\Windows\System32\cmd.exe'
  condition: selection
"#;

#[test]
fn quick_start_splunk_pipeline() {
    // pySigma + Splunk: index="windows_logs" source="WinEventLog:Security" EventID=4688 Process_Command_Line="*suspicious_command*"
    let out = pipe(QUICK_START)
        .apply(&rule(SUSPICIOUS))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.rule.detection.conditions[0].text,
        "_cond_1 and (selection)"
    );
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "index='windows_logs' AND source='WinEventLog:Security'"
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "EventID=4688 AND Process_Command_Line='*suspicious_command*'"
    );
    assert_eq!(out.applied, ["set_index_and_source", "map_commandline"]);
}

#[test]
fn fixing_the_field_naming_mess() {
    // pySigma + Splunk: index="windows" event_id=1 OR evtid=1 win.Image="cmd.exe" win.CommandLine="*whoami*"
    let p = pipe(NAMING);
    assert_eq!(p.name, "Fixing the field naming mess");
    assert_eq!(p.priority, 30);
    let out = p.apply(&rule(IMAGE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        search(&out.rule, "selection"),
        "(event_id=1 OR evtid=1) AND win.Image='cmd.exe' AND win.CommandLine='*whoami*'"
    );
    assert_eq!(search(&out.rule, "_cond_1"), "index='windows'");
    // A full path in Image is refused with the documented message.
    let e = p.apply(&rule(IMAGE_PATH)).unwrap_err();
    assert_eq!(
        e.message,
        "Image must only contain file name without any further path components."
    );
    assert_eq!(e.location.line, 7);
}

/// `docs/pipelines.md` shows `fixtures/pipelines/my-windows.yml` in full
/// (its commands and doctest run with the file): the two stay the same.
#[test]
fn the_documented_user_pipeline_is_the_fixture() {
    let doc = include_str!("../../../docs/pipelines.md");
    let fixture = include_str!("../../../fixtures/pipelines/my-windows.yml");
    let shown = doc
        .split_once("`fixtures/pipelines/my-windows.yml`")
        .and_then(|(_, rest)| rest.split_once("```yaml\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(yaml, _)| yaml);
    assert_eq!(shown, Some(fixture));
    assert_eq!(pipe(fixture).name, "my-windows");
}

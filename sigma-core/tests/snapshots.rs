//! insta snapshots of the syntax tree of representative corpus rules
//! (copied into fixtures/core so the test needs nothing outside the repo).

use std::path::Path;

fn snapshot(name: &str) {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/core")).join(name);
    let set = sigma_core::load_file(&path);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    // Drop the absolute file path so snapshots do not depend on the checkout.
    let docs: Vec<serde_json::Value> = set
        .documents
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).expect("serializable");
            if let Some(o) = v.get_mut("origin") {
                o["file"] = serde_json::Value::String(name.to_string());
            }
            v
        })
        .collect();
    insta::assert_json_snapshot!(name.trim_end_matches(".yml"), docs);
}

#[test]
fn kali_precedence_and_repeated_field() {
    snapshot("proc_creation_win_wsl_kali_linux_usage.yml");
}

#[test]
fn unreachable_identifier_and_inner_wildcard() {
    snapshot("proc_creation_lnx_susp_sensitive_file_access.yml");
}

#[test]
fn backslash_wildcard_escapes() {
    snapshot("file_event_win_powershell_module_susp_creation.yml");
}

#[test]
fn numeric_keywords_and_nested_parentheses() {
    snapshot("lnx_auditd_system_shutdown_reboot.yml");
}

#[test]
fn fieldref_and_null() {
    snapshot("proc_creation_win_susp_cross_user_process_spawn.yml");
}

#[test]
fn wide_base64offset_chain() {
    snapshot("proc_creation_win_exploit_cve_2025_53770_indicators.yml");
}

#[test]
fn base64offset_contains() {
    snapshot("proc_creation_win_powershell_base64_iex.yml");
}

#[test]
fn multi_document_global_collection() {
    snapshot("multi_doc_global.yml");
}

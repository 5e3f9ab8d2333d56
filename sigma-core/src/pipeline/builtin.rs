//! The built-in pipelines: pySigma-format YAML files embedded from
//! `rules/pipelines/`, plus `windows-hunt`, built from the routing table.

use super::Pipeline;

/// The names of the built-in pipelines.
pub(crate) const NAMES: &[&str] = &[
    "splunk_windows",
    "splunk_sysmon_acceleration",
    "splunk_cim",
    "ecs_windows",
    "ecs_windows_old",
    "sysmon",
    "windows-logsources",
    "windows-audit",
    "windows-hunt",
];

/// One line on what a built-in pipeline does.
pub(crate) fn description(name: &str) -> Option<&'static str> {
    Some(match name {
        "splunk_windows" => {
            "Splunk: source=\"WinEventLog:<channel>\" per Windows service, EventID -> EventCode"
        }
        "splunk_sysmon_acceleration" => "Splunk: search acceleration keywords for Sysmon rules",
        "splunk_cim" => "Splunk: CIM data model field mappings (for -f data_model)",
        "ecs_windows" => {
            "Elasticsearch: Winlogbeat >= 7 ECS field names and winlog.channel conditions"
        }
        "ecs_windows_old" => "Elasticsearch: Winlogbeat <= 6 field names",
        "sysmon" => "generic Windows categories -> Sysmon service and EventID",
        "windows-logsources" => "Channel condition per Windows service; PowerShell categories",
        "windows-audit" => "process creation and registry categories -> Security 4688/4657",
        "windows-hunt" => {
            "hunting: every Windows category and service -> Channel/EventID alternatives"
        }
        _ => return None,
    })
}

/// The embedded YAML of a built-in pipeline (`windows-hunt` has none: it is
/// built from `windows-routes.yml`).
pub(crate) fn yaml(name: &str) -> Option<&'static str> {
    Some(match name {
        "splunk_windows" => include_str!("../../../rules/pipelines/splunk_windows.yml"),
        "splunk_sysmon_acceleration" => {
            include_str!("../../../rules/pipelines/splunk_sysmon_acceleration.yml")
        }
        "splunk_cim" => include_str!("../../../rules/pipelines/splunk_cim.yml"),
        "ecs_windows" => include_str!("../../../rules/pipelines/ecs_windows.yml"),
        "ecs_windows_old" => include_str!("../../../rules/pipelines/ecs_windows_old.yml"),
        "sysmon" => include_str!("../../../rules/pipelines/sysmon.yml"),
        "windows-logsources" => include_str!("../../../rules/pipelines/windows-logsources.yml"),
        "windows-audit" => include_str!("../../../rules/pipelines/windows-audit.yml"),
        _ => return None,
    })
}

/// A built-in pipeline by name. The embedded files are checked by the test
/// suite, so a parse failure here cannot happen in a released build; it
/// yields `None` rather than a panic.
pub(crate) fn get(name: &str) -> Option<Pipeline> {
    if name == "windows-hunt" {
        return Some(super::routes::windows_hunt_pipeline());
    }
    let text = yaml(name)?;
    let path = format!("rules/pipelines/{name}.yml");
    Pipeline::from_yaml_str(text, Some(std::path::Path::new(&path))).ok()
}

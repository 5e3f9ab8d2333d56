//! Logsource routing: which events a rule may look at.
//!
//! A Sigma rule's `logsource` is a promise about the events it was written
//! for. For hunting through Windows logs it becomes conditions on the event
//! (Channel, EventID, Provider), checked before any detection logic, so a
//! Sysmon process-creation rule is never run against PowerShell events.
//! A logsource that has no route is reported (`--show-unrouted`) and the rule
//! does not run: matching it against every event would flood the output with
//! nonsense hits.
//!
//! Some logsources have several routes with different field names: a
//! `process_creation` rule runs on Sysmon EventID 1 as written and on
//! Security EventID 4688 with the Security names (`NewProcessName` for
//! `Image`, ...) substituted.
//!
//! The default router, [`SharedRouter`], reads the routing table of
//! `sigma_core::pipeline` (`rules/pipelines/windows-routes.yml`), so a
//! mapping is written once for the whole toolkit. [`WindowsRouter`] is the
//! earlier built-in table, kept as a fallback and for comparison.

use sigma_core::LogSource;

/// The Sysmon channel.
pub const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const PS_OPERATIONAL: &str = "Microsoft-Windows-PowerShell/Operational";
const PS_CLASSIC: &str = "Windows PowerShell";

/// One way a rule can see events: a channel set, an EventID set, and the
/// field renames that apply to these events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route {
    /// Accepted channels (compared case-insensitively); empty = any Windows
    /// event (an event that has a Channel).
    pub channels: Vec<String>,
    /// Accepted EventIDs; empty = any.
    pub event_ids: Vec<i64>,
    /// Sigma field name → event field name.
    pub mapping: Vec<(String, String)>,
}

/// A [`Route`] with the extra conditions of the shared routing table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuardedRoute {
    /// Channel, EventID and renames.
    pub route: Route,
    /// Accepted providers (`Provider_Name`); empty = any.
    pub providers: Vec<String>,
    /// Other required field values: field → any of these (case-insensitive).
    pub conditions: Vec<(String, Vec<String>)>,
    /// Rule fields these events do not have: a rule reading one of them
    /// cannot match through this route.
    pub unsupported_fields: Vec<String>,
}

/// Decides the routes of a rule.
pub trait Router: Send + Sync {
    /// The routes of a logsource, or why it has none.
    fn routes(&self, logsource: &LogSource) -> Result<Vec<Route>, String>;

    /// The routes with their extra conditions; by default, none.
    fn guarded_routes(&self, logsource: &LogSource) -> Result<Vec<GuardedRoute>, String> {
        Ok(self
            .routes(logsource)?
            .into_iter()
            .map(|route| GuardedRoute {
                route,
                ..GuardedRoute::default()
            })
            .collect())
    }
}

/// The built-in Windows routing table (Sysmon, Security, PowerShell and
/// the Windows service channels).
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowsRouter;

fn route(channels: &[&str], ids: &[i64]) -> Route {
    Route {
        channels: channels.iter().map(|s| s.to_string()).collect(),
        event_ids: ids.to_vec(),
        mapping: Vec::new(),
    }
}

/// Security 4688 names for the Sysmon process-creation fields.
const SECURITY_4688: &[(&str, &str)] = &[
    ("Image", "NewProcessName"),
    ("ParentImage", "ParentProcessName"),
    ("ProcessId", "NewProcessId"),
    ("ParentProcessId", "ProcessId"),
    ("User", "SubjectUserName"),
    ("LogonId", "SubjectLogonId"),
    ("IntegrityLevel", "MandatoryLabel"),
];

fn sysmon(ids: &[i64]) -> Vec<Route> {
    vec![route(&[SYSMON], ids)]
}

/// The channel of a `service:`.
fn service_channels(service: &str) -> Option<&'static [&'static str]> {
    Some(match service {
        "security" => &["Security"],
        "system" => &["System"],
        "application" => &["Application"],
        "sysmon" => &[SYSMON],
        "powershell" => &[PS_OPERATIONAL],
        "powershell-classic" => &[PS_CLASSIC],
        "taskscheduler" => &["Microsoft-Windows-TaskScheduler/Operational"],
        "wmi" => &["Microsoft-Windows-WMI-Activity/Operational"],
        "windefend" => &["Microsoft-Windows-Windows Defender/Operational"],
        "dns-server" => &["DNS Server"],
        "dns-server-analytic" => &["Microsoft-Windows-DNS-Server/Analytical"],
        "dns-client" => &["Microsoft-Windows-DNS Client Events/Operational"],
        "bits-client" => &["Microsoft-Windows-Bits-Client/Operational"],
        "codeintegrity-operational" => &["Microsoft-Windows-CodeIntegrity/Operational"],
        "firewall-as" => &["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"],
        "driver-framework" => &["Microsoft-Windows-DriverFrameworks-UserMode/Operational"],
        "ntlm" => &["Microsoft-Windows-NTLM/Operational"],
        "msexchange-management" => &["MSExchange Management"],
        "printservice-admin" => &["Microsoft-Windows-PrintService/Admin"],
        "printservice-operational" => &["Microsoft-Windows-PrintService/Operational"],
        "smbclient-security" => &["Microsoft-Windows-SmbClient/Security"],
        "smbclient-connectivity" => &["Microsoft-Windows-SmbClient/Connectivity"],
        "smbserver-connectivity" => &["Microsoft-Windows-SMBServer/Connectivity"],
        "terminalservices-localsessionmanager" => {
            &["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"]
        }
        "openssh" => &["OpenSSH/Operational"],
        "ldap" => &["Microsoft-Windows-LDAP-Client/Debug"],
        "security-mitigations" => &[
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "Microsoft-Windows-Security-Mitigations/User Mode",
        ],
        "diagnosis-scripted" => &["Microsoft-Windows-Diagnosis-Scripted/Operational"],
        "shell-core" => &["Microsoft-Windows-Shell-Core/Operational"],
        "appxdeployment-server" => &["Microsoft-Windows-AppXDeploymentServer/Operational"],
        "appxpackaging-om" => &["Microsoft-Windows-AppxPackaging/Operational"],
        "appmodel-runtime" => &["Microsoft-Windows-AppModel-Runtime/Admin"],
        "applocker" => &[
            "Microsoft-Windows-AppLocker/MSI and Script",
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
        ],
        "capi2" => &["Microsoft-Windows-CAPI2/Operational"],
        "certificateservicesclient-lifecycle-system" => {
            &["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"]
        }
        "lsa-server" => &["Microsoft-Windows-LSA/Operational"],
        "kernel-shimengine" => &[
            "Microsoft-Windows-Kernel-ShimEngine/Operational",
            "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
        ],
        "iis-configuration" => &["Microsoft-IIS-Configuration/Operational"],
        "hyper-v-worker" => &["Microsoft-Windows-Hyper-V-Worker-Admin"],
        "sense" => &["Microsoft-Windows-SENSE/Operational"],
        "vhdmp" => &["Microsoft-Windows-VHDMP/Operational"],
        "ldap_debug" => &["Microsoft-Windows-LDAP-Client/Debug"],
        _ => return None,
    })
}

fn category_routes(category: &str) -> Option<Vec<Route>> {
    Some(match category {
        "process_creation" => {
            let mut security = route(&["Security"], &[4688]);
            security.mapping = SECURITY_4688
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            vec![route(&[SYSMON], &[1]), security]
        }
        "file_change" => sysmon(&[2]),
        "network_connection" => sysmon(&[3]),
        "sysmon_status" => sysmon(&[4, 16]),
        "process_termination" => sysmon(&[5]),
        "driver_load" => sysmon(&[6]),
        "image_load" => sysmon(&[7]),
        "create_remote_thread" => sysmon(&[8]),
        "raw_access_thread" => sysmon(&[9]),
        "process_access" => sysmon(&[10]),
        "file_event" => sysmon(&[11]),
        "registry_add" => sysmon(&[12]),
        "registry_delete" => sysmon(&[12]),
        "registry_set" => sysmon(&[13]),
        "registry_rename" => sysmon(&[14]),
        "registry_event" => sysmon(&[12, 13, 14]),
        "create_stream_hash" => sysmon(&[15]),
        "pipe_created" => sysmon(&[17, 18]),
        "wmi_event" => sysmon(&[19, 20, 21]),
        "dns_query" => sysmon(&[22]),
        "file_delete" => sysmon(&[23, 26]),
        "clipboard_capture" => sysmon(&[24]),
        "process_tampering" => sysmon(&[25]),
        "file_delete_detected" => sysmon(&[26]),
        "file_block_executable" => sysmon(&[27]),
        "file_block_shredding" => sysmon(&[28]),
        "file_executable_detected" => sysmon(&[29]),
        "sysmon_error" => sysmon(&[255]),
        "ps_module" => vec![route(&[PS_OPERATIONAL], &[4103])],
        "ps_script" => vec![route(&[PS_OPERATIONAL], &[4104])],
        "ps_classic_start" => vec![route(&[PS_CLASSIC], &[400])],
        "ps_classic_provider_start" => vec![route(&[PS_CLASSIC], &[600])],
        "ps_classic_script" => vec![route(&[PS_CLASSIC], &[800])],
        _ => return None,
    })
}

impl Router for WindowsRouter {
    fn routes(&self, ls: &LogSource) -> Result<Vec<Route>, String> {
        match ls.product.as_deref() {
            Some("windows") => {}
            Some(p) => {
                return Err(format!(
                    "product '{p}' has no route in the Windows pipeline"
                ))
            }
            None if ls.category.is_none() && ls.service.is_none() => {
                return Err("the logsource is empty".to_string())
            }
            None => return Err("only 'product: windows' logsources are routed".to_string()),
        }
        let by_service = match ls.service.as_deref() {
            Some(s) => match service_channels(s) {
                Some(ch) => Some(vec![route(ch, &[])]),
                None => return Err(format!("service '{s}' has no Windows channel")),
            },
            None => None,
        };
        let by_category = match ls.category.as_deref() {
            Some(c) => match category_routes(c) {
                Some(r) => Some(r),
                None => return Err(format!("category '{c}' has no Windows route")),
            },
            None => None,
        };
        Ok(match (by_category, by_service) {
            (Some(c), Some(s)) => intersect(c, &s),
            (Some(c), None) => c,
            (None, Some(s)) => s,
            // `product: windows` alone: every Windows event.
            (None, None) => vec![route(&[], &[])],
        })
    }
}

/// Routes from the shared table of `sigma_core::pipeline`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedRouter;

impl Router for SharedRouter {
    fn routes(&self, ls: &LogSource) -> Result<Vec<Route>, String> {
        Ok(self
            .guarded_routes(ls)?
            .into_iter()
            .map(|g| g.route)
            .collect())
    }

    fn guarded_routes(&self, ls: &LogSource) -> Result<Vec<GuardedRoute>, String> {
        use sigma_core::pipeline::{routes_for, windows_logsource_routes};
        if ls.product.as_deref() == Some("windows") && ls.category.is_none() && ls.service.is_none()
        {
            // `product: windows` alone: every Windows event.
            return Ok(vec![GuardedRoute {
                route: route(&[], &[]),
                ..GuardedRoute::default()
            }]);
        }
        let alts = routes_for(
            windows_logsource_routes(),
            ls.category.as_deref(),
            ls.product.as_deref(),
            ls.service.as_deref(),
        );
        match alts {
            Some(alts) if !alts.is_empty() => Ok(alts
                .into_iter()
                .map(|a| {
                    let mut g = GuardedRoute {
                        route: Route {
                            channels: a.channel.clone(),
                            event_ids: a.event_ids.iter().map(|&i| i64::from(i)).collect(),
                            mapping: a
                                .field_renames
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        },
                        providers: a.provider.clone(),
                        conditions: a
                            .conditions
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        unsupported_fields: a.unsupported_fields.clone(),
                    };
                    add_security_4688_renames(&mut g);
                    g
                })
                .collect()),
            // The reason from the built-in table is more specific.
            _ => Err(WindowsRouter.routes(ls).err().unwrap_or_else(|| {
                let parts: Vec<String> = [("category", &ls.category), ("service", &ls.service)]
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} '{v}'")))
                    .collect();
                format!(
                    "{} is not in the shared Windows routing table",
                    parts.join(", ")
                )
            })),
        }
    }
}

/// The shared table maps only `Image`, `ParentImage` and `LogonId` for
/// Security 4688; the corpus also relies on `IntegrityLevel` (rules list
/// both `High` and the `S-1-16-12288` SID that 4688's `MandatoryLabel`
/// holds), `User`, and the process ids. Added here until the shared table
/// has them (renames it already has win).
fn add_security_4688_renames(g: &mut GuardedRoute) {
    let is_4688 = g.route.event_ids == [4688]
        && g.route
            .channels
            .iter()
            .any(|c| c.eq_ignore_ascii_case("Security"));
    if !is_4688 {
        return;
    }
    for (from, to) in SECURITY_4688 {
        if !g.route.mapping.iter().any(|(f, _)| f == from) {
            g.route.mapping.push((from.to_string(), to.to_string()));
        }
    }
}

/// Category routes restricted to the service's channels (for logsources
/// with both, such as `category: process_creation, service: sysmon`).
fn intersect(cat: Vec<Route>, svc: &[Route]) -> Vec<Route> {
    let chans: Vec<&String> = svc.iter().flat_map(|r| &r.channels).collect();
    let kept: Vec<Route> = cat
        .iter()
        .filter(|r| {
            r.channels
                .iter()
                .any(|c| chans.iter().any(|s| s.eq_ignore_ascii_case(c)))
        })
        .cloned()
        .collect();
    if kept.is_empty() {
        cat
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> LogSource {
        let mut l = sigma_core::parse_str(
            "title: t\nlogsource: {product: x}\ndetection: {s: {a: 1}, condition: s}\n",
            None,
        )
        .rules()
        .next()
        .map(|r| r.logsource.clone())
        .expect("rule");
        l.product = product.map(String::from);
        l.category = category.map(String::from);
        l.service = service.map(String::from);
        l
    }

    #[test]
    fn process_creation_has_two_routes() {
        let r = WindowsRouter
            .routes(&ls(Some("windows"), Some("process_creation"), None))
            .expect("routed");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].event_ids, vec![4688]);
        assert!(r[1]
            .mapping
            .iter()
            .any(|(a, b)| a == "Image" && b == "NewProcessName"));
    }

    #[test]
    fn unrouted_has_reasons() {
        assert!(WindowsRouter
            .routes(&ls(Some("linux"), Some("process_creation"), None))
            .is_err());
        assert!(WindowsRouter
            .routes(&ls(Some("windows"), Some("nonsense"), None))
            .is_err());
        assert!(WindowsRouter
            .routes(&ls(Some("windows"), None, Some("security")))
            .is_ok());
    }
}

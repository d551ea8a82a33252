//! Amazon VPC CNI state: the aws-node environment, ipamd's ENI
//! introspection, the CNI config list, and ipamd/plugin JSON logs.
//!
//! | bundle file | entry point |
//! |---|---|
//! | `ipamd/ipamd-env-settings.json` (`GET :61679/v1/ipamd-env-settings`, a JSON object of env names to strings) | [`parse_env_settings`] |
//! | `cni/cni-configuration-variables-containerd.json` (`ctr container info` of the `amazon-k8s-cni` container; env in `Spec.process.env` as `KEY=VALUE`) | [`parse_container_info`] |
//! | `ipamd/enis.json` (`GET :61679/v1/enis`) | [`parse_enis`] |
//! | `cni/10-aws.conflist` | [`parse_conflist`] |
//! | `var_log/aws-routed-eni/ipamd.log`, `plugin.log`, … (zap JSON lines) | [`parse_log`] |
//!
//! # Samples
//!
//! ```text
//! {"AWS_VPC_K8S_CNI_EXTERNALSNAT":"false","WARM_ENI_TARGET":"1","WARM_IP_TARGET":"",…}     <- env settings
//! {"ID":"…","Spec":{"process":{"env":["WARM_ENI_TARGET=1","ENABLE_PREFIX_DELEGATION=false",…]}}}  <- ctr container info
//! {"TotalIPs":28,"AssignedIPs":5,"ENIs":{"eni-0a…":{"ID":"eni-0a…","IsPrimary":true,"DeviceNumber":0,
//!   "AvailableIPv4Cidrs":{"10.0.12.40/32":{"IPAddresses":{"10.0.12.40":{"Address":"10.0.12.40",
//!   "IPAMKey":{"networkName":"aws-cni","containerID":"3f…","ifName":"eth0"}, …}},"IsPrefix":false}}}}}  <- enis
//! {"level":"info","ts":"2024-01-15T10:00:00.123Z","caller":"ipamd/ipamd.go:721","msg":"…"}  <- log line
//! ```
//!
//! # Shapes accepted
//!
//! The introspection shape above is that of VPC CNI 1.7 and later
//! (`datastore.ENIInfos`), written from memory of the aws/amazon-vpc-cni-k8s
//! sources; older releases listed `IPv4Addresses` with an `Assigned` flag per
//! address, which is accepted too, as is an array or a numbered map of such
//! objects (one per network card). An address counts as assigned when its
//! `IPAMKey.containerID` (or `networkName`) is non-empty or `Assigned` is
//! true. Unknown fields are kept in the raw JSON; wrong shapes become
//! diagnostics, not errors. Diagnostics point at the first line that
//! mentions the offending key, or at line 1.
//!
//! # Example
//!
//! ```
//! use node_artifacts::vpc_cni;
//! let enis = vpc_cni::parse_enis(include_str!("../../../../fixtures/vpc_cni/valid/enis-exhausted.json")).unwrap();
//! assert_eq!((enis.value.assigned(), enis.value.available()), (6, 0));
//! let env = vpc_cni::parse_env_settings(include_str!("../../../../fixtures/vpc_cni/valid/ipamd-env-settings.json")).unwrap();
//! assert_eq!(env.value.warm_eni_target, Some(1));
//! assert_eq!(env.value.enable_prefix_delegation, Some(false));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::line_util::keep_unparsed;
use crate::time::Timestamp;

/// Why an input is not the expected JSON at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON.
    #[error("not json: {message}")]
    NotJson {
        /// serde_json's message (includes line and column).
        message: String,
    },
    /// The JSON is not an object (or array of objects) of the expected kind.
    #[error("unexpected json shape: {reason}")]
    Shape {
        /// What was expected.
        reason: &'static str,
    },
}

/// The aws-node container environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AwsNodeEnv {
    /// Every variable, name to value.
    pub vars: BTreeMap<String, String>,
    /// `WARM_IP_TARGET`.
    pub warm_ip_target: Option<u32>,
    /// `MINIMUM_IP_TARGET`.
    pub minimum_ip_target: Option<u32>,
    /// `WARM_ENI_TARGET`.
    pub warm_eni_target: Option<u32>,
    /// `WARM_PREFIX_TARGET`.
    pub warm_prefix_target: Option<u32>,
    /// `MAX_ENI`.
    pub max_eni: Option<u32>,
    /// `AWS_VPC_ENI_MTU`.
    pub eni_mtu: Option<u32>,
    /// `ENABLE_PREFIX_DELEGATION`.
    pub enable_prefix_delegation: Option<bool>,
    /// `AWS_VPC_K8S_CNI_EXTERNALSNAT`.
    pub external_snat: Option<bool>,
    /// `AWS_VPC_K8S_CNI_RANDOMIZESNAT` (`none`, `hashrandom`, `prng`).
    pub randomize_snat: Option<String>,
    /// `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`, split on commas.
    pub exclude_snat_cidrs: Vec<String>,
    /// `AWS_VPC_CNI_NODE_PORT_SUPPORT`.
    pub node_port_support: Option<bool>,
    /// `ENABLE_POD_ENI` (security groups for pods).
    pub enable_pod_eni: Option<bool>,
    /// `POD_SECURITY_GROUP_ENFORCING_MODE`.
    pub pod_security_group_enforcing_mode: Option<String>,
    /// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`.
    pub custom_network_cfg: Option<bool>,
    /// `ENABLE_IPv4`.
    pub enable_ipv4: Option<bool>,
    /// `ENABLE_IPv6`.
    pub enable_ipv6: Option<bool>,
    /// `AWS_VPC_K8S_CNI_VETHPREFIX`.
    pub veth_prefix: Option<String>,
    /// `DISABLE_NETWORK_RESOURCE_PROVISIONING`.
    pub disable_network_resource_provisioning: Option<bool>,
    /// `NETWORK_POLICY_ENFORCING_MODE` / `ENABLE_NETWORK_POLICY` as printed.
    pub network_policy: Option<String>,
}

/// Parses `ipamd-env-settings.json` (a JSON object of names to strings).
///
/// # Errors
///
/// [`Error::NotJson`] or [`Error::Shape`] when it is not a JSON object.
pub fn parse_env_settings(input: &str) -> Result<Parsed<AwsNodeEnv>, Error> {
    let value = json(input)?;
    let Value::Object(map) = value else {
        return Err(Error::Shape {
            reason: "expected an object of environment variables",
        });
    };
    let mut diagnostics = Vec::new();
    let mut vars = BTreeMap::new();
    for (k, v) in map {
        match v {
            Value::String(s) => {
                vars.insert(k, s);
            }
            Value::Number(_) | Value::Bool(_) => {
                vars.insert(k, v.to_string());
            }
            other => diagnostics.push(Diagnostic {
                line: line_of(input, &format!("\"{k}\"")),
                reason: format!("variable `{k}` is not a string but {}", kind(&other)),
            }),
        }
    }
    Ok(typed_env(input, vars, diagnostics))
}

/// Parses `cni-configuration-variables-containerd.json`: one or more
/// `ctr container info` JSON documents (concatenated when several
/// containers matched). The environment of the last document with one wins;
/// text that is not JSON (a `ctr` error merged from stderr) is kept as
/// unparsed lines.
///
/// # Errors
///
/// [`Error::Shape`] when no document holds `Spec.process.env`.
pub fn parse_container_info(input: &str) -> Result<Parsed<ContainerInfo>, Error> {
    let mut diagnostics = Vec::new();
    let mut info = ContainerInfo::default();
    let mut vars = BTreeMap::new();
    let mut found_env = false;
    let mut rest = input;
    let mut offset_line = 0usize;
    while !rest.trim().is_empty() {
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(doc)) => {
                let consumed = stream.byte_offset();
                offset_line += rest[..consumed].matches('\n').count();
                rest = &rest[consumed..];
                if let Some(id) = doc.get("ID").and_then(Value::as_str) {
                    info.container_ids.push(id.to_owned());
                }
                if let Some(image) = doc.get("Image").and_then(Value::as_str) {
                    info.images.push(image.to_owned());
                }
                let Some(env) = doc.pointer("/Spec/process/env") else {
                    continue;
                };
                let Some(env) = env.as_array() else {
                    diagnostics.push(Diagnostic {
                        line: line_of(input, "\"env\""),
                        reason: "`Spec.process.env` is not an array".to_owned(),
                    });
                    continue;
                };
                found_env = true;
                vars.clear();
                for item in env {
                    match item.as_str().and_then(|s| s.split_once('=')) {
                        Some((k, v)) => {
                            vars.insert(k.to_owned(), v.to_owned());
                        }
                        None => diagnostics.push(Diagnostic {
                            line: line_of(input, &item.to_string()),
                            reason: format!("env entry {item} is not `KEY=VALUE`"),
                        }),
                    }
                }
            }
            Some(Err(e)) if e.is_eof() => {
                // An unterminated document: the rest of the input cannot
                // hold another one, so keep every remaining line and stop
                // (retrying line by line would rescan to the end each time).
                for line in rest.split('\n') {
                    offset_line += 1;
                    info.unparsed.push(keep_unparsed(
                        &mut diagnostics,
                        offset_line,
                        line.trim_end_matches('\r'),
                        "unterminated JSON document",
                    ));
                }
                break;
            }
            Some(Err(_)) | None => {
                // Keep the offending line and resume after it.
                let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
                offset_line += 1;
                info.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    offset_line,
                    line.trim_end_matches('\r'),
                    "not a JSON document",
                ));
                rest = after;
            }
        }
        // Whitespace between documents may hold newlines.
        let trimmed = rest.trim_start();
        offset_line += rest[..rest.len() - trimmed.len()].matches('\n').count();
        rest = trimmed;
    }
    if !found_env {
        return Err(Error::Shape {
            reason: "no `Spec.process.env` in any document",
        });
    }
    let env = typed_env(input, vars, Vec::new());
    diagnostics.extend(env.diagnostics);
    info.env = env.value;
    Ok(Parsed {
        value: info,
        diagnostics,
    })
}

/// What `ctr container info` says about the aws-node container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// Container ids of every document.
    pub container_ids: Vec<String>,
    /// Images of every document (carry the VPC CNI version tag).
    pub images: Vec<String>,
    /// The environment.
    pub env: AwsNodeEnv,
    /// Lines that were not JSON.
    pub unparsed: Vec<Unparsed>,
}

impl ContainerInfo {
    /// The VPC CNI version from the image tag (`…/amazon-k8s-cni:v1.18.3` →
    /// `v1.18.3`).
    pub fn cni_version(&self) -> Option<&str> {
        self.images
            .iter()
            .rev()
            .find_map(|i| i.rsplit_once(':').map(|(_, tag)| tag))
    }
}

fn typed_env(
    input: &str,
    vars: BTreeMap<String, String>,
    mut diagnostics: Vec<Diagnostic>,
) -> Parsed<AwsNodeEnv> {
    let mut bad = |key: &str, what: &str, value: &str| {
        diagnostics.push(Diagnostic {
            line: line_of(input, key),
            reason: format!("`{key}` value `{value}` is not {what}"),
        });
    };
    let mut number = |key: &str| -> Option<u32> {
        let v = vars.get(key)?.trim();
        if v.is_empty() {
            return None;
        }
        match v.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                bad(key, "a number", v);
                None
            }
        }
    };
    let warm_ip_target = number("WARM_IP_TARGET");
    let minimum_ip_target = number("MINIMUM_IP_TARGET");
    let warm_eni_target = number("WARM_ENI_TARGET");
    let warm_prefix_target = number("WARM_PREFIX_TARGET");
    let max_eni = number("MAX_ENI");
    let eni_mtu = number("AWS_VPC_ENI_MTU");
    let mut boolean = |key: &str| -> Option<bool> {
        let v = vars.get(key)?.trim();
        if v.is_empty() {
            return None;
        }
        // Go's strconv.ParseBool, which the VPC CNI uses.
        match v {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => {
                diagnostics.push(Diagnostic {
                    line: line_of(input, key),
                    reason: format!("`{key}` value `{v}` is not a boolean"),
                });
                None
            }
        }
    };
    let enable_prefix_delegation = boolean("ENABLE_PREFIX_DELEGATION");
    let external_snat = boolean("AWS_VPC_K8S_CNI_EXTERNALSNAT");
    let node_port_support = boolean("AWS_VPC_CNI_NODE_PORT_SUPPORT");
    let enable_pod_eni = boolean("ENABLE_POD_ENI");
    let custom_network_cfg = boolean("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG");
    let enable_ipv4 = boolean("ENABLE_IPv4");
    let enable_ipv6 = boolean("ENABLE_IPv6");
    let disable_network_resource_provisioning = boolean("DISABLE_NETWORK_RESOURCE_PROVISIONING");
    let text = |key: &str| vars.get(key).filter(|v| !v.is_empty()).cloned();
    let env = AwsNodeEnv {
        warm_ip_target,
        minimum_ip_target,
        warm_eni_target,
        warm_prefix_target,
        max_eni,
        eni_mtu,
        enable_prefix_delegation,
        external_snat,
        randomize_snat: text("AWS_VPC_K8S_CNI_RANDOMIZESNAT"),
        exclude_snat_cidrs: vars
            .get("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        node_port_support,
        enable_pod_eni,
        pod_security_group_enforcing_mode: text("POD_SECURITY_GROUP_ENFORCING_MODE"),
        custom_network_cfg,
        enable_ipv4,
        enable_ipv6,
        veth_prefix: text("AWS_VPC_K8S_CNI_VETHPREFIX"),
        disable_network_resource_provisioning,
        network_policy: text("NETWORK_POLICY_ENFORCING_MODE")
            .or_else(|| text("ENABLE_NETWORK_POLICY")),
        vars,
    };
    diagnostics.sort_by_key(|d| d.line);
    Parsed {
        value: env,
        diagnostics,
    }
}

/// ipamd's ENI and IP address bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EniIntrospection {
    /// `TotalIPs` as reported (summed over network cards).
    pub total_ips: Option<u64>,
    /// `AssignedIPs` as reported.
    pub assigned_ips: Option<u64>,
    /// ENIs sorted by device number, then id.
    pub enis: Vec<Eni>,
    /// The whole document, for fields not modelled here (IPv6 CIDRs,
    /// assignment times).
    pub raw: Value,
}

impl EniIntrospection {
    /// Addresses assigned to pods, counted from the ENIs.
    pub fn assigned(&self) -> usize {
        self.addresses().filter(|a| a.assigned).count()
    }

    /// Addresses held by ipamd but free, counted from the ENIs.
    pub fn available(&self) -> usize {
        self.addresses().filter(|a| !a.assigned).count()
    }

    /// Every address on every ENI.
    pub fn addresses(&self) -> impl Iterator<Item = &EniAddress> {
        self.enis
            .iter()
            .flat_map(|e| e.cidrs.iter().flat_map(|c| c.addresses.iter()))
    }

    /// Number of delegated prefixes (`/28`s) across ENIs.
    pub fn prefix_count(&self) -> usize {
        self.enis
            .iter()
            .flat_map(|e| &e.cidrs)
            .filter(|c| c.is_prefix)
            .count()
    }
}

/// One ENI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eni {
    /// `eni-…` id.
    pub id: String,
    /// The instance's primary ENI.
    pub is_primary: bool,
    /// A trunk ENI (security groups for pods).
    pub is_trunk: bool,
    /// An EFA interface.
    pub is_efa: bool,
    /// Device number (0 for the primary ENI).
    pub device_number: Option<u64>,
    /// IPv4 secondary addresses or prefixes, sorted by CIDR text.
    pub cidrs: Vec<EniCidr>,
}

/// A secondary address (`/32`) or delegated prefix (`/28`) of an ENI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EniCidr {
    /// CIDR text (the map key).
    pub cidr: String,
    /// A delegated prefix rather than a single address.
    pub is_prefix: bool,
    /// Addresses ipamd tracks in it, sorted.
    pub addresses: Vec<EniAddress>,
}

/// One address ipamd tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EniAddress {
    /// The address.
    pub address: String,
    /// Whether a pod holds it.
    pub assigned: bool,
    /// Pod namespace, when known.
    pub pod_namespace: Option<String>,
    /// Pod name, when known.
    pub pod_name: Option<String>,
    /// Sandbox container id, when assigned.
    pub container_id: Option<String>,
}

/// Parses `enis.json`.
///
/// # Errors
///
/// [`Error::NotJson`], or [`Error::Shape`] when no `ENIs` object is found.
pub fn parse_enis(input: &str) -> Result<Parsed<EniIntrospection>, Error> {
    let value = json(input)?;
    let mut diagnostics = Vec::new();
    let mut out = EniIntrospection::default();
    // One object, an array of objects, or a map of network card → object.
    let docs: Vec<Value> = match &value {
        Value::Object(m) if m.contains_key("ENIs") => vec![value.clone()],
        Value::Object(m) => m
            .values()
            .filter(|v| v.get("ENIs").is_some())
            .cloned()
            .collect(),
        Value::Array(a) => a
            .iter()
            .filter(|v| v.get("ENIs").is_some())
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    if docs.is_empty() {
        return Err(Error::Shape {
            reason: "no object with an `ENIs` field",
        });
    }
    for doc in &docs {
        let add = |acc: &mut Option<u64>, v: Option<u64>| {
            if let Some(v) = v {
                *acc = Some(acc.unwrap_or(0) + v);
            }
        };
        add(
            &mut out.total_ips,
            doc.get("TotalIPs").and_then(Value::as_u64),
        );
        add(
            &mut out.assigned_ips,
            doc.get("AssignedIPs").and_then(Value::as_u64),
        );
        let Some(enis) = doc.get("ENIs").and_then(Value::as_object) else {
            diagnostics.push(Diagnostic {
                line: line_of(input, "\"ENIs\""),
                reason: "`ENIs` is not an object".to_owned(),
            });
            continue;
        };
        for (key, eni) in enis {
            out.enis.push(parse_eni(input, key, eni, &mut diagnostics));
        }
    }
    out.enis
        .sort_by(|a, b| (a.device_number, &a.id).cmp(&(b.device_number, &b.id)));
    out.raw = value;
    diagnostics.sort_by_key(|d| d.line);
    Ok(Parsed {
        value: out,
        diagnostics,
    })
}

fn parse_eni(input: &str, key: &str, eni: &Value, diagnostics: &mut Vec<Diagnostic>) -> Eni {
    let flag = |name: &str| eni.get(name).and_then(Value::as_bool).unwrap_or(false);
    let mut out = Eni {
        id: eni
            .get("ID")
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned(),
        is_primary: flag("IsPrimary"),
        is_trunk: flag("IsTrunk"),
        is_efa: flag("IsEFA"),
        device_number: eni.get("DeviceNumber").and_then(Value::as_u64),
        cidrs: Vec::new(),
    };
    if let Some(cidrs) = eni.get("AvailableIPv4Cidrs") {
        let Some(cidrs) = cidrs.as_object() else {
            diagnostics.push(Diagnostic {
                line: line_of(input, "\"AvailableIPv4Cidrs\""),
                reason: format!("`AvailableIPv4Cidrs` of `{key}` is not an object"),
            });
            return out;
        };
        for (cidr, c) in cidrs {
            let mut addresses: Vec<EniAddress> = c
                .get("IPAddresses")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(a, v)| address(a, v)).collect())
                .unwrap_or_default();
            addresses.sort_by(|a, b| a.address.cmp(&b.address));
            out.cidrs.push(EniCidr {
                cidr: cidr.clone(),
                is_prefix: c.get("IsPrefix").and_then(Value::as_bool).unwrap_or(false),
                addresses,
            });
        }
    } else if let Some(addrs) = eni.get("IPv4Addresses").and_then(Value::as_object) {
        // Pre-1.7 shape: one map of addresses with an `Assigned` flag.
        for (a, v) in addrs {
            out.cidrs.push(EniCidr {
                cidr: format!("{a}/32"),
                is_prefix: false,
                addresses: vec![address(a, v)],
            });
        }
    }
    out.cidrs.sort_by(|a, b| a.cidr.cmp(&b.cidr));
    out
}

fn address(key: &str, v: &Value) -> EniAddress {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let container_id = s("/IPAMKey/containerID");
    let network = s("/IPAMKey/networkName");
    let assigned = container_id.is_some()
        || network.is_some()
        || v.get("Assigned").and_then(Value::as_bool).unwrap_or(false);
    EniAddress {
        address: s("/Address").unwrap_or_else(|| key.to_owned()),
        assigned,
        pod_namespace: s("/IPAMMetadata/k8sPodNamespace").or_else(|| s("/K8SPodNamespace")),
        pod_name: s("/IPAMMetadata/k8sPodName").or_else(|| s("/K8SPodName")),
        container_id,
    }
}

/// A CNI network configuration list (`10-aws.conflist`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniConfList {
    /// `cniVersion`.
    pub cni_version: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// Plugins in chain order.
    pub plugins: Vec<CniPlugin>,
    /// `mtu` of the `aws-cni` plugin (a string in the VPC CNI template).
    pub mtu: Option<u32>,
    /// `vethPrefix` of the `aws-cni` plugin.
    pub veth_prefix: Option<String>,
    /// The whole document.
    pub raw: Value,
}

/// One plugin of a config list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniPlugin {
    /// `type` (the binary: `aws-cni`, `egress-cni`, `portmap`, …).
    pub plugin_type: String,
    /// `name`, if set.
    pub name: Option<String>,
}

/// Parses a CNI `.conflist`.
///
/// # Errors
///
/// [`Error::NotJson`], or [`Error::Shape`] when it is not an object.
pub fn parse_conflist(input: &str) -> Result<Parsed<CniConfList>, Error> {
    let value = json(input)?;
    if !value.is_object() {
        return Err(Error::Shape {
            reason: "expected a conflist object",
        });
    }
    let mut diagnostics = Vec::new();
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut plugins = Vec::new();
    let mut mtu = None;
    let mut veth_prefix = None;
    match value.get("plugins") {
        Some(Value::Array(list)) => {
            for p in list {
                let Some(plugin_type) = text(p, "type") else {
                    diagnostics.push(Diagnostic {
                        line: line_of(input, "\"plugins\""),
                        reason: "a plugin has no `type`".to_owned(),
                    });
                    continue;
                };
                if plugin_type == "aws-cni" {
                    mtu = match p.get("mtu") {
                        Some(Value::String(s)) => s.trim().parse().ok(),
                        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                        _ => None,
                    };
                    if p.get("mtu").is_some() && mtu.is_none() {
                        diagnostics.push(Diagnostic {
                            line: line_of(input, "\"mtu\""),
                            reason: "`mtu` is not a number".to_owned(),
                        });
                    }
                    veth_prefix = text(p, "vethPrefix");
                }
                plugins.push(CniPlugin {
                    plugin_type,
                    name: text(p, "name"),
                });
            }
        }
        Some(_) => diagnostics.push(Diagnostic {
            line: line_of(input, "\"plugins\""),
            reason: "`plugins` is not an array".to_owned(),
        }),
        None => diagnostics.push(Diagnostic {
            line: 1,
            reason: "no `plugins` array".to_owned(),
        }),
    }
    Ok(Parsed {
        value: CniConfList {
            cni_version: text(&value, "cniVersion"),
            name: text(&value, "name"),
            plugins,
            mtu,
            veth_prefix,
            raw: value,
        },
        diagnostics,
    })
}

/// A VPC CNI log file (`ipamd.log`, `plugin.log`, `egress-v6-plugin.log`,
/// `network-policy-agent.log`): zap JSON, one object per line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CniLog {
    /// Entries in file order.
    pub entries: Vec<CniLogEntry>,
    /// Lines that were not JSON objects.
    pub unparsed: Vec<Unparsed>,
}

impl CniLog {
    /// Entries at `error` level or worse.
    pub fn errors(&self) -> impl Iterator<Item = &CniLogEntry> {
        self.entries.iter().filter(|e| {
            matches!(
                e.level.as_deref(),
                Some("error" | "fatal" | "panic" | "dpanic")
            )
        })
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniLogEntry {
    /// 1-based input line.
    pub line: usize,
    /// `ts` parsed as RFC 3339, when it is.
    pub time: Option<Timestamp>,
    /// `level`.
    pub level: Option<String>,
    /// `caller` (`ipamd/ipamd.go:721`).
    pub caller: Option<String>,
    /// `msg`.
    pub msg: Option<String>,
    /// Other fields, as JSON text, sorted by name.
    pub fields: BTreeMap<String, String>,
}

/// Parses a VPC CNI JSON log. Any text is accepted.
pub fn parse_log(input: &str) -> Parsed<CniLog> {
    let mut log = CniLog::default();
    let mut diagnostics = Vec::new();
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Map<String, Value>>(raw) {
            Ok(mut obj) => {
                let mut take = |k: &str| match obj.remove(k) {
                    Some(Value::String(s)) => Some(s),
                    Some(other) => Some(other.to_string()),
                    None => None,
                };
                let ts = take("ts");
                let level = take("level");
                let caller = take("caller");
                let msg = take("msg");
                let time = ts.as_deref().and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                        .map(Timestamp::from_datetime)
                });
                if ts.is_some() && time.is_none() {
                    diagnostics.push(Diagnostic {
                        line: line_no,
                        reason: "`ts` is not an RFC 3339 time".to_owned(),
                    });
                }
                let fields = obj
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect();
                log.entries.push(CniLogEntry {
                    line: line_no,
                    time,
                    level,
                    caller,
                    msg,
                    fields,
                });
            }
            Err(_) => log.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "not a JSON object",
            )),
        }
    }
    Parsed {
        value: log,
        diagnostics,
    }
}

fn json(input: &str) -> Result<Value, Error> {
    serde_json::from_str(input).map_err(|e| Error::NotJson {
        message: e.to_string(),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The 1-based line of the first occurrence of `needle`, or 1.
fn line_of(input: &str, needle: &str) -> usize {
    input
        .find(needle)
        .map_or(1, |at| input[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_settings() {
        let p = parse_env_settings(
            "{\n\"WARM_IP_TARGET\": \"5\",\n\"ENABLE_PREFIX_DELEGATION\": \"maybe\",\n\"MINIMUM_IP_TARGET\": \"\",\n\"X\": [1]\n}",
        )
        .unwrap();
        assert_eq!(p.value.warm_ip_target, Some(5));
        assert_eq!(p.value.minimum_ip_target, None);
        assert_eq!(p.value.enable_prefix_delegation, None);
        let got: Vec<_> = p
            .diagnostics
            .iter()
            .map(|d| (d.line, d.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    3,
                    "`ENABLE_PREFIX_DELEGATION` value `maybe` is not a boolean"
                ),
                (5, "variable `X` is not a string but an array")
            ]
        );
        assert!(parse_env_settings("[]").is_err());
        assert!(parse_env_settings("nope").is_err());
    }

    #[test]
    fn container_info_stream() {
        let p = parse_container_info(
            "ctr: oops\n{\"ID\":\"a\",\"Image\":\"x/amazon-k8s-cni:v1.18.3\",\"Spec\":{\"process\":{\"env\":[\"WARM_ENI_TARGET=1\",\"BAD\"]}}}\n",
        )
        .unwrap();
        assert_eq!(p.value.env.warm_eni_target, Some(1));
        assert_eq!(p.value.cni_version(), Some("v1.18.3"));
        assert_eq!(p.value.unparsed[0].line, 1);
        assert_eq!(p.diagnostics.len(), 2);
        assert!(parse_container_info("{}").is_err());
        let cut =
            parse_container_info("{\"Spec\":{\"process\":{\"env\":[\"A=1\"]}}}\n{\"ID\":\n\"x\"")
                .unwrap();
        let lines: Vec<_> = cut.value.unparsed.iter().map(|u| u.line).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn enis_old_and_new() {
        let new = parse_enis(
            r#"{"TotalIPs":2,"AssignedIPs":1,"ENIs":{"eni-1":{"ID":"eni-1","IsPrimary":true,"DeviceNumber":0,"AvailableIPv4Cidrs":{"10.0.0.5/32":{"IPAddresses":{"10.0.0.5":{"Address":"10.0.0.5","IPAMKey":{"networkName":"aws-cni","containerID":"c1","ifName":"eth0"}},"10.0.0.6":{"Address":"10.0.0.6","IPAMKey":{"networkName":"","containerID":"","ifName":""}}},"IsPrefix":false}}}}}"#,
        )
        .unwrap();
        assert_eq!((new.value.assigned(), new.value.available()), (1, 1));
        let old = parse_enis(
            r#"[{"ENIs":{"eni-2":{"IPv4Addresses":{"10.0.0.7":{"Address":"10.0.0.7","Assigned":true}}}}}]"#,
        )
        .unwrap();
        assert_eq!(old.value.assigned(), 1);
        assert!(parse_enis("{}").is_err());
    }

    #[test]
    fn logs() {
        let p = parse_log(
            "{\"level\":\"error\",\"ts\":\"2024-01-15T10:00:00.123Z\",\"caller\":\"ipamd/ipamd.go:1\",\"msg\":\"x\",\"n\":1}\nplain\n",
        );
        assert_eq!(p.value.errors().count(), 1);
        assert_eq!(p.value.entries[0].fields["n"], "1");
        assert_eq!(p.diagnostics.len(), 1);
    }
}

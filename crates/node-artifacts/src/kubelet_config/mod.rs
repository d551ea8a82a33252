//! The kubelet's `KubeletConfiguration` (`kubelet/config.json` written by
//! nodeadm on AL2023, `kubelet/kubelet-config.json` on AL2).
//!
//! # Sample
//!
//! ```text
//! {
//!   "kind": "KubeletConfiguration",
//!   "apiVersion": "kubelet.config.k8s.io/v1beta1",
//!   "clusterDNS": ["172.20.0.10"],             <- cluster DNS service IPs
//!   "clusterDomain": "cluster.local",
//!   "maxPods": 29,                             <- ENI-based limit for the instance type
//!   "evictionHard": {"memory.available": "100Mi", "nodefs.available": "10%"},  <- quantities or percentages
//!   "kubeReserved": {"cpu": "70m", "ephemeral-storage": "1Gi", "memory": "442Mi"},
//!   "podPidsLimit": -1,
//!   "serializeImagePulls": false
//! }
//! ```
//!
//! # Grammar of the values
//!
//! ```text
//! threshold = quantity | percent
//! percent   = decimal "%"
//! quantity  = [ "+" | "-" ] decimal [ suffix ]
//! suffix    = "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"          (* powers of 1024 *)
//!           | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" (* powers of 1000 *)
//!           | ( "e" | "E" ) [ "+" | "-" ] digits                 (* decimal exponent *)
//! ```
//!
//! Quantities are held as milli-units in an `i128`, as Kubernetes'
//! `MilliValue` does, so `70m` CPU and `100Mi` bytes are both exact. The
//! whole JSON is kept in [`KubeletConfig::raw`] for fields not modelled here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diag::{Diagnostic, Parsed};

/// Why an input is not a kubelet configuration at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON.
    #[error("not json: {message}")]
    NotJson {
        /// serde_json's message.
        message: String,
    },
    /// The JSON is not an object.
    #[error("kubelet configuration is not a json object")]
    NotObject,
}

/// A parsed `KubeletConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubeletConfig {
    /// `kind`.
    pub kind: Option<String>,
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `maxPods`.
    pub max_pods: Option<u32>,
    /// `clusterDNS`.
    pub cluster_dns: Vec<String>,
    /// `clusterDomain`.
    pub cluster_domain: Option<String>,
    /// `evictionHard` signal → threshold.
    pub eviction_hard: BTreeMap<String, Threshold>,
    /// `evictionSoft` signal → threshold.
    pub eviction_soft: BTreeMap<String, Threshold>,
    /// `evictionSoftGracePeriod` signal → duration text.
    pub eviction_soft_grace_period: BTreeMap<String, String>,
    /// `kubeReserved` resource → quantity.
    pub kube_reserved: BTreeMap<String, Quantity>,
    /// `systemReserved` resource → quantity.
    pub system_reserved: BTreeMap<String, Quantity>,
    /// `podPidsLimit` (-1 for unlimited).
    pub pod_pids_limit: Option<i64>,
    /// `serializeImagePulls`.
    pub serialize_image_pulls: Option<bool>,
    /// `maxParallelImagePulls`.
    pub max_parallel_image_pulls: Option<u32>,
    /// `cgroupDriver`.
    pub cgroup_driver: Option<String>,
    /// `containerRuntimeEndpoint`.
    pub container_runtime_endpoint: Option<String>,
    /// `providerID` (`aws:///us-west-2a/i-…`).
    pub provider_id: Option<String>,
    /// `featureGates`.
    pub feature_gates: BTreeMap<String, bool>,
    /// The whole document.
    pub raw: Value,
}

/// An eviction threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Threshold {
    /// An absolute quantity (`100Mi`).
    Quantity(Quantity),
    /// A percentage of capacity, in hundredths of a percent (`7.5%` → 750).
    Percent {
        /// Hundredths of a percent.
        basis_points: u32,
        /// As written.
        raw: String,
    },
}

/// A Kubernetes resource quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quantity {
    /// As written.
    pub raw: String,
    /// Value × 1000 (Kubernetes `MilliValue`), rounded up.
    pub milli: i128,
}

impl Quantity {
    /// Parses a quantity string.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        let (neg, body) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (number, suffix) = body.split_at(num_end);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if frac_part.len() > 18 || int_part.len() > 24 {
            return None;
        }
        // mantissa / 10^scale, scaled by (base^exp) and 1000.
        let digits = format!("{int_part}{frac_part}");
        let mantissa: i128 = digits.parse().ok()?;
        let mut scale = frac_part.len() as i32;
        let (mult, dec_exp): (i128, i32) = match suffix {
            "" => (1, 0),
            "Ki" => (1 << 10, 0),
            "Mi" => (1 << 20, 0),
            "Gi" => (1 << 30, 0),
            "Ti" => (1 << 40, 0),
            "Pi" => (1 << 50, 0),
            "Ei" => (1 << 60, 0),
            "n" => (1, -9),
            "u" => (1, -6),
            "m" => (1, -3),
            "k" => (1, 3),
            "M" => (1, 6),
            "G" => (1, 9),
            "T" => (1, 12),
            "P" => (1, 15),
            "E" => (1, 18),
            other => {
                let exp = other.strip_prefix(['e', 'E'])?;
                (1, exp.parse().ok().filter(|e: &i32| e.abs() <= 30)?)
            }
        };
        // milli = mantissa * mult * 10^(dec_exp + 3 - scale), rounded up.
        scale -= dec_exp + 3;
        let base = mantissa.checked_mul(mult)?;
        let milli = if scale <= 0 {
            base.checked_mul(10i128.checked_pow(u32::try_from(-scale).ok()?)?)?
        } else {
            let div = 10i128.checked_pow(u32::try_from(scale).ok()?)?;
            (base + div - 1) / div
        };
        Some(Self {
            raw: s.to_owned(),
            milli: if neg { -milli } else { milli },
        })
    }

    /// The value in whole units, rounded up (Kubernetes `Value`).
    pub fn value(&self) -> i128 {
        (self.milli + 999).div_euclid(1000)
    }
}

impl Threshold {
    /// Parses `100Mi` or `10%`.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(p) = s.trim().strip_suffix('%') {
            let (int_part, frac) = p.split_once('.').unwrap_or((p, ""));
            if frac.len() > 2 || int_part.is_empty() {
                return None;
            }
            let int: u32 = int_part.parse().ok()?;
            let frac_val: u32 = if frac.is_empty() {
                0
            } else {
                frac.parse::<u32>().ok()? * if frac.len() == 1 { 10 } else { 1 }
            };
            let basis_points = int.checked_mul(100)?.checked_add(frac_val)?;
            return (basis_points <= 10_000).then(|| Self::Percent {
                basis_points,
                raw: s.to_owned(),
            });
        }
        Quantity::parse(s).map(Self::Quantity)
    }
}

impl KubeletConfig {
    /// The hard eviction threshold for `memory.available`.
    pub fn memory_eviction_hard(&self) -> Option<&Threshold> {
        self.eviction_hard.get("memory.available")
    }
}

/// Parses a kubelet configuration JSON document.
///
/// # Errors
///
/// [`Error::NotJson`] or [`Error::NotObject`].
pub fn parse(input: &str) -> Result<Parsed<KubeletConfig>, Error> {
    let raw: Value = serde_json::from_str(input).map_err(|e| Error::NotJson {
        message: e.to_string(),
    })?;
    if !raw.is_object() {
        return Err(Error::NotObject);
    }
    let mut diagnostics = Vec::new();
    let mut diag = |key: &str, reason: String| {
        diagnostics.push(Diagnostic {
            line: line_of(input, &format!("\"{key}\"")),
            reason,
        });
    };
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let kind = text("kind");
    if let Some(k) = &kind
        && k != "KubeletConfiguration"
    {
        diag("kind", format!("kind is `{k}`, not `KubeletConfiguration`"));
    }
    let max_pods = match raw.get("maxPods") {
        None => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                diag("maxPods", format!("`maxPods` is not a count: {v}"));
                None
            }
        },
    };
    let cluster_dns = match raw.get("clusterDNS") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(v) => {
            diag("clusterDNS", format!("`clusterDNS` is not an array: {v}"));
            Vec::new()
        }
    };
    let mut string_map = |key: &str| -> BTreeMap<String, String> {
        match raw.get(key) {
            None => BTreeMap::new(),
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| match v.as_str() {
                    Some(s) => Some((k.clone(), s.to_owned())),
                    None => {
                        diag(key, format!("`{key}.{k}` is not a string"));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                diag(key, format!("`{key}` is not an object"));
                BTreeMap::new()
            }
        }
    };
    let eviction_hard_text = string_map("evictionHard");
    let eviction_soft_text = string_map("evictionSoft");
    let eviction_soft_grace_period = string_map("evictionSoftGracePeriod");
    let kube_reserved_text = string_map("kubeReserved");
    let system_reserved_text = string_map("systemReserved");
    let mut thresholds = |key: &str, m: BTreeMap<String, String>| {
        m.into_iter()
            .filter_map(|(k, v)| match Threshold::parse(&v) {
                Some(t) => Some((k, t)),
                None => {
                    diag(
                        key,
                        format!("`{key}.{k}` value `{v}` is not a quantity or percentage"),
                    );
                    None
                }
            })
            .collect::<BTreeMap<_, _>>()
    };
    let eviction_hard = thresholds("evictionHard", eviction_hard_text);
    let eviction_soft = thresholds("evictionSoft", eviction_soft_text);
    let mut quantities = |key: &str, m: BTreeMap<String, String>| {
        m.into_iter()
            .filter_map(|(k, v)| match Quantity::parse(&v) {
                Some(q) => Some((k, q)),
                None => {
                    diag(key, format!("`{key}.{k}` value `{v}` is not a quantity"));
                    None
                }
            })
            .collect::<BTreeMap<_, _>>()
    };
    let kube_reserved = quantities("kubeReserved", kube_reserved_text);
    let system_reserved = quantities("systemReserved", system_reserved_text);
    let pod_pids_limit = raw.get("podPidsLimit").and_then(Value::as_i64);
    let serialize_image_pulls = raw.get("serializeImagePulls").and_then(Value::as_bool);
    let max_parallel_image_pulls = raw
        .get("maxParallelImagePulls")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    let feature_gates = raw
        .get("featureGates")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b)))
                .collect()
        })
        .unwrap_or_default();
    let config = KubeletConfig {
        kind,
        api_version: text("apiVersion"),
        max_pods,
        cluster_dns,
        cluster_domain: text("clusterDomain"),
        eviction_hard,
        eviction_soft,
        eviction_soft_grace_period,
        kube_reserved,
        system_reserved,
        pod_pids_limit,
        serialize_image_pulls,
        max_parallel_image_pulls,
        cgroup_driver: text("cgroupDriver"),
        container_runtime_endpoint: text("containerRuntimeEndpoint"),
        provider_id: text("providerID"),
        feature_gates,
        raw,
    };
    diagnostics.sort_by_key(|d| d.line);
    Ok(Parsed {
        value: config,
        diagnostics,
    })
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

    #[track_caller]
    fn check(input: &str, expect: Option<i128>) {
        assert_eq!(Quantity::parse(input).map(|q| q.milli), expect, "{input}");
    }

    #[test]
    fn quantities() {
        check("100Mi", Some(100 * 1024 * 1024 * 1000));
        check("70m", Some(70));
        check("1", Some(1000));
        check("1.5Gi", Some(1_610_612_736_000));
        check("0.5", Some(500));
        check("1k", Some(1_000_000));
        check("1e3", Some(1_000_000));
        check("-1", Some(-1000));
        check("1n", Some(1));
        check("", None);
        check("Mi", None);
        check("1Xi", None);
        check("1e99", None);
        assert_eq!(Quantity::parse("1n").map(|q| q.value()), Some(1));
    }

    #[test]
    fn thresholds() {
        assert_eq!(
            Threshold::parse("7.5%"),
            Some(Threshold::Percent {
                basis_points: 750,
                raw: "7.5%".into()
            })
        );
        assert!(matches!(
            Threshold::parse("10%"),
            Some(Threshold::Percent {
                basis_points: 1000,
                ..
            })
        ));
        assert_eq!(Threshold::parse("101%"), None);
        assert_eq!(Threshold::parse("%"), None);
        assert!(matches!(
            Threshold::parse("100Mi"),
            Some(Threshold::Quantity(_))
        ));
    }

    #[test]
    fn document() {
        let p = parse(
            "{\"kind\":\"KubeletConfiguration\",\"maxPods\":-1,\"clusterDNS\":[\"172.20.0.10\"],\"evictionHard\":{\"memory.available\":\"100Mi\",\"x\":\"lots\"}}",
        )
        .unwrap();
        assert_eq!(p.value.cluster_dns, ["172.20.0.10"]);
        assert_eq!(p.diagnostics.len(), 2);
        assert!(p.value.memory_eviction_hard().is_some());
        assert_eq!(parse("[]"), Err(Error::NotObject));
    }
}

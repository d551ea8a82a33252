//! Rule metadata and the `declare_rule!` macro.
//!
//! Each rule lives in its own file under `rules/<source>/`, in this order: a
//! `declare_rule!` block (documentation, code, name, group, default severity),
//! then the pure check function. The macro captures the doc comment into
//! [`RuleMeta::doc`] so the documentation is available at run time
//! (`explain CODE`, the MCP `explain_rule` tool) without a proc-macro crate,
//! the way clippy's `declare_clippy_lint` does.

use std::fmt;

use serde::Serialize;

use crate::severity::Severity;

/// The area of the node a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// iptables and kube-proxy.
    Iptables,
    /// conntrack tables and statistics.
    Conntrack,
    /// Kernel messages.
    Kernel,
    /// kubelet and container runtime journals.
    Kubelet,
    /// Node configuration and networking (sysctl, routes, ENA, VPC CNI, DNS).
    Network,
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Group::Iptables => "iptables",
            Group::Conntrack => "conntrack",
            Group::Kernel => "kernel",
            Group::Kubelet => "kubelet",
            Group::Network => "network",
        })
    }
}

/// Static metadata of one rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// Source prefix plus three digits, e.g. `CTK001`; never reused.
    pub code: &'static str,
    /// PascalCase name reading as the condition found.
    pub name: &'static str,
    /// The area the rule looks at.
    pub group: Group,
    /// The severity unless the rule's documented escalation applies.
    pub default_severity: Severity,
    /// The release that introduced the rule.
    pub since: &'static str,
    /// The rule's documentation (Markdown, from its doc comment).
    pub doc: &'static str,
    /// Source file of the rule, for contributors.
    pub file: &'static str,
    /// Source line of the rule's declaration.
    pub line: u32,
}

impl RuleMeta {
    /// The kebab-case display name, e.g. `conntrack-table-near-capacity`.
    pub fn kebab_name(&self) -> String {
        kebab_case(self.name)
    }

    /// The first sentence of the `## What it does` section.
    pub fn short_description(&self) -> &'static str {
        let body = self
            .doc
            .split("## What it does")
            .nth(1)
            .unwrap_or(self.doc)
            .trim_start();
        let end = body
            .find("\n\n")
            .or_else(|| body.find("\n#"))
            .unwrap_or(body.len());
        body[..end].trim()
    }
}

/// Turns `PascalCase` into `kebab-case`, keeping runs of capitals together
/// (`DnsNXDomain` → `dns-nxdomain`).
pub fn kebab_case(pascal: &str) -> String {
    let chars: Vec<char> = pascal.chars().collect();
    let mut out = String::with_capacity(pascal.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || (chars[i - 1].is_ascii_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Declares a rule's metadata as a `pub(crate) static` of type [`RuleMeta`].
///
/// ```text
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub(crate) static CONNTRACK_TABLE_NEAR_CAPACITY = {
///         code: "CTK001", name: "ConntrackTableNearCapacity", group: Conntrack,
///         default_severity: High, since: "0.1.0",
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $ident:ident = {
            code: $code:literal,
            name: $name:literal,
            group: $group:ident,
            default_severity: $severity:ident,
            since: $since:literal $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        $vis static $ident: $crate::rule::RuleMeta = $crate::rule::RuleMeta {
            code: $code,
            name: $name,
            group: $crate::rule::Group::$group,
            default_severity: $crate::severity::Severity::$severity,
            since: $since,
            doc: concat!($($doc, "\n"),*),
            file: file!(),
            line: line!(),
        };
    };
}

#[cfg(test)]
mod tests {
    use super::kebab_case;

    #[test]
    fn kebab() {
        assert_eq!(
            kebab_case("ConntrackTableNearCapacity"),
            "conntrack-table-near-capacity"
        );
        assert_eq!(
            kebab_case("ServiceWithoutEndpoints"),
            "service-without-endpoints"
        );
        assert_eq!(kebab_case("EnaTxTimeout"), "ena-tx-timeout");
        assert_eq!(kebab_case("PLEGUnhealthy"), "pleg-unhealthy");
        assert_eq!(kebab_case("Ipv6Route"), "ipv6-route");
    }
}

//! IPT006: iptables-nft could not show a table (``# Table `x' is incompatible``).

use node_artifacts::iptables::Line;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags the ``# Table `nat' is incompatible, use 'nft' tool.`` (or
    /// `contains incompatible base-chains`) comments iptables-nft writes
    /// when a table holds rules written with `nft` that iptables cannot
    /// represent.
    ///
    /// ## Why is this bad?
    /// The dump does not show that table's rules, so nothing reading it
    /// (this tool, an engineer, kube-proxy's own `iptables-save`) sees the
    /// node's real filtering or NAT. It also means two programs manage the
    /// same table with different front ends (iptables-nft and native nft,
    /// for example a host firewall, Cilium or kube-proxy's nftables mode),
    /// and kube-proxy's `iptables-restore` can fail on it.
    ///
    /// ## Evidence
    /// The comment lines of `networking/iptables-save.txt`.
    ///
    /// ## Severity
    /// High for the `nat` and `filter` tables (where kube-proxy and the VPC
    /// CNI live); medium for the others.
    ///
    /// ## Example
    /// ```text
    /// # Table `filter' is incompatible, use 'nft' tool.
    /// ```
    ///
    /// ## Remediation
    /// List the table with `nft list table ip <table>` to see its rules and
    /// find the program that wrote them. Keep one front end per table: do
    /// not mix native nft rules into iptables-nft tables kube-proxy uses.
    ///
    /// ## References
    /// - <https://wiki.nftables.org/wiki-nftables/index.php/Moving_from_iptables_to_nftables>
    /// - <https://kubernetes.io/blog/2022/09/07/iptables-chains-not-api/>
    pub(crate) static META = {
        code: "IPT006",
        name: "IncompatibleNftTable",
        group: Iptables,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// IPT006.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let ruleset = &iptables.value;
    if ruleset.incompatible_tables().is_empty() {
        return;
    }
    // Line numbers are not stored on comments: count them.
    let mut line = 1;
    for item in &ruleset.lines {
        if let Line::Comment { text } = item
            && let Some(rest) = text.strip_prefix("# Table `")
            && let Some((table, tail)) = rest.split_once('\'')
            && tail.contains("incompatible")
        {
            let severity = if matches!(table, "nat" | "filter") {
                Severity::High
            } else {
                Severity::Medium
            };
            acc.push(
                cx.finding(&META, Subject::new("table", table))
                    .evidence(Evidence::line(&iptables.path, line, text))
                    .severity(severity)
                    .title(format!("iptables-nft cannot show the {table} table"))
                    .summary(format!(
                        "iptables-save reports the {table} table as incompatible: it holds rules written with native nft that iptables cannot show, so this dump is missing that table's real rules and two programs manage it with different front ends."
                    ))
                    .build(),
            );
        }
        line += item.span();
    }
}

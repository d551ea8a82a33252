//! IPT005: the VPC CNI's SNAT chain disagrees with `AWS_VPC_K8S_CNI_EXTERNALSNAT`.

use node_artifacts::iptables::Table;
use node_artifacts::vpc_cni::AwsNodeEnv;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Compares the VPC CNI's SNAT setting with the nat table: with
    /// `AWS_VPC_K8S_CNI_EXTERNALSNAT` false or unset, nat `POSTROUTING`
    /// must jump to `AWS-SNAT-CHAIN-0`; with it true, it must not.
    ///
    /// ## Why is this bad?
    /// Without the jump, pod traffic to addresses outside the VPC leaves with
    /// the pod's secondary IP: through an internet gateway it is dropped (only
    /// the primary IP has a public mapping), so pods lose internet access
    /// while the node keeps it. With the jump although external SNAT is
    /// configured, traffic to peered VPCs, VPNs or Direct Connect is
    /// translated to the node's IP and arrives from the wrong source
    /// (security groups and firewalls refuse it). Either way `ipamd` did not
    /// apply its setting, often a left-over after changing it.
    ///
    /// ## Evidence
    /// The `AWS_VPC_K8S_CNI_EXTERNALSNAT` value (`ipamd/ipamd-env-settings.json`
    /// or the aws-node container's environment) and the nat `POSTROUTING`
    /// rules of `networking/iptables-save.txt`.
    ///
    /// ## Severity
    /// Medium.
    ///
    /// ## Example
    /// ```text
    /// "AWS_VPC_K8S_CNI_EXTERNALSNAT": "false"
    /// -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
    /// ```
    ///
    /// ## Remediation
    /// Restart the aws-node pod on the node so ipamd reprograms its rules,
    /// and check that the setting is what the network design needs (external
    /// SNAT only when a NAT gateway or on-premises path handles pod egress).
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/eks/latest/userguide/external-snat.html>
    /// - <https://github.com/aws/amazon-vpc-cni-k8s#aws_vpc_k8s_cni_externalsnat>
    pub(crate) static META = {
        code: "IPT005",
        name: "VpcCniSnatInconsistent",
        group: Iptables,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// IPT005.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables, Need::VpcCniSettings],
    check,
};

const SETTING: &str = "AWS_VPC_K8S_CNI_EXTERNALSNAT";

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(iptables) = &snapshot.iptables else {
        return;
    };
    let (env, env_path): (&AwsNodeEnv, &str) =
        match (&snapshot.ipamd_env, &snapshot.cni_config_variables) {
            (Some(env), _) => (&env.value, &env.path),
            (None, Some(container)) => (&container.value.env, &container.path),
            (None, None) => return,
        };
    let external_snat = env.external_snat.unwrap_or(false);
    let Some(nat) = iptables.value.table(Table::Nat) else {
        return;
    };
    let jump = nat.chain("POSTROUTING").and_then(|chain| {
        chain.rules.iter().find(|rule| {
            rule.jump_chain()
                .is_some_and(|target| target.starts_with("AWS-SNAT-CHAIN"))
        })
    });
    let setting_text = match env.vars.get(SETTING) {
        Some(value) => format!("{SETTING}={value}"),
        None => format!("{SETTING} unset (false)"),
    };
    // The env parsers keep no line numbers: cite the file's first line.
    let setting_evidence = Evidence::line(env_path, 1, &setting_text);
    let (title, summary, evidence) = match (external_snat, jump) {
        (false, None) => {
            // Only meaningful where the VPC CNI runs: it always creates its
            // connmark or SNAT chains in nat.
            let cni_present = nat
                .chains
                .iter()
                .any(|chain| chain.name.starts_with("AWS-"));
            if !cni_present && env.vars.is_empty() {
                return;
            }
            let evidence = nat
                .chain("POSTROUTING")
                .and_then(|chain| chain.line)
                .map(|line| {
                    Evidence::line(
                        &iptables.path,
                        line,
                        ":POSTROUTING (no jump to AWS-SNAT-CHAIN-0)",
                    )
                });
            (
                "VPC CNI SNAT chain missing although external SNAT is off".to_owned(),
                format!(
                    "{setting_text}, so ipamd should SNAT pod traffic leaving the VPC to the node's primary IP, but nat POSTROUTING does not jump to AWS-SNAT-CHAIN-0: pods' traffic to the internet leaves with their secondary IPs and is dropped at an internet gateway."
                ),
                evidence,
            )
        }
        (true, Some(rule)) => (
            "VPC CNI SNAT chain present although external SNAT is on".to_owned(),
            format!(
                "{setting_text}, so pod traffic should keep its pod IP, but nat POSTROUTING still jumps to {} (line {}): traffic to peered VPCs, VPNs or on-premises networks is translated to the node's IP.",
                rule.jump_chain().unwrap_or("AWS-SNAT-CHAIN-0"),
                rule.line
            ),
            Some(Evidence::line(&iptables.path, rule.line, &rule.text())),
        ),
        _ => return,
    };
    acc.push(
        cx.finding(&META, Subject::new("chain", "nat/AWS-SNAT-CHAIN-0"))
            .evidence(setting_evidence)
            .evidence_all(evidence)
            .severity(Severity::Medium)
            .title(title)
            .summary(summary)
            .build(),
    );
}

//! CNI002: the VPC CNI's warm pool settings do not fit the node.

use node_artifacts::vpc_cni::AwsNodeEnv;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags `WARM_IP_TARGET`/`MINIMUM_IP_TARGET` settings of the VPC CNI
    /// (with prefix delegation off) that make ipamd ask for more addresses
    /// than the attached ENIs hold, or that churn EC2 calls, or that hoard
    /// subnet addresses.
    ///
    /// ## Why is this bad?
    /// With `WARM_IP_TARGET` set, ipamd keeps that many free addresses on
    /// the node (and at least `MINIMUM_IP_TARGET` in total), replacing the
    /// default `WARM_ENI_TARGET=1` behaviour (which is then ignored). Too
    /// high for the ENIs attached, it forces ipamd to attach ENIs and take
    /// addresses the pods do not need, which starves a tight subnet and
    /// makes every allocation failure louder; a very small `WARM_IP_TARGET`
    /// makes each pod start wait on an EC2 call and invites API throttling;
    /// a `MINIMUM_IP_TARGET` far above the pods the node runs reserves
    /// addresses no one uses.
    ///
    /// ## Evidence
    /// The aws-node environment (`ipamd/ipamd-env-settings.json`, else the
    /// container environment in
    /// `cni/cni-configuration-variables-containerd.json`), the ENIs and
    /// assigned addresses of `ipamd/enis.json`, and the addresses an ENI can
    /// hold from ipamd's `c.maxIPsPerENI = N` log line. The heuristic, with
    /// prefix delegation off:
    /// - the pool ipamd aims for, `max(MINIMUM_IP_TARGET, assigned +
    ///   WARM_IP_TARGET)`, exceeds what the attached ENIs hold (ENIs ×
    ///   `maxIPsPerENI`): medium ("starves");
    /// - `WARM_IP_TARGET` of 1 or 2 without `MINIMUM_IP_TARGET`: low
    ///   ("churns");
    /// - `MINIMUM_IP_TARGET` above twice the assigned addresses plus one ENI's
    ///   worth: low ("wastes").
    ///
    /// Nothing is flagged when neither target is set (the default) or when
    /// prefix delegation is on (the targets then count /28 prefixes'
    /// addresses and the capacity arithmetic differs).
    ///
    /// ## Severity
    /// Low; medium for the "starves" case.
    ///
    /// ## Example
    /// ```text
    /// WARM_IP_TARGET=5 MINIMUM_IP_TARGET=15 ENABLE_PREFIX_DELEGATION=false; 15 assigned on 2 ENIs × 9 → pool target 20 > 18
    /// ```
    ///
    /// ## Remediation
    /// Size `MINIMUM_IP_TARGET` to the pods a node normally runs and keep
    /// `WARM_IP_TARGET` a few addresses above zero, so that bursts are served
    /// from the pool without hoarding; or enable prefix delegation on
    /// subnets with free /28 blocks.
    ///
    /// ## References
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/eni-and-ip-target.md>
    /// - <https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html>
    pub(crate) static META = {
        code: "CNI002",
        name: "VpcCniWarmPoolMisfit",
        group: Kubelet,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// CNI002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::VpcCniSettings],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let (env, env_path): (&AwsNodeEnv, &str) =
        match (&snapshot.ipamd_env, &snapshot.cni_config_variables) {
            (Some(artifact), _) => (&artifact.value, &artifact.path),
            (None, Some(artifact)) => (&artifact.value.env, &artifact.path),
            (None, None) => return,
        };
    if env.enable_prefix_delegation == Some(true) {
        return;
    }
    let (warm_ip, minimum_ip) = (
        env.warm_ip_target.filter(|&v| v > 0),
        env.minimum_ip_target.filter(|&v| v > 0),
    );
    if warm_ip.is_none() && minimum_ip.is_none() {
        return;
    }
    let settings = [
        ("WARM_IP_TARGET", env.warm_ip_target.map(|v| v.to_string())),
        (
            "MINIMUM_IP_TARGET",
            env.minimum_ip_target.map(|v| v.to_string()),
        ),
        (
            "WARM_ENI_TARGET",
            env.warm_eni_target.map(|v| v.to_string()),
        ),
        (
            "ENABLE_PREFIX_DELEGATION",
            Some(env.enable_prefix_delegation.unwrap_or(false).to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some(format!("{name}={}", value?)))
    .collect::<Vec<_>>()
    .join(" ");
    let mut builder = cx
        .finding(&META, Subject::new("setting", "vpc-cni-warm-pool"))
        .evidence(Evidence::line(env_path, 1, &settings));

    // What an ENI can hold, from ipamd's own pool statistics (the latest).
    let mut max_ips_per_eni = None;
    let mut stats_line = None;
    for artifact in &snapshot.cni_logs {
        for entry in &artifact.value.entries {
            if let Some(msg) = entry.msg.as_deref()
                && let Some(at) = msg.find("maxIPsPerENI = ")
                && let Ok(value) = msg[at + "maxIPsPerENI = ".len()..].trim().parse::<u64>()
            {
                stats_line = Some(util::cni_evidence(artifact, entry));
                max_ips_per_eni = Some(value);
            }
        }
    }
    if let Some(stats_line) = stats_line {
        builder = builder.evidence(stats_line);
    }
    let enis = snapshot.enis.as_ref();
    let assigned = enis.map(|enis| {
        enis.value
            .assigned_ips
            .unwrap_or(enis.value.assigned() as u64)
    });
    let eni_count = enis.map(|enis| enis.value.enis.len() as u64);
    if let (Some(enis), Some(assigned)) = (enis, assigned) {
        builder = builder.evidence(Evidence::line(
            &enis.path,
            1,
            &format!(
                "{} ENIs, {assigned} addresses assigned",
                enis.value.enis.len()
            ),
        ));
    }

    let mut problems: Vec<String> = Vec::new();
    let mut severity = Severity::Low;
    if let (Some(assigned), Some(eni_count), Some(per_eni)) = (assigned, eni_count, max_ips_per_eni)
    {
        let target =
            u64::from(minimum_ip.unwrap_or(0)).max(assigned + u64::from(warm_ip.unwrap_or(0)));
        let capacity = eni_count * per_eni;
        if target > capacity {
            severity = Severity::Medium;
            problems.push(format!(
                "ipamd aims for a pool of {target} addresses (max(MINIMUM_IP_TARGET, {assigned} assigned + WARM_IP_TARGET)) but the {eni_count} attached ENIs hold {capacity} ({per_eni} each): it must attach another ENI and take subnet addresses the pods do not use"
            ));
        }
        if let Some(minimum) = minimum_ip
            && u64::from(minimum) > 2 * assigned + per_eni
        {
            problems.push(format!(
                "MINIMUM_IP_TARGET={minimum} is far above the {assigned} addresses in use and reserves subnet addresses no pod uses"
            ));
        }
    }
    if let Some(warm) = warm_ip
        && warm <= 2
        && minimum_ip.is_none()
    {
        problems.push(format!(
            "WARM_IP_TARGET={warm} without MINIMUM_IP_TARGET makes most pod starts wait on an EC2 call and risks API throttling"
        ));
    }
    if problems.is_empty() {
        return;
    }
    let mut summary = format!("VPC CNI warm pool settings: {settings}. ");
    summary.push_str(&problems.join("; "));
    summary.push('.');
    if warm_ip.is_some() && env.warm_eni_target.is_some() {
        summary.push_str(" WARM_ENI_TARGET is ignored because WARM_IP_TARGET is set.");
    }
    acc.push(
        builder
            .severity(severity)
            .title(if severity == Severity::Medium {
                "VPC CNI warm pool target exceeds what the attached ENIs hold"
            } else {
                "VPC CNI warm pool settings churn EC2 calls or hoard addresses"
            })
            .summary(summary)
            .occurrences(problems.len() as u64)
            .build(),
    );
}

//! KRN016: the hardware reported machine-check, CPER or EDAC errors.

use node_artifacts::dmesg::{HardwareErrorSource, KernelEventKind};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports hardware errors the kernel logged: x86 machine checks
    /// (`mce: [Hardware Error]: …`), UEFI CPER records from the firmware
    /// (`{1}[Hardware Error]: …`) and EDAC memory-controller errors, one
    /// finding per reporting mechanism.
    ///
    /// ## Why is this bad?
    /// Corrected errors are fixed by the hardware but, when they repeat,
    /// announce failing memory or CPU. Uncorrected or fatal errors corrupt
    /// data or crash the node. On EC2 the host is AWS's to fix: the instance
    /// should move to other hardware.
    ///
    /// ## Evidence
    /// The error reports with their `event severity:`; EDAC `CE`
    /// (corrected) and `UE` (uncorrected) counts.
    ///
    /// ## Severity
    /// Low when every error was corrected (or informational); high when one
    /// was `recoverable`; critical when one was uncorrected or fatal;
    /// medium when the severity was not printed.
    ///
    /// ## Example
    /// ```text
    /// {1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0
    /// {1}[Hardware Error]: event severity: fatal
    /// EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x1a2b offset:0x0 grain:32 syndrome:0x0)
    /// ```
    ///
    /// ## Remediation
    /// Stop and start the instance (not reboot) to move it to another host,
    /// or drain and replace the node; check the instance's scheduled events
    /// and status checks, and open an AWS support case if errors are
    /// uncorrected.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/ras.html>
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-system-instance-status-check.html>
    pub(crate) static META = {
        code: "KRN016",
        name: "HardwareError",
        group: Kernel,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// KRN016.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

/// The finding severity of one report's printed severity.
fn grade(severity: Option<&str>) -> Severity {
    let Some(severity) = severity else {
        return Severity::Medium;
    };
    let severity = severity.to_ascii_lowercase();
    if severity.contains("fatal") || severity.contains("uncorrect") {
        Severity::Critical
    } else if severity.contains("recoverable") {
        Severity::High
    } else if severity.contains("correct") || severity.contains("info") {
        Severity::Low
    } else {
        Severity::Medium
    }
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::HardwareError { source, .. } => Some(match source {
            HardwareErrorSource::Mce => "mce",
            HardwareErrorSource::Cper => "cper",
            HardwareErrorSource::Edac => "edac",
        }),
        _ => None,
    });
    for (source, events) in groups {
        let mut worst = Severity::Info;
        let mut by_severity: Vec<(String, usize)> = Vec::new();
        for event in &events {
            if let KernelEventKind::HardwareError { severity, .. } = &event.kind {
                worst = worst.max(grade(severity.as_deref()));
                let label = severity.clone().unwrap_or_else(|| "unknown".to_owned());
                match by_severity.iter_mut().find(|(name, _)| *name == label) {
                    Some((_, count)) => *count += 1,
                    None => by_severity.push((label, 1)),
                }
            }
        }
        let mechanism = match source {
            "mce" => "machine-check",
            "cper" => "firmware (CPER)",
            _ => "EDAC memory-controller",
        };
        let counts: Vec<String> = by_severity
            .iter()
            .map(|(label, count)| format!("{count} {label}"))
            .collect();
        let mut summary = format!(
            "The kernel logged {}{} ({}).",
            util::plural(events.len(), &format!("{mechanism} hardware error report")),
            util::seen_span(kernel, &events),
            counts.join(", "),
        );
        summary.push_str(if worst >= Severity::Critical {
            " At least one error was not corrected: data may be corrupt and the host is failing."
        } else if worst == Severity::Low {
            " All were corrected by the hardware; repeated corrected errors announce failing memory or CPU."
        } else {
            " The host hardware may be failing."
        });
        let builder = cx.finding(&META, Subject::new("hardware", source));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(worst)
                .title(format!(
                    "{mechanism} hardware errors ({})",
                    counts.join(", ")
                ))
                .summary(summary)
                .build(),
        );
    }
}

//! Runs the document's script in real shells, rendered as SSM renders it.
//!
//! SSM substitutes `{{ parameter }}` textually and the agent runs the script
//! with `sh`, which is dash on Ubuntu and bash on Amazon Linux, so the script
//! is run with both. Only artifacts whose commands exist everywhere are run
//! (`resolv-conf` reads `/etc/resolv.conf`); the others are covered by the
//! document's static checks.

use std::process::Command;

use base64::Engine as _;
use ssm_exec::DOCUMENT_YAML;
use yaml_rust2::YamlLoader;

fn script() -> String {
    let doc = YamlLoader::load_from_str(DOCUMENT_YAML).unwrap().remove(0);
    doc["mainSteps"][0]["inputs"]["runCommand"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What SSM runs for these parameter values.
fn render(artifact: &str, unit: &str, since_minutes: &str) -> String {
    script()
        .replace("{{ artifact }}", artifact)
        .replace("{{ unit }}", unit)
        .replace("{{ sinceMinutes }}", since_minutes)
}

struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(shell: &str, script: &str) -> Run {
    let output = Command::new(shell).arg("-c").arg(script).output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn decode(stdout: &[u8]) -> Vec<u8> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(stdout.trim_ascii())
        .unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(compressed.as_slice()),
        &mut raw,
    )
    .unwrap();
    raw
}

fn shells() -> Vec<&'static str> {
    ["sh", "bash"]
        .into_iter()
        .filter(|shell| {
            Command::new(shell)
                .arg("-c")
                .arg("true")
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect()
}

#[test]
fn collects_and_encodes_in_every_shell() {
    let expected = std::fs::read("/etc/resolv.conf").unwrap_or_default();
    let shells = shells();
    assert!(shells.contains(&"sh"), "no sh on this machine");
    for shell in shells {
        let run = run(shell, &render("resolv-conf", "kubelet", "60"));
        assert_eq!(run.status, 0, "{shell}: {}", run.stderr);
        assert!(
            !run.stdout.contains(&b'\n'),
            "{shell}: base64 -w0 prints one line"
        );
        assert_eq!(decode(&run.stdout), expected, "{shell}");
    }
}

#[test]
fn out_of_list_values_are_refused_by_the_script_too() {
    for shell in shells() {
        for (artifact, unit, since, why) in [
            ("tcpdump", "kubelet", "60", "artifact not allowed"),
            ("journal", "sshd", "60", "unit not allowed"),
            ("journal", "kubelet", "0", "out of range"),
            ("journal", "kubelet", "10081", "out of range"),
            ("journal", "kubelet", "1e3", "not a number"),
            ("journal", "kubelet", "", "not a number"),
        ] {
            let run = run(shell, &render(artifact, unit, since));
            assert_eq!(
                run.status, 64,
                "{shell} {artifact} {unit} {since:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains(why),
                "{shell}: {:?} lacks {why:?}",
                run.stderr
            );
        }
    }
}

#[test]
fn a_failing_command_exits_with_its_status() {
    // `conntrack-count` reads /proc files that exist only with nf_conntrack
    // loaded; either way the script's status is cat's, not gzip's.
    let loaded = std::path::Path::new("/proc/sys/net/netfilter/nf_conntrack_max").exists();
    for shell in shells() {
        let run = run(shell, &render("conntrack-count", "kubelet", "60"));
        if loaded {
            assert_eq!(run.status, 0, "{shell}: {}", run.stderr);
        } else {
            assert_eq!(run.status, 1, "{shell}: {}", run.stderr);
            assert!(
                run.stderr.contains("nf_conntrack"),
                "{shell}: {}",
                run.stderr
            );
        }
        // The output is still a complete, decodable stream.
        let _ = decode(&run.stdout);
    }
}

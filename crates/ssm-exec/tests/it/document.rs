//! The SSM document's security contract, read from the YAML itself.
//!
//! Fails if a parameter is not closed (no `allowedValues`, no anchored
//! numeric `allowedPattern`), if a `{{ parameter }}` reference appears
//! anywhere but as the whole right-hand side of a double-quoted variable
//! assignment, if such a variable is ever expanded outside double quotes,
//! if the script writes to a file or installs anything, or if the allow-lists
//! and the crate's enums disagree.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use ssm_exec::{Artifact, JournalUnit, SinceMinutes, DOCUMENT_STEP_NAME, DOCUMENT_YAML};
use yaml_rust2::{Yaml, YamlLoader};

const DOCUMENT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ssm-documents/eks-node-diagnostics.yaml");

fn document() -> Yaml {
    let mut docs = YamlLoader::load_from_str(DOCUMENT_YAML).unwrap();
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn string_list(yaml: &Yaml) -> Vec<String> {
    yaml.as_vec().unwrap().iter().map(|value| value.as_str().unwrap().to_owned()).collect()
}

fn script(doc: &Yaml) -> String {
    let steps = doc["mainSteps"].as_vec().unwrap();
    assert_eq!(steps.len(), 1, "one step");
    assert_eq!(steps[0]["action"].as_str(), Some("aws:runShellScript"));
    assert_eq!(steps[0]["name"].as_str(), Some(DOCUMENT_STEP_NAME), "S3 output keys use the step name");
    string_list(&steps[0]["inputs"]["runCommand"]).join("\n")
}

#[test]
fn compiled_in_document_is_the_repository_file() {
    assert_eq!(std::fs::read_to_string(DOCUMENT_PATH).unwrap(), DOCUMENT_YAML);
}

#[test]
fn every_parameter_is_closed() {
    let doc = document();
    assert_eq!(doc["schemaVersion"].as_str(), Some("2.2"));
    let parameters = doc["parameters"].as_hash().unwrap();
    assert!(!parameters.is_empty());
    let anchored_numeric = Regex::new(r"\A\^[0-9\[\]{}()|,\-]+\$\z").unwrap();
    for (name, spec) in parameters {
        let name = name.as_str().unwrap();
        assert_eq!(spec["type"].as_str(), Some("String"), "{name}: only String parameters");
        match (&spec["allowedValues"], &spec["allowedPattern"]) {
            (Yaml::Array(values), Yaml::BadValue) => {
                assert!(!values.is_empty(), "{name}: empty allowedValues");
                for value in values {
                    let value = value.as_str().unwrap();
                    assert!(
                        !value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                        "{name}: allowed value {value:?} has characters a shell could interpret"
                    );
                }
                if let Some(default) = spec["default"].as_str() {
                    assert!(values.iter().any(|value| value.as_str() == Some(default)), "{name}: default not allowed");
                }
            }
            (Yaml::BadValue, Yaml::String(pattern)) => {
                assert!(anchored_numeric.is_match(pattern), "{name}: allowedPattern {pattern:?} is not an anchored numeric pattern");
                let compiled = Regex::new(pattern).unwrap();
                if let Some(default) = spec["default"].as_str() {
                    assert!(compiled.is_match(default), "{name}: default {default:?} does not match");
                }
            }
            _ => panic!("{name}: needs exactly one of allowedValues or a numeric allowedPattern"),
        }
    }
}

#[test]
fn since_minutes_pattern_matches_the_crate_bound() {
    let doc = document();
    let pattern = Regex::new(doc["parameters"]["sinceMinutes"]["allowedPattern"].as_str().unwrap()).unwrap();
    for minutes in 0..=u32::from(SinceMinutes::MAX) + 100 {
        assert_eq!(
            pattern.is_match(&minutes.to_string()),
            SinceMinutes::new(minutes).is_ok(),
            "{minutes}: document and crate disagree"
        );
    }
    for bad in ["", "01", "-1", "1 ", "1;reboot", "60\nreboot", "1e3", "99999", "100800"] {
        assert!(!pattern.is_match(bad), "{bad:?}");
    }
}

#[test]
fn allow_lists_match_the_crate() {
    let doc = document();
    let artifacts = string_list(&doc["parameters"]["artifact"]["allowedValues"]);
    let from_crate: Vec<String> = Artifact::ALL.iter().map(|artifact| artifact.name().to_owned()).collect();
    assert_eq!(artifacts, from_crate);
    let units = string_list(&doc["parameters"]["unit"]["allowedValues"]);
    let from_crate: Vec<String> = JournalUnit::ALL.iter().map(|unit| unit.name().to_owned()).collect();
    assert_eq!(units, from_crate);
    // Every parameter the crate sends exists in the document, and the reverse.
    let sent: BTreeSet<String> = Artifact::IptablesSave.parameters().into_keys().collect();
    let declared: BTreeSet<String> = doc["parameters"].as_hash().unwrap().keys().map(|key| key.as_str().unwrap().to_owned()).collect();
    assert_eq!(sent, declared);
}

#[test]
fn parameters_reach_the_shell_only_as_quoted_assignments() {
    let doc = document();
    let declared: BTreeSet<String> = doc["parameters"].as_hash().unwrap().keys().map(|key| key.as_str().unwrap().to_owned()).collect();
    let script = script(&doc);
    let assignment = Regex::new(r#"\A\s*([a-z_][a-z0-9_]*)="\{\{ ?([A-Za-z0-9]+) ?\}\}"\s*\z"#).unwrap();
    let mut variables: BTreeMap<String, String> = BTreeMap::new();
    for line in script.lines() {
        if !line.contains("{{") && !line.contains("}}") {
            continue;
        }
        let captures = assignment
            .captures(line)
            .unwrap_or_else(|| panic!("parameter reference outside a double-quoted assignment: {line:?}"));
        let (variable, parameter) = (captures[1].to_owned(), captures[2].to_owned());
        assert!(declared.contains(&parameter), "undeclared parameter {parameter}");
        assert!(variables.insert(parameter, variable).is_none(), "parameter assigned twice");
    }
    assert_eq!(variables.keys().cloned().collect::<BTreeSet<_>>(), declared, "every parameter is assigned once");
    // No parameter reference anywhere else in the document (e.g. timeoutSeconds).
    let references = DOCUMENT_YAML.matches("{{").count();
    assert_eq!(references, declared.len(), "parameter references outside runCommand");

    // Every expansion of those variables is inside double quotes.
    let names: BTreeSet<&str> = variables.values().map(String::as_str).collect();
    for (line_no, line) in script.lines().enumerate() {
        for (offset, variable) in expansions(line) {
            if names.contains(variable.as_str()) {
                assert!(in_double_quotes(line, offset), "line {}: ${variable} expanded unquoted: {line:?}", line_no + 1);
            }
        }
    }
}

#[test]
fn every_artifact_has_one_case_arm() {
    let doc = document();
    let script = script(&doc);
    for artifact in Artifact::ALL {
        let arm = format!("{})", artifact.name());
        let arms = script.lines().filter(|line| line.trim_start().starts_with(&arm)).count();
        assert_eq!(arms, 1, "{}: expected one case arm", artifact.name());
    }
    // Unknown values are refused even if SSM's check were bypassed.
    assert!(script.contains("*) echo \"eks-node-diag: artifact not allowed\" >&2; return 64 ;;"));
}

#[test]
fn script_writes_and_installs_nothing() {
    let doc = document();
    let script = script(&doc);
    let redirect = Regex::new(r"[0-9]?>{1,2}(&[12])?").unwrap();
    for (line_no, line) in script.lines().enumerate() {
        let code = strip_quoted(line);
        for found in redirect.find_iter(&code) {
            assert_eq!(found.as_str(), ">&2", "line {}: writes to a file: {line:?}", line_no + 1);
        }
        let words: Vec<&str> = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).collect();
        for forbidden in [
            "yum", "dnf", "apt", "apt-get", "rpm", "pip", "pip3", "wget", "tee", "rm", "mv", "cp", "dd", "chmod", "chown", "sudo", "eval",
            "source", "exec", "install", "mkdir", "touch", "tcpdump", "nc", "ncat", "socat", "bash", "sh", "python", "python3", "perl",
        ] {
            assert!(!words.contains(&forbidden), "line {}: `{forbidden}` in {line:?}", line_no + 1);
        }
        if code.contains("curl") {
            assert!(line.contains("http://127.0.0.1:"), "line {}: curl only to the node's loopback: {line:?}", line_no + 1);
            assert!(!code.contains(" -o") && !code.contains(" -O"), "line {}: curl writes a file", line_no + 1);
        }
    }
    assert!(script.trim_end().ends_with("collect | gzip -c | base64 -w0"));
    assert!(script.contains("set -u -o pipefail"));
}

/// `$name` and `${name…}` expansions in a line, with their byte offsets.
fn expansions(line: &str) -> Vec<(usize, String)> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for (offset, byte) in bytes.iter().enumerate() {
        if *byte != b'$' {
            continue;
        }
        let rest = &line[offset + 1..];
        let rest = rest.strip_prefix('{').map_or(rest, |inner| inner.strip_prefix('#').unwrap_or(inner));
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.push((offset, name));
        }
    }
    found
}

/// Whether byte `offset` of a shell line is inside double quotes (a small
/// lexer: single quotes, double quotes, backslash escapes, comments).
fn in_double_quotes(line: &str, offset: usize) -> bool {
    let mut double = false;
    let mut single = false;
    let mut escaped = false;
    for (index, byte) in line.bytes().enumerate() {
        if index == offset {
            return double;
        }
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' if !single => escaped = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double => return false,
            _ => {}
        }
    }
    false
}

/// The line with quoted text blanked, so redirections and words are seen
/// only where the shell would see them.
fn strip_quoted(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(' ');
            }
            (Some(open), c) if c == open => {
                quote = None;
                out.push(' ');
            }
            (Some(_), _) => out.push(' '),
            (None, '#') => break,
            (None, c) => out.push(c),
        }
    }
    out
}

#[test]
fn lexer_helpers() {
    assert!(in_double_quotes(r#"x="$a""#, 3));
    assert!(!in_double_quotes(r#"x=$a"#, 2));
    assert!(!in_double_quotes(r#"x='"'$a"#, 5));
    assert_eq!(strip_quoted(r#"echo "a > b" >&2 # c > d"#).matches('>').count(), 1);
    assert_eq!(expansions(r#"a "${#b}" $c_d"#), vec![(3, "b".to_owned()), (10, "c_d".to_owned())]);
}

//! The Kubernetes view over an iptables ruleset (filled below).

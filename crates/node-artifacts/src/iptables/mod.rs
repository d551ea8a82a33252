//! Parser and typed model for `iptables-save` and `ip6tables-save` output (to be filled by the iptables issue).

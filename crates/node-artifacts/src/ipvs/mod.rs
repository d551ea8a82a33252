//! IPVS state: `networking/ipvsadm.txt` (this module) and
//! `networking/ipset.txt` ([`ipset`]).
//!
//! kube-proxy in IPVS mode programs one virtual service per Service
//! cluster IP and port, with the endpoints as real servers, and keeps the
//! addresses in ipsets such as `KUBE-CLUSTER-IP`. These two files are what
//! tells whether a node runs kube-proxy in IPVS mode and which services it
//! holds.
//!
//! # How the collector writes `ipvsadm.txt`
//!
//! `ipvsadm --save`, then `sed` inserts a column legend as line 1, then
//! `ipvsadm --list --numeric --rate`, an empty line, and
//! `ipvsadm --list --numeric --stats --exact`.
//!
//! ```text
//! add:service/server     protocol     virtual-server     scheduler algorithm     real-server    <- legend (sed)
//! -A -t 172.20.0.10:53 -s rr                                  <- virtual service
//! -a -t 172.20.0.10:53 -r 10.0.1.5:53 -m -w 1                 <- real server (masquerading, weight 1)
//! IP Virtual Server version 1.2.1 (size=4096)                 <- table banner
//! Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
//!   -> RemoteAddress:Port
//! TCP  172.20.0.10:53                      0        0        0        0        0
//!   -> 10.0.1.5:53                         0        0        0        0        0
//! ```
//!
//! # Grammar
//!
//! ```text
//! file     = [ legend ] { save-line } { table }
//! save-line= "-A" proto-addr { opt } | "-a" proto-addr "-r" addr { opt }
//! proto-addr = ( "-t" | "-u" | "--sctp-service" ) addr | "-f" fwmark
//! table    = banner svc-header rs-header { svc-row { rs-row } }
//! svc-row  = ( "TCP" | "UDP" | "SCTP" | "FWM" ) addr { value }
//! rs-row   = "  -> " addr { value }
//! value    = digits [ "K" | "M" | "G" ] | word
//! ```
//!
//! When the `ip_vs` module is not loaded ipvsadm prints `Can't initialize
//! ipvs: …`; such lines are kept as messages and
//! [`Ipvs::module_missing`] is set.

pub mod ipset;

use std::collections::HashMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::{fields, keep_unparsed, parse_u64};

/// Parses the collector's `ipvsadm.txt`. Any text is accepted; lines that
/// are not understood are kept as unparsed.
pub fn parse(input: &str) -> Parsed<Ipvs> {
    let mut ipvs = Ipvs::default();
    let mut diagnostics = Vec::new();
    // Index of saved services by (protocol, address), so that attaching a
    // real server stays O(1) whatever the order of the lines.
    let mut index: HashMap<(Protocol, String), usize> = HashMap::new();
    for (line_no, raw) in numbered_lines(input) {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("add:service/server") {
            continue;
        }
        if trimmed.starts_with("Can't initialize ipvs")
            || trimmed.starts_with("Are you sure that IP Virtual Server")
            || trimmed.starts_with("IPVS Linux kernel module not installed")
        {
            ipvs.module_missing = true;
            ipvs.messages.push(trimmed.to_owned());
            continue;
        }
        if let Some(version) = trimmed.strip_prefix("IP Virtual Server version ") {
            ipvs.tables.push(ListTable {
                line: line_no,
                version: version.to_owned(),
                service_columns: Vec::new(),
                server_columns: Vec::new(),
                services: Vec::new(),
            });
            continue;
        }
        let result = if trimmed.starts_with("-A ") || trimmed.starts_with("-a ") {
            save_line(&mut ipvs, &mut index, line_no, trimmed)
        } else if let Some(table) = ipvs.tables.last_mut() {
            table_line(table, line_no, raw)
        } else {
            Err("not an ipvsadm line".to_owned())
        };
        if let Err(reason) = result {
            ipvs.unparsed
                .push(keep_unparsed(&mut diagnostics, line_no, raw, reason));
        }
    }
    Parsed {
        value: ipvs,
        diagnostics,
    }
}

/// Everything in `ipvsadm.txt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ipvs {
    /// Virtual services from `ipvsadm --save`, with their real servers.
    pub services: Vec<VirtualService>,
    /// The `--list` tables (rate, then stats), in order.
    pub tables: Vec<ListTable>,
    /// Whether ipvsadm said the kernel module is not available.
    pub module_missing: bool,
    /// ipvsadm's own messages.
    pub messages: Vec<String>,
    /// Lines not understood.
    pub unparsed: Vec<Unparsed>,
}

impl Ipvs {
    /// Whether the node holds any IPVS virtual service (from the save
    /// section or a list table), the sign of kube-proxy in IPVS mode.
    pub fn has_services(&self) -> bool {
        !self.services.is_empty() || self.tables.iter().any(|t| !t.services.is_empty())
    }

    /// The saved virtual service for `address` (as printed, e.g.
    /// `172.20.0.10:53`) and protocol.
    pub fn service(&self, protocol: &Protocol, address: &str) -> Option<&VirtualService> {
        self.services
            .iter()
            .find(|s| &s.protocol == protocol && s.address == address)
    }

    /// Saved virtual services without any real server (a Service without
    /// endpoints in IPVS mode).
    pub fn services_without_servers(&self) -> impl Iterator<Item = &VirtualService> {
        self.services.iter().filter(|s| s.real_servers.is_empty())
    }
}

/// Virtual service protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Protocol {
    /// `-t` / `TCP`.
    Tcp,
    /// `-u` / `UDP`.
    Udp,
    /// `--sctp-service` / `SCTP`.
    Sctp,
    /// `-f` / `FWM`: a firewall-mark service.
    Fwmark,
    /// Anything else printed.
    Other(String),
}

/// A virtual service from `ipvsadm --save`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualService {
    /// 1-based input line.
    pub line: usize,
    /// Protocol.
    pub protocol: Protocol,
    /// Address as printed (`172.20.0.10:53`, `[fd00::a]:53`, a fwmark number,
    /// or a host name when ipvsadm was not run with `-n`).
    pub address: String,
    /// The address parsed, when numeric.
    pub socket: Option<SocketAddr>,
    /// `-s` scheduler.
    pub scheduler: Option<String>,
    /// `-p` persistence timeout in seconds.
    pub persistent: Option<u64>,
    /// Other options as printed.
    pub other: Vec<String>,
    /// `-a` lines for this service.
    pub real_servers: Vec<RealServer>,
}

/// A real server (`-a … -r …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealServer {
    /// 1-based input line.
    pub line: usize,
    /// Address as printed.
    pub address: String,
    /// The address parsed, when numeric.
    pub socket: Option<SocketAddr>,
    /// Forwarding method.
    pub forwarding: Option<Forwarding>,
    /// `-w` weight.
    pub weight: Option<i64>,
    /// Other options.
    pub other: Vec<String>,
}

/// How packets reach a real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Forwarding {
    /// `-m`: masquerading (NAT), what kube-proxy uses.
    Masquerading,
    /// `-g`: direct routing.
    Gatewaying,
    /// `-i`: IP-in-IP tunnelling.
    Tunneling,
}

/// A `--list` table (`--rate` or `--stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListTable {
    /// Line of the `IP Virtual Server version` banner.
    pub line: usize,
    /// Version text after the banner.
    pub version: String,
    /// Value column names of service rows (`CPS InPPS …` or `Conns InPkts …`).
    pub service_columns: Vec<String>,
    /// Extra column names of real-server rows, if the table prints any.
    pub server_columns: Vec<String>,
    /// Service rows.
    pub services: Vec<TableService>,
}

/// A service row of a list table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableService {
    /// 1-based input line.
    pub line: usize,
    /// Protocol.
    pub protocol: Protocol,
    /// Address as printed.
    pub address: String,
    /// Values in column order, as printed.
    pub values: Vec<String>,
    /// Real-server rows.
    pub real_servers: Vec<TableServer>,
}

/// A real-server row of a list table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableServer {
    /// 1-based input line.
    pub line: usize,
    /// Address as printed.
    pub address: String,
    /// Values in column order, as printed.
    pub values: Vec<String>,
}

impl TableService {
    /// The value of `column` (e.g. `Conns`) as a number; K/M/G suffixes are
    /// expanded.
    pub fn value(&self, columns: &[String], column: &str) -> Option<u64> {
        let i = columns.iter().position(|c| c == column)?;
        table_number(self.values.get(i)?)
    }
}

fn table_number(s: &str) -> Option<u64> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1_000u64),
        b'M' => (&s[..s.len() - 1], 1_000_000),
        b'G' => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    parse_u64(digits)?.checked_mul(mult)
}

fn socket(address: &str) -> Option<SocketAddr> {
    address.parse().ok()
}

fn protocol_flag(flag: &str) -> Option<Protocol> {
    Some(match flag {
        "-t" | "--tcp-service" => Protocol::Tcp,
        "-u" | "--udp-service" => Protocol::Udp,
        "--sctp-service" => Protocol::Sctp,
        "-f" | "--fwmark-service" => Protocol::Fwmark,
        _ => return None,
    })
}

fn save_line(
    ipvs: &mut Ipvs,
    index: &mut HashMap<(Protocol, String), usize>,
    line: usize,
    text: &str,
) -> Result<(), String> {
    let mut it = fields(text);
    let verb = it.next().unwrap_or_default();
    let flag = it.next().ok_or("missing protocol flag")?;
    let protocol = protocol_flag(flag).ok_or_else(|| format!("unknown protocol flag `{flag}`"))?;
    let address = it.next().ok_or("missing service address")?.to_owned();
    let rest: Vec<&str> = it.collect();
    if verb == "-A" {
        let mut svc = VirtualService {
            line,
            protocol,
            socket: socket(&address),
            address,
            scheduler: None,
            persistent: None,
            other: Vec::new(),
            real_servers: Vec::new(),
        };
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                "-s" | "--scheduler" => {
                    i += 1;
                    svc.scheduler = Some((*rest.get(i).ok_or("`-s` without a value")?).to_owned());
                }
                "-p" | "--persistent" => {
                    // The timeout is optional in ipvsadm's syntax.
                    match rest.get(i + 1).and_then(|v| parse_u64(v)) {
                        Some(t) => {
                            svc.persistent = Some(t);
                            i += 1;
                        }
                        None => svc.persistent = Some(0),
                    }
                }
                other => svc.other.push(other.to_owned()),
            }
            i += 1;
        }
        index.insert(
            (svc.protocol.clone(), svc.address.clone()),
            ipvs.services.len(),
        );
        ipvs.services.push(svc);
        return Ok(());
    }
    let Some(svc) = index
        .get(&(protocol, address.clone()))
        .and_then(|&i| ipvs.services.get_mut(i))
    else {
        return Err(format!("real server for unknown service `{address}`"));
    };
    let mut server = RealServer {
        line,
        address: String::new(),
        socket: None,
        forwarding: None,
        weight: None,
        other: Vec::new(),
    };
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            "-r" | "--real-server" => {
                i += 1;
                server.address = (*rest.get(i).ok_or("`-r` without a value")?).to_owned();
                server.socket = socket(&server.address);
            }
            "-m" | "--masquerading" => server.forwarding = Some(Forwarding::Masquerading),
            "-g" | "--gatewaying" => server.forwarding = Some(Forwarding::Gatewaying),
            "-i" | "--ipip" => server.forwarding = Some(Forwarding::Tunneling),
            "-w" | "--weight" => {
                i += 1;
                let w = rest.get(i).ok_or("`-w` without a value")?;
                server.weight = Some(w.parse().map_err(|_| format!("bad weight `{w}`"))?);
            }
            other => server.other.push(other.to_owned()),
        }
        i += 1;
    }
    if server.address.is_empty() {
        return Err("real server line without `-r`".to_owned());
    }
    svc.real_servers.push(server);
    Ok(())
}

fn table_protocol(s: &str) -> Option<Protocol> {
    Some(match s {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        "FWM" => Protocol::Fwmark,
        _ => return None,
    })
}

fn table_line(table: &mut ListTable, line: usize, raw: &str) -> Result<(), String> {
    let mut it = fields(raw);
    let first = it.next().unwrap_or_default();
    if first == "Prot" {
        it.next(); // LocalAddress:Port
        table.service_columns = it.map(str::to_owned).collect();
        return Ok(());
    }
    if first == "->" {
        let address = it.next().ok_or("`->` without an address")?;
        if address == "RemoteAddress:Port" {
            table.server_columns = it.map(str::to_owned).collect();
            return Ok(());
        }
        let svc = table
            .services
            .last_mut()
            .ok_or("real-server row before any service row")?;
        svc.real_servers.push(TableServer {
            line,
            address: address.to_owned(),
            values: it.map(str::to_owned).collect(),
        });
        return Ok(());
    }
    let protocol = table_protocol(first).ok_or_else(|| format!("unknown protocol `{first}`"))?;
    let address = it.next().ok_or("service row without an address")?;
    table.services.push(TableService {
        line,
        protocol,
        address: address.to_owned(),
        values: it.map(str::to_owned).collect(),
        real_servers: Vec::new(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        let p = parse(input);
        let got = format!(
            "svcs={} servers={:?} tables={} diags={:?}",
            p.value.services.len(),
            p.value
                .services
                .iter()
                .map(|s| s.real_servers.len())
                .collect::<Vec<_>>(),
            p.value.tables.len(),
            p.diagnostics.iter().map(|d| &d.reason).collect::<Vec<_>>()
        );
        assert_eq!(got, expect);
    }

    #[test]
    fn save_lines() {
        check(
            "-A -t 172.20.0.10:53 -s rr\n-a -t 172.20.0.10:53 -r 10.0.1.5:53 -m -w 1\n",
            "svcs=1 servers=[1] tables=0 diags=[]",
        );
        check(
            "-a -t 1.2.3.4:53 -r 10.0.1.5:53 -m -w 1\n",
            "svcs=0 servers=[] tables=0 diags=[\"real server for unknown service `1.2.3.4:53`\"]",
        );
        check(
            "-A -x 1.2.3.4:1\n",
            "svcs=0 servers=[] tables=0 diags=[\"unknown protocol flag `-x`\"]",
        );
        check(
            "-A -f 100 -s rr -p 300\n-a -f 100 -r [fd00::1]:80 -g -w x\n",
            "svcs=1 servers=[0] tables=0 diags=[\"bad weight `x`\"]",
        );
    }

    #[test]
    fn tables() {
        let p = parse(
            "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  172.20.0.1:443                      5      100      100     9000     12K\n  -> 10.0.100.5:443                      5      100      100     9000     9000\n",
        );
        assert!(p.diagnostics.is_empty());
        let t = &p.value.tables[0];
        assert_eq!(
            t.services[0].value(&t.service_columns, "OutBytes"),
            Some(12_000)
        );
        assert_eq!(t.services[0].real_servers.len(), 1);
        assert!(p.value.has_services());
        let missing = parse("Can't initialize ipvs: Protocol not available\n");
        assert!(missing.value.module_missing && !missing.value.has_services());
    }
}

//! Typed `-m module` matches: which options each module owns, how its options
//! become a [`Match`], and how a [`Match`] prints in iptables-save's order.
//!
//! A module whose options are not all understood is kept whole as
//! [`Match::Other`], so nothing is lost.

use std::fmt::Write as _;

use crate::iptables::model::{
    AddrtypeMatch, ConntrackMatch, LimitMatch, Match, MultiportKind, MultiportMatch, Neg,
    OtherMatch, OwnerMatch, PhysdevMatch, RecentMatch, RecentMode, SetMatch, SocketMatch,
    StatisticMatch, TcpFlags, TcpMatch, UdpMatch,
};
use crate::iptables::tokens::{Tok, push_arg, push_save_string};
use crate::iptables::values;

/// One option of a module or target: `[!] --name args…`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opt<'t, 'a> {
    pub(crate) negated: bool,
    pub(crate) name: &'t str,
    pub(crate) args: &'t [Tok<'a>],
}

impl<'t> Opt<'t, '_> {
    /// The single argument of the option.
    pub(crate) fn one(&self) -> Result<&'t str, String> {
        match self.args {
            [only] => Ok(&only.text),
            _ => Err(format!("option {} takes one argument", self.name)),
        }
    }

    /// Checks that the option has no argument and returns its negation.
    pub(crate) fn flag(&self) -> Result<bool, String> {
        if self.args.is_empty() {
            Ok(self.negated)
        } else {
            Err(format!("option {} takes no argument", self.name))
        }
    }

    fn not_negated(&self) -> Result<(), String> {
        if self.negated {
            Err(format!("option {} cannot be negated", self.name))
        } else {
            Ok(())
        }
    }

    fn neg<T>(&self, value: Option<T>) -> Result<Neg<T>, String> {
        match value {
            Some(value) => Ok(Neg {
                negated: self.negated,
                value,
            }),
            None => Err(format!("bad value for {}", self.name)),
        }
    }
}

/// Whether the typed `module` owns `option` (used to attribute options to
/// modules when the writer interleaves them, as kube-proxy does).
pub(crate) fn module_accepts(module: &str, option: &str) -> bool {
    module_options(module).contains(&option)
}

/// The options the typed `module` owns (none for an untyped module).
pub(crate) fn module_options(module: &str) -> &'static [&'static str] {
    match module {
        "tcp" => &[
            "--sport",
            "--source-port",
            "--dport",
            "--destination-port",
            "--tcp-flags",
            "--syn",
            "--tcp-option",
        ],
        "udp" => &["--sport", "--source-port", "--dport", "--destination-port"],
        "multiport" => &[
            "--sports",
            "--dports",
            "--ports",
            "--source-ports",
            "--destination-ports",
        ],
        "comment" => &["--comment"],
        "conntrack" => &[
            "--ctstate",
            "--ctproto",
            "--ctorigsrc",
            "--ctorigdst",
            "--ctreplsrc",
            "--ctrepldst",
            "--ctorigsrcport",
            "--ctorigdstport",
            "--ctreplsrcport",
            "--ctrepldstport",
            "--ctstatus",
            "--ctexpire",
            "--ctdir",
        ],
        "state" => &["--state"],
        "mark" | "connmark" => &["--mark"],
        "addrtype" => &[
            "--src-type",
            "--dst-type",
            "--limit-iface-in",
            "--limit-iface-out",
        ],
        "statistic" => &["--mode", "--probability", "--every", "--packet"],
        "set" => &[
            "--match-set",
            "--set",
            "--return-nomatch",
            "--update-counters",
            "--update-subcounters",
            "--packets-eq",
            "--packets-lt",
            "--packets-gt",
            "--bytes-eq",
            "--bytes-lt",
            "--bytes-gt",
        ],
        "physdev" => &[
            "--physdev-in",
            "--physdev-out",
            "--physdev-is-in",
            "--physdev-is-out",
            "--physdev-is-bridged",
        ],
        "limit" => &["--limit", "--limit-burst"],
        "recent" => &[
            "--set",
            "--rcheck",
            "--update",
            "--remove",
            "--seconds",
            "--reap",
            "--hitcount",
            "--rttl",
            "--name",
            "--mask",
            "--rsource",
            "--rdest",
        ],
        "owner" => &[
            "--uid-owner",
            "--gid-owner",
            "--socket-exists",
            "--suppl-groups",
        ],
        "icmp" => &["--icmp-type"],
        "icmp6" => &["--icmpv6-type"],
        "mac" => &["--mac-source"],
        "nfacct" => &["--nfacct-name"],
        "socket" => &["--transparent", "--nowildcard", "--restore-skmark"],
        _ => &[],
    }
}

/// Builds a typed match; `Err` carries why the module is kept whole instead.
pub(crate) fn build(module: &str, opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    match module {
        "tcp" => tcp(opts),
        "udp" => udp(opts),
        "multiport" => multiport(opts),
        "comment" => match opts {
            [opt] if opt.name == "--comment" => {
                opt.not_negated()?;
                Ok(Match::Comment {
                    comment: opt.one()?.to_owned(),
                })
            }
            _ => Err("comment takes one --comment".to_owned()),
        },
        "conntrack" => conntrack(opts),
        "state" => match opts {
            [opt] if opt.name == "--state" => {
                Ok(Match::State(opt.neg(values::ct_states(opt.one()?))?))
            }
            _ => Err("state takes one --state".to_owned()),
        },
        "mark" | "connmark" => match opts {
            [opt] if opt.name == "--mark" => {
                let mark = opt.neg(values::mark_mask(opt.one()?))?;
                Ok(if module == "mark" {
                    Match::Mark(mark)
                } else {
                    Match::Connmark(mark)
                })
            }
            _ => Err(format!("{module} takes one --mark")),
        },
        "addrtype" => addrtype(opts),
        "statistic" => statistic(opts),
        "set" => set(opts),
        "physdev" => physdev(opts),
        "limit" => limit(opts),
        "recent" => recent(opts),
        "owner" => owner(opts),
        "icmp" | "icmp6" => match opts {
            [opt] if opt.name == "--icmp-type" || opt.name == "--icmpv6-type" => {
                let value = opt.neg(Some(opt.one()?.to_owned()))?;
                Ok(if module == "icmp" {
                    Match::Icmp(value)
                } else {
                    Match::Icmp6(value)
                })
            }
            _ => Err(format!("{module} takes one type option")),
        },
        "mac" => match opts {
            [opt] if opt.name == "--mac-source" => {
                Ok(Match::Mac(opt.neg(Some(opt.one()?.to_owned()))?))
            }
            _ => Err("mac takes one --mac-source".to_owned()),
        },
        "nfacct" => match opts {
            [opt] if opt.name == "--nfacct-name" => {
                opt.not_negated()?;
                Ok(Match::Nfacct {
                    name: opt.one()?.to_owned(),
                })
            }
            _ => Err("nfacct takes one --nfacct-name".to_owned()),
        },
        "socket" => socket(opts),
        _ => Err(format!("module {module} is not typed")),
    }
}

/// Keeps a module whole.
pub(crate) fn other(module: &str, opts: &[Opt<'_, '_>]) -> Match {
    let mut args = Vec::new();
    for opt in opts {
        if opt.negated {
            args.push("!".to_owned());
        }
        args.push(opt.name.to_owned());
        args.extend(opt.args.iter().map(|t| t.text.to_string()));
    }
    Match::Other(Box::new(OtherMatch {
        module: module.to_owned(),
        args,
    }))
}

fn unknown(module: &str, opt: &Opt<'_, '_>) -> String {
    format!("{module} option {} is not typed", opt.name)
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("option {name} given twice"));
    }
    *slot = Some(value);
    Ok(())
}

fn tcp(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = TcpMatch::default();
    for opt in opts {
        match opt.name {
            "--sport" | "--source-port" => set_once(
                &mut m.sport,
                opt.neg(values::port_range(opt.one()?))?,
                opt.name,
            )?,
            "--dport" | "--destination-port" => set_once(
                &mut m.dport,
                opt.neg(values::port_range(opt.one()?))?,
                opt.name,
            )?,
            "--tcp-option" => set_once(&mut m.option, opt.neg(opt.one()?.parse().ok())?, opt.name)?,
            "--syn" => {
                let negated = opt.flag()?;
                let flags = TcpFlags {
                    mask: 0x17,
                    comp: 0x02,
                };
                set_once(
                    &mut m.flags,
                    Neg {
                        negated,
                        value: flags,
                    },
                    opt.name,
                )?;
            }
            "--tcp-flags" => match opt.args {
                [mask, comp] => {
                    let flags = values::tcp_flags(&mask.text)
                        .zip(values::tcp_flags(&comp.text))
                        .map(|(mask, comp)| TcpFlags { mask, comp });
                    set_once(&mut m.flags, opt.neg(flags)?, opt.name)?;
                }
                _ => return Err("--tcp-flags takes two arguments".to_owned()),
            },
            _ => return Err(unknown("tcp", opt)),
        }
    }
    Ok(Match::Tcp(m))
}

fn udp(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = UdpMatch::default();
    for opt in opts {
        match opt.name {
            "--sport" | "--source-port" => set_once(
                &mut m.sport,
                opt.neg(values::port_range(opt.one()?))?,
                opt.name,
            )?,
            "--dport" | "--destination-port" => set_once(
                &mut m.dport,
                opt.neg(values::port_range(opt.one()?))?,
                opt.name,
            )?,
            _ => return Err(unknown("udp", opt)),
        }
    }
    Ok(Match::Udp(m))
}

fn multiport(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let [opt] = opts else {
        return Err("multiport takes exactly one port option".to_owned());
    };
    let kind = match opt.name {
        "--sports" | "--source-ports" => MultiportKind::Source,
        "--dports" | "--destination-ports" => MultiportKind::Destination,
        "--ports" => MultiportKind::Either,
        _ => return Err(unknown("multiport", opt)),
    };
    let ports = values::port_list(opt.one()?).ok_or("bad multiport port list")?;
    if ports.len() > 15 {
        return Err("multiport takes at most 15 ports".to_owned());
    }
    Ok(Match::Multiport(MultiportMatch {
        kind,
        negated: opt.negated,
        ports,
    }))
}

fn conntrack(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = ConntrackMatch::default();
    for opt in opts {
        let name = opt.name;
        match name {
            "--ctstate" => set_once(&mut m.state, opt.neg(values::ct_states(opt.one()?))?, name)?,
            "--ctproto" => set_once(
                &mut m.proto,
                opt.neg(values::proto_number(opt.one()?))?,
                name,
            )?,
            "--ctorigsrc" => set_once(&mut m.orig_src, opt.neg(values::ipnet(opt.one()?))?, name)?,
            "--ctorigdst" => set_once(&mut m.orig_dst, opt.neg(values::ipnet(opt.one()?))?, name)?,
            "--ctreplsrc" => set_once(&mut m.repl_src, opt.neg(values::ipnet(opt.one()?))?, name)?,
            "--ctrepldst" => set_once(&mut m.repl_dst, opt.neg(values::ipnet(opt.one()?))?, name)?,
            "--ctorigsrcport" => set_once(
                &mut m.orig_src_port,
                opt.neg(values::port_range(opt.one()?))?,
                name,
            )?,
            "--ctorigdstport" => set_once(
                &mut m.orig_dst_port,
                opt.neg(values::port_range(opt.one()?))?,
                name,
            )?,
            "--ctreplsrcport" => set_once(
                &mut m.repl_src_port,
                opt.neg(values::port_range(opt.one()?))?,
                name,
            )?,
            "--ctrepldstport" => set_once(
                &mut m.repl_dst_port,
                opt.neg(values::port_range(opt.one()?))?,
                name,
            )?,
            "--ctstatus" => {
                let words: Vec<String> = opt.one()?.split(',').map(str::to_owned).collect();
                let known = ["NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"];
                if words.iter().any(|w| !known.contains(&w.as_str())) {
                    return Err("bad --ctstatus".to_owned());
                }
                set_once(&mut m.status, opt.neg(Some(words))?, name)?;
            }
            "--ctexpire" => {
                let text = opt.one()?;
                let range = match text.split_once(':') {
                    Some((a, b)) => values::u32_decimal(a).zip(values::u32_decimal(b)),
                    None => values::u32_decimal(text).map(|v| (v, v)),
                }
                .filter(|(a, b)| a <= b);
                set_once(&mut m.expire, opt.neg(range)?, name)?;
            }
            "--ctdir" => {
                opt.not_negated()?;
                let dir = opt.one()?;
                if dir != "ORIGINAL" && dir != "REPLY" {
                    return Err("bad --ctdir".to_owned());
                }
                set_once(&mut m.direction, dir.to_owned(), name)?;
            }
            _ => return Err(unknown("conntrack", opt)),
        }
    }
    if m == ConntrackMatch::default() {
        return Err("conntrack needs an option".to_owned());
    }
    Ok(Match::Conntrack(Box::new(m)))
}

fn addrtype(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = AddrtypeMatch::default();
    for opt in opts {
        let types = || {
            Some(
                opt.one()
                    .ok()?
                    .split(',')
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        };
        match opt.name {
            "--src-type" => set_once(&mut m.src_type, opt.neg(types())?, opt.name)?,
            "--dst-type" => set_once(&mut m.dst_type, opt.neg(types())?, opt.name)?,
            "--limit-iface-in" => {
                opt.not_negated()?;
                opt.flag()?;
                m.limit_iface_in = true;
            }
            "--limit-iface-out" => {
                opt.not_negated()?;
                opt.flag()?;
                m.limit_iface_out = true;
            }
            _ => return Err(unknown("addrtype", opt)),
        }
    }
    Ok(Match::Addrtype(Box::new(m)))
}

/// The statistic module stores the probability as a 31-bit fraction.
pub(crate) fn quantise_probability(p: f64) -> f64 {
    let scaled = (p * 2_147_483_648.0).round();
    scaled / 2_147_483_648.0
}

fn statistic(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut mode = None;
    let mut probability = None;
    let mut every = None;
    let mut packet = None;
    let mut negated = false;
    for opt in opts {
        match opt.name {
            "--mode" => {
                opt.not_negated()?;
                set_once(&mut mode, opt.one()?, opt.name)?;
            }
            "--probability" => {
                negated |= opt.negated;
                let p: f64 = opt.one()?.parse().map_err(|_| "bad --probability")?;
                if !(0.0..=1.0).contains(&p) {
                    return Err("--probability out of range".to_owned());
                }
                set_once(&mut probability, p, opt.name)?;
            }
            "--every" => {
                negated |= opt.negated;
                let n = values::u32_decimal(opt.one()?).ok_or("bad --every")?;
                set_once(&mut every, n, opt.name)?;
            }
            "--packet" => {
                opt.not_negated()?;
                let n = values::u32_decimal(opt.one()?).ok_or("bad --packet")?;
                set_once(&mut packet, n, opt.name)?;
            }
            _ => return Err(unknown("statistic", opt)),
        }
    }
    match (mode, probability, every) {
        (Some("random"), Some(p), None) if packet.is_none() => {
            Ok(Match::Statistic(StatisticMatch::Random {
                negated,
                probability: quantise_probability(p),
            }))
        }
        (Some("nth"), None, Some(every)) if every > 0 => {
            // The kernel stores every-1; `--packet` must be below `--every`.
            let packet = packet.unwrap_or(0);
            if packet >= every {
                return Err("--packet must be below --every".to_owned());
            }
            Ok(Match::Statistic(StatisticMatch::Nth {
                negated,
                every,
                packet,
            }))
        }
        _ => Err("inconsistent statistic options".to_owned()),
    }
}

fn set(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut found = None;
    let mut extra = Vec::new();
    for opt in opts {
        match opt.name {
            "--match-set" | "--set" if found.is_none() => match opt.args {
                [name, flags] => {
                    found = Some((opt.negated, name.text.to_string(), flags.text.to_string()))
                }
                _ => return Err("--match-set takes two arguments".to_owned()),
            },
            _ if module_accepts("set", opt.name)
                && opt.name != "--match-set"
                && opt.name != "--set" =>
            {
                if opt.negated {
                    extra.push("!".to_owned());
                }
                extra.push(opt.name.to_owned());
                extra.extend(opt.args.iter().map(|t| t.text.to_string()));
            }
            _ => return Err(unknown("set", opt)),
        }
    }
    let (negated, name, flags) = found.ok_or("set needs --match-set")?;
    Ok(Match::Set(Box::new(SetMatch {
        negated,
        name,
        flags,
        extra,
    })))
}

fn physdev(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = PhysdevMatch::default();
    for opt in opts {
        match opt.name {
            "--physdev-in" => set_once(
                &mut m.physdev_in,
                opt.neg(Some(opt.one()?.to_owned()))?,
                opt.name,
            )?,
            "--physdev-out" => set_once(
                &mut m.physdev_out,
                opt.neg(Some(opt.one()?.to_owned()))?,
                opt.name,
            )?,
            "--physdev-is-in" => set_once(&mut m.is_in, !opt.flag()?, opt.name)?,
            "--physdev-is-out" => set_once(&mut m.is_out, !opt.flag()?, opt.name)?,
            "--physdev-is-bridged" => set_once(&mut m.is_bridged, !opt.flag()?, opt.name)?,
            _ => return Err(unknown("physdev", opt)),
        }
    }
    Ok(Match::Physdev(Box::new(m)))
}

fn limit(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut rate = None;
    let mut burst = None;
    for opt in opts {
        opt.not_negated()?;
        match opt.name {
            "--limit" => set_once(&mut rate, opt.one()?.to_owned(), opt.name)?,
            "--limit-burst" => set_once(
                &mut burst,
                values::u32_decimal(opt.one()?).ok_or("bad --limit-burst")?,
                opt.name,
            )?,
            _ => return Err(unknown("limit", opt)),
        }
    }
    Ok(Match::Limit(LimitMatch {
        rate: rate.unwrap_or_else(|| "3/hour".to_owned()),
        burst,
    }))
}

fn recent(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut mode = None;
    let mut m = RecentMatch {
        mode: Neg {
            negated: false,
            value: RecentMode::Set,
        },
        seconds: None,
        reap: false,
        hitcount: None,
        rttl: false,
        name: None,
        mask: None,
        rdest: false,
        side_explicit: false,
    };
    for opt in opts {
        let name = opt.name;
        match name {
            "--set" | "--rcheck" | "--update" | "--remove" => {
                let value = match name {
                    "--set" => RecentMode::Set,
                    "--rcheck" => RecentMode::Rcheck,
                    "--update" => RecentMode::Update,
                    _ => RecentMode::Remove,
                };
                let negated = opt.flag()?;
                set_once(&mut mode, Neg { negated, value }, "recent mode")?;
            }
            "--seconds" => set_once(
                &mut m.seconds,
                values::u32_decimal(opt.one()?).ok_or("bad --seconds")?,
                name,
            )?,
            "--hitcount" => set_once(
                &mut m.hitcount,
                values::u32_decimal(opt.one()?).ok_or("bad --hitcount")?,
                name,
            )?,
            "--reap" => {
                opt.not_negated()?;
                opt.flag()?;
                m.reap = true;
            }
            "--rttl" => {
                opt.not_negated()?;
                opt.flag()?;
                m.rttl = true;
            }
            "--name" => set_once(&mut m.name, opt.one()?.to_owned(), name)?,
            "--mask" => set_once(
                &mut m.mask,
                opt.one()?.parse().map_err(|_| "bad --mask")?,
                name,
            )?,
            "--rsource" | "--rdest" => {
                opt.not_negated()?;
                opt.flag()?;
                m.rdest = name == "--rdest";
                m.side_explicit = true;
            }
            _ => return Err(unknown("recent", opt)),
        }
        if opt.negated && !matches!(name, "--set" | "--rcheck" | "--update" | "--remove") {
            return Err(format!("option {name} cannot be negated"));
        }
    }
    m.mode = mode.ok_or("recent needs a mode")?;
    Ok(Match::Recent(Box::new(m)))
}

fn owner(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = OwnerMatch::default();
    for opt in opts {
        match opt.name {
            "--uid-owner" => set_once(&mut m.uid, opt.neg(Some(opt.one()?.to_owned()))?, opt.name)?,
            "--gid-owner" => set_once(&mut m.gid, opt.neg(Some(opt.one()?.to_owned()))?, opt.name)?,
            "--socket-exists" => set_once(&mut m.socket_exists, !opt.flag()?, opt.name)?,
            _ => return Err(unknown("owner", opt)),
        }
    }
    Ok(Match::Owner(Box::new(m)))
}

fn socket(opts: &[Opt<'_, '_>]) -> Result<Match, String> {
    let mut m = SocketMatch::default();
    for opt in opts {
        opt.not_negated()?;
        opt.flag()?;
        match opt.name {
            "--transparent" => m.transparent = true,
            "--nowildcard" => m.nowildcard = true,
            "--restore-skmark" => m.restore_skmark = true,
            _ => return Err(unknown("socket", opt)),
        }
    }
    Ok(Match::Socket(m))
}

fn bang(out: &mut String, negated: bool) {
    if negated {
        out.push_str(" !");
    }
}

fn neg_text(out: &mut String, option: &str, value: &Neg<String>) {
    bang(out, value.negated);
    out.push(' ');
    out.push_str(option);
    push_arg(out, &value.value);
}

fn neg_ports(
    out: &mut String,
    option: &str,
    value: &Option<Neg<crate::iptables::model::PortRange>>,
) {
    if let Some(v) = value {
        bang(out, v.negated);
        out.push(' ');
        out.push_str(option);
        out.push(' ');
        values::write_port_range(out, v.value);
    }
}

fn neg_net(out: &mut String, option: &str, value: &Option<Neg<crate::iptables::model::IpNet>>) {
    if let Some(v) = value {
        bang(out, v.negated);
        out.push(' ');
        out.push_str(option);
        out.push(' ');
        values::write_ipnet(out, &v.value);
    }
}

fn flag(out: &mut String, option: &str, value: Option<bool>) {
    if let Some(positive) = value {
        bang(out, !positive);
        out.push(' ');
        out.push_str(option);
    }
}

/// Prints a module match (`-m name …`) in iptables-save's option order.
/// Generic matches are printed by the rule printer.
pub(crate) fn write_module(out: &mut String, m: &Match) {
    match m {
        Match::Source(_)
        | Match::Destination(_)
        | Match::InInterface(_)
        | Match::OutInterface(_)
        | Match::Protocol(_)
        | Match::Fragment { .. } => {}
        Match::Tcp(t) => {
            out.push_str(" -m tcp");
            neg_ports(out, "--sport", &t.sport);
            neg_ports(out, "--dport", &t.dport);
            if let Some(o) = &t.option {
                bang(out, o.negated);
                let _ = write!(out, " --tcp-option {}", o.value);
            }
            if let Some(f) = &t.flags {
                bang(out, f.negated);
                out.push_str(" --tcp-flags ");
                values::write_tcp_flags(out, f.value.mask);
                out.push(' ');
                values::write_tcp_flags(out, f.value.comp);
            }
        }
        Match::Udp(u) => {
            out.push_str(" -m udp");
            neg_ports(out, "--sport", &u.sport);
            neg_ports(out, "--dport", &u.dport);
        }
        Match::Multiport(mp) => {
            out.push_str(" -m multiport");
            bang(out, mp.negated);
            out.push_str(match mp.kind {
                MultiportKind::Source => " --sports ",
                MultiportKind::Destination => " --dports ",
                MultiportKind::Either => " --ports ",
            });
            for (i, range) in mp.ports.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                values::write_port_range(out, *range);
            }
        }
        Match::Comment { comment } => {
            out.push_str(" -m comment --comment");
            push_save_string(out, comment);
        }
        Match::Conntrack(c) => {
            out.push_str(" -m conntrack");
            if let Some(s) = &c.state {
                bang(out, s.negated);
                out.push_str(" --ctstate ");
                values::write_ct_states(out, &s.value);
            }
            if let Some(p) = &c.proto {
                bang(out, p.negated);
                let _ = write!(out, " --ctproto {}", p.value);
            }
            neg_net(out, "--ctorigsrc", &c.orig_src);
            neg_net(out, "--ctorigdst", &c.orig_dst);
            neg_net(out, "--ctreplsrc", &c.repl_src);
            neg_net(out, "--ctrepldst", &c.repl_dst);
            neg_ports(out, "--ctorigsrcport", &c.orig_src_port);
            neg_ports(out, "--ctorigdstport", &c.orig_dst_port);
            neg_ports(out, "--ctreplsrcport", &c.repl_src_port);
            neg_ports(out, "--ctrepldstport", &c.repl_dst_port);
            if let Some(s) = &c.status {
                bang(out, s.negated);
                out.push_str(" --ctstatus ");
                out.push_str(&s.value.join(","));
            }
            if let Some(e) = &c.expire {
                bang(out, e.negated);
                let (a, b) = e.value;
                if a == b {
                    let _ = write!(out, " --ctexpire {a}");
                } else {
                    let _ = write!(out, " --ctexpire {a}:{b}");
                }
            }
            if let Some(d) = &c.direction {
                out.push_str(" --ctdir ");
                out.push_str(d);
            }
        }
        Match::State(s) => {
            out.push_str(" -m state");
            bang(out, s.negated);
            out.push_str(" --state ");
            values::write_ct_states(out, &s.value);
        }
        Match::Mark(mark) | Match::Connmark(mark) => {
            out.push_str(if matches!(m, Match::Mark(_)) {
                " -m mark"
            } else {
                " -m connmark"
            });
            bang(out, mark.negated);
            out.push_str(" --mark ");
            values::write_mark_mask(out, mark.value);
        }
        Match::Addrtype(a) => {
            out.push_str(" -m addrtype");
            for (option, value) in [("--src-type", &a.src_type), ("--dst-type", &a.dst_type)] {
                if let Some(v) = value {
                    bang(out, v.negated);
                    out.push(' ');
                    out.push_str(option);
                    out.push(' ');
                    out.push_str(&v.value.join(","));
                }
            }
            if a.limit_iface_in {
                out.push_str(" --limit-iface-in");
            }
            if a.limit_iface_out {
                out.push_str(" --limit-iface-out");
            }
        }
        Match::Statistic(s) => {
            out.push_str(" -m statistic");
            match s {
                StatisticMatch::Random {
                    negated,
                    probability,
                } => {
                    out.push_str(" --mode random");
                    bang(out, *negated);
                    out.push_str(" --probability ");
                    values::write_probability(out, *probability);
                }
                StatisticMatch::Nth {
                    negated,
                    every,
                    packet,
                } => {
                    out.push_str(" --mode nth");
                    bang(out, *negated);
                    let _ = write!(out, " --every {every}");
                    if *packet != 0 {
                        let _ = write!(out, " --packet {packet}");
                    }
                }
            }
        }
        Match::Set(s) => {
            out.push_str(" -m set");
            bang(out, s.negated);
            out.push_str(" --match-set");
            push_arg(out, &s.name);
            push_arg(out, &s.flags);
            write_tokens(out, &s.extra);
        }
        Match::Physdev(p) => {
            out.push_str(" -m physdev");
            if let Some(v) = &p.physdev_in {
                neg_text(out, "--physdev-in", v);
            }
            if let Some(v) = &p.physdev_out {
                neg_text(out, "--physdev-out", v);
            }
            flag(out, "--physdev-is-in", p.is_in);
            flag(out, "--physdev-is-out", p.is_out);
            flag(out, "--physdev-is-bridged", p.is_bridged);
        }
        Match::Limit(l) => {
            out.push_str(" -m limit --limit");
            push_arg(out, &l.rate);
            if let Some(b) = l.burst {
                let _ = write!(out, " --limit-burst {b}");
            }
        }
        Match::Recent(r) => {
            out.push_str(" -m recent");
            bang(out, r.mode.negated);
            out.push_str(match r.mode.value {
                RecentMode::Set => " --set",
                RecentMode::Rcheck => " --rcheck",
                RecentMode::Update => " --update",
                RecentMode::Remove => " --remove",
            });
            if let Some(s) = r.seconds {
                let _ = write!(out, " --seconds {s}");
            }
            if r.reap {
                out.push_str(" --reap");
            }
            if let Some(h) = r.hitcount {
                let _ = write!(out, " --hitcount {h}");
            }
            if r.rttl {
                out.push_str(" --rttl");
            }
            if let Some(n) = &r.name {
                out.push_str(" --name");
                push_arg(out, n);
            }
            if let Some(mask) = r.mask {
                let _ = write!(out, " --mask {mask}");
            }
            if r.side_explicit {
                out.push_str(if r.rdest { " --rdest" } else { " --rsource" });
            }
        }
        Match::Owner(o) => {
            out.push_str(" -m owner");
            if let Some(v) = &o.uid {
                neg_text(out, "--uid-owner", v);
            }
            if let Some(v) = &o.gid {
                neg_text(out, "--gid-owner", v);
            }
            flag(out, "--socket-exists", o.socket_exists);
        }
        Match::Icmp(v) => {
            out.push_str(" -m icmp");
            neg_text(out, "--icmp-type", v);
        }
        Match::Icmp6(v) => {
            out.push_str(" -m icmp6");
            neg_text(out, "--icmpv6-type", v);
        }
        Match::Mac(v) => {
            out.push_str(" -m mac");
            neg_text(out, "--mac-source", v);
        }
        Match::Nfacct { name } => {
            out.push_str(" -m nfacct --nfacct-name");
            push_arg(out, name);
        }
        Match::Socket(s) => {
            out.push_str(" -m socket");
            if s.transparent {
                out.push_str(" --transparent");
            }
            if s.nowildcard {
                out.push_str(" --nowildcard");
            }
            if s.restore_skmark {
                out.push_str(" --restore-skmark");
            }
        }
        Match::Other(other) => {
            out.push_str(" -m");
            push_arg(out, &other.module);
            write_tokens(out, &other.args);
        }
    }
}

/// Prints option tokens kept verbatim: option names and `!` bare, values
/// quoted when needed.
pub(crate) fn write_tokens(out: &mut String, args: &[String]) {
    for arg in args {
        if arg == "!" || (arg.starts_with('-') && arg.len() > 1) {
            out.push(' ');
            out.push_str(arg);
        } else {
            push_arg(out, arg);
        }
    }
}

//! Typed `-j` targets: building them from their options and printing them in
//! iptables-save's form.
//!
//! Targets are normalised the way the kernel stores them, so that different
//! spellings of one action compare equal: `MARK --or-mark 0x4000` (what
//! kube-proxy writes) and `MARK --set-xmark 0x4000/0x4000` (what
//! iptables-save prints) are the same [`Target::Mark`].

use std::fmt::Write as _;

use crate::iptables::matches::{Opt, write_tokens};
use crate::iptables::model::{
    ChainName, ConnmarkTarget, CtTarget, LogTarget, MarkMask, MasqueradeTarget, NatTarget,
    NflogTarget, PortRange, Target, TproxyTarget,
};
use crate::iptables::tokens::{push_arg, push_save_string};
use crate::iptables::values;

/// Builds the target of `-j name opts…`. `resolve` gives the shared name of
/// a chain the current table declares (asked only when `name` is not a
/// target extension: iptables refuses chains named like targets); `ipv6`
/// tells whether the rule has IPv6 addresses (for REJECT's default).
pub(crate) fn build(
    name: &str,
    opts: &[Opt<'_, '_>],
    resolve: &dyn Fn(&str) -> Option<ChainName>,
    ipv6: bool,
) -> Result<Target, String> {
    if let Some(opt) = opts.iter().find(|o| o.negated) {
        return Err(format!("target option {} cannot be negated", opt.name));
    }
    let no_options = |target: Target| {
        if opts.is_empty() {
            Ok(target)
        } else {
            Err(format!("target {name} takes no options"))
        }
    };
    match name {
        "ACCEPT" => no_options(Target::Accept),
        "DROP" => no_options(Target::Drop),
        "RETURN" => no_options(Target::Return),
        "QUEUE" => no_options(Target::Queue),
        "NOTRACK" => no_options(Target::Notrack),
        "DNAT" => nat(opts, "--to-destination").map(Target::Dnat),
        "SNAT" => nat(opts, "--to-source").map(Target::Snat),
        "MASQUERADE" => masquerade(opts),
        "REJECT" => match opts {
            [] => Ok(Target::Reject {
                with: if ipv6 {
                    "icmp6-port-unreachable"
                } else {
                    "icmp-port-unreachable"
                }
                .to_owned(),
            }),
            [opt] if opt.name == "--reject-with" => Ok(Target::Reject {
                with: reject_alias(opt.one()?).to_owned(),
            }),
            _ => Err("REJECT takes one --reject-with".to_owned()),
        },
        "MARK" => mark(opts).map(Target::Mark),
        "CONNMARK" => connmark(opts).map(Target::Connmark),
        "LOG" => log(opts),
        "NFLOG" => nflog(opts),
        "CT" => ct(opts),
        "TPROXY" => tproxy(opts),
        _ => match resolve(name) {
            Some(chain) if opts.is_empty() => Ok(Target::Jump { chain }),
            Some(_) => Err(format!("jump to chain {name} takes no options")),
            None => Err(format!("target {name} is not typed")),
        },
    }
}

/// Keeps a target whole.
pub(crate) fn other(name: &str, opts: &[Opt<'_, '_>]) -> Target {
    let mut args = Vec::new();
    for opt in opts {
        if opt.negated {
            args.push("!".to_owned());
        }
        args.push(opt.name.to_owned());
        args.extend(opt.args.iter().map(|t| t.text.to_string()));
    }
    Target::Other {
        name: name.to_owned(),
        args,
    }
}

fn reject_alias(with: &str) -> &str {
    match with {
        "tcp-rst" => "tcp-reset",
        "net-unreach" => "icmp-net-unreachable",
        "host-unreach" => "icmp-host-unreachable",
        "port-unreach" => "icmp-port-unreachable",
        "proto-unreach" => "icmp-proto-unreachable",
        "net-prohib" => "icmp-net-prohibited",
        "host-prohib" => "icmp-host-prohibited",
        "admin-prohib" => "icmp-admin-prohibited",
        other => other,
    }
}

fn nat(opts: &[Opt<'_, '_>], to_option: &str) -> Result<NatTarget, String> {
    let mut target = NatTarget {
        to: None,
        random: false,
        random_fully: false,
        persistent: false,
    };
    for opt in opts {
        match opt.name {
            name if name == to_option => {
                if target.to.is_some() {
                    return Err(format!("{to_option} given twice"));
                }
                target.to = Some(values::nat_range(opt.one()?).ok_or("bad NAT range")?);
            }
            "--random" => target.random = !opt.flag()?,
            "--random-fully" => target.random_fully = !opt.flag()?,
            "--persistent" => target.persistent = !opt.flag()?,
            _ => return Err(format!("NAT option {} is not typed", opt.name)),
        }
    }
    match &target.to {
        None => Err(format!("NAT target needs {to_option}")),
        Some(range) if range.addr.is_none() => Err("NAT range needs an address".to_owned()),
        _ => Ok(target),
    }
}

fn masquerade(opts: &[Opt<'_, '_>]) -> Result<Target, String> {
    let mut target = MasqueradeTarget::default();
    for opt in opts {
        match opt.name {
            "--to-ports" => {
                let text = opt.one()?;
                let range = match text.split_once('-') {
                    Some((a, b)) => values::port(a).zip(values::port(b)),
                    None => values::port(text).map(|p| (p, p)),
                }
                .filter(|(a, b)| a <= b)
                .ok_or("bad --to-ports")?;
                target.to_ports = Some(PortRange {
                    first: range.0,
                    last: range.1,
                });
            }
            "--random" => target.random = !opt.flag()?,
            "--random-fully" => target.random_fully = !opt.flag()?,
            _ => return Err(format!("MASQUERADE option {} is not typed", opt.name)),
        }
    }
    Ok(Target::Masquerade(target))
}

fn mark(opts: &[Opt<'_, '_>]) -> Result<MarkMask, String> {
    let [opt] = opts else {
        return Err("MARK takes one option".to_owned());
    };
    let text = opt.one()?;
    let bad = || format!("bad value for {}", opt.name);
    match opt.name {
        "--set-xmark" => values::mark_mask(text).ok_or_else(bad),
        "--set-mark" => {
            let m = values::mark_mask(text).ok_or_else(bad)?;
            Ok(MarkMask {
                value: m.value,
                mask: m.value | m.mask,
            })
        }
        "--and-mark" => {
            let v = values::u32_number(text).ok_or_else(bad)?;
            Ok(MarkMask { value: 0, mask: !v })
        }
        "--or-mark" => {
            let v = values::u32_number(text).ok_or_else(bad)?;
            Ok(MarkMask { value: v, mask: v })
        }
        "--xor-mark" => {
            let v = values::u32_number(text).ok_or_else(bad)?;
            Ok(MarkMask { value: v, mask: 0 })
        }
        _ => Err(format!("MARK option {} is not typed", opt.name)),
    }
}

fn connmark(opts: &[Opt<'_, '_>]) -> Result<ConnmarkTarget, String> {
    let mut action: Option<ConnmarkTarget> = None;
    let mut nfmask = None;
    let mut ctmask = None;
    let mut mask = None;
    for opt in opts {
        let bad = || format!("bad value for {}", opt.name);
        let set = |action: &mut Option<ConnmarkTarget>, value: ConnmarkTarget| {
            if action.is_some() {
                return Err("CONNMARK takes one action".to_owned());
            }
            *action = Some(value);
            Ok(())
        };
        match opt.name {
            "--set-xmark" | "--set-mark" => {
                let m = values::mark_mask(opt.one()?).ok_or_else(bad)?;
                let m = if opt.name == "--set-mark" {
                    MarkMask {
                        value: m.value,
                        mask: m.value | m.mask,
                    }
                } else {
                    m
                };
                set(&mut action, ConnmarkTarget::SetXmark(m))?;
            }
            "--and-mark" | "--or-mark" | "--xor-mark" => {
                let v = values::u32_number(opt.one()?).ok_or_else(bad)?;
                let m = match opt.name {
                    "--and-mark" => MarkMask { value: 0, mask: !v },
                    "--or-mark" => MarkMask { value: v, mask: v },
                    _ => MarkMask { value: v, mask: 0 },
                };
                set(&mut action, ConnmarkTarget::SetXmark(m))?;
            }
            "--save-mark" | "--restore-mark" => {
                opt.flag()?;
                let value = if opt.name == "--save-mark" {
                    ConnmarkTarget::Save {
                        nfmask: 0,
                        ctmask: 0,
                    }
                } else {
                    ConnmarkTarget::Restore {
                        nfmask: 0,
                        ctmask: 0,
                    }
                };
                set(&mut action, value)?;
            }
            "--nfmask" => nfmask = Some(values::u32_number(opt.one()?).ok_or_else(bad)?),
            "--ctmask" => ctmask = Some(values::u32_number(opt.one()?).ok_or_else(bad)?),
            "--mask" => mask = Some(values::u32_number(opt.one()?).ok_or_else(bad)?),
            _ => return Err(format!("CONNMARK option {} is not typed", opt.name)),
        }
    }
    let nf = nfmask.or(mask).unwrap_or(u32::MAX);
    let ct = ctmask.or(mask).unwrap_or(u32::MAX);
    match action {
        Some(ConnmarkTarget::Save { .. }) => Ok(ConnmarkTarget::Save {
            nfmask: nf,
            ctmask: ct,
        }),
        Some(ConnmarkTarget::Restore { .. }) => Ok(ConnmarkTarget::Restore {
            nfmask: nf,
            ctmask: ct,
        }),
        Some(set @ ConnmarkTarget::SetXmark(_))
            if nfmask.is_none() && ctmask.is_none() && mask.is_none() =>
        {
            Ok(set)
        }
        _ => Err("CONNMARK needs one action".to_owned()),
    }
}

fn log(opts: &[Opt<'_, '_>]) -> Result<Target, String> {
    let mut target = LogTarget::default();
    for opt in opts {
        match opt.name {
            "--log-prefix" => target.prefix = Some(opt.one()?.to_owned()),
            "--log-level" => target.level = Some(opt.one()?.to_owned()),
            "--log-tcp-sequence" | "--log-tcp-options" | "--log-ip-options" | "--log-uid"
            | "--log-macdecode" => {
                opt.flag()?;
                target.flags.push(opt.name.to_owned());
            }
            _ => return Err(format!("LOG option {} is not typed", opt.name)),
        }
    }
    Ok(Target::Log(Box::new(target)))
}

fn nflog(opts: &[Opt<'_, '_>]) -> Result<Target, String> {
    let mut target = NflogTarget::default();
    for opt in opts {
        let bad = || format!("bad value for {}", opt.name);
        match opt.name {
            "--nflog-prefix" => target.prefix = Some(opt.one()?.to_owned()),
            "--nflog-group" => target.group = Some(opt.one()?.parse().map_err(|_| bad())?),
            "--nflog-size" | "--nflog-range" => {
                target.size = Some(values::u32_decimal(opt.one()?).ok_or_else(bad)?)
            }
            "--nflog-threshold" => target.threshold = Some(opt.one()?.parse().map_err(|_| bad())?),
            _ => return Err(format!("NFLOG option {} is not typed", opt.name)),
        }
    }
    Ok(Target::Nflog(Box::new(target)))
}

fn ct(opts: &[Opt<'_, '_>]) -> Result<Target, String> {
    let mut target = CtTarget::default();
    for opt in opts {
        match opt.name {
            "--notrack" => {
                opt.flag()?;
                target.notrack = true;
            }
            "--helper" => target.helper = Some(opt.one()?.to_owned()),
            "--zone" => target.zone = Some(opt.one()?.to_owned()),
            _ => {
                target.extra.push(opt.name.to_owned());
                target
                    .extra
                    .extend(opt.args.iter().map(|t| t.text.to_string()));
            }
        }
    }
    Ok(Target::Ct(Box::new(target)))
}

fn tproxy(opts: &[Opt<'_, '_>]) -> Result<Target, String> {
    let mut target = TproxyTarget::default();
    for opt in opts {
        let bad = || format!("bad value for {}", opt.name);
        match opt.name {
            "--on-port" => target.on_port = Some(values::port(opt.one()?).ok_or_else(bad)?),
            "--on-ip" => target.on_ip = Some(opt.one()?.parse().map_err(|_| bad())?),
            "--tproxy-mark" => target.mark = Some(values::mark_mask(opt.one()?).ok_or_else(bad)?),
            _ => return Err(format!("TPROXY option {} is not typed", opt.name)),
        }
    }
    Ok(Target::Tproxy(Box::new(target)))
}

/// Prints ` -j NAME options` (or ` -g CHAIN`).
pub(crate) fn write(out: &mut String, target: &Target) {
    match target {
        Target::Accept => out.push_str(" -j ACCEPT"),
        Target::Drop => out.push_str(" -j DROP"),
        Target::Return => out.push_str(" -j RETURN"),
        Target::Queue => out.push_str(" -j QUEUE"),
        Target::Notrack => out.push_str(" -j NOTRACK"),
        Target::Jump { chain } => {
            out.push_str(" -j");
            push_arg(out, chain);
        }
        Target::Goto { chain } => {
            out.push_str(" -g");
            push_arg(out, chain);
        }
        Target::Dnat(nat) | Target::Snat(nat) => {
            let (name, option) = if matches!(target, Target::Dnat(_)) {
                (" -j DNAT", " --to-destination ")
            } else {
                (" -j SNAT", " --to-source ")
            };
            out.push_str(name);
            if let Some(to) = &nat.to {
                out.push_str(option);
                values::write_nat_range(out, to);
            }
            if nat.random {
                out.push_str(" --random");
            }
            if nat.random_fully {
                out.push_str(" --random-fully");
            }
            if nat.persistent {
                out.push_str(" --persistent");
            }
        }
        Target::Masquerade(m) => {
            out.push_str(" -j MASQUERADE");
            if let Some(p) = m.to_ports {
                let _ = write!(out, " --to-ports {}", p.first);
                if p.last != p.first {
                    let _ = write!(out, "-{}", p.last);
                }
            }
            if m.random {
                out.push_str(" --random");
            }
            if m.random_fully {
                out.push_str(" --random-fully");
            }
        }
        Target::Reject { with } => {
            out.push_str(" -j REJECT --reject-with");
            push_arg(out, with);
        }
        Target::Mark(m) => {
            let _ = write!(out, " -j MARK --set-xmark 0x{:x}/0x{:x}", m.value, m.mask);
        }
        Target::Connmark(c) => match c {
            ConnmarkTarget::SetXmark(m) => {
                let _ = write!(
                    out,
                    " -j CONNMARK --set-xmark 0x{:x}/0x{:x}",
                    m.value, m.mask
                );
            }
            ConnmarkTarget::Save { nfmask, ctmask } => {
                let _ = write!(
                    out,
                    " -j CONNMARK --save-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                );
            }
            ConnmarkTarget::Restore { nfmask, ctmask } => {
                let _ = write!(
                    out,
                    " -j CONNMARK --restore-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                );
            }
        },
        Target::Log(l) => {
            out.push_str(" -j LOG");
            if let Some(p) = &l.prefix {
                out.push_str(" --log-prefix");
                push_save_string(out, p);
            }
            if let Some(level) = &l.level {
                out.push_str(" --log-level");
                push_arg(out, level);
            }
            for f in &l.flags {
                out.push(' ');
                out.push_str(f);
            }
        }
        Target::Nflog(n) => {
            out.push_str(" -j NFLOG");
            if let Some(p) = &n.prefix {
                out.push_str(" --nflog-prefix");
                push_save_string(out, p);
            }
            if let Some(g) = n.group {
                let _ = write!(out, " --nflog-group {g}");
            }
            if let Some(s) = n.size {
                let _ = write!(out, " --nflog-size {s}");
            }
            if let Some(t) = n.threshold {
                let _ = write!(out, " --nflog-threshold {t}");
            }
        }
        Target::Ct(c) => {
            out.push_str(" -j CT");
            if c.notrack {
                out.push_str(" --notrack");
            }
            if let Some(h) = &c.helper {
                out.push_str(" --helper");
                push_arg(out, h);
            }
            if let Some(z) = &c.zone {
                out.push_str(" --zone");
                push_arg(out, z);
            }
            write_tokens(out, &c.extra);
        }
        Target::Tproxy(t) => {
            out.push_str(" -j TPROXY");
            if let Some(p) = t.on_port {
                let _ = write!(out, " --on-port {p}");
            }
            if let Some(ip) = t.on_ip {
                let _ = write!(out, " --on-ip {ip}");
            }
            if let Some(m) = t.mark {
                let _ = write!(out, " --tproxy-mark 0x{:x}/0x{:x}", m.value, m.mask);
            }
        }
        Target::Other { name, args } => {
            out.push_str(" -j");
            push_arg(out, name);
            write_tokens(out, args);
        }
    }
}

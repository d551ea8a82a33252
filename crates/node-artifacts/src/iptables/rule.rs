//! Turning one `-A CHAIN …` line into a typed [`Rule`].
//!
//! The line is split into arguments, then walked as options
//! (`[!] -x args…`). Generic options (`-s -d -i -o -p -f`) may appear
//! anywhere, as kube-proxy writes them after its `-m` modules; an `--option`
//! belongs to the most recent loaded module that owns it. Typed matches are
//! then stored in canonical order, so the save order and kube-proxy's order
//! give the same rule.

use std::ops::Range;

use nom::character::complete::{char, u64 as dec_u64};
use nom::sequence::{delimited, separated_pair};
use nom::{IResult, Parser};
use smallvec::SmallVec;

use crate::iptables::matches::{self, Opt, module_accepts, module_options};
use crate::iptables::model::{ChainName, Counters, IpNet, Match, Neg, Protocol, Rule, Target};
use crate::iptables::tokens::{Tok, push_arg, tokenize};
use crate::iptables::{targets, values};

/// Buffers reused from one line to the next so that parsing a rule does not
/// allocate beyond what the model keeps.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    toks: Vec<Tok<'a>>,
    opts: Vec<RawOpt>,
    /// Loaded modules with the options each owns, looked up once per module
    /// rather than once per option.
    modules: Vec<(ModuleName, &'static [&'static str])>,
    render: String,
}

/// A loaded module: named by a `-m` argument or loaded implicitly by `-p`.
#[derive(Debug, Clone, Copy)]
enum ModuleName {
    Token(usize),
    Implicit(&'static str),
}

/// An option located by token indices; `owner` is a module index or
/// `usize::MAX` for the target.
#[derive(Debug, Clone)]
struct RawOpt {
    owner: usize,
    negated: bool,
    name: usize,
    args: Range<usize>,
}

const TARGET: usize = usize::MAX;

/// Parses `[packets:bytes]`.
pub(crate) fn counters(i: &str) -> IResult<&str, Counters> {
    delimited(
        char('['),
        separated_pair(dec_u64, char(':'), dec_u64),
        char(']'),
    )
    .map(|(packets, bytes)| Counters { packets, bytes })
    .parse(i)
}

/// Parses one rule line. `resolve` gives the shared name of a chain declared
/// in the current table. Notes about parts kept whole go to `notes`.
pub(crate) fn parse_rule<'a>(
    line_no: usize,
    line: &'a str,
    scratch: &mut Scratch<'a>,
    resolve: &dyn Fn(&str) -> Option<ChainName>,
    notes: &mut Vec<String>,
) -> Result<Rule, String> {
    tokenize(line, &mut scratch.toks).map_err(str::to_owned)?;
    scratch.opts.clear();
    scratch.modules.clear();
    let toks = &scratch.toks;
    let mut i = 0;
    let mut rule_counters = None;
    if let Some(first) = toks
        .first()
        .filter(|t| !t.quoted && t.text.starts_with('['))
    {
        match counters(&first.text) {
            Ok(("", c)) => rule_counters = Some(c),
            _ => return Err("bad counters".to_owned()),
        }
        i = 1;
    }
    match toks.get(i).map(|t| t.text.as_ref()) {
        Some("-A" | "--append") => {}
        Some(
            "-I" | "--insert" | "-D" | "--delete" | "-R" | "--replace" | "-N" | "-X" | "-F" | "-P"
            | "-Z",
        ) => {
            return Err("only -A rules belong in a dump".to_owned());
        }
        _ => return Err("expected -A CHAIN".to_owned()),
    }
    let chain = match toks.get(i + 1) {
        Some(t) if !t.is_option() && !t.is_bang() => {
            resolve(&t.text).unwrap_or_else(|| ChainName::new(&t.text))
        }
        _ => return Err("missing chain name after -A".to_owned()),
    };
    i += 2;

    let mut source: Option<Neg<IpNet>> = None;
    let mut destination: Option<Neg<IpNet>> = None;
    let mut in_iface: Option<Neg<String>> = None;
    let mut out_iface: Option<Neg<String>> = None;
    let mut protocol: Option<Neg<Protocol>> = None;
    let mut fragment: Option<bool> = None;
    let mut target: Option<(usize, bool)> = None;

    while i < toks.len() {
        let mut negated = false;
        if toks[i].is_bang() {
            negated = true;
            i += 1;
        }
        let Some(tok) = toks.get(i) else {
            return Err("`!` at end of rule".to_owned());
        };
        if !tok.is_option() {
            return Err(format!("unexpected argument `{}`", tok.text));
        }
        let name_idx = i;
        let name: &str = &tok.text;
        i += 1;
        // Old iptables-save (1.4) wrote the `!` after the option name
        // (`-d ! 10.0.0.0/8`); accept it when a value follows.
        if !negated
            && toks.get(i).is_some_and(Tok::is_bang)
            && toks
                .get(i + 1)
                .is_some_and(|t| !t.is_option() && !t.is_bang())
        {
            negated = true;
            i += 1;
        }
        let args_start = i;
        while i < toks.len() && !toks[i].is_option() && !toks[i].is_bang() {
            i += 1;
        }
        let args = &toks[args_start..i];
        let one = || match args {
            [only] => Ok(only.text.as_ref()),
            _ => Err(format!("option {name} takes one argument")),
        };
        let dup = || Err(format!("option {name} given twice"));
        let neg = |value| Neg { negated, value };
        match name {
            "-s" | "--source" | "--src" => {
                let net = values::ipnet(one()?).ok_or_else(|| format!("bad address for {name}"))?;
                if source.replace(neg(net)).is_some() {
                    return dup();
                }
            }
            "-d" | "--destination" | "--dst" => {
                let net = values::ipnet(one()?).ok_or_else(|| format!("bad address for {name}"))?;
                if destination.replace(neg(net)).is_some() {
                    return dup();
                }
            }
            "-i" | "--in-interface" => {
                if in_iface
                    .replace(Neg {
                        negated,
                        value: one()?.to_owned(),
                    })
                    .is_some()
                {
                    return dup();
                }
            }
            "-o" | "--out-interface" => {
                if out_iface
                    .replace(Neg {
                        negated,
                        value: one()?.to_owned(),
                    })
                    .is_some()
                {
                    return dup();
                }
            }
            "-p" | "--protocol" => {
                if protocol
                    .replace(Neg {
                        negated,
                        value: values::protocol(one()?),
                    })
                    .is_some()
                {
                    return dup();
                }
            }
            "-f" | "--fragment" => {
                if !args.is_empty() {
                    return Err("-f takes no argument".to_owned());
                }
                if fragment.replace(negated).is_some() {
                    return dup();
                }
            }
            "-m" | "--match" => {
                if negated {
                    return Err("-m cannot be negated".to_owned());
                }
                one()?;
                scratch.modules.push((
                    ModuleName::Token(args_start),
                    module_options(&toks[args_start].text),
                ));
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                if negated {
                    return Err(format!("{name} cannot be negated"));
                }
                one()?;
                if target.is_some() {
                    return Err("more than one target".to_owned());
                }
                target = Some((args_start, name == "-g" || name == "--goto"));
            }
            "-c" | "--set-counters" => match args {
                [p, b] => {
                    let packets = p.text.parse().map_err(|_| "bad -c packets")?;
                    let bytes = b.text.parse().map_err(|_| "bad -c bytes")?;
                    if rule_counters.replace(Counters { packets, bytes }).is_some() {
                        return dup();
                    }
                }
                _ => return Err("-c takes two arguments".to_owned()),
            },
            _ if name.starts_with("--") => {
                let owner = if target.is_some() {
                    TARGET
                } else if let Some(m) = (0..scratch.modules.len())
                    .rev()
                    .find(|&m| scratch.modules[m].1.contains(&name))
                {
                    m
                } else if let Some(implicit) = implicit_module(protocol.as_ref(), name) {
                    // `-p tcp --dport 22` loads the tcp match implicitly.
                    notes.push(format!(
                        "{name} without -m {implicit}: match loaded implicitly"
                    ));
                    scratch
                        .modules
                        .push((ModuleName::Implicit(implicit), module_options(implicit)));
                    scratch.modules.len() - 1
                } else if !scratch.modules.is_empty() {
                    scratch.modules.len() - 1
                } else {
                    return Err(format!("option {name} outside any match or target"));
                };
                scratch.opts.push(RawOpt {
                    owner,
                    negated,
                    name: name_idx,
                    args: args_start..i,
                });
            }
            _ => return Err(format!("unknown option {name}")),
        }
    }

    let mut rule_matches = Vec::with_capacity(
        usize::from(source.is_some())
            + usize::from(destination.is_some())
            + usize::from(in_iface.is_some())
            + usize::from(out_iface.is_some())
            + usize::from(protocol.is_some())
            + usize::from(fragment.is_some())
            + scratch.modules.len(),
    );
    let ipv6 = source
        .iter()
        .chain(destination.iter())
        .any(|n| n.value.addr.is_ipv6());
    rule_matches.extend(source.map(Match::Source));
    rule_matches.extend(destination.map(Match::Destination));
    rule_matches.extend(in_iface.map(Match::InInterface));
    rule_matches.extend(out_iface.map(Match::OutInterface));
    rule_matches.extend(protocol.map(Match::Protocol));
    rule_matches.extend(fragment.map(|negated| Match::Fragment { negated }));

    // The options of one module or of the target: on the stack, since a
    // heap buffer here would borrow the tokens and could not be reused.
    let mut opts_buf: SmallVec<[Opt<'_, '_>; 8]> = SmallVec::new();
    for (m, &(name, _)) in scratch.modules.iter().enumerate() {
        let module = module_name(toks, name);
        opts_buf.clear();
        opts_buf.extend(scratch.opts.iter().filter(|o| o.owner == m).map(|o| Opt {
            negated: o.negated,
            name: &toks[o.name].text,
            args: &toks[o.args.clone()],
        }));
        let typed = matches::build(module, &opts_buf).unwrap_or_else(|reason| {
            if !reason.ends_with("is not typed") || module_is_typed(module) {
                notes.push(format!("kept -m {module} whole: {reason}"));
            }
            matches::other(module, &opts_buf)
        });
        rule_matches.push(typed);
    }

    let rule_target = match target {
        None => {
            if scratch.opts.iter().any(|o| o.owner == TARGET) {
                return Err("target options without a target".to_owned());
            }
            None
        }
        Some((name_idx, goto)) => {
            let name: &str = &toks[name_idx].text;
            opts_buf.clear();
            opts_buf.extend(
                scratch
                    .opts
                    .iter()
                    .filter(|o| o.owner == TARGET)
                    .map(|o| Opt {
                        negated: o.negated,
                        name: &toks[o.name].text,
                        args: &toks[o.args.clone()],
                    }),
            );
            if goto {
                if !opts_buf.is_empty() {
                    return Err("-g takes no target options".to_owned());
                }
                Some(Target::Goto {
                    chain: resolve(name).unwrap_or_else(|| ChainName::new(name)),
                })
            } else {
                Some(
                    targets::build(name, &opts_buf, resolve, ipv6).unwrap_or_else(|reason| {
                        if !reason.ends_with("is not typed") {
                            notes.push(format!("kept -j {name} whole: {reason}"));
                        }
                        targets::other(name, &opts_buf)
                    }),
                )
            }
        }
    };

    if let Some(Target::Dnat(nat) | Target::Snat(nat)) = &rule_target {
        let has_ports = nat.to.as_ref().is_some_and(|r| r.ports.is_some());
        let port_protocol = rule_matches.iter().any(|m| {
            matches!(m, Match::Protocol(Neg { negated: false, value }) if matches!(value.number(), Some(6 | 17 | 33 | 132 | 136)))
        });
        if has_ports && !port_protocol {
            notes.push(
                "NAT port range without -p tcp, udp, sctp or dccp (iptables refuses this)"
                    .to_owned(),
            );
        }
    }
    let mut rule = Rule {
        line: line_no,
        counters: rule_counters,
        chain,
        matches: rule_matches,
        target: rule_target,
        raw: None,
    };
    scratch.render.clear();
    write_rule(&mut scratch.render, &rule);
    if scratch.render != line {
        rule.raw = Some(line.into());
    }
    Ok(rule)
}

fn module_name<'t>(toks: &'t [Tok<'_>], name: ModuleName) -> &'t str {
    match name {
        ModuleName::Token(i) => &toks[i].text,
        ModuleName::Implicit(name) => name,
    }
}

fn module_is_typed(module: &str) -> bool {
    module_accepts(module, "--comment")
        || [
            "tcp",
            "udp",
            "multiport",
            "conntrack",
            "state",
            "mark",
            "connmark",
            "addrtype",
            "statistic",
            "set",
            "physdev",
            "limit",
            "recent",
            "owner",
            "icmp",
            "icmp6",
            "mac",
            "nfacct",
            "socket",
        ]
        .contains(&module)
}

fn implicit_module(protocol: Option<&Neg<Protocol>>, option: &str) -> Option<&'static str> {
    let protocol = protocol.filter(|p| !p.negated)?;
    match protocol.value {
        Protocol::Tcp if module_accepts("tcp", option) => Some("tcp"),
        Protocol::Udp if module_accepts("udp", option) => Some("udp"),
        _ => None,
    }
}

/// Prints a rule in iptables-save's canonical form (ignoring [`Rule::raw`]).
pub(crate) fn write_rule(out: &mut String, rule: &Rule) {
    if let Some(c) = rule.counters {
        out.push('[');
        values::push_decimal(out, c.packets);
        out.push(':');
        values::push_decimal(out, c.bytes);
        out.push_str("] ");
    }
    out.push_str("-A");
    push_arg(out, &rule.chain);
    for m in &rule.matches {
        let bang = |out: &mut String, negated: bool| {
            if negated {
                out.push_str(" !");
            }
        };
        match m {
            Match::Source(n) | Match::Destination(n) => {
                bang(out, n.negated);
                out.push_str(if matches!(m, Match::Source(_)) {
                    " -s "
                } else {
                    " -d "
                });
                values::write_ipnet(out, &n.value);
            }
            Match::InInterface(n) | Match::OutInterface(n) => {
                bang(out, n.negated);
                out.push_str(if matches!(m, Match::InInterface(_)) {
                    " -i"
                } else {
                    " -o"
                });
                push_arg(out, &n.value);
            }
            Match::Protocol(p) => {
                bang(out, p.negated);
                out.push_str(" -p");
                push_arg(out, &p.value.as_str());
            }
            Match::Fragment { negated } => {
                bang(out, *negated);
                out.push_str(" -f");
            }
            other => matches::write_module(out, other),
        }
    }
    if let Some(target) = &rule.target {
        targets::write(out, target);
    }
}

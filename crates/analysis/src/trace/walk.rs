//! The walker: chain indexes, the packet's state, match evaluation and
//! targets.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use node_artifacts::conntrack::{self, ConntrackDump, Entry as CtEntry, L4, Tuple};
use node_artifacts::iproute::{self, Destination, RouteTable, RouteType};
use node_artifacts::iptables::{
    Chain, ConnmarkTarget, ConntrackMatch, CtState, Match, MultiportKind, NatTarget, Neg, Policy,
    PortRange, Protocol, Rule, Ruleset, StatisticMatch, Table, TableBlock, Target,
    interface_matches,
};
use node_artifacts::snapshot::{Artifact, NodeSnapshot};

use super::{
    Branch, ConntrackMatches, ConntrackRef, Dnat, EndpointShare, Flow, FlowProtocol, Origin,
    Outcome, RouteDecision, RuleRef, Snat, Step, StepVerdict, Trace, TraceOptions,
};

/// Chains with at least this many rules get a destination index.
const INDEX_MIN_RULES: usize = 16;
/// Nested jumps followed before the walk gives up (the kernel's own limit is
/// lower in practice; this guards against loops in a corrupt dump).
const MAX_DEPTH: usize = 64;
/// Rule visits per branch before the walk gives up (loop guard).
const MAX_VISITS: usize = 200_000;

/// A snapshot prepared for tracing: chain indexes built once, any number of
/// flows traced.
#[derive(Debug)]
pub struct Tracer<'s> {
    snapshot: &'s NodeSnapshot,
    v4: Option<Prepared<'s>>,
    v6: Option<Prepared<'s>>,
    addrs: NodeAddrs<'s>,
}

#[derive(Debug)]
struct Prepared<'s> {
    path: &'s str,
    ruleset: &'s Ruleset,
    /// Destination indexes of long chains, by (table block, chain).
    index: HashMap<(usize, usize), ChainIndex>,
}

/// The rules of one chain split by the host destination they require.
#[derive(Debug, Default)]
struct ChainIndex {
    /// Rules with a non-negated `-d a.b.c.d/32` (or `/128`), by address.
    by_dst: HashMap<IpAddr, Vec<u32>>,
    /// Every other rule.
    rest: Vec<u32>,
}

impl<'s> Prepared<'s> {
    fn new(artifact: &'s Artifact<Ruleset>) -> Self {
        let ruleset = &artifact.value;
        let mut index = HashMap::new();
        for (t, block) in ruleset.tables.iter().enumerate() {
            for (c, chain) in block.chains.iter().enumerate() {
                if chain.rules.len() < INDEX_MIN_RULES {
                    continue;
                }
                let mut ci = ChainIndex::default();
                for (position, rule) in chain.rules.iter().enumerate() {
                    let position = position as u32;
                    match host_destination(rule) {
                        Some(addr) => ci.by_dst.entry(addr).or_default().push(position),
                        None => ci.rest.push(position),
                    }
                }
                index.insert((t, c), ci);
            }
        }
        Prepared {
            path: &artifact.path,
            ruleset,
            index,
        }
    }

    fn block(&self, table: &Table) -> Option<usize> {
        self.ruleset.tables.iter().position(|b| &b.table == table)
    }

    /// Candidate rule positions of a chain for destination `dst`, and how many
    /// were skipped (`None`: the chain is not indexed, walk every rule).
    fn candidates(&self, block: usize, chain: usize, dst: IpAddr) -> Option<(Vec<u32>, usize)> {
        let ci = self.index.get(&(block, chain))?;
        let hits = ci.by_dst.get(&dst).map_or(&[][..], Vec::as_slice);
        let mut merged = Vec::with_capacity(hits.len() + ci.rest.len());
        let (mut i, mut j) = (0, 0);
        while i < hits.len() || j < ci.rest.len() {
            let take_hit = j >= ci.rest.len() || (i < hits.len() && hits[i] < ci.rest[j]);
            if take_hit {
                merged.push(hits[i]);
                i += 1;
            } else {
                merged.push(ci.rest[j]);
                j += 1;
            }
        }
        let total: usize = ci.rest.len() + ci.by_dst.values().map(Vec::len).sum::<usize>();
        let skipped = total - merged.len();
        Some((merged, skipped))
    }
}

/// The single host a rule's non-negated `-d` requires.
fn host_destination(rule: &Rule) -> Option<IpAddr> {
    rule.matches.iter().find_map(|m| match m {
        Match::Destination(Neg {
            negated: false,
            value,
        }) if value.is_host() => Some(value.addr),
        _ => None,
    })
}

/// The node's own addresses and routes.
#[derive(Debug, Clone, Copy)]
struct NodeAddrs<'s> {
    tables: [Option<&'s RouteTable>; 2],
}

impl NodeAddrs<'_> {
    fn routes(&self) -> impl Iterator<Item = &iproute::Route> {
        self.tables.iter().flatten().flat_map(|t| t.routes.iter())
    }

    fn known(&self) -> bool {
        self.routes()
            .any(|r| r.table == iproute::Table::Local && r.route_type == RouteType::Local)
    }

    fn in_local_table(&self, addr: IpAddr, kind: &RouteType) -> bool {
        self.in_local_table_on(addr, kind, None)
    }

    /// Whether `addr` has a `local` table route of `kind` (on `dev`, when
    /// given: `addrtype --limit-iface-*`).
    fn in_local_table_on(&self, addr: IpAddr, kind: &RouteType, dev: Option<&str>) -> bool {
        self.routes().any(|r| {
            r.table == iproute::Table::Local
                && &r.route_type == kind
                && dev.is_none_or(|d| r.dev.as_deref() == Some(d))
                && matches!(&r.destination, Destination::Prefix(p) if p.contains(addr))
        })
    }

    /// The address type as `addrtype` sees it (on `dev` only, when given),
    /// `None` when unknown.
    fn addr_type(&self, addr: IpAddr, dev: Option<&str>) -> Option<&'static str> {
        if !self.known() {
            return None;
        }
        Some(if self.in_local_table_on(addr, &RouteType::Local, dev) {
            "LOCAL"
        } else if addr.is_multicast() {
            "MULTICAST"
        } else if self.in_local_table(addr, &RouteType::Broadcast)
            || addr == IpAddr::from([255, 255, 255, 255])
        {
            "BROADCAST"
        } else if addr.is_unspecified() {
            "UNSPEC"
        } else {
            "UNICAST"
        })
    }

    /// Longest-prefix match in the main table: (device, description).
    fn route(&self, addr: IpAddr) -> Option<(Option<String>, String)> {
        let mut best: Option<(u8, u32, &iproute::Route)> = None;
        for r in self.routes() {
            if r.table != iproute::Table::Main || r.route_type != RouteType::Unicast {
                continue;
            }
            let len = match &r.destination {
                Destination::Default if r.gateway.is_none_or(|g| g.is_ipv4() == addr.is_ipv4()) => {
                    if r.gateway.is_none() && r.dev.is_none() {
                        continue;
                    }
                    0
                }
                Destination::Default => continue,
                Destination::Prefix(p) if p.contains(addr) => p.len,
                Destination::Prefix(_) => continue,
            };
            let metric = r.metric.unwrap_or(0);
            let better = match best {
                None => true,
                Some((bl, bm, _)) => len > bl || (len == bl && metric < bm),
            };
            if better {
                best = Some((len, metric, r));
            }
        }
        let (len, _, r) = best?;
        let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
        let dev = r.dev.clone();
        let dest = if len == 0 {
            "default".to_owned()
        } else {
            match &r.destination {
                Destination::Prefix(p) if p.len == if p.addr.is_ipv4() { 32 } else { 128 } => {
                    p.addr.to_string()
                }
                Destination::Prefix(p) => format!("{}/{}", p.addr, p.len),
                Destination::Default => "default".to_owned(),
            }
        };
        let by = format!(
            "main table: {dest}{via} dev {} (line {})",
            dev.as_deref().unwrap_or("?"),
            r.line
        );
        Some((dev, by))
    }
}

/// The five tables in the order the kernel runs them at a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl T {
    fn table(self) -> Table {
        match self {
            T::Raw => Table::Raw,
            T::Mangle => Table::Mangle,
            T::Nat => Table::Nat,
            T::Filter => Table::Filter,
            T::Security => Table::Security,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    Chain(T, &'static str),
    /// The routing decision after PREROUTING (incoming) or before OUTPUT.
    Route,
    /// The re-route after nat OUTPUT.
    Reroute,
}

const INPUT: [Hook; 4] = [
    Hook::Chain(T::Mangle, "INPUT"),
    Hook::Chain(T::Filter, "INPUT"),
    Hook::Chain(T::Security, "INPUT"),
    Hook::Chain(T::Nat, "INPUT"),
];
const FORWARD: [Hook; 5] = [
    Hook::Chain(T::Mangle, "FORWARD"),
    Hook::Chain(T::Filter, "FORWARD"),
    Hook::Chain(T::Security, "FORWARD"),
    Hook::Chain(T::Mangle, "POSTROUTING"),
    Hook::Chain(T::Nat, "POSTROUTING"),
];

#[derive(Debug, Clone)]
struct Packet {
    src: Option<IpAddr>,
    sport: Option<u16>,
    dst: IpAddr,
    dport: u16,
    orig_src: Option<IpAddr>,
    orig_dst: IpAddr,
    orig_dport: u16,
    proto: FlowProtocol,
    in_iface: Option<String>,
    out_iface: Option<String>,
    mark: u32,
    ct_mark: Option<u32>,
    ct_state: CtState,
    dnat_done: bool,
    snat_done: bool,
}

#[derive(Debug, Clone)]
struct Frame {
    block: usize,
    chain: usize,
    /// Candidate positions (indexed chains) or `None` for every rule.
    order: Option<Vec<u32>>,
    pos: usize,
    /// The built-in chain whose policy applies when this frame runs out
    /// (itself, or the built-in chain a `-g` left).
    policy_of: Option<usize>,
}

#[derive(Debug, Clone)]
struct Walk {
    id: usize,
    parent: Option<usize>,
    probability: f64,
    pkt: Packet,
    plan: Vec<Hook>,
    next: usize,
    hook_table: T,
    frames: Vec<Frame>,
    dnat: Option<Dnat>,
    snat: Option<Snat>,
    route: Option<RouteDecision>,
    visits: usize,
}

struct Out {
    steps: Vec<Step>,
    steps_total: usize,
    branches: Vec<Branch>,
    notes: BTreeSet<String>,
    next_id: usize,
    max_steps: usize,
}

impl Out {
    fn step(&mut self, step: Step) {
        self.steps_total += 1;
        if self.steps.len() < self.max_steps {
            self.steps.push(step);
        }
    }
}

enum Eval {
    Match,
    NoMatch,
    Undetermined(String),
    Random(f64),
}

enum Flowing {
    Continue,
    End(Outcome),
}

impl<'s> Tracer<'s> {
    /// Prepares `snapshot` for tracing: indexes its long chains by
    /// destination.
    pub fn new(snapshot: &'s NodeSnapshot) -> Self {
        Tracer {
            snapshot,
            v4: snapshot.iptables.as_ref().map(Prepared::new),
            v6: snapshot.ip6tables.as_ref().map(Prepared::new),
            addrs: NodeAddrs {
                tables: [
                    snapshot.routes.as_ref().map(|a| &a.value),
                    snapshot.routes6.as_ref().map(|a| &a.value),
                ],
            },
        }
    }

    /// Traces one flow.
    pub fn trace(&self, flow: &Flow, options: TraceOptions) -> Trace {
        let v6 = flow.dst.is_ipv6();
        let prepared = if v6 { &self.v6 } else { &self.v4 };
        let mut out = Out {
            steps: Vec::new(),
            steps_total: 0,
            branches: Vec::new(),
            notes: BTreeSet::new(),
            next_id: 1,
            max_steps: options.max_steps,
        };
        let local_addresses_known = self.addrs.known();
        if !local_addresses_known {
            out.notes.insert(
                "the bundle has no `local` routing table: the node's own addresses are unknown, \
                 so `addrtype` matches and the INPUT/FORWARD choice are undetermined"
                    .to_owned(),
            );
        }
        if flow.src.is_some_and(|s| s.is_ipv6() != v6) {
            out.notes
                .insert("source and destination are of different families".to_owned());
        }
        match prepared {
            Some(prep) => self.walk(prep, flow, options, &mut out),
            None => out.branches.push(Branch {
                id: 0,
                parent: None,
                probability: 1.0,
                dnat: None,
                snat: None,
                route: None,
                mark: flow.mark,
                outcome: Outcome::Undetermined {
                    rule: None,
                    reason: format!(
                        "the bundle has no {} ruleset",
                        if v6 {
                            "ip6tables-save"
                        } else {
                            "iptables-save"
                        }
                    ),
                },
            }),
        }
        out.branches.sort_by_key(|b| b.id);
        let endpoints = merge_endpoints(&out.branches);
        let conntrack = self.conntrack(flow, &out.branches, options.max_conntrack);
        Trace {
            flow: flow.clone(),
            family: if v6 { "ipv6" } else { "ipv4" },
            ruleset: prepared.as_ref().map(|p| p.path.to_owned()),
            local_addresses_known,
            steps: out.steps,
            steps_total: out.steps_total,
            branches: out.branches,
            endpoints,
            conntrack,
            notes: out.notes.into_iter().collect(),
        }
    }

    fn walk(&self, prep: &Prepared<'_>, flow: &Flow, options: TraceOptions, out: &mut Out) {
        let pkt = Packet {
            src: flow.src,
            sport: flow.sport,
            dst: flow.dst,
            dport: flow.dport,
            orig_src: flow.src,
            orig_dst: flow.dst,
            orig_dport: flow.dport,
            proto: flow.protocol,
            in_iface: match flow.origin {
                Origin::Incoming => flow.in_iface.clone(),
                Origin::Local => None,
            },
            out_iface: None,
            mark: flow.mark,
            ct_mark: if flow.ct_state == CtState::New {
                Some(0)
            } else {
                self.existing_ct_mark(flow, out)
            },
            ct_state: flow.ct_state.clone(),
            dnat_done: false,
            snat_done: false,
        };
        let plan = match flow.origin {
            Origin::Incoming => vec![
                Hook::Chain(T::Raw, "PREROUTING"),
                Hook::Chain(T::Mangle, "PREROUTING"),
                Hook::Chain(T::Nat, "PREROUTING"),
                Hook::Route,
            ],
            Origin::Local => vec![
                Hook::Route,
                Hook::Chain(T::Raw, "OUTPUT"),
                Hook::Chain(T::Mangle, "OUTPUT"),
                Hook::Chain(T::Nat, "OUTPUT"),
                Hook::Reroute,
                Hook::Chain(T::Filter, "OUTPUT"),
                Hook::Chain(T::Security, "OUTPUT"),
                Hook::Chain(T::Mangle, "POSTROUTING"),
                Hook::Chain(T::Nat, "POSTROUTING"),
            ],
        };
        if flow.ct_state != CtState::New {
            out.notes.insert(format!(
                "the flow is in conntrack state {:?}: the nat table is walked only for a \
                 connection's first packet, so NAT comes from the existing conntrack entry \
                 (listed below)",
                flow.ct_state
            ));
        }
        let mut stack = vec![Walk {
            id: 0,
            parent: None,
            probability: 1.0,
            pkt,
            plan,
            next: 0,
            hook_table: T::Raw,
            frames: Vec::new(),
            dnat: None,
            snat: None,
            route: None,
            visits: 0,
        }];
        while let Some(mut w) = stack.pop() {
            let outcome = self.drive(prep, flow, &mut w, &mut stack, out, options);
            out.branches.push(Branch {
                id: w.id,
                parent: w.parent,
                probability: w.probability,
                dnat: w.dnat,
                snat: w.snat,
                route: w.route,
                mark: w.pkt.mark,
                outcome,
            });
        }
    }

    /// Runs one branch to its end, pushing forks onto `stack`.
    fn drive(
        &self,
        prep: &Prepared<'_>,
        flow: &Flow,
        w: &mut Walk,
        stack: &mut Vec<Walk>,
        out: &mut Out,
        options: TraceOptions,
    ) -> Outcome {
        loop {
            if w.frames.is_empty() {
                let Some(&hook) = w.plan.get(w.next) else {
                    return accepted(w, flow.origin);
                };
                w.next += 1;
                match hook {
                    Hook::Route | Hook::Reroute => {
                        if let Some(outcome) = self.route(w, flow, hook, out) {
                            return outcome;
                        }
                    }
                    Hook::Chain(t, name) => self.enter_hook(prep, w, t, name, out),
                }
                continue;
            }
            w.visits += 1;
            if w.visits > MAX_VISITS {
                return Outcome::Truncated {
                    reason: format!("more than {MAX_VISITS} rule visits (a jump loop?)"),
                };
            }
            let top = w.frames.len() - 1;
            let frame = &mut w.frames[top];
            let block = &prep.ruleset.tables[frame.block];
            let chain = &block.chains[frame.chain];
            let position = match &frame.order {
                Some(order) => order.get(frame.pos).map(|&p| p as usize),
                None => (frame.pos < chain.rules.len()).then_some(frame.pos),
            };
            let Some(position) = position else {
                // The chain ran out (or RETURNed).
                let popped = w.frames.pop();
                if w.frames.is_empty() {
                    let builtin = popped.and_then(|f| f.policy_of).unwrap_or(0);
                    let policy_chain = &block.chains[builtin];
                    if let Some(outcome) = self.policy(w, block, policy_chain, out) {
                        return outcome;
                    }
                }
                continue;
            };
            frame.pos += 1;
            let rule = &chain.rules[position];
            let table = w.hook_table;
            let eval = evaluate(rule, &w.pkt, &self.addrs);
            match eval {
                Eval::NoMatch => {
                    out.step(step(w.id, table, rule, StepVerdict::NotMatched, None));
                    continue;
                }
                Eval::Undetermined(reason) => {
                    let passive = is_passive(rule.target.as_ref());
                    out.step(step(
                        w.id,
                        table,
                        rule,
                        StepVerdict::Undetermined,
                        Some(if passive {
                            format!("{reason}; the target changes nothing, walk goes on")
                        } else {
                            reason.clone()
                        }),
                    ));
                    if passive {
                        continue;
                    }
                    return Outcome::Undetermined {
                        rule: Some(rule_ref(table, rule)),
                        reason,
                    };
                }
                Eval::Random(p) => {
                    // Branches created so far (ids are handed out in order).
                    let created = out.next_id;
                    let rest = w.probability * (1.0 - p);
                    let detail = if created >= options.max_branches {
                        out.branches.push(Branch {
                            id: out.next_id,
                            parent: Some(w.id),
                            probability: rest,
                            dnat: w.dnat.clone(),
                            snat: w.snat.clone(),
                            route: w.route.clone(),
                            mark: w.pkt.mark,
                            outcome: Outcome::Truncated {
                                reason: format!("branch limit of {} reached", options.max_branches),
                            },
                        });
                        format!(
                            "probability {p:.5}; the other {:.5} is branch b{} (not followed: \
                             branch limit)",
                            1.0 - p,
                            out.next_id
                        )
                    } else {
                        let mut fork = w.clone();
                        fork.id = out.next_id;
                        fork.parent = Some(w.id);
                        fork.probability = rest;
                        stack.push(fork);
                        format!(
                            "probability {p:.5}; the other {:.5} continues as branch b{}",
                            1.0 - p,
                            out.next_id
                        )
                    };
                    out.next_id += 1;
                    w.probability *= p;
                    out.step(step(w.id, table, rule, StepVerdict::Matched, Some(detail)));
                }
                Eval::Match => {
                    out.step(step(w.id, table, rule, StepVerdict::Matched, None));
                }
            }
            if let Flowing::End(outcome) = self.apply(prep, w, rule, out) {
                return outcome;
            }
        }
    }

    /// Starts the walk of a built-in chain.
    fn enter_hook(&self, prep: &Prepared<'_>, w: &mut Walk, t: T, name: &str, out: &mut Out) {
        if t == T::Nat && w.pkt.ct_state != CtState::New {
            return;
        }
        let Some(block) = prep.block(&t.table()) else {
            return;
        };
        let Some(chain) = prep.ruleset.tables[block].chain_index(name) else {
            return;
        };
        w.hook_table = t;
        let frame = self.frame(prep, w, block, chain, out);
        w.frames.push(Frame {
            policy_of: Some(chain),
            ..frame
        });
    }

    fn frame(
        &self,
        prep: &Prepared<'_>,
        w: &Walk,
        block: usize,
        chain: usize,
        out: &mut Out,
    ) -> Frame {
        let order = prep
            .candidates(block, chain, w.pkt.dst)
            .map(|(order, skipped)| {
                if skipped > 0 {
                    out.step(Step {
                        branch: w.id,
                        table: w.hook_table.table(),
                        chain: prep.ruleset.tables[block].chains[chain].name.to_string(),
                        line: 0,
                        verdict: StepVerdict::Skipped,
                        action: String::new(),
                        detail: Some(format!(
                            "{skipped} rules for other destination addresses skipped (indexed)"
                        )),
                    });
                }
                order
            });
        Frame {
            block,
            chain,
            order,
            pos: 0,
            policy_of: None,
        }
    }

    /// Applies the policy of a built-in chain that ran out.
    fn policy(
        &self,
        w: &mut Walk,
        block: &TableBlock,
        chain: &Chain,
        out: &mut Out,
    ) -> Option<Outcome> {
        let table = w.hook_table;
        let policy = chain.policy.clone().unwrap_or(Policy::Accept);
        let rule = RuleRef {
            table: table.table(),
            chain: chain.name.to_string(),
            line: chain.line.unwrap_or(0),
            text: format!(":{} {}", chain.name, policy_name(&policy)),
        };
        let _ = block;
        out.step(Step {
            branch: w.id,
            table: table.table(),
            chain: chain.name.to_string(),
            line: chain.line.unwrap_or(0),
            verdict: StepVerdict::Policy,
            action: format!("policy {}", policy_name(&policy)),
            detail: None,
        });
        match policy {
            Policy::Accept => None,
            Policy::Drop => Some(Outcome::Dropped { rule }),
            Policy::Other(other) => Some(Outcome::Undetermined {
                rule: Some(rule),
                reason: format!("unknown chain policy `{other}`"),
            }),
        }
    }

    /// A routing decision; `Some` ends the branch.
    fn route(&self, w: &mut Walk, flow: &Flow, hook: Hook, out: &mut Out) -> Option<Outcome> {
        let dst = w.pkt.dst;
        if hook == Hook::Route && flow.origin == Origin::Local {
            // Before OUTPUT: only the outgoing interface matters.
            self.set_out_iface(w, flow, out);
            return None;
        }
        let local = if self.addrs.known() {
            Some(self.addrs.in_local_table(dst, &RouteType::Local))
        } else {
            None
        };
        let Some(local) = local else {
            w.route = None;
            return Some(Outcome::Undetermined {
                rule: None,
                reason: format!(
                    "routing: whether {dst} is one of the node's own addresses is unknown (no \
                     `local` routing table in the bundle)"
                ),
            });
        };
        if local {
            w.route = Some(RouteDecision {
                local: true,
                out_iface: None,
                by: format!("local table: {dst} is an address of this node"),
            });
            // Incoming: INPUT instead of FORWARD; locally generated: looped
            // back to INPUT after POSTROUTING.
            w.plan.extend_from_slice(&INPUT);
            return None;
        }
        self.set_out_iface(w, flow, out);
        if flow.origin == Origin::Incoming {
            w.plan.extend_from_slice(&FORWARD);
        }
        None
    }

    fn set_out_iface(&self, w: &mut Walk, flow: &Flow, out: &mut Out) {
        let dst = w.pkt.dst;
        let (iface, by) = match &flow.out_iface {
            Some(given) => (Some(given.clone()), "given with the flow".to_owned()),
            None => match self.addrs.route(dst) {
                Some((dev, by)) => (dev, by),
                None => {
                    out.notes.insert(format!(
                        "no route to {dst} in the main table: the outgoing interface is unknown"
                    ));
                    (None, "no route".to_owned())
                }
            },
        };
        w.pkt.out_iface = iface.clone();
        w.route = Some(RouteDecision {
            local: false,
            out_iface: iface,
            by,
        });
    }

    /// Applies the target of a matched rule.
    fn apply(&self, prep: &Prepared<'_>, w: &mut Walk, rule: &Rule, out: &mut Out) -> Flowing {
        let table = w.hook_table;
        let undetermined = |reason: String| {
            Flowing::End(Outcome::Undetermined {
                rule: Some(rule_ref(table, rule)),
                reason,
            })
        };
        let Some(target) = &rule.target else {
            return Flowing::Continue;
        };
        match target {
            Target::Accept => {
                w.frames.clear();
                Flowing::Continue
            }
            Target::Drop => Flowing::End(Outcome::Dropped {
                rule: rule_ref(table, rule),
            }),
            Target::Reject { with } => Flowing::End(Outcome::Rejected {
                rule: rule_ref(table, rule),
                with: if with.is_empty() {
                    "icmp-port-unreachable".to_owned()
                } else {
                    with.clone()
                },
            }),
            Target::Return => {
                if let Some(top) = w.frames.last_mut() {
                    top.pos = usize::MAX / 2;
                    top.order = None;
                }
                Flowing::Continue
            }
            Target::Jump { chain } | Target::Goto { chain } => {
                let goto = matches!(target, Target::Goto { .. });
                let Some(top) = w.frames.last() else {
                    return Flowing::Continue;
                };
                let block = top.block;
                let Some(index) = prep.ruleset.tables[block].chain_index(chain) else {
                    return undetermined(format!("jump to chain `{chain}`, which does not exist"));
                };
                if w.frames.len() >= MAX_DEPTH {
                    return Flowing::End(Outcome::Truncated {
                        reason: format!("jumps nested deeper than {MAX_DEPTH}"),
                    });
                }
                let mut frame = self.frame(prep, w, block, index, out);
                if goto && let Some(left) = w.frames.pop() {
                    frame.policy_of = left.policy_of;
                }
                w.frames.push(frame);
                Flowing::Continue
            }
            Target::Dnat(nat) => {
                if table != T::Nat {
                    return undetermined("DNAT outside the nat table".to_owned());
                }
                let (address, port) = nat_to(nat);
                if let Some(range) = &nat.to
                    && range.addr_last.is_some_and(|last| Some(last) != range.addr)
                {
                    out.notes.insert(format!(
                        "line {}: DNAT to an address range; the trace follows its first address",
                        rule.line
                    ));
                }
                if let Some(a) = address {
                    w.pkt.dst = a;
                }
                if let Some(p) = port {
                    w.pkt.dport = p;
                }
                w.pkt.dnat_done = true;
                let chain = w.frames.last().map(|f| {
                    prep.ruleset.tables[f.block].chains[f.chain]
                        .name
                        .to_string()
                });
                w.dnat = Some(Dnat {
                    address,
                    port,
                    service: rule
                        .comment()
                        .map(str::to_owned)
                        .or_else(|| chain.filter(|c| c.starts_with("KUBE-SEP-"))),
                    rule: rule_ref(table, rule),
                });
                w.frames.clear();
                Flowing::Continue
            }
            Target::Snat(nat) => {
                if table != T::Nat {
                    return undetermined("SNAT outside the nat table".to_owned());
                }
                let (address, _) = nat_to(nat);
                w.snat = Some(Snat {
                    kind: "snat",
                    to_source: address,
                    out_iface: w.pkt.out_iface.clone(),
                    random_fully: nat.random_fully,
                    rule: rule_ref(table, rule),
                });
                if address.is_some() {
                    w.pkt.src = address;
                }
                w.pkt.snat_done = true;
                w.frames.clear();
                Flowing::Continue
            }
            Target::Masquerade(m) => {
                if table != T::Nat {
                    return undetermined("MASQUERADE outside the nat table".to_owned());
                }
                w.snat = Some(Snat {
                    kind: "masquerade",
                    to_source: None,
                    out_iface: w.pkt.out_iface.clone(),
                    random_fully: m.random_fully,
                    rule: rule_ref(table, rule),
                });
                w.pkt.snat_done = true;
                w.frames.clear();
                Flowing::Continue
            }
            Target::Mark(mm) => {
                w.pkt.mark = (w.pkt.mark & !mm.mask) ^ mm.value;
                Flowing::Continue
            }
            Target::Connmark(action) => {
                match *action {
                    ConnmarkTarget::SetXmark(mm) => {
                        w.pkt.ct_mark = w.pkt.ct_mark.map(|ct| (ct & !mm.mask) ^ mm.value);
                    }
                    ConnmarkTarget::Save { nfmask, ctmask } => {
                        w.pkt.ct_mark = w
                            .pkt
                            .ct_mark
                            .map(|ct| (ct & !ctmask) ^ (w.pkt.mark & nfmask));
                    }
                    ConnmarkTarget::Restore { nfmask, ctmask } => {
                        let Some(ct) = w.pkt.ct_mark else {
                            return undetermined(
                                "CONNMARK --restore-mark: the connection mark of an existing \
                                 connection is unknown"
                                    .to_owned(),
                            );
                        };
                        w.pkt.mark = (w.pkt.mark & !nfmask) ^ (ct & ctmask);
                    }
                }
                Flowing::Continue
            }
            Target::Log(_) | Target::Nflog(_) => Flowing::Continue,
            Target::Ct(ct) => {
                if ct.notrack {
                    w.pkt.ct_state = CtState::Untracked;
                    w.pkt.ct_mark = None;
                }
                Flowing::Continue
            }
            Target::Notrack => {
                w.pkt.ct_state = CtState::Untracked;
                w.pkt.ct_mark = None;
                Flowing::Continue
            }
            Target::Queue => {
                undetermined("QUEUE hands the packet to a userspace program".to_owned())
            }
            Target::Tproxy(_) => {
                undetermined("TPROXY hands the packet to a local socket".to_owned())
            }
            Target::Other { name, .. } => {
                if PASSIVE_TARGETS.contains(&name.as_str()) {
                    Flowing::Continue
                } else {
                    undetermined(format!("target {name} is not modelled by the tracer"))
                }
            }
        }
    }

    /// The connection mark of an existing connection, from the conntrack
    /// entries whose original tuple is the flow (when they agree).
    fn existing_ct_mark(&self, flow: &Flow, out: &mut Out) -> Option<u32> {
        let dump = if flow.dst.is_ipv6() {
            self.snapshot.conntrack6.as_ref()
        } else {
            self.snapshot.conntrack.as_ref()
        }?;
        let proto = ct_protocol(flow.protocol);
        let mut marks = dump
            .value
            .table
            .entries_for_addr(flow.dst)
            .filter(|e| {
                e.protocol == proto
                    && flow.src.is_some()
                    && tuple_is(&e.original, flow.src, flow.sport, flow.dst, flow.dport)
            })
            .map(|e| (e.line, e.mark.unwrap_or(0)));
        let (line, mark) = marks.next()?;
        if marks.any(|(_, m)| m != mark) {
            out.notes.insert(
                "the conntrack entries of this flow carry different connection marks: \
                 CONNMARK matches are undetermined"
                    .to_owned(),
            );
            return None;
        }
        out.notes.insert(format!(
            "connection mark {mark:#x} taken from the conntrack entry at line {line}"
        ));
        Some(mark)
    }

    /// Conntrack entries tracking the flow (original direction), its reply
    /// (from an endpoint reached) or the reverse connection.
    fn conntrack(&self, flow: &Flow, branches: &[Branch], max: usize) -> ConntrackMatches {
        let dump: Option<&Artifact<ConntrackDump>> = if flow.dst.is_ipv6() {
            self.snapshot.conntrack6.as_ref()
        } else {
            self.snapshot.conntrack.as_ref()
        };
        let Some(dump) = dump else {
            return ConntrackMatches::default();
        };
        let table = &dump.value.table;
        let proto = ct_protocol(flow.protocol);
        let mut found: Vec<(&CtEntry, &'static str)> = Vec::new();
        let mut seen = BTreeSet::new();
        for e in table.entries_for_addr(flow.dst) {
            if e.protocol != proto {
                continue;
            }
            let relation = if tuple_is(&e.original, flow.src, flow.sport, flow.dst, flow.dport) {
                "original"
            } else if tuple_is(
                &e.original,
                Some(flow.dst),
                Some(flow.dport),
                flow.src.unwrap_or(flow.dst),
                0,
            ) && flow.src.is_some()
                && flow.sport.is_none_or(|s| e.original.l4.dport() == Some(s))
            {
                "reverse"
            } else {
                continue;
            };
            if seen.insert(e.line) {
                found.push((e, relation));
            }
        }
        for b in branches {
            let Some(Dnat {
                address: Some(addr),
                port,
                ..
            }) = &b.dnat
            else {
                continue;
            };
            let port = port.unwrap_or(flow.dport);
            for e in table.entries_for_addr(*addr) {
                if e.protocol == proto
                    && e.reply.src == *addr
                    && e.reply.l4.sport() == Some(port)
                    && flow.src.is_none_or(|s| e.original.src == s)
                    && seen.insert(e.line)
                {
                    found.push((e, "reply"));
                }
            }
        }
        found.sort_by_key(|(e, _)| e.line);
        let total = found.len();
        ConntrackMatches {
            artifact: Some(dump.path.clone()),
            entries: found
                .into_iter()
                .take(max)
                .map(|(e, relation)| ConntrackRef {
                    line: e.line,
                    relation,
                    state: e.state_name().map(str::to_owned),
                    original: tuple_text(&e.original),
                    reply: tuple_text(&e.reply),
                    unreplied: e.flags.unreplied,
                    assured: e.flags.assured,
                    timeout: e.timeout,
                    mark: e.mark,
                })
                .collect(),
            total,
        }
    }
}

/// Targets that change nothing the trace follows.
const PASSIVE_TARGETS: [&str; 12] = [
    "CHECKSUM",
    "TCPMSS",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "TRACE",
    "AUDIT",
    "SECMARK",
    "CONNSECMARK",
    "ULOG",
];

fn is_passive(target: Option<&Target>) -> bool {
    match target {
        None | Some(Target::Log(_) | Target::Nflog(_)) => true,
        Some(Target::Other { name, .. }) => PASSIVE_TARGETS.contains(&name.as_str()),
        Some(_) => false,
    }
}

fn accepted(w: &Walk, origin: Origin) -> Outcome {
    let local = w.route.as_ref().is_some_and(|r| r.local);
    Outcome::Accepted {
        delivery: if local {
            "local"
        } else if origin == Origin::Local {
            "sent"
        } else {
            "forwarded"
        },
        out_iface: if local { None } else { w.pkt.out_iface.clone() },
    }
}

fn nat_to(nat: &NatTarget) -> (Option<IpAddr>, Option<u16>) {
    match &nat.to {
        Some(range) => (range.addr, range.ports.map(|p| p.first)),
        None => (None, None),
    }
}

fn policy_name(policy: &Policy) -> &str {
    match policy {
        Policy::Accept => "ACCEPT",
        Policy::Drop => "DROP",
        Policy::Other(other) => other,
    }
}

fn rule_ref(table: T, rule: &Rule) -> RuleRef {
    RuleRef {
        table: table.table(),
        chain: rule.chain.to_string(),
        line: rule.line,
        text: rule.text().into_owned(),
    }
}

fn step(
    branch: usize,
    table: T,
    rule: &Rule,
    verdict: StepVerdict,
    detail: Option<String>,
) -> Step {
    Step {
        branch,
        table: table.table(),
        chain: rule.chain.to_string(),
        line: rule.line,
        verdict,
        action: action(rule.target.as_ref()),
        detail,
    }
}

/// A short rendering of a target.
pub(super) fn action(target: Option<&Target>) -> String {
    let Some(target) = target else {
        return "(no target)".to_owned();
    };
    match target {
        Target::Accept => "ACCEPT".to_owned(),
        Target::Drop => "DROP".to_owned(),
        Target::Return => "RETURN".to_owned(),
        Target::Queue => "QUEUE".to_owned(),
        Target::Jump { chain } => format!("-j {chain}"),
        Target::Goto { chain } => format!("-g {chain}"),
        Target::Dnat(nat) => format!("DNAT {}", nat_text(nat)),
        Target::Snat(nat) => format!("SNAT {}", nat_text(nat)),
        Target::Masquerade(m) => {
            if m.random_fully {
                "MASQUERADE --random-fully".to_owned()
            } else {
                "MASQUERADE".to_owned()
            }
        }
        Target::Reject { with } if with.is_empty() => "REJECT".to_owned(),
        Target::Reject { with } => format!("REJECT {with}"),
        Target::Mark(mm) => format!("MARK xset {:#x}/{:#x}", mm.value, mm.mask),
        Target::Connmark(ConnmarkTarget::SetXmark(mm)) => {
            format!("CONNMARK xset {:#x}/{:#x}", mm.value, mm.mask)
        }
        Target::Connmark(ConnmarkTarget::Save { nfmask, ctmask }) => {
            format!("CONNMARK save nfmask {nfmask:#x} ctmask {ctmask:#x}")
        }
        Target::Connmark(ConnmarkTarget::Restore { nfmask, ctmask }) => {
            format!("CONNMARK restore nfmask {nfmask:#x} ctmask {ctmask:#x}")
        }
        Target::Log(_) => "LOG".to_owned(),
        Target::Nflog(_) => "NFLOG".to_owned(),
        Target::Ct(_) => "CT".to_owned(),
        Target::Notrack => "NOTRACK".to_owned(),
        Target::Tproxy(_) => "TPROXY".to_owned(),
        Target::Other { name, .. } => name.clone(),
    }
}

fn nat_text(nat: &NatTarget) -> String {
    match (nat_to(nat), &nat.to) {
        ((Some(IpAddr::V6(a)), Some(p)), _) => format!("[{a}]:{p}"),
        ((Some(a), Some(p)), _) => format!("{a}:{p}"),
        ((Some(a), None), _) => a.to_string(),
        ((None, Some(p)), _) => format!(":{p}"),
        ((None, None), _) => "(no address)".to_owned(),
    }
}

/// Evaluates every match of a rule against the packet.
fn evaluate(rule: &Rule, pkt: &Packet, addrs: &NodeAddrs<'_>) -> Eval {
    let mut undetermined: Option<String> = None;
    let mut random: Option<f64> = None;
    for m in &rule.matches {
        let verdict: Result<bool, String> = match m {
            Match::Source(n) => match pkt.src {
                Some(a) => Ok(n.value.contains(a) != n.negated),
                None => Err("the source address is not given".to_owned()),
            },
            Match::Destination(n) => Ok(n.value.contains(pkt.dst) != n.negated),
            Match::InInterface(n) => match &pkt.in_iface {
                Some(i) => Ok(interface_matches(&n.value, i) != n.negated),
                None => Err("the input interface is not given".to_owned()),
            },
            Match::OutInterface(n) => match &pkt.out_iface {
                Some(i) => Ok(interface_matches(&n.value, i) != n.negated),
                None => Err("the output interface is unknown".to_owned()),
            },
            Match::Protocol(n) => match protocol_matches(&n.value, pkt.proto) {
                Some(yes) => Ok(yes != n.negated),
                None => Err(format!("protocol {:?} is not known to the tracer", n.value)),
            },
            // The traced packet is never a non-first fragment.
            Match::Fragment { negated } => Ok(*negated),
            Match::Tcp(t) => {
                if pkt.proto != FlowProtocol::Tcp {
                    Ok(false)
                } else {
                    tcp(t, pkt)
                }
            }
            Match::Udp(u) => {
                if pkt.proto != FlowProtocol::Udp {
                    Ok(false)
                } else {
                    ports(u.sport.as_ref(), u.dport.as_ref(), pkt)
                }
            }
            Match::Multiport(mp) => multiport(mp.kind, mp.negated, &mp.ports, pkt),
            Match::Comment { .. } | Match::Nfacct { .. } => Ok(true),
            Match::Conntrack(c) => conntrack_match(c, pkt),
            Match::State(n) => states(&n.value, pkt).map(|yes| yes != n.negated),
            Match::Mark(n) => Ok((pkt.mark & n.value.mask == n.value.value) != n.negated),
            Match::Connmark(n) => match pkt.ct_mark {
                Some(ct) => Ok((ct & n.value.mask == n.value.value) != n.negated),
                None => Err("the connection mark of an existing connection is unknown".to_owned()),
            },
            Match::Addrtype(a) => addrtype(a, pkt, addrs),
            Match::Statistic(StatisticMatch::Random {
                negated,
                probability,
            }) => {
                let p = probability.clamp(0.0, 1.0);
                random = Some(if *negated { 1.0 - p } else { p });
                Ok(true)
            }
            Match::Statistic(StatisticMatch::Nth { .. }) => {
                Err("statistic --mode nth depends on the packet count".to_owned())
            }
            Match::Set(s) => Err(format!("ipset `{}` membership is not evaluated", s.name)),
            Match::Physdev(_) => Err("physdev (bridge ports) is not modelled".to_owned()),
            Match::Limit(l) => Err(format!("limit {} depends on the packet rate", l.rate)),
            Match::Recent(_) => Err("recent depends on earlier packets".to_owned()),
            Match::Owner(_) => Err("owner depends on the sending socket".to_owned()),
            Match::Icmp(_) | Match::Icmp6(_) => Ok(false),
            Match::Mac(_) => Err("the source MAC address is not known".to_owned()),
            Match::Socket(_) => Err("socket depends on local sockets".to_owned()),
            Match::Other(o) => Err(format!("match module `{}` is not modelled", o.module)),
        };
        match verdict {
            Ok(true) => {}
            Ok(false) => return Eval::NoMatch,
            Err(reason) => {
                undetermined.get_or_insert(reason);
            }
        }
    }
    match (undetermined, random) {
        (Some(reason), _) => Eval::Undetermined(reason),
        (None, Some(p)) => Eval::Random(p),
        (None, None) => Eval::Match,
    }
}

fn protocol_matches(rule: &Protocol, proto: FlowProtocol) -> Option<bool> {
    let number = match rule {
        Protocol::All => return Some(true),
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
        Protocol::Icmp => 1,
        Protocol::Icmpv6(_) => 58,
        Protocol::Number(0) => return Some(true),
        Protocol::Number(n) => *n,
        Protocol::Other(name) => match name.to_ascii_lowercase().as_str() {
            "udplite" => 136,
            "esp" => 50,
            "ah" => 51,
            "gre" => 47,
            "dccp" => 33,
            "ipv6-icmp" => 58,
            _ => return None,
        },
    };
    Some(number == proto.number())
}

fn port_in(range: &Neg<PortRange>, port: Option<u16>, what: &str) -> Result<bool, String> {
    match port {
        Some(p) => Ok(range.value.contains(p) != range.negated),
        None => Err(format!("the {what} port is not given")),
    }
}

fn ports(
    sport: Option<&Neg<PortRange>>,
    dport: Option<&Neg<PortRange>>,
    pkt: &Packet,
) -> Result<bool, String> {
    let d = match dport {
        Some(r) => port_in(r, Some(pkt.dport), "destination")?,
        None => true,
    };
    if !d {
        return Ok(false);
    }
    match sport {
        Some(r) => port_in(r, pkt.sport, "source"),
        None => Ok(true),
    }
}

fn tcp(t: &node_artifacts::iptables::TcpMatch, pkt: &Packet) -> Result<bool, String> {
    if !ports(t.sport.as_ref(), t.dport.as_ref(), pkt)? {
        return Ok(false);
    }
    if t.option.is_some() {
        return Err("--tcp-option depends on the segment's options".to_owned());
    }
    if let Some(flags) = &t.flags {
        if pkt.ct_state != CtState::New {
            return Err("--tcp-flags: the segment's flags are unknown past the first".to_owned());
        }
        // The first segment of a TCP connection is a bare SYN.
        const SYN: u8 = 0x02;
        return Ok((SYN & flags.value.mask == flags.value.comp) != flags.negated);
    }
    Ok(true)
}

fn multiport(
    kind: MultiportKind,
    negated: bool,
    list: &[PortRange],
    pkt: &Packet,
) -> Result<bool, String> {
    let hit = |p: u16| list.iter().any(|r| r.contains(p));
    let inside = match kind {
        MultiportKind::Destination => hit(pkt.dport),
        MultiportKind::Source => match pkt.sport {
            Some(s) => hit(s),
            None => return Err("the source port is not given".to_owned()),
        },
        MultiportKind::Either => {
            if hit(pkt.dport) {
                true
            } else {
                match pkt.sport {
                    Some(s) => hit(s),
                    None => return Err("the source port is not given".to_owned()),
                }
            }
        }
    };
    Ok(inside != negated)
}

/// Whether the packet's conntrack state is one of `list`.
fn states(list: &[CtState], pkt: &Packet) -> Result<bool, String> {
    let mut has = vec![pkt.ct_state.clone()];
    if let CtState::Other(other) = &pkt.ct_state {
        return Err(format!("conntrack state `{other}` is not known"));
    }
    if pkt.dnat_done {
        has.push(CtState::Dnat);
    }
    if pkt.snat_done {
        has.push(CtState::Snat);
    }
    for wanted in list {
        if let CtState::Other(other) = wanted {
            return Err(format!("conntrack state `{other}` is not known"));
        }
    }
    Ok(list.iter().any(|s| has.contains(s)))
}

fn conntrack_match(c: &ConntrackMatch, pkt: &Packet) -> Result<bool, String> {
    let mut all = true;
    let mut check = |v: Result<bool, String>| -> Result<(), String> {
        all &= v?;
        Ok(())
    };
    if let Some(n) = &c.state {
        check(states(&n.value, pkt).map(|yes| yes != n.negated))?;
    }
    if let Some(n) = &c.proto {
        check(Ok((n.value == pkt.proto.number()) != n.negated))?;
    }
    if let Some(n) = &c.orig_src {
        check(match pkt.orig_src {
            Some(a) => Ok(n.value.contains(a) != n.negated),
            None => Err("the source address is not given".to_owned()),
        })?;
    }
    if let Some(n) = &c.orig_dst {
        check(Ok(n.value.contains(pkt.orig_dst) != n.negated))?;
    }
    if let Some(n) = &c.orig_src_port {
        check(port_in(n, pkt.sport, "source"))?;
    }
    if let Some(n) = &c.orig_dst_port {
        check(Ok(n.value.contains(pkt.orig_dport) != n.negated))?;
    }
    if c.repl_src.is_some()
        || c.repl_dst.is_some()
        || c.repl_src_port.is_some()
        || c.repl_dst_port.is_some()
    {
        check(Err("--ctrepl* depends on the final NAT bindings".to_owned()))?;
    }
    if c.status.is_some() {
        check(Err(
            "--ctstatus depends on the connection's history".to_owned()
        ))?;
    }
    if c.expire.is_some() {
        check(Err(
            "--ctexpire depends on the connection's timer".to_owned()
        ))?;
    }
    if let Some(dir) = &c.direction {
        check(Ok(dir.eq_ignore_ascii_case("ORIGINAL")))?;
    }
    Ok(all)
}

fn addrtype(
    a: &node_artifacts::iptables::AddrtypeMatch,
    pkt: &Packet,
    addrs: &NodeAddrs<'_>,
) -> Result<bool, String> {
    // `--limit-iface-in/out`: only addresses of that interface count.
    let dev = if a.limit_iface_in {
        Some(
            pkt.in_iface
                .as_deref()
                .ok_or("addrtype --limit-iface-in: the input interface is not given")?,
        )
    } else if a.limit_iface_out {
        Some(
            pkt.out_iface
                .as_deref()
                .ok_or("addrtype --limit-iface-out: the output interface is unknown")?,
        )
    } else {
        None
    };
    let check = |types: &Neg<Vec<String>>, addr: Option<IpAddr>, side: &str| {
        let addr = addr.ok_or_else(|| format!("the {side} address is not given"))?;
        let kind = addrs
            .addr_type(addr, dev)
            .ok_or_else(|| "the node's own addresses are unknown".to_owned())?;
        let hit = types.value.iter().any(|t| t.eq_ignore_ascii_case(kind));
        Ok::<bool, String>(hit != types.negated)
    };
    if let Some(t) = &a.dst_type
        && !check(t, Some(pkt.dst), "destination")?
    {
        return Ok(false);
    }
    if let Some(t) = &a.src_type {
        return check(t, pkt.src, "source");
    }
    Ok(true)
}

fn ct_protocol(p: FlowProtocol) -> conntrack::Protocol {
    match p {
        FlowProtocol::Tcp => conntrack::Protocol::Tcp,
        FlowProtocol::Udp => conntrack::Protocol::Udp,
        FlowProtocol::Sctp => conntrack::Protocol::Sctp,
    }
}

fn tuple_is(t: &Tuple, src: Option<IpAddr>, sport: Option<u16>, dst: IpAddr, dport: u16) -> bool {
    t.dst == dst
        && (dport == 0 || t.l4.dport() == Some(dport))
        && src.is_none_or(|s| t.src == s)
        && sport.is_none_or(|s| t.l4.sport() == Some(s))
}

fn tuple_text(t: &Tuple) -> String {
    let side = |a: IpAddr, p: Option<u16>| match (a, p) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    match t.l4 {
        L4::Ports { sport, dport } => format!(
            "{} -> {}",
            side(t.src, Some(sport)),
            side(t.dst, Some(dport))
        ),
        _ => format!("{} -> {}", side(t.src, None), side(t.dst, None)),
    }
}

fn merge_endpoints(branches: &[Branch]) -> Vec<EndpointShare> {
    let mut merged: Vec<EndpointShare> = Vec::new();
    for b in branches {
        let Some(d) = &b.dnat else { continue };
        match merged
            .iter_mut()
            .find(|e| e.address == d.address && e.port == d.port && e.service == d.service)
        {
            Some(e) => {
                e.probability += b.probability;
                e.branches.push(b.id);
            }
            None => merged.push(EndpointShare {
                address: d.address,
                port: d.port,
                service: d.service.clone(),
                probability: b.probability,
                branches: vec![b.id],
            }),
        }
    }
    merged
}

/// Chain lookup by name on a table block, as a position.
trait ChainIndexExt {
    fn chain_index(&self, name: &str) -> Option<usize>;
}

impl ChainIndexExt for TableBlock {
    fn chain_index(&self, name: &str) -> Option<usize> {
        // `TableBlock::chain` is a hash lookup returning an element of
        // `chains`; its position follows from its address (checked below).
        let chain = self.chain(name)?;
        let size = std::mem::size_of::<Chain>().max(1);
        let at = (std::ptr::from_ref(chain).addr() - self.chains.as_ptr().addr()) / size;
        self.chains
            .get(at)
            .filter(|c| std::ptr::eq(*c, chain))
            .map(|_| at)
    }
}

//! `iptables --numeric --verbose --list` listings (`networking/iptables*.txt`
//! and `ip6tables*.txt` in the EKS bundle), with the collector's appended
//! rule total.
//!
//! # Sample
//!
//! ```text
//! Chain INPUT (policy ACCEPT 2093K packets, 1234M bytes)      <- built-in chain, counters may carry K/M/G/T suffixes
//!  pkts bytes target     prot opt in     out     source               destination
//!  887K  123M KUBE-FIREWALL  all  --  *      *       0.0.0.0/0            0.0.0.0/0
//!     0     0 REJECT     tcp  --  *      *       0.0.0.0/0            172.20.0.10          /* kube-system/kube-dns:dns-tcp has no endpoints */ tcp dpt:53 reject-with icmp-port-unreachable
//!
//! Chain KUBE-FIREWALL (2 references)                           <- user chain
//!  pkts bytes target     prot opt in     out     source               destination
//!     0     0            all  --  *      *       0.0.0.0/0            0.0.0.0/0            <- rule without a target
//! =======                                                      <- appended by the collector
//! Total Number of Rules: 2                                     <- rule rows it counted
//! ```
//!
//! # Grammar
//!
//! ```text
//! file    = { chain | blank } [ "=======" "\n" "Total Number of Rules: " n ]
//! chain   = "Chain " name " (" ( policy | refs ) ")" "\n" header { rule }
//! policy  = "policy " target [ " " count " packets, " count " bytes" ]
//! refs    = n " references"
//! header  = [ "num" ] [ "pkts" "bytes" ] "target" "prot" "opt" [ "in" "out" ] "source" "destination"
//! rule    = [ num ] [ count count ] [ target ] prot [ opt ] [ in out ] source destination [ options ]
//! count   = digits [ "K" | "M" | "G" | "T" | "P" ]      (* iptables rounds to 1000s above 99999 *)
//! opt     = "--" | "-f" | "!f"
//! ```
//!
//! The header line of each chain says which columns follow, so the same
//! parser reads `-nvL`, `-nL`, `-L` (names such as `anywhere`) and
//! `--line-numbers` listings. `ip6tables` prints an empty `opt` column, and a
//! rule may have no target (kube-proxy writes such rules); the parser tells
//! the cases apart by where the `opt` token sits and, failing that, by which
//! tokens look like addresses.
//!
//! The collector computes the total by deleting lines that start with `num`,
//! are empty, start with `Chain` or match `^ pkts.*destination`, then counting
//! what is left: so it is the number of rule rows. A mismatch with the rules
//! parsed is reported as a diagnostic.
//!
//! # Memory
//!
//! A key design decision is that a listing keeps its input once and its
//! rule rows packed: a chain's [`Rules`] hold each row as its line and byte
//! range (sixteen bytes) and read it again into a [`Rule`] whose texts are
//! [`SharedText`] slices of the input when asked. [`parse_file`] slices the
//! caller's [`FileBytes`]; [`parse`] copies its input once. A 5,000-service
//! nat listing costs about 1.35 times its file instead of 4.5 times.
//!
//! # Example
//!
//! ```
//! let text = include_str!("../../../../fixtures/iptables_list/valid/iptables-filter.txt");
//! let parsed = node_artifacts::iptables_list::parse(text).unwrap();
//! assert!(parsed.diagnostics.is_empty());
//! let services = parsed.value.chain("KUBE-SERVICES").unwrap();
//! let reject = services.rules.get(0).unwrap();
//! assert_eq!(reject.target, "REJECT");
//! assert_eq!(reject.packets.map(|c| c.value), Some(217));
//! assert_eq!(reject.comment(), Some("kube-system/kube-dns:dns has no endpoints"));
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::line_util::{keep_unparsed, parse_u64};
use crate::shared::{FileBytes, SharedText};

/// Parses an `iptables -nvL` listing.
///
/// Rules are kept packed over one copy of the input (see [`Rules`]);
/// [`parse_file`] avoids even that copy.
///
/// # Errors
///
/// [`Error::NotListing`] when the input has text but neither a `Chain`
/// header nor the collector's rule total.
pub fn parse(input: &str) -> Result<Parsed<Listing>, Error> {
    parse_shared(&FileBytes::from(input))
}

/// [`parse`] over a file's shared content: rules and chain names are
/// slices of `input` itself, so the listing adds no copy of the file.
/// Content that is not UTF-8 is read with U+FFFD replacements (one copy).
///
/// # Errors
///
/// As [`parse`].
pub fn parse_file(input: &FileBytes) -> Result<Parsed<Listing>, Error> {
    match input.as_str() {
        Some(_) => parse_shared(input),
        None => parse_shared(&FileBytes::from(
            String::from_utf8_lossy(input.as_bytes()).into_owned(),
        )),
    }
}

/// Parses `file`, whose content is UTF-8 (checked by the callers).
fn parse_shared(file: &FileBytes) -> Result<Parsed<Listing>, Error> {
    let input = file.as_str().unwrap_or_default();
    // Text of the input as a slice of the file (a copy if it is not one).
    let shared = |part: &str| {
        file.text_of(part.as_bytes())
            .unwrap_or_else(|| SharedText::from(part))
    };
    let mut listing = Listing::default();
    let mut diagnostics = Vec::new();
    let mut columns: Option<Columns> = None;
    let mut in_trailer = false;
    let mut saw_text = false;
    // One token buffer for every row, so rows cost no allocation: a row is
    // checked here and kept as its place in the file.
    let mut token_buffer: Vec<(usize, usize)> = Vec::with_capacity(32);
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        saw_text = true;
        if raw.trim_end() == "=======" {
            in_trailer = true;
            continue;
        }
        if let Some(n) = raw.strip_prefix("Total Number of Rules:") {
            match parse_u64(n.trim()) {
                Some(n) => {
                    listing.total_rules = Some(TotalLine {
                        line: line_no,
                        count: n,
                    })
                }
                None => listing.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "rule total is not a number",
                )),
            }
            continue;
        }
        if in_trailer {
            listing.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "text after the `=======` trailer",
            ));
            continue;
        }
        if let Some(rest) = raw.strip_prefix("Chain ") {
            match chain_header(line_no, rest, file, &shared) {
                Ok(chain) => listing.chains.push(chain),
                Err(reason) => {
                    listing
                        .unparsed
                        .push(keep_unparsed(&mut diagnostics, line_no, raw, reason))
                }
            }
            columns = None;
            continue;
        }
        let Some(chain) = listing.chains.last_mut() else {
            listing.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "line before any `Chain` header",
            ));
            continue;
        };
        if columns.is_none()
            && let Some(c) = Columns::from_header(raw)
        {
            columns = Some(c);
            continue;
        }
        let cols = columns.unwrap_or(Columns::VERBOSE);
        match row_parts(raw, cols, &mut token_buffer) {
            Ok(_) => {
                if let Err(reason) = chain.rules.push(input, line_no, raw, cols) {
                    chain
                        .unparsed
                        .push(keep_unparsed(&mut diagnostics, line_no, raw, reason));
                }
            }
            Err(reason) => {
                chain
                    .unparsed
                    .push(keep_unparsed(&mut diagnostics, line_no, raw, reason))
            }
        }
    }
    // A table that does not exist leaves only the collector's trailer
    // (`Total Number of Rules: 0`): that is still a listing, of nothing.
    if saw_text && listing.chains.is_empty() && listing.total_rules.is_none() {
        return Err(Error::NotListing {
            reason: "no `Chain` header",
        });
    }
    for chain in &mut listing.chains {
        chain.rules.rows.shrink_to_fit();
    }
    if let Some(total) = &listing.total_rules {
        let counted = listing.rule_count() as u64;
        if counted != total.count {
            diagnostics.push(Diagnostic {
                line: total.line,
                reason: format!(
                    "trailer says {} rules but {} rule rows were parsed",
                    total.count, counted
                ),
            });
        }
    }
    Ok(Parsed {
        value: listing,
        diagnostics,
    })
}

/// Why an input is not an iptables listing at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No chain header was found.
    #[error("not an iptables listing: {reason}")]
    NotListing {
        /// What was missing.
        reason: &'static str,
    },
}

/// One table's listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Chains in output order.
    pub chains: Vec<Chain>,
    /// The collector's `Total Number of Rules: N`, when present.
    pub total_rules: Option<TotalLine>,
    /// Lines outside any chain or after the trailer.
    pub unparsed: Vec<Unparsed>,
}

impl Listing {
    /// The chain called `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// Number of rule rows parsed, across chains.
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// All rules with their chain.
    pub fn rules(&self) -> impl Iterator<Item = (&Chain, Rule)> {
        self.chains
            .iter()
            .flat_map(|c| c.rules.iter().map(move |r| (c, r)))
    }
}

/// The `Total Number of Rules: N` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TotalLine {
    /// 1-based input line.
    pub line: usize,
    /// The number written.
    pub count: u64,
}

/// A chain and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    /// 1-based line of the `Chain` header.
    pub line: usize,
    /// Chain name.
    pub name: SharedText,
    /// Policy of a built-in chain.
    pub policy: Option<SharedText>,
    /// Policy packet counter (built-in chains in verbose mode).
    pub packets: Option<Counter>,
    /// Policy byte counter.
    pub bytes: Option<Counter>,
    /// `N references` of a user chain.
    pub references: Option<u64>,
    /// Rule rows, packed: [`Rules::get`] and [`Rules::iter`] give each as
    /// a [`Rule`].
    pub rules: Rules,
    /// Lines in this chain that were not rules.
    pub unparsed: Vec<Unparsed>,
}

/// A counter as printed: exact below 100000, else rounded to K/M/G/T/P.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counter {
    /// The value, expanded (`123K` is 123000).
    pub value: u64,
    /// Whether iptables rounded it (a suffix was printed).
    pub rounded: bool,
}

impl Counter {
    /// Parses `123`, `887K`, `1234M`, …
    pub fn parse(s: &str) -> Option<Self> {
        let (digits, mult) = match s.as_bytes().last()? {
            b'K' => (&s[..s.len() - 1], 1_000u64),
            b'M' => (&s[..s.len() - 1], 1_000_000),
            b'G' => (&s[..s.len() - 1], 1_000_000_000),
            b'T' => (&s[..s.len() - 1], 1_000_000_000_000),
            b'P' => (&s[..s.len() - 1], 1_000_000_000_000_000),
            _ => (s, 1),
        };
        Some(Self {
            value: parse_u64(digits)?.checked_mul(mult)?,
            rounded: mult != 1,
        })
    }
}

/// One rule row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// 1-based input line.
    pub line: usize,
    /// `num` column (with `--line-numbers`).
    pub num: Option<u64>,
    /// Packet counter (verbose listings).
    pub packets: Option<Counter>,
    /// Byte counter (verbose listings).
    pub bytes: Option<Counter>,
    /// Target or jump chain; empty for a rule without a target.
    pub target: SharedText,
    /// Protocol (`all`, `tcp`, `udp`, `icmp`, a number, possibly `!`-negated).
    pub prot: SharedText,
    /// `opt` column (`--`, `-f`, `!f`); `None` when printed empty (ip6tables).
    pub opt: Option<SharedText>,
    /// Input interface (`*` for any).
    pub in_iface: Option<SharedText>,
    /// Output interface.
    pub out_iface: Option<SharedText>,
    /// Source (`0.0.0.0/0`, may start with `!`).
    pub source: SharedText,
    /// Destination.
    pub destination: SharedText,
    /// Everything after the destination (matches and target options), with
    /// its internal spacing kept.
    pub options: SharedText,
}

/// The rule rows of a chain, packed: each row is kept as its line number
/// and its place in the input (sixteen bytes), and [`Rules::get`] reads it
/// again into a [`Rule`] whose texts are slices of the input (reference
/// counts, no copies).
///
/// A listing's rows are a few hundred thousand at most and reading one is
/// a tokenisation of a hundred bytes, so this trades a little time per
/// access for holding a node's listing in about 1.4 times its file
/// instead of 4.5 times. Every row kept here was checked when the listing
/// was parsed (rows that are not rules are kept as [`Unparsed`]), so
/// reading it again cannot fail.
///
/// Compares, prints and serialises as the sequence of [`Rule`]s it holds.
#[derive(Clone)]
pub struct Rules {
    /// The input the rows lie in.
    file: FileBytes,
    rows: Vec<Row>,
}

/// Where a rule row lies: its 1-based line and its byte range in the input,
/// and the columns its chain's header announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    line: u32,
    start: u32,
    end: u32,
    columns: Columns,
}

impl Rule {
    /// The `/* … */` comment in the options, if any.
    pub fn comment(&self) -> Option<&str> {
        let start = self.options.find("/* ")?;
        let rest = &self.options[start + 3..];
        let end = rest.find(" */")?;
        Some(&rest[..end])
    }
}

impl Rules {
    fn new(file: FileBytes) -> Self {
        Rules {
            file,
            rows: Vec::new(),
        }
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rule at `index`.
    pub fn get(&self, index: usize) -> Option<Rule> {
        self.read(*self.rows.get(index)?, &mut Vec::new())
    }

    /// The rules in input order.
    pub fn iter(&self) -> RulesIter<'_> {
        RulesIter {
            rules: self,
            next: 0,
            tokens: Vec::new(),
        }
    }

    /// The raw text of the row at `index`, as listed.
    pub fn raw(&self, index: usize) -> Option<&str> {
        let row = self.rows.get(index)?;
        self.file
            .as_str()?
            .get(row.start as usize..row.end as usize)
    }

    /// Keeps the row `raw`, a sub-slice of `input` (the text of this
    /// chain's file); `Err` when its offsets do not fit in 32 bits.
    fn push(
        &mut self,
        input: &str,
        line: usize,
        raw: &str,
        columns: Columns,
    ) -> Result<(), &'static str> {
        const TOO_FAR: &str = "rule row beyond 4 GiB into the input";
        let start = (raw.as_ptr() as usize)
            .checked_sub(input.as_ptr() as usize)
            .ok_or(TOO_FAR)?;
        self.rows.push(Row {
            line: u32::try_from(line).map_err(|_| TOO_FAR)?,
            start: u32::try_from(start).map_err(|_| TOO_FAR)?,
            end: u32::try_from(start + raw.len()).map_err(|_| TOO_FAR)?,
            columns,
        });
        Ok(())
    }

    /// Reads `row` again; `tokens` is a buffer to reuse.
    fn read(&self, row: Row, tokens: &mut Vec<(usize, usize)>) -> Option<Rule> {
        let text = self.file.text(row.start as usize, row.end as usize)?;
        let parts = row_parts(&text, row.columns, tokens).ok()?;
        Some(Rule {
            line: row.line as usize,
            num: parts.num,
            packets: parts.packets,
            bytes: parts.bytes,
            target: text.sub(parts.target),
            prot: text.sub(parts.prot),
            opt: parts.opt.map(|opt| text.sub(opt)),
            in_iface: parts.in_iface.map(|name| text.sub(name)),
            out_iface: parts.out_iface.map(|name| text.sub(name)),
            source: text.sub(parts.source),
            destination: text.sub(parts.destination),
            options: text.sub(parts.options),
        })
    }
}

/// The rules of a [`Rules`] in input order, read one by one.
pub struct RulesIter<'a> {
    rules: &'a Rules,
    next: usize,
    tokens: Vec<(usize, usize)>,
}

impl Iterator for RulesIter<'_> {
    type Item = Rule;

    fn next(&mut self) -> Option<Rule> {
        let row = *self.rules.rows.get(self.next)?;
        self.next += 1;
        self.rules.read(row, &mut self.tokens)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.rules.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for RulesIter<'_> {}

impl<'a> IntoIterator for &'a Rules {
    type Item = Rule;
    type IntoIter = RulesIter<'a>;

    fn into_iter(self) -> RulesIter<'a> {
        self.iter()
    }
}

impl PartialEq for Rules {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Rules {}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Rules {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Which columns a chain's rows have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    num: bool,
    counters: bool,
    interfaces: bool,
}

impl Columns {
    const VERBOSE: Self = Self {
        num: false,
        counters: true,
        interfaces: true,
    };

    fn from_header(raw: &str) -> Option<Self> {
        let mut words = raw.split_whitespace().peekable();
        let num = words.next_if_eq(&"num").is_some();
        let counters = words.next_if_eq(&"pkts").is_some();
        if counters && words.next() != Some("bytes") {
            return None;
        }
        for want in ["target", "prot", "opt"] {
            if words.next() != Some(want) {
                return None;
            }
        }
        let interfaces = words.next_if_eq(&"in").is_some();
        if interfaces && words.next() != Some("out") {
            return None;
        }
        if words.next() != Some("source") || words.next() != Some("destination") {
            return None;
        }
        words.next().is_none().then_some(Self {
            num,
            counters,
            interfaces,
        })
    }
}

fn chain_header(
    line: usize,
    rest: &str,
    file: &FileBytes,
    shared: &impl Fn(&str) -> SharedText,
) -> Result<Chain, &'static str> {
    let (name, paren) = rest.split_once(" (").ok_or("chain header without `(`")?;
    let inner = paren
        .trim_end()
        .strip_suffix(')')
        .ok_or("chain header without `)`")?;
    let mut chain = Chain {
        line,
        name: shared(name),
        policy: None,
        packets: None,
        bytes: None,
        references: None,
        rules: Rules::new(file.clone()),
        unparsed: Vec::new(),
    };
    if let Some(policy) = inner.strip_prefix("policy ") {
        let mut words = policy.split_whitespace();
        chain.policy = Some(shared(words.next().ok_or("policy without a target")?));
        if let Some(p) = words.next() {
            chain.packets = Some(Counter::parse(p).ok_or("bad policy packet counter")?);
            if words.next() != Some("packets,") {
                return Err("expected `packets,` in the policy");
            }
            chain.bytes = Some(
                Counter::parse(words.next().ok_or("policy without a byte counter")?)
                    .ok_or("bad policy byte counter")?,
            );
            if words.next() != Some("bytes") || words.next().is_some() {
                return Err("expected `bytes` to end the policy");
            }
        }
    } else if let Some(refs) = inner.strip_suffix(" references") {
        chain.references = Some(parse_u64(refs).ok_or("references is not a number")?);
    } else {
        return Err("chain header is neither a policy nor references");
    }
    Ok(chain)
}

/// Splits `s` into whitespace-separated tokens, as byte ranges, into `out`
/// (cleared first).
fn tokens(s: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
            i += 1;
        }
        if i > start {
            out.push((start, i));
        }
    }
}

fn is_opt(s: &str) -> bool {
    matches!(s, "--" | "-f" | "!f")
}

fn looks_like_address(s: &str) -> bool {
    let s = s.strip_prefix('!').unwrap_or(s);
    s == "anywhere"
        || s.parse::<IpAddr>().is_ok()
        || s.split_once('/')
            .is_some_and(|(a, l)| a.parse::<IpAddr>().is_ok() && l.parse::<u8>().is_ok())
}

/// The columns of one rule row, borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowParts<'a> {
    num: Option<u64>,
    packets: Option<Counter>,
    bytes: Option<Counter>,
    target: &'a str,
    prot: &'a str,
    opt: Option<&'a str>,
    in_iface: Option<&'a str>,
    out_iface: Option<&'a str>,
    source: &'a str,
    destination: &'a str,
    options: &'a str,
}

fn row_parts<'a>(
    raw: &'a str,
    cols: Columns,
    toks: &mut Vec<(usize, usize)>,
) -> Result<RowParts<'a>, String> {
    tokens(raw, toks);
    let toks = &*toks;
    let word = |&(start, end): &(usize, usize)| &raw[start..end];
    let mut i = 0;
    let mut take = |what: &str| -> Result<&'a str, String> {
        let t = toks
            .get(i)
            .map(word)
            .ok_or_else(|| format!("row ends before the {what} column"))?;
        i += 1;
        Ok(t)
    };
    let num = if cols.num {
        let n = take("num")?;
        Some(parse_u64(n).ok_or_else(|| format!("num `{n}` is not a number"))?)
    } else {
        None
    };
    let (packets, bytes) = if cols.counters {
        let p = take("pkts")?;
        let b = take("bytes")?;
        (
            Some(Counter::parse(p).ok_or_else(|| format!("bad packet counter `{p}`"))?),
            Some(Counter::parse(b).ok_or_else(|| format!("bad byte counter `{b}`"))?),
        )
    } else {
        (None, None)
    };
    let rest = &toks[i..];
    let tok = |k: usize| rest.get(k).map(word);
    let n_if = if cols.interfaces { 2 } else { 0 };
    // Decide whether the target and opt columns are present.
    let (has_target, has_opt) = if tok(1).is_some_and(is_opt) {
        (false, true)
    } else if tok(2).is_some_and(is_opt) {
        (true, true)
    } else if tok(2 + n_if).is_some_and(looks_like_address)
        && tok(3 + n_if).is_some_and(looks_like_address)
    {
        (true, false)
    } else if tok(1 + n_if).is_some_and(looks_like_address)
        && tok(2 + n_if).is_some_and(looks_like_address)
    {
        (false, false)
    } else {
        return Err("cannot find the prot/opt columns".to_owned());
    };
    let fixed = usize::from(has_target) + 1 + usize::from(has_opt) + n_if + 2;
    if rest.len() < fixed {
        return Err(format!(
            "row has {} columns after the counters, expected at least {fixed}",
            rest.len()
        ));
    }
    let mut k = 0;
    let mut next = || {
        let t = word(&rest[k]);
        k += 1;
        t
    };
    let target = if has_target { next() } else { &raw[..0] };
    let prot = next();
    let opt = has_opt.then(&mut next);
    let (in_iface, out_iface) = if cols.interfaces {
        (Some(next()), Some(next()))
    } else {
        (None, None)
    };
    let source = next();
    let destination = next();
    let options = match rest.get(k) {
        Some(&(offset, _)) => raw[offset..].trim_end(),
        None => &raw[raw.len()..],
    };
    Ok(RowParts {
        num,
        packets,
        bytes,
        target,
        prot,
        opt,
        in_iface,
        out_iface,
        source,
        destination,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, cols: Columns, expect: &str) {
        let got = match row_parts(input, cols, &mut Vec::new()) {
            Ok(r) => format!(
                "num={:?} p={:?} b={:?} t={:?} prot={} opt={:?} in={:?} out={:?} src={} dst={} opts={:?}",
                r.num,
                r.packets.map(|c| c.value),
                r.bytes.map(|c| c.value),
                r.target,
                r.prot,
                r.opt,
                r.in_iface,
                r.out_iface,
                r.source,
                r.destination,
                r.options
            ),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn rows() {
        let v = Columns::VERBOSE;
        check(
            " 887K  123M KUBE-FIREWALL  all  --  *      *       0.0.0.0/0            0.0.0.0/0",
            v,
            "num=None p=Some(887000) b=Some(123000000) t=\"KUBE-FIREWALL\" prot=all opt=Some(\"--\") in=Some(\"*\") out=Some(\"*\") src=0.0.0.0/0 dst=0.0.0.0/0 opts=\"\"",
        );
        check(
            "    0     0            all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes  x */ mark match 0x4000/0x4000",
            v,
            "num=None p=Some(0) b=Some(0) t=\"\" prot=all opt=Some(\"--\") in=Some(\"*\") out=Some(\"*\") src=0.0.0.0/0 dst=0.0.0.0/0 opts=\"/* kubernetes  x */ mark match 0x4000/0x4000\"",
        );
        check(
            "    5   300 ACCEPT     all      lo     *       ::/0                 ::/0",
            v,
            "num=None p=Some(5) b=Some(300) t=\"ACCEPT\" prot=all opt=None in=Some(\"lo\") out=Some(\"*\") src=::/0 dst=::/0 opts=\"\"",
        );
        check(
            "    0     0            all      *      *       ::/0                 ::/0                 /* c */",
            v,
            "num=None p=Some(0) b=Some(0) t=\"\" prot=all opt=None in=Some(\"*\") out=Some(\"*\") src=::/0 dst=::/0 opts=\"/* c */\"",
        );
        check(
            "1        0     0 DNAT       tcp  --  !bridge1 any     anywhere             anywhere             tcp dpt:http-alt to:192.0.2.2:80",
            Columns { num: true, ..v },
            "num=Some(1) p=Some(0) b=Some(0) t=\"DNAT\" prot=tcp opt=Some(\"--\") in=Some(\"!bridge1\") out=Some(\"any\") src=anywhere dst=anywhere opts=\"tcp dpt:http-alt to:192.0.2.2:80\"",
        );
        check("   0 x", v, "ERR bad byte counter `x`");
        check("   0 0 ACCEPT", v, "ERR cannot find the prot/opt columns");
        check(
            "   0 0 ACCEPT all --",
            v,
            "ERR row has 3 columns after the counters, expected at least 7",
        );
    }

    #[test]
    fn counters_and_headers() {
        assert_eq!(Counter::parse("12K").map(|c| c.value), Some(12_000));
        assert_eq!(Counter::parse("99999").map(|c| c.rounded), Some(false));
        assert_eq!(Counter::parse("K"), None);
        assert_eq!(Counter::parse("99999999999P"), None);
        let file = FileBytes::from("");
        let header = |rest: &str| chain_header(1, rest, &file, &|part| SharedText::from(part));
        let c = header("INPUT (policy DROP 2093K packets, 1234M bytes)").unwrap();
        assert_eq!(c.packets.map(|c| c.value), Some(2_093_000));
        let c = header("KUBE-X (2 references)").unwrap();
        assert_eq!(c.references, Some(2));
        let c = header("INPUT (policy ACCEPT)").unwrap();
        assert_eq!(c.policy.as_deref(), Some("ACCEPT"));
        assert!(header("X (banana)").is_err());
        let empty = parse("=======\nTotal Number of Rules: 0\n").unwrap();
        assert!(empty.diagnostics.is_empty() && empty.value.chains.is_empty());
        assert_eq!(
            Columns::from_header("target     prot opt source               destination"),
            Some(Columns {
                num: false,
                counters: false,
                interfaces: false
            })
        );
    }
}

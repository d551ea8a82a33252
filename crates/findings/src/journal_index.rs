//! The journal index shared by the rules of one check run.
//!
//! The journal rules each look for a few phrases among hundreds of
//! thousands of kubelet and containerd entries. Scanning every entry once
//! per rule made them the bulk of a check over a large bundle, so each rule
//! declares what it looks for ([`Needles`]) and the run builds, on first
//! use, one index for all of them: a single Aho-Corasick pass over every
//! entry's raw `MESSAGE` that records, for each declared set of needles, the
//! positions of the entries that match it. A rule then visits only those
//! entries ([`JournalIndex::entries`]), in journal order, and still decides
//! on the parsed fields exactly as before.
//!
//! The journals keep their entries in a compact store and build an
//! [`Entry`] (its klog/logfmt message parsed) on request. The pass reads
//! the store through [`EntryView`]s and materialises nothing; an entry is
//! built when a rule first visits it (on that rule's thread) and kept for
//! the run, so a rule borrows `&Entry` as before and an entry visited by
//! several rules is parsed once. A rule whose test needs something it can
//! see in the raw message narrows its candidates with
//! [`Candidates::where_text`] first, so the others are never built.
//!
//! # Invariant: the index is a prefilter, never a filter
//!
//! For every rule, every entry the rule acts on is among its candidates.
//! Each rule's needles are derived from its own first test and documented
//! next to the rule; the tests (`journal_index/tests.rs`) run every rule
//! with and without the index over every fixture case, every scenario
//! bundle and generated journals, and require the same findings. What makes
//! it hold:
//!
//! - [`Needles::words`] match case-sensitively anywhere in the raw message:
//!   exactly the entries `mentions(entry, words)` accepts, the test most
//!   journal rules begin with (and keep). A word is printable ASCII without
//!   `"` or `\`, which klog, logfmt and JSON quoting leave as they are, so
//!   a word found in a parsed field (an unquoted substring of the message)
//!   is found in the raw message;
//! - [`Needles::klog_prefixes`] are for rules whose first test is an ASCII
//!   case-insensitive test of the start of the klog message: for a klog
//!   entry the index compares them with the message as written after the
//!   header (`…file:line] `), past an opening quote; when a `\` (an escape)
//!   is among the bytes compared, the entry is a candidate;
//! - an entry without a text message (binary `MESSAGE`, or none) is a
//!   candidate of every set;
//! - a set the index does not know (not in [`crate::rules::journal_needles`])
//!   yields every entry, as does a journal of another snapshot.
//!
//! The words are matched case-sensitively so that the automaton can use its
//! SIMD prefilter; matching them ASCII case-insensitively made the pass
//! about a quarter slower. Building the index splits each large journal among
//! the machine's cores; the result does not depend on the split.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use node_artifacts::journald::{Entry, EntryView, Journal};
use node_artifacts::layout::ArtifactKind;
use node_artifacts::snapshot::{Artifact, NodeSnapshot};

/// What one rule (or one test of a rule) looks for in journal messages:
/// every entry it acts on contains one of the [`words`](Needles::words)
/// in its raw `MESSAGE`, or is a klog entry whose message starts with one
/// of the [`klog_prefixes`](Needles::klog_prefixes).
#[derive(Debug)]
pub(crate) struct Needles {
    /// The rule code (with a suffix when a rule has several sets).
    pub(crate) name: &'static str,
    /// Phrases matched case-sensitively anywhere in the raw message.
    pub(crate) words: &'static [&'static str],
    /// Prefixes of the klog message, matched ASCII case-insensitively.
    pub(crate) klog_prefixes: &'static [&'static str],
}

/// Entries with fewer entries than this are indexed on one thread.
const PARALLEL_MIN_ENTRIES: usize = 50_000;

/// Per journal of the snapshot, per registered needle set, the positions of
/// the candidate entries in ascending order.
#[derive(Debug, Default)]
pub(crate) struct JournalIndex {
    /// `postings[journal][set]`, journals in snapshot order and sets in
    /// registry order.
    postings: Vec<Vec<Vec<u32>>>,
    /// Per journal, the position of the first entry of the last boot
    /// (`usize::MAX` for a journal not indexed).
    boot_starts: Vec<usize>,
    /// Per journal of the snapshot, the entries the rules visit,
    /// materialised once per run (on first visit) and shared by the rules.
    materialised: OnceLock<Box<[Materialised]>>,
}

/// The materialised entries of one journal: the journal keeps its entries
/// in a compact store and builds an [`Entry`] on request, so the index
/// keeps each entry a rule visits, built on its first visit (by whichever
/// rule comes first, on that rule's thread) and shared by the rules for the
/// run, which lets them borrow it. Only visited entries are built: a rule
/// that narrows its candidates by raw text first
/// ([`Candidates::where_text`]) never builds the others. (Building every
/// set's candidates up front, in parallel, measured slower on the large
/// bundle: 0.13 s of check against 0.10–0.11 s.)
#[derive(Debug, Default)]
struct Materialised {
    /// A slot per entry of the journal, allocated on the first visit and
    /// filled as visited. Boxed, so that a slot not visited costs 16 bytes.
    every: OnceLock<Box<[OnceLock<Box<Entry>>]>>,
}

impl Materialised {
    /// Entry `at` of `journal`, materialised.
    fn entry<'a>(&'a self, journal: &Journal, at: usize) -> Option<&'a Entry> {
        let slot = self
            .every
            .get_or_init(|| {
                std::iter::repeat_with(OnceLock::new)
                    .take(journal.len())
                    .collect()
            })
            .get(at)?;
        if let Some(entry) = slot.get() {
            return Some(entry.as_ref());
        }
        let entry = Box::new(journal.entry(at)?);
        Some(slot.get_or_init(|| entry).as_ref())
    }
}

/// Whether `needle` can be looked for in raw messages: non-empty printable
/// ASCII without the characters quoting escapes.
pub(crate) fn well_formed(needle: &str) -> bool {
    !needle.is_empty()
        && needle
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\' || byte == b' ')
}

/// The compiled needles of the registry.
struct Matcher {
    /// All words of all sets (`None` when no set has words).
    automaton: Option<AhoCorasick>,
    /// For each pattern of the automaton, the sets (bit per set) it counts
    /// for: its own and those of the patterns that are its prefixes.
    sets_of_pattern: Vec<u64>,
    /// Every klog prefix with the sets (bit per set) it belongs to.
    prefixes: Vec<(&'static str, u64)>,
    /// Every registered set.
    all_sets: u64,
    sets: usize,
}

impl Matcher {
    fn new(registry: &[&Needles]) -> Option<Matcher> {
        // One bit per set in a u64; the registry is far smaller.
        if registry.is_empty() || registry.len() > 64 {
            return None;
        }
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut own_sets: Vec<u64> = Vec::new();
        let mut prefixes: Vec<(&'static str, u64)> = Vec::new();
        for (set, needles) in registry.iter().enumerate() {
            for &word in needles.words {
                debug_assert!(well_formed(word), "{}: needle {word:?}", needles.name);
                match patterns.iter().position(|known| *known == word) {
                    Some(at) => own_sets[at] |= 1 << set,
                    None => {
                        patterns.push(word);
                        own_sets.push(1 << set);
                    }
                }
            }
            for &prefix in needles.klog_prefixes {
                debug_assert!(well_formed(prefix), "{}: prefix {prefix:?}", needles.name);
                prefixes.push((prefix, 1 << set));
            }
        }
        // A search finds, at each position, the longest pattern starting
        // there; the shorter ones starting there are its prefixes, so a
        // pattern also counts for the sets of its prefixes.
        let sets_of_pattern: Vec<u64> = patterns
            .iter()
            .map(|long| {
                patterns
                    .iter()
                    .zip(&own_sets)
                    .filter(|(short, _)| long.starts_with(**short))
                    .fold(0, |sets, (_, of)| sets | of)
            })
            .collect();
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .ok()?,
            )
        };
        let all_sets = if registry.len() == 64 {
            u64::MAX
        } else {
            (1u64 << registry.len()) - 1
        };
        Some(Matcher {
            automaton,
            sets_of_pattern,
            prefixes,
            all_sets,
            sets: registry.len(),
        })
    }

    /// The sets (bit per set) an entry is a candidate of; reads the
    /// journal's store through the view, materialising nothing.
    fn sets_of(&self, entry: &EntryView<'_>) -> u64 {
        let Some(text) = entry.text() else {
            return self.all_sets;
        };
        let mut sets = 0;
        // The klog message follows the header's first `]` and a space (the
        // header is `L MMDD hh:mm:ss.uuuuuu tid file:line]`, as the klog
        // parser reads it), quoted when the line is structured.
        if !self.prefixes.is_empty()
            && entry.is_klog()
            && let Some(bracket) = memchr::memchr(b']', text.as_bytes())
        {
            let body = text.as_bytes().get(bracket + 2..).unwrap_or_default();
            let body = body.strip_prefix(b"\"").unwrap_or(body);
            for (prefix, of) in &self.prefixes {
                if let Some(head) = body.get(..prefix.len())
                    && (head.eq_ignore_ascii_case(prefix.as_bytes()) || head.contains(&b'\\'))
                {
                    sets |= of;
                }
            }
        }
        let Some(automaton) = &self.automaton else {
            return sets;
        };
        let mut input = Input::new(text);
        // Every position where a pattern starts, not only the
        // non-overlapping matches: restart one byte after each match.
        while let Some(found) = automaton.find(input.clone()) {
            sets |= self.sets_of_pattern[found.pattern().as_usize()];
            if sets == self.all_sets || found.start() + 1 >= text.len() {
                break;
            }
            input.set_start(found.start() + 1);
        }
        sets
    }

    /// The postings of the entries of `journal` in `range`.
    fn postings(&self, journal: &Journal, range: std::ops::Range<usize>) -> Vec<Vec<u32>> {
        let mut postings = vec![Vec::new(); self.sets];
        for view in range.filter_map(|index| journal.view(index)) {
            let mut sets = self.sets_of(&view);
            // In range: the journal's length fits in u32 (checked).
            let position = view.index() as u32;
            while sets != 0 {
                let set = sets.trailing_zeros() as usize;
                sets &= sets - 1;
                postings[set].push(position);
            }
        }
        postings
    }

    /// The postings of a whole journal, split among up to `threads`
    /// threads; none (so that rules visit every entry) for a journal too
    /// long for `u32` positions or when a thread failed.
    fn journal(&self, journal: &Journal, threads: usize) -> Vec<Vec<u32>> {
        let len = journal.len();
        if u32::try_from(len).is_err() {
            return Vec::new();
        }
        if threads < 2 || len < PARALLEL_MIN_ENTRIES {
            return self.postings(journal, 0..len);
        }
        self.postings_in_parts(journal, threads)
    }

    /// [`Matcher::postings`] of `journal` (fewer than `u32::MAX` entries),
    /// computed in `parts` parts on as many threads; none when a thread
    /// failed.
    fn postings_in_parts(&self, journal: &Journal, parts: usize) -> Vec<Vec<u32>> {
        let len = journal.len();
        let chunk = len.div_ceil(parts.max(1)).max(1);
        let parts: Option<Vec<Vec<Vec<u32>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..len)
                .step_by(chunk)
                .map(|start| {
                    let range = start..(start + chunk).min(len);
                    scope.spawn(move || self.postings(journal, range))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().ok())
                .collect()
        });
        let Some(parts) = parts else {
            return Vec::new();
        };
        let mut postings = vec![Vec::new(); self.sets];
        for part in parts {
            for (all, mut some) in postings.iter_mut().zip(part) {
                all.append(&mut some);
            }
        }
        postings
    }
}

impl JournalIndex {
    /// Indexes every journal of `snapshot` for the needle sets of `registry`.
    ///
    /// Only the journals the rules read are indexed: kubelet's and
    /// containerd's (the first of each kind, as
    /// [`NodeSnapshot::journal`] finds them). A rule that asked about
    /// another journal would visit all of its entries.
    pub(crate) fn build(snapshot: &NodeSnapshot, registry: &[&Needles]) -> JournalIndex {
        let read: Vec<&Artifact<Journal>> = [
            ArtifactKind::KubeletJournal,
            ArtifactKind::ContainerdJournal,
        ]
        .into_iter()
        .filter_map(|kind| snapshot.journal(kind))
        .collect();
        let is_read =
            |journal: &Artifact<Journal>| read.iter().any(|known| std::ptr::eq(*known, journal));
        let boot_starts = snapshot
            .journals
            .iter()
            .map(|journal| {
                if is_read(journal) {
                    boot_start(&journal.value)
                } else {
                    usize::MAX
                }
            })
            .collect();
        let Some(matcher) = Matcher::new(registry) else {
            return JournalIndex {
                postings: Vec::new(),
                boot_starts,
                materialised: OnceLock::new(),
            };
        };
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let postings = snapshot
            .journals
            .iter()
            .map(|journal| {
                if is_read(journal) {
                    matcher.journal(&journal.value, threads)
                } else {
                    Vec::new()
                }
            })
            .collect::<Vec<_>>();
        let materialised: Box<[Materialised]> = snapshot
            .journals
            .iter()
            .map(|_| Materialised::default())
            .collect();
        JournalIndex {
            postings,
            boot_starts,
            materialised: OnceLock::from(materialised),
        }
    }

    /// The position in `journal` of the first entry of its last boot: of
    /// the first of the trailing entries that share the last entry's boot
    /// id (0 when the journal names no boot).
    pub(crate) fn boot_start(&self, snapshot: &NodeSnapshot, journal: &Artifact<Journal>) -> usize {
        snapshot
            .journals
            .iter()
            .position(|known| std::ptr::eq(known, journal))
            .and_then(|at| self.boot_starts.get(at).copied())
            .filter(|&start| start != usize::MAX)
            .unwrap_or_else(|| boot_start(&journal.value))
    }

    /// The entries of `journal` that mention one of `needles`, in journal
    /// order: every entry when the index does not know the journal or the
    /// set. `journal` is one of the snapshot's journals (the rules take
    /// theirs from it); another journal has no entries here, since the
    /// index has nowhere to keep them materialised.
    pub(crate) fn entries<'a>(
        &'a self,
        snapshot: &NodeSnapshot,
        journal: &'a Artifact<Journal>,
        needles: &'static Needles,
    ) -> Candidates<'a> {
        let journal_at = snapshot
            .journals
            .iter()
            .position(|known| std::ptr::eq(known, journal));
        debug_assert!(journal_at.is_some(), "a journal of another snapshot");
        let postings = journal_at
            .zip(
                crate::rules::journal_needles()
                    .iter()
                    .position(|known| std::ptr::eq(*known, needles)),
            )
            .and_then(|(journal, set)| self.postings.get(journal)?.get(set));
        let materialised = journal_at.and_then(|at| {
            self.materialised
                .get_or_init(|| {
                    std::iter::repeat_with(Materialised::default)
                        .take(snapshot.journals.len())
                        .collect()
                })
                .get(at)
        });
        let positions = match (postings, materialised) {
            (_, None) => Positions::All(0..0),
            (Some(postings), Some(_)) => Positions::Indexed(postings.iter()),
            (None, Some(_)) => Positions::All(0..journal.value.len()),
        };
        Candidates {
            journal: &journal.value,
            materialised,
            positions,
            needles,
        }
    }
}

/// See [`JournalIndex::boot_start`].
fn boot_start(journal: &Journal) -> usize {
    let Some(boot) = journal.views().next_back().and_then(|last| last.boot_id()) else {
        return 0;
    };
    journal
        .views()
        .rposition(|entry| entry.boot_id() != Some(boot))
        .map_or(0, |index| index + 1)
}

/// The candidate entries of one needle set in one journal, in journal
/// order.
#[derive(Debug, Clone)]
pub(crate) struct Candidates<'a> {
    journal: &'a Journal,
    materialised: Option<&'a Materialised>,
    positions: Positions<'a>,
    needles: &'static Needles,
}

#[derive(Debug, Clone)]
enum Positions<'a> {
    /// The indexed positions, ascending.
    Indexed(std::slice::Iter<'a, u32>),
    /// Every position (an unknown journal or set).
    All(std::ops::Range<usize>),
}

impl<'a> Candidates<'a> {
    /// Only the candidates at or after position `start` of the journal (for
    /// example the first entry of the current boot).
    pub(crate) fn since(mut self, start: usize) -> Self {
        self.positions = match self.positions {
            Positions::Indexed(positions) => {
                let positions = positions.as_slice();
                let skip = positions.partition_point(|&at| (at as usize) < start);
                Positions::Indexed(positions[skip..].iter())
            }
            Positions::All(range) => Positions::All(range.start.max(start)..range.end),
        };
        self
    }

    /// Whether `mentions(entry, self.needles.words)` is known to hold for
    /// every entry yielded: the candidates come from the index and the set
    /// has no klog prefixes. A rule whose first test is that `mentions`
    /// skips it then; without the index (an unknown journal, or the tests'
    /// reference run) it still tests every entry.
    pub(crate) fn mention_words(&self) -> bool {
        matches!(self.positions, Positions::Indexed(_)) && self.needles.klog_prefixes.is_empty()
    }

    /// The candidates with their positions in the journal.
    pub(crate) fn positioned(self) -> Positioned<'a> {
        Positioned(self)
    }

    /// The candidates whose raw message `keep` accepts (and those without a
    /// text message), tested on the journal's store before anything is
    /// materialised: for a rule that only acts on entries whose raw text
    /// holds something it knows (a pod UID it looks for), so that the other
    /// candidates are never built. `keep` must accept every raw message of
    /// an entry the rule acts on.
    pub(crate) fn where_text(
        mut self,
        keep: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        std::iter::from_fn(move || {
            loop {
                let at = self.next_position()?;
                let wanted = self
                    .journal
                    .view(at)
                    .is_some_and(|view| view.text().is_none_or(&keep));
                if wanted {
                    return self.entry(at);
                }
            }
        })
    }

    /// Entry `at` of the journal, materialised (once per run).
    fn entry(&self, at: usize) -> Option<&'a Entry> {
        self.materialised?.entry(self.journal, at)
    }

    fn next_position(&mut self) -> Option<usize> {
        match &mut self.positions {
            Positions::Indexed(positions) => positions.next().map(|&at| at as usize),
            Positions::All(range) => range.next(),
        }
    }

    fn next_back_position(&mut self) -> Option<usize> {
        match &mut self.positions {
            Positions::Indexed(positions) => positions.next_back().map(|&at| at as usize),
            Positions::All(range) => range.next_back(),
        }
    }
}

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        let at = self.next_position()?;
        self.entry(at)
    }
}

impl DoubleEndedIterator for Candidates<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let at = self.next_back_position()?;
        self.entry(at)
    }
}

/// Candidates with their positions in the journal.
#[derive(Debug, Clone)]
pub(crate) struct Positioned<'a>(Candidates<'a>);

impl<'a> Iterator for Positioned<'a> {
    type Item = (usize, &'a Entry);

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.0.next_position()?;
        Some((at, self.0.entry(at)?))
    }
}

/// The index of one run, built on first use by whichever rule asks first
/// and shared by the rest (rules run on several threads).
#[derive(Debug, Default)]
pub(crate) struct LazyJournalIndex(OnceLock<JournalIndex>);

impl LazyJournalIndex {
    /// An index that knows no journal: every rule visits every entry, as
    /// before the index existed (the reference the tests compare with).
    #[cfg(test)]
    pub(crate) fn unindexed() -> Self {
        Self(OnceLock::from(JournalIndex::default()))
    }

    /// The index, building it now if this is the first call.
    pub(crate) fn get(&self, snapshot: &NodeSnapshot) -> &JournalIndex {
        self.0
            .get_or_init(|| JournalIndex::build(snapshot, crate::rules::journal_needles()))
    }
}

#[cfg(test)]
mod tests;

//! Boot-time alignment: derive when the node booted by pairing the same
//! messages in `dmesg` (seconds since boot) and `dmesg --ctime` (wall clock)
//! of one boot, as the EKS bundle's `dmesg.current` and
//! `dmesg.human.current` hold them.
//!
//! `dmesg --ctime` prints `boot + since_boot` truncated to the second, so a
//! pair with wall second `W` and since-boot time `S` says the boot time `B`
//! lies in `[W - S, W - S + 1 s)`. Every pair gives such an interval; the
//! boot time is the middle of the range that the most pairs agree on, and
//! the range's half-width is the uncertainty. With `--time-format iso` the
//! resolution is one microsecond and the interval shrinks accordingly.
//!
//! Only messages that occur exactly once in each log are paired, so repeated
//! messages cannot be matched to the wrong instance. A message can still be
//! paired wrongly when the ring buffer wrapped between the two dumps; such
//! pairs disagree with the rest and are outvoted. When no strict majority of
//! pairs agrees, alignment fails rather than guess.

use std::collections::HashMap;

use serde::Serialize;

use crate::dmesg::model::Format;
use crate::dmesg::model::{BootTimeSource, KernelLog, TimeStyle};
use crate::time::Timestamp;

/// A derived boot time with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alignment {
    /// The boot time: the middle of `earliest..latest`.
    pub boot_time: Timestamp,
    /// Earliest boot time consistent with the agreeing pairs.
    pub earliest: Timestamp,
    /// Latest boot time consistent with the agreeing pairs (exclusive).
    pub latest: Timestamp,
    /// Pairs that agree on the boot time.
    pub pairs: usize,
    /// Pairs that contradict it (outvoted, most likely wrongly paired).
    pub disagreeing: usize,
}

/// Why two logs could not be aligned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlignError {
    /// The first log's records carry no time since boot.
    #[error("the since-boot log has no since-boot time stamps")]
    NoSinceBoot,
    /// The second log's records carry no wall-clock time from the input.
    #[error("the wall-clock log has no `--ctime` or iso time stamps")]
    NoWallClock,
    /// No message occurs exactly once in both logs.
    #[error("no message occurs exactly once in both logs")]
    NoPairs,
    /// The pairs do not agree on one boot time.
    #[error(
        "the {pairs} message pairs do not agree on a boot time (at best {agreeing} agree); \
         the logs are probably from different boots"
    )]
    Inconsistent {
        /// All pairs.
        pairs: usize,
        /// The largest number of pairs consistent with one boot time.
        agreeing: usize,
    },
}

impl Alignment {
    /// The boot-time source to record with [`KernelLog::with_boot_time_from`].
    pub fn source(&self) -> BootTimeSource {
        BootTimeSource::CtimePairs {
            pairs: self.pairs,
            uncertainty_us: u64::try_from((self.latest.0 - self.earliest.0) / 2).unwrap_or(0),
        }
    }
}

/// The boot time of `since_boot` (plain `dmesg`), derived by pairing its
/// messages with `wall_clock` (`dmesg --ctime` or iso) of the same boot.
pub fn align(since_boot: &KernelLog, wall_clock: &KernelLog) -> Result<Timestamp, AlignError> {
    align_interval(since_boot, wall_clock).map(|alignment| alignment.boot_time)
}

/// Like [`align`], with the interval and pair counts behind the result.
pub fn align_interval(
    since_boot: &KernelLog,
    wall_clock: &KernelLog,
) -> Result<Alignment, AlignError> {
    let resolution_us: i64 = match wall_clock.format {
        Format::Text {
            time: TimeStyle::Ctime,
            ..
        } => 1_000_000,
        Format::Text {
            time: TimeStyle::Iso,
            ..
        } => 1,
        _ => return Err(AlignError::NoWallClock),
    };
    if !since_boot.format.time_is_since_boot() {
        return Err(AlignError::NoSinceBoot);
    }
    // message -> (occurrences, since-boot µs) in the since-boot log.
    let mut plain: HashMap<&str, (u32, i64)> = HashMap::with_capacity(since_boot.records.len());
    let records = &since_boot.records;
    for (index, message) in records.messages().enumerate() {
        if let Some(us) = records.since_boot_us(index) {
            let entry = plain
                .entry(message)
                .or_insert((0, i64::try_from(us).unwrap_or(i64::MAX)));
            entry.0 += 1;
        }
    }
    let mut wall: HashMap<&str, (u32, i64)> = HashMap::with_capacity(wall_clock.records.len());
    let records = &wall_clock.records;
    for (index, message) in records.messages().enumerate() {
        if let Some(at) = records.wall_time(index) {
            let entry = wall.entry(message).or_insert((0, at.0));
            entry.0 += 1;
        }
    }
    // Each pair gives the half-open interval [lo, lo + resolution).
    let mut starts: Vec<i64> = wall
        .iter()
        .filter(|(_, (count, _))| *count == 1)
        .filter_map(|(message, (_, at))| match plain.get(message) {
            Some((1, since)) => Some(at.saturating_sub(*since)),
            _ => None,
        })
        .collect();
    if starts.is_empty() {
        return Err(AlignError::NoPairs);
    }
    starts.sort_unstable();
    let pairs = starts.len();
    // Sweep: the interval [starts[j], starts[j] + res) overlaps a point p iff
    // starts[j] <= p < starts[j] + res. The best points are at some start.
    let (mut best_count, mut best_first, mut best_last) = (0usize, 0usize, 0usize);
    let mut window_start = 0usize;
    for (last, &point) in starts.iter().enumerate() {
        while starts[window_start] + resolution_us <= point {
            window_start += 1;
        }
        let count = last - window_start + 1;
        if count > best_count {
            (best_count, best_first, best_last) = (count, window_start, last);
        }
    }
    if best_count * 2 <= pairs && pairs > 1 {
        return Err(AlignError::Inconsistent {
            pairs,
            agreeing: best_count,
        });
    }
    // The agreeing intervals intersect in [max start, min start + res).
    let earliest = starts[best_last];
    let latest = starts[best_first] + resolution_us;
    Ok(Alignment {
        boot_time: Timestamp(earliest + (latest - earliest) / 2),
        earliest: Timestamp(earliest),
        latest: Timestamp(latest),
        pairs: best_count,
        disagreeing: pairs - best_count,
    })
}

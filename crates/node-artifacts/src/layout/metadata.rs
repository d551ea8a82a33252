//! Who and when a bundle describes: instance, region, zone, collection time,
//! collector version and Kubernetes node name.
//!
//! Sources, in the order they are trusted:
//!
//! ```text
//! system/instance-id.txt         i-0123456789abcdef0        (curl to IMDS)
//! system/region.txt              us-west-2
//! system/availability-zone.txt   us-west-2a
//! archive or folder name         eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tar.gz
//!                                    ^ instance id        ^ collection time   ^ collector version
//! kubelet/kubelet.log            … "Successfully registered node" node="ip-10-0-1-23.us-west-2.compute.internal"
//! any journal (short format)     Nov 20 09:30:01 ip-10-0-1-23.us-west-2.compute.internal kubelet[1234]: …
//! ```
//!
//! Grammar of the collector's archive name (`eks-log-collector.sh` builds it
//! from `INSTANCE_ID` and `date --utc +%Y-%m-%d_%H%M-%Z`):
//!
//! ```text
//! name     = "eks_" instance "_" date "_" time "-UTC" "_" version [ ".tar.gz" | ".tgz" ]
//! date     = 4DIGIT "-" 2DIGIT "-" 2DIGIT
//! time     = 2DIGIT 2DIGIT
//! instance = 1*( any byte but "/" )        ; matched from the right, so it may hold "_"
//! version  = 1*( DIGIT / "." / ALPHA / "-" )
//! ```
//!
//! The crate is sans-IO, so [`metadata_from`] receives file contents through
//! a lookup closure; file modification times, which only the reader knows,
//! come in through [`BundleMetadata::with_file_time`].

use memchr::memmem;
use serde::Serialize;

use crate::time::Timestamp;

/// Identity and time of the node a bundle was collected from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BundleMetadata {
    /// EC2 instance id (`i-…`), from `system/instance-id.txt`, else the
    /// archive name.
    pub instance_id: Option<String>,
    /// AWS region, from `system/region.txt`, else derived from the zone.
    pub region: Option<String>,
    /// Availability zone, from `system/availability-zone.txt`.
    pub availability_zone: Option<String>,
    /// When the collector ran (to the minute when it comes from the name).
    pub collection_time: Option<Timestamp>,
    /// Where [`collection_time`](Self::collection_time) came from.
    pub collection_time_source: CollectionTimeSource,
    /// The collector's version from the archive name (`0.7.9`).
    pub collector_version: Option<String>,
    /// The Kubernetes node name, when a log names it.
    pub node_name: Option<String>,
    /// Where [`node_name`](Self::node_name) came from.
    pub node_name_source: Option<NodeNameSource>,
    /// Disagreements and rejected values met on the way, in lowercase prose
    /// (`system/instance-id.txt says i-1 but the archive name says i-2`).
    pub notes: Vec<String>,
}

/// Where a bundle's collection time was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionTimeSource {
    /// The collector's archive (or folder) name, to the minute.
    ArchiveName,
    /// The newest modification time among the bundle's files.
    FileTimes,
    /// No source was available.
    #[default]
    Unknown,
}

/// Where a node name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeNameSource {
    /// kubelet's `Attempting to register node` / `Successfully registered
    /// node` line.
    KubeletRegistration,
    /// The host name field of a journal in short format.
    JournalHostname,
}

/// The parts of a collector archive name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveName {
    /// The instance id part (`i-0123456789abcdef0`, or a host name on
    /// machines without instance metadata).
    pub instance_id: String,
    /// The collection time, to the minute, UTC.
    pub collected_at: Timestamp,
    /// The collector version (`0.7.9`).
    pub collector_version: String,
}

/// Reads the metadata of a bundle.
///
/// `name` is the archive or directory name (a path is accepted; only its
/// last segment is read). `files` returns the content of a bundle file by
/// its root-relative path, or `None` when the bundle lacks it.
///
/// ```
/// use node_artifacts::layout::{metadata_from, CollectionTimeSource};
/// let files = |path: &str| match path {
///     "system/region.txt" => Some(&b"us-west-2\n"[..]),
///     _ => None,
/// };
/// let meta = metadata_from(Some("eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tar.gz"), &files);
/// assert_eq!(meta.instance_id.as_deref(), Some("i-0123456789abcdef0"));
/// assert_eq!(meta.region.as_deref(), Some("us-west-2"));
/// assert_eq!(meta.collection_time.map(|t| t.to_string()).as_deref(), Some("2025-11-20T09:30:00.000000Z"));
/// assert_eq!(meta.collection_time_source, CollectionTimeSource::ArchiveName);
/// assert_eq!(meta.collector_version.as_deref(), Some("0.7.9"));
/// ```
pub fn metadata_from<'a>(
    name: Option<&str>,
    files: &impl Fn(&str) -> Option<&'a [u8]>,
) -> BundleMetadata {
    let mut meta = BundleMetadata::default();
    let archive = name.and_then(parse_archive_name);

    meta.instance_id = single_value(files, "system/instance-id.txt", &mut meta.notes, |v| {
        v.starts_with("i-") || v.starts_with("mi-")
    });
    meta.region = single_value(files, "system/region.txt", &mut meta.notes, is_region_like);
    meta.availability_zone = single_value(
        files,
        "system/availability-zone.txt",
        &mut meta.notes,
        is_region_like,
    );
    if meta.region.is_none() {
        meta.region = meta.availability_zone.as_deref().and_then(region_of_zone);
    }

    if let Some(archive) = archive {
        match &meta.instance_id {
            None => meta.instance_id = Some(archive.instance_id),
            Some(from_file) if *from_file != archive.instance_id => meta.notes.push(format!(
                "system/instance-id.txt says {from_file} but the archive name says {}",
                archive.instance_id
            )),
            Some(_) => {}
        }
        meta.collection_time = Some(archive.collected_at);
        meta.collection_time_source = CollectionTimeSource::ArchiveName;
        meta.collector_version = Some(archive.collector_version);
    }

    let journals = [
        "kubelet/kubelet.log",
        "containerd/containerd-log.txt",
        "nodeadm/nodeadm-run.log",
        "var_log/messages",
    ];
    if let Some((node_name, source)) = node_name_from(journals.iter().filter_map(|p| files(p))) {
        meta.node_name = Some(node_name);
        meta.node_name_source = Some(source);
    }
    meta
}

impl BundleMetadata {
    /// Falls back to the newest file modification time for the collection
    /// time when the name gave none. The reader of the bundle knows the
    /// times; this crate does not read files.
    pub fn with_file_time(mut self, newest_file_time: Option<Timestamp>) -> Self {
        if self.collection_time.is_none()
            && let Some(time) = newest_file_time
        {
            self.collection_time = Some(time);
            self.collection_time_source = CollectionTimeSource::FileTimes;
        }
        self
    }
}

/// Parses a collector archive or folder name such as
/// `eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tar.gz`.
///
/// Leading directories are ignored; `.tar.gz` and `.tgz` are optional.
pub fn parse_archive_name(name: &str) -> Option<ArchiveName> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base
        .strip_suffix(".tar.gz")
        .or_else(|| base.strip_suffix(".tgz"))
        .unwrap_or(base);
    let rest = base.strip_prefix("eks_")?;
    let (rest, version) = rest.rsplit_once('_')?;
    if version.is_empty()
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    // `<instance>_YYYY-MM-DD_HHMM-UTC`: the stamp is 19 bytes, preceded by `_`.
    let stamp_start = rest.len().checked_sub(19)?;
    let stamp = rest.get(stamp_start..)?;
    let instance = rest.get(..stamp_start)?.strip_suffix('_')?;
    if instance.is_empty() {
        return None;
    }
    let collected_at = parse_stamp(stamp.as_bytes())?;
    Some(ArchiveName {
        instance_id: instance.to_owned(),
        collected_at,
        collector_version: version.to_owned(),
    })
}

/// Finds the Kubernetes node name in journal texts (kubelet's first).
///
/// kubelet's registration line names the node exactly; failing that, the
/// host name field of a short-format journal line is the node name on EKS
/// AMIs, whose host name is the instance's private DNS name. Each text is
/// searched whole for the registration line (a memchr search, cheap even on
/// a large journal) and in its first 50 lines for a host name.
pub fn node_name_from<'a>(
    texts: impl IntoIterator<Item = &'a [u8]>,
) -> Option<(String, NodeNameSource)> {
    let texts: Vec<&[u8]> = texts.into_iter().collect();
    for text in &texts {
        for marker in [
            &b"registered node\" node=\""[..],
            &b"Attempting to register node\" node=\""[..],
        ] {
            if let Some(at) = memmem::find(text, marker) {
                let value = &text[at + marker.len()..];
                let end = memchr::memchr(b'"', value).unwrap_or(value.len());
                if let Some(name) = host_name(&value[..end]) {
                    return Some((name, NodeNameSource::KubeletRegistration));
                }
            }
        }
    }
    texts
        .iter()
        .find_map(|text| journal_host(text))
        .map(|name| (name, NodeNameSource::JournalHostname))
}

/// The host field of the first short-format journal line among the first
/// 50: `Mon DD HH:MM:SS host ident[pid]: message`.
fn journal_host(text: &[u8]) -> Option<String> {
    text.split(|&b| b == b'\n').take(50).find_map(|line| {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let month = fields.next()?;
        let _day = fields.next()?;
        let clock = fields.next()?;
        let host = fields.next()?;
        let ident = fields.next()?;
        let plausible = month.len() == 3
            && month.iter().all(u8::is_ascii_alphabetic)
            && clock.len() >= 8
            && clock[2] == b':'
            && ident.ends_with(b":");
        if plausible { host_name(host) } else { None }
    })
}

/// `bytes` as a host name when it is one (letters, digits, `-`, `.`; at
/// most 253 bytes).
fn host_name(bytes: &[u8]) -> Option<String> {
    let valid = !bytes.is_empty()
        && bytes.len() <= 253
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The trimmed one-line content of a `system/*.txt` file, when it passes
/// `accept`; a file that exists but holds something else (an error page
/// from the metadata service, several lines) is noted and ignored.
fn single_value<'a>(
    files: &impl Fn(&str) -> Option<&'a [u8]>,
    path: &str,
    notes: &mut Vec<String>,
    accept: impl Fn(&str) -> bool,
) -> Option<String> {
    let raw = files(path)?;
    let text = String::from_utf8_lossy(raw);
    let value = text.trim();
    let acceptable = !value.is_empty()
        && value.len() <= 64
        && !value.contains(char::is_whitespace)
        && accept(value);
    if acceptable {
        Some(value.to_owned())
    } else {
        let shown: String = value.chars().take(40).collect();
        notes.push(format!("{path} ignored: unexpected content `{shown}`"));
        None
    }
}

fn is_region_like(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value.contains('-')
}

/// `us-west-2a` → `us-west-2`: a standard zone is its region plus one
/// letter. Local and Wavelength zones (`us-west-2-lax-1a`) are left alone.
fn region_of_zone(zone: &str) -> Option<String> {
    let region = zone.strip_suffix(|c: char| c.is_ascii_lowercase())?;
    let standard =
        region.ends_with(|c: char| c.is_ascii_digit()) && region.matches('-').count() == 2;
    standard.then(|| region.to_owned())
}

/// `YYYY-MM-DD_HHMM-UTC` → a timestamp.
fn parse_stamp(stamp: &[u8]) -> Option<Timestamp> {
    let shape_ok = stamp.len() == 19
        && stamp[4] == b'-'
        && stamp[7] == b'-'
        && stamp[10] == b'_'
        && &stamp[15..] == b"-UTC";
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        stamp[range].iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    let hour = u8::try_from(number(11..13)?).ok()?;
    let minute = u8::try_from(number(13..15)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(hour, minute, 0).ok()?;
    Some(Timestamp::from_datetime(
        time::PrimitiveDateTime::new(date, clock).assume_utc(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{parse_archive_name, region_of_zone};

    #[track_caller]
    fn check(name: &str, expect: Option<(&str, &str, &str)>) {
        let got = parse_archive_name(name).map(|a| {
            (
                a.instance_id,
                a.collected_at.to_string(),
                a.collector_version,
            )
        });
        let expect = expect.map(|(i, t, v)| (i.to_owned(), t.to_owned(), v.to_owned()));
        assert_eq!(got, expect, "{name}");
    }

    #[test]
    fn archive_names() {
        let full = Some((
            "i-0123456789abcdef0",
            "2025-11-20T09:30:00.000000Z",
            "0.7.9",
        ));
        check(
            "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tar.gz",
            full,
        );
        check("eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9", full);
        check(
            "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tgz",
            full,
        );
        check(
            "/var/log/eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9.tar.gz",
            full,
        );
        check(
            "eks_my_host_2025-01-02_2359-UTC_0.7.10",
            Some(("my_host", "2025-01-02T23:59:00.000000Z", "0.7.10")),
        );
        check("eks_i-1_2025-13-20_0930-UTC_0.7.9", None);
        check("eks_i-1_2025-11-20_0960-UTC_0.7.9", None);
        check("eks__2025-11-20_0930-UTC_0.7.9", None);
        check("eks_i-1_2025-11-20_0930-CET_0.7.9", None);
        check("eks_i-1_2025-11-20_0930-UTC_", None);
        check("bundle.tar.gz", None);
        check("eks_", None);
        check(
            "eks_é_2025-11-20_0930-UTC_0.7.9",
            Some(("é", "2025-11-20T09:30:00.000000Z", "0.7.9")),
        );
    }

    #[test]
    fn zones() {
        assert_eq!(region_of_zone("us-west-2a").as_deref(), Some("us-west-2"));
        assert_eq!(
            region_of_zone("ap-southeast-1c").as_deref(),
            Some("ap-southeast-1")
        );
        assert_eq!(region_of_zone("us-west-2-lax-1a"), None);
        assert_eq!(region_of_zone("us-west-2"), None);
    }
}

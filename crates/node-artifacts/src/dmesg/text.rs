//! Leaf parsers for the prefix of a textual `dmesg` line: priority, time
//! stamp and caller id.
//!
//! The hot path (`[    secs.usecs] `) is parsed byte by byte without
//! allocation, because a node's `dmesg` can hold hundreds of thousands of
//! lines; the rarer wall-clock forms use nom.
//!
//! ```text
//! prefix    = [priority] [stamp] [caller]
//! priority  = "<" digits ">"                                 (* --raw *)
//!           | name " "* ":" name " "* ": "                   (* --decode *)
//! stamp     = "[" " "* digits "." 6digit [" <" " "* digits "." 6digit ">"] "]" [" "]
//!           | "[" weekday " " month " " day " " hh ":" mm ":" ss " " year "]" [" "]
//!           | yyyy "-" mm "-" dd "T" hh ":" mm ":" ss "," 6digit ("+"|"-") hh ":" mm [" "]
//! caller    = "[" " "* ("T"|"C") digits "]" [" "]
//! ```

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::{char, space0};
use nom::combinator::{map_res, opt};
use nom::{IResult, Parser};

use crate::dmesg::model::{Caller, Facility, Level, PriorityStyle, TimeStyle};
use crate::time::Timestamp;

/// The parsed prefix of a text line, borrowing the message from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinePrefix<'a> {
    pub(crate) priority: PriorityStyle,
    pub(crate) facility: Option<Facility>,
    pub(crate) level: Option<Level>,
    pub(crate) time: TimeStyle,
    pub(crate) since_boot_us: Option<u64>,
    pub(crate) wall_time: Option<Timestamp>,
    pub(crate) caller: Option<Caller>,
    /// Byte offset of the message in the line (the indentation of
    /// continuation lines in util-linux output).
    pub(crate) column: usize,
    pub(crate) message: &'a str,
}

/// Parses the prefix of one text line. Never fails: a line with no prefix
/// yields styles `None` and the whole line as the message.
pub(crate) fn line_prefix(line: &str) -> LinePrefix<'_> {
    let bytes = line.as_bytes();
    let mut pos = 0;
    let mut prefix = LinePrefix {
        priority: PriorityStyle::None,
        facility: None,
        level: None,
        time: TimeStyle::None,
        since_boot_us: None,
        wall_time: None,
        caller: None,
        column: 0,
        message: line,
    };
    if let Some((code, used)) = raw_priority(bytes) {
        prefix.priority = PriorityStyle::Raw;
        prefix.facility = Some(Facility::from_code(code >> 3));
        prefix.level = Some(Level::from_code(code));
        pos = used;
    } else if let Some((facility, level, used)) = decoded_priority(line) {
        prefix.priority = PriorityStyle::Decoded;
        prefix.facility = Some(facility);
        prefix.level = Some(level);
        pos = used;
    }
    let rest = &line[pos..];
    if let Some((us, used)) = since_boot_stamp(rest.as_bytes()) {
        prefix.time = TimeStyle::SinceBoot;
        prefix.since_boot_us = Some(us);
        pos += used;
    } else if let Some((at, used)) = ctime_stamp(rest) {
        prefix.time = TimeStyle::Ctime;
        prefix.wall_time = Some(at);
        pos += used;
    } else if let Some((at, used)) = iso_stamp(rest) {
        prefix.time = TimeStyle::Iso;
        prefix.wall_time = Some(at);
        pos += used;
    }
    if let Some((caller, used)) = caller_id(&line.as_bytes()[pos..]) {
        prefix.caller = Some(caller);
        pos += used;
    }
    prefix.column = pos;
    prefix.message = &line[pos..];
    prefix
}

/// `<N>`: returns the priority value and the bytes used.
pub(crate) fn raw_priority(bytes: &[u8]) -> Option<(u32, usize)> {
    if bytes.first() != Some(&b'<') {
        return None;
    }
    let (value, digits) = decimal_u64(&bytes[1..], 10)?;
    if bytes.get(1 + digits) != Some(&b'>') {
        return None;
    }
    Some((u32::try_from(value).ok()?, digits + 2))
}

/// `kern  :err   : ` (util-linux `--decode`): facility, level, bytes used.
pub(crate) fn decoded_priority(line: &str) -> Option<(Facility, Level, usize)> {
    let bytes = line.as_bytes();
    let name_len = bytes
        .iter()
        .take(16)
        .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit()))?;
    if name_len == 0 {
        return None;
    }
    let mut pos = name_len;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    if bytes.get(pos) != Some(&b':') {
        return None;
    }
    pos += 1;
    let level_start = pos;
    while bytes.get(pos).is_some_and(u8::is_ascii_lowercase) {
        pos += 1;
    }
    let level = Level::from_name(&line[level_start..pos])?;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    if bytes.get(pos) != Some(&b':') {
        return None;
    }
    pos += 1;
    if bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    Some((Facility::from_name(&line[..name_len]), level, pos))
}

/// `[    secs.usecs] ` or util-linux's `--show-delta` form
/// `[    secs.usecs <    delta>] `: microseconds since boot and bytes used
/// (including one following space).
pub(crate) fn since_boot_stamp(bytes: &[u8]) -> Option<(u64, usize)> {
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let (us, mut pos) = seconds_dot_micros(bytes, 1)?;
    if bytes.get(pos) == Some(&b' ') && bytes.get(pos + 1) == Some(&b'<') {
        // The delta to the previous message is derivable; it is checked for
        // shape and not kept.
        let (_, after) = seconds_dot_micros(bytes, pos + 2)?;
        if bytes.get(after) != Some(&b'>') {
            return None;
        }
        pos = after + 1;
    }
    if bytes.get(pos) != Some(&b']') {
        return None;
    }
    pos += 1;
    match bytes.get(pos) {
        None => Some((us, pos)),
        Some(b' ') => Some((us, pos + 1)),
        Some(_) => None,
    }
}

/// `" "* digits "." 6digit` starting at `start`; returns microseconds and
/// the position after the last digit.
fn seconds_dot_micros(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut pos = start;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let (secs, digits) = decimal_u64(&bytes[pos..], 12)?;
    pos += digits;
    if bytes.get(pos) != Some(&b'.') {
        return None;
    }
    pos += 1;
    let (micros, digits) = decimal_u64(&bytes[pos..], 6)?;
    if digits != 6 {
        return None;
    }
    Some((secs * 1_000_000 + micros, pos + 6))
}

/// Up to `max` ASCII digits as a number; `None` when there is no digit or
/// the number does not fit in a `u64`.
pub(crate) fn decimal_u64(bytes: &[u8], max: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    let mut n = 0;
    while n < max {
        match bytes.get(n) {
            Some(b @ b'0'..=b'9') => {
                value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            }
            _ => break,
        }
        n += 1;
    }
    (n > 0).then_some((value, n))
}

/// `[    T123] ` or `[C0] `: the caller and bytes used.
pub(crate) fn caller_id(bytes: &[u8]) -> Option<(Caller, usize)> {
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let mut pos = 1;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let kind = *bytes.get(pos)?;
    let (id, digits) = decimal_u64(&bytes[pos + 1..], 10)?;
    let id = u32::try_from(id).ok()?;
    pos += 1 + digits;
    if bytes.get(pos) != Some(&b']') {
        return None;
    }
    pos += 1;
    let caller = match kind {
        b'T' => Caller::Thread(id),
        b'C' => Caller::Cpu(id),
        _ => return None,
    };
    match bytes.get(pos) {
        None => Some((caller, pos)),
        Some(b' ') => Some((caller, pos + 1)),
        Some(_) => None,
    }
}

type PResult<'a, T> = IResult<&'a str, T>;

/// `[Fri Feb 13 23:31:30 2009] `: the wall-clock time and bytes used.
///
/// `dmesg --ctime` prints local time without a zone. On EKS AMIs the node
/// runs in UTC, so the time is read as UTC; see the module docs of
/// [`crate::dmesg`] for what that assumption means for alignment.
pub(crate) fn ctime_stamp(line: &str) -> Option<(Timestamp, usize)> {
    if !line.starts_with('[') {
        return None;
    }
    let (rest, at) = ctime_body(&line[1..]).ok()?;
    let rest = rest.strip_prefix(']')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    Some((at, line.len() - rest.len()))
}

fn ctime_body(i: &str) -> PResult<'_, Timestamp> {
    let (i, _weekday) = (weekday, char(' ')).parse(i)?;
    let (i, (month, _, _, day, _)) =
        (month, char(' '), space0, number::<u8>(1, 2), char(' ')).parse(i)?;
    let (i, (hour, _, minute, _, second, _, year)) = (
        number::<u8>(2, 2),
        char(':'),
        number::<u8>(2, 2),
        char(':'),
        number::<u8>(2, 2),
        char(' '),
        number::<i32>(4, 4),
    )
        .parse(i)?;
    match utc_timestamp(year, month, day, hour, minute, second, 0, 0) {
        Some(at) => Ok((i, at)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

/// `2009-02-13T23:31:30,123456+00:00 `: the time and bytes used.
pub(crate) fn iso_stamp(line: &str) -> Option<(Timestamp, usize)> {
    let first = *line.as_bytes().first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    let (rest, at) = iso_body(line).ok()?;
    let rest = match rest.as_bytes().first() {
        None => rest,
        Some(b' ') => &rest[1..],
        Some(_) => return None,
    };
    Some((at, line.len() - rest.len()))
}

fn iso_body(i: &str) -> PResult<'_, Timestamp> {
    let (i, (year, _, month, _, day, _)) = (
        number::<i32>(4, 4),
        char('-'),
        number::<u8>(2, 2),
        char('-'),
        number::<u8>(2, 2),
        char('T'),
    )
        .parse(i)?;
    let (i, (hour, _, minute, _, second)) = (
        number::<u8>(2, 2),
        char(':'),
        number::<u8>(2, 2),
        char(':'),
        number::<u8>(2, 2),
    )
        .parse(i)?;
    let (i, micros) = opt((alt((char(','), char('.'))), number::<u32>(6, 6)))
        .map(|fraction| fraction.map_or(0, |(_, micros)| micros))
        .parse(i)?;
    let (i, offset_secs) = alt((
        char('Z').map(|_| 0i32),
        (
            alt((char('+'), char('-'))),
            number::<i32>(2, 2),
            opt(char(':')),
            number::<i32>(2, 2),
        )
            .map(|(sign, hours, _, minutes)| {
                let secs = hours * 3600 + minutes * 60;
                if sign == '-' { -secs } else { secs }
            }),
    ))
    .parse(i)?;
    match utc_timestamp(year, month, day, hour, minute, second, micros, offset_secs) {
        Some(at) => Ok((i, at)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

fn number<'a, T: std::str::FromStr>(
    min: usize,
    max: usize,
) -> impl Parser<&'a str, Output = T, Error = nom::error::Error<&'a str>> {
    map_res(
        take_while_m_n(min, max, |c: char| c.is_ascii_digit()),
        str::parse,
    )
}

fn weekday(i: &str) -> PResult<'_, &str> {
    alt((
        tag("Mon"),
        tag("Tue"),
        tag("Wed"),
        tag("Thu"),
        tag("Fri"),
        tag("Sat"),
        tag("Sun"),
    ))
    .parse(i)
}

fn month(i: &str) -> PResult<'_, time::Month> {
    use time::Month::*;
    alt((
        tag("Jan").map(|_| January),
        tag("Feb").map(|_| February),
        tag("Mar").map(|_| March),
        tag("Apr").map(|_| April),
        tag("May").map(|_| May),
        tag("Jun").map(|_| June),
        tag("Jul").map(|_| July),
        tag("Aug").map(|_| August),
        tag("Sep").map(|_| September),
        tag("Oct").map(|_| October),
        tag("Nov").map(|_| November),
        tag("Dec").map(|_| December),
    ))
    .parse(i)
}

/// Builds a timestamp from calendar fields given in a zone `offset_secs`
/// east of UTC; `None` for impossible dates.
#[allow(clippy::too_many_arguments)]
fn utc_timestamp(
    year: i32,
    month: impl TryIntoMonth,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
    offset_secs: i32,
) -> Option<Timestamp> {
    let date = time::Date::from_calendar_date(year, month.into_month()?, day).ok()?;
    let clock = time::Time::from_hms_micro(hour, minute, second, micros).ok()?;
    let offset = time::UtcOffset::from_whole_seconds(offset_secs).ok()?;
    Some(Timestamp::from_datetime(
        time::PrimitiveDateTime::new(date, clock).assume_offset(offset),
    ))
}

/// A month given by name (ctime) or by number (iso).
trait TryIntoMonth {
    fn into_month(self) -> Option<time::Month>;
}

impl TryIntoMonth for time::Month {
    fn into_month(self) -> Option<time::Month> {
        Some(self)
    }
}

impl TryIntoMonth for u8 {
    fn into_month(self) -> Option<time::Month> {
        time::Month::try_from(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(line: &str, expect: &str) {
        let p = line_prefix(line);
        let got = format!(
            "{:?} {:?} {:?} {:?} {:?} {} {:?} col={} msg={:?}",
            p.priority,
            p.facility,
            p.level,
            p.time,
            p.since_boot_us,
            p.wall_time
                .map_or_else(|| "-".to_owned(), |t| t.to_string()),
            p.caller,
            p.column,
            p.message
        );
        assert_eq!(got, expect, "line {line:?}");
    }

    #[test]
    fn prefixes() {
        check(
            "[    1.000000] new",
            r#"None None None SinceBoot Some(1000000) - None col=15 msg="new""#,
        );
        check(
            "<10>[ 1.000001] [    T12] x",
            r#"Raw Some(User) Some(Crit) SinceBoot Some(1000001) - Some(Thread(12)) col=26 msg="x""#,
        );
        check(
            "authpriv:emerg : [512000.000000] example[80]",
            r#"Decoded Some(Authpriv) Some(Emerg) SinceBoot Some(512000000000) - None col=33 msg="example[80]""#,
        );
        check(
            "[Fri Feb 13 23:31:30 2009] hello",
            r#"None None None Ctime None 2009-02-13T23:31:30.000000Z None col=27 msg="hello""#,
        );
        check(
            "[Mon Mar  2 01:02:03 2020] [C3] irq",
            r#"None None None Ctime None 2020-03-02T01:02:03.000000Z Some(Cpu(3)) col=32 msg="irq""#,
        );
        check(
            "2009-02-13T23:31:30,123456+01:00 iso",
            r#"None None None Iso None 2009-02-13T22:31:30.123456Z None col=33 msg="iso""#,
        );
        check(
            "[    0.000000 <    0.000000>] example[0]",
            r#"None None None SinceBoot Some(0) - None col=30 msg="example[0]""#,
        );
        // The message keeps its own leading spaces (call trace frames).
        check(
            "[   10.5000000]  dump_stack",
            r#"None None None None None - None col=0 msg="[   10.5000000]  dump_stack""#,
        );
        check(
            "[   10.500000]  dump_stack",
            r#"None None None SinceBoot Some(10500000) - None col=15 msg=" dump_stack""#,
        );
        check(
            "[drm] init",
            r#"None None None None None - None col=0 msg="[drm] init""#,
        );
        check(
            "<6>plain",
            r#"Raw Some(Kern) Some(Info) None None - None col=3 msg="plain""#,
        );
        check("", r#"None None None None None - None col=0 msg="""#);
        check(
            "[    5.000000]",
            r#"None None None SinceBoot Some(5000000) - None col=14 msg="""#,
        );
        // Not stamps: bad month, day 31 of February, missing bracket.
        check(
            "[Fri Foo 13 23:31:30 2009] x",
            r#"None None None None None - None col=0 msg="[Fri Foo 13 23:31:30 2009] x""#,
        );
        check(
            "[Fri Feb 31 23:31:30 2009] x",
            r#"None None None None None - None col=0 msg="[Fri Feb 31 23:31:30 2009] x""#,
        );
        check(
            "[    1.000000 x",
            r#"None None None None None - None col=0 msg="[    1.000000 x""#,
        );
        check(
            "<99999999999>[ 1.000000] x",
            r#"None None None None None - None col=0 msg="<99999999999>[ 1.000000] x""#,
        );
    }

    #[test]
    fn priorities() {
        assert_eq!(raw_priority(b"<150>"), Some((150, 5)));
        assert_eq!(raw_priority(b"<>"), None);
        assert_eq!(raw_priority(b"<6"), None);
        assert!(decoded_priority("kern  :warn  : x").is_some());
        assert!(decoded_priority("kern  :bogus : x").is_none());
        assert!(decoded_priority("EXT4-fs error").is_none());
        assert!(decoded_priority("audit: type=1400").is_none());
    }
}

//! Calendar arithmetic and timestamp leaves shared by the journald parsers.
//!
//! These run once per line on files of hundreds of megabytes, so they work on
//! bytes and do the civil-date arithmetic by hand (Howard Hinnant's
//! `days_from_civil`) instead of building a `time::OffsetDateTime` per line.

use crate::journald::model::Precision;
use crate::time::Timestamp;

/// Days from 1970-01-01 to the given proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Days in a month of a year, or 0 for an invalid month.
pub(crate) fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A validated civil time to microseconds since the epoch (UTC).
#[allow(clippy::too_many_arguments)]
pub(crate) fn civil_to_timestamp(
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
) -> Option<Timestamp> {
    if day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
        || micros > 999_999
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds =
        days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
    Some(Timestamp(seconds * 1_000_000 + i64::from(micros)))
}

/// The month number of an English three-letter month name.
pub(crate) fn month_from_abbrev(name: &[u8]) -> Option<u8> {
    Some(match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// Exactly `N` ASCII digits as a number.
pub(crate) fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != N {
        return None;
    }
    let mut value = 0u32;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(byte - b'0');
    }
    Some(value)
}

/// One or more ASCII digits as a `u64` (no sign, no overflow).
pub(crate) fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut value = 0u64;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

/// A fraction of a second (`123`, `123456`, `123456789`) as microseconds,
/// with the precision its digit count implies.
pub(crate) fn fraction(bytes: &[u8]) -> Option<(u32, Precision)> {
    if bytes.is_empty() || bytes.len() > 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut micros = 0u32;
    for index in 0..6 {
        micros = micros * 10 + bytes.get(index).map_or(0, |byte| u32::from(byte - b'0'));
    }
    let precision = match bytes.len() {
        1..=3 => Precision::Millisecond,
        4..=6 => Precision::Microsecond,
        _ => Precision::Nanosecond,
    };
    Some((micros, precision))
}

/// `HH:MM:SS` as (hour, minute, second).
pub(crate) fn clock(bytes: &[u8]) -> Option<(u8, u8, u8)> {
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = digits::<2>(&bytes[0..2])? as u8;
    let minute = digits::<2>(&bytes[3..5])? as u8;
    let second = digits::<2>(&bytes[6..8])? as u8;
    (hour < 24 && minute < 60 && second <= 60).then_some((hour, minute, second))
}

/// An RFC 3339 / ISO 8601 stamp as journalctl, containerd and zap write it:
/// `YYYY-MM-DD[T ]HH:MM:SS[.frac](Z|±HH:MM|±HHMM)`.
/// Returns the instant and the precision written.
pub(crate) fn rfc3339(bytes: &[u8]) -> Option<(Timestamp, Precision)> {
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    if bytes[10] != b'T' && bytes[10] != b't' && bytes[10] != b' ' {
        return None;
    }
    let year = i64::from(digits::<4>(&bytes[0..4])?);
    let month = digits::<2>(&bytes[5..7])? as u8;
    let day = digits::<2>(&bytes[8..10])? as u8;
    let (hour, minute, second) = clock(&bytes[11..19])?;
    let mut rest = &bytes[19..];
    let (micros, precision) = if rest.first() == Some(&b'.') || rest.first() == Some(&b',') {
        let end = rest[1..]
            .iter()
            .position(|byte| !byte.is_ascii_digit())
            .map_or(rest.len(), |position| position + 1);
        let fraction = fraction(&rest[1..end])?;
        rest = &rest[end..];
        fraction
    } else {
        (0, Precision::Second)
    };
    let offset_seconds: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2]
        | [sign @ (b'+' | b'-'), hh1, hh2, mm1, mm2] => {
            let hours = i64::from(digits::<2>(&[*hh1, *hh2])?);
            let minutes = i64::from(digits::<2>(&[*mm1, *mm2])?);
            let magnitude = hours * 3_600 + minutes * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let local = civil_to_timestamp(year, month, day, hour, minute, second, micros)?;
    Some((Timestamp(local.0 - offset_seconds * 1_000_000), precision))
}

/// `secs[.frac]` (an epoch or since-boot count) as microseconds.
pub(crate) fn seconds_fraction(bytes: &[u8]) -> Option<(u64, Precision)> {
    let (whole, fraction_part) = match memchr::memchr(b'.', bytes) {
        Some(dot) => (&bytes[..dot], Some(&bytes[dot + 1..])),
        None => (bytes, None),
    };
    let seconds = parse_u64(whole)?;
    let (micros, precision) = match fraction_part {
        Some(digits) => fraction(digits)?,
        None => (0, Precision::Second),
    };
    Some((
        seconds
            .checked_mul(1_000_000)?
            .checked_add(u64::from(micros))?,
        precision,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Option<&str>) {
        let got = rfc3339(input.as_bytes()).map(|(at, _)| at.to_string());
        assert_eq!(got.as_deref(), expect, "{input}");
    }

    #[test]
    fn rfc3339_table() {
        check("2024-01-15T10:00:00Z", Some("2024-01-15T10:00:00.000000Z"));
        check(
            "2024-01-15T10:00:00+0000",
            Some("2024-01-15T10:00:00.000000Z"),
        );
        check(
            "2024-01-15T10:00:00.123456+01:00",
            Some("2024-01-15T09:00:00.123456Z"),
        );
        check(
            "2024-01-15T10:00:00.123456789Z",
            Some("2024-01-15T10:00:00.123456Z"),
        );
        check(
            "2024-01-15 10:00:00.5-0130",
            Some("2024-01-15T11:30:00.500000Z"),
        );
        check("2024-02-30T10:00:00Z", None);
        check("2024-01-15T25:00:00Z", None);
        check("2024-01-15T10:00:00", None);
        check("2024-01-15T10:00:00.Z", None);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 1, 15), 19_737);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        assert_eq!(civil_to_timestamp(2023, 2, 29, 0, 0, 0, 0), None);
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 19_737, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn fraction_and_seconds() {
        assert_eq!(fraction(b"5"), Some((500_000, Precision::Millisecond)));
        assert_eq!(fraction(b"123456"), Some((123_456, Precision::Microsecond)));
        assert_eq!(
            seconds_fraction(b"12.000001"),
            Some((12_000_001, Precision::Microsecond))
        );
        assert_eq!(
            seconds_fraction(b"12"),
            Some((12_000_000, Precision::Second))
        );
        assert_eq!(seconds_fraction(b"1x"), None);
        assert_eq!(seconds_fraction(b"99999999999999999999"), None);
    }
}

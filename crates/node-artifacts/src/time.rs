//! Wall-clock time as the artifacts' parsers report it.
//!
//! Artifacts carry time in many forms (`[Tue Jan 14 10:00:00 2025]`,
//! `2025-01-14T10:00:00.123456+0000`, `Jan 14 10:00:00`, microseconds since the
//! epoch). Every parser converts what it can into a [`Timestamp`], a count of
//! microseconds since the Unix epoch in UTC, so that records from different
//! sources order and compare without further conversion.

use std::fmt;

use serde::{Serialize, Serializer};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from a [`time::OffsetDateTime`].
    pub fn from_datetime(datetime: time::OffsetDateTime) -> Self {
        let micros = datetime.unix_timestamp_nanos() / 1_000;
        Self(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    /// Converts to a [`time::OffsetDateTime`] in UTC, when representable.
    pub fn to_datetime(self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).ok()
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds, e.g. `2025-01-14T10:00:00.123456Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        match self.to_datetime().and_then(|d| d.format(&format).ok()) {
            Some(text) => f.write_str(&text),
            None => write!(f, "@{}us", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn displays_rfc3339_micros() {
        assert_eq!(
            Timestamp(1_234_567_890_123_456).to_string(),
            "2009-02-13T23:31:30.123456Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(Timestamp(-1).unix_seconds(), -1);
    }
}

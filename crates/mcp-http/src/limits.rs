//! Request limits: per-client rate (token bucket) and concurrency.
//!
//! The rate limit is a token bucket per caller (key name, token subject, or
//! peer IP for anonymous callers): capacity = the per-minute rate, refilled
//! continuously. An empty bucket answers 429 with `Retry-After` (whole seconds
//! until one token is back). Concurrency is a semaphore: when every permit is
//! taken the request is answered 503 with `Retry-After: 1` at once rather than
//! queued, so a stuck backend shows up as errors instead of growing latency.
//! A POST keeps its permit until its response body (JSON or SSE) is finished.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits applied to `/mcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted POST body; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Requests processed at once; more get 503. 0 disables the limit.
    pub max_concurrent: usize,
    /// Requests per minute per caller; more get 429. 0 disables the limit.
    pub per_client_rate: u32,
    /// Upper bound of one tool call (a tool-level error after it).
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_concurrent: 64,
            per_client_rate: 600,
            call_timeout: Duration::from_secs(120),
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets keyed by caller.
pub(crate) struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; `Err(retry_after)` when none is left.
    pub(crate) fn check(&self, client: &str) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_sec
                    < capacity
            });
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let rl = RateLimiter::new(60); // one per second, burst 60
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(rl.check_at("a", t0).is_ok());
        }
        let wait = rl.check_at("a", t0).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        // Other callers have their own bucket.
        assert!(rl.check_at("b", t0).is_ok());
        assert!(rl.check_at("a", t0 + Duration::from_millis(1100)).is_ok());
        assert!(rl.check_at("a", t0 + Duration::from_millis(1100)).is_err());
    }

    #[test]
    fn zero_disables() {
        let rl = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(rl.check("a").is_ok());
        }
    }
}

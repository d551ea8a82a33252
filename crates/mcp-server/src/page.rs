//! Pagination with opaque cursors and a response-size budget.
//!
//! Every list a tool returns is cut into pages twice over: at most `limit`
//! items, and at most `budget` bytes of JSON, whichever comes first, so an
//! agent's context is never flooded by one call. The cursor for the next page
//! binds the offset to the query that produced it (a hash of the tool name and
//! its filters), so a cursor replayed with other filters is refused rather
//! than silently returning the wrong page.

use serde::Serialize;

/// One page of items plus what an agent needs to fetch the rest.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PageInfo {
    /// Total number of items matching the query.
    pub total: usize,
    /// Number of items in this page.
    pub returned: usize,
    /// Pass this as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// True when the page was cut short by the response size budget.
    pub truncated: bool,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCursor(pub &'static str);

/// Cuts `items[offset..]` to at most `limit` items and `budget` bytes of JSON.
pub fn paginate<T: Serialize + Clone>(
    items: &[T],
    cursor: Option<&str>,
    query_key: &str,
    limit: usize,
    budget: usize,
) -> Result<(Vec<T>, PageInfo), BadCursor> {
    paginate_with(items.len(), cursor, query_key, limit, budget, |index| {
        items[index].clone()
    })
}

/// Like [`paginate`], but builds only the items of the page: `make(i)` is
/// called for the indices in the page, so a query over hundreds of
/// thousands of matches converts only the few it returns.
pub fn paginate_with<T: Serialize>(
    total: usize,
    cursor: Option<&str>,
    query_key: &str,
    limit: usize,
    budget: usize,
    make: impl Fn(usize) -> T,
) -> Result<(Vec<T>, PageInfo), BadCursor> {
    let offset = match cursor {
        None => 0,
        Some(cursor) => decode_cursor(cursor, query_key)?,
    };
    let limit = limit.max(1);
    let mut page = Vec::new();
    let mut used = 0usize;
    let mut truncated = false;
    for index in (offset..total).take(limit) {
        let item = make(index);
        let size = serde_json::to_vec(&item)
            .map(|bytes| bytes.len())
            .unwrap_or(0);
        // The first item is always returned, even when it alone is over
        // budget, so that paging always makes progress.
        if !page.is_empty() && used + size > budget {
            truncated = true;
            break;
        }
        used += size;
        page.push(item);
    }
    let next = offset.min(total) + page.len();
    let info = PageInfo {
        total,
        returned: page.len(),
        next_cursor: (next < total).then(|| encode_cursor(next, query_key)),
        truncated,
    };
    Ok((page, info))
}

fn query_tag(query_key: &str) -> String {
    // FNV-1a: a cursor only needs to tell queries apart, not resist attacks;
    // a forged cursor can at worst select another page of data the caller
    // may already read.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in query_key.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

fn encode_cursor(offset: usize, query_key: &str) -> String {
    format!("c1.{offset}.{}", query_tag(query_key))
}

fn decode_cursor(cursor: &str, query_key: &str) -> Result<usize, BadCursor> {
    let mut parts = cursor.split('.');
    let (Some("c1"), Some(offset), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadCursor(
            "malformed cursor: pass the next_cursor value of the previous page unchanged",
        ));
    };
    if tag != query_tag(query_key) {
        return Err(BadCursor(
            "this cursor belongs to a query with other arguments: repeat the original arguments with it, or drop the cursor to start over",
        ));
    }
    offset
        .parse()
        .map_err(|_| BadCursor("malformed cursor offset"))
}

#[cfg(test)]
mod tests {
    use super::paginate;

    #[test]
    fn pages_through_everything_once() {
        let items: Vec<u32> = (0..25).collect();
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let (page, info) = paginate(&items, cursor.as_deref(), "q", 10, 1_000_000).unwrap();
            seen.extend(page);
            assert_eq!(info.total, 25);
            match info.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn budget_cuts_pages_and_flags_them() {
        let items: Vec<String> = (0..10).map(|i| format!("{i:0>100}")).collect();
        let (page, info) = paginate(&items, None, "q", 10, 250).unwrap();
        assert_eq!(page.len(), 2);
        assert!(info.truncated);
        assert!(info.next_cursor.is_some());
    }

    #[test]
    fn cursor_from_another_query_is_refused() {
        let items: Vec<u32> = (0..25).collect();
        let (_, info) = paginate(&items, None, "severity=high", 10, 1_000_000).unwrap();
        let cursor = info.next_cursor.unwrap();
        assert!(paginate(&items, Some(&cursor), "severity=low", 10, 1_000_000).is_err());
        assert!(paginate(&items, Some("garbage"), "severity=high", 10, 1_000_000).is_err());
    }
}

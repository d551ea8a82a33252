//! File contents held once and shared, and text slices that point into them.
//!
//! A bundle's largest file is usually the kubelet journal, and most of its
//! bytes are messages. A model that copied every message out of the file
//! would hold the file twice (the reader keeps the file for line reads);
//! a model whose messages are [`SharedText`] slices of the file's
//! [`FileBytes`] holds it once.
//!
//! ```text
//! FileBytes ──Arc──▶ "Jan 15 10:00:00 ip-10-0-1-23 kubelet[2871]: E0115 10:00:00.1 … \"Error syncing pod\" …\n…"
//!                                                            ▲                       ▲
//! SharedText { same Arc, start, end } ───────────────────────┴── the message         └── a klog msg, also a slice
//! ```
//!
//! Invariant: a [`SharedText`] only ever covers a range of a UTF-8 buffer
//! that starts and ends on character boundaries, so it always reads as
//! `&str` without unsafe code. Text that is not a slice (an unescaped Go
//! string, a JSON value) gets a small buffer of its own.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Weak};

use serde::{Serialize, Serializer};

/// The content of one file, read once and shared by the reader and the
/// models that slice it. Cloning is a reference-count increment.
///
/// UTF-8 content is kept as a `String` (checked once, when the file is
/// wrapped), so slices of it read as text for free; other content is kept
/// as bytes.
#[derive(Clone)]
pub struct FileBytes(Arc<Content>);

#[derive(PartialEq, Eq)]
enum Content {
    Utf8(String),
    Bytes(Vec<u8>),
}

impl Content {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Utf8(text) => text.as_bytes(),
            Self::Bytes(bytes) => bytes,
        }
    }
}

impl FileBytes {
    /// Wraps a file's bytes without copying them.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Arc::new(match String::from_utf8(bytes) {
            Ok(text) => Content::Utf8(text),
            Err(error) => Content::Bytes(error.into_bytes()),
        }))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The content as text, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match &*self.0 {
            Content::Utf8(text) => Some(text),
            Content::Bytes(_) => None,
        }
    }

    /// The text of `start..end` as a shared slice: `None` when the content
    /// is not UTF-8, the range is out of bounds or not on character
    /// boundaries, or the content is too large for 32-bit offsets (4 GiB);
    /// the caller then copies the piece ([`SharedText::from`]).
    pub fn text(&self, start: usize, end: usize) -> Option<SharedText> {
        let text = self.as_str()?;
        text.get(start..end)?;
        SharedText::slice(&self.0, start, end)
    }

    /// The text of `part`, a sub-slice of [`FileBytes::as_bytes`] (found by
    /// its address), as a shared slice; `None` when `part` does not lie in
    /// this content or is not text.
    pub fn text_of(&self, part: &[u8]) -> Option<SharedText> {
        let start = offset_in(self.as_bytes(), part)?;
        self.text(start, start + part.len())
    }

    /// A handle that does not keep the content alive: it upgrades back to
    /// the content only while some other handle (a model slicing the file)
    /// still holds it. A reader uses it to learn, after parsing, which files
    /// a snapshot kept.
    #[must_use]
    pub fn downgrade(&self) -> WeakFileBytes {
        WeakFileBytes(Arc::downgrade(&self.0))
    }
}

/// A [`FileBytes`] handle that does not keep the content alive
/// ([`FileBytes::downgrade`]).
#[derive(Clone)]
pub struct WeakFileBytes(Weak<Content>);

impl WeakFileBytes {
    /// The content, when another handle still holds it.
    #[must_use]
    pub fn upgrade(&self) -> Option<FileBytes> {
        self.0.upgrade().map(FileBytes)
    }
}

impl fmt::Debug for WeakFileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakFileBytes")
            .field("alive", &(self.0.strong_count() > 0))
            .finish()
    }
}

/// Where `part` starts inside `whole`, when it is a sub-slice of it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (offset.checked_add(part.len())? <= whole.len()).then_some(offset)
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<&[u8]> for FileBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }
}

impl From<String> for FileBytes {
    fn from(text: String) -> Self {
        Self(Arc::new(Content::Utf8(text)))
    }
}

impl From<&str> for FileBytes {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl PartialEq for FileBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for FileBytes {}

impl PartialEq<[u8]> for FileBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for FileBytes {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<Vec<u8>> for FileBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileBytes({} bytes)", self.len())
    }
}

/// A piece of text shared with the file it was read from (or, for text
/// that is not a slice of its input, a buffer of its own). Reads as `&str`
/// through [`Deref`], compares, hashes, prints and serialises as the text
/// it holds. Sixteen bytes; cloning is a reference-count increment.
#[derive(Clone)]
pub struct SharedText {
    content: Arc<Content>,
    start: u32,
    /// The end offset, or [`WHOLE`] for "to the end of the content" (a
    /// buffer of its own, whatever its length).
    end: u32,
}

/// The `end` of a [`SharedText`] that covers its whole buffer; slices never
/// end there (they fall back to a copy), so the two cannot be confused.
const WHOLE: u32 = u32::MAX;

impl SharedText {
    /// A slice of `content`, when the offsets fit (the caller has checked
    /// that the range is text on character boundaries).
    fn slice(content: &Arc<Content>, start: usize, end: usize) -> Option<SharedText> {
        let start = u32::try_from(start).ok()?;
        let end = u32::try_from(end).ok().filter(|&end| end != WHOLE)?;
        Some(SharedText {
            content: Arc::clone(content),
            start,
            end,
        })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &*self.content {
            Content::Utf8(text) if self.end == WHOLE => text,
            // The range was checked against this very string when the
            // slice was made, and the string never changes.
            Content::Utf8(text) => text
                .get(self.start as usize..self.end as usize)
                .unwrap_or_default(),
            Content::Bytes(_) => "",
        }
    }

    /// `part` (a sub-slice of this text, found by its address) as a slice of
    /// the same buffer; text that does not lie inside this one is copied
    /// into a buffer of its own.
    pub fn sub(&self, part: &str) -> SharedText {
        let base = self.as_str();
        let start = offset_in(base.as_bytes(), part.as_bytes())
            .map(|offset| self.start as usize + offset)
            // An empty text needs no buffer: an empty slice of this one.
            .or(part.is_empty().then_some(self.start as usize));
        start
            .and_then(|start| SharedText::slice(&self.content, start, start + part.len()))
            .unwrap_or_else(|| SharedText::from(part))
    }
}

impl Default for SharedText {
    fn default() -> Self {
        SharedText::from(String::new())
    }
}

impl From<String> for SharedText {
    /// A buffer of its own, of any length.
    fn from(text: String) -> Self {
        SharedText {
            content: Arc::new(Content::Utf8(text)),
            start: 0,
            end: WHOLE,
        }
    }
}

impl From<&str> for SharedText {
    fn from(text: &str) -> Self {
        SharedText::from(text.to_owned())
    }
}

impl From<SharedText> for String {
    /// A copy of the text.
    fn from(text: SharedText) -> Self {
        text.as_str().to_owned()
    }
}

impl Deref for SharedText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SharedText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedText {}

impl PartialEq<str> for SharedText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<SharedText> for str {
    fn eq(&self, other: &SharedText) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SharedText> for &str {
    fn eq(&self, other: &SharedText) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<SharedText> for String {
    fn eq(&self, other: &SharedText) -> bool {
        self == other.as_str()
    }
}

impl PartialOrd for SharedText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SharedText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SharedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_handle_upgrades_only_while_a_slice_holds_the_content() {
        let file = FileBytes::from("kept by a slice\n");
        let weak = file.downgrade();
        let slice = file.text(0, 4).expect("slice");
        drop(file);
        let back = weak.upgrade().expect("the slice keeps the content");
        assert_eq!(back.as_bytes(), b"kept by a slice\n");
        drop((back, slice));
        assert!(weak.upgrade().is_none(), "released with its last handle");
    }

    #[test]
    fn slices_share_and_read_back() {
        let file = FileBytes::from("héllo wörld\n");
        let word = file.text(0, 6).expect("slice");
        assert_eq!(word, "héllo");
        assert_eq!(file.text(1, 2), None, "not on a character boundary");
        assert_eq!(file.text(0, 99), None, "out of bounds");
        let inner = word.sub(&word[1..3]);
        assert_eq!(inner.as_str(), "é");
        assert!(Arc::ptr_eq(&inner.content, &file.0), "a slice, not a copy");
        let outside = word.sub("elsewhere");
        assert_eq!(outside, "elsewhere");
        assert!(!Arc::ptr_eq(&outside.content, &file.0));
        let bytes = file.as_bytes();
        assert_eq!(file.text_of(&bytes[7..]).as_deref(), Some("wörld\n"));
        assert_eq!(file.text_of(b"not inside"), None);
    }

    #[test]
    fn binary_content_gives_no_text() {
        let file = FileBytes::new(vec![0xff, b'a']);
        assert_eq!(file.as_str(), None);
        assert_eq!(file.text(1, 2), None);
        assert_eq!(&*file, &[0xff, b'a']);
    }

    #[test]
    fn sub_slices_of_owned_text_share_its_buffer() {
        let owned = SharedText::from("key=value more".to_owned());
        let value = owned.sub(&owned[4..9]);
        assert_eq!(value, "value");
        assert!(Arc::ptr_eq(&value.content, &owned.content));
        let empty = value.sub("");
        assert_eq!(empty, "");
        assert!(Arc::ptr_eq(&empty.content, &owned.content));
        // A slice may never end at the sentinel offset.
        assert!(SharedText::slice(&owned.content, 0, WHOLE as usize).is_none());
    }

    #[test]
    fn owned_text_behaves_like_str() {
        let text = SharedText::from("abc");
        assert_eq!(std::mem::size_of::<SharedText>(), 16);
        assert_eq!(format!("{text:?} {text}"), "\"abc\" abc");
        assert_eq!(serde_json::to_string(&text).expect("json"), "\"abc\"");
        assert!(text.contains('b'));
        assert_eq!(SharedText::default(), "");
        assert_eq!(text, "abc".to_owned());
        let owned = String::from("abc");
        assert!("abc" == text && *"abc" == text && owned == text);
        assert_eq!(String::from(text), "abc");
    }
}

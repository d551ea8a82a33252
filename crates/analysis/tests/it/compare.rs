//! Comparison tests.

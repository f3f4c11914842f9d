//! JSON text in, with the crate's limits: serde_json does the reading, into `serde_json::Value`
//! (vendor payloads have several shapes, so decoders look at fields rather than derive a struct;
//! the per-event status path reads a borrowed derived struct instead: `status/envelope.rs`).
//!
//! Limits kept: a body larger than the caller's cap is `payload_too_large` before any parsing;
//! nesting is bounded by serde_json's recursion limit (128 levels: 127 nested arrays/objects
//! read, 128 refused as `invalid_payload`) so hostile input cannot exhaust the stack. Every
//! failure is a typed [`WawpError`], never a panic. Duplicate keys: the last one wins, as in
//! `JSON.parse` (serde_json's map insert).

use serde_json::Value;

use crate::error::{ErrorCode, Result, WawpError};

/// Bodies larger than this are refused before parsing (unless a caller passes its own cap).
pub const MAX_BYTES: usize = 1 << 20;
/// serde_json's recursion limit: this many nested arrays/objects are refused, one fewer is read.
pub const MAX_DEPTH: usize = 128;

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
pub fn parse(text: &str) -> Result<Value> {
    parse_with_limit(text, MAX_BYTES)
}

pub fn parse_with_limit(text: &str, max_bytes: usize) -> Result<Value> {
    check_size(text, max_bytes)?;
    serde_json::from_str(text).or_else(|error| {
        // Only after a failure, so well-formed text pays nothing for it.
        match without_lone_surrogates(text) {
            Some(fixed) => serde_json::from_str(&fixed).map_err(|_| malformed(error)),
            None => Err(malformed(error)),
        }
    })
}

/// `payload_too_large` when the text is over the cap, before any parsing.
pub fn check_size(text: &str, max_bytes: usize) -> Result<()> {
    if text.len() > max_bytes {
        return Err(WawpError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "JSON body of {} bytes exceeds the {max_bytes}-byte limit",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// `JSON.parse` reads an escaped lone surrogate (`"\ud800"`, which Node's `JSON.stringify`
/// writes for a string cut inside an emoji) and serde_json refuses it. A Rust `str` cannot hold
/// one either, so it becomes U+FFFD, as `TextDecoder` would make it. `None` when the text has
/// no lone surrogate escape (the error was something else). serde_json has no option for this.
fn without_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let surrogate_at = |i: usize| -> Option<u32> {
        let hex = bytes.get(i..i + 6)?;
        let digits = core::str::from_utf8(hex.get(2..)?).ok()?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        (hex.starts_with(b"\\u") && (0xD800..0xE000).contains(&code)).then_some(code)
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) != Some(&b'\\') {
            i += 1;
            continue;
        }
        match surrogate_at(i) {
            Some(high) if high < 0xDC00 && surrogate_at(i + 6).is_some_and(|low| low >= 0xDC00) => {
                i += 12; // a valid pair
            }
            Some(_) => {
                out.push_str(text.get(copied..i)?);
                out.push_str("\\ufffd");
                i += 6;
                copied = i;
                changed = true;
            }
            None => i += 2, // any other escape, including `\\`
        }
    }
    out.push_str(text.get(copied..)?);
    changed.then_some(out)
}

/// A serde_json error as `invalid_payload` (its text names the problem, line and column).
pub fn malformed(error: serde_json::Error) -> WawpError {
    WawpError::invalid_payload(format!("malformed JSON: {error}"))
}

/// Lenient field access on vendor and JS objects.
pub trait Fields {
    /// A string field, trimmed; empty strings count as absent.
    fn str_field(&self, key: &str) -> Option<&str>;
    /// A finite number field.
    fn num_field(&self, key: &str) -> Option<f64>;
    /// A present, non-null field.
    fn present(&self, key: &str) -> Option<&Value>;
}

impl Fields for Value {
    fn str_field(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .map(trim)
            .filter(|s| !s.is_empty())
    }

    fn num_field(&self, key: &str) -> Option<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite())
    }

    fn present(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|f| !f.is_null())
    }
}

/// `str::trim`, without its per-character Unicode test when both ends are visible ASCII (the
/// usual case: ids, names, statuses).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last))
            if (b'!'..=b'~').contains(&first) && (b'!'..=b'~').contains(&last) =>
        {
            s
        }
        _ => s.trim(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn last_duplicate_key_wins_like_json_parse() {
        let v = parse(r#"{"status":"STOPPED","status":"WORKING"}"#).unwrap();
        assert_eq!(v.str_field("status"), Some("WORKING"));
    }

    #[test]
    fn rejects_malformed_input_with_typed_errors() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "tru",
            "\"\\x\"",
            "{} x",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code,
                ErrorCode::InvalidPayload,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lone_surrogates_read_as_replacement_characters() {
        let v = parse(r#"["\ud800","\udc00x","\\ud800","\ud83d\ude00"]"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!(["\u{fffd}", "\u{fffd}x", "\\ud800", "😀"])
        );
        assert_eq!(
            parse(r#""\u12""#).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn refuses_deep_nesting_and_huge_bodies() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(parse(&deep).unwrap_err().code, ErrorCode::InvalidPayload);
        let ok = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert!(parse(&ok).is_ok());
        assert_eq!(
            parse_with_limit("[1,2,3]", 3).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
    }
}

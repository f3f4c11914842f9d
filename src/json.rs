//! A small JSON reader and writer: the only one in the crate.
//!
//! serde_json would add ~25 KB gzip to the wasm; the payloads here are small objects read once,
//! so a compact recursive-descent parser with hard limits (size, depth) is enough. It never
//! panics: every malformed input is an `invalid_payload` error, an oversized one
//! `payload_too_large`.

use crate::error::{ErrorCode, Result, WawpError};

/// Nesting deeper than this is refused (no stack exhaustion on hostile input).
pub const MAX_DEPTH: usize = 64;
/// Bodies larger than this are refused before parsing.
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Keys in document order; lookups take the last duplicate, as `JSON.parse` does.
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            // Lengths first: most keys differ in length, and the byte compare is a call.
            Value::Object(fields) => fields
                .iter()
                .rev()
                .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// A string field, trimmed; empty strings count as absent.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .map(trim)
            .filter(|s| !s.is_empty())
    }

    /// A finite number field.
    pub fn num_field(&self, key: &str) -> Option<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite())
    }

    pub fn to_json(&self) -> String {
        // Reports and actions are a few hundred bytes: one allocation instead of doubling up to it.
        let mut out = String::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number(out, *n),
            Value::String(s) => write_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// `str::trim`, without its per-character Unicode test when both ends are visible ASCII (the
/// usual case: ids, names, statuses).
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last))
            if (b'!'..=b'~').contains(&first) && (b'!'..=b'~').contains(&last) =>
        {
            s
        }
        _ => s.trim(),
    }
}

/// Builds an object field by field, skipping absent optionals (the writer side of snapshots
/// and reports).
#[derive(Default)]
pub struct ObjectWriter {
    fields: Vec<(String, Value)>,
}

impl ObjectWriter {
    pub fn new() -> Self {
        ObjectWriter::default()
    }
    pub fn field(mut self, key: &str, value: Value) -> Self {
        self.fields.push((key.to_string(), value));
        self
    }
    pub fn str(self, key: &str, value: &str) -> Self {
        self.field(key, Value::String(value.to_string()))
    }
    pub fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }
    pub fn num(self, key: &str, value: f64) -> Self {
        self.field(key, Value::Number(value))
    }
    pub fn opt_num(self, key: &str, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.num(key, v),
            None => self,
        }
    }
    pub fn bool(self, key: &str, value: bool) -> Self {
        self.field(key, Value::Bool(value))
    }
    pub fn build(self) -> Value {
        Value::Object(self.fields)
    }
}

pub fn write_number(out: &mut String, n: f64) {
    use core::fmt::Write;
    if !n.is_finite() {
        out.push_str("null");
    } else if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        let _ = write!(out, "{}", n as i64);
    } else {
        write_fraction(out, n);
    }
}

/// Shortest round-trip text of a non-integral finite number.
fn write_fraction(out: &mut String, n: f64) {
    out.push_str(&number_text::format(n));
}

/// A number literal the parser has already validated.
pub fn parse_number_literal(text: &str) -> Option<f64> {
    number_text::parse(text)
}

/// How non-integral numbers become text and back. Rust's float formatting and parsing cost 24 KB
/// gzip in the package's wasm (measured on this crate: `Display` 10 KB, `str::parse` 14 KB;
/// `ryu` instead of `Display` 13 KB), a third of its weight budget, so with the `wasm` feature
/// JavaScript's `String(n)` / `Number(text)` do it (same shortest round-trip text, same correctly
/// rounded value). Two JS built-ins, imported here: the core never calls the bindings (`src/wasm/`).
#[cfg(all(feature = "wasm", target_arch = "wasm32"))]
mod number_text {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_name = String)]
        fn number_to_string(n: f64) -> String;
        #[wasm_bindgen(js_name = Number)]
        fn string_to_number(text: &str) -> f64;
    }

    pub fn format(n: f64) -> String {
        number_to_string(n)
    }

    pub fn parse(text: &str) -> Option<f64> {
        let n = string_to_number(text);
        (!n.is_nan()).then_some(n)
    }
}

#[cfg(not(all(feature = "wasm", target_arch = "wasm32")))]
mod number_text {
    pub fn format(n: f64) -> String {
        n.to_string()
    }

    pub fn parse(text: &str) -> Option<f64> {
        text.parse::<f64>().ok()
    }
}

pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Copy runs without anything to escape at once; escapes are ASCII, so every run boundary is
    // a character boundary of `s`.
    let mut run_start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run_start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xf));
        } else {
            out.push_str(escape);
        }
        run_start = i + 1;
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
    out.push('"');
}

fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// The value of a plain integer literal (optional '-', at most 15 digits: exact in an f64), without
/// the float parser or a call out to JavaScript. Anything else is `None`.
fn exact_integer(literal: &[u8]) -> Option<f64> {
    let (negative, digits) = match literal.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, literal),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    let n = n as f64;
    // "-0" is the float -0.0, as JSON.parse reads it.
    Some(if negative { -n } else { n })
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
pub fn parse(text: &str) -> Result<Value> {
    parse_with_limit(text, MAX_BYTES)
}

pub fn parse_with_limit(text: &str, max_bytes: usize) -> Result<Value> {
    parse_skipping(text, max_bytes, &[])
}

/// `parse_with_limit`, but the values of the top-level keys in `skip` are only checked, not kept
/// (no allocation for them): for bulky fields a reader never looks at. Errors are the same.
pub fn parse_skipping(text: &str, max_bytes: usize, skip: &[&str]) -> Result<Value> {
    if text.len() > max_bytes {
        return Err(WawpError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "JSON body of {} bytes exceeds the {max_bytes}-byte limit",
                text.len()
            ),
        ));
    }
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        skip,
        discarding: false,
    };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Top-level keys whose values are validated and dropped (see `parse_skipping`).
    skip: &'a [&'a str],
    /// Inside such a value: strings, arrays and objects are read but not built.
    discarding: bool,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> WawpError {
        WawpError::invalid_payload(format!("malformed JSON at byte {}: {what}", self.pos))
    }

    // The crate is built for size (opt-level "z"), which leaves these out of line; they run per
    // byte, so inlining them is worth their few bytes.
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat_literal(&mut self, lit: &[u8], value: Value) -> Result<Value> {
        let end = self.pos + lit.len();
        if self.bytes.get(self.pos..end) == Some(lit) {
            self.pos = end;
            Ok(value)
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth >= MAX_DEPTH {
            return Err(self.error("nesting is too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.eat_literal(b"true", Value::Bool(true)),
            Some(b'f') => self.eat_literal(b"false", Value::Bool(false)),
            Some(b'n') => self.eat_literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1; // '{'
        // Room for a typical payload object at once instead of growing 4 → 8 → 16.
        let mut fields = Vec::with_capacity(if self.discarding { 0 } else { 8 });
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            if depth == 0 && self.skip.contains(&key.as_str()) {
                self.discarding = true;
                let skipped = self.value(depth + 1);
                self.discarding = false;
                skipped?;
            } else {
                let value = self.value(depth + 1)?;
                if !self.discarding {
                    fields.push((key, value));
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            let item = self.value(depth + 1)?;
            if !self.discarding {
                items.push(item);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let int_len = self.pos - int_start;
        if int_len == 0 || (int_len > 1 && self.bytes.get(int_start) == Some(&b'0')) {
            return Err(self.error("bad number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let frac_start = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            if self.pos == frac_start {
                return Err(self.error("bad number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            let exp_start = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            if self.pos == exp_start {
                return Err(self.error("bad number"));
            }
        }
        let literal = self
            .bytes
            .get(start..self.pos)
            .ok_or_else(|| self.error("bad number"))?;
        if let Some(n) = exact_integer(literal) {
            return Ok(Value::Number(n));
        }
        let text = core::str::from_utf8(literal).map_err(|_| self.error("bad number"))?;
        parse_number_literal(text)
            .map(Value::Number)
            .ok_or_else(|| self.error("bad number"))
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.error("bad \\u escape"))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters at once (the input is valid UTF-8: it came as &str).
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends at an ASCII byte or at the end, so it is whole characters of the &str.
            if let Some(run) = self.text.get(run_start..self.pos) {
                if out.is_empty() && self.peek() == Some(b'"') {
                    self.pos += 1;
                    return Ok(if self.discarding {
                        String::new()
                    } else {
                        run.to_string()
                    });
                }
                out.push_str(run);
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.pos = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.error("unknown escape")),
                    }
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn round_trips_nested_values() {
        let text = r#"{"a":[1,2.5,-3e2,true,false,null],"b":{"c":"x\"y\\z\n\u00e9\ud83d\ude00"}}"#;
        let v = parse(text).unwrap();
        assert_eq!(
            v.get("b").unwrap().get("c").unwrap().as_str().unwrap(),
            "x\"y\\z\né😀"
        );
        assert_eq!(parse(&v.to_json()).unwrap(), v);
    }

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
            "\"a\u{1}\"",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code,
                ErrorCode::InvalidPayload,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_deep_nesting_and_huge_bodies() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err().code, ErrorCode::InvalidPayload);
        let ok = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert!(parse(&ok).is_ok());
        assert_eq!(
            parse_with_limit("[1,2,3]", 3).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
    }

    #[test]
    fn writer_escapes_between_plain_runs() {
        let mut s = String::new();
        write_string(&mut s, "é\u{1}a\"b\\\n\r\tz😀\u{1f}");
        assert_eq!(s, r#""é\u0001a\"b\\\n\r\tz😀\u001f""#);
        assert_eq!(
            parse(&s).unwrap().as_str(),
            Some("é\u{1}a\"b\\\n\r\tz😀\u{1f}")
        );
    }

    #[test]
    fn strings_with_and_without_escapes_read_the_same() {
        assert_eq!(parse(r#""plain é😀""#).unwrap().as_str(), Some("plain é😀"));
        assert_eq!(parse(r#""""#).unwrap().as_str(), Some(""));
        assert_eq!(parse(r#""a\u0041é\/""#).unwrap().as_str(), Some("aAé/"));
    }

    #[test]
    fn integers_read_exactly_and_other_numbers_as_floats() {
        let n = |t: &str| parse(t).unwrap().as_f64().unwrap();
        assert_eq!(n("1764000000123"), 1_764_000_000_123.0);
        assert_eq!(n("-42"), -42.0);
        assert!(n("-0").is_sign_negative());
        assert_eq!(n("999999999999999"), 999_999_999_999_999.0);
        assert_eq!(n("12345678901234567890"), 1.234_567_890_123_456_8e19);
        assert_eq!(n("2.5e3"), 2500.0);
        assert_eq!(n("-0.125"), -0.125);
    }

    #[test]
    fn skipped_top_level_values_are_checked_but_not_kept() {
        let text = r#"{"a":1,"env":{"x":["y",{"z":"\u00e9"}],"n":2},"b":{"env":3},"env2":"s"}"#;
        let v = parse_skipping(text, MAX_BYTES, &["env", "env2"]).unwrap();
        assert_eq!(
            v,
            parse(r#"{"a":1,"b":{"env":3}}"#).unwrap(),
            "only top-level keys are skipped"
        );
        for bad in [
            r#"{"env":{"x":[1,]},"a":1}"#,
            r#"{"env":"\q","a":1}"#,
            r#"{"env":01}"#,
            r#"{"env":{"a" 1}}"#,
        ] {
            let err = parse_skipping(bad, MAX_BYTES, &["env"]).unwrap_err();
            assert_eq!(err, parse(bad).unwrap_err(), "{bad}");
        }
        let deep = format!(
            "{{\"env\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(
            parse_skipping(&deep, MAX_BYTES, &["env"]).unwrap_err(),
            parse(&deep).unwrap_err()
        );
    }

    #[test]
    fn writes_integers_without_fraction_and_non_finite_as_null() {
        let mut s = String::new();
        write_number(&mut s, 1_700_000_000_123.0);
        s.push(' ');
        write_number(&mut s, 0.25);
        s.push(' ');
        write_number(&mut s, f64::NAN);
        assert_eq!(s, "1700000000123 0.25 null");
    }
}

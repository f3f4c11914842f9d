//! Crossing the boundary: JS values to core values and back, argument checks.
//!
//! Out of the wasm (reports, actions, snapshots, request specs, webhook events): the derived
//! `Serialize` through serde-wasm-bindgen, straight into JS objects (json-compatible: `None`
//! is `null`, maps are plain objects). No JSON text and no float printer on the way out.
//!
//! Into the wasm (options, events, history, request args): `JSON.stringify` in JS, then
//! serde_json in the wasm into `serde_json::Value`, which the core's validating readers take.
//! Measured against serde-wasm-bindgen's `Deserializer` for the same values
//! (docs/serde-measurements.md): walking the JS object costs one boundary call per field and
//! value, 3.0x the time of this path (14.6 vs 4.9 µs per webhook-sized value), and its
//! deserializer added 18.1 KB gzip where serde_json adds 7.3 KB. So JS values come in as text.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::WawpError;
use crate::payload;

use super::errors::{JsResult, invalid_option};
use super::{json_stringify, reflect_get, reflect_own_keys};

/// A JS value as a core JSON value: strings are taken as they are (a string, not JSON text),
/// anything else goes through `JSON.stringify`. `undefined` becomes `null`.
pub(super) fn value_from_js(input: &JsValue) -> Result<Value, WawpError> {
    if let Some(text) = input.as_string() {
        return Ok(Value::String(text));
    }
    if input.is_undefined() || input.is_null() {
        return Ok(Value::Null);
    }
    payload::parse(&stringify(input)?)
}

pub(super) fn stringify(input: &JsValue) -> Result<String, WawpError> {
    json_stringify(input)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            WawpError::invalid_payload("the value cannot be converted to JSON (cycle or BigInt)")
        })
}

/// A core value as a JS value (serde-wasm-bindgen). The core's types serialize to strings,
/// booleans, f64 and small integers, which cannot fail; `null` covers the impossible.
pub(super) fn value_to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// An options object: `undefined` / `null` mean "all defaults", anything else must be an object.
pub(super) fn options_from_js(input: &JsValue) -> Result<Value, WawpError> {
    reject_non_finite(input, "options", 0)?;
    match value_from_js(input)? {
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        v @ Value::Object(_) => Ok(v),
        _ => Err(WawpError::invalid_option("options must be an object")),
    }
}

/// `JSON.stringify` writes `NaN` and `±Infinity` as `null`, which options read as "the default":
/// a hostile `{baseMs: NaN}` would pass silently. Options are small, so walk them (bounded depth).
pub(super) fn reject_non_finite(
    input: &JsValue,
    path: &str,
    depth: usize,
) -> Result<(), WawpError> {
    if let Some(n) = input.as_f64() {
        return if n.is_finite() {
            Ok(())
        } else {
            Err(WawpError::invalid_option(format!(
                "{path} must be a finite number"
            )))
        };
    }
    if depth >= 4 || !input.is_object() || input.is_function() {
        return Ok(());
    }
    // `Reflect` reports a throwing getter or proxy trap as an `Err` instead of unwinding through
    // the wasm; `JSON.stringify` meets the same value next and reports it.
    let Ok(keys) = reflect_own_keys(input) else {
        return Ok(());
    };
    for key in &keys {
        let Some(name) = key.as_string() else {
            continue;
        };
        if let Ok(value) = reflect_get(input, key) {
            reject_non_finite(&value, &name, depth + 1)?;
        }
    }
    Ok(())
}

/// A string argument. wasm-bindgen's `&str` parameters trust their caller: from plain JS a
/// number or object there corrupts the allocator, and the trap makes every object of the
/// instance stale. So string parameters arrive as `JsValue` and are checked here.
pub(super) fn string_arg(value: &JsValue, name: &str) -> JsResult<String> {
    value
        .as_string()
        .ok_or_else(|| invalid_option(&format!("{name} must be a string")))
}

/// A string argument that may be `null` / `undefined`.
pub(super) fn optional_string_arg(value: &JsValue, name: &str) -> JsResult<Option<String>> {
    if value.is_null() || value.is_undefined() {
        Ok(None)
    } else {
        string_arg(value, name).map(Some)
    }
}

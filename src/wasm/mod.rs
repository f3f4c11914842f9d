//! The wasm-bindgen surface: the JS contract of `docs/API.md` (`WawpClient` included, with
//! its fetch I/O in `client/`) plus the `__`-prefixed helpers the JS drivers (`supervisor.js`,
//! `webhook.js`) need.
//!
//! Thin by design: convert JS ↔ core types and call the core. Values leave the wasm through
//! their derived `Serialize` and serde-wasm-bindgen; they come in as JSON text read by serde_json
//! (why, with the numbers: `convert.rs`).
//! Errors are real JS `WawpError` instances, built with the class the entry registers.

// A small free-list allocator instead of dlmalloc: the heap holds a few short-lived strings per
// call, and dlmalloc's bins cost ~3 KB gzip of the package's 60 KB budget (LockedAllocator: no `unsafe` needed).
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

// The few JS built-ins the decoding and machine surface needs, imported directly (one shim each).
// `client/` uses js-sys and web-sys, whose futures machinery (~5 KB of the wasm) its async
// methods need anyway.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set, catch)]
    fn reflect_set(target: &JsValue, key: &JsValue, value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = ownKeys, catch)]
    fn reflect_own_keys(target: &JsValue) -> Result<Vec<JsValue>, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = construct, catch)]
    fn reflect_construct(target: &JsValue, args: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Array, js_name = of)]
    fn array_of3(a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue;
    /// `Object()`: a fresh plain object.
    #[wasm_bindgen(js_name = Object)]
    fn new_object() -> JsValue;
    /// `Error(message)`: a fresh `Error` (callable without `new`).
    #[wasm_bindgen(js_name = Error)]
    fn new_error(message: &str) -> JsValue;
}

use wasm_bindgen::prelude::*;

mod client;
mod convert;
mod decoding;
mod driver;
mod errors;
mod machine;
mod retries;
mod stability;
mod typescript;
mod webhook;

pub use client::{JsWawpClient, set_promise_gate};
pub use decoding::{
    compare_identity, decode_status, decode_status_utf8, normalize_jid, parse_retry_after,
    ui_action_for, ui_action_index, ui_action_name,
};
pub use driver::JsSessionDriver;
pub use errors::set_error_class;
pub use machine::{JsLifecycleMachine, action_template};
pub use retries::{JsBackoff, JsRetryBudget};
pub use stability::stability;
pub use webhook::parse_webhook_body;

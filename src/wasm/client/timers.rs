//! `setTimeout` / `clearTimeout` of the global scope: they exist in browser pages, Web Workers,
//! Node and workerd alike (`window` does not exist in the last three, so not web-sys's `Window`).

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::gate::settle;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// A timer that calls `handler` once after `ms`, cancelled when dropped.
pub(super) struct Timer(JsValue);

impl Timer {
    pub(super) fn start(handler: &JsValue, ms: f64) -> Timer {
        Timer(set_timeout(handler, ms))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// Resolves after `ms` (the backoff's sleep between attempts).
pub(super) async fn sleep(ms: f64) {
    let promise = Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    });
    // A timer promise never rejects.
    let _ = settle(&promise.into()).await;
}

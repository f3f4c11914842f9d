//! Every JS promise the client awaits goes through a gate the package registers
//! (`pkg/src/bindings.js`): after a trap replaces the wasm instance, a gated promise never
//! settles, so no closure of the old instance is ever called (the glue refuses one with an
//! unhandled rejection, which ends a Node process).

use std::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, prelude::*};
use wasm_bindgen_futures::JsFuture;

thread_local! {
    static GATE: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `gate(value) → Promise` (until then, values are awaited as `Promise.resolve` gives
/// them).
#[wasm_bindgen(js_name = __setPromiseGate)]
pub fn set_promise_gate(gate: JsValue) {
    GATE.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = gate.dyn_into::<Function>().ok();
        }
    });
}

/// Awaits `value` (a promise or not) through the gate.
pub(super) async fn settle(value: &JsValue) -> Result<JsValue, JsValue> {
    let gate = GATE.with(|slot| slot.try_borrow().ok().and_then(|g| g.clone()));
    let promise = match gate.map(|g| g.call1(&JsValue::UNDEFINED, value)) {
        Some(Ok(gated)) => gated.unchecked_into(),
        // No gate, or one that threw: `Promise.resolve` still accepts a non-promise answer.
        _ => Promise::resolve(value),
    };
    JsFuture::from(promise).await
}

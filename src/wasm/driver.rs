//! `SessionDriver`: the machine plus every decision around it (src/driver/), for the JS hosts
//! (`SessionSupervisor`, the edge's Durable Object), which only perform I/O.

use wasm_bindgen::prelude::*;

use crate::driver::{self, DriverEvent};
use crate::error::ErrorCode;
use crate::machine::{Event, MachineOptions};

use super::convert::{optional_string_arg, options_from_js, string_arg, stringify, value_to_js};
use super::decoding::decode_utf8;
use super::errors::{JsResult, invalid_option, js_error};
use super::json_stringify;
use super::retries::JsRetryBudget;

/// The sans-IO session driver: `handle`, drain `pollEffect`, arm one timer at `pollTimeout`,
/// show `view()`, store `toJSON()`.
#[wasm_bindgen(js_name = SessionDriver)]
pub struct JsSessionDriver {
    inner: driver::SessionDriver,
}

#[wasm_bindgen(js_class = SessionDriver)]
impl JsSessionDriver {
    /// Machine options; `bindings.js` takes `budget` out of them and hands it to `setBudget`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "DriverOptions")] opts: JsValue,
    ) -> JsResult<JsSessionDriver> {
        let opts = options_from_js(&opts)
            .and_then(|v| MachineOptions::from_value(&v))
            .map_err(js_error)?;
        Ok(JsSessionDriver {
            inner: driver::SessionDriver::new(opts),
        })
    }

    /// Shares a `RetryBudget` with other drivers: automatic starts and restarts spend it. The
    /// budget stays usable from JS (the driver keeps a handle to the same bucket).
    #[wasm_bindgen(js_name = setBudget)]
    pub fn set_budget(&mut self, budget: &JsRetryBudget) {
        self.inner.set_budget(Some(budget.shared()));
    }

    /// Feeds one event; drain `pollEffect()` (or `drainEffects()`) afterwards.
    pub fn handle(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "DriverEvent")] event: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let event = stringify(&event)
            .and_then(|text| DriverEvent::from_json(&text))
            .map_err(js_error)?;
        self.inner.handle(event, now_ms);
        Ok(())
    }

    /// `handle({type:"status", input: text})` with the text as UTF-8 bytes (see the machine's).
    #[wasm_bindgen(js_name = __handleStatusUtf8)]
    pub fn handle_status_utf8(&mut self, utf8: &[u8], now_ms: f64) -> JsResult<()> {
        let report = decode_utf8(utf8).map_err(js_error)?;
        self.inner
            .handle(Event::Status(Box::new(report)).into(), now_ms);
        Ok(())
    }

    #[wasm_bindgen(js_name = __handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.inner.handle(Event::Timeout.into(), now_ms);
    }

    /// Every session status in an observed input (a webhook body as text or object, one event or
    /// an array, a parsed `WebhookEvent`, a `StatusReport`, a status name), handled in order;
    /// events of other kinds are skipped. Throws `invalid_payload` (handling nothing) when an
    /// item cannot be decoded.
    pub fn observe(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StatusInput | WebhookEvent | WebhookEvent[]")]
        input: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let reports = match input.as_string() {
            Some(text) => driver::status_reports_text(&text),
            None => stringify(&input)
                .and_then(|text| crate::payload::parse(&text))
                .and_then(|v| driver::status_reports(&v)),
        }
        .map_err(js_error)?;
        self.inner.observe(reports, now_ms);
        Ok(())
    }

    /// A new process loaded this driver: calls in flight are answered `network`, sends on the
    /// wire `closed`.
    pub fn restored(&mut self, now_ms: f64) {
        self.inner.restored(now_ms);
    }

    /// The host's stored sends after `restored()`: one the store shows on the wire that the
    /// driver does not hold is rejected `closed` (it may have been delivered), a queued one it
    /// does not hold is handed to the machine. Drain the effects afterwards.
    #[wasm_bindgen(js_name = reconcileSends)]
    pub fn reconcile_sends(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StoredSend[]")] stored: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let stored = stringify(&stored)
            .and_then(|text| driver::StoredSend::list_from_json(&text))
            .map_err(js_error)?;
        self.inner.reconcile_sends(stored, now_ms);
        Ok(())
    }

    /// A failure of the host's own I/O outside the machine (e.g. `qrImage`): shown as `lastError`.
    #[wasm_bindgen(js_name = noteError)]
    pub fn note_error(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] op: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ErrorCode")] code: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] message: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let op = string_arg(&op, "op")?;
        let code = string_arg(&code, "code")?;
        let code =
            ErrorCode::parse(&code).ok_or_else(|| invalid_option("code must be an ErrorCode"))?;
        let message = optional_string_arg(&message, "message")?;
        self.inner.note_error(&op, code, message, now_ms);
        Ok(())
    }

    /// The next effect for the host, or `undefined` when there is none.
    #[wasm_bindgen(js_name = pollEffect, unchecked_return_type = "DriverEffect | undefined")]
    pub fn poll_effect(&mut self) -> JsValue {
        self.inner
            .poll_effect()
            .map_or(JsValue::UNDEFINED, |effect| value_to_js(&effect))
    }

    /// Every pending effect at once (one boundary crossing).
    #[wasm_bindgen(js_name = drainEffects, unchecked_return_type = "DriverEffect[]")]
    pub fn drain_effects(&mut self) -> JsValue {
        let mut effects = Vec::new();
        while let Some(effect) = self.inner.poll_effect() {
            effects.push(effect);
        }
        value_to_js(&effects)
    }

    /// Absolute ms of the next deadline; handle `{type:"timeout"}` when it passes.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout()
    }

    #[wasm_bindgen(unchecked_return_type = "SessionView")]
    pub fn view(&self) -> JsValue {
        value_to_js(&self.inner.view())
    }

    /// The machine's `snapshot()`.
    #[wasm_bindgen(unchecked_return_type = "MachineSnapshot")]
    pub fn snapshot(&self) -> JsValue {
        value_to_js(&self.inner.machine().snapshot())
    }

    /// Machine, view and in-flight calls as JSON text, for `SessionDriver.fromJSON` (written by
    /// `JSON.stringify`, as the machine's).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        json_stringify(&value_to_js(&self.inner))
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default()
    }

    /// A stored driver, or a bare `LifecycleMachine.toJSON()` snapshot (stored before the
    /// driver). The shared budget is not stored: give it again with `setBudget`.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "string")] json: JsValue,
    ) -> JsResult<JsSessionDriver> {
        let json = string_arg(&json, "json")?;
        let inner = driver::SessionDriver::from_json(&json).map_err(js_error)?;
        Ok(JsSessionDriver { inner })
    }

    #[wasm_bindgen(getter, unchecked_return_type = "SessionStatus")]
    pub fn status(&self) -> String {
        self.inner.status().as_str().to_string()
    }

    /// Sends waiting for WORKING.
    #[wasm_bindgen(getter, js_name = queuedSends)]
    pub fn queued_sends(&self) -> u32 {
        u32::try_from(self.inner.queued_sends()).unwrap_or(u32::MAX)
    }
}

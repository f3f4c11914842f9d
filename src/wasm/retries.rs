//! `Backoff` and `RetryBudget`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::backoff::{Backoff, BackoffOptions};
use crate::budget::RetryBudget;
use crate::driver::SharedBudget;

use super::convert::options_from_js;
use super::errors::{JsResult, js_error};

/// Exponential backoff with jitter, a cap and a Retry-After floor.
#[wasm_bindgen(js_name = Backoff)]
pub struct JsBackoff {
    inner: Backoff,
}

#[wasm_bindgen(js_class = Backoff)]
impl JsBackoff {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "BackoffOptions")] opts: JsValue,
    ) -> JsResult<JsBackoff> {
        let opts = options_from_js(&opts)
            .and_then(|v| BackoffOptions::from_value(&v))
            .and_then(Backoff::new)
            .map_err(js_error)?;
        Ok(JsBackoff { inner: opts })
    }

    /// The next delay in ms, never below `retryAfterMs`; `undefined` once exhausted.
    pub fn next(&mut self, retry_after_ms: Option<f64>) -> Option<f64> {
        self.inner.next(retry_after_ms)
    }

    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Delays handed out since the last reset.
    #[wasm_bindgen(getter)]
    pub fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}

/// A token bucket shared by automatic restarts and retries, so faults cannot become a storm.
/// Drivers given it (`SessionDriver.setBudget`) hold a handle to the same bucket.
#[wasm_bindgen(js_name = RetryBudget)]
pub struct JsRetryBudget {
    inner: SharedBudget,
}

#[wasm_bindgen(js_class = RetryBudget)]
impl JsRetryBudget {
    /// A full bucket of `capacity` tokens refilled at `refillPerSec`; each recorded success
    /// deposits `successDeposit` (default 0).
    #[wasm_bindgen(constructor)]
    pub fn new(
        capacity: f64,
        refill_per_sec: f64,
        success_deposit: Option<f64>,
    ) -> JsResult<JsRetryBudget> {
        let inner =
            RetryBudget::with_options(capacity, refill_per_sec, success_deposit.unwrap_or(0.0))
                .map_err(js_error)?;
        Ok(JsRetryBudget {
            inner: Rc::new(RefCell::new(inner)),
        })
    }

    /// The bucket, for a driver to share.
    pub(super) fn shared(&self) -> SharedBudget {
        Rc::clone(&self.inner)
    }

    /// Takes `cost` tokens if the bucket holds them at `nowMs`.
    #[wasm_bindgen(js_name = trySpend)]
    pub fn try_spend(&mut self, cost: f64, now_ms: f64) -> bool {
        // Single-threaded: the bucket is never borrowed across a call into JS.
        self.inner
            .try_borrow_mut()
            .is_ok_and(|mut bucket| bucket.try_spend(cost, now_ms))
    }

    #[wasm_bindgen(js_name = recordSuccess)]
    pub fn record_success(&mut self, now_ms: f64) {
        if let Ok(mut bucket) = self.inner.try_borrow_mut() {
            bucket.record_success(now_ms);
        }
    }

    /// Tokens available at `nowMs`.
    pub fn available(&self, now_ms: f64) -> f64 {
        self.inner
            .try_borrow()
            .map_or(0.0, |bucket| bucket.available(now_ms))
    }

    /// How long until `cost` tokens are available; `undefined` if never (cost above capacity).
    #[wasm_bindgen(js_name = waitMs)]
    pub fn wait_ms(&self, cost: f64, now_ms: f64) -> Option<f64> {
        self.inner.try_borrow().ok()?.wait_ms(cost, now_ms)
    }

    #[wasm_bindgen(getter)]
    pub fn tokens(&self) -> f64 {
        self.inner.try_borrow().map_or(0.0, |bucket| bucket.tokens)
    }

    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> f64 {
        self.inner
            .try_borrow()
            .map_or(0.0, |bucket| bucket.capacity)
    }
}

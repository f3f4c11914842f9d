//! Errors cross as real JS `WawpError` instances, built with the class the entry registers.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::error::WawpError;

use super::{array_of3, new_error, new_object, reflect_construct, reflect_get, reflect_set};

thread_local! {
    /// The JS `WawpError` class, registered once per instance by the entry.
    static ERROR_CLASS: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Registers the JS `WawpError` class (`new WawpError(code, message, details)`); until then,
/// errors are plain `Error`s with the same properties.
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: JsValue) {
    ERROR_CLASS.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(class);
        }
    });
}

pub(super) fn set_prop(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object or Error cannot fail; ignore the Result.
    let _ = reflect_set(target, &JsValue::from_str(key), value);
}

/// The JS error for a core error: a `WawpError` instance when the class is registered.
pub(super) fn js_error(error: WawpError) -> JsValue {
    let details = new_object();
    if let Some(status) = error.http_status {
        set_prop(&details, "httpStatus", &JsValue::from(status));
    }
    if let Some(ms) = error.retry_after_ms {
        set_prop(&details, "retryAfterMs", &JsValue::from(ms));
    }
    if let Some(op) = &error.op {
        set_prop(&details, "op", &JsValue::from_str(op));
    }
    let code = JsValue::from_str(error.code.as_str());
    let message = JsValue::from_str(&error.message);
    let class = ERROR_CLASS.with(|slot| slot.try_borrow().ok().and_then(|c| c.clone()));
    if let Some(class) = class {
        if let Ok(instance) = reflect_construct(&class, &array_of3(&code, &message, &details)) {
            return instance;
        }
    }
    let fallback = new_error(&error.message);
    set_prop(&fallback, "name", &JsValue::from_str("WawpError"));
    set_prop(&fallback, "code", &code);
    for key in ["httpStatus", "retryAfterMs", "op"] {
        if let Ok(value) = reflect_get(&details, &JsValue::from_str(key)) {
            if !value.is_undefined() {
                set_prop(&fallback, key, &value);
            }
        }
    }
    fallback
}

pub(super) type JsResult<T> = Result<T, JsValue>;

pub(super) fn invalid_option(message: &str) -> JsValue {
    js_error(WawpError::invalid_option(message))
}

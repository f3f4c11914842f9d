//! `new WawpClient(opts)`: reading and checking the options object. Every problem is an
//! `invalid_option` WawpError thrown by the constructor, before any request.

use js_sys::{Function, Math};
use wasm_bindgen::{JsCast, prelude::*};

use crate::backoff::BackoffOptions;
use crate::error::WawpError;
use crate::http::Flavor;

use super::super::convert::options_from_js;
use super::super::reflect_get;

const DEFAULT_BASE_URL: &str = "https://api.wawp.net";
const DEFAULT_TIMEOUT_MS: f64 = 15_000.0;

#[wasm_bindgen]
extern "C" {
    /// `String(value)`: the options accept a `URL` object for `baseUrl`, as before.
    #[wasm_bindgen(js_name = String, catch)]
    fn js_string(value: &JsValue) -> Result<String, JsValue>;
    /// The global `fetch`, read when no `fetch` option is given (it must exist then).
    #[wasm_bindgen(thread_local_v2, js_name = fetch)]
    static GLOBAL_FETCH: JsValue;
}

/// Where requests go: the global `fetch` through gloo-net, or a `fetch` the caller injected
/// (tests, Cloudflare service bindings), called as a plain function with `(url, init)`.
pub(super) enum Transport {
    Global,
    Injected(Function),
}

pub(super) struct ClientOptions {
    pub(super) token: String,
    pub(super) instance_id: Option<String>,
    pub(super) session: Option<String>,
    pub(super) flavor: Flavor,
    pub(super) base_url: String,
    pub(super) timeout_ms: f64,
    /// `None`: `retry: false`.
    pub(super) retry: Option<BackoffOptions>,
    pub(super) transport: Transport,
}

fn invalid(message: &str) -> WawpError {
    WawpError::invalid_option(message)
}

/// `opts[key]`, with `null` read as absent; a throwing getter is an invalid option.
fn field(opts: &JsValue, key: &str) -> Result<Option<JsValue>, WawpError> {
    let value = reflect_get(opts, &JsValue::from_str(key))
        .map_err(|_| invalid("the options could not be read"))?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

/// A non-empty string, or an `invalid_option` naming `name`.
pub(super) fn token_arg(value: &JsValue) -> Result<String, WawpError> {
    value
        .as_string()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("accessToken must be a non-empty string"))
}

fn optional_text(opts: &JsValue, key: &str, message: &str) -> Result<Option<String>, WawpError> {
    field(opts, key)?
        .map(|v| {
            v.as_string()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(message))
        })
        .transpose()
}

/// Backoff options with a seed: the core has no entropy of its own, so an options object
/// without `seed` gets one from `Math.random()` (jitter must differ between isolates).
pub(super) fn seeded(opts: &BackoffOptions) -> BackoffOptions {
    let mut opts = opts.clone();
    if opts.seed.is_none() {
        opts.seed = Some((Math::random() * 9_007_199_254_740_992.0) as u64);
    }
    opts
}

fn retry_option(opts: &JsValue) -> Result<Option<BackoffOptions>, WawpError> {
    let retry = reflect_get(opts, &JsValue::from_str("retry"))
        .map_err(|_| invalid("the options could not be read"))?;
    if retry.is_undefined() {
        return Ok(Some(BackoffOptions::default()));
    }
    if retry.as_bool() == Some(false) {
        return Ok(None);
    }
    if !retry.is_object() || retry.is_function() {
        return Err(invalid("retry must be backoff options or false"));
    }
    // Checked now (`from_value` validates), not on the first failure.
    options_from_js(&retry)
        .and_then(|v| BackoffOptions::from_value(&v))
        .map(Some)
}

fn base_url(opts: &JsValue) -> Result<String, WawpError> {
    let text = match field(opts, "baseUrl")? {
        None => DEFAULT_BASE_URL.to_string(),
        Some(v) => js_string(&v).map_err(|_| invalid("baseUrl is not an absolute URL"))?,
    };
    let trimmed = text.trim_end_matches('/');
    web_sys::Url::new(trimmed).map_err(|_| invalid("baseUrl is not an absolute URL"))?;
    Ok(trimmed.to_string())
}

pub(super) fn client_options(opts: &JsValue) -> Result<ClientOptions, WawpError> {
    if !opts.is_object() {
        return Err(invalid("WawpClient needs an options object"));
    }
    let flavor = match field(opts, "flavor")? {
        None => Flavor::Wawp,
        Some(v) => v
            .as_string()
            .as_deref()
            .and_then(Flavor::parse)
            .ok_or_else(|| invalid("flavor must be \"wawp\" or \"waha\""))?,
    };
    let timeout_ms = match field(opts, "timeoutMs")? {
        None => DEFAULT_TIMEOUT_MS,
        Some(v) => v
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .ok_or_else(|| invalid("timeoutMs must be a positive number"))?,
    };
    let transport = match field(opts, "fetch")? {
        Some(f) => Transport::Injected(
            f.dyn_into::<Function>()
                .map_err(|_| invalid("fetch must be a function"))?,
        ),
        None if GLOBAL_FETCH.with(JsValue::is_function) => Transport::Global,
        None => return Err(invalid("no fetch: pass opts.fetch")),
    };
    let retry = retry_option(opts)?;
    let base_url = base_url(opts)?;
    let instance_id = optional_text(opts, "instanceId", "instanceId must be a non-empty string")?;
    let session = optional_text(opts, "session", "session must be a non-empty string")?;
    let token = token_arg(&field(opts, "accessToken")?.unwrap_or(JsValue::UNDEFINED))?;
    Ok(ClientOptions {
        token,
        instance_id,
        session,
        flavor,
        base_url,
        timeout_ms,
        retry,
        transport,
    })
}

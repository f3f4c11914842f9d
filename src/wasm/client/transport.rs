//! One HTTP exchange of the client: the request (URL with credentials, headers, body) sent with
//! a per-attempt timeout, and its answer read as `{status, retryAfter, body}` for the core.
//!
//! Two transports. Without a `fetch` option, gloo-net builds the `Request` (URL, method, headers,
//! body, signal) and the global `fetch` sends it through a `catch` binding here, not through
//! gloo-net's `Request::send`: that one traps the instance (`unreachable!` / `panic!`, and the
//! call's Promise never settles) when the global `fetch` rejects with a non-`Error` or answers
//! with something that is not a `Response` — what a test's mocked `fetch` commonly does — and it
//! keeps only the name and message of a rejection, losing undici's `cause.code` (a refused
//! connection). An injected `fetch` (tests, Cloudflare service bindings) cannot go through gloo-net
//! at all (it binds the global `fetch` statically), so it is called through js-sys as
//! `fetch(url, init)` — the shape every `fetch` wrapper expects (`init.headers` a plain object).
//!
//! Both answers are read through web-sys's `Response` with every failure caught here, so a
//! hand-made `{status, headers, text}` answer works and a broken one is a `network` error.

use gloo_net::http::{Method, RequestBuilder};
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, prelude::*};
use web_sys::{AbortController, AbortSignal, Headers, Response};

use crate::error::{ErrorCode, WawpError};
use crate::http::{AuthPlacement, RequestSpec, base64_encode};

use super::gate::settle;
use super::options::Transport;
use super::timers::Timer;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, whatever it answers or throws kept as a value (see the module doc).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &web_sys::Request) -> Result<JsValue, JsValue>;
}

/// Error codes of a request that never left this machine (Node's undici puts them on
/// `cause.code`): a send that failed so is safe to repeat.
const NOT_SENT_CODES: [&str; 4] = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"];

/// A response as the core reads it.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) retry_after: Option<String>,
    pub(super) body: String,
}

/// A failed attempt: the error, and whether the request certainly never reached the server.
pub(super) struct Failure {
    pub(super) error: WawpError,
    pub(super) not_sent: bool,
}

impl From<WawpError> for Failure {
    fn from(error: WawpError) -> Failure {
        Failure {
            error,
            not_sent: false,
        }
    }
}

/// What one exchange needs of its client.
pub(super) struct Exchange<'a> {
    pub(super) op: &'static str,
    pub(super) base_url: &'a str,
    pub(super) token: &'a str,
    pub(super) timeout_ms: f64,
    pub(super) transport: &'a Transport,
}

/// `Accept` rather than `accept`: the names an injected `fetch` finds in `init.headers`.
fn header_name(name: &str) -> &str {
    match name {
        "accept" => "Accept",
        "content-type" => "Content-Type",
        other => other,
    }
}

impl Exchange<'_> {
    /// Sends `spec` with the credentials and reads its answer within the timeout.
    pub(super) async fn run(&self, spec: &RequestSpec) -> Result<Answer, Failure> {
        let mut with_token = spec.clone();
        let mut headers: Vec<(&str, &str)> = spec
            .headers
            .iter()
            .map(|(k, v)| (header_name(k), v.as_str()))
            .collect();
        match spec.auth {
            AuthPlacement::Header => headers.push(("X-Api-Key", self.token)),
            AuthPlacement::Query => with_token
                .query
                .push(("access_token".to_string(), self.token.to_string())),
        }
        let url = format!("{}{}", self.base_url, with_token.path_and_query());
        let controller = AbortController::new().map_err(|_| self.network("no AbortController"))?;
        let signal = controller.signal();
        // The abort reason is an `Error`: gloo-net 0.7 converts a rejection with
        // `unreachable!` unless it is one (and the old default, a DOMException, is not one
        // everywhere).
        let reason = js_sys::Error::new("timeout");
        let abort = Reflect::get(&controller, &JsValue::from_str("abort"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| self.network("no AbortController"))?;
        let _timer = Timer::start(&abort.bind1(&controller, &reason), self.timeout_ms);
        let result = self.send(&url, spec, &headers, &signal).await;
        match result {
            Ok(response) => read_answer(&response).await,
            Err(rejection) => Err(rejection),
        }
        .map_err(|rejection| self.transport_failure(&signal, &rejection))
    }

    async fn send(
        &self,
        url: &str,
        spec: &RequestSpec,
        headers: &[(&str, &str)],
        signal: &AbortSignal,
    ) -> Result<Response, JsValue> {
        let answer = match self.transport {
            Transport::Global => {
                let method = match spec.method {
                    "POST" => Method::POST,
                    "DELETE" => Method::DELETE,
                    "PUT" => Method::PUT,
                    _ => Method::GET,
                };
                let builder = headers
                    .iter()
                    .fold(RequestBuilder::new(url).method(method), |b, (k, v)| {
                        b.header(k, v)
                    })
                    .abort_signal(Some(signal));
                let request = match &spec.body {
                    Some(body) => builder.body(body.as_str()),
                    None => builder.build(),
                }
                .map_err(|_| JsValue::UNDEFINED)?;
                global_fetch(&request.into())?
            }
            Transport::Injected(fetch) => {
                let init = Object::new();
                let header_object = Object::new();
                for (name, value) in headers {
                    set(&header_object, name, &JsValue::from_str(value));
                }
                set(&init, "method", &JsValue::from_str(spec.method));
                set(&init, "headers", &header_object);
                if let Some(body) = &spec.body {
                    set(&init, "body", &JsValue::from_str(body));
                }
                set(&init, "signal", signal);
                // A plain call: a `fetch` not bound to anything must not see a `this`.
                fetch.call2(&JsValue::UNDEFINED, &JsValue::from_str(url), &init)?
            }
        };
        // A `fetch` may answer without a Promise.
        let response = settle(&answer).await?;
        if !response.is_object() {
            return Err(response); // `undefined`, `null`, a number: nothing to read
        }
        Ok(response.unchecked_into())
    }

    fn network(&self, why: &str) -> Failure {
        WawpError::new(ErrorCode::Network, format!("{}: {why}", self.op))
            .with_op(self.op)
            .into()
    }

    /// A fetch or body read that failed: `timeout` when our signal fired, else `network`,
    /// marked "not sent" only when the failure says the request never left. The rejection's own
    /// text is never quoted (a `fetch` may put the URL, token included, in its message).
    fn transport_failure(&self, signal: &AbortSignal, rejection: &JsValue) -> Failure {
        let op = self.op;
        if signal.aborted() {
            let ms = self.timeout_ms.ceil() as u64; // integer formatting: no f64 `Display`
            return WawpError::new(
                ErrorCode::Timeout,
                format!("{op}: no complete response within {ms} ms"),
            )
            .with_op(op)
            .into();
        }
        match not_sent_code(rejection, 0) {
            Some(code) => Failure {
                error: WawpError::new(
                    ErrorCode::Network,
                    format!("{op}: request not sent ({code})"),
                )
                .with_op(op),
                not_sent: true,
            },
            None => self.network("network error, the request may have been delivered"),
        }
    }
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A `code` of the NOT_SENT kind on the failure or its causes (undici: TypeError → cause →
/// AggregateError.errors), looked for a few levels deep.
fn not_sent_code(error: &JsValue, depth: u32) -> Option<&'static str> {
    if depth > 4 || !error.is_object() {
        return None;
    }
    let get = |key: &str| Reflect::get(error, &JsValue::from_str(key)).ok();
    let code = get("code").and_then(|c| c.as_string());
    if let Some(known) = code.and_then(|c| NOT_SENT_CODES.into_iter().find(|k| *k == c)) {
        return Some(known);
    }
    if let Some(found) = get("cause").and_then(|c| not_sent_code(&c, depth + 1)) {
        return Some(found);
    }
    let inner = get("errors").filter(Array::is_array)?;
    // By index through `Reflect`: `Array.from` would run a (possibly throwing) iterator.
    (0..8u32).find_map(|i| {
        Reflect::get_u32(&inner, i)
            .ok()
            .and_then(|e| not_sent_code(&e, depth + 1))
    })
}

/// The answer as text for the core. Image bytes (WAHA's QR as `image/png`, from a proxy or an
/// injected fetch that dropped `Accept`) cannot cross as text, so they cross in WAHA's own JSON
/// form of the same answer, `{mimetype, data: base64}`.
async fn read_answer(response: &Response) -> Result<Answer, JsValue> {
    // `status` and `headers` through `Reflect` (which reports a throw as an `Err`): web-sys's
    // getters would let a throwing or missing property unwind through the wasm.
    let status = Reflect::get(response, &JsValue::from_str("status"))?
        .as_f64()
        .filter(|s| (0.0..1000.0).contains(s))
        .map_or(0, |s| s as u16);
    let headers: Headers = Reflect::get(response, &JsValue::from_str("headers"))?.unchecked_into();
    let retry_after = headers.get("retry-after")?;
    let content_type = headers.get("content-type")?.unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let body = if mime.starts_with("image/") {
        let buffer = settle(&response.array_buffer()?.into()).await?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        // Token characters only, so the type needs no JSON escaping.
        let mime: String = mime
            .chars()
            .filter(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '!' | '#' | '$' | '&' | '^' | '_' | '.' | '+' | '-' | '/')
            })
            .collect();
        format!(
            "{{\"mimetype\":\"{mime}\",\"data\":\"{}\"}}",
            base64_encode(&bytes)
        )
    } else {
        // A hand-made answer's `text()` may return the text itself.
        settle(&response.text()?.into())
            .await?
            .as_string()
            .unwrap_or_default()
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

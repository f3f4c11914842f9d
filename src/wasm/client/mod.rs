//! `WawpClient`: the HTTP client of API.md, in Rust. The sans-IO core (`crate::http`) decides
//! which request each operation is, what an answer means, whether it calls for a follow-up and
//! whether a failed call may be sent again; `crate::backoff` spaces the attempts. This module
//! adds the I/O: credentials, fetch with a timeout (`transport`), sleeps (`timers`), and
//! redaction of every token this client held from every error it returns (`credentials`).
//!
//! Methods return Promises (wasm-bindgen-futures) over an `Rc` of the client's state, so a call
//! in flight never holds a borrow of the JS object: `setAccessToken` during a call is fine. Every
//! JS promise awaited goes through `gate` (see there: a trap must not run old closures).

mod credentials;
mod gate;
mod options;
mod timers;
mod transport;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Date, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backoff::{Backoff, BackoffOptions};
use crate::error::WawpError;
use crate::http::{self, ClientOp, Flavor, RequestArgs, RequestSpec};

use super::convert::value_to_js;
use super::errors::js_error;
use super::reflect_get;
use credentials::Credentials;
pub use gate::set_promise_gate;
use options::{Transport, client_options, seeded, token_arg};
use transport::{Answer, Exchange, Failure};

struct State {
    flavor: Flavor,
    base_url: String,
    timeout_ms: f64,
    retry: Option<BackoffOptions>,
    transport: Transport,
    session: Option<String>,
    instance_id: RefCell<Option<String>>,
    credentials: RefCell<Credentials>,
    /// op → the method a follow-up told this client to keep (Wawp `info` → POST).
    methods: RefCell<Vec<(ClientOp, &'static str)>>,
}

/// The arguments of one call besides the client's own.
#[derive(Default)]
struct CallArgs {
    phone_number: Option<String>,
    chat_id: Option<String>,
    text: Option<String>,
}

/// The HTTP client of the Wawp API and WAHA (API.md `WawpClient`).
#[wasm_bindgen(js_name = WawpClient, skip_typescript)]
pub struct JsWawpClient {
    state: Rc<State>,
}

#[wasm_bindgen(js_class = WawpClient)]
impl JsWawpClient {
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<JsWawpClient, JsValue> {
        let opts = client_options(&opts).map_err(js_error)?;
        Ok(JsWawpClient {
            state: Rc::new(State {
                flavor: opts.flavor,
                base_url: opts.base_url,
                timeout_ms: opts.timeout_ms,
                retry: opts.retry,
                transport: opts.transport,
                session: opts.session,
                instance_id: RefCell::new(opts.instance_id),
                credentials: RefCell::new(Credentials::new(opts.token)),
                methods: RefCell::new(Vec::new()),
            }),
        })
    }

    /// The instance this client talks to (adopted from `create()` when none was given).
    #[wasm_bindgen(getter = instanceId)]
    pub fn instance_id(&self) -> Option<String> {
        self.state.instance_id.borrow().clone()
    }

    #[wasm_bindgen(getter)]
    pub fn flavor(&self) -> String {
        self.state.flavor.as_str().to_string()
    }

    /// Rotation without a new client; the old token stays on the redaction list.
    #[wasm_bindgen(js_name = setAccessToken)]
    pub fn set_access_token(&self, token: JsValue) -> Result<(), JsValue> {
        let token = token_arg(&token).map_err(js_error)?;
        self.state.credentials.borrow_mut().rotate(token);
        Ok(())
    }

    pub fn create(&self) -> Promise {
        self.run(ClientOp::Create, CallArgs::default())
    }

    pub fn start(&self) -> Promise {
        self.run(ClientOp::Start, CallArgs::default())
    }

    pub fn stop(&self) -> Promise {
        self.run(ClientOp::Stop, CallArgs::default())
    }

    pub fn restart(&self) -> Promise {
        self.run(ClientOp::Restart, CallArgs::default())
    }

    pub fn logout(&self) -> Promise {
        self.run(ClientOp::Logout, CallArgs::default())
    }

    pub fn delete(&self) -> Promise {
        self.run(ClientOp::Delete, CallArgs::default())
    }

    pub fn info(&self) -> Promise {
        self.run(ClientOp::Info, CallArgs::default())
    }

    pub fn me(&self) -> Promise {
        self.run(ClientOp::Me, CallArgs::default())
    }

    pub fn qr(&self) -> Promise {
        self.run(ClientOp::Qr, CallArgs::default())
    }

    #[wasm_bindgen(js_name = qrImage)]
    pub fn qr_image(&self) -> Promise {
        self.run(ClientOp::QrImage, CallArgs::default())
    }

    #[wasm_bindgen(js_name = requestCode)]
    pub fn request_code(&self, phone_number: JsValue) -> Promise {
        let args = CallArgs {
            phone_number: phone_number.as_string(),
            ..CallArgs::default()
        };
        self.run(ClientOp::RequestCode, args)
    }

    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, chat_id: JsValue, text: JsValue) -> Promise {
        let args = CallArgs {
            chat_id: chat_id.as_string(),
            text: text.as_string(),
            ..CallArgs::default()
        };
        self.run(ClientOp::SendText, args)
    }
}

impl JsWawpClient {
    /// One operation as a Promise: its result as a JS value, or a redacted `WawpError`.
    fn run(&self, op: ClientOp, args: CallArgs) -> Promise {
        let state = Rc::clone(&self.state);
        future_to_promise(async move {
            match state.call(op, args).await {
                Ok(value) => {
                    if op == ClientOp::Create {
                        state.adopt_instance(&value);
                    }
                    Ok(value)
                }
                Err(error) => Err(js_error(state.credentials.borrow().redact(error))),
            }
        })
    }
}

impl State {
    /// Attempts with backoff while the core says the failure may be retried.
    async fn call(&self, op: ClientOp, args: CallArgs) -> Result<JsValue, WawpError> {
        let args = RequestArgs {
            instance_id: self.instance_id.borrow().clone(),
            session: self.session.clone(),
            phone_number: args.phone_number,
            chat_id: args.chat_id,
            text: args.text,
        };
        let mut backoff: Option<Backoff> = None;
        loop {
            let failure = match self.attempt(op, &args).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            let Some(retry) = &self.retry else {
                return Err(failure.error);
            };
            // The core's rule (for sendText the machine's delivery rule too: one rule, not two).
            let error = &failure.error;
            if !http::may_retry(op, error.code, error.http_status, !failure.not_sent) {
                return Err(failure.error);
            }
            let delay = match &mut backoff {
                Some(b) => b.next(failure.error.retry_after_ms),
                None => backoff
                    .insert(Backoff::new(seeded(retry))?)
                    .next(failure.error.retry_after_ms),
            };
            let Some(delay) = delay else {
                return Err(failure.error);
            };
            timers::sleep(delay).await;
        }
    }

    /// One attempt: the request and, when the core says the failed answer calls for it, the
    /// one follow-up request (whose answer is final).
    async fn attempt(&self, op: ClientOp, args: &RequestArgs) -> Result<JsValue, Failure> {
        let spec = self.request(op, args)?;
        let answer = self.exchange(op, &spec).await?;
        let error = match classify(op, &answer) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some(next) = http::follow_up(self.flavor, op, spec.method, answer.status, &answer.body)
        else {
            return Err(error.into());
        };
        if let Some(method) = next.method {
            let mut methods = self.methods.borrow_mut();
            methods.retain(|(o, _)| *o != next.op);
            methods.push((next.op, method));
        }
        let again = self.exchange(op, &self.request(next.op, args)?).await?;
        Ok(classify(next.answer_as, &again)?)
    }

    /// The core's request for `op`, with the method a follow-up told this client to keep.
    fn request(&self, op: ClientOp, args: &RequestArgs) -> Result<RequestSpec, WawpError> {
        let mut spec = http::build_request(self.flavor, op, args)?;
        if let Some((_, method)) = self.methods.borrow().iter().find(|(o, _)| *o == op) {
            spec.method = method;
        }
        Ok(spec)
    }

    async fn exchange(&self, op: ClientOp, spec: &RequestSpec) -> Result<Answer, Failure> {
        // The token is read per attempt, so a rotation reaches the next retry.
        let token = self.credentials.borrow().current().to_string();
        Exchange {
            op: op.as_str(),
            base_url: &self.base_url,
            token: &token,
            timeout_ms: self.timeout_ms,
            transport: &self.transport,
        }
        .run(spec)
        .await
    }

    /// `create()` without an instance id adopts the one it provisioned.
    fn adopt_instance(&self, created: &JsValue) {
        let mut instance_id = self.instance_id.borrow_mut();
        if instance_id.is_none() {
            *instance_id = reflect_get(created, &JsValue::from_str("instanceId"))
                .ok()
                .and_then(|id| id.as_string());
        }
    }
}

/// The core's reading of an answer, as the JS value the caller gets (the one place this client
/// meets the core's JSON value type).
fn classify(op: ClientOp, answer: &Answer) -> Result<JsValue, WawpError> {
    http::classify_response(
        op,
        answer.status,
        answer.retry_after.as_deref(),
        &answer.body,
        Date::now(),
    )
    .map(|value| value_to_js(&value))
}

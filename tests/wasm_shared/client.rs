//! `WawpClient` from Rust, in Node and in a Chromium page: the injected-fetch transport (called
//! through js-sys), the gloo-net transport on the global fetch, the timeout's abort reason, and
//! failures that are not `Error`s (gloo-net 0.7 would reach `unreachable!` on one).

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use wawp_session::wasm as w;

use super::{error_class, get, get_str, is_instance};

const TOKEN: &str = "tok+SENTINEL/wasm==";

/// A JS function from its source text (an arrow function or `function`).
fn js_fn(source: &str) -> Function {
    Function::new_no_args(&format!("return {source}"))
        .call0(&JsValue::UNDEFINED)
        .unwrap()
        .into()
}

fn options(extra: &[(&str, JsValue)]) -> JsValue {
    let opts = Object::new();
    for (key, value) in [
        ("accessToken", JsValue::from_str(TOKEN)),
        ("instanceId", JsValue::from_str("inst-1")),
        ("retry", JsValue::FALSE),
    ]
    .iter()
    .chain(extra)
    {
        Reflect::set(&opts, &JsValue::from_str(key), value).unwrap();
    }
    opts.into()
}

/// A client whose `fetch` is the JS function `source`.
pub(super) fn with_fetch(source: &str) -> w::JsWawpClient {
    w::JsWawpClient::new(options(&[("fetch", js_fn(source).into())])).unwrap()
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

#[wasm_bindgen_test]
async fn an_injected_fetch_gets_url_and_init_and_its_answer_is_classified() {
    w::set_error_class(error_class().into());
    // Records what it was called with, answers 429 with Retry-After and a body echoing the URL.
    let client = with_fetch(
        "function (url, init) { 'use strict'; globalThis.__seen = { self: this, url, init };
           return Promise.resolve(new Response('slow down ' + url,
             { status: 429, headers: { 'Retry-After': '7', 'Content-Type': 'text/plain' } })); }",
    );
    let error = settle(client.info()).await.unwrap_err();
    let seen = get(&js_sys::global(), "__seen");
    assert!(
        get(&seen, "self").is_undefined(),
        "fetch called with a `this`"
    );
    let url = get_str(&seen, "url");
    assert!(
        url.starts_with("https://api.wawp.net/v2/session/info?instance_id=inst-1&access_token=")
    );
    let init = get(&seen, "init");
    assert_eq!(get_str(&init, "method"), "GET");
    assert_eq!(
        get_str(&get(&init, "headers"), "Accept"),
        "application/json"
    );
    assert!(get(&init, "signal").is_object());

    assert!(is_instance(&error, &error_class_of(&error)));
    assert_eq!(get_str(&error, "code"), "rate_limited");
    assert_eq!(get(&error, "httpStatus").as_f64(), Some(429.0));
    assert_eq!(get(&error, "retryAfterMs").as_f64(), Some(7000.0));
    assert_eq!(get_str(&error, "op"), "info");
    // The body echoed the URL, token included: the message names it only as redacted.
    let message = get_str(&error, "message");
    assert!(!message.contains("SENTINEL"), "{message}");
}

/// The class the error was built with (the registered one), for `is_instance`.
fn error_class_of(error: &JsValue) -> Function {
    get(
        &Reflect::get_prototype_of(error).unwrap().into(),
        "constructor",
    )
    .into()
}

#[wasm_bindgen_test]
async fn the_timeout_aborts_with_an_error_value_and_ends_as_timeout() {
    w::set_error_class(error_class().into());
    let client = w::JsWawpClient::new(options(&[
        ("timeoutMs", JsValue::from(30)),
        (
            "fetch",
            js_fn(
                "(url, init) => new Promise((_, reject) => init.signal.addEventListener('abort',
                   () => { globalThis.__reason = init.signal.reason; reject(init.signal.reason); }))",
            )
            .into(),
        ),
    ]))
    .unwrap();
    let error = settle(client.me()).await.unwrap_err();
    assert_eq!(get_str(&error, "code"), "timeout");
    // Our own `Error`, not the default `AbortError` DOMException.
    let reason = get(&js_sys::global(), "__reason");
    assert!(reason.is_instance_of::<js_sys::Error>());
    assert_eq!(get_str(&reason, "name"), "Error");
}

#[wasm_bindgen_test]
async fn failures_that_are_not_errors_are_network_errors_not_traps() {
    w::set_error_class(error_class().into());
    for source in [
        "() => Promise.reject('a string')",
        "() => Promise.reject(undefined)",
        "() => { throw 42; }",
        "async () => ({ status: 200, headers: new Headers(), text: () => Promise.reject(null) })",
        "async () => ({ status: 200 })",
    ] {
        let error = settle(with_fetch(source).info()).await.unwrap_err();
        assert_eq!(get_str(&error, "code"), "network", "{source}");
    }
    // A refused connection (undici's `cause.code`) certainly never left: a send may be repeated.
    let refused =
        "() => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))";
    let error = settle(with_fetch(refused).send_text("1@c.us".into(), "x".into()))
        .await
        .unwrap_err();
    assert!(get_str(&error, "message").contains("not sent (ECONNREFUSED)"));
    // The instance is intact: a normal call still works.
    let ok = settle(with_fetch("async () => new Response('{\"status\":\"WORKING\"}')").info())
        .await
        .unwrap();
    assert_eq!(get_str(&ok, "status"), "WORKING");
}

#[wasm_bindgen_test]
async fn the_global_fetch_goes_through_gloo_net() {
    w::set_error_class(error_class().into());
    // A `data:` base URL answers every request with its own text, without a server: the request
    // leaves through gloo-net and the global fetch, and the answer (a bare word) comes back.
    let client = w::JsWawpClient::new(options(&[(
        "baseUrl",
        JsValue::from_str("data:text/plain,WORKING#"),
    )]))
    .unwrap();
    let status = settle(client.info()).await.unwrap();
    assert_eq!(status.as_string().as_deref(), Some("WORKING"));
    // An unreachable address is a typed network error.
    let client = w::JsWawpClient::new(options(&[(
        "baseUrl",
        JsValue::from_str("http://127.0.0.1:9"),
    )]))
    .unwrap();
    let error = settle(client.info()).await.unwrap_err();
    assert_eq!(get_str(&error, "code"), "network");
    assert!(!get_str(&error, "message").contains("SENTINEL"));
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The sans-IO half of `WawpClient`: request building for both flavours, response
//! classification of every body kind, secret redaction and the retry table.

mod values;
use values::ToValue;
use wawp_session::payload::Fields;

use serde_json::Value;
use wawp_session::ErrorCode;
use wawp_session::http::{
    AuthPlacement, ClientOp, Flavor, FollowUp, RequestArgs, RequestSpec, base64_decode,
    base64_encode, build_request, classify_response, follow_up, may_retry, percent_encode,
    redact_secrets,
};
use wawp_session::payload;

fn args() -> RequestArgs {
    RequestArgs {
        instance_id: Some("3EB0BCB2E3D4".into()),
        session: Some("default".into()),
        phone_number: Some("+20 114 520-2826".into()),
        chat_id: Some("201012345678@c.us".into()),
        text: Some("Hello, world".into()),
    }
}

fn req(flavor: Flavor, op: ClientOp) -> RequestSpec {
    build_request(flavor, op, &args()).unwrap()
}

fn query(spec: &RequestSpec) -> Vec<(&str, &str)> {
    spec.query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn body(spec: &RequestSpec) -> Value {
    payload::parse(spec.body.as_deref().unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn wawp_paths_methods_and_instance_query() {
    let expected = [
        (ClientOp::Start, "POST", "/v2/session/start"),
        (ClientOp::Stop, "POST", "/v2/session/stop"),
        (ClientOp::Restart, "POST", "/v2/session/restart"),
        (ClientOp::Logout, "POST", "/v2/session/logout"),
        (ClientOp::Delete, "DELETE", "/v2/session/delete"),
        (ClientOp::Info, "GET", "/v2/session/info"),
        (ClientOp::Me, "GET", "/v2/session/me"),
        (ClientOp::QrImage, "GET", "/v2/auth/qr-image"),
    ];
    for (op, method, path) in expected {
        let spec = req(Flavor::Wawp, op);
        assert_eq!((spec.method, spec.path.as_str()), (method, path), "{op:?}");
        assert_eq!(query(&spec), [("instance_id", "3EB0BCB2E3D4")], "{op:?}");
        assert_eq!(spec.body, None, "{op:?}");
        assert_eq!(spec.auth, AuthPlacement::Query);
    }
    let qr = req(Flavor::Wawp, ClientOp::Qr);
    assert_eq!((qr.method, qr.path.as_str()), ("GET", "/v2/auth/qr"));
    assert_eq!(
        query(&qr),
        [("instance_id", "3EB0BCB2E3D4"), ("format", "raw")]
    );
}

#[test]
fn wawp_create_needs_no_instance_and_others_do() {
    let create = build_request(Flavor::Wawp, ClientOp::Create, &RequestArgs::default()).unwrap();
    assert_eq!(
        (create.method, create.path.as_str(), create.query.len()),
        ("POST", "/v2/session/create", 0)
    );
    for op in ClientOp::ALL {
        if op == ClientOp::Create {
            continue;
        }
        for instance_id in [None, Some("   ".to_string())] {
            let a = RequestArgs {
                instance_id,
                ..args()
            };
            let err = build_request(Flavor::Wawp, op, &a).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidOption, "{op:?}");
            assert_eq!(err.op.as_deref(), Some(op.as_str()));
        }
    }
}

#[test]
fn wawp_request_code_normalises_the_phone_in_query_and_body() {
    for phone in ["+20 114 520-2826", "00201145202826", "201145202826"] {
        let a = RequestArgs {
            phone_number: Some(phone.into()),
            ..args()
        };
        let spec = build_request(Flavor::Wawp, ClientOp::RequestCode, &a).unwrap();
        assert_eq!(
            (spec.method, spec.path.as_str()),
            ("POST", "/v2/auth/request-code")
        );
        assert_eq!(
            query(&spec),
            [
                ("instance_id", "3EB0BCB2E3D4"),
                ("phone_number", "201145202826")
            ]
        );
        assert_eq!(body(&spec).str_field("phone_number"), Some("201145202826"));
    }
    for bad in [None, Some("call me"), Some("")] {
        let a = RequestArgs {
            phone_number: bad.map(str::to_string),
            ..args()
        };
        assert_eq!(
            build_request(Flavor::Wawp, ClientOp::RequestCode, &a)
                .unwrap_err()
                .code,
            ErrorCode::InvalidOption
        );
    }
}

#[test]
fn wawp_send_text_body() {
    let spec = req(Flavor::Wawp, ClientOp::SendText);
    assert_eq!((spec.method, spec.path.as_str()), ("POST", "/v2/send/text"));
    let b = body(&spec);
    assert_eq!(b.str_field("chatId"), Some("201012345678@c.us"));
    // Wawp's field is `message` (docs, wawp-sdk-python, n8n-nodes-wawp); `text` is WAHA's.
    assert_eq!(b.str_field("message"), Some("Hello, world"));
    assert_eq!(b.get("text"), None);
    assert!(
        spec.headers
            .contains(&("content-type".into(), "application/json".into()))
    );
    // A bare phone number as chat id becomes a user JID.
    let a = RequestArgs {
        chat_id: Some("+20 101 234 5678".into()),
        ..args()
    };
    let b = body(&build_request(Flavor::Wawp, ClientOp::SendText, &a).unwrap());
    assert_eq!(b.str_field("chatId"), Some("201012345678@c.us"));
    for a in [
        RequestArgs {
            chat_id: None,
            ..args()
        },
        RequestArgs {
            text: None,
            ..args()
        },
        RequestArgs {
            text: Some(String::new()),
            ..args()
        },
    ] {
        assert_eq!(
            build_request(Flavor::Wawp, ClientOp::SendText, &a)
                .unwrap_err()
                .code,
            ErrorCode::InvalidOption
        );
    }
}

#[test]
fn waha_paths_and_bodies() {
    let expected = [
        (ClientOp::Create, "POST", "/api/sessions"),
        (ClientOp::Start, "POST", "/api/sessions/default/start"),
        (ClientOp::Stop, "POST", "/api/sessions/default/stop"),
        (ClientOp::Restart, "POST", "/api/sessions/default/restart"),
        (ClientOp::Logout, "POST", "/api/sessions/default/logout"),
        (ClientOp::Delete, "DELETE", "/api/sessions/default"),
        (ClientOp::Info, "GET", "/api/sessions/default"),
        (ClientOp::Me, "GET", "/api/sessions/default/me"),
        (ClientOp::Qr, "GET", "/api/default/auth/qr"),
        (ClientOp::QrImage, "GET", "/api/default/auth/qr"),
        (
            ClientOp::RequestCode,
            "POST",
            "/api/default/auth/request-code",
        ),
        (ClientOp::SendText, "POST", "/api/sendText"),
    ];
    for (op, method, path) in expected {
        let spec = req(Flavor::Waha, op);
        assert_eq!((spec.method, spec.path.as_str()), (method, path), "{op:?}");
        assert_eq!(spec.auth, AuthPlacement::Header);
        assert!(!spec.query.iter().any(|(k, _)| k == "instance_id"));
    }
    let create = body(&req(Flavor::Waha, ClientOp::Create));
    assert_eq!(create.str_field("name"), Some("default"));
    assert_eq!(create.get("start").and_then(Value::as_bool), Some(false));
    assert_eq!(query(&req(Flavor::Waha, ClientOp::Qr)), [("format", "raw")]);
    let image = req(Flavor::Waha, ClientOp::QrImage);
    assert_eq!(query(&image), [("format", "image")]);
    assert!(
        image
            .headers
            .contains(&("accept".into(), "application/json".into()))
    );
    assert_eq!(
        body(&req(Flavor::Waha, ClientOp::RequestCode)).str_field("phoneNumber"),
        Some("201145202826")
    );
    let send = body(&req(Flavor::Waha, ClientOp::SendText));
    assert_eq!(send.str_field("session"), Some("default"));
    assert_eq!(send.str_field("chatId"), Some("201012345678@c.us"));
    assert_eq!(send.str_field("text"), Some("Hello, world"));
    assert_eq!(send.get("message"), None);
    // No instance id needed; no session means WAHA's "default".
    let spec = build_request(Flavor::Waha, ClientOp::Info, &RequestArgs::default()).unwrap();
    assert_eq!(spec.path, "/api/sessions/default");
}

#[test]
fn path_segments_and_query_values_are_percent_encoded() {
    let a = RequestArgs {
        session: Some("my session/1?x=é".into()),
        ..args()
    };
    let spec = build_request(Flavor::Waha, ClientOp::Start, &a).unwrap();
    assert_eq!(
        spec.path,
        "/api/sessions/my%20session%2F1%3Fx%3D%C3%A9/start"
    );
    let a = RequestArgs {
        instance_id: Some("a&b=c d".into()),
        ..args()
    };
    let spec = build_request(Flavor::Wawp, ClientOp::Qr, &a).unwrap();
    assert_eq!(
        spec.path_and_query(),
        "/v2/auth/qr?instance_id=a%26b%3Dc%20d&format=raw"
    );
    assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
    let v = spec.to_value();
    assert_eq!(v.str_field("auth"), Some("query"));
    assert_eq!(v.str_field("method"), Some("GET"));
    assert_eq!(
        v.get("headers").unwrap().str_field("accept"),
        Some("application/json")
    );
}

#[test]
fn names_round_trip() {
    for op in ClientOp::ALL {
        assert_eq!(ClientOp::parse(op.as_str()), Some(op));
    }
    assert_eq!(ClientOp::QrImage.as_str(), "qrImage");
    assert_eq!(ClientOp::RequestCode.as_str(), "requestCode");
    assert_eq!(ClientOp::SendText.as_str(), "sendText");
    assert_eq!(ClientOp::parse("qr-image"), None);
    for f in [Flavor::Wawp, Flavor::Waha] {
        assert_eq!(Flavor::parse(f.as_str()), Some(f));
    }
    assert_eq!(Flavor::parse("WAHA"), None);
}

// ---------------------------------------------------------------------------------------------
// Successful responses

/// Expected JSON, compared as a value (object keys have no order).
fn j(text: &str) -> Value {
    payload::parse(text).unwrap()
}

fn ok(op: ClientOp, status: u16, body: &str) -> Value {
    classify_response(op, status, None, body, 0.0)
        .unwrap_or_else(|e| panic!("{op:?} {status} {body:?}: {e}"))
}

fn err(op: ClientOp, status: u16, body: &str) -> wawp_session::WawpError {
    classify_response(op, status, None, body, 0.0).expect_err(body)
}

#[test]
fn create_results_of_both_flavours() {
    let wawp = ok(
        ClientOp::Create,
        200,
        r#"{"instance_id":"3EB0BCB2E3D4","session_name":"wawp-84729105","server_name":"node-7","status":"STOPPED"}"#,
    );
    assert_eq!(
        wawp,
        j(
            r#"{"instanceId":"3EB0BCB2E3D4","sessionName":"wawp-84729105","serverName":"node-7","status":"STOPPED"}"#
        )
    );
    let waha = ok(
        ClientOp::Create,
        201,
        r#"{"name":"default","status":"STOPPED","config":{"webhooks":[]}}"#,
    );
    assert_eq!(
        waha,
        j(r#"{"instanceId":"default","sessionName":"default","status":"STOPPED"}"#)
    );
    let e = err(ClientOp::Create, 200, r#"{"status":"STOPPED"}"#);
    assert_eq!(
        (e.code, e.http_status, e.op.as_deref()),
        (ErrorCode::InvalidPayload, Some(200), Some("create"))
    );
    assert_eq!(
        err(ClientOp::Create, 200, "").code,
        ErrorCode::InvalidPayload
    );
}

#[test]
fn qr_value_from_every_documented_shape() {
    let value = |body: &str| {
        ok(ClientOp::Qr, 200, body)
            .str_field("value")
            .unwrap()
            .to_string()
    };
    assert_eq!(value(r#"{"value":"2@abc,def"}"#), "2@abc,def");
    assert_eq!(value(r#"{"qr":"2@abc,def"}"#), "2@abc,def");
    let inner = base64_encode(br#"{"value":"2@abc,def","expiry":1722170460}"#);
    assert_eq!(
        value(&format!(
            r#"{{"mimetype":"application/json","data":"{inner}"}}"#
        )),
        "2@abc,def"
    );
    let text = base64_encode(b"2@abc,def");
    assert_eq!(
        value(&format!(r#"{{"mimetype":"text/plain","data":"{text}"}}"#)),
        "2@abc,def"
    );
    assert_eq!(value("  2@abc,def \n"), "2@abc,def");
    // A PNG is not a QR value; neither is an HTML page.
    let png = base64_encode(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0xFE]);
    for bad in [
        format!(r#"{{"mimetype":"image/png","data":"{png}"}}"#),
        r#"{"mimetype":"image/png","data":"***"}"#.to_string(),
        "<html><body>login</body></html>".to_string(),
        String::new(),
        "{}".to_string(),
    ] {
        assert_eq!(
            err(ClientOp::Qr, 200, &bad).code,
            ErrorCode::InvalidPayload,
            "{bad}"
        );
    }
}

#[test]
fn qr_image_as_a_data_url() {
    let qr = |body: &str| {
        ok(ClientOp::QrImage, 200, body)
            .str_field("qr")
            .unwrap()
            .to_string()
    };
    assert_eq!(
        qr(r#"{"qr":"data:image/png;base64,iVBORw0KGgo="}"#),
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        qr(r#"{"qr":"iVBORw0KGgo="}"#),
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        qr(r#"{"mimetype":"image/png","data":"iVBORw0KGgo="}"#),
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        err(ClientOp::QrImage, 200, "\u{fffd}PNG").code,
        ErrorCode::InvalidPayload
    );
}

#[test]
fn request_code_send_text_me_and_lifecycle_bodies() {
    assert_eq!(
        ok(ClientOp::RequestCode, 201, r#"{"code":"ABCD-1234"}"#),
        j(r#"{"code":"ABCD-1234"}"#)
    );
    assert_eq!(
        err(ClientOp::RequestCode, 200, "{}").code,
        ErrorCode::InvalidPayload
    );
    let id = |body: &str| ok(ClientOp::SendText, 201, body);
    assert_eq!(
        id(r#"{"id":"msg-1","status":"sent"}"#),
        j(r#"{"id":"msg-1"}"#)
    );
    assert_eq!(
        id(
            r#"{"id":{"fromMe":true,"remote":"1@c.us","id":"ABC","_serialized":"true_1@c.us_ABC"}}"#
        ),
        j(r#"{"id":"true_1@c.us_ABC"}"#)
    );
    assert_eq!(
        id(r#"{"key":{"id":"BAE5"},"status":1}"#),
        j(r#"{"id":"BAE5"}"#)
    );
    assert_eq!(id(""), j("{}"));

    let me = r#"{"id":"201012345678@c.us","pushName":"John Doe"}"#;
    assert_eq!(ok(ClientOp::Me, 200, me), j(me));
    assert_eq!(ok(ClientOp::Me, 200, "null"), Value::Null);
    assert_eq!(ok(ClientOp::Me, 200, ""), Value::Null);
    assert_eq!(ok(ClientOp::Me, 200, &format!(r#"{{"me":{me}}}"#)), j(me));
    assert_eq!(
        err(ClientOp::Me, 200, "[1]").code,
        ErrorCode::InvalidPayload
    );

    let info = r#"{"name":"wawp-84729105","status":"WORKING","config":{"webhooks":{},"proxy":null},"me":{"id":"201012345678@c.us","pushName":"John Doe"}}"#;
    assert_eq!(ok(ClientOp::Info, 200, info), j(info));
    assert_eq!(ok(ClientOp::Delete, 200, ""), Value::Null);
    assert_eq!(
        ok(ClientOp::Info, 200, "WORKING"),
        Value::String("WORKING".into())
    );
    assert_eq!(
        err(ClientOp::Info, 200, "<html>captive portal</html>").code,
        ErrorCode::InvalidPayload
    );
}

#[test]
fn success_status_with_an_error_body_is_an_error() {
    let cases = [
        (
            ClientOp::Start,
            r#"{"code":"invalid_access_token","message":"Invalid access token"}"#,
            ErrorCode::Unauthorized,
        ),
        (
            ClientOp::Info,
            r#"{"code":"invalid_instance","message":"No such instance"}"#,
            ErrorCode::NotFound,
        ),
        (
            ClientOp::Info,
            r#"{"code":"invalid_session","message":"x"}"#,
            ErrorCode::NotFound,
        ),
        (
            ClientOp::Restart,
            r#"{"code":"wawp_upstream_error","message":"upstream"}"#,
            ErrorCode::Server,
        ),
        (
            ClientOp::SendText,
            r#"{"code":"something_new","message":"?"}"#,
            ErrorCode::BadRequest,
        ),
        (
            ClientOp::Info,
            r#"{"success":false,"message":"nope"}"#,
            ErrorCode::BadRequest,
        ),
        (
            ClientOp::Info,
            r#"{"statusCode":404,"message":"gone","error":"Not Found"}"#,
            ErrorCode::NotFound,
        ),
        (
            ClientOp::RequestCode,
            r#"{"code":"invalid_instance","message":"x"}"#,
            ErrorCode::NotFound,
        ),
    ];
    for (op, body, code) in cases {
        let e = err(op, 200, body);
        assert_eq!((e.code, e.http_status), (code, Some(200)), "{body}");
    }
    assert!(
        err(
            ClientOp::Start,
            200,
            r#"{"code":"invalid_access_token","message":"Invalid access token"}"#
        )
        .message
        .contains("Invalid access token")
    );
    // Wawp's legacy 200s with `status: "error"` or `success: false` are errors with a code,
    // never a success without an id.
    for (op, body, code) in [
        (
            ClientOp::SendText,
            r#"{"status":"error","message":"Instance is not connected"}"#,
            ErrorCode::BadRequest,
        ),
        (
            ClientOp::SendText,
            r#"{"status":"ERROR","code":"invalid_instance","message":"x"}"#,
            ErrorCode::NotFound,
        ),
        (
            ClientOp::Info,
            r#"{"status":"error","statusCode":401,"message":"x"}"#,
            ErrorCode::Unauthorized,
        ),
        (
            ClientOp::SendText,
            r#"{"success":false,"status":"sent","message":"quota"}"#,
            ErrorCode::BadRequest,
        ),
        (
            ClientOp::SendText,
            r#"{"success":false,"code":"invalid_access_token","message":"bad token"}"#,
            ErrorCode::Unauthorized,
        ),
        (
            ClientOp::Start,
            r#"{"status":"error","message":"engine down"}"#,
            ErrorCode::BadRequest,
        ),
    ] {
        let e = err(op, 200, body);
        assert_eq!((e.code, e.http_status), (code, Some(200)), "{body}");
    }
    assert!(
        err(
            ClientOp::SendText,
            200,
            r#"{"status":"error","message":"Instance is not connected"}"#
        )
        .message
        .contains("Instance is not connected")
    );
    // Session statuses stay statuses (FAILED is one; ERROR is not).
    assert_eq!(
        ok(ClientOp::Info, 200, r#"{"status":"FAILED"}"#).str_field("status"),
        Some("FAILED")
    );
    // A status in the body means it is a session object, whatever else it carries.
    ok(
        ClientOp::Info,
        200,
        r#"{"status":"WORKING","code":"x_y","error":"none"}"#,
    );
}

// ---------------------------------------------------------------------------------------------
// Error responses

#[test]
fn json_error_bodies_of_waha_and_wawp() {
    let e = err(
        ClientOp::Info,
        401,
        r#"{"message":"Unauthorized","statusCode":401}"#,
    );
    assert_eq!(
        (e.code, e.http_status, e.op.as_deref()),
        (ErrorCode::Unauthorized, Some(401), Some("info"))
    );
    assert_eq!(e.message, "info failed: HTTP 401: Unauthorized");
    let e = err(
        ClientOp::Start,
        404,
        "{\"statusCode\":404,\"message\":\"We didn't find a session with name 'x'.\\nPlease start it first\",\"error\":\"Not Found\"}",
    );
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(
        e.message
            .ends_with("We didn't find a session with name 'x'. Please start it first")
    );
    // NestJS validation errors carry an array of messages.
    let e = err(
        ClientOp::SendText,
        400,
        r#"{"statusCode":400,"message":["chatId must be a string","text should not be empty"],"error":"Bad Request"}"#,
    );
    assert!(
        e.message
            .contains("chatId must be a string; text should not be empty")
    );
    // A 400 with a legacy code says more than the status.
    assert_eq!(
        err(
            ClientOp::Info,
            400,
            r#"{"code":"invalid_access_token","message":"bad"}"#
        )
        .code,
        ErrorCode::Unauthorized
    );
    assert_eq!(
        err(
            ClientOp::Info,
            403,
            r#"{"code":"subscription_required","message":"Upgrade"}"#
        )
        .code,
        ErrorCode::Forbidden
    );
    // A stack trace is not a message.
    let e = err(
        ClientOp::Info,
        500,
        r#"{"statusCode":500,"timestamp":"2024-01-01","exception":{"stack":"Error at /app/src/x.ts:1"}}"#,
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::Server, "info failed: HTTP 500")
    );
}

#[test]
fn start_already_started_is_success_but_not_for_other_ops() {
    let body = r#"{"statusCode":422,"message":"Session 'default3' is already started.","error":"Unprocessable Entity"}"#;
    assert_eq!(
        ok(ClientOp::Start, 422, body),
        j(r#"{"alreadyStarted":true}"#)
    );
    assert_eq!(err(ClientOp::Restart, 422, body).code, ErrorCode::Conflict);
    assert_eq!(
        ok(
            ClientOp::Start,
            200,
            r#"{"code":"session_already_started","message":"x"}"#
        ),
        j(r#"{"alreadyStarted":true}"#)
    );
    let e = err(
        ClientOp::SendText,
        422,
        r#"{"code":"session_not_working","message":"Session status is not as expected. Current: STARTING"}"#,
    );
    assert_eq!(e.code, ErrorCode::Conflict);
    let e = err(
        ClientOp::SendText,
        400,
        "Session status is not as expected: STOPPED",
    );
    assert_eq!(e.code, ErrorCode::Conflict);
    let e = err(
        ClientOp::Start,
        422,
        r#"{"statusCode":422,"message":"The session under FAILED status. Please try to restart it.","error":"Unprocessable Entity"}"#,
    );
    assert_eq!(e.code, ErrorCode::Conflict);
}

#[test]
fn html_xml_text_and_empty_error_bodies() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title><style>body{color:red}</style>\
        <script>var token='abc';</script></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n\
        <hr><center>nginx/1.18.0 &amp; friends</center>\r\n</body>\r\n</html>";
    let e = err(ClientOp::Info, 502, html);
    assert_eq!(e.code, ErrorCode::Server);
    assert_eq!(
        e.message,
        "info failed: HTTP 502: 502 Bad Gateway 502 Bad Gateway nginx/1.18.0 & friends"
    );
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?><error><code>missing_parameter</code><message>instance_id is required</message></error>"#;
    let e = err(ClientOp::Start, 400, xml);
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert_eq!(
        e.message,
        "start failed: HTTP 400: missing_parameter instance_id is required"
    );
    // The simulator's XML escapes quotes numerically.
    let e = err(
        ClientOp::Start,
        400,
        "<?xml version=\"1.0\"?>\n<error><code>invalid_json</code><message>Session &#39;x&#39; &#x3C;1&#62; &amp;amp; &bogus; a&b</message></error>\n",
    );
    assert_eq!(
        e.message,
        "start failed: HTTP 400: invalid_json Session 'x' <1> &amp; &bogus; a&b"
    );
    let e = err(
        ClientOp::Stop,
        400,
        "Missing required parameter: instance_id\n",
    );
    assert_eq!(
        e.message,
        "stop failed: HTTP 400: Missing required parameter: instance_id"
    );
    let e = err(ClientOp::Logout, 503, "");
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::Server, "logout failed: HTTP 503")
    );
    let e = err(ClientOp::Info, 0, "");
    assert_eq!(e.code, ErrorCode::Network);
    // Long bodies are cut to a short excerpt.
    let long = "x".repeat(10_000);
    let e = err(ClientOp::Info, 500, &long);
    assert!(e.message.chars().count() < 200, "{}", e.message.len());
    assert!(e.message.ends_with('…'));
}

#[test]
fn rate_limits_carry_the_parsed_retry_after() {
    let e =
        classify_response(ClientOp::Start, 429, Some("7"), "Too Many Requests", 0.0).unwrap_err();
    assert_eq!(
        (e.code, e.retry_after_ms, e.http_status),
        (ErrorCode::RateLimited, Some(7_000.0), Some(429))
    );
    let now = 784_111_777_000.0 - 2_500.0;
    let e = classify_response(
        ClientOp::Info,
        503,
        Some("Sun, 06 Nov 1994 08:49:37 GMT"),
        "",
        now,
    )
    .unwrap_err();
    assert_eq!(e.retry_after_ms, Some(2_500.0));
    let e = classify_response(ClientOp::Info, 429, Some("soon"), "", 0.0).unwrap_err();
    assert_eq!(e.retry_after_ms, None);
}

const SECRET: &str = "tok_S3cr3tValue";

#[test]
fn credentials_never_reach_a_message() {
    let bodies = [
        format!("Invalid request to /v2/session/start?instance_id=X&access_token={SECRET}"),
        format!(r#"{{"message":"bad key: x-api-key: {SECRET}"}}"#),
        format!(r#"{{"error":"forbidden","message":"api_key={SECRET} rejected"}}"#),
        format!(r#"<html><body>Authorization: Bearer {SECRET}</body></html>"#),
        format!(r#"<error><detail>"access_token":"{SECRET}"</detail></error>"#),
        format!("ACCESS_TOKEN = '{SECRET}'"),
        format!("apikey:{SECRET}"),
        format!("webhook secret={SECRET}; retry"),
    ];
    for body in &bodies {
        for status in [200, 400, 401, 500] {
            let result = classify_response(ClientOp::Info, status, None, body, 0.0);
            let text = match result {
                Ok(v) => v.to_string(),
                Err(e) => format!("{e} {:?}", e.op),
            };
            if status == 200 {
                continue; // a success body is the caller's own data
            }
            assert!(!text.contains(SECRET), "{status} {body} → {text}");
            assert!(text.contains("[redacted]"), "{status} {body} → {text}");
        }
    }
    assert_eq!(
        redact_secrets("the token is invalid; access token expired"),
        "the token is invalid; access token expired"
    );
    assert_eq!(
        redact_secrets("a=1&access_token=abc&b=2"),
        "a=1&access_token=[redacted]&b=2"
    );
}

// ---------------------------------------------------------------------------------------------
// Retries

#[test]
fn retry_table() {
    use ErrorCode::*;
    for code in ErrorCode::ALL {
        for delivered in [true, false] {
            assert!(
                !may_retry(ClientOp::Create, code, None, delivered),
                "create {code}"
            );
        }
    }
    for op in ClientOp::ALL {
        if !op.is_idempotent() {
            continue;
        }
        for code in [RateLimited, Server, Network, Timeout] {
            assert!(may_retry(op, code, None, true), "{op:?} {code}");
        }
        for code in [
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            InvalidPayload,
        ] {
            assert!(!may_retry(op, code, None, true), "{op:?} {code}");
        }
    }
    // sendText: only when the message certainly did not go out.
    assert!(may_retry(ClientOp::SendText, RateLimited, None, true));
    assert!(may_retry(ClientOp::SendText, Conflict, None, true));
    assert!(may_retry(ClientOp::SendText, Network, None, false));
    assert!(may_retry(ClientOp::SendText, Timeout, None, false));
    assert!(!may_retry(ClientOp::SendText, Network, None, true));
    assert!(!may_retry(ClientOp::SendText, Timeout, None, true));
    assert!(!may_retry(ClientOp::SendText, Server, None, true));
    // A 5xx came back from the server, so the request reached it; only a 503 says it was not
    // taken. The same rule as the machine's delivery policy (http::send_not_delivered).
    assert!(!may_retry(ClientOp::SendText, Server, Some(500), true));
    assert!(!may_retry(ClientOp::SendText, Server, Some(502), true));
    assert!(may_retry(ClientOp::SendText, Server, Some(503), true));
    assert!(may_retry(ClientOp::SendText, Conflict, Some(422), true));
    assert!(!may_retry(ClientOp::SendText, Conflict, Some(409), true));
    assert!(!may_retry(ClientOp::SendText, Unauthorized, None, false));
}

#[test]
fn base64_round_trip_and_rejects() {
    for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
        assert_eq!(base64_decode(&base64_encode(bytes)).unwrap(), bytes);
    }
    assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
    assert_eq!(
        base64_decode("-_-_").unwrap(),
        base64_decode("+/+/").unwrap()
    );
    assert_eq!(base64_decode("Zm9v\nYmFy").unwrap(), b"foobar");
    assert_eq!(base64_decode("Zm9v*"), None);
    assert_eq!(base64_decode("Z"), None);
    assert_eq!(base64_decode("Zg==Zg=="), None);
}

#[test]
fn hostile_bodies_are_classified_quickly() {
    // Thousands of script tags, an unclosed tag and a megabyte of keys: linear work only.
    let bodies = [
        "<script>x</script>".repeat(60_000),
        format!("<{}", "a".repeat(1 << 20)),
        "access_token=".repeat(80_000),
    ];
    let started = std::time::Instant::now();
    for body in &bodies {
        let e = err(ClientOp::Info, 500, body);
        assert!(e.message.chars().count() < 200);
    }
    // Generous for a debug build on a busy machine (linear work takes ~50 ms here; the
    // quadratic redaction this guards against took 9 s).
    assert!(started.elapsed().as_secs() < 3, "{:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Follow-up requests

#[test]
fn wawp_info_moves_to_post_on_405_or_a_404_that_is_not_json() {
    let post = Some(FollowUp {
        op: ClientOp::Info,
        method: Some("POST"),
        answer_as: ClientOp::Info,
    });
    let info = |method, status, body| follow_up(Flavor::Wawp, ClientOp::Info, method, status, body);
    assert_eq!(info("GET", 405, ""), post);
    assert_eq!(
        info("GET", 405, r#"{"message":"Method Not Allowed"}"#),
        post
    );
    assert_eq!(
        info(
            "GET",
            404,
            "<html><body>Cannot GET /v2/session/info</body></html>"
        ),
        post
    );
    assert_eq!(info("GET", 404, ""), post);
    // Wawp's own 404 (a JSON body) is a real "no such instance".
    assert_eq!(
        info("GET", 404, r#"{"code":"invalid_instance","message":"x"}"#),
        None
    );
    // Already POST: nothing more to try; other statuses and ops, and WAHA, never.
    assert_eq!(info("POST", 405, ""), None);
    for status in [200, 400, 401, 422, 429, 500] {
        assert_eq!(info("GET", status, "<html></html>"), None, "{status}");
    }
    assert_eq!(follow_up(Flavor::Wawp, ClientOp::Me, "GET", 405, ""), None);
    assert_eq!(
        follow_up(Flavor::Waha, ClientOp::Info, "GET", 405, ""),
        None
    );
    let value = post.unwrap().to_value();
    assert_eq!(value.str_field("method"), Some("POST"));
    assert_eq!(value.str_field("answerAs"), Some("info"));
}

#[test]
fn waha_create_of_an_existing_session_reads_it_and_answers_it_as_create() {
    // Byte for byte what WAHA Core 2024.10.8 answered on loopback.
    let exists = r#"{"statusCode":422,"message":"Session 'default' already exists. Use PUT to update it.","error":"Unprocessable Entity"}"#;
    let adopt = follow_up(Flavor::Waha, ClientOp::Create, "POST", 422, exists).unwrap();
    assert_eq!(
        adopt,
        FollowUp {
            op: ClientOp::Info,
            method: None,
            answer_as: ClientOp::Create,
        }
    );
    assert_eq!(adopt.to_value().get("method"), None);
    // The info answer (WAHA SessionInfo) classified as a create result.
    let info = r#"{"name":"default","status":"STOPPED","config":null,"me":null,"presence":null,"timestamps":{"activity":null},"engine":{"engine":"WEBJS"}}"#;
    let created = ok(adopt.answer_as, 200, info);
    assert_eq!(created.str_field("instanceId"), Some("default"));
    assert_eq!(created.str_field("status"), Some("STOPPED"));
    // Without the follow-up the same 422 is a conflict; other 422s have no follow-up.
    assert_eq!(err(ClientOp::Create, 422, exists).code, ErrorCode::Conflict);
    let started = r#"{"statusCode":422,"message":"Session 'default' is already started.","error":"Unprocessable Entity"}"#;
    assert_eq!(
        follow_up(Flavor::Waha, ClientOp::Create, "POST", 422, started),
        None
    );
    assert_eq!(
        follow_up(Flavor::Waha, ClientOp::Create, "POST", 409, exists),
        None
    );
    assert_eq!(
        follow_up(Flavor::Wawp, ClientOp::Create, "POST", 422, exists),
        None
    );
    assert_eq!(
        follow_up(Flavor::Waha, ClientOp::Start, "POST", 422, exists),
        None
    );
    // A plain-text 422 from a proxy in between says the same.
    assert!(
        follow_up(
            Flavor::Waha,
            ClientOp::Create,
            "POST",
            422,
            "Session already exists"
        )
        .is_some()
    );
}

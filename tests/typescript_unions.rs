//! The package's TypeScript types are written by hand in `src/wasm/typescript.rs` (tsify would
//! bring a second derive per type into the wasm); this test keeps every string union there equal to
//! the Rust enum behind it, both ways. A variant added on one side only fails here; the exhaustive
//! matches below stop compiling when a Rust enum gains a variant the list does not name.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use serde::Serialize;
use wawp_session::backoff::Jitter;
use wawp_session::driver::StoredSendState;
use wawp_session::error::ErrorCode;
use wawp_session::http::{ClientOp, Flavor};
use wawp_session::identity::IdentityVerdict;
use wawp_session::machine::{Action, AdminReason, Event, Op};
use wawp_session::metrics::RestartKind;
use wawp_session::status::{SessionStatus, UiAction};

const TYPESCRIPT: &str = include_str!("../src/wasm/typescript.rs");

/// The text of `export type NAME = ...;`: up to the first line-ending `;` whose next line is not
/// indented (members continue on indented lines).
fn declaration(name: &str) -> &'static str {
    let start = TYPESCRIPT
        .find(&format!("export type {name} ="))
        .unwrap_or_else(|| panic!("no `export type {name}` in src/wasm/typescript.rs"));
    let rest = &TYPESCRIPT[start..];
    let end = rest
        .match_indices(";\n")
        .map(|(i, _)| i)
        .find(|&i| !rest[i + 2..].starts_with(' '))
        .expect("a declaration ends with `;`");
    &rest[..end]
}

/// Every `"literal"` of a union, skipping `/** comments */`.
fn literals(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(['"', '/']) {
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("/**") {
            rest = &after[after.find("*/").expect("comment ends") + 2..];
        } else if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').expect("string ends");
            out.insert(after[..end].to_string());
            rest = &after[end + 1..];
        } else {
            rest = &rest[1..];
        }
    }
    out
}

/// The `type: "..."` tags of a union of object types.
fn tags(text: &str) -> BTreeSet<String> {
    text.split("type: \"")
        .skip(1)
        .map(|s| s[..s.find('"').expect("tag ends")].to_string())
        .collect()
}

fn names<T: Serialize>(values: &[T]) -> BTreeSet<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v).unwrap() {
            serde_json::Value::String(s) => s,
            other => panic!("not a string: {other}"),
        })
        .collect()
}

#[test]
fn string_unions_match_their_rust_enums() {
    assert_eq!(
        literals(declaration("SessionStatus")),
        names(&SessionStatus::ALL)
    );
    assert_eq!(literals(declaration("UiAction")), names(&UiAction::ALL));
    assert_eq!(literals(declaration("ErrorCode")), names(&ErrorCode::ALL));
    assert_eq!(literals(declaration("ClientOp")), names(&ClientOp::ALL));

    let verdicts = [
        IdentityVerdict::Match,
        IdentityVerdict::Mismatch,
        IdentityVerdict::Unverifiable,
    ];
    for v in verdicts {
        match v {
            IdentityVerdict::Match | IdentityVerdict::Mismatch | IdentityVerdict::Unverifiable => {}
        }
    }
    assert_eq!(literals(declaration("IdentityVerdict")), names(&verdicts));

    let ops = [
        Op::Start,
        Op::Restart,
        Op::Stop,
        Op::Logout,
        Op::Info,
        Op::Me,
    ];
    for op in ops {
        match op {
            Op::Start | Op::Restart | Op::Stop | Op::Logout | Op::Info | Op::Me => {}
        }
    }
    assert_eq!(literals(declaration("MachineOp")), names(&ops));

    let reasons = [
        AdminReason::Failed,
        AdminReason::RestartBudgetExhausted,
        AdminReason::IdentityMismatch,
        AdminReason::Unauthorized,
        AdminReason::Deleted,
    ];
    for r in reasons {
        match r {
            AdminReason::Failed
            | AdminReason::RestartBudgetExhausted
            | AdminReason::IdentityMismatch
            | AdminReason::Unauthorized
            | AdminReason::Deleted => {}
        }
    }
    assert_eq!(literals(declaration("AdminReason")), names(&reasons));

    for k in RestartKind::ALL {
        match k {
            RestartKind::Watchdog | RestartKind::Recovery | RestartKind::Other => {}
        }
    }
    assert_eq!(
        literals(declaration("RestartKind")),
        names(&RestartKind::ALL)
    );

    let stored = [StoredSendState::Queued, StoredSendState::Sending];
    for state in stored {
        match state {
            StoredSendState::Queued | StoredSendState::Sending => {}
        }
    }
    assert_eq!(literals(declaration("StoredSendState")), names(&stored));

    let flavors = [Flavor::Wawp, Flavor::Waha];
    for f in flavors {
        match f {
            Flavor::Wawp | Flavor::Waha => {}
        }
    }
    assert_eq!(literals(declaration("Flavor")), names(&flavors));

    let jitters = [
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
        Jitter::None,
    ];
    for j in jitters {
        match j {
            Jitter::Full | Jitter::Equal | Jitter::Decorrelated | Jitter::None => {}
        }
    }
    let jitter_option = TYPESCRIPT
        .lines()
        .find(|l| l.trim_start().starts_with("jitter?:"))
        .expect("BackoffOptions.jitter");
    assert_eq!(literals(jitter_option), names(&jitters));
}

#[test]
fn the_action_union_has_one_member_per_action() {
    let all = [
        Action::Call { op: Op::Start },
        Action::Ui {
            ui_action: UiAction::Start,
            status: SessionStatus::Stopped,
        },
        Action::ReleaseSend { id: "a".into() },
        Action::RejectSend {
            id: "a".into(),
            code: ErrorCode::Closed,
        },
        Action::ResolveSend { id: "a".into() },
        Action::HoldSend {
            id: "a".into(),
            attempts: 1,
        },
        Action::ClearIdentity,
        Action::Identity {
            verdict: IdentityVerdict::Match,
            me: None,
        },
        Action::NotifyAdmin {
            reason: AdminReason::Failed,
        },
        Action::Persist,
    ];
    for a in &all {
        match a {
            Action::Call { .. }
            | Action::Ui { .. }
            | Action::ReleaseSend { .. }
            | Action::RejectSend { .. }
            | Action::ResolveSend { .. }
            | Action::HoldSend { .. }
            | Action::ClearIdentity
            | Action::Identity { .. }
            | Action::NotifyAdmin { .. }
            | Action::Persist => {}
        }
    }
    let rust: BTreeSet<String> = all
        .iter()
        .map(|a| {
            serde_json::to_value(a).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(tags(declaration("Action")), rust);
}

#[test]
fn the_event_union_names_exactly_the_events_the_machine_reads() {
    let typescript = tags(declaration("MachineEvent"));
    // The Rust side: each variant's JS name (exhaustive, so a new variant must be named here).
    let rust_name = |e: &Event| match e {
        Event::Status(_) => "status",
        Event::WarmBoot => "warm_boot",
        Event::Send { .. } => "send",
        Event::SendRefused { .. } => "send_refused",
        Event::SendResult(_) => "send_result",
        Event::Result(_) => "result",
        Event::UserRetry => "user_retry",
        Event::UserStart => "user_start",
        Event::UserStop => "user_stop",
        Event::UserLogout => "user_logout",
        Event::Timeout => "timeout",
    };
    let minimal = |tag: &str| -> serde_json::Value {
        match tag {
            "status" => serde_json::json!({"type": tag, "input": "WORKING"}),
            "send" | "send_refused" => serde_json::json!({"type": tag, "id": "a"}),
            "send_result" => serde_json::json!({"type": tag, "id": "a", "ok": true}),
            "result" => serde_json::json!({"type": tag, "op": "info", "ok": true}),
            _ => serde_json::json!({"type": tag}),
        }
    };
    let read: BTreeSet<String> = typescript
        .iter()
        .map(|tag| {
            let event = Event::from_value(&minimal(tag))
                .unwrap_or_else(|e| panic!("the machine does not read {tag}: {e:?}"));
            rust_name(&event).to_string()
        })
        .collect();
    assert_eq!(read, typescript);
    // ... and every Rust variant has its member (the match above names them all).
    let every_variant: BTreeSet<String> = [
        "status",
        "warm_boot",
        "send",
        "send_refused",
        "send_result",
        "result",
        "user_retry",
        "user_start",
        "user_stop",
        "user_logout",
        "timeout",
    ]
    .map(String::from)
    .into();
    assert_eq!(typescript, every_variant);
    assert!(Event::from_value(&minimal("no_such_event")).is_err());
}

/// The field names of `export interface NAME { ... }` (one field per line, comments skipped).
fn interface_fields(name: &str) -> BTreeSet<String> {
    let start = TYPESCRIPT
        .find(&format!("export interface {name} {{"))
        .unwrap_or_else(|| panic!("no `export interface {name}` in src/wasm/typescript.rs"));
    let body = &TYPESCRIPT[start..];
    let body = &body[..body.find("\n}").expect("the interface ends")];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("/**") && !l.starts_with('*'))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, _)| k.trim_end_matches('?').to_string())
        })
        .collect()
}

#[test]
fn the_driver_unions_match_the_driver() {
    use wawp_session::driver::{DriverEffect, DriverOnly, SessionDriver};
    use wawp_session::machine::{MachineOptions, Pause};

    // DriverEffect: every Action, plus the driver's own effects (exhaustive match below).
    let own = [
        DriverOnly::View,
        DriverOnly::ReadQr,
        DriverOnly::Result {
            op: Op::Start,
            ok: false,
            error: ErrorCode::RateLimited,
        },
    ];
    for effect in &own {
        match effect {
            DriverOnly::View | DriverOnly::ReadQr | DriverOnly::Result { .. } => {}
        }
    }
    let rust: BTreeSet<String> = own
        .into_iter()
        .map(|e| {
            serde_json::to_value(DriverEffect::Driver(e)).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let declared = declaration("DriverEffect");
    assert!(
        declared.contains("| Action\n"),
        "DriverEffect includes every Action"
    );
    assert_eq!(tags(declared), rust);

    // DriverEvent: the machine's events; `result` and `send_result` may carry a message.
    let declared = declaration("DriverEvent");
    assert!(declared.contains("Exclude<MachineEvent, { type: \"result\" | \"send_result\" }>"));
    assert!(
        declared.contains("Extract<MachineEvent, { type: \"result\" }> & { message?: string }")
    );
    assert!(declared.contains("Extract<MachineEvent, { type: \"send_result\" }> & { message?: string; messageId?: string }"));

    let pauses = [
        Pause::RestartBudgetExhausted,
        Pause::Unauthorized,
        Pause::Deleted,
    ];
    for p in pauses {
        match p {
            Pause::RestartBudgetExhausted | Pause::Unauthorized | Pause::Deleted => {}
        }
    }
    assert_eq!(literals(declaration("Pause")), names(&pauses));

    // SessionView: the interface names exactly the fields the driver's view serializes.
    let view = serde_json::to_value(SessionDriver::new(MachineOptions::default()).view()).unwrap();
    let rust: BTreeSet<String> = view.as_object().unwrap().keys().cloned().collect();
    assert_eq!(interface_fields("SessionView"), rust);
}

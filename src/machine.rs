//! The sans-IO session machine, one per instance: `handle(event, now_ms)`, then drain
//! `poll_action()`, then arm a timer at `poll_timeout()`. Rules: issue #2 and
//! `../shared/seed/session-lifecycle.txt`.
//! STUB: types and signatures fixed; the machine engineer fills in the logic.

use std::collections::VecDeque;

use crate::error::{ErrorCode, Result, WawpError};
use crate::identity::IdentityVerdict;
use crate::json::{self, Value};
use crate::status::{SessionStatus, StatusReport, UiAction};

/// A lifecycle or read call the host performs over HTTP and answers with `Event::Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Start,
    Restart,
    Stop,
    Logout,
    Info,
    Me,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Restart => "restart",
            Op::Stop => "stop",
            Op::Logout => "logout",
            Op::Info => "info",
            Op::Me => "me",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        [
            Op::Start,
            Op::Restart,
            Op::Stop,
            Op::Logout,
            Op::Info,
            Op::Me,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }

    /// start, restart, stop and logout change the session: at most one is in flight.
    pub fn is_lifecycle(self) -> bool {
        matches!(self, Op::Start | Op::Restart | Op::Stop | Op::Logout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    /// 0 = Sunday .. 6 = Saturday (UTC), as `Date.prototype.getUTCDay`.
    pub weekday: u8,
    pub hour_utc: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MachineOptions {
    pub expected_jid: Option<String>,
    pub starting_timeout_ms: f64,
    pub failed_restart_delay_ms: f64,
    pub max_auto_restarts: u32,
    pub debounce_ms: f64,
    pub max_queued_sends: usize,
    pub send_timeout_ms: f64,
    pub maintenance: Option<Maintenance>,
    /// Reconciliation `info` when nothing was observed for this long while STARTING / SCAN_QR_CODE.
    pub reconcile_short_ms: f64,
    /// ... and while WORKING (or otherwise settled).
    pub reconcile_long_ms: f64,
}

impl Default for MachineOptions {
    fn default() -> Self {
        MachineOptions {
            expected_jid: None,
            starting_timeout_ms: 60_000.0,
            failed_restart_delay_ms: 30_000.0,
            max_auto_restarts: 5,
            debounce_ms: 10_000.0,
            max_queued_sends: 1000,
            send_timeout_ms: 120_000.0,
            maintenance: None,
            reconcile_short_ms: 15_000.0,
            reconcile_long_ms: 300_000.0,
        }
    }
}

impl MachineOptions {
    /// The JS options object (camelCase); hostile values → `invalid_option`.
    pub fn from_value(v: &Value) -> Result<MachineOptions> {
        let _ = v;
        Ok(MachineOptions::default())
    }
}

/// The answer to a `call` action.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub op: Op,
    pub ok: bool,
    pub error: Option<ErrorCode>,
    pub http_status: Option<u16>,
    pub retry_after_ms: Option<f64>,
    /// The parsed response body (`info` object, `me` object or null, ...).
    pub body: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status(Box<StatusReport>),
    WarmBoot,
    Send {
        id: String,
        timeout_ms: Option<f64>,
    },
    Result(CallResult),
    /// The UI's Retry button: restart now, re-arming automation.
    UserRetry,
    /// The UI's Power On button.
    UserStart,
    UserStop,
    UserLogout,
    Timeout,
}

impl Event {
    /// The JS `MachineEvent` shape: `{type:"status", input}`, `{type:"send", id}`, ...
    pub fn from_value(v: &Value) -> Result<Event> {
        let _ = v;
        Err(WawpError::invalid_payload("not implemented"))
    }

    pub fn from_json(text: &str) -> Result<Event> {
        Event::from_value(&json::parse(text)?)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call {
        op: Op,
    },
    Ui {
        ui_action: UiAction,
        status: SessionStatus,
    },
    ReleaseSend {
        id: String,
    },
    RejectSend {
        id: String,
        code: ErrorCode,
    },
    ClearIdentity,
    Identity {
        verdict: IdentityVerdict,
        me: Option<String>,
    },
    /// reason: "failed" | "restart_budget_exhausted" | "identity_mismatch" | "unauthorized" | "deleted"
    NotifyAdmin {
        reason: &'static str,
    },
    Persist,
}

impl Action {
    /// The JS `Action` shape: `{type:"call", op}`, `{type:"ui", uiAction, status}`, ...
    pub fn to_value(&self) -> Value {
        Value::Null
    }

    pub fn to_json(&self) -> String {
        self.to_value().to_json()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleMachine {
    opts: MachineOptions,
    status: SessionStatus,
    actions: VecDeque<Action>,
}

impl LifecycleMachine {
    pub fn new(opts: MachineOptions) -> LifecycleMachine {
        LifecycleMachine {
            opts,
            status: SessionStatus::Unknown,
            actions: VecDeque::new(),
        }
    }

    pub fn handle(&mut self, event: Event, now_ms: f64) {
        let _ = (event, now_ms);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Absolute ms of the earliest deadline.
    pub fn poll_timeout(&self) -> Option<f64> {
        None
    }

    pub fn status(&self) -> SessionStatus {
        self.status
    }

    pub fn options(&self) -> &MachineOptions {
        &self.opts
    }

    pub fn queued_sends(&self) -> usize {
        0
    }

    /// status, since, pending op, queue, identity, restarts (the JS `snapshot()`).
    pub fn snapshot(&self) -> Value {
        Value::Null
    }

    pub fn to_json(&self) -> String {
        String::from("{}")
    }

    pub fn from_json(text: &str) -> Result<LifecycleMachine> {
        let _ = json::parse(text)?;
        Ok(LifecycleMachine::new(MachineOptions::default()))
    }
}

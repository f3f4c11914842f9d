//! What a UI shows of one session (`SessionView`), and the rules that keep it: what the driver
//! learns from accepted reports, call answers and machine actions (`Learned`, persisted with the
//! driver), plus what it reads off the machine when asked (status, deadlines, counters).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorCode, Result, WawpError};
use crate::identity::IdentityVerdict;
use crate::machine::{AdminReason, LifecycleMachine, Op, Pause};
use crate::payload::Fields;
use crate::status::{Me, SessionStatus, StatusReport, UiAction, decode_status_value};

/// The linked WhatsApp account as the view shows it: `{id, pushName?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewMe {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
}

impl ViewMe {
    fn from_me(me: &Me) -> ViewMe {
        ViewMe {
            id: me.id.clone(),
            push_name: me.push_name.clone().filter(|name| !name.is_empty()),
        }
    }
}

/// The machine's last identity verdict: `{verdict, me?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewIdentity {
    pub verdict: IdentityVerdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<String>,
}

/// The last failed call or send: `{code, message, op, atMs}` (`op` is a `MachineOp`, `send`, or
/// what a host noted with `note_error`, e.g. `qrImage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    pub code: ErrorCode,
    pub message: String,
    pub op: String,
    pub at_ms: f64,
}

/// The last `notify_admin`: `{reason, atMs}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub reason: AdminReason,
    pub at_ms: f64,
}

/// Everything the view knows that the machine does not keep (persisted with the driver; read
/// back by [`Learned::from_value`]: a derived `Deserialize` on `serde_json::Value` would link
/// serde's float printer into the wasm for its error messages).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Learned {
    pub report: Option<StatusReport>,
    pub me: Option<ViewMe>,
    pub server_name: Option<String>,
    pub identity: Option<ViewIdentity>,
    pub last_error: Option<LastError>,
    pub notification: Option<Notification>,
}

/// The JS `SessionView` (camelCase): what a UI, an SSE stream or a registry row shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The machine's status.
    pub status: SessionStatus,
    /// The status the UI was last told about (a STARTING blip after WORKING is told only once
    /// it outlasts the debounce), else `status`.
    pub ui_status: SessionStatus,
    /// What the UI shows: `ui_status`'s action.
    pub ui_action: UiAction,
    /// Local time the current status began; null before any status was known.
    pub status_since_ms: Option<f64>,
    /// The last StatusReport the machine accepted (its status equals the machine's).
    pub report: Option<StatusReport>,
    pub me: Option<ViewMe>,
    pub server_name: Option<String>,
    pub identity: Option<ViewIdentity>,
    pub last_error: Option<LastError>,
    /// The lifecycle call in flight, else a read in flight, else null.
    pub pending_op: Option<Op>,
    pub in_flight: Vec<Op>,
    /// The last admin notification, open until the status is WORKING again after it.
    pub notification: Option<Notification>,
    pub queue_length: u32,
    pub next_deadline_ms: Option<f64>,
    pub restarts: u32,
    pub auto_restarts: u32,
    pub paused: Option<Pause>,
}

/// The machine-derived part of the view, compared before and after each event to tell whether
/// the view changed (cheap: no strings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Facts {
    status: SessionStatus,
    ui_action: UiAction,
    since_ms: f64,
    queue_length: usize,
    next_deadline_ms: Option<f64>,
    restarts: u32,
    auto_restarts: u32,
    paused: Option<Pause>,
}

pub(super) fn facts(machine: &LifecycleMachine) -> Facts {
    Facts {
        status: machine.status(),
        ui_action: ui_action(machine),
        since_ms: machine.since_ms(),
        queue_length: machine.queued_sends(),
        next_deadline_ms: machine.poll_timeout(),
        restarts: machine.restarts(),
        auto_restarts: machine.auto_restarts(),
        paused: machine.paused(),
    }
}

fn ui_status(machine: &LifecycleMachine) -> SessionStatus {
    machine.ui_status().unwrap_or_else(|| machine.status())
}

pub(super) fn ui_action(machine: &LifecycleMachine) -> UiAction {
    ui_status(machine).ui_action()
}

/// The lifecycle call in flight, else the first read in flight.
fn pending_op(in_flight: &[Op]) -> Option<Op> {
    in_flight
        .iter()
        .find(|op| !matches!(op, Op::Info | Op::Me))
        .or_else(|| in_flight.first())
        .copied()
}

pub(super) fn build(
    machine: &LifecycleMachine,
    learned: &Learned,
    in_flight: &[Op],
) -> SessionView {
    let status = machine.status();
    let since = machine.since_ms();
    SessionView {
        status,
        ui_status: ui_status(machine),
        ui_action: ui_action(machine),
        status_since_ms: (status != SessionStatus::Unknown || since != 0.0).then_some(since),
        report: learned.report.clone(),
        me: learned.me.clone(),
        server_name: learned.server_name.clone(),
        identity: learned.identity.clone(),
        last_error: learned.last_error.clone(),
        pending_op: pending_op(in_flight),
        in_flight: in_flight.to_vec(),
        notification: learned.notification,
        queue_length: u32::try_from(machine.queued_sends()).unwrap_or(u32::MAX),
        next_deadline_ms: machine.poll_timeout(),
        restarts: machine.restarts(),
        auto_restarts: machine.auto_restarts(),
        paused: machine.paused(),
    }
}

fn bad(what: &str) -> WawpError {
    WawpError::invalid_payload(format!("driver snapshot: view: {what}"))
}

/// Longest error message kept in the view (the client's messages are short already).
const MAX_MESSAGE_CHARS: usize = 500;

impl Learned {
    /// The stored view back; anything malformed is `invalid_payload`.
    pub fn from_value(v: &Value) -> Result<Learned> {
        if !v.is_object() {
            return Err(bad("view must be an object"));
        }
        let report = v.present("report").map(decode_status_value).transpose()?;
        let me = match v.present("me") {
            None => None,
            Some(me) => Some(ViewMe {
                id: me.str_field("id").ok_or_else(|| bad("me.id"))?.to_string(),
                push_name: me.str_field("pushName").map(str::to_string),
            }),
        };
        let identity = match v.present("identity") {
            None => None,
            Some(i) => Some(ViewIdentity {
                verdict: i
                    .str_field("verdict")
                    .and_then(IdentityVerdict::parse)
                    .ok_or_else(|| bad("identity.verdict"))?,
                me: i.str_field("me").map(str::to_string),
            }),
        };
        let last_error = match v.present("lastError") {
            None => None,
            Some(e) => Some(LastError {
                code: e
                    .str_field("code")
                    .and_then(ErrorCode::parse)
                    .ok_or_else(|| bad("lastError.code"))?,
                message: e.str_field("message").unwrap_or_default().to_string(),
                op: e
                    .str_field("op")
                    .ok_or_else(|| bad("lastError.op"))?
                    .to_string(),
                at_ms: e.num_field("atMs").ok_or_else(|| bad("lastError.atMs"))?,
            }),
        };
        let notification = match v.present("notification") {
            None => None,
            Some(n) => Some(Notification {
                reason: n
                    .str_field("reason")
                    .and_then(AdminReason::parse)
                    .ok_or_else(|| bad("notification.reason"))?,
                at_ms: n
                    .num_field("atMs")
                    .ok_or_else(|| bad("notification.atMs"))?,
            }),
        };
        Ok(Learned {
            report,
            me,
            server_name: v.str_field("serverName").map(str::to_string),
            identity,
            last_error,
            notification,
        })
    }

    /// A report the machine was handed: kept (with its `me`) only if the machine's status now
    /// equals it, so a stale or replayed event the machine ignored does not show either.
    pub(super) fn accept_report(
        &mut self,
        mut report: StatusReport,
        machine_status: SessionStatus,
    ) -> bool {
        if report.status != machine_status {
            return false;
        }
        // The envelope's event name is not part of the report's JS shape (nor of the stored view).
        report.event = None;
        if let Some(me) = &report.me {
            self.me = Some(ViewMe::from_me(me));
        }
        let changed = self.report.as_ref() != Some(&report);
        self.report = Some(report);
        changed
    }

    /// What a successful `info` or `me` answer tells: the report, server name and account.
    pub(super) fn learn_from_body(
        &mut self,
        op: Op,
        body: Option<&Value>,
        machine_status: SessionStatus,
    ) {
        match op {
            Op::Me => {
                self.me = body
                    .filter(|b| b.is_object())
                    .and_then(|b| Some((b.str_field("id")?, b)))
                    .map(|(id, b)| ViewMe {
                        id: id.to_string(),
                        push_name: b
                            .str_field("pushName")
                            .filter(|n| !n.is_empty())
                            .map(str::to_string),
                    });
            }
            Op::Info => {
                let Some(Ok(report)) = body.filter(|b| b.is_object()).map(decode_status_value)
                else {
                    return;
                };
                if let Some(name) = &report.server_name {
                    self.server_name = Some(name.clone());
                }
                if let Some(me) = &report.me {
                    self.me = Some(ViewMe::from_me(me));
                }
                self.accept_report(report, machine_status);
            }
            Op::Start | Op::Restart | Op::Stop | Op::Logout => {}
        }
    }

    pub(super) fn note_error(
        &mut self,
        op: &str,
        code: ErrorCode,
        message: Option<String>,
        now_ms: f64,
    ) {
        let message = match message {
            Some(text) if text.chars().count() > MAX_MESSAGE_CHARS => {
                text.chars().take(MAX_MESSAGE_CHARS).collect()
            }
            Some(text) => text,
            None => format!("{op} failed ({})", code.as_str()),
        };
        self.last_error = Some(LastError {
            code,
            message,
            op: op.to_string(),
            at_ms: now_ms,
        });
    }

    pub(super) fn identity(&mut self, verdict: IdentityVerdict, me: Option<&String>) {
        if let Some(id) = me {
            if self.me.as_ref().is_none_or(|known| &known.id != id) {
                self.me = Some(ViewMe {
                    id: id.clone(),
                    push_name: None,
                });
            }
        }
        self.identity = Some(ViewIdentity {
            verdict,
            me: me.cloned(),
        });
    }

    pub(super) fn clear_identity(&mut self) {
        self.identity = None;
        self.me = None;
    }

    /// A notification closes once the session is WORKING again after it.
    pub(super) fn close_notification(&mut self, machine: &LifecycleMachine) -> bool {
        let open = self.notification.is_some_and(|n| {
            !(machine.status() == SessionStatus::Working && machine.since_ms() >= n.at_ms)
        });
        if self.notification.is_some() && !open {
            self.notification = None;
            return true;
        }
        false
    }
}

//! Snapshots: the JS `snapshot()` view and the versioned JSON a host stores (`toJSON` /
//! `fromJSON`; the edge keeps it in SQLite). Both are derived `Serialize` views of the machine;
//! the stored form is read back through `from_value`, which checks every field (a stored
//! snapshot is untrusted input) and accepts what older builds wrote.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;

use super::options::SEED_MASK;
use super::statuses::SEEN_EVENT_IDS;
use super::{IdentityState, LifecycleMachine, MachineOptions, Op, Pause, QueuedSend};
use crate::budget::RetryBudget;
use crate::error::{Result, WawpError};
use crate::identity::IdentityVerdict;
use crate::payload::{self, Fields};
use crate::status::{SessionStatus, UiAction};

/// The JS `snapshot()`: status, since, pending op, queue, identity, restarts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot<'a> {
    pub status: SessionStatus,
    pub ui_action: UiAction,
    pub since_ms: f64,
    pub pending_op: Option<Op>,
    pub in_flight: Vec<Op>,
    pub queue: &'a VecDeque<QueuedSend>,
    /// Released sends whose outcome the host has not reported yet.
    pub sending: &'a VecDeque<QueuedSend>,
    pub identity: Option<&'a IdentityState>,
    pub restarts: u32,
    pub auto_restarts: u32,
    pub failures: u32,
    pub paused: Option<Pause>,
    pub retry_op: Option<Op>,
    pub next_deadline_ms: Option<f64>,
    pub starting_since_ms: Option<f64>,
}

/// A retry waiting for its time: `{op, atMs}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Timed {
    op: Op,
    at_ms: f64,
}

fn timed(t: Option<(Op, f64)>) -> Option<Timed> {
    t.map(|(op, at_ms)| Timed { op, at_ms })
}

/// The stored state, version 1 (`toJSON`). Fields added later are optional on reading.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Persisted<'a> {
    v: u8,
    options: &'a MachineOptions,
    status: SessionStatus,
    since_ms: f64,
    ui_status: Option<SessionStatus>,
    starting_since_ms: Option<f64>,
    debounce_until_ms: Option<f64>,
    last_event_at_ms: Option<f64>,
    seen_event_ids: &'a VecDeque<String>,
    last_observed_ms: Option<f64>,
    last_info_ms: Option<f64>,
    expect_change: bool,
    recheck_status: bool,
    pending_op: Option<Op>,
    deferred_op: Option<Op>,
    call_retry: Option<Timed>,
    call_failures: u32,
    info_in_flight: bool,
    me_in_flight: bool,
    read_retry: Option<Timed>,
    read_failures: u32,
    start_if_stopped: bool,
    auto_restart_at_ms: Option<f64>,
    auto_restarts: u32,
    restarts: u32,
    failures: u32,
    failed_notified: bool,
    paused: Option<Pause>,
    queue: &'a VecDeque<QueuedSend>,
    /// Added with the delivery policy: absent in older snapshots.
    sending: &'a VecDeque<QueuedSend>,
    identity: Option<&'a IdentityState>,
    identity_verified: bool,
    maintenance_done_ms: Option<f64>,
    seed: Option<u64>,
    budget: &'a RetryBudget,
    last_now_ms: Option<f64>,
}

impl Serialize for LifecycleMachine {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        Persisted {
            v: 1,
            options: &self.opts,
            status: self.status,
            since_ms: self.since_ms,
            ui_status: self.ui_status,
            starting_since_ms: self.starting_since_ms,
            debounce_until_ms: self.debounce_until_ms,
            last_event_at_ms: self.last_event_at_ms,
            seen_event_ids: &self.seen_event_ids,
            last_observed_ms: self.last_observed_ms,
            last_info_ms: self.last_info_ms,
            expect_change: self.expect_change,
            recheck_status: self.recheck_status,
            pending_op: self.pending_op,
            deferred_op: self.deferred_op,
            call_retry: timed(self.call_retry),
            call_failures: self.call_failures,
            info_in_flight: self.info_in_flight,
            me_in_flight: self.me_in_flight,
            read_retry: timed(self.read_retry),
            read_failures: self.read_failures,
            start_if_stopped: self.start_if_stopped,
            auto_restart_at_ms: self.auto_restart_at_ms,
            auto_restarts: self.auto_restarts,
            restarts: self.restarts,
            failures: self.failures,
            failed_notified: self.failed_notified,
            paused: self.paused,
            queue: &self.queue,
            sending: &self.sending,
            identity: self.identity.as_ref(),
            identity_verified: self.identity_verified,
            maintenance_done_ms: self.maintenance_done_ms,
            seed: self.seed.map(|s| s & SEED_MASK),
            budget: &self.budget,
            last_now_ms: self.last_now_ms,
        }
        .serialize(serializer)
    }
}

impl TryFrom<Value> for LifecycleMachine {
    type Error = WawpError;
    fn try_from(value: Value) -> Result<LifecycleMachine> {
        LifecycleMachine::from_value(&value)
    }
}

impl LifecycleMachine {
    /// The JS `snapshot()` view.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            status: self.status,
            ui_action: self.status.ui_action(),
            since_ms: self.since_ms,
            pending_op: self.pending_op,
            in_flight: self.in_flight_ops(),
            queue: &self.queue,
            sending: &self.sending,
            identity: self.identity.as_ref(),
            restarts: self.restarts,
            auto_restarts: self.auto_restarts,
            failures: self.failures,
            paused: self.paused,
            retry_op: self.call_retry.map(|(op, _)| op),
            next_deadline_ms: self.poll_timeout(),
            starting_since_ms: self.starting_since_ms,
        }
    }

    /// The stored state as JSON text (native hosts; the wasm writes it with `JSON.stringify`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<LifecycleMachine> {
        LifecycleMachine::from_value(&payload::parse(text)?)
    }

    /// The stored state back; anything malformed is `invalid_payload`.
    pub fn from_value(v: &Value) -> Result<LifecycleMachine> {
        if !v.is_object() {
            return Err(bad("a machine snapshot must be an object"));
        }
        if v.num_field("v") != Some(1.0) {
            return Err(bad("unknown snapshot version"));
        }
        let opts = MachineOptions::from_value(v.get("options").unwrap_or(&Value::Null))
            .map_err(|e| bad(&format!("options: {}", e.message)))?;
        let status = status_field(v, "status")?.ok_or_else(|| bad("status missing"))?;
        let budget = RetryBudget::from_value(v.get("budget").unwrap_or(&Value::Null))
            .map_err(|e| bad(&e.message))?;
        let queue = sends_field(v, "queue")?.ok_or_else(|| bad("queue missing"))?;
        // Added later: absent in older snapshots, whose hosts tracked released sends themselves.
        let sending = sends_field(v, "sending")?.unwrap_or_default();
        if queue.len().max(sending.len()) > opts.max_queued_sends.max(1) * 2 + 100_000 {
            return Err(bad("queue too long"));
        }
        let seen_event_ids = match v.get("seenEventIds") {
            Some(Value::Array(items)) if items.len() <= SEEN_EVENT_IDS => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("seenEventIds must hold strings"))
                })
                .collect::<Result<VecDeque<_>>>()?,
            _ => return Err(bad("seenEventIds missing or too long")),
        };
        let identity = match v.get("identity") {
            None | Some(Value::Null) => None,
            Some(i) => Some(IdentityState {
                verdict: match i.str_field("verdict") {
                    Some("match") => IdentityVerdict::Match,
                    Some("mismatch") => IdentityVerdict::Mismatch,
                    Some("unverifiable") => IdentityVerdict::Unverifiable,
                    _ => return Err(bad("identity.verdict")),
                },
                me: match i.get("me") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err(bad("identity.me")),
                },
            }),
        };
        let identity_known = identity.is_some();
        let paused = match v.get("paused") {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                p.as_str()
                    .and_then(Pause::parse)
                    .ok_or_else(|| bad("paused"))?,
            ),
        };
        let seed = match opt_num(v, "seed")? {
            None => None,
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= SEED_MASK as f64 => Some(n as u64),
            Some(_) => return Err(bad("seed")),
        };
        Ok(LifecycleMachine {
            since_ms: req_num(v, "sinceMs")?,
            ui_status: status_field(v, "uiStatus")?,
            starting_since_ms: opt_num(v, "startingSinceMs")?,
            debounce_until_ms: opt_num(v, "debounceUntilMs")?,
            last_event_at_ms: opt_num(v, "lastEventAtMs")?,
            seen_event_ids,
            last_observed_ms: opt_num(v, "lastObservedMs")?,
            last_info_ms: opt_num(v, "lastInfoMs")?,
            expect_change: req_bool(v, "expectChange")?,
            // Added later: absent in older snapshots, where no refusal was pending.
            recheck_status: match v.get("recheckStatus") {
                None | Some(Value::Null) => false,
                Some(_) => req_bool(v, "recheckStatus")?,
            },
            pending_op: op_field(v, "pendingOp")?,
            deferred_op: op_field(v, "deferredOp")?,
            call_retry: timed_field(v, "callRetry")?,
            call_failures: count_field(v, "callFailures")?,
            info_in_flight: req_bool(v, "infoInFlight")?,
            me_in_flight: req_bool(v, "meInFlight")?,
            read_retry: timed_field(v, "readRetry")?,
            read_failures: count_field(v, "readFailures")?,
            start_if_stopped: req_bool(v, "startIfStopped")?,
            auto_restart_at_ms: opt_num(v, "autoRestartAtMs")?,
            auto_restarts: count_field(v, "autoRestarts")?,
            restarts: count_field(v, "restarts")?,
            failures: count_field(v, "failures")?,
            failed_notified: req_bool(v, "failedNotified")?,
            paused,
            queue,
            sending,
            identity,
            // Added after v1 snapshots were stored: absent, a stored identity counts as verified
            // (what the machine that wrote the snapshot assumed), so old snapshots still restore.
            identity_verified: match v.get("identityVerified") {
                None | Some(Value::Null) => identity_known,
                Some(_) => req_bool(v, "identityVerified")?,
            },
            maintenance_done_ms: opt_num(v, "maintenanceDoneMs")?,
            seed,
            budget,
            last_now_ms: opt_num(v, "lastNowMs")?,
            status,
            opts,
            actions: VecDeque::new(),
            dirty: false,
        })
    }
}

/// `[{id, deadlineMs, attempts?, retryAtMs?}]`, or `None` when the field is absent.
fn sends_field(v: &Value, key: &str) -> Result<Option<VecDeque<QueuedSend>>> {
    let items = match v.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad(key)),
    };
    items
        .iter()
        .map(|item| {
            Ok(QueuedSend {
                id: item
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("send entry without id"))?
                    .to_string(),
                deadline_ms: req_num(item, "deadlineMs")?,
                // Absent for sends never released (and in older snapshots).
                attempts: match opt_num(item, "attempts")? {
                    None => 0,
                    Some(_) => count_field(item, "attempts")?,
                },
                retry_at_ms: opt_num(item, "retryAtMs")?,
            })
        })
        .collect::<Result<VecDeque<_>>>()
        .map(Some)
}

fn bad(what: &str) -> WawpError {
    WawpError::invalid_payload(format!("machine snapshot: {what}"))
}

fn opt_num(v: &Value, key: &str) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| bad(key)),
    }
}

fn req_num(v: &Value, key: &str) -> Result<f64> {
    opt_num(v, key)?.ok_or_else(|| bad(key))
}

fn req_bool(v: &Value, key: &str) -> Result<bool> {
    v.get(key).and_then(Value::as_bool).ok_or_else(|| bad(key))
}

fn count_field(v: &Value, key: &str) -> Result<u32> {
    match req_num(v, key)? {
        n if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => Ok(n as u32),
        _ => Err(bad(key)),
    }
}

fn op_field(v: &Value, key: &str) -> Result<Option<Op>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(o) => o
            .as_str()
            .and_then(Op::parse)
            .map(Some)
            .ok_or_else(|| bad(key)),
    }
}

fn status_field(v: &Value, key: &str) -> Result<Option<SessionStatus>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(SessionStatus::parse(s))),
        Some(_) => Err(bad(key)),
    }
}

fn timed_field(v: &Value, key: &str) -> Result<Option<(Op, f64)>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(t) => Ok(Some((
            op_field(t, "op")?.ok_or_else(|| bad(key))?,
            req_num(t, "atMs")?,
        ))),
    }
}

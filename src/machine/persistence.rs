//! Snapshots: the JS `snapshot()` view and the versioned JSON a host stores (`toJSON` / `fromJSON`).

use std::collections::VecDeque;

use super::options::SEED_MASK;
use super::statuses::SEEN_EVENT_IDS;
use super::{IdentityState, LifecycleMachine, MachineOptions, Op, Pause, QueuedSend};
use crate::budget::RetryBudget;
use crate::error::{Result, WawpError};
use crate::identity::IdentityVerdict;
use crate::json::{self, ObjectWriter, Value};
use crate::status::SessionStatus;

impl LifecycleMachine {
    /// Queued or released sends as `[{id, deadlineMs, attempts?, retryAtMs?}]` (snapshot and
    /// persisted state alike; the last two only once a send was released).
    fn sends_value(sends: &VecDeque<QueuedSend>) -> Value {
        Value::Array(
            sends
                .iter()
                .map(|s| {
                    ObjectWriter::new()
                        .str("id", &s.id)
                        .num("deadlineMs", s.deadline_ms)
                        .opt_num(
                            "attempts",
                            (s.attempts > 0).then_some(f64::from(s.attempts)),
                        )
                        .opt_num("retryAtMs", s.retry_at_ms)
                        .build()
                })
                .collect(),
        )
    }

    /// status, since, pending op, queue, identity, restarts (the JS `snapshot()`).
    pub fn snapshot(&self) -> Value {
        ObjectWriter::new()
            .str("status", self.status.as_str())
            .str("uiAction", self.status.ui_action().as_str())
            .num("sinceMs", self.since_ms)
            .field("pendingOp", op_value(self.pending_op))
            .field(
                "inFlight",
                Value::Array(
                    self.in_flight_ops()
                        .into_iter()
                        .map(|op| op_value(Some(op)))
                        .collect(),
                ),
            )
            .field("queue", Self::sends_value(&self.queue))
            .field("sending", Self::sends_value(&self.sending))
            .field("identity", identity_value(self.identity.as_ref()))
            .num("restarts", f64::from(self.restarts))
            .num("autoRestarts", f64::from(self.auto_restarts))
            .num("failures", f64::from(self.failures))
            .field(
                "paused",
                self.paused
                    .map_or(Value::Null, |p| Value::String(p.as_str().to_string())),
            )
            .field("retryOp", op_value(self.call_retry.map(|(op, _)| op)))
            .field(
                "nextDeadlineMs",
                self.poll_timeout().map_or(Value::Null, Value::Number),
            )
            .field(
                "startingSinceMs",
                self.starting_since_ms.map_or(Value::Null, Value::Number),
            )
            .build()
    }

    pub fn to_json(&self) -> String {
        let num = |n: Option<f64>| n.map_or(Value::Null, Value::Number);
        let timed = |t: Option<(Op, f64)>| {
            t.map_or(Value::Null, |(op, at)| {
                ObjectWriter::new()
                    .str("op", op.as_str())
                    .num("atMs", at)
                    .build()
            })
        };
        ObjectWriter::new()
            .num("v", 1.0)
            .field("options", self.opts.to_value())
            .str("status", self.status.as_str())
            .num("sinceMs", self.since_ms)
            .field(
                "uiStatus",
                self.ui_status
                    .map_or(Value::Null, |s| Value::String(s.as_str().to_string())),
            )
            .field("startingSinceMs", num(self.starting_since_ms))
            .field("debounceUntilMs", num(self.debounce_until_ms))
            .field("lastEventAtMs", num(self.last_event_at_ms))
            .field(
                "seenEventIds",
                Value::Array(
                    self.seen_event_ids
                        .iter()
                        .map(|id| Value::String(id.clone()))
                        .collect(),
                ),
            )
            .field("lastObservedMs", num(self.last_observed_ms))
            .field("lastInfoMs", num(self.last_info_ms))
            .bool("expectChange", self.expect_change)
            .bool("recheckStatus", self.recheck_status)
            .field("pendingOp", op_value(self.pending_op))
            .field("deferredOp", op_value(self.deferred_op))
            .field("callRetry", timed(self.call_retry))
            .num("callFailures", f64::from(self.call_failures))
            .bool("infoInFlight", self.info_in_flight)
            .bool("meInFlight", self.me_in_flight)
            .field("readRetry", timed(self.read_retry))
            .num("readFailures", f64::from(self.read_failures))
            .bool("startIfStopped", self.start_if_stopped)
            .field("autoRestartAtMs", num(self.auto_restart_at_ms))
            .num("autoRestarts", f64::from(self.auto_restarts))
            .num("restarts", f64::from(self.restarts))
            .num("failures", f64::from(self.failures))
            .bool("failedNotified", self.failed_notified)
            .field(
                "paused",
                self.paused
                    .map_or(Value::Null, |p| Value::String(p.as_str().to_string())),
            )
            .field("queue", Self::sends_value(&self.queue))
            .field("sending", Self::sends_value(&self.sending))
            .field("identity", identity_value(self.identity.as_ref()))
            .bool("identityVerified", self.identity_verified)
            .field("maintenanceDoneMs", num(self.maintenance_done_ms))
            .field("seed", num(self.seed.map(|s| (s & SEED_MASK) as f64)))
            .field("budget", self.budget.to_value())
            .field("lastNowMs", num(self.last_now_ms))
            .build()
            .to_json()
    }

    pub fn from_json(text: &str) -> Result<LifecycleMachine> {
        let v = json::parse(text)?;
        if !v.is_object() {
            return Err(bad("a machine snapshot must be an object"));
        }
        if v.num_field("v") != Some(1.0) {
            return Err(bad("unknown snapshot version"));
        }
        let opts = MachineOptions::from_value(v.get("options").unwrap_or(&Value::Null))
            .map_err(|e| bad(&format!("options: {}", e.message)))?;
        let status = status_field(&v, "status")?.ok_or_else(|| bad("status missing"))?;
        let budget = RetryBudget::from_value(v.get("budget").unwrap_or(&Value::Null))
            .map_err(|e| bad(&e.message))?;
        let queue = sends_field(&v, "queue")?.ok_or_else(|| bad("queue missing"))?;
        // Added later: absent in older snapshots, whose hosts tracked released sends themselves.
        let sending = sends_field(&v, "sending")?.unwrap_or_default();
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
        let seed = match opt_num(&v, "seed")? {
            None => None,
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= SEED_MASK as f64 => Some(n as u64),
            Some(_) => return Err(bad("seed")),
        };
        Ok(LifecycleMachine {
            since_ms: req_num(&v, "sinceMs")?,
            ui_status: status_field(&v, "uiStatus")?,
            starting_since_ms: opt_num(&v, "startingSinceMs")?,
            debounce_until_ms: opt_num(&v, "debounceUntilMs")?,
            last_event_at_ms: opt_num(&v, "lastEventAtMs")?,
            seen_event_ids,
            last_observed_ms: opt_num(&v, "lastObservedMs")?,
            last_info_ms: opt_num(&v, "lastInfoMs")?,
            expect_change: req_bool(&v, "expectChange")?,
            // Added later: absent in older snapshots, where no refusal was pending.
            recheck_status: match v.get("recheckStatus") {
                None | Some(Value::Null) => false,
                Some(_) => req_bool(&v, "recheckStatus")?,
            },
            pending_op: op_field(&v, "pendingOp")?,
            deferred_op: op_field(&v, "deferredOp")?,
            call_retry: timed_field(&v, "callRetry")?,
            call_failures: count_field(&v, "callFailures")?,
            info_in_flight: req_bool(&v, "infoInFlight")?,
            me_in_flight: req_bool(&v, "meInFlight")?,
            read_retry: timed_field(&v, "readRetry")?,
            read_failures: count_field(&v, "readFailures")?,
            start_if_stopped: req_bool(&v, "startIfStopped")?,
            auto_restart_at_ms: opt_num(&v, "autoRestartAtMs")?,
            auto_restarts: count_field(&v, "autoRestarts")?,
            restarts: count_field(&v, "restarts")?,
            failures: count_field(&v, "failures")?,
            failed_notified: req_bool(&v, "failedNotified")?,
            paused,
            queue,
            sending,
            identity,
            // Added after v1 snapshots were stored: absent, a stored identity counts as verified
            // (what the machine that wrote the snapshot assumed), so old snapshots still restore.
            identity_verified: match v.get("identityVerified") {
                None | Some(Value::Null) => identity_known,
                Some(_) => req_bool(&v, "identityVerified")?,
            },
            maintenance_done_ms: opt_num(&v, "maintenanceDoneMs")?,
            seed,
            budget,
            last_now_ms: opt_num(&v, "lastNowMs")?,
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

fn op_value(op: Option<Op>) -> Value {
    op.map_or(Value::Null, |op| Value::String(op.as_str().to_string()))
}

fn identity_value(identity: Option<&IdentityState>) -> Value {
    identity.map_or(Value::Null, |i| {
        ObjectWriter::new()
            .str("verdict", i.verdict.as_str())
            .opt_str("me", i.me.as_deref())
            .build()
    })
}

fn bad(what: &str) -> WawpError {
    WawpError::invalid_payload(format!("machine snapshot: {what}"))
}

fn opt_num(v: &Value, key: &str) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_finite() => Ok(Some(*n)),
        Some(_) => Err(bad(key)),
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

//! The machine's options: the JS object (camelCase) in, validated; hostile values → `invalid_option`.

use super::Maintenance;
use super::maintenance::DAY_MS;
use crate::error::{Result, WawpError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::payload::Fields;

/// Longest accepted duration option: one year.
pub(super) const MAX_DURATION_MS: f64 = 365.0 * DAY_MS;
/// Seeds are kept to 53 bits so they survive a JSON number exactly.
pub(super) const SEED_MASK: u64 = (1 << 53) - 1;

/// The JS options object (camelCase). Read through [`MachineOptions::from_value`]: unknown keys
/// are ignored, `null` means the default, and every range is checked with an `invalid_option`
/// that names the field, which serde's derive cannot say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Value")]
pub struct MachineOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_jid: Option<String>,
    pub starting_timeout_ms: f64,
    pub failed_restart_delay_ms: f64,
    pub max_auto_restarts: u32,
    pub debounce_ms: f64,
    pub max_queued_sends: usize,
    pub send_timeout_ms: f64,
    /// Releases of one send at most (JS `maxSendAttempts`): a 429 or a 422 hand-back uses one.
    pub max_send_attempts: u32,
    /// First retry delay of a rate-limited send (JS `sendRetryBaseMs`; doubles, full jitter).
    pub send_retry_base_ms: f64,
    /// Longest retry delay of a send (JS `sendRetryCapMs`); Retry-After may ask for more.
    pub send_retry_cap_ms: f64,
    pub maintenance: Option<Maintenance>,
    /// Reconciliation `info` when nothing was observed for this long while STARTING / SCAN_QR_CODE.
    pub reconcile_short_ms: f64,
    /// ... and while WORKING (or otherwise settled).
    pub reconcile_long_ms: f64,
    /// Reconciliation and watchdog deadlines come up to this fraction of their interval late,
    /// drawn from the seed (JS `deadlineJitter`, default 0.1, at most 1; 0 = exact): a fleet that
    /// saw the same event at the same moment spreads its calls instead of making them together.
    pub deadline_jitter: f64,
    /// Jitter seed (JS `seed`). `None`: derived from the first `now_ms` the machine sees, so
    /// machines started at different moments do not retry in lockstep.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "masked_seed"
    )]
    pub seed: Option<u64>,
    /// Token bucket spent by automatic restarts and lifecycle retries (JS `retryBudgetCapacity`).
    pub retry_budget_capacity: f64,
    /// Refill rate of that bucket (JS `retryBudgetRefillPerSec`).
    pub retry_budget_refill_per_sec: f64,
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
            max_send_attempts: 20,
            send_retry_base_ms: 1_000.0,
            send_retry_cap_ms: 30_000.0,
            maintenance: None,
            reconcile_short_ms: 15_000.0,
            reconcile_long_ms: 300_000.0,
            deadline_jitter: 0.1,
            seed: None,
            retry_budget_capacity: 20.0,
            retry_budget_refill_per_sec: 1.0 / 60.0,
        }
    }
}

pub(super) fn option_error(name: &str, what: &str) -> WawpError {
    WawpError::invalid_option(format!("{name} must be {what}"))
}

pub(super) fn duration_option(v: &Value, key: &str, default: f64, allow_zero: bool) -> Result<f64> {
    let Some(field) = v.present(key) else {
        return Ok(default);
    };
    match field.as_f64() {
        Some(n)
            if n.is_finite() && n <= MAX_DURATION_MS && (n > 0.0 || (allow_zero && n == 0.0)) =>
        {
            Ok(n)
        }
        _ => Err(option_error(
            key,
            if allow_zero {
                "a number of ms between 0 and one year"
            } else {
                "a number of ms above 0 and at most one year"
            },
        )),
    }
}

pub(super) fn whole_option(v: &Value, key: &str, default: f64, min: f64, max: f64) -> Result<f64> {
    let Some(field) = v.present(key) else {
        return Ok(default);
    };
    match field.as_f64() {
        Some(n) if n.is_finite() && n.fract() == 0.0 && n >= min && n <= max => Ok(n),
        _ => Err(option_error(
            key,
            &format!("a whole number between {} and {}", min as i64, max as i64),
        )),
    }
}

impl MachineOptions {
    /// The JS options object (camelCase); hostile values → `invalid_option`. Unknown keys are
    /// ignored (the supervisor passes its own options in the same object).
    pub fn from_value(v: &Value) -> Result<MachineOptions> {
        if v.is_null() {
            return Ok(MachineOptions::default());
        }
        if !v.is_object() {
            return Err(WawpError::invalid_option(
                "machine options must be an object",
            ));
        }
        let d = MachineOptions::default();
        let expected_jid = match v.present("expectedJid") {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => {
                Some(s.trim().to_string())
            }
            Some(_) => {
                return Err(option_error(
                    "expectedJid",
                    "a non-empty JID or phone number string",
                ));
            }
        };
        let maintenance = match v.present("maintenance") {
            None => None,
            Some(m) if m.is_object() => {
                let field = |key: &str, max: f64| -> Result<u8> {
                    match m.get(key).and_then(Value::as_f64) {
                        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(n as u8),
                        _ => Err(option_error(
                            &format!("maintenance.{key}"),
                            &format!("a whole number between 0 and {}", max as i64),
                        )),
                    }
                };
                Some(Maintenance {
                    weekday: field("weekday", 6.0)?,
                    hour_utc: field("hourUtc", 23.0)?,
                })
            }
            Some(_) => {
                return Err(option_error(
                    "maintenance",
                    "an object {weekday: 0..6, hourUtc: 0..23}",
                ));
            }
        };
        let seed = match v.present("seed") {
            None => None,
            Some(_) => Some(whole_option(v, "seed", 0.0, 0.0, SEED_MASK as f64)? as u64),
        };
        let opts = MachineOptions {
            expected_jid,
            starting_timeout_ms: duration_option(
                v,
                "startingTimeoutMs",
                d.starting_timeout_ms,
                false,
            )?,
            failed_restart_delay_ms: duration_option(
                v,
                "failedRestartDelayMs",
                d.failed_restart_delay_ms,
                true,
            )?,
            max_auto_restarts: whole_option(
                v,
                "maxAutoRestarts",
                f64::from(d.max_auto_restarts),
                0.0,
                1000.0,
            )? as u32,
            debounce_ms: duration_option(v, "debounceMs", d.debounce_ms, true)?,
            max_queued_sends: whole_option(
                v,
                "maxQueuedSends",
                d.max_queued_sends as f64,
                0.0,
                100_000.0,
            )? as usize,
            send_timeout_ms: duration_option(v, "sendTimeoutMs", d.send_timeout_ms, false)?,
            max_send_attempts: whole_option(
                v,
                "maxSendAttempts",
                f64::from(d.max_send_attempts),
                1.0,
                100.0,
            )? as u32,
            send_retry_base_ms: duration_option(v, "sendRetryBaseMs", d.send_retry_base_ms, false)?,
            send_retry_cap_ms: duration_option(v, "sendRetryCapMs", d.send_retry_cap_ms, false)?,
            maintenance,
            reconcile_short_ms: duration_option(
                v,
                "reconcileShortMs",
                d.reconcile_short_ms,
                false,
            )?,
            reconcile_long_ms: duration_option(v, "reconcileLongMs", d.reconcile_long_ms, false)?,
            deadline_jitter: match v.present("deadlineJitter") {
                None => d.deadline_jitter,
                Some(f) => match f.as_f64() {
                    Some(n) if (0.0..=1.0).contains(&n) => n,
                    _ => return Err(option_error("deadlineJitter", "a fraction from 0 to 1")),
                },
            },
            seed,
            retry_budget_capacity: whole_option(
                v,
                "retryBudgetCapacity",
                d.retry_budget_capacity,
                1.0,
                1_000_000.0,
            )?,
            retry_budget_refill_per_sec: match v.present("retryBudgetRefillPerSec") {
                None => d.retry_budget_refill_per_sec,
                Some(f) => match f.as_f64() {
                    Some(n) if n.is_finite() && n > 0.0 && n <= 1_000_000.0 => n,
                    _ => {
                        return Err(option_error(
                            "retryBudgetRefillPerSec",
                            "a number of tokens per second above 0",
                        ));
                    }
                },
            },
        };
        Ok(opts)
    }
}

/// Seeds are written as their low 53 bits, the part a JSON number keeps exactly.
fn masked_seed<S: serde::Serializer>(
    seed: &Option<u64>,
    serializer: S,
) -> core::result::Result<S::Ok, S::Error> {
    seed.map(|s| s & SEED_MASK).serialize(serializer)
}

impl TryFrom<Value> for MachineOptions {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<MachineOptions> {
        MachineOptions::from_value(&v)
    }
}

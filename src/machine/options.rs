//! The machine's options: the JS object (camelCase) in, validated; hostile values → `invalid_option`.

use super::Maintenance;
use super::maintenance::DAY_MS;
use crate::error::{Result, WawpError};
use crate::json::{ObjectWriter, Value};

/// Longest accepted duration option: one year.
pub(super) const MAX_DURATION_MS: f64 = 365.0 * DAY_MS;
/// Seeds are kept to 53 bits so they survive a JSON number exactly.
pub(super) const SEED_MASK: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq)]
pub struct MachineOptions {
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
    /// Jitter seed (JS `seed`). `None`: derived from the first `now_ms` the machine sees, so
    /// machines started at different moments do not retry in lockstep.
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
            seed: None,
            retry_budget_capacity: 20.0,
            retry_budget_refill_per_sec: 1.0 / 60.0,
        }
    }
}

pub(super) fn option_error(name: &str, what: &str) -> WawpError {
    WawpError::invalid_option(format!("{name} must be {what}"))
}

/// A present, non-null option field.
pub(super) fn present<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|f| !f.is_null())
}

pub(super) fn duration_option(v: &Value, key: &str, default: f64, allow_zero: bool) -> Result<f64> {
    let Some(field) = present(v, key) else {
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
    let Some(field) = present(v, key) else {
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
        let expected_jid = match present(v, "expectedJid") {
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
        let maintenance = match present(v, "maintenance") {
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
        let seed = match present(v, "seed") {
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
            seed,
            retry_budget_capacity: whole_option(
                v,
                "retryBudgetCapacity",
                d.retry_budget_capacity,
                1.0,
                1_000_000.0,
            )?,
            retry_budget_refill_per_sec: match present(v, "retryBudgetRefillPerSec") {
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

    /// The camelCase object `from_value` reads (used by `to_json`).
    pub fn to_value(&self) -> Value {
        ObjectWriter::new()
            .opt_str("expectedJid", self.expected_jid.as_deref())
            .num("startingTimeoutMs", self.starting_timeout_ms)
            .num("failedRestartDelayMs", self.failed_restart_delay_ms)
            .num("maxAutoRestarts", f64::from(self.max_auto_restarts))
            .num("debounceMs", self.debounce_ms)
            .num("maxQueuedSends", self.max_queued_sends as f64)
            .num("sendTimeoutMs", self.send_timeout_ms)
            .num("maxSendAttempts", f64::from(self.max_send_attempts))
            .num("sendRetryBaseMs", self.send_retry_base_ms)
            .num("sendRetryCapMs", self.send_retry_cap_ms)
            .field(
                "maintenance",
                self.maintenance.map_or(Value::Null, |m| {
                    ObjectWriter::new()
                        .num("weekday", f64::from(m.weekday))
                        .num("hourUtc", f64::from(m.hour_utc))
                        .build()
                }),
            )
            .num("reconcileShortMs", self.reconcile_short_ms)
            .num("reconcileLongMs", self.reconcile_long_ms)
            .opt_num("seed", self.seed.map(|s| (s & SEED_MASK) as f64))
            .num("retryBudgetCapacity", self.retry_budget_capacity)
            .num("retryBudgetRefillPerSec", self.retry_budget_refill_per_sec)
            .build()
    }
}

//! A retry budget (token bucket, in the spirit of AWS retry quotas): automatic restarts and
//! retries spend tokens, time refills them, so many instances cannot turn faults into a storm.
//!
//! AWS SDKs start with 500 tokens, charge 5 per retry (10 after a timeout) and give 1 back per
//! success; here time refills the bucket as well (`refill_per_sec`), because a session that is
//! down has no successes to earn tokens with. No clock inside: every call takes `now_ms`.

use crate::error::{Result, WawpError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::payload::Fields;

/// Persisted as `{capacity, tokens, refillPerSec, lastMs|null, successDeposit}`. Read through
/// [`RetryBudget::from_value`]: the ranges (tokens within capacity, no negatives) are rules
/// serde's derive cannot state, and a broken one is `invalid_payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Value")]
pub struct RetryBudget {
    pub capacity: f64,
    pub tokens: f64,
    pub refill_per_sec: f64,
    /// When tokens were last refilled (epoch ms); `None` before the first call.
    pub last_ms: Option<f64>,
    /// Tokens returned by [`RetryBudget::record_success`] (AWS: 1). 0 disables it.
    pub success_deposit: f64,
}

fn non_negative(n: f64, name: &str) -> Result<f64> {
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(WawpError::invalid_option(format!(
            "{name} must be a finite number >= 0"
        )))
    }
}

impl RetryBudget {
    /// A full bucket. Meant for trusted constants; use [`RetryBudget::with_options`] for
    /// values that come from users.
    pub fn new(capacity: f64, refill_per_sec: f64) -> RetryBudget {
        RetryBudget {
            capacity,
            tokens: capacity,
            refill_per_sec,
            last_ms: None,
            success_deposit: 0.0,
        }
    }

    /// A full bucket with validated parameters (`invalid_option` for NaN, infinities,
    /// negatives).
    pub fn with_options(
        capacity: f64,
        refill_per_sec: f64,
        success_deposit: f64,
    ) -> Result<RetryBudget> {
        let mut budget = RetryBudget::new(
            non_negative(capacity, "capacity")?,
            non_negative(refill_per_sec, "refillPerSec")?,
        );
        budget.success_deposit = non_negative(success_deposit, "successDeposit")?;
        Ok(budget)
    }

    /// Adds the tokens earned since the last call. A clock that goes backwards (or a
    /// non-finite `now_ms`) earns nothing and does not move `last_ms` back.
    pub fn refill(&mut self, now_ms: f64) {
        if !now_ms.is_finite() {
            return;
        }
        match self.last_ms {
            Some(last) if now_ms > last => {
                let earned = (now_ms - last) / 1000.0 * self.refill_per_sec;
                if earned.is_finite() {
                    self.tokens = (self.tokens + earned).min(self.capacity);
                } else {
                    self.tokens = self.capacity;
                }
                self.last_ms = Some(now_ms);
            }
            Some(_) => {}
            None => self.last_ms = Some(now_ms),
        }
    }

    /// Tokens available at `now_ms`, without changing anything.
    pub fn available(&self, now_ms: f64) -> f64 {
        let mut probe = self.clone();
        probe.refill(now_ms);
        probe.tokens
    }

    /// Takes `cost` tokens if available at `now_ms`. A negative or NaN cost is refused.
    pub fn try_spend(&mut self, cost: f64, now_ms: f64) -> bool {
        self.refill(now_ms);
        if !(cost.is_finite() && cost >= 0.0) || self.tokens < cost {
            return false;
        }
        self.tokens -= cost;
        true
    }

    /// A call succeeded: give back `success_deposit` tokens (up to the capacity).
    pub fn record_success(&mut self, now_ms: f64) {
        self.refill(now_ms);
        self.tokens = (self.tokens + self.success_deposit).min(self.capacity);
    }

    /// How long from `now_ms` until `cost` tokens are available: `Some(0.0)` when they are
    /// now, `None` when they never will be (cost above the capacity, or no refill).
    pub fn wait_ms(&self, cost: f64, now_ms: f64) -> Option<f64> {
        if !(cost.is_finite() && cost >= 0.0) || cost > self.capacity {
            return None;
        }
        let missing = cost - self.available(now_ms);
        if missing <= 0.0 {
            return Some(0.0);
        }
        if self.refill_per_sec <= 0.0 {
            return None;
        }
        Some(missing / self.refill_per_sec * 1000.0)
    }

    /// The persisted object back; anything malformed is `invalid_payload`.
    pub fn from_value(v: &Value) -> Result<RetryBudget> {
        let bad = |what: &str| WawpError::invalid_payload(format!("retry budget: {what}"));
        let non_negative_field = |key: &str| {
            v.num_field(key)
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| bad(&format!("{key} must be a finite number >= 0")))
        };
        let capacity = non_negative_field("capacity")?;
        let tokens = non_negative_field("tokens")?;
        if tokens > capacity {
            return Err(bad("tokens exceed capacity"));
        }
        let last_ms = match v.get("lastMs") {
            None | Some(Value::Null) => None,
            Some(n) => Some(
                n.as_f64()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| bad("lastMs must be a number or null"))?,
            ),
        };
        let success_deposit = match v.get("successDeposit") {
            None => 0.0,
            Some(_) => non_negative_field("successDeposit")?,
        };
        Ok(RetryBudget {
            capacity,
            tokens,
            refill_per_sec: non_negative_field("refillPerSec")?,
            last_ms,
            success_deposit,
        })
    }
}

impl TryFrom<Value> for RetryBudget {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<RetryBudget> {
        RetryBudget::from_value(&v)
    }
}

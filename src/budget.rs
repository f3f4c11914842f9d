//! A retry budget (token bucket, in the spirit of AWS retry quotas): automatic restarts and
//! retries spend tokens, time refills them, so many instances cannot turn faults into a storm.
//! STUB: signatures fixed; the core engineer fills in the bodies.

#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    pub capacity: f64,
    pub tokens: f64,
    pub refill_per_sec: f64,
    pub last_ms: Option<f64>,
}

impl RetryBudget {
    pub fn new(capacity: f64, refill_per_sec: f64) -> RetryBudget {
        RetryBudget {
            capacity,
            tokens: capacity,
            refill_per_sec,
            last_ms: None,
        }
    }

    /// Takes `cost` tokens if available at `now_ms`.
    pub fn try_spend(&mut self, cost: f64, now_ms: f64) -> bool {
        let _ = now_ms;
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

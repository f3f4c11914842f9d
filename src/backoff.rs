//! Exponential backoff with the jitter kinds of the AWS "Exponential Backoff and Jitter"
//! simulator, a cap, attempt and elapsed limits, a Retry-After floor and a seedable RNG.
//! STUB: signatures fixed; the core engineer fills in the bodies.

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
    Equal,
    Decorrelated,
}

impl Jitter {
    pub fn parse(s: &str) -> Option<Jitter> {
        match s {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            "decorrelated" => Some(Jitter::Decorrelated),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackoffOptions {
    pub base_ms: f64,
    pub cap_ms: f64,
    pub factor: f64,
    pub jitter: Jitter,
    pub max_attempts: u32,
    pub max_elapsed_ms: Option<f64>,
    pub seed: Option<u64>,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        BackoffOptions {
            base_ms: 1000.0,
            cap_ms: 60_000.0,
            factor: 2.0,
            jitter: Jitter::Full,
            max_attempts: 10,
            max_elapsed_ms: None,
            seed: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    opts: BackoffOptions,
    attempts: u32,
}

impl Backoff {
    /// Validates the options (`invalid_option` for negative, NaN, base > cap, factor < 1, ...).
    pub fn new(opts: BackoffOptions) -> Result<Backoff> {
        Ok(Backoff { opts, attempts: 0 })
    }

    /// The next delay in ms, never below `retry_after_ms`; `None` once exhausted.
    pub fn next(&mut self, retry_after_ms: Option<f64>) -> Option<f64> {
        if self.attempts >= self.opts.max_attempts {
            return None;
        }
        self.attempts += 1;
        Some(self.opts.base_ms.max(retry_after_ms.unwrap_or(0.0)))
    }

    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn options(&self) -> &BackoffOptions {
        &self.opts
    }
}

//! Exponential backoff with the jitter kinds of the AWS "Exponential Backoff and Jitter"
//! simulator, a cap, attempt and elapsed limits, a Retry-After floor and a seedable RNG.
//!
//! Formulas (aws-samples/aws-arch-backoff-simulator, `backoff_simulator.py`), `n` counting
//! the delays already handed out from 0:
//! `expo(n) = min(cap, base·factor^n)`; none = `expo`; full = `uniform(0, expo)`;
//! equal = `expo/2 + uniform(0, expo/2)`; decorrelated: `sleep = min(cap, uniform(base, sleep·3))`
//! with `sleep` starting at `base` (the simulator's lower bound is `base`, not 0).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, WawpError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::payload::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    pub fn as_str(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush, and its whole state is
/// one `u64`, so it serialises exactly. Not for secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

/// Bumped for every unseeded generator, so two unseeded `Backoff`s never share a stream.
static UNSEEDED_COUNTER: AtomicU64 = AtomicU64::new(0);
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A stream distinct from every other unseeded one in this process (the wasm binding
    /// passes a seed from `Math.random()` instead, since wasm has no entropy of its own).
    pub fn unseeded() -> Rng {
        let n = UNSEEDED_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut mixer = Rng::new(0x5EED_0FBA_C0FF ^ n.wrapping_mul(GOLDEN_GAMMA));
        Rng::new(mixer.next_u64())
    }

    pub fn state(&self) -> u64 {
        self.state
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform between `a` and `b` (either order), as Python's `random.uniform`.
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next_f64()
    }
}

/// The JS options object. Read through [`BackoffOptions::from_value`]: every field is optional,
/// `null` means the default, and the ranges are checked with `invalid_option` messages that name
/// the field, which serde's derive cannot say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Value")]
pub struct BackoffOptions {
    pub base_ms: f64,
    pub cap_ms: f64,
    pub factor: f64,
    pub jitter: Jitter,
    pub max_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_elapsed_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl TryFrom<Value> for BackoffOptions {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<BackoffOptions> {
        BackoffOptions::from_value(&v)
    }
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

/// A non-negative JS integer option (counts, seeds): finite, whole, within `max`.
fn whole_number(v: &Value, name: &str, max: f64) -> Result<f64> {
    match v.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= max => Ok(n),
        _ => Err(WawpError::invalid_option(format!(
            "{name} must be a whole number between 0 and {}",
            max as u64 // integer formatting: f64 `Display` would add ~10 KB gzip to the wasm
        ))),
    }
}

/// Any finite JS number is a usable seed: whole numbers in `0..=2^53` as they are (so `seed: 42`
/// means 42 everywhere), anything else (`Math.random()`, negatives) by its bit pattern.
fn seed_from_number(n: f64) -> Result<u64> {
    if !n.is_finite() {
        return Err(WawpError::invalid_option("seed must be a finite number"));
    }
    if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 {
        Ok(n as u64)
    } else {
        Ok(n.to_bits())
    }
}

fn ms_option(v: &Value, name: &str) -> Result<f64> {
    v.as_f64()
        .ok_or_else(|| WawpError::invalid_option(format!("{name} must be a number")))
}

impl BackoffOptions {
    /// Checks every field: the formulas need `0 <= base <= cap < ∞` and `1 <= factor < ∞`.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(WawpError::invalid_option(what.to_string()));
        if !(self.base_ms.is_finite() && self.base_ms >= 0.0) {
            return bad("baseMs must be a finite number >= 0");
        }
        if !(self.cap_ms.is_finite() && self.cap_ms >= 0.0) {
            return bad("capMs must be a finite number >= 0");
        }
        if self.base_ms > self.cap_ms {
            return bad("baseMs must not exceed capMs");
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return bad("factor must be a finite number >= 1");
        }
        if self
            .max_elapsed_ms
            .is_some_and(|max| !(max.is_finite() && max >= 0.0))
        {
            return bad("maxElapsedMs must be a finite number >= 0");
        }
        Ok(())
    }

    /// The JS options object (`{baseMs, capMs, factor, jitter, maxAttempts, maxElapsedMs, seed}`,
    /// every field optional; `null`/`undefined` mean the default). Validated.
    pub fn from_value(v: &Value) -> Result<BackoffOptions> {
        if !(v.is_object() || v.is_null()) {
            return Err(WawpError::invalid_option(
                "backoff options must be an object",
            ));
        }
        let field = |key: &str| v.get(key).filter(|f| !f.is_null());
        let mut opts = BackoffOptions::default();
        if let Some(f) = field("baseMs") {
            opts.base_ms = ms_option(f, "baseMs")?;
        }
        if let Some(f) = field("capMs") {
            opts.cap_ms = ms_option(f, "capMs")?;
        }
        if let Some(f) = field("factor") {
            opts.factor = ms_option(f, "factor")?;
        }
        if let Some(f) = field("jitter") {
            opts.jitter = f.as_str().and_then(Jitter::parse).ok_or_else(|| {
                WawpError::invalid_option(
                    "jitter must be one of \"none\", \"full\", \"equal\", \"decorrelated\"",
                )
            })?;
        }
        if let Some(f) = field("maxAttempts") {
            opts.max_attempts = whole_number(f, "maxAttempts", f64::from(u32::MAX))? as u32;
        }
        if let Some(f) = field("maxElapsedMs") {
            opts.max_elapsed_ms = Some(ms_option(f, "maxElapsedMs")?);
        }
        if let Some(f) = field("seed") {
            opts.seed = Some(seed_from_number(ms_option(f, "seed")?)?);
        }
        opts.validate()?;
        Ok(opts)
    }

    /// `expo(n) = min(cap, base·factor^n)`; saturates at the cap for any `n`.
    pub fn expo(&self, n: u32) -> f64 {
        // Repeated multiplication instead of `powf`: libm's pow costs ~2 KB in the wasm, and the
        // loop stops at the cap (factor > 1 reaches any cap within ~1,100 steps).
        let mut grown = self.base_ms;
        if self.factor > 1.0 {
            for _ in 0..n {
                if grown >= self.cap_ms {
                    break;
                }
                grown *= self.factor;
            }
        }
        if grown.is_nan() {
            self.cap_ms
        } else {
            grown.min(self.cap_ms)
        }
    }

    /// The pure formula: the delay before retry number `n` (0-based) given the previous
    /// decorrelated sleep `prev_ms` (only decorrelated uses it; start it at `base_ms`) and a
    /// uniform sample `unit` in `[0, 1)`. This is what the AWS simulator computes, so a
    /// contention benchmark can reproduce its experiment exactly.
    pub fn delay_with_sample(&self, n: u32, prev_ms: f64, unit: f64) -> f64 {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let expo = self.expo(n);
        match self.jitter {
            Jitter::None => expo,
            Jitter::Full => expo * unit,
            Jitter::Equal => expo / 2.0 + expo / 2.0 * unit,
            Jitter::Decorrelated => {
                let prev = if prev_ms.is_finite() {
                    prev_ms.max(self.base_ms)
                } else {
                    self.base_ms
                };
                let upper = prev * 3.0;
                (self.base_ms + (upper - self.base_ms) * unit).min(self.cap_ms)
            }
        }
    }
}

/// Persisted as [`BackoffState`]; read back through [`Backoff::from_value`] (`invalid_payload`
/// for anything malformed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Backoff {
    opts: BackoffOptions,
    attempts: u32,
    /// Sum of the delays handed out since the last reset.
    elapsed_ms: f64,
    /// The decorrelated-jitter `sleep` state.
    prev_ms: f64,
    /// Set once a limit was hit; only `reset` clears it.
    exhausted: bool,
    rng: Rng,
}

impl Backoff {
    /// Validates the options (`invalid_option` for negative, NaN, base > cap, factor < 1, ...).
    pub fn new(opts: BackoffOptions) -> Result<Backoff> {
        opts.validate()?;
        let rng = opts.seed.map_or_else(Rng::unseeded, Rng::new);
        Ok(Backoff {
            prev_ms: opts.base_ms,
            opts,
            attempts: 0,
            elapsed_ms: 0.0,
            exhausted: false,
            rng,
        })
    }

    /// The next delay in ms, never below `retry_after_ms`; `None` once exhausted: after
    /// `max_attempts` delays, or when this delay would take the sum of delays past
    /// `max_elapsed_ms` (and from then on until `reset`).
    pub fn next(&mut self, retry_after_ms: Option<f64>) -> Option<f64> {
        if self.exhausted || self.attempts >= self.opts.max_attempts {
            self.exhausted = true;
            return None;
        }
        let unit = self.rng.next_f64();
        let jittered = self
            .opts
            .delay_with_sample(self.attempts, self.prev_ms, unit);
        let floor = retry_after_ms
            .filter(|r| r.is_finite())
            .unwrap_or(0.0)
            .max(0.0);
        let delay = jittered.max(floor);
        if self
            .opts
            .max_elapsed_ms
            .is_some_and(|max_elapsed| self.elapsed_ms + delay > max_elapsed)
        {
            self.exhausted = true;
            return None;
        }
        self.prev_ms = jittered;
        self.attempts += 1;
        self.elapsed_ms += delay;
        Some(delay)
    }

    /// The formula with this backoff's options and RNG, without touching the attempt count or
    /// limits (for simulations that keep their own counters).
    pub fn delay_for(&mut self, n: u32, prev_ms: f64) -> f64 {
        let unit = self.rng.next_f64();
        self.opts.delay_with_sample(n, prev_ms, unit)
    }

    /// Back to the first attempt (after a success). The RNG stream continues.
    pub fn reset(&mut self) {
        self.attempts = 0;
        self.elapsed_ms = 0.0;
        self.prev_ms = self.opts.base_ms;
        self.exhausted = false;
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn elapsed_ms(&self) -> f64 {
        self.elapsed_ms
    }

    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    pub fn options(&self) -> &BackoffOptions {
        &self.opts
    }

    pub fn from_value(v: &Value) -> Result<Backoff> {
        let bad = || WawpError::invalid_payload("malformed backoff state");
        let mut opts = BackoffOptions::from_value(v.get("options").ok_or_else(bad)?)
            .map_err(|e| WawpError::invalid_payload(e.message))?;
        // The exact seed (the options' JS number is only exact up to 2^53).
        opts.seed = match v.get("seed") {
            None => None,
            Some(s) => Some(
                s.as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(bad)?,
            ),
        };
        let attempts = v
            .num_field("attempts")
            .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX))
            .ok_or_else(bad)? as u32;
        let elapsed_ms = v
            .num_field("elapsedMs")
            .filter(|n| *n >= 0.0)
            .ok_or_else(bad)?;
        let prev_ms = v
            .num_field("prevMs")
            .filter(|n| *n >= 0.0)
            .ok_or_else(bad)?;
        let exhausted = v
            .get("exhausted")
            .and_then(Value::as_bool)
            .ok_or_else(bad)?;
        let rng = v
            .str_field("rng")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(bad)?;
        Ok(Backoff {
            opts,
            attempts,
            elapsed_ms,
            prev_ms,
            exhausted,
            rng: Rng::new(rng),
        })
    }
}

/// Everything of a [`Backoff`], for persistence (the seed and RNG state as decimal strings: a
/// `u64` does not fit a JS number).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackoffState<'a> {
    options: &'a BackoffOptions,
    attempts: u32,
    elapsed_ms: f64,
    prev_ms: f64,
    exhausted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<String>,
    rng: String,
}

impl Serialize for Backoff {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        BackoffState {
            options: &self.opts,
            attempts: self.attempts,
            elapsed_ms: self.elapsed_ms,
            prev_ms: self.prev_ms,
            exhausted: self.exhausted,
            seed: self.opts.seed.map(|s| s.to_string()),
            rng: self.rng.state().to_string(),
        }
        .serialize(serializer)
    }
}

impl TryFrom<Value> for Backoff {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<Backoff> {
        Backoff::from_value(&v)
    }
}

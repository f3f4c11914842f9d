//! wawp-session: reliable WhatsApp sessions on the Wawp API and WAHA.
//!
//! A sans-IO core: events and `now_ms` go in, actions and the next deadline come out. No clock,
//! no timer, no fetch in here; the JS drivers (timers, Durable Object alarms) and the test
//! simulation do the I/O. The wasm-bindgen surface lives in `wasm` only, compiled with the `wasm`
//! feature on wasm32; no other module imports it.

pub mod backoff;
pub mod budget;
pub mod driver;
pub mod error;
pub mod http;
pub mod identity;
pub mod machine;
pub mod metrics;
pub mod payload;
pub mod retry_after;
pub mod status;
pub mod webhook;

#[cfg(all(feature = "wasm", target_arch = "wasm32"))]
pub mod wasm;

pub use backoff::{Backoff, BackoffOptions, Jitter};
pub use budget::RetryBudget;
pub use driver::{DriverEffect, DriverEvent, SessionDriver, SessionView};
pub use error::{ErrorCode, Result, WawpError};
pub use identity::{IdentityVerdict, compare_identity, normalize_jid};
pub use machine::{Action, CallResult, Event, LifecycleMachine, MachineOptions, Op, SendOutcome};
pub use retry_after::parse_retry_after;
pub use status::{
    Me, SessionStatus, StatusReport, UiAction, decode_status_text, decode_status_value,
    ui_action_for,
};

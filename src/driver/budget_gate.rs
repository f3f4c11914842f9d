//! The shared retry budget: many drivers (a fleet in one process) hold one token bucket, and an
//! automatic (not user-triggered) start or restart spends a token before its request is made.
//! With the bucket empty the call is answered inside the driver as `rate_limited`, so the machine
//! backs off as for a real 429 and no request leaves.

use std::cell::RefCell;
use std::rc::Rc;

use crate::budget::RetryBudget;
use crate::machine::{Event, Op};

/// One bucket, shared by every driver given a clone of it (single-threaded: wasm, one isolate).
pub type SharedBudget = Rc<RefCell<RetryBudget>>;

/// Events a person caused: their calls never wait for the shared budget.
pub(super) fn user_triggered(event: &Event) -> bool {
    matches!(
        event,
        Event::UserRetry | Event::UserStart | Event::UserStop | Event::UserLogout
    )
}

/// The calls an automatic action spends the budget on.
fn budgeted(op: Op) -> bool {
    matches!(op, Op::Start | Op::Restart)
}

/// `Ok` when the call may go out now; `Err(retry_after_ms)` when the budget refuses it (the wait
/// until a token is back, when the bucket refills at all).
pub(super) fn admit(
    budget: Option<&SharedBudget>,
    op: Op,
    automatic: bool,
    now_ms: f64,
) -> Result<(), Option<f64>> {
    let Some(budget) = budget.filter(|_| automatic && budgeted(op)) else {
        return Ok(());
    };
    // A bucket borrowed elsewhere cannot happen on one thread; if it ever did, let the call go.
    let Ok(mut bucket) = budget.try_borrow_mut() else {
        return Ok(());
    };
    if bucket.try_spend(1.0, now_ms) {
        return Ok(());
    }
    Err(bucket.wait_ms(1.0, now_ms).filter(|ms| *ms > 0.0))
}

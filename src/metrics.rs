//! Stability metrics from a status history (the audit trail): time in each status, uptime
//! ratio, restarts, mean time to recover. Pure: the history and `now_ms` are passed in.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::status::SessionStatus;

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StabilityMetrics {
    pub observed_ms: f64,
    pub working_ms: f64,
    pub starting_ms: f64,
    pub uptime_ratio: f64,
    /// Entries into STARTING from a running or FAILED status, directly or through a STOPPED shorter
    /// than [`RESTART_STOP_GAP_MS`] (a restart call); not a boot from a real stop.
    pub restarts: u32,
    /// FAILED episodes (entries into FAILED).
    pub failures: u32,
    /// Mean of (next WORKING − leaving WORKING) over the outages that ended; `None` if none did.
    pub mean_time_to_recover_ms: Option<f64>,
    /// Time spent in every status that occurs in the history, in `SessionStatus::ALL` order.
    #[serde(serialize_with = "status_map")]
    pub time_in_status_ms: Vec<(SessionStatus, f64)>,
}

/// `timeInStatusMs` is an object keyed by status name (`{"WORKING": 1200, ...}`).
fn status_map<S: serde::Serializer>(
    entries: &[(SessionStatus, f64)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (status, ms) in entries {
        map.serialize_entry(status.as_str(), ms)?;
    }
    map.end()
}

/// A STOPPED shorter than this between a running / FAILED status and STARTING is the middle of a
/// restart (stop + start), not a stop by the user.
pub const RESTART_STOP_GAP_MS: f64 = 10_000.0;

/// `history`: (at_ms, status) in time order. Entries with a non-finite time are skipped, an
/// out-of-order history is sorted (stably), repeats of the same status are one stretch, and the
/// last status lasts until `now_ms` (not beyond: a `now_ms` before the last entry adds nothing).
pub fn stability(history: &[(f64, SessionStatus)], now_ms: f64) -> StabilityMetrics {
    // A stable sort by insertion (O(n) for the usual in-order history): `sort_by` would link
    // ~3 KB gzip of sort code into the wasm.
    let mut points: Vec<(f64, SessionStatus)> = Vec::with_capacity(history.len());
    for &(at, status) in history.iter().filter(|(at, _)| at.is_finite()) {
        let index = points.partition_point(|p| p.0 <= at);
        points.insert(index, (at, status));
    }

    let mut metrics = StabilityMetrics::default();
    let mut per_status = [0.0f64; SessionStatus::ALL.len()];
    let mut seen = [false; SessionStatus::ALL.len()];
    let index = |s: SessionStatus| SessionStatus::ALL.iter().position(|x| *x == s);
    let mut outage_began: Option<f64> = None;
    let mut recoveries: Vec<f64> = Vec::new();
    let mut previous: Option<SessionStatus> = None;
    let mut stopped_since: Option<f64> = None;
    let mut before_stop: Option<SessionStatus> = None;

    for (i, (at, status)) in points.iter().copied().enumerate() {
        let end = points
            .get(i + 1)
            .map_or(now_ms.max(at), |(next_at, _)| *next_at);
        if let Some(slot) = index(status) {
            if let Some(total) = per_status.get_mut(slot) {
                *total += (end - at).max(0.0);
            }
            if let Some(flag) = seen.get_mut(slot) {
                *flag = true;
            }
        }
        if previous == Some(status) {
            continue;
        }
        // A restart through the API passes through STOPPED for a moment (stop, then start):
        // STARTING after a short STOPPED that followed a running or FAILED status counts too.
        let through_brief_stop = previous == Some(SessionStatus::Stopped)
            && stopped_since.is_some_and(|since| at - since < RESTART_STOP_GAP_MS)
            && before_stop.is_some_and(|p| p.is_running() || p == SessionStatus::Failed);
        match status {
            SessionStatus::Starting
                if through_brief_stop
                    || previous.is_some_and(|p| p.is_running() || p == SessionStatus::Failed) =>
            {
                metrics.restarts += 1;
            }
            SessionStatus::Failed => metrics.failures += 1,
            _ => {}
        }
        if status == SessionStatus::Stopped {
            stopped_since = Some(at);
            before_stop = previous;
        }
        if previous == Some(SessionStatus::Working) {
            outage_began = Some(at);
        }
        if status == SessionStatus::Working
            && let Some(began) = outage_began.take()
        {
            recoveries.push(at - began);
        }
        previous = Some(status);
    }

    metrics.observed_ms = points.first().map_or(0.0, |(first, _)| {
        (now_ms.max(points.last().map_or(*first, |l| l.0)) - first).max(0.0)
    });
    let time_of = |s: SessionStatus| {
        index(s)
            .and_then(|i| per_status.get(i))
            .copied()
            .unwrap_or(0.0)
    };
    metrics.working_ms = time_of(SessionStatus::Working);
    metrics.starting_ms = time_of(SessionStatus::Starting);
    metrics.uptime_ratio = if metrics.observed_ms > 0.0 {
        (metrics.working_ms / metrics.observed_ms).clamp(0.0, 1.0)
    } else {
        0.0
    };
    metrics.mean_time_to_recover_ms =
        (!recoveries.is_empty()).then(|| recoveries.iter().sum::<f64>() / recoveries.len() as f64);
    metrics.time_in_status_ms = SessionStatus::ALL
        .iter()
        .zip(per_status.iter().zip(seen.iter()))
        .filter(|(_, (_, seen))| **seen)
        .map(|(status, (ms, _))| (*status, *ms))
        .collect();
    metrics
}

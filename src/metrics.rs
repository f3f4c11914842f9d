//! Stability metrics from a status history (the audit trail): time in each status, uptime
//! ratio, restarts (each with its kind), mean time to recover. Pure: the history and `now_ms` are
//! passed in. The dashboard only shows what this says (which restart was the watchdog's).

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
    /// Each of those restarts, in time order: `restarts == restart_events.len()`.
    pub restart_events: Vec<Restart>,
    /// FAILED episodes (entries into FAILED).
    pub failures: u32,
    /// Mean of (next WORKING − leaving WORKING) over the outages that ended; `None` if none did.
    pub mean_time_to_recover_ms: Option<f64>,
    /// Time spent in every status that occurs in the history, in `SessionStatus::ALL` order.
    #[serde(serialize_with = "status_map")]
    pub time_in_status_ms: Vec<(SessionStatus, f64)>,
}

/// What a restart restarted, told by the status the session left for it (before a brief STOPPED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartKind {
    /// A start that hung: the session was still STARTING (the machine's watchdog).
    Watchdog,
    /// A FAILED session started again (the machine's recovery, or the user's Retry).
    Recovery,
    /// A session that was connected or pairing (a user's restart, maintenance, the server).
    Other,
}

impl RestartKind {
    pub const ALL: [RestartKind; 3] = [
        RestartKind::Watchdog,
        RestartKind::Recovery,
        RestartKind::Other,
    ];

    fn of(left: SessionStatus) -> RestartKind {
        match left {
            SessionStatus::Starting => RestartKind::Watchdog,
            SessionStatus::Failed => RestartKind::Recovery,
            _ => RestartKind::Other,
        }
    }
}

/// One restart: when the session entered STARTING, which entry of the given history that was
/// (its index in the caller's order, so a page can mark the row), and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restart {
    pub at_ms: f64,
    pub history_index: u32,
    pub kind: RestartKind,
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
    stability_at_scale(history, now_ms, 1.0)
}

/// [`stability`] for a history whose sessions ran `timing_scale` times faster than real time (a
/// `--speed N` simulator with the machine's timings divided by N): the restart stop gap shrinks
/// with them, so a user's stop and start seconds apart in session time is no restart. A
/// non-finite or non-positive scale counts as 1.
pub fn stability_at_scale(
    history: &[(f64, SessionStatus)],
    now_ms: f64,
    timing_scale: f64,
) -> StabilityMetrics {
    let scale = if timing_scale.is_finite() && timing_scale > 0.0 {
        timing_scale
    } else {
        1.0
    };
    let stop_gap_ms = RESTART_STOP_GAP_MS / scale;
    // A stable sort by insertion (O(n) for the usual in-order history): `sort_by` would link
    // ~3 KB gzip of sort code into the wasm.
    // Each point keeps its index in `history` for `Restart::history_index`.
    // u32: serde-wasm-bindgen links its 64-bit integer path for a usize.
    let mut points: Vec<(f64, SessionStatus, u32)> = Vec::with_capacity(history.len());
    for (original, &(at, status)) in history.iter().enumerate() {
        let Ok(original) = u32::try_from(original) else {
            break;
        };
        if !at.is_finite() {
            continue;
        }
        let index = points.partition_point(|p| p.0 <= at);
        points.insert(index, (at, status, original));
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

    for (i, (at, status, original)) in points.iter().copied().enumerate() {
        let end = points
            .get(i + 1)
            .map_or(now_ms.max(at), |(next_at, _, _)| *next_at);
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
        // STARTING after a short STOPPED that followed a running or FAILED status counts too,
        // with the status before the stop as the one restarted.
        let restartable = |p: SessionStatus| p.is_running() || p == SessionStatus::Failed;
        let brief_stop = previous == Some(SessionStatus::Stopped)
            && stopped_since.is_some_and(|since| at - since < stop_gap_ms);
        let restarted = if brief_stop { before_stop } else { previous }.filter(|p| restartable(*p));
        match (status, restarted) {
            (SessionStatus::Starting, Some(left)) => metrics.restart_events.push(Restart {
                at_ms: at,
                history_index: original,
                kind: RestartKind::of(left),
            }),
            (SessionStatus::Failed, _) => metrics.failures += 1,
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

    metrics.restarts = u32::try_from(metrics.restart_events.len()).unwrap_or(u32::MAX);
    metrics.observed_ms = points.first().map_or(0.0, |(first, _, _)| {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use SessionStatus::*;

    const S: f64 = 1_000.0;

    fn kinds(history: &[(f64, SessionStatus)]) -> Vec<(usize, RestartKind)> {
        let m = stability(history, 1_000.0 * S);
        assert_eq!(m.restarts as usize, m.restart_events.len());
        m.restart_events
            .iter()
            .map(|r| (r.history_index as usize, r.kind))
            .collect()
    }

    #[test]
    fn a_hung_start_restarted_through_a_brief_stop_is_the_watchdog() {
        let history = [
            (0.0, Stopped),
            (10.0 * S, Starting),
            (70.0 * S, Stopped),  // the watchdog's restart: stop ...
            (70.5 * S, Starting), // ... start
            (80.0 * S, Working),
        ];
        assert_eq!(kinds(&history), vec![(3, RestartKind::Watchdog)]);
        let m = stability(&history, 100.0 * S);
        assert_eq!(m.restart_events[0].at_ms, 70.5 * S);
    }

    #[test]
    fn a_failed_session_started_again_is_recovery_directly_or_through_a_stop() {
        let direct = [(0.0, Working), (5.0 * S, Failed), (35.0 * S, Starting)];
        assert_eq!(kinds(&direct), vec![(2, RestartKind::Recovery)]);
        let through_stop = [
            (0.0, Working),
            (5.0 * S, Failed),
            (35.0 * S, Stopped),
            (36.0 * S, Starting),
        ];
        assert_eq!(kinds(&through_stop), vec![(3, RestartKind::Recovery)]);
    }

    #[test]
    fn a_restart_of_a_connected_or_pairing_session_is_other() {
        let history = [
            (0.0, Working),
            (10.0 * S, Starting), // restart from WORKING (maintenance, a user)
            (20.0 * S, ScanQrCode),
            (30.0 * S, Stopped),
            (31.0 * S, Starting), // restart while pairing, through a brief stop
        ];
        assert_eq!(
            kinds(&history),
            vec![(1, RestartKind::Other), (4, RestartKind::Other)]
        );
    }

    #[test]
    fn the_stop_gap_is_the_one_rule_for_every_kind() {
        let with_gap = |gap: f64| {
            kinds(&[
                (0.0, Starting),
                (60.0 * S, Stopped),
                (60.0 * S + gap, Starting),
            ])
        };
        // 5 s: past the dashboard's former 3 s rule, still a restart by the core's.
        assert_eq!(with_gap(5.0 * S), vec![(2, RestartKind::Watchdog)]);
        assert_eq!(
            with_gap(RESTART_STOP_GAP_MS - 1.0),
            vec![(2, RestartKind::Watchdog)]
        );
        // A stop that long was a Power off; starting again is a boot.
        assert_eq!(with_gap(RESTART_STOP_GAP_MS), vec![]);
        // A boot from a stop that began the history, or from a stop after a stop, is no restart.
        assert_eq!(kinds(&[(0.0, Stopped), (1.0, Starting)]), vec![]);
    }

    #[test]
    fn a_faster_session_shrinks_the_stop_gap_with_its_timings() {
        // At 20x a 10 s session-time stop is 0.5 s of wall time: a boot, not a restart.
        let history = [(0.0, Working), (1.0 * S, Stopped), (1.5 * S, Starting)];
        assert_eq!(stability(&history, 2.0 * S).restarts, 1);
        assert_eq!(stability_at_scale(&history, 2.0 * S, 20.0).restarts, 0);
        // The watchdog's own stop + start (25 ms wall at 20x) still counts.
        let watchdog = [(0.0, Starting), (3.0 * S, Stopped), (3.025 * S, Starting)];
        let m = stability_at_scale(&watchdog, 4.0 * S, 20.0);
        assert_eq!(m.restart_events[0].kind, RestartKind::Watchdog);
        // A scale that means nothing is 1.
        for bad in [0.0, -2.0, f64::NAN, f64::INFINITY] {
            assert_eq!(stability_at_scale(&history, 2.0 * S, bad).restarts, 1);
        }
    }

    #[test]
    fn history_index_is_the_callers_order_even_unsorted_and_with_skipped_entries() {
        let history = [
            (40.0 * S, Starting), // 0: the restart, given first
            (f64::NAN, Working),  // 1: skipped
            (0.0, Working),       // 2
            (30.0 * S, Failed),   // 3
        ];
        assert_eq!(kinds(&history), vec![(0, RestartKind::Recovery)]);
    }

    #[test]
    fn restart_events_serialize_with_camel_case_names_and_snake_case_kinds() {
        let m = stability(&[(0.0, Failed), (2.0, Starting)], 3.0);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["restarts"], 1);
        assert_eq!(
            v["restartEvents"],
            serde_json::json!([{ "atMs": 2.0, "historyIndex": 1, "kind": "recovery" }])
        );
    }
}

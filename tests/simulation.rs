#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The deterministic simulation (see `docs/simulation.md`): thousands of seeds of a simulated
//! session, run by the shipped `SessionDriver` (machine, shared retry budget, `restored()` after
//! crashes) against a faulty fake Wawp server, checking the invariants throughout.
//!
//! `cargo test --test simulation` runs the default size; `SIM_SEEDS` / `SIM_HOURS` resize it,
//! and the ignored `soak` test runs 10,000 seeds × 24 h (use `--release`).

#[path = "simulation/harness.rs"]
mod harness;

use harness::{FaultProfile, Sim, SimConfig, SimStats, run_driver_seeds};
use wawp_session::LifecycleMachine;
use wawp_session::driver::SessionDriver;

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(default)
}

fn report(label: &str, seeds: u64, hours: f64, s: &SimStats) {
    let rejected: Vec<_> = {
        let mut r: Vec<_> = s.rejected.iter().collect();
        r.sort();
        r
    };
    let notices: Vec<_> = {
        let mut n: Vec<_> = s.admin_notices.iter().collect();
        n.sort();
        n
    };
    println!(
        "{label}: api calls {} (start {}, restart {}, stop {}, logout {}, info {}, me {}), 429s {}, 5xx {}, \
         network {}, timeouts {}, webhooks {} (lost {}, duplicated {}), faults {}, crashes {}, round trips {}, \
         refused by the shared budget {}, view changes {}, QR reads {}",
        s.api_calls,
        s.calls_by_op[0],
        s.calls_by_op[1],
        s.calls_by_op[2],
        s.calls_by_op[3],
        s.calls_by_op[4],
        s.calls_by_op[5],
        s.http_429,
        s.http_5xx,
        s.network_errors,
        s.timeouts,
        s.webhooks_emitted,
        s.webhooks_lost,
        s.webhooks_duplicated,
        s.faults_injected,
        s.crashes,
        s.round_trips,
        s.budget_refusals,
        s.view_changes,
        s.qr_reads,
    );
    println!(
        "{label}: server uptime {:.4}, recoveries {} (mean {:.1} s, max {:.1} s), automatic restarts {}, \
         sends {} (released {}, delivered {}, refused by the API while not WORKING {}, 429 {}, held again {}, \
         delivered after a refusal {}, delivered but reported lost {}, to the wrong account {}, duplicates {}), \
         rejected {:?}, notices {:?}",
        s.server_working_ms / s.simulated_ms.max(1.0),
        s.recoveries,
        s.mean_recovery_ms().unwrap_or(0.0) / 1000.0,
        s.recovery_ms_max / 1000.0,
        s.automatic_restarts,
        s.sends,
        s.released,
        s.delivered,
        s.released_not_working,
        s.send_429,
        s.held_again,
        s.delivered_after_refusal,
        s.delivered_but_rejected,
        s.released_wrong_account,
        s.duplicate_resolutions,
        rejected,
        notices,
    );
    println!(
        "simulation: {seeds} seeds × {hours} simulated hours, {} events, {} invariant violations",
        s.events,
        s.violations.len()
    );
}

fn run_and_check(label: &str, seeds: u64, hours: f64) {
    let started = std::time::Instant::now();
    let first = env_or("SIM_FIRST_SEED", 1.0) as u64;
    let stats = run_driver_seeds(first, seeds, hours);
    report(label, seeds, hours, &stats);
    println!(
        "{label}: wall time {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        stats.violations.is_empty(),
        "violations:\n{}",
        stats.violations.join("\n")
    );
    assert_eq!(stats.runs, seeds);
    assert!(stats.sends > 0 && stats.released > 0);
}

/// The default run, sized for `cargo test` in debug mode on two cores.
#[test]
fn thousands_of_seeds_keep_every_invariant() {
    let seeds = env_or("SIM_SEEDS", 2000.0) as u64;
    let hours = env_or("SIM_HOURS", 1.0);
    run_and_check("simulation", seeds, hours);
}

/// 10,000 seeds × 24 simulated hours: `cargo test --release --test simulation -- --ignored soak --nocapture`.
#[test]
#[ignore = "long soak; run in --release"]
fn soak() {
    run_and_check("soak", 10_000, 24.0);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let cfg = SimConfig::new(42, 6.0, FaultProfile::harsh());
        Sim::new(cfg.clone(), SessionDriver::new(cfg.machine_options())).run()
    };
    assert_eq!(run(), run());
}

#[test]
fn the_harsh_world_really_is_harsh_and_the_machine_recovers() {
    let mut total = SimStats::default();
    for seed in 0..40 {
        let cfg = SimConfig::new(seed, 6.0, FaultProfile::harsh());
        total.merge(&Sim::new(cfg.clone(), SessionDriver::new(cfg.machine_options())).run());
    }
    assert!(total.violations.is_empty(), "{:?}", total.violations);
    // Every fault kind actually happened.
    assert!(total.http_429 > 0 && total.http_5xx > 0 && total.timeouts > 0);
    assert!(total.webhooks_lost > 0 && total.webhooks_duplicated > 0);
    assert!(total.faults_injected > 0 && total.crashes > 0);
    assert!(total.admin_notices.get("failed").copied().unwrap_or(0) > 0);
    assert!(total.automatic_restarts > 0);
    // The shipped delivery policy met every send outcome: refusals handed back, 429s retried,
    // and sends delivered after them; never twice (a second delivery is a violation).
    assert!(total.released_not_working > 0 && total.send_429 > 0 && total.held_again > 0);
    assert!(total.delivered_after_refusal > 0 && total.delivered > 0);
    // The driver's own decisions happened too: the shared budget refused automatic restarts
    // (answered inside, no request), QR images were asked for, the view changed.
    assert!(total.budget_refusals > 0 && total.qr_reads > 0 && total.view_changes > 0);
    // A provider outage drives the machine to its restart cap, and it stops there.
    let mut outage = SimStats::default();
    for seed in 0..20 {
        let cfg = SimConfig::new(seed, 6.0, FaultProfile::outage());
        outage.merge(&Sim::new(cfg.clone(), SessionDriver::new(cfg.machine_options())).run());
    }
    assert!(outage.violations.is_empty(), "{:?}", outage.violations);
    assert!(
        outage
            .admin_notices
            .get("restart_budget_exhausted")
            .copied()
            .unwrap_or(0)
            > 0
    );
    // And the machine still gets the session back most of the time.
    assert!(total.recoveries > 0);
    let uptime = total.server_working_ms / total.simulated_ms;
    assert!(uptime > 0.5, "uptime {uptime}");
}

/// The checks bite: a policy that releases sends whenever asked is caught.
#[test]
fn a_policy_that_releases_too_early_is_caught() {
    struct Eager(LifecycleMachine, Vec<wawp_session::Action>);
    impl harness::Policy for Eager {
        fn handle(&mut self, event: wawp_session::Event, now_ms: f64) {
            if let wawp_session::Event::Send { id, .. } = &event {
                self.1
                    .push(wawp_session::Action::ReleaseSend { id: id.clone() });
                return;
            }
            self.0.handle(event, now_ms);
        }
        fn poll_effect(&mut self) -> Option<wawp_session::DriverEffect> {
            if self.1.is_empty() {
                self.0.poll_action()
            } else {
                Some(self.1.remove(0))
            }
            .map(wawp_session::DriverEffect::Action)
        }
        fn poll_timeout(&self) -> Option<f64> {
            self.0.poll_timeout()
        }
        fn believed_status(&self) -> wawp_session::SessionStatus {
            self.0.status()
        }
        fn can_release(&self) -> bool {
            self.0.can_release()
        }
        fn auto_restart_cap(&self) -> Option<u32> {
            Some(5)
        }
        fn to_json(&self) -> Option<String> {
            None
        }
        fn from_json(_: &str) -> Result<Self, String> {
            Err("not persistable".into())
        }
        fn in_flight(&self) -> Vec<wawp_session::Op> {
            Vec::new()
        }
    }
    let mut violations = Vec::new();
    for seed in 1..=10 {
        let cfg = SimConfig::new(seed, 2.0, FaultProfile::harsh());
        let stats = Sim::new(
            cfg.clone(),
            Eager(LifecycleMachine::new(cfg.machine_options()), Vec::new()),
        )
        .run();
        violations.extend(stats.violations);
    }
    assert!(
        violations
            .iter()
            .any(|v| v.contains("released") && v.contains(" while ")),
        "{violations:?}"
    );
}

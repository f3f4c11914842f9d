//! The AWS "Exponential Backoff and Jitter" experiment (Brooker 2015; upstream simulator
//! aws-samples/aws-arch-backoff-simulator, `src/backoff_simulator.py`) with OUR `Backoff`: OCC on one
//! row, network delay |N(10 ms, 2 ms)| per message, base 5 ms, cap 2000 ms. Each client reads the
//! version, writes with it, and on a conflict sleeps `backoff` and reads again; time is when the
//! last client got its successful write answer, calls are writes. The same event model as upstream.
//!
//! Our `Backoff` counts attempts from 0 (`expo(0) = base`) where upstream's first retry uses
//! `expo(1) = 2·base`; so the exponential kinds run with `base_ms = 10` (same schedule:
//! 10, 20, 40, ... = upstream 5·2^n for n ≥ 1) and decorrelated with `base_ms = 5` (upstream's
//! lower bound and starting sleep). Delays come from `Backoff::next`, the production path.
//!
//! Usage: contention <runs> <clients,...>  → one JSON object per line on stdout.

mod sim;

use sim::{Queue, Rng};
use wawp_session::backoff::{Backoff, BackoffOptions, Jitter};

#[derive(Clone, Copy)]
enum Strategy {
    NoBackoff,
    Ours(Jitter),
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::NoBackoff => "no_backoff",
            Strategy::Ours(j) => j.as_str(),
        }
    }
}

enum Msg {
    /// a read request arrives at the server
    Read { client: usize },
    /// the read answer (version) arrives at the client
    ReadRsp { client: usize, version: u64 },
    /// a write request arrives at the server
    Write { client: usize, version: u64 },
    /// the write answer arrives at the client
    WriteRsp { client: usize, ok: bool },
}

fn net_delay(rng: &mut Rng) -> f64 {
    rng.normal(10.0, 2.0).abs()
}

/// One simulation: returns (completion time ms, write calls).
fn run_once(strategy: Strategy, clients: usize, seed: u64) -> Result<(f64, u64), String> {
    let mut rng = Rng::new(seed);
    let mut backoffs = Vec::with_capacity(clients);
    for c in 0..clients {
        let b = match strategy {
            Strategy::NoBackoff => None,
            Strategy::Ours(jitter) => {
                let base_ms = if jitter == Jitter::Decorrelated {
                    5.0
                } else {
                    10.0
                };
                let opts = BackoffOptions {
                    base_ms,
                    cap_ms: 2000.0,
                    factor: 2.0,
                    jitter,
                    max_attempts: u32::MAX,
                    max_elapsed_ms: None,
                    seed: Some(seed.wrapping_mul(1_000_003).wrapping_add(c as u64)),
                };
                Some(Backoff::new(opts).map_err(|e| e.to_string())?)
            }
        };
        backoffs.push(b);
    }
    let mut version = 0u64;
    let mut calls = 0u64;
    let mut now = 0.0f64;
    let mut queue = Queue::new();
    for client in 0..clients {
        queue.push(net_delay(&mut rng), Msg::Read { client });
    }
    while let Some((at, msg)) = queue.pop() {
        now = at;
        match msg {
            Msg::Read { client } => {
                queue.push(at + net_delay(&mut rng), Msg::ReadRsp { client, version })
            }
            Msg::ReadRsp {
                client,
                version: seen,
            } => queue.push(
                at + net_delay(&mut rng),
                Msg::Write {
                    client,
                    version: seen,
                },
            ),
            Msg::Write {
                client,
                version: expected,
            } => {
                calls += 1;
                let ok = expected == version;
                if ok {
                    version += 1;
                }
                queue.push(at + net_delay(&mut rng), Msg::WriteRsp { client, ok });
            }
            Msg::WriteRsp { client, ok } => {
                if !ok {
                    let sleep = match backoffs.get_mut(client).and_then(Option::as_mut) {
                        None => 0.0,
                        Some(b) => b.next(None).ok_or("backoff exhausted")?,
                    };
                    queue.push(at + net_delay(&mut rng) + sleep, Msg::Read { client });
                }
            }
        }
    }
    Ok((now, calls))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let runs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let clients: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| (1..=19).map(|i| i * 10).collect());
    let strategies = [
        Strategy::NoBackoff,
        Strategy::Ours(Jitter::None),
        Strategy::Ours(Jitter::Equal),
        Strategy::Ours(Jitter::Full),
        Strategy::Ours(Jitter::Decorrelated),
    ];
    for &n in &clients {
        for strategy in strategies {
            let mut times = Vec::new();
            let mut calls = Vec::new();
            for run in 0..runs {
                let (t, c) = run_once(strategy, n, 42 + run * 7919 + n as u64)?;
                times.push(t);
                calls.push(c as f64);
            }
            let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
            let fmt = |xs: &[f64]| {
                xs.iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            println!(
                "{{\"clients\":{n},\"strategy\":\"{}\",\"runs\":{runs},\"meanTimeMs\":{:.3},\"meanCalls\":{:.3},\"timesMs\":[{}],\"calls\":[{}]}}",
                strategy.name(),
                mean(&times),
                mean(&calls),
                fmt(&times),
                fmt(&calls)
            );
        }
    }
    Ok(())
}

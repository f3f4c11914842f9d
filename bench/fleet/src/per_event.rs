//! The per-event workload of bench/per-event.mjs run natively: decode each webhook body and step
//! the machine, with the same host loop (fire due deadlines, handle, drain, answer every call
//! with an ok result). No wasm, no JS boundary: the core's own cost, for reference.
//!
//! Usage: per_event <file: one "time_ms<TAB>body" per line> <warmup passes> <passes>
//! → one JSON line {"nsPerEvent":[...], "actions": n}.

use std::time::Instant;

use wawp_session::{
    Action, CallResult, Event, LifecycleMachine, MachineOptions, decode_status_text,
};

fn drain(machine: &mut LifecycleMachine, now: f64) -> u64 {
    let mut count = 0;
    while let Some(action) = machine.poll_action() {
        count += 1;
        if let Action::Call { op } = action {
            let result = CallResult {
                op,
                ok: true,
                error: None,
                http_status: None,
                retry_after_ms: None,
                body: None,
            };
            machine.handle(Event::Result(result), now);
        }
    }
    count
}

fn pass(events: &[(f64, String)]) -> Result<(f64, u64), String> {
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    let mut actions = 0;
    let t0 = Instant::now();
    for (now, body) in events {
        let now = *now;
        while machine.poll_timeout().is_some_and(|due| due <= now) {
            machine.handle(Event::Timeout, now);
            actions += drain(&mut machine, now);
        }
        let report = decode_status_text(body).map_err(|e| e.to_string())?;
        machine.handle(Event::Status(Box::new(report)), now);
        actions += drain(&mut machine, now);
    }
    Ok((
        t0.elapsed().as_nanos() as f64 / events.len().max(1) as f64,
        actions,
    ))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .get(1)
        .ok_or("usage: per_event <file> <warmup> <passes>")?;
    let warmup: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let passes: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4);
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let events: Vec<(f64, String)> = text
        .lines()
        .filter_map(|line| {
            let (t, body) = line.split_once('\t')?;
            Some((t.parse().ok()?, body.to_string()))
        })
        .collect();
    for _ in 0..warmup {
        pass(&events)?;
    }
    let mut ns = Vec::new();
    let mut actions = 0;
    for _ in 0..passes {
        let (n, a) = pass(&events)?;
        ns.push(format!("{n:.1}"));
        actions = a;
    }
    println!(
        "{{\"nsPerEvent\":[{}],\"actions\":{actions}}}",
        ns.join(",")
    );
    Ok(())
}

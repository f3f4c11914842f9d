//! Fleet behaviour in simulated time: N instances × H hours against a model of the Wawp API with
//! a realistic fault mix, under three client policies:
//!
//! - `ours`: the REAL `LifecycleMachine` per instance (webhooks first, single flight, jittered
//!   backoff, watchdogs, reconciliation `info`, its delivery policy for sends: each send is
//!   performed once per release and its outcome reported), driven like the JS supervisor drives it.
//! - `polling`: the vendor guide done plainly: `info` every 3–5 s, start when STOPPED (also when a
//!   send finds it STOPPED), restart after 30 s FAILED or 60 s STARTING, no backoff, sends retried
//!   on every error.
//! - `naive`: webhooks plus the same reactions, but retries without jitter (1, 2, 4 … 60 s, 10
//!   attempts) and no single flight: every trigger starts its own call chain; sends retried on
//!   every error; a reconciliation `info` every 5 min.
//!
//! The API model: per-request latency 60–250 ms; a global rate limit (token bucket, 429 with
//! Retry-After 1 s); per instance more than 3 start/restart calls in 10 s → 429 with Retry-After
//! 5 s (the guide: "calling /session/start … many times in a few seconds will result in a 429");
//! outage windows answering 503; 0.2 % refused connections (certain non-delivery) and 0.2 % lost
//! responses (the request was processed; the client times out after 15 s).
//! The engine: start/restart → STARTING → WORKING after 3–10 s, 5 % of starts hang in STARTING.
//! Faults while WORKING (Poisson): crash → FAILED, container stop → STOPPED, short reconnect blip
//! WORKING → STARTING → WORKING. Webhooks: 50–1000 ms late, 5 % lost, 2 % duplicated (late copy).
//! Messages: Poisson per instance; a message not delivered within 120 s is lost.
//!
//! Usage: fleet <policy> <instances> <hours> <seed>  → one JSON line with the metrics.

mod sim;

use std::collections::VecDeque;

use sim::{Queue, Rng, percentile};
use wawp_session::payload;
use wawp_session::{
    Action, CallResult, ErrorCode, Event, LifecycleMachine, MachineOptions, Op, SendOutcome,
    SessionStatus, StatusReport,
};

const HOUR: f64 = 3_600_000.0;
const SEC: f64 = 1000.0;

// The fault mix and API model (see the module comment).
const FAULT_MEAN_INTERVAL: f64 = 4.0 * HOUR;
const P_CRASH: f64 = 0.45;
const P_STOP: f64 = 0.25; // the rest are reconnect blips
const BLIP_MS: f64 = 3.0 * SEC;
const P_START_HANGS: f64 = 0.05;
const OUTAGES_PER_DAY: usize = 3;
const OUTAGE_MS: f64 = 120.0 * SEC;
const GLOBAL_RPS: f64 = 400.0;
const GLOBAL_BURST: f64 = 400.0;
const LIFECYCLE_LIMIT: usize = 3;
const LIFECYCLE_WINDOW_MS: f64 = 10.0 * SEC;
const P_REFUSED: f64 = 0.002;
const P_LOST_RESPONSE: f64 = 0.002;
const CLIENT_TIMEOUT_MS: f64 = 15.0 * SEC;
const P_WEBHOOK_DROP: f64 = 0.05;
const P_WEBHOOK_DUP: f64 = 0.02;
/// Messages come in bursts (1 + geometric, mean 2, at most 8): a reply, a notification batch.
const BURST_MEAN_INTERVAL: f64 = 20.0 * 60.0 * SEC;
const MAX_BURST: usize = 8;
const SEND_GIVE_UP_MS: f64 = 120.0 * SEC;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Ours,
    Polling,
    Naive,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum ReqKind {
    Op(Op),
    Send(usize),
}

#[derive(Clone, Copy, Debug)]
struct Req {
    kind: ReqKind,
    /// naive retry chains: attempt number of this call
    attempt: u32,
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Ok(SessionStatus),
    Http(u16, Option<f64>),
    /// the response never came (the request may have been processed)
    Timeout,
    /// connection refused: certainly not processed
    Refused,
}

enum Ev {
    Arrive(usize, Req),
    Respond(usize, Req, Outcome),
    Webhook(usize, SessionStatus, f64, u64),
    EngineReady(usize, u64),
    BlipEnd(usize, u64),
    Fault(usize),
    Message(usize),
    MachineTimer(usize, f64),
    Poll(usize),
    /// naive/polling: run `op` for the instance (a scheduled retry or watchdog)
    Later(usize, Req, u64),
    Boot(usize),
    GiveUp(usize),
}

struct Server {
    status: SessionStatus,
    epoch: u64,
    recent_lifecycle: VecDeque<f64>,
    /// an open fault episode: when it began and with which status (FAILED or STOPPED)
    episode_since: Option<f64>,
    episode_kind: SessionStatus,
}

struct Message {
    inst: usize,
    created: f64,
    delivered: u32,
    first_delivery: Option<f64>,
    /// a send of it timed out without an answer (it may or may not have been delivered)
    saw_lost_response: bool,
    settled: bool,
}

/// The host side per instance (the fields each policy uses).
struct Host {
    machine: Option<LifecycleMachine>,
    armed: Option<f64>,
    /// last status this host believes
    known: SessionStatus,
    starting_since: Option<f64>,
    failed_since: Option<f64>,
    queue: Vec<usize>,
    /// naive: the watchdog generation, so a stale watchdog does nothing
    watchdog_gen: u64,
}

struct World {
    /// FLEET_TRACE=<instance>: print that instance's story to stderr
    trace: Option<usize>,
    policy: Policy,
    /// the world's own randomness (faults, messages, outages, the fleet's morning): drawn the same
    /// way under every policy, so all three face the same faults and the same messages
    exo: Rng,
    /// everything whose draws depend on what the clients do (latencies, network faults, engine)
    rng: Rng,
    q: Queue<Ev>,
    now: f64,
    end: f64,
    servers: Vec<Server>,
    hosts: Vec<Host>,
    messages: Vec<Message>,
    outages: Vec<(f64, f64)>,
    tokens: f64,
    tokens_at: f64,
    next_event_id: u64,
    // metrics
    calls: u64,
    lifecycle_calls: u64,
    info_calls: u64,
    send_calls: u64,
    got_429: u64,
    got_5xx: u64,
    recoveries: Vec<(SessionStatus, f64)>,
    rejected: std::collections::BTreeMap<&'static str, u64>,
    episodes: u64,
    machine_actions: u64,
}

fn status_json(status: SessionStatus) -> Option<serde_json::Value> {
    payload::parse(&format!(
        "{{\"name\":\"default\",\"status\":\"{}\",\"me\":null}}",
        status.as_str()
    ))
    .ok()
}

impl World {
    fn new(policy: Policy, instances: usize, hours: f64, seed: u64) -> World {
        let mut exo = Rng::new(seed);
        let rng = Rng::new(seed ^ 0xC0FF_EE00_DEAD_BEEF);
        let end = hours * HOUR;
        let mut outages = Vec::new();
        let count = ((hours / 24.0) * OUTAGES_PER_DAY as f64).round() as usize;
        for _ in 0..count {
            let start = exo.uniform(0.0, end - OUTAGE_MS);
            outages.push((start, start + OUTAGE_MS));
        }
        let mut w = World {
            trace: std::env::var("FLEET_TRACE")
                .ok()
                .and_then(|s| s.parse().ok()),
            policy,
            exo,
            rng,
            q: Queue::new(),
            now: 0.0,
            end,
            servers: Vec::with_capacity(instances),
            hosts: Vec::with_capacity(instances),
            messages: Vec::new(),
            outages,
            tokens: GLOBAL_BURST,
            tokens_at: 0.0,
            next_event_id: 0,
            calls: 0,
            lifecycle_calls: 0,
            info_calls: 0,
            send_calls: 0,
            got_429: 0,
            got_5xx: 0,
            recoveries: Vec::new(),
            rejected: std::collections::BTreeMap::new(),
            episodes: 0,
            machine_actions: 0,
        };
        for i in 0..instances {
            // a realistic morning: most sessions run, some were stopped overnight
            let status = if w.exo.chance(0.8) {
                SessionStatus::Working
            } else {
                SessionStatus::Stopped
            };
            let boot = w.exo.uniform(0.0, 60.0 * SEC);
            let episode_since = (status != SessionStatus::Working).then_some(boot);
            if episode_since.is_some() {
                w.episodes += 1;
            }
            w.servers.push(Server {
                status,
                epoch: 0,
                recent_lifecycle: VecDeque::new(),
                episode_since,
                episode_kind: SessionStatus::Stopped,
            });
            w.hosts.push(Host {
                machine: (policy == Policy::Ours)
                    .then(|| LifecycleMachine::new(MachineOptions::default())),
                armed: None,
                known: SessionStatus::Unknown,
                starting_since: None,
                failed_since: None,
                queue: Vec::new(),
                watchdog_gen: 0,
            });
            w.q.push(boot, Ev::Boot(i));
            let f = boot + w.exo.exp(FAULT_MEAN_INTERVAL);
            w.q.push(f, Ev::Fault(i));
            let m = boot + w.exo.exp(BURST_MEAN_INTERVAL);
            w.q.push(m, Ev::Message(i));
        }
        w
    }

    fn trace(&self, inst: usize, what: impl FnOnce() -> String) {
        if self.trace == Some(inst) {
            eprintln!("{:>10.0} #{inst} {}", self.now, what());
        }
    }

    fn in_outage(&self, t: f64) -> bool {
        self.outages.iter().any(|&(a, b)| t >= a && t < b)
    }

    // ---------------------------------------------------------------- the API and engine model

    fn request(&mut self, inst: usize, req: Req) {
        self.calls += 1;
        match req.kind {
            ReqKind::Op(Op::Info) | ReqKind::Op(Op::Me) => self.info_calls += 1,
            ReqKind::Op(_) => self.lifecycle_calls += 1,
            ReqKind::Send(_) => self.send_calls += 1,
        }
        if self.rng.chance(P_REFUSED) {
            let t = self.now + self.rng.uniform(5.0, 50.0);
            self.q.push(t, Ev::Respond(inst, req, Outcome::Refused));
            return;
        }
        let t = self.now + self.rng.uniform(30.0, 125.0);
        self.q.push(t, Ev::Arrive(inst, req));
    }

    fn arrive(&mut self, inst: usize, req: Req) {
        let outcome = self.serve(inst, req);
        let back = self.rng.uniform(30.0, 125.0);
        let (t, outcome) = if self.rng.chance(P_LOST_RESPONSE) {
            (self.now + CLIENT_TIMEOUT_MS, Outcome::Timeout)
        } else {
            (self.now + back, outcome)
        };
        match outcome {
            Outcome::Http(429, _) => self.got_429 += 1,
            Outcome::Http(s, _) if s >= 500 => self.got_5xx += 1,
            _ => {}
        }
        self.q.push(t, Ev::Respond(inst, req, outcome));
    }

    fn serve(&mut self, inst: usize, req: Req) -> Outcome {
        let now = self.now;
        if self.in_outage(now) {
            return Outcome::Http(503, None);
        }
        self.tokens = (self.tokens + (now - self.tokens_at) / SEC * GLOBAL_RPS).min(GLOBAL_BURST);
        self.tokens_at = now;
        if self.tokens < 1.0 {
            return Outcome::Http(429, Some(SEC));
        }
        self.tokens -= 1.0;
        let Some(server) = self.servers.get_mut(inst) else {
            return Outcome::Http(404, None);
        };
        match req.kind {
            ReqKind::Op(op @ (Op::Start | Op::Restart)) => {
                while server
                    .recent_lifecycle
                    .front()
                    .is_some_and(|&t| now - t > LIFECYCLE_WINDOW_MS)
                {
                    server.recent_lifecycle.pop_front();
                }
                if server.recent_lifecycle.len() >= LIFECYCLE_LIMIT {
                    return Outcome::Http(429, Some(5.0 * SEC));
                }
                server.recent_lifecycle.push_back(now);
                if op == Op::Restart || server.status == SessionStatus::Stopped {
                    self.boot_engine(inst);
                }
                Outcome::Ok(self.server_status(inst))
            }
            ReqKind::Op(Op::Stop) => {
                self.set_status(inst, SessionStatus::Stopped);
                Outcome::Ok(SessionStatus::Stopped)
            }
            ReqKind::Op(_) => Outcome::Ok(server.status),
            ReqKind::Send(m) => {
                if server.status == SessionStatus::Working {
                    if let Some(msg) = self.messages.get_mut(m) {
                        msg.delivered += 1;
                        msg.first_delivery.get_or_insert(now);
                    }
                    Outcome::Ok(SessionStatus::Working)
                } else {
                    Outcome::Http(422, None)
                }
            }
        }
    }

    fn server_status(&self, inst: usize) -> SessionStatus {
        self.servers
            .get(inst)
            .map_or(SessionStatus::Unknown, |s| s.status)
    }

    fn boot_engine(&mut self, inst: usize) {
        self.set_status(inst, SessionStatus::Starting);
        let hangs = self.rng.chance(P_START_HANGS);
        let ready = self.now + self.rng.uniform(3.0 * SEC, 10.0 * SEC);
        if let Some(s) = self.servers.get(inst)
            && !hangs
        {
            self.q.push(ready, Ev::EngineReady(inst, s.epoch));
        }
    }

    fn set_status(&mut self, inst: usize, status: SessionStatus) {
        let now = self.now;
        let Some(server) = self.servers.get_mut(inst) else {
            return;
        };
        server.epoch += 1;
        if server.status == status {
            return;
        }
        server.status = status;
        if self.trace == Some(inst) {
            eprintln!("{now:>10.0} #{inst} server status {}", status.as_str());
        }
        if status == SessionStatus::Working
            && let Some(since) = server.episode_since.take()
        {
            if std::env::var_os("FLEET_DEBUG").is_some() && now - since > 300_000.0 {
                eprintln!(
                    "slow recovery: instance {inst} from {since:.0} to {now:.0} ({})",
                    server.episode_kind.as_str()
                );
            }
            let kind = server.episode_kind;
            self.recoveries.push((kind, now - since));
        }
        self.next_event_id += 1;
        let id = self.next_event_id;
        if !self.rng.chance(P_WEBHOOK_DROP) {
            let t = now + self.rng.uniform(50.0, 1000.0);
            self.q.push(t, Ev::Webhook(inst, status, now, id));
        }
        if self.rng.chance(P_WEBHOOK_DUP) {
            let t = now + self.rng.uniform(1000.0, 5000.0);
            self.q.push(t, Ev::Webhook(inst, status, now, id));
        }
    }

    fn fault(&mut self, inst: usize) {
        let next = self.now + self.exo.exp(FAULT_MEAN_INTERVAL);
        self.q.push(next, Ev::Fault(inst));
        let r = self.exo.unit();
        if self.server_status(inst) != SessionStatus::Working {
            return;
        }
        if r < P_CRASH + P_STOP {
            let now = self.now;
            let status = if r < P_CRASH {
                SessionStatus::Failed
            } else {
                SessionStatus::Stopped
            };
            if let Some(s) = self.servers.get_mut(inst) {
                s.episode_since = Some(now);
                s.episode_kind = status;
            }
            self.episodes += 1;
            self.set_status(inst, status);
        } else {
            self.set_status(inst, SessionStatus::Starting);
            if let Some(s) = self.servers.get(inst) {
                self.q.push(self.now + BLIP_MS, Ev::BlipEnd(inst, s.epoch));
            }
        }
    }

    // ---------------------------------------------------------------- messages

    fn message_burst(&mut self, inst: usize) {
        let next = self.now + self.exo.exp(BURST_MEAN_INTERVAL);
        self.q.push(next, Ev::Message(inst));
        let mut n = 1;
        while n < MAX_BURST && self.exo.chance(0.5) {
            n += 1;
        }
        for _ in 0..n {
            self.new_message(inst);
        }
    }

    fn new_message(&mut self, inst: usize) {
        let m = self.messages.len();
        self.messages.push(Message {
            inst,
            created: self.now,
            delivered: 0,
            first_delivery: None,
            saw_lost_response: false,
            settled: false,
        });
        match self.policy {
            Policy::Ours => self.machine_event(
                inst,
                Event::Send {
                    id: format!("m{m}"),
                    timeout_ms: None,
                },
            ),
            Policy::Polling | Policy::Naive => {
                self.q.push(self.now + SEND_GIVE_UP_MS, Ev::GiveUp(m));
                self.send_or_queue(inst, m);
            }
        }
    }

    fn send_or_queue(&mut self, inst: usize, m: usize) {
        let known = self
            .hosts
            .get(inst)
            .map_or(SessionStatus::Unknown, |h| h.known);
        if known == SessionStatus::Working {
            self.request(
                inst,
                Req {
                    kind: ReqKind::Send(m),
                    attempt: 0,
                },
            );
            return;
        }
        if let Some(h) = self.hosts.get_mut(inst) {
            h.queue.push(m);
        }
        // the guide: a send while STOPPED triggers a start (no single flight in either policy)
        if known == SessionStatus::Stopped {
            self.request(
                inst,
                Req {
                    kind: ReqKind::Op(Op::Start),
                    attempt: 0,
                },
            );
        }
    }

    fn flush_queue(&mut self, inst: usize) {
        let queued = self
            .hosts
            .get_mut(inst)
            .map(|h| std::mem::take(&mut h.queue))
            .unwrap_or_default();
        for m in queued {
            if self.messages.get(m).is_some_and(|msg| !msg.settled) {
                self.request(
                    inst,
                    Req {
                        kind: ReqKind::Send(m),
                        attempt: 0,
                    },
                );
            }
        }
    }

    fn settle(&mut self, m: usize) {
        if let Some(msg) = self.messages.get_mut(m) {
            msg.settled = true;
        }
    }

    // ---------------------------------------------------------------- ours: the real machine

    fn machine_event(&mut self, inst: usize, event: Event) {
        let now = self.now;
        let mut actions = Vec::new();
        let timeout = {
            let Some(machine) = self.hosts.get_mut(inst).and_then(|h| h.machine.as_mut()) else {
                return;
            };
            machine.handle(event, now);
            while let Some(a) = machine.poll_action() {
                actions.push(a);
            }
            machine.poll_timeout()
        };
        if let Some(h) = self.hosts.get_mut(inst)
            && timeout != h.armed
        {
            h.armed = timeout;
            if let Some(at) = timeout {
                self.q.push(at.max(now), Ev::MachineTimer(inst, at));
            }
        }
        self.machine_actions += actions.len() as u64;
        self.trace(inst, || {
            format!("machine -> {actions:?} next timeout {timeout:?}")
        });
        for action in actions {
            match action {
                Action::Call { op } => self.request(
                    inst,
                    Req {
                        kind: ReqKind::Op(op),
                        attempt: 0,
                    },
                ),
                Action::ReleaseSend { id } => {
                    if let Some(m) = id.strip_prefix('m').and_then(|s| s.parse::<usize>().ok()) {
                        self.request(
                            inst,
                            Req {
                                kind: ReqKind::Send(m),
                                attempt: 0,
                            },
                        );
                    }
                }
                Action::RejectSend { id, code } => {
                    *self.rejected.entry(code.as_str()).or_insert(0) += 1;
                    if let Some(m) = id.strip_prefix('m').and_then(|s| s.parse::<usize>().ok()) {
                        self.settle(m);
                    }
                }
                Action::ResolveSend { id } => {
                    if let Some(m) = id.strip_prefix('m').and_then(|s| s.parse::<usize>().ok()) {
                        self.settle(m);
                    }
                }
                _ => {}
            }
        }
    }

    fn ours_response(&mut self, inst: usize, req: Req, outcome: Outcome) {
        match req.kind {
            ReqKind::Op(op) => {
                let result = match outcome {
                    Outcome::Ok(status) => CallResult {
                        op,
                        ok: true,
                        error: None,
                        http_status: Some(200),
                        retry_after_ms: None,
                        body: if op == Op::Info {
                            status_json(status)
                        } else {
                            None
                        },
                    },
                    Outcome::Http(code, retry_after_ms) => CallResult {
                        op,
                        ok: false,
                        error: Some(ErrorCode::from_http_status(code)),
                        http_status: Some(code),
                        retry_after_ms,
                        body: None,
                    },
                    Outcome::Timeout | Outcome::Refused => CallResult {
                        op,
                        ok: false,
                        error: Some(if matches!(outcome, Outcome::Timeout) {
                            ErrorCode::Timeout
                        } else {
                            ErrorCode::Network
                        }),
                        http_status: None,
                        retry_after_ms: None,
                        body: None,
                    },
                };
                self.machine_event(inst, Event::Result(result));
            }
            // The machine's delivery policy decides what follows (resolve, hold and retry on
            // its deadline, hand back after a 422, or give up): the host only reports.
            ReqKind::Send(m) => {
                let (ok, error, http_status, retry_after_ms) = match outcome {
                    Outcome::Ok(_) => (true, None, Some(200), None),
                    Outcome::Http(code, ra) => (
                        false,
                        Some(ErrorCode::from_http_status(code)),
                        Some(code),
                        ra,
                    ),
                    Outcome::Timeout => (false, Some(ErrorCode::Timeout), None, None),
                    Outcome::Refused => (false, Some(ErrorCode::Network), None, None),
                };
                let outcome = SendOutcome {
                    id: format!("m{m}"),
                    ok,
                    error,
                    http_status,
                    retry_after_ms,
                    // a refused connection certainly never reached the server
                    maybe_delivered: matches!(outcome, Outcome::Refused).then_some(false),
                };
                self.machine_event(inst, Event::SendResult(outcome));
            }
        }
    }

    // ---------------------------------------------------------------- polling and naive hosts

    fn observe_plain(&mut self, inst: usize, status: SessionStatus) {
        let now = self.now;
        let policy = self.policy;
        let Some(h) = self.hosts.get_mut(inst) else {
            return;
        };
        let previous = h.known;
        h.known = status;
        let mut calls = Vec::new();
        match status {
            SessionStatus::Stopped => {
                h.starting_since = None;
                h.failed_since = None;
                calls.push(Op::Start);
            }
            SessionStatus::Starting => {
                h.failed_since = None;
                let since = *h.starting_since.get_or_insert(now);
                if policy == Policy::Polling && now - since >= 60.0 * SEC {
                    h.starting_since = Some(now);
                    calls.push(Op::Restart);
                }
                if policy == Policy::Naive && previous != SessionStatus::Starting {
                    h.watchdog_gen += 1;
                    let generation = h.watchdog_gen;
                    self.q.push(
                        now + 60.0 * SEC,
                        Ev::Later(
                            inst,
                            Req {
                                kind: ReqKind::Op(Op::Restart),
                                attempt: 0,
                            },
                            generation,
                        ),
                    );
                }
            }
            SessionStatus::Failed => {
                h.starting_since = None;
                let since = *h.failed_since.get_or_insert(now);
                if policy == Policy::Polling && now - since >= 30.0 * SEC {
                    h.failed_since = Some(now);
                    calls.push(Op::Restart);
                }
                if policy == Policy::Naive && previous != SessionStatus::Failed {
                    h.watchdog_gen += 1;
                    let generation = h.watchdog_gen;
                    self.q.push(
                        now + 30.0 * SEC,
                        Ev::Later(
                            inst,
                            Req {
                                kind: ReqKind::Op(Op::Restart),
                                attempt: 0,
                            },
                            generation,
                        ),
                    );
                }
            }
            SessionStatus::Working => {
                h.starting_since = None;
                h.failed_since = None;
                h.watchdog_gen += 1;
            }
            _ => {}
        }
        for op in calls {
            self.request(
                inst,
                Req {
                    kind: ReqKind::Op(op),
                    attempt: 0,
                },
            );
        }
        if status == SessionStatus::Working {
            self.flush_queue(inst);
        }
    }

    fn plain_response(&mut self, inst: usize, req: Req, outcome: Outcome) {
        match (req.kind, outcome) {
            (ReqKind::Op(Op::Info), Outcome::Ok(status)) => self.observe_plain(inst, status),
            (ReqKind::Op(_), Outcome::Ok(_)) => {}
            (ReqKind::Op(op), _) => {
                // naive: exponential retries without jitter, each call chain on its own
                if self.policy == Policy::Naive && op != Op::Info && req.attempt < 10 {
                    let delay = (SEC * 2f64.powi(req.attempt as i32)).min(60.0 * SEC);
                    self.q.push(
                        self.now + delay,
                        Ev::Later(
                            inst,
                            Req {
                                kind: req.kind,
                                attempt: req.attempt + 1,
                            },
                            0,
                        ),
                    );
                }
            }
            (ReqKind::Send(m), Outcome::Ok(_)) => self.settle(m),
            (ReqKind::Send(m), Outcome::Http(422, _)) => {
                if let Some(h) = self.hosts.get_mut(inst) {
                    if h.known == SessionStatus::Working {
                        h.known = SessionStatus::Unknown; // stale: wait for the next observation
                    }
                    h.queue.push(m);
                }
            }
            // every other error, including a lost response, is retried: the send may be doubled
            (ReqKind::Send(m), _) => {
                self.q.push(
                    self.now + SEC,
                    Ev::Later(
                        inst,
                        Req {
                            kind: ReqKind::Send(m),
                            attempt: 1,
                        },
                        0,
                    ),
                );
            }
        }
    }

    // ---------------------------------------------------------------- the loop

    fn run(&mut self) {
        while let Some((at, ev)) = self.q.pop() {
            if at > self.end {
                break;
            }
            self.now = at;
            if let Some(t) = self.trace {
                let what = match &ev {
                    Ev::Respond(i, req, o) if *i == t => {
                        Some(format!("response {:?} {:?}", req.kind, o))
                    }
                    Ev::Webhook(i, s, _, id) if *i == t => {
                        Some(format!("webhook {} evt_{id}", s.as_str()))
                    }
                    Ev::MachineTimer(i, d) if *i == t => Some(format!("timer {d:.0}")),
                    _ => None,
                };
                if let Some(w) = what {
                    self.trace(t, || w);
                }
            }
            match ev {
                Ev::Boot(i) => match self.policy {
                    Policy::Ours => self.machine_event(i, Event::WarmBoot),
                    Policy::Polling => self.q.push(at, Ev::Poll(i)),
                    Policy::Naive => {
                        self.request(
                            i,
                            Req {
                                kind: ReqKind::Op(Op::Info),
                                attempt: 0,
                            },
                        );
                        self.q.push(at + 300.0 * SEC, Ev::Poll(i));
                    }
                },
                Ev::Arrive(i, req) => self.arrive(i, req),
                Ev::Respond(i, req, outcome) => {
                    if let (ReqKind::Send(m), Outcome::Timeout) = (req.kind, outcome)
                        && let Some(msg) = self.messages.get_mut(m)
                    {
                        msg.saw_lost_response = true;
                    }
                    match self.policy {
                        Policy::Ours => self.ours_response(i, req, outcome),
                        _ => self.plain_response(i, req, outcome),
                    }
                }
                Ev::Webhook(i, status, at_ms, id) => match self.policy {
                    Policy::Ours => {
                        let mut report = StatusReport::from_status(status);
                        report.at_ms = Some(at_ms);
                        report.event_id = Some(format!("evt_{id}"));
                        report.event = Some("session.status".to_string());
                        self.machine_event(i, Event::Status(Box::new(report)));
                    }
                    Policy::Naive => self.observe_plain(i, status),
                    Policy::Polling => {}
                },
                Ev::EngineReady(i, epoch) | Ev::BlipEnd(i, epoch) => {
                    if self
                        .servers
                        .get(i)
                        .is_some_and(|s| s.epoch == epoch && s.status == SessionStatus::Starting)
                    {
                        self.set_status(i, SessionStatus::Working);
                    }
                }
                Ev::Fault(i) => self.fault(i),
                Ev::Message(i) => self.message_burst(i),
                Ev::MachineTimer(i, deadline) => {
                    if self.hosts.get(i).is_some_and(|h| h.armed == Some(deadline)) {
                        if let Some(h) = self.hosts.get_mut(i) {
                            h.armed = None;
                        }
                        self.machine_event(i, Event::Timeout);
                    }
                }
                Ev::Poll(i) => {
                    self.request(
                        i,
                        Req {
                            kind: ReqKind::Op(Op::Info),
                            attempt: 0,
                        },
                    );
                    let next = if self.policy == Policy::Polling {
                        self.rng.uniform(3.0 * SEC, 5.0 * SEC)
                    } else {
                        300.0 * SEC
                    };
                    self.q.push(at + next, Ev::Poll(i));
                }
                Ev::Later(i, req, generation) => match req.kind {
                    ReqKind::Send(m) => {
                        if self.messages.get(m).is_some_and(|msg| !msg.settled) {
                            match self.policy {
                                Policy::Ours => self.machine_event(
                                    i,
                                    Event::Send {
                                        id: format!("m{m}"),
                                        timeout_ms: None,
                                    },
                                ),
                                _ => self.send_or_queue(i, m),
                            }
                        }
                    }
                    ReqKind::Op(_) => {
                        // a watchdog (generation > 0) only fires if nothing newer was observed meanwhile
                        let current = self.hosts.get(i).map_or(0, |h| h.watchdog_gen);
                        if generation == 0 || generation == current {
                            self.request(i, req);
                        }
                    }
                },
                Ev::GiveUp(m) => {
                    if let Some(msg) = self.messages.get_mut(m) {
                        // the application stops trying after SEND_GIVE_UP_MS
                        if !msg.settled {
                            msg.settled = true;
                            let inst = msg.inst;
                            if let Some(h) = self.hosts.get_mut(inst) {
                                h.queue.retain(|&q| q != m);
                            }
                        }
                    }
                }
            }
        }
    }

    fn report(&mut self, instances: usize, hours: f64, policy_name: &str, wall_ms: f64) -> String {
        // messages created in the last 10 minutes have not had their full chance yet
        let counted: Vec<&Message> = self
            .messages
            .iter()
            .filter(|m| m.created < self.end - 600.0 * SEC)
            .collect();
        let lost = counted.iter().filter(|m| m.delivered == 0).count();
        let lost_after_lost_response = counted
            .iter()
            .filter(|m| m.delivered == 0 && m.saw_lost_response)
            .count();
        let unrecovered_failed = self
            .servers
            .iter()
            .filter(|s| s.episode_since.is_some() && s.episode_kind == SessionStatus::Failed)
            .count();
        if std::env::var_os("FLEET_DEBUG").is_some() {
            for (i, m) in self
                .messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.delivered == 0 && m.created < self.end - 600.0 * SEC)
            {
                eprintln!(
                    "lost message m{i} of instance {} created {:.0}",
                    m.inst, m.created
                );
            }
        }
        let duplicated = counted.iter().filter(|m| m.delivered > 1).count();
        let unrecovered = self
            .servers
            .iter()
            .filter(|s| s.episode_since.is_some())
            .count();
        let instance_hours = instances as f64 * hours;
        let mut all: Vec<f64> = self.recoveries.iter().map(|r| r.1).collect();
        let mut failed: Vec<f64> = self
            .recoveries
            .iter()
            .filter(|r| r.0 == SessionStatus::Failed)
            .map(|r| r.1)
            .collect();
        let mut stopped: Vec<f64> = self
            .recoveries
            .iter()
            .filter(|r| r.0 == SessionStatus::Stopped)
            .map(|r| r.1)
            .collect();
        let mut latency: Vec<f64> = counted
            .iter()
            .filter_map(|m| m.first_delivery.map(|t| t - m.created))
            .collect();
        let rejected = self
            .rejected
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect::<Vec<_>>()
            .join(",");
        let recovery = format!(
            "\"recoveryP50Ms\":{:.1},\"recoveryP99Ms\":{:.1},\"failedRecoveries\":{},\"failedP50Ms\":{:.1},\"failedP99Ms\":{:.1},\
\"stoppedRecoveries\":{},\"stoppedP50Ms\":{:.1},\"stoppedP99Ms\":{:.1},\"deliveryP50Ms\":{:.1},\"deliveryP99Ms\":{:.1},\"rejected\":{{{rejected}}}",
            percentile(&mut all, 50.0),
            percentile(&mut all, 99.0),
            failed.len(),
            percentile(&mut failed, 50.0),
            percentile(&mut failed, 99.0),
            stopped.len(),
            percentile(&mut stopped, 50.0),
            percentile(&mut stopped, 99.0),
            percentile(&mut latency, 50.0),
            percentile(&mut latency, 99.0),
        );
        format!(
            "{{\"policy\":\"{policy_name}\",\"instances\":{instances},\"hours\":{hours},\"callsPerInstanceHour\":{:.3},\
\"lifecyclePerInstanceHour\":{:.4},\"infoPerInstanceHour\":{:.3},\"sendCalls\":{},\"calls\":{},\"got429\":{},\"got5xx\":{},\
\"episodes\":{},\"recovered\":{},\"unrecovered\":{},{recovery},\
\"messages\":{},\"lost\":{},\"lostAfterLostResponse\":{lost_after_lost_response},\"unrecoveredFailed\":{unrecovered_failed},\"duplicated\":{},\"machineActions\":{},\"wallMs\":{:.0}}}",
            self.calls as f64 / instance_hours,
            self.lifecycle_calls as f64 / instance_hours,
            self.info_calls as f64 / instance_hours,
            self.send_calls,
            self.calls,
            self.got_429,
            self.got_5xx,
            self.episodes,
            self.recoveries.len(),
            unrecovered,
            counted.len(),
            lost,
            duplicated,
            self.machine_actions,
            wall_ms
        )
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let policy_name = args.get(1).map_or("ours", String::as_str);
    let policy = match policy_name {
        "ours" => Policy::Ours,
        "polling" => Policy::Polling,
        "naive" => Policy::Naive,
        other => return Err(format!("unknown policy {other} (ours|polling|naive)")),
    };
    let instances: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let hours: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(24.0);
    let seed: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let t0 = std::time::Instant::now();
    let mut world = World::new(policy, instances, hours, seed);
    world.run();
    let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!("{}", world.report(instances, hours, policy_name, wall_ms));
    Ok(())
}

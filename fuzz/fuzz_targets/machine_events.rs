#![no_main]
//! Random event sequences into the lifecycle machine, checking its invariants after every step
//! (not only the absence of crashes):
//! - at most one lifecycle call (start / restart / stop / logout) unanswered at any time;
//! - a send is released only while WORKING and never twice before its outcome is reported, is
//!   held again / resolved / rejected only once that outcome is in, and resolves at most once;
//! - deadlines are finite, and `toJSON` / `fromJSON` round-trips at any point;
//! - after a long quiet period every send has resolved (nothing is silently lost).
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use wawp_session::{
    Action, CallResult, ErrorCode, Event, LifecycleMachine, MachineOptions, Op, SendOutcome, SessionStatus,
    StatusReport,
};

const STATUSES: [SessionStatus; 10] = SessionStatus::ALL;
const ERRORS: [ErrorCode; 6] = [
    ErrorCode::RateLimited,
    ErrorCode::Server,
    ErrorCode::Network,
    ErrorCode::Timeout,
    ErrorCode::Unauthorized,
    ErrorCode::NotFound,
];

struct Harness {
    machine: LifecycleMachine,
    now: f64,
    pending: Vec<Op>,
    sent: HashSet<String>,
    resolved: HashSet<String>,
    /// Released sends whose outcome was not reported yet.
    out: Vec<String>,
}

impl Harness {
    fn drain(&mut self) {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Call { op } => {
                    if op.is_lifecycle() {
                        assert!(
                            !self.pending.iter().any(|p| p.is_lifecycle()),
                            "two lifecycle calls in flight: {:?} + {op:?}",
                            self.pending
                        );
                    }
                    self.pending.push(op);
                }
                Action::ReleaseSend { id } => {
                    assert_eq!(self.machine.status(), SessionStatus::Working, "released {id} while not WORKING");
                    assert!(self.sent.contains(&id) && !self.resolved.contains(&id), "released {id} after it resolved");
                    assert!(!self.out.contains(&id), "released {id} twice before its outcome");
                    self.out.push(id);
                }
                Action::HoldSend { id, .. } => assert!(!self.out.contains(&id), "held {id} while out"),
                Action::RejectSend { id, .. } | Action::ResolveSend { id } => self.resolve(id),
                _ => {}
            }
        }
        if let Some(deadline) = self.machine.poll_timeout() {
            assert!(deadline.is_finite());
        }
    }

    fn resolve(&mut self, id: String) {
        assert!(self.sent.contains(&id), "resolved unknown send {id}");
        assert!(!self.out.contains(&id), "resolved {id} before its outcome was reported");
        assert!(self.resolved.insert(id.clone()), "send {id} resolved twice");
    }

    fn step(&mut self, event: Event) {
        self.machine.handle(event, self.now);
        self.drain();
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = MachineOptions { expected_jid: Some("201012345678@c.us".into()), ..MachineOptions::default() };
    let mut h = Harness {
        machine: LifecycleMachine::new(opts),
        now: 1_741_249_702_485.0,
        pending: Vec::new(),
        sent: HashSet::new(),
        resolved: HashSet::new(),
        out: Vec::new(),
    };
    for (i, pair) in data.chunks(2).enumerate() {
        let (kind, arg) = (pair.first().copied().unwrap_or(0), pair.get(1).copied().unwrap_or(0));
        h.now += f64::from(arg) * 997.0;
        match kind % 11 {
            0 | 1 => {
                let mut report = StatusReport::from_status(STATUSES[arg as usize % STATUSES.len()]);
                if arg % 3 == 0 {
                    report.at_ms = Some(h.now - f64::from(arg) * 50.0);
                    report.event_id = Some(format!("evt_{}", arg % 7));
                }
                h.step(Event::Status(Box::new(report)));
            }
            2 => {
                let id = format!("m{i}");
                h.sent.insert(id.clone());
                h.step(Event::Send { id, timeout_ms: None });
            }
            3 | 4 if !h.pending.is_empty() => {
                let op = h.pending.remove(arg as usize % h.pending.len());
                let ok = arg % 2 == 0;
                let body = match op {
                    Op::Me if ok => Some(wawp_session::payload::parse(if arg % 4 == 0 {
                        r#"{"id":"201012345678:3@s.whatsapp.net"}"#
                    } else {
                        r#"{"id":"15550000000@c.us"}"#
                    })
                    .expect("fixture parses")),
                    Op::Info if ok => Some(wawp_session::payload::parse(r#"{"status":"WORKING"}"#).expect("fixture parses")),
                    _ => None,
                };
                let error = (!ok).then(|| ERRORS[arg as usize % ERRORS.len()]);
                h.step(Event::Result(CallResult {
                    op,
                    ok,
                    error,
                    http_status: None,
                    retry_after_ms: (arg % 5 == 0).then_some(2000.0),
                    body,
                }));
            }
            5 => h.step(Event::Timeout),
            6 => h.step(match arg % 5 {
                0 => Event::WarmBoot,
                1 => Event::UserRetry,
                2 => Event::UserStart,
                3 => Event::UserStop,
                _ => Event::UserLogout,
            }),
            8 => {
                // The outcome of a released send (or, with nothing out, a report nobody asked for).
                let id = match h.out.len() {
                    0 => format!("m{}", arg % 16),
                    n => h.out.remove(arg as usize % n),
                };
                let (ok, error, http_status, maybe_delivered) = match arg % 7 {
                    0 | 1 => (true, None, Some(201), None),
                    2 => (false, Some(ErrorCode::Conflict), Some(422), None),
                    3 => (false, Some(ErrorCode::RateLimited), Some(429), None),
                    4 => (false, Some(ErrorCode::Network), None, Some(false)),
                    5 => (false, Some(ErrorCode::Timeout), None, None),
                    _ => (false, Some(ErrorCode::Closed), None, Some(arg % 2 == 0)),
                };
                let retry_after_ms = (arg % 3 == 0).then_some(f64::from(arg) * 300.0);
                h.step(Event::SendResult(SendOutcome { id, ok, error, http_status, retry_after_ms, maybe_delivered }));
            }
            7 => {
                let json = h.machine.to_json();
                let restored = LifecycleMachine::from_json(&json).expect("own snapshot restores");
                assert_eq!(restored.to_json(), json, "toJSON/fromJSON is not exact");
                h.machine = restored;
            }
            _ => {
                if let Some(deadline) = h.machine.poll_timeout() {
                    h.now = h.now.max(deadline);
                    h.step(Event::Timeout);
                }
            }
        }
    }
    // Quiet period: answer what is pending with errors, let every deadline pass.
    for _ in 0..64 {
        while let Some(id) = h.out.pop() {
            h.step(Event::SendResult(SendOutcome {
                id,
                ok: false,
                error: Some(ErrorCode::Closed),
                http_status: None,
                retry_after_ms: None,
                maybe_delivered: None,
            }));
        }
        while let Some(op) = h.pending.pop() {
            h.step(Event::Result(CallResult {
                op,
                ok: false,
                error: Some(ErrorCode::Server),
                http_status: Some(500),
                retry_after_ms: None,
                body: None,
            }));
        }
        match h.machine.poll_timeout() {
            Some(deadline) => {
                h.now = h.now.max(deadline) + 1.0;
                h.step(Event::Timeout);
            }
            None => break,
        }
    }
    h.now += 10.0 * 86_400_000.0;
    h.step(Event::Timeout);
    let unresolved: Vec<_> = h.sent.difference(&h.resolved).collect();
    assert!(unresolved.is_empty(), "sends never resolved: {unresolved:?}");
    assert_eq!(h.machine.queued_sends(), 0);
});

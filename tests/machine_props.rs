#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Property tests: random event sequences (statuses, sends, answers with random errors, timers
//! at random times, user actions, snapshot round trips) and the machine's invariants after
//! every step.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use wawp_session::payload;
use wawp_session::{
    Action, CallResult, ErrorCode, Event, LifecycleMachine, MachineOptions, Op, SessionStatus,
    StatusReport,
};

const T0: f64 = 1_741_249_702_485.0;

#[derive(Debug, Clone)]
enum Step {
    Status {
        status: usize,
        at_offset: Option<i32>,
        id: Option<u8>,
    },
    Send {
        timeout_ms: Option<u32>,
    },
    /// Answer the `pick`-th outstanding call with outcome `outcome`.
    Answer {
        pick: usize,
        outcome: u8,
        body: usize,
    },
    Advance(u32),
    FireNextDeadline,
    User(u8),
    RoundTrip,
    ClockBack(u16),
}

const STATUSES: [SessionStatus; 10] = SessionStatus::ALL;
const BODIES: [&str; 7] = [
    r#"{"status":"WORKING","me":{"id":"201012345678@c.us"}}"#,
    r#"{"status":"STARTING"}"#,
    r#"{"status":"STOPPED"}"#,
    r#"{"status":"SCAN_QR_CODE"}"#,
    r#"{"status":"FAILED"}"#,
    r#"{"id":"201012345678:4@s.whatsapp.net"}"#,
    r#"{"id":"15550000000@c.us"}"#,
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..STATUSES.len(), proptest::option::of(-5_000i32..5_000), proptest::option::of(0u8..6))
            .prop_map(|(status, at_offset, id)| Step::Status { status, at_offset, id }),
        3 => proptest::option::of(1u32..300_000).prop_map(|timeout_ms| Step::Send { timeout_ms }),
        5 => (0usize..4, 0u8..12, 0..BODIES.len()).prop_map(|(pick, outcome, body)| Step::Answer { pick, outcome, body }),
        2 => (0u32..200_000).prop_map(Step::Advance),
        3 => Just(Step::FireNextDeadline),
        1 => (0u8..5).prop_map(Step::User),
        1 => Just(Step::RoundTrip),
        1 => (0u16..10_000).prop_map(Step::ClockBack),
    ]
}

struct Driver {
    m: LifecycleMachine,
    now: f64,
    outstanding: Vec<Op>,
    sent: HashSet<String>,
    resolutions: HashMap<String, u32>,
    next_send: u32,
    cap: u32,
}

impl Driver {
    fn new(opts: MachineOptions) -> Driver {
        let cap = opts.max_auto_restarts;
        Driver {
            m: LifecycleMachine::new(opts),
            now: T0,
            outstanding: Vec::new(),
            sent: HashSet::new(),
            resolutions: HashMap::new(),
            next_send: 0,
            cap,
        }
    }

    fn handle(&mut self, event: Event) -> std::result::Result<(), TestCaseError> {
        let is_timeout = matches!(event, Event::Timeout);
        self.m.handle(event, self.now);
        while let Some(action) = self.m.poll_action() {
            match action {
                Action::Call { op } => {
                    prop_assert!(
                        !self.outstanding.contains(&op),
                        "{op:?} issued twice while unanswered"
                    );
                    self.outstanding.push(op);
                    let lifecycle = self.outstanding.iter().filter(|o| o.is_lifecycle()).count();
                    prop_assert!(
                        lifecycle <= 1,
                        "two lifecycle calls in flight: {:?}",
                        self.outstanding
                    );
                }
                Action::ReleaseSend { id } => {
                    prop_assert!(
                        self.m.can_release(),
                        "released {id} in {:?}",
                        self.m.status()
                    );
                    prop_assert_eq!(self.m.status(), SessionStatus::Working);
                    self.resolve(id)?;
                }
                Action::RejectSend { id, .. } => self.resolve(id)?,
                _ => {}
            }
        }
        prop_assert!(
            self.m.auto_restarts() <= self.cap,
            "auto restarts above the cap"
        );
        if is_timeout {
            // Liveness: a timer event consumes every deadline that was due.
            if let Some(next) = self.m.poll_timeout() {
                prop_assert!(next > self.now, "deadline {next} still due at {}", self.now);
            }
        }
        Ok(())
    }

    fn resolve(&mut self, id: String) -> std::result::Result<(), TestCaseError> {
        prop_assert!(self.sent.contains(&id), "resolved unknown send {id}");
        let n = self.resolutions.entry(id.clone()).or_insert(0);
        *n += 1;
        prop_assert_eq!(*n, 1, "send {} resolved twice", id);
        Ok(())
    }

    fn answer(
        &mut self,
        op: Op,
        outcome: u8,
        body: usize,
    ) -> std::result::Result<(), TestCaseError> {
        let (ok, error, http, retry_after) = match outcome {
            0..=4 => (true, None, 200, None),
            5 => (false, Some(ErrorCode::RateLimited), 429, Some(7_000.0)),
            6 => (false, Some(ErrorCode::RateLimited), 429, None),
            7 => (false, Some(ErrorCode::Server), 502, None),
            8 => (false, Some(ErrorCode::Network), 0, None),
            9 => (false, Some(ErrorCode::Conflict), 422, None),
            10 => (false, Some(ErrorCode::Unauthorized), 401, None),
            _ => (false, Some(ErrorCode::NotFound), 404, None),
        };
        self.handle(Event::Result(CallResult {
            op,
            ok,
            error,
            http_status: (http != 0).then_some(http),
            retry_after_ms: retry_after,
            body: ok.then(|| payload::parse(BODIES[body]).unwrap()),
        }))
    }

    fn round_trip(&mut self) -> std::result::Result<(), TestCaseError> {
        let text = self.m.to_json();
        let back =
            LifecycleMachine::from_json(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &self.m);
        prop_assert_eq!(back.to_json(), text);
        self.m = back;
        Ok(())
    }

    fn run(&mut self, steps: &[Step]) -> std::result::Result<(), TestCaseError> {
        for s in steps {
            match s {
                Step::Status {
                    status,
                    at_offset,
                    id,
                } => {
                    let mut r = StatusReport::from_status(STATUSES[*status]);
                    r.at_ms = at_offset.map(|o| self.now + f64::from(o));
                    r.event_id = id.map(|i| format!("evt_{i}"));
                    self.handle(Event::Status(Box::new(r)))?;
                }
                Step::Send { timeout_ms } => {
                    let id = format!("m{}", self.next_send);
                    self.next_send += 1;
                    self.sent.insert(id.clone());
                    self.handle(Event::Send {
                        id,
                        timeout_ms: timeout_ms.map(f64::from),
                    })?;
                }
                Step::Answer {
                    pick,
                    outcome,
                    body,
                } => {
                    if !self.outstanding.is_empty() {
                        let op = self.outstanding.remove(pick % self.outstanding.len());
                        self.answer(op, *outcome, *body)?;
                    }
                }
                Step::Advance(ms) => self.now += f64::from(*ms),
                Step::FireNextDeadline => {
                    if let Some(at) = self.m.poll_timeout() {
                        self.now = self.now.max(at);
                        self.handle(Event::Timeout)?;
                    }
                }
                Step::User(k) => self.handle(match k {
                    0 => Event::WarmBoot,
                    1 => Event::UserRetry,
                    2 => Event::UserStart,
                    3 => Event::UserStop,
                    _ => Event::UserLogout,
                })?,
                Step::RoundTrip => self.round_trip()?,
                Step::ClockBack(ms) => {
                    self.now -= f64::from(*ms);
                    self.handle(Event::Timeout)?;
                }
            }
            self.round_trip()?;
        }
        // Quiet period: every call answered (with server errors), every deadline allowed to pass.
        for _ in 0..200 {
            while let Some(op) = self.outstanding.pop() {
                self.answer(op, 7, 0)?;
            }
            match self.m.poll_timeout() {
                Some(at) if at < T0 + 40.0 * 86_400_000.0 => {
                    self.now = self.now.max(at);
                    self.handle(Event::Timeout)?;
                }
                _ => break,
            }
        }
        self.now += 400.0 * 86_400_000.0;
        self.handle(Event::Timeout)?;
        let unresolved: Vec<_> = self
            .sent
            .iter()
            .filter(|id| !self.resolutions.contains_key(*id))
            .collect();
        prop_assert!(unresolved.is_empty(), "never resolved: {:?}", unresolved);
        prop_assert_eq!(self.m.queued_sends(), 0);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_random_sequences(steps in proptest::collection::vec(step(), 1..120)) {
        Driver::new(MachineOptions {
            max_auto_restarts: 3,
            ..MachineOptions::default()
        })
        .run(&steps)?;
    }

    #[test]
    fn invariants_hold_with_an_expected_identity(steps in proptest::collection::vec(step(), 1..120), seed in 0u64..1000) {
        Driver::new(MachineOptions {
            expected_jid: Some("201012345678@c.us".into()),
            max_auto_restarts: 2,
            max_queued_sends: 5,
            debounce_ms: 0.0,
            seed: Some(seed),
            ..MachineOptions::default()
        })
        .run(&steps)?;
    }
}

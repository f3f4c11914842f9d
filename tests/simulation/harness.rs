//! Deterministic simulation of one WhatsApp session: a seeded RNG, a simulated clock, a fake
//! Wawp server with its own small state model and faults, a webhook channel that loses,
//! duplicates, delays and reorders, a simulated user, and a host that runs a [`Policy`] (the
//! shipped `SessionDriver` with a shared retry budget, the bare `LifecycleMachine`, or any other
//! for comparison) and checks invariants at every step.
//!
//! Self-contained on purpose: benchmarks include it with `#[path = ".../harness.rs"] mod harness;`.
//! Nothing here reads the machine's internals except through [`Policy`].

#![allow(dead_code)]

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use serde_json::Value;
use wawp_session::driver::{DriverEffect, DriverOnly, SessionDriver, SharedBudget};
use wawp_session::machine::AdminReason;
use wawp_session::payload;
use wawp_session::{
    Action, CallResult, ErrorCode, Event, LifecycleMachine, MachineOptions, Op, RetryBudget,
    SendOutcome, SessionStatus, StatusReport, UiAction,
};

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
/// The simulated epoch: 2025-03-06 08:28 UTC.
pub const EPOCH_MS: f64 = 1_741_249_702_485.0;

// ---- randomness ------------------------------------------------------------------------------

/// SplitMix64: one u64 of state, so a seed reproduces a run exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0xA076_1D64_78BD_642F)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f64()
    }
    /// Exponentially distributed with the given mean (Poisson arrivals).
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
}

// ---- the fault model ---------------------------------------------------------------------------

/// Every knob of the environment. Rates are per event or per call; intervals are means of
/// exponential distributions.
#[derive(Debug, Clone)]
pub struct FaultProfile {
    pub webhook_loss: f64,
    pub webhook_duplicate: f64,
    /// Each delivery is delayed uniformly in [0, this]: larger than the gap between two
    /// statuses means reordering.
    pub webhook_delay_max_ms: f64,
    /// Chance that a call starts a burst of 429s.
    pub burst_429: f64,
    pub burst_429_len: u32,
    /// Retry-After sent with the 429s (None: no header).
    pub burst_retry_after_ms: Option<f64>,
    /// More than this many start/restart calls within `rate_window_ms` → 429 (Wawp's policy).
    pub rate_limit_starts: usize,
    pub rate_window_ms: f64,
    pub server_5xx: f64,
    pub network_error: f64,
    /// The request hangs; the client's own timeout turns it into a `timeout` result.
    pub hung_request: f64,
    pub client_timeout_ms: f64,
    /// Chance that a boot hangs in STARTING (re-sending STARTING every 2 s, as WAHA does).
    pub stuck_starting: f64,
    /// Mean time between engine failures while WORKING (→ FAILED, pairing kept).
    pub mean_failure_interval_ms: f64,
    /// Mean time between phone-side unlinks while WORKING (→ FAILED, pairing lost).
    pub mean_unlink_interval_ms: f64,
    /// Mean time between WORKING → STARTING → WORKING flaps.
    pub mean_flap_interval_ms: f64,
    /// Chance that the user scans a shown QR before it expires (else: FAILED after 6 QRs).
    pub user_scans_qr: f64,
    /// Chance that a scan pairs the wrong phone (identity mismatch).
    pub wrong_phone: f64,
    /// The user reacts to "troubleshoot" / an admin notice within [1, this] minutes.
    pub user_reaction_max_ms: f64,
    /// Start on a running session answers WAHA's 422 "already started".
    pub start_conflict_422: bool,
    /// Mean time between host process crashes (restore from the last persisted JSON).
    pub mean_crash_interval_ms: f64,
}

impl FaultProfile {
    /// A healthy service: rare faults, reliable webhooks.
    pub fn calm() -> FaultProfile {
        FaultProfile {
            webhook_loss: 0.01,
            webhook_duplicate: 0.01,
            webhook_delay_max_ms: 500.0,
            burst_429: 0.0,
            burst_429_len: 0,
            burst_retry_after_ms: None,
            rate_limit_starts: 5,
            rate_window_ms: 10.0 * SECOND,
            server_5xx: 0.005,
            network_error: 0.005,
            hung_request: 0.0,
            client_timeout_ms: 15.0 * SECOND,
            stuck_starting: 0.02,
            mean_failure_interval_ms: 12.0 * HOUR,
            mean_unlink_interval_ms: 7.0 * 24.0 * HOUR,
            mean_flap_interval_ms: 6.0 * HOUR,
            user_scans_qr: 0.9,
            wrong_phone: 0.0,
            user_reaction_max_ms: 30.0 * MINUTE,
            start_conflict_422: true,
            mean_crash_interval_ms: 24.0 * HOUR,
        }
    }

    /// Everything the issue lists, often: 429 bursts, 5xx, lost / duplicated / reordered /
    /// delayed webhooks, stuck STARTING, FAILED, unlinks, QR expiry, flapping, crashes.
    pub fn harsh() -> FaultProfile {
        FaultProfile {
            webhook_loss: 0.2,
            webhook_duplicate: 0.15,
            webhook_delay_max_ms: 8.0 * SECOND,
            burst_429: 0.05,
            burst_429_len: 6,
            burst_retry_after_ms: Some(10.0 * SECOND),
            rate_limit_starts: 3,
            rate_window_ms: 10.0 * SECOND,
            server_5xx: 0.08,
            network_error: 0.05,
            hung_request: 0.03,
            client_timeout_ms: 15.0 * SECOND,
            stuck_starting: 0.25,
            mean_failure_interval_ms: 45.0 * MINUTE,
            mean_unlink_interval_ms: 6.0 * HOUR,
            mean_flap_interval_ms: 30.0 * MINUTE,
            user_scans_qr: 0.6,
            wrong_phone: 0.05,
            user_reaction_max_ms: 20.0 * MINUTE,
            start_conflict_422: true,
            mean_crash_interval_ms: 3.0 * HOUR,
        }
    }
}

impl FaultProfile {
    /// A bad day at the provider: most boots hang in STARTING, engines fail often, 429s
    /// without Retry-After. Exercises the restart cap and the retry budget.
    pub fn outage() -> FaultProfile {
        FaultProfile {
            stuck_starting: 0.85,
            mean_failure_interval_ms: 20.0 * MINUTE,
            burst_429: 0.1,
            burst_429_len: 4,
            burst_retry_after_ms: None,
            server_5xx: 0.15,
            ..FaultProfile::harsh()
        }
    }

    /// The profile a seed runs under in the standard mix: calm, harsh and outage in turn.
    pub fn for_seed(seed: u64) -> FaultProfile {
        match seed % 3 {
            0 => FaultProfile::harsh(),
            1 => FaultProfile::calm(),
            _ => FaultProfile::outage(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub hours: f64,
    pub faults: FaultProfile,
    /// Mean time between application sends.
    pub mean_send_interval_ms: f64,
    /// Chance, per processed event, of a `toJSON`/`fromJSON` round trip in the same process.
    pub round_trip_rate: f64,
    /// The identity the policy expects (the fake phone's JID is this one unless wrong_phone).
    pub expected_jid: Option<String>,
    pub max_auto_restarts: u32,
    /// The host process's shared retry budget (capacity, refill per second), as a fleet host
    /// gives every driver; `None`: no budget. A crash starts a new process with a full one.
    pub shared_budget: Option<(f64, f64)>,
}

impl SimConfig {
    pub fn new(seed: u64, hours: f64, faults: FaultProfile) -> SimConfig {
        SimConfig {
            seed,
            hours,
            faults,
            mean_send_interval_ms: 3.0 * MINUTE,
            round_trip_rate: 0.02,
            expected_jid: Some("201012345678@c.us".to_string()),
            max_auto_restarts: 5,
            // Tight enough that faulty seeds meet an empty bucket.
            shared_budget: Some((3.0, 1.0 / 60.0)),
        }
    }

    /// A fresh bucket for a new host process.
    pub fn new_budget(&self) -> Option<SharedBudget> {
        self.shared_budget
            .map(|(capacity, refill)| Rc::new(RefCell::new(RetryBudget::new(capacity, refill))))
    }

    pub fn machine_options(&self) -> MachineOptions {
        MachineOptions {
            expected_jid: self.expected_jid.clone(),
            max_auto_restarts: self.max_auto_restarts,
            seed: Some(self.seed & ((1 << 53) - 1)),
            ..MachineOptions::default()
        }
    }
}

// ---- the policy under test -----------------------------------------------------------------------

/// What the driver needs from a session policy. `LifecycleMachine` is the product; a benchmark
/// can implement naive policies (poll + restart, no backoff, ...) against the same world.
pub trait Policy: Sized {
    fn handle(&mut self, event: Event, now_ms: f64);
    /// The next machine action, or one of the driver's own effects.
    fn poll_effect(&mut self) -> Option<DriverEffect>;
    fn poll_timeout(&self) -> Option<f64>;
    /// The status the policy believes the session is in.
    fn believed_status(&self) -> SessionStatus;
    /// Would the policy release a send now (used to check every release)?
    fn can_release(&self) -> bool;
    /// The cap on consecutive automatic restarts the policy promises, if any.
    fn auto_restart_cap(&self) -> Option<u32>;
    /// Serialised state for persistence; `None`: the policy cannot be persisted.
    fn to_json(&self) -> Option<String>;
    fn from_json(text: &str) -> Result<Self, String>;
    /// Calls issued and not answered, as recorded in the (restored) state.
    fn in_flight(&self) -> Vec<Op>;
    /// Sends released and not reported, as recorded in the (restored) state.
    fn sending(&self) -> Vec<String> {
        Vec::new()
    }
    /// Releases of one send the policy promises at most, if any.
    fn max_send_attempts(&self) -> Option<u32> {
        None
    }
    /// A one-line state summary for traces.
    fn describe(&self) -> String {
        String::new()
    }
    /// Gives the policy the host process's shared retry budget (policies without one ignore it).
    fn use_budget(&mut self, _budget: Option<SharedBudget>) {}
    /// A new process loaded the policy: `true` when it answered its own lost calls and sends
    /// (the driver's `restored`), `false` when the host must (the bare machine).
    fn restored(&mut self, _now_ms: f64) -> bool {
        false
    }
}

impl Policy for SessionDriver {
    fn handle(&mut self, event: Event, now_ms: f64) {
        SessionDriver::handle(self, event.into(), now_ms);
    }
    fn poll_effect(&mut self) -> Option<DriverEffect> {
        SessionDriver::poll_effect(self)
    }
    fn poll_timeout(&self) -> Option<f64> {
        SessionDriver::poll_timeout(self)
    }
    fn believed_status(&self) -> SessionStatus {
        self.status()
    }
    fn can_release(&self) -> bool {
        self.machine().can_release()
    }
    fn auto_restart_cap(&self) -> Option<u32> {
        Some(self.machine().options().max_auto_restarts)
    }
    fn to_json(&self) -> Option<String> {
        Some(SessionDriver::to_json(self))
    }
    fn from_json(text: &str) -> Result<Self, String> {
        SessionDriver::from_json(text).map_err(|e| e.to_string())
    }
    fn in_flight(&self) -> Vec<Op> {
        SessionDriver::in_flight(self).to_vec()
    }
    fn sending(&self) -> Vec<String> {
        self.machine()
            .sending()
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }
    fn max_send_attempts(&self) -> Option<u32> {
        Some(self.machine().options().max_send_attempts)
    }
    fn describe(&self) -> String {
        serde_json::to_string(&self.machine().snapshot()).unwrap_or_default()
    }
    fn use_budget(&mut self, budget: Option<SharedBudget>) {
        self.set_budget(budget);
    }
    fn restored(&mut self, now_ms: f64) -> bool {
        SessionDriver::restored(self, now_ms);
        true
    }
}

impl Policy for LifecycleMachine {
    fn handle(&mut self, event: Event, now_ms: f64) {
        LifecycleMachine::handle(self, event, now_ms);
    }
    fn poll_effect(&mut self) -> Option<DriverEffect> {
        LifecycleMachine::poll_action(self).map(DriverEffect::Action)
    }
    fn poll_timeout(&self) -> Option<f64> {
        LifecycleMachine::poll_timeout(self)
    }
    fn believed_status(&self) -> SessionStatus {
        self.status()
    }
    fn can_release(&self) -> bool {
        LifecycleMachine::can_release(self)
    }
    fn auto_restart_cap(&self) -> Option<u32> {
        Some(self.options().max_auto_restarts)
    }
    fn to_json(&self) -> Option<String> {
        Some(LifecycleMachine::to_json(self))
    }
    fn from_json(text: &str) -> Result<Self, String> {
        LifecycleMachine::from_json(text).map_err(|e| e.to_string())
    }
    fn in_flight(&self) -> Vec<Op> {
        self.in_flight_ops()
    }
    fn sending(&self) -> Vec<String> {
        LifecycleMachine::sending(self)
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }
    fn max_send_attempts(&self) -> Option<u32> {
        Some(self.options().max_send_attempts)
    }
    fn describe(&self) -> String {
        serde_json::to_string(&self.snapshot()).unwrap_or_default()
    }
}

// ---- the fake Wawp server ------------------------------------------------------------------------

/// The server's own status model (independent of the machine's `SessionStatus` logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrvStatus {
    Stopped,
    Starting,
    ScanQr,
    Working,
    Failed,
}

impl SrvStatus {
    fn wire(self) -> &'static str {
        match self {
            SrvStatus::Stopped => "STOPPED",
            SrvStatus::Starting => "STARTING",
            SrvStatus::ScanQr => "SCAN_QR_CODE",
            SrvStatus::Working => "WORKING",
            SrvStatus::Failed => "FAILED",
        }
    }
    fn running(self) -> bool {
        matches!(
            self,
            SrvStatus::Starting | SrvStatus::ScanQr | SrvStatus::Working
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerTimer {
    BootDone,
    StartingResend,
    QrRotate,
    Scan,
    FlapBack,
    WorkingFault,
}

const PHONE_JID: &str = "201012345678:12@s.whatsapp.net";
const OTHER_PHONE_JID: &str = "15550000000@c.us";
const QR_FIRST_MS: f64 = 60.0 * SECOND;
const QR_NEXT_MS: f64 = 20.0 * SECOND;
const QR_COUNT: u32 = 6;

struct FakeServer {
    status: SrvStatus,
    paired: bool,
    /// Which phone is paired (false: the wrong one).
    right_phone: bool,
    /// Bumped on every status change: timers of an older generation are void.
    generation: u64,
    qr_shown: u32,
    stuck: bool,
    resends: u32,
    recent_starts: VecDeque<f64>,
    burst_left: u32,
    event_seq: u64,
}

// ---- the driver -------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum SimEvent {
    Server {
        generation: u64,
        timer: ServerTimer,
    },
    Deliver(Box<StatusReport>),
    CallArrives {
        call: u64,
        op: Op,
        process: u64,
    },
    CallAnswered {
        call: u64,
        result: CallResult,
        process: u64,
    },
    AppSend,
    /// A released send's request reaches the server (`answered`: its answer comes back).
    SendArrives {
        id: String,
        process: u64,
        answered: bool,
    },
    /// The outcome of a released send, back at the host that released it.
    SendAnswered {
        outcome: SendOutcome,
        process: u64,
    },
    UserRetry,
    UserStart,
    Crash,
}

/// What the network does with one request.
enum Transport {
    Refused {
        answer_at: f64,
    },
    Hung {
        arrives: Option<f64>,
        answer_at: f64,
    },
    Arrives {
        at: f64,
    },
}

struct Scheduled {
    at: f64,
    seq: u64,
    event: SimEvent,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Earliest first (BinaryHeap is a max-heap), ties in scheduling order.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .total_cmp(&self.at)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Counters of one run (or, merged, of many).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    pub runs: u64,
    pub simulated_ms: f64,
    pub events: u64,
    pub api_calls: u64,
    pub calls_by_op: [u64; 6],
    pub http_429: u64,
    pub http_5xx: u64,
    pub network_errors: u64,
    pub timeouts: u64,
    pub webhooks_emitted: u64,
    pub webhooks_lost: u64,
    pub webhooks_duplicated: u64,
    pub faults_injected: u64,
    /// Server-side outages (left WORKING) and how long until WORKING again.
    pub recoveries: u64,
    pub recovery_ms_total: f64,
    pub recovery_ms_max: f64,
    pub server_working_ms: f64,
    pub sends: u64,
    pub released: u64,
    /// Released while the server was not WORKING: the API refuses it (422) and the host reports
    /// that outcome; the policy decides (hand back, give up).
    pub released_not_working: u64,
    /// Sends that were refused (422) or rate limited (429) at least once and later delivered.
    pub delivered_after_refusal: u64,
    /// Sends answered 429 at the server.
    pub send_429: u64,
    /// Sends the policy held again after a failed attempt (hand-back or retry).
    pub held_again: u64,
    /// Sends the server delivered (at most once each: a second delivery is a violation).
    pub delivered: u64,
    /// Sends the server delivered whose caller was told otherwise (the outcome was lost: a
    /// timeout or a crash). Not a duplicate; the price of never sending twice.
    pub delivered_but_rejected: u64,
    /// Released while the server was paired with the wrong phone.
    pub released_wrong_account: u64,
    /// Resolved more than once (must stay 0).
    pub duplicate_resolutions: u64,
    pub rejected: HashMap<&'static str, u64>,
    pub automatic_restarts: u64,
    pub admin_notices: HashMap<&'static str, u64>,
    pub crashes: u64,
    pub round_trips: u64,
    /// Automatic starts / restarts the shared budget refused (answered inside the driver).
    pub budget_refusals: u64,
    /// The driver's `view` and `read_qr` effects.
    pub view_changes: u64,
    pub qr_reads: u64,
    pub violations: Vec<String>,
}

impl SimStats {
    pub fn merge(&mut self, o: &SimStats) {
        self.runs += o.runs;
        self.simulated_ms += o.simulated_ms;
        self.events += o.events;
        self.api_calls += o.api_calls;
        for (a, b) in self.calls_by_op.iter_mut().zip(o.calls_by_op.iter()) {
            *a += b;
        }
        self.http_429 += o.http_429;
        self.http_5xx += o.http_5xx;
        self.network_errors += o.network_errors;
        self.timeouts += o.timeouts;
        self.webhooks_emitted += o.webhooks_emitted;
        self.webhooks_lost += o.webhooks_lost;
        self.webhooks_duplicated += o.webhooks_duplicated;
        self.faults_injected += o.faults_injected;
        self.recoveries += o.recoveries;
        self.recovery_ms_total += o.recovery_ms_total;
        self.recovery_ms_max = self.recovery_ms_max.max(o.recovery_ms_max);
        self.server_working_ms += o.server_working_ms;
        self.sends += o.sends;
        self.released += o.released;
        self.released_not_working += o.released_not_working;
        self.delivered_after_refusal += o.delivered_after_refusal;
        self.send_429 += o.send_429;
        self.held_again += o.held_again;
        self.delivered += o.delivered;
        self.delivered_but_rejected += o.delivered_but_rejected;
        self.released_wrong_account += o.released_wrong_account;
        self.duplicate_resolutions += o.duplicate_resolutions;
        for (k, v) in &o.rejected {
            *self.rejected.entry(k).or_insert(0) += v;
        }
        self.automatic_restarts += o.automatic_restarts;
        for (k, v) in &o.admin_notices {
            *self.admin_notices.entry(k).or_insert(0) += v;
        }
        self.crashes += o.crashes;
        self.round_trips += o.round_trips;
        self.budget_refusals += o.budget_refusals;
        self.view_changes += o.view_changes;
        self.qr_reads += o.qr_reads;
        self.violations.extend(o.violations.iter().cloned());
    }

    pub fn mean_recovery_ms(&self) -> Option<f64> {
        (self.recoveries > 0).then(|| self.recovery_ms_total / self.recoveries as f64)
    }
}

fn op_index(op: Op) -> usize {
    match op {
        Op::Start => 0,
        Op::Restart => 1,
        Op::Stop => 2,
        Op::Logout => 3,
        Op::Info => 4,
        Op::Me => 5,
    }
}

pub struct Sim<P: Policy> {
    cfg: SimConfig,
    rng: Rng,
    now: f64,
    end: f64,
    seq: u64,
    heap: BinaryHeap<Scheduled>,
    server: FakeServer,
    policy: P,
    /// Incremented by each crash: answers addressed to a dead process are dropped.
    process: u64,
    /// This process's shared retry budget, and what the budget lets through: automatic starts
    /// and restarts issued since the process began (checked against capacity + refill × time).
    budget: Option<SharedBudget>,
    process_started_ms: f64,
    budgeted_calls: u64,
    stored: Option<String>,
    next_call: u64,
    /// Calls of the current process not answered yet.
    outstanding: Vec<(u64, Op)>,
    /// Send id → times resolved.
    sends: HashMap<String, u32>,
    /// Send id → times released.
    releases: HashMap<String, u32>,
    /// Sends this process released and has not reported yet.
    out: HashSet<String>,
    /// Sends the server delivered, and those it refused at least once.
    server_delivered: HashMap<String, u32>,
    refused: HashSet<String>,
    next_send: u64,
    last_ui: Option<(UiAction, SessionStatus)>,
    /// Automatic restarts since the last reset (WORKING, user retry / start, warm boot).
    auto_restarts_in_row: u32,
    /// The last lifecycle answer was a transient error: the next call of that op is its retry.
    retrying: Option<Op>,
    /// The user asked for a restart that had to wait for another call: its restart is theirs.
    user_restart_owed: bool,
    outage_since: Option<f64>,
    working_since: Option<f64>,
    pub stats: SimStats,
    /// Print every event and action (debugging one seed: `SIM_TRACE=<seed>`).
    pub trace: bool,
}

impl<P: Policy> Sim<P> {
    pub fn new(cfg: SimConfig, policy: P) -> Sim<P> {
        let rng = Rng::new(cfg.seed);
        let end = EPOCH_MS + cfg.hours * HOUR;
        Sim {
            rng,
            now: EPOCH_MS,
            end,
            seq: 0,
            heap: BinaryHeap::new(),
            server: FakeServer {
                status: SrvStatus::Stopped,
                paired: true,
                right_phone: true,
                generation: 0,
                qr_shown: 0,
                stuck: false,
                resends: 0,
                recent_starts: VecDeque::new(),
                burst_left: 0,
                event_seq: 0,
            },
            budget: cfg.new_budget(),
            process_started_ms: EPOCH_MS,
            budgeted_calls: 0,
            policy,
            process: 0,
            stored: None,
            next_call: 0,
            outstanding: Vec::new(),
            sends: HashMap::new(),
            releases: HashMap::new(),
            out: HashSet::new(),
            server_delivered: HashMap::new(),
            refused: HashSet::new(),
            next_send: 0,
            last_ui: None,
            auto_restarts_in_row: 0,
            retrying: None,
            user_restart_owed: false,
            outage_since: None,
            working_since: None,
            stats: SimStats {
                runs: 1,
                ..SimStats::default()
            },
            trace: std::env::var("SIM_TRACE").ok() == Some(cfg.seed.to_string()),
            cfg,
        }
    }

    /// A new host process: a full budget, shared with the policy.
    fn new_process_budget(&mut self) {
        self.budget = self.cfg.new_budget();
        self.process_started_ms = self.now;
        self.budgeted_calls = 0;
        self.policy.use_budget(self.budget.clone());
    }

    fn schedule(&mut self, at: f64, event: SimEvent) {
        self.seq += 1;
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            event,
        });
    }

    fn violation(&mut self, what: String) {
        if self.stats.violations.len() < 20 {
            self.stats.violations.push(format!(
                "seed {} at +{:.0} s: {what}",
                self.cfg.seed,
                (self.now - EPOCH_MS) / SECOND
            ));
        }
    }

    /// Runs the configured hours, then a drain period with no new sends, then checks that
    /// every send was resolved exactly once.
    pub fn run(mut self) -> SimStats {
        let first_send = self.rng.exp(self.cfg.mean_send_interval_ms);
        self.schedule(EPOCH_MS + first_send, SimEvent::AppSend);
        let first_crash = self.rng.exp(self.cfg.faults.mean_crash_interval_ms);
        self.schedule(EPOCH_MS + first_crash, SimEvent::Crash);
        self.new_process_budget();
        self.deliver_to_policy(Event::WarmBoot);

        // The drain period outlasts every send deadline (default 120 s; the app asks ≤ 300 s).
        let hard_end = self.end + 30.0 * MINUTE;
        let mut guard: u64 = 0;
        loop {
            guard += 1;
            if guard > 50_000_000 || !self.stats.violations.is_empty() {
                break;
            }
            let timer = self.policy.poll_timeout();
            let next_event = self.heap.peek().map(|s| s.at);
            let next = match (timer, next_event) {
                (Some(t), Some(e)) => t.min(e),
                (Some(t), None) => t,
                (None, Some(e)) => e,
                (None, None) => break,
            };
            if next > hard_end {
                break;
            }
            let next = next.max(self.now);
            if timer.is_some_and(|t| t <= next_event.unwrap_or(f64::INFINITY)) {
                self.now = next;
                self.deliver_to_policy(Event::Timeout);
                if let Some(again) = self.policy.poll_timeout()
                    && again <= self.now
                {
                    self.violation(format!("timer at {again} still due after a timeout event"));
                }
                continue;
            }
            let Some(item) = self.heap.pop() else { break };
            self.now = next;
            self.stats.events += 1;
            self.process_event(item.event);
            if self.rng.chance(self.cfg.round_trip_rate) {
                self.round_trip();
            }
        }
        self.now = self.now.max(hard_end);
        // Answer whatever is still open, then let one last timer event resolve stragglers.
        for (_, op) in std::mem::take(&mut self.outstanding) {
            self.answer_now(op, false, Some(ErrorCode::Network), None, None);
        }
        self.process += 1; // answers still on their way are not awaited
        self.report_lost_sends();
        self.now += 400.0 * 24.0 * HOUR;
        self.deliver_to_policy(Event::Timeout);
        let unresolved = self.sends.iter().filter(|(_, n)| **n == 0).count();
        if unresolved > 0 {
            self.violation(format!("{unresolved} sends never resolved"));
        }
        self.account_working_until(self.end);
        self.stats.simulated_ms = self.cfg.hours * HOUR;
        self.stats
    }

    fn answer_now(
        &mut self,
        op: Op,
        ok: bool,
        error: Option<ErrorCode>,
        http_status: Option<u16>,
        body: Option<Value>,
    ) {
        self.deliver_result(CallResult {
            op,
            ok,
            error,
            http_status,
            retry_after_ms: None,
            body,
        });
    }

    fn deliver_result(&mut self, result: CallResult) {
        if result.op.is_lifecycle() {
            let transient = !result.ok && result.error.is_some_and(|e| e.is_transient());
            self.retrying = transient.then_some(result.op);
        }
        self.deliver_to_policy(Event::Result(result));
    }

    // ---- the policy side -------------------------------------------------------------------

    fn deliver_to_policy(&mut self, event: Event) {
        let user_reset = matches!(event, Event::UserRetry | Event::UserStart | Event::WarmBoot);
        if user_reset {
            self.auto_restarts_in_row = 0;
        }
        let user_retry = matches!(event, Event::UserRetry);
        // The calls a person's button causes never wait for the shared budget.
        let by_user = matches!(
            event,
            Event::UserRetry | Event::UserStart | Event::UserStop | Event::UserLogout
        );
        let was = self.policy.believed_status();
        if self.trace {
            println!("{:>9.1} s  -> {event:?}", (self.now - EPOCH_MS) / SECOND);
            println!("             == {}", self.policy.describe());
        }
        self.policy.handle(event, self.now);
        self.take_effects(user_reset, user_retry, by_user, was);
    }

    /// Everything the policy asks for after an event (or after `restored`).
    fn take_effects(
        &mut self,
        user_reset: bool,
        user_retry: bool,
        by_user: bool,
        was: SessionStatus,
    ) {
        if self.policy.believed_status() == SessionStatus::Working && was != SessionStatus::Working
        {
            self.auto_restarts_in_row = 0;
        }
        let mut restarted = false;
        while let Some(effect) = self.policy.poll_effect() {
            let action = match effect {
                DriverEffect::Action(action) => action,
                DriverEffect::Driver(own) => {
                    self.on_driver_effect(own, by_user);
                    continue;
                }
            };
            restarted |= action == (Action::Call { op: Op::Restart });
            if let Action::Call {
                op: Op::Start | Op::Restart,
            } = action
                && !by_user
            {
                self.check_budget();
            }
            self.on_action(action, user_reset, was);
        }
        if user_retry && !restarted {
            self.user_restart_owed = true;
        }
    }

    /// An automatic start / restart went out: never more of them than the process's budget
    /// holds (its capacity plus what refilled since the process began).
    fn check_budget(&mut self) {
        let Some((capacity, refill)) = self.cfg.shared_budget else {
            return;
        };
        if self.budget.is_none() {
            return;
        }
        self.budgeted_calls += 1;
        let allowed = capacity + refill * (self.now - self.process_started_ms) / SECOND;
        if self.budgeted_calls as f64 > allowed + 1e-9 {
            self.violation(format!(
                "{} automatic starts/restarts in this process, the budget allows {allowed:.2}",
                self.budgeted_calls
            ));
        }
    }

    /// The driver's own effects: a budget-refused call (answered `rate_limited` inside, so the
    /// next call of that op is its retry), a view change, a QR worth reading.
    fn on_driver_effect(&mut self, effect: DriverOnly, by_user: bool) {
        match effect {
            DriverOnly::Result { op, error, .. } => {
                if by_user || !matches!(op, Op::Start | Op::Restart) {
                    self.violation(format!("{op:?} refused by the budget (by user: {by_user})"));
                }
                if error != ErrorCode::RateLimited {
                    self.violation(format!("{op:?} answered {error:?} inside the driver"));
                }
                self.stats.budget_refusals += 1;
                if op.is_lifecycle() {
                    self.retrying = Some(op);
                }
            }
            DriverOnly::View => self.stats.view_changes += 1,
            DriverOnly::ReadQr => {
                if !matches!(
                    self.policy.believed_status(),
                    SessionStatus::ScanQrCode | SessionStatus::Logout
                ) {
                    self.violation("read_qr while no QR is shown".to_string());
                }
                self.stats.qr_reads += 1;
            }
        }
    }

    fn on_action(&mut self, action: Action, user_initiated: bool, status_before: SessionStatus) {
        if self.trace {
            println!(
                "             <- {action:?}   (server {:?})",
                self.server.status
            );
        }
        match action {
            Action::Call { op } => {
                if op.is_lifecycle() && self.outstanding.iter().any(|(_, o)| o.is_lifecycle()) {
                    let open = self.outstanding.clone();
                    self.violation(format!("{op:?} issued while {open:?} unanswered"));
                }
                let owed = op == Op::Restart && std::mem::take(&mut self.user_restart_owed);
                if op == Op::Restart
                    && !user_initiated
                    && !owed
                    && status_before != SessionStatus::Working
                    && self.retrying != Some(Op::Restart)
                {
                    self.auto_restarts_in_row += 1;
                    self.stats.automatic_restarts += 1;
                    if let Some(cap) = self.policy.auto_restart_cap()
                        && self.auto_restarts_in_row > cap
                    {
                        self.violation(format!(
                            "{} automatic restarts in a row, cap {cap}",
                            self.auto_restarts_in_row
                        ));
                    }
                }
                if op.is_lifecycle() {
                    self.retrying = None;
                }
                self.issue_call(op);
            }
            Action::ReleaseSend { id } => {
                if !(self.policy.can_release()
                    && self.policy.believed_status() == SessionStatus::Working)
                {
                    self.violation(format!(
                        "released {id} while {:?}",
                        self.policy.believed_status()
                    ));
                }
                if !self.out.insert(id.clone()) {
                    self.violation(format!("released {id} again before its outcome"));
                }
                let releases = self.releases.entry(id.clone()).or_insert(0);
                *releases += 1;
                let releases = *releases;
                if let Some(cap) = self.policy.max_send_attempts()
                    && releases > cap
                {
                    self.violation(format!("{id} released {releases} times, cap {cap}"));
                }
                self.stats.released += 1;
                self.perform_send(id);
            }
            Action::ResolveSend { id } => {
                if self.out.contains(&id) || self.server_delivered.get(&id).copied() != Some(1) {
                    self.violation(format!(
                        "{id} resolved as delivered, but the server has not it"
                    ));
                }
                if self.refused.contains(&id) {
                    self.stats.delivered_after_refusal += 1;
                }
                self.resolve(&id);
            }
            Action::HoldSend { id, .. } => {
                if self.out.contains(&id) {
                    self.violation(format!("{id} held while its outcome is unreported"));
                }
                self.stats.held_again += 1;
            }
            Action::RejectSend { id, code } => {
                if self.out.contains(&id) {
                    self.violation(format!("{id} rejected while its outcome is unreported"));
                }
                if self.server_delivered.contains_key(&id) {
                    self.stats.delivered_but_rejected += 1;
                }
                *self.stats.rejected.entry(code.as_str()).or_insert(0) += 1;
                self.resolve(&id);
            }
            Action::Ui { ui_action, status } => {
                if self.last_ui == Some((ui_action, status)) {
                    self.violation(format!(
                        "ui {ui_action:?} for {status:?} emitted twice in a row"
                    ));
                }
                self.last_ui = Some((ui_action, status));
                if ui_action == UiAction::Troubleshoot {
                    self.user_may_react(SimEvent::UserRetry);
                }
                if ui_action == UiAction::Start && self.rng.chance(0.3) {
                    self.user_may_react(SimEvent::UserStart);
                }
            }
            Action::NotifyAdmin { reason } => {
                *self.stats.admin_notices.entry(reason.as_str()).or_insert(0) += 1;
                if matches!(
                    reason,
                    AdminReason::RestartBudgetExhausted | AdminReason::IdentityMismatch
                ) {
                    self.user_may_react(SimEvent::UserRetry);
                }
            }
            Action::Persist => {
                self.stored = self.policy.to_json();
            }
            Action::ClearIdentity | Action::Identity { .. } => {}
        }
    }

    fn user_may_react(&mut self, event: SimEvent) {
        let delay = self
            .rng
            .uniform(MINUTE, self.cfg.faults.user_reaction_max_ms.max(MINUTE));
        self.schedule(self.now + delay, event);
    }

    fn resolve(&mut self, id: &str) {
        let times = self.sends.get_mut(id).map(|n| {
            *n += 1;
            *n
        });
        match times {
            Some(1) => {}
            Some(n) => {
                self.stats.duplicate_resolutions += 1;
                self.violation(format!("send {id} resolved {n} times"));
            }
            None => self.violation(format!("resolved unknown send {id}")),
        }
    }

    fn round_trip(&mut self) {
        let Some(text) = self.policy.to_json() else {
            return;
        };
        self.stats.round_trips += 1;
        match P::from_json(&text) {
            Ok(restored) => {
                if restored.to_json().as_deref() != Some(text.as_str()) {
                    self.violation("toJSON/fromJSON changed the state".to_string());
                }
                self.policy = restored;
                // The same process: the same budget.
                self.policy.use_budget(self.budget.clone());
            }
            Err(e) => self.violation(format!("fromJSON refused its own JSON: {e}")),
        }
    }

    /// The host process dies: in-flight requests and unpersisted state are gone; a new process
    /// restores the last persisted JSON, answers the calls it records as lost, then warm-boots.
    fn crash(&mut self) {
        let Some(stored) = self.stored.clone() else {
            return;
        };
        let Ok(restored) = P::from_json(&stored) else {
            self.violation("fromJSON refused the persisted JSON".to_string());
            return;
        };
        self.stats.crashes += 1;
        self.process += 1;
        self.outstanding.clear();
        // `retrying` stays: a scheduled retry is persisted and survives the crash.
        self.policy = restored;
        self.new_process_budget();
        let lost = self.policy.in_flight();
        let was = self.policy.believed_status();
        if self.policy.restored(self.now) {
            // The driver answered what the old process lost: each lifecycle call `network`
            // (transient, so the next call of that op is its retry), each send `closed`.
            if let Some(op) = lost.into_iter().rev().find(|op| op.is_lifecycle()) {
                self.retrying = Some(op);
            }
            self.out.clear();
            self.take_effects(false, false, false, was);
        } else {
            for op in lost {
                self.answer_now(op, false, Some(ErrorCode::Network), None, None);
            }
            self.report_lost_sends();
        }
        // Whatever the restored policy still waits for, this process was asked to make.
        let open = self.policy.in_flight();
        {
            if open
                .iter()
                .any(|op| !self.outstanding.iter().any(|(_, o)| o == op))
            {
                self.violation(format!(
                    "after restored(), {open:?} in flight but never issued"
                ));
            }
        }
        self.deliver_to_policy(Event::WarmBoot);
    }

    /// The host sends a released message over the faulty network (no retries of its own).
    fn perform_send(&mut self, id: String) {
        let process = self.process;
        let (arrives, answer) = match self.transport() {
            Transport::Refused { answer_at } => {
                // Certainly never reached the server: the host says so.
                let mut outcome = send_failure(&id, ErrorCode::Network, None, None);
                outcome.maybe_delivered = Some(false);
                (None, Some((answer_at, outcome)))
            }
            Transport::Hung { arrives, answer_at } => {
                let outcome = send_failure(&id, ErrorCode::Timeout, None, None);
                (arrives.map(|at| (at, false)), Some((answer_at, outcome)))
            }
            Transport::Arrives { at } => (Some((at, true)), None),
        };
        if let Some((at, answered)) = arrives {
            self.schedule(
                at,
                SimEvent::SendArrives {
                    id: id.clone(),
                    process,
                    answered,
                },
            );
        }
        if let Some((at, outcome)) = answer {
            self.schedule(at, SimEvent::SendAnswered { outcome, process });
        }
    }

    /// One request over the faulty network: refused (never reached the server), hung (the
    /// client's timeout answers; the request may still arrive), or arriving.
    fn transport(&mut self) -> Transport {
        let f = &self.cfg.faults;
        let (network_error, hung, timeout_ms) =
            (f.network_error, f.hung_request, f.client_timeout_ms);
        let roll = self.rng.f64();
        if roll < network_error {
            self.stats.network_errors += 1;
            Transport::Refused {
                answer_at: self.now + self.rng.uniform(5.0, 200.0),
            }
        } else if roll < network_error + hung {
            self.stats.timeouts += 1;
            let arrives = self
                .rng
                .chance(0.5)
                .then(|| self.now + self.rng.uniform(20.0, 300.0));
            Transport::Hung {
                arrives,
                answer_at: self.now + timeout_ms,
            }
        } else {
            Transport::Arrives {
                at: self.now + self.rng.uniform(20.0, 400.0),
            }
        }
    }

    /// The server's side of a send: 429 in a burst, 422 unless WORKING, else delivered (a 5xx
    /// may come after the delivery); the answer travels back unless the client gave up.
    fn server_send(&mut self, id: String, process: u64, answered: bool) {
        let f = self.cfg.faults.clone();
        let outcome = if self.server.burst_left > 0 || self.rng.chance(f.burst_429) {
            if self.server.burst_left == 0 {
                self.server.burst_left = f.burst_429_len;
            }
            self.server.burst_left = self.server.burst_left.saturating_sub(1);
            self.stats.http_429 += 1;
            self.stats.send_429 += 1;
            self.refused.insert(id.clone());
            send_failure(
                &id,
                ErrorCode::RateLimited,
                Some(429),
                f.burst_retry_after_ms,
            )
        } else if self.rng.chance(f.server_5xx / 2.0) {
            self.stats.http_5xx += 1;
            send_failure(&id, ErrorCode::Server, Some(503), None)
        } else if self.server.status != SrvStatus::Working {
            // "status is not as expected": not delivered.
            self.stats.released_not_working += 1;
            self.refused.insert(id.clone());
            send_failure(&id, ErrorCode::Conflict, Some(422), None)
        } else {
            let times = {
                let times = self.server_delivered.entry(id.clone()).or_insert(0);
                *times += 1;
                *times
            };
            if times > 1 {
                self.violation(format!("{id} delivered {times} times"));
            }
            self.stats.delivered += 1;
            if !self.server.right_phone {
                self.stats.released_wrong_account += 1;
            }
            // A 5xx after the delivery (the caller cannot tell it from one before).
            if self.rng.chance(f.server_5xx / 2.0) {
                self.stats.http_5xx += 1;
                send_failure(&id, ErrorCode::Server, Some(502), None)
            } else {
                SendOutcome {
                    id,
                    ok: true,
                    error: None,
                    http_status: Some(201),
                    retry_after_ms: None,
                    maybe_delivered: None,
                }
            }
        };
        if answered {
            let back = self.now + self.rng.uniform(20.0, 400.0);
            self.schedule(back, SimEvent::SendAnswered { outcome, process });
        }
    }

    /// A new process reports every send its (restored) policy believes is out as lost.
    fn report_lost_sends(&mut self) {
        self.out.clear();
        for id in self.policy.sending() {
            self.deliver_to_policy(Event::SendResult(send_failure(
                &id,
                ErrorCode::Closed,
                None,
                None,
            )));
        }
    }

    fn issue_call(&mut self, op: Op) {
        self.next_call += 1;
        let call = self.next_call;
        self.outstanding.push((call, op));
        self.stats.api_calls += 1;
        self.stats.calls_by_op[op_index(op)] += 1;
        let process = self.process;
        let answer = match self.transport() {
            Transport::Refused { answer_at } => (answer_at, ErrorCode::Network),
            Transport::Hung { arrives, answer_at } => {
                if let Some(at) = arrives {
                    let arrives = SimEvent::CallArrives {
                        call: 0,
                        op,
                        process,
                    };
                    self.schedule(at, arrives);
                }
                (answer_at, ErrorCode::Timeout)
            }
            Transport::Arrives { at } => {
                self.schedule(at, SimEvent::CallArrives { call, op, process });
                return;
            }
        };
        let result = failure(op, answer.1, None, None);
        self.schedule(
            answer.0,
            SimEvent::CallAnswered {
                call,
                process,
                result,
            },
        );
    }

    fn process_event(&mut self, event: SimEvent) {
        match event {
            SimEvent::Server { generation, timer } => {
                if generation == self.server.generation {
                    self.server_timer(timer);
                }
            }
            SimEvent::Deliver(report) => self.deliver_to_policy(Event::Status(report)),
            SimEvent::CallArrives { call, op, process } => {
                let result = self.server_handle(op);
                if call != 0 {
                    let back = self.now + self.rng.uniform(20.0, 400.0);
                    self.schedule(
                        back,
                        SimEvent::CallAnswered {
                            call,
                            result,
                            process,
                        },
                    );
                }
            }
            SimEvent::CallAnswered {
                call,
                result,
                process,
            } => {
                if process != self.process {
                    return; // addressed to a process that crashed
                }
                let Some(pos) = self.outstanding.iter().position(|(c, _)| *c == call) else {
                    self.violation(format!("answer to unknown call {call}"));
                    return;
                };
                self.outstanding.remove(pos);
                self.deliver_result(result);
            }
            SimEvent::AppSend => {
                if self.now < self.end {
                    self.next_send += 1;
                    let id = format!("s{}", self.next_send);
                    self.sends.insert(id.clone(), 0);
                    self.stats.sends += 1;
                    let timeout_ms = self
                        .rng
                        .chance(0.3)
                        .then(|| self.rng.uniform(10.0 * SECOND, 300.0 * SECOND));
                    self.deliver_to_policy(Event::Send { id, timeout_ms });
                    let gap = self.rng.exp(self.cfg.mean_send_interval_ms);
                    self.schedule(self.now + gap, SimEvent::AppSend);
                }
            }
            SimEvent::UserRetry => {
                if self.now < self.end {
                    if !self.server.paired || !self.server.right_phone {
                        // The user fixes pairing: logout then start shows a fresh QR.
                        self.deliver_to_policy(Event::UserLogout);
                    }
                    self.deliver_to_policy(Event::UserRetry);
                }
            }
            SimEvent::UserStart => {
                if self.now < self.end {
                    self.deliver_to_policy(Event::UserStart);
                }
            }
            SimEvent::SendArrives {
                id,
                process,
                answered,
            } => self.server_send(id, process, answered),
            SimEvent::SendAnswered { outcome, process } => {
                if process != self.process {
                    return; // the host that sent it crashed; its successor reported it lost
                }
                self.out.remove(&outcome.id);
                self.deliver_to_policy(Event::SendResult(outcome));
            }
            SimEvent::Crash => {
                if self.now < self.end {
                    self.crash();
                    let gap = self.rng.exp(self.cfg.faults.mean_crash_interval_ms);
                    self.schedule(self.now + gap, SimEvent::Crash);
                }
            }
        }
    }

    // ---- the server side -------------------------------------------------------------------

    fn set_server_status(&mut self, status: SrvStatus) {
        let old = self.server.status;
        self.server.generation += 1;
        self.server.status = status;
        if old == SrvStatus::Working && status != SrvStatus::Working {
            self.outage_since = Some(self.now);
            self.account_working_until(self.now);
            self.working_since = None;
        }
        if status == SrvStatus::Working && old != SrvStatus::Working {
            self.working_since = Some(self.now);
            if let Some(since) = self.outage_since.take() {
                let took = self.now - since;
                self.stats.recoveries += 1;
                self.stats.recovery_ms_total += took;
                self.stats.recovery_ms_max = self.stats.recovery_ms_max.max(took);
            }
        }
        self.emit_webhook();
        let generation = self.server.generation;
        let f = self.cfg.faults.clone();
        match status {
            SrvStatus::Starting => {
                self.server.stuck = self.rng.chance(f.stuck_starting);
                self.server.resends = 0;
                if self.server.stuck {
                    self.server_after(2.0 * SECOND, ServerTimer::StartingResend, generation);
                } else {
                    let boot = self.rng.uniform(2.0 * SECOND, 12.0 * SECOND);
                    self.server_after(boot, ServerTimer::BootDone, generation);
                }
            }
            SrvStatus::ScanQr => {
                self.server.qr_shown = 1;
                self.server_after(QR_FIRST_MS, ServerTimer::QrRotate, generation);
                if self.rng.chance(f.user_scans_qr) {
                    let when = self.rng.uniform(5.0 * SECOND, 150.0 * SECOND);
                    self.server_after(when, ServerTimer::Scan, generation);
                }
            }
            SrvStatus::Working => {
                let next_fault = self.rng.exp(
                    1.0 / (1.0 / f.mean_failure_interval_ms
                        + 1.0 / f.mean_unlink_interval_ms
                        + 1.0 / f.mean_flap_interval_ms),
                );
                self.server_after(next_fault, ServerTimer::WorkingFault, generation);
            }
            SrvStatus::Stopped | SrvStatus::Failed => {}
        }
    }

    fn server_after(&mut self, delay: f64, timer: ServerTimer, generation: u64) {
        self.schedule(self.now + delay, SimEvent::Server { generation, timer });
    }

    fn server_timer(&mut self, timer: ServerTimer) {
        let generation = self.server.generation;
        match timer {
            ServerTimer::BootDone => {
                let next = if self.server.paired {
                    SrvStatus::Working
                } else {
                    SrvStatus::ScanQr
                };
                self.set_server_status(next);
            }
            ServerTimer::StartingResend => {
                // WAHA re-sends STARTING every 2 s while it keeps retrying (here: for 2 min).
                self.emit_webhook();
                self.server.resends += 1;
                if self.server.resends < 60 {
                    self.server_after(2.0 * SECOND, ServerTimer::StartingResend, generation);
                }
            }
            ServerTimer::QrRotate => {
                if self.server.qr_shown >= QR_COUNT {
                    self.set_server_status(SrvStatus::Failed);
                } else {
                    self.server.qr_shown += 1;
                    self.emit_webhook(); // a new SCAN_QR_CODE for every new QR
                    self.server_after(QR_NEXT_MS, ServerTimer::QrRotate, generation);
                }
            }
            ServerTimer::Scan => {
                self.server.paired = true;
                self.server.right_phone = !self.rng.chance(self.cfg.faults.wrong_phone);
                self.set_server_status(SrvStatus::Working);
            }
            ServerTimer::FlapBack => self.set_server_status(SrvStatus::Working),
            ServerTimer::WorkingFault => {
                self.stats.faults_injected += 1;
                let f = &self.cfg.faults;
                let (fail, unlink, flap) = (
                    1.0 / f.mean_failure_interval_ms,
                    1.0 / f.mean_unlink_interval_ms,
                    1.0 / f.mean_flap_interval_ms,
                );
                let pick = self.rng.uniform(0.0, fail + unlink + flap);
                if pick < fail {
                    self.set_server_status(SrvStatus::Failed);
                } else if pick < fail + unlink {
                    self.server.paired = false;
                    self.set_server_status(SrvStatus::Failed);
                } else {
                    self.set_server_status(SrvStatus::Starting);
                    // A flap comes back on its own after a few seconds (no stuck boot).
                    self.server.generation += 1;
                    let generation = self.server.generation;
                    let back = self.rng.uniform(1.0 * SECOND, 8.0 * SECOND);
                    self.server_after(back, ServerTimer::FlapBack, generation);
                }
            }
        }
    }

    fn emit_webhook(&mut self) {
        self.server.event_seq += 1;
        self.stats.webhooks_emitted += 1;
        let mut report = StatusReport::from_status(SessionStatus::parse(self.server.status.wire()));
        report.event_id = Some(format!("evt_{:08}", self.server.event_seq));
        report.at_ms = Some(self.now);
        report.event = Some("session.status".to_string());
        let f = self.cfg.faults.clone();
        if self.rng.chance(f.webhook_loss) {
            self.stats.webhooks_lost += 1;
            return;
        }
        let copies = if self.rng.chance(f.webhook_duplicate) {
            self.stats.webhooks_duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.rng.uniform(0.0, f.webhook_delay_max_ms);
            self.schedule(
                self.now + delay,
                SimEvent::Deliver(Box::new(report.clone())),
            );
        }
    }

    fn server_handle(&mut self, op: Op) -> CallResult {
        let f = self.cfg.faults.clone();
        if self.server.burst_left > 0 || self.rng.chance(f.burst_429) {
            if self.server.burst_left == 0 {
                self.server.burst_left = f.burst_429_len;
            }
            self.server.burst_left = self.server.burst_left.saturating_sub(1);
            self.stats.http_429 += 1;
            return failure(
                op,
                ErrorCode::RateLimited,
                Some(429),
                f.burst_retry_after_ms,
            );
        }
        if matches!(op, Op::Start | Op::Restart) {
            while self
                .server
                .recent_starts
                .front()
                .is_some_and(|t| *t < self.now - f.rate_window_ms)
            {
                self.server.recent_starts.pop_front();
            }
            if self.server.recent_starts.len() >= f.rate_limit_starts {
                self.stats.http_429 += 1;
                return failure(
                    op,
                    ErrorCode::RateLimited,
                    Some(429),
                    Some(f.rate_window_ms),
                );
            }
            self.server.recent_starts.push_back(self.now);
        }
        if self.rng.chance(f.server_5xx) {
            self.stats.http_5xx += 1;
            return failure(op, ErrorCode::Server, Some(502), None);
        }
        match op {
            Op::Start => {
                if self.server.status.running() {
                    if f.start_conflict_422 {
                        return failure(op, ErrorCode::Conflict, Some(422), None);
                    }
                } else {
                    self.set_server_status(SrvStatus::Starting);
                }
            }
            Op::Restart => self.set_server_status(SrvStatus::Starting),
            Op::Stop => {
                if self.server.status != SrvStatus::Stopped {
                    self.set_server_status(SrvStatus::Stopped);
                }
            }
            Op::Logout => {
                self.server.paired = false;
                self.server.right_phone = true;
                self.set_server_status(SrvStatus::ScanQr);
            }
            Op::Me => return success(op, &self.server_me()),
            Op::Info => {}
        }
        let body = format!(
            r#"{{"name":"wawp-1","status":"{}","me":{},"config":{{"webhooks":{{}},"proxy":null}}}}"#,
            self.server.status.wire(),
            self.server_me()
        );
        success(op, &body)
    }

    /// The `me` object while WORKING and paired, else `null` (as `/me` and `info` answer).
    fn server_me(&self) -> String {
        match (
            self.server.status,
            self.server.paired,
            self.server.right_phone,
        ) {
            (SrvStatus::Working, true, true) => {
                format!(r#"{{"id":"{PHONE_JID}","pushName":"Biz"}}"#)
            }
            (SrvStatus::Working, true, false) => {
                format!(r#"{{"id":"{OTHER_PHONE_JID}","pushName":"Personal"}}"#)
            }
            _ => "null".to_string(),
        }
    }

    fn account_working_until(&mut self, until: f64) {
        if let Some(since) = self.working_since {
            self.stats.server_working_ms += (until.min(self.end) - since).max(0.0);
            self.working_since = Some(until);
        }
    }
}

fn failure(op: Op, code: ErrorCode, http: Option<u16>, retry_after_ms: Option<f64>) -> CallResult {
    CallResult {
        op,
        ok: false,
        error: Some(code),
        http_status: http,
        retry_after_ms,
        body: None,
    }
}

fn send_failure(
    id: &str,
    code: ErrorCode,
    http_status: Option<u16>,
    retry_after_ms: Option<f64>,
) -> SendOutcome {
    SendOutcome {
        id: id.to_string(),
        ok: false,
        error: Some(code),
        http_status,
        retry_after_ms,
        maybe_delivered: None,
    }
}

fn success(op: Op, body: &str) -> CallResult {
    CallResult {
        op,
        ok: true,
        error: None,
        http_status: Some(200),
        retry_after_ms: None,
        body: payload::parse(body).ok(),
    }
}

/// Runs `seeds` seeds of `hours` each with the shipped `SessionDriver` under the standard
/// profile mix ([`FaultProfile::for_seed`]) and merges the counters.
pub fn run_driver_seeds(first_seed: u64, seeds: u64, hours: f64) -> SimStats {
    let mut total = SimStats::default();
    for seed in first_seed..first_seed + seeds {
        let cfg = SimConfig::new(seed, hours, FaultProfile::for_seed(seed));
        let driver = SessionDriver::new(cfg.machine_options());
        total.merge(&Sim::new(cfg, driver).run());
    }
    total
}

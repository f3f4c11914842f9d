// The supervisor's driving rules with a scripted client (no network): one timer at the machine's
// deadline, re-entrant onEvent handlers queued, result events, failing listeners, close().

import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { ErrorCollector, pkg, waitFor } from "./helpers.mjs";

const { SessionSupervisor, WawpError } = pkg;
const errors = new ErrorCollector();

/** A client whose every call is answered from `answers[op]` (a value, an Error, or a function). */
function scriptedClient(answers) {
  const calls = [];
  const client = {};
  for (const op of ["start", "restart", "stop", "logout", "info", "me"]) {
    client[op] = async () => {
      calls.push(op);
      const answer = typeof answers[op] === "function" ? answers[op]() : answers[op];
      if (answer instanceof Error) throw answer;
      return answer;
    };
  }
  return { client, calls };
}

/** Counts live timers created while `fn` runs the supervisor (setTimeout/clearTimeout wrapped). */
function trackTimers() {
  const live = new Set();
  let peak = 0;
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = (fn, ms, ...args) => {
    const handle = realSet(() => {
      live.delete(handle);
      fn(...args);
    }, ms);
    live.add(handle);
    peak = Math.max(peak, live.size);
    return handle;
  };
  globalThis.clearTimeout = (handle) => {
    live.delete(handle);
    realClear(handle);
  };
  return {
    get live() {
      return live.size;
    },
    get peak() {
      return peak;
    },
    restore() {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}

const supervisors = [];
afterEach(() => {
  for (const s of supervisors.splice(0)) s.close();
});
const make = (opts) => {
  const s = new SessionSupervisor(opts);
  supervisors.push(s);
  return s;
};

test("exactly one timer, at the machine's next deadline, gone after close()", async () => {
  const timers = trackTimers();
  try {
    const { client } = scriptedClient({ info: { status: "STARTING" }, restart: { status: "STARTING" } });
    const supervisor = make({ client, startingTimeoutMs: 200, reconcileShortMs: 60_000, failedRestartDelayMs: 100 });
    assert.equal((await supervisor.warmBoot()).status, "STARTING");
    for (const status of ["STARTING", "SCAN_QR_CODE", "STARTING", "FAILED", "STARTING"]) supervisor.observe(status);
    assert.equal(timers.live, 1, "one live timer after many steps");
    assert.equal(timers.peak, 1, "never two timers at once");
    supervisor.close();
    assert.equal(timers.live, 0, "close() clears the timer");
  } finally {
    timers.restore();
  }
});

test("the timer fires handle(timeout): STARTING past startingTimeoutMs is restarted", async () => {
  const { client, calls } = scriptedClient({ info: { status: "STARTING" }, restart: { status: "STARTING" } });
  const events = [];
  const supervisor = make({ client, startingTimeoutMs: 150, reconcileShortMs: 60_000, onEvent: (e) => events.push(e) });
  const started = Date.now();
  await supervisor.warmBoot();
  await waitFor(() => calls.includes("restart"), { what: "watchdog restart" });
  assert.ok(Date.now() - started >= 140);
  await waitFor(() => events.some((e) => e.type === "result" && e.op === "restart" && e.ok));
});

test("onEvent may call back into the supervisor: handled after the current drain, in order", async () => {
  const { client } = scriptedClient({ info: { status: "STOPPED" }, start: { status: "STARTING" } });
  const seen = [];
  let supervisor;
  supervisor = make({
    client,
    reconcileShortMs: 60_000,
    onEvent: (e) => {
      seen.push(e.type === "ui" ? `ui:${e.status}` : e.type);
      // Re-entrant: a UI reacting to STARTING by reporting WORKING at once.
      if (e.type === "ui" && e.status === "STARTING") supervisor.observe("WORKING");
    },
  });
  const sent = supervisor.sendWhenReady(async () => "done");
  assert.equal(await sent, "done");
  const starting = seen.indexOf("ui:STARTING");
  const working = seen.indexOf("ui:WORKING");
  assert.ok(starting >= 0 && working > starting, seen.join(" "));
  // The outer event's remaining actions (its persist) ran before the re-entrant event's ones.
  const outerPersist = seen.indexOf("persist", starting);
  assert.ok(outerPersist > starting && outerPersist < working, seen.join(" "));
  assert.ok(seen.includes("release_send"));
});

test("every finished call is reported as {type:'result', op, ok, error?} and fed back to the machine", async () => {
  const { client, calls } = scriptedClient({
    info: () => new WawpError("server", "info failed: HTTP 503", { httpStatus: 503, op: "info" }),
  });
  const events = [];
  const supervisor = make({ client, onEvent: (e) => events.push(e) });
  const err = await errors.rejection(supervisor.warmBoot());
  assert.equal(err.code, "server");
  const result = events.find((e) => e.type === "result");
  assert.deepEqual(result, { type: "result", op: "info", ok: false, error: "server" });
  assert.deepEqual(calls, ["info"]);
  // The machine schedules a retry for a warm boot's failed info: the supervisor armed a timer for it.
  assert.ok(supervisor.snapshot(), "snapshot is readable");
});

test("a throwing onEvent does not break the driving", async () => {
  const { client } = scriptedClient({ info: { status: "WORKING" } });
  const supervisor = make({
    client,
    onEvent: () => {
      throw new Error("listener bug");
    },
  });
  assert.equal((await supervisor.warmBoot()).status, "WORKING");
  assert.equal(await supervisor.sendWhenReady(async () => 42), 42);
});

test("a task's own rejection reaches its caller unchanged; other sends are unaffected", async () => {
  const { client } = scriptedClient({ info: { status: "WORKING" } });
  const supervisor = make({ client });
  await supervisor.warmBoot();
  const boom = new Error("task failed");
  const [failed, ok] = await Promise.allSettled([
    supervisor.sendWhenReady(async () => {
      throw boom;
    }),
    supervisor.sendWhenReady(async () => "fine"),
  ]);
  assert.equal(failed.reason, boom);
  assert.equal(ok.value, "fine");
});

test("options are validated: client required, machine options checked by the core", () => {
  assert.equal(errors.thrown(() => new SessionSupervisor({})).code, "invalid_option");
  const { client } = scriptedClient({});
  assert.equal(errors.thrown(() => new SessionSupervisor({ client, startingTimeoutMs: -1 })).code, "invalid_option");
  assert.equal(errors.thrown(() => new SessionSupervisor({ client, onEvent: 5 })).code, "invalid_option");
});

test("all errors here are WawpErrors", () => {
  assert.ok(errors.errors.every((e) => e instanceof WawpError));
});

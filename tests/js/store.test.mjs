// The session store (pkg/src/store.js) as both sources expose it: snapshot identity (the same
// object while nothing changed, a new frozen one when something did), unsubscribe, isolated
// listener errors, forward-only message states; then SessionSupervisor's subscribe/getSnapshot
// following a real session on the simulator (real HTTP on 127.0.0.1).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { pkg, startSim, waitFor } from "./helpers.mjs";

// The store is internal; its module shares the wasm instance the entry above initialised.
const { SessionStore } = await import(new URL("../../pkg/src/store.js", import.meta.url).href);
const { WawpClient, SessionSupervisor } = pkg;

test("getSnapshot keeps its identity until a value changes, then gives a new frozen object", () => {
  const store = new SessionStore();
  const first = store.getSnapshot();
  assert.equal(store.getSnapshot(), first);
  assert.ok(Object.isFrozen(first));
  assert.equal(first.status, "UNKNOWN");
  assert.equal(first.uiAction, "inspect");

  assert.equal(store.update({ status: "UNKNOWN", qr: null }), false);
  assert.equal(store.getSnapshot(), first, "same values: same snapshot");
  // Small records compare by value: an identical re-read (fresh JSON objects) changes nothing.
  store.update({ me: { id: "1@c.us", pushName: "A" } });
  const withMe = store.getSnapshot();
  assert.notEqual(withMe, first);
  assert.equal(store.update({ me: { id: "1@c.us", pushName: "A" } }), false);
  assert.equal(store.getSnapshot(), withMe);

  assert.equal(store.update({ status: "STOPPED" }), true);
  const stopped = store.getSnapshot();
  assert.notEqual(stopped, withMe);
  assert.ok(Object.isFrozen(stopped));
  // uiAction / canSend / isRunning come from the package's decoder.
  assert.deepEqual([stopped.status, stopped.uiAction, stopped.canSend, stopped.isRunning], ["STOPPED", "start", false, false]);
  store.update({ status: "LOGOUT" });
  assert.equal(store.getSnapshot().uiAction, "scan_qr");
  store.update({ status: "WORKING" });
  assert.deepEqual([store.getSnapshot().uiAction, store.getSnapshot().canSend, store.getSnapshot().isRunning], ["connected", true, true]);
  store.update({ status: "SOMETHING_NEW" });
  assert.deepEqual([store.getSnapshot().status, store.getSnapshot().rawStatus], ["UNKNOWN", "SOMETHING_NEW"]);
  // The previous snapshots were not touched.
  assert.equal(stopped.status, "STOPPED");
  assert.throws(() => {
    "use strict";
    /** @type {any} */ (stopped).status = "WORKING";
  }, TypeError);
});

test("listeners run once per change; unsubscribe stops them; a throwing listener does not stop the others", () => {
  const store = new SessionStore();
  const calls = [];
  const unsubscribeA = store.subscribe(() => calls.push("a"));
  const unsubscribeBad = store.subscribe(() => {
    calls.push("bad");
    throw new Error("listener bug");
  });
  store.subscribe(() => calls.push("c"));
  store.update({ status: "STARTING" });
  assert.deepEqual(calls, ["a", "bad", "c"]);
  assert.equal(store.getSnapshot().status, "STARTING", "the change stands despite the failing listener");

  calls.length = 0;
  store.update({ status: "STARTING" });
  assert.deepEqual(calls, [], "no change, no call");

  unsubscribeA();
  unsubscribeA(); // idempotent
  unsubscribeBad();
  store.update({ status: "WORKING" });
  assert.deepEqual(calls, ["c"]);

  // A listener that unsubscribes another during a notification: the other is not called after.
  calls.length = 0;
  const store2 = new SessionStore();
  let stopSecond;
  store2.subscribe(() => {
    calls.push("first");
    stopSecond();
  });
  stopSecond = store2.subscribe(() => calls.push("second"));
  store2.update({ status: "STOPPED" });
  assert.deepEqual(calls, ["first"]);
  assert.throws(() => store2.subscribe(/** @type {any} */ ("nope")), TypeError);
});

test("messages: states only move forward, a full re-read keeps newer states, unchanged lists keep the snapshot", () => {
  const store = new SessionStore();
  store.message("m1", { chatId: "1@c.us", text: "hi", state: "queued", createdMs: 1 });
  const queued = store.getSnapshot();
  assert.equal(queued.messages.length, 1);
  assert.ok(Object.isFrozen(queued.messages) && Object.isFrozen(queued.messages[0]));
  store.message("m1", { state: "sent", doneMs: 2 });
  const sent = store.getSnapshot();
  assert.equal(sent.messages[0].state, "sent");
  assert.equal(sent.messages[0].text, "hi", "fields merge");
  assert.equal(store.message("m1", { state: "queued" }), false, "no way back");
  assert.equal(store.getSnapshot(), sent);
  // A list read before the send finished must not undo it.
  assert.equal(store.messages([{ id: "m1", chatId: "1@c.us", text: "hi", state: "queued", createdMs: 1 }]), false);
  assert.equal(store.getSnapshot(), sent);
  assert.equal(store.messages([{ id: "m2", chatId: "1@c.us", text: "yo", state: "rejected", code: "needs_qr", createdMs: 3 }]), true);
  assert.deepEqual(store.getSnapshot().messages.map((m) => [m.id, m.state]), [["m1", "sent"], ["m2", "rejected"]]);
  assert.equal(queued.messages.length, 1, "older snapshots keep their own list");
});

let sim;
before(async () => {
  sim = await startSim({ speed: 60, seed: 5, timings: { startingMs: 1200, restartStopMs: 300 } });
});
after(async () => sim?.close());

test("SessionSupervisor: subscribe/getSnapshot follow a real session (start-on-send, queued → sending → sent)", async () => {
  await sim.reset();
  const created = await sim.instance({ paired: true, jid: "15550001111@c.us", status: "STOPPED" });
  const client = new WawpClient({ accessToken: "sim-token", baseUrl: sim.url, instanceId: created.instance_id, retry: { baseMs: 20, capMs: 200, maxAttempts: 4 } });
  const supervisor = new SessionSupervisor({ client, startingTimeoutMs: 5000, debounceMs: 0, sendTimeoutMs: 8000, expectedJid: "15550001111@c.us" });
  try {
    const seen = [];
    const unsubscribe = supervisor.subscribe(() => seen.push(supervisor.getSnapshot()));
    assert.equal(supervisor.getSnapshot().connection, "local");
    const report = await supervisor.warmBoot();
    assert.equal(report.status, "STOPPED");
    // No webhooks here: poll `info` into observe, as a webhook-less app would.
    const poll = setInterval(() => client.info().then((info) => supervisor.observe(info), () => {}), 100);
    let result;
    try {
      const message = { chatId: "15557654321@c.us", text: "from the store test" };
      result = await supervisor.sendWhenReady(() => client.sendText(message.chatId, message.text), { message });
      await waitFor(() => supervisor.getSnapshot().me !== null, { what: "me read after WORKING" });
    } finally {
      clearInterval(poll);
    }
    assert.ok(result);
    const last = supervisor.getSnapshot();
    assert.equal(last.status, "WORKING");
    assert.equal(last.uiAction, "connected");
    assert.equal(last.identity, "match");
    assert.equal(last.me.id, "15550001111@c.us");
    assert.equal(last.queueLength, 0);
    assert.deepEqual(last.messages.map((m) => [m.state, m.text, m.chatId]), [["sent", "from the store test", "15557654321@c.us"]]);
    // Every notification carried a new snapshot; consecutive ones differ.
    for (let i = 1; i < seen.length; i += 1) assert.notEqual(seen[i], seen[i - 1]);
    const states = [...new Set(seen.flatMap((s) => s.messages.map((m) => m.state)))];
    assert.deepEqual(states, ["queued", "sending", "sent"]);
    const statuses = [...new Set(seen.map((s) => s.status))];
    assert.ok(statuses.includes("STARTING") && statuses.at(-1) === "WORKING", `statuses seen: ${statuses}`);
    unsubscribe();
    const count = seen.length;
    await supervisor.stop();
    assert.equal(seen.length, count, "no calls after unsubscribe");
    assert.notEqual(supervisor.getSnapshot(), last, "the stop changed the snapshot all the same");
  } finally {
    supervisor.close();
  }
  assert.equal(supervisor.getSnapshot().connection, "closed");
});

test("SessionSupervisor: the snapshot's QR image is read on every observed SCAN_QR_CODE and cleared once linked", async () => {
  await sim.reset();
  const created = await sim.instance({ paired: false, status: "STOPPED" });
  const client = new WawpClient({ accessToken: "sim-token", baseUrl: sim.url, instanceId: created.instance_id, retry: { baseMs: 20, capMs: 200, maxAttempts: 4 } });
  const supervisor = new SessionSupervisor({ client, startingTimeoutMs: 5000, debounceMs: 0 });
  const poll = setInterval(() => client.info().then((info) => supervisor.observe(info), () => {}), 50);
  try {
    await supervisor.warmBoot();
    await supervisor.start();
    const first = await waitFor(() => supervisor.getSnapshot().qr, { timeoutMs: 8000, what: "a QR image" });
    assert.match(first, /^data:image\/png;base64,/);
    assert.equal(supervisor.getSnapshot().uiAction, "scan_qr");
    // The simulator rotates the code; the next observed SCAN_QR_CODE reads the new image.
    await waitFor(() => supervisor.getSnapshot().qr && supervisor.getSnapshot().qr !== first, { timeoutMs: 8000, what: "a rotated QR image" });
    await sim.control("POST", `/instances/${created.instance_id}/scan`, { jid: "15550009999@c.us" });
    await waitFor(() => supervisor.getSnapshot().status === "WORKING", { timeoutMs: 8000, what: "WORKING" });
    assert.equal(supervisor.getSnapshot().qr, null);
  } finally {
    clearInterval(poll);
    supervisor.close();
  }
});

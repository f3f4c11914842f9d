// The packed package in plain Node ESM: resolved through `exports` ("node" condition), ready
// at import with no init call, real WawpError instances, and recovery from a real wasm trap.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { API_NAMES, WAHA_STATUS_BODY, packedProject } from "./packed.mjs";

const project = packedProject("node");
after(() => project.cleanup());

/** Runs an ES module in the consumer project (a fresh Node process) and returns its JSON output. */
function runModule(name, source) {
  const file = join(project.dir, name);
  writeFileSync(file, source);
  return JSON.parse(execFileSync(process.execPath, [file], { cwd: project.dir, encoding: "utf8", timeout: 20_000 }));
}

test("import * from 'wawp-session' works with no init and decodes a status", () => {
  const out = runModule(
    "basic.mjs",
    `import * as w from "wawp-session";
     const report = w.decodeStatus(${JSON.stringify(WAHA_STATUS_BODY)});
     let error;
     try { w.decodeStatus("{not json"); } catch (e) {
       error = { isWawpError: e instanceof w.WawpError, isError: e instanceof Error, code: e.code, name: e.name };
     }
     await w.init(); // a no-op in Node, kept for shared browser/server code
     console.log(JSON.stringify({
       names: Object.keys(w), report, error,
       resolved: import.meta.resolve("wawp-session"),
       wasm: import.meta.resolve("wawp-session/wasm"),
     }));`,
  );
  assert.equal(out.report.status, "WORKING");
  assert.equal(out.report.uiAction, "connected");
  assert.equal(out.report.me.id, "201001234567@c.us");
  assert.deepEqual(out.error, { isWawpError: true, isError: true, code: "invalid_payload", name: "WawpError" });
  for (const name of API_NAMES) assert.ok(out.names.includes(name), `missing export ${name}`);
  assert.deepEqual(out.names.filter((n) => n.startsWith("__")), [], "internal helpers leak");
  // The bundled Node entry (scripts/bundle-node-entry.mjs): one module plus the glue.
  assert.match(out.resolved, /\/node_modules\/wawp-session\/dist\/entry-node\.js$/);
  assert.match(out.wasm, /\/node_modules\/wawp-session\/dist\/wasm\/wawp_session_bg\.wasm$/);
});

test("a trapped instance is replaced: later calls work, old objects refuse", () => {
  // A real trap through a public call: grow the linear memory to its 4 GiB maximum (address
  // space only), so the allocation for a 4 MB string fails and Rust aborts (`unreachable`).
  // The glue module is the package's own file, reached by path; initSync() hands back the
  // live exports when the instance exists.
  const out = runModule(
    "trap.mjs",
    `import * as w from "wawp-session";
     const glue = await import(new URL("./node_modules/wawp-session/dist/wasm/wawp_session.js", import.meta.url).href);
     const before = new w.LifecycleMachine();
     const memory = glue.initSync().memory;
     memory.grow(65536 - memory.buffer.byteLength / 65536);
     let trap;
     try { w.decodeStatus("x".repeat(4_000_000)); } catch (e) { trap = e.constructor.name; }
     const status = w.decodeStatus("SCAN_QR_CODE").status;
     let code; try { w.decodeStatus("{"); } catch (e) { code = e instanceof w.WawpError && e.code; }
     let stale; try { before.status; } catch (e) { stale = e.message; }
     const machine = new w.LifecycleMachine();
     machine.handle({ type: "status", input: "WORKING" }, 1000);
     console.log(JSON.stringify({ trap, status, code, stale, fresh: machine.status }));`,
  );
  assert.equal(out.trap, "RuntimeError");
  assert.equal(out.status, "SCAN_QR_CODE");
  assert.equal(out.code, "invalid_payload", "errors are WawpError instances again after the reset");
  assert.match(out.stale, /stale object/);
  assert.equal(out.fresh, "WORKING");
});

test("a SessionSupervisor made before a trap rebuilds its machine and keeps its queue", () => {
  // Same real trap as above; the supervisor's machine belongs to the dead instance. A scripted
  // client (no network): info says STOPPED, start succeeds, then the status arrives as a webhook.
  const out = runModule(
    "trap-supervisor.mjs",
    `import * as w from "wawp-session";
     const glue = await import(new URL("./node_modules/wawp-session/dist/wasm/wawp_session.js", import.meta.url).href);
     const calls = [];
     const client = {
       info: async () => { calls.push("info"); return { status: "STOPPED" }; },
       start: async () => { calls.push("start"); return { status: "STARTING" }; },
       restart: async () => ({ status: "STARTING" }), stop: async () => ({ status: "STOPPED" }),
       logout: async () => ({ status: "SCAN_QR_CODE" }), me: async () => null,
     };
     const sup = new w.SessionSupervisor({ client });
     const sent = sup.sendWhenReady(async () => "delivered");   // queued, start in flight
     await new Promise((r) => setTimeout(r, 20));
     const memory = glue.initSync().memory;
     memory.grow(65536 - memory.buffer.byteLength / 65536);
     let trap;
     try { w.decodeStatus("x".repeat(4_000_000)); } catch (e) { trap = e.constructor.name; }
     sup.observe("WORKING");                                     // first use after the trap
     const result = await Promise.race([sent, new Promise((r) => setTimeout(() => r("timed out"), 2000))]);
     const status = sup.status;
     sup.close();
     console.log(JSON.stringify({ trap, result, status, starts: calls.filter((c) => c === "start").length }));`,
  );
  assert.equal(out.trap, "RuntimeError");
  assert.equal(out.result, "delivered", "the send queued before the trap is released after it");
  assert.equal(out.status, "WORKING");
  assert.equal(out.starts, 1);
});

test("a WawpClient across a trap: the call in flight is rejected, no unhandled rejection, later calls work", () => {
  // Same real trap as above, while an info() waits for a slow local server. The call's callbacks
  // belong to the dead instance: they must never run (the glue would refuse them with an
  // unhandled rejection, which ends Node), the call must settle, and the client must keep working.
  const out = runModule(
    "trap-client.mjs",
    `import * as w from "wawp-session";
     import { createServer } from "node:http";
     const glue = await import(new URL("./node_modules/wawp-session/dist/wasm/wawp_session.js", import.meta.url).href);
     const unhandled = [];
     process.on("unhandledRejection", (e) => unhandled.push(String(e && e.message)));
     const server = createServer((req, res) => setTimeout(() => res.writeHead(200, { "content-type": "application/json" })
       .end('{"status":"WORKING"}'), 150));
     await new Promise((r) => server.listen(0, "127.0.0.1", r));
     const client = new w.WawpClient({ accessToken: "t", instanceId: "i", baseUrl: "http://127.0.0.1:" + server.address().port });
     client.setAccessToken("t2");
     const pending = client.info().then((v) => ["ok", v.status], (e) => [e instanceof w.WawpError, e.code, e.op]);
     await new Promise((r) => setTimeout(r, 30));
     const memory = glue.initSync().memory;
     memory.grow(65536 - memory.buffer.byteLength / 65536);
     let trap;
     try { w.decodeStatus("x".repeat(4_000_000)); } catch (e) { trap = e.constructor.name; }
     const inFlight = await Promise.race([pending, new Promise((r) => setTimeout(() => r("hung"), 2000))]);
     await new Promise((r) => setTimeout(r, 300)); // the old fetch answers meanwhile
     const after = (await client.info()).status;
     server.close();
     console.log(JSON.stringify({ trap, inFlight, after, unhandled }));`,
  );
  assert.equal(out.trap, "RuntimeError");
  assert.deepEqual(out.inFlight, [true, "network", "info"]);
  assert.equal(out.after, "WORKING", "the client was rebuilt on the fresh instance");
  assert.deepEqual(out.unhandled, []);
});

test("wrong-typed arguments from plain JS never trap the instance", () => {
  // Every public function and method with values of the wrong type (numbers, objects, symbols
  // where strings belong, ...): errors are fine, a WebAssembly.RuntimeError is not — it would
  // make every live object stale.
  const out = runModule(
    "odd.mjs",
    `import * as w from "wawp-session";
     const odd = [undefined, null, 0, NaN, -1, "", "{", "[]", true, {}, [], [[]], Symbol("s"), 10n,
       () => 1, { type: "status" }, { type: "result", op: "start", ok: "yes" }, { toJSON() { throw new Error("x"); } }];
     const machine = new w.LifecycleMachine();
     const client = new w.WawpClient({ accessToken: "t", fetch: async () => new Response("{}") });
     const calls = {
       decodeStatus: (x) => w.decodeStatus(x), uiActionFor: (x) => w.uiActionFor(x),
       normalizeJid: (x) => w.normalizeJid(x), compareIdentity: (x, y) => w.compareIdentity(x, y),
       parseRetryAfter: (x, y) => w.parseRetryAfter(x, y), stability: (x, y) => w.stability(x, y),
       Backoff: (x, y) => new w.Backoff(x).next(y), LifecycleMachine: (x) => new w.LifecycleMachine(x),
       handle: (x, y) => new w.LifecycleMachine().handle(x, y), fromJSON: (x) => w.LifecycleMachine.fromJSON(x),
       RetryBudget: (x, y) => new w.RetryBudget(x, y).trySpend(x, y),
       WawpClient: (x) => new w.WawpClient(x), setAccessToken: (x) => client.setAccessToken(x),
     };
     const traps = [];
     const kinds = new Set();
     for (const [name, call] of Object.entries(calls))
       for (const x of odd) for (const y of odd) {
         try { call(x, y); } catch (e) {
           if (e instanceof WebAssembly.RuntimeError) traps.push(name);
           kinds.add(e?.constructor?.name);
         }
       }
     machine.handle({ type: "status", input: "WORKING" }, 1);
     console.log(JSON.stringify({ traps: [...new Set(traps)], kinds: [...kinds].sort(), status: machine.status }));`,
  );
  assert.deepEqual(out.traps, []);
  assert.equal(out.status, "WORKING", "an object made before the odd calls still works");
  assert.ok(out.kinds.includes("WawpError"), `error kinds: ${out.kinds}`);
});

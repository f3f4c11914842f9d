// What moving WawpClient into the wasm could break, checked on the built package: a mocked
// global fetch (hand-made answers, non-Error rejections) settles every call instead of trapping
// the instance, undici's "connection refused" on the global fetch still counts as "not sent",
// the token is read per attempt (a rotation during a call reaches its retry), and concurrent
// calls on one client do not collide on its state.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ErrorCollector, closedPort, pkg, startLocalServer } from "./helpers.mjs";

const { WawpClient, WawpError, decodeStatus } = pkg;
const TOKEN = "wasm-client-SENTINEL-1";
const ROTATED = "wasm-client-SENTINEL-2";
const FAST_RETRY = { baseMs: 5, capMs: 10, maxAttempts: 2, seed: 3 };
const errors = new ErrorCollector();
const servers = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** Settles `promise` or reports a hang (a trapped call never settles). */
function settled(promise, ms = 2000) {
  return Promise.race([
    promise.then((value) => ({ value }), (error) => ({ error: errors.record(error) })),
    new Promise((resolve) => setTimeout(() => resolve({ hung: true }), ms)),
  ]);
}

test("a mocked global fetch: hand-made answers work, odd failures are network errors, nothing traps", async () => {
  const realFetch = globalThis.fetch;
  const uncaught = [];
  const onUncaught = (error) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  try {
    const client = new WawpClient({ accessToken: TOKEN, instanceId: "i", retry: false });
    globalThis.fetch = async () => ({ status: 200, headers: new Headers({ "content-type": "application/json" }), text: async () => '{"status":"WORKING"}' });
    assert.deepEqual(await settled(client.info()), { value: { status: "WORKING" } });
    // `text()` answering the text itself, not a Promise of it (what `await` accepted before).
    globalThis.fetch = async () => ({ status: 200, headers: new Headers(), text: () => "WORKING" });
    assert.deepEqual(await settled(client.info()), { value: "WORKING" });
    for (const mock of [
      async () => {
        throw "offline"; // a string, not an Error
      },
      () => Promise.reject(undefined),
      async () => ({ status: 200 }), // no headers at all
      async () => undefined,
      async () => ({ get status() { throw new Error("hostile getter"); } }),
      async () => ({ status: 200, headers: new Headers(), text: () => Promise.reject(42) }),
    ]) {
      globalThis.fetch = mock;
      const outcome = await settled(client.info());
      assert.ok(outcome.error instanceof WawpError, `${mock}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.error.code, "network", String(mock));
    }
  } finally {
    globalThis.fetch = realFetch;
    process.off("uncaughtException", onUncaught);
  }
  assert.deepEqual(uncaught, []);
  assert.equal(decodeStatus("WORKING").status, "WORKING", "the instance is intact");
});

test("the global fetch's refused connection counts as not sent: sendText is retried", async () => {
  const port = await closedPort();
  const client = new WawpClient({ accessToken: TOKEN, instanceId: "i", baseUrl: `http://127.0.0.1:${port}`, retry: FAST_RETRY });
  const { error } = await settled(client.sendText("1@c.us", "x"));
  assert.equal(error.code, "network");
  // Only a not-sent failure may repeat a send, and the message says which kind the last one was.
  assert.match(error.message, /request not sent \(ECONNREFUSED\)/);
});

test("a token rotated during a call is the one its retry sends", async () => {
  let rotate;
  const rotated = new Promise((resolve) => (rotate = resolve));
  const s = await startLocalServer(async (req, body, res, n) => {
    if (n === 1) {
      await rotated; // answer the first attempt only after the rotation
      res.writeHead(503, { "Content-Type": "text/plain" }).end("busy");
    } else {
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":"WORKING"}');
    }
  });
  servers.push(s);
  const client = new WawpClient({ accessToken: TOKEN, instanceId: "i", baseUrl: s.url, retry: FAST_RETRY });
  const call = client.info();
  while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
  client.setAccessToken(ROTATED); // while the call is in flight: no "recursive use" error
  rotate();
  assert.equal((await call).status, "WORKING");
  assert.deepEqual(s.requests.map((r) => r.url.searchParams.get("access_token")), [TOKEN, ROTATED]);
});

test("concurrent calls on one client all settle with their own answers", async () => {
  const s = await startLocalServer((req, body, res) => {
    const chatId = JSON.parse(body).chatId;
    setTimeout(() => res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: `id-${chatId}` })), Math.random() * 20);
  });
  servers.push(s);
  const client = new WawpClient({ accessToken: TOKEN, instanceId: "i", baseUrl: s.url });
  const ids = await Promise.all(Array.from({ length: 25 }, (_, i) => client.sendText(`${i}@c.us`, "x")));
  assert.deepEqual(ids.map((r) => r.id), Array.from({ length: 25 }, (_, i) => `id-${i}@c.us`));
});

test("no error of this file carries a token", () => {
  errors.assertNoSecrets([TOKEN, ROTATED]);
});

// WawpClient over real HTTP on 127.0.0.1 against small scripted servers: request shapes of both
// flavours, non-JSON error bodies, timeouts, the retry rules (idempotent calls, create, sendText)
// and token redaction, including tokens rotated away.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ErrorCollector, closedPort, pkg, startLocalServer } from "./helpers.mjs";

const { WawpClient, WawpError } = pkg;
const errors = new ErrorCollector();
const servers = [];
after(() => Promise.all(servers.map((s) => s.close())));

// Characters that change under URL encoding, so the encoded form is checked too.
const TOKEN = "tok/SENTINEL+a7f3=9&x";
const ROTATED_TOKEN = "tok-SENTINEL-rotated-c41d";
const INSTANCE = "3EB0BCB2E3D4";
const FAST_RETRY = { baseMs: 10, capMs: 40, maxAttempts: 4, seed: 7 };
const INFO_BODY = { name: "wawp-1", status: "WORKING", me: { id: "201012345678@c.us", pushName: "A" } };

async function server(handler) {
  const s = await startLocalServer(handler);
  servers.push(s);
  return s;
}

function reply(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": typeof body === "string" ? "text/plain" : "application/json", ...headers });
  res.end(text);
}

/** Answers the n-th request (1-based) with `steps[n-1]` (the last step repeats). */
function scripted(steps) {
  return (req, body, res, n) => {
    const step = steps[Math.min(n, steps.length) - 1];
    if (step === "hang") return; // never answer: the client's timeout must fire
    reply(res, step.status, step.body ?? {}, step.headers);
  };
}

const client = (url, opts = {}) => new WawpClient({ accessToken: TOKEN, instanceId: INSTANCE, baseUrl: url, ...opts });

test("wawp flavour: credentials in the query, no API key header; injected fetch called unbound", async () => {
  const s = await server(scripted([{ status: 200, body: INFO_BODY }]));
  let receiver = "not called";
  const info = await client(s.url, {
    fetch: function (url, init) {
      "use strict";
      receiver = this;
      return fetch(url, init);
    },
  }).info();
  assert.equal(receiver, undefined, "fetch must be invoked as a plain function");
  assert.equal(info.status, "WORKING");
  const [request] = s.requests;
  assert.match(request.url.pathname, /^\/v2\/session\/info$/);
  assert.equal(request.url.searchParams.get("access_token"), TOKEN);
  assert.equal(request.url.searchParams.get("instance_id"), INSTANCE);
  assert.equal(request.headers["x-api-key"], undefined);
});

test("waha flavour: X-Api-Key header, session in the path, no token in the URL", async () => {
  const s = await server(scripted([{ status: 200, body: { name: "default", status: "STOPPED" } }]));
  await new WawpClient({ accessToken: TOKEN, flavor: "waha", session: "default", baseUrl: s.url }).info();
  const [request] = s.requests;
  assert.equal(request.headers["x-api-key"], TOKEN);
  assert.ok(request.url.pathname.startsWith("/api/sessions/default"), request.url.pathname);
  assert.ok(!request.url.href.includes(encodeURIComponent(TOKEN)) && !request.url.href.includes(TOKEN));
});

test("sendText posts chatId and message (Wawp's name for the text) as JSON", async () => {
  const s = await server(scripted([{ status: 200, body: { id: "msg-1", status: "sent" } }]));
  const sent = await client(s.url).sendText("201012345678@c.us", "hello ✓");
  assert.equal(sent.id, "msg-1");
  const [request] = s.requests;
  assert.equal(request.method, "POST");
  assert.equal(request.url.pathname, "/v2/send/text");
  assert.deepEqual(JSON.parse(request.body), { chatId: "201012345678@c.us", message: "hello ✓" });
});

test("non-JSON error bodies (HTML, XML, text) become typed WawpErrors", async () => {
  const cases = [
    { status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>", code: "server" },
    { status: 400, body: '<?xml version="1.0"?><error><code>invalid_instance</code></error>', code: "bad_request" },
    { status: 400, body: "Missing required parameter instance_id", code: "bad_request" },
    { status: 401, body: "Unauthorized", code: "unauthorized" },
    { status: 404, body: "<html>Not Found</html>", code: "not_found" },
  ];
  for (const c of cases) {
    const s = await server(scripted([{ status: c.status, body: c.body, headers: { "Content-Type": "text/html" } }]));
    const err = await errors.rejection(client(s.url, { retry: false }).info());
    assert.ok(err instanceof WawpError, `${c.status}: a WawpError`);
    assert.equal(err.code, c.code, `${c.status} ${c.body.slice(0, 20)}`);
    assert.equal(err.httpStatus, c.status);
    assert.equal(err.op, "info");
  }
});

test("timeouts: no response, and headers without a body, both end as `timeout`", async () => {
  const silent = await server(scripted(["hang"]));
  let started = Date.now();
  const noResponse = await errors.rejection(client(silent.url, { retry: false, timeoutMs: 150 }).info());
  assert.equal(noResponse.code, "timeout");
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 2000, `timed out after ${elapsed} ms`);

  const trickle = await server((req, body, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write('{"status":'); // ...and never the rest
  });
  started = Date.now();
  const noBody = await errors.rejection(client(trickle.url, { retry: false, timeoutMs: 150 }).info());
  assert.equal(noBody.code, "timeout");
  assert.ok(Date.now() - started < 2000);
});

test("idempotent calls retry 5xx with backoff until success", async () => {
  const s = await server(scripted([{ status: 503, body: "busy" }, { status: 500, body: {} }, { status: 200, body: INFO_BODY }]));
  const info = await client(s.url, { retry: FAST_RETRY }).info();
  assert.equal(info.status, "WORKING");
  assert.equal(s.requests.length, 3);
});

test("retries stop after maxAttempts and surface the last error", async () => {
  const s = await server(scripted([{ status: 503, body: "busy" }]));
  const err = await errors.rejection(client(s.url, { retry: { ...FAST_RETRY, maxAttempts: 2 } }).start());
  assert.equal(err.code, "server");
  assert.equal(s.requests.length, 3, "one try + two retries");
});

test("429 with Retry-After: the retry waits at least that long", async () => {
  const s = await server(scripted([{ status: 429, body: "slow down", headers: { "Retry-After": "1" } }, { status: 200, body: INFO_BODY }]));
  await client(s.url, { retry: FAST_RETRY }).info();
  assert.equal(s.requests.length, 2);
  const gap = s.requests[1].atMs - s.requests[0].atMs;
  assert.ok(gap >= 1000, `retried after ${gap} ms, Retry-After was 1 s`);

  const noRetry = await server(scripted([{ status: 429, body: {}, headers: { "Retry-After": "7" } }]));
  const err = await errors.rejection(client(noRetry.url, { retry: false }).info());
  assert.equal(err.code, "rate_limited");
  assert.equal(err.retryAfterMs, 7000);
});

test("create is never retried blindly (5xx, timeout)", async () => {
  const s = await server(scripted([{ status: 503, body: "busy" }]));
  const err = await errors.rejection(new WawpClient({ accessToken: TOKEN, baseUrl: s.url, retry: FAST_RETRY }).create());
  assert.equal(err.code, "server");
  assert.equal(s.requests.length, 1);
  const silent = await server(scripted(["hang"]));
  const timedOut = await errors.rejection(new WawpClient({ accessToken: TOKEN, baseUrl: silent.url, retry: FAST_RETRY, timeoutMs: 100 }).create());
  assert.equal(timedOut.code, "timeout");
  assert.equal(silent.requests.length, 1);
});

test("create adopts the new instance id", async () => {
  const s = await server(scripted([
    { status: 200, body: { instance_id: "NEWINSTANCE1", session_name: "wawp-9", server_name: "node-3", status: "STOPPED" } },
    { status: 200, body: INFO_BODY },
  ]));
  const c = new WawpClient({ accessToken: TOKEN, baseUrl: s.url });
  const created = await c.create();
  assert.equal(created.instanceId, "NEWINSTANCE1");
  assert.equal(c.instanceId, "NEWINSTANCE1");
  await c.info();
  assert.equal(s.requests[1].url.searchParams.get("instance_id"), "NEWINSTANCE1");
});

test("sendText is not retried when it may have been delivered (5xx but 503, timeout, bare TypeError)", async () => {
  const s5xx = await server(scripted([{ status: 502, body: "bad gateway" }]));
  assert.equal((await errors.rejection(client(s5xx.url, { retry: FAST_RETRY }).sendText("1@c.us", "x"))).code, "server");
  assert.equal(s5xx.requests.length, 1);

  const silent = await server(scripted(["hang"]));
  assert.equal((await errors.rejection(client(silent.url, { retry: FAST_RETRY, timeoutMs: 100 }).sendText("1@c.us", "x"))).code, "timeout");
  assert.equal(silent.requests.length, 1);

  // A browser's fetch failure: a bare TypeError, nothing says the request never left.
  let calls = 0;
  const browserLike = () => {
    calls++;
    return Promise.reject(new TypeError("Failed to fetch"));
  };
  const err = await errors.rejection(client("http://127.0.0.1:9", { retry: FAST_RETRY, fetch: browserLike }).sendText("1@c.us", "x"));
  assert.equal(err.code, "network");
  assert.equal(calls, 1);
  // ...while an idempotent call retries the same failure.
  calls = 0;
  await errors.rejection(client("http://127.0.0.1:9", { retry: FAST_RETRY, fetch: browserLike }).info());
  assert.equal(calls, 1 + FAST_RETRY.maxAttempts);
});

test("sendText is retried when non-delivery is certain: connection refused, 429, 503, 422 wrong state", async () => {
  const port = await closedPort();
  let calls = 0;
  const counting = (url, init) => {
    calls++;
    return fetch(url, init);
  };
  const refused = await errors.rejection(
    client(`http://127.0.0.1:${port}`, { retry: { ...FAST_RETRY, maxAttempts: 2 }, fetch: counting }).sendText("1@c.us", "x"),
  );
  assert.equal(refused.code, "network");
  assert.equal(calls, 3, "connection refused: retried");

  const limited = await server(scripted([{ status: 429, body: {} }, { status: 200, body: { id: "m-2" } }]));
  assert.equal((await client(limited.url, { retry: FAST_RETRY }).sendText("1@c.us", "x")).id, "m-2");
  assert.equal(limited.requests.length, 2);

  // 503: the API did not take it. The machine's delivery policy retries it too (one rule in the
  // core: http::send_not_delivered).
  const unavailable = await server(scripted([{ status: 503, body: "busy" }, { status: 200, body: { id: "m-4" } }]));
  assert.equal((await client(unavailable.url, { retry: FAST_RETRY }).sendText("1@c.us", "x")).id, "m-4");
  assert.equal(unavailable.requests.length, 2);

  const wrongState = await server(scripted([
    { status: 422, body: { code: "session_not_working", message: "Session status is not as expected" } },
    { status: 200, body: { id: "m-3" } },
  ]));
  assert.equal((await client(wrongState.url, { retry: FAST_RETRY }).sendText("1@c.us", "x")).id, "m-3");
  assert.equal(wrongState.requests.length, 2);
});

test("setAccessToken rotates without a new client", async () => {
  const s = await server((req, body, res) => {
    const token = new URL(req.url, "http://x").searchParams.get("access_token");
    reply(res, token === ROTATED_TOKEN ? 200 : 401, token === ROTATED_TOKEN ? INFO_BODY : { code: "invalid_access_token" });
  });
  const c = client(s.url);
  assert.equal((await errors.rejection(c.info())).code, "unauthorized");
  c.setAccessToken(ROTATED_TOKEN);
  assert.equal((await c.info()).status, "WORKING");
  assert.equal(s.requests.at(-1).url.searchParams.get("access_token"), ROTATED_TOKEN);
});

test("a server echoing credentials (current and rotated-away) leaks none of them into errors", async () => {
  // Echoes the raw request line (encoded token) and the decoded token, plus the API key header.
  const s = await server((req, body, res) => {
    const token = new URL(req.url, "http://x").searchParams.get("access_token");
    reply(res, 400, `bad request ${req.url} token=${token} key=${req.headers["x-api-key"]} earlier=${TOKEN}`);
  });
  const c = client(s.url, { retry: false });
  const first = await errors.rejection(c.info());
  assert.equal(first.code, "bad_request");
  c.setAccessToken(ROTATED_TOKEN);
  const second = await errors.rejection(c.stop()); // the body still names the old token
  assert.equal(second.code, "bad_request");
  const waha = new WawpClient({ accessToken: TOKEN, flavor: "waha", session: "default", baseUrl: s.url, retry: false });
  await errors.rejection(waha.info());
});

test("invalid options are `invalid_option` WawpErrors", () => {
  for (const opts of [
    { accessToken: "" },
    { accessToken: TOKEN, flavor: "other" },
    { accessToken: TOKEN, timeoutMs: -1 },
    { accessToken: TOKEN, baseUrl: "not a url" },
    { accessToken: TOKEN, retry: { baseMs: -5 } },
  ]) {
    const err = errors.thrown(() => new WawpClient(opts));
    assert.ok(err instanceof WawpError);
    assert.equal(err.code, "invalid_option", JSON.stringify(opts));
  }
});

test("no error produced in this file contains any token, raw or URL-encoded", () => {
  errors.assertNoSecrets([TOKEN, ROTATED_TOKEN]);
});

// Shared test helpers: the BUILT package, the simulator, a tiny loopback server, and the
// leaked-token check every test file runs over all the errors it produced.

import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url);
const entry = new URL("pkg/src/entry-node.js", repo);

/** The package as users get it in Node: the entry point once it exists, else the glue + drivers. */
async function loadPackage() {
  if (existsSync(fileURLToPath(entry))) return import(entry.href);
  const glue = await import(new URL("pkg/dist/wasm/wawp_session.js", repo).href);
  glue.initSync({ module: readFileSync(new URL("pkg/dist/wasm/wawp_session_bg.wasm", repo)) });
  const { WawpError } = await import(new URL("pkg/src/error.js", repo).href);
  glue.__setErrorClass(WawpError);
  return {
    ...glue,
    WawpError,
    ...(await import(new URL("pkg/src/client.js", repo).href)),
    ...(await import(new URL("pkg/src/supervisor.js", repo).href)),
    ...(await import(new URL("pkg/src/webhook.js", repo).href)),
  };
}

export const pkg = await loadPackage();

/** Starts the simulator on 127.0.0.1 (fast clock by default). */
export async function startSim(opts = {}) {
  const { startSimulator } = await import(new URL("sim/server.mjs", repo).href);
  const sim = await startSimulator({ port: 0, speed: 60, seed: 1, flavor: "wawp", ...opts });
  const control = async (method, path, body) => {
    const response = await fetch(`${sim.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `sim control ${method} ${path} → ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    url: sim.url,
    close: () => sim.close(),
    control,
    log: () => control("GET", "/log"),
    instance: (body) => control("POST", "/instances", body),
    faults: (body) => control("POST", "/faults", body),
    reset: () => control("POST", "/reset"),
  };
}

/**
 * A loopback HTTP server whose every request is answered by `handler(req, body, res)`;
 * `requests` records `{method, url, headers, body, atMs}`.
 */
export async function startLocalServer(handler) {
  const requests = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push({ method: req.method, url: new URL(req.url, "http://127.0.0.1"), headers: req.headers, body, atMs: Date.now() });
      handler(req, body, res, requests.length);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Collects every error a test file produces, so one final test can prove no secret leaked
 * into any of them.
 */
export class ErrorCollector {
  errors = [];

  /** Awaits `promise`, which must reject; records and returns the error. */
  async rejection(promise) {
    try {
      await promise;
    } catch (err) {
      this.errors.push(err);
      return err;
    }
    assert.fail("expected a rejection");
  }

  /** Runs `fn`, which must throw synchronously; records and returns the error. */
  thrown(fn) {
    try {
      fn();
    } catch (err) {
      this.errors.push(err);
      return err;
    }
    assert.fail("expected a throw");
  }

  record(err) {
    this.errors.push(err);
    return err;
  }

  /** Every string reachable from each error (message, stack, own properties, JSON) lacks every secret. */
  assertNoSecrets(secrets) {
    assert.ok(this.errors.length > 0, "no errors were collected");
    for (const err of this.errors) {
      const texts = [String(err), JSON.stringify(err) ?? ""];
      if (err && typeof err === "object") {
        for (const key of Object.getOwnPropertyNames(err)) texts.push(String(err[key]));
        texts.push(String(err.stack), String(err.message));
      }
      for (const secret of secrets) {
        for (const text of texts) {
          assert.ok(!text.includes(secret), `a secret leaked into a ${err?.code ?? "?"} error: ${text.slice(0, 200)}`);
          assert.ok(!text.includes(encodeURIComponent(secret)), `an encoded secret leaked into a ${err?.code ?? "?"} error`);
        }
      }
    }
  }
}

/** Polls `predicate` every 10 ms until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(predicate, { timeoutMs = 5000, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

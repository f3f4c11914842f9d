// Shared helpers for the simulator tests (not a test file itself).
import { createServer } from "node:http";
import pngjs from "pngjs";
import { startSimulator } from "../server.mjs";

const { PNG } = pngjs;

export const TOKEN = "sim-token";

/** A simulator at high speed; timings default to values that keep each status long enough to inspect. */
export async function startSim(opts = {}) {
  return startSimulator({ port: 0, speed: 100, seed: 7, token: TOKEN, ...opts });
}

export async function request(sim, path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    init.headers["content-type"] ??= "application/json";
  }
  const res = await fetch(sim.url + path, init);
  const raw = Buffer.from(await res.arrayBuffer());
  const text = raw.toString("utf8");
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, raw, text, json };
}

/** A Wawp v2 call with credentials in the query string. */
export function wawp(sim, path, instanceId, { method = "POST", body, query = {} } = {}) {
  const params = new URLSearchParams({ access_token: TOKEN, ...query });
  if (instanceId) params.set("instance_id", instanceId);
  return request(sim, `${path}?${params}`, { method, body });
}

/** A WAHA call with X-Api-Key. */
export function waha(sim, path, { method = "GET", body, headers = {} } = {}) {
  return request(sim, path, { method, body, headers: { "x-api-key": TOKEN, ...headers } });
}

export async function control(sim, path, body, method = body === undefined ? "GET" : "POST") {
  const res = await request(sim, `/__sim${path}`, { method, body });
  return res.json;
}

export async function waitFor(what, check, { timeoutMs = 5000, intervalMs = 5 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function statusOf(sim, id) {
  return (await control(sim, `/instances/${id}`)).status;
}

export function waitStatus(sim, id, status, opts) {
  return waitFor(`${id} to be ${status}`, async () => (await statusOf(sim, id)) === status, opts);
}

/**
 * A webhook receiver on 127.0.0.1. `respond(n)` gives the HTTP status for the n-th request (0-based).
 * Keeps every request's exact raw body and headers.
 */
export async function startReceiver(respond = () => 200) {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const entry = { at: Date.now(), headers: req.headers, raw, json: JSON.parse(raw.toString("utf8")) };
      const status = respond(received.length, entry);
      received.push(entry);
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received,
    close: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  };
}

/** A PNG as RGBA pixels (pngjs checks the signature and every chunk CRC): {width, height, colorType, data}. */
export function decodePng(png) {
  const image = PNG.sync.read(png);
  return { width: image.width, height: image.height, colorType: image.colorType, data: new Uint8ClampedArray(image.data) };
}

export function dataUrlPng(dataUrl) {
  const prefix = "data:image/png;base64,";
  if (!dataUrl.startsWith(prefix)) throw new Error("not a PNG data URL");
  return Buffer.from(dataUrl.slice(prefix.length), "base64");
}

// Shared helpers for the simulator tests (not a test file itself).
import { createServer } from "node:http";
import { inflateSync } from "node:zlib";
import { startSimulator } from "../server.mjs";

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

/** Bitwise CRC-32 (no table), independent of the simulator's implementation. */
export function crc32Bitwise(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Parses a PNG strictly enough for our writer's output: signature, chunk CRCs, IHDR, IDAT inflate,
 * filter bytes. Returns {width, height, bitDepth, colourType, chunks, grey: Uint8Array}.
 */
export function decodePng(png) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => png[i] === b)) throw new Error("bad PNG signature");
  let offset = 8;
  const chunks = [];
  const idat = [];
  let header = null;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("ascii", offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    if (crc !== crc32Bitwise(png.subarray(offset + 4, offset + 8 + length))) throw new Error(`bad CRC in ${type}`);
    chunks.push(type);
    if (type === "IHDR") {
      header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), bitDepth: data[8], colourType: data[9], interlace: data[12] };
    }
    if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  if (!header) throw new Error("no IHDR");
  const raw = inflateSync(Buffer.concat(idat));
  const { width, height } = header;
  if (raw.length !== (width + 1) * height) throw new Error(`inflated ${raw.length} bytes, expected ${(width + 1) * height}`);
  const grey = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (width + 1)] !== 0) throw new Error("unexpected filter type");
    grey.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { ...header, chunks, grey };
}

/** RGBA for jsQR from a greyscale PNG decode. */
export function rgba({ width, height, grey }) {
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < grey.length; i++) out.set([grey[i], grey[i], grey[i], 255], i * 4);
  return out;
}

export function dataUrlPng(dataUrl) {
  const prefix = "data:image/png;base64,";
  if (!dataUrl.startsWith(prefix)) throw new Error("not a PNG data URL");
  return Buffer.from(dataUrl.slice(prefix.length), "base64");
}

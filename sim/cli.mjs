#!/usr/bin/env node
// Command line: npm run sim -- --port 8080 --speed 60 --seed 1 --flavor waha --webhook-url http://127.0.0.1:9000/hook
import { parseArgs } from "node:util";
import { startSimulator } from "./server.mjs";

const USAGE = `usage: npm run sim -- [--port <p>] [--speed <x>] [--seed <n>] [--token <t>] [--flavor wawp|waha]
       [--waha-tier plus|core] [--waha-version <yyyy.m.p>]
       [--webhook-url <u>] [--webhook-shape waha|wawp] [--hmac-key <k>] [--max-instances <n>]
       [--starting-ms <ms>] [--first-qr-ms <ms>] [--next-qr-ms <ms>] [--qr-count <n>] [--verbose]`;

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      speed: { type: "string", default: "1" },
      seed: { type: "string" },
      token: { type: "string", default: "sim-token" },
      flavor: { type: "string", default: "wawp" },
      "waha-tier": { type: "string" },
      "waha-version": { type: "string" },
      "webhook-url": { type: "string", multiple: true },
      "webhook-shape": { type: "string", default: "waha" },
      "hmac-key": { type: "string" },
      "max-instances": { type: "string" },
      "starting-ms": { type: "string" },
      "first-qr-ms": { type: "string" },
      "next-qr-ms": { type: "string" },
      "qr-count": { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }));
} catch (err) {
  fail(err.message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const number = (name) => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number`);
  return n;
};
const timings = {};
for (const [flag, key] of [["starting-ms", "startingMs"], ["first-qr-ms", "firstQrMs"], ["next-qr-ms", "nextQrMs"], ["qr-count", "qrCount"]]) {
  const n = number(flag);
  if (n !== undefined) timings[key] = n;
}

let sim;
try {
  sim = await startSimulator({
    port: number("port"),
    speed: number("speed"),
    seed: values.seed,
    token: values.token,
    flavor: values.flavor,
    wahaTier: values["waha-tier"],
    wahaVersion: values["waha-version"],
    maxInstances: number("max-instances"),
    timings,
    webhooks: (values["webhook-url"] ?? []).map((url) => ({ url, shape: values["webhook-shape"], hmacKey: values["hmac-key"] })),
    onRequest: values.verbose
      ? (e) => console.log(`${new Date(e.t).toISOString()} ${e.method} ${e.path} op=${e.op} instance=${e.instanceId ?? "-"} -> ${e.httpStatus} ${e.outcome}`)
      : undefined,
  });
} catch (err) {
  fail(err.message);
}
console.log(sim.url);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sim.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

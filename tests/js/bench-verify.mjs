// Cost of one webhook signature check: the package's verifyWebhook (WebCrypto) versus an HMAC
// compiled into wasm (RustCrypto `hmac` + `sha2`). Not part of CI; run by hand:
//   node tests/js/bench-verify.mjs
//   HMAC_WASM_PROBE=/path/to/hmac_probe.js node tests/js/bench-verify.mjs
// The probe is a wasm-bindgen (--target web) module exporting
// `verifyHmac(sha512: bool, key: Uint8Array, body: Uint8Array, givenHex: string): boolean`.

import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { pkg } from "./helpers.mjs";

const KEY = "my-secret-key";
const ROUNDS = Number(process.env.ROUNDS ?? 5000);
const bodies = {
  "57 B (WAHA vector)": '{"event":"message","session":"default","engine":"WEBJS"}',
  "1 KiB": JSON.stringify({ event: "session.status", payload: { status: "WORKING", pad: "x".repeat(960) } }),
  "16 KiB": JSON.stringify({ event: "message", payload: { body: "y".repeat(16 * 1024 - 40) } }),
};

async function timePerCall(fn) {
  for (let i = 0; i < 200; i++) await fn(); // warm up JIT and crypto
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await fn();
  return Number(process.hrtime.bigint() - started) / 1000 / ROUNDS; // µs
}

let probe;
if (process.env.HMAC_WASM_PROBE) {
  probe = await import(process.env.HMAC_WASM_PROBE);
  probe.initSync({ module: readFileSync(process.env.HMAC_WASM_PROBE.replace(/\.js$/, "_bg.wasm")) });
}

const encoder = new TextEncoder();
console.log(`node ${process.version}, ${ROUNDS} calls each, µs per call`);
for (const [label, body] of Object.entries(bodies)) {
  const sha512 = createHmac("sha512", KEY).update(body).digest("hex");
  const sha256 = createHmac("sha256", KEY).update(body).digest("hex");
  const bytes = encoder.encode(body);
  const keyBytes = encoder.encode(KEY);
  const row = {
    "webcrypto sha512": await timePerCall(() => pkg.verifyWebhook(body, { "x-webhook-hmac": sha512 }, KEY)),
    "webcrypto sha256": await timePerCall(() => pkg.verifyWebhook(body, { "x-wawp-signature": sha256 }, KEY)),
  };
  if (probe) {
    if (!probe.verifyHmac(true, keyBytes, bytes, sha512)) throw new Error("wasm probe disagrees");
    row["wasm sha512"] = await timePerCall(() => probe.verifyHmac(true, keyBytes, encoder.encode(body), sha512));
    row["wasm sha256"] = await timePerCall(() => probe.verifyHmac(false, keyBytes, encoder.encode(body), sha256));
  }
  console.log(label.padEnd(20), Object.entries(row).map(([k, v]) => `${k}: ${v.toFixed(1)}`).join("  "));
}

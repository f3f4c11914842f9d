// Cost of one webhook signature check: the package's verifyWebhook (WebCrypto) versus an HMAC
// compiled into wasm (RustCrypto `hmac` 0.12 + `sha2` 0.10). Not part of CI; run by hand:
//   node tests/js/bench-verify.mjs           WebCrypto only
//   node tests/js/bench-verify.mjs --wasm    also builds the wasm probe below (cargo, wasm32 target,
//                                            wasm-bindgen CLI; crates from the registry) and reports
//                                            its size: with HMAC vs the same module without it
//   node tests/js/bench-verify.mjs --workerd also times importKey+sign+compare inside workerd (miniflare);
//                                            workerd freezes its clocks during a request, so the time
//                                            is taken around one request doing ROUNDS verifications
// ROUNDS=n sets the calls per measurement (default 5000).

import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pkg } from "./helpers.mjs";

const KEY = "my-secret-key";
const ROUNDS = Number(process.env.ROUNDS ?? 5000);
const bodies = {
  "57 B (WAHA vector)": '{"event":"message","session":"default","engine":"WEBJS"}',
  "1 KiB": JSON.stringify({ event: "session.status", payload: { status: "WORKING", pad: "x".repeat(960) } }),
  "16 KiB": JSON.stringify({ event: "message", payload: { body: "y".repeat(16 * 1024 - 40) } }),
};

const PROBE_CARGO = `[package]
name = "hmac_probe"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[features]
baseline = []

[dependencies]
hmac = "0.12"
sha2 = { version = "0.10", default-features = false }
wasm-bindgen = "=0.2.130"

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
strip = "debuginfo"
`;

// With feature "baseline" the same export skips the HMAC, so the size difference is what
// compiling HMAC-SHA256 + HMAC-SHA512 into the package would add.
const PROBE_LIB = `use wasm_bindgen::prelude::*;

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[wasm_bindgen(js_name = verifyHmac)]
pub fn verify_hmac(sha512: bool, key: &[u8], body: &[u8], given_hex: &str) -> bool {
    #[cfg(feature = "baseline")]
    let expected = { let _ = (sha512, key); hex(body) };
    #[cfg(not(feature = "baseline"))]
    let expected = {
        use hmac::{Hmac, Mac};
        if sha512 {
            let Ok(mut mac) = Hmac::<sha2::Sha512>::new_from_slice(key) else { return false };
            mac.update(body);
            hex(&mac.finalize().into_bytes())
        } else {
            let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else { return false };
            mac.update(body);
            hex(&mac.finalize().into_bytes())
        }
    };
    expected.len() == given_hex.len()
        && expected.bytes().zip(given_hex.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
`;

/** Builds the probe (with or without HMAC) like scripts/build.sh builds the package; returns the glue path. */
function buildProbe(dir, baseline) {
  const target = join(dir, baseline ? "target-baseline" : "target");
  const out = join(dir, baseline ? "out-baseline" : "out");
  const features = baseline ? ["--features", "baseline"] : [];
  execFileSync("cargo", ["build", "--quiet", "--release", "--target", "wasm32-unknown-unknown", ...features], {
    cwd: dir,
    env: { ...process.env, CARGO_TARGET_DIR: target },
    stdio: "inherit",
  });
  execFileSync("wasm-bindgen", ["--target", "web", "--out-dir", out, "--remove-name-section", "--remove-producers-section",
    join(target, "wasm32-unknown-unknown/release/hmac_probe.wasm")]);
  const wasm = join(out, "hmac_probe_bg.wasm");
  const wasmOpt = new URL("../../node_modules/.bin/wasm-opt", import.meta.url).pathname;
  execFileSync(wasmOpt, ["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext",
    "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue", wasm, "-o", wasm]);
  const bytes = readFileSync(wasm);
  return { glue: join(out, "hmac_probe.js"), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

async function timePerCall(fn) {
  for (let i = 0; i < 200; i++) await fn(); // warm up JIT and crypto
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await fn();
  return Number(process.hrtime.bigint() - started) / 1000 / ROUNDS; // µs
}

let probe;
if (process.argv.includes("--wasm")) {
  const dir = join(tmpdir(), "wawp-hmac-probe");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "Cargo.toml"), PROBE_CARGO);
  writeFileSync(join(dir, "src/lib.rs"), PROBE_LIB);
  const withHmac = buildProbe(dir, false);
  const baseline = buildProbe(dir, true);
  console.log(`wasm probe with HMAC: ${withHmac.raw} B raw, ${withHmac.gzip} B gzip; without: ${baseline.raw} B raw, ${baseline.gzip} B gzip`);
  console.log(`=> compiling HMAC-SHA256/512 in adds ${withHmac.raw - baseline.raw} B raw, ${withHmac.gzip - baseline.gzip} B gzip`);
  probe = await import(withHmac.glue);
  probe.initSync({ module: readFileSync(withHmac.glue.replace(/\.js$/, "_bg.wasm")) });
}

const encoder = new TextEncoder();
console.log(`node ${process.version}, ${ROUNDS} calls each, µs per call`);
for (const [label, body] of Object.entries(bodies)) {
  const sha512 = createHmac("sha512", KEY).update(body).digest("hex");
  const sha256 = createHmac("sha256", KEY).update(body).digest("hex");
  const keyBytes = encoder.encode(KEY);
  const row = {
    "webcrypto sha512": await timePerCall(() => pkg.verifyWebhook(body, { "x-webhook-hmac": sha512 }, KEY)),
    "webcrypto sha256": await timePerCall(() => pkg.verifyWebhook(body, { "x-wawp-signature": sha256 }, KEY)),
  };
  if (probe) {
    if (!probe.verifyHmac(true, keyBytes, encoder.encode(body), sha512)) throw new Error("the wasm probe disagrees");
    row["wasm sha512"] = await timePerCall(() => probe.verifyHmac(true, keyBytes, encoder.encode(body), sha512));
    row["wasm sha256"] = await timePerCall(() => probe.verifyHmac(false, keyBytes, encoder.encode(body), sha256));
  }
  console.log(label.padEnd(20), Object.entries(row).map(([k, v]) => `${k}: ${v.toFixed(1)}`).join("  "));
}

if (process.argv.includes("--workerd")) {
  const { Miniflare } = await import("miniflare");
  const digest = createHmac("sha512", KEY).update(bodies["57 B (WAHA vector)"]).digest("hex");
  const script = `export default { async fetch(request) {
    const rounds = Number(new URL(request.url).searchParams.get("n"));
    const enc = new TextEncoder();
    const body = enc.encode(${JSON.stringify(bodies["57 B (WAHA vector)"])});
    let ok = 0;
    for (let i = 0; i < rounds; i++) {
      const key = await crypto.subtle.importKey("raw", enc.encode(${JSON.stringify(KEY)}), { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
      let hex = ""; for (const b of mac) hex += b.toString(16).padStart(2, "0");
      if (hex === ${JSON.stringify(digest)}) ok++;
    }
    return new Response(String(ok));
  } }`;
  const mf = new Miniflare({ modules: true, script, compatibilityDate: "2026-04-01" });
  try {
    const url = await mf.ready;
    const run = async (n) => {
      const started = process.hrtime.bigint();
      const ok = Number(await (await mf.dispatchFetch(`${url}?n=${n}`)).text());
      if (ok !== n) throw new Error("workerd computed a different HMAC");
      return Number(process.hrtime.bigint() - started) / 1000;
    };
    await run(200);
    const one = await run(1); // the request overhead, subtracted below
    const many = await run(ROUNDS);
    console.log(`workerd: webcrypto sha512 ${((many - one) / (ROUNDS - 1)).toFixed(1)} µs per verify (57 B body)`);
  } finally {
    await mf.dispose();
  }
}

// Builds and runs the simulated-time Rust benchmarks (bench/fleet, its own workspace and target dir).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./package.mjs";

export const CRATE = join(ROOT, "bench", "fleet");

export function buildRustBench() {
  execFileSync("cargo", ["build", "--release", "--quiet"], { cwd: CRATE, stdio: ["ignore", "inherit", "inherit"] });
}

/** Runs one binary and parses its stdout as JSON lines. */
export function runRustBench(bin, args, timeoutMs = 300_000) {
  const out = execFileSync(join(CRATE, "target", "release", bin), args, { cwd: CRATE, encoding: "utf8",
    timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] });
  return out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

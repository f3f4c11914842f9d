// The release issue 13's budgets compare against (commit 44db905), built once with its own
// scripts/build.sh into a cache folder outside the repository, keyed by the full commit id.
// The tree comes from `git archive` (no worktree entry in the user's .git), node_modules is a
// link to this checkout's (same binaryen and esbuild pins at both commits), and cargo writes to
// the folder's own target dir, so nothing in this checkout is touched.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./package.mjs";

export const BASELINE_COMMIT = "44db905";

/** Thrown when the baseline cannot exist in this clone: the section says "not measured" and why. */
export class BaselineUnavailable extends Error {}

function git(args, options = {}) {
  return execFileSync("git", args, { cwd: ROOT, maxBuffer: 512 * 1024 * 1024, ...options });
}

/** The full id of the baseline commit, or BaselineUnavailable (a shallow clone lacks it). */
export function baselineCommit(commit = BASELINE_COMMIT) {
  try {
    return git(["rev-parse", "--verify", "--quiet", `${commit}^{commit}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    let shallow = "";
    try {
      shallow = git(["rev-parse", "--is-shallow-repository"], { encoding: "utf8" }).trim() === "true" ? " (this clone is shallow: `git fetch --unshallow` brings it)" : "";
    } catch { /* not a git checkout at all */ }
    throw new BaselineUnavailable(`commit ${commit} is not in this clone${shallow}`);
  }
}

/**
 * The baseline's root folder with pkg/dist built: from the cache when a previous run finished it,
 * else extracted and built now (a few minutes: a release cargo build of that tree).
 */
export function baselineTree({ log = () => {}, commit = BASELINE_COMMIT } = {}) {
  const full = baselineCommit(commit);
  const dir = join(tmpdir(), `wawp-session-baseline-${full}`);
  const stamp = join(dir, ".built");
  const wasm = join(dir, "pkg", "dist", "wasm", "wawp_session_bg.wasm");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === full && existsSync(wasm)) {
    log(`baseline ${full.slice(0, 7)}: cached build in ${dir}`);
    return { dir, commit: full, cached: true };
  }
  log(`baseline ${full.slice(0, 7)}: extracting and building in ${dir} (once; cached afterwards)`);
  // Built beside the final folder and renamed at the end: an interrupted build leaves no half tree.
  const stage = `${dir}.partial`;
  rmSync(stage, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  execFileSync("tar", ["-x", "-C", stage], { input: git(["archive", "--format=tar", full]) });
  symlinkSync(join(ROOT, "node_modules"), join(stage, "node_modules"), "dir");
  try {
    execFileSync("bash", ["scripts/build.sh"], { cwd: stage, env: { ...process.env, CARGO_TARGET_DIR: join(stage, "target") },
      stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    throw new Error(`building ${full.slice(0, 7)} failed: ${String(e.stderr ?? e.message).trim().split("\n").slice(-3).join(" / ")}`);
  }
  writeFileSync(join(stage, ".built"), `${full}\n`);
  renameSync(stage, dir);
  return { dir, commit: full, cached: false };
}

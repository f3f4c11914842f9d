// Shared by the packaging tests: the package exactly as npm would publish it (`npm pack` of
// pkg/, so the `files` list is tested too), unpacked into a temp project's node_modules.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import ts from "typescript";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = fileURLToPath(new URL("../../", import.meta.url));
export const repoModules = join(repo, "node_modules");

/** A temp project with `node_modules/wawp-session` from `npm pack pkg/`; `cleanup()` removes it. */
export function packedProject(prefix) {
  const wasm = join(repo, "pkg/dist/wasm/wawp_session_bg.wasm");
  if (!existsSync(wasm)) throw new Error("pkg/dist/wasm is missing: run `npm run build` first");
  const dir = mkdtempSync(join(tmpdir(), `wawp-${prefix}-`));
  const [{ filename }] = JSON.parse(
    execFileSync("npm", ["pack", join(repo, "pkg"), "--pack-destination", dir, "--json", "--silent"], {
      encoding: "utf8",
    }),
  );
  const target = join(dir, "node_modules/wawp-session");
  mkdirSync(target, { recursive: true });
  execFileSync("tar", ["-xzf", join(dir, filename), "-C", target, "--strip-components=1"]);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every name of the public JS contract (API.md). */
export const API_NAMES = [
  "decodeStatus", "uiActionFor", "normalizeJid", "compareIdentity", "parseRetryAfter",
  "verifyWebhook", "parseWebhook", "parseWebhooks", "Backoff", "WawpClient", "WawpError",
  "LifecycleMachine", "SessionSupervisor", "stability", "init", "mintInstanceToken", "verifyInstanceToken",
];

/** A WAHA `session.status` webhook body, as JSON text. */
export const WAHA_STATUS_BODY = JSON.stringify({
  event: "session.status",
  session: "default",
  payload: { status: "WORKING" },
  me: { id: "201001234567@c.us", pushName: "Shop" },
  timestamp: 1_700_000_000_000,
  id: "evt_1",
});

/** A strict TypeScript program over `source` written as consumer.ts in a packed project. */
export function consumerProgram(dir, source) {
  const file = join(dir, "consumer.ts");
  writeFileSync(file, source);
  return ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.esnext.disposable.d.ts"],
    types: [], skipLibCheck: false,
  });
}

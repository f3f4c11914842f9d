// Bundles the worker for workerd with esbuild: `wawp-session` resolves to the repository's
// package (`../pkg`) through its `workerd` export condition, and the package's `.wasm` stays a
// separate module (a CompiledWasm module in workerd, which the package's workerd entry imports and
// `initSync`s). Used by `dev.mjs`; `wrangler deploy` does the same with its own bundler.

import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const EDGE_DIR = dirname(fileURLToPath(import.meta.url));
export const PKG_DIR = resolve(EDGE_DIR, "../pkg");
const CONDITIONS = ["workerd", "worker", "browser", "import", "default"];

/** The file a package `exports` target resolves to under `CONDITIONS` (first match wins). */
function pickExport(target) {
  if (typeof target === "string") return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const picked = pickExport(item);
      if (picked) return picked;
    }
    return null;
  }
  if (target && typeof target === "object") {
    for (const condition of CONDITIONS) {
      if (condition in target) {
        const picked = pickExport(target[condition]);
        if (picked) return picked;
      }
    }
  }
  return null;
}

export async function packageWorkerdEntry() {
  const manifest = JSON.parse(await readFile(join(PKG_DIR, "package.json"), "utf8"));
  const exportsField = manifest.exports;
  const root = exportsField && typeof exportsField === "object" && "." in exportsField ? exportsField["."] : exportsField;
  const entry = pickExport(root) ?? manifest.module ?? manifest.main;
  if (!entry) throw new Error("pkg/package.json has no entry for the workerd condition");
  return resolve(PKG_DIR, entry);
}

/**
 * @param {{ testHooks?: boolean }} [options] testHooks: the test-only entry (test-hooks/entry.js:
 *   parse counts, old storage layouts); never in a deployment.
 * @returns {Promise<{ script: string, wasmModules: { name: string, path: string }[] }>}
 *   the bundled worker (ES module text) and the `.wasm` files it imports as `./<name>`.
 */
export async function bundleWorker({ testHooks = false } = {}) {
  const entry = await packageWorkerdEntry();
  const wasmModules = new Map();
  const result = await build({
    entryPoints: [join(EDGE_DIR, testHooks ? "test-hooks/entry.js" : "src/worker.js")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "silent",
    plugins: [
      {
        name: "wawp-session-and-wasm",
        setup(b) {
          b.onResolve({ filter: /^wawp-session$/ }, () => ({ path: entry }));
          b.onResolve({ filter: /\.wasm(\?module)?$/ }, (args) => {
            const path = resolve(args.resolveDir, args.path.replace(/\?module$/, ""));
            const name = basename(path);
            wasmModules.set(name, path);
            return { path: `./${name}`, external: true };
          });
        },
      },
    ],
  });
  const [output] = result.outputFiles;
  return {
    script: output.text,
    wasmModules: [...wasmModules].map(([name, path]) => ({ name, path })),
  };
}

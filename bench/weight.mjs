// Item 1: bytes a user ships. Our wasm (raw / gzip -9 / brotli 11) plus the JS glue and driver of
// each entry point bundled with esbuild (minified, wasm left external and counted separately),
// against the XState v5 + p-retry stack bundled and minified the same way.
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { ROOT, PKG } from "./lib/package.mjs";
import { table, ratio } from "./lib/stats.mjs";

export function sizesOf(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

export async function bundle(entry, { platform = "neutral", conditions = [], root = ROOT } = {}) {
  const input = typeof entry === "string" ? { entryPoints: [entry] } : { stdin: { ...entry, resolveDir: root } };
  const result = await build({
    ...input, bundle: true, minify: true, format: "esm", write: false, platform, conditions,
    external: ["*.wasm", "node:*"], logLevel: "silent", define: { "process.env.NODE_ENV": '"production"' }, absWorkingDir: root, mainFields: ["module", "main"],
  });
  return sizesOf(Buffer.from(result.outputFiles[0].contents));
}

/** Our entry points: every pkg/src/entry-*.js, with the runtime each one targets (`pkg`: another tree's). */
export function ourEntries(pkg = PKG) {
  const dir = join(pkg, "src");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => /^entry-.*\.js$/.test(n)).sort().map((name) => {
    const target = name.replace(/^entry-|\.js$/g, "");
    const platform = target === "node" ? "node" : target === "workerd" ? "neutral" : "browser";
    const conditions = target === "workerd" ? ["workerd", "worker"] : target === "node" ? ["node"] : ["browser"];
    return { name, target, file: join(dir, name), platform, conditions };
  });
}

export function wasmFiles(pkg = PKG) {
  const dir = join(pkg, "dist", "wasm");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith(".wasm")).map((n) => join(dir, n)).filter((f) => statSync(f).isFile());
}

/**
 * What a user ships per entry of the package in `pkg` (this tree's by default, or another
 * checkout's, `root`): the wasm, and each entry's JS bundled the same way, alone and with the wasm.
 * Null when the package is not built.
 */
export async function packageWeight(pkg = PKG, root = ROOT) {
  const files = wasmFiles(pkg);
  if (files.length === 0) return null;
  const wasm = sizesOf(Buffer.concat(files.map((f) => readFileSync(f))));
  const entries = {};
  for (const entry of ourEntries(pkg)) {
    try {
      const js = await bundle(entry.file, { ...entry, root });
      entries[entry.name] = { js, total: { raw: js.raw + wasm.raw, gzip: js.gzip + wasm.gzip, brotli: js.brotli + wasm.brotli } };
    } catch (e) {
      entries[entry.name] = { error: String(e.message).split("\n")[0] };
    }
  }
  return { wasm, files: files.map((f) => f.slice(pkg.length + 1)), entries };
}

const kb = (n) => (n / 1024).toFixed(1);
const row = (label, s) => [label, s.raw.toLocaleString("en-US"), s.gzip.toLocaleString("en-US"), s.brotli.toLocaleString("en-US")];

export async function run({ log }) {
  {
    // the libraries alone: what a team imports before writing a line of lifecycle code
    const libsOnly = { contents: 'export { setup, assign, enqueueActions, createActor } from "xstate";\n' +
      'export { default as pRetry, AbortError } from "p-retry";\n', loader: "js" };
    const xstateOnly = await bundle({ contents: 'export { setup, assign, enqueueActions, createActor } from "xstate";\n', loader: "js" });
    const contender = await bundle(join(ROOT, "bench", "contenders", "xstate-stack.mjs"), { platform: "neutral" });
    const libs = await bundle(libsOnly, { platform: "neutral" });
    const rows = [row("XState v5 alone (setup, assign, enqueueActions, createActor)", xstateOnly), row("XState v5 + p-retry: the libraries alone (setup, assign, enqueueActions, createActor, pRetry)", libs),
      row("XState v5 + p-retry + the lifecycle, driver and decoder written on them (bench/contenders/xstate-stack.mjs)", contender)];
    const data = { xstateOnly, xstateLibs: libs, xstateStack: contender, entries: {}, wasm: null };
    const ours = await packageWeight();
    const comparisons = [];
    if (!ours) {
      rows.push(["wawp-session", "pkg/dist/wasm missing", "", ""]);
    } else {
      data.wasm = ours.wasm;
      rows.push(row(`wawp-session wasm (${ours.files.join(", ")})`, ours.wasm));
      for (const [name, e] of Object.entries(ours.entries)) {
        if (e.error) {
          rows.push([`wawp-session ${name}`, `bundle failed: ${e.error}`, "", ""]);
          continue;
        }
        data.entries[name] = e.js;
        rows.push(row(`wawp-session ${name}: JS glue + drivers, bundled + minified`, e.js));
        rows.push(row(`**wawp-session ${name} total (wasm + JS)**`, e.total));
        comparisons.push(`${name}: wasm + JS = ${kb(e.total.gzip)} KB gzip / ${kb(e.total.brotli)} KB brotli, ` +
          `${ratio(e.total.gzip, contender.gzip)} the XState stack (gzip), ${ratio(e.total.gzip, libs.gzip)} the bare libraries`);
      }
    }
    log(`weight: xstate stack ${contender.gzip} B gzip; libs ${libs.gzip} B gzip`);
    const md = [
      "esbuild 0.27.3, `bundle + minify`, ESM; gzip -9 and brotli quality 11 (Node zlib). Sizes are deterministic (one measurement).",
      "",
      table(["Artefact", "raw B", "gzip B", "brotli B"], rows),
      "",
      ...comparisons.map((c) => `- ${c}`),
      "",
      "Issue 13's budget (80 KB per entry) against the 44db905 release, and `twiggy top` of the wasm: section 9.",
    ];
    return { markdown: md.join("\n"), data };
  }
}

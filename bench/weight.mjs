// Item 1: bytes a user ships. Our wasm (raw / gzip -9 / brotli 11) plus the JS glue and driver of
// each entry point bundled with esbuild (minified, wasm left external and counted separately),
// against the XState v5 + p-retry stack bundled and minified the same way.
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
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

export async function bundle(entry, { platform = "neutral", conditions = [] } = {}) {
  const input = typeof entry === "string" ? { entryPoints: [entry] } : { stdin: { ...entry, resolveDir: ROOT } };
  const result = await build({
    ...input, bundle: true, minify: true, format: "esm", write: false, platform, conditions,
    external: ["*.wasm", "node:*"], logLevel: "silent", define: { "process.env.NODE_ENV": '"production"' }, absWorkingDir: ROOT, mainFields: ["module", "main"],
  });
  return sizesOf(Buffer.from(result.outputFiles[0].contents));
}

/** Our entry points: every pkg/src/entry-*.js, with the runtime each one targets. */
export function ourEntries() {
  const dir = join(PKG, "src");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => /^entry-.*\.js$/.test(n)).sort().map((name) => {
    const target = name.replace(/^entry-|\.js$/g, "");
    const platform = target === "node" ? "node" : target === "workerd" ? "neutral" : "browser";
    const conditions = target === "workerd" ? ["workerd", "worker"] : target === "node" ? ["node"] : ["browser"];
    return { name, target, file: join(dir, name), platform, conditions };
  });
}

export function wasmFiles() {
  const dir = join(PKG, "dist", "wasm");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith(".wasm")).map((n) => join(dir, n)).filter((f) => statSync(f).isFile());
}

/** `twiggy top` of the named copy scripts/build.sh leaves beside the build: where the bytes go. */
function twiggyTop(rows = 20) {
  const named = join(ROOT, "target", "wawp_session_named.wasm");
  if (!existsSync(named)) return { note: "target/wawp_session_named.wasm missing (run scripts/build.sh)" };
  const bin = [join(homedir(), ".cargo", "bin", "twiggy"), "twiggy"].find((b) => b === "twiggy" || existsSync(b));
  let items;
  try {
    items = JSON.parse(execFileSync(bin, ["top", "-n", String(rows + 1), "-f", "json", named], { encoding: "utf8" }));
  } catch (e) {
    return { note: `twiggy not available (${String(e.message).split("\n")[0]}; scripts/setup.sh installs it)` };
  }
  // The name section exists only in this copy (the package ships without it): left out.
  const code = items.filter((i) => i.name !== '"function names" subsection').slice(0, rows);
  return { rows: code.map((i) => [i.name.replace(/::h[0-9a-f]{16}$/, "").replace(/\|/g, "\\|"), i.shallow_size.toLocaleString("en-US")]) };
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
    const wasm = wasmFiles();
    const comparisons = [];
    if (wasm.length === 0) {
      rows.push(["wawp-session", "pkg/dist/wasm missing", "", ""]);
    } else {
      const w = sizesOf(Buffer.concat(wasm.map((f) => readFileSync(f))));
      data.wasm = w;
      rows.push(row(`wawp-session wasm (${wasm.map((f) => f.slice(PKG.length + 1)).join(", ")})`, w));
      for (const entry of ourEntries()) {
        try {
          const js = await bundle(entry.file, entry);
          data.entries[entry.name] = js;
          rows.push(row(`wawp-session ${entry.name}: JS glue + drivers, bundled + minified`, js));
          const total = { raw: js.raw + w.raw, gzip: js.gzip + w.gzip, brotli: js.brotli + w.brotli };
          rows.push(row(`**wawp-session ${entry.name} total (wasm + JS)**`, total));
          comparisons.push(`${entry.name}: wasm + JS = ${kb(total.gzip)} KB gzip / ${kb(total.brotli)} KB brotli, ` +
            `${ratio(total.gzip, contender.gzip)} the XState stack (gzip), ${ratio(total.gzip, libs.gzip)} the bare libraries`);
        } catch (e) {
          rows.push([`wawp-session ${entry.name}`, `bundle failed: ${String(e.message).split("\n")[0]}`, "", ""]);
        }
      }
    }
    log(`weight: xstate stack ${contender.gzip} B gzip; libs ${libs.gzip} B gzip`);
    const top = twiggyTop();
    data.twiggyTop = top.rows ?? top.note;
    const md = [
      "esbuild 0.27.3, `bundle + minify`, ESM; gzip -9 and brotli quality 11 (Node zlib). Sizes are deterministic (one measurement).",
      "",
      table(["Artefact", "raw B", "gzip B", "brotli B"], rows),
      "",
      ...comparisons.map((c) => `- ${c}`),
      "",
      "Where the wasm's bytes go: `twiggy top` (first 20 rows, shallow bytes before compression) of the same module with its names kept (`target/wawp_session_named.wasm`, written by scripts/build.sh).",
      "",
      top.rows ? table(["Item", "bytes"], top.rows) : `_${top.note}_`,
    ];
    return { markdown: md.join("\n"), data };
  }
}

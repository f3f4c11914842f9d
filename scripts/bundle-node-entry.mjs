// The Node entry as one module (pkg/dist/entry-node.js, what `exports` "node" resolves to):
// pkg/src/entry-node.js with every package module it imports bundled in, the wasm-bindgen glue
// left as its own file. Measured (fresh Node 20 processes, import of the entry): about 13 JS
// modules cost 3.7-4.4 ms of a 16-18 ms import; one module brings it back to the 44db905 level
// (docs/serde-measurements.md, "Issue 13 perf pass"). The glue stays separate: it is the
// package's file that a trapped instance is replaced through, and one copy must hold the live
// instance.
// Written beside the target and renamed over it, so a process starting meanwhile never reads
// half a file. Usage: node scripts/bundle-node-entry.mjs
import { renameSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkg = fileURLToPath(new URL("../pkg/", import.meta.url));
const out = `${pkg}dist/entry-node.js`;
const stage = `${out}.${process.pid}.tmp`;
await build({
  entryPoints: [`${pkg}src/entry-node.js`],
  outfile: stage,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node18",
  legalComments: "none",
  logLevel: "warning",
  banner: { js: "// Built by scripts/bundle-node-entry.mjs from src/entry-node.js and the modules it imports." },
  plugins: [{
    name: "glue-stays-a-file",
    setup(b) {
      // src/bindings.js imports "../dist/wasm/wawp_session.js"; from dist/ that is "./wasm/...".
      b.onResolve({ filter: /\/dist\/wasm\/wawp_session\.js$/ }, () => ({ path: "./wasm/wawp_session.js", external: true }));
    },
  }],
});
renameSync(stage, out);

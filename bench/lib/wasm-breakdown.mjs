// Where the wasm's bytes came from since the 44db905 release (section 9): both trees' cargo output
// processed the same way (scripts/named-wasm.sh: wasm-bindgen and build.sh's wasm-opt flags, names
// kept), every `twiggy top` row put in one group by the crate or module its name starts with, and
// the groups compared. Shallow bytes before compression; the shipped module is the same code
// without the name sections.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./package.mjs";
import { NAMED_WASM } from "./twiggy.mjs";

const TWIGGY = [join(homedir(), ".cargo", "bin", "twiggy"), "twiggy"].find((b) => b === "twiggy" || existsSync(b));

/** Groups in table order: the first whose test matches a row's name takes it. */
export const GROUPS = [
  ["name sections (only in the named copy; not shipped)", (n) => /^"(function|data|local|global|type|table|elem|memory)? ?names" subsection$/.test(n), true],
  ["data segments (.rodata: strings, tables)", (n) => n.startsWith("data segment")],
  ["serde derive code (our types' Serialize / Deserialize)", (n) => /^wawp_session::.*::_::<impl serde(_core)?::/.test(n)],
  ["serde_json (+ zmij, its float printer)", (n) => /^(serde_json|zmij)::/.test(n)],
  ["serde-wasm-bindgen", (n) => n.startsWith("serde_wasm_bindgen::")],
  ["serde (generic: value deserializers, visitors)", (n) => /^serde(_core)?::/.test(n)],
  ["gloo-net, web-sys, js-sys, wasm-bindgen-futures", (n) => /^(gloo_net|gloo_utils|web_sys|js_sys|wasm_bindgen_futures)::/.test(n)],
  ["wasm-bindgen runtime and export shims", (n) => /^wasm_bindgen::|^__wbindgen|^__externref|^__wbg_| shim$/.test(n)],
  ["the client (src/wasm/client/)", (n) => n.startsWith("wawp_session::wasm::client")],
  ["the bindings (src/wasm/, other)", (n) => n.startsWith("wawp_session::wasm::")],
  ["the driver (src/driver/)", (n) => n.startsWith("wawp_session::driver")],
  ["the machine (src/machine/)", (n) => n.startsWith("wawp_session::machine")],
  ["HTTP requests and responses (src/http/, retry_after)", (n) => /^wawp_session::(http|retry_after)/.test(n)],
  ["status decode and webhooks (src/status/, webhook, 44db905's json)", (n) => /^wawp_session::(status|webhook|json)/.test(n)],
  ["rest of the core (backoff, metrics, budget, jid, ...)", (n) => n.startsWith("wawp_session::")],
  ["base64, percent-encoding", (n) => /^(base64|percent_encoding)::/.test(n)],
  ["Rust std (core, alloc, collections, allocator, builtins)", (n) => /^(core|alloc|std|hashbrown|lol_alloc|compiler_builtins|dlmalloc)(\[[0-9a-f]+\])?::|^__(multi3|[a-z]+di[0-9])/.test(n)],
  ["import and export entries (their JS names)", (n) => /^(import|export) /.test(n)],
  ["other (unnamed code, tables, types)", () => true],
];

/**
 * The crate path a row's name starts with: `<&mut serde_json::…>` reads as serde_json, `<X as Y>`
 * as X, or as the trait Y when X names no crate (`<f64 as zmij::…>`, `<&T as serde_json::…>`).
 */
function head(name) {
  const strip = (n) => n.replace(/^(<|&mut |&|\*const |\*mut |\[)+/, "");
  const impl = /^<([^<>]*?) as ([^<>]*)>::/.exec(name);
  if (impl && !impl[1].includes("::")) return strip(impl[2]);
  return strip(name);
}

function rows(wasm) {
  const items = JSON.parse(execFileSync(TWIGGY, ["top", "-n", "1000000", "-f", "json", wasm], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
  return items.filter((i) => !/^Σ|^\.\.\. and /.test(i.name)).map((i) => ({ name: i.name, bytes: i.shallow_size }));
}

const SHIMS = GROUPS.findIndex(([g]) => g.startsWith("wasm-bindgen"));

function grouped(list) {
  const out = Object.fromEntries(GROUPS.map(([g]) => [g, 0]));
  // wasm-bindgen's wrapper of an export carries the export's name (`backoff_new`).
  const exported = new Set(list.map((r) => /^export "(.*)"$/.exec(r.name)?.[1]).filter(Boolean));
  for (const r of list) {
    const [g] = exported.has(r.name) ? GROUPS[SHIMS] : GROUPS.find(([, test]) => test(head(r.name)));
    out[g] += r.bytes;
  }
  return out;
}

/**
 * The baseline's named module beside its cached build (its code untouched), made again on every
 * run (a few seconds): this tree's wasm-opt flags may have changed since the last one.
 */
export function namedBaselineWasm(baseDir) {
  const cargoWasm = join(baseDir, "target", "wasm32-unknown-unknown", "release", "wawp_session.wasm");
  const out = join(baseDir, "target", "wawp_session_named.wasm");
  if (!existsSync(cargoWasm)) throw new Error(`${cargoWasm} missing (the baseline build keeps its cargo target)`);
  execFileSync("bash", [join(ROOT, "scripts", "named-wasm.sh"), cargoWasm, out], { stdio: ["ignore", "ignore", "pipe"] });
  return out;
}

const stripHash = (n) => n.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, "");

/**
 * `{ groups: [[group, base, current, change]], growth: [[item, base, current, change]], totals }`
 * for the baseline's named module against this tree's, or `{ note }` saying why there is none.
 */
export function wasmBreakdown(baseDir, { items = 15 } = {}) {
  if (!TWIGGY) return { note: "twiggy not available (scripts/setup.sh installs it)" };
  if (!existsSync(NAMED_WASM)) return { note: "target/wawp_session_named.wasm missing (run scripts/build.sh)" };
  let baseRows, curRows;
  try {
    baseRows = rows(namedBaselineWasm(baseDir));
    curRows = rows(NAMED_WASM);
  } catch (e) {
    return { note: `no breakdown: ${String(e.message).split("\n")[0]}` };
  }
  const b = grouped(baseRows);
  const c = grouped(curRows);
  const names = GROUPS[0][0];
  const groups = GROUPS.map(([g]) => g).filter((g) => g !== names && (b[g] || c[g]))
    .map((g) => ({ group: g, base: b[g], current: c[g], change: c[g] - b[g] }))
    .sort((x, y) => y.change - x.change);
  // twiggy diff matches rows by full name, hashes included, so a rebuilt function reads as one
  // removed and one added; summing by the name without its hash pairs them.
  const byName = (list) => {
    const m = new Map();
    for (const r of list) m.set(stripHash(r.name), (m.get(stripHash(r.name)) ?? 0) + r.bytes);
    return m;
  };
  const bn = byName(baseRows.filter((r) => !GROUPS[0][1](r.name)));
  const cn = byName(curRows.filter((r) => !GROUPS[0][1](r.name)));
  const growth = [...new Set([...bn.keys(), ...cn.keys()])]
    .map((n) => ({ item: n, base: bn.get(n) ?? 0, current: cn.get(n) ?? 0 }))
    .map((r) => ({ ...r, change: r.current - r.base }))
    .sort((x, y) => y.change - x.change).slice(0, items);
  const total = (g) => Object.entries(g).filter(([k]) => k !== names).reduce((s, [, v]) => s + v, 0);
  return { groups, growth, totals: { base: total(b), current: total(c) } };
}

// Test-only (bundled only by `startEdge({testHooks: true})`, never by wrangler): counts, per
// marker, how often text carrying it goes into a parser on the way through the worker and its
// Durable Objects. A marker is any `probe-<letters/digits>` substring of the input.
//
// What is counted:
// - `json`: `JSON.parse` calls (and `Request`/`Response` `.json()`, which parse natively, so they
//   are routed through the counted `JSON.parse` here);
// - `wasm`: calls into the package's wasm whose input carries the marker: every exported function
//   is wrapped at instantiation, and its JS-value arguments (strings, objects as JSON) and UTF-8
//   byte arguments (the `...Utf8` exports: a pointer and a length into the wasm memory) are read.
//   This is the wasm's own boundary, so no way into a decoder escapes it.
// It must be evaluated before the package instantiates its wasm: `entry.js` imports it first.

const MARKER = /probe-[a-z0-9]+/g;
/** marker → {json, wasm} */
const counts = new Map();
const decoder = new TextDecoder();

function record(kind, text) {
  if (typeof text !== "string") return;
  const seen = new Set(text.match(MARKER) ?? []);
  for (const marker of seen) {
    const entry = counts.get(marker) ?? { json: 0, wasm: 0 };
    entry[kind] += 1;
    counts.set(marker, entry);
  }
}

function textOf(value) {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const parse = JSON.parse;
JSON.parse = function countedParse(text, reviver) {
  record("json", String(text));
  return parse(text, reviver);
};
for (const Body of [Request, Response]) {
  Body.prototype.json = async function countedJson() {
    return JSON.parse(await this.text());
  };
}

/** Glue names: `class_method` exports take the object's pointer first; `__free` ones do not. */
function wrapExports(exports) {
  const wrapped = {};
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== "function") {
      wrapped[name] = value;
      continue;
    }
    const utf8At = name.endsWith("Utf8") ? (name.startsWith("__") ? 0 : 1) : -1;
    wrapped[name] = function probed(...args) {
      for (const arg of args) record("wasm", textOf(arg));
      if (utf8At >= 0) {
        const [ptr, len] = [args[utf8At], args[utf8At + 1]];
        record("wasm", decoder.decode(new Uint8Array(exports.memory.buffer, ptr, len)));
      }
      return value.apply(this, args);
    };
  }
  return wrapped;
}

const Instance = WebAssembly.Instance;
WebAssembly.Instance = function ProbedInstance(module, imports) {
  return { exports: wrapExports(new Instance(module, imports).exports) };
};

export function probeCounts() {
  return Object.fromEntries(counts);
}

// Prints raw / gzip -9 / brotli 11 sizes of the shipped wasm and glue (used by build and bench).
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";

export function sizes(file) {
  const bytes = readFileSync(file);
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? "pkg/dist/wasm";
  for (const name of readdirSync(dir).filter((n) => /\.(wasm|js)$/.test(n))) {
    const s = sizes(join(dir, name));
    console.log(`[build] ${name}: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  }
}

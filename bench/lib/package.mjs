// Loads the BUILT package (pkg/), the artefact users install, per entry point.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PKG = join(ROOT, "pkg");

/**
 * The file a runtime imports for `wawp-session`: the package's own `exports["."][condition]`
 * (Node's is a bundled `dist/entry-node.js` since the cold-start pass), so a benchmark loads what
 * users load. `pkg` is another tree's built package (the baseline's, whose exports may differ).
 */
export function entryFile(entry = "node", pkg = PKG) {
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const target = manifest.exports?.["."]?.[entry] ?? `./src/entry-${entry}.js`;
  return join(pkg, target);
}

export const ENTRIES = {
  node: entryFile("node"),
  workerd: entryFile("workerd"),
};

/** The entry's module; `pkg` loads another tree's built package instead (the baseline's). */
export async function loadPackage(entry = "node", pkg = PKG) {
  const file = entryFile(entry, pkg);
  if (!existsSync(file)) throw new Error(`${file} is missing (run npm run build)`);
  return import(pathToFileURL(file).href);
}

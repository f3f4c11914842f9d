// Loads the BUILT package (pkg/), the artefact users install, per entry point.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PKG = join(ROOT, "pkg");
export const ENTRIES = {
  node: join(PKG, "src", "entry-node.js"),
  workerd: join(PKG, "src", "entry-workerd.js"),
};

/** The entry's module; `pkg` loads another tree's built package instead (the baseline's). */
export async function loadPackage(entry = "node", pkg = PKG) {
  const file = pkg === PKG ? ENTRIES[entry] : join(pkg, "src", `entry-${entry}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing (run npm run build)`);
  return import(pathToFileURL(file).href);
}

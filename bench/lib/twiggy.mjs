// `twiggy top` of the copy scripts/build.sh leaves beside the build with its function names kept
// (the package ships without them): where the wasm's bytes go, shallow sizes before compression.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./package.mjs";

export const NAMED_WASM = join(ROOT, "target", "wawp_session_named.wasm");

/** `{ rows: [[item, bytes]] }`, or `{ note }` saying why there are none. */
export function twiggyTop(rows = 20) {
  if (!existsSync(NAMED_WASM)) return { note: "target/wawp_session_named.wasm missing (run scripts/build.sh)" };
  const bin = [join(homedir(), ".cargo", "bin", "twiggy"), "twiggy"].find((b) => b === "twiggy" || existsSync(b));
  let items;
  try {
    items = JSON.parse(execFileSync(bin, ["top", "-n", String(rows + 1), "-f", "json", NAMED_WASM], { encoding: "utf8" }));
  } catch (e) {
    return { note: `twiggy not available (${String(e.message).split("\n")[0]}; scripts/setup.sh installs it)` };
  }
  // The name section exists only in this copy: left out.
  const code = items.filter((i) => i.name !== '"function names" subsection').slice(0, rows);
  return { rows: code.map((i) => [i.name.replace(/::h[0-9a-f]{16}$/, "").replace(/\|/g, "\\|"), i.shallow_size.toLocaleString("en-US")]) };
}

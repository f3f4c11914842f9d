#!/usr/bin/env bash
# Builds the npm package's wasm into pkg/dist/wasm/: cargo (wasm32, size profile) ->
# wasm-bindgen (--target web: one glue for browsers, Node and workerd) -> wasm-opt from npm
# binaryen 132 (Debian's 108 breaks the externref table). Prints the sizes it shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"  # cargo-installed wasm-bindgen on a fresh shell
OUT=pkg/dist/wasm
cargo build --quiet --release --target wasm32-unknown-unknown --lib --features wasm
# Build beside the live folder and swap it in at the end: a workerd or test starting meanwhile
# never loads a half-written module.
mkdir -p pkg/dist
STAGE=$(mktemp -d pkg/dist/.wasm-build.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
# --experimental-reset-state-function: pkg/src/bindings.js replaces a trapped instance;
# --omit-default-module-path: the entries say where the .wasm is (one place, bundler-visible).
wasm-bindgen --target web --out-dir "$STAGE" --out-name wawp_session \
  --remove-name-section --remove-producers-section \
  --experimental-reset-state-function --omit-default-module-path \
  target/wasm32-unknown-unknown/release/wawp_session.wasm
source scripts/wasm-opt-flags.sh
if [ "${WASM_OPT:-1}" = 1 ] && [ -x node_modules/.bin/wasm-opt ]; then
  node_modules/.bin/wasm-opt "${OPT_FLAGS[@]}" "$STAGE/wawp_session_bg.wasm" -o "$STAGE/wawp_session_bg.wasm"
  # The same module with its function names kept, for `twiggy` (bench/weight.mjs, section 9):
  # code sizes as shipped, names as written. Not part of the package.
  bash scripts/named-wasm.sh target/wasm32-unknown-unknown/release/wawp_session.wasm target/wawp_session_named.wasm
fi
chmod 755 "$STAGE"
if [ -d "$OUT" ]; then mv "$OUT" "$STAGE.old"; fi
mv "$STAGE" "$OUT"
rm -rf "$STAGE.old"
# The Node entry as one module (+ the glue): fewer modules to load at import (cold start).
node scripts/bundle-node-entry.mjs
node scripts/sizes.mjs "$OUT"
# The weight limit: wasm + JS of every entry (bundled, minified, gzip); issue 13 asks 80 KB, serde
# and the client in the wasm measure more (scripts/weight-budget.mjs says by how much and why).
node scripts/weight-budget.mjs

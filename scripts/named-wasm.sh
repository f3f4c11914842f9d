#!/usr/bin/env bash
# A cargo-built wasm as scripts/build.sh ships it, but with its function names kept, for `twiggy`:
# wasm-bindgen (same flags, no --remove-name-section) then wasm-opt with build.sh's flags and -g.
# Usage: scripts/named-wasm.sh CARGO_WASM OUT_WASM. build.sh runs it on this tree's cargo output;
# bench/lib/twiggy.mjs runs it on the 44db905 baseline's cargo output, so both sides of section
# 9's breakdown went through the same processing.
set -euo pipefail
IN=$(realpath "$1")
OUT=$(realpath -m "$2")
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/wasm-opt-flags.sh
NAMED=$(mktemp -d)
trap 'rm -rf "$NAMED"' EXIT
wasm-bindgen --target web --out-dir "$NAMED" --out-name wawp_session --remove-producers-section \
  --experimental-reset-state-function --omit-default-module-path "$IN"
node_modules/.bin/wasm-opt "${OPT_FLAGS[@]}" -g "$NAMED/wawp_session_bg.wasm" -o "$OUT"

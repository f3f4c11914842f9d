#!/usr/bin/env bash
# Every test layer, in dependency order. Run through `npm test` (which runs setup first).
# Each layer prints its own summary; the script stops at the first failing layer.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
layer() { local name=$1; shift; local s=$SECONDS; echo "=== $name"; "$@"; echo "=== $name: ok in $(( SECONDS - s ))s"; }
have() { compgen -G "$1" >/dev/null; }

layer "rust: fmt + clippy (lib denies unwrap/expect/panic/indexing)" bash -c 'cargo fmt --check && cargo clippy --quiet --lib -- -D warnings'
layer "rust: unit, property and deterministic simulation tests" \
  cargo test --quiet -- --skip thousands_of_seeds_keep_every_invariant
# The default simulation run again by itself, uncaptured: it prints seeds × simulated hours.
layer "rust: deterministic simulation (seeds × simulated hours)" \
  cargo test --quiet --test simulation thousands_of_seeds_keep_every_invariant -- --nocapture
layer "build: pkg/ (wasm + glue)" bash scripts/build.sh
if have "tests/wasm_*.rs"; then
  layer "rust: wasm-bindgen-test in Node and headless Chromium" bash scripts/test-wasm.sh
fi
have "sim/test/*.test.mjs" && layer "simulator" node --test --test-reporter=spec sim/test/
have "tests/js/*.test.mjs" && layer "package against the simulator (built artifact, real HTTP)" node --test tests/js/
have "tests/peers/*.test.mjs" && layer "package against independent peers: Prism (WAHA OpenAPI) + stand-alone fakes" node --test tests/peers/
have "tests/packaging/*.test.mjs" && layer "packaging: Node ESM, Vite + Chromium, workerd" node --test tests/packaging/
have "edge/test/*.test.mjs" && layer "edge worker in workerd" node --test edge/test/
have "tests/load/*.test.mjs" && layer "load with faults: edge in workerd + simulator (LOAD_SECONDS, default 60)" node --test tests/load/
have "tests/e2e/*.test.mjs" && layer "dashboard end to end in Chromium" node --test tests/e2e/
have "fuzz/run-short.sh" && layer "fuzzing, short run per target" bash fuzz/run-short.sh
echo "all test layers passed"

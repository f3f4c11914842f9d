#!/usr/bin/env bash
# wasm-bindgen-test: the bindings in Node (tests/wasm_node.rs) and in headless Chromium
# (tests/wasm_browser.rs) through wasm-bindgen-test-runner (runner in .cargo/config.toml).
# The runner adds --headless/--no-sandbox itself; webdriver.json adds the quiet flags.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/scripts/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-60}
# Item 4 of issue 13: as a plain dependency (no `wasm` feature) the crate brings no wasm-bindgen
# and no global allocator on any target, and no core module reaches into the bindings.
plain=$(cargo tree --quiet --target wasm32-unknown-unknown -e normal --prefix none)
if grep -Eq '^(wasm-bindgen|lol_alloc) ' <<<"$plain"; then
  echo "wawp-session without the wasm feature depends on wasm-bindgen or lol_alloc:" >&2; echo "$plain" >&2; exit 1
fi
if grep -rnE 'crate::wasm|super::wasm|global_allocator' src --include=*.rs | grep -v '^src/wasm/'; then
  echo "a core module uses the bindings or sets an allocator (above)" >&2; exit 1
fi
# src/wasm/ only compiles for wasm32 with the `wasm` feature, so the lint layer's native clippy never sees it.
cargo clippy --quiet --lib --target wasm32-unknown-unknown --features wasm -- -D warnings
cargo test --target wasm32-unknown-unknown --features wasm --test wasm_node
cargo test --target wasm32-unknown-unknown --features wasm --test wasm_browser

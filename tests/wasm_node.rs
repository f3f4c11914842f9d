//! The wasm bindings in Node (wasm-bindgen-test-runner's default). Run by scripts/test-wasm.sh.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod wasm_shared;

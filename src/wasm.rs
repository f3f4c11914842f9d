//! The wasm-bindgen surface (the JS contract of `../shared/API.md`).
//! STUB: the package engineer fills it in.

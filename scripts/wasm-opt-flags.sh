# wasm-opt's flags for the shipped wasm, sourced by scripts/build.sh and scripts/named-wasm.sh (one
# copy: the named module twiggy reads is optimized exactly as the shipped one).
# -Oz --converge, and functions with one caller inlined only up to 200 instructions: binaryen's
# default inlines every one-caller function whatever its size, which merged the derived
# serializers and option readers into each export's shim and gzipped 2.0 KB worse. Smaller caps
# shrink more but slow the per-event path (20: -4.7 KB, +10 % per event; BENCHMARKS.md, issue 13
# size pass). --strip-target-features: nothing reads that section at run time.
# --low-memory-unused lets binaryen fold `pointer + constant` into a load's or store's offset
# (1.3 KB gzip): the two differ only when the addition wraps past 4 GiB into the first 1 KiB,
# which no pointer to a live Rust object does (the module's memory is a few MB; the stack's
# bottom sits there, reached as itself, not by wrapping). A wrapped, bogus pointer then traps
# instead of reading low memory. Not --traps-never-happen: bindings.js recovers from traps.
OPT_FLAGS=(-Oz --converge -ocimfs 200 --strip-target-features --low-memory-unused --enable-bulk-memory
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals
  --enable-reference-types --enable-multivalue)

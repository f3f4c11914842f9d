# wasm-opt's flags for the shipped wasm, sourced by scripts/build.sh and scripts/named-wasm.sh (one
# copy: the named module twiggy reads is optimized exactly as the shipped one).
# -Oz --converge, and functions with one caller inlined only up to 200 instructions: binaryen's
# default inlines every one-caller function whatever its size, which merged the derived
# serializers and option readers into each export's shim and gzipped 2.0 KB worse. Smaller caps
# shrink more but slow the per-event path (20: -4.7 KB, +10 % per event; BENCHMARKS.md, issue 13
# size pass). --strip-target-features: nothing reads that section at run time.
OPT_FLAGS=(-Oz --converge -ocimfs 200 --strip-target-features --enable-bulk-memory
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals
  --enable-reference-types --enable-multivalue)

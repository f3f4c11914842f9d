#!/usr/bin/env bash
# A short libFuzzer run per target (CI); the committed seed corpora stay read-only: new inputs go
# to a scratch directory. Long run and triage: docs/hardening.md (FUZZ_SECONDS=600 for every
# target, FUZZ_TARGETS="jid webhooks" for some). A single input slower than 5 s counts as a
# failure (a hang), like a crash.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-8}
# cargo-fuzz needs nightly (libFuzzer + sanitizer flags). The project's machines carry it; install
# it through rustup if a machine does not.
if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal >&2 || true
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED — no nightly toolchain on this machine and rustup could not install one" >&2
  exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2
cargo +nightly fuzz build 2>&1 | tail -1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
total=0
for target in ${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}; do
  mkdir -p "$scratch/$target" "corpus/$target"
  log="$scratch/$target.log"
  if ! cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"; echo "fuzz: $target FAILED" >&2; exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  total=$(( total + ${runs:-0} ))
  echo "fuzz: $target ok, ${runs:-?} runs in ${SECONDS_PER_TARGET}s, 0 crashes"
done
echo "fuzz: all targets ok, $total executions"

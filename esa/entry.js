// Alibaba Cloud ESA edge function entry, bundled into ONE file (dist/esa/index.js) whose top is
// the human-editable CONFIG block (esa/config.js). ESA function variables arrive in `env` and
// override CONFIG.
import { createProxy, warmUp } from '../js-shim/proxy.js';
import { WASM_BASE64 } from '../dist/esa-gen/wasm_base64.js';
import { BASE64_WASM } from '../dist/esa-gen/base64_wasm.js';
import { ASM_SOURCE } from '../dist/esa-gen/asm.js';

/* global CONFIG */
const DEFAULTS = typeof CONFIG === 'object' && CONFIG ? CONFIG : {};

// The module's bytes from their base64 text: copied into a small wasm decoder's memory by the
// runtime's own TextEncoder and decoded there (esa/base64.wat). A JS loop over the 330 KB text,
// cold at load, cost ~10 ms of the global scope's CPU; this ~1.5 ms. A runtime that refuses
// wasm from bytes refuses the decoder too, and then needs no bytes (the JS fallback).
function decodeBase64(b64) {
  let n = b64.length;
  while (n > 0 && b64.charCodeAt(n - 1) === 61) n--; // '='
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(BASE64_WASM));
  const memory = exports.memory;
  const pages = Math.ceil((256 + n) / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  new TextEncoder().encodeInto(b64.slice(0, n), new Uint8Array(memory.buffer, 256, n));
  return new Uint8Array(memory.buffer, 256, exports.decode(n));
}

// Real wasm when the runtime compiles it from bytes; otherwise the same module translated to
// JavaScript by wasm2js (slower, but needs nothing from the runtime). Chosen and compiled once,
// at load: a new instance after a panic costs an instantiation, never a compile.
function compileWasm() {
  if (typeof WebAssembly !== 'object' || !WebAssembly) return null;
  try {
    return new WebAssembly.Module(decodeBase64(WASM_BASE64));
  } catch (e) {
    console.log(`edge-registry-proxy: wasm unavailable (${e && e.message}), using the JS fallback`);
    return null;
  }
}
const compiled = compileWasm();

// The same module translated to JavaScript, kept as text in this file (scanning a string costs
// the load far less than parsing the code) and compiled only where real wasm is refused, here at
// load: workerd (this bundle pasted into Cloudflare) allows code from strings only in the global
// scope. A runtime that refused both wasm from bytes and code from strings could not run it.
function compileAsm() {
  try {
    return new Function(`let ASM; ${ASM_SOURCE} return ASM;`)();
  } catch (e) {
    console.log(`edge-registry-proxy: the JS fallback could not be compiled (${e && e.message})`);
    return null;
  }
}
let instantiateAsm = compiled ? null : compileAsm();

const handle = createProxy((imports) => {
  if (compiled) {
    try {
      return { exports: new WebAssembly.Instance(compiled, imports).exports, engine: 'wasm' };
    } catch (e) {
      console.log(`edge-registry-proxy: wasm instance refused (${e && e.message}), using the JS fallback`);
    }
  }
  instantiateAsm = instantiateAsm || compileAsm();
  return { exports: instantiateAsm(imports), engine: 'wasm2js' };
});

// Pasted into Cloudflare (workerd: navigator.userAgent says so), the global scope may not make a
// Response with a body: the bodiless warm-up there.
/* global navigator */
const onWorkers = typeof navigator === 'object' && navigator !== null && navigator.userAgent === 'Cloudflare-Workers';
warmUp(handle, { bodies: !onWorkers, light: !compiled });

// What follows `request` is not documented: reports of the running platform say
// `(request, context, env)`, the Workers style is `(request, env, ctx)`, and the context may
// lack waitUntil while carrying fields of its own (requestId...). So: the context is whatever
// has waitUntil/passThroughOnException; every other object is a config source, from which the
// core takes only configuration keys (capitalised names; `requestId` is not one).
function isContext(a) {
  return typeof a.waitUntil === 'function' || typeof a.passThroughOnException === 'function';
}

function envSources(args) {
  return args.filter((a) => a && typeof a === 'object' && !isContext(a));
}

function waitUntilOf(args) {
  const ctx = args.find((a) => a && typeof a === 'object' && typeof a.waitUntil === 'function');
  return ctx ? (p) => ctx.waitUntil(p) : null;
}

// ESA's global `cache` (get/put/delete, http:// keys); elsewhere (e.g. this bundle in workerd)
// the standard caches.default.
/* global cache, caches */
function edgeCache() {
  if (typeof cache === 'object' && cache && typeof cache.get === 'function') {
    // delete is undocumented on ESA: offered only where it exists.
    const del = typeof cache.delete === 'function' ? (key) => cache.delete(key) : null;
    return { get: (key) => cache.get(key), put: (key, response) => cache.put(key, response), delete: del };
  }
  if (typeof caches === 'object' && caches && caches.default) {
    const c = caches.default;
    return { get: (key) => c.match(key), put: (key, response) => c.put(key, response), delete: (key) => c.delete(key) };
  }
  return null;
}

export default {
  fetch(request, ...rest) {
    return handle(request, [DEFAULTS, ...envSources(rest)], { cache: edgeCache(), waitUntil: waitUntilOf(rest) });
  },
};

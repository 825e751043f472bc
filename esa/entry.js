// Alibaba Cloud ESA edge function entry, bundled into ONE file (dist/esa/index.js) whose top is
// the human-editable CONFIG block (esa/config.js). ESA function variables arrive in `env` and
// override CONFIG.
import { createProxy, warmUp } from '../js-shim/proxy.js';
import { WASM_BASE64 } from '../dist/esa-gen/wasm_base64.js';
import { instantiateAsm } from '../dist/esa-gen/asm.js';

/* global CONFIG */
const DEFAULTS = typeof CONFIG === 'object' && CONFIG ? CONFIG : {};

// Four characters per step through a table: the module is decoded once at load, inside ESA's
// global-scope CPU budget, where a cold per-byte atob loop costs several ms more.
function decodeBase64(b64) {
  const table = new Uint8Array(128);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  let n = b64.length;
  while (n > 0 && b64.charCodeAt(n - 1) === 61) n--; // '='
  const out = new Uint8Array((n * 3) >> 2);
  const at = (i) => table[b64.charCodeAt(i)];
  let o = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = (at(i) << 18) | (at(i + 1) << 12) | (at(i + 2) << 6) | at(i + 3);
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (n - i === 2) out[o++] = (at(i) << 2) | (at(i + 1) >> 4);
  if (n - i === 3) {
    const v = (at(i) << 10) | (at(i + 1) << 4) | (at(i + 2) >> 2);
    out[o++] = v >> 8;
    out[o++] = v & 255;
  }
  return out;
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

const handle = createProxy((imports) => {
  if (compiled) {
    try {
      return { exports: new WebAssembly.Instance(compiled, imports).exports, engine: 'wasm' };
    } catch (e) {
      console.log(`edge-registry-proxy: wasm instance refused (${e && e.message}), using the JS fallback`);
    }
  }
  return { exports: instantiateAsm(imports), engine: 'wasm2js' };
});

// Pasted into Cloudflare (workerd: navigator.userAgent says so), the global scope may not make a
// Response with a body: the bodiless warm-up there.
/* global navigator */
const onWorkers = typeof navigator === 'object' && navigator !== null && navigator.userAgent === 'Cloudflare-Workers';
warmUp(handle, { bodies: !onWorkers });

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

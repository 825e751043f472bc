// Cloudflare Workers / Pages entry. Cloudflare (and workerd) refuse to compile wasm from bytes,
// so the module is imported; config is `env` ([vars] and secrets); the cache is caches.default.
import wasmModule from './proxy_bg.wasm';
import { createProxy, warmUp } from '../js-shim/proxy.js';

const handle = createProxy((imports) => ({
  exports: new WebAssembly.Instance(wasmModule, imports).exports,
  engine: 'wasm',
}));

// At load, not in the first request: V8 compiles wasm and JS lazily, on first call (the first
// request after start cost ~3x the plain-JS peer's). The global scope may not read bodies here.
warmUp(handle, { bodies: false });

// The core's keys (an origin of its own, then registry/repository/...) are stored under the
// zone's own host, as Cloudflare's cache is per zone. (It does nothing on *.workers.dev.)
// The origin is parsed on the first cache call only: most requests make none (CACHE=off), and a
// URL parse per request showed as ~5 % of a manifest GET's CPU in workerd.
function zoneCache(request) {
  if (typeof caches === 'undefined' || !caches.default) return null;
  let base = null;
  const at = (key) => {
    base ??= `${new URL(request.url).origin}/.edge-registry-proxy-cache`;
    const k = new URL(key);
    return base + k.pathname + k.search;
  };
  return {
    get: (key) => caches.default.match(at(key)),
    put: (key, response) => caches.default.put(at(key), response),
    delete: (key) => caches.default.delete(at(key)),
  };
}

export default {
  fetch(request, env, ctx) {
    return handle(request, [env], { cache: zoneCache(request), waitUntil: (p) => ctx.waitUntil(p) });
  },
};

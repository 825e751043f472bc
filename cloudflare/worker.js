// Cloudflare Workers / Pages entry. Cloudflare (and workerd) refuse to compile wasm from bytes,
// so the module is imported; config is `env` ([vars] and secrets).
import wasmModule from './proxy_bg.wasm';
import { createProxy } from '../js-shim/proxy.js';

const handle = createProxy((imports) => ({
  exports: new WebAssembly.Instance(wasmModule, imports).exports,
  engine: 'wasm',
}));

export default {
  fetch(request, env) {
    return handle(request, [env]);
  },
};

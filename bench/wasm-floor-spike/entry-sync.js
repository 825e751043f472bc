// The sync variant: wasm plans the upstream request, this module fetches, and the upstream's
// Response goes back untouched (no wasm-bindgen-futures).
import * as bg from './out/spike_bg.js';
import wasmModule from './out/spike_bg.wasm';

const instance = new WebAssembly.Instance(wasmModule, { './spike_bg.js': bg });
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default {
  fetch(request, env) {
    const [url, init] = bg.plan(request, env.UPSTREAM || '');
    return fetch(url, init);
  },
};

// The module workerd loads (what worker-build would generate, which downloads binaries).
import * as bg from './out/spike_bg.js';
import wasmModule from './out/spike_bg.wasm';

const instance = new WebAssembly.Instance(wasmModule, { './spike_bg.js': bg });
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default { fetch: (request, env, ctx) => bg.fetch(request, env, ctx) };

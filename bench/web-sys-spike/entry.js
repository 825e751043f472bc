// The module workerd loads for the web-sys spike.
import * as bg from './out/spike_bg.js';
import wasmModule from './out/spike_bg.wasm';

globalThis.__edgeRegistryProxyPanic = () => {}; // imported by the core's own binding
const instance = new WebAssembly.Instance(wasmModule, { './spike_bg.js': bg });
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default { fetch: (request, env, ctx) => bg.fetch(request, env, ctx) };

// The module workerd loads: the wasm instantiated at load, one call per request.
import * as bg from './out/spike_bg.js';
import wasmModule from './out/spike_bg.wasm';

const instance = new WebAssembly.Instance(wasmModule, { './spike_bg.js': bg });
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default { fetch: (request, env) => bg.handle(request, env.UPSTREAM || '') };

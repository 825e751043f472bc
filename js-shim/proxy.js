// Glue between a runtime's fetch handler and the wasm core. The entries differ only in how the
// wasm instance is made (module import, bytes, or the wasm2js fallback), where the config comes
// from and which fetch/cache the platform uses.
import * as bg from '../dist/wasm/proxy_bg.js';
import { makePlatform } from './platform.js';

// `[[key, value], ...]` from config objects, later objects overriding earlier ones. Values go
// as they are (text, numbers, lists, bindings): the core decides what is configuration.
export function configPairs(...sources) {
  const pairs = [];
  for (const src of sources) {
    if (!src || typeof src !== 'object') continue;
    for (const [k, v] of Object.entries(src)) pairs.push([k, v]);
  }
  return pairs;
}

function errorResponse(status, code, message) {
  return new Response(JSON.stringify({ errors: [{ code, message }] }), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'docker-distribution-api-version': 'registry/2.0',
    },
  });
}

// The path of an absolute URL without parsing it (a URL object per request costs CPU).
function pathOf(url) {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

// `instantiate(imports)` returns `{ exports, engine }`. It runs at load (ESA allows 50 ms of CPU at
// global scope but only a 5 ms slice per request) and again only after a panic, from the module
// the entry compiled once and kept.
export function createProxy(instantiate) {
  // The live instance (see `newInstance`), or null once it is retired.
  let current = null;
  // A panic (the hook tells us before the trap) or an exception out of the executor leaves the
  // instance unusable: its requests in flight are answered now with a 500, not when (if ever) a
  // poll would resume them, and nothing it awaits settles for it any more; the next request
  // gets a fresh instance.
  const retire = (inst, why) => {
    if (!inst || inst.dead) return;
    inst.dead = true;
    if (current === inst) current = null;
    const failed = new Error(`the registry proxy's instance was replaced: ${why}`);
    for (const fail of inst.inflight) fail(failed);
    inst.inflight.clear();
    inst.waiting.clear();
  };
  globalThis.__edgeRegistryProxyPanic = (message) => retire(current, message);

  function ensureInstance() {
    if (current) return current;
    const inst = newInstance();
    const made = instantiate({
      './proxy_bg.js': guardedImports(inst, (e) => {
        console.error('edge-registry-proxy: the executor stopped:', e && e.stack ? e.stack : e);
        retire(inst, 'the executor stopped');
      }),
    });
    bg.__wbg_set_wasm(made.exports);
    bg.__erpNewInstance(made.engine === 'wasm2js'); // scripts/bundle.mjs patchGlue
    made.exports.__wbindgen_start();
    inst.engine = made.engine;
    current = inst;
    lastSources = null; // a fresh instance has no configuration yet
    return inst;
  }

  // The configuration crosses into wasm only when its sources change (runtimes hand the same
  // env object to every request): otherwise null, and the instance uses what it parsed last.
  let lastSources = null;
  function configFor(sources) {
    const same = lastSources && lastSources.length === sources.length && sources.every((s, i) => s === lastSources[i]);
    if (same) return null;
    lastSources = sources;
    return configPairs(...sources);
  }
  try {
    ensureInstance();
  } catch (e) {
    console.error('edge-registry-proxy: instantiation at load failed, retrying per request:', e && e.message);
  }

  // A request is a future in the core (wasm-bindgen-futures), its answer a promise.
  // `cache`: the entry's cache adapter ({ get(key), put(key, response), delete(key) }) or null;
  // `waitUntil`: keeps background cache puts alive after the response is sent.
  async function handle(request, configSources, { cache = null, waitUntil = null, fetchImpl = fetch } = {}) {
    let inst = null;
    let answer;
    try {
      inst = ensureInstance();
      inst.clock = Date.now();
      if (inst.waiting.size && inst.clock - inst.swept > 1000) sweep(inst);
      answer = bg.handle(request, configFor(configSources), makePlatform({ fetchImpl, cache, waitUntil, settle: inst.settle }));
    } catch (e) {
      // Thrown out of wasm synchronously: a trap may have left the instance unusable.
      console.error('edge-registry-proxy: request failed:', e && e.stack ? e.stack : e);
      retire(inst, 'a request failed in it');
      return errorResponse(500, 'UNKNOWN', 'internal error in the registry proxy');
    }
    try {
      const out = await inFlight(inst, answer);
      if (pathOf(request.url) === '/version') out.headers.set('x-proxy-engine', inst.engine);
      return out;
    } catch (e) {
      console.error('edge-registry-proxy: request failed:', e && e.stack ? e.stack : e);
      return errorResponse(500, 'UNKNOWN', 'internal error in the registry proxy');
    }
  }
  return handle;
}

// An await older than this is failed when a request starts: the runtime never settled it (it
// ended that request), and the future waiting on it would otherwise stay in wasm memory for the
// isolate's life (a JsFuture frees itself only when called). An await lasts until an upstream's
// headers are in or a small body is read, and ESA cuts a request at 120 s.
export const MAX_WAIT_MS = 180_000;

// What the shim keeps of one wasm instance. `settle` is every await of its core
// (src/wasm.rs `wait`): the runtime's promise, seen settling only while the instance lives.
// After a panic the glue's one `wasm` is the next instance's: a dead instance's closures, called
// when its promises settled, would run with its pointers against the new memory; never settled,
// they are never called (and stay in the glue's heap table, which only that instance would
// free, so no finalizer runs them either).
function newInstance() {
  const inst = { engine: null, dead: false, clock: 0, swept: 0, inflight: new Set(), waiting: new Set() };
  inst.settle = (promise) =>
    new Promise((resolve, reject) => {
      const wait = { since: inst.clock, reject };
      inst.waiting.add(wait);
      Promise.resolve(promise).then(
        (v) => {
          if (inst.waiting.delete(wait)) resolve(v);
        },
        (e) => {
          if (inst.waiting.delete(wait)) reject(e);
        },
      );
    });
  return inst;
}

function sweep(inst) {
  inst.swept = inst.clock;
  for (const wait of inst.waiting) {
    if (inst.clock - wait.since <= MAX_WAIT_MS) continue;
    inst.waiting.delete(wait);
    wait.reject(new Error(`the runtime never settled this await (over ${MAX_WAIT_MS / 1000} s)`));
  }
}

// `answer`, failed early if the instance is retired meanwhile.
function inFlight(inst, answer) {
  return new Promise((resolve, reject) => {
    inst.inflight.add(reject);
    answer.then(
      (out) => {
        inst.inflight.delete(reject);
        resolve(out);
      },
      (e) => {
        inst.inflight.delete(reject);
        reject(e);
      },
    );
  });
}

// wasm-bindgen-futures polls every future from a microtask it queues with the global
// `queueMicrotask` (js-sys futures/queue.rs), and only if that exists. A panic traps inside that
// microtask, where nothing would catch it: an uncaught exception, which a runtime may answer for
// the request on its own (the ESA host does) or worse; and an exception out of a poll leaves that
// queue never scheduled again. So the glue's two `queueMicrotask` imports (the check that it
// exists, and the call) are wrapped, without editing the glue. The call is always handed the
// executor's one closure, in the same slot of the glue's heap table (the executor never frees
// it): the first time, the glue runs with a global `queueMicrotask` that records the function
// (so the check, too, finds one even where the runtime has none); from then on the wrapper
// schedules it itself, as a promise job that drops it once `inst` is retired and catches what it
// throws (`onEscape`). The global is swapped only for those first synchronous calls, so no other
// code sees it; a promise job costs less than workerd's `queueMicrotask`, and the executor needs
// only that its polls run as microtasks.
const RESOLVED = Promise.resolve();

function guardedImports(inst, onEscape) {
  const imports = { ...bg };
  const names = Object.keys(bg).filter((name) => name.startsWith('__wbg_queueMicrotask_'));
  if (names.length !== 2) throw new Error(`expected the executor's 2 queueMicrotask imports in the glue, found ${names.length}; update js-shim/proxy.js`);
  let slot = null;
  let run = null;
  for (const name of names) {
    imports[name] = (arg) => {
      if (arg === slot) {
        RESOLVED.then(run);
        return undefined;
      }
      let closure = null;
      const own = Object.getOwnPropertyDescriptor(globalThis, 'queueMicrotask');
      globalThis.queueMicrotask = (f) => {
        closure = f;
      };
      let ret;
      try {
        ret = bg[name](arg);
      } finally {
        if (own) Object.defineProperty(globalThis, 'queueMicrotask', own);
        else delete globalThis.queueMicrotask;
      }
      if (typeof closure === 'function') {
        slot = arg;
        run = () => {
          if (inst.dead) return;
          try {
            closure();
          } catch (e) {
            onEscape(e);
          }
        };
        RESOLVED.then(run);
      }
      return ret;
    };
  }
  return imports;
}

// A registry conversation with a made-up registry, answered in memory: run at load, it makes
// V8 compile (lazily, on first call) the wasm and JS of the token and manifest paths inside the
// global-scope budget rather than in the first request's CPU slice. Its registry name is its
// own, so nothing it teaches the instance (realm, tokens) is about a real upstream.
const WARM_UP = 'https://warm-up.invalid';
const WARM_UP_CHALLENGE = `Bearer realm="${WARM_UP}/token",service="warm-up"`;
async function warmUpFetch(url, { bodies = true } = {}) {
  const json = (status, body, headers = {}) => new Response(bodies ? JSON.stringify(body) : null, { status, headers: { 'content-type': 'application/json', ...headers } });
  if (url.endsWith('/v2/')) return json(401, { errors: [] }, { 'www-authenticate': WARM_UP_CHALLENGE });
  if (url.includes('/token')) return json(200, { token: 'warm-up', expires_in: 60 });
  return json(200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
}

// `bodies: false` where the global scope may not make a Response with a body (workerd,
// Cloudflare: "Disallowed operation called within global scope"): then HEAD of the ping and a
// pass-through manifest, and a GET of it, with bodiless upstream answers. `light`: none, for
// the JS translation of the module, whose every function compiles on first call: the
// conversation took ~40 ms of ESA's 50 ms global-scope budget there (the ping alone ~20), and
// the requests that follow have the 50 ms slice that translation needs anyway.
export async function warmUp(handle, { bodies = true, light = false } = {}) {
  const config = [{ UPSTREAM: WARM_UP.slice(8), LOG: 'off', ...(bodies ? { TOKEN_SECRET: 'warm-up-secret-0123456789abcdef0' } : {}) }];
  const fetchImpl = (url) => warmUpFetch(url, { bodies });
  const ask = (path, headers = {}, method = 'GET') => handle(new Request(`http://warm-up.local${path}`, { method, headers }), config, { fetchImpl });
  const accept = 'application/vnd.oci.image.index.v1+json';
  try {
    if (light) return;
    if (!bodies) {
      const auth = { authorization: 'Bearer warm-up', accept };
      for (const [method, path, headers] of [['HEAD', '/v2/', {}], ['HEAD', '/v2/library/warm/manifests/latest', auth], ['GET', '/v2/library/warm/manifests/latest', auth]]) {
        const r = await ask(path, headers, method);
        if (r.status >= 500) throw new Error(`${method} ${path}: ${r.status}`);
      }
      return;
    }
    const t = await (await ask('/token?scope=repository:library/warm:pull')).json();
    const auth = { authorization: `Bearer ${t.token}`, accept };
    await (await ask('/v2/library/warm/manifests/latest', auth)).arrayBuffer();
  } catch (e) {
    console.log(`edge-registry-proxy: warm-up skipped: ${e && e.message}`);
  }
}

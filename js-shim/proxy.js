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
  let engine = null;
  // Bumped with every new instance: a request whose task lived in an instance that panicked
  // (a trap leaves it unusable) must not resume on the next one, which knows no such task.
  let generation = 0;
  globalThis.__edgeRegistryProxyPanic = () => {
    engine = null;
  };

  function ensureInstance() {
    if (engine) return;
    const made = instantiate({ './proxy_bg.js': bg });
    bg.__wbg_set_wasm(made.exports);
    bg.__erpNewInstance(made.engine === 'wasm2js'); // scripts/bundle.mjs patchGlue
    made.exports.__wbindgen_start();
    engine = made.engine;
    generation++;
    lastSources = null; // a fresh instance has no configuration yet
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

  // A request is a task in the core, driven by runTask.
  // `cache`: the entry's cache adapter ({ get(key), put(key, response), delete(key) }) or null;
  // `waitUntil`: keeps background cache puts alive after the response is sent.
  async function handle(request, configSources, { cache = null, waitUntil = null, fetchImpl = fetch } = {}) {
    let mine = -1;
    try {
      ensureInstance();
      mine = generation;
      const task = bg.handle(request, configFor(configSources), makePlatform({ fetchImpl, cache, waitUntil }));
      const out = await runTask(task, () => mine === generation && engine !== null);
      if (pathOf(request.url) === '/version') out.headers.set('x-proxy-engine', engine);
      return out;
    } catch (e) {
      // A trap (panic) leaves the instance unusable: the next request gets a fresh one (unless
      // this request's instance is already the one replaced).
      console.error('edge-registry-proxy: request failed:', e && e.stack ? e.stack : e);
      if (mine === generation) engine = null;
      return errorResponse(500, 'UNKNOWN', 'internal error in the registry proxy');
    }
  }
  return handle;
}

// Runs a request's task (`bg.handle`) to the client's Response: every promise it hands out is
// awaited here and its outcome handed back (src/outside_tasks.rs). `alive()` is asked after each
// await: a task of an instance replaced meanwhile must not resume on the new one.
export async function runTask(task, alive = () => true) {
  let out = bg.step(task, true, undefined);
  while (out && typeof out.then === 'function') {
    let ok = true;
    let value;
    try {
      value = await out;
    } catch (e) {
      ok = false;
      value = e;
    }
    if (!alive()) throw new Error('the instance serving this request was replaced after a panic');
    out = bg.step(task, ok, value);
  }
  return out;
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

// Calls across the wasm<->JS boundary per request: each a trampoline plus, for text, an
// encode or decode. Counted, not timed, so it is exact and the same on every run: a change to
// the binding shows here even where CPU figures cannot tell it from noise. The wasm is built from
// dist/wasm as the ESA bundle makes it, requests are driven as js-shim/proxy.js drives them, the
// upstream is an in-memory Docker Hub (token realm, a blob redirect to another host).
// usage: node bench/crossings.mjs   -> JSON lines {request, wasmToJs, jsToWasm, byImport}
import { makePlatform } from '../js-shim/platform.js';

const at = (p) => new URL(`../${p}`, import.meta.url).href;
const bg = await import(at('dist/wasm/proxy_bg.js'));
const { WASM_BASE64 } = await import(at('dist/esa-gen/wasm_base64.js'));

const counts = { wasmToJs: new Map(), jsToWasm: new Map() };
const counted = (map, name, f) =>
  function (...args) {
    map.set(name, (map.get(name) || 0) + 1);
    return f.apply(this, args);
  };

// What the wasm imports (the glue's `__wbg_*` functions), each counted.
const imports = {};
for (const [name, f] of Object.entries(bg)) imports[name] = typeof f === 'function' ? counted(counts.wasmToJs, name, f) : f;
const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { './proxy_bg.js': imports });
// What the glue calls in wasm (handle, the closures, malloc for every string in, free...), each counted.
const wasm = {};
for (const [name, v] of Object.entries(exports)) {
  if (typeof v === 'function') wasm[name] = counted(counts.jsToWasm, name, v);
  else Object.defineProperty(wasm, name, { get: () => exports[name] });
}
bg.__wbg_set_wasm(wasm);
bg.__erpNewInstance(false);
wasm.__wbindgen_start();

const TOKEN = `eyJ${'x'.repeat(1400)}`; // Docker Hub's pull tokens are JWTs of ~1.4 KB
const DIGEST = `sha256:${'a'.repeat(64)}`;
const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
// What a registry sends with every answer (distribution's headers: nothing to filter out).
const common = { 'docker-distribution-api-version': 'registry/2.0', date: new Date().toUTCString(), 'x-content-type-options': 'nosniff' };
async function upstream(url, init) {
  if (url.endsWith('/v2/')) {
    return new Response('{"errors":[]}', { status: 401, headers: { ...common, 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' } });
  }
  if (url.startsWith('https://auth.docker.io/token')) {
    return new Response(JSON.stringify({ token: TOKEN, access_token: TOKEN, expires_in: 300, issued_at: new Date().toISOString() }), { headers: { 'content-type': 'application/json' } });
  }
  if (url.includes('/blobs/')) return new Response(null, { status: 307, headers: { ...common, location: 'https://blobs.example.net/layer?sig=abc' } });
  if (url.startsWith('https://blobs.example.net/')) return new Response('layer bytes', { headers: { 'content-type': 'application/octet-stream', 'content-length': '11' } });
  const body = init.method === 'HEAD' ? null : MANIFEST;
  return new Response(body, { headers: { ...common, 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(MANIFEST.length), 'docker-content-digest': DIGEST, etag: `"${DIGEST}"` } });
}

const config = [['UPSTREAM', 'https://registry-1.docker.io'], ['LOG', 'errors']];
const auth = { authorization: `Bearer ${TOKEN}`, accept: 'application/vnd.oci.image.index.v1+json', 'user-agent': 'docker/27.3.1 go/go1.22.7' };
const requests = [
  ['ping (anonymous)', 'GET', '/v2/', {}],
  ['token', 'GET', '/token?scope=repository%3Alibrary%2Fnginx%3Apull&service=mirror', {}],
  ['manifest HEAD', 'HEAD', '/v2/library/nginx/manifests/latest', auth],
  ['manifest GET', 'GET', `/v2/library/nginx/manifests/${DIGEST}`, auth],
  ['blob GET (redirect followed)', 'GET', `/v2/library/nginx/blobs/${DIGEST}`, auth],
];

let first = true;
async function ask(method, path, headers) {
  const platform = makePlatform({ fetchImpl: upstream, cache: null, waitUntil: null });
  const out = await bg.handle(new Request(`https://mirror.example.com${path}`, { method, headers }), first ? config : null, platform);
  first = false;
  await out.arrayBuffer();
  return out.status;
}

// Once each first: the first ping learns the upstream's scheme and the config is parsed once.
for (const [, method, path, headers] of requests) await ask(method, path, headers);
for (const [label, method, path, headers] of requests) {
  counts.wasmToJs.clear();
  counts.jsToWasm.clear();
  const status = await ask(method, path, headers);
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  // By the glue's names without their hashes (web-sys's `get`s of Headers and of Reflect add up).
  const byImport = {};
  for (const [k, v] of counts.wasmToJs) {
    const name = k.replace(/^__wbg_|_[0-9a-f]{16}$/g, '');
    byImport[name] = (byImport[name] || 0) + v;
  }
  console.log(JSON.stringify({ request: label, status, wasmToJs: sum(counts.wasmToJs), jsToWasm: sum(counts.jsToWasm), byImport }));
}

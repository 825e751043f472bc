// The ESA bundle's own start-up and request CPU in this fresh process, against ESA's budgets:
// the global scope's load (50 ms of CPU on ESA), the first request after it and steady requests
// (each within the 5 ms slice). Node's fetch and text classes (Request, Response, Headers,
// TextEncoder/TextDecoder: the runtime's native code on ESA) are loaded before the clock starts; the upstream is an in-memory fetch
// answering like Docker Hub. ESA_WASM=off makes WebAssembly refuse bytes (the wasm2js path).
// usage: node bench/esa-load.mjs [bundle]  -> one JSON line {engine, loadMs, firstMs, tokenMs, steadyMs}
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const bundle = process.argv[2] || join(ROOT, 'dist/esa/index.js');
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// The runtime's own classes, made once before timing (Node loads them lazily, ~20-35 ms).
new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode('x'));
await new Response(new Request('http://x/', { method: 'POST', body: 'x', headers: new Headers({ a: 'b' }) }).body).text();

const CHALLENGE = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"';
globalThis.fetch = async (input) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.endsWith('/v2/')) return new Response('{"errors":[]}', { status: 401, headers: { 'www-authenticate': CHALLENGE } });
  if (url.includes('/token')) return Response.json({ token: 't'.repeat(1400), expires_in: 300 });
  return new Response('{}', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'b'.repeat(64)}` } });
};
if (process.env.ESA_WASM === 'off') {
  const Module = WebAssembly.Module;
  WebAssembly.Module = function refused() {
    throw new Error('WebAssembly.Module refuses bytes');
  };
  WebAssembly.Module.prototype = Module.prototype;
}
const log = console.log;
const logged = [];
console.log = (line) => logged.push(String(line));

// Load: the import and what the global scope started (the warm-up), until the process is idle.
const idle = () => new Promise((r) => setTimeout(r, 0));
const t0 = cpuMs();
const mod = await import(pathToFileURL(bundle).href);
for (let i = 0; i < 5; i++) await idle();
const loadMs = cpuMs() - t0;

const env = { UPSTREAM: 'https://registry-1.docker.io', LOG: 'errors' };
const ask = async (path, want) => {
  const r = await mod.default.fetch(new Request(`https://m.example${path}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }), {}, env);
  await r.arrayBuffer();
  if (r.status !== want) throw new Error(`${path}: ${r.status}, want ${want}\n${logged.join('\n')}`);
};
// The first request a docker pull makes (the ping, going upstream), then its token request.
const t1 = cpuMs();
await ask('/v2/', 401);
const firstMs = cpuMs() - t1;
await ask('/token?scope=repository:library/nginx:pull&service=m.example', 200);
const tokenMs = cpuMs() - t1 - firstMs;
const N = Number(process.env.ESA_LOAD_STEADY_N || 200);
const t2 = cpuMs();
for (let i = 0; i < N; i++) await ask('/v2/library/nginx/manifests/latest', 200);
const steadyMs = (cpuMs() - t2) / N;
console.log = log;
// Which engine served, as the bundle says it.
const engine = logged.some((l) => l.includes('using the JS fallback')) ? 'wasm2js' : 'wasm';
console.log(JSON.stringify({ engine, loadMs: +loadMs.toFixed(2), firstMs: +firstMs.toFixed(2), tokenMs: +tokenMs.toFixed(2), steadyMs: +steadyMs.toFixed(3) }));

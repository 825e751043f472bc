#!/usr/bin/env node
// A local stand-in for Alibaba Cloud ESA's edge runtime (esa-cli's own runtime downloads from
// Alibaba's CDN and is not reachable everywhere). It provides what the bundle may rely on:
//   - `export default { fetch(request, context, env) }` (the order reports of the running platform
//     give) and the older `addEventListener('fetch')`; ESA_CALL=env-first calls
//     `fetch(request, env, context)` instead, and ESA_CONTEXT says what the context holds:
//     `waituntil` (default: waitUntil + requestId), `fields` (requestId and other strings, no
//     waitUntil: undocumented, so the bundle must cope), `empty` ({}: no waitUntil at all);
//   - a global `cache` with ESA's get/put/delete (keys must be http:// URLs, TTL from the stored
//     response's Cache-Control, LRU: a get may miss);
//   - config: environment variables named like the bundle's CONFIG keys arrive in `env`;
//   - ESA's per-request budget: at most 32 subrequests (fetch + cache operations);
//   - an uncaught exception (e.g. a wasm trap in a microtask) is logged, not fatal.
// Unlike ESA it lets fetch reach 127.0.0.1 on any port (ESA allows domain names on 80/443 only).
//
// usage: node esa/host.mjs [bundle=dist/esa/index.js]
//   env: ESA_PORT (18080), ESA_WASM=off, ESA_CALL (context-first|env-first), ESA_CONTEXT (waituntil|fields|empty)
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const SUBREQUEST_LIMIT = 32;
const CACHE_ENTRIES = 256;

const bundlePath = resolve(process.argv[2] || 'dist/esa/index.js');
const port = Number(process.env.ESA_PORT || 18080);

// ESA_WASM=off: refuse to compile wasm from bytes, as some runtimes (workerd, Cloudflare) do.
// Only the synchronous constructor the bundle uses is replaced: Node's own fetch (undici)
// instantiates its HTTP parser through WebAssembly.instantiate and must keep working.
if (process.env.ESA_WASM === 'off') {
  WebAssembly.Module = function Module() {
    throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
  };
}

// Like an edge runtime (workerd logs and carries on), an exception nobody can catch -- a wasm
// trap inside a microtask, say -- is logged, not fatal to the host.
process.on('uncaughtException', (e) => console.error('esa-host: uncaught exception:', e && e.message));
process.on('unhandledRejection', (e) => console.error('esa-host: unhandled rejection:', e && e.message));

const budget = new AsyncLocalStorage();
function spend(what) {
  const b = budget.getStore();
  if (!b) return;
  b.used += 1;
  if (b.used > SUBREQUEST_LIMIT) {
    throw new Error(`ESA subrequest limit (${SUBREQUEST_LIMIT}) exceeded by ${what}`);
  }
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  spend('fetch');
  return realFetch(input, init);
};

class EsaCache {
  #entries = new Map(); // key -> { status, headers, body: Uint8Array, expires }

  #check(key) {
    const k = typeof key === 'string' ? key : key && key.url;
    if (typeof k !== 'string' || !k.startsWith('http://')) {
      throw new TypeError(`cache key must be an http:// URL, got ${JSON.stringify(k)}`);
    }
    return k;
  }

  async get(key) {
    spend('cache.get');
    const k = this.#check(key);
    const e = this.#entries.get(k);
    if (!e || e.expires < Date.now()) {
      this.#entries.delete(k);
      return undefined;
    }
    this.#entries.delete(k); // LRU: re-insert as newest
    this.#entries.set(k, e);
    return new Response(e.body, { status: e.status, headers: e.headers });
  }

  async put(key, response) {
    spend('cache.put');
    const k = this.#check(key);
    const cc = response.headers.get('cache-control') || '';
    const maxAge = /max-age=(\d+)/.exec(cc);
    const ttl = maxAge ? Number(maxAge[1]) : 0;
    const body = new Uint8Array(await response.arrayBuffer());
    if (ttl <= 0 || /no-store|private/.test(cc)) return;
    this.#entries.set(k, {
      status: response.status,
      headers: [...response.headers],
      body,
      expires: Date.now() + ttl * 1000,
    });
    while (this.#entries.size > CACHE_ENTRIES) this.#entries.delete(this.#entries.keys().next().value);
  }

  async delete(key) {
    spend('cache.delete');
    return this.#entries.delete(this.#check(key));
  }
}
globalThis.cache = new EsaCache();

// The older service-worker style entry.
let listener = null;
globalThis.addEventListener = (type, fn) => {
  if (type === 'fetch') listener = fn;
};

const mod = await import(pathToFileURL(bundlePath).href);

// env: environment variables named like the CONFIG keys at the top of the bundle.
const configKeys = new Set();
const configBlock = /const CONFIG = \{([\s\S]*?)\n\};/.exec(readFileSync(bundlePath, 'utf8'));
if (configBlock) for (const m of configBlock[1].matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)) configKeys.add(m[1]);
configKeys.add('WHITE_LIST'); // documented alias of USER_WHITELIST
const env = {};
for (const k of configKeys) if (process.env[k] !== undefined) env[k] = process.env[k];

const CALL = process.env.ESA_CALL || 'context-first';
const CONTEXT = process.env.ESA_CONTEXT || 'waituntil';
if (!['context-first', 'env-first'].includes(CALL)) throw new Error(`ESA_CALL=${CALL}: context-first or env-first`);
if (!['waituntil', 'fields', 'empty'].includes(CONTEXT)) throw new Error(`ESA_CONTEXT=${CONTEXT}: waituntil, fields or empty`);
let requestCount = 0;

function makeContext(pending) {
  const fields = { requestId: `esa-${process.pid}-${++requestCount}`, clientIp: '127.0.0.1', region: 'cn-hangzhou' };
  if (CONTEXT === 'empty') return {};
  if (CONTEXT === 'fields') return fields;
  return { ...fields, waitUntil: (p) => pending.push(p) };
}

async function dispatch(request) {
  const pending = [];
  const ctx = makeContext(pending);
  if (mod.default && typeof mod.default.fetch === 'function') {
    return CALL === 'env-first' ? mod.default.fetch(request, env, ctx) : mod.default.fetch(request, ctx, env);
  }
  if (listener) {
    let responded = null;
    listener({ request, respondWith: (r) => (responded = r), waitUntil: ctx.waitUntil || (() => {}) });
    if (!responded) throw new Error('fetch listener did not call respondWith');
    return responded;
  }
  throw new Error('bundle has neither export default { fetch } nor a fetch listener');
}

const server = createServer((req, res) => {
  const url = `http://${req.headers.host || `127.0.0.1:${port}`}${req.url}`;
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: hasBody ? 'half' : undefined,
  });
  budget.run({ used: 0 }, async () => {
    try {
      const response = await dispatch(request);
      const out = {};
      for (const [k, v] of response.headers) out[k] = v;
      res.writeHead(response.status, out);
      if (!response.body || req.method === 'HEAD') {
        res.end();
        return;
      }
      const body = Readable.fromWeb(response.body);
      body.on('error', () => res.destroy());
      body.pipe(res);
    } catch (e) {
      console.error('esa-host: handler failed:', e && e.stack ? e.stack : e);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('esa-host: handler failed\n');
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`esa-host: ${bundlePath} on http://127.0.0.1:${port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500));

#!/usr/bin/env node
// A strict local stand-in for Alibaba Cloud ESA's edge runtime (esa-cli's own runtime downloads
// from Alibaba's CDN and is not reachable everywhere). By default it enforces what ESA documents
// and third-party reports of the running platform describe; every knob is an environment
// variable, so tests can also try what the documents leave open.
//
//   call shape    `export default { fetch(request, context, env) }` (ESA_CALL=env-first: the
//                 Workers order) or `addEventListener('fetch')`. ESA_CONTEXT: `waituntil`
//                 (default: waitUntil + requestId), `fields` (requestId and other strings, no
//                 waitUntil), `empty` ({}).
//   config        environment variables named like the bundle's CONFIG keys arrive in `env`;
//                 ESA_VARS=A,B adds keys (for a bundle without a CONFIG block, e.g. a baseline).
//   CPU           ESA_CPU_MS (5; 50 or 100 in the console) per request, ESA_INIT_MS (50) for
//                 loading the bundle. Counted as the time each callback that belongs to the
//                 request holds the thread (an upper bound), until its response headers are ready
//                 (what streams a body afterwards is the runtime's own work on ESA, and Node's
//                 JS streams here would swamp it). ESA_CPU=report (default) logs a request over
//                 its slice; ESA_CPU=fail answers it with a 500, as ESA does. Node's own fetch is
//                 JavaScript and is counted, so this is an upper bound; `make bench` measures the
//                 bundle's own share with the V8 profiler.
//   names         fetch reaches domain names on ports 80 and 443 only; ESA_HOSTS
//                 (`name=127.0.0.1:port,...`) maps test servers' names to loopback addresses, and
//                 their own URLs in what they answer (Location, WWW-Authenticate realms) are
//                 rewritten to those names, so the bundle never sees an address. ESA_NAMES=off
//                 lets fetch reach any address and port (`make esa-dev` against a local registry).
//   subrequests   ESA_SUBREQUESTS (32) per request, fetch and cache operations alike (the core
//                 follows redirects itself, so each hop is one); ESA_INFLIGHT (4) at once; URLs
//                 up to ESA_URL_MAX (4096) bytes; over a limit the call throws.
//   lifetime      ESA_WALL_MS (120000): a response still streaming then is cut.
//                 ESA_THROTTLE_KBPS: a slow client link (so a test's layer outlasts the limit).
//   memory        ESA_MEMORY_MB (128): the bundle runs in a worker thread with that heap.
//   missing APIs  ESA_REMOVE=WebAssembly,randomUUID,TransformStream,tee removes them before the
//                 bundle loads (ESA_WASM=off: WebAssembly.Module refuses bytes, as workerd does).
//   cache         a global `cache` (get/put/delete; http:// keys; TTL from Cache-Control; LRU
//                 of ESA_CACHE_ENTRIES). ESA_CACHE_QUIRKS: `no-delete` (delete is missing),
//                 `drop-headers` (only standard headers are kept), `max-bytes=N` (bigger puts
//                 are silently dropped). ESA_CACHE_DIR: entries are kept as files there,
//                 written as they stream (ESA's cache is not in the isolate's memory; for
//                 tests that measure the isolate's own).
//   TLS           ESA_SCHEME=https: request URLs as ESA shows them (https://; default http,
//                 since local clients speak plain HTTP to the host).
//   errors        an exception nobody catches fails the request it belongs to (500, or a cut
//                 body), and the host carries on.
//   profiling     ESA_PROFILE=1 (for `make bench`): requests run one at a time under the V8
//                 profiler, and each logs the CPU of the bundle's own code (its JS and wasm, body
//                 streaming included), of Node's (fetch, streams: native on ESA) and of GC.
//   readiness     GET /__esa-host/ready is answered by the host itself, so the first request
//                 the bundle sees is a test's own; GET /__esa-host/memory the isolate's heap
//                 and array buffers (bytes), for tests of what a request holds.
// usage: node esa/host.mjs [bundle=dist/esa/index.js]    (ESA_PORT, default 18080)
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { Session } from 'node:inspector/promises';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread } from 'node:worker_threads';

const num = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: a number`);
  return n;
};
const LIMITS = {
  cpuMs: num('ESA_CPU_MS', 5),
  initMs: num('ESA_INIT_MS', 50),
  subrequests: num('ESA_SUBREQUESTS', 32),
  inflight: num('ESA_INFLIGHT', 4),
  urlMax: num('ESA_URL_MAX', 4096),
  wallMs: num('ESA_WALL_MS', 120000),
  memoryMb: num('ESA_MEMORY_MB', 128),
  cacheEntries: num('ESA_CACHE_ENTRIES', 256),
  throttleKbps: num('ESA_THROTTLE_KBPS', 0),
};
const CPU_MODE = process.env.ESA_CPU || 'report';
if (!['report', 'fail'].includes(CPU_MODE)) throw new Error(`ESA_CPU=${CPU_MODE}: report or fail`);


async function runHost() {
  const bundlePath = resolve(process.argv[2] || 'dist/esa/index.js');
  const port = Number(process.env.ESA_PORT || 18080);
  // The time a callback holds this thread: the kernel's per-thread CPU clock advances in
  // scheduler ticks here (threadCpuUsage reads 0 for a 200 us loop), too coarse for one callback.
  // Wall time inside a synchronous callback is its CPU time, unless the thread is preempted:
  // an upper bound.
  const cpuNow = () => performance.now();

  removeApis();

  // Per-request accounting: each request's store owns the async resources created under it.
  const requests = new AsyncLocalStorage();
  const owner = new Map();
  let depth = 0;
  let running = null; // the store whose callback is on the stack
  let since = 0;
  createHook({
    init(id) {
      const s = requests.getStore();
      if (s) owner.set(id, s);
    },
    before(id) {
      if (depth++ === 0) {
        running = owner.get(id) || null;
        if (running) since = cpuNow();
      }
    },
    after() {
      if (--depth === 0 && running) {
        if (running.counting) running.cpu += cpuNow() - since;
        running = null;
      }
    },
    destroy(id) {
      owner.delete(id);
    },
  }).enable();

  const failRequest = (s, why) => {
    if (!s || s.failed) return;
    s.failed = why;
    console.error(`esa-host: request failed: ${why}`);
    if (!s.res.headersSent) {
      s.res.writeHead(500, { 'content-type': 'text/plain' });
      s.res.end(`esa-host: ${why}\n`);
    } else s.res.destroy();
  };
  // An exception nobody catches (a wasm trap in a microtask, say) fails its request only.
  process.on('uncaughtException', (e) => failRequest(running || requests.getStore(), `uncaught exception: ${e && e.message}`));
  process.on('unhandledRejection', (e) => failRequest(running || requests.getStore(), `unhandled rejection: ${e && e.message}`));

  const subrequest = async (what, url, call) => {
    const s = requests.getStore();
    if (s) {
      if (++s.subrequests > LIMITS.subrequests) throw new Error(`ESA subrequest limit (${LIMITS.subrequests}) exceeded by ${what}`);
      if (s.inflight + 1 > LIMITS.inflight) throw new Error(`ESA concurrent subrequest limit (${LIMITS.inflight}) exceeded by ${what}`);
    }
    if (url !== undefined && String(url).length > LIMITS.urlMax) throw new TypeError(`ESA: ${what} URL longer than ${LIMITS.urlMax} bytes`);
    if (s) s.inflight++;
    try {
      return await call();
    } finally {
      if (s) s.inflight--;
    }
  };

  const realFetch = globalThis.fetch;
  const names = domainNames();
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input && input.url;
    return subrequest('fetch', url, () => (names ? names.fetch(realFetch, url, init) : realFetch(input, init)));
  };
  globalThis.cache = new EsaCache(subrequest);

  // The older service-worker style entry.
  let listener = null;
  globalThis.addEventListener = (type, fn) => {
    if (type === 'fetch') listener = fn;
  };

  // Only the bundle's own load counts: Node loads its fetch and text classes (the runtime's
  // native code on ESA) lazily, ~20-35 ms on first use, so they are made before the clock starts.
  new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode('x'));
  await new Response(new Request('http://esa-host.invalid/', { method: 'POST', body: 'x', headers: new Headers({ a: 'b' }) }).body).text();
  const initFrom = cpuNow();
  const mod = await import(pathToFileURL(bundlePath).href);
  const initMs = cpuNow() - initFrom;
  const initOver = initMs > LIMITS.initMs;
  console.log(`esa-host: bundle loaded in ${initMs.toFixed(1)} ms CPU (limit ${LIMITS.initMs} ms)${initOver ? ' EXCEEDED' : ''}`);
  if (initOver && CPU_MODE === 'fail') {
    console.error('esa-host: global-scope init over its CPU budget: ESA would not start this function');
    process.exit(1);
  }

  const env = configEnv(bundlePath);
  // ESA terminates TLS: the function sees https:// URLs. Local clients speak plain HTTP, so the
  // default is http; ESA_SCHEME=https shows the bundle what ESA does.
  const SCHEME = process.env.ESA_SCHEME || 'http';
  if (!['http', 'https'].includes(SCHEME)) throw new Error(`ESA_SCHEME=${SCHEME}: http or https`);
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

  function dispatch(request) {
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

  const profiler = process.env.ESA_PROFILE === '1' ? await startProfiler(pathToFileURL(bundlePath).href) : null;
  let queue = Promise.resolve();

  const server = createServer((req, res) => {
    if (req.url === '/__esa-host/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ready\n');
      return;
    }
    if (req.url === '/__esa-host/memory') {
      // The isolate's own memory (this worker thread's heap and array buffers: what ESA's
      // 128 MB limit is about), not the process's, which holds Node's own and a file cache.
      const m = process.memoryUsage();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external }));
      return;
    }
    if (profiler) {
      // One at a time, so that every sample belongs to this request.
      queue = queue.then(async () => {
        await profiler.start();
        const done = new Promise((r) => res.on('close', r));
        serve(req, res);
        await done;
        const p = await profiler.stop();
        console.log(`esa-host: profile ${req.method} ${req.url} bundle=${p.bundle.toFixed(2)} node=${p.node.toFixed(2)} gc=${p.gc.toFixed(2)} ms`);
      });
      return;
    }
    serve(req, res);
  });

  function serve(req, res) {
    const url = `${SCHEME}://${req.headers.host || `127.0.0.1:${port}`}${req.url}`;
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: hasBody ? 'half' : undefined,
    });
    const s = { res, cpu: 0, counting: true, subrequests: 0, inflight: 0, failed: null };
    const wall = setTimeout(() => {
      if (!res.writableEnded) {
        console.error(`esa-host: ${req.method} ${req.url}: cut at the ${LIMITS.wallMs} ms response limit`);
        s.failed = 'wall clock';
        res.destroy();
      }
    }, LIMITS.wallMs);
    res.on('close', () => {
      clearTimeout(wall);
      // Background cache writes end shortly after the body: count them in.
      setTimeout(() => console.log(`esa-host: ${req.method} ${req.url}: ${s.subrequests} subrequests`), 500).unref();
    });
    requests.run(s, async () => {
      try {
        const from = cpuNow();
        const pending = dispatch(request);
        s.cpu += cpuNow() - from;
        const response = await pending;
        s.counting = false;
        if (s.failed) return;
        const cpu = `cpu ${s.cpu.toFixed(2)} ms`;
        if (s.cpu > LIMITS.cpuMs) {
          console.error(`esa-host: ${req.method} ${req.url}: ${cpu} over the ${LIMITS.cpuMs} ms slice`);
          if (CPU_MODE === 'fail') return failRequest(s, `CPU slice exceeded (${cpu} > ${LIMITS.cpuMs} ms)`);
        }
        const out = { 'x-esa-host-cpu-ms': s.cpu.toFixed(3) };
        for (const [k, v] of response.headers) out[k] = v;
        res.writeHead(response.status, out);
        if (!response.body || req.method === 'HEAD') {
          res.end();
          return;
        }
        const body = Readable.fromWeb(response.body);
        body.on('error', () => res.destroy());
        if (LIMITS.throttleKbps) body.pipe(throttle(LIMITS.throttleKbps * 1024)).pipe(res);
        else body.pipe(res);
      } catch (e) {
        console.error('esa-host: handler failed:', e && e.stack ? e.stack : e);
        failRequest(s, 'handler failed');
      }
    });
  }
  server.listen(port, '127.0.0.1', () => {
    console.log(`esa-host: ${bundlePath} on http://127.0.0.1:${port}`);
  });
}

/**
 * ESA's rule for fetch (domain names, ports 80/443) over the loopback servers of a test: null
 * when ESA_NAMES=off.
 */
function domainNames() {
  if (process.env.ESA_NAMES === 'off') return null;
  const toAddress = new Map(); // name -> 'ip:port'
  for (const entry of (process.env.ESA_HOSTS || '').split(',').filter(Boolean)) {
    const m = /^([a-z0-9.-]+)=(127\.\d+\.\d+\.\d+:\d+)$/.exec(entry.trim());
    if (!m) throw new Error(`ESA_HOSTS: ${entry}: name=127.x.x.x:port`);
    toAddress.set(m[1], m[2]);
  }
  const toName = new Map([...toAddress].map(([n, a]) => [a, n]));
  const named = (text) => text.replace(/http:\/\/(127\.\d+\.\d+\.\d+:\d+)/g, (m, a) => (toName.has(a) ? `http://${toName.get(a)}` : m));
  const ipLiteral = (h) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.startsWith('[');
  return {
    async fetch(realFetch, url, init) {
      const u = new URL(url);
      if (ipLiteral(u.hostname) || (u.port && u.port !== '80' && u.port !== '443')) {
        throw new TypeError(`ESA: fetch reaches domain names on ports 80 and 443 only, not ${u.host}`);
      }
      const address = toAddress.get(u.hostname);
      const target = address ? `http://${address}${u.pathname}${u.search}` : url;
      const resp = await realFetch(target, init);
      if (!address) return resp;
      const headers = new Headers(resp.headers);
      for (const h of ['location', 'www-authenticate']) if (headers.has(h)) headers.set(h, named(headers.get(h)));
      const nullBody = [101, 204, 205, 304].includes(resp.status);
      return new Response(nullBody ? null : resp.body, { status: resp.status, statusText: resp.statusText, headers });
    },
  };
}

/** Passes chunks on at `bytesPerSecond`. */
function throttle(bytesPerSecond) {
  let next = performance.now();
  return new Transform({
    transform(chunk, _enc, done) {
      const now = performance.now();
      next = Math.max(next, now) + (chunk.length / bytesPerSecond) * 1000;
      setTimeout(() => done(null, chunk), next - now);
    },
  });
}

/** The V8 profiler on this thread: start(), then stop() -> ms of { bundle, node, gc }. */
async function startProfiler(bundleUrl) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  return {
    start: () => session.post('Profiler.start'),
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      const kind = new Map();
      for (const n of profile.nodes) {
        const f = n.callFrame;
        if (f.url === bundleUrl || f.url.startsWith('wasm://')) kind.set(n.id, 'bundle');
        else if (f.functionName === '(garbage collector)') kind.set(n.id, 'gc');
        else if (f.functionName === '(idle)' || f.functionName === '(program)' || f.functionName === '(root)') kind.set(n.id, 'idle');
        else kind.set(n.id, 'node');
      }
      const ms = { bundle: 0, node: 0, gc: 0, idle: 0 };
      profile.samples.forEach((id, i) => (ms[kind.get(id)] += (profile.timeDeltas[i + 1] ?? 0) / 1000));
      return ms;
    },
  };
}

function removeApis() {
  // ESA_WASM=off: refuse to compile wasm from bytes, as some runtimes (workerd) do. Only the
  // synchronous constructor the bundle uses: Node's own fetch instantiates its HTTP parser
  // through WebAssembly.instantiate and must keep working.
  if (process.env.ESA_WASM === 'off') {
    WebAssembly.Module = function Module() {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    };
  }
  const remove = (process.env.ESA_REMOVE || '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const api of remove) {
    if (api === 'WebAssembly') {
      // Node's own fetch instantiates its HTTP parser through the global on every connection:
      // it keeps `instantiate`, nothing the bundle could compile bytes with. (The bundle with
      // no WebAssembly at all is tested in-process, tests/e2e/config-values.test.mjs.)
      const { instantiate } = WebAssembly;
      globalThis.WebAssembly = { instantiate };
    } else if (api === 'randomUUID') {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
    } else if (api === 'TransformStream') {
      delete globalThis.TransformStream;
    } else if (api === 'tee') {
      Object.defineProperty(ReadableStream.prototype, 'tee', { value: undefined, configurable: true });
    } else {
      throw new Error(`ESA_REMOVE: unknown API ${api}`);
    }
  }
}

// env: environment variables named like the CONFIG keys at the top of the bundle.
function configEnv(bundlePath) {
  const configKeys = new Set();
  const configBlock = /const CONFIG = \{([\s\S]*?)\n\};/.exec(readFileSync(bundlePath, 'utf8'));
  if (configBlock) for (const m of configBlock[1].matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)) configKeys.add(m[1]);
  configKeys.add('WHITE_LIST'); // documented alias of USER_WHITELIST
  for (const k of (process.env.ESA_VARS || '').split(',')) if (k.trim()) configKeys.add(k.trim());
  const env = {};
  for (const k of configKeys) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

const STANDARD_HEADERS = new Set(['content-type', 'content-length', 'cache-control', 'etag', 'last-modified', 'date', 'expires', 'content-encoding']);

const CACHE_DIR = process.env.ESA_CACHE_DIR || '';
let cacheFiles = 0;

/** A body streamed into a file under ESA_CACHE_DIR: { file, byteLength }. */
async function toFile(body) {
  const file = join(CACHE_DIR, `entry-${process.pid}-${++cacheFiles}`);
  let byteLength = 0;
  const out = createWriteStream(file);
  if (body) {
    for await (const chunk of body) {
      byteLength += chunk.byteLength;
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return { file, byteLength };
}

class EsaCache {
  #entries = new Map(); // key -> { status, headers, body: Uint8Array, expires }
  #quirks = new Set((process.env.ESA_CACHE_QUIRKS || '').split(',').map((s) => s.trim()).filter(Boolean));
  #maxBytes = Infinity;
  #subrequest;

  constructor(subrequest) {
    this.#subrequest = subrequest;
    for (const q of this.#quirks) {
      const m = /^max-bytes=(\d+)$/.exec(q);
      if (m) this.#maxBytes = Number(m[1]);
      else if (!['no-delete', 'drop-headers'].includes(q)) throw new Error(`ESA_CACHE_QUIRKS: unknown quirk ${q}`);
    }
    if (this.#quirks.has('no-delete')) this.delete = undefined;
  }

  #check(key) {
    const k = typeof key === 'string' ? key : key && key.url;
    if (typeof k !== 'string' || !k.startsWith('http://')) {
      throw new TypeError(`cache key must be an http:// URL, got ${JSON.stringify(k)}`);
    }
    return k;
  }

  get(key) {
    return this.#subrequest('cache.get', undefined, async () => {
      const k = this.#check(key);
      const e = this.#entries.get(k);
      if (!e || e.expires < Date.now()) {
        this.#entries.delete(k);
        return undefined;
      }
      this.#entries.delete(k); // LRU: re-insert as newest
      this.#entries.set(k, e);
      const body = e.body.file ? Readable.toWeb(createReadStream(e.body.file)) : e.body;
      return new Response(body, { status: e.status, headers: e.headers });
    });
  }

  put(key, response) {
    return this.#subrequest('cache.put', undefined, async () => {
      const k = this.#check(key);
      const cc = response.headers.get('cache-control') || '';
      const maxAge = /max-age=(\d+)/.exec(cc);
      const ttl = maxAge ? Number(maxAge[1]) : 0;
      const body = CACHE_DIR ? await toFile(response.body) : new Uint8Array(await response.arrayBuffer());
      if (ttl <= 0 || /no-store|private/.test(cc) || body.byteLength > this.#maxBytes) return;
      let headers = [...response.headers];
      if (this.#quirks.has('drop-headers')) headers = headers.filter(([h]) => STANDARD_HEADERS.has(h));
      this.#entries.set(k, { status: response.status, headers, body, expires: Date.now() + ttl * 1000 });
      while (this.#entries.size > LIMITS.cacheEntries) this.#entries.delete(this.#entries.keys().next().value);
    });
  }

  delete(key) {
    return this.#subrequest('cache.delete', undefined, async () => this.#entries.delete(this.#check(key)));
  }
}

if (isMainThread) {
  // The memory cap: the whole host runs in a worker thread with ESA's heap size.
  const worker = new Worker(fileURLToPath(import.meta.url), {
    argv: process.argv.slice(2),
    resourceLimits: { maxOldGenerationSizeMb: LIMITS.memoryMb, maxYoungGenerationSizeMb: 16 },
  });
  worker.on('error', (e) => {
    console.error(`esa-host: the isolate died: ${e && (e.code || '')} ${e && e.message}`);
    process.exit(1);
  });
  worker.on('exit', (code) => process.exit(code));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => worker.terminate().then(() => process.exit(0)));
} else {
  await runHost();
}

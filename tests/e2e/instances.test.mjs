// The shim's instances in one process, with the real glue and wasm (js-shim/proxy.js): after a
// panic the glue's one `wasm` is the next instance's, so a dead instance's await that settles
// later must not call into it (its callbacks carry the dead instance's pointers); and an await
// the runtime never settles is failed after MAX_WAIT_MS rather than kept in wasm memory.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_WAIT_MS, createProxy } from '../../js-shim/proxy.js';
import { ROOT } from './harness/procs.mjs';

const module = new WebAssembly.Module(readFileSync(`${ROOT}/dist/wasm/proxy_bg.wasm`));
let made = 0;
const handle = createProxy((imports) => {
  made++;
  return { exports: new WebAssembly.Instance(module, imports).exports, engine: 'wasm' };
});
const config = [{ UPSTREAM: 'docker.io@http://127.0.0.1:9', DEBUG_PANIC: 'on', LOG: 'off' }];

// An upstream in memory: an open registry; `/fast-N` answers at once announcing N pulls
// remaining (a pull limit the instance keeps for /version); `/slow-…` waits for `release`.
const held = new Map();
async function fetchImpl(url) {
  const json = (status, body, headers = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', ...headers } });
  const slow = /\/(slow-[\w-]+)\//.exec(url)?.[1];
  if (slow) return new Promise((resolve) => held.set(slow, resolve));
  const marker = /\/fast-(\d+)\//.exec(url)?.[1];
  if (marker) return json(200, {}, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${marker};w=21600` });
  return json(200, {});
}
const ask = (path) => handle(new Request(`http://mirror.test${path}`), config, { fetchImpl });
const manifest = (repo) => ask(`/v2/library/${repo}/manifests/latest`);
const errorCode = async (r) => JSON.parse(await r.text()).errors[0].code;
const remaining = async () => (await (await ask('/version')).json()).instance.pull_limits.map((l) => l.remaining).join(',');
const ticks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};
async function arrived(name) {
  for (let i = 0; i < 200 && !held.has(name); i++) await ticks(1);
  assert.ok(held.has(name), `the upstream never saw ${name}`);
}
const release = (name, status, code) =>
  held.get(name)(new Response(JSON.stringify({ errors: [{ code, message: name }] }), { status, headers: { 'content-type': 'application/json' } }));

test("a dead instance's await that settles later runs nothing in the new instance", async () => {
  for (let round = 1; round <= 5; round++) {
    const inFlight = manifest(`slow-old-${round}`);
    await arrived(`slow-old-${round}`);
    const before = made;
    const panic = await ask('/__panic');
    assert.equal(panic.status, 500);
    const failed = await inFlight;
    assert.equal(failed.status, 500, 'failed at once, not when its upstream answers');
    assert.equal(await errorCode(failed), 'UNKNOWN');
    const marker = String(40 + round);
    assert.equal((await manifest(`fast-${marker}`)).status, 200);
    assert.equal(made, before + 1, 'one fresh instance');
    const next = manifest(`slow-new-${round}`);
    await arrived(`slow-new-${round}`);
    // The dead instance's upstream answers now: its future's callbacks must not run.
    release(`slow-old-${round}`, 404, 'NAME_UNKNOWN');
    await ticks();
    release(`slow-new-${round}`, 404, 'MANIFEST_UNKNOWN');
    const fresh = await next;
    assert.equal(fresh.status, 404);
    assert.equal(await errorCode(fresh), 'MANIFEST_UNKNOWN', "the new request's own answer");
    assert.equal(made, before + 1, 'the new instance was not replaced again');
    assert.equal(await remaining(), `${marker};w=21600`, 'and still knows what it learned');
  }
});

test('an await the runtime never settles is failed after MAX_WAIT_MS, and its request answers', async () => {
  const realNow = Date.now;
  let now = realNow();
  Date.now = () => now;
  try {
    const stuck = manifest('slow-stuck');
    await arrived('slow-stuck');
    let answered = null;
    stuck.then((r) => (answered = r));
    now += MAX_WAIT_MS - 1000;
    assert.equal((await manifest('fast-1')).status, 200);
    await ticks();
    assert.equal(answered, null, 'within the limit the await stays');
    now += 2000;
    assert.equal((await manifest('fast-2')).status, 200);
    const r = await stuck;
    assert.ok(r.status >= 500 && r.status < 600, `a registry error (${r.status})`);
    assert.match(await r.text(), /"errors"/);
  } finally {
    Date.now = realNow;
  }
});

// ESA may lack `queueMicrotask` (its documents do not say). The shim never calls the runtime's: it
// schedules the executor's polls itself (js-shim/proxy.js `guardedImports`). Node's own fetch
// needs the global, so the ESA host cannot remove it; a fresh proxy in this process can run
// without it, with its in-memory upstream. Last in this file: it takes over the panic hook.
test('without a global queueMicrotask, a fresh instance answers', async () => {
  const own = Object.getOwnPropertyDescriptor(globalThis, 'queueMicrotask');
  delete globalThis.queueMicrotask;
  try {
    const bare = createProxy((imports) => ({ exports: new WebAssembly.Instance(module, imports).exports, engine: 'wasm' }));
    const r = await bare(new Request('http://mirror.test/v2/library/fast-7/manifests/latest'), config, { fetchImpl });
    assert.equal(r.status, 200);
    assert.equal(typeof globalThis.queueMicrotask, 'undefined', 'the global stays as the runtime had it');
  } finally {
    Object.defineProperty(globalThis, 'queueMicrotask', own);
  }
});

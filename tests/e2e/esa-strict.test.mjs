// The ESA bundle in the strict ESA host (esa/host.mjs), under what ESA leaves undocumented:
// APIs missing, a context without waitUntil, a cache that drops headers, has no delete or caps
// objects, and a response cut at ESA's wall clock. Each variant pulls real images with skopeo
// (bytes checked against what was pushed) and says what its cache did. Every other e2e file runs
// the bundle in the same host's defaults (the documented limits: servers by domain name on port
// 80, 32 subrequests, 4 in flight, 128 MB, 120 s, the CPU slice reported).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { skopeoPull, startDockerd } from './harness/engines.mjs';
import { startFaultProxy } from './harness/faultproxy.mjs';
import { seedImages } from './harness/images.mjs';
import { sleep } from './harness/procs.mjs';
import { startEsaHost } from './harness/runtimes.mjs';
import { startUpstream } from './harness/upstream.mjs';

const SECRET = 'strict-esa-secret-0123456789abcd';
let up;
let images;
const hosts = {};

const VARIANTS = {
  // Everything the shim degrades around: wasm2js, no layer stored (no tee), no cached ranges.
  'no WebAssembly, randomUUID, TransformStream or tee': { env: { ESA_REMOVE: 'WebAssembly,randomUUID,TransformStream,tee' }, engine: 'wasm2js', layerHit: false },
  'context with fields but no waitUntil': { context: 'fields', layerHit: true },
  'empty context, env before it': { context: 'empty', call: 'env-first', layerHit: true },
  // x-erp-* headers lost: layers can never be shown committed, so they are never served from
  // the cache (a truncated one could not be told apart); tags are always revalidated.
  'cache drops custom headers and has no delete': { env: { ESA_CACHE_QUIRKS: 'no-delete,drop-headers' }, layerHit: false, tagHit: false },
  'cache refuses objects over 1 MiB': { env: { ESA_CACHE_QUIRKS: 'max-bytes=1048576' }, layerHit: false },
};

before(async () => {
  up = await startUpstream('strict-upstream');
  images = await seedImages(up, { bigMiB: 6, only: ['library/tiny', 'library/big'] });
  const vars = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, big', TOKEN_SECRET: SECRET, CACHE: 'on' };
  await Promise.all(
    Object.entries(VARIANTS).map(async ([name, v], i) => {
      hosts[name] = await startEsaHost(`strict-esa-${i}`, vars, { call: v.call, context: v.context, env: v.env });
    }),
  );
});

after(async () => {
  await Promise.all(Object.values(hosts).map((h) => h.stop()));
  await up?.stop();
});

const hostOf = (url) => url.replace(/^http:\/\//, '');
// The proxy's log lines for GETs of `path` (logged paths may be shortened): "status label".
const labels = (h, path) =>
  [...h.proc.log().matchAll(/GET "([^"]+)" -> (\d+)(?: cache=(\w+))?/g)]
    .filter((m) => path.startsWith(m[1].replace(/…$/, '')))
    .map((m) => `${m[2]} ${m[3] || ''}`.trim())
    .filter((l) => l !== '401'); // challenges before each token

for (const [name, v] of Object.entries(VARIANTS)) {
  describe(`strict ESA host: ${name}`, () => {
    test('pulls by tag twice, bytes as pushed; the cache does what it can', async () => {
      const h = hosts[name];
      const token = (await (await fetch(`${h.url}/token?scope=repository:library/tiny:pull`)).json()).token;
      const probe = await fetch(`${h.url}/v2/library/tiny/manifests/latest`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(probe.status, 200, await probe.text());
      const engine = (await fetch(`${h.url}/version`)).headers.get('x-proxy-engine');
      assert.equal(engine, v.engine || 'wasm');
      for (let round = 0; round < 2; round++) {
        for (const repo of ['library/tiny', 'library/big']) {
          const r = await skopeoPull(`${hostOf(h.url)}/${repo}:latest`);
          assert.equal(r.code, 0, `${repo} round ${round}: ${r.stderr}`);
          assert.equal(r.files['manifest.json'], images[repo].digest);
          for (const l of images[repo].layers) assert.equal(r.files[l.slice(7)], l, `${repo} layer`);
        }
        await sleep(500); // background puts finish
      }
      const layer = images['library/big'].layers[0];
      const layerGets = labels(h, `/v2/library/big/blobs/${layer}`);
      assert.deepEqual(layerGets, ['200 MISS', v.layerHit ? '200 HIT' : '200 MISS'], 'the 6 MiB layer, twice');
      const tagGets = labels(h, '/v2/library/tiny/manifests/latest');
      assert.equal(tagGets.at(-1), v.tagHit === false ? '200 MISS' : '200 HIT', `tag answers: ${tagGets}`);
      assert.doesNotMatch(h.proc.log(), /uncaught|unhandled|handler failed|subrequest limit|isolate died/);
    });
  });
}

describe("a layer that outlasts ESA's response limit", () => {
  let host;
  let engine;
  before(async () => {
    // 6 MiB at 2 MiB/s against a 1.2 s wall clock: every response is cut after ~2.4 MiB.
    host = await startEsaHost('strict-esa-wall', { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, big' }, { env: { ESA_WALL_MS: '1200', ESA_THROTTLE_KBPS: '2048' } });
    engine = await startDockerd('dockerd-strict-wall', { downloadAttempts: 5 });
  });
  after(async () => {
    await engine?.stop();
    await host?.stop();
  });

  test('docker completes it by resuming with Range (BLOB_REDIRECT=follow)', async () => {
    const ref = `${hostOf(host.url)}/library/big:latest`;
    const r = await engine.docker('pull', ref);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${host.proc.log().slice(-2000)}`);
    assert.match(host.proc.log(), /cut at the 1200 ms response limit/);
    const layer = images['library/big'].layers[0];
    const ranged = up.blobRequests.filter((b) => b.path.includes(layer.slice(7)) && b.range && b.range !== 'bytes=0-');
    assert.ok(ranged.length >= 1, 'docker asked for the rest with Range, and the proxy passed it on');
    const id = (await engine.docker('image', 'inspect', '--format', '{{.Id}}', ref)).stdout.trim();
    assert.equal(id, images['library/big'].config);
  });
});

describe('an upstream behind a CDN that gzips JSON (fetch decodes it)', () => {
  const rt = {};
  let cdn;
  before(async () => {
    cdn = await startFaultProxy(Number(new URL(up.url).port), { gzip: true });
    const vars = { UPSTREAM: `docker.io@${cdn.url}`, WHITELIST: 'tiny' };
    // (workerd's fetch asks for no encoding here, so only the ESA host, whose fetch does.)
    [rt.esa, rt.esaCache] = await Promise.all([
      startEsaHost('strict-esa-gzip', vars),
      startEsaHost('strict-esa-gzip-cache', { ...vars, CACHE: 'on', TOKEN_SECRET: SECRET }),
    ]);
  });
  after(async () => {
    await Promise.all(Object.values(rt).map((r) => r.stop()));
    await cdn?.stop();
  });

  for (const name of ['esa', 'esaCache']) {
    test(`${name}: manifests arrive whole, with a length that is theirs`, async () => {
      const before = cdn.gzipped();
      const r = await skopeoPull(`${hostOf(rt[name].url)}/tiny:latest`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.files['manifest.json'], images['library/tiny'].digest);
      assert.ok(cdn.gzipped() > before, 'the CDN compressed something on the way');
    });
  }
});

test('fetch reaches domain names on ports 80 and 443 only: an address is refused, clearly', async () => {
  const h = await startEsaHost('strict-esa-address', { UPSTREAM: 'docker.io@http://127.0.0.1:9', WHITELIST: 'tiny' });
  try {
    const r = await fetch(`${h.url}/token?scope=repository:library/tiny:pull`);
    const body = await r.json();
    assert.equal(r.status, 502);
    assert.equal(body.errors[0].code, 'UNAVAILABLE');
    assert.match(body.errors[0].message, /domain names on ports 80 and 443 only/);
  } finally {
    await h.stop();
  }
});

test('https request URLs (ESA terminates TLS): challenges and the landing page say https', async () => {
  const h = await startEsaHost('strict-esa-https', { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny' }, { env: { ESA_SCHEME: 'https' } });
  try {
    const ping = await fetch(`${h.url}/v2/`);
    assert.equal(ping.status, 401);
    assert.match(ping.headers.get('www-authenticate'), new RegExp(`^Bearer realm="https://${hostOf(h.url)}/token"`));
    const page = await (await fetch(`${h.url}/`)).text();
    assert.ok(page.includes(`&quot;registry-mirrors&quot;: [&quot;https://${hostOf(h.url)}&quot;]`), 'daemon.json names the https origin');
    const t = await fetch(`${h.url}/token?scope=repository:library/tiny:pull`);
    assert.equal(t.status, 200, await t.text());
  } finally {
    await h.stop();
  }
});

// The edge cache (CACHE=on) with real parts: caches.default in workerd, the global `cache` in
// the ESA host. Pulls must keep working with the upstream stopped, tags must refresh after
// CACHE_TAG_TTL and not before, a cut layer must never be stored, and the cache must never
// serve an unauthorized client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { skopeoPull } from './harness/engines.mjs';
import { MT, repushTag, seedImages } from './harness/images.mjs';
import { sleep } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, sha256, startUpstream } from './harness/upstream.mjs';

const SECRET = 'cache-test-secret-0123456789abcd';
const TAG_TTL = 4;
let up;
let images;
const rt = {};
let upstreamStopped = false;

before(async () => {
  up = await startUpstream('cache-upstream');
  images = await seedImages(up, { bigMiB: 3 });
  const base = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, library/multi, library/big, team/*', TOKEN_SECRET: SECRET };
  const on = { ...base, CACHE: 'on' };
  const ttl = { ...on, CACHE_TAG_TTL: String(TAG_TTL) };
  const users = { ...on, USER_WHITELIST: 'alice' };
  [rt.workerd, rt.esa, rt.workerdTtl, rt.esaTtl, rt.workerdUsers, rt.esaUsers, rt.off] = await Promise.all([
    startWorkerd('cache-workerd', on),
    startEsaHost('cache-esa', on),
    startWorkerd('cache-workerd-ttl', ttl),
    startEsaHost('cache-esa-ttl', ttl),
    startWorkerd('cache-workerd-users', users),
    startEsaHost('cache-esa-users', users),
    startWorkerd('cache-off', { UPSTREAM: `docker.io@${up.url}` }),
  ]);
});

after(async () => {
  await Promise.all(Object.values(rt).map((r) => r.stop()));
  await up?.stop();
});

const hostOf = (url) => url.replace(/^http:\/\//, '');

const pull = skopeoPull;

const pulls = {}; // runtime -> image -> files, from the online pulls

for (const name of ['workerd', 'esa']) {
  describe(`cache on ${name}`, () => {
    test('pulls populate the cache; a second request is a HIT', async () => {
      pulls[name] = {};
      for (const [ref, all] of [['tiny:latest', false], ['library/multi:latest', true], ['library/big:latest', false], ['team/app:v1', false]]) {
        const r = await pull(`${hostOf(rt[name].url)}/${ref}`, { all });
        assert.equal(r.code, 0, `${ref}: ${r.stderr}`);
        pulls[name][ref] = r.files;
      }
      assert.equal(pulls[name]['tiny:latest']['manifest.json'], images['library/tiny'].digest);
      const token = (await (await fetch(`${rt[name].url}/token?scope=repository:library/tiny:pull`)).json()).token;
      // Tags are keyed by the Accept set: the same request twice, the second a HIT.
      const getTiny = () =>
        fetch(`${rt[name].url}/v2/tiny/manifests/latest`, {
          headers: { authorization: `Bearer ${token}`, accept: `${MT.dockerManifest}, ${MT.ociManifest}` },
        });
      await (await getTiny()).arrayBuffer();
      await sleep(300); // puts finish in the background
      const m = await getTiny();
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('x-cache'), 'HIT');
      assert.equal(sha256(Buffer.from(await m.arrayBuffer())), images['library/tiny'].digest);
      const layer = images['library/tiny'].layers[0];
      const part = await fetch(`${rt[name].url}/v2/library/tiny/blobs/${layer}`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=3-12' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('x-cache'), 'HIT');
      assert.match(part.headers.get('content-range'), /^bytes 3-12\/\d+$/);
      assert.equal((await part.arrayBuffer()).byteLength, 10);
      // If-Range (RFC 9110): the layer's digest as a strong tag keeps the range; a weak tag,
      // another tag or a date gets the whole layer (200), as distribution answers.
      for (const [ifRange, want] of [[`"${layer}"`, 206], [`W/"${layer}"`, 200], ['"sha256:other"', 200], ['Wed, 21 Oct 2015 07:28:00 GMT', 200]]) {
        const r = await fetch(`${rt[name].url}/v2/library/tiny/blobs/${layer}`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=3-12', 'if-range': ifRange } });
        const body = Buffer.from(await r.arrayBuffer());
        assert.equal(r.status, want, `If-Range: ${ifRange}`);
        assert.equal(r.headers.get('x-cache'), 'HIT', ifRange);
        if (want === 200) assert.equal(sha256(body), layer, `If-Range: ${ifRange}: not the whole layer`);
        else assert.equal(body.length, 10);
      }
    });

    test('a layer cut mid-body is not stored: the next pull fetches it again, whole', async () => {
      // The users runtime has not seen library/big yet.
      const u = rt[`${name}Users`];
      const layer = images['library/big'].layers[0];
      const gets = () => up.blobRequests.filter((x) => x.path.includes(layer.slice(7)) && x.method === 'GET').length;
      const before = gets();
      up.cutNext(layer, 64 * 1024);
      const cut = await pull(`${hostOf(u.url)}/library/big:latest`, { creds: `alice:${USERS.alice}` });
      assert.notEqual(cut.code, 0, 'the cut reaches the client as an error, not as a short layer');
      const afterCut = gets();
      assert.equal(afterCut, before + 1, 'the cut request reached the blob server');
      await sleep(300);
      const again = await pull(`${hostOf(u.url)}/library/big:latest`, { creds: `alice:${USERS.alice}` });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.files[layer.slice(7)], layer);
      assert.equal(gets(), afterCut + 1, 'fetched again from the upstream, not from the cache');
      await sleep(300);
      const third = await pull(`${hostOf(u.url)}/library/big:latest`, { creds: `alice:${USERS.alice}` });
      assert.equal(third.code, 0, third.stderr);
      assert.equal(gets(), afterCut + 1, 'now served from the cache');
    });

    test('an unauthorized client gets 401 for a layer that is in the cache', async () => {
      const u = rt[`${name}Users`];
      const layer = images['library/big'].layers[0];
      const t = await fetch(`${u.url}/token?scope=repository:library/big:pull`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}` },
      });
      const token = (await t.json()).token;
      const ok = await fetch(`${u.url}/v2/library/big/blobs/${layer}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-cache'), 'HIT');
      assert.ok(Number(ok.headers.get('content-length')) > 3 * 1024 * 1024, 'HEAD from the cache has the length');
      for (const auth of [null, `Bearer ${token.slice(0, -2)}xx`, `Bearer ${await up.upstreamToken('repository:library/big:pull', 'alice')}`]) {
        const r = await fetch(`${u.url}/v2/library/big/blobs/${layer}`, { headers: auth ? { authorization: auth } : {} });
        assert.equal(r.status, 401, String(auth).slice(0, 20));
        assert.equal(JSON.parse(await r.text()).errors[0].code, 'UNAUTHORIZED');
      }
    });

    test(`a re-pushed tag is seen after CACHE_TAG_TTL (${TAG_TTL}s) and not before`, async () => {
      const tag = `ttl-${name}`;
      const first = await repushTag(up, 'team/app', tag);
      const ref = `${hostOf(rt[`${name}Ttl`].url)}/team/app:${tag}`;
      const r1 = await pull(ref);
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.files['manifest.json'], first.digest);
      const second = await repushTag(up, 'team/app', tag);
      assert.notEqual(second.digest, first.digest);
      const r2 = await pull(ref);
      assert.equal(r2.files['manifest.json'], first.digest, 'within the TTL the cached tag answer is used');
      await sleep((TAG_TTL + 1) * 1000);
      const r3 = await pull(ref);
      assert.equal(r3.code, 0, r3.stderr);
      assert.equal(r3.files['manifest.json'], second.digest, 'after the TTL the new manifest');
    });
  });
}

describe('with the upstream stopped', () => {
  before(async () => {
    await up.stop();
    upstreamStopped = true;
    const probe = await fetch(`${up.url}/v2/`).then(() => 'up', () => 'down');
    assert.equal(probe, 'down');
    await sleep((TAG_TTL + 1) * 1000); // every ttl-* tag has expired: only stale answers are left
  });

  for (const name of ['workerd', 'esa']) {
    test(`${name}: every image pulls again from the cache, same digests`, async () => {
      for (const [ref, files] of Object.entries(pulls[name])) {
        const r = await pull(`${hostOf(rt[name].url)}/${ref}`, { all: ref.startsWith('library/multi') });
        assert.equal(r.code, 0, `${ref}: ${r.stderr}`);
        assert.deepEqual(r.files, files, ref);
      }
      const d = images['library/tiny'].digest;
      const byDigest = await pull(`${hostOf(rt[name].url)}/library/tiny@${d}`);
      assert.equal(byDigest.code, 0, `a digest pull never revalidates: ${byDigest.stderr}`);
    });
  }

  for (const name of ['workerd', 'esa']) {
    test(`${name}: an expired tag is served stale when the upstream is down`, async () => {
      const r = await pull(`${hostOf(rt[`${name}Ttl`].url)}/team/app:ttl-${name}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(rt[`${name}Ttl`].proc.log(), /manifests\/ttl-[a-z]+" -> 200 cache=STALE/);
    });
  }

  test('with CACHE=off the same pull fails', async () => {
    assert.ok(upstreamStopped);
    const r = await pull(`${hostOf(rt.off.url)}/tiny:latest`);
    assert.notEqual(r.code, 0);
  });
});

// Docker Hub's pull limits (issue 29): with CACHE=on, pulls of one tag keep working within an
// anonymous budget of 10 pulls (GETs of manifests; HEADs are free), because an expired tag is
// revalidated with a HEAD and fetched again only when it changed. A local imitation of Docker
// Hub's accounting stands in front of a real registry (harness/hub-limits.mjs); docker, skopeo
// and containerd pull through the worker (workerd) and the ESA bundle (ESA host). The same pulls with the
// cache off meet Docker Hub's 429 (the imitation enforces the limit: the test can fail).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hostsDir, startContainerd } from './harness/containerd.mjs';
import { dockerImage, skopeoPull, startDockerd } from './harness/engines.mjs';
import { startHubLimits } from './harness/hub-limits.mjs';
import { repushTag, seedImages } from './harness/images.mjs';
import { nameLoopback } from './harness/names.mjs';
import { sleep } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startOpenRegistry, startUpstream } from './harness/upstream.mjs';

const TTL = 2;
const PULLS = 14; // more than the anonymous budget of 10
let up;
let hub;
let engine;
let containerd;
let refusing; // Docker Hub's accounting with nothing left: every manifest GET is a 429
let mirror; // a registry holding the same images, with no auth (as mirror.gcr.io)
let pooled; // Docker Hub's accounting: no anonymous pulls, alice and bob 3 each
const rt = {};

before(async () => {
  up = await startUpstream('pull-limits');
  await seedImages(up, { bigMiB: 1, only: ['library/tiny'] });
  hub = await startHubLimits(up.url, { anonymous: 10 });
  nameLoopback(hub.port, `hub.${up.site}`);
  refusing = await startHubLimits(up.url, { anonymous: 0 });
  nameLoopback(refusing.port, `refusing.${up.site}`);
  mirror = await startOpenRegistry('pull-limits-mirror', up.storage);
  pooled = await startHubLimits(up.url, { anonymous: 0, accounts: { alice: 3, bob: 3 } });
  nameLoopback(pooled.port, `pooled.${up.site}`);
  nameLoopback(mirror.port, 'registry.mirror.test');
  const base = { UPSTREAM: `docker.io@${hub.url}`, WHITELIST: 'tiny' };
  const cached = { ...base, CACHE: 'on', CACHE_TAG_TTL: String(TTL), TOKEN_SECRET: 'pull-limits-secret-0123456789abcdef' };
  const fallback = { UPSTREAM: `docker.io@${refusing.url}`, WHITELIST: 'tiny', FALLBACK: `docker.io=mirror.test@${mirror.url}` };
  const pool = { UPSTREAM: `docker.io@${pooled.url}`, WHITELIST: 'tiny', UPSTREAM_ACCOUNTS: `alice:${USERS.alice}, bob:${USERS.bob}`, TOKEN_SECRET: 'pull-limits-secret-0123456789abcdef' };
  [rt.workerd, rt.esa, rt.off, rt.workerdFallback, rt.esaFallback, rt.workerdPool, rt.esaPool, engine] = await Promise.all([
    startWorkerd('pull-limits-workerd', cached),
    startEsaHost('pull-limits-esa', cached),
    startWorkerd('pull-limits-off', base),
    startWorkerd('pull-limits-workerd-fallback', fallback),
    startEsaHost('pull-limits-esa-fallback', fallback),
    startWorkerd('pull-limits-workerd-pool', pool),
    startEsaHost('pull-limits-esa-pool', pool),
    startDockerd('pull-limits-docker'),
  ]);
  containerd = await startContainerd('pull-limits-containerd');
});

after(async () => {
  await Promise.all([...Object.values(rt).map((r) => r.stop()), engine?.stop(), containerd?.stop()]);
  await Promise.all([hub?.stop(), refusing?.stop(), mirror?.stop(), pooled?.stop()]);
  await up?.stop();
});

const counted = () => [...hub.pulls.values()].reduce((a, b) => a + b, 0);

for (const kind of ['workerd', 'esa']) {
  describe(`pulls within Docker Hub's anonymous limit on ${kind}, CACHE=on`, () => {
    test(`${PULLS} skopeo, docker and containerd pulls of one tag across expiries: all succeed, a changed tag is seen`, async () => {
      hub.reset();
      const host = `127.0.0.1:${rt[kind].port}`;
      const ref = `${host}/library/tiny:latest`;
      const mirror = hostsDir(`http://${host}`); // containerd's mirror mode (hosts.toml)
      const digests = new Set();
      for (let i = 0; i < PULLS; i++) {
        if (i % 3 === 2) await sleep(TTL * 1000 + 200); // the tag expires now and then
        if (i % 3 === 0) {
          const r = await skopeoPull(ref);
          assert.equal(r.code, 0, `skopeo pull ${i}: ${r.stderr.slice(-500)}`);
          digests.add(r.files['manifest.json']);
        } else if (i % 3 === 1) {
          const r = await engine.docker('pull', ref);
          assert.equal(r.code, 0, `docker pull ${i}: ${r.stderr.slice(-500)}`);
          await engine.docker('rmi', ref); // the next pull fetches the manifest again
        } else {
          const r = await containerd.ctr('images', 'pull', '--hosts-dir', mirror, '--snapshotter', 'native', 'docker.io/library/tiny:latest');
          assert.equal(r.code, 0, `ctr pull ${i}: ${r.stderr.slice(-500)}`);
          await containerd.ctr('images', 'rm', 'docker.io/library/tiny:latest');
        }
      }
      assert.equal(digests.size, 1);
      // A cold pull is one counted GET, as a direct pull; every expiry after it a HEAD.
      assert.ok(counted() <= 2, `${counted()} counted pulls: ${JSON.stringify(hub.requests.map((r) => `${r.method} ${r.status}`))}`);
      assert.ok(hub.requests.some((r) => r.method === 'HEAD'), 'no revalidation by HEAD seen');

      // Re-pushed upstream: seen once the tag has expired.
      const fresh = await repushTag(up, 'library/tiny', 'latest');
      await sleep(TTL * 1000 + 200);
      const r = await skopeoPull(ref);
      assert.equal(r.code, 0, r.stderr.slice(-500));
      assert.ok(!digests.has(r.files['manifest.json']), 'the changed tag was not seen');
      assert.equal(r.files['manifest.json'], fresh.digest);
      const pulled = await engine.docker('pull', ref);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.deepEqual((await dockerImage(engine.docker, ref)).repoDigests, [`${host}/library/tiny@${fresh.digest}`]);
      await engine.docker('rmi', ref);
    });
  });
}

for (const kind of ['workerd', 'esa']) {
  describe(`a registry refusing every pull, FALLBACK to a mirror, on ${kind}`, () => {
    test('docker and skopeo pull the image from the fallback; its answers name it', async () => {
      const { url, port } = rt[`${kind}Fallback`];
      const ref = `127.0.0.1:${port}/library/tiny:latest`;
      const s = await skopeoPull(ref);
      assert.equal(s.code, 0, s.stderr.slice(-500));
      const d = await engine.docker('pull', ref);
      assert.equal(d.code, 0, d.stderr.slice(-500));
      await engine.docker('rmi', ref);
      assert.ok(refusing.requests.some((r) => r.status === 429), 'the registry was not asked first');
      const token = (await (await fetch(`${url}/token?scope=${encodeURIComponent('repository:library/tiny:pull')}`)).json()).token;
      const m = await fetch(`${url}/v2/library/tiny/manifests/latest`, { headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('x-registry-source'), 'mirror.test');
      assert.equal(m.headers.get('docker-content-digest'), s.files['manifest.json']);
    });
  });
}

for (const kind of ['workerd', 'esa']) {
  describe(`an account pool on ${kind}`, () => {
    test("two accounts of 3 pulls serve 6 pulls; docker's 7th gets Docker Hub's 429", async () => {
      pooled.reset();
      const { port, url } = rt[`${kind}Pool`];
      const ref = `127.0.0.1:${port}/library/tiny:latest`;
      // skopeo GETs the tag's manifest on every copy (docker skips it for an image it holds).
      for (let i = 0; i < 6; i++) {
        const r = await skopeoPull(ref);
        assert.equal(r.code, 0, `pull ${i + 1}: ${r.stderr.slice(-500)}`);
      }
      assert.deepEqual(Object.fromEntries(pooled.pulls), { 'account:alice': 3, 'account:bob': 3 });
      // The 7th manifest GET: Docker Hub's own 429, its message, the earliest Retry-After.
      const token = (await (await fetch(`${url}/token?scope=${encodeURIComponent('repository:library/tiny:pull')}`)).json()).token;
      const seventh = await fetch(`${url}/v2/library/tiny/manifests/latest`, { headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
      const body = await seventh.text();
      assert.equal(seventh.status, 429, body);
      assert.match(body, /TOOMANYREQUESTS.*pull rate limit/);
      assert.ok(Number(seventh.headers.get('retry-after')) > 3000, seventh.headers.get('retry-after'));
      // docker shows that message. (docker may skip the manifest GET for an image whose content it
      // still holds, seen once in a run, so its pull is checked only when it fails.)
      await engine.docker('image', 'prune', '-af');
      const pulled = await engine.docker('pull', ref);
      if (pulled.code !== 0) assert.match(pulled.stderr, /toomanyrequests|pull rate limit/i, pulled.stderr);
      const page = await (await fetch(`${url}/`)).text();
      assert.match(page, /data-pull-limits[^<]*2\/2/, 'the landing page does not say both accounts rest');
      const v = await (await fetch(`${url}/version`)).json();
      assert.deepEqual([...v.instance.accounts_resting].sort(), ['alice', 'bob']);
      const text = JSON.stringify(v);
      assert.ok(!text.includes(USERS.alice) && !text.includes(USERS.bob), 'a token in /version');
      assert.ok(!rt[`${kind}Pool`].proc.log().includes(USERS.alice), 'a token in the log');
    });
  });
}

describe('the same pulls without the cache', () => {
  test("meet Docker Hub's 429 past the budget, passed on with its message and Retry-After", async () => {
    hub.reset();
    // docker's own steps, with a manifest GET each time (skopeo would retry a 429 for an hour).
    const base = rt.off.url;
    const token = (await (await fetch(`${base}/token?scope=${encodeURIComponent('repository:library/tiny:pull')}`)).json()).token;
    const statuses = [];
    let refused;
    for (let i = 0; i < PULLS; i++) {
      const r = await fetch(`${base}/v2/library/tiny/manifests/latest`, { headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
      statuses.push(r.status);
      const body = await r.text();
      if (r.status === 429 && !refused) refused = { body, retryAfter: r.headers.get('retry-after') };
    }
    assert.deepEqual(statuses, [...Array(10).fill(200), ...Array(PULLS - 10).fill(429)]);
    assert.match(refused.body, /TOOMANYREQUESTS/);
    assert.match(refused.body, /pull rate limit/);
    assert.equal(refused.retryAfter, '3600');
  });
});

// The clients people use, for real, through CACHE=on on the worker (workerd) and on the ESA
// bundle: Docker Engine by the proxy's name and as `registry-mirrors` (with login), podman
// direct and as a `[[registry.mirror]]`, containerd in mirror mode. Then the upstream is
// stopped and every client pulls again, by tag and by digest, from what the cache holds.
// docker and containerd resolve tags with HEAD, so this is what proves HEAD uses the cache.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy } from './harness/faultproxy.mjs';
import { seedImages } from './harness/images.mjs';
import { hostsDir, startContainerd } from './harness/containerd.mjs';
import { dockerImage, podmanFor, startDockerd } from './harness/engines.mjs';
import { landingAuths } from './harness/browser.mjs';
import { sleep } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startUpstream } from './harness/upstream.mjs';

const SECRET = 'clients-test-secret-0123456789ab';
const PLATFORMS = ['workerd', 'esa'];
let up;
let counter; // between the proxies and the upstream: what reached the upstream
let images;
const rt = {};
const engines = {}; // `${platform}` / `${platform}Users` -> dockerd
const passThrough = {}; // `${platform}` -> the same runtime without CACHE or proxy tokens
const procs = [];

before(async () => {
  assert.equal(process.getuid(), 0, 'dockerd and containerd need root (CI runs as root)');
  up = await startUpstream('clients-upstream');
  images = await seedImages(up, { only: ['library/tiny', 'library/multi', 'library/list', 'library/layers', 'team/app', 'library/secret'] });
  counter = await startFaultProxy(Number(new URL(up.url).port));
  procs.push(counter);
  const open = {
    UPSTREAM: `docker.io@${counter.url}`,
    WHITELIST: 'tiny, library/multi, library/list, library/layers, team/*',
    TOKEN_SECRET: SECRET,
    CACHE: 'on',
    LOG: 'all',
  };
  const users = { ...open, USER_WHITELIST: 'alice' };
  [rt.workerd, rt.esa, rt.workerdUsers, rt.esaUsers] = await Promise.all([
    startWorkerd('clients-workerd', open),
    startEsaHost('clients-esa', open),
    startWorkerd('clients-workerd-users', users),
    startEsaHost('clients-esa-users', users),
  ]);
  procs.push(...Object.values(rt));
  // Pass-through mode (no cache, no proxy tokens): what plain configurations run.
  const plain = { UPSTREAM: `docker.io@${counter.url}`, WHITELIST: open.WHITELIST, LOG: 'all' };
  [passThrough.workerd, passThrough.esa] = await Promise.all([
    startWorkerd('clients-workerd-plain', plain),
    startEsaHost('clients-esa-plain', plain),
  ]);
  procs.push(...Object.values(passThrough));
  const started = await Promise.all(
    Object.entries(rt).map(async ([k, r]) => [k, await startDockerd(`dockerd-${k}`, { mirrors: [r.url] })]),
  );
  for (const [k, d] of started) {
    engines[k] = d;
    procs.push(d);
  }
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await up?.stop();
});

const hostOf = (url) => url.replace(/^http:\/\//, '');
const amd64 = (repo) => images[repo].children.find((c) => c.arch === 'amd64');

/** Pulls `ref` with docker and checks what docker holds: config id and manifest digest. */
async function dockerPull(docker, ref, { config, digest, repoDigest }) {
  const r = await docker('pull', ref);
  assert.equal(r.code, 0, `docker pull ${ref}:\n${r.stdout}\n${r.stderr}`);
  const img = await dockerImage(docker, ref);
  assert.ok(img, `docker holds ${ref}`);
  assert.equal(img.id, config, `${ref}: image id is the config digest`);
  if (digest) assert.ok(img.repoDigests.includes(`${repoDigest}@${digest}`), `${ref}: ${img.repoDigests}`);
  return img;
}

async function dockerRmiAll(docker) {
  const ids = (await docker('images', '-q', '--no-trunc')).stdout.split('\n').filter(Boolean);
  if (ids.length) {
    const r = await docker('rmi', '-f', ...new Set(ids));
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal((await docker('images', '-q')).stdout.trim(), '', 'nothing left to pull from');
}

/** The dockerd pulls by the proxy's name and as a mirror: what each pull should find. */
function dockerPulls(platform) {
  const host = hostOf(rt[platform].url);
  const tiny = images['library/tiny'];
  const app = images['team/app'];
  return {
    direct: [
      [`${host}/tiny:latest`, { config: tiny.config, digest: tiny.digest, repoDigest: `${host}/tiny` }],
      [`${host}/library/multi:latest`, { config: amd64('library/multi').config, digest: images['library/multi'].digest, repoDigest: `${host}/library/multi` }],
    ],
    mirror: [
      ['list', { config: amd64('library/list').config, digest: images['library/list'].digest, repoDigest: 'list' }],
      ['team/app:v1', { config: app.config, digest: app.digest, repoDigest: 'team/app' }],
    ],
    byDigest: [
      [`${host}/library/tiny@${tiny.digest}`, { config: tiny.config }],
      [`team/app@${app.digest}`, { config: app.config }],
    ],
  };
}

/** Waits until a runtime's log has stopped growing (at most 10 s). */
async function logSettled(proc) {
  const deadline = Date.now() + 10000;
  let last = -1;
  while (proc.log().length !== last && Date.now() < deadline) {
    last = proc.log().length;
    await sleep(300);
  }
}

for (const platform of PLATFORMS) {
  describe(`clients through ${platform}, upstream up`, () => {
    test('docker pulls by the proxy name (short names, multi-arch index picks amd64)', async () => {
      const { docker } = engines[platform];
      for (const [ref, want] of dockerPulls(platform).direct) {
        const img = await dockerPull(docker, ref, want);
        assert.equal(img.arch, 'amd64');
      }
      const denied = await docker('pull', `${hostOf(rt[platform].url)}/library/secret:latest`);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /not in the whitelist/, 'direct pulls show the denial');
    });

    test('a cold docker pull costs the upstream no more than the client asked, plus one GET per tag', async () => {
      const { docker } = engines[platform];
      const registryRequest = /(GET|HEAD) "\/v2\/[^ "]*\/(manifests|blobs)\//;
      const anyRequest = /^(GET|HEAD|POST) "\//;
      // The previous test's last requests may still be logging (the ESA host's lines land late):
      // seen once in this window, as two 403s for library/secret.
      await logSettled(rt[platform].proc);
      const logFrom = rt[platform].proc.log().length;
      const upFrom = counter.seen.length;
      const layers = images['library/layers'];
      const ref = `${hostOf(rt[platform].url)}/library/layers:latest`;
      await dockerPull(docker, ref, { config: layers.config });
      const lines = rt[platform].proc.log().slice(logFrom).split('\n');
      const client = lines.filter((l) => registryRequest.test(l));
      const upstream = counter.seen.slice(upFrom).filter((r) => /\/(manifests|blobs)\//.test(r.path));
      assert.ok(client.length >= 2 + layers.layers.length, `the proxy logged the client's requests:\n${client.join('\n')}`);
      assert.ok(
        upstream.length <= client.length + 1,
        `upstream ${upstream.length} > client ${client.length} + 1 tag:\n${upstream.map((r) => `${r.method} ${r.path}`).join('\n')}`,
      );
      assert.equal(upstream.filter((r) => r.path.endsWith('/manifests/latest')).length, 1, 'the tag was fetched once');

      // The landing page's figures for this configuration are what the pull cost.
      const page = await (await fetch(`${rt[platform].url}/`)).text();
      const base = Number(/data-pull-base="(\d+)"/.exec(page)[1]);
      const perLayer = Number(/data-layer-subrequests="(\d+)"/.exec(page)[1]);
      const all = lines.filter((l) => anyRequest.test(l));
      assert.equal(all.length, base + layers.layers.length, `requests of one docker pull:\n${all.join('\n')}`);
      if (platform === 'esa') {
        // The ESA host counts each request's subrequests (fetches, hops, cache calls).
        await sleep(700);
        const counts = (from) =>
          [...rt.esa.proc.log().slice(from).matchAll(/esa-host: GET \/v2\/library\/layers\/blobs\/(sha256:\w+): (\d+) subrequests/g)].map((m) => Number(m[2]));
        const cold = counts(logFrom);
        assert.equal(cold.length, layers.layers.length + 1, 'config and layers');
        assert.ok(Math.max(...cold) <= perLayer, `cold layer subrequests ${cold} <= ${perLayer}`);
        const cachedFigure = Number(/已缓存的层 (\d+) 个/.exec(page)[1]);
        const hitFrom = rt.esa.proc.log().length;
        await dockerRmiAll(docker);
        await dockerPull(docker, ref, { config: layers.config });
        await sleep(700);
        const hits = counts(hitFrom);
        assert.ok(hits.length > 0 && hits.every((n) => n === cachedFigure), `cached layer subrequests ${hits} = ${cachedFigure}`);
      }
    });

    test('pass-through mode: docker pulls twice; the second pull asks the upstream no ping, the answers are its own', async () => {
      const { docker } = engines[platform];
      const host = hostOf(passThrough[platform].url);
      const tiny = images['library/tiny'];
      const ref = `${host}/tiny:latest`;
      const want = { config: tiny.config, digest: tiny.digest, repoDigest: `${host}/tiny` };
      await dockerPull(docker, ref, want);
      const from = counter.seen.length;
      assert.equal((await docker('rmi', ref)).code, 0);
      await dockerPull(docker, ref, want);
      const second = counter.seen.slice(from);
      assert.ok(second.some((r) => r.path.endsWith('/manifests/latest')), 'the tag went upstream');
      assert.deepEqual(second.filter((r) => r.path === '/v2/'), [], 'docker pinged; the proxy answered');
    });

    test('docker pulls docker.io images through registry-mirrors (an OCI index and a Docker list)', async () => {
      const { docker } = engines[platform];
      const before = up.blobRequests.length;
      for (const [ref, want] of dockerPulls(platform).mirror) await dockerPull(docker, ref, want);
      assert.ok(up.blobRequests.length > before, 'the layers came from the test upstream, through the proxy');
    });

    test('docker login to the proxy, then pull; no login or a wrong password is refused', async () => {
      const { docker } = engines[`${platform}Users`];
      const host = hostOf(rt[`${platform}Users`].url);
      const ref = `${host}/tiny:latest`;
      const anon = await docker('pull', ref);
      assert.notEqual(anon.code, 0, 'pull without login');
      const wrong = await runLogin(docker, host, 'alice', USERS.bob);
      assert.notEqual(wrong.code, 0, "a listed user with another account's password");
      const mallory = await runLogin(docker, host, 'mallory', USERS.mallory);
      assert.notEqual(mallory.code, 0, 'a valid upstream account that is not listed');
      const ok = await runLogin(docker, host, 'alice', USERS.alice);
      assert.equal(ok.code, 0, ok.stderr);
      await dockerPull(docker, ref, { config: images['library/tiny'].config });
      await docker('logout', host);
    });

    test('mirror mode: the landing page gives the auths entry docker uses for Docker Hub', async () => {
      const { docker, dir } = engines[`${platform}Users`];
      const cliConfig = join(dir, 'cli', 'config.json');
      writeFileSync(cliConfig, '{}');
      const anon = await docker('pull', 'team/app:v1');
      assert.notEqual(anon.code, 0, 'no login: refused by the proxy (docker then tries Docker Hub)');
      const generated = await landingAuths(rt[`${platform}Users`].url, 'alice', USERS.alice);
      writeFileSync(cliConfig, generated);
      await dockerPull(docker, 'team/app:v1', { config: images['team/app'].config, digest: images['team/app'].digest, repoDigest: 'team/app' });
    });

    test('podman pulls by the proxy name and as a [[registry.mirror]]', async () => {
      const host = hostOf(rt[platform].url);
      const direct = podmanFor(`podman-${platform}`);
      await podmanPull(direct.podman, `${host}/tiny:latest`, images['library/tiny'].config, ['--tls-verify=false']);
      const mirror = podmanFor(`podman-mirror-${platform}`, { mirror: host });
      await podmanPull(mirror.podman, 'docker.io/library/list:latest', amd64('library/list').config);
    });

    test('containerd pulls through hosts.toml', async () => {
      const c = await startContainerd(`clients-ctr-${platform}`);
      try {
        await ctrPull(c, rt[platform].url, 'docker.io/library/tiny:latest', images['library/tiny'].digest);
      } finally {
        await c.stop();
      }
    });
  });
}

/** A GET with exactly these headers: { status, body }. */
function getRaw(url, headers) {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
  });
}

async function runLogin(docker, host, user, password) {
  return docker('login', host, '-u', user, '-p', password);
}

async function podmanPull(podman, ref, config, flags = []) {
  const r = await podman('pull', ...flags, ref);
  assert.equal(r.code, 0, `podman pull ${ref}:\n${r.stdout}\n${r.stderr}`);
  const id = (await podman('image', 'inspect', '--format', '{{.Id}}', ref)).stdout.trim();
  assert.equal(`sha256:${id}`, config, `${ref}: podman's image id is the config digest`);
}

async function ctrPull(c, mirrorUrl, ref, digest) {
  const r = await c.ctr('images', 'pull', '--hosts-dir', hostsDir(mirrorUrl), '--snapshotter', 'native', ref);
  assert.equal(r.code, 0, `ctr pull ${ref}:\n${r.stdout}\n${r.stderr}`);
  const ls = await c.ctr('images', 'ls');
  assert.ok(ls.stdout.includes(digest), `${ref} is ${digest}:\n${ls.stdout}`);
}

describe('with the upstream stopped, every client pulls again from the cache', () => {
  before(async () => {
    await up.stop();
    const probe = await fetch(`${up.url}/v2/`).then(() => 'up', () => 'down');
    assert.equal(probe, 'down');
  });

  for (const platform of PLATFORMS) {
    test(`${platform}: docker by tag and by digest, direct and as a mirror`, async () => {
      const { docker } = engines[platform];
      await dockerRmiAll(docker);
      const pulls = dockerPulls(platform);
      for (const [ref, want] of [...pulls.direct, ...pulls.mirror, ...pulls.byDigest]) await dockerPull(docker, ref, want);
    });

    test(`${platform}: a client whose Accept refuses the cached index is told why, not served another type`, async () => {
      // library/multi was cached as an OCI index (docker asked for it); an old client that
      // accepts only single-platform manifests cannot be answered from that entry.
      const u = rt[platform].url;
      const { token } = await (await fetch(`${u}/token?scope=repository:library/multi:pull`)).json();
      const auth = { authorization: `Bearer ${token}` };
      const ok = await fetch(`${u}/v2/library/multi/manifests/latest`, { method: 'HEAD', headers: { ...auth, accept: 'application/vnd.oci.image.index.v1+json' } });
      assert.equal(ok.status, 200, 'a client that accepts the index is answered from the cache');
      assert.equal(ok.headers.get('docker-content-digest'), images['library/multi'].digest);
      for (const accept of ['application/vnd.docker.distribution.manifest.v2+json', null]) {
        // fetch() would add `Accept: */*`; node:http sends only what it is given.
        const r = await getRaw(`${u}/v2/library/multi/manifests/latest`, accept ? { ...auth, accept } : auth);
        assert.equal(r.status, 502, `Accept ${accept}`);
        const body = JSON.parse(r.body);
        assert.equal(body.errors[0].code, 'UNAVAILABLE');
        assert.match(body.errors[0].message, /application\/vnd\.oci\.image\.index\.v1\+json/, 'names the stored type');
        assert.match(body.errors[0].message, accept ? /Accept header does not include/ : /no Accept header/);
      }
    });

    test(`${platform}: with USER_WHITELIST a login needs the upstream, and says so`, async () => {
      // Passwords are checked by the upstream's token service: no login while it is down,
      // and the client is told why rather than sent to log in again.
      const u = rt[`${platform}Users`].url;
      const basic = `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}`;
      const r = await fetch(`${u}/token?scope=repository:team/app:pull`, { headers: { authorization: basic } });
      assert.equal(r.status, 502);
      const body = await r.json();
      assert.equal(body.errors[0].code, 'UNAVAILABLE');
      assert.match(body.errors[0].message, /upstream/);
      assert.ok(!JSON.stringify(body).includes(USERS.alice));
      const login = await runLogin(engines[`${platform}Users`].docker, hostOf(u), 'alice', USERS.alice);
      assert.notEqual(login.code, 0);
      assert.match(login.stderr, /502|Bad Gateway|unavailable/i, login.stderr);
      assert.doesNotMatch(login.stderr, /unauthorized|incorrect/i, 'not told the password is wrong');
    });

    test(`${platform}: podman by tag and by digest, direct and as a mirror`, async () => {
      const host = hostOf(rt[platform].url);
      const direct = podmanFor(`podman-offline-${platform}`);
      await podmanPull(direct.podman, `${host}/tiny:latest`, images['library/tiny'].config, ['--tls-verify=false']);
      await podmanPull(direct.podman, `${host}/library/tiny@${images['library/tiny'].digest}`, images['library/tiny'].config, ['--tls-verify=false']);
      const mirror = podmanFor(`podman-mirror-offline-${platform}`, { mirror: host });
      await podmanPull(mirror.podman, 'docker.io/library/list:latest', amd64('library/list').config);
    });

    test(`${platform}: containerd by tag and by digest`, async () => {
      const c = await startContainerd(`clients-ctr-offline-${platform}`);
      try {
        const tiny = images['library/tiny'];
        await ctrPull(c, rt[platform].url, 'docker.io/library/tiny:latest', tiny.digest);
        await ctrPull(c, rt[platform].url, `docker.io/library/tiny@${tiny.digest}`, tiny.digest);
      } finally {
        await c.stop();
      }
    });
  }
});

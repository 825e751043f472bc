// containerd in mirror mode: hosts.toml names the proxy as docker.io's mirror, so containerd
// sends `?ns=docker.io`, skips the /v2/ ping and authenticates from whatever 401 it gets. The
// fallback server is a dead loopback port: a pull can only succeed through the proxy.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedImages } from './harness/images.mjs';
import { hostsDir, startContainerd } from './harness/containerd.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { startUpstream } from './harness/upstream.mjs';

let up;
let images;
let containerd;
const proxies = {};
const ctr = (...args) => containerd.ctr(...args);

before(async () => {
  assert.equal(process.getuid(), 0, 'containerd tests need root (CI runs as root)');
  up = await startUpstream('ctr-upstream');
  images = await seedImages(up, { bigMiB: 1 });
  const vars = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, library/multi, team/*' };
  containerd = await startContainerd();
  [proxies.workerd, proxies.esa] = await Promise.all([startWorkerd('ctr-workerd', vars), startEsaHost('ctr-esa', vars)]);
});

after(async () => {
  await Promise.all(Object.values(proxies).map((p) => p.stop()));
  await containerd?.stop();
  await up?.stop();
});

for (const name of ['workerd', 'esa']) {
  describe(`containerd mirror through ${name}`, () => {
    test('pulls library/tiny (single manifest) with --hosts-dir', async () => {
      const dir = hostsDir(proxies[name].url);
      const r = await ctr('images', 'pull', '--hosts-dir', dir, '--snapshotter', 'native', 'docker.io/library/tiny:latest');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const ls = await ctr('images', 'ls');
      assert.match(ls.stdout, new RegExp(`docker.io/library/tiny:latest\\s+\\S+\\s+${images['library/tiny'].digest}`));
      const content = await ctr('content', 'ls', '-q');
      for (const l of images['library/tiny'].layers) assert.ok(content.stdout.includes(l), `layer ${l} in the content store`);
      await ctr('images', 'rm', 'docker.io/library/tiny:latest');
    });

    test('pulls a multi-arch OCI index for linux/amd64 and arm64', async () => {
      const dir = hostsDir(proxies[name].url);
      const r = await ctr('images', 'pull', '--hosts-dir', dir, '--all-platforms', 'docker.io/library/multi:latest');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const ls = await ctr('images', 'ls');
      assert.match(ls.stdout, new RegExp(`docker.io/library/multi:latest\\s+\\S+\\s+${images['library/multi'].digest}`));
      const content = await ctr('content', 'ls', '-q');
      for (const c of images['library/multi'].children) for (const l of c.layers) assert.ok(content.stdout.includes(l));
      await ctr('images', 'rm', 'docker.io/library/multi:latest');
    });

    test('a non-whitelisted image is refused (containerd resolves with HEAD: status only)', async () => {
      const dir = hostsDir(proxies[name].url);
      const r = await ctr('images', 'pull', '--hosts-dir', dir, 'docker.io/library/secret:latest');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`pulling from host ${proxies[name].url.slice(7)} failed with status code \\[manifests latest\\]: 403 Forbidden`));
      const ls = await ctr('images', 'ls', '-q');
      assert.doesNotMatch(ls.stdout, /secret/);
    });
  });
}

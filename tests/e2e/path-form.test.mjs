// One address for every registry: a second real registry configured as `ghcr.io@URL` in
// REGISTRIES, pulled by path (`proxy/ghcr.io/team/app`) by docker, and through the path-form
// mirror configuration the landing page prints by containerd and podman; on the worker and the
// ESA bundle. Then what must be refused: another namespace, a user listed on another registry,
// path forms naming an unconfigured host, a port or user info, and ?ns= naming another registry.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startContainerd } from './harness/containerd.mjs';
import { dockerImage, podmanFor, startDockerd } from './harness/engines.mjs';
import { seedImages } from './harness/images.mjs';
import { tempDir } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startUpstream } from './harness/upstream.mjs';

const SECRET = 'path-form-secret-0123456789abcdef';
let hub; // stands in for docker.io (UPSTREAM)
let ghcr; // stands in for ghcr.io (REGISTRIES)
let images = {};
let docker;
let containerd;
const rt = {};
const procs = [];

before(async () => {
  assert.equal(process.getuid(), 0, 'dockerd and containerd need root (CI runs as root)');
  [hub, ghcr] = await Promise.all([startUpstream('path-hub'), startUpstream('path-ghcr')]);
  images.hub = await seedImages(hub, { only: ['library/tiny', 'team/app'] });
  images.ghcr = await seedImages(ghcr, { only: ['team/app', 'a/x'] });
  assert.notEqual(images.ghcr['team/app'].digest, images.hub['team/app'].digest);
  const vars = {
    UPSTREAM: `docker.io@${hub.url}`,
    REGISTRIES: `ghcr.io@${ghcr.url}, quay.io`,
    WHITELIST: 'tiny, team/*, ghcr.io/team/*',
  };
  // alice is an account on both registries; only ghcr.io's alice is listed.
  const users = { ...vars, USER_WHITELIST: 'ghcr.io/alice', TOKEN_SECRET: SECRET };
  [rt.workerd, rt.esa, rt.workerdUsers, rt.esaUsers] = await Promise.all([
    startWorkerd('path-workerd', vars),
    startEsaHost('path-esa', vars),
    startWorkerd('path-workerd-users', users),
    startEsaHost('path-esa-users', users),
  ]);
  procs.push(...Object.values(rt));
  docker = await startDockerd('path-dockerd');
  procs.push(docker);
  containerd = await startContainerd('path-containerd');
  procs.push(containerd);
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await Promise.all([hub?.stop(), ghcr?.stop()]);
});

const hostOf = (url) => url.replace(/^http:\/\//, '');
const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The landing page's snippet of `kind` for `registry`, as a person would copy it. */
async function snippet(url, kind, registry) {
  const html = await (await fetch(`${url}/`)).text();
  for (const m of html.matchAll(/<pre data-snippet="([^"]+)" data-registry="([^"]+)">([\s\S]*?)<\/pre>/g)) {
    if (m[1] === kind && m[2] === registry) return decode(m[3]);
  }
  assert.fail(`no ${kind} snippet for ${registry}`);
}

/** Upstream request counts, to show a refusal reached neither registry. */
const upstreamLogs = () => [hub.proc.log().length, ghcr.proc.log().length];

for (const name of ['workerd', 'esa']) {
  describe(`registries by path on ${name}`, () => {
    test('docker pulls proxy/ghcr.io/team/app from the second registry, and proxy/team/app from Docker Hub', async () => {
      const host = hostOf(rt[name].url);
      const want = images.ghcr['team/app'];
      const ref = `${host}/ghcr.io/team/app:v1`;
      const r = await docker.docker('pull', ref);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const img = await dockerImage(docker.docker, ref);
      assert.equal(img.id, want.config, 'the image is ghcr.io\'s team/app');
      assert.ok(img.repoDigests.includes(`${host}/ghcr.io/team/app@${want.digest}`), img.repoDigests.join());
      const hubRef = `${host}/team/app:v1`;
      const h = await docker.docker('pull', hubRef);
      assert.equal(h.code, 0, h.stderr);
      assert.equal((await dockerImage(docker.docker, hubRef)).id, images.hub['team/app'].config);
      // Docker Hub by path too.
      const d = await docker.docker('pull', `${host}/docker.io/library/tiny:latest`);
      assert.equal(d.code, 0, d.stderr);
      await docker.docker('rmi', '-f', ref, hubRef, `${host}/docker.io/library/tiny:latest`);
    });

    test('a namespace outside the whitelist is refused with the whitelist message, reaching no registry', async () => {
      const before = upstreamLogs();
      const r = await docker.docker('pull', `${hostOf(rt[name].url)}/ghcr.io/a/x:latest`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /denied|403/i);
      const res = await fetch(`${rt[name].url}/v2/ghcr.io/a/x/manifests/latest`);
      assert.equal(res.status, 403);
      assert.match((await res.json()).errors[0].message, /image ghcr\.io\/a\/x is not in the whitelist/);
      assert.deepEqual(upstreamLogs(), before);
    });

    test('containerd pulls ghcr.io/team/app through the hosts.toml the landing page prints', async () => {
      const text = await snippet(rt[name].url, 'hosts.toml', 'ghcr.io');
      assert.match(text, /override_path = true/);
      const dir = join(tempDir('path-hosts'), 'certs.d');
      mkdirSync(join(dir, 'ghcr.io'), { recursive: true });
      writeFileSync(join(dir, 'ghcr.io', 'hosts.toml'), text);
      const want = images.ghcr['team/app'];
      const r = await containerd.ctr('images', 'pull', '--hosts-dir', dir, '--snapshotter', 'native', 'ghcr.io/team/app:v1');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const ls = await containerd.ctr('images', 'ls');
      assert.match(ls.stdout, new RegExp(`ghcr.io/team/app:v1\\s+\\S+\\s+${want.digest}`));
      await containerd.ctr('images', 'rm', 'ghcr.io/team/app:v1');
    });

    test('podman pulls ghcr.io/team/app through the registries.conf the landing page prints', async () => {
      const text = await snippet(rt[name].url, 'registries.conf', 'ghcr.io');
      assert.ok(text.includes(`location = "${hostOf(rt[name].url)}/ghcr.io"`), text);
      const { podman } = podmanFor(`path-podman-${name}`, { registriesConf: text });
      const r = await podman('pull', 'ghcr.io/team/app:v1');
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const id = (await podman('image', 'inspect', '--format', '{{.Id}}', 'ghcr.io/team/app:v1')).stdout.trim();
      assert.equal(`sha256:${id}`, images.ghcr['team/app'].config);
    });

    test('path forms naming no configured registry, a port, user info or two registries are refused upstream of nothing', async () => {
      const base = rt[name].url;
      const before = upstreamLogs();
      for (const [path, status, code, message] of [
        // An unconfigured registry name is a (here unlisted) Docker Hub name.
        [`/v2/gcr.io/team/app/manifests/v1`, 403, 'DENIED', /image gcr\.io\/team\/app is not in the whitelist/],
        [`/v2/${hostOf(ghcr.url)}/team/app/manifests/v1`, 400, 'NAME_INVALID', /invalid repository name/],
        [`/v2/127.0.0.1/team/app/manifests/v1`, 403, 'DENIED', /not in the whitelist/],
        ['/v2/alice@ghcr.io/team/app/manifests/v1', 400, 'NAME_INVALID', /invalid repository name/],
        ['/v2/GHCR.IO/team/app/manifests/v1', 400, 'NAME_INVALID', /invalid repository name/],
        ['/v2/ghcr.io/team/app/manifests/v1?ns=docker.io', 403, 'DENIED', /the path names registry ghcr\.io and ns names docker\.io/],
        ['/v2/ghcr.io/team/app/manifests/v1?ns=evil.example', 403, 'DENIED', /not served by this mirror/],
      ]) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, status, path);
        const body = await r.json();
        assert.equal(body.errors[0].code, code, path);
        assert.match(body.errors[0].message, message, path);
      }
      assert.deepEqual(upstreamLogs(), before, 'neither registry was asked');
    });

    test('docker login by a user listed on ghcr.io only: pulls ghcr.io by path, not the same name on Docker Hub', async () => {
      const url = rt[`${name}Users`].url;
      const host = hostOf(url);
      const cli = (...args) => docker.docker(...args);
      const login = await cli('login', host, '-u', 'alice', '-p', USERS.alice);
      assert.equal(login.code, 0, login.stderr);
      const ref = `${host}/ghcr.io/team/app:v1`;
      const r = await cli('pull', ref);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal((await dockerImage(cli, ref)).id, images.ghcr['team/app'].config);
      // alice has an account on the Docker Hub stand-in too; she is not listed there.
      const hubTokens = hub.tokenRequests.length;
      const h = await cli('pull', `${host}/team/app:v1`);
      assert.notEqual(h.code, 0);
      assert.match(h.stderr, /unauthorized|may not pull/i);
      assert.equal(hub.tokenRequests.length, hubTokens, 'her password never went to Docker Hub');
      await cli('logout', host);
      await cli('rmi', '-f', ref);
    });
  });
}

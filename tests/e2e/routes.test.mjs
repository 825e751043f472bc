// Every registry, every client: two real registries behind one proxy as two routes (picked by
// the request's host name, or by containerd's ?ns=), and the landing page a person sees,
// rendered in headless Chromium.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { HEADLESS } from './harness/browser.mjs';
import { hostsDir, startContainerd } from './harness/containerd.mjs';
import { seedImages } from './harness/images.mjs';
import { startHostProxy } from './harness/hostproxy.mjs';
import { OUT, runAsync, tempDir } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { sha256, startUpstream } from './harness/upstream.mjs';

let hub; // registry A, standing in for docker.io
let ghcr; // registry B, standing in for ghcr.io
let images = {};
let hostProxy;
let containerd;
const rt = {};

const HUB_HOST = 'hub.mirror.test';
const GHCR_HOST = 'ghcr.mirror.test';

before(async () => {
  [hub, ghcr] = await Promise.all([startUpstream('routes-hub'), startUpstream('routes-ghcr')]);
  images.hub = await seedImages(hub, { bigMiB: 1, only: ['library/tiny', 'team/app'] });
  images.ghcr = await seedImages(ghcr, { bigMiB: 1, only: ['team/app'] });
  const vars = {
    UPSTREAM: `docker.io@${hub.url}`,
    ROUTES: `${GHCR_HOST}=ghcr.io@${ghcr.url}`,
  };
  hostProxy = await startHostProxy();
  [rt.workerd, rt.esa] = await Promise.all([startWorkerd('routes-workerd', vars), startEsaHost('routes-esa', vars)]);
  for (const r of Object.values(rt)) hostProxy.allow(r.port);
  containerd = await startContainerd('routes-containerd');
});

after(async () => {
  await Promise.all(Object.values(rt).map((r) => r.stop()));
  await containerd?.stop();
  await hostProxy?.stop();
  await Promise.all([hub?.stop(), ghcr?.stop()]);
});

async function pull(ref, { viaHostProxy = false } = {}) {
  const dir = join(tempDir('rpull'), 'out');
  const env = viaHostProxy ? { HTTP_PROXY: hostProxy.url, http_proxy: hostProxy.url, NO_PROXY: '', no_proxy: '' } : {};
  const r = await runAsync('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${ref}`, `dir:${dir}`], { env });
  const files = {};
  if (r.code === 0) for (const f of readdirSync(dir)) if (f !== 'version') files[f] = sha256(readFileSync(join(dir, f)));
  return { ...r, files };
}

for (const name of ['workerd', 'esa']) {
  describe(`routes on ${name}`, () => {
    test('each route host pulls from its own registry, same bytes as direct', async () => {
      const port = rt[name].port;
      const a = await pull(`${HUB_HOST}:${port}/tiny:latest`, { viaHostProxy: true });
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.files['manifest.json'], images.hub['library/tiny'].digest);
      const b = await pull(`${GHCR_HOST}:${port}/team/app:v1`, { viaHostProxy: true });
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.files['manifest.json'], images.ghcr['team/app'].digest);
      assert.notEqual(images.ghcr['team/app'].digest, images.hub['team/app'].digest);
      const directB = await pull(`${ghcr.host}/team/app:v1`);
      assert.deepEqual(b.files, directB.files);
      assert.ok(hostProxy.seen.some((s) => s.host === `${GHCR_HOST}:${port}`), 'requests carried the route host');
    });

    test("a name that exists only on the default registry is not found via the other route's host", async () => {
      const r = await pull(`${GHCR_HOST}:${rt[name].port}/library/tiny:latest`, { viaHostProxy: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /manifest unknown|not found/i);
    });

    test('containerd mirrors both registries through one host (?ns=), and refuses an unconfigured one', async () => {
      const dir = hostsDir(rt[name].url, ['docker.io', 'ghcr.io', 'quay.io']);
      const a = await containerd.ctr('images', 'pull', '--hosts-dir', dir, 'docker.io/library/tiny:latest');
      assert.equal(a.code, 0, a.stderr);
      const b = await containerd.ctr('images', 'pull', '--hosts-dir', dir, 'ghcr.io/team/app:v1');
      assert.equal(b.code, 0, b.stderr);
      const ls = await containerd.ctr('images', 'ls');
      assert.match(ls.stdout, new RegExp(`docker.io/library/tiny:latest\\s+\\S+\\s+${images.hub['library/tiny'].digest}`));
      assert.match(ls.stdout, new RegExp(`ghcr.io/team/app:v1\\s+\\S+\\s+${images.ghcr['team/app'].digest}`));
      const hubLog = hub.proc.log().length;
      const ghcrLog = ghcr.proc.log().length;
      const q = await containerd.ctr('images', 'pull', '--hosts-dir', dir, 'quay.io/team/app:v1');
      assert.notEqual(q.code, 0);
      assert.match(q.stderr, /403 Forbidden/);
      assert.equal(hub.proc.log().length, hubLog, 'nothing fetched for quay.io');
      assert.equal(ghcr.proc.log().length, ghcrLog, 'nothing fetched for quay.io');
      await containerd.ctr('images', 'rm', 'docker.io/library/tiny:latest', 'ghcr.io/team/app:v1');
    });
  });
}

describe('landing page', () => {
  const chromium = (args) =>
    runAsync('chromium', [
      ...HEADLESS,
      `--user-data-dir=${tempDir('chromium')}`,
      `--proxy-server=${hostProxy.url}`,
      ...args,
    ]);

  const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

  test('rendered in Chromium for the visited host, snippets parse and name that host', async () => {
    const url = `http://${GHCR_HOST}:${rt.workerd.port}/`;
    const shot = join(OUT, 'landing.png');
    const s = await chromium(['--window-size=1000,2200', `--screenshot=${shot}`, url]);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(readFileSync(shot).length > 10000, 'a screenshot was written');
    const dom = await chromium(['--dump-dom', url]);
    assert.equal(dom.code, 0, dom.stderr);
    writeFileSync(join(OUT, 'landing.html'), dom.stdout);
    // The operator's estimate for this configuration (measured in clients.test.mjs).
    assert.match(dom.stdout, /data-pull-base="5" data-layer-subrequests="4"/);
    assert.match(dom.stdout, /docker pull 约 5 \+ 层数 个请求/);
    assert.match(dom.stdout, /a docker pull costs about 5 \+ \(number of layers\) requests/);
    const snippets = [...dom.stdout.matchAll(/<pre data-snippet="([^"]+)" data-registry="([^"]+)">([\s\S]*?)<\/pre>/g)].map((m) => ({
      kind: m[1],
      registry: m[2],
      text: decode(m[3]),
    }));
    const of = (kind, registry) => snippets.find((x) => x.kind === kind && x.registry === registry);
    const host = `${GHCR_HOST}:${rt.workerd.port}`;
    // The visited host's registry (ghcr.io) comes first, and its snippets name this host.
    assert.equal(snippets[0].registry, 'ghcr.io');
    assert.equal(of('docker-pull', 'ghcr.io').text, `docker pull ${host}/org/image:tag`);
    const ghcrHosts = parseToml(of('hosts.toml', 'ghcr.io').text);
    assert.deepEqual(Object.keys(ghcrHosts.host), [`http://${host}`]);
    assert.deepEqual(ghcrHosts.host[`http://${host}`].capabilities, ['pull', 'resolve']);
    // containerd's fallback is the public registry, never the internal endpoint after `@`.
    assert.equal(ghcrHosts.server, 'https://ghcr.io');
    assert.equal(parseToml(of('hosts.toml', 'docker.io').text).server, 'https://registry-1.docker.io');
    assert.ok(!dom.stdout.includes(ghcr.url) && !dom.stdout.includes(hub.url), 'no internal URL on the page');
    const podman = parseToml(of('registries.conf', 'ghcr.io').text);
    assert.equal(podman.registry[0].prefix, 'ghcr.io');
    assert.equal(podman.registry[0].mirror[0].location, host);
    // Docker Hub (the default upstream) is reached through this host by path: every client's
    // snippet says so; docker's registry-mirrors takes no path, so none for it here.
    assert.equal(of('docker-pull', 'docker.io').text, `docker pull ${host}/docker.io/library/nginx:latest`);
    const hubByPath = parseToml(of('hosts.toml', 'docker.io').text);
    assert.deepEqual(Object.keys(hubByPath.host), [`http://${host}/v2/docker.io`]);
    assert.equal(hubByPath.host[`http://${host}/v2/docker.io`].override_path, true);
    assert.equal(parseToml(of('registries.conf', 'docker.io').text).registry[0].mirror[0].location, `${host}/docker.io`);
    assert.ok(of('registries.yaml', 'docker.io').text.includes(`- "http://${host}"\n    rewrite:\n      "^(.*)$": "docker.io/$1"`));
    assert.equal(of('daemon.json', 'docker.io'), undefined);

    // Visiting a host without a route: Docker Hub in full, ghcr.io by path (its route host named).
    const hubHost = `${HUB_HOST}:${rt.workerd.port}`;
    const hubDom = await chromium(['--dump-dom', `http://${hubHost}/`]);
    assert.equal(hubDom.code, 0, hubDom.stderr);
    const hubSnippets = [...hubDom.stdout.matchAll(/<pre data-snippet="([^"]+)" data-registry="([^"]+)">([\s\S]*?)<\/pre>/g)].map((m) => ({
      kind: m[1],
      registry: m[2],
      text: decode(m[3]),
    }));
    const hubOf = (kind, registry) => hubSnippets.find((x) => x.kind === kind && x.registry === registry);
    assert.deepEqual(JSON.parse(hubOf('daemon.json', 'docker.io').text), { 'registry-mirrors': [`http://${hubHost}`] });
    assert.equal(hubOf('docker-pull', 'docker.io').text, `docker pull ${hubHost}/library/nginx:latest`);
    assert.equal(hubOf('docker-pull', 'ghcr.io').text, `docker pull ${hubHost}/ghcr.io/org/image:tag`);
    assert.ok(hubDom.stdout.includes(`<code>${host}</code>`), 'the route host is named');
  });

  test('/version says what is served, without secrets', async () => {
    const v = await (await fetch(`${rt.workerd.url}/version`)).json();
    assert.equal(v.name, 'edge-registry-proxy');
    assert.equal(v.upstream, 'docker.io');
    assert.deepEqual(v.routes, [{ host: GHCR_HOST, registry: 'ghcr.io' }]);
    assert.deepEqual(v.registries, ['docker.io', 'ghcr.io']);
    assert.equal(v.features.whitelist, false);
    assert.equal(v.features.cache, false);
  });
});

// Offline image archives (`/archive/<name>:<tag>`), downloaded with curl as a browser would, on
// the worker and the ESA bundle: docker loads the chosen platform of a multi-arch image and a
// container made from it holds that platform's file; podman, skopeo and containerd read the same
// tar. Refused: an image outside the whitelist, an unknown platform (naming the ones there are),
// too many layers, no login with a user list. A layer cut by the upstream leaves curl with a
// failed transfer, and what it saved does not load.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startContainerd } from './harness/containerd.mjs';
import { podmanFor, skopeoPull, startDockerd } from './harness/engines.mjs';
import { pushLayered, seedImages } from './harness/images.mjs';
import { runAsync, tempDir } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, sha256, startOpenRegistry, startUpstream } from './harness/upstream.mjs';

const SECRET = 'archive-test-secret-0123456789abcdef';
let up;
let images;
let many;
let twelve;
let open;
let docker;
let containerd;
const rt = {};
const procs = [];

before(async () => {
  assert.equal(process.getuid(), 0, 'dockerd and containerd need root (CI runs as root)');
  up = await startUpstream('archive-upstream');
  images = await seedImages(up, { bigMiB: 2, only: ['library/tiny', 'library/multi', 'library/secret', 'library/big'] });
  many = await pushLayered(up, 'library/many', 'latest', 13);
  twelve = await pushLayered(up, 'library/twelve', 'latest', 12);
  const vars = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, library/multi, library/many, library/twelve, library/big' };
  const users = { ...vars, USER_WHITELIST: 'alice', TOKEN_SECRET: SECRET };
  // The same images from a registry that serves blobs itself (no CDN redirect).
  open = await startOpenRegistry('archive-open', up.storage);
  procs.push(open);
  const direct = { ...vars, UPSTREAM: `docker.io@${open.url}` };
  [rt.workerd, rt.esa, rt.users, rt.cache, rt.directWorkerd, rt.directEsa] = await Promise.all([
    startWorkerd('archive-workerd', vars),
    startEsaHost('archive-esa', vars),
    startEsaHost('archive-users', users),
    startEsaHost('archive-cache', { ...vars, CACHE: 'on', TOKEN_SECRET: SECRET }),
    startWorkerd('archive-direct-workerd', direct),
    startEsaHost('archive-direct-esa', direct, { names: false }),
  ]);
  procs.push(...Object.values(rt));
  docker = await startDockerd('archive-dockerd');
  procs.push(docker);
  containerd = await startContainerd('archive-containerd');
  procs.push(containerd);
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await up?.stop();
});

/** curl's download of `url` into a fresh file: { code (curl's exit code), file, headers }. */
async function download(url, extra = []) {
  const dir = tempDir('archive-dl');
  const file = join(dir, 'out.tar');
  const head = join(dir, 'headers.txt');
  const r = await runAsync('curl', ['-sS', '-f', '-D', head, '-o', file, ...extra, url]);
  const headers = existsSync(head) ? readFileSync(head, 'utf8') : '';
  return { ...r, file, headers };
}

const arm64 = () => images['library/multi'].children.find((c) => c.arch === 'arm64');

for (const name of ['workerd', 'esa']) {
  describe(`image archives on ${name}`, () => {
    let tar; // the arm64 archive of library/multi

    test('the chosen platform of a multi-arch image, with an exact length and a file name', async () => {
      const d = await download(`${rt[name].url}/archive/library/multi:latest?platform=linux/arm64`);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.headers, /content-disposition: attachment; filename="multi_latest.tar"/i);
      const length = Number(/content-length: (\d+)/i.exec(d.headers)?.[1]);
      assert.equal(statSync(d.file).size, length, 'Content-Length is the archive length');
      tar = d.file;
    });

    test('docker loads it, and a container from it holds the arm64 file', async () => {
      const load = await docker.docker('load', '-i', tar);
      assert.equal(load.code, 0, load.stderr);
      assert.match(load.stdout, /Loaded image: multi:latest/);
      const id = (await docker.docker('image', 'inspect', '--format', '{{.Id}}', 'multi:latest')).stdout.trim();
      assert.equal(id, arm64().config);
      const cname = `archive-${name}`;
      const c = await docker.docker('create', '--name', cname, 'multi:latest', '/bin/true');
      assert.equal(c.code, 0, c.stderr);
      const out = tempDir('archive-cp');
      const cp = await docker.docker('cp', `${cname}:/hello.txt`, join(out, 'hello.txt'));
      assert.equal(cp.code, 0, cp.stderr);
      assert.equal(readFileSync(join(out, 'hello.txt'), 'utf8'), 'hello from library/multi-arm64\n');
      await docker.docker('rm', '-f', cname);
      await docker.docker('rmi', '-f', 'multi:latest');
    });

    test('podman loads it; skopeo and containerd read it', async () => {
      const { podman } = podmanFor(`archive-podman-${name}`);
      const load = await podman('load', '-i', tar);
      assert.equal(load.code, 0, `${load.stdout}\n${load.stderr}`);
      const id = (await podman('image', 'inspect', '--format', '{{.Id}}', 'docker.io/library/multi:latest')).stdout.trim();
      assert.equal(`sha256:${id}`, arm64().config);
      const dir = join(tempDir('archive-skopeo'), 'out');
      const sk = await runAsync('skopeo', ['copy', `docker-archive:${tar}`, `dir:${dir}`]);
      assert.equal(sk.code, 0, sk.stderr);
      const files = readdirSync(dir).map((f) => sha256(readFileSync(join(dir, f))));
      assert.ok(files.includes(arm64().config), 'skopeo read the config');
      const imp = await containerd.ctr('images', 'import', '--snapshotter', 'native', tar);
      assert.equal(imp.code, 0, `${imp.stdout}\n${imp.stderr}`);
      const ls = await containerd.ctr('images', 'ls');
      assert.match(ls.stdout, new RegExp(`docker.io/library/multi:latest\\s+\\S+\\s+${arm64().digest}`));
      await containerd.ctr('images', 'rm', 'docker.io/library/multi:latest');
    });

    test('refused before streaming: outside the whitelist, an unknown platform, too many layers, bad input', async () => {
      const base = rt[name].url;
      for (const [path, status, code, message] of [
        ['/archive/library/secret:latest', 403, 'DENIED', /image library\/secret is not in the whitelist/],
        ['/archive/library/multi:latest?platform=linux/s390x', 404, 'MANIFEST_UNKNOWN', /no linux\/s390x variant; it has: linux\/amd64, linux\/arm64/],
        ['/archive/library/many:latest', 400, 'UNSUPPORTED', /13 layers; an archive holds at most 12/],
        ['/archive/library/multi:latest?platform=linux', 400, 'UNSUPPORTED', /os\/architecture/],
        ['/archive/library/multi:-bad', 400, 'TAG_INVALID', /./],
        ['/archive/library%2Fmulti:latest', 400, 'NAME_INVALID', /./],
        ['/archive/tiny:nope', 404, 'MANIFEST_UNKNOWN', /./],
      ]) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, status, path);
        const body = await r.json();
        assert.equal(body.errors[0].code, code, `${path}: ${JSON.stringify(body)}`);
        assert.match(body.errors[0].message, message, path);
      }
    });

    test('twelve layers fit (ESA counts every subrequest, the layers read during streaming too)', async () => {
      const d = await download(`${rt[name].url}/archive/library/twelve:latest`);
      assert.equal(d.code, 0, d.stderr);
      const list = await runAsync('tar', ['-tf', d.file]);
      assert.equal(list.code, 0, list.stderr);
      for (const l of twelve.layers) assert.ok(list.stdout.includes(`blobs/sha256/${l.slice(7)}`), l);
      assert.equal(many.layers.length, 13);
    });

    test('a layer cut by the upstream is a failed transfer, and what was saved does not load', async () => {
      const big = images['library/big'];
      up.cutNext(big.layers[0], 300 * 1024);
      const d = await download(`${rt[name].url}/archive/library/big:latest`);
      assert.notEqual(d.code, 0, 'curl reports the cut');
      assert.ok([18, 56, 92].includes(d.code), `curl exit ${d.code}: ${d.stderr}`);
      const load = await docker.docker('load', '-i', d.file);
      assert.notEqual(load.code, 0, 'the partial archive does not load');
      // And whole, it loads.
      const again = await download(`${rt[name].url}/archive/library/big:latest`);
      assert.equal(again.code, 0, again.stderr);
    });
  });
}

describe('image archives with a user list (ESA)', () => {
  test('the browser is asked to log in (Basic, on this path only); a listed user downloads, others not', async () => {
    const base = rt.users.url;
    const none = await fetch(`${base}/archive/tiny:latest`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate'), /^Basic realm=/);
    const v2 = await fetch(`${base}/v2/tiny/manifests/latest`);
    assert.match(v2.headers.get('www-authenticate'), /^Bearer /, '/v2/ keeps its Bearer challenge');
    const mallory = await download(`${base}/archive/tiny:latest`, ['-u', `mallory:${USERS.mallory}`]);
    assert.notEqual(mallory.code, 0);
    const wrong = await download(`${base}/archive/tiny:latest`, ['-u', 'alice:wrong']);
    assert.notEqual(wrong.code, 0);
    const alice = await download(`${base}/archive/tiny:latest`, ['-u', `alice:${USERS.alice}`]);
    assert.equal(alice.code, 0, alice.stderr);
    const load = await docker.docker('load', '-i', alice.file);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: tiny:latest/);
    await docker.docker('rmi', '-f', 'tiny:latest');
  });
});

describe('image archives with CACHE=on (ESA)', () => {
  test('layers the edge cache holds whole are read from it, not from the registry', async () => {
    const tiny = images['library/tiny'];
    const fromCdn = () => up.blobRequests.filter((r) => tiny.layers.some((l) => r.path.includes(l.slice(7)))).length;
    const pulled = await skopeoPull(`${rt.cache.url.replace('http://', '')}/tiny:latest`);
    assert.equal(pulled.code, 0, pulled.stderr);
    const before = fromCdn();
    assert.ok(before >= tiny.layers.length, 'the pull read the layers');
    const d = await download(`${rt.cache.url}/archive/tiny:latest`);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(fromCdn(), before, 'no layer was read from the registry again');
    const load = await docker.docker('load', '-i', d.file);
    assert.equal(load.code, 0, load.stderr);
    await docker.docker('rmi', '-f', 'tiny:latest');
  });
});

describe('image archives from a registry that serves layers itself', () => {
  for (const name of ['directWorkerd', 'directEsa']) {
    test(`${name}: each layer is the registry's own body, and the archive loads`, async () => {
      const d = await download(`${rt[name].url}/archive/library/multi:latest?platform=linux/arm64`);
      assert.equal(d.code, 0, d.stderr);
      const load = await docker.docker('load', '-i', d.file);
      assert.equal(load.code, 0, load.stderr);
      const id = (await docker.docker('image', 'inspect', '--format', '{{.Id}}', 'multi:latest')).stdout.trim();
      assert.equal(id, arm64().config);
      await docker.docker('rmi', '-f', 'multi:latest');
    });
  }
});

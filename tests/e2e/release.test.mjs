// The committed release files (release/, for people who deploy with a browser) are what the
// current sources build, untouched outside the ESA CONFIG block, and they work: a smoke pull,
// a whitelist denial and a login through each of them, in the ESA host, workerd and Pages.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FILES, check, RELEASE } from '../../scripts/release.mjs';
import { skopeoPull } from './harness/engines.mjs';
import { seedImages } from './harness/images.mjs';
import { BIN, ROOT, run, tempDir } from './harness/procs.mjs';
import { startEsaHost, startPages, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startUpstream } from './harness/upstream.mjs';

const SECRET = 'release-test-secret-0123456789ab';

describe('release files are current and intact', () => {
  const copy = () => {
    const dir = join(tempDir('release'), 'release');
    cpSync(RELEASE, dir, { recursive: true });
    return dir;
  };

  test('as committed: built from this tree, every file as make release wrote it', () => {
    assert.deepEqual(check(), []);
  });

  test("the ESA bundle's CONFIG block may be edited; anything else is detected", () => {
    const dir = copy();
    const esa = join(dir, 'esa', 'index.js');
    const text = readFileSync(esa, 'utf8');
    writeFileSync(esa, text.replace(/const CONFIG = \{/, "const CONFIG = {\n  WHITELIST: 'library/nginx',"));
    assert.deepEqual(check(dir), [], 'a user edit of CONFIG is fine');
    assert.ok(text.includes('using the JS fallback'));
    writeFileSync(esa, text.replace('using the JS fallback', 'using the JS fallbacK'));
    assert.match(check(dir).join('\n'), /esa\/index\.js differs/);
    const wasm = join(dir, 'pages', '_worker.js', 'proxy_bg.wasm');
    writeFileSync(wasm, readFileSync(wasm).subarray(0, 1000));
    assert.match(check(dir).join('\n'), /pages\/_worker\.js\/proxy_bg\.wasm differs/);
    const toml = join(dir, 'wrangler.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('cloudflare/worker.js', '../dist/cloudflare/worker.js'));
    assert.match(check(dir).join('\n'), /release\/wrangler\.toml differs/);
  });

  test('release/ alone is a Workers project: what the Deploy to Cloudflare button clones deploys without a build', () => {
    // The button clones the folder it is given as the root of a new repository and runs
    // `npx wrangler deploy` there with no build command: nothing outside release/ may be needed.
    const dir = copy();
    const out = join(tempDir('release-deploy'), 'out');
    const r = run(join(BIN, 'wrangler'), ['deploy', '--dry-run', '--outdir', out], {
      cwd: dir,
      env: { WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /--dry-run: exiting now/);
    assert.match(r.stdout, /env\.UPSTREAM/, 'the [vars] of release/wrangler.toml are bound');
    const files = readdirSync(out);
    assert.ok(files.includes('worker.js'), files.join(' '));
    const wasm = files.find((f) => f.endsWith('proxy_bg.wasm'));
    assert.ok(wasm, `the wasm module is uploaded with the worker: ${files.join(' ')}`);
    assert.ok(readFileSync(join(out, wasm)).equals(readFileSync(join(RELEASE, 'cloudflare', 'proxy_bg.wasm'))));
  });

  test('a manifest from other sources is stale', () => {
    const dir = copy();
    const m = JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8'));
    writeFileSync(join(dir, 'MANIFEST.json'), JSON.stringify({ ...m, source: '0000000000000000' }));
    assert.match(check(dir).join('\n'), /run `make release`/);
  });

  test('reproducible: this tree builds exactly the committed release files', () => {
    // dist/ is what `make build` (a prerequisite of the e2e suite) just made from this tree
    // with the Debian recipe, the one release files come from.
    for (const [built, released] of Object.entries(FILES)) {
      assert.ok(readFileSync(join(ROOT, built)).equals(readFileSync(join(RELEASE, released))), `${built} != release/${released}: run make release`);
    }
  });

  test('every bundle names its version and source, as /version does', () => {
    const m = JSON.parse(readFileSync(join(RELEASE, 'MANIFEST.json'), 'utf8'));
    for (const f of ['esa/index.js', 'cloudflare/worker.js', 'pages/_worker.js/index.js']) {
      const first = readFileSync(join(RELEASE, f), 'utf8').split('\n')[0];
      assert.ok(first.includes(`edge-registry-proxy ${m.version} · source ${m.source}`), `${f}: ${first}`);
    }
  });
});

describe('release files work', () => {
  let up;
  let images;
  const rt = {};
  before(async () => {
    up = await startUpstream('release-upstream');
    images = await seedImages(up, { only: ['library/tiny', 'library/secret'] });
    const vars = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny', USER_WHITELIST: 'alice', TOKEN_SECRET: SECRET };
    [rt.esa, rt.workerd, rt.pages] = await Promise.all([
      startEsaHost('release-esa', vars, { bundle: join(RELEASE, 'esa', 'index.js') }),
      startWorkerd('release-workerd', vars, { script: join(RELEASE, 'cloudflare', 'worker.js') }),
      startPages('release-pages', vars, { dir: join(RELEASE, 'pages') }),
    ]);
  });
  after(async () => {
    await Promise.all(Object.values(rt).map((r) => r.stop()));
    await up?.stop();
  });

  for (const name of ['esa', 'workerd', 'pages']) {
    test(`${name}: login, pull, denial; /version names the release's source`, async () => {
      const m = JSON.parse(readFileSync(join(RELEASE, 'MANIFEST.json'), 'utf8'));
      const v = await (await fetch(`${rt[name].url}/version`)).json();
      assert.equal(v.source, m.source);
      const host = rt[name].url.replace(/^http:\/\//, '');
      const creds = `alice:${USERS.alice}`;
      const ok = await skopeoPull(`${host}/tiny:latest`, { creds });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.files['manifest.json'], images['library/tiny'].digest);
      const anon = await skopeoPull(`${host}/tiny:latest`);
      assert.notEqual(anon.code, 0, 'no login: refused');
      const denied = await skopeoPull(`${host}/library/secret:latest`, { creds });
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /not in the whitelist|denied/i);
    });
  }
});

// `make dev` and `make esa-dev` as a user runs them: config from the environment, then a real
// pull through each.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { seedImages } from './harness/images.mjs';
import { byName, hostsSpec } from './harness/names.mjs';
import { freePort, run, runAsync, start, tempDir, waitForHttp } from './harness/procs.mjs';
import { pairedRatio } from '../../bench/worker-alone.mjs';
import { startUpstream } from './harness/upstream.mjs';

let up;
let images;
const procs = [];

before(async () => {
  up = await startUpstream('make-upstream');
  images = await seedImages(up, { bigMiB: 1 });
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await up?.stop();
});

for (const [target, portVar] of [['dev', 'DEV_PORT'], ['esa-dev', 'ESA_PORT']]) {
  test(`make ${target} serves pulls with config from the environment`, async () => {
    const port = await freePort();
    const proc = start(`make-${target}`, 'make', ['--no-print-directory', target], {
      // The ESA host reaches servers by name only, as ESA does (harness/names.mjs).
      env: target === 'esa-dev'
        ? { [portVar]: String(port), UPSTREAM: `docker.io@${byName(up.url)}`, WHITELIST: 'tiny', ESA_HOSTS: hostsSpec() }
        : { [portVar]: String(port), UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny' },
    });
    procs.push(proc);
    await waitForHttp(`http://127.0.0.1:${port}/version`, proc, 120000);
    const out = join(tempDir(`make-${target}`), 'out');
    const r = await runAsync('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://127.0.0.1:${port}/tiny:latest`, `dir:${out}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readdirSync(out).includes(images['library/tiny'].layers[0].slice(7)));
    const denied = await fetch(`http://127.0.0.1:${port}/v2/team/app/manifests/v1`);
    assert.equal(denied.status, 403, 'WHITELIST from the environment is in force');
    await proc.stop();
  });
}

test('setup off Debian says exactly what is missing instead of failing inside apt', async () => {
  // A PATH with the shell tools setup.sh uses, but no apt-get, dpkg-query, rustup or npm.
  const bin = tempDir('no-debian');
  for (const t of ['bash', 'env', 'dirname', 'grep', 'sed', 'awk', 'cat', 'printf']) {
    const found = run('bash', ['-c', `command -v ${t}`]).stdout.trim();
    if (found) symlinkSync(found, join(bin, t));
  }
  const r = run(join(bin, 'bash'), ['scripts/setup.sh', 'build'], { env: { PATH: bin, HOME: tempDir('no-debian-home') } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /not a Debian system/);
  assert.match(r.stderr, /rustup target add wasm32-unknown-unknown/);
  assert.match(r.stderr, /npm/);
});

// `make bench` is not part of `make test`, but its in-process scripts call the bundle's API
// directly (`handle` of the glue, as js-shim/proxy.js calls it): a change there must not break them
// unnoticed. They run here on a few requests; their figures are not judged.
test('the bench scripts that call the bundle directly still run', async () => {
  for (const engine of ['wasm', 'wasm2js']) {
    const r = await runAsync(process.execPath, ['bench/coldstart.mjs', engine]);
    assert.equal(r.code, 0, r.stderr);
    const { instantiateMs, firstRequestMs } = JSON.parse(r.stdout);
    assert.ok(instantiateMs > 0 && firstRequestMs > 0, r.stdout);
  }
  for (const args of [[], ['baseline']]) {
    const r = await runAsync(process.execPath, ['bench/in-process.mjs', ...args], { env: { IN_PROCESS_N: '20', IN_PROCESS_RUNS: '1' } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.request), ['manifest GET', 'manifest HEAD', 'ping']);
    assert.ok(lines.every((l) => l.usPerRequest > 0), r.stdout);
  }
  for (const engine of ['wasm', 'wasm2js']) {
    const env = { ESA_LOAD_STEADY_N: '5', ...(engine === 'wasm2js' ? { ESA_WASM: 'off' } : {}) };
    const r = await runAsync(process.execPath, ['bench/esa-load.mjs'], { env });
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim());
    assert.equal(got.engine, engine, r.stdout);
    assert.ok(got.loadMs > 0 && got.firstMs > 0 && got.steadyMs > 0, r.stdout);
  }
  const r = await runAsync(process.execPath, ['bench/crossings.mjs']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  // The proxy answered each as it should (an anonymous ping: the challenge), through the counted instance.
  assert.deepEqual(lines.map((l) => [l.request, l.status]), [
    ['ping (anonymous)', 401],
    ['token', 200],
    ['manifest HEAD', 200],
    ['manifest GET', 200],
    ['blob GET (redirect followed)', 200],
  ]);
  assert.ok(lines.every((l) => l.wasmToJs > 0 && l.jsToWasm > 0), r.stdout);
  assert.equal(lines[4].byImport.fetch, 2, 'the blob redirect is fetched twice, both from wasm');
});

// The bench's ratios pair round i of ours with round i of the other proxy, which ran right
// after it: a machine that slows down over the run moves both halves of each pair alike.
test('bench ratios are taken round by round', () => {
  assert.equal(pairedRatio([1.1, 1.2, 1.3], [1, 1, 1]), '1.20× (1.10–1.30)');
  // 10 % apart in every round while the machine's speed swings 3x: each target's own figures
  // spread 1–3, the ratio does not.
  assert.equal(pairedRatio([3.3, 1.1, 2.2], [3, 1, 2]), '1.10× (1.10–1.10)');
  assert.equal(pairedRatio([2, 1], [1, 0]), '2.00× (2.00–2.00)', 'a round with nothing to divide by is left out');
});

// make test leaves nothing in /tmp: each harness temp dir (registries, layers of up to 256 MiB,
// client stores) goes when the process that made it ends. Hundreds of runs once filled the disk.
test('the harness removes its temp dirs when its process ends (ERP_KEEP_TMP=1 keeps them)', async () => {
  const probe = "import('./tests/e2e/harness/procs.mjs').then((m) => { const d = m.tempDir('cleanup-probe'); require('node:fs').writeFileSync(d + '/f', 'x'); console.log(d); })";
  const made = await runAsync(process.execPath, ['-e', probe]);
  assert.equal(made.code, 0, made.stderr);
  const dir = made.stdout.trim();
  assert.match(dir, /erp-cleanup-probe-/);
  assert.equal(existsSync(dir), false, `${dir} is left behind`);
  const kept = await runAsync(process.execPath, ['-e', probe], { env: { ERP_KEEP_TMP: '1' } });
  const keptDir = kept.stdout.trim();
  try {
    assert.equal(existsSync(`${keptDir}/f`), true, 'kept on request');
  } finally {
    rmSync(keptDir, { recursive: true, force: true });
  }
});

// Load, bounded and on loopback: 50 concurrent skopeo pulls of a multi-layer image through the
// worker (workerd) and the ESA host; then the same with the upstream answering a share of
// requests with 429 and 503: clients see those statuses (never 500) and the cache keeps nothing
// corrupt.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy } from './harness/faultproxy.mjs';
import { seedImages } from './harness/images.mjs';
import { groupUsage, runAsync, tempDir } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { sha256, startUpstream } from './harness/upstream.mjs';

const PULLS = 50;
let up;
let fault;
let image;
const rt = {};

before(async () => {
  up = await startUpstream('load-upstream');
  image = (await seedImages(up, { bigMiB: 1, only: ['library/layers'] }))['library/layers'];
  fault = await startFaultProxy(up.port);
  const plain = { UPSTREAM: `docker.io@${up.url}`, LOG: 'errors' };
  const faulty = { UPSTREAM: `docker.io@${fault.url}`, CACHE: 'on', TOKEN_SECRET: 'load-test-secret-0123456789abcdef', LOG: 'errors' };
  [rt.workerd, rt.esa, rt.workerdFaulty, rt.esaFaulty] = await Promise.all([
    startWorkerd('load-workerd', plain),
    startEsaHost('load-esa', plain),
    startWorkerd('load-workerd-faulty', faulty),
    startEsaHost('load-esa-faulty', faulty),
  ]);
});

after(async () => {
  await Promise.all(Object.values(rt).map((r) => r.stop()));
  await fault?.stop();
  await up?.stop();
});

async function pull(base) {
  const dir = join(tempDir('lpull'), 'out');
  const r = await runAsync('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${base.replace('http://', '')}/library/layers:latest`, `dir:${dir}`], { timeout: 300000 });
  let ok = r.code === 0;
  if (ok) {
    ok = sha256(readFileSync(join(dir, 'manifest.json'))) === image.digest && image.layers.every((l) => sha256(readFileSync(join(dir, l.slice(7)))) === l);
  }
  return { ...r, verified: ok };
}

async function concurrentPulls(target) {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, groupUsage(target.proc.pid).rssMb)), 200);
  try {
    return { results: await Promise.all(Array.from({ length: PULLS }, () => pull(target.url))), peak };
  } finally {
    clearInterval(sampler);
  }
}

for (const name of ['workerd', 'esa']) {
  describe(`load on ${name}`, () => {
    test(`${PULLS} concurrent pulls of a ${image?.layers.length ?? 4}-layer image: all complete and verified, memory bounded`, async (t) => {
      const { results, peak } = await concurrentPulls(rt[name]);
      t.diagnostic(`${name}: peak RSS of the runtime ${peak.toFixed(0)} MB during ${PULLS} concurrent pulls`);
      const failed = results.filter((r) => !r.verified);
      assert.deepEqual(failed.map((r) => r.stderr.slice(-200)), []);
      assert.ok(peak > 0 && peak < 1536, `peak RSS ${peak.toFixed(0)} MB`);
      assert.doesNotMatch(rt[name].proc.log(), / -> 5\d\d/);
    });

    test('upstream answering 429 and 503 for a share of requests: clients see those, never 500; nothing corrupt cached', async (t) => {
      const target = rt[`${name}Faulty`];
      fault.failEvery(7);
      const { results } = await concurrentPulls(target);
      fault.failEvery(0);
      t.diagnostic(`${name}: injected ${fault.faults[429]}×429, ${fault.faults[503]}×503 so far; ${results.filter((r) => !r.verified).length} of ${PULLS} pulls failed`);
      assert.ok(fault.faults[429] > 0 && fault.faults[503] > 0, 'faults were injected');
      for (const r of results.filter((x) => !x.verified)) {
        assert.match(r.stderr, /429|Too Many Requests|toomanyrequests|503|Service Unavailable|unavailable/i, r.stderr.slice(-300));
        assert.doesNotMatch(r.stderr, /\b500\b|Internal Server Error/);
      }
      assert.doesNotMatch(target.proc.log(), / -> 500/);
      // Faults off: every pull verifies, so whatever the faulty run left in the cache is intact.
      const clean = await Promise.all(Array.from({ length: 10 }, () => pull(target.url)));
      assert.deepEqual(clean.filter((r) => !r.verified).map((r) => r.stderr.slice(-200)), []);
    });
  });
}

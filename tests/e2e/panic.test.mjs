// A panic while other requests are in flight: each request is a future of the wasm instance,
// resumed by callbacks that call into wasm through the one glue module. After a panic the
// instance is replaced; a request of the old one must fail with a registry error at once, and
// when its upstream answers later, its callbacks must not run (in the new instance's memory,
// through the glue) nor take the new instance down: the new instance still knows what it
// learned before (a pull limit on /version), round after round.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';

/** An upstream that holds every request for a `/slow` repository until the test releases it. */
async function heldUpstream() {
  const held = [];
  const waiters = [];
  const server = createServer((req, res) => {
    if (!req.url.includes('/slow')) {
      // A marker the instance keeps (/version's pull limit): `/fast-N` announces N remaining.
      const marker = /\/fast-(\d+)/.exec(req.url)?.[1] ?? '0';
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'docker-distribution-api-version': 'registry/2.0',
          'ratelimit-limit': '100;w=21600',
          'ratelimit-remaining': `${marker};w=21600`,
        })
        .end('{}');
      return;
    }
    held.push({ path: req.url, res });
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const arrived = async (part) => {
    const deadline = Date.now() + 15000;
    while (!held.some((h) => h.path.includes(part))) {
      if (Date.now() > deadline) throw new Error(`upstream never saw ${part}`);
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const release = (part) => {
    const h = held.find((x) => x.path.includes(part));
    h.res.writeHead(404, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
    h.res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  };
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    arrived,
    release,
    stop: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

const code = async (r) => {
  try {
    return JSON.parse(await r.text()).errors[0].code;
  } catch {
    return null;
  }
};

let up;
const runtimes = {};
before(async () => {
  up = await heldUpstream();
  const vars = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'library/*', DEBUG_PANIC: 'on' };
  [runtimes.workerd, runtimes.esa] = await Promise.all([startWorkerd('panic-workerd', vars), startEsaHost('panic-esa', vars, { names: false })]);
});
after(async () => {
  await Promise.all(Object.values(runtimes).map((r) => r?.stop()));
  await up?.stop();
});

for (const name of ['workerd', 'esa']) {
  describe(`a panic with requests in flight on ${name}`, () => {
    test('the request of the old instance fails, the new instance serves on', async () => {
      const base = runtimes[name].url;
      const manifest = (repo) => fetch(`${base}/v2/library/${repo}/manifests/latest`, { signal: AbortSignal.timeout(30000) });
      const remaining = async () => {
        const v = await (await fetch(`${base}/version`)).json();
        return v.instance.pull_limits.map((l) => l.remaining).join(',');
      };
      // Rounds: a dead instance's callback corrupting the new one shows only sometimes.
      for (let round = 1; round <= 3; round++) {
        const old = `slow-old-${name}-${round}`;
        const neu = `slow-new-${name}-${round}`;
        const inFlight = manifest(old);
        await up.arrived(old);
        const panic = await fetch(`${base}/__panic`, { signal: AbortSignal.timeout(10000) });
        assert.equal(panic.status, 500);
        assert.equal(await code(panic), 'UNKNOWN');
        const failed = await inFlight;
        assert.equal(failed.status, 500, 'the old instance is gone: a registry error, not a hang');
        assert.equal(await code(failed), 'UNKNOWN');
        // The new instance learns something, and has a request in flight when the old
        // request's upstream answers.
        const marker = String(40 + round);
        assert.equal((await manifest(`fast-${marker}`)).status, 200);
        assert.equal(await remaining(), `${marker};w=21600`);
        const next = manifest(neu);
        await up.arrived(neu);
        up.release(old);
        await new Promise((r) => setTimeout(r, 300));
        up.release(neu);
        const fresh = await next;
        assert.equal(fresh.status, 404, 'the new instance answered what the upstream said');
        assert.equal(await code(fresh), 'MANIFEST_UNKNOWN');
        assert.equal(await remaining(), `${marker};w=21600`, 'the new instance is the same one, not replaced again');
      }
    });
  });
}

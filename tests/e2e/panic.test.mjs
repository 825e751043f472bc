// A panic while other requests are in flight: each request is a task of the wasm instance that
// the shim resumes after every await (src/outside_tasks.rs). After a panic the instance is
// replaced; a request whose task lived in the old one must fail with a registry error when its
// upstream answers, and must neither resume in the new instance (its task id may belong to
// another request there) nor take the new instance down with it.
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
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
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
      const inFlight = manifest(`slow-old-${name}`);
      await up.arrived(`slow-old-${name}`);
      const panic = await fetch(`${base}/__panic`, { signal: AbortSignal.timeout(10000) });
      assert.equal(panic.status, 500);
      assert.equal(await code(panic), 'UNKNOWN');
      // Served by the new instance, and in flight when the old request's upstream answers.
      const next = manifest(`slow-new-${name}`);
      await up.arrived(`slow-new-${name}`);
      up.release(`slow-old-${name}`);
      const old = await inFlight;
      assert.equal(old.status, 500, 'the old instance is gone: a registry error, not a hang');
      assert.equal(await code(old), 'UNKNOWN');
      up.release(`slow-new-${name}`);
      const fresh = await next;
      assert.equal(fresh.status, 404, 'the new instance answered what the upstream said');
      assert.equal(await code(fresh), 'MANIFEST_UNKNOWN');
      const version = await fetch(`${base}/version`);
      assert.equal(version.status, 200);
    });
  });
}

// docker search through the proxy (issue 30): a stand-in for Docker Hub's search API answers
// /v1/search; docker itself searches through the worker (workerd) and the ESA bundle (ESA host)
// and lists only what the whitelist admits. Bad parameters are registry errors; with a user list
// a search needs a login.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startDockerd } from './harness/engines.mjs';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';

const RESULTS = [
  { name: 'nginx', description: 'Official build of Nginx.', star_count: 20000, is_official: true, is_automated: false },
  { name: 'bitnami/nginx', description: 'Bitnami nginx', star_count: 200, is_official: false, is_automated: true },
  { name: 'jqknono/nginx', description: 'ours', star_count: 2, is_official: false, is_automated: false },
  { name: 'jqknonox/nginx', description: 'not ours', star_count: 1, is_official: false, is_automated: false },
];
let hub; // the search stand-in
let docker;
const asked = [];
const rt = {};

before(async () => {
  hub = createServer((req, res) => {
    asked.push(req.url);
    if (!req.url.startsWith('/v1/search?')) return res.writeHead(404).end();
    const q = new URL(req.url, 'http://x').searchParams.get('q');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ num_results: RESULTS.length, query: q, results: RESULTS }));
  });
  await new Promise((r) => hub.listen(0, '127.0.0.1', r));
  nameLoopback(hub.address().port, 'index.search.test');
  const vars = { SEARCH_UPSTREAM: `http://127.0.0.1:${hub.address().port}`, WHITELIST: 'nginx, jqknono/*' };
  const users = { ...vars, USER_WHITELIST: 'alice', TOKEN_SECRET: 'search-test-secret-0123456789abcdef' };
  [rt.workerd, rt.esa, rt.users, docker] = await Promise.all([
    startWorkerd('search-workerd', vars),
    startEsaHost('search-esa', vars),
    startWorkerd('search-users', users),
    startDockerd('search-docker'),
  ]);
});

after(async () => {
  await Promise.all([...Object.values(rt).map((r) => r.stop()), docker?.stop()]);
  await new Promise((r) => hub.close(r));
});

for (const kind of ['workerd', 'esa']) {
  describe(`docker search on ${kind}`, () => {
    test('docker lists only whitelisted repositories', async () => {
      const r = await docker.docker('search', '--format', '{{.Name}}', `127.0.0.1:${rt[kind].port}/nginx`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').sort(), ['jqknono/nginx', 'nginx']);
      assert.ok(asked.some((u) => u.includes('q=nginx')), 'the stand-in was not asked');
    });

    test('bad parameters are registry errors and go nowhere', async () => {
      const before = asked.length;
      for (const q of ['', 'q=', 'q=a&n=0', 'q=a&n=101', 'q=a&page=x', 'q=a&q=b']) {
        const r = await fetch(`${rt[kind].url}/v1/search?${q}`);
        const body = await r.json();
        assert.equal(r.status, 400, `${q}: ${JSON.stringify(body)}`);
        assert.ok(body.errors?.[0]?.code, q);
      }
      assert.equal(asked.length, before);
    });
  });
}

test('with a user list, a search needs a login', async () => {
  const r = await fetch(`${rt.users.url}/v1/search?q=nginx`);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
});

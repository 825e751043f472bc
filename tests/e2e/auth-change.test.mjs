// An upstream that changes its auth under a running proxy: the proxy's memory of it heals.
//
// A front on one address stands for the upstream and switches between real registries:
// `token` (distribution with token auth, its realm at /tokenA on the front), `moved` (the same,
// realm at /tokenB; /tokenA is gone), `open` (a second distribution serving the same storage
// with no auth) and `basic` (that one behind a Basic check). skopeo pulls through the proxy
// after each switch; a pull may fail once (the proxy learns from the failure), the retry must
// succeed. Pass-through, user-list and cache modes; the worker in workerd and the ESA bundle.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { skopeoPull } from './harness/engines.mjs';
import { seedImages } from './harness/images.mjs';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startOpenRegistry, startUpstream } from './harness/upstream.mjs';

const SECRET = 'auth-change-secret-0123456789abcdef';
let up;
let open;
let front;
let mode = 'token';
const answered = []; // { mode, path, status }: what the front answered, in which mode
const rt = {};

function relay(target, req, res, rewrite = (h) => h) {
  const t = new URL(target);
  const path = req.url.replace(/^\/token[AB]/, '/token');
  const out = httpRequest({ host: t.hostname, port: t.port, method: req.method, path, headers: { ...req.headers, host: t.host } }, (r) => {
    res.writeHead(r.statusCode, rewrite(r.headers));
    r.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
}

async function startFront() {
  const server = createServer((req, res) => {
    const at = mode;
    res.on('finish', () => answered.push({ mode: at, path: req.url, status: res.statusCode }));
    const realmPath = mode === 'moved' ? '/tokenB' : '/tokenA';
    if (req.url.startsWith('/token')) {
      if (!['token', 'moved'].includes(mode) || !req.url.startsWith(realmPath)) return res.writeHead(404).end();
      return relay(up.tokenUrl, req, res);
    }
    if (mode === 'open') return relay(open.url, req, res);
    if (mode === 'basic') {
      const ok = req.headers.authorization === `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}`;
      if (!ok) return res.writeHead(401, { 'www-authenticate': 'Basic realm="front"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"basic"}]}');
      const headers = { ...req.headers };
      delete headers.authorization;
      return relay(open.url, { ...req, headers, url: req.url, method: req.method, pipe: (o) => req.pipe(o) }, res);
    }
    relay(up.url, req, res, (h) => {
      if (h['www-authenticate']) h['www-authenticate'] = h['www-authenticate'].replace(`${up.tokenUrl}/token`, `http://127.0.0.1:${server.address().port}${realmPath}`);
      return h;
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return { port, url: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

before(async () => {
  up = await startUpstream('auth-change');
  await seedImages(up, { bigMiB: 1, only: ['library/tiny'] });
  open = await startOpenRegistry('auth-change-open', up.storage);
  front = await startFront();
  nameLoopback(front.port, `front.${up.site}`);
  nameLoopback(open.port, `open.${up.site}`);
  const base = { UPSTREAM: `docker.io@${front.url}`, WHITELIST: 'tiny' };
  const configs = {
    passThrough: base,
    users: { ...base, USER_WHITELIST: 'alice', TOKEN_SECRET: SECRET },
    cache: { ...base, CACHE: 'on', CACHE_TAG_TTL: '1', TOKEN_SECRET: SECRET },
  };
  const starts = [];
  for (const [kind, startOne] of [['workerd', startWorkerd], ['esa', startEsaHost]]) {
    rt[kind] = {};
    for (const [n, vars] of Object.entries(configs)) starts.push(startOne(`auth-change-${kind}-${n}`, vars).then((r) => (rt[kind][n] = r)));
  }
  await Promise.all(starts);
});

after(async () => {
  await Promise.all(Object.values(rt).flatMap((c) => Object.values(c).map((r) => r.stop())));
  await Promise.all([front?.stop(), open?.stop()]);
  await up?.stop();
});

// What each mode can serve: a user list needs an upstream with accounts that issues tokens;
// the cache's own pulls are anonymous (no operator account here), so not behind `basic`.
const SEQUENCES = {
  passThrough: { modes: ['token', 'moved', 'open', 'basic', 'token'], creds: `alice:${USERS.alice}` },
  users: { modes: ['token', 'moved', 'token'], creds: `alice:${USERS.alice}` },
  cache: { modes: ['token', 'moved', 'open', 'token'], creds: null },
};

for (const kind of ['workerd', 'esa']) {
  describe(`upstream auth changes under a running proxy on ${kind}`, () => {
    for (const [config, { modes, creds }] of Object.entries(SEQUENCES)) {
      test(`${config}: ${modes.join(' -> ')}, each pull recovers within one retry`, async () => {
        const ref = `127.0.0.1:${rt[kind][config].port}/library/tiny:latest`;
        for (const m of modes) {
          mode = m;
          if (config === 'cache') await new Promise((r) => setTimeout(r, 1100)); // the tag's TTL
          const since = answered.length;
          const first = await skopeoPull(ref, { creds });
          if (first.code !== 0) {
            const retry = await skopeoPull(ref, { creds });
            assert.equal(retry.code, 0, `${m}: the retry failed too:\n${first.stderr.slice(-400)}\n${retry.stderr.slice(-600)}`);
          }
          // Served by the upstream as it is now, not by what the proxy remembered (the cache
          // would serve a stale tag through any failure).
          const now = answered.slice(since);
          const tag = now.find((a) => a.path.startsWith('/v2/library/tiny/manifests/latest') && a.status === 200);
          assert.ok(tag, `${m}: no manifest answered by the upstream: ${JSON.stringify(now)}`);
          // The old realm asked (and gone) means the new one was learned and asked. (The
          // cache's own pulls may still hold a token from before: no realm asked at all.)
          if (m === 'moved' && now.some((a) => a.path.startsWith('/tokenA'))) {
            assert.ok(now.some((a) => a.path.startsWith('/tokenB') && a.status === 200), `${m}: the new realm was never asked`);
          }
        }
      });
    }
  });
}

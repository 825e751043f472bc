// Identity and configuration cannot open the mirror, on every runtime (the worker in workerd,
// the ESA bundle in the ESA host with wasm and with its wasm2js fallback):
//   - a listed user is one account on one registry, and the listed spelling goes upstream;
//   - two endpoints never share a registry name (tokens would cross between them);
//   - users' passwords go only to the realm the upstream's own /v2/ names, never to one learnt
//     from a host a blob was redirected to;
//   - with the operator's account, a listed user still reads only what their own account reads;
//   - a configuration error names the key, never the value (URLs may hold passwords).
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { seedImages } from './harness/images.mjs';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, startUpstream } from './harness/upstream.mjs';

const SECRET = 'identity-test-secret-0123456789ab';
const B_HOST = 'b.mirror.test';
const B_NAME = 'registry-b.test';
const LEAKED = 'hunter2-in-a-url';
const D = `sha256:${'a'.repeat(64)}`;

let hub; // the default upstream (docker.io)
let regB; // a routed registry whose token service knows accounts of the same names
let front; // the default upstream behind a front that redirects blobs to `evil`
let evil; // a "CDN" on another host that answers 401 naming its own realm
const rt = {};

/** A loopback server on `host` recording every request; `handler` answers. */
async function recordingServer(host, handler) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization || null });
    handler(req, res);
  });
  await new Promise((r) => server.listen(0, host, r));
  return {
    url: `http://${host}:${server.address().port}`,
    requests,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/** Forwards to `target`, except blob GETs: those are redirected to `cdn`. */
async function redirectingFront(target, cdn) {
  const t = new URL(target);
  return recordingServer('127.0.0.1', (req, res) => {
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url)) {
      res.writeHead(307, { location: `${cdn}/blob${req.url}` }).end();
      return;
    }
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
}

before(async () => {
  [hub, regB] = await Promise.all([startUpstream('identity-hub'), startUpstream('identity-b')]);
  await Promise.all([
    seedImages(hub, { bigMiB: 1, only: ['library/tiny', 'private/app'] }),
    seedImages(regB, { bigMiB: 1, only: ['team/app'] }),
  ]);
  // 127.0.0.2: another host than the upstream's (127.0.0.1), still loopback.
  evil = await recordingServer('127.0.0.2', (req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.2:${evil.port}/token",service="cdn"`, 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"cdn"}]}');
  });
  evil.port = new URL(evil.url).port;
  nameLoopback(evil.port, 'cdn.evil.test', '127.0.0.2'); // another site, for the ESA host
  front = await redirectingFront(hub.url, evil.url);
  nameLoopback(new URL(front.url).port, `front.${hub.site}`);

  const configs = {
    // Users on two registries, the operator's account and the cache all at once.
    users: {
      UPSTREAM: `docker.io@${hub.url}`,
      ROUTES: `${B_HOST}=${B_NAME}@${regB.url}`,
      USER_WHITELIST: `alice, ${B_NAME}/bob`,
      UPSTREAM_USERNAME: 'pusher',
      UPSTREAM_PASSWORD: USERS.pusher,
      CACHE: 'on',
      TOKEN_SECRET: SECRET,
    },
    passThrough: { UPSTREAM: `docker.io@${front.url}` },
    confused: { UPSTREAM: `docker.io@${hub.url}`, ROUTES: `h2.mirror.test=docker.io@${regB.url}` },
    leaky: { UPSTREAM: `https://operator:${LEAKED}@registry.example` },
  };
  const starters = {
    workerd: (n, v) => startWorkerd(`identity-workerd-${n}`, v),
    esa: (n, v) => startEsaHost(`identity-esa-${n}`, v),
    'esa-wasm2js': (n, v) => startEsaHost(`identity-esa2js-${n}`, v, { wasm: false }),
  };
  for (const [kind, startOne] of Object.entries(starters)) {
    rt[kind] = {};
    const names = Object.keys(configs);
    const started = await Promise.all(names.map((n) => startOne(n, configs[n])));
    names.forEach((n, i) => (rt[kind][n] = started[i]));
  }
});

after(async () => {
  await Promise.all(Object.values(rt).flatMap((byConfig) => Object.values(byConfig).map((r) => r.stop())));
  await Promise.all([front?.stop(), evil?.stop()]);
  await Promise.all([hub?.stop(), regB?.stop()]);
});

/** A request with a chosen Host header (route hosts) through node:http. */
function req(base, path, { method = 'GET', headers = {} } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
    });
    r.on('error', reject);
    r.end();
  });
}

const basic = (user, pw) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
const code = (r) => r.json?.errors?.[0]?.code;

async function login(base, user, pw, { repo = 'library/tiny', host, ns } = {}) {
  let path = `/token?service=x&scope=${encodeURIComponent(`repository:${repo}:pull`)}`;
  if (ns) path += `&ns=${encodeURIComponent(ns)}`;
  return req(base, path, { headers: { ...basic(user, pw), ...(host ? { host } : {}) } });
}

const MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

for (const kind of ['workerd', 'esa', 'esa-wasm2js']) {
  describe(`identity and config on ${kind}`, () => {
    test('a listed user is one account on one registry', async () => {
      const { url } = rt[kind].users;
      const alice = await login(url, 'alice', USERS.alice);
      assert.equal(alice.status, 200, alice.body);
      const pulled = await req(url, '/v2/library/tiny/manifests/latest', { headers: { authorization: `Bearer ${alice.json.token}`, accept: MANIFEST_ACCEPT } });
      assert.equal(pulled.status, 200, pulled.body);
      // alice exists on registry B too, but is listed only for the default upstream.
      for (const where of [{ host: B_HOST }, { ns: B_NAME }, { host: `${B_HOST}:443` }, { host: B_HOST.toUpperCase() }]) {
        const r = await login(url, 'alice', USERS.alice, { repo: 'team/app', ...where });
        assert.equal(r.status, 401, `alice via ${JSON.stringify(where)}: ${r.body}`);
        assert.equal(code(r), 'UNAUTHORIZED');
      }
      // bob is listed for B only.
      assert.equal((await login(url, 'bob', USERS.bob, { repo: 'team/app', host: B_HOST })).status, 200);
      assert.equal((await login(url, 'bob', USERS.bob, { repo: 'team/app', ns: B_NAME })).status, 200);
      for (const user of ['bob', 'BOB']) assert.equal((await login(url, user, USERS.bob)).status, 401, user);
      // A token issued for the default upstream opens nothing on B.
      const onB = await req(url, '/v2/team/app/manifests/v1', { headers: { host: B_HOST, authorization: `Bearer ${alice.json.token}` } });
      assert.equal(onB.status, 401);
    });

    test('the listed spelling goes upstream: a case variant is another account', async () => {
      const { url } = rt[kind].users;
      // `ALICE` is a different account at the upstream, with its own password.
      for (const user of ['ALICE', 'Alice', 'aLiCe', 'alicE']) {
        const r = await login(url, user, USERS.ALICE);
        assert.equal(r.status, 401, `${user} with ALICE's password: ${r.body}`);
      }
      // The real alice typing capitals is alice: the upstream confirms the subject.
      const r = await login(url, 'ALICE', USERS.alice);
      assert.equal(r.status, 200, r.body);
      const sent = hub.tokenRequests.filter((t) => t.authorization?.startsWith('Basic '));
      const names = sent.map((t) => Buffer.from(t.authorization.slice(6), 'base64').toString().split(':')[0]);
      assert.ok(!names.some((n) => /ALICE|Alice|aLiCe|alicE/.test(n)), `typed spellings went upstream: ${names}`);
    });

    test("the operator's account never reads for a listed user", async () => {
      const { url } = rt[kind].users;
      const v = await req(url, '/version');
      assert.ok(v.json.warnings.some((w) => w.includes('UPSTREAM_USERNAME is not used')), v.body);
      const t = await login(url, 'alice', USERS.alice, { repo: 'private/app' });
      assert.equal(t.status, 200, t.body);
      const m = await req(url, '/v2/private/app/manifests/latest', { headers: { authorization: `Bearer ${t.json.token}`, accept: MANIFEST_ACCEPT } });
      assert.notEqual(m.status, 200, 'alice read the operator\'s private image through the cache');
      assert.ok([401, 403, 404].includes(m.status), `${m.status} ${m.body}`);
    });

    test('passwords go only to the realm the upstream itself names', async () => {
      const { url } = rt[kind].passThrough;
      const t = await req(url, `/token?scope=${encodeURIComponent('repository:library/tiny:pull')}`);
      assert.equal(t.status, 200, t.body);
      // The blob is redirected to a host that answers 401 naming its own realm.
      const b = await req(url, `/v2/library/tiny/blobs/${D}`, { headers: { authorization: `Bearer ${t.json.token}` } });
      assert.equal(b.status, 401, b.body);
      assert.ok(!/127\.0\.0\.2|evil\.test/.test(String(b.headers['www-authenticate'])), b.headers['www-authenticate']);
      const before = hub.tokenRequests.length;
      const l = await login(url, 'alice', USERS.alice);
      assert.equal(l.status, 200, l.body);
      assert.ok(hub.tokenRequests.length > before, 'the login did not reach the upstream token service');
      assert.ok(evil.requests.length > 0, 'the blob redirect was not followed');
      assert.deepEqual(evil.requests.filter((r) => r.authorization || r.url.startsWith('/token')), [], 'credentials reached the redirect host');
    });

    test('one registry name, one endpoint: a duplicate is refused, naming both', async () => {
      const r = await req(rt[kind].confused.url, '/v2/');
      assert.equal(r.status, 500);
      assert.equal(code(r), 'CONFIG_INVALID');
      const message = r.json.errors[0].message;
      assert.match(message, /ROUTES/);
      assert.match(message, /UPSTREAM and ROUTES entry 1/);
      assert.ok(!message.includes(String(regB.port)), message);
    });

    test('a configuration error names the key, never the value', async () => {
      const leaky = rt[kind].leaky;
      for (const path of ['/v2/', '/v2/library/tiny/manifests/latest', '/token', '/version', '/']) {
        const r = await req(leaky.url, path);
        assert.equal(code(r), 'CONFIG_INVALID', `${path}: ${r.body.slice(0, 200)}`);
        assert.match(r.json.errors[0].message, /UPSTREAM/);
        assert.ok(!r.body.includes(LEAKED) && !r.body.includes('operator'), r.body);
      }
      assert.ok(!leaky.proc.log().includes(LEAKED), 'the secret reached the log');
    });
  });
}

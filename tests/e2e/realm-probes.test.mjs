// Users' passwords go only to the upstream's own site, judged on the URL as fetch reads it.
//
// An upstream's /v2/ names a token realm; with USER_WHITELIST the proxy sends a user's Basic
// credentials there to check them. Each probe makes the upstream name a realm whose host, read
// by the WHATWG URL parser (what fetch uses), is another host (127.0.0.2, "victim") even though
// a naive split at the last '@' before the first '/' reads the upstream's own token server. The
// login must fail and the victim must see nothing. Then a plain realm on the upstream's own host
// logs in (the setup can pass). Worker in workerd and the ESA bundle in the ESA host.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';

const SECRET = 'realm-probe-secret-0123456789abcdef';
const PASSWORD = 'alice-realm-pw';
let victim; // another host, recording
let tokens; // the upstream's own token server, recording
let upstream; // answers /v2/ with 401 naming `realm`
let realm; // what the upstream names now
const rt = {};

async function server(host, handler) {
  const requests = [];
  const s = createServer((req, res) => {
    requests.push({ url: req.url, authorization: req.headers.authorization || null });
    handler(req, res);
  });
  await new Promise((r) => s.listen(0, host, r));
  const port = s.address().port;
  return { port, url: `http://${host}:${port}`, requests, stop: () => new Promise((r) => { s.closeAllConnections?.(); s.close(r); }) };
}

const basic = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

before(async () => {
  victim = await server('127.0.0.2', (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}'));
  tokens = await server('127.0.0.1', (req, res) => {
    if (req.headers.authorization !== basic) return res.writeHead(401).end('{}');
    const t = 'upstream-token-for-alice';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: t, access_token: t, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  upstream = await server('127.0.0.1', (req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="probe"`, 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"probe"}]}');
  });
  nameLoopback(victim.port, 'victim.evil.test', '127.0.0.2');
  nameLoopback(tokens.port, 'auth.probe.test');
  nameLoopback(upstream.port, 'registry.probe.test');
  const vars = { UPSTREAM: `docker.io@${upstream.url}`, USER_WHITELIST: 'alice', TOKEN_SECRET: SECRET };
  [rt.workerd, rt.esa] = await Promise.all([startWorkerd('realm-probes-workerd', vars), startEsaHost('realm-probes-esa', vars)]);
});

after(async () => {
  await Promise.all(Object.values(rt).map((r) => r.stop()));
  await Promise.all([victim, tokens, upstream].map((s) => s?.stop()));
});

// The victim and the upstream's token server as each runtime reaches them: workerd by address
// and port, the ESA bundle by name (ESA's fetch reaches names on port 80 only).
const at = (kind) =>
  kind === 'esa'
    ? { victim: 'victim.evil.test', own: 'auth.probe.test' }
    : { victim: `127.0.0.2:${victim.port}`, own: `127.0.0.1:${tokens.port}` };

// Delimiters that end a host for WHATWG before an '@' (and forms of the scheme's slashes).
const PROBES = [
  (v, o) => `http://${v}\\@${o}/token`,
  (v, o) => `http://${v}\\\\@${o}/token`,
  (v, o) => `http://${v}?@${o}/token`,
  (v, o) => `http://${v}#@${o}/token`,
  (v, o) => `http:\\\\${v}\\@${o}/token`,
  (v, o) => `http:${v}\\@${o}/token`,
  (v, o) => `http://${v}\t\\@${o}/token`,
];

for (const kind of ['workerd', 'esa']) {
  describe(`token realms on ${kind}`, () => {
    test('a realm on another host by WHATWG reading never gets the password', async () => {
      const { victim: v, own: o } = at(kind);
      for (const probe of PROBES) {
        realm = probe(v, o);
        const r = await fetch(`${rt[kind].url}/token?service=x&scope=${encodeURIComponent('repository:library/x:pull')}`, { headers: { authorization: basic } });
        const body = await r.text();
        assert.notEqual(r.status, 200, `${JSON.stringify(realm)}: logged in: ${body}`);
        assert.match(body, /"errors"/, body);
        assert.ok(!body.includes(PASSWORD), body);
        assert.deepEqual(victim.requests, [], `${JSON.stringify(realm)} reached the victim`);
      }
    });

    test('a realm on the upstream itself logs in (the probes could have passed)', async () => {
      const { own: o } = at(kind);
      realm = `http://${o}/token`;
      const before = tokens.requests.length;
      const r = await fetch(`${rt[kind].url}/token?service=x&scope=${encodeURIComponent('repository:library/x:pull')}`, { headers: { authorization: basic } });
      assert.equal(r.status, 200, await r.clone().text());
      assert.ok((await r.json()).token);
      assert.ok(tokens.requests.slice(before).some((q) => q.authorization === basic), 'the password did not reach the upstream token server');
      assert.deepEqual(victim.requests, []);
    });
  });
}

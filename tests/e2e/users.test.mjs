// The user whitelist and the operator's upstream account, end to end: real skopeo logins
// through the worker (workerd) and the ESA bundle (ESA host), real token server checking
// passwords, and every way of skipping the login refused.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedImages } from './harness/images.mjs';
import { forgeToken } from './harness/tokens.mjs';
import { OUT, runAsync, tempDir } from './harness/procs.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { USERS, sha256, startUpstream } from './harness/upstream.mjs';

const SECRET = 'e2e-token-secret-0123456789abcdef';
let up;
let images;
const users = {};
const operator = {};

before(async () => {
  up = await startUpstream('users-upstream');
  images = await seedImages(up, { bigMiB: 1 });
  const base = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, team/*', TOKEN_SECRET: SECRET };
  const userVars = { ...base, USER_WHITELIST: 'alice, bob' };
  const opVars = { ...base, UPSTREAM_USERNAME: 'bob', UPSTREAM_PASSWORD: USERS.bob };
  [users.workerd, users.esa, operator.workerd, operator.esa] = await Promise.all([
    startWorkerd('users-workerd', userVars),
    startEsaHost('users-esa', userVars),
    startWorkerd('operator-workerd', opVars),
    startEsaHost('operator-esa', opVars),
  ]);
});

after(async () => {
  await Promise.all([...Object.values(users), ...Object.values(operator)].map((r) => r.stop()));
  await up?.stop();
});

const hostOf = (url) => url.replace(/^http:\/\//, '');

async function pull(ref, creds) {
  const dir = join(tempDir('upull'), 'out');
  const auth = creds ? ['--src-creds', creds] : ['--src-no-creds'];
  const r = await runAsync('skopeo', ['copy', '--src-tls-verify=false', ...auth, `docker://${ref}`, `dir:${dir}`]);
  const files = {};
  if (r.code === 0) for (const f of readdirSync(dir)) if (f !== 'version') files[f] = sha256(readFileSync(join(dir, f)));
  return { ...r, files };
}

async function proxyToken(rt, scope, creds) {
  const headers = creds ? { authorization: `Basic ${Buffer.from(creds).toString('base64')}` } : {};
  const r = await fetch(`${rt.url}/token?service=x&scope=${encodeURIComponent(scope)}`, { headers });
  return { status: r.status, body: await r.json() };
}

const forge = (claims, secret = SECRET) => forgeToken(claims, secret);

async function manifestStatus(rt, repo, token) {
  const headers = { accept: 'application/vnd.docker.distribution.manifest.v2+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${rt.url}/v2/${repo}/manifests/latest`, { headers });
  return { status: r.status, challenge: r.headers.get('www-authenticate'), text: await r.text() };
}

for (const name of ['workerd', 'esa']) {
  describe(`user whitelist on ${name}`, () => {
    const rt = () => users[name];

    test('alice (listed) pulls with her registry account; same bytes as direct', async () => {
      const r = await pull(`${hostOf(rt().url)}/tiny:latest`, `alice:${USERS.alice}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.files['manifest.json'], images['library/tiny'].digest);
      for (const l of images['library/tiny'].layers) assert.equal(r.files[l.slice(7)], l);
      // Names match case-insensitively; the listed spelling ("bob") is what goes upstream, and
      // the upstream token's subject confirms it is bob typing "BOB".
      const bob = await pull(`${hostOf(rt().url)}/team/app:v1`, `BOB:${USERS.bob}`);
      assert.equal(bob.code, 0, bob.stderr);
    });

    test('mallory (not listed) and alice with a wrong password are refused clearly', async () => {
      const before = up.tokenRequests.length;
      const m = await pull(`${hostOf(rt().url)}/tiny:latest`, `mallory:${USERS.mallory}`);
      assert.notEqual(m.code, 0);
      assert.match(m.stderr, /may not pull from this mirror/);
      const malloryAuth = `Basic ${Buffer.from(`mallory:${USERS.mallory}`).toString('base64')}`;
      assert.ok(
        up.tokenRequests.slice(before).every((r) => r.authorization !== malloryAuth),
        "an unlisted user's password is never sent upstream",
      );
      const w = await pull(`${hostOf(rt().url)}/tiny:latest`, 'alice:wrong');
      assert.notEqual(w.code, 0);
      assert.match(w.stderr, /incorrect username or password/);
    });

    test('no credentials: 401 with the proxy challenge', async () => {
      const r = await manifestStatus(rt(), 'tiny', null);
      assert.equal(r.status, 401);
      assert.ok(r.challenge.includes(`realm="${rt().url}/token"`), r.challenge);
      assert.ok(r.challenge.includes('scope="repository:library/tiny:pull"'));
      const anon = await proxyToken(rt(), 'repository:tiny:pull', null);
      assert.equal(anon.status, 401);
      const p = await pull(`${hostOf(rt().url)}/tiny:latest`, null);
      assert.notEqual(p.code, 0);
    });

    test('tokens that must not pass', async () => {
      const good = await proxyToken(rt(), 'repository:tiny:pull', `alice:${USERS.alice}`);
      assert.equal(good.status, 200);
      const t = good.body.token;
      assert.equal((await manifestStatus(rt(), 'tiny', t)).status, 200, 'the genuine token works');
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: 'alice', reg: 'docker.io', acc: ['library/tiny'], iat: now, exp: now + 300 };
      const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const cases = {
        'upstream-minted token': await up.upstreamToken('repository:library/tiny:pull', 'alice'),
        'flipped byte in the payload': flip(t, 10),
        'flipped byte in the signature': flip(t, t.length - 3),
        expired: forge({ ...claims, iat: now - 600, exp: now - 1 }),
        'another secret': forge(claims, 'some-other-secret-0123456789abcd'),
        'unlisted user, right secret': forge({ ...claims, sub: 'mallory' }),
        'alg none JWT': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
        'erp1 prefix, no signature': `erp1.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
        'Basic instead of Bearer': null,
      };
      for (const [what, token] of Object.entries(cases)) {
        const r = await manifestStatus(rt(), 'tiny', token);
        assert.equal(r.status, 401, what);
        assert.equal(JSON.parse(r.text).errors[0].code, 'UNAUTHORIZED', what);
      }
      const basic = await fetch(`${rt().url}/v2/tiny/manifests/latest`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}` },
      });
      assert.equal(basic.status, 401);
      // A token for library/tiny does not open team/app.
      const other = await fetch(`${rt().url}/v2/team/app/manifests/v1`, { headers: { authorization: `Bearer ${t}` } });
      assert.equal(other.status, 401);
      assert.match(other.headers.get('www-authenticate'), /error="insufficient_scope"/);
      assert.match(other.headers.get('www-authenticate'), /scope="repository:team\/app:pull"/);
    });
  });

  describe(`operator account on ${name}`, () => {
    const rt = () => operator[name];

    test('anonymous clients pull with the operator account, one upstream token per repository', async () => {
      const before = up.tokenRequests.length;
      const r = await pull(`${hostOf(rt().url)}/tiny:latest`, null);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.files['manifest.json'], images['library/tiny'].digest);
      const upstreamTokenRequests = up.tokenRequests.slice(before).filter((x) => x.path === '/token');
      const bobAuth = `Basic ${Buffer.from(`bob:${USERS.bob}`).toString('base64')}`;
      assert.ok(upstreamTokenRequests.length >= 1);
      assert.ok(upstreamTokenRequests.every((x) => x.authorization === bobAuth), 'every upstream token request uses the operator account');
      const perScope = {};
      for (const x of upstreamTokenRequests) for (const s of x.query.getAll('scope')) perScope[s] = (perScope[s] || 0) + 1;
      assert.deepEqual(perScope, { 'repository:library/tiny:pull': 1 }, 'a multi-layer pull costs one token request');
    });

    test('the operator token never reaches the client', async () => {
      const t = await proxyToken(rt(), 'repository:tiny:pull', null);
      assert.equal(t.status, 200);
      assert.match(t.body.token, /^erp1\./);
      const payload = JSON.parse(Buffer.from(t.body.token.split('.')[1], 'base64url').toString());
      assert.equal(payload.up, undefined);
      assert.equal(payload.sub, undefined);
      // An upstream token is useless here, even one for the operator's own account.
      const direct = await up.upstreamToken('repository:library/tiny:pull', 'bob');
      assert.equal((await manifestStatus(rt(), 'tiny', direct)).status, 401);
    });
  });
}

describe('secrets stay out of logs', () => {
  test('no password, upstream token or proxy token in any runtime log', () => {
    const logs = readdirSync(OUT)
      .filter((f) => /^(users|operator)-(workerd|esa)\.log$/.test(f))
      .map((f) => [f, readFileSync(join(OUT, f), 'utf8')]);
    assert.equal(logs.length, 4);
    for (const [f, text] of logs) {
      assert.ok(text.length > 0, f);
      for (const secret of [...Object.values(USERS), SECRET, 'eyJ', 'erp1.']) {
        assert.ok(!text.includes(secret), `${f} contains ${secret}`);
      }
    }
  });
});

// The bypass corpus (bypass-corpus.mjs) against the worker in workerd: every request gets its
// exact refusal, and nothing it names outside the whitelist ever reaches the upstream.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { imageWhitelistCases, userWhitelistCases } from './bypass-corpus.mjs';
import { seedImages } from './harness/images.mjs';
import { forgeToken } from './harness/tokens.mjs';
import { startWorkerd } from './harness/runtimes.mjs';
import { USERS, startUpstream } from './harness/upstream.mjs';

const SECRET = 'bypass-test-secret-0123456789abcd';
let up;
let anon;
let users;
let tokens;
let registryLogAfterSeeding = 0;

const forge = (claims, secret = SECRET) => forgeToken(claims, secret);

before(async () => {
  up = await startUpstream('bypass-upstream');
  await seedImages(up, { bigMiB: 1, only: ['library/tiny', 'team/app', 'a/x', 'ab/x', 'library/secret'] });
  // The registry writes its access log asynchronously: wait until seeding's lines are in.
  for (let last = -1; last !== up.proc.log().length; await new Promise((r) => setTimeout(r, 300))) last = up.proc.log().length;
  registryLogAfterSeeding = up.proc.log().length;
  const base = { UPSTREAM: `docker.io@${up.url}`, WHITELIST: 'tiny, team/*' };
  [anon, users] = await Promise.all([
    startWorkerd('bypass-anon', base),
    startWorkerd('bypass-users', { ...base, USER_WHITELIST: 'alice', TOKEN_SECRET: SECRET }),
  ]);
  const login = async (scope) => {
    const r = await fetch(`${users.url}/token?scope=${encodeURIComponent(scope)}`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}` },
    });
    assert.equal(r.status, 200);
    return (await r.json()).token;
  };
  const alice = await login('repository:team/app:pull');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'alice', reg: 'docker.io', acc: ['team/app'], iat: now, exp: now + 300 };
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  tokens = {
    alice,
    aliceTiny: await login('repository:tiny:pull'),
    upstream: await up.upstreamToken('repository:team/app:pull'),
    upstreamAlice: await up.upstreamToken('repository:team/app:pull', 'alice'),
    flippedPayload: flip(alice, 12),
    flippedSignature: flip(alice, alice.length - 5),
    expired: forge({ ...claims, iat: now - 900, exp: now - 600 }),
    otherSecret: forge(claims, 'not-the-secret-0123456789abcdefg'),
    mallory: forge({ ...claims, sub: 'mallory' }),
    anonymous: forge({ reg: 'docker.io', acc: ['team/app'], iat: now, exp: now + 300 }),
    algNone: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
    noSignature: `erp1.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
    otherRegistry: forge({ ...claims, reg: 'ghcr.io' }),
  };
});

after(async () => {
  await Promise.all([anon?.stop(), users?.stop()]);
  await up?.stop();
});

/**
 * The request sent as written: path (or absolute URI) and headers untouched, except that
 * characters HTTP cannot carry raw (non-ASCII, controls) are percent-encoded, as every client does.
 */
function raw(base, { method = 'GET', path: written, headers = {} }) {
  const path = written.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers, setHost: !headers.host }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function check(r, c) {
  let code;
  try {
    code = JSON.parse(r.body).errors[0].code;
  } catch {
    code = `(not a registry error: ${r.body.slice(0, 80)})`;
  }
  return r.status === c.expect.status && code === c.expect.code ? null : `${c.name}: got ${r.status} ${code}, want ${c.expect.status} ${c.expect.code}`;
}

describe('bypass corpus', () => {
  test('at least 200 crafted requests', () => {
    assert.ok(imageWhitelistCases().length + userWhitelistCases(tokens).length >= 200);
  });

  test('image whitelist: every case gets its exact refusal', async () => {
    const failures = [];
    for (const c of imageWhitelistCases()) failures.push(check(await raw(anon.url, c), c));
    assert.deepEqual(failures.filter(Boolean), []);
  });

  test('user whitelist: every case gets its exact refusal', async () => {
    const failures = [];
    for (const c of userWhitelistCases(tokens)) failures.push(check(await raw(users.url, c), c));
    assert.deepEqual(failures.filter(Boolean), []);
    // The genuine token does pass (the corpus is not refusing everything).
    const ok = await raw(users.url, { path: '/v2/team/app/manifests/v1', headers: { authorization: `Bearer ${tokens.alice}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(ok.status, 200);
  });

  test('nothing outside the whitelist reached the upstream', () => {
    const log = up.proc.log().slice(registryLogAfterSeeding);
    for (const name of ['library/secret', '/ab/x', '/a/x', 'teamx', 'tiny2', 'library/team']) {
      assert.ok(!log.includes(`/v2/${name.replace(/^\//, '')}/`), `the registry saw ${name}`);
    }
    assert.deepEqual(up.blobRequests, []);
  });
});

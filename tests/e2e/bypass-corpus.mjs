// A corpus of requests that try to get around the image whitelist and the user whitelist.
// Each case states the exact refusal it must get: { status, code } (code: the registry error
// code in the JSON body). The expectations come from the rules (README "Security"), not from
// running the proxy.
//
// The runtime under test is configured with WHITELIST="tiny, team/*" on an upstream that also
// holds library/secret, ab/x and a/x (refused), and, for the user cases, USER_WHITELIST=alice.

const DENIED = { status: 403, code: 'DENIED' };
const NAME_INVALID = { status: 400, code: 'NAME_INVALID' };
const TAG_INVALID = { status: 400, code: 'TAG_INVALID' };
const DIGEST_INVALID = { status: 400, code: 'DIGEST_INVALID' };
const NOT_FOUND = { status: 404, code: 'NOT_FOUND' };
const UNSUPPORTED = { status: 405, code: 'UNSUPPORTED' };
const UNAUTHORIZED = { status: 401, code: 'UNAUTHORIZED' };

const D = `sha256:${'a'.repeat(64)}`;
const endpoints = [
  (n) => `/v2/${n}/manifests/latest`,
  (n) => `/v2/${n}/blobs/${D}`,
  (n) => `/v2/${n}/tags/list`,
  (n) => `/v2/${n}/referrers/${D}`,
];

/** Cases for the image whitelist (anonymous runtime). */
export function imageWhitelistCases() {
  const cases = [];
  const add = (name, path, expect, extra = {}) => cases.push({ name, path, expect, ...extra });

  // Names outside the whitelist, spelled plainly, normalised and by path (`docker.io/...` is
  // UPSTREAM's repository; an unconfigured registry's name is part of a Docker Hub name): DENIED.
  for (const n of [
    'library/secret', 'secret', 'ab/x', 'a/x', 'team', 'teamx/app', 'library/tiny2', 'tiny/x',
    'docker.io/library/secret', 'docker.io/secret', 'docker.io/ab/x', 'docker.io/teamx/app', 'docker.io/docker.io/tiny',
    'ghcr.io/team/app', 'ghcr.io/tiny', 'index.docker.io/tiny', 'localhost/tiny',
  ]) {
    endpoints.forEach((e, i) => add(`not whitelisted ${n} #${i}`, e(n), DENIED));
  }
  // Dot segments: the runtime's URL parser resolves them first; what is left is checked.
  for (const p of [
    '/v2/tiny/../library/secret/manifests/latest',
    '/v2/team/../library/secret/manifests/latest',
    '/v2/team/app/../../library/secret/manifests/latest',
    '/v2/team/./../library/secret/manifests/latest',
    '/v2/team/%2e%2e/library/secret/manifests/latest',
    '/v2/team/%2E%2E/library/secret/manifests/latest',
    '/v2/team/.%2e/library/secret/manifests/latest',
    '/v2/team/%2e./library/secret/manifests/latest',
    '/v2/tiny/%2e%2e/%2e%2e/v2/library/secret/manifests/latest',
    '/v2/team/app/../../../v2/library/secret/manifests/latest',
  ]) {
    add(`dot segments ${p}`, p, DENIED);
  }
  // Encoded separators and other characters the grammar does not allow: NAME_INVALID.
  const badNames = [
    'library%2Fsecret', 'library%2fsecret', 'library%252Fsecret', 'team%2Fapp', 'team%2fapp',
    'team%5Capp', 'library%00secret', 'team/app%00', 'team/app%20',
    'team//app', 'team/app/', '/team/app', 'Team/app', 'TEAM/APP', 'team/App', 'TINY',
    'team/ａｐｐ', 'teаm/app', 'tеam/app', 'team/app;x=1', 'team;/app', 'tiny;', 'tiny%3B',
    'DOCKER.IO/tiny', 'docker.io:443/tiny', 'alice@docker.io/tiny', 'docker.io%2Ftiny',
    'team/.app', 'team/app.', 'team/-app', 'team/app-', 'team/a___pp',
    'team/a..pp', 'team/~app', 'team/app%09', '%74iny', 'ti%6ey', 'team/app%2F..%2F..%2Flibrary%2Fsecret',
    `${'a'.repeat(256)}`, `team/${'b'.repeat(251)}`, `${'x/'.repeat(128)}y`,
  ];
  for (const n of badNames) add(`invalid name ${n.slice(0, 40)}`, `/v2/${n}/manifests/latest`, NAME_INVALID);
  for (const n of badNames.slice(0, 12)) add(`invalid name (blob) ${n.slice(0, 40)}`, `/v2/${n}/blobs/${D}`, NAME_INVALID);
  // References.
  for (const r of ['.hidden', '-x', 'latest%00', 'lat%20est', `${'t'.repeat(129)}`, '%C3%A9', 'latest%2F..', '', 'a%2Fb']) {
    add(`bad tag ${r.slice(0, 20)}`, `/v2/team/app/manifests/${r}`, TAG_INVALID);
  }
  for (const d of ['sha256:xyz', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha256:${'a'.repeat(63)}`, 'sha256:', `sha256:${'a'.repeat(64)}x`, 'latest']) {
    add(`bad digest ${d.slice(0, 20)}`, `/v2/team/app/blobs/${d}`, DIGEST_INVALID);
  }
  // Paths that are no endpoint: never forwarded.
  for (const p of [
    '/v2/team/app/manifests/v1/',
    '/v2/team/app',
    '/v2/team/app/tags',
    '/v2/team/app/tags/list/',
    '/v2/_catalog/',
    '/V2/team/app/manifests/v1',
    '/v1/team/app/manifests/v1',
    '/v2x/team/app/manifests/v1',
    '/team/app/manifests/v1',
    '/v2/team/app/manifest/v1',
    '/v2/team/app/uploads/x',
    '/etc/passwd',
  ]) {
    add(`no endpoint ${p}`, p, NOT_FOUND);
  }
  for (const p of ['/v2/_catalog', '/v2/_catalog?n=1000', '/v2/_catalog?last=a']) add(`catalog ${p}`, p, DENIED);
  add('manifest without a reference', '/v2/team/app/manifests/', TAG_INVALID);
  add('blob without a digest', '/v2/team/app/blobs/', DIGEST_INVALID);
  // Writes, on every kind of path.
  for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
    for (const p of ['/v2/', '/v2/team/app/manifests/v1', `/v2/team/app/blobs/${D}`, '/v2/team/app/blobs/uploads/', '/v2/team/app/blobs/uploads/abc', '/v2/library/secret/manifests/latest']) {
      add(`${method} ${p}`, p, UNSUPPORTED, { method });
    }
  }
  // containerd's ns: only configured registries, given once.
  for (const ns of ['evil.example', '127.0.0.1:1', 'ghcr.io', 'quay.io', 'docker.io.evil.example', 'docker.io%00', 'docker.io@evil.example', 'http://evil.example', '', 'localhost']) {
    add(`ns=${ns}`, `/v2/team/app/manifests/v1?ns=${encodeURIComponent(ns)}`, DENIED);
  }
  add('ns given twice', '/v2/team/app/manifests/v1?ns=docker.io&ns=evil.example', DENIED);
  add('ns given twice, same', '/v2/team/app/manifests/v1?ns=docker.io&ns=docker.io', DENIED);
  // Query parameters only the endpoint defines go upstream, validated.
  add('tags n not a number', '/v2/team/app/tags/list?n=1;DROP', { status: 400, code: 'UNSUPPORTED' });
  add('tags last not a tag', '/v2/team/app/tags/list?last=../../x', TAG_INVALID);
  // Absolute-URI request targets and Host tricks: the name is still checked.
  for (const host of ['evil.example', 'ghcr.io', 'registry-1.docker.io', '127.0.0.1:1', 'localhost']) {
    add(`absolute URI via ${host}`, `http://${host}/v2/library/secret/manifests/latest`, DENIED);
    add(`Host ${host}`, '/v2/library/secret/manifests/latest', DENIED, { headers: { host } });
  }
  return cases;
}

/** Cases for the user whitelist (USER_WHITELIST=alice); `tokens` holds genuine and forged ones. */
export function userWhitelistCases(tokens) {
  const cases = [];
  const add = (name, path, expect, headers = {}) => cases.push({ name, path, expect, headers });
  const bearer = (t) => ({ authorization: `Bearer ${t}` });
  const targets = ['/v2/team/app/manifests/v1', `/v2/team/app/blobs/${D}`, '/v2/team/app/tags/list', '/v2/'];
  const forged = {
    none: null,
    empty: '',
    garbage: 'not-a-token',
    'upstream JWT': tokens.upstream,
    'upstream JWT of alice': tokens.upstreamAlice,
    'flipped payload byte': tokens.flippedPayload,
    'flipped signature byte': tokens.flippedSignature,
    expired: tokens.expired,
    'another secret': tokens.otherSecret,
    'unlisted user, right secret': tokens.mallory,
    'anonymous, right secret': tokens.anonymous,
    'alg none JWT': tokens.algNone,
    'erp1, empty signature': tokens.noSignature,
    'erp1, duplicated parts': `${tokens.alice}.${tokens.alice}`,
    'erp2 prefix': tokens.alice.replace(/^erp1\./, 'erp2.'),
    'padded signature': `${tokens.alice}==`,
    oversized: `erp1.${'A'.repeat(20000)}.${'B'.repeat(43)}`,
    'other registry': tokens.otherRegistry,
  };
  for (const [what, t] of Object.entries(forged)) {
    for (const p of targets) add(`${what} on ${p}`, p, UNAUTHORIZED, t === null ? {} : bearer(t));
  }
  for (const p of targets) {
    add(`Basic instead of Bearer on ${p}`, p, UNAUTHORIZED, { authorization: `Basic ${Buffer.from('alice:alice-pw').toString('base64')}` });
    add(`Bearer without token on ${p}`, p, UNAUTHORIZED, { authorization: 'Bearer' });
  }
  // A genuine token for one repository does not open another.
  add('token for tiny on team/app', '/v2/team/app/manifests/v1', UNAUTHORIZED, bearer(tokens.aliceTiny));
  add('token for tiny on team/other', '/v2/team/other/manifests/v1', UNAUTHORIZED, bearer(tokens.aliceTiny));
  // The image whitelist still applies to a listed user with a genuine token.
  add('alice on library/secret', '/v2/library/secret/manifests/latest', DENIED, bearer(tokens.alice));
  add('alice on ab/x', '/v2/ab/x/manifests/latest', DENIED, bearer(tokens.alice));
  return cases;
}

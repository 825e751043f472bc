// End to end: real registry upstream (distribution + token server + S3-like blob server), the
// proxy in workerd and in the ESA host, real skopeo. Each runtime must serve the same bytes as a
// direct pull and refuse what it must refuse.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MT, seedImages } from './harness/images.mjs';
import { runAsync, tempDir } from './harness/procs.mjs';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startPages, startWorkerd } from './harness/runtimes.mjs';
import { sha256, startUpstream } from './harness/upstream.mjs';

let up;
let images;
let limited; // an upstream that answers every request with 429
const runtimes = {};
let passthrough;
let twice; // a raw TCP registry sending Content-Length twice

const WHITELIST = 'tiny, library/multi, library/list, library/big, team/*, a/*, ratelimited, refresher, oddtoken/*';

before(async () => {
  up = await startUpstream('proxy');
  images = await seedImages(up);
  limited = createServer((req, res) => {
    res.writeHead(429, { 'retry-after': '11', 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'upstream says slow down' }] }));
  });
  await new Promise((r) => limited.listen(0, '127.0.0.1', r));
  nameLoopback(limited.address().port, 'registry.limited.test'); // for the ESA host
  // A registry that sends Content-Length twice (a manifest path: `/v2/<conflict|equal>/...`).
  twice = createNetServer((sock) => {
    sock.once('data', (d) => {
      const [method, path] = d.toString().split(' ');
      const lengths = path.startsWith('/v2/conflict/') ? ['10', '20'] : ['10', '10'];
      const head = path === '/v2/'
        ? ['HTTP/1.1 200 OK', 'Content-Type: application/json', 'Content-Length: 2']
        : ['HTTP/1.1 200 OK', 'Content-Type: application/vnd.oci.image.manifest.v1+json', `Docker-Content-Digest: sha256:${'c'.repeat(64)}`, ...lengths.map((l) => `Content-Length: ${l}`)];
      const body = path === '/v2/' ? '{}' : method === 'HEAD' ? '' : '0123456789';
      sock.end(`${[...head, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`);
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => twice.listen(0, '127.0.0.1', r));
  nameLoopback(twice.address().port, 'registry.twice.test');
  const vars = {
    UPSTREAM: `docker.io@${up.url}`,
    WHITELIST: `${WHITELIST}, limited.test/*, twice.test/*`,
    ROUTES: `limited.example=limited.test@http://127.0.0.1:${limited.address().port}, twice.example=twice.test@http://127.0.0.1:${twice.address().port}`,
    DEBUG_PANIC: 'on',
  };
  const started = await Promise.all([
    startWorkerd('workerd', vars),
    startEsaHost('esa-wasm', vars),
    startEsaHost('esa-wasm2js', vars, { wasm: false }),
    startWorkerd('esa-in-workerd', vars, { script: 'dist/esa/index.js' }),
    startWorkerd('workerd-passthrough', { ...vars, BLOB_REDIRECT: 'passthrough' }),
    startPages('pages', vars),
  ]);
  [runtimes.workerd, runtimes['esa-wasm'], runtimes['esa-wasm2js'], runtimes['esa-in-workerd'], passthrough, runtimes.pages] = started;
});

after(async () => {
  await Promise.all([...Object.values(runtimes), passthrough].filter(Boolean).map((r) => r.stop()));
  twice?.close();
  limited?.closeAllConnections?.();
  limited?.close();
  await up?.stop();
});

const hostOf = (url) => url.replace(/^http:\/\//, '');

/** skopeo copy to a dir: layout; returns { code, stderr, files: {name: sha256} }. */
async function pull(ref, extra = []) {
  const dir = join(tempDir('pull'), 'out');
  const r = await runAsync('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', ...extra, `docker://${ref}`, `dir:${dir}`]);
  const files = {};
  if (r.code === 0) {
    for (const f of readdirSync(dir)) if (f !== 'version') files[f] = sha256(readFileSync(join(dir, f)));
  }
  return { ...r, files, dir };
}

const directCache = new Map();
async function direct(path, extra = []) {
  const key = `${path} ${extra.join(' ')}`;
  if (!directCache.has(key)) {
    const r = await pull(`${up.host}/${path}`, extra);
    assert.equal(r.code, 0, `direct pull of ${path} failed: ${r.stderr}`);
    directCache.set(key, r.files);
  }
  return directCache.get(key);
}

/** A raw HTTP request with the path sent exactly as given (no client-side normalisation). */
function raw(url, path, { method = 'GET', headers = {} } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function errorCode(body) {
  const j = JSON.parse(body);
  assert.ok(Array.isArray(j.errors) && j.errors.length > 0, `not a registry error: ${body}`);
  return j.errors[0].code;
}

async function tokenFor(rt, ...scopes) {
  const q = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&');
  const r = await fetch(`${rt.url}/token?service=${hostOf(rt.url)}&${q}`);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).token;
}

for (const name of ['workerd', 'pages', 'esa-wasm', 'esa-wasm2js', 'esa-in-workerd']) {
  describe(`pulls through ${name}`, () => {
    const rt = () => runtimes[name];

    test('engine is the expected one', async () => {
      const r = await fetch(`${rt().url}/version`);
      assert.equal(r.status, 200);
      // workerd refuses wasm from bytes inside a request but not at startup, where the ESA
      // bundle now compiles it: there it runs real wasm. ESA_WASM=off keeps the fallback tested.
      const want = name === 'esa-wasm2js' ? 'wasm2js' : 'wasm';
      assert.equal(r.headers.get('x-proxy-engine'), want);
    });

    test('the warm-up at load ran cleanly (an error there would cost the first request an instance)', () => {
      const log = rt().proc.log();
      assert.doesNotMatch(log, /warm-up skipped|Disallowed operation/);
    });

    test('short name "tiny" pulls library/tiny, same bytes as direct', async () => {
      const r = await pull(`${hostOf(rt().url)}/tiny:latest`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct('library/tiny:latest'));
      assert.equal(r.files['manifest.json'], images['library/tiny'].digest);
    });

    test('library/tiny by digest', async () => {
      const d = images['library/tiny'].digest;
      const r = await pull(`${hostOf(rt().url)}/library/tiny@${d}`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct(`library/tiny@${d}`));
    });

    test('multi-arch OCI index with --all', async () => {
      const r = await pull(`${hostOf(rt().url)}/library/multi:latest`, ['--all']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct('library/multi:latest', ['--all']));
      assert.equal(r.files['manifest.json'], images['library/multi'].digest);
      for (const c of images['library/multi'].children) for (const l of c.layers) assert.ok(r.files[l.slice(7)], `layer ${l}`);
    });

    test('Docker manifest list with --all', async () => {
      const r = await pull(`${hostOf(rt().url)}/library/list:latest`, ['--all']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct('library/list:latest', ['--all']));
    });

    test('namespaced OCI image', async () => {
      const r = await pull(`${hostOf(rt().url)}/team/app:v1`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct('team/app:v1'));
    });

    test('a layer over 20 MiB', async () => {
      const r = await pull(`${hostOf(rt().url)}/library/big:latest`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.files, await direct('library/big:latest'));
    });

    test('non-whitelisted image is denied with a message skopeo shows', async () => {
      const r = await pull(`${hostOf(rt().url)}/library/secret:latest`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /denied: image library\/secret is not in the whitelist/i);
    });

    test('a/* does not match ab/x', async () => {
      const ok = await pull(`${hostOf(rt().url)}/a/x:latest`);
      assert.equal(ok.code, 0, ok.stderr);
      const denied = await pull(`${hostOf(rt().url)}/ab/x:latest`);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /not in the whitelist/);
    });
  });

  describe(`protocol rules on ${name}`, () => {
    const rt = () => runtimes[name];

    test('ping: API version header and the proxy as realm', async () => {
      const r = await fetch(`${rt().url}/v2/`);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const ch = r.headers.get('www-authenticate');
      assert.match(ch, new RegExp(`^Bearer realm="${rt().url}/token",service="${hostOf(rt().url)}"`));
      assert.doesNotMatch(ch, new RegExp(up.tokenUrl));
      assert.equal(errorCode(await r.text()), 'UNAUTHORIZED');
    });

    test('once the registry is known, an anonymous ping is answered at the edge; one with a token goes to it', async () => {
      // A token request makes the proxy learn the registry's scheme from its own /v2/.
      const tok = await fetch(`${rt().url}/token?scope=repository:library/tiny:pull`);
      assert.equal(tok.status, 200);
      const { token } = await tok.json();
      const ua = `ping-probe/${name}-${Date.now()}`;
      const reached = () => up.proc.log().split('\n').filter((l) => l.includes('"GET /v2/ HTTP') && l.includes(ua)).length;
      const anon = await fetch(`${rt().url}/v2/`, { headers: { 'user-agent': ua } });
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate'), new RegExp(`^Bearer realm="${rt().url}/token",service="${hostOf(rt().url)}"$`));
      assert.equal(errorCode(await anon.text()), 'UNAUTHORIZED');
      const authed = await fetch(`${rt().url}/v2/`, { headers: { 'user-agent': ua, authorization: `Bearer ${token}` } });
      assert.equal(authed.status, 200, 'the registry checked the token');
      for (let i = 0; i < 50 && reached() < 1; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(reached(), 1, 'the registry saw the ping with the token, not the anonymous one');
    });

    test('manifest and blob 401s carry the proxy challenge with the normalised scope', async () => {
      const m = await fetch(`${rt().url}/v2/tiny/manifests/latest`, { method: 'HEAD' });
      assert.equal(m.status, 401);
      const ch = m.headers.get('www-authenticate');
      assert.ok(ch.includes(`realm="${rt().url}/token"`), ch);
      assert.ok(ch.includes('scope="repository:library/tiny:pull"'), ch);
      const layer = images['library/tiny'].layers[0];
      const b = await fetch(`${rt().url}/v2/library/tiny/blobs/${layer}`);
      assert.equal(b.status, 401);
      assert.ok(b.headers.get('www-authenticate').includes(`realm="${rt().url}/token"`));
    });

    test('token endpoint: every scope, library/ added, non-whitelisted and push dropped', async () => {
      const before = up.tokenRequests.length;
      const q = ['repository:tiny:pull', 'repository:library/multi:pull,push repository:library/secret:pull', 'registry:catalog:*']
        .map((s) => `scope=${encodeURIComponent(s)}`)
        .join('&');
      const r = await fetch(`${rt().url}/token?service=x&${q}&account=nobody`);
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.ok(body.token && body.access_token === body.token);
      const seen = up.tokenRequests.slice(before).filter((x) => x.path === '/token');
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0].query.getAll('scope'), ['repository:library/tiny:pull', 'repository:library/multi:pull']);
      assert.equal(seen[0].query.get('service'), 'test-registry');
      assert.equal(seen[0].authorization, null);
    });

    test("token endpoint: the upstream's answer handed on as it is, unless it holds what a client must not get", async () => {
      const before = up.tokenRequests.length;
      const r = await fetch(`${rt().url}/token?scope=repository:library/tiny:pull`);
      assert.equal(r.status, 200);
      const sent = up.tokenRequests.slice(before).filter((x) => x.path === '/token').at(-1);
      assert.equal(await r.text(), sent.answer, 'the same text, issued_at included');
      const at = up.tokenRequests.length;
      const odd = await fetch(`${rt().url}/token?scope=repository:refresher:pull`);
      assert.equal(odd.status, 200);
      const upstream = JSON.parse(up.tokenRequests.slice(at).filter((x) => x.path === '/token').at(-1).answer);
      assert.ok(upstream.refresh_token, 'the token server sent a refresh token');
      const body = await odd.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token']);
      assert.equal(body.token, upstream.token);
      assert.equal(body.expires_in, 24 * 3600, 'an absurd lifetime is cut to a day');
    });

    test("token endpoint: the upstream's answer read whole only within 64 KiB and only as UTF-8, however it is framed", async () => {
      const ask = (kind) => fetch(`${rt().url}/token?scope=repository:oddtoken/${kind}:pull`);
      for (const kind of ['plain', 'plain-chunked', 'plain-gzip', 'plain-gzip-chunked']) {
        const before = up.tokenRequests.length;
        const r = await ask(kind);
        const text = await r.text();
        assert.equal(r.status, 200, `${kind}: ${text.slice(0, 300)}`);
        const sent = up.tokenRequests.slice(before).filter((x) => x.path === '/token').at(-1);
        assert.equal(text, sent.answer, `${kind}: the upstream's text`);
      }
      for (const kind of ['huge', 'huge-chunked', 'huge-gzip', 'huge-gzip-chunked', 'latin1', 'latin1-chunked', 'bom', 'bom-gzip']) {
        const r = await ask(kind);
        const text = await r.text();
        assert.equal(r.status, 502, `${kind}: ${text.slice(0, 300)}`);
        assert.equal(errorCode(text), 'UNAVAILABLE', kind);
        assert.match(text, /upstream token answer/, kind);
      }
    });

    test('an upstream sending Content-Length twice: conflicting copies are a 502, never passed on merged', async () => {
      for (const method of ['HEAD', 'GET']) {
        const conflict = await raw(rt().url, '/v2/conflict/manifests/latest', { method, headers: { host: 'twice.example' } });
        assert.equal(conflict.status, 502, `${method}: ${conflict.status} ${JSON.stringify(conflict.headers)}`);
        if (method === 'GET') assert.equal(errorCode(conflict.body), 'UNAVAILABLE');
        // Equal copies: one value (a runtime whose HTTP parser refuses them answers 502 too).
        const equal = await raw(rt().url, '/v2/equal/manifests/latest', { method, headers: { host: 'twice.example' } });
        assert.ok(equal.status === 502 || (equal.status === 200 && equal.headers['content-length'] === '10'), `${method}: ${equal.status} ${equal.headers['content-length']}`);
      }
    });

    test("token endpoint: an answer in Docker Hub's shape that is not what it claims is rewritten", async () => {
      for (const kind of ['baddate', 'dupkey', 'baddate-chunked']) {
        const before = up.tokenRequests.length;
        const r = await fetch(`${rt().url}/token?scope=repository:oddtoken/${kind}:pull`);
        const text = await r.text();
        assert.equal(r.status, 200, `${kind}: ${text.slice(0, 300)}`);
        const sent = up.tokenRequests.slice(before).filter((x) => x.path === '/token').at(-1);
        assert.notEqual(text, sent.answer, `${kind}: handed on as it was`);
        const got = JSON.parse(text);
        assert.equal(got.token, got.access_token, kind);
        // One token, the one a JSON reader (JS, Go, serde_json alike) takes from the text: the
        // last (dupkey's body ends with "token":"other"; `sent.answer` is the answer before that).
        assert.equal(got.token, kind === 'dupkey' ? 'other' : JSON.parse(sent.answer).token, kind);
        assert.equal(got.issued_at, undefined, kind);
        assert.ok(got.expires_in <= 86400, `${kind}: ${got.expires_in}`);
        assert.equal((text.match(/"token"/g) || []).length, 1, kind);
      }
    });

    test('token endpoint: OAuth POST form with credentials', async () => {
      const before = up.tokenRequests.length;
      const r = await fetch(`${rt().url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password&username=alice&password=alice-pw&service=x&scope=repository%3Atiny%3Apull&client_id=ctr',
      });
      assert.equal(r.status, 200, await r.clone().text());
      assert.ok((await r.json()).access_token);
      const seen = up.tokenRequests.slice(before).filter((x) => x.path === '/token');
      assert.equal(seen.at(-1).authorization, `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`);
      const bad = await fetch(`${rt().url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password&username=alice&password=wrong&scope=repository%3Atiny%3Apull',
      });
      assert.equal(bad.status, 401);
      assert.equal(errorCode(await bad.text()), 'UNAUTHORIZED');
    });

    test('manifests: exact bytes and headers, GET and HEAD, Accept forwarded', async () => {
      const token = await tokenFor(rt(), 'repository:library/tiny:pull', 'repository:library/list:pull');
      const auth = { authorization: `Bearer ${token}`, accept: `${MT.dockerManifest}, ${MT.ociManifest}` };
      const g = await fetch(`${rt().url}/v2/tiny/manifests/latest`, { headers: auth });
      assert.equal(g.status, 200);
      const bytes = Buffer.from(await g.arrayBuffer());
      assert.equal(sha256(bytes), images['library/tiny'].digest);
      assert.equal(g.headers.get('docker-content-digest'), images['library/tiny'].digest);
      assert.equal(g.headers.get('content-type'), MT.dockerManifest);
      assert.equal(g.headers.get('content-length'), String(bytes.length));
      assert.ok(g.headers.get('etag'));
      const h = await fetch(`${rt().url}/v2/tiny/manifests/latest`, { method: 'HEAD', headers: auth });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('docker-content-digest'), images['library/tiny'].digest);
      assert.equal(h.headers.get('content-length'), String(bytes.length));
      const list = await fetch(`${rt().url}/v2/library/list/manifests/latest`, {
        headers: { authorization: `Bearer ${token}`, accept: MT.dockerList },
      });
      assert.equal(list.headers.get('content-type'), MT.dockerList);
      assert.equal(sha256(Buffer.from(await list.arrayBuffer())), images['library/list'].digest);
    });

    test('blobs: redirect followed without Authorization, Range kept, HEAD has length', async () => {
      const token = await tokenFor(rt(), 'repository:library/big:pull');
      const layer = images['library/big'].layers[0];
      const auth = { authorization: `Bearer ${token}` };
      const before = up.blobRequests.length;
      const g = await fetch(`${rt().url}/v2/library/big/blobs/${layer}`, { headers: auth });
      assert.equal(g.status, 200);
      assert.equal(sha256(Buffer.from(await g.arrayBuffer())), layer);
      assert.equal(g.headers.get('docker-content-digest'), layer);
      // The blob host's cookies and internals stay behind (the answer is rebuilt without them).
      for (const name of ['set-cookie', 'x-amz-request-id', 'server']) assert.equal(g.headers.get(name), null, name);
      assert.equal(g.headers.get('docker-distribution-api-version'), 'registry/2.0');
      assert.equal(g.headers.get('etag'), `"${layer.slice('sha256:'.length)}"`);
      const r = await fetch(`${rt().url}/v2/library/big/blobs/${layer}`, { headers: { ...auth, range: 'bytes=10-19' } });
      assert.equal(r.status, 206);
      assert.match(r.headers.get('content-range'), /^bytes 10-19\/\d+$/);
      assert.equal((await r.arrayBuffer()).byteLength, 10);
      assert.equal(r.headers.get('set-cookie'), null);
      const h = await fetch(`${rt().url}/v2/library/big/blobs/${layer}`, { method: 'HEAD', headers: auth });
      assert.equal(h.status, 200);
      assert.ok(Number(h.headers.get('content-length')) > 20 * 1024 * 1024, `HEAD length ${h.headers.get('content-length')}`);
      const seen = up.blobRequests.slice(before);
      assert.ok(seen.length >= 3, 'the blob server was reached through the redirect');
      assert.ok(seen.every((x) => x.authorization === null), 'no Authorization at the blob host');
      assert.ok(seen.some((x) => x.range === 'bytes=10-19'));
    });

    test('concurrent requests: every answer complete and correct', async () => {
      // Interleaved requests grow wasm memory mid-flight: the wasm2js fallback once served
      // corrupted strings and traps here.
      const token = await tokenFor(rt(), 'repository:library/tiny:pull', 'repository:library/big:pull');
      const auth = { authorization: `Bearer ${token}`, accept: `${MT.dockerManifest}, ${MT.ociManifest}` };
      const manifests = Array.from({ length: 64 }, () =>
        fetch(`${rt().url}/v2/tiny/manifests/latest`, { headers: auth }).then(async (r) => [r.status, sha256(Buffer.from(await r.arrayBuffer()))]),
      );
      const layer = images['library/big'].layers[0];
      const blobs = Array.from({ length: 16 }, () =>
        fetch(`${rt().url}/v2/library/big/blobs/${layer}`, { headers: auth }).then(async (r) => [r.status, sha256(Buffer.from(await r.arrayBuffer()))]),
      );
      const tokens = Array.from({ length: 32 }, (_, i) =>
        fetch(`${rt().url}/token?scope=${encodeURIComponent(`repository:n${i}/x:pull`)}`).then((r) => [r.status, 'token']),
      );
      const results = await Promise.all([...manifests, ...blobs, ...tokens]);
      const want = [
        ...manifests.map(() => [200, images['library/tiny'].digest]),
        ...blobs.map(() => [200, layer]),
        ...tokens.map(() => [200, 'token']),
      ];
      assert.deepEqual(results, want);
    });

    test('a panic becomes a 500 registry error and a fresh instance, never a hung isolate', async () => {
      const r = await fetch(`${rt().url}/__panic`, { signal: AbortSignal.timeout(10000) });
      assert.equal(r.status, 500);
      assert.equal(errorCode(await r.text()), 'UNKNOWN');
      const after = await fetch(`${rt().url}/version`);
      assert.equal(after.status, 200);
      const ping = await fetch(`${rt().url}/v2/`);
      assert.equal(ping.status, 401);
      // The runtime's log is written asynchronously; the hook's line must show up.
      const logged = () => rt().proc.log().includes('edge-registry-proxy panicked') && rt().proc.log().includes('DEBUG_PANIC: a panic asked for');
      for (let i = 0; i < 40 && !logged(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(logged(), 'the panic hook logged the panic');
    });

    test('tags/list', async () => {
      const token = await tokenFor(rt(), 'repository:library/tiny:pull');
      const r = await fetch(`${rt().url}/v2/tiny/tags/list?n=10`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { name: 'library/tiny', tags: ['latest'] });
    });

    test('read-only: writes are 405 UNSUPPORTED', async () => {
      for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
        for (const path of ['/v2/tiny/manifests/latest', '/v2/library/tiny/blobs/uploads/', '/v2/']) {
          const r = await raw(rt().url, path, { method });
          assert.equal(r.status, 405, `${method} ${path}`);
          assert.equal(errorCode(r.body), 'UNSUPPORTED');
        }
      }
    });

    test('_catalog is denied', async () => {
      const r = await raw(rt().url, '/v2/_catalog');
      assert.equal(r.status, 403);
      assert.equal(errorCode(r.body), 'DENIED');
    });

    test('name tricks are refused and never reach the upstream', async () => {
      const registryLogBefore = up.proc.log().length;
      const cases = {
        '/v2/library%2Fsecret/manifests/latest': 'NAME_INVALID',
        '/v2/library%2fsecret/manifests/latest': 'NAME_INVALID',
        '/v2/library//secret/manifests/latest': 'NAME_INVALID',
        '/v2/Library/Secret/manifests/latest': 'NAME_INVALID',
        '/v2/library/secret%00/manifests/latest': 'NAME_INVALID',
        '/v2/%6cibrary/secret/manifests/latest': 'NAME_INVALID',
        [`/v2/${'a/'.repeat(130)}x/manifests/latest`]: 'NAME_INVALID',
        '/v2/library/secret/manifests/..%2Flatest': 'TAG_INVALID',
      };
      for (const [path, code] of Object.entries(cases)) {
        const r = await raw(rt().url, path);
        assert.equal(r.status, 400, path);
        assert.equal(errorCode(r.body), code, path);
      }
      // Dot segments are resolved by the runtime's URL parser before the proxy sees the path;
      // whatever they resolve to is checked like any name.
      for (const path of ['/v2/library/../secret/manifests/latest', '/v2/a/../secret/manifests/latest', '/v2/a/%2e%2e/secret/manifests/latest', '/v2/tiny/../../library/secret/manifests/latest']) {
        const r = await raw(rt().url, path);
        assert.ok([400, 403, 404].includes(r.status), `${path}: ${r.status}`);
        errorCode(r.body);
      }
      const registryLog = up.proc.log().slice(registryLogBefore);
      assert.doesNotMatch(registryLog, /secret/);
    });

    test('containerd ns: configured registries only, stripped upstream', async () => {
      const ok = await fetch(`${rt().url}/v2/library/tiny/manifests/latest?ns=docker.io`, { method: 'HEAD' });
      assert.equal(ok.status, 401);
      assert.ok(ok.headers.get('www-authenticate').includes(`realm="${rt().url}/token?ns=docker.io"`));
      for (const ns of ['evil.example.com', '127.0.0.1:22', 'ghcr.io', '']) {
        const r = await fetch(`${rt().url}/v2/library/tiny/manifests/latest?ns=${encodeURIComponent(ns)}`);
        assert.equal(r.status, 403, ns);
        assert.equal(errorCode(await r.text()), 'DENIED');
      }
      const twice = await fetch(`${rt().url}/v2/library/tiny/manifests/latest?ns=docker.io&ns=evil.example.com`);
      assert.equal(twice.status, 403);
      assert.doesNotMatch(up.proc.log(), /ns=/);
    });

    test('upstream 429 is passed through, never a 500', async () => {
      const m = await fetch(`${rt().url}/v2/img/manifests/latest?ns=limited.test`);
      assert.equal(m.status, 429);
      assert.equal(m.headers.get('retry-after'), '11');
      assert.equal(errorCode(await m.text()), 'TOOMANYREQUESTS');
      const t = await fetch(`${rt().url}/token?scope=${encodeURIComponent('repository:ratelimited:pull')}`);
      assert.equal(t.status, 429);
      assert.equal(t.headers.get('retry-after'), '7');
      assert.equal(errorCode(await t.text()), 'TOOMANYREQUESTS');
    });
  });
}

describe('BLOB_REDIRECT=passthrough', () => {
  test('the client gets the upstream redirect, without the proxy fetching the blob', async () => {
    const token = await tokenFor(passthrough, 'repository:library/tiny:pull');
    const layer = images['library/tiny'].layers[0];
    const before = up.blobRequests.length;
    const r = await fetch(`${passthrough.url}/v2/tiny/blobs/${layer}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
    assert.equal(r.status, 307);
    assert.ok(r.headers.get('location').startsWith(up.blobUrl), r.headers.get('location'));
    assert.equal(up.blobRequests.length, before);
  });
});

describe('credentials stay where they belong', () => {
  test('the blob host never saw an Authorization header, the token server never saw a Bearer', () => {
    assert.ok(up.blobRequests.length > 0);
    assert.deepEqual(up.blobRequests.filter((r) => r.authorization), []);
    assert.deepEqual(up.tokenRequests.filter((r) => r.authorization && !/^Basic /.test(r.authorization)), []);
  });
});


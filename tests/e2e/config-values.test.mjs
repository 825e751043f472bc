// The ESA bundle's contract with its runtime, called the way runtimes call it: every argument
// order and context shape reported for ESA, config values of every type an operator can write
// (text, arrays, numbers, empty function variables) and hostile ones that must never switch a
// whitelist off. The real bundle runs in this process (as in the ESA host), with wasm and with
// its wasm2js fallback; the same array values go through wrangler `[vars]` into workerd.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ROOT, tempDir } from './harness/procs.mjs';
import { startWorkerd } from './harness/runtimes.mjs';

// Nothing listens on port 9 (discard): an allowed image answers UNAVAILABLE (upstream
// unreachable), a refused one 403 DENIED -- no network needed to tell them apart.
const CLOSED = 'docker.io@http://127.0.0.1:9';
const SECRET = 'config-values-secret-0123456789ab';
const BUNDLE = join(ROOT, 'dist', 'esa', 'index.js');

/** A copy of the bundle with its CONFIG block edited (`key: value` lines replaced). */
function bundleWith(config, name) {
  let text = readFileSync(BUNDLE, 'utf8');
  for (const [k, v] of Object.entries(config)) {
    const line = new RegExp(`^(\\s*${k}:).*$`, 'm');
    assert.ok(line.test(text), `CONFIG has no ${k}`);
    text = text.replace(line, `$1 ${v},`);
  }
  const file = join(tempDir(`bundle-${name}`), 'index.mjs');
  writeFileSync(file, text);
  return file;
}

/** Imports a bundle; `wasm: false` refuses wasm compilation while it loads and first runs. */
async function load(file, { wasm }) {
  const real = WebAssembly.Module;
  if (!wasm) {
    WebAssembly.Module = function Module() {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    };
  }
  try {
    const mod = await import(`${pathToFileURL(file).href}?engine=${wasm ? 'wasm' : 'js'}`);
    const v = await mod.default.fetch(new Request('http://mirror.test/version'), {}, {});
    const engine = v.headers.get('x-proxy-engine');
    assert.equal(engine, wasm ? 'wasm' : 'wasm2js');
    return mod.default;
  } finally {
    WebAssembly.Module = real;
  }
}

async function call(entry, path, ...rest) {
  const r = await entry.fetch(new Request(`http://mirror.test${path}`), ...rest);
  const body = await r.text();
  let code = null;
  try {
    code = JSON.parse(body).errors[0].code;
  } catch {}
  return { status: r.status, code, body };
}

const SECRET_IMAGE = '/v2/library/secret/manifests/latest';
const TINY = '/v2/library/tiny/manifests/latest';

async function assertWhitelistApplies(entry, ...rest) {
  const denied = await call(entry, SECRET_IMAGE, ...rest);
  assert.deepEqual([denied.status, denied.code], [403, 'DENIED'], denied.body);
  const allowed = await call(entry, TINY, ...rest);
  assert.equal(allowed.code, 'UNAVAILABLE', `tiny: ${allowed.body}`);
}

const waitUntilContext = () => ({ requestId: 'r-1', clientIp: '127.0.0.1', waitUntil() {} });
const fieldsContext = () => ({ requestId: 'r-1', clientIp: '127.0.0.1', region: 'cn-hangzhou' });

for (const wasm of [true, false]) {
  describe(`ESA bundle contract (${wasm ? 'wasm' : 'wasm2js'})`, () => {
    let plain;
    let tinyInConfig;
    let arrayInConfig;
    before(async () => {
      const tag = wasm ? 'w' : 'j';
      plain = await load(bundleWith({ UPSTREAM: `'${CLOSED}'` }, `plain-${tag}`), { wasm });
      tinyInConfig = await load(bundleWith({ UPSTREAM: `'${CLOSED}'`, WHITELIST: "'tiny'" }, `tiny-${tag}`), { wasm });
      arrayInConfig = await load(bundleWith({ UPSTREAM: `'${CLOSED}'`, WHITELIST: "['tiny', 'team/*']" }, `array-${tag}`), { wasm });
    });

    test('function variables are found in every call shape, runtime fields are not config', async () => {
      const env = { WHITELIST: 'tiny' };
      const shapes = {
        'request, context(waitUntil), env': [waitUntilContext(), env],
        'request, context(fields, no waitUntil), env': [fieldsContext(), env],
        'request, {}, env': [{}, env],
        'request, env, context(waitUntil)': [env, waitUntilContext()],
        'request, env, context(fields)': [env, fieldsContext()],
        'request, env': [env],
        'request, undefined, env': [undefined, env],
      };
      for (const [shape, rest] of Object.entries(shapes)) {
        await assertWhitelistApplies(plain, ...rest).catch((e) => assert.fail(`${shape}: ${e.message}`));
      }
    });

    test('an empty function variable keeps the CONFIG value; arrays are lists', async () => {
      for (const env of [{ WHITELIST: '' }, { WHITELIST: '  ' }, { WHITELIST: [] }, { WHITELIST: null }, {}]) {
        await assertWhitelistApplies(tinyInConfig, fieldsContext(), env).catch((e) => assert.fail(`${JSON.stringify(env)}: ${e.message}`));
      }
      await assertWhitelistApplies(arrayInConfig, fieldsContext(), {});
      await assertWhitelistApplies(plain, fieldsContext(), { WHITELIST: ['tiny'] });
      await assertWhitelistApplies(plain, fieldsContext(), { WHITELIST: [' tiny ', ''] });
      // A platform binding under a name of its own is not configuration.
      await assertWhitelistApplies(plain, fieldsContext(), { WHITELIST: 'tiny', MY_KV: { get() {} }, ASSETS: { fetch() {} } });
    });

    test('no value switches a whitelist off: each is CONFIG_INVALID naming its key', async () => {
      const hostile = [];
      for (const key of ['WHITELIST', 'USER_WHITELIST', 'WHITE_LIST', 'ROUTES']) {
        for (const v of [',', ' , ,', ',,', ', \t ,', '\n,\n', [',', ' '], [' , ']]) hostile.push([key, v]);
        for (const v of [{}, { list: 'tiny' }, [{}], [null], () => 'tiny']) hostile.push([key, v]);
      }
      for (const key of ['whitelist', 'Whitelist', 'WHITELISTS', 'IMAGE_WHITELIST', 'USER_WHITE_LIST', 'white_list']) hostile.push([key, 'tiny']);
      for (const [key, value] of hostile) {
        const env = { [key]: value, TOKEN_SECRET: SECRET };
        for (const entry of [plain, tinyInConfig]) {
          const r = await call(entry, SECRET_IMAGE, fieldsContext(), env);
          const shown = typeof value === 'function' ? 'a function' : JSON.stringify(value);
          assert.equal(r.code, 'CONFIG_INVALID', `${key}=${shown}: ${r.status} ${r.body}`);
          assert.match(JSON.parse(r.body).errors[0].message, new RegExp(`configuration key ${key}:`), `${key}=${shown}`);
        }
      }
      assert.ok(hostile.length >= 50);
    });

    test('an upstream answer a runtime hands over without a promise still goes through the core', async () => {
      // Some runtime's fetch could return its Response directly: the shim must not take that
      // for the client's answer (the upstream's own realm and cookie would reach the client).
      const realFetch = globalThis.fetch;
      globalThis.fetch = () =>
        new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', {
          status: 401,
          headers: { 'www-authenticate': 'Bearer realm="https://auth.upstream.example/token",service="upstream"', 'set-cookie': 'session=upstream', 'content-type': 'application/json' },
        });
      try {
        const r = await plain.fetch(new Request('http://mirror.test/v2/library/tiny/manifests/latest'), fieldsContext(), {});
        assert.equal(r.status, 401);
        assert.match(r.headers.get('www-authenticate'), /^Bearer realm="http:\/\/mirror\.test\/token"/);
        assert.equal(r.headers.get('set-cookie'), null);
      } finally {
        globalThis.fetch = realFetch;
      }
    });

    test('long and non-ASCII header values cross into wasm and out to the upstream unchanged', async () => {
      // Strings over 64 chars take another path into wasm memory than short ones
      // (scripts/bundle.mjs patchStringPass); a token is ~1.4 KB. Header values are Latin-1.
      const sent = {
        authorization: `Bearer ${'é'.repeat(40)}${'x'.repeat(1500)}ü`,
        'user-agent': `docker/27.3.1 ${'Ärger '.repeat(20)}(linux)`,
        accept: 'application/vnd.oci.image.index.v1+json; q=0.9 ñ',
      };
      const realFetch = globalThis.fetch;
      let seen = null;
      globalThis.fetch = async (url, init) => {
        seen = new Headers(init.headers);
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
      };
      try {
        const r = await plain.fetch(new Request(`http://mirror.test${TINY}`, { headers: sent }), fieldsContext(), {});
        assert.equal(r.status, 200, await r.text());
        for (const [k, v] of Object.entries(sent)) assert.equal(seen.get(k), v, k);
      } finally {
        globalThis.fetch = realFetch;
      }
    });

    test('short strings read out of wasm are kept only when they are exactly the same', async () => {
      // Short ASCII strings read out of wasm are reused, found by a hash of their bytes
      // (scripts/bundle.mjs patchStringRead): "Aa" and "BB" hash alike, and so do these values;
      // short non-ASCII ones are never kept. Each must reach the upstream as sent, every time.
      const values = ['ctr/1.7 Aa', 'ctr/1.7 BB', 'ctr/1.7 Aa', 'ctr/1.7 é', 'ctr/1.7 ü', 'ctr/1.7 é', 'ctr/1.7 BB', 'x', ''];
      const realFetch = globalThis.fetch;
      const seen = [];
      globalThis.fetch = async (url, init) => {
        seen.push(new Headers(init.headers).get('user-agent'));
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
      };
      try {
        for (const ua of values) {
          const r = await plain.fetch(new Request(`http://mirror.test${TINY}`, { headers: { 'user-agent': ua } }), fieldsContext(), {});
          assert.equal(r.status, 200, await r.text());
        }
        assert.deepEqual(seen, values);
      } finally {
        globalThis.fetch = realFetch;
      }
    });

    test('a runtime call that throws under the binding reaches the core as an error, and the next request is served', async () => {
      // Runtime calls that may throw (Headers.append here) are wrapped in wasm-bindgen's glue so
      // that the exception reaches the core as an error value; a swallowed one would send the
      // upstream request without the header and answer 200.
      const realFetch = globalThis.fetch;
      const realAppend = Headers.prototype.append;
      let sent = 0;
      globalThis.fetch = async () => {
        sent++;
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
      };
      Headers.prototype.append = function (name, value) {
        if (String(value).includes('refuse-me')) throw new TypeError('header value refused by the runtime');
        return realAppend.call(this, name, value);
      };
      try {
        const r = await plain.fetch(new Request(`http://mirror.test${TINY}`, { headers: { 'user-agent': 'ctr refuse-me' } }), fieldsContext(), {});
        const body = await r.text();
        assert.equal(r.status, 502, body);
        assert.equal(JSON.parse(body).errors[0].code, 'UNAVAILABLE');
        assert.match(body, /header value refused by the runtime/);
        assert.equal(sent, 0, 'nothing went upstream');
        const ok = await plain.fetch(new Request(`http://mirror.test${TINY}`, { headers: { 'user-agent': 'ctr fine' } }), fieldsContext(), {});
        assert.equal(ok.status, 200, await ok.text());
        assert.equal(sent, 1);
      } finally {
        globalThis.fetch = realFetch;
        Headers.prototype.append = realAppend;
      }
    });

    test('values never come back in an error', async () => {
      const secrets = {
        UPSTREAM: 'https://op:hunter2-secret@registry.example',
        ROUTES: 'a.example=https://op:hunter2-secret@registry.example',
        WHITELIST: 'hunter2-secret/Bad',
        CACHE: 'hunter2-secret',
        LOG: 'hunter2-secret',
        USER_WHITELIST: 'hunter2-secret;x',
        TOKEN_SECRET: 'hunter2',
      };
      for (const [key, value] of Object.entries(secrets)) {
        const env = key === 'TOKEN_SECRET' ? { USER_WHITELIST: 'alice', TOKEN_SECRET: value } : { [key]: value };
        const r = await call(plain, '/v2/', fieldsContext(), env);
        assert.equal(r.code, 'CONFIG_INVALID', `${key}: ${r.body}`);
        assert.ok(!r.body.includes('hunter2'), `${key}: ${r.body}`);
      }
    });
  });
}

describe('wrangler [vars] arrays reach the worker as lists', () => {
  let w;
  before(async () => {
    const toml = join(tempDir('arrays-wrangler'), 'wrangler.toml');
    writeFileSync(
      toml,
      `name = "arrays"\nmain = "${join(ROOT, 'dist', 'cloudflare', 'worker.js')}"\ncompatibility_date = "2026-11-01"\n\n` +
        `[vars]\nUPSTREAM = "${CLOSED}"\nWHITELIST = ["tiny", "team/*"]\nUSER_WHITELIST = ["alice"]\nTOKEN_SECRET = "${SECRET}"\n`,
    );
    w = await startWorkerd('arrays-workerd', {}, { config: toml });
  });
  after(() => w?.stop());

  test('the array whitelist and user list apply', async () => {
    const denied = await fetch(`${w.url}${SECRET_IMAGE}`);
    assert.equal(denied.status, 403, await denied.text());
    const v = await (await fetch(`${w.url}/version`)).json();
    assert.equal(v.features.whitelist, true);
    assert.equal(v.features.user_whitelist, true);
    const ping = await fetch(`${w.url}/v2/`);
    assert.equal(ping.status, 401, 'the user list did not apply');
  });
});

// A runtime without some API must still answer every request (before: an exception thrown
// through wasm left the request hanging). The bundle runs here against a small open registry
// with CACHE=on and an ESA-like global `cache`, so layers take the tee + count + store path.
describe('a runtime missing an API still answers', () => {
  const layer = Buffer.from('layer bytes for the missing-API test\n'.repeat(50));
  const digest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  let registry;
  let upstreamUrl;
  before(async () => {
    registry = createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (req.url === `/v2/library/tiny/blobs/${digest}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': layer.length, 'docker-content-digest': digest });
        return res.end(req.method === 'HEAD' ? undefined : layer);
      }
      res.writeHead(404).end();
    });
    await new Promise((r) => registry.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${registry.address().port}`;
  });
  after(() => {
    delete globalThis.cache;
    registry?.closeAllConnections?.();
    return new Promise((r) => registry?.close(r) ?? r());
  });

  const removals = {
    TransformStream: () => {
      const saved = globalThis.TransformStream;
      delete globalThis.TransformStream;
      return () => (globalThis.TransformStream = saved);
    },
    'ReadableStream.prototype.tee': () => {
      const saved = ReadableStream.prototype.tee;
      ReadableStream.prototype.tee = undefined;
      return () => (ReadableStream.prototype.tee = saved);
    },
    'crypto.randomUUID': () => {
      const saved = crypto.randomUUID;
      Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true, writable: true });
      return () => Object.defineProperty(crypto, 'randomUUID', { value: saved, configurable: true, writable: true });
    },
  };

  const withTimeout = (p, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in 5 s (hung)`)), 5000))]);

  async function pullLayer(entry, env) {
    const ctx = fieldsContext();
    const t = await withTimeout(entry.fetch(new Request('http://mirror.test/token?scope=repository:library/tiny:pull'), ctx, env), 'token');
    assert.equal(t.status, 200);
    const { token } = await t.json();
    const auth = { authorization: `Bearer ${token}` };
    for (const round of ['miss', 'hit']) {
      const r = await withTimeout(entry.fetch(new Request(`http://mirror.test/v2/library/tiny/blobs/${digest}`, { headers: auth }), ctx, env), `blob ${round}`);
      assert.equal(r.status, 200, round);
      assert.deepEqual(Buffer.from(await withTimeout(r.arrayBuffer(), `blob body ${round}`)), layer, round);
      await new Promise((res) => setTimeout(res, 50)); // the background put
    }
    const part = await withTimeout(entry.fetch(new Request(`http://mirror.test/v2/library/tiny/blobs/${digest}`, { headers: { ...auth, range: 'bytes=10-19' } }), ctx, env), 'range');
    const bytes = Buffer.from(await part.arrayBuffer());
    assert.ok([200, 206].includes(part.status), `range: ${part.status}`);
    if (part.status === 206) assert.deepEqual(bytes, layer.subarray(10, 20));
  }

  for (const [what, remove] of Object.entries(removals)) {
    test(`without ${what}`, async () => {
      globalThis.cache = esaLikeCache();
      const env = { UPSTREAM: `docker.io@${upstreamUrl}`, CACHE: 'on', TOKEN_SECRET: SECRET, LOG: 'off' };
      const entry = await load(bundleWith({}, `missing-${what}`), { wasm: true });
      const restore = remove();
      try {
        await pullLayer(entry, env);
      } finally {
        restore();
      }
    });
  }

  test('without WebAssembly at all (the wasm2js fallback)', async () => {
    globalThis.cache = esaLikeCache();
    const saved = globalThis.WebAssembly;
    delete globalThis.WebAssembly;
    let mod;
    try {
      mod = await import(`${pathToFileURL(bundleWith({}, 'no-webassembly')).href}?engine=none`);
      const v = await mod.default.fetch(new Request('http://mirror.test/version'), {}, {});
      assert.equal(v.headers.get('x-proxy-engine'), 'wasm2js');
    } finally {
      globalThis.WebAssembly = saved; // Node's own fetch needs it to talk HTTP
    }
    await pullLayer(mod.default, { UPSTREAM: `docker.io@${upstreamUrl}`, CACHE: 'on', TOKEN_SECRET: SECRET, LOG: 'off' });
  });
});

/** ESA's global cache: get/put/delete, http:// keys, TTL from Cache-Control. */
function esaLikeCache() {
  const entries = new Map();
  return {
    async get(key) {
      const e = entries.get(key);
      return e ? new Response(e.body, { status: e.status, headers: e.headers }) : undefined;
    },
    async put(key, response) {
      assert.ok(String(key).startsWith('http://'), key);
      const body = new Uint8Array(await response.arrayBuffer());
      entries.set(key, { status: response.status, headers: [...response.headers], body });
    },
    async delete(key) {
      return entries.delete(key);
    },
  };
}

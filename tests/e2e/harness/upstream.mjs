// A Docker Hub look-alike on loopback, built from real parts:
//   - distribution (`docker-registry`) with token auth, verifying JWTs against a root cert;
//   - a token server (here, in the test process) that signs those JWTs (RS256, x5c) and records
//     every request it gets;
//   - distribution's `redirect` storage middleware sending blob GETs to a separate blob server
//     that, like S3/R2, REJECTS any request carrying an Authorization header.
import { createHash, createSign, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { nameLoopback, newSite } from './names.mjs';
import { freePort, run, start, tempDir, waitForHttp } from './procs.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function listen(server) {
  // Seeding blocks this process for seconds (a large layer is made with tar/gzip): idle
  // keep-alive sockets must not be closed under a client that is about to reuse them.
  server.keepAliveTimeout = 120000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/**
 * Users the token server knows (names are case-sensitive, as on some registries: `ALICE` is
 * another account than `alice`). `pusher` may push (the seeder) and is the operator's account;
 * everyone may pull, except `private/*`, which only `pusher` may read.
 */
export const USERS = { pusher: 'push-pw', alice: 'alice-pw', bob: 'bob-pw', mallory: 'mallory-pw', ALICE: 'upper-alice-pw' };

function startTokenServer({ key, certDer, service, issuer }) {
  const requests = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const auth = req.headers.authorization || null;
    const seen = { method: req.method, path: url.pathname, query: url.searchParams, authorization: auth };
    requests.push(seen);
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let user = null;
    if (auth) {
      const m = /^Basic (.+)$/i.exec(auth);
      const [u, p] = m ? Buffer.from(m[1], 'base64').toString().split(':') : [];
      if (!u || USERS[u] !== p) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    if (scopes.some((s) => s.includes('library/ratelimited'))) {
      res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
      return;
    }
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop().split(',');
      const name = rest.join(':');
      const readable = user === 'pusher' || !name.startsWith('private/');
      const granted = user === 'pusher' ? actions : actions.filter((a) => a === 'pull' && readable);
      return { type, name: rest.join(':'), actions: granted };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user || '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signingInput).sign(key);
    const token = `${signingInput}.${b64url(sig)}`;
    // As Docker Hub answers; `library/refresher` gets what a client must not: a refresh token
    // and a lifetime of ~30,000 years.
    const answer = scopes.some((s) => s.includes('library/refresher'))
      ? { token, access_token: token, expires_in: 1e12, refresh_token: 'refresh-me', issued_at: new Date().toISOString() }
      : { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() };
    seen.answer = JSON.stringify(answer);
    const odd = scopes.map((s) => /^repository:oddtoken\/([a-z0-9-]+):/.exec(s)?.[1]).find(Boolean);
    if (odd) {
      serveOddAnswer(res, odd, answer);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(seen.answer);
  });
  return { server, requests };
}

/**
 * Token answers for `oddtoken/<kind>`, shaped to test how a proxy reads them. `<kind>`: `plain`,
 * `huge` (over 64 KiB), `latin1` (a byte that is not UTF-8), `bom` (a UTF-8 byte order mark
 * first), `baddate` (issued_at 0000-00-00), `dupkey` (token and expires_in twice); with `-chunked`: no Content-Length, sent in two writes; with `-gzip`: Content-Encoding
 * gzip (Content-Length the compressed size, which the decoded text may far exceed).
 */
function serveOddAnswer(res, kind, answer) {
  const json = JSON.stringify(answer);
  let body = Buffer.from(json);
  if (kind.startsWith('huge')) body = Buffer.from(JSON.stringify({ ...answer, padding: 'x'.repeat(70 * 1024) }));
  if (kind.startsWith('latin1')) body = Buffer.concat([Buffer.from(`${json.slice(0, -1)},"note":"caf`), Buffer.from([0xe9]), Buffer.from('"}')]);
  if (kind.startsWith('bom')) body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
  // Docker Hub's shape but not what it claims: a date that is none, keys given twice.
  if (kind.startsWith('baddate')) body = Buffer.from(JSON.stringify({ ...answer, issued_at: '0000-00-00T00:00:00Z' }));
  if (kind.startsWith('dupkey')) body = Buffer.from(`${json.slice(0, -1)},"expires_in":99999999,"token":"other"}`);
  const headers = { 'content-type': 'application/json' };
  if (kind.endsWith('-gzip')) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (kind.endsWith('-chunked')) {
    res.writeHead(200, headers);
    res.write(body.subarray(0, body.length >> 1));
    res.end(body.subarray(body.length >> 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(body);
}

/** Serves distribution's storage files for redirected blob GETs, S3-style: no Authorization. */
function startBlobServer(storageRoot) {
  const requests = [];
  const cuts = []; // { hex, bytes }: the next GET of that blob stops after `bytes` and drops the connection
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push({ method: req.method, path, authorization: req.headers.authorization || null, range: req.headers.range || null });
    if (req.headers.authorization) {
      res.writeHead(400, { 'content-type': 'application/xml' });
      res.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    const file = join(storageRoot, path);
    if (path.includes('..') || !path.startsWith('/docker/registry/v2/blobs/') || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    // What an object store and its load balancer add, none of it for a registry client.
    const headers = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${path.split('/').at(-2)}"`,
      'x-amz-request-id': 'E2E0REQUEST0ID',
      server: 'AmazonS3',
      'set-cookie': ['AWSALB=blob-host-cookie; Path=/', 'AWSALBCORS=blob-host-cookie; Path=/; SameSite=None'],
    };
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (m) {
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
      }
      if (start > end || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = String(end - start + 1);
    res.writeHead(status, headers);
    const cut = req.method === 'GET' ? cuts.findIndex((c) => path.includes(c.hex)) : -1;
    if (cut >= 0) {
      const { bytes } = cuts.splice(cut, 1)[0];
      createReadStream(file, { start, end: start + bytes - 1 })
        .on('data', (d) => res.write(d))
        .on('end', () => setTimeout(() => res.socket.destroy(), 50));
      return;
    }
    if (req.method === 'HEAD') res.end();
    else createReadStream(file, { start, end }).pipe(res);
  });
  return { server, requests, cuts };
}

/** Starts the whole upstream. Returns its URLs, the request logs and a stop(). */
export async function startUpstream(name = 'upstream') {
  const dir = tempDir(name);
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const gen = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=test-token-issuer']);
  if (gen.code !== 0) throw new Error(`openssl: ${gen.stderr}`);
  const certDer = Buffer.from(readFileSync(certPath, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const service = 'test-registry';
  const issuer = 'test-issuer';

  const token = startTokenServer({ key: readFileSync(keyPath), certDer, service, issuer });
  const tokenPort = await listen(token.server);
  const storage = join(dir, 'data');
  const blobs = startBlobServer(storage);
  const blobPort = await listen(blobs.server);
  const port = await freePort();
  const cfg = join(dir, 'registry.yml');
  writeFileSync(
    cfg,
    `version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: false
http:
  addr: 127.0.0.1:${port}
auth:
  token:
    realm: http://127.0.0.1:${tokenPort}/token
    service: ${service}
    issuer: ${issuer}
    rootcertbundle: ${certPath}
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:${blobPort}
`,
  );
  const proc = start(`${name}-registry`, 'docker-registry', ['serve', cfg]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/v2/`, proc, 20000);
  // One site, three hosts, as Docker Hub (registry-1.docker.io, auth.docker.io, a CDN).
  const site = newSite();
  nameLoopback(port, `registry.${site}`);
  nameLoopback(tokenPort, `auth.${site}`);
  nameLoopback(blobPort, `blobs.${site}`);
  return {
    site,
    url,
    port,
    host: `127.0.0.1:${port}`,
    tokenUrl: `http://127.0.0.1:${tokenPort}`,
    /** distribution's storage directory (another registry may serve it read-only). */
    storage,
    blobUrl: `http://127.0.0.1:${blobPort}`,
    tokenRequests: token.requests,
    blobRequests: blobs.requests,
    /** The next GET of blob `digest` is cut after `bytes` bytes. */
    cutNext(digest, bytes) {
      blobs.cuts.push({ hex: digest.replace('sha256:', ''), bytes });
    },
    proc,
    async stop() {
      await proc.stop();
      token.server.closeAllConnections?.();
      blobs.server.closeAllConnections?.();
      await new Promise((r) => token.server.close(r));
      await new Promise((r) => blobs.server.close(r));
    },
    /** A token straight from the upstream token server (as a client of Docker Hub would hold). */
    async upstreamToken(scope, user) {
      const headers = user ? { authorization: `Basic ${Buffer.from(`${user}:${USERS[user]}`).toString('base64')}` } : {};
      const r = await fetch(`http://127.0.0.1:${tokenPort}/token?service=${service}&scope=${encodeURIComponent(scope)}`, { headers });
      return (await r.json()).token;
    },
  };
}

export const sha256 = (buf) => `sha256:${createHash('sha256').update(buf).digest('hex')}`;

/** A second distribution serving `storage` with no auth and no blob redirect; returns { url, stop }. */
export async function startOpenRegistry(name, storage) {
  const dir = tempDir(name);
  const port = await freePort();
  const cfg = join(dir, 'registry.yml');
  writeFileSync(cfg, `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: true
http:
  addr: 127.0.0.1:${port}
`);
  const proc = start(`${name}-registry`, 'docker-registry', ['serve', cfg]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/v2/`, proc, 20000);
  return { url, port, stop: () => proc.stop() };
}

// Docker Hub's pull accounting in front of a real registry (docs.docker.com/docker-hub/usage):
// every GET of a manifest is a pull, a HEAD is not; anonymous pulls count per client address,
// authenticated ones per account (the token's subject); past the limit a GET of a manifest gets
// Docker Hub's 429 (its body and ratelimit headers). Everything else passes through unchanged.
import { createServer, request as httpRequest } from 'node:http';

const TOO_MANY = JSON.stringify({
  errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit' }],
});

/** The identity Docker Hub counts a request against: the token's subject, else the address. */
function identity(req) {
  const m = /^Bearer ([\w-]+)\.([\w-]+)\./.exec(req.headers.authorization || '');
  if (m) {
    try {
      const sub = JSON.parse(Buffer.from(m[2], 'base64url').toString()).sub;
      if (sub) return `account:${sub}`;
    } catch {}
  }
  return `address:${req.socket.remoteAddress}`;
}

/**
 * A front for the registry at `target` (http://host:port) on 127.0.0.1. `limits`: pulls per
 * window for `anonymous` and per `account` name (default 100). Returns { url, port, pulls
 * (identity -> counted GETs), requests (every manifest request: method, identity, status),
 * reset(), stop() }.
 */
export async function startHubLimits(target, { anonymous = 10, accounts = {}, windowSeconds = 21600 } = {}) {
  const t = new URL(target);
  const pulls = new Map();
  const requests = [];
  const server = createServer((req, res) => {
    const isManifest = /^\/v2\/.+\/manifests\/[^/]+$/.test(req.url.split('?')[0]);
    const who = identity(req);
    const limit = who.startsWith('account:') ? (accounts[who.slice(8)] ?? 100) : anonymous;
    const used = pulls.get(who) || 0;
    const rate = (remaining) => ({ 'ratelimit-limit': `${limit};w=${windowSeconds}`, 'ratelimit-remaining': `${remaining};w=${windowSeconds}`, 'docker-ratelimit-source': who });
    if (isManifest && req.method === 'GET' && used >= limit) {
      requests.push({ method: req.method, path: req.url, who, status: 429 });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3600', ...rate(0) });
      res.end(TOO_MANY);
      req.resume();
      return;
    }
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const counted = isManifest && req.method === 'GET' && r.statusCode === 200;
      if (counted) pulls.set(who, used + 1);
      if (isManifest) requests.push({ method: req.method, path: req.url, who, status: r.statusCode });
      const headers = { ...r.headers, ...(isManifest ? rate(limit - (pulls.get(who) || 0)) : {}) };
      res.writeHead(r.statusCode, headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pulls,
    requests,
    reset() {
      pulls.clear();
      requests.length = 0;
    },
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

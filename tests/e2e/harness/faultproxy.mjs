// A reverse proxy in front of the registry that answers a share of manifest and blob requests
// with 429 (Retry-After) or 503, like an upstream under load, and records what went through.
// Loopback only.
import { createServer, request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { nameLoopback, siteOf } from './names.mjs';

let fronts = 0;

/**
 * `gzip`: like a CDN in front of a registry, compress manifest and token answers with
 * Content-Encoding: gzip when the request accepts it (`gzipped` counts them).
 */
export async function startFaultProxy(targetPort, { gzip = false } = {}) {
  let every = 0; // 0: no faults; n: every n-th registry request fails
  let count = 0;
  const faults = { 429: 0, 503: 0 };
  const seen = []; // every request that reached the upstream through here: { method, path }
  let gzipped = 0;
  const server = createServer((req, res) => {
    seen.push({ method: req.method, path: req.url });
    const registryRequest = /\/(manifests|blobs)\//.test(req.url);
    if (every && registryRequest && ++count % every === 0) {
      const status = count % (2 * every) === 0 ? 503 : 429;
      faults[status]++;
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) });
      res.end(JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected' }] }));
      return;
    }
    const up = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const json = /json/.test(r.headers['content-type'] || '');
      if (gzip && json && req.method === 'GET' && /gzip/.test(req.headers['accept-encoding'] || '') && !r.headers['content-encoding']) {
        // Compressed whole, with the compressed length, as CDNs do for small bodies.
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => {
          const body = gzipSync(Buffer.concat(chunks));
          res.writeHead(r.statusCode, { ...r.headers, 'content-encoding': 'gzip', 'content-length': String(body.length) });
          gzipped++;
          res.end(body);
        });
        return;
      }
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.keepAliveTimeout = 120000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  // A front of that registry, on its site.
  nameLoopback(server.address().port, `front${++fronts}.${siteOf(targetPort) || 'fronts.test'}`);
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    faults,
    seen,
    gzipped: () => gzipped,
    failEvery: (n) => {
      every = n;
      count = 0;
    },
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

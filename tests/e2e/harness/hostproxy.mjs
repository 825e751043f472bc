// A forward HTTP proxy on loopback that lets clients use made-up host names (ghcr.mirror.test)
// without touching /etc/hosts: clients send absolute-URI requests here (HTTP_PROXY, Chromium's
// --proxy-server), and each is delivered to 127.0.0.1 on the URL's port with its Host header
// intact -- as DNS would for a real deployment. Only ports registered with allow() are reached.
import { createServer, request } from 'node:http';

export async function startHostProxy() {
  const allowed = new Set();
  const seen = [];
  const server = createServer((req, res) => {
    let target;
    try {
      target = new URL(req.url);
    } catch {
      res.writeHead(400).end('absolute-URI requests only\n');
      return;
    }
    const port = Number(target.port || 80);
    if (target.protocol !== 'http:' || !allowed.has(port)) {
      res.writeHead(403).end(`port ${port} not allowed\n`);
      return;
    }
    seen.push({ host: req.headers.host, path: target.pathname });
    const up = request(
      { host: '127.0.0.1', port, method: req.method, path: target.pathname + target.search, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    allow: (port) => allowed.add(Number(port)),
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

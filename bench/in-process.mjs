// The bundle's own CPU per request, nothing else: the ESA bundle loaded in this process, its
// upstream an in-memory fetch answering like Docker Hub, requests one after another; with
// `baseline` the plain-JS proxy (bench/baseline-worker.js) the same way, for the floor. Isolates the wasm, the shim and the
// boundary between them from sockets and runtimes; for A/B of changes there, not for ratios
// against other proxies (those are in worker-alone.mjs).
// usage: node bench/in-process.mjs [baseline]   -> JSON lines, CPU µs per request
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const baseline = process.argv[2] === 'baseline';
const bundle = process.env.IN_PROCESS_BUNDLE || join(ROOT, baseline ? 'bench/baseline-worker.js' : 'dist/esa/index.js');
const N = Number(process.env.IN_PROCESS_N || 4000);
const RUNS = Number(process.env.IN_PROCESS_RUNS || 5);

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 500, platform: { architecture: 'amd64', os: 'linux' } }],
});
// What Docker Hub sends with a manifest (its CDN headers included: the proxy filters them).
const HUB_HEADERS = {
  'content-type': 'application/vnd.oci.image.index.v1+json',
  'content-length': String(MANIFEST.length),
  'docker-content-digest': `sha256:${'b'.repeat(64)}`,
  'docker-distribution-api-version': 'registry/2.0',
  etag: `"sha256:${'b'.repeat(64)}"`,
  date: new Date().toUTCString(),
  'strict-transport-security': 'max-age=31536000',
  'ratelimit-limit': '100;w=21600',
  'ratelimit-remaining': '99;w=21600',
  'docker-ratelimit-source': '203.0.113.7',
};

globalThis.fetch = async (input) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.endsWith('/v2/')) {
    return new Response('{"errors":[]}', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' } });
  }
  return new Response(MANIFEST, { status: 200, headers: HUB_HEADERS });
};

const mod = await import(pathToFileURL(bundle).href);
const env = baseline
  ? { UPSTREAM_URL: 'https://registry-1.docker.io', UPSTREAM_REALM: 'https://auth.docker.io/token', UPSTREAM_SERVICE: 'registry.docker.io' }
  : { UPSTREAM: 'https://registry-1.docker.io', LOG: 'errors' };
const headers = {
  authorization: `Bearer ${'x'.repeat(600)}`,
  accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
  'user-agent': 'docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/27.3.1 \\(linux\\))',
  'accept-encoding': 'gzip',
  'x-forwarded-for': '198.51.100.4',
};
const ctx = { waitUntil: () => {} };

async function once(path, method = 'GET') {
  const req = new Request(`https://mirror.example.com${path}`, { method, headers });
  const r = await (baseline ? mod.default.fetch(req, env) : mod.default.fetch(req, ctx, env));
  await r.arrayBuffer();
  if (r.status >= 400 && r.status !== 401) throw new Error(`${path}: ${r.status}`);
}

for (const [label, path, method] of [
  ['manifest GET', '/v2/library/nginx/manifests/latest', 'GET'],
  ['manifest HEAD', '/v2/library/nginx/manifests/latest', 'HEAD'],
  ['ping', '/v2/', 'GET'],
]) {
  for (let i = 0; i < 500; i++) await once(path, method); // warm up: V8 tiers up
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const from = process.cpuUsage();
    for (let i = 0; i < N; i++) await once(path, method);
    const used = process.cpuUsage(from);
    runs.push((used.user + used.system) / N);
  }
  runs.sort((a, b) => a - b);
  console.log(JSON.stringify({ request: label, usPerRequest: Math.round(runs[RUNS >> 1]), min: Math.round(runs[0]), max: Math.round(runs[RUNS - 1]) }));
}

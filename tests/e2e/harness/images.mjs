// Test images, built without Docker: real gzipped tar layers (GNU tar), image configs and
// manifests of every kind a mirror must pass through, pushed with the registry's own API.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run, tempDir } from './procs.mjs';
import { sha256, USERS } from './upstream.mjs';

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

function layer(files) {
  const dir = tempDir('layer');
  const root = join(dir, 'rootfs');
  mkdirSync(root);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  const out = join(dir, 'layer.tar.gz');
  const r = run('bash', ['-c', `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "${root}" -cf - . | gzip -1 -n > "${out}"`]);
  if (r.code !== 0) throw new Error(`tar: ${r.stderr}`);
  const gz = readFileSync(out);
  return { bytes: gz, digest: sha256(gz), diffId: sha256(gunzipSync(gz)) };
}

async function pusherToken(up, repo) {
  const auth = Buffer.from(`pusher:${USERS.pusher}`).toString('base64');
  const r = await fetch(`${up.tokenUrl}/token?service=test-registry&scope=repository:${repo}:pull,push`, {
    headers: { authorization: `Basic ${auth}` },
  });
  return (await r.json()).token;
}

async function pushBlob(up, repo, token, bytes) {
  const digest = sha256(bytes);
  const auth = { authorization: `Bearer ${token}` };
  const head = await fetch(`${up.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: auth, redirect: 'manual' });
  if (head.status === 200 || head.status === 307) return digest;
  const post = await fetch(`${up.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
  if (post.status !== 202) throw new Error(`upload start ${repo}: ${post.status} ${await post.text()}`);
  const loc = new URL(post.headers.get('location'), up.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  });
  if (put.status !== 201) throw new Error(`upload ${repo}: ${put.status} ${await put.text()}`);
  return digest;
}

async function pushManifest(up, repo, token, ref, mediaType, body) {
  const bytes = Buffer.from(JSON.stringify(body, null, 3));
  const r = await fetch(`${up.url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': mediaType },
    body: bytes,
  });
  if (r.status !== 201) throw new Error(`manifest ${repo}:${ref}: ${r.status} ${await r.text()}`);
  return { digest: sha256(bytes), bytes, mediaType };
}

/** One single-platform image; returns its manifest record. */
async function pushImage(up, repo, token, { arch = 'amd64', oci = false, layers, ref }) {
  const config = {
    architecture: arch,
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  await pushBlob(up, repo, token, configBytes);
  for (const l of layers) await pushBlob(up, repo, token, l.bytes);
  const mediaType = oci ? MT.ociManifest : MT.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? MT.ociConfig : MT.dockerConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: oci ? MT.ociLayer : MT.dockerLayer, digest: l.digest, size: l.bytes.length })),
  };
  const m = await pushManifest(up, repo, token, ref, mediaType, manifest);
  return { ...m, arch, layers: layers.map((l) => l.digest), config: sha256(configBytes) };
}

async function pushIndex(up, repo, token, { oci, tag, children }) {
  const mediaType = oci ? MT.ociIndex : MT.dockerList;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length, platform: { architecture: c.arch, os: 'linux' } })),
  };
  return pushManifest(up, repo, token, tag, mediaType, index);
}

/**
 * Seeds the upstream. Returns { name: { tag, digest, mediaType, children?, layers? } }.
 * `bigMiB`: size of library/big's random (incompressible) layer.
 */
export async function seedImages(up, { bigMiB = 24, only = null } = {}) {
  const images = {};
  const wanted = (repo) => !only || only.includes(repo);
  const small = (label) => layer({ 'hello.txt': `hello from ${label}\n`, 'id.txt': randomBytes(16).toString('hex') });

  const single = async (repo, opts) => {
    if (!wanted(repo)) return;
    const token = await pusherToken(up, repo);
    images[repo] = { tag: opts.ref, ...(await pushImage(up, repo, token, { ...opts, layers: opts.layers || [small(repo)] })) };
  };
  await single('library/tiny', { ref: 'latest', layers: [small('tiny-1'), small('tiny-2')] });
  await single('team/app', { ref: 'v1', oci: true });
  await single('a/x', { ref: 'latest' });
  await single('ab/x', { ref: 'latest' });
  await single('library/secret', { ref: 'latest' });
  await single('private/app', { ref: 'latest' });
  await single('library/big', { ref: 'latest', layers: [layer({ 'blob.bin': randomBytes(bigMiB * 1024 * 1024) })] });
  if (wanted('library/layers')) {
    await single('library/layers', { ref: 'latest', layers: [1, 2, 3, 4].map((i) => layer({ [`part${i}.bin`]: randomBytes(64 * 1024 * i) })) });
  }

  for (const [repo, oci] of [['library/multi', true], ['library/list', false]]) {
    if (!wanted(repo)) continue;
    const token = await pusherToken(up, repo);
    const children = [];
    for (const arch of ['amd64', 'arm64']) {
      children.push(await pushImage(up, repo, token, { arch, oci, layers: [small(`${repo}-${arch}`)], ref: `${arch}` }));
    }
    const idx = await pushIndex(up, repo, token, { oci, tag: 'latest', children });
    images[repo] = { tag: 'latest', ...idx, children };
  }
  return images;
}

/** Pushes a new image (a fresh layer) under `repo:tag`; returns its manifest record. */
export async function repushTag(up, repo, tag) {
  const token = await pusherToken(up, repo);
  const fresh = layer({ 'hello.txt': `re-pushed ${Date.now()}\n`, 'id.txt': randomBytes(16).toString('hex') });
  return pushImage(up, repo, token, { ref: tag, layers: [fresh] });
}

/** Pushes `repo:tag` with `n` small layers (one file each); returns its manifest record. */
export async function pushLayered(up, repo, tag, n) {
  const token = await pusherToken(up, repo);
  const layers = Array.from({ length: n }, (_, i) => layer({ [`part${i}.txt`]: `part ${i} ${randomBytes(8).toString('hex')}\n` }));
  return pushImage(up, repo, token, { ref: tag, layers });
}

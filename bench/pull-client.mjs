// A client that pulls the way docker does, for the bench: ping, follow the 401 challenge to the
// realm it names, HEAD the tag, GET the manifest by digest (an index: the amd64 manifest), then
// the config and every layer, following a blob redirect without Authorization. Every answer is
// checked, so a target that answers wrongly fails the bench instead of looking fast.

const DOCKER_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

function challenge(header) {
  const m = /^Bearer\s+(.*)$/i.exec(header || '');
  if (!m) throw new Error(`not a Bearer challenge: ${header}`);
  const params = {};
  for (const p of m[1].matchAll(/(\w+)="([^"]*)"/g)) params[p[1]] = p[2];
  return params;
}

async function expect(resp, status, what) {
  const body = await resp.arrayBuffer();
  if (resp.status !== status) throw new Error(`${what}: ${resp.status}, want ${status}: ${Buffer.from(body).toString().slice(0, 200)}`);
  return body;
}

async function blob(base, repo, digest, auth) {
  const url = `${base}/v2/${repo}/blobs/${digest}`;
  let r = await fetch(url, { headers: auth, redirect: 'manual' });
  if (r.status >= 300 && r.status < 400) {
    await r.arrayBuffer();
    r = await fetch(new URL(r.headers.get('location'), url), { redirect: 'follow' });
  }
  return expect(r, 200, `blob ${digest}`);
}

/** The token URL docker asks for `repo`: ping, then the realm the 401's challenge names. */
async function tokenRealm(base, repo, ask) {
  const ping = await ask(`${base}/v2/`);
  await expect(ping, 401, 'ping');
  const c = challenge(ping.headers.get('www-authenticate'));
  const realm = new URL(c.realm);
  if (c.service) realm.searchParams.set('service', c.service);
  realm.searchParams.set('scope', `repository:${repo}:pull`);
  return realm;
}

async function tokenAt(realm, ask) {
  const answer = JSON.parse(Buffer.from(await expect(await ask(realm), 200, 'token')).toString());
  return answer.token ?? answer.access_token;
}

/** A pull token for `repo` the way docker gets one: ping, then the realm the 401 names. */
export async function tokenFor(base, repo, ask = fetch) {
  return tokenAt(await tokenRealm(base, repo, ask), ask);
}

/** HEAD of the tag, then its manifest by digest (an index: the amd64 manifest, GET too). */
async function manifestOf(base, repo, tag, headers, ask) {
  const head = await ask(`${base}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers });
  await expect(head, 200, 'HEAD tag');
  const digest = head.headers.get('docker-content-digest');
  let manifest = JSON.parse(Buffer.from(await expect(await ask(`${base}/v2/${repo}/manifests/${digest}`, { headers }), 200, 'manifest')).toString());
  if (manifest.manifests) {
    const d = manifest.manifests.find((m) => m.platform?.architecture === 'amd64')?.digest ?? manifest.manifests[0].digest;
    manifest = JSON.parse(Buffer.from(await expect(await ask(`${base}/v2/${repo}/manifests/${d}`, { headers }), 200, 'platform manifest')).toString());
  }
  return { digest, manifest };
}

/** One whole pull of `repo:tag` from `base`; returns the number of HTTP requests it made. */
export async function pull(base, repo, tag) {
  let requests = 0;
  const ask = (url, init) => (requests++, fetch(url, init));
  const auth = { authorization: `Bearer ${await tokenFor(base, repo, ask)}` };
  const { manifest } = await manifestOf(base, repo, tag, { ...auth, accept: DOCKER_ACCEPT }, ask);
  for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    requests++;
    await blob(base, repo, d, auth);
  }
  return requests;
}

/** `pull` until `count` pulls are done by `conns` clients at once. */
export async function pulls(base, repo, tag, { count, conns }) {
  let left = count;
  let requests = 0;
  const client = async () => {
    while (left > 0) {
      left--;
      requests += await pull(base, repo, tag);
    }
  };
  await Promise.all(Array.from({ length: conns }, client));
  return requests;
}

/**
 * Each kind of request a pull makes, as a function doing one of it (answer checked), for counting
 * them apart: the ping, the token from the challenge's realm, HEAD of the tag, GET of the
 * manifest by digest, GET of the config blob (its redirect followed as docker does).
 */
export async function requestKinds(base, repo, tag) {
  const realm = await tokenRealm(base, repo, fetch);
  const auth = { authorization: `Bearer ${await tokenAt(realm, fetch)}` };
  const headers = { ...auth, accept: DOCKER_ACCEPT };
  const { digest, manifest } = await manifestOf(base, repo, tag, headers, fetch);
  return {
    ping: async () => expect(await fetch(`${base}/v2/`), 401, 'ping'),
    token: async () => expect(await fetch(realm), 200, 'token'),
    'HEAD tag': async () => expect(await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers }), 200, 'HEAD tag'),
    'manifest GET': async () => expect(await fetch(`${base}/v2/${repo}/manifests/${digest}`, { headers }), 200, 'manifest'),
    'blob GET': () => blob(base, repo, manifest.config.digest, auth),
  };
}

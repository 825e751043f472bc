// The container engines people pull with, each with its own state under a temp dir and
// stopped by PID: Docker Engine (Debian docker.io: dockerd 20.10, rootful, vfs, no iptables or
// bridge) and podman (Debian podman 4.3, vfs). 127.0.0.0/8 is plain-HTTP for both.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, sleep, start, tempDir } from './procs.mjs';
import { sha256 } from './upstream.mjs';

/**
 * skopeo copy of `ref` (plain HTTP) into a dir: layout; returns { code, stderr, files: name ->
 * sha256 of its bytes } so a test can compare what arrived with what was pushed.
 */
export async function skopeoPull(ref, { all = false, creds = null } = {}) {
  const dir = join(tempDir('skopeo'), 'out');
  const args = ['copy', '--src-tls-verify=false', ...(creds ? ['--src-creds', creds] : ['--src-no-creds'])];
  if (all) args.push('--all');
  const r = await runAsync('skopeo', [...args, `docker://${ref}`, `dir:${dir}`]);
  const files = {};
  if (r.code === 0) for (const f of readdirSync(dir)) if (f !== 'version') files[f] = sha256(readFileSync(join(dir, f)));
  return { ...r, files };
}

/**
 * A Docker Engine. `mirrors`: its `registry-mirrors`. `auths`: the client's config.json
 * `auths` (what `docker login` would write). `downloadAttempts`: how often docker tries a
 * layer (1: a failure shows at once; docker's default 5 resumes cut layers with Range). Returns { docker(...args), stop, dir }.
 */
export async function startDockerd(name, { mirrors = [], auths = null, downloadAttempts = 1 } = {}) {
  const dir = tempDir(name);
  const sock = join(dir, 'docker.sock');
  const daemonJson = join(dir, 'daemon.json');
  writeFileSync(daemonJson, JSON.stringify({ 'registry-mirrors': mirrors, 'max-download-attempts': downloadAttempts }));
  // The CLI's own config dir: logins stay in this engine's test.
  const cli = join(dir, 'cli');
  mkdirSync(cli);
  writeFileSync(join(cli, 'config.json'), JSON.stringify(auths ? { auths } : {}));
  const proc = start(name, 'dockerd', [
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--storage-driver=vfs',
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'docker.pid'),
    '--config-file', daemonJson,
    '-H', `unix://${sock}`,
  ]);
  const docker = (...args) => runAsync('docker', ['-H', `unix://${sock}`, ...args], { env: { DOCKER_CONFIG: cli }, timeout: 120000 });
  for (let i = 0; i < 150; i++) {
    if (proc.exited()) break;
    if (existsSync(sock) && (await docker('version')).code === 0) return { docker, stop: () => proc.stop(), dir, proc };
    await sleep(200);
  }
  await proc.stop();
  assert.fail(`dockerd did not start:\n${proc.log().slice(-3000)}`);
}

/** What docker holds for `ref`: its image id (the config digest) and repo digests. */
export async function dockerImage(docker, ref) {
  const r = await docker('image', 'inspect', '--format', '{{json .}}', ref);
  if (r.code !== 0) return null;
  const i = JSON.parse(r.stdout);
  return { id: i.Id, repoDigests: i.RepoDigests, arch: i.Architecture };
}

/**
 * podman with its own storage and, when `mirror` is given, a registries.conf that names
 * `mirror` (host:port) as the mirror of `mirrorOf`; `registriesConf`: that file's text as given.
 * Returns { podman(...args) }.
 */
export function podmanFor(name, { mirror = null, mirrorOf = 'docker.io', registriesConf = null } = {}) {
  const dir = tempDir(name);
  const conf = join(dir, 'registries.conf');
  writeFileSync(
    conf,
    registriesConf ??
    (mirror
      ? `unqualified-search-registries = ["${mirrorOf}"]

[[registry]]
prefix = "${mirrorOf}"
location = "${mirrorOf}"

[[registry.mirror]]
location = "${mirror}"
insecure = true
`
      : 'unqualified-search-registries = []\n'),
  );
  writeFileSync(join(dir, 'auth.json'), '{}');
  const base = [
    '--root', join(dir, 'root'),
    '--runroot', join(dir, 'run'),
    '--storage-driver', 'vfs',
    '--events-backend', 'file',
    '--cgroup-manager', 'cgroupfs',
  ];
  const podman = (...args) =>
    runAsync('podman', [...base, ...args], {
      env: { CONTAINERS_REGISTRIES_CONF: conf, REGISTRY_AUTH_FILE: join(dir, 'auth.json'), XDG_RUNTIME_DIR: join(dir, 'xdg') },
      timeout: 120000,
    });
  return { podman, dir };
}

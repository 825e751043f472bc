// containerd for the tests: a daemon with its config, root, state and socket under a temp dir,
// and `ctr` bound to it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, sleep, start, tempDir } from './procs.mjs';

export async function startContainerd(name = 'containerd') {
  const dir = tempDir(name);
  const sock = join(dir, 'containerd.sock');
  const cfg = join(dir, 'config.toml');
  writeFileSync(
    cfg,
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  address = "${sock}.debug"
`,
  );
  const proc = start(name, 'containerd', ['--config', cfg]);
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
  assert.ok(existsSync(sock), `containerd did not start:\n${proc.log()}`);
  return {
    proc,
    stop: () => proc.stop(),
    ctr: (...args) => runAsync('ctr', ['--address', sock, '--namespace', 'erp-test', ...args], { timeout: 120000 }),
  };
}

/** A hosts dir naming `mirrorUrl` as the mirror of each registry; fallbacks are a dead port. */
export function hostsDir(mirrorUrl, registries = ['docker.io']) {
  const dir = join(tempDir('hosts'), 'certs.d');
  for (const r of registries) {
    mkdirSync(join(dir, r), { recursive: true });
    writeFileSync(
      join(dir, r, 'hosts.toml'),
      `server = "http://127.0.0.1:9"

[host."${mirrorUrl}"]
  capabilities = ["pull", "resolve"]
`,
    );
  }
  return dir;
}

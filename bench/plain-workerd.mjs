// A worker in plain workerd, no wrangler: one process whose CPU is the worker's and workerd's
// own, nothing else (wrangler dev adds its Node process, a proxying workerd and a logging
// wrapper, ~2 ms per request, which hides differences of a tenth of that).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from 'node:net';
import { ROOT, freePort, sleep, start, tempDir } from '../tests/e2e/harness/procs.mjs';

const WORKERD = join(ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');
const COMPAT_DATE = '2026-11-01';

const capnpString = (s) => JSON.stringify(String(s));

/**
 * Starts `script` (an ES module; a `proxy_bg.wasm` beside it is bound as the module it imports)
 * with `vars` as text bindings, listening on a free loopback port. Outbound fetch may reach
 * loopback (workerd's default network refuses private and local addresses).
 */
export async function startPlainWorkerd(name, vars, { script = join(ROOT, 'dist', 'cloudflare', 'worker.js'), inspector } = {}) {
  const dir = tempDir(`${name}-workerd`);
  const modules = [`(name = "worker.js", esModule = embed "worker.js")`];
  copyFileSync(script, join(dir, 'worker.js'));
  // Many pasted proxies are service-worker scripts (addEventListener('fetch'), vars as globals).
  const source = readFileSync(script, 'utf8');
  const serviceWorker = !/^\s*export\s+default\b/m.test(source) && /addEventListener\(\s*['"]fetch['"]/.test(source);
  const wasm = join(dirname(script), 'proxy_bg.wasm');
  if (existsSync(wasm)) {
    copyFileSync(wasm, join(dir, 'proxy_bg.wasm'));
    modules.push(`(name = "proxy_bg.wasm", wasm = embed "proxy_bg.wasm")`);
  }
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(v)})`);
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  ${serviceWorker ? 'serviceWorkerScript = embed "worker.js"' : `modules = [${modules.join(', ')}]`},
  compatibilityDate = "${COMPAT_DATE}",
  bindings = [${bindings.join(', ')}],
  globalOutbound = "internet",
);
`,
  );
  const args = ['serve', join(dir, 'config.capnp'), '--experimental'];
  if (inspector) args.push(`--inspector-addr=127.0.0.1:${inspector}`); // for profiling
  const proc = start(name, WORKERD, args, { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await listening(port, proc);
  return { name, url, port, proc, stop: () => proc.stop() };
}

/** Waits for the socket (not an HTTP answer: the first request is the bench's to measure). */
async function listening(port, proc) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`workerd exited: ${proc.log()}`);
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`workerd did not listen on ${port}: ${proc.log()}`);
}

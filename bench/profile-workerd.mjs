// Where a worker's CPU goes in plain workerd: a V8 CPU profile over the inspector while a load
// runs, self time summed by function and by kind (the worker's JS, its wasm, the wasm<->JS
// trampolines, the runtime's own builtins, GC). For finding what to trim, not for ratios.
// usage: node bench/profile-workerd.mjs [manifest|pull|first] [script=dist/cloudflare/worker.js]
//   first: only the first request after start (docker's ping), as `make bench` times it
//   (bench/baseline-worker.js: the plain-JS baseline, for comparison)
//   PROFILE_SECONDS (5), PROFILE_TOP (30)
import { join } from 'node:path';
import { freePort, runAsync, sleep } from '../tests/e2e/harness/procs.mjs';
import { cdpSession } from '../tests/e2e/harness/cdp.mjs';
import { seedImages } from '../tests/e2e/harness/images.mjs';
import { startUpstream } from '../tests/e2e/harness/upstream.mjs';
import { MANIFEST_ACCEPT, benchVars, parseWrk } from './measure.mjs';
import { startPlainWorkerd } from './plain-workerd.mjs';
import { pulls, tokenFor } from './pull-client.mjs';

const [load = 'manifest', script = join(import.meta.dirname, '..', 'dist', 'cloudflare', 'worker.js')] = process.argv.slice(2);
const SECONDS = Number(process.env.PROFILE_SECONDS || 5);
const TOP = Number(process.env.PROFILE_TOP || 30);

/** A DevTools-protocol session with workerd's inspector, once it lists its target. */
async function inspect(port) {
  let list;
  for (let i = 0; i < 50 && !list?.length; i++) {
    list = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json(), () => null);
    if (!list?.length) await sleep(100);
  }
  return cdpSession(list[0].webSocketDebuggerUrl);
}

function kindOf(frame) {
  const { functionName: f, url } = frame;
  if (f === '(garbage collector)') return 'gc';
  if (f === '(program)' || f === '(idle)' || f === '(root)') return 'runtime (outside JS)';
  if (/^(js-to-wasm|wasm-to-js)/.test(f)) return 'wasm<->JS trampolines';
  if (/^wasm-function|^\$/.test(f) || url.includes('wasm://')) return 'wasm';
  if (url.endsWith('worker.js')) return 'worker JS';
  return 'runtime builtins';
}

const up = await startUpstream('profile-upstream');
let w;
try {
  await seedImages(up, { only: ['library/tiny'] });
  const inspectorPort = await freePort();
  const { hub, baseline } = benchVars(up);
  const vars = script.endsWith('baseline-worker.js') ? baseline : hub;
  w = await startPlainWorkerd('profile-workerd', vars, { script, inspector: inspectorPort });
  const token = load === 'manifest' ? await tokenFor(w.url, 'library/tiny') : null;
  const session = await inspect(inspectorPort);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: load === 'first' ? 20 : 100 });
  await session.send('Profiler.start');
  let requests = 0; // manifest load: wrk's count, for self time per request
  if (load === 'first') {
    await sleep(300); // as bench/worker-alone.mjs: start-up work settles first
    await (await fetch(`${w.url}/v2/`)).arrayBuffer();
  } else if (load === 'pull') {
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) await pulls(w.url, 'library/tiny', 'latest', { count: 32, conns: 8 });
  } else {
    const args = ['-t', '2', '-c', '32', '-d', `${SECONDS}s`, '-H', `Authorization: Bearer ${token}`, '-H', `Accept: ${MANIFEST_ACCEPT}`];
    const r = await runAsync('wrk', [...args, `${w.url}/v2/library/tiny/manifests/latest`], { timeout: 60000 });
    requests = parseWrk(r.stdout).requests;
  }
  const { result } = await session.send('Profiler.stop');
  session.close();
  const { nodes, samples, timeDeltas } = result.profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const fns = new Map();
  const kinds = new Map();
  let total = 0;
  samples.forEach((s, i) => {
    const frame = byId.get(s).callFrame;
    const dt = timeDeltas[i] || 0;
    total += dt;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}`;
    fns.set(key, (fns.get(key) || 0) + dt);
    const k = kindOf(frame);
    kinds.set(k, (kinds.get(k) || 0) + dt);
  });
  // Shares of a profile depend on how busy the process was; µs per request (profiler's overhead
  // included) compare across runs and builds.
  const perRequest = (v) => (requests ? `${(v / requests).toFixed(1)} µs/req`.padStart(14) : '');
  const pct = (v) => `${((v / total) * 100).toFixed(1)}%`.padStart(6) + `${(v / 1000).toFixed(2)} ms`.padStart(11) + perRequest(v);
  console.log(`${load} load, ${SECONDS} s, ${script}${requests ? `, ${requests} requests` : ''}`);
  for (const [k, v] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`${pct(v)}  ${k}`);
  console.log('--- functions by self time');
  for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(v)}  ${k}`);
} finally {
  await w?.stop();
  await up.stop();
}
process.exit(0);

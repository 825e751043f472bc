// `make bench`: one run, every target side by side against the same real upstream (distribution
// with token auth and a blob redirect, on 127.0.0.1). First the worker alone (worker-alone.mjs:
// plain workerd and the ESA host, docker-like pulls, repeated rounds, vs the plain-JS proxy
// bench/baseline-worker.js), then the wrangler dev stack (wrk per target):
//   direct            the registry itself
//   workerd           our Cloudflare worker (wrangler dev / workerd)
//   workerd+cache     the same with CACHE=on (manifest and layer hits)
//   esa               our ESA bundle in the ESA host (Node), real wasm
//   esa-wasm2js       the same bundle on its wasm2js fallback
//   js-baseline       bench/baseline-worker.js, a plain-JS proxy, in the same workerd
//   extra-baseline    BENCH_BASELINE=path/to/worker.js, if given (in both parts; named by
//                     BENCH_BASELINE_NAME, its vars BENCH_BASELINE_VARS)
// then the ESA CPU table and sizes. Writes bench/results.md and bench/results.svg. Loops are
// bounded (counts, wrk -d) and loopback only. BENCH_ONLY=alone|instructions|esa-cpu|esa-startup|pull-counts prints one
// part. instructions.mjs counts instructions per request under valgrind (callgrind).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { seedImages } from '../tests/e2e/harness/images.mjs';
import { NODE, ROOT, groupUsage, killAll, runAsync } from '../tests/e2e/harness/procs.mjs';
import { startEsaHost, startWorkerd } from '../tests/e2e/harness/runtimes.mjs';
import { startUpstream } from '../tests/e2e/harness/upstream.mjs';
import { MANIFEST_ACCEPT as ACCEPT, benchVars, chosenTargets, layerMiBs, parseWrk } from './measure.mjs';
import { tokenFor } from './pull-client.mjs';
import { pullCounts } from './pull-counts.mjs';
import { instructions } from './instructions.mjs';
import { extraBaselineVars, workerAlone } from './worker-alone.mjs';

const DURATION = process.env.BENCH_SECONDS || '5';
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB || 256);
const SECRET = 'bench-secret-0123456789abcdef0123';

const log = (...a) => console.log('[bench]', ...a);

/** wrk at `conns` for DURATION seconds, with the runtime's CPU and peak RSS over the run. */
async function load(url, headers, conns, pgid) {
  const args = ['-t', conns > 1 ? '2' : '1', '-c', String(conns), '-d', `${DURATION}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const before = pgid ? groupUsage(pgid) : null;
  let peak = 0;
  const sampler = pgid ? setInterval(() => (peak = Math.max(peak, groupUsage(pgid).rssMb)), 100) : null;
  const r = await runAsync('wrk', [...args, url], { timeout: 60000 });
  if (sampler) clearInterval(sampler);
  const w = parseWrk(r.stdout);
  if (!w.requests) throw new Error(`wrk failed for ${url}: ${r.stdout}${r.stderr}`);
  if (w.errors) throw new Error(`${w.errors} non-2xx answers from ${url}`);
  const after = pgid ? groupUsage(pgid) : null;
  return { ...w, cpuMsPer1000: pgid ? ((after.cpuSeconds - before.cpuSeconds) * 1e6) / w.requests : NaN, peakRssMb: peak };
}

const throughput = (base, path, token) => layerMiBs(base, path, token, BLOB_MIB);

/** Cold start: a fresh Node process instantiating the module each way; median of five. */
async function coldStart(engine) {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const r = await runAsync(NODE, [join(ROOT, 'bench', 'coldstart.mjs'), engine]);
    if (r.code !== 0) throw new Error(`coldstart ${engine}: ${r.stderr}`);
    times.push(JSON.parse(r.stdout));
  }
  const median = (k) => times.map((t) => t[k]).sort((a, b) => a - b)[2];
  return { instantiateMs: median('instantiateMs'), firstRequestMs: median('firstRequestMs') };
}

/**
 * The ESA bundle's load, first request, token request and steady CPU in fresh Node processes
 * (bench/esa-load.mjs), best of 3 per engine, against ESA's budgets.
 */
async function esaStartup() {
  const rows = [];
  for (const engine of ['wasm', 'wasm2js']) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = await runAsync(NODE, [join(ROOT, 'bench', 'esa-load.mjs')], { env: engine === 'wasm2js' ? { ESA_WASM: 'off' } : {} });
      if (r.code !== 0) throw new Error(`esa-load ${engine}: ${r.stderr}`);
      runs.push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
    }
    const best = (k) => Math.min(...runs.map((x) => x[k]));
    const slice = engine === 'wasm' ? 5 : 50;
    rows.push(`| ${engine} | ${fmt(best('loadMs'), 1)} (50) | ${fmt(best('firstMs'), 2)} (${slice}) | ${fmt(best('tokenMs'), 2)} (${slice}) | ${fmt(best('steadyMs'), 3)} (${slice}) |`);
  }
  return rows;
}

/** Table rows of bench/pull-counts.mjs's results. */
function pullCountRows(rows) {
  return rows.map((r) => `| ${r.way} | ${r.pulls} | ${r.counted} | ${fmt(r.perPull, 2)} |`);
}

/** bench/crossings.mjs's counts, one row per request kind. */
async function boundaryCrossings() {
  const r = await runAsync(NODE, [join(ROOT, 'bench', 'crossings.mjs')]);
  if (r.code !== 0) throw new Error(`crossings: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

async function main() {
  const started = new Date();
  if (process.env.BENCH_ONLY === 'esa-startup') {
    // Only the ESA start-up table, printed (needs no upstream).
    console.log((await esaStartup()).join('\n'));
    return;
  }
  if (process.env.BENCH_ONLY === 'pull-counts') {
    console.log(pullCountRows(await pullCounts()).join('\n'));
    return;
  }
  log(`seeding the upstream (library/tiny, a ${BLOB_MIB} MiB layer)`);
  const up = await startUpstream('bench-upstream');
  const images = await seedImages(up, { bigMiB: BLOB_MIB, only: ['library/tiny', 'library/big'] });
  const { hub: hubVars, baseline: baselineVars } = benchVars(up);
  const cacheVars = { ...hubVars, CACHE: 'on', TOKEN_SECRET: SECRET };
  if (process.env.BENCH_ONLY === 'alone') {
    // Only the worker-alone table, printed (results.md is left as it is).
    try {
      console.log(await workerAlone(up, { hub: hubVars, baseline: baselineVars }));
    } finally {
      await up.stop();
    }
    return;
  }
  const instructionTargets = () => {
    const list = [
      { key: 'worker', name: 'worker', vars: hubVars },
      { key: 'baseline', name: 'js-baseline', vars: baselineVars, script: join(ROOT, 'bench', 'baseline-worker.js'), baseline: true },
    ];
    if (process.env.BENCH_COMPARE) list.push({ key: 'compare', name: 'compare', vars: hubVars, script: process.env.BENCH_COMPARE });
    if (process.env.BENCH_BASELINE) list.push({ key: 'extra', name: process.env.BENCH_BASELINE_NAME || 'extra-baseline', vars: extraBaselineVars(up, baselineVars), script: process.env.BENCH_BASELINE });
    return chosenTargets(list);
  };
  if (process.env.BENCH_ONLY === 'instructions') {
    // Only the callgrind table, printed (results.md is left as it is).
    try {
      console.log(await instructions(instructionTargets()));
    } finally {
      await up.stop();
    }
    return;
  }
  if (process.env.BENCH_ONLY === 'esa-cpu') {
    // Only the ESA CPU table, printed (results.md is left as it is).
    try {
      console.log((await esaCpu(hubVars, cacheVars, images['library/big'].layers[0])).join('\n'));
    } finally {
      await up.stop();
    }
    return;
  }
  const alone = await workerAlone(up, { hub: hubVars, baseline: baselineVars }, { digest: images['library/big'].layers[0], mib: BLOB_MIB });
  const counted = await instructions(instructionTargets());
  log('starting the targets (wrangler dev)');
  const starts = [
    startWorkerd('bench-workerd', hubVars),
    startWorkerd('bench-workerd-cache', cacheVars),
    startEsaHost('bench-esa', hubVars),
    startEsaHost('bench-esa-wasm2js', hubVars, { wasm: false }),
    startWorkerd('bench-js-baseline', baselineVars, { script: join(ROOT, 'bench', 'baseline-worker.js') }),
  ];
  if (process.env.BENCH_BASELINE) starts.push(startWorkerd('bench-extra-baseline', extraBaselineVars(up, baselineVars), { script: process.env.BENCH_BASELINE }));
  const [workerd, workerdCache, esa, esaJs, baseline, extra] = await Promise.all(starts);
  const targets = [
    { name: 'direct', url: up.url, pgid: up.proc.pid, token: await up.upstreamToken('repository:library/tiny:pull') },
    { name: 'workerd', url: workerd.url, pgid: workerd.proc.pid },
    { name: 'workerd+cache', url: workerdCache.url, pgid: workerdCache.proc.pid, cached: true },
    { name: 'esa', url: esa.url, pgid: esa.proc.pid },
    { name: 'esa-wasm2js', url: esaJs.url, pgid: esaJs.proc.pid },
    { name: 'js-baseline', url: baseline.url, pgid: baseline.proc.pid },
  ];
  if (extra) targets.push({ name: process.env.BENCH_BASELINE_NAME || 'extra-baseline', url: extra.url, pgid: extra.proc.pid, extra: true });
  try {
    for (const t of targets) {
      t.token ??= await tokenFor(t.url, 'library/tiny');
      const manifest = `${t.url}/v2/library/tiny/manifests/latest`;
      const headers = { Authorization: `Bearer ${t.token}`, Accept: ACCEPT };
      for (let i = 0; i < 50; i++) await (await fetch(manifest, { headers })).arrayBuffer(); // warm up (and fill the cache)
      log(`${t.name}: manifest GET at concurrency 1 and 32`);
      t.c1 = await load(manifest, headers, 1, t.pgid);
      t.c32 = await load(manifest, headers, 32, t.pgid);
    }
    const layer = images['library/big'].layers[0];
    for (const t of targets) {
      if (t.name === 'esa-wasm2js' || t.extra) continue;
      log(`${t.name}: ${BLOB_MIB} MiB layer`);
      const token = t.name === 'direct' ? await up.upstreamToken('repository:library/big:pull') : await tokenFor(t.url, 'library/big');
      if (t.cached) await throughput(t.url, `/v2/library/big/blobs/${layer}`, token); // fill the cache
      t.blob = await throughput(t.url, `/v2/library/big/blobs/${layer}`, token);
    }
  } finally {
    await Promise.all([workerd, workerdCache, esa, esaJs, baseline, extra].filter(Boolean).map((r) => r.stop()));
  }
  let esaCpuRows;
  try {
    esaCpuRows = await esaCpu(hubVars, cacheVars, images['library/big'].layers[0]);
  } finally {
    await up.stop();
  }

  log('cold start');
  const cold = { wasm: await coldStart('wasm'), wasm2js: await coldStart('wasm2js') };
  log('ESA start-up');
  const startup = await esaStartup();
  log('counted upstream pulls per docker pull');
  const counts = pullCountRows(await pullCounts());
  log('boundary crossings');
  const crossings = await boundaryCrossings();
  const size = (f) => statSync(join(ROOT, f)).size;
  const gz = (f) => gzipSync(readFileSync(join(ROOT, f)), { level: 9 }).length;
  const sizes = {
    wasm: size('dist/wasm/proxy_bg.wasm'),
    wasmGz: gz('dist/wasm/proxy_bg.wasm'),
    esa: size('dist/esa/index.js'),
    esaGz: gz('dist/esa/index.js'),
    worker: size('dist/cloudflare/worker.js'),
  };
  const direct = targets[0];
  const base = targets.find((t) => t.name === 'js-baseline');
  const machine = `${cpus().length} × ${cpus()[0].model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform} ${process.arch}, Node ${process.version}`;
  const rows = targets.map(
    (t) =>
      `| ${t.name} | ${fmt(t.c1.p50, 2)} | ${fmt(t.c1.p99, 2)} | ${fmt(t.c1.rps, 0)} | ${fmt(t.c32.p50, 2)} | ${fmt(t.c32.p99, 2)} | ${fmt(t.c32.rps, 0)} | ${ratio(t.c32.rps, direct.c32.rps)} | ${ratio(t.c32.rps, base.c32.rps)} | ${fmt(t.c32.cpuMsPer1000, 0)} | ${ratio(t.c32.cpuMsPer1000, base.c32.cpuMsPer1000)} | ${fmt(Math.max(t.c1.peakRssMb, t.c32.peakRssMb), 0)} | ${t.blob ? fmt(t.blob, 0) : '–'} | ${t.blob ? ratio(t.blob, direct.blob) : '–'} |`,
  );
  const md = `# make bench results

Run: ${started.toISOString()} · machine: ${machine} · wrk ${DURATION}s per figure · layer ${BLOB_MIB} MiB.
Everything on one machine: the runtime, the upstream (distribution + token server + blob server) and
the load tool share its cores, so read **ratios**, not absolute numbers, and the spreads.

${alone}
${counted}
## Under \`wrangler dev\`: manifest GET (\`library/tiny:latest\`, authorized) and layer download

The whole local dev stack, as \`make dev\` runs it: wrangler's Node process, its proxying workerd
and logging wrapper are counted in the workerd rows' CPU and memory (~2 ms per request, the same
for ours and the baseline), which hides differences of a tenth of that: the table above measures
the worker alone. Kept for the cache (\`CACHE=on\` needs wrangler's cache) and latency
percentiles. One ${DURATION} s wrk sample per figure. ESA targets run in the local ESA host (Node 22).

| target | c=1 p50 ms | c=1 p99 ms | c=1 req/s | c=32 p50 ms | c=32 p99 ms | c=32 req/s | req/s vs direct | req/s vs JS baseline | CPU ms / 1000 req | CPU vs JS baseline | peak RSS MB | layer MiB/s | layer vs direct |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

- *direct*: the registry itself (CPU and RSS are distribution's). *workerd*, *esa*, *js-baseline*: a cold
  tag every time (each request goes upstream). *workerd+cache*: \`CACHE=on\`, manifests and the layer
  from the edge cache.
- CPU is user+system time of the runtime's whole process group over the c=32 run, per 1,000 requests.

## Size and cold start

| | bytes | gzipped |
|---|---|---|
| wasm (\`dist/wasm/proxy_bg.wasm\`, wasm-opt -Oz) | ${sizes.wasm} | ${sizes.wasmGz} |
| ESA bundle (\`dist/esa/index.js\`: wasm + wasm2js fallback) | ${sizes.esa} | ${sizes.esaGz} |
| Cloudflare \`worker.js\` (without the .wasm) | ${sizes.worker} | – |

| cold start (fresh Node 22 process, median of 5) | instantiate ms | first request ms |
|---|---|---|
| wasm | ${fmt(cold.wasm.instantiateMs, 2)} | ${fmt(cold.wasm.firstRequestMs, 2)} |
| wasm2js fallback | ${fmt(cold.wasm2js.instantiateMs, 2)} | ${fmt(cold.wasm2js.firstRequestMs, 2)} |

## Calls across the wasm<->JS boundary per request

Counted, not timed (\`bench/crossings.mjs\`): exact and the same on every run, so a change to the
binding shows here even where the CPU figures above cannot tell it from noise. Each call is a
trampoline, plus an encode or decode for text. In-memory Docker Hub upstream; the ping is
answered by the proxy itself once the upstream's scheme is known.

| request | status | wasm → JS | JS → wasm | wasm → JS by import |
|---|---|---|---|---|
${crossings.map((c) => `| ${c.request} | ${c.status} | ${c.wasmToJs} | ${c.jsToWasm} | ${Object.entries(c.byImport).map(([k, v]) => `${k} ${v}`).join(', ')} |`).join('\n')}

## Docker Hub pulls per docker pull

Docker Hub counts every GET of a manifest as a pull (10 an hour per address for anonymous
clients) and no HEAD. \`bench/pull-counts.mjs\`: docker (20.10) pulls \`library/tiny\` (its
local images pruned after each pull, so each asks again) from a registry behind Docker Hub's
accounting imitation, directly and through the worker in workerd.

| way | docker pulls | counted pulls | per docker pull |
|---|---|---|---|
${counts.join('\n')}

## ESA: start-up and requests against ESA's budgets

\`bench/esa-load.mjs\` in fresh Node 22 processes, best of 3: CPU ms of the bundle's load (its
global scope, warm-up included; ESA allows 50 ms), of the first request after it (docker's ping,
going upstream), of the token request after that, and per steady manifest GET; the budget in
brackets (the 5 ms slice with wasm; with wasm2js, the 50 ms slice the README tells its users to
pick). Node's fetch and text classes are loaded before the clock starts (native code on ESA); the
upstream is an in-memory fetch.

| engine | load ms | first request ms | token ms | steady ms |
|---|---|---|---|---|
${startup.join('\n')}

## ESA: CPU per request (5 ms slice)

The ESA bundle in the local ESA host with \`ESA_PROFILE=1\`: requests one at a time under the V8
profiler. *bundle* is the CPU of the bundle's own code (its JS and wasm, including any per-chunk
work while a body streams); *runtime* is Node's fetch and streams, which are native code on ESA
and run there outside the function's JS; *gc* is V8's collector. ESA charges the function's own
work against its slice (5 ms by default, 50 or 100 ms selectable); the target is *bundle + gc*
<= 2 ms for steady requests and <= 5 ms for the first one.

| engine | request | bundle ms | gc ms | runtime (Node) ms |
|---|---|---|---|---|
${esaCpuRows.join('\n')}

![results](results.svg)
`;
  writeFileSync(join(ROOT, 'bench', 'results.md'), md);
  writeFileSync(join(ROOT, 'bench', 'results.svg'), svg(targets));
  log('wrote bench/results.md and bench/results.svg');
  console.log(md);
}

/**
 * CPU per request in the profiling ESA host: the first request after load, then steady token,
 * manifest and layer requests, with CACHE=off and CACHE=on (miss, then hit), wasm and wasm2js.
 */
async function esaCpu(hubVars, cacheVars, layer) {
  const rows = [];
  for (const engine of ['wasm', 'wasm2js']) {
    for (const [label, vars] of [['CACHE=off', { ...hubVars, TOKEN_SECRET: SECRET }], ['CACHE=on', cacheVars]]) {
      log(`esa cpu: ${engine}, ${label}`);
      const host = await startEsaHost(`bench-esa-cpu-${engine}-${label.slice(6)}`, vars, { wasm: engine === 'wasm', env: { ESA_PROFILE: '1' } });
      try {
        const profiles = () => [...host.proc.log().matchAll(/esa-host: profile \S+ \S+ bundle=([\d.]+) node=([\d.]+) gc=([\d.]+) ms/g)];
        const init = /bundle loaded in ([\d.]+) ms/.exec(host.proc.log());
        const measure = async (path, headers = {}, n = 1) => {
          const out = [];
          for (let i = 0; i < n; i++) {
            const seen = profiles().length;
            const r = await fetch(`${host.url}${path}`, { headers });
            await r.arrayBuffer();
            if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
            for (let w = 0; w < 200 && profiles().length === seen; w++) await new Promise((res) => setTimeout(res, 10));
            const m = profiles()[seen];
            out.push({ bundle: Number(m[1]), node: Number(m[2]), gc: Number(m[3]) });
          }
          const median = (k) => out.map((o) => o[k]).sort((a, b) => a - b)[Math.floor(out.length / 2)];
          return { bundle: median('bundle'), node: median('node'), gc: median('gc') };
        };
        const row = (what, m) => rows.push(`| ${engine} | ${label}: ${what} | ${fmt(m.bundle, 2)} | ${fmt(m.gc, 2)} | ${fmt(m.node, 2)} |`);
        if (label === 'CACHE=off') rows.push(`| ${engine} | load (global scope, wall ms; limit 50) | ${init ? init[1] : '–'} | | |`);
        const tokenPath = (repo) => `/token?service=x&scope=${encodeURIComponent(`repository:${repo}:pull`)}`;
        const first = await measure(tokenPath('library/tiny'));
        if (label === 'CACHE=off') row('first request after load (token)', first);
        row('token', await measure(tokenPath('library/tiny'), {}, 5));
        const tiny = (await (await fetch(`${host.url}${tokenPath('library/tiny')}`)).json()).token;
        const big = (await (await fetch(`${host.url}${tokenPath('library/big')}`)).json()).token;
        const manifest = '/v2/library/tiny/manifests/latest';
        const mh = { authorization: `Bearer ${tiny}`, accept: ACCEPT };
        if (label === 'CACHE=on') {
          row('manifest, miss (fetch, verify, store)', await measure(manifest, mh));
          row('manifest, hit', await measure(manifest, mh, 5));
          const bh = { authorization: `Bearer ${big}` };
          row(`${BLOB_MIB} MiB layer, miss (streamed and stored)`, await measure(`/v2/library/big/blobs/${layer}`, bh));
          await new Promise((res) => setTimeout(res, 1000)); // the put finishes
          row(`${BLOB_MIB} MiB layer, hit`, await measure(`/v2/library/big/blobs/${layer}`, bh));
        } else {
          row('manifest', await measure(manifest, mh, 5));
          row(`${BLOB_MIB} MiB layer (redirect followed, streamed)`, await measure(`/v2/library/big/blobs/${layer}`, { authorization: `Bearer ${big}` }));
        }
      } finally {
        await host.stop();
      }
    }
  }
  return rows;
}

/** Two bar charts: manifest req/s at c=32, and layer MiB/s. */
function svg(targets) {
  const W = 760;
  const barH = 22;
  const chart = (title, items, y0, unit) => {
    const max = Math.max(...items.map((i) => i.v).filter(Number.isFinite), 1);
    let out = `<text x="10" y="${y0}" font-size="15" font-weight="bold">${title}</text>`;
    items.forEach((it, i) => {
      const y = y0 + 12 + i * (barH + 6);
      const w = Number.isFinite(it.v) ? ((W - 260) * it.v) / max : 0;
      out += `<text x="10" y="${y + 16}" font-size="13">${it.label}</text>`;
      out += `<rect x="140" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${it.label.startsWith('js') || it.extra ? '#e8a33d' : it.label === 'direct' ? '#888' : '#3d7be8'}"/>`;
      out += `<text x="${(146 + w).toFixed(1)}" y="${y + 16}" font-size="13">${Number.isFinite(it.v) ? it.v.toFixed(0) : '–'} ${unit}</text>`;
    });
    return { out, height: 12 + items.length * (barH + 6) + 30 };
  };
  const a = chart('Manifest GET, concurrency 32 (req/s, higher is better)', targets.map((t) => ({ label: t.name, v: t.c32.rps, extra: t.extra })), 24, 'req/s');
  const blobs = targets.filter((t) => t.blob);
  const b = chart('Layer download (MiB/s, higher is better)', blobs.map((t) => ({ label: t.name, v: t.blob })), 24 + a.height, 'MiB/s');
  const H = 24 + a.height + b.height;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${a.out}${b.out}</svg>\n`;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    killAll();
    process.exit(1);
  },
);

// The worker alone, against the plain-JS proxies it replaces: each in plain workerd (one process,
// no wrangler) and on the ESA host, driven by a client that pulls the way docker does, in
// repeated rounds. CPU is the runtime process's own (user + system), per pull and per manifest
// GET; medians with the spread (min–max) over the rounds, because this 2-core machine is noisy.
import { join } from 'node:path';
import { groupUsage, runAsync } from '../tests/e2e/harness/procs.mjs';
import { startEsaHost } from '../tests/e2e/harness/runtimes.mjs';
import { MANIFEST_ACCEPT as ACCEPT, chosenTargets, layerMiBs, parseWrk, settled } from './measure.mjs';
import { startPlainWorkerd } from './plain-workerd.mjs';
import { pull, pulls, tokenFor } from './pull-client.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const PULLS_C1 = Number(process.env.BENCH_PULLS || 40);
const PULLS_C32 = PULLS_C1 * 4;
const WRK_SECONDS = process.env.BENCH_SECONDS || '3';
const BASELINE = join(import.meta.dirname, 'baseline-worker.js');

const log = (...a) => console.log('[bench]', ...a);
const cpuOf = (t) => groupUsage(t.pgid).cpuSeconds * 1000;

/** The runtimes, each a `start()` giving `{ url, proc, stop }`; the registry itself is `direct`. */
function targets(up, vars) {
  const { hub, baseline } = vars;
  const list = [
    { name: 'worker · workerd', start: () => startPlainWorkerd('bench-alone-worker', hub) },
    { name: 'js-baseline · workerd', start: () => startPlainWorkerd('bench-alone-baseline', baseline, { script: BASELINE }), baseline: true },
    { name: 'worker · esa host', start: () => startEsaHost('bench-alone-esa', hub), esa: true },
    { name: 'js-baseline · esa host', start: () => startEsaHost('bench-alone-esa-baseline', baseline, { bundle: BASELINE, call: 'env-first', env: { ESA_VARS: Object.keys(baseline).join(',') } }), esa: true, baseline: true },
  ];
  if (process.env.BENCH_BASELINE) {
    const script = process.env.BENCH_BASELINE;
    list.push({ name: `${process.env.BENCH_BASELINE_NAME || 'extra-baseline'} · workerd`, start: () => startPlainWorkerd('bench-alone-extra', extraBaselineVars(up, baseline), { script }), baseline: true });
  }
  if (process.env.BENCH_COMPARE) {
    // Another build of ours (e.g. release/cloudflare/worker.js, the committed one): A/B in one run.
    const script = process.env.BENCH_COMPARE;
    list.push({ name: 'compare · workerd', start: () => startPlainWorkerd('bench-alone-compare', hub, { script }) });
  }
  const all = [{ name: 'direct (registry)', direct: true, start: async () => ({ url: up.url, proc: up.proc, stop: async () => {} }) }, ...list];
  return chosenTargets(all);
}

/**
 * BENCH_BASELINE's vars: BENCH_BASELINE_VARS='{"MODE":"debug","TARGET_UPSTREAM":"{upstream}"}'
 * ({upstream}: the local registry's URL), by default the built-in baseline's.
 */
export function extraBaselineVars(up, baseline) {
  const own = process.env.BENCH_BASELINE_VARS;
  return own ? JSON.parse(own.replaceAll('{upstream}', up.url)) : baseline;
}

/** Runs `work` and returns its result with the target's CPU ms over it. */
async function withCpu(t, work) {
  const before = cpuOf(t);
  const result = await work();
  return { result, cpuMs: cpuOf(t) - before };
}

async function wrkCpuPerRequest(t, token) {
  const args = ['-t', '2', '-c', '32', '-d', `${WRK_SECONDS}s`, '-H', `Authorization: Bearer ${token}`, '-H', `Accept: ${ACCEPT}`];
  const { result: r, cpuMs } = await withCpu(t, () => runAsync('wrk', [...args, `${t.url}/v2/library/tiny/manifests/latest`], { timeout: 60000 }));
  const w = parseWrk(r.stdout);
  if (!w.requests || w.errors) throw new Error(`${t.name}: wrk: ${r.stdout}${r.stderr}`);
  return { cpuMs: cpuMs / w.requests, rps: w.rps };
}

/** One round on a running target: pulls at c=1 and c=32, then the manifest-GET loop. */
async function round(t, up) {
  const c1 = await withCpu(t, async () => {
    const walls = [];
    for (let i = 0; i < PULLS_C1; i++) {
      const t0 = performance.now();
      await pull(t.url, 'library/tiny', 'latest');
      walls.push(performance.now() - t0);
    }
    return walls.sort((a, b) => a - b)[walls.length >> 1];
  });
  const c32 = await withCpu(t, () => pulls(t.url, 'library/tiny', 'latest', { count: PULLS_C32, conns: 32 }));
  const manifest = await wrkCpuPerRequest(t, await tokenFor(t.url, 'library/tiny'));
  return {
    pullCpuC1: c1.cpuMs / PULLS_C1,
    pullWallC1: c1.result,
    pullCpuC32: c32.cpuMs / PULLS_C32,
    manifestCpu: manifest.cpuMs,
    manifestRps: manifest.rps,
  };
}

/** The first request after start (docker's ping): wall and CPU ms, on a fresh process each time. */
async function firstRequest(t) {
  const r = await t.start();
  try {
    await settled(r.proc.pid); // start-up work done; what follows is the request's own
    const t0 = performance.now();
    await (await fetch(`${r.url}/v2/`)).arrayBuffer();
    return { wallMs: performance.now() - t0 };
  } finally {
    await r.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const spread = (xs, d) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

/**
 * `ours ÷ theirs` per round (round i of each ran back to back), as the median with (min–max):
 * pairing cancels what drifts between rounds on this shared machine, which a ratio of the two
 * medians keeps.
 */
export function pairedRatio(ours, theirs) {
  const ratios = ours.map((x, i) => x / theirs[i]).filter(Number.isFinite);
  return ratios.length ? `${spread(ratios, 2).replace(/^([\d.]+)/, '$1×')}` : '–';
}

/**
 * Measures every target; returns markdown. Rounds interleave the targets (round 1 of each, then
 * round 2...) so a burst of noise on the machine falls on all of them rather than on one.
 */
export async function workerAlone(up, vars, layer = null) {
  const all = targets(up, vars);
  const running = [];
  try {
    for (const t of all) {
      const r = await t.start();
      running.push(r);
      Object.assign(t, { url: r.url, pgid: r.proc.pid, rounds: [] });
      await pulls(t.url, 'library/tiny', 'latest', { count: 20, conns: 4 }); // warm up
    }
    for (let i = 1; i <= ROUNDS; i++) {
      for (const t of all) {
        log(`worker alone: round ${i}/${ROUNDS}: ${t.name}`);
        t.rounds.push(await round(t, up));
      }
    }
    if (layer) {
      for (const t of all) {
        log(`worker alone: ${layer.mib} MiB layer: ${t.name}`);
        t.layer = await layerMiBs(t.url, `/v2/library/big/blobs/${layer.digest}`, await tokenFor(t.url, 'library/big'), layer.mib);
      }
    }
  } finally {
    await Promise.all(running.map((r) => r.stop()));
  }
  // Interleaved like the rounds, and at least 5: the request takes ~5 ms, mostly the upstream's
  // and the runtime's, so noise swings the ratio (0.87x and 1.36x in two runs of the same builds).
  const starters = all.filter((x) => !x.direct);
  for (const t of starters) t.first = [];
  for (let i = 1; i <= Math.max(ROUNDS, 5); i++) {
    for (const t of starters) {
      log(`worker alone: first request after start ${i}: ${t.name}`);
      t.first.push(await firstRequest(t));
    }
  }
  return report(all, layer);
}

function report(all, layer) {
  const col = (t, k) => t.rounds.map((r) => r[k]);
  const peer = (t) => all.find((x) => x.baseline && !!x.esa === !!t.esa && x.name.startsWith('js-baseline'));
  const vs = (t, k) => {
    const p = peer(t);
    return t.direct || t === p || !p ? '–' : pairedRatio(col(t, k), col(p, k));
  };
  const direct = all.find((t) => t.direct);
  const layerCells = (t) => (layer ? ` ${t.layer.toFixed(0)} | ${direct ? (t.layer / direct.layer).toFixed(2) : '–'}× |` : '');
  const rows = all.map(
    (t) =>
      `| ${t.name} | ${spread(col(t, 'pullCpuC1'), 2)} | ${vs(t, 'pullCpuC1')} | ${spread(col(t, 'pullCpuC32'), 2)} | ${vs(t, 'pullCpuC32')} | ${spread(col(t, 'manifestCpu'), 3)} | ${vs(t, 'manifestCpu')} | ${spread(col(t, 'manifestRps'), 0)} | ${spread(col(t, 'pullWallC1'), 1)} |${layerCells(t)}`,
  );
  const layerHead = layer ? ` ${layer.mib} MiB layer MiB/s (best of 3) | vs direct |` : '';
  const layerRule = layer ? '---|---|' : '';
  const firstRows = all
    .filter((t) => t.first)
    .map((t) => {
      const p = peer(t);
      const ratio = t === p || !p ? '–' : pairedRatio(t.first.map((f) => f.wallMs), p.first.map((f) => f.wallMs));
      return `| ${t.name} | ${spread(t.first.map((f) => f.wallMs), 1)} | ${ratio} |`;
    });
  return `## The worker alone: docker-like pulls in plain workerd and on the ESA host

${ROUNDS} rounds, targets interleaved; each figure is the median over the rounds with (min–max).
A *pull* is what docker does for \`library/tiny:latest\`: ping, 401, token from the challenge's
realm, HEAD the tag, GET the manifest by digest, GET the config and the layer (a blob redirect
followed without Authorization). ${PULLS_C1} pulls one at a time, then ${PULLS_C32} by 32 clients
at once; then wrk GETs the manifest for ${WRK_SECONDS} s at c=32. CPU is the runtime process's own
(workerd: the one process, no wrangler; ESA host: its Node process, whose fetch and streams are
native code on ESA). *direct* is the registry itself (distribution's CPU). Ratios are against the
plain-JS proxy (\`bench/baseline-worker.js\`) in the same runtime, taken round by round (each
round of a target ran right after the same round of the other): the median of those with (min–max).

| target | CPU ms / pull, c=1 | vs JS | CPU ms / pull, c=32 | vs JS | CPU ms / manifest GET | vs JS | manifest GET req/s | pull wall ms, c=1 |${layerHead}
|---|---|---|---|---|---|---|---|---|${layerRule}
${rows.join('\n')}

First request after start (docker's ping \`GET /v2/\`, which goes upstream), a fresh process each
of ${Math.max(ROUNDS, 5)} times, targets interleaved; wall time (its CPU is below /proc's 10 ms tick); ratios start
by start:

| target | wall ms | vs JS |
|---|---|---|
${firstRows.join('\n')}
`;
}

// Measurements shared by the bench's tables: wrk's output, layer download speed, start-up done.
import { readFileSync } from 'node:fs';
import { runAsync, sleep } from '../tests/e2e/harness/procs.mjs';

/** Best of three: MiB/s for GETting `path` (curl follows redirects without re-sending Authorization). */
export async function layerMiBs(base, path, token, mib) {
  const speeds = [];
  for (let i = 0; i < 3; i++) {
    const r = await runAsync('curl', ['-sS', '-L', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', '-H', `Authorization: Bearer ${token}`, `${base}${path}`], { timeout: 120000 });
    const [speed, size] = r.stdout.trim().split(' ').map(Number);
    // The layer is a gzipped tar of `mib` random MiB: a little larger than that, never smaller.
    if (r.code !== 0 || !(size >= mib * 1024 * 1024)) throw new Error(`download via ${base}: ${r.stderr} ${r.stdout}`);
    speeds.push(speed / (1024 * 1024));
  }
  return Math.max(...speeds);
}

/**
 * The configuration of each kind of target against the bench's upstream: ours (`hub`: LOG=errors,
 * the production default; the harness logs everything for tests) and the built-in plain-JS
 * baseline, which takes its upstream as three variables.
 */
export function benchVars(up) {
  return {
    hub: { UPSTREAM: `docker.io@${up.url}`, LOG: 'errors' },
    baseline: { UPSTREAM_URL: up.url, UPSTREAM_REALM: `${up.tokenUrl}/token`, UPSTREAM_SERVICE: 'test-registry' },
  };
}

/** What docker-like clients accept for a single-platform manifest (the bench's manifest GETs). */
export const MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

/** wrk's `--latency` output: p50/p99 ms, req/s, request and non-2xx counts. */
export function parseWrk(out) {
  const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit] ?? 1);
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const reqs = /(\d+) requests in/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return { p50: pct(50), p99: pct(99), rps: rps ? Number(rps[1]) : NaN, requests: reqs ? Number(reqs[1]) : 0, errors: non2xx ? Number(non2xx[1]) : 0 };
}

/** BENCH_TARGETS=worker,js: only the targets whose name contains one of these (quick A/B runs). */
export function chosenTargets(list) {
  const only = (process.env.BENCH_TARGETS || '').split(',').filter(Boolean);
  return only.length ? list.filter((t) => only.some((o) => t.name.includes(o))) : list;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until the process has used no CPU for a second: workerd listens before it has compiled
 * the worker and run its global scope (under valgrind, many seconds). Until 2026-11-24 a fixed
 * wait let that start-up (for ours: the wasm compile and the warm-up at load, ~97 M
 * instructions) be counted as the first request's (bench/instructions.mjs).
 */
export async function settled(pid, limitMs = 300000) {
  const deadline = Date.now() + limitMs;
  let last = cpuSeconds(pid);
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still busy after ${limitMs} ms`);
    await sleep(500);
    const now = cpuSeconds(pid);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

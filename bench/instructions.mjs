// Instructions per request, counted by valgrind (callgrind) in plain workerd: the same count on
// every run, where CPU time on this shared 2-core machine swings by 10-20 % between runs and
// hides the few percent a change makes. Every target runs the same sequences under callgrind:
// the first request after start (docker's ping, which goes upstream), then, after a warm-up,
// manifest GETs one at a time and whole docker-like pulls. Counters are zeroed before and read
// after each sequence (`callgrind_control`), so start-up and warm-up are not in them.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, sleep } from '../tests/e2e/harness/procs.mjs';
import { MANIFEST_ACCEPT as ACCEPT, settled } from './measure.mjs';
import { startPlainWorkerd } from './plain-workerd.mjs';
import { pull, requestKinds, tokenFor } from './pull-client.mjs';

const MANIFEST_GETS = Number(process.env.BENCH_INSTR_GETS || 200);
const PULLS = Number(process.env.BENCH_INSTR_PULLS || 20);
const KIND_COUNT = Number(process.env.BENCH_INSTR_KIND_COUNT || 60);
// Warm-up before anything is counted. V8 optimizes a function once it has run enough of its
// bytecode: the plain-JS proxies' one handler gets there in a few requests, our glue's many small
// functions (a few calls each per request) only after ~300-1,000 requests, the token and blob
// paths later still. With 300 manifest GETs and 5 pulls, as until 2026-11-24, the counted
// window held those compilations (--trace-opt; in callgrind's profile ~50 k instructions per
// manifest GET of Maglev, and one TurboFan compile of 17.7 M in 20 pulls): 863 k per manifest
// GET where the steady state is ~770-785 k. After these, no compiler function is in the profile.
const WARMUP = Number(process.env.BENCH_INSTR_WARMUP || 2000);
const WARMUP_PULLS = Number(process.env.BENCH_INSTR_WARMUP_PULLS || 150);
const log = (...a) => console.log('[bench]', ...a);

const valgrind = (dir) => ['valgrind', '--tool=callgrind', '--smc-check=all', `--callgrind-out-file=${join(dir, 'callgrind.out')}`];
// V8 on one thread: compiling and GC happen at the same points of every run. With its background
// threads, which valgrind runs one at a time, when a function got optimized varied from run to
// run and our per-request count with it (1.05-2.64 M instructions per manifest GET in five runs;
// the plain-JS proxy's stayed at 0.60 M). On one thread V8 does not tier wasm up from its
// baseline compiler (Liftoff), as it does in the background in production: the steady-state
// sequences run with the optimizing compiler only (0.96 M per manifest GET instead of 1.20 M);
// the first request, in a process of its own, with the tiers a fresh isolate starts with.
const V8_FIRST = '--single-threaded';
const V8_STEADY = '--single-threaded --no-liftoff';

/** The callgrind run serving `dir`'s config (valgrind may fork before it execs: find it by name). */
async function callgrindPid(dir) {
  const r = await runAsync('callgrind_control', []);
  const line = r.stdout.split('\n').find((l) => l.includes(join(dir, 'config.capnp')));
  const pid = line && /^PID (\d+):/.exec(line)?.[1];
  if (!pid) throw new Error(`no callgrind run for ${dir}: ${r.stdout}${r.stderr}`);
  return pid;
}

/** Instructions since the last zeroing, all threads. */
async function counters(pid) {
  const r = await runAsync('callgrind_control', ['-e', 'Ir', pid]);
  const threads = [...r.stdout.matchAll(/Th\s+(\d+)\s+([\d,]+)/g)].map((m) => Number(m[2].replaceAll(',', '')));
  if (!threads.length) throw new Error(`callgrind_control -e: ${r.stdout}${r.stderr}`);
  return threads.reduce((a, b) => a + b, 0);
}

async function counted(pid, work) {
  const z = await runAsync('callgrind_control', ['-z', pid]);
  if (z.code !== 0) throw new Error(`callgrind_control -z: ${z.stderr}`);
  await work();
  return counters(pid);
}

// BENCH_INSTR_PROFILE=dir: also keep callgrind's profile of each counted window per target
// (of a request kind's three, the last), for `callgrind_annotate` (workerd is not stripped: the runtime's and V8's functions are named;
// JIT-compiled JS and wasm show as addresses).
async function profileDump(pid, dir, t, what) {
  const keep = process.env.BENCH_INSTR_PROFILE;
  if (!keep) return;
  const d = await runAsync('callgrind_control', ['-d', pid]);
  if (d.code !== 0) throw new Error(`callgrind_control -d: ${d.stderr}`);
  await sleep(500);
  const dumps = readdirSync(dir).filter((f) => f.startsWith('callgrind.out.')).sort();
  if (!dumps.length) throw new Error(`no callgrind dump in ${dir}`);
  mkdirSync(keep, { recursive: true });
  copyFileSync(join(dir, dumps.at(-1)), join(keep, `${t.key}-${what}.callgrind`));
}

const underCallgrind = (t, v8Flags) => startPlainWorkerd(`instr-${t.key}`, t.vars, { script: t.script, wrap: valgrind, readyMs: 180000, v8Flags });

async function firstRequest(t) {
  const w = await underCallgrind(t, V8_FIRST);
  try {
    const pid = await callgrindPid(w.dir);
    await settled(pid); // start-up work (compile, global scope, the warm-up) done
    const n = await counted(pid, async () => {
      const r = await fetch(`${w.url}/v2/`);
      await r.arrayBuffer();
      if (r.status !== 401) throw new Error(`${t.name}: first ping answered ${r.status}`);
    });
    await profileDump(pid, w.dir, t, 'first-request');
    return n;
  } finally {
    await w.stop();
  }
}

async function measure(t) {
  const first = await firstRequest(t);
  const w = await underCallgrind(t, V8_STEADY);
  try {
    const pid = await callgrindPid(w.dir);
    const token = await tokenFor(w.url, 'library/tiny');
    const headers = { authorization: `Bearer ${token}`, accept: ACCEPT };
    const getManifests = async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${w.url}/v2/library/tiny/manifests/latest`, { headers });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${t.name}: manifest GET answered ${r.status}`);
      }
    };
    // Warm-up: V8 tiers code up by how often it runs, the same under callgrind.
    await getManifests(WARMUP);
    for (let i = 0; i < WARMUP_PULLS; i++) await pull(w.url, 'library/tiny', 'latest');
    const manifest = await counted(pid, () => getManifests(MANIFEST_GETS));
    await profileDump(pid, w.dir, t, 'manifest');
    const pulls = await counted(pid, async () => {
      for (let i = 0; i < PULLS; i++) await pull(w.url, 'library/tiny', 'latest');
    });
    await profileDump(pid, w.dir, t, 'pull');
    // Each kind of request of a pull counted apart: where a difference per pull comes from.
    // The least of three windows: a full collection landing in a window of a hundred requests
    // adds up to ~200 k to each (seen: the plain-JS proxy's manifest GET at 809 k, 599 k in the
    // sequence above); the sequences above keep the collector's share.
    const kinds = {};
    for (const [kind, once] of Object.entries(await requestKinds(w.url, 'library/tiny', 'latest'))) {
      const windows = [];
      for (let n = 0; n < 3; n++) {
        windows.push(
          (await counted(pid, async () => {
            for (let i = 0; i < KIND_COUNT; i++) await once();
          })) / KIND_COUNT,
        );
      }
      kinds[kind] = Math.min(...windows);
      await profileDump(pid, w.dir, t, kind.replace(/\W+/g, '-'));
    }
    return { first, manifest: manifest / MANIFEST_GETS, pull: pulls / PULLS, kinds };
  } finally {
    await w.stop();
  }
}

/** `targets`: `{ key, name, script, vars, baseline }`; returns markdown. */
export async function instructions(targets) {
  for (const t of targets) {
    log(`instructions (callgrind): ${t.name}`);
    t.instr = await measure(t);
  }
  const base = targets.find((t) => t.baseline);
  const k = (v) => `${(v / 1000).toFixed(0)}k`;
  const vs = (t, key) => (t === base || !base ? '–' : `${(t.instr[key] / base.instr[key]).toFixed(2)}×`);
  const rows = targets.map((t) => `| ${t.name} | ${k(t.instr.pull)} | ${vs(t, 'pull')} | ${k(t.instr.manifest)} | ${vs(t, 'manifest')} | ${k(t.instr.first)} | ${vs(t, 'first')} |`);
  const kindNames = Object.keys(targets[0].instr.kinds);
  const kindRows = targets.map((t) => `| ${t.name} | ${kindNames.map((n) => `${k(t.instr.kinds[n])} | ${base && t !== base ? `${(t.instr.kinds[n] / base.instr.kinds[n]).toFixed(2)}×` : '–'}`).join(' | ')} |`);
  return `## Instructions per request (callgrind, plain workerd)

The same sequences counted by valgrind instead of timed (\`bench/instructions.mjs\`): counts
that repeat from run to run (each kind of request below within 0.1–0.3 %; the sequences, which
hold the collector's work, within ~8 %), so they show what CPU figures on this machine cannot.
User-space instructions of the workerd process (the worker's JS and wasm, the runtime's HTTP and
fetch; not the kernel's networking), V8 on one thread so that it compiles and collects at the same
points every run, optimizing compiler only for the steady state (production tiers wasm up in the
background), the first request in a fresh process with V8's start-up tiers. Instructions are not
time: the runtime's and the kernel's share of a request is the same for every target, so these
ratios are larger than the CPU ratios above. ${MANIFEST_GETS} manifest GETs one at a time after a
warm-up of ${WARMUP} and ${WARMUP_PULLS} pulls (V8 has then optimized what it will: no compiler in
the profile); ${PULLS} docker-like pulls; the first request after start (the ping, which goes
upstream), counted once the process is idle: the worker compiled and its global scope (for ours,
the warm-up) run. Ratios against the plain-JS proxy.

| target | per pull | vs JS | per manifest GET | vs JS | first request | vs JS |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Each kind of request of a pull apart (after the sequences above, the least of three windows of
${KIND_COUNT}: without the collector's share, which the sequences above hold; the blob's redirect
followed as docker does):

| target | ${kindNames.map((n) => `${n} | vs JS`).join(' | ')} |
|---|${kindNames.map(() => '---|---|').join('')}
${kindRows.join('\n')}
`;
}

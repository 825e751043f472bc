// Counted upstream pulls per docker pull (Docker Hub counts every GET of a manifest; HEADs are
// free): docker pulling from the registry directly, through the proxy in pass-through, and with
// CACHE=on cold and warm after the tag's TTL. The registry sits behind Docker Hub's accounting
// imitation (tests/e2e/harness/hub-limits.mjs) with a limit no run reaches. Bounded, loopback.
// usage: node bench/pull-counts.mjs   -> one JSON line per way: {way, pulls, counted, perPull}
import { startDockerd } from '../tests/e2e/harness/engines.mjs';
import { startHubLimits } from '../tests/e2e/harness/hub-limits.mjs';
import { seedImages } from '../tests/e2e/harness/images.mjs';
import { killAll, sleep } from '../tests/e2e/harness/procs.mjs';
import { startWorkerd } from '../tests/e2e/harness/runtimes.mjs';
import { startUpstream } from '../tests/e2e/harness/upstream.mjs';

const PULLS = Number(process.env.PULL_COUNTS_N || 5);
const TTL = 2;

export async function pullCounts() {
  const up = await startUpstream('bench-pull-counts');
  const stops = [() => up.stop()];
  try {
    await seedImages(up, { bigMiB: 1, only: ['library/tiny'] });
    const hub = await startHubLimits(up.url, { anonymous: 1e9 });
    stops.push(() => hub.stop());
    const vars = { UPSTREAM: `docker.io@${hub.url}`, LOG: 'errors' };
    const [pass, cache, docker] = await Promise.all([
      startWorkerd('bench-pull-counts-pass', vars),
      startWorkerd('bench-pull-counts-cache', { ...vars, CACHE: 'on', CACHE_TAG_TTL: String(TTL), TOKEN_SECRET: 'bench-pull-counts-0123456789abcdef' }),
      startDockerd('bench-pull-counts-docker'),
    ]);
    stops.push(() => pass.stop(), () => cache.stop(), () => docker.stop());
    const counted = () => [...hub.pulls.values()].reduce((a, b) => a + b, 0);
    const pulls = async (host, n, { wait = 0 } = {}) => {
      const before = counted();
      for (let i = 0; i < n; i++) {
        if (wait) await sleep(wait);
        const r = await docker.docker('pull', `${host}/library/tiny:latest`);
        if (r.code !== 0) throw new Error(`docker pull ${host}: ${r.stderr}`);
        await docker.docker('image', 'prune', '-af'); // the next pull asks for the manifest again
      }
      return counted() - before;
    };
    const rows = [];
    const row = (way, n, c) => rows.push({ way, pulls: n, counted: c, perPull: c / n });
    row('direct', PULLS, await pulls(`127.0.0.1:${hub.port}`, PULLS));
    row('proxy, pass-through', PULLS, await pulls(`127.0.0.1:${pass.port}`, PULLS));
    const host = `127.0.0.1:${cache.port}`;
    row('proxy, CACHE=on, cold', 1, await pulls(host, 1));
    row(`proxy, CACHE=on, warm, each after the ${TTL}s tag TTL`, PULLS, await pulls(host, PULLS, { wait: TTL * 1000 + 200 }));
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    for (const r of await pullCounts()) console.log(JSON.stringify(r));
  } finally {
    killAll();
  }
}

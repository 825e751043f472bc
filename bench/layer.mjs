// Layer download speed, shared by the bench's tables.
import { runAsync } from '../tests/e2e/harness/procs.mjs';

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

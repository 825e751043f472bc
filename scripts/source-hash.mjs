// The hash of everything a build is made from: the crate, its lockfile, the JS entries and
// shim, the bundle script and the npm lockfile. Recorded in release/MANIFEST.json, shown by
// /version and the landing page, so a deployed file can be traced to its source.
// usage: node scripts/source-hash.mjs   -> 16 hex digits
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir, keep) {
  const out = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...walk(rel, keep));
    else if (keep(rel)) out.push(rel);
  }
  return out;
}

export function sourceFiles() {
  return [
    ...walk('src', (f) => f.endsWith('.rs')),
    ...walk('js-shim', (f) => f.endsWith('.js')),
    'Cargo.toml',
    'Cargo.lock',
    'cloudflare/worker.js',
    'esa/entry.js',
    'esa/config.js',
    'esa/base64.wat',
    'scripts/bundle.mjs',
    'package-lock.json',
  ].sort();
}

export function sourceHash() {
  const h = createHash('sha256');
  for (const f of sourceFiles()) {
    h.update(relative('.', f));
    h.update('\0');
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(sourceHash());

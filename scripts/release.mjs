// `make release`: copies the built files into release/ (committed, for people who deploy with a
// browser) and writes release/MANIFEST.json: version, the source hash they were built from, and
// each file's size and sha256 (the ESA bundle's hash leaves out its CONFIG block, which users
// edit). `node scripts/release.mjs --check` verifies instead: fails when the sources changed
// since (run `make release`) or a release file was altered outside its CONFIG block.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceHash } from './source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RELEASE = join(root, 'release');

/** dist path -> release path */
export const FILES = {
  'dist/esa/index.js': 'esa/index.js',
  'dist/cloudflare/worker.js': 'cloudflare/worker.js',
  'dist/cloudflare/proxy_bg.wasm': 'cloudflare/proxy_bg.wasm',
  'dist/pages/_worker.js/index.js': 'pages/_worker.js/index.js',
  'dist/pages/_worker.js/proxy_bg.wasm': 'pages/_worker.js/proxy_bg.wasm',
};

const CONFIG_BLOCK = /const CONFIG = \{[\s\S]*?\n\};/;

/** sha256 of a release file; for the ESA bundle, with its CONFIG block blanked. */
export function contentHash(rel, bytes) {
  let data = bytes;
  if (rel === 'esa/index.js') {
    const text = bytes.toString('utf8');
    if (!CONFIG_BLOCK.test(text)) throw new Error('esa/index.js: no CONFIG block');
    data = Buffer.from(text.replace(CONFIG_BLOCK, 'const CONFIG = {};'));
  }
  return createHash('sha256').update(data).digest('hex');
}

// release/ is a Workers project of its own: `wrangler deploy --config release/wrangler.toml`
// from a clone, or the Deploy to Cloudflare button, which clones release/ as a repository root.
const WRANGLER_TOML = `# Cloudflare Workers without building: npx wrangler deploy --config release/wrangler.toml
# (or the Deploy to Cloudflare button with this folder's address; see README)
# (config keys as [vars] below or in the dashboard; secrets: npx wrangler secret put TOKEN_SECRET)
name = "edge-registry-proxy"
main = "cloudflare/worker.js"
compatibility_date = "2026-11-01"

[vars]
UPSTREAM = "https://registry-1.docker.io"
`;

function version() {
  return /^version = "(.*)"$/m.exec(readFileSync(join(root, 'Cargo.toml'), 'utf8'))[1];
}

function write() {
  rmSync(RELEASE, { recursive: true, force: true });
  const files = {};
  for (const [from, to] of Object.entries(FILES)) {
    mkdirSync(dirname(join(RELEASE, to)), { recursive: true });
    copyFileSync(join(root, from), join(RELEASE, to));
    const bytes = readFileSync(join(RELEASE, to));
    files[to] = { bytes: bytes.length, sha256: contentHash(to, bytes) };
  }
  const manifest = { name: 'edge-registry-proxy', version: version(), source: sourceHash(), files };
  writeFileSync(join(RELEASE, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(RELEASE, 'wrangler.toml'), WRANGLER_TOML);
  const rows = Object.entries(files).map(([f, x]) => `| \`${f}\` | ${x.bytes} | \`${x.sha256}\` |`);
  writeFileSync(
    join(RELEASE, 'README.md'),
    `# Release ${manifest.version} · source ${manifest.source}

Built by \`make release\` from the sources with that hash (\`node scripts/source-hash.mjs\`);
\`make test\` fails if they no longer match. 由 \`make release\` 从上述源码构建。

| file | bytes | sha256 (ESA: with the CONFIG block blanked) |
|---|---|---|
${rows.join('\n')}

- **ESA / 阿里云 ESA**: open \`esa/index.js\`, copy all, edit only the \`CONFIG\` block at the top,
  paste into the function editor. 打开 \`esa/index.js\`，全选复制，只改顶部 \`CONFIG\`，粘贴到函数编辑器。
- **Cloudflare Pages**: fork the repository, connect it in Pages, build command empty, output
  directory \`release/pages\`. 构建命令留空，输出目录 \`release/pages\`。
- **Cloudflare Workers**: \`npx wrangler deploy --config release/wrangler.toml\` (no Rust needed),
  or with only a browser: open \`https://deploy.workers.cloudflare.com/?url=<this repository's
  GitHub address>/tree/main/release\` (Deploy to Cloudflare: it copies this folder into a new
  repository of yours and deploys it, no build). 只有浏览器时用上面的 Deploy to Cloudflare 链接。
`,
  );
  console.log(`release: ${Object.keys(files).length} files, source ${manifest.source}`);
}

export function check(dir = RELEASE) {
  const problems = [];
  const path = join(dir, 'MANIFEST.json');
  if (!existsSync(path)) return ['release/MANIFEST.json is missing: run `make release`'];
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const current = sourceHash();
  if (manifest.source !== current) {
    problems.push(`release/ was built from source ${manifest.source}, the tree is ${current}: run \`make release\` and commit release/`);
  }
  const toml = join(dir, 'wrangler.toml');
  if (!existsSync(toml) || readFileSync(toml, 'utf8') !== WRANGLER_TOML) {
    problems.push('release/wrangler.toml differs from what make release wrote: run `make release`');
  }
  for (const [f, want] of Object.entries(manifest.files)) {
    const p = join(dir, f);
    if (!existsSync(p)) {
      problems.push(`release/${f} is missing`);
      continue;
    }
    let got;
    try {
      got = contentHash(f, readFileSync(p));
    } catch (e) {
      problems.push(`release/${f}: ${e.message}`);
      continue;
    }
    if (got !== want.sha256) problems.push(`release/${f} differs from what make release wrote (edited outside its CONFIG block, or corrupted)`);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const problems = check(process.argv[process.argv.indexOf('--check') + 1] || RELEASE);
    for (const p of problems) console.error(`release: ${p}`);
    process.exit(problems.length ? 1 : 0);
  }
  write();
}

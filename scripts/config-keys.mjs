// The configuration keys, as listed in the ESA CONFIG block (the same list the core accepts; a
// native test keeps the two equal). Run directly, prints them one per line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function configKeys() {
  const text = readFileSync(new URL('../esa/config.js', import.meta.url), 'utf8');
  const keys = [...text.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]);
  return [...keys, 'WHITE_LIST']; // documented alias of USER_WHITELIST, not listed twice
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(configKeys().join('\n'));

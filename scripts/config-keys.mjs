// Prints the configuration keys, one per line, as listed in the ESA CONFIG block (the same
// list the core accepts; a native test keeps the two equal).
import { readFileSync } from 'node:fs';

const text = readFileSync(new URL('../esa/config.js', import.meta.url), 'utf8');
const keys = [...text.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]);
console.log([...keys, 'WHITE_LIST'].join('\n'));

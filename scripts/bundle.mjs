// Builds the JavaScript deliverables from dist/wasm (wasm-bindgen output, already wasm-opt'ed):
//   dist/cloudflare/worker.js + proxy_bg.wasm    (wrangler deploy, root wrangler.toml)
//   dist/pages/_worker.js/index.js + proxy_bg.wasm (Cloudflare Pages advanced mode)
//   dist/esa/index.js                             (ONE file for the ESA console: CONFIG on top,
//                                                  wasm embedded, wasm2js fallback inside)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { sourceHash } from './source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const p = (...a) => join(root, ...a);
const wasmPath = p('dist/wasm/proxy_bg.wasm');
const version = /^version = "(.*)"$/m.exec(readFileSync(p('Cargo.toml'), 'utf8'))[1];
// First line of every bundle: which build this is (the same source hash /version shows).
const header = `// edge-registry-proxy ${version} · source ${sourceHash()} (release/MANIFEST.json: the files of a release)`;

function wasm2jsFactory() {
  const raw = p('dist/esa-gen/asm.raw.js');
  execFileSync(process.execPath, [p('node_modules/binaryen/bin/wasm2js'), '--enable-bulk-memory', '-Oz', wasmPath, '-o', raw], {
    stdio: 'inherit',
  });
  let js = readFileSync(raw, 'utf8');
  // wasm2js emits an ES module that imports the glue and instantiates at load. We want a
  // factory taking the same imports object, kept as TEXT: a string literal costs the load a
  // scan, where ~500 KB of code cost a parse on every runtime, most of which never runs it.
  // esa/entry.js compiles it only when real wasm is refused (at load, where workerd allows code
  // from strings).
  const importLine = /^import \* as \S+ from '\.\/proxy_bg\.js';\n/m;
  const tail = /\nvar retasmFunc = asmFunc\([\s\S]*$/;
  if (!importLine.test(js) || !tail.test(js) || !/function asmFunc\(imports\)/.test(js)) {
    throw new Error('wasm2js output has an unexpected shape; update scripts/bundle.mjs');
  }
  js = js.replace(importLine, '').replace(tail, '\n');
  // An assignment, so that the minifier keeps the function (it drops an unused expression).
  const factory = `ASM = function (imports) {\n'use strict';\n${js}\nreturn asmFunc(imports);\n};`;
  const { code } = esbuild.transformSync(factory, { minify: true, target: 'es2020' });
  const text = code.trim();
  if (!text.startsWith('ASM=function(') || text.length < 100000) {
    throw new Error(`the minified wasm2js factory has an unexpected shape (${text.length} chars)`);
  }
  writeFileSync(
    p('dist/esa-gen/asm.js'),
    `// wasm2js's translation of the module, as text (scripts/bundle.mjs).\nexport const ASM_SOURCE = ${JSON.stringify(text)};\n`,
  );
}

// wasm-bindgen's glue refreshes its cached views of wasm memory when the old buffer reads as
// detached (byteLength 0). A real wasm memory.grow detaches it; wasm2js's grow copies into a new
// ArrayBuffer and leaves the old one intact, so the glue would keep writing into a stale copy
// (seen as corrupted strings and traps under concurrent requests). So under wasm2js the buffers
// are compared; under real wasm the detached check stays (reading wasm.memory.buffer is a call
// into the engine, paid on every string crossing). The shim calls `__erpNewInstance` after each
// instantiation: it says which engine runs and drops the views of the previous instance's
// memory (after a panic that memory is still alive, not detached).
function patchGlue() {
  const glue = p('dist/wasm/proxy_bg.js');
  let js = readFileSync(glue, 'utf8');
  const views = [...js.matchAll(/if \((cached\w+Memory0) === null \|\| ([^)]*?\)?[^{]*?)\) \{/g)];
  let patched = 0;
  for (const [whole, name] of views) {
    const fixed = `if (${name} === null || ${name}.buffer.byteLength === 0 || (JS_MEMORY && ${name}.buffer !== wasm.memory.buffer)) {`;
    if (whole !== fixed) {
      js = js.replace(whole, fixed);
      patched++;
    }
  }
  if (!js.includes('let JS_MEMORY = false;')) {
    const drop = views.map(([, name]) => `    ${name} = null;\n`).join('');
    js += `\nlet JS_MEMORY = false;\nexport function __erpNewInstance(jsMemory) {\n    JS_MEMORY = jsMemory;\n${drop}}\n`;
  }
  const expected = (js.match(/let cached\w+Memory0 = null;/g) || []).length;
  const ok = (js.match(/\(JS_MEMORY && cached\w+Memory0\.buffer !== wasm\.memory\.buffer\)\) \{/g) || []).length;
  if (expected === 0 || ok !== expected) {
    throw new Error(`glue memory views: ${ok} of ${expected} patched; update scripts/bundle.mjs`);
  }
  writeFileSync(glue, js);
  return patched;
}

// wasm-bindgen copies a string into wasm memory a char at a time in JS (then `encodeInto` for
// the rest once a char is not ASCII). A client's token is ~1.4 KB and crosses on every request:
// one native `encodeInto` into a worst-case buffer, shrunk after, costs 7.7 % fewer instructions
// per manifest GET and 5.6 % per pull in workerd (bench/instructions.mjs). Short strings keep
// the loop, which beats a call into the runtime (at 16 chars a pull cost more).
function patchStringPass() {
  const glue = p('dist/wasm/proxy_bg.js');
  const js = readFileSync(glue, 'utf8');
  const loop = '    let len = arg.length;\n    let ptr = malloc(len, 1) >>> 0;\n';
  const long = `    let len = arg.length;
    if (len > 64) {
        const cap = len * 3;
        const at = malloc(cap, 1) >>> 0;
        const { written } = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(at, at + cap));
        WASM_VECTOR_LEN = written;
        return realloc(at, cap, written, 1) >>> 0;
    }
    let ptr = malloc(len, 1) >>> 0;
`;
  if (js.includes(long)) return;
  const fn = /function passStringToWasm0\(arg, malloc, realloc\) \{/.exec(js);
  if (!fn || js.indexOf(loop, fn.index) < 0 || !js.includes('cachedTextEncoder.encodeInto')) {
    throw new Error('glue passStringToWasm0 has an unexpected shape; update scripts/bundle.mjs');
  }
  const at = js.indexOf(loop, fn.index);
  writeFileSync(glue, js.slice(0, at) + long + js.slice(at + loop.length));
}

// The other way, wasm-bindgen reads every string out of wasm with `TextDecoder.decode` on a fresh
// `subarray`: a typed array and a call into the runtime, ~1.9 k instructions in workerd even for
// `accept` (35 per blob GET, most of them header names and values that recur on every request).
// Short ASCII strings already read are kept, found by a hash of their bytes and checked byte by
// byte (no allocation); the rest still goes to the decoder.
function patchStringRead() {
  const glue = p('dist/wasm/proxy_bg.js');
  const js = readFileSync(glue, 'utf8');
  const stock = '    ptr = ptr >>> 0;\n    return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));\n';
  const known = `    ptr = ptr >>> 0;
    const mem = getUint8ArrayMemory0();
    if (len > 64) return decodeText(mem.subarray(ptr, ptr + len));
    let h = len;
    for (let i = ptr, end = ptr + len; i < end; i++) h = (Math.imul(h, 31) + mem[i]) | 0;
    const seen = READ_TEXTS.get(h);
    if (seen !== undefined && seen.length === len) {
        let i = 0;
        while (i < len && seen.charCodeAt(i) === mem[ptr + i]) i++;
        if (i === len) return seen;
    }
    const s = decodeText(mem.subarray(ptr, ptr + len));
    // Only ASCII is kept (then length is the byte count, and each char code its byte).
    if (s.length === len) {
        if (READ_TEXTS.size >= 512) READ_TEXTS.clear();
        READ_TEXTS.set(h, s);
    }
    return s;
`;
  if (js.includes(known)) return;
  const fn = /function getStringFromWasm0\(ptr, len\) \{\n/.exec(js);
  if (!fn || !js.startsWith(stock, fn.index + fn[0].length)) {
    throw new Error('glue getStringFromWasm0 has an unexpected shape; update scripts/bundle.mjs');
  }
  const at = fn.index + fn[0].length;
  const kept = '// Short ASCII strings read out of wasm, by a hash of their bytes (scripts/bundle.mjs).\nconst READ_TEXTS = new Map();\n';
  writeFileSync(glue, js.slice(0, fn.index) + kept + js.slice(fn.index, at) + known + js.slice(at + stock.length));
}

// After a panic the shim makes a fresh instance under this one glue module, and a wasm-bindgen
// closure is called through the glue's one module-level `wasm`: one of a dead instance, called
// later, would run with its pointers against the new instance's memory (bench/futures-spike/).
// The shim keeps that from happening for the closures wasm-bindgen-futures makes: the two of each
// await are called only by a promise the shim's `settle` hands out, which never settles for a
// dead instance, and the executor's by a microtask the shim drops for one (js-shim/proxy.js).
// A closure made for anything else would have no such guard: the build stops at a second kind.
function checkClosures() {
  const js = readFileSync(p('dist/wasm/proxy_bg.js'), 'utf8');
  const kinds = [...js.matchAll(/= make(?:Mut)?Closure\(/g)].length;
  if (kinds !== 1) {
    throw new Error(`the glue makes ${kinds} kinds of wasm-bindgen closure, expected 1 (wasm-bindgen-futures'): see checkClosures in scripts/bundle.mjs`);
  }
}

checkClosures();
patchGlue();
patchStringPass();
patchStringRead();
mkdirSync(p('dist/esa-gen'), { recursive: true });
writeFileSync(
  p('dist/esa-gen/wasm_base64.js'),
  `export const WASM_BASE64 = ${JSON.stringify(readFileSync(wasmPath).toString('base64'))};\n`,
);
wasm2jsFactory();
// The base64 decoder the ESA entry loads the module with (esa/base64.wat), as bytes.
const base64Wasm = p('dist/esa-gen/base64.wasm');
execFileSync(process.execPath, [p('node_modules/binaryen/bin/wasm-as'), p('esa/base64.wat'), '-o', base64Wasm], { stdio: 'inherit' });
writeFileSync(
  p('dist/esa-gen/base64_wasm.js'),
  `export const BASE64_WASM = new Uint8Array([${[...readFileSync(base64Wasm)].join(',')}]);\n`,
);

for (const out of ['dist/cloudflare/worker.js', 'dist/pages/_worker.js/index.js']) {
  await esbuild.build({
    entryPoints: [p('cloudflare/worker.js')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    external: ['./proxy_bg.wasm'],
    banner: { js: header },
    outfile: p(out),
    logLevel: 'warning',
  });
  copyFileSync(wasmPath, join(dirname(p(out)), 'proxy_bg.wasm'));
}

await esbuild.build({
  entryPoints: [p('esa/entry.js')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  banner: { js: `${header}\n${readFileSync(p('esa/config.js'), 'utf8')}` },
  outfile: p('dist/esa/index.js'),
  logLevel: 'warning',
});
const size = (f) => readFileSync(p(f)).length;
console.log(
  `built: wasm ${size('dist/wasm/proxy_bg.wasm')} B, dist/esa/index.js ${size('dist/esa/index.js')} B`,
);

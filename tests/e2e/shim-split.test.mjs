// The shim's split of a layer between the client and the cache (js-shim/platform.js `split`),
// in Node's WHATWG streams: a large body is read from its source only as fast as the slower of
// the two readers, so what the isolate holds is a few chunks, not the layer (tee() queued the
// whole difference for the slower reader); a reader that goes away does not stop the other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { split } from '../../js-shim/platform.js';

const CHUNK = 1024 * 1024;
const CHUNKS = 48;

/** A source of CHUNKS chunks that counts how many were taken from it. */
function source() {
  const s = { pulled: 0 };
  s.body = new ReadableStream({
    pull(ctl) {
      if (s.pulled === CHUNKS) return ctl.close();
      s.pulled++;
      ctl.enqueue(new Uint8Array(CHUNK).fill(s.pulled & 255));
    },
  }, { highWaterMark: 0 });
  return s;
}

/** Reads `stream` to the end, `delayMs` between chunks; checks every byte's chunk number. */
async function drain(stream, delayMs, onChunk = () => {}) {
  const reader = stream.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n++;
    assert.equal(value[0], n & 255);
    assert.equal(value.byteLength, CHUNK);
    onChunk(n);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
}

test('a large body is taken from its source no faster than the slower reader', async () => {
  const src = source();
  const [slow, fast] = split(src.body, CHUNKS * CHUNK);
  let ahead = 0;
  const [a, b] = await Promise.all([
    drain(slow, 5, (n) => (ahead = Math.max(ahead, src.pulled - n))),
    drain(fast, 0),
  ]);
  assert.deepEqual([a, b], [CHUNKS, CHUNKS]);
  assert.ok(ahead <= 4, `the source ran ${ahead} chunks ahead of the slow reader`);
});

test('tee() (what bodies under the lockstep size get) would have run ahead: the check can fail', async () => {
  const src = source();
  const [slow, fast] = split(src.body, 1024); // under the lockstep size: tee()
  let ahead = 0;
  await Promise.all([drain(slow, 5, (n) => (ahead = Math.max(ahead, src.pulled - n))), drain(fast, 0)]);
  assert.ok(ahead > 20, `tee() ran only ${ahead} ahead`);
});

test('a reader that goes away leaves the other with the whole body', async () => {
  const src = source();
  const [gone, stays] = split(src.body, CHUNKS * CHUNK);
  const r = gone.getReader();
  await r.read();
  await r.cancel();
  assert.equal(await drain(stays, 0), CHUNKS);
});

// The platform object the wasm core calls: upstream fetch (redirects are the core's business),
// bounded reads of small bodies, the edge cache, logging. Shared by the Cloudflare and ESA
// entries; `cache` is their adapter (or null), `waitUntil` keeps background puts alive.
//
// Body handles are objects with a `.body` stream (a Response, or { body } made here): the core
// passes them around untouched and streams `.body` to the client.

// Methods the core calls synchronously must never throw: an exception thrown through wasm
// unwinds a microtask nobody awaits, and the request would hang instead of answering. Where a
// runtime lacks an API (TransformStream, tee, crypto.randomUUID), they degrade: no cache write,
// no cached range (the core then goes upstream), a random id from another source.
const hasStreams = () => typeof TransformStream === 'function';

function randomHex() {
  const bytes = new Uint8Array(16);
  if (typeof crypto === 'object' && crypto && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// Text for the core as the core would read it: invalid UTF-8 refused, a byte order mark kept.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// A body the HTTP framing holds to at most `limit` bytes: a Content-Length within it and no
// Content-Encoding (fetch decodes those, and the decoded body may be far larger).
function framedWithin(headers, limit) {
  if (!headers || typeof headers.get !== 'function') return false;
  const len = headers.get('content-length');
  if (len === null || !/^[0-9]{1,10}$/.test(len) || Number(len) > limit) return false;
  const coding = headers.get('content-encoding');
  return coding === null || coding === '' || coding.toLowerCase() === 'identity';
}

// `settle`: how the core awaits a runtime promise (js-shim/proxy.js `newInstance`); alone
// (benches, tests) a plain `Promise.resolve`.
export function makePlatform({ fetchImpl, cache, waitUntil, settle = (p) => Promise.resolve(p) }) {
  // Without waitUntil (ESA may not give one) a background put still runs: the runtime keeps the
  // request alive while the client's half of a teed body streams, and small puts finish first.
  const background = (promise, what) => {
    const p = Promise.resolve(promise).catch((e) => console.log(`cache: ${what} failed: ${e && e.message}`));
    if (waitUntil) {
      try {
        waitUntil(p);
      } catch (e) {
        console.log(`cache: waitUntil refused: ${e && e.message}`);
      }
    }
  };

  return {
    settle,

    // `init` is made by the core (method, headers, redirect: 'manual'); the Response goes back.
    fetch(url, init) {
      return fetchImpl(url, init);
    },

    // Reads a token answer, a form or a manifest; never a layer. Stops at `limit` bytes. A body
    // whose framing bounds it (Content-Length, not decoded by fetch) is read in one call.
    async readBytes(handle, limit) {
      if (!handle.body) return new Uint8Array(0);
      if (typeof handle.arrayBuffer === 'function' && framedWithin(handle.headers, limit)) {
        const all = new Uint8Array(await handle.arrayBuffer());
        if (all.byteLength > limit) throw new Error(`body larger than ${limit} bytes`);
        return all;
      }
      const reader = handle.body.getReader();
      const chunks = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel();
          throw new Error(`body larger than ${limit} bytes`);
        }
        chunks.push(value);
      }
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.byteLength;
      }
      return all;
    },

    // Text for the core (token answers, forms): strict UTF-8, a byte order mark kept (as Rust's
    // from_utf8 would), so the core sees exactly the bytes.
    async readText(handle, limit) {
      return STRICT_UTF8.decode(await this.readBytes(handle, limit));
    },

    async cacheGet(key) {
      if (!cache) return null;
      try {
        const hit = await cache.get(key);
        return hit || null;
      } catch (e) {
        console.log(`cache: get failed: ${e && e.message}`);
        return null;
      }
    },

    // A small, verified body the core made into a Response.
    cachePut(key, response) {
      if (!cache) return;
      try {
        background(cache.put(key, response), 'put');
      } catch (e) {
        console.log(`cache: put failed: ${e && e.message}`);
      }
    },

    cachePutStream(key, headers, handle, expectedLen, commitKey, commitValue) {
      if (!cache || !handle.body || !hasStreams() || typeof handle.body.tee !== 'function') return handle;
      try {
        return putStream(key, headers, handle, expectedLen, commitKey, commitValue);
      } catch (e) {
        // tee() may have locked the body already: the client then gets an error, not a hang.
        console.log(`cache: layer not stored: ${e && e.message}`);
        return handle.body.locked ? { body: null } : handle;
      }
    },

    // One body of parts read in order (`concat` in src/platform.rs): bytes, open bodies, and
    // locations fetched only when the reader reaches them (no credentials: a CDN's signed URL),
    // so one layer is in flight at a time. A part of another length, or one that fails, errors
    // the stream: the client sees a cut transfer against the Content-Length, never a short whole.
    // Never throws: without streams the body is null and the client sees the cut at once.
    concat(parts, total) {
      if (!hasStreams()) return { body: null };
      try {
        const body = concatenated(parts, fetchImpl);
        // Each part's length is counted as it streams: the whole needs no second JS counter,
        // only FixedLengthStream where workerd would otherwise send a JS stream chunked.
        return { body: fixedLength(body, total)?.body ?? body };
      } catch (e) {
        console.log(`archive: not streamed: ${e && e.message}`);
        return { body: null };
      }
    },

    randomId() {
      try {
        if (typeof crypto === 'object' && crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
      } catch {}
      return randomHex();
    },

    // Bytes first..=last of a stored body, as a stream; null where the runtime cannot cut
    // streams (the core then asks the upstream for the range).
    slice(handle, first, last) {
      if (!hasStreams() || !handle.body) return null;
      try {
        let pos = 0;
        const cut = new TransformStream({
          transform(chunk, ctl) {
            const start = pos;
            pos += chunk.byteLength;
            if (pos <= first || start > last) return;
            ctl.enqueue(chunk.subarray(Math.max(first - start, 0), Math.min(last + 1 - start, chunk.byteLength)));
          },
        });
        return { body: handle.body.pipeThrough(cut) };
      } catch (e) {
        console.log(`cache: range not cut: ${e && e.message}`);
        return null;
      }
    },

    // `name\nvalue\n` for every header: one string for the core to split (HTTP forbids line
    // breaks in names and values).
    headerLines(headers) {
      let text = '';
      for (const [name, value] of headers) text += `${name}\n${value}\n`;
      return text;
    },

    log(line) {
      try {
        console.log(line);
      } catch {}
    },
  };

  // Splits the body: one copy to the client, the other into the cache through a length check.
  // Only when exactly `expectedLen` bytes arrived is the commit marker written (the core serves
  // a streamed entry only with a matching marker); otherwise the put is failed and the entry
  // deleted where the cache allows.
  function putStream(key, headers, handle, expectedLen, commitKey, commitValue) {
    const [toClient, toCache] = split(handle.body, expectedLen);
    const { body: checked, whole } = exactly(toCache, expectedLen);
    const marker = headers.get('cache-control');
    const markerHeaders = marker === null ? {} : { 'cache-control': marker };
    const put = cache
      .put(key, new Response(checked, { status: 200, headers }))
      .then(async () => {
        if (!(await whole)) throw new Error('body incomplete');
        return cache.put(commitKey, new Response(commitValue, { status: 200, headers: markerHeaders }));
      })
      .catch((e) => {
        console.log(`cache: layer not stored: ${e && e.message}`);
        return cache.delete ? cache.delete(key) : undefined;
      });
    background(put, 'put');
    return { body: toClient };
  }
}

function concatenated(parts, fetchImpl) {
  let next = 0;
  let reader = null;
  let left = 0;
  return new ReadableStream({
    async pull(ctl) {
      for (;;) {
        if (reader) {
          const { done, value } = await reader.read();
          if (done) {
            if (left !== 0) throw new Error(`part ${next} ended ${left} bytes short`);
            reader = null;
            continue;
          }
          left -= value.byteLength;
          if (left < 0) throw new Error(`part ${next} is longer than announced`);
          ctl.enqueue(value);
          return;
        }
        if (next >= parts.length) {
          ctl.close();
          return;
        }
        const part = parts[next++];
        if (part instanceof Uint8Array) {
          if (part.byteLength === 0) continue;
          ctl.enqueue(part);
          return;
        }
        let source = part.handle;
        if (!source) {
          source = await fetchImpl(part.url, { method: 'GET', redirect: 'follow' });
          if (source.status !== 200) throw new Error(`part ${next} answered ${source.status}`);
        }
        if (!source.body) throw new Error(`part ${next} has no body`);
        reader = source.body.getReader();
        left = part.len;
      }
    },
    cancel(reason) {
      return reader ? reader.cancel(reason) : undefined;
    },
  });
}

// Above this size a body is split in lockstep rather than by tee(): tee() reads the source as
// fast as the faster reader and queues everything the slower one has not taken, so a client
// reading a large layer slowly while the cache stores it fast held most of the layer in the
// isolate's memory (+110 MB in workerd for 64 MB; both platforms stop an isolate at 128 MB).
// Smaller bodies keep the native tee (no JS per chunk); they bound what it can queue.
const LOCKSTEP_MIN_BYTES = 8 * 1024 * 1024;

// Two streams of `body`'s bytes.
export function split(body, len) {
  if (len < LOCKSTEP_MIN_BYTES) return body.tee();
  const a = new TransformStream();
  const b = new TransformStream();
  lockstep(body, a.writable.getWriter(), b.writable.getWriter());
  return [a.readable, b.readable];
}

// Reads the next chunk only when both copies have room for it, so the faster reader waits for
// the slower and the isolate holds a chunk or two, not the layer. A copy whose reader went away
// (the client disconnected, the cache refused) is dropped and the other goes on alone.
async function lockstep(source, ...writers) {
  const reader = source.getReader();
  const live = new Set(writers);
  const drop = (w) => () => live.delete(w);
  try {
    for (;;) {
      await Promise.all([...live].map((w) => w.ready.catch(drop(w))));
      if (live.size === 0) {
        await reader.cancel();
        return;
      }
      const { done, value } = await reader.read();
      if (done) break;
      for (const w of live) w.write(value).catch(drop(w));
    }
    for (const w of live) w.close().catch(drop(w));
  } catch (e) {
    for (const w of live) w.abort(e).catch(() => {});
  }
}

// `body` through a FixedLengthStream of `len` where the runtime has one (workerd, Cloudflare):
// it errors unless exactly `len` bytes pass, and is sent with that Content-Length; `whole`: a
// promise of whether they did. Null elsewhere.
/* global FixedLengthStream */
function fixedLength(body, len) {
  if (typeof FixedLengthStream !== 'function') return null;
  const fixed = new FixedLengthStream(len);
  const whole = body.pipeTo(fixed.writable).then(
    () => true,
    () => false,
  );
  return { body: fixed.readable, whole };
}

// `body` as a stream that errors unless exactly `len` bytes pass, and `whole`: a promise of
// whether they did. Where the runtime has FixedLengthStream (workerd, Cloudflare) the check is
// native; elsewhere a JS counter sees every chunk, which costs CPU per chunk (`make bench`).
function exactly(body, len) {
  const fixed = fixedLength(body, len);
  if (fixed) return fixed;
  let seen = 0;
  let settle;
  const whole = new Promise((r) => (settle = r));
  const counted = body.pipeThrough(
    new TransformStream({
      transform(chunk, ctl) {
        seen += chunk.byteLength;
        ctl.enqueue(chunk);
      },
      flush(ctl) {
        settle(seen === len);
        if (seen !== len) ctl.error(new Error(`incomplete body: ${seen} of ${len} bytes`));
      },
    }),
  );
  return { body: counted, whole };
}

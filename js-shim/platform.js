// The platform object the wasm core calls: upstream fetch (redirects are the core's business),
// bounded reads of small bodies, logging. Shared by the Cloudflare and ESA entries.

export function makePlatform(fetchImpl) {
  return {
    async fetch(method, url, headers, body) {
      const resp = await fetchImpl(url, {
        method,
        headers,
        body: body === null ? undefined : body,
        redirect: 'manual',
      });
      // The Response itself is the body handle: the core passes it back untouched and
      // toResponse() streams its body to the client.
      return { status: resp.status, headers: [...resp.headers], body: resp };
    },

    // Reads a token answer or a token form; never a layer. Stops at `limit` bytes.
    async readText(handle, limit) {
      if (!handle.body) return '';
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
      return new TextDecoder().decode(all);
    },

    log(line) {
      console.log(line);
    },
  };
}

// The baseline: a minimal plain-JS registry proxy of the kind users paste into edge consoles
// today, doing the same work as ours for a pull -- ping, token (realm rewritten to itself),
// manifests, blobs with the redirect followed without Authorization -- and nothing more (no
// name checks, no whitelist). Used only by `make bench`, in the same workerd as our worker.
export default {
  async fetch(request, env) {
    const upstream = env.UPSTREAM_URL;
    const url = new URL(request.url);
    if (url.pathname === '/token') {
      const realm = new URL(env.UPSTREAM_REALM);
      for (const [k, v] of url.searchParams) if (k !== 'service') realm.searchParams.append(k, v);
      realm.searchParams.set('service', env.UPSTREAM_SERVICE);
      const headers = new Headers();
      const auth = request.headers.get('authorization');
      if (auth) headers.set('authorization', auth);
      return fetch(realm, { headers });
    }
    const target = new URL(url.pathname + url.search, upstream);
    const headers = new Headers(request.headers);
    headers.delete('host');
    let resp = await fetch(target, { method: request.method, headers, redirect: 'manual' });
    if (resp.status === 401) {
      const h = new Headers(resp.headers);
      h.set('www-authenticate', `Bearer realm="${url.origin}/token",service="${url.host}"`);
      return new Response(resp.body, { status: 401, headers: h });
    }
    if (resp.status >= 300 && resp.status < 400 && resp.headers.get('location')) {
      const h = new Headers(headers);
      h.delete('authorization');
      resp = await fetch(new URL(resp.headers.get('location'), target), { method: request.method, headers: h });
    }
    return resp;
  },
};

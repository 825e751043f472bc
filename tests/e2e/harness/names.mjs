// Domain names for the test servers on 127.0.0.1, for the strict ESA host: ESA's fetch reaches
// domain names on ports 80/443 only, so ESA tests reach each server by a name the host maps to
// its loopback port (ESA_HOSTS), and see only names: config values are translated here, and
// the host rewrites the servers' own URLs (realms, redirects) in what they answer.
const names = new Map(); // 'ip:port' -> name
let sites = 0;

/** A fresh site (`upN.test`): the servers of one registry share it, as Docker Hub's do. */
export function newSite() {
  return `up${++sites}.test`;
}

/** Names the server on `ip`:`port` (loopback); returns its URL by name (port 80 implied). */
export function nameLoopback(port, name, ip = '127.0.0.1') {
  names.set(`${ip}:${port}`, name);
  return `http://${name}`;
}

/** The site of the named server on 127.0.0.1:`port`, if any. */
export function siteOf(port) {
  const n = names.get(`127.0.0.1:${port}`);
  return n ? n.split('.').slice(-2).join('.') : null;
}

/** `text` with http://IP:PORT of every named server as http://NAME. */
export function byName(text) {
  return String(text).replace(/http:\/\/(127\.\d+\.\d+\.\d+:\d+)/g, (m, a) => (names.has(a) ? `http://${names.get(a)}` : m));
}

/** ESA_HOSTS for the host: `name=ip:port,...`. */
export function hostsSpec() {
  return [...names].map(([a, n]) => `${n}=${a}`).join(',');
}

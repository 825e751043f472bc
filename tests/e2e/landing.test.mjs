// The landing page as a person uses it, in headless Chromium, on the worker and the ESA bundle:
// search Docker Hub (a stand-in for its search API) and see only whitelisted repositories, list a
// repository's tags from the real registry behind the proxy, copy any snippet or pull command.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { withPage } from './harness/browser.mjs';
import { seedImages } from './harness/images.mjs';
import { nameLoopback } from './harness/names.mjs';
import { startEsaHost, startWorkerd } from './harness/runtimes.mjs';
import { startUpstream } from './harness/upstream.mjs';

const RESULTS = [
  { name: 'tiny', description: 'the tiny image', star_count: 5, is_official: true, is_automated: false },
  { name: 'secret', description: 'not for this mirror', star_count: 9, is_official: true, is_automated: false },
  { name: 'team/app', description: '<img src=x onerror=alert(1)>', star_count: 1, is_official: false, is_automated: false },
  { name: 'teamx/app', description: 'not ours', star_count: 1, is_official: false, is_automated: false },
];
let up;
let search;
let images;
const rt = {};

before(async () => {
  up = await startUpstream('landing-upstream');
  images = await seedImages(up, { only: ['library/tiny', 'team/app', 'library/secret'] });
  search = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ num_results: RESULTS.length, query: 'x', results: RESULTS }));
  });
  await new Promise((r) => search.listen(0, '127.0.0.1', r));
  nameLoopback(search.address().port, 'index.landing.test'); // ESA reaches servers by name
  const vars = {
    UPSTREAM: `docker.io@${up.url}`,
    SEARCH_UPSTREAM: `http://127.0.0.1:${search.address().port}`,
    WHITELIST: 'tiny, team/*',
    REGISTRIES: 'ghcr.io',
  };
  [rt.workerd, rt.esa] = await Promise.all([startWorkerd('landing-workerd', vars), startEsaHost('landing-esa', vars)]);
});

after(async () => {
  await Promise.all(Object.values(rt).map((r) => r.stop()));
  await up?.stop();
  await new Promise((r) => search?.close(r));
});

/** Page-side: waits until `cond` (an expression) holds, at most 15 s. */
const until = (cond) => `await new Promise((ok, no) => { const t0 = Date.now(); const t = setInterval(() => {
  if (${cond}) { clearInterval(t); ok(); } else if (Date.now() - t0 > 15000) { clearInterval(t); no(new Error('timed out: ' + ${JSON.stringify(cond)})); } }, 50); });`;

for (const name of ['workerd', 'esa']) {
  describe(`landing page on ${name}, in Chromium`, () => {
    test('search, tags and copy buttons work as a person uses them', async () => {
      const host = rt[name].url.replace('http://', '');
      const seen = await withPage(`${rt[name].url}/`, (evaluate) =>
        evaluate(`(async () => {
          const copied = [];
          Object.defineProperty(navigator, 'clipboard', { value: { writeText: (t) => { copied.push(t); return Promise.resolve(); } } });
          const pres = [...document.querySelectorAll('pre[data-snippet]')];
          const buttons = [...document.querySelectorAll('button.copy')];
          const ghcrPull = document.querySelector('pre[data-snippet="docker-pull"][data-registry="ghcr.io"]').textContent;
          buttons[buttons.length - 1].click();
          const snippetCopy = pres.findIndex((p) => p.previousElementSibling?.className === 'copy');
          pres[1].previousElementSibling.click();
          const second = pres[1].textContent;
          document.getElementById('search-q').value = 'a';
          document.getElementById('search-form').requestSubmit();
          ${until("document.querySelectorAll('#search-out li').length > 0")}
          const results = [...document.querySelectorAll('#search-out li')].map((li) => li.dataset.name);
          const injected = document.querySelectorAll('#search-out img').length;
          document.querySelector('#search-out li[data-name="tiny"] button').click();
          ${until("document.querySelectorAll('#tags-out li').length > 0")}
          const tags = [...document.querySelectorAll('#tags-out li')].map((li) => li.dataset.tag);
          document.querySelector('#tags-out li button').click();
          const tinyPull = document.querySelector('#tags-out li code').textContent;
          document.getElementById('tags-name').value = 'library/secret';
          document.getElementById('tags-form').requestSubmit();
          ${until("document.querySelector('#tags-out li')?.textContent.includes('error')")}
          const refused = document.querySelector('#tags-out li').textContent;
          document.getElementById('archive-image').value = 'tiny';
          document.getElementById('archive-platform').value = 'linux/amd64';
          document.getElementById('archive-form').requestSubmit();
          const link = document.getElementById('archive-link');
          const got = await fetch(link.href);
          const archive = { href: link.getAttribute('href'), status: got.status, type: got.headers.get('content-type'),
            disposition: got.headers.get('content-disposition'), length: Number(got.headers.get('content-length')),
            bytes: (await got.arrayBuffer()).byteLength };
          return { archive, second, last: pres[pres.length - 1].textContent, pres: pres.length, buttons: buttons.length, snippetCopy, ghcrPull, copied, results, injected, tags, tinyPull, refused,
            text: document.body.textContent };
        })()`),
      );
      // A copy button before every snippet; a click copies that snippet's text exactly.
      assert.ok(seen.pres >= 8, `${seen.pres} snippets`);
      assert.equal(seen.buttons, seen.pres);
      assert.equal(seen.snippetCopy, 0);
      assert.equal(seen.ghcrPull, `docker pull ${host}/ghcr.io/org/image:tag`);
      // Search: only what the whitelist admits, descriptions as text (no element injected).
      assert.deepEqual(seen.results.sort(), ['team/app', 'tiny']);
      assert.equal(seen.injected, 0);
      // Tags from the real registry, and a pull command to copy.
      assert.deepEqual(seen.tags, [images['library/tiny'].tag]);
      assert.equal(seen.tinyPull, `docker pull ${host}/tiny:latest`);
      assert.deepEqual(seen.copied.slice(2), [seen.tinyPull]);
      assert.equal(seen.copied.length, 3);
      assert.deepEqual(seen.copied.slice(0, 2), [seen.last, seen.second]);
      // A repository outside the whitelist: the proxy's own message.
      assert.match(seen.refused, /image library\/secret is not in the whitelist/);
      // The archive form makes the download link; the page fetches what it names: the tar.
      assert.equal(seen.archive.href, '/archive/tiny:latest?platform=linux/amd64');
      assert.equal(seen.archive.status, 200);
      assert.equal(seen.archive.type, 'application/x-tar');
      assert.equal(seen.archive.disposition, 'attachment; filename="tiny_latest.tar"');
      assert.equal(seen.archive.bytes, seen.archive.length);
      assert.match(seen.text, /离线镜像包/);
      assert.match(seen.text, /Offline image archive/);
      assert.match(seen.text, /搜索镜像与标签/);
      assert.match(seen.text, /Search images and tags/);
    });
  });
}

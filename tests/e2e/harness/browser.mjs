// Headless Chromium driven over the DevTools protocol (Node's WebSocket), for what a person
// does on the landing page: type into fields, press a button, copy the result.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cdpSession } from './cdp.mjs';
import { sleep, start, tempDir } from './procs.mjs';

/** Headless Chromium that stays off this machine's closed network (no background requests). */
export const HEADLESS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Opens `url` in Chromium and hands `use(evaluate)` a function running JS in the page. */
export async function withPage(url, use) {
  const dataDir = tempDir('chromium-cdp');
  const proc = start('chromium-cdp', 'chromium', [...HEADLESS, '--remote-debugging-port=0', `--user-data-dir=${dataDir}`, 'about:blank']);
  let session;
  try {
    const portFile = join(dataDir, 'DevToolsActivePort');
    // Chromium can take well over 15 s to start on a busy 2-core machine (seen beside dockerd);
    // the file may also exist before its first line is written.
    const port = async () => {
      for (let i = 0; i < 450 && !proc.exited(); i++) {
        const first = existsSync(portFile) ? readFileSync(portFile, 'utf8').split('\n')[0] : '';
        if (/^\d+$/.test(first)) return first;
        await sleep(100);
      }
      assert.fail(`chromium did not start within 45 s:\n${proc.log()}`);
    };
    const targets = await (await fetch(`http://127.0.0.1:${await port()}/json/list`)).json();
    const page = targets.find((t) => t.type === 'page');
    session = await cdpSession(page.webSocketDebuggerUrl);
    const call = session.send;
    const evaluate = async (expression) => {
      const r = await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.error || r.result.exceptionDetails) throw new Error(`in page: ${JSON.stringify(r.error || r.result.exceptionDetails)}`);
      return r.result.result.value;
    };
    await call('Page.navigate', { url });
    for (let i = 0; i < 100; i++) {
      if ((await evaluate('document.readyState')) === 'complete' && (await evaluate('location.href')) !== 'about:blank') break;
      await sleep(100);
    }
    return await use(evaluate);
  } finally {
    session?.close();
    await proc.stop();
  }
}

/** The landing page's mirror-login helper, used as a person would: the generated config.json. */
export async function landingAuths(proxyUrl, user, password) {
  return withPage(`${proxyUrl}/`, async (evaluate) => {
    const js = (s) => JSON.stringify(s);
    return evaluate(`(() => {
      document.getElementById('auth-user').value = ${js(user)};
      document.getElementById('auth-pass').value = ${js(password)};
      document.getElementById('auth-make').click();
      return document.getElementById('auth-out').textContent;
    })()`);
  });
}

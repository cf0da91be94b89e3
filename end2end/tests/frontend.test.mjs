// The front end's delivery: compressed, immutably cached, split by page area; the
// sign-in form works without JavaScript; a lazily loaded page opens by navigation
// inside the app; a chunk that cannot load says so.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  rawGet,
  signIn,
  subdomainUrl,
  waitForHydration,
} from './support.mjs';

/** The /pkg files a page's HTML names (js, wasm, css). */
function pkgFilesIn(html) {
  return [...new Set([...html.matchAll(/\/pkg\/[A-Za-z0-9_.-]+\.(?:js|wasm|css)/g)].map((m) => m[0]))];
}

describe('front-end delivery', { timeout: TEST_TIMEOUT_MS * 6 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('bundle files have content-hashed names, arrive compressed and are cached for a year', async () => {
    const page = await rawGet(subdomainUrl('acme', '/signin'));
    assert.equal(page.status, 200);
    const files = pkgFilesIn(page.body);
    for (const ext of ['js', 'wasm', 'css']) {
      assert.ok(
        files.some((f) => new RegExp(`^/pkg/medisync\\.[A-Za-z0-9_-]+\\.${ext}$`).test(f)),
        `no hashed medisync.*.${ext} in the sign-in page (found ${files.join(', ')})`,
      );
    }
    for (const file of files) {
      const url = subdomainUrl('acme', file);
      for (const [accept, encoding] of [
        ['br, gzip', 'br'],
        ['gzip', 'gzip'],
      ]) {
        const res = await rawGet(url, { headers: { 'accept-encoding': accept } });
        assert.equal(res.status, 200, `${file} (${accept})`);
        assert.equal(res.headers['content-encoding'], encoding, `${file} with Accept-Encoding: ${accept}`);
        assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', file);
        assert.match(res.headers.vary ?? '', /accept-encoding/i, `${file} Vary`);
      }
      const plain = await rawGet(url, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-encoding'], undefined, `${file} uncompressed on request`);
    }
  });

  test('pages are compressed on the fly, keep their CSP nonce, and signed-in pages are not stored', async () => {
    const page = await rawGet(subdomainUrl('acme', '/signin'), { headers: { 'accept-encoding': 'br' } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-encoding'], 'br');
    assert.match(page.headers.vary ?? '', /accept-encoding/i);
    assert.match(page.headers['content-security-policy'] ?? '', /script-src 'self' 'nonce-[^']+'/);
    await withPage(browser, {}, async (p, { context }) => {
      await signIn(p, subdomainUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      const res = await p.goto(subdomainUrl('acme', '/staff/users'), { waitUntil: 'load' });
      assert.equal(res.status(), 200);
      const headers = await res.allHeaders();
      assert.equal(headers['cache-control'], 'no-store', 'a signed-in page must not be stored');
      assert.equal(headers['content-encoding'], 'br', 'Chromium accepts br, so the page arrives compressed');
      const nonce = /'nonce-([^']+)'/.exec(headers['content-security-policy'] ?? '')?.[1];
      assert.ok(nonce, 'CSP nonce');
      assert.ok((await res.text()).includes(`nonce="${nonce}"`), 'the scripts carry the CSP nonce');
      await context.clearCookies();
    });
  });

  test('the sign-in page does not carry the staff pages: they load as their own chunks', async () => {
    await withPage(browser, {}, async (page, { pageErrors, badAssets }) => {
      const wasm = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
      });
      await open(page, subdomainUrl('acme', '/signin'));
      await waitForHydration(page, '(sign-in)');
      assert.deepEqual(
        wasm.filter((w) => !/^\/pkg\/medisync\./.test(w)),
        [],
        `the sign-in page fetched page chunks it does not need: ${wasm.join(', ')}`,
      );
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(badAssets, []);
    });
  });

  test('the clinic sign-in works with JavaScript disabled', async () => {
    await withPage(browser, { javaScriptEnabled: false }, async (page, { context }) => {
      await open(page, subdomainUrl('acme', '/signin'));
      await page.fill('#email', ACCOUNTS.acmeNurse.email);
      await page.fill('#password', DEMO_PASSWORD);
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.click('button[type=submit]'),
      ]);
      // The form posts to the server function, which signs in and sends the
      // browser on; the staff area then renders on the server alone.
      if (!/\/staff/.test(new URL(page.url()).pathname)) {
        await open(page, subdomainUrl('acme', '/staff'));
      }
      assert.match(new URL(page.url()).pathname, /^\/staff/, `landed on ${page.url()}`);
      assert.equal(
        (await page.locator('[data-testid=viewer-name]').innerText()).trim(),
        ACCOUNTS.acmeNurse.name,
      );
      const cookies = await context.cookies();
      assert.ok(cookies.some((c) => c.name === 'medisync_session'), 'a session cookie was set');
    });
  });

  test('navigating inside the app into a lazily loaded staff page loads its chunk and works', async () => {
    await withPage(browser, {}, async (page, { pageErrors, badAssets }) => {
      await signIn(page, subdomainUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await waitForHydration(page, '(dashboard)');
      const chunks = [];
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname;
        if (path.endsWith('.wasm') && !/^\/pkg\/medisync\./.test(path)) chunks.push(`${r.status()} ${path}`);
      });
      const documents = [];
      page.on('request', (r) => {
        if (r.isNavigationRequest()) documents.push(r.url());
      });
      await page.locator('[data-testid=app-nav] a[href$="/staff/users"]').first().click();
      await page.waitForURL((u) => u.pathname.endsWith('/staff/users'));
      await page.locator('[data-testid=users-page]').waitFor({ state: 'visible', timeout: 20_000 });
      assert.deepEqual(documents, [], 'the users page opened inside the app, without a page load');
      assert.ok(chunks.length >= 1, 'the users page came in a chunk of its own');
      assert.ok(chunks.every((c) => c.startsWith('200 ')), chunks.join(', '));
      // The page is alive: the invitation form reacts.
      await page.locator('[data-testid=users-page] input[type=email]').first().fill('x');
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(badAssets, []);
    });
  });

  test('a page chunk that cannot be loaded shows a clear message, not a dead page', async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, subdomainUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await waitForHydration(page, '(dashboard)');
      // From now on every page chunk fails, as on a dropped connection.
      await page.route(
        (url) => url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.wasm') && !/^\/pkg\/medisync\./.test(url.pathname),
        (route) => route.abort('internetdisconnected'),
      );
      await page.locator('[data-testid=app-nav] a[href$="/staff/audit"]').first().click();
      const banner = page.locator('[data-testid=load-error]');
      await banner.waitFor({ state: 'visible', timeout: 20_000 });
      assert.match(await banner.innerText(), /could not be loaded/);
      assert.equal(await page.getByRole('button', { name: 'Reload' }).count(), 1);
    });
  });
});

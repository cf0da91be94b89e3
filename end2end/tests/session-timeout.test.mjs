// Idle timeout, against a private server started with a 4-second idle limit
// (its own demo-seeded database; the shared server keeps the default limit).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  PORT,
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  launchBrowser,
  withPage,
  open,
  signIn,
  signInHere,
  sleep,
  freePort,
  startPrivateServer,
} from './support.mjs';

const IDLE_SECONDS = 4;

describe('session idle timeout', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  let server;
  before(async () => {
    const port = await freePort(PORT + 50);
    server = await startPrivateServer(port, {
      MEDISYNC_SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** acme's site on the private server (subdomain addressing). */
  const acme = (p) => `http://acme.localhost:${server.port}${p}`;

  test(`an idle session ends after ${IDLE_SECONDS} s and the sign-in page says so`, { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      const ok = await open(page, acme('/staff'));
      assert.equal(ok.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/staff', `not signed in: ${page.url()}`);
      assert.ok(await page.locator('[data-testid=staff-shell]').isVisible());

      // Nothing runs in the background of the dashboard, but close the page's
      // connection to be sure no request refreshes the session meanwhile.
      await page.goto('about:blank');
      await sleep((IDLE_SECONDS + 2) * 1000);

      const res = await open(page, acme('/staff'));
      assert.equal(res.status(), 200);
      const u = new URL(page.url());
      assert.equal(u.pathname, '/signin', `still signed in after ${IDLE_SECONDS + 2} s idle: ${page.url()}`);
      assert.equal(u.searchParams.get('next'), '/staff');
      assert.equal(u.searchParams.get('expired'), '1', `no expired=1 in ${page.url()}`);
      await page.locator('[data-testid=session-expired]').waitFor({ state: 'visible' });
      assert.equal(await page.locator('[data-testid=staff-shell]').count(), 0);

      // Signing in again from there returns to the page.
      await signInHere(page, ACCOUNTS.acmeOwner.email);
      assert.equal(new URL(page.url()).pathname, '/staff');
    });
  });

  test('activity keeps the session alive past the idle limit', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      const started = Date.now();
      let requests = 0;
      while (Date.now() - started < (IDLE_SECONDS * 2 + 1) * 1000) {
        await sleep(2_000);
        const res = await open(page, acme('/staff'));
        requests += 1;
        assert.equal(res.status(), 200);
        assert.equal(
          new URL(page.url()).pathname,
          '/staff',
          `signed out after ${Math.round((Date.now() - started) / 1000)} s despite a request every 2 s: ${page.url()}`,
        );
      }
      assert.ok(requests >= 4, `only ${requests} requests made`);
      assert.ok(Date.now() - started > IDLE_SECONDS * 2 * 1000, 'the loop ended before twice the idle limit');
      assert.ok(await page.locator('[data-testid=staff-shell]').isVisible());
    });
  });
});

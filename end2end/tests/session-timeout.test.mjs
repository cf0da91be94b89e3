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
  waitForHydration,
  uniqueEmail,
  DEMO_PASSWORD,
  assertAccessible,
  screenshot,
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
  test('a form saved after the session ended asks for the password in place, then saves what was typed', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/users'));
      await waitForHydration(page, '(users)');
      const colleague = uniqueEmail('after-expiry');
      const form = page.locator('[data-testid=invite-form]');
      await form.locator('#invite_email').fill(colleague);
      await form.locator('select#invite_role').selectOption('doctor');
      // The person stops typing for longer than the idle limit.
      await sleep((IDLE_SECONDS + 2) * 1000);
      await form.getByRole('button', { name: 'Send invitation' }).click();

      const dialog = page.locator('[data-testid=reauth-dialog]');
      await dialog.waitFor({ state: 'visible' });
      assert.equal(await page.locator('[data-testid=form-error]').count(), 0, 'a "please sign in" error beside the dialog');
      assert.equal(new URL(page.url()).pathname, '/staff/users', 'the page was left');
      assert.equal(await form.locator('#invite_email').inputValue(), colleague, 'what was typed is gone');
      // Focus is in the dialog, on the password.
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'reauth-secret');
      await assertAccessible(page, 'the sign-in-again dialog');
      await screenshot(page, 'session-ended-dialog');

      await dialog.locator('#reauth-secret').fill('not my password');
      await dialog.getByRole('button', { name: 'Continue' }).click();
      await dialog.locator('[data-testid=reauth-error]').waitFor({ state: 'visible' });

      await dialog.locator('#reauth-secret').fill(DEMO_PASSWORD);
      await dialog.getByRole('button', { name: 'Continue' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // The pending action carried on: the invitation went out.
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
      await page.getByText(colleague).first().waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, '/staff/users');
    });
  });

  test('moving to another page after the session ended goes to sign-in and back', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff'));
      await waitForHydration(page, '(dashboard)');
      await sleep((IDLE_SECONDS + 2) * 1000);
      // A link inside the app (the router would load the page's data in place):
      // the address changes twice (the page, then sign-in), so poll for the end.
      await page.locator('nav a[href$="/staff/audit"]').first().click();
      const deadline = Date.now() + 20_000;
      while (new URL(page.url()).pathname !== '/signin') {
        assert.ok(Date.now() < deadline, `never sent to sign-in (at ${page.url()})`);
        await sleep(200);
      }
      await page.waitForLoadState('load');
      const u = new URL(page.url());
      assert.equal(u.searchParams.get('next'), '/staff/audit');
      assert.equal(u.searchParams.get('expired'), '1');
      await signInHere(page, ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, { expect: /\/staff\/audit$/ });
    });
  });
});

// axe-core on every page at 1280 px, and on the states people meet: a refused
// sign-in, the pending-invitation list, "Find my clinic" answered, the terms.
// The door choice and the sign-in-again dialog are checked where they appear
// (front-door and session-timeout tests); the console where an operator is set
// up (newcomer test, private server).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  pathUrl,
  platformUrl,
  subdomainUrl,
  waitForHydration,
  signIn,
  submitSignIn,
  uniqueEmail,
  assertAccessible,
  screenshot,
  STAFF_PAGES,
  publicPages,
} from './support.mjs';

const PUBLIC_PAGES = publicPages();

describe('accessibility (axe)', { timeout: TEST_TIMEOUT_MS * 6 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('every public page, and the states a visitor meets', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, {}, async (page) => {
      for (const url of PUBLIC_PAGES) {
        await open(page, url);
        await page.waitForLoadState('networkidle');
        await assertAccessible(page, url);
      }
      // A refused sign-in: the message, the field marks, the focus.
      await open(page, pathUrl('acme', '/signin'));
      await submitSignIn(page, uniqueEmail('nobody'), 'not the password');
      await page.locator('[data-testid=form-error]').waitFor({ state: 'visible' });
      await assertAccessible(page, 'refused sign-in');
      await screenshot(page, 'sign-in-refused-desktop');
      // "Find my clinic", answered.
      await open(page, platformUrl('/find-clinic'));
      await waitForHydration(page, '(find my clinic)');
      await page.locator('#find_email').fill(uniqueEmail('someone'));
      await page.getByRole('button', { name: 'Email me my clinics' }).click();
      await page.locator('[data-testid=clinics-sent]').waitFor({ state: 'visible' });
      await assertAccessible(page, 'find my clinic, answered');
    });
  });

  test('every staff page, with a pending invitation listed; the portal', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, pathUrl('acme', '/staff/users'));
      await waitForHydration(page, '(users)');
      const form = page.locator('[data-testid=invite-form]');
      await form.locator('#invite_email').fill(uniqueEmail('pending-a11y'));
      await form.getByRole('button', { name: 'Send invitation' }).click();
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
      await assertAccessible(page, 'users page with a pending invitation');
      for (const p of STAFF_PAGES) {
        const url = pathUrl('acme', p);
        const res = await open(page, url);
        assert.equal(res.status(), 200, `${url} -> ${res.status()}`);
        await page.waitForLoadState('networkidle');
        await assertAccessible(page, url);
        if (p === '/staff' || p === '/staff/users') {
          await screenshot(page, `a11y-${p === '/staff' ? 'dashboard' : 'users'}-desktop`);
        }
      }
    });
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', DEMO_PASSWORD, { expect: /\/portal$/ });
      await page.locator('[data-testid=my-mrn]').waitFor({ state: 'visible' });
      await assertAccessible(page, 'patient portal');
    });
  });
});

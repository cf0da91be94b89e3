// One front door per clinic: the clinic's sign-in takes staff to the staff area
// and patients to the portal; someone who is both chooses; the platform's home
// leads to sign-in and "Find my clinic", which emails the clinics' addresses.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  waitForHydration,
  subdomainUrl,
  platformUrl,
  uniqueEmail,
  mailLinkFor,
  signIn,
  signOut,
  submitSignIn,
  acceptAsNewAccount,
  screenshot,
  assertAccessible,
} from './support.mjs';

const acme = (p) => subdomainUrl('acme', p);

describe('one front door', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the platform home leads to sign-in, where "Find my clinic" emails the clinic addresses', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await open(page, platformUrl('/'));
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/signin', { waitUntil: 'load' }),
        page.locator('[data-testid=platform-sign-in]').click(),
      ]);
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/find-clinic', { waitUntil: 'load' }),
        page.locator('[data-testid=find-my-clinic-link]').click(),
      ]);
      await waitForHydration(page, '(find my clinic)');
      const find = page.locator('[data-testid=find-my-clinic]');
      await find.locator('#find_email').fill(ACCOUNTS.acmeOwner.email);
      await find.getByRole('button', { name: 'Email me my clinics' }).click();
      await page.locator('[data-testid=clinics-sent]').waitFor({ state: 'visible' });
      const link = new URL(await mailLinkFor(ACCOUNTS.acmeOwner.email));
      assert.equal(link.hostname, 'acme.localhost', `the email links elsewhere: ${link}`);
      assert.equal(link.pathname, '/signin');

      // An address with no clinic gets the same answer on screen.
      await open(page, platformUrl('/find-clinic'));
      await waitForHydration(page, '(find my clinic, again)');
      await find.locator('#find_email').fill(uniqueEmail('nobody'));
      await find.getByRole('button', { name: 'Email me my clinics' }).click();
      await page.locator('[data-testid=clinics-sent]').waitFor({ state: 'visible' });

      // A clinic owner signing in on the platform is told where to go.
      await open(page, platformUrl('/signin'));
      await submitSignIn(page, ACCOUNTS.acmeOwner.email, DEMO_PASSWORD);
      const error = page.locator('[data-testid=form-error]');
      await error.waitFor({ state: 'visible' });
      assert.match(await error.innerText(), /clinic's own address/);
      assert.match(await error.innerText(), /Find my clinic/);
    });
  });

  test('someone on the team who is also a patient chooses the door, and each leads to its area', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const email = uniqueEmail('dual');
    const password = 'a passphrase for both doors';
    // On the team (a new nurse).
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/users'));
      await waitForHydration(page, '(users)');
      const form = page.locator('[data-testid=invite-form]');
      await form.locator('#invite_email').fill(email);
      await form.locator('select#invite_role').selectOption('nurse');
      await form.getByRole('button', { name: 'Send invitation' }).click();
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
    });
    await withPage(browser, {}, async (page) => {
      await acceptAsNewAccount(page, await mailLinkFor(email), 'Dana Dual', password, /^\/staff$/);
    });
    // And a patient (portal access to a record without one).
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/patients'));
      await waitForHydration(page, '(patients)');
      // ACM-0004: a record no other test gives portal access to.
      const row = page.locator('[data-testid=patient-list] li[data-mrn="ACM-0004"]');
      await row.waitFor({ state: 'visible' });
      await row.getByLabel('Portal email').fill(email);
      await row.getByRole('button', { name: 'Invite to portal' }).click();
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
    });
    await withPage(browser, {}, async (page) => {
      await open(page, await mailLinkFor(email));
      await waitForHydration(page, '(accept portal invitation)');
      const form = page.locator('[data-testid=accept-form]');
      await form.locator('#password').fill(password);
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/portal', { waitUntil: 'load' }),
        form.getByRole('button', { name: 'Accept and sign in' }).click(),
      ]);
    });

    for (const [door, area, shell] of [
      ['staff', '/staff', 'staff-shell'],
      ['patient', '/portal', 'my-mrn'],
    ]) {
      await withPage(browser, {}, async (page) => {
        await open(page, acme('/signin'));
        await submitSignIn(page, email, password);
        const choose = page.locator('[data-testid=choose-door-form]');
        await choose.waitFor({ state: 'visible' });
        if (door === 'staff') {
          await screenshot(page, 'sign-in-choose-door');
          await assertAccessible(page, 'the door choice');
        }
        await Promise.all([
          page.waitForURL((u) => u.pathname === area, { waitUntil: 'load' }),
          choose.locator(`[data-testid=door-${door}]`).click(),
        ]);
        await page.locator(`[data-testid=${shell}]`).waitFor({ state: 'visible' });
        await signOut(page, acme);
      });
    }

    // Without JavaScript the choice works the same, and "Find my clinic" too.
    await withPage(browser, { javaScriptEnabled: false }, async (page) => {
      await open(page, acme('/signin'));
      const form = page.locator('[data-testid=sign-in-form]');
      await form.locator('#email').fill(email);
      await form.locator('#password').fill(password);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), form.getByRole('button', { name: 'Sign in' }).click()]);
      const choose = page.locator('[data-testid=choose-door-form]');
      await choose.waitFor({ state: 'visible' });
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), choose.locator('[data-testid=door-patient]').click()]);
      assert.equal(new URL(page.url()).pathname, '/portal');
      await open(page, platformUrl('/find-clinic'));
      const find = page.locator('[data-testid=find-my-clinic]');
      await find.locator('#find_email').fill(email);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), find.getByRole('button', { name: 'Email me my clinics' }).click()]);
      await page.locator('[data-testid=clinics-sent]').waitFor({ state: 'visible' });
    });
  });
});

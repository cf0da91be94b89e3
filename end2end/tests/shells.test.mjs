// App shells (staff dashboard, patient portal) and the sign-in pages:
// navigation present, no horizontal overflow on a 360 px phone, and the
// collapsed mobile nav opens after hydration. The shells need a sign-in: staff
// as the acme owner, the portal as a patient this file invites in `before`.
// The platform console needs an operator with two-factor (identity.test.mjs
// covers it, layout included); here anonymous /admin must go to the platform
// sign-in page.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  platformUrl,
  pathUrl,
  subdomainUrl,
  waitForHydration,
  screenshot,
  signIn,
  uniqueEmail,
  acceptAsNewAccount,
  invitePatientToPortal,
  assertNoHorizontalOverflow as assertNoOverflowAt,
  openCollapsedNav,
} from './support.mjs';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

/** The portal account that `before` creates (patient ACM-0003 of acme). */
const patient = { email: uniqueEmail('shell-patient'), password: 'lantern meadow copper rain', mrn: 'ACM-0003' };

const SHELLS = [
  {
    name: 'staff',
    url: pathUrl('acme', '/staff'),
    shell: 'staff-shell',
    signIn: (page) =>
      signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, { expect: /^\/t\/acme\/staff$/ }),
  },
  {
    name: 'portal',
    url: pathUrl('acme', '/portal'),
    shell: 'portal-shell',
    signIn: (page) =>
      signIn(page, pathUrl('acme', '/portal/signin'), patient.email, patient.password, { expect: /^\/t\/acme\/portal$/ }),
  },
];

const SIGNIN_PAGES = [
  { name: 'signin-acme-subdomain', url: subdomainUrl('acme', '/signin') },
  { name: 'signin-northwind-path', url: pathUrl('northwind', '/signin') },
  { name: 'signin-acme-portal-path', url: pathUrl('acme', '/portal/signin') },
  { name: 'signin-platform', url: platformUrl('/signin') },
];

async function assertNoHorizontalOverflow(page, where) {
  await assertNoOverflowAt(page, where, PHONE.width);
}

describe('app shells', { timeout: TEST_TIMEOUT_MS * 12 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
    // A portal account for the portal shell: the acme owner invites a patient.
    const link = await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      return invitePatientToPortal(page, (p) => pathUrl('acme', p), patient.mrn, patient.email);
    });
    await withPage(browser, DESKTOP, (page) =>
      acceptAsNewAccount(page, link, 'Aiko Tanaka', patient.password, /\/portal$/),
    );
  });
  after(async () => {
    await browser?.close();
  });

  for (const { name, url, shell, signIn: signInFor } of SHELLS) {
    test(`${name} shell renders with navigation (desktop)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, DESKTOP, async (page, { pageErrors, badAssets }) => {
        await signInFor(page);
        const response = await open(page, url);
        assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
        const root = page.locator(`[data-testid=${shell}]`);
        assert.equal(await root.count(), 1, `${url}: expected exactly one [data-testid=${shell}]`);
        assert.ok(await root.isVisible(), `${url}: [data-testid=${shell}] not visible`);
        const nav = page.locator('[data-testid=app-nav]');
        assert.equal(await nav.count(), 1, `${url}: expected exactly one [data-testid=app-nav]`);
        assert.equal(
          await nav.evaluate((el) => el.tagName.toLowerCase() === 'nav' || el.getAttribute('role') === 'navigation' || el.querySelector('nav') !== null),
          true,
          `${url}: [data-testid=app-nav] is not (and does not contain) a <nav>`,
        );
        assert.ok(await nav.isVisible(), `${url}: navigation not visible at ${DESKTOP.width}px`);
        assert.ok(((await nav.innerText()) ?? '').trim().length > 0, `${url}: navigation is empty`);
        // Let the wasm bundle load and hydrate before judging page errors.
        await page.waitForLoadState('networkidle');
        await screenshot(page, `shell-${name}-desktop`);
        assert.deepEqual(badAssets, [], 'client bundle assets failed to load');
        assert.deepEqual(pageErrors, [], `uncaught errors on ${url}`);
      });
    });

    test(`${name} shell fits a 360px screen and its nav opens`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, PHONE, async (page, { pageErrors }) => {
        await signInFor(page);
        const response = await open(page, url);
        assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
        assert.ok(await page.locator(`[data-testid=${shell}]`).isVisible(), `${url}: shell not visible at 360px`);
        await assertNoHorizontalOverflow(page, url);

        const nav = page.locator('[data-testid=app-nav]');
        const toggle = page.locator('[data-testid=nav-toggle]');
        if ((await toggle.count()) > 0 && (await toggle.first().isVisible())) {
          assert.equal(await nav.isVisible(), false, `${url}: nav-toggle shown although the nav is already open`);
          await openCollapsedNav(page, toggle.first(), nav, url);
        }
        assert.ok(await nav.isVisible(), `${url}: navigation not reachable at 360px`);
        await assertNoHorizontalOverflow(page, `${url} (navigation open)`);
        await screenshot(page, `shell-${name}-phone`);
        assert.deepEqual(pageErrors, [], `uncaught errors on ${url}`);
      });
    });
  }

  for (const { name, url, shell } of SHELLS) {
    test(`${name} shell sends anonymous visitors to its sign-in page`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, DESKTOP, async (page) => {
        const response = await open(page, url);
        assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
        const at = new URL(page.url());
        const signInPath = name === 'portal' ? '/t/acme/portal/signin' : '/t/acme/signin';
        assert.equal(at.pathname, signInPath, `${url}: anonymous visitor not sent to sign-in (at ${page.url()})`);
        assert.equal(at.searchParams.get('next'), new URL(url).pathname.replace('/t/acme', ''));
        assert.equal(await page.locator(`[data-testid=${shell}]`).count(), 0, `${url}: shell shown to an anonymous visitor`);
        assert.ok(await page.locator('[data-testid=sign-in-form]').isVisible(), `${url}: no sign-in form`);
      });
    });
  }

  test('admin console sends anonymous visitors to the platform sign-in page', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, DESKTOP, async (page, { pageErrors }) => {
      const url = platformUrl('/admin');
      const response = await open(page, url);
      assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
      const at = new URL(page.url());
      assert.equal(at.host, new URL(url).host);
      assert.equal(at.pathname, '/signin', `anonymous /admin not sent to sign-in (at ${page.url()})`);
      assert.equal(at.searchParams.get('next'), '/admin');
      assert.equal(await page.locator('[data-testid=admin-shell]').count(), 0, 'admin shell shown to an anonymous visitor');
      assert.ok(await page.locator('[data-testid=sign-in-form]').isVisible(), 'no sign-in form');
      assert.equal(((await page.locator('h1').first().innerText()) ?? '').trim(), 'Sign in to MediSync');
      assert.equal(((await page.locator('[data-testid=tenant-name]').innerText()) ?? '').trim(), 'MediSync');
      await waitForHydration(page, '(platform sign-in)');
      await screenshot(page, 'signin-platform-desktop');
      assert.deepEqual(pageErrors, [], 'uncaught errors on the platform sign-in page');
    });
  });

  for (const { name, url } of SIGNIN_PAGES) {
    test(`${name} fits a 360px screen`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, PHONE, async (page) => {
        const response = await open(page, url);
        assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
        await assertNoHorizontalOverflow(page, url);
        await waitForHydration(page, `(${name}, 360px)`);
        await assertNoHorizontalOverflow(page, `${url} (after hydration)`);
        await screenshot(page, `${name}-phone`);
      });
    });
  }
});

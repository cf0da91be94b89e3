// App shells (staff dashboard, patient portal, platform admin) and the
// sign-in page: navigation present, no horizontal overflow on a 360 px phone,
// and the collapsed mobile nav opens after hydration.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  launchBrowser,
  withPage,
  open,
  platformUrl,
  pathUrl,
  subdomainUrl,
  waitForHydration,
  documentScrollWidth,
  HYDRATION_TIMEOUT_MS,
  screenshot,
} from './support.mjs';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

const SHELLS = [
  { name: 'staff', url: pathUrl('acme', '/staff'), shell: 'staff-shell' },
  { name: 'portal', url: pathUrl('acme', '/portal'), shell: 'portal-shell' },
  { name: 'admin', url: platformUrl('/admin'), shell: 'admin-shell' },
];

const SIGNIN_PAGES = [
  { name: 'signin-acme-subdomain', url: subdomainUrl('acme', '/signin') },
  { name: 'signin-northwind-path', url: pathUrl('northwind', '/signin') },
];

async function assertNoHorizontalOverflow(page, where) {
  const scrollWidth = await documentScrollWidth(page);
  if (scrollWidth > PHONE.width) {
    // Name the widest offenders to make the failure actionable.
    const offenders = await page.evaluate((limit) => {
      const out = [];
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > limit + 0.5 && r.width > 0) {
          const id = el.getAttribute('data-testid');
          out.push(`${el.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).slice(0, 4).join('.')}` : ''} right=${Math.round(r.right)}`);
        }
        if (out.length >= 8) break;
      }
      return out;
    }, PHONE.width);
    assert.fail(
      `${where}: horizontal overflow at ${PHONE.width}px — document.documentElement.scrollWidth=${scrollWidth}; ` +
        `elements past the right edge: ${offenders.join(', ') || '(none found)'}`,
    );
  }
}

/**
 * Click the toggle until the nav shows. A click before the wasm bundle has
 * hydrated the page does nothing, so retry (each click is followed by a wait
 * long enough for a reactive update) until HYDRATION_TIMEOUT_MS has passed.
 */
async function openCollapsedNav(page, toggle, nav, url) {
  const deadline = Date.now() + HYDRATION_TIMEOUT_MS;
  let clicks = 0;
  while (Date.now() < deadline) {
    await toggle.click();
    clicks += 1;
    try {
      await nav.waitFor({ state: 'visible', timeout: 1_000 });
      return;
    } catch {
      // not hydrated yet (or the toggle is broken): try again
    }
  }
  assert.fail(
    `${url}: [data-testid=app-nav] did not become visible after ${clicks} clicks on ` +
      `[data-testid=nav-toggle] within ${HYDRATION_TIMEOUT_MS} ms (did the page hydrate?)`,
  );
}

describe('app shells', { timeout: TEST_TIMEOUT_MS * 12 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const { name, url, shell } of SHELLS) {
    test(`${name} shell renders with navigation (desktop)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, DESKTOP, async (page, { pageErrors, badAssets }) => {
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

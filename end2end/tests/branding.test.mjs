// Tenant-branded sign-in pages: per-tenant theme colour must be in the
// server-rendered <head> (no flash of the default theme), applied to the
// brand header, and survive hydration. Screenshots go to end2end/artifacts/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TENANTS,
  TEST_TIMEOUT_MS,
  launchBrowser,
  withPage,
  open,
  rawGet,
  tenantUrls,
  subdomainUrl,
  pathUrl,
  brandingStyleIn,
  brandPrimaryIn,
  waitForHydration,
  screenshot,
} from './support.mjs';

const BRANDED = [TENANTS.acme, TENANTS.northwind];

/** Computed theme values of the current page. */
async function themeOf(page) {
  return page.evaluate(() => {
    const header = document.querySelector('[data-testid=brand-header]');
    return {
      brandPrimary: getComputedStyle(document.documentElement)
        .getPropertyValue('--brand-primary')
        .trim()
        .toLowerCase(),
      headerBackground: header ? getComputedStyle(header).backgroundColor : null,
      headerCount: document.querySelectorAll('[data-testid=brand-header]').length,
      brandingStyleCount: document.querySelectorAll('style#tenant-branding').length,
    };
  });
}

/** Assert the sign-in form: inputs labelled Email and Password. */
async function assertSignInForm(page, where) {
  const email = page.getByLabel(/^\s*e-?mail/i);
  const password = page.getByLabel(/^\s*password/i);
  assert.equal(await email.count(), 1, `${where}: expected exactly one input labelled "Email"`);
  assert.equal(await password.count(), 1, `${where}: expected exactly one input labelled "Password"`);
  assert.ok(await email.isVisible(), `${where}: Email input not visible`);
  assert.ok(await password.isVisible(), `${where}: Password input not visible`);
  assert.equal(
    await password.getAttribute('type'),
    'password',
    `${where}: the Password input must be type=password`,
  );
  const emailType = (await email.getAttribute('type')) ?? 'text';
  assert.ok(['email', 'text'].includes(emailType), `${where}: Email input has type=${emailType}`);
  assert.equal(
    await email.evaluate((el) => el.closest('form') !== null),
    true,
    `${where}: Email input is not inside a <form>`,
  );
}

describe('tenant branding on the sign-in page', { timeout: TEST_TIMEOUT_MS * 12 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const tenant of BRANDED) {
    const others = BRANDED.filter((t) => t !== tenant);
    for (const { via, url } of tenantUrls(tenant.slug, '/signin')) {
      test(`${tenant.slug} via ${via}: raw server HTML carries the branding in <head>`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const res = await rawGet(url);
        assert.equal(res.status, 200, `GET ${url} -> ${res.status}`);
        const css = brandingStyleIn(res.body);
        assert.ok(
          css !== null,
          `GET ${url}: no <style id="tenant-branding"> inside <head> of the server-rendered HTML`,
        );
        const declared = brandPrimaryIn(css);
        assert.ok(declared, `GET ${url}: <style id="tenant-branding"> does not set --brand-primary on :root; got: ${css}`);
        assert.equal(declared.toLowerCase(), tenant.color, `GET ${url}: wrong --brand-primary`);
        assert.ok(
          res.body.includes(tenant.name),
          `GET ${url}: tenant name "${tenant.name}" is not in the server-rendered HTML`,
        );
        for (const other of others) {
          assert.ok(!res.body.includes(other.name), `GET ${url}: leaks another tenant's name "${other.name}"`);
        }
      });

      test(`${tenant.slug} via ${via}: themed before any script runs (JavaScript disabled)`, { timeout: TEST_TIMEOUT_MS }, async () => {
        await withPage(browser, { javaScriptEnabled: false }, async (page) => {
          const response = await open(page, url);
          assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
          const theme = await themeOf(page);
          assert.equal(theme.brandingStyleCount, 1, 'expected exactly one style#tenant-branding');
          assert.equal(theme.brandPrimary, tenant.color, 'computed --brand-primary without JS');
          assert.equal(theme.headerCount, 1, 'expected exactly one [data-testid=brand-header]');
          assert.equal(theme.headerBackground, tenant.rgb, 'brand header background without JS');
          const name = (await page.locator('[data-testid=tenant-name]').first().textContent()) ?? '';
          assert.equal(name.trim(), tenant.name, '[data-testid=tenant-name] without JS');
          await assertSignInForm(page, `${url} (no JS)`);
        });
      });

      test(`${tenant.slug} via ${via}: branded after hydration + screenshot`, { timeout: TEST_TIMEOUT_MS }, async () => {
        await withPage(browser, {}, async (page, { pageErrors, badAssets }) => {
          const response = await open(page, url);
          assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
          await waitForHydration(page, `(${tenant.slug} sign-in via ${via})`);
          const theme = await themeOf(page);
          assert.equal(theme.brandingStyleCount, 1, 'expected exactly one style#tenant-branding after hydration');
          assert.equal(theme.brandPrimary, tenant.color, 'computed --brand-primary after hydration');
          assert.equal(theme.headerBackground, tenant.rgb, 'brand header background after hydration');
          const tenantName = page.locator('[data-testid=tenant-name]');
          assert.ok(await tenantName.first().isVisible(), '[data-testid=tenant-name] not visible');
          assert.equal(((await tenantName.first().textContent()) ?? '').trim(), tenant.name);
          await assertSignInForm(page, url);
          await screenshot(page, `signin-${tenant.slug}-${via}`);
          assert.deepEqual(badAssets, [], 'client bundle assets failed to load');
          assert.deepEqual(pageErrors, [], 'uncaught errors on the sign-in page');
        });
      });
    }
  }

  test('acme and northwind headers have different colours', { timeout: TEST_TIMEOUT_MS }, async () => {
    const colours = {};
    for (const [slug, url] of [
      ['acme-subdomain', subdomainUrl('acme', '/signin')],
      ['acme-path', pathUrl('acme', '/signin')],
      ['northwind-subdomain', subdomainUrl('northwind', '/signin')],
      ['northwind-path', pathUrl('northwind', '/signin')],
    ]) {
      colours[slug] = await withPage(browser, {}, async (page) => {
        const response = await open(page, url);
        assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
        return (await themeOf(page)).headerBackground;
      });
    }
    assert.equal(colours['acme-subdomain'], colours['acme-path'], 'acme: subdomain and path pages differ');
    assert.equal(colours['northwind-subdomain'], colours['northwind-path'], 'northwind: subdomain and path pages differ');
    assert.notEqual(colours['acme-subdomain'], colours['northwind-subdomain'], 'acme and northwind headers look the same');
    assert.equal(colours['acme-subdomain'], TENANTS.acme.rgb);
    assert.equal(colours['northwind-subdomain'], TENANTS.northwind.rgb);
  });
});

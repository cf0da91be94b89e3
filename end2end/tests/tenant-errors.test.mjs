// Unknown and suspended tenants must get proper HTTP status codes and pages,
// never a sign-in form.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TENANTS,
  TEST_TIMEOUT_MS,
  launchBrowser,
  withPage,
  open,
  rawGet,
  pathUrl,
  subdomainUrl,
} from './support.mjs';

const UNKNOWN = [
  { via: 'path', url: pathUrl('nosuchclinic', '/signin') },
  { via: 'subdomain', url: subdomainUrl('nosuchclinic', '/') },
  { via: 'subdomain /signin', url: subdomainUrl('nosuchclinic', '/signin') },
];

const SUSPENDED = [
  { via: 'subdomain', url: subdomainUrl(TENANTS.harbor.slug, '/signin') },
  { via: 'path', url: pathUrl(TENANTS.harbor.slug, '/signin') },
];

async function assertNoSignInForm(page, where) {
  assert.equal(await page.locator('input[type=password]').count(), 0, `${where}: has a password input`);
  assert.equal(await page.getByLabel(/password/i).count(), 0, `${where}: has a "Password" field`);
  assert.equal(await page.getByLabel(/^\s*e-?mail/i).count(), 0, `${where}: has an "Email" field`);
}

describe('unknown and suspended tenants', { timeout: TEST_TIMEOUT_MS * 12 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const { via, url } of UNKNOWN) {
    test(`unknown tenant via ${via} -> 404 not-found page`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const raw = await rawGet(url);
      assert.equal(raw.status, 404, `GET ${url} (server) -> ${raw.status}`);
      assert.match(raw.body, /data-testid\s*=\s*["']?not-found\b/, `GET ${url}: raw HTML lacks [data-testid=not-found]`);

      await withPage(browser, {}, async (page) => {
        const response = await open(page, url);
        assert.equal(response.status(), 404, `${url} -> ${response.status()}`);
        const nf = page.locator('[data-testid=not-found]');
        assert.equal(await nf.count(), 1, `${url}: expected exactly one [data-testid=not-found]`);
        assert.ok(await nf.isVisible(), `${url}: [data-testid=not-found] not visible`);
        await assertNoSignInForm(page, url);
        assert.equal(await page.locator('[data-testid=suspended]').count(), 0, `${url}: shows the suspended page`);
      });
    });
  }

  for (const { via, url } of SUSPENDED) {
    test(`suspended tenant via ${via} -> 403 suspended page without sign-in form`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const raw = await rawGet(url);
      assert.equal(raw.status, 403, `GET ${url} (server) -> ${raw.status}`);
      assert.match(raw.body, /data-testid\s*=\s*["']?suspended\b/, `GET ${url}: raw HTML lacks [data-testid=suspended]`);
      assert.doesNotMatch(raw.body, /type\s*=\s*["']?password/i, `GET ${url}: raw HTML contains a password input`);

      await withPage(browser, {}, async (page) => {
        const response = await open(page, url);
        assert.equal(response.status(), 403, `${url} -> ${response.status()}`);
        const box = page.locator('[data-testid=suspended]');
        assert.equal(await box.count(), 1, `${url}: expected exactly one [data-testid=suspended]`);
        assert.ok(await box.isVisible(), `${url}: [data-testid=suspended] not visible`);
        assert.match((await box.innerText()) ?? '', /suspended/i, `${url}: suspended page does not say "suspended"`);
        await assertNoSignInForm(page, url);
        assert.equal(await page.locator('[data-testid=not-found]').count(), 0, `${url}: shows the not-found page`);
      });
    });
  }
});

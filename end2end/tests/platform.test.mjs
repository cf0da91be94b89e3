// Platform-level pages: health check and landing page.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser,
  withPage,
  open,
  platformUrl,
  rawGet,
  TEST_TIMEOUT_MS,
} from './support.mjs';

describe('platform', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('GET /healthz answers 200', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await rawGet(platformUrl('/healthz'));
    assert.equal(res.status, 200, `unexpected /healthz status, body: ${res.body.slice(0, 500)}`);
  });

  test('landing page is server-rendered with the MediSync name', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await rawGet(platformUrl('/'));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type'] ?? ''), /text\/html/i);
    assert.match(res.body, /MediSync/, 'raw HTML of / does not mention MediSync');
    assert.match(res.body, /data-testid\s*=\s*["']?landing\b/, 'raw HTML of / has no [data-testid=landing]');
  });

  test('landing page renders in the browser', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page, { pageErrors }) => {
      const response = await open(page, platformUrl('/'));
      assert.equal(response.status(), 200);
      const landing = page.locator('[data-testid=landing]');
      assert.equal(await landing.count(), 1, 'expected exactly one [data-testid=landing]');
      assert.ok(await landing.isVisible(), '[data-testid=landing] is not visible');
      const text = (await page.locator('body').textContent()) ?? '';
      assert.match(text, /MediSync/, 'landing page text does not mention MediSync');
      assert.deepEqual(pageErrors, [], 'uncaught errors on the landing page');
    });
  });
});

// The wasm bundle loads and hydrates the server-rendered page.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  launchBrowser,
  withPage,
  open,
  pathUrl,
  waitForHydration,
} from './support.mjs';

describe('hydration', { timeout: TEST_TIMEOUT_MS * 2 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('northwind sign-in page hydrates ([data-testid=hydrated] appears)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page, { pageErrors, badAssets }) => {
      const wasm = [];
      page.on('response', (res) => {
        if (new URL(res.url()).pathname.endsWith('.wasm')) wasm.push(`${res.status()} ${res.url()}`);
      });
      const url = pathUrl('northwind', '/signin');
      const response = await open(page, url);
      assert.equal(response.status(), 200, `${url} -> ${response.status()}`);
      const ssrHtml = await response.text();
      assert.doesNotMatch(
        ssrHtml,
        /data-testid\s*=\s*["']?hydrated\b/,
        'the server already rendered [data-testid=hydrated]; it must only appear after client hydration',
      );
      await waitForHydration(page, '(northwind sign-in)');
      assert.ok(wasm.length >= 1, 'no .wasm file was requested');
      assert.ok(wasm.every((w) => w.startsWith('200 ')), `wasm responses: ${wasm.join(', ')}`);
      assert.deepEqual(badAssets, [], 'client bundle assets failed to load');
      assert.deepEqual(pageErrors, [], 'uncaught errors during hydration');
    });
  });
});

// The waiting-room queue (issue 14, seed 002), as the front desk and the
// waiting room see it: the nurse at the front desk goes from the calendar to the queue,
// finds a walk-in by name and gives them a token with the doctor, makes the
// waiting-room screen's link and opens it on another device (no session);
// the token is on the screen, and when the desk calls it the screen changes by
// itself (server-sent events). The screen shows tokens, never names. Screens
// pass axe; the screen and the desk on a phone are kept as screenshots.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  launchBrowser,
  withPage,
  open,
  pathUrl,
  waitForHydration,
  screenshot,
  signIn,
  assertAccessible,
  assertNoHorizontalOverflow,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

describe('waiting-room queue', { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a walk-in gets a token that appears on the waiting-room screen, live', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, PHONE, async (desk) => {
      await signIn(desk, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await open(desk, pathUrl('acme', '/staff/calendar'));
      await waitForHydration(desk, 'calendar');
      await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="queue-link"]').click()]);
      await desk.locator('[data-testid="queue-desk"]').waitFor();

      // Find the walk-in by name (the name never goes into the address) …
      await desk.locator('[data-testid="queue-search"]').fill('Carter');
      await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="queue-find"]').click()]);
      assert.ok(!desk.url().includes('Carter'), `the typed name is in the address: ${desk.url()}`);
      const found = desk.locator('[data-testid="queue-found"]', { hasText: 'James Carter' });
      await found.locator('select[name="practitioner"]').selectOption({ label: ACCOUNTS.amara.name });
      // … and give a token with the doctor.
      await Promise.all([desk.waitForNavigation(), found.locator('[data-testid="queue-give"]').click()]);
      const said = await desk.locator('[data-testid="queue-message"]').innerText();
      const token = said.match(/Token (\d+) given/)?.[1];
      assert.ok(token, said);
      const line = desk.locator('[data-testid="queue-line"]', { hasText: ACCOUNTS.amara.name });
      const entry = line.locator(`[data-testid="queue-entry"][data-token="${token}"]`);
      assert.match(await entry.innerText(), /James Carter/);
      assert.equal(await entry.getAttribute('data-state'), 'waiting');
      await assertNoHorizontalOverflow(desk, 'queue desk');
      await screenshot(desk, 'queue-desk-phone');
      await assertAccessible(desk, 'queue desk');

      // The waiting room's screen: a link made once, opened without a session.
      await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="queue-board-make"]').click()]);
      const url = await desk.locator('[data-testid="queue-board-url"]').inputValue();
      assert.match(url, /\/queue\/board\/[^/]+$/);

      await withPage(browser, DESKTOP, async (screen) => {
        await open(screen, url);
        const board = screen.locator('[data-testid="queue-board"]');
        const doctor = board.locator('[data-testid="board-line"]', { hasText: ACCOUNTS.amara.name });
        await doctor.waitFor();
        assert.match(await doctor.locator('[data-testid="board-next"]').innerText(), new RegExp(`\\b${token}\\b`));
        assert.ok(!(await board.innerText()).includes('Carter'), 'no patient name on the screen');

        // The desk calls the token; the screen shows it without being reloaded.
        await open(desk, pathUrl('acme', '/queue'));
        const call = desk
          .locator(`[data-testid="queue-entry"][data-token="${token}"]`)
          .locator('[data-testid="queue-call"]');
        await Promise.all([desk.waitForNavigation(), call.click()]);
        await doctor
          .locator('[data-testid="board-called"]', { hasText: new RegExp(`\\b${token}\\b`) })
          .waitFor({ timeout: 15_000 });
        assert.ok(!(await board.innerText()).includes('Carter'), 'still no name');
        await screenshot(screen, 'queue-board-desktop');
        await assertAccessible(screen, 'waiting-room screen');
      });

      // The desk finishes the visit; the entry leaves the live line.
      await open(desk, pathUrl('acme', '/queue'));
      const called = desk.locator(`[data-testid="queue-entry"][data-token="${token}"]`);
      await Promise.all([desk.waitForNavigation(), called.locator('[data-testid="queue-start"]').click()]);
      await Promise.all([
        desk.waitForNavigation(),
        desk.locator(`[data-testid="queue-entry"][data-token="${token}"] [data-testid="queue-finish"]`).click(),
      ]);
      assert.equal(
        await desk.locator(`[data-testid="queue-entry"][data-token="${token}"]`).getAttribute('data-state'),
        'done',
      );
    });
  });
});

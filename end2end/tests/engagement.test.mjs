// Patient messages (issue 16), as the people who use them: the owner adds a
// reminder two hours ahead and sets the sending hours on the scheduling
// set-up page; the nurse books a visit and sees on the calendar which messages
// it will get and when; cancelling the visit cancels its reminders, and the
// calendar says so. (Sending, quiet hours and the clock are in the
// integration tests, which move the workers' clock.)
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
  signIn,
  assertAccessible,
  weekdayAhead,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };

describe('patient messages', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the owner sets reminders; the calendar shows what a visit will get, and a cancellation stops it', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, pathUrl('acme', '/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const section = page.locator('[data-testid="setup-messaging"]');
      const add = section.locator('[data-testid="add-reminder-rule"]');
      await add.locator('input[name="amount"]').fill('2');
      await add.locator('select[name="unit"]').selectOption('hours');
      await Promise.all([page.waitForNavigation(), add.locator('button[type="submit"]').click()]);
      const rules = await section.locator('[data-testid="reminder-rule"]').allInnerTexts();
      assert.ok(rules.some((r) => r.includes('1 day before, by email')), rules.join(' | '));
      assert.ok(rules.some((r) => r.includes('2 hours before, by email')), rules.join(' | '));

      // A mistake is named where it was made.
      await add.locator('input[name="amount"]').fill('45');
      await add.locator('select[name="unit"]').selectOption('days');
      await Promise.all([page.waitForNavigation(), add.locator('button[type="submit"]').click()]);
      await section.getByText('a reminder goes between 15 minutes and 30 days before').waitFor();

      const hours = section.locator('[data-testid="messaging-hours"]');
      await hours.locator('input[name="send_from"]').fill('07:30');
      await hours.locator('input[name="send_until"]').fill('20:00');
      await Promise.all([page.waitForNavigation(), hours.locator('button[type="submit"]').click()]);
      assert.equal(await section.locator('input[name="send_from"]').inputValue(), '07:30');
      await assertAccessible(page, 'scheduling set-up with messaging');
    });

    const date = weekdayAhead(12);
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await open(page, pathUrl('acme', `/staff/calendar?date=${date}`));
      await waitForHydration(page, 'calendar');
      const column = page.locator('[data-testid="calendar-column"]', { hasText: ACCOUNTS.amara.name });
      await Promise.all([page.waitForNavigation(), column.locator('[data-testid="free-slot"]').first().click()]);
      const panel = page.locator('[data-testid="book-panel"]');
      await panel.locator('[data-testid="book-search"]').fill('Nair');
      await Promise.all([page.waitForNavigation(), panel.locator('[data-testid="book-search"]').press('Enter')]);
      await Promise.all([
        page.waitForNavigation(),
        page.locator('[data-testid="book-patient"]', { hasText: 'Priya Nair' }).click(),
      ]);
      const visit = page.locator('[data-testid="appointment"][data-status="booked"]', { hasText: 'Priya Nair' });
      await visit.waitFor();
      const history = visit.locator('[data-testid="message-history"]');
      await history.locator('summary').click();
      const lines = await history.locator('[data-testid="message-line"]').allInnerTexts();
      assert.equal(lines.filter((l) => l.startsWith('Reminder by email: scheduled for')).length, 2, lines.join(' | '));
      assert.ok(lines.some((l) => l.startsWith('Update by email: scheduled for')), lines.join(' | '));
      await assertAccessible(page, 'calendar with message history');

      await visit.locator('summary', { hasText: 'Cancel' }).click();
      await visit.locator('input[name="reason"]').fill('Patient is unwell');
      await Promise.all([page.waitForNavigation(), visit.locator('button', { hasText: 'Cancel visit' }).click()]);
      const cancelled = page
        .locator('[data-testid="appointment"][data-status="cancelled"]', { hasText: 'Priya Nair' })
        .filter({ hasText: 'Patient is unwell' });
      await cancelled.waitFor();
      const after = cancelled.locator('[data-testid="message-history"]');
      await after.locator('summary').click();
      const now = await after.locator('[data-testid="message-line"]').allInnerTexts();
      assert.equal(now.filter((l) => l.startsWith('Reminder by email: cancelled')).length, 2, now.join(' | '));
      assert.ok(now.some((l) => l.includes('the visit is cancelled')), now.join(' | '));
    });
  });
});

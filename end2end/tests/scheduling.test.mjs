// Scheduling (issue 14), as the people who use it: an administrator adds a
// branch and gives the doctor hours there and rounds at the hospital on the
// same day; the nurse at the front desk books a known patient from the day calendar in
// three interactions after choosing the time (type the name, search, book),
// then cancels another visit with a reason. Screens pass axe; the day
// calendar is kept as screenshots on a desktop and a 360 px phone.
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
  weekdayAhead,
  assertNoHorizontalOverflow,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

describe('scheduling', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('an administrator gives the doctor a branch and hospital rounds on one day', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, pathUrl('acme', '/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const name = `Riverside ${Date.now() % 100000}`;
      const add = page.locator('[data-testid="add-location"]');
      await add.locator('input[name="name"]').fill(name);
      await Promise.all([page.waitForNavigation(), add.locator('button[type="submit"]').click()]);
      await page.locator('[data-testid="location"]', { hasText: name }).waitFor();

      const hours = page.locator('[data-testid="add-hours"]');
      const addHours = async (location, kind, start, end) => {
        await hours.locator('select[name="staff_id"]').selectOption({ label: ACCOUNTS.amara.name });
        await hours.locator('select[name="location_id"]').selectOption({ label: location });
        await hours.locator('select[name="kind"]').selectOption(kind);
        await hours.locator('input[name="days[d6]"]').check();
        await hours.locator('input[name="start"]').fill(start);
        await hours.locator('input[name="end"]').fill(end);
        await Promise.all([page.waitForNavigation(), hours.locator('button[type="submit"]').click()]);
      };
      await addHours(name, 'clinic', '08:00', '11:00');
      await addHours('City Hospital', 'rounds', '12:00', '15:00');
      const doctor = page.locator('[data-testid="practitioner"]', { hasText: ACCOUNTS.amara.name });
      const saturday = await doctor.locator('[data-testid="hours"]', { hasText: 'Saturday' }).allInnerTexts();
      assert.ok(saturday.some((t) => t.includes(name) && t.includes('08:00–11:00')), saturday.join(' | '));
      assert.ok(saturday.some((t) => t.startsWith('Rounds') && t.includes('City Hospital')), saturday.join(' | '));
      await assertAccessible(page, 'scheduling set-up');
    });
  });

  test('the front desk books a known patient in three interactions and cancels with a reason', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const date = weekdayAhead(8);
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await open(page, pathUrl('acme', `/staff/calendar?date=${date}`));
      await waitForHydration(page, 'calendar');
      const column = page.locator('[data-testid="calendar-column"]', { hasText: ACCOUNTS.amara.name });
      const slot = column.locator('[data-testid="free-slot"]').first();
      const time = (await slot.innerText()).trim();
      // Choosing the time …
      await Promise.all([page.waitForNavigation(), slot.click()]);
      const panel = page.locator('[data-testid="book-panel"]');
      await panel.waitFor();
      // … then 1: type the name, 2: search, 3: book.
      await panel.locator('[data-testid="book-search"]').fill('Carter');
      await Promise.all([page.waitForNavigation(), panel.locator('[data-testid="book-search"]').press('Enter')]);
      assert.ok(!page.url().includes('Carter'), `the typed name is in the address: ${page.url()}`);
      const book = page.locator('[data-testid="book-patient"]', { hasText: 'James Carter' });
      await Promise.all([page.waitForNavigation(), book.click()]);
      const visit = page.locator('[data-testid="appointment"]', { hasText: 'James Carter' });
      await visit.waitFor();
      assert.match(await visit.innerText(), new RegExp(`^${time}`));
      assert.equal(await page.locator('[data-testid="book-panel"]').count(), 0, 'the chosen time is taken');
      assert.equal(
        await column.locator('[data-testid="free-slot"]', { hasText: new RegExp(`^${time}$`) }).count(),
        0,
        'no longer offered',
      );
      await screenshot(page, 'calendar-day-desktop');
      await assertAccessible(page, 'day calendar');

      // Cancel it again, with a reason.
      await visit.locator('summary', { hasText: 'Cancel' }).click();
      await visit.locator('input[name="reason"]').fill('Patient asked to rebook');
      await Promise.all([page.waitForNavigation(), visit.locator('button', { hasText: 'Cancel visit' }).click()]);
      const cancelled = page.locator('[data-testid="appointment"][data-status="cancelled"]', { hasText: 'James Carter' });
      await cancelled.waitFor();
      assert.match(await cancelled.innerText(), /Patient asked to rebook/);
    });

    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await open(page, pathUrl('acme', `/staff/calendar?date=${date}`));
      await waitForHydration(page, 'calendar on a phone');
      await page.locator('[data-testid="calendar-column"]').first().waitFor();
      await assertNoHorizontalOverflow(page, 'day calendar on a phone');
      await screenshot(page, 'calendar-day-phone');
    });
  });

  test('the front desk books a weekly series and reads which dates were booked', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const date = weekdayAhead(23);
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await open(page, pathUrl('acme', `/staff/calendar?date=${date}`));
      await waitForHydration(page, 'calendar');
      const column = page.locator('[data-testid="calendar-column"]', { hasText: ACCOUNTS.amara.name });
      const slot = column.locator('[data-testid="free-slot"]').last();
      const time = (await slot.innerText()).trim();
      await Promise.all([page.waitForNavigation(), slot.click()]);
      const panel = page.locator('[data-testid="book-panel"]');
      await panel.locator('[data-testid="book-search"]').fill('Carter');
      await Promise.all([page.waitForNavigation(), panel.locator('[data-testid="book-search"]').press('Enter')]);
      const row = page.locator('[data-testid="book-results"] li', { hasText: 'James Carter' });
      await row.locator('[data-testid="book-repeat"] summary').click();
      await row.locator('select[name="every_weeks"]').selectOption('1');
      await row.locator('input[name="times"]').fill('3');
      await Promise.all([page.waitForNavigation(), row.locator('[data-testid="book-series"]').click()]);
      const report = page.locator('[data-testid="series-report"]');
      await report.waitFor();
      assert.match(await report.locator('h3').innerText(), /James Carter, every week: \d of 3 visits booked/);
      const booked = await report.locator('[data-testid="series-booked"] li').allInnerTexts();
      assert.ok(booked.length >= 1 && booked.every((b) => b.includes(`${time}–`)), booked.join(' | '));
      // The first visit is on this day's calendar.
      await page.locator('[data-testid="appointment"]', { hasText: 'James Carter' }).first().waitFor();
      await assertAccessible(page, 'series report');
    });
  });
});

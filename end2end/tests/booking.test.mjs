// Online booking (issue 14), as a new patient does it on a phone: the clinic's
// public page `/book` shows the soonest free times at once; the patient picks
// one, gives their details, types the code the clinic emailed them, lands on
// their booking, finds the confirmation with its calendar entry in the
// mailbox, and cancels through their own page. No script is needed anywhere;
// every screen passes axe.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  launchBrowser,
  withPage,
  open,
  pathUrl,
  platformUrl,
  rawGet,
  screenshot,
  assertAccessible,
  assertNoHorizontalOverflow,
  uniqueEmail,
  sleep,
  signIn,
  waitForHydration,
  ACCOUNTS,
} from './support.mjs';

const PHONE = { width: 360, height: 740 };

/** The newest message in the dev mailbox to `to` whose subject starts with `subject`. */
async function mailTo(to, subject, { timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await rawGet(platformUrl('/dev/mailbox'));
    assert.equal(res.status, 200, `/dev/mailbox -> ${res.status}`);
    const found = res.body
      .split(/<article\b/)
      .slice(1)
      .find((a) => a.includes(`data-to="${to}"`) && new RegExp(`<h2[^>]*>${subject}`).test(a));
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no "${subject}" mail to ${to} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe('online booking', { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a new patient books on /book with an emailed code, gets the .ics and cancels', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const email = uniqueEmail('online-booking');
    await withPage(browser, PHONE, async (page) => {
      await open(page, pathUrl('acme', '/book'));
      await page.locator('[data-testid="book-page"] h1', { hasText: 'Book an appointment' }).waitFor();
      const soonest = page.locator('[data-testid="book-type"]', { hasText: 'Consultation' });
      await soonest.locator('[data-testid="book-time"]').first().waitFor();
      await assertNoHorizontalOverflow(page, 'book');
      await screenshot(page, 'book-soonest-360');
      await assertAccessible(page, 'public booking page');

      // More times for the visit, then one of them.
      await Promise.all([page.waitForNavigation(), soonest.getByRole('link', { name: /More times/ }).click()]);
      await page.locator('[data-testid="book-week"]').waitFor();
      await assertAccessible(page, 'a week of times');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-time"]').first().click()]);
      const details = page.locator('[data-testid="book-details"]');
      await details.waitFor();
      const chosen = (await page.locator('[data-testid="book-summary"]').innerText()).trim();

      await page.getByLabel('Given name').fill('Nadia');
      await page.getByLabel('Family name').fill(`Online${Date.now() % 100000}`);
      await page.getByLabel('Date of birth').fill('1991-04-05');
      await page.getByLabel('Email').fill('nadia-at-example');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-send-code"]').click()]);
      // A mistake is named beside its field, what was typed stays.
      await page.locator('[data-testid="book-error"]').waitFor();
      assert.equal(await page.getByLabel('Given name').inputValue(), 'Nadia');
      await assertAccessible(page, 'details with an error');
      await page.getByLabel('Email').fill(email);
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-send-code"]').click()]);
      await page.locator('[data-testid="book-verify"]').waitFor();
      await assertAccessible(page, 'code step');

      const codeMail = await mailTo(email, 'Your booking code');
      const code = /\b(\d{6})\b/.exec(codeMail)?.[1];
      assert.ok(code, 'a six-digit code in the email');
      assert.ok(!codeMail.includes('Nadia'), 'the code email names nobody');
      await page.getByLabel('Code').fill(code);
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-confirm"]').click()]);
      await page.locator('[data-testid="book-manage"]').waitFor();
      assert.match(await page.locator('[data-testid="book-notice"]').innerText(), /is booked/);
      assert.equal((await page.locator('[data-testid="book-status"]').innerText()).trim(), 'Booked');
      await screenshot(page, 'book-booked-360');
      await assertAccessible(page, 'the booking');

      const confirmation = await mailTo(email, 'Appointment booked');
      assert.match(confirmation, /data-testid="mail-attachment" data-name="appointment.ics"/);
      assert.match(confirmation, /BEGIN:VCALENDAR[\s\S]*DTSTART:\d{8}T\d{6}Z[\s\S]*END:VCALENDAR/);
      assert.match(confirmation, /\/book\/manage\?token=/);
      assert.ok(chosen.length > 0);

      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-cancel"]').click()]);
      assert.match(await page.locator('[data-testid="book-notice"]').innerText(), /cancelled/);
      assert.equal((await page.locator('[data-testid="book-status"]').innerText()).trim(), 'Cancelled');
    });
  });

  test('a doctor makes a private calendar feed from the calendar, a calendar app reads it, then it is revoked', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, { width: 1280, height: 900 }, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      // The dashboard shows the doctor's own day.
      await page.locator('[data-testid="today"]').waitFor();
      await open(page, pathUrl('acme', '/staff/calendar'));
      await waitForHydration(page, 'calendar');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="feed-link"]').click()]);
      await page.locator('[data-testid="calendar-feed"]').waitFor();
      await assertAccessible(page, 'calendar feed');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="feed-make"]').click()]);
      const url = await page.locator('[data-testid="feed-url"]').inputValue();
      const feed = await rawGet(url);
      assert.equal(feed.status, 200, `${url} -> ${feed.status}`);
      assert.match(String(feed.headers['content-type']), /^text\/calendar/);
      assert.match(feed.body, /^BEGIN:VCALENDAR\r\n/);
      assert.match(feed.body, /BEGIN:VEVENT\r\n[\s\S]*SUMMARY:/, 'the demo visits are in the feed');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="feed-revoke"]').click()]);
      assert.equal((await rawGet(url)).status, 404, 'a revoked feed opens nothing');
    });
  });

  test('a patient signed in to the portal books a visit without a code and sees it listed', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', undefined, { expect: /\/portal$/ });
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="my-appointments"]').click()]);
      await page.locator('[data-testid="book-mine"]').waitFor();
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Book a visit' }).click()]);
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-time"]').first().click()]);
      assert.match(await page.locator('[data-testid="book-for"]').innerText(), /Priya/);
      await assertAccessible(page, 'booking as a signed-in patient');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="book-own"]').click()]);
      assert.match(await page.locator('[data-testid="book-notice"]').innerText(), /booked/);
      await page.locator('[data-testid="my-visit"]').first().waitFor();
      await assertAccessible(page, 'your appointments');
    });
  });
});

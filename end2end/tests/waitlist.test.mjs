// The waitlist (issue 14 ★): a waitlisted patient receives the offer and
// accepts it. The nurse at the front desk books a known patient into a time
// on the day calendar, registers a new patient (with an email: offers go by
// email) and, from the calendar's "Waitlist" link, puts them on the waitlist
// for that visit with that doctor at that place on that day. The desk then
// cancels the first visit with a reason. Nothing more is clicked: after the
// debounce the freed time is offered by email, with no offer before it. The
// patient opens the link on a phone with no session: the page shows the time,
// the doctor and the clinic, and no other patient's name; one press books it.
// The desk's calendar then shows the visit booked for the waitlisted patient,
// and the waitlist shows the entry as booked. The offer page passes axe, fits a
// 360 px phone and is kept as a screenshot.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  TENANTS,
  launchBrowser,
  withPage,
  open,
  pathUrl,
  platformUrl,
  rawGet,
  waitForHydration,
  screenshot,
  signIn,
  assertAccessible,
  assertNoHorizontalOverflow,
  weekdayAhead,
  uniqueEmail,
  mailLinkFor,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

/** How long freed time waits before it is offered (DEBOUNCE in the app). */
const DEBOUNCE_MS = 2 * 60_000;
/** The debounce, the worker's turn and a margin for a slow machine. */
const OFFER_WAIT_MS = 4 * 60_000;

/** Letters only, so the name passes the registry's rules and is unique per run. */
const RUN = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const WAITER = { given: 'Wren', family: `Waitlist${RUN}` };
const WAITER_NAME = `${WAITER.given} ${WAITER.family}`;
/** The demo patient whose visit is cancelled. */
const FIRST = { search: 'Osei', name: 'Samuel Osei' };
/** Every demo patient at Acme: none of them is named on the offer's page. */
const OTHER_PATIENTS = ['Maria Lopez', 'James Carter', 'Aiko Tanaka', 'Samuel Osei', 'Priya Nair'];

/** A YYYY-MM-DD date in each of the date formats a clinic may choose. */
function dateShownAs(iso) {
  const [y, m, d] = iso.split('-');
  const month = new Date(`${iso}T12:00:00Z`).toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' });
  return new RegExp([`${y}-${m}-${d}`, `${d}/${m}/${y}`, `${m}/${d}/${y}`, `${d}\\.${m}\\.${y}`, `${d} ${month} ${y}`].join('|'));
}

/** The offers (by subject) sent to `to` that the dev mailbox shows now. */
async function offersIn(to) {
  const res = await rawGet(platformUrl('/dev/mailbox'));
  assert.equal(res.status, 200, `/dev/mailbox -> ${res.status}`);
  return res.body
    .split(/<article\b/)
    .slice(1)
    .filter((a) => a.includes(`data-to="${to}"`) && /<h2[^>]*>A time has opened up/.test(a)).length;
}

describe('waitlist', { timeout: TEST_TIMEOUT_MS * 4 + OFFER_WAIT_MS }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test(
    'a waitlisted patient receives the offer of a cancelled time and accepts it',
    { timeout: TEST_TIMEOUT_MS * 3 + OFFER_WAIT_MS },
    async () => {
      // Further ahead than the other tests' days (scheduling: 8, engagement: 12).
      const date = weekdayAhead(19);
      const email = uniqueEmail('waitlist');
      const calendar = pathUrl('acme', `/staff/calendar?date=${date}`);
      let time;
      let cancelledAt;

      await withPage(browser, DESKTOP, async (desk) => {
        await signIn(desk, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);

        // The front desk books a known patient into the doctor's first free time.
        await open(desk, calendar);
        await waitForHydration(desk, 'calendar');
        assert.match(await desk.locator('[data-testid="calendar-date"]').innerText(), /Main clinic/);
        const column = desk.locator('[data-testid="calendar-column"]', { hasText: ACCOUNTS.amara.name });
        const slot = column.locator('[data-testid="free-slot"]').first();
        time = (await slot.innerText()).trim();
        assert.match(time, /^\d\d:\d\d$/);
        await Promise.all([desk.waitForNavigation(), slot.click()]);
        const panel = desk.locator('[data-testid="book-panel"]');
        await panel.locator('[data-testid="book-search"]').fill(FIRST.search);
        await Promise.all([desk.waitForNavigation(), panel.locator('[data-testid="book-search"]').press('Enter')]);
        await Promise.all([
          desk.waitForNavigation(),
          desk.locator('[data-testid="book-patient"]', { hasText: FIRST.name }).click(),
        ]);
        const visit = desk.locator('[data-testid="appointment"][data-status="booked"]', { hasText: FIRST.name });
        await visit.waitFor();
        const booked = await visit.innerText();
        assert.match(booked, new RegExp(`^${time}`));
        assert.match(booked, /Consultation/);

        // Another patient, new to the clinic, gives an email address at registration …
        await open(desk, pathUrl('acme', '/staff/patients'));
        await waitForHydration(desk, 'patients');
        await desk.locator('[data-testid="register-patient"] summary').click();
        const form = desk.locator('[data-testid="register-form"]');
        await form.locator('#given_name').fill(WAITER.given);
        await form.locator('#family_name').fill(WAITER.family);
        await form.locator('#birth_date').fill('1988-04-17');
        await form.locator('#sex').selectOption('female');
        await form.locator('#email').fill(email);
        await Promise.all([desk.waitForNavigation(), form.locator('[data-testid="register-submit"]').click()]);
        assert.match(new URL(desk.url()).pathname, /\/staff\/patients\/[0-9a-f-]{36}$/, 'registration lands on the chart');

        // … and wants that visit, that day: the desk puts her on the waitlist.
        await open(desk, calendar);
        await waitForHydration(desk, 'calendar, again');
        await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="waitlist-link"]').click()]);
        await desk.locator('[data-testid="waitlist-desk"]').waitFor();
        await desk.locator('[data-testid="waitlist-search"]').fill(WAITER.family);
        await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="waitlist-find"]').click()]);
        assert.ok(!desk.url().includes(WAITER.family), `the typed name is in the address: ${desk.url()}`);
        const found = desk.locator('[data-testid="waitlist-found"]', { hasText: WAITER_NAME });
        await found.getByLabel('Visit').selectOption({ label: 'Consultation' });
        await found.getByLabel('Where').selectOption({ label: 'Main clinic' });
        await found.getByLabel('With').selectOption({ label: ACCOUNTS.amara.name });
        await found.getByLabel('From').fill(date);
        await found.getByLabel('Until').fill(date);
        await Promise.all([desk.waitForNavigation(), found.locator('[data-testid="waitlist-add"]').click()]);
        assert.match(await desk.locator('[data-testid="waitlist-message"]').innerText(), /Added to the waitlist/);
        const entry = desk.locator('[data-testid="waitlist-entry"]', { hasText: WAITER_NAME });
        assert.equal(await entry.getAttribute('data-state'), 'waiting');
        const waits = await entry.innerText();
        assert.match(waits, /Consultation · Main clinic · Dr\. Amara Okafor/);
        assert.ok(waits.includes(`${date} – ${date}`), waits);

        // The first patient cancels: the desk frees the time, with a reason.
        await open(desk, calendar);
        await waitForHydration(desk, 'calendar, to cancel');
        const again = desk.locator('[data-testid="appointment"][data-status="booked"]', { hasText: FIRST.name });
        await again.locator('summary', { hasText: 'Cancel' }).click();
        await again.locator('input[name="reason"]').fill('Patient cannot come that day');
        cancelledAt = Date.now();
        await Promise.all([desk.waitForNavigation(), again.locator('button', { hasText: 'Cancel visit' }).click()]);
        const cancelled = desk.locator('[data-testid="appointment"][data-status="cancelled"]', { hasText: FIRST.name });
        await cancelled.waitFor();
        assert.match(await cancelled.innerText(), /Patient cannot come that day/);
      });

      // Nobody else touches anything. Not offered at once (the debounce) …
      assert.equal(await offersIn(email), 0, 'no offer before the debounce');
      // … but within a few minutes the offer is in the patient's mailbox.
      const link = await mailLinkFor(email, { timeoutMs: OFFER_WAIT_MS });
      const waited = Date.now() - cancelledAt;
      assert.match(new URL(link).pathname, /^\/t\/acme\/waitlist\/offer\/[^/]+$/, link);
      assert.equal(await offersIn(email), 1, 'one offer');
      assert.ok(waited >= DEBOUNCE_MS - 10_000, `offered ${Math.round(waited / 1000)} s after the cancellation, before the debounce`);

      // The patient opens the link on her phone, with no session.
      await withPage(browser, PHONE, async (patient) => {
        const res = await open(patient, link);
        assert.equal(res.status(), 200, `${link} -> ${res.status()}`);
        const page = patient.locator('[data-testid="offer-page"]');
        await page.locator('h1', { hasText: 'A time has opened up' }).waitFor();
        const offered = await patient.locator('[data-testid="offer-time"]').innerText();
        assert.match(offered, /Consultation with Dr\. Amara Okafor at Main clinic/);
        assert.match(offered, dateShownAs(date));
        assert.ok(offered.includes(time), `the offer names ${time}: ${offered}`);
        const whole = await patient.locator('body').innerText();
        assert.ok(whole.includes(TENANTS.acme.name), `the clinic is named: ${whole}`);
        for (const other of OTHER_PATIENTS) assert.ok(!whole.includes(other), `${other} is named on the offer`);
        await assertNoHorizontalOverflow(patient, 'offer page on a phone');
        await screenshot(patient, 'waitlist-offer-phone');
        await assertAccessible(patient, 'offer page');

        // One press books it.
        await Promise.all([patient.waitForNavigation(), patient.locator('[data-testid="offer-accept"]').click()]);
        await patient.locator('[data-testid="offer-booked"]').waitFor();
        assert.match(await page.innerText(), /You are booked/);
        assert.ok((await patient.locator('[data-testid="offer-time"]').innerText()).includes(time));
        await assertAccessible(patient, 'offer booked');
      });

      // The desk sees the visit booked for the waitlisted patient at that time.
      await withPage(browser, DESKTOP, async (desk) => {
        await signIn(desk, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
        await open(desk, calendar);
        await waitForHydration(desk, 'calendar, after the offer');
        const column = desk.locator('[data-testid="calendar-column"]', { hasText: ACCOUNTS.amara.name });
        const visit = column.locator('[data-testid="appointment"][data-status="booked"]', { hasText: WAITER_NAME });
        await visit.waitFor();
        assert.match(await visit.innerText(), new RegExp(`^${time}`));
        assert.equal(
          await column.locator('[data-testid="free-slot"]', { hasText: new RegExp(`^${time}$`) }).count(),
          0,
          'the time is taken again',
        );
        await Promise.all([desk.waitForNavigation(), desk.locator('[data-testid="waitlist-link"]').click()]);
        const entry = desk.locator('[data-testid="waitlist-entry"]', { hasText: WAITER_NAME });
        assert.equal(await entry.getAttribute('data-state'), 'booked');
      });
    },
  );
});

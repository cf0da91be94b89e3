// Billing (issue 15), as the people who use it: the owner sets the clinic up
// for India's GST; at the front desk a finished visit is invoiced in one
// click, a taxable product is added (the document becomes an
// invoice-cum-bill of supply with CGST and SGST), the invoice is issued and
// part is paid in cash and the receipt printed on the 80 mm roll; then billing corrects the product with a credit note
// and the day's collections show the cash. Screens pass axe; the invoice is
// kept as a screenshot.
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
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };

/** The first working day after today where the demo clinic is (New York): its demo visits. */
function firstDemoDay() {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** Submits a plain form by its button and waits for the page it lands on. */
async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

describe('billing', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a finished visit is invoiced under GST, part paid in cash, and a line credited', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    let invoiceUrl;
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, pathUrl('acme', '/staff/billing?view=setup'));
      await waitForHydration(page, 'billing set-up');
      const settings = page.locator('[data-testid="billing-settings"]');
      await settings.locator('select[name="regime"]').selectOption('india_gst');
      await settings.locator('input[name="tax_id"]').fill('29ABCDE1234F1Z5');
      await settings.locator('input[name="state"]').fill('Karnataka');
      await submit(page, settings.locator('button[type="submit"]'));
      const category = page.locator('form', { has: page.locator('input[name="rate"]') });
      await category.locator('input[name="code"]').fill('standard');
      await category.locator('input[name="name"]').fill('Standard rate');
      await category.locator('input[name="rate"]').fill('18');
      await submit(page, category.locator('button[type="submit"]'));
      await page.getByText('Standard rate (standard): 18.00 %').waitFor();
      await assertAccessible(page, 'billing set-up');

      // The visit: arrived, seen, finished, then invoiced in one click.
      await open(page, pathUrl('acme', `/staff/calendar?date=${firstDemoDay()}`));
      await waitForHydration(page, 'calendar');
      const first = page.locator('[data-testid="appointment"][data-status="booked"]').first();
      const name = (await first.locator('a').first().innerText()).trim();
      const visit = () => page.locator('[data-testid="appointment"]', { hasText: name });
      for (const step of ['Arrived', 'In consultation', 'Completed']) {
        await submit(page, visit().locator('button', { hasText: new RegExp(`^${step}$`) }));
      }
      await submit(page, visit().locator('[data-testid="invoice-visit"]'));
      const invoice = page.locator('[data-testid="invoice"]');
      await invoice.waitFor();
      invoiceUrl = page.url();
      assert.match(invoiceUrl, /\/staff\/billing\?invoice=/);
      assert.equal(await page.locator('[data-testid="invoice-title"]').innerText(), 'Bill of supply');

      const add = page.locator('[data-testid="add-line"]');
      await add.locator('[data-testid="line-service"]').selectOption({ label: 'Sunscreen SPF 50 (12.00)' });
      await submit(page, add.locator('[data-testid="add-line-submit"]'));
      assert.equal(await page.locator('[data-testid="invoice-title"]').innerText(), 'Invoice-cum-bill of supply');
      const taxes = await page.locator('[data-testid="line-tax"]').allInnerTexts();
      assert.deepEqual(taxes, ['Exempt', 'CGST 1.08 + SGST 1.08']);
      assert.equal(await page.locator('[data-testid="total"]').innerText(), '59.16 USD');

      await submit(page, page.locator('[data-testid="issue-invoice"]'));
      assert.match(await page.locator('[data-testid="invoice-number"]').innerText(), /^INV-\d{5}$/);
      const pay = page.locator('[data-testid="take-payment"]');
      await pay.locator('[data-testid="payment-method"]').selectOption('cash');
      await pay.locator('[data-testid="payment-amount"]').fill('20');
      await submit(page, pay.locator('[data-testid="take-payment-submit"]'));
      assert.equal(await page.locator('[data-testid="total-owed"]').innerText(), '39.16 USD');
      assert.match(await page.locator('[data-testid="payments"]').innerText(), /RCT-\d{5}[\s\S]*Cash[\s\S]*20\.00 USD/);
      await screenshot(page, 'invoice-desktop');
      await assertAccessible(page, 'invoice');
      // The demo patient has no email address: emailing the receipt says so.
      await submit(page, page.locator('[data-testid="email-receipt"] button').first());
      await page.getByText('no email address on their record').waitFor();

      // The invoice on A4 and the cash receipt on the 80 mm roll.
      const printHref = await page.locator('[data-testid="print-invoice"]').getAttribute('href');
      const receiptHref = await page.locator('[data-testid="receipt-link"]').first().getAttribute('href');
      await open(page, new URL(printHref, page.url()).href);
      const printed = await page.locator('[data-testid="printable"]').innerText();
      assert.match(printed, /Invoice-cum-bill of supply INV-\d{5}/i);
      assert.match(printed, /CGST 9\.00 %: 1\.08/);
      await open(page, new URL(receiptHref, page.url()).href);
      const receipt = page.locator('[data-testid="printable"]');
      assert.equal(await receipt.getAttribute('data-size'), 'receipt');
      assert.match(await receipt.innerText(), /Receipt RCT-\d{5}[\s\S]*20\.00 USD/i);
      await screenshot(page, 'receipt-80mm');
    });

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeBilling.email);
      await open(page, invoiceUrl);
      await waitForHydration(page, 'invoice for billing');
      const credit = page.locator('[data-testid="credit-form"]');
      await page.locator('summary', { hasText: 'Correct with a credit note' }).click();
      await credit.getByLabel(/Sunscreen/).check();
      await credit.locator('[data-testid="credit-reason"]').fill('Returned unopened');
      await submit(page, credit.locator('[data-testid="credit-submit"]'));
      assert.match(await page.locator('[data-testid="credit-notes"]').innerText(), /CN-\d{5}[\s\S]*14\.16 USD/);
      assert.equal(await page.locator('[data-testid="total-credited"]').innerText(), '14.16 USD');
      assert.equal(await page.locator('[data-testid="total-owed"]').innerText(), '25.00 USD');

      await open(page, pathUrl('acme', '/staff/billing?view=collections'));
      await waitForHydration(page, 'collections');
      const byMethod = await page.locator('[data-testid="collections-by-method"]').innerText();
      assert.match(byMethod, /Cash\s+\d+\.\d{2}/);
      const total = await page.locator('[data-testid="collections-total"]').innerText();
      assert.match(total, /^Received \d+\.\d{2} USD/);
      await assertAccessible(page, 'collections');
    });
  });
});

// Prescribing (issue 13), as the people who use it: a doctor prescribes
// amoxicillin to the demo patient with a penicillin allergy; the interruptive
// alert names the allergy, saving without a reason is refused, with a reason
// it saves; warfarin with ibuprofen raises the interaction alert; the
// pharmacist sees the override in the queue, dispenses part, is refused more
// than remains, then dispenses the rest; a prescription whose allergy check
// could not run is saved only once acknowledged, prints (A4 page, PDF read back
// with pdftotext), and the patient asks for a refill from the portal, which the
// doctor approves. Screens pass axe; screenshots are kept.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEST_TIMEOUT_MS,
  DEMO_PASSWORD,
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
  openChartOf,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const PHARMACIST = 'paul.patel@acme.example';

/** Opens the chart of `name` and waits for its prescription form. */
async function openPrescribing(page, query, name) {
  await openChartOf(page, query, name);
  await page.locator('[data-testid="prescribe-form"]').waitFor();
}

/** Fills line `n` of the prescription form. */
async function fillLine(page, n, { medicine, dose, unit, frequency, days }) {
  await page.fill(`#l${n}-medicine`, medicine);
  await page.fill(`#l${n}-dose`, dose);
  await page.selectOption(`#l${n}-dose_unit`, unit);
  await page.fill(`#l${n}-frequency`, frequency);
  await page.fill(`#l${n}-duration_days`, days);
}

async function save(page) {
  await Promise.all([page.waitForNavigation(), page.click('[data-testid="prescribe-submit"]')]);
  await page.locator('[data-testid="prescribe-form"]').waitFor();
}

describe('prescribing', { timeout: TEST_TIMEOUT_MS * 6 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('an allergy interrupts until a reason is given; an interaction is flagged', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await openPrescribing(page, 'Lopez', 'Maria Lopez');
      const before = await page.locator('[data-testid="active-prescriptions"] [data-testid="prescription"]').count();
      await fillLine(page, 0, { medicine: 'Amoxicillin 500 mg capsule', dose: '500', unit: 'mg', frequency: '1-0-1', days: '5' });
      await save(page);

      const review = page.locator('[data-testid="safety-review"]');
      await review.waitFor();
      const allergy = page.locator('[data-testid="alert"][data-level="interruptive"]').first();
      assert.match(await allergy.innerText(), /Allergy: Penicillins/);
      assert.match(await allergy.innerText(), /Hives and swelling of the lips/);
      assert.equal(await page.inputValue('#l0-medicine'), 'Amoxicillin 500 mg capsule', 'what was typed is kept');
      await screenshot(page, 'prescribing-allergy-alert-desktop');
      await assertAccessible(page, 'prescription safety review');

      // Saving again without a reason is refused: the alert stays.
      await save(page);
      await page.locator('[data-testid="safety-review"]').waitFor();
      assert.equal(
        await page.locator('[data-testid="active-prescriptions"] [data-testid="prescription"]').count(),
        before,
        'nothing saved without a reason',
      );

      await page.selectOption('#l0-override_reason', 'Tolerated this medicine before');
      await save(page);
      assert.equal(await page.locator('[data-testid="safety-review"]').count(), 0, 'saved');
      const newest = page.locator('[data-testid="active-prescriptions"] [data-testid="prescription"]').first();
      assert.match(await newest.locator('[data-testid="override"]').innerText(), /Alert overridden: Tolerated this medicine before/);
      assert.match(await newest.innerText(), /AMOXICILLIN 500 MG CAPSULE/);
    });

    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await openPrescribing(page, 'Carter', 'James Carter');
      await fillLine(page, 0, { medicine: 'Warfarin 5 mg tablet', dose: '1', unit: 'tablet', frequency: '0-0-1', days: '30' });
      await fillLine(page, 1, { medicine: 'Ibuprofen 400 mg tablet', dose: '400', unit: 'mg', frequency: '1-1-1', days: '5' });
      await save(page);
      await page.locator('[data-testid="safety-review"]').waitFor();
      const interaction = page.locator('[data-testid="alert"][data-level="interruptive"]', { hasText: 'Interaction (high)' });
      assert.equal(await interaction.count() > 0, true, 'the warfarin + NSAID interaction interrupts');
      assert.match(await interaction.first().innerText(), /warfarin/i);
      await assertNoHorizontalOverflow(page, 'prescription review on a phone');
      await screenshot(page, 'prescribing-interaction-alert-phone');
    });
  });

  test('the pharmacist sees the override and dispenses part, then the rest', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), PHARMACIST);
      await open(page, pathUrl('acme', '/staff/pharmacy'));
      await waitForHydration(page, 'pharmacy');
      const item = page.locator('[data-testid="queue-item"]', { hasText: 'Maria Lopez' }).first();
      await item.waitFor();
      assert.match(await item.locator('[data-testid="override"]').first().innerText(), /Tolerated this medicine before/);
      await assertAccessible(page, 'dispensing queue');
      await screenshot(page, 'prescribing-pharmacy-queue-desktop');

      const dispense = async (form, quantity) => {
        await form.locator('input[name="quantity"]').fill(quantity);
        await form.locator('input[name="batch"]').fill('AMX-2611');
        await form.locator('input[name="expires_on"]').fill('2099-12-31');
        await Promise.all([page.waitForNavigation(), form.getByRole('button', { name: 'Record dispensing' }).click()]);
      };
      const formOf = () => page.locator('[data-testid="queue-item"]', { hasText: 'Maria Lopez' }).first().locator('[data-testid="dispense-form"]').first();
      await dispense(formOf(), '4');
      assert.match(await formOf().innerText(), /6 capsule left/);
      await dispense(formOf(), '7');
      assert.match(await page.locator('[data-testid="form-error"]').innerText(), /only 6 capsule/i);
      await dispense(formOf(), '6');
      assert.equal(await page.locator('[data-testid="form-error"]').count(), 0);
    });
  });

  test('an unchecked prescription is acknowledged, prints, and is refilled from the portal', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await openPrescribing(page, 'Nair', 'Priya Nair');
      await fillLine(page, 0, { medicine: 'Paracetamol 500 mg tablet', dose: '1', unit: 'tablet', frequency: '1-0-1', days: '3' });
      await save(page);
      const unchecked = page.locator('[data-testid="alert"][data-level="unchecked"]').first();
      assert.match(await unchecked.innerText(), /NOT performed/);
      await save(page);
      await page.locator('[data-testid="safety-review"]').waitFor();
      await page.check('[data-testid="acknowledge"]');
      await save(page);
      assert.equal(await page.locator('[data-testid="safety-review"]').count(), 0, 'saved once acknowledged');
      const newest = page.locator('[data-testid="active-prescriptions"] [data-testid="prescription"]').first();
      assert.match(await newest.locator('[data-testid="check-status"]').innerText(), /NOT performed/);

      const print = await newest.locator('[data-testid="print-links"] a', { hasText: 'Print A4' }).getAttribute('href');
      const pdf = await newest.locator('[data-testid="print-links"] a', { hasText: 'PDF' }).getAttribute('href');
      await open(page, new URL(print, page.url()).href);
      await page.locator('[data-testid="printable"]').waitFor();
      assert.match(await page.locator('[data-testid="printable"]').innerText(), /PARACETAMOL 500 MG TABLET/);
      await page.emulateMedia({ media: 'print' });
      await screenshot(page, 'prescribing-printed-a4');
      await page.emulateMedia({ media: 'screen' });
      const res = await page.request.get(new URL(pdf, page.url()).href);
      assert.equal(res.status(), 200);
      const dir = mkdtempSync(join(tmpdir(), 'medisync-pdf-'));
      const file = join(dir, 'prescription.pdf');
      writeFileSync(file, await res.body());
      const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-']).toString('utf8');
      assert.match(text, /Priya Nair/);
      assert.match(text, /PARACETAMOL 500 MG TABLET/);
      assert.match(text, /NOT performed/);
    });

    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', DEMO_PASSWORD, { expect: /\/portal$/ });
      await open(page, pathUrl('acme', '/portal/record'));
      const mine = page.locator('[data-testid="my-prescription"]', { hasText: 'PARACETAMOL 500 MG TABLET' }).first();
      await mine.waitFor();
      assert.equal(await page.locator('text=Alert overridden').count(), 0, 'the patient does not see internal notes');
      await Promise.all([page.waitForNavigation(), mine.locator('[data-testid="request-refill"]').first().click()]);
      await page.locator('[data-testid="refill-waiting"]').first().waitFor();
      await assertNoHorizontalOverflow(page, 'portal medicines');
      await screenshot(page, 'prescribing-portal-refill-phone');
    });

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await open(page, pathUrl('acme', '/staff/refills'));
      await waitForHydration(page, 'refills');
      const request = page.locator('[data-testid="refill-request"]', { hasText: 'Priya Nair' }).first();
      await request.waitFor();
      await assertAccessible(page, 'refill requests');
      await Promise.all([page.waitForNavigation(), request.locator('[data-testid="approve-refill"]').click()]);
      // Still no allergies on record: the approval asks for the acknowledgement.
      const again = page.locator('[data-testid="refill-request"]', { hasText: 'Priya Nair' }).first();
      await again.locator('[data-testid="safety-review"]').waitFor();
      await again.locator('input[name="acknowledge"]').check();
      await Promise.all([page.waitForNavigation(), again.locator('[data-testid="approve-refill"]').click()]);
      assert.equal(await page.locator('[data-testid="refill-request"]', { hasText: 'Priya Nair' }).count(), 0, 'answered');
    });

    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', DEMO_PASSWORD, { expect: /\/portal$/ });
      await open(page, pathUrl('acme', '/portal/record'));
      await page.locator('[data-testid="my-refill"][data-status="approved"]').first().waitFor();
    });
  });
});

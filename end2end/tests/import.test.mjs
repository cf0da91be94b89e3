// Importing patients from a spreadsheet (issue 12), as a clinic's owner does it
// on a phone: from the Patients page to the import, a CSV exported by another
// system uploaded, its columns checked (matched by their names), the dates
// told to be day-first, the first rows previewed with their problems, the run
// started and followed on its progress bar until done; the report of rows left
// out downloaded; the imported patients found by the search box; then the
// import rolled back, so the demo clinic is as it was. Pages pass axe and fit a
// 360 px screen; the mapping and the outcome are kept as screenshots.
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

const PHONE = { width: 360, height: 740 };

// Next of kin and another system's number come along: the header names the
// identifier's system.
const CSV = [
  'Surname,First Name,D.O.B.,Gender,Mobile,E-mail,Next of kin,NOK phone,NHS number',
  'Importova,Alina,21/04/1984,F,+44 20 7946 0101,alina.importova@example.com,Petr Importov,+44 7700 900321,4010232137',
  'Importov,Boris,02/11/1979,M,,,,,',
  'Q,Cyril,05/05/1990,M,,,,,',
  'Importova,Dana,31/02/1990,F,,,,,',
  'Importova,Alina,21/04/1984,F,,,,,',
].join('\r\n');

describe('patient import', { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('an owner imports a CSV, follows the run, reads the report and rolls it back', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, pathUrl('acme', '/staff/patients'));
      await waitForHydration(page, '(patients page)');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-link"]').click()]);
      await page.locator('[data-testid="import-index"]').waitFor();
      await assertAccessible(page, 'import index');

      await page.locator('input[name="file"]').setInputFiles({
        name: 'old-system-export.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(CSV, 'utf8'),
      });
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-upload-submit"]').click()]);
      const mapping = page.locator('[data-testid="import-mapping"]');
      await mapping.waitFor();
      // Columns matched by their names.
      assert.equal(await page.locator('[data-testid="map-family_name"]').inputValue(), '0');
      assert.equal(await page.locator('[data-testid="map-birth_date"]').inputValue(), '2');
      assert.equal(await page.locator('[data-testid="map-email"]').inputValue(), '5');
      assert.equal(await page.locator('[data-testid="map-contact_name"]').inputValue(), '6');
      assert.equal(await page.locator('[data-testid="map-contact_phone"]').inputValue(), '7');
      assert.equal(await page.locator('[data-testid="map-identifier"]').inputValue(), '8');

      // Day-first dates; check the first rows.
      await page.locator('[data-testid="import-date-format"]').selectOption('%d/%m/%Y');
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-check"]').click()]);
      const preview = page.locator('[data-testid="import-preview"]');
      await preview.waitFor();
      assert.match(await page.locator('[data-testid="import-readable"]').innerText(), /2 of 5 rows read well; 3 have a problem/);
      const rows = page.locator('[data-testid="preview-row"]');
      assert.equal(await rows.count(), 5);
      assert.match(await rows.nth(2).innerText(), /family name/);
      assert.match(await rows.nth(3).innerText(), /date of birth/);
      assert.match(await rows.nth(4).innerText(), /repeats row 2/);
      await assertNoHorizontalOverflow(page, 'import mapping');
      await assertAccessible(page, 'import mapping');
      await screenshot(page, 'import-mapping-phone');

      // Start, and follow the run until it is done (the page refreshes itself).
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-start"]').click()]);
      await page.locator('[data-testid="import-state"][data-state="done"]').waitFor({ timeout: 30_000 });
      assert.match(await page.locator('[data-testid="import-counts"]').innerText(), /5 of 5 rows done: 2 imported, 3 not imported/);
      assert.equal(await page.locator('[data-testid="import-progress"]').getAttribute('value'), '5');
      await assertNoHorizontalOverflow(page, 'import outcome');
      await assertAccessible(page, 'import outcome');
      await screenshot(page, 'import-done-phone');

      // The report of what was left out, with the reasons.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('[data-testid="import-report"]').click(),
      ]);
      assert.match(download.suggestedFilename(), /not-imported\.csv$/);
      const report = await new Promise((resolve, reject) => {
        download.createReadStream().then((stream) => {
          const parts = [];
          stream.on('data', (c) => parts.push(c));
          stream.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
          stream.on('error', reject);
        }, reject);
      });
      assert.match(report, /Why it was not imported/);
      assert.match(report, /Q,Cyril,05\/05\/1990,M,,,,,,4,family name: enter at least 2 characters/);
      assert.match(report, /,6,repeats row 2 of this file/);
      const importAt = page.url();

      // The imported patients are in the registry.
      await open(page, pathUrl('acme', '/staff/patients'));
      await waitForHydration(page, '(patients page)');
      await page.locator('[data-testid="patient-search"] input[name="query"]').fill('importov');
      await page.locator('[data-testid="patient-search"] button[type="submit"]').click();
      await page.locator('[data-testid="patient-count"]', { hasText: '2 patients' }).waitFor();
      // Found by the other system's number too; the next of kin is on the chart.
      await page.locator('[data-testid="patient-search"] input[name="query"]').fill('4010232137');
      await page.locator('[data-testid="patient-search"] button[type="submit"]').click();
      await page.locator('[data-testid="patient-count"]', { hasText: '1 patient ·' }).waitFor();

      // Rolled back: asked to confirm, then gone.
      await open(page, importAt);
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-rollback"]').click()]);
      assert.match(await page.locator('[data-testid="import-error"]').innerText(), /tick the box/);
      await page.locator('[data-testid="import-rollback-confirm"]').check();
      await Promise.all([page.waitForNavigation(), page.locator('[data-testid="import-rollback"]').click()]);
      await page.locator('[data-testid="import-state"][data-state="rolled_back"]').waitFor();
      await open(page, pathUrl('acme', '/staff/patients'));
      await waitForHydration(page, '(patients page)');
      await page.locator('[data-testid="patient-search"] input[name="query"]').fill('importov');
      await page.locator('[data-testid="patient-search"] button[type="submit"]').click();
      await page.locator('[data-testid="patient-count"]', { hasText: 'No patients found.' }).waitFor();
    });
  });
});

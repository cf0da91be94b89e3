// Patients and the chart (issue 12), as the people who use it: the front desk
// registers a patient (a near-duplicate is shown before saving), a nurse records
// vital signs (an implausible value is refused with a message), the doctor
// records an allergy and a problem, writes and signs a note, and adds an
// addendum; a lab report one doctor files, a second approves, and the patient
// then finds in the portal. The chart fits a 360 px phone and passes axe; screenshots are kept.
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
  assertNoHorizontalOverflow,
  assertAccessible,
  currentPath,
  openChartOf,
} from './support.mjs';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };

/** Letters only, so the name passes the registry's rules and is unique per run. */
const RUN = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const FAMILY = `Lovelace${RUN}`;

async function registerFrom(page, fields, { confirmNew = false } = {}) {
  await open(page, pathUrl('acme', '/staff/patients'));
  await page.locator('[data-testid="register-patient"] summary').click();
  for (const [id, value] of Object.entries(fields)) {
    if (id === 'sex') await page.selectOption('#sex', value);
    else await page.fill(`#${id}`, value);
  }
  if (confirmNew) await page.check('input[name="confirm_new"]');
  await Promise.all([page.waitForNavigation(), page.click('[data-testid="register-submit"]')]);
}

describe('the chart', { timeout: TEST_TIMEOUT_MS * 8 }, () => {
  let browser;
  let chartPath;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the front desk registers a patient and is warned of a near-duplicate', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeReceptionist.email);
      await registerFrom(page, { given_name: 'Ada', family_name: FAMILY, birth_date: '1985-12-10', sex: 'female', phone: '+44 20 7946 0958' });
      assert.match(currentPath(page), /\/staff\/patients\/[0-9a-f-]{36}$/, 'registration lands on the new chart');
      chartPath = currentPath(page);
      assert.equal(await page.locator('[data-testid="allergy-banner"]').getAttribute('data-state'), 'not-asked');
      assert.match(await page.locator('[data-testid="chart-name"]').innerText(), new RegExp(`Ada ${FAMILY}`));

      // Same birth date and family name: the candidate is named before saving.
      await registerFrom(page, { given_name: 'Adah', family_name: FAMILY, birth_date: '1985-12-10', sex: 'female' });
      assert.match(currentPath(page), /\/staff\/patients$/, 'stays on the form');
      const warning = page.locator('[data-testid="form-error"]');
      assert.match(await warning.innerText(), new RegExp(`Ada ${FAMILY}`));
      assert.equal(await page.inputValue('#given_name'), 'Adah', 'what was typed is kept');
      await page.check('input[name="confirm_new"]');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="register-submit"]')]);
      assert.match(currentPath(page), /\/staff\/patients\/[0-9a-f-]{36}$/, 'registered once confirmed');
    });
  });

  test('a nurse records vital signs; an implausible temperature is refused', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    assert.ok(chartPath, 'registered first');
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await openChartOf(page, `${FAMILY} ada`, `Ada ${FAMILY}`);
      const form = page.locator('[data-testid="vitals-form"]');
      await form.locator('#temperature').fill('986');
      await Promise.all([page.waitForNavigation(), form.locator('[data-testid="vitals-submit"]').click()]);
      assert.match(await page.locator('[data-testid="vitals-form"] [data-testid="form-error"]').innerText(), /temperature between/i);
      assert.equal(await page.inputValue('#temperature'), '986', 'kept to correct');
      // Acme is in New York: its clinicians measure in inches, pounds and °F.
      assert.match(await page.locator('label[for="temperature"]').innerText(), /°F/);
      await page.fill('#temperature', '98.9');
      await page.fill('#height', '67');
      await page.fill('#weight', '150');
      await page.fill('#blood_pressure', '128/82');
      await page.fill('#pulse', '74');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="vitals-submit"]')]);
      const table = await page.locator('[data-testid="vitals-table"]').innerText();
      assert.match(table, /128\/82/);
      assert.match(table, /23\.5/, 'BMI computed to one decimal');
    });
  });

  test('the doctor records an allergy and a problem, signs a note and adds an addendum', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    assert.ok(chartPath, 'registered first');
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await open(page, pathUrl('acme', chartPath.replace(/^\/t\/acme/, '')));
      await page.fill('#substance', 'Penicillins');
      await page.selectOption('#severity', 'severe');
      await page.fill('#reaction', 'Hives');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="allergy-submit"]')]);
      const banner = page.locator('[data-testid="allergy-banner"]');
      assert.equal(await banner.getAttribute('data-state'), 'allergies');
      assert.match(await banner.innerText(), /Penicillins/);

      await page.fill('#code', 'E11.9');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="problem-submit"]')]);
      assert.match(await page.locator('[data-testid="problems"]').innerText(), /E11\.9 · Type 2 diabetes mellitus/);

      const note = page.locator('[data-testid="note-form"]');
      await note.locator('textarea[name="subjective"]').fill('Thirsty, tired for a month.');
      await note.locator('textarea[name="plan"]').fill('HbA1c; review in two weeks.');
      await Promise.all([page.waitForNavigation(), note.locator('[data-testid="note-sign"]').click()]);
      const signed = page.locator('[data-testid="note"][data-status="signed"]').first();
      assert.match(await signed.locator('[data-testid="note-status"]').first().innerText(), /Signed by .* SHA-256 [0-9a-f]{16}/);

      await signed.locator('[data-testid="addendum-form"] textarea').fill('HbA1c 8.1 %.');
      await Promise.all([page.waitForNavigation(), signed.locator('[data-testid="addendum-submit"]').click()]);
      const after = page.locator('[data-testid="note"][data-status="signed"]').first();
      assert.match(await after.innerText(), /Thirsty, tired for a month\./, 'the original stays');
      assert.match(await after.locator('[data-testid="addendum"]').innerText(), /HbA1c 8\.1 %\./);
      await waitForHydration(page, 'chart');
      await assertAccessible(page, 'chart');
      await screenshot(page, 'chart-desktop');
    });
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await open(page, pathUrl('acme', chartPath.replace(/^\/t\/acme/, '')));
      await page.locator('[data-testid="chart-header"]').waitFor();
      await assertNoHorizontalOverflow(page, 'chart at 360 px');
      await screenshot(page, 'chart-phone');
    });
  });

  test('a doctor files a lab report that a second doctor approves for the patient', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const title = `Lipid panel ${RUN}`;
    const file = {
      name: 'lipids.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from(`%PDF-1.4\n% LDL 2.9 mmol/L ${RUN}\ntrailer << >>\n%%EOF\n`),
    };
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await openChartOf(page, 'ACM-0005', 'Priya Nair');
      const form = page.locator('[data-testid="document-form"]');
      // Not a document: refused by content, whatever the name says.
      await form.locator('#document_title').fill(title);
      await form.locator('#document_file').setInputFiles({ name: 'lab.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ not a pdf') });
      await Promise.all([page.waitForNavigation(), form.locator('[data-testid="document-submit"]').click()]);
      assert.match(await page.locator('[data-testid="documents"]').innerText(), /not a PDF, JPEG, PNG or Word document/);

      await form.locator('#document_kind').selectOption('lab_report');
      await form.locator('#document_title').fill(title);
      await form.locator('#document_file').setInputFiles(file);
      await Promise.all([page.waitForNavigation(), form.locator('[data-testid="document-submit"]').click()]);
      const filed = page.locator('[data-testid="document"]', { hasText: title });
      assert.equal(await filed.getAttribute('data-status'), 'pending');
      // The download is the same file, as an attachment.
      const [download] = await Promise.all([page.waitForEvent('download'), filed.getByRole('link', { name: title }).click()]);
      assert.equal(download.suggestedFilename(), 'lipids.pdf');
    });
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.sam.email);
      await openChartOf(page, 'ACM-0005', 'Priya Nair');
      const filed = page.locator('[data-testid="document"]', { hasText: title });
      await Promise.all([page.waitForNavigation(), filed.getByRole('button', { name: 'Approve and share with the patient' }).click()]);
      const approved = page.locator('[data-testid="document"]', { hasText: title });
      assert.equal(await approved.getAttribute('data-status'), 'approved');
      assert.match(await approved.locator('[data-testid="document-status"]').innerText(), /Approved · approved by Dr\. Sam Sato/);
    });
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', undefined, { expect: /\/portal$/ });
      await open(page, pathUrl('acme', '/portal/record'));
      const mine = page.locator('[data-testid="my-documents"]');
      await mine.waitFor();
      assert.match(await mine.innerText(), new RegExp(title));
      const [download] = await Promise.all([page.waitForEvent('download'), mine.getByRole('link', { name: title }).click()]);
      assert.equal(download.suggestedFilename(), 'lipids.pdf');
      await open(page, pathUrl('acme', '/portal/record'));
      await page.locator('[data-testid="access-log"]').waitFor();
      const log = await page.locator('[data-testid="access-log"]').innerText();
      assert.match(log, /Dr\. Amara Okafor \(doctor\) · Filed a document on a chart/);
      assert.match(log, /Dr\. Sam Sato \(doctor\) · Approved a document for the patient/);
    });
  });

  test('the patient sees the shared summary and who has looked at the record', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const summary = `Shared summary ${RUN}`;
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.amara.email);
      await openChartOf(page, 'ACM-0005', 'Priya Nair');
      const note = page.locator('[data-testid="note-form"]');
      await note.locator('input[name="title"]').fill(summary);
      await note.locator('textarea[name="plan"]').fill('Rest, fluids, and come back if the fever lasts.');
      await note.locator('input[name="shareable"]').check();
      await Promise.all([page.waitForNavigation(), note.locator('[data-testid="note-sign"]').click()]);
    });
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeNurse.email);
      await openChartOf(page, 'ACM-0005', 'Priya Nair');
      // The patient says on the phone she wants no appointment emails, then
      // changes her mind: both recorded on the chart.
      const preference = () => page.locator('[data-testid="message-preference-email"]').innerText();
      assert.equal(await preference(), 'Email: on');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Stop appointment emails' }).click()]);
      assert.equal(await preference(), "Email: off (the patient's wish)");
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Resume appointment emails' }).click()]);
      assert.equal(await preference(), 'Email: on');
      assert.equal(await page.locator('[data-testid="message-preference-sms"]').innerText(), 'SMS: on');
      assert.equal(await page.locator('[data-testid="message-preference-whatsapp"]').innerText(), 'WhatsApp: on');
    });
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/portal/signin'), 'priya.nair@patients.example', undefined, { expect: /\/portal$/ });
      await open(page, pathUrl('acme', '/portal/record'));
      await page.locator('[data-testid="my-summaries"]').waitFor();
      assert.match(await page.locator('[data-testid="my-summaries"]').innerText(), new RegExp(summary));
      const log = await page.locator('[data-testid="access-log"]').innerText();
      assert.match(log, /Dr\. Amara Okafor \(doctor\) · Signed a visit note/);
      assert.match(log, /Nate Ng \(nurse\) · Opened a patient's chart/);
      await assertNoHorizontalOverflow(page, 'portal record at 360 px');
      await screenshot(page, 'portal-record-phone');
    });
  });

  test('the owner adds a clinic field and merges the duplicate record into the first', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    assert.ok(chartPath, 'registered first');
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      // A clinic field, required from now on at registration.
      const label = `Pharmacy ${RUN}`;
      await open(page, pathUrl('acme', '/staff/patient-fields'));
      await page.fill('#label', label);
      await page.check('input[name="required"]');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="define-submit"]')]);
      assert.match(await page.locator('[data-testid="field-list"]').innerText(), new RegExp(`${label}\\s+Text · required`));
      await open(page, pathUrl('acme', '/staff/patients'));
      await page.locator('[data-testid="register-patient"] summary').click();
      const input = page.getByLabel(label, { exact: true });
      assert.equal(await input.getAttribute('required'), '', 'the new field is required on the form');
      // Retire it again so other tests' registrations are not held up.
      await open(page, pathUrl('acme', '/staff/patient-fields'));
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: `Retire ${label}` }).click()]);
      assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(label));

      // The duplicate (Adah, registered after the warning) goes into Ada's record.
      await openChartOf(page, `${FAMILY} adah`, `Adah ${FAMILY}`);
      const duplicatePath = currentPath(page);
      const header = await page.locator('[data-testid="chart-header"]').innerText();
      const mrn = header.match(/[A-Z]+-\d{6}/)[0];
      await open(page, pathUrl('acme', chartPath.replace(/^\/t\/acme/, '')));
      await page.locator('[data-testid="merge"] summary').click();
      await page.fill('#merged_mrn', mrn);
      await page.check('[data-testid="merge-form"] input[name="confirm"]');
      await Promise.all([page.waitForNavigation(), page.click('[data-testid="merge-submit"]')]);
      assert.match(await page.locator('[data-testid="identifiers"]').innerText(), new RegExp(`Merged record.*${mrn}`), 'the old number is kept');
      await open(page, pathUrl('acme', duplicatePath.replace(/^\/t\/acme/, '')));
      assert.match(await page.locator('[data-testid="merged-banner"]').innerText(), /This record was merged into/);
    });
  });
});

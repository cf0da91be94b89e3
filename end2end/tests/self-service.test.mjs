// Clinic self-service, end to end: signing a new clinic up on the platform
// address (live address check, "check your email", the emailed link that
// confirms the address and signs in, onboarding checklist, trial banner), the branding editor (logo upload,
// live preview, accessible colours only, branded sign-in pages on both
// addresses, the web app manifest), the Starter plan's user limit, and the
// platform console suspending and reactivating a clinic.
//
// Tests share one demo database. Each test signs up its own clinic (unique
// address and owner email), so none depends on another's side effects or order.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  TENANTS,
  TEST_TIMEOUT_MS,
  HYDRATION_TIMEOUT_MS,
  REPO_ROOT,
  launchBrowser,
  withPage,
  open,
  rawGet,
  headOf,
  brandingStyleIn,
  brandPrimaryIn,
  platformUrl,
  subdomainUrl,
  pathUrl,
  waitForHydration,
  screenshot,
  signInHere,
  mailLinkFor,
  uniqueEmail,
  freshTotp,
} from './support.mjs';

/** Passwords the tests choose (12+ characters, not on the common list). */
const OWNER_PASSWORD = 'amber lantern quiet meadow';
const ADMIN_PASSWORD = 'copper falcon winter orchard';

/** MediSync's default primary colour (a clinic that has not branded itself). */
const DEFAULT_PRIMARY = '#4338ca';

/** The branding the tests save: readable with white / dark text (AA). */
const BRAND = Object.freeze({
  primary: '#7c2d12',
  primaryRgb: 'rgb(124, 45, 18)',
  accent: '#fde68a',
  phone: '+1 555 0100',
});
/** 4.48:1 with white text, less with dark: must be refused. */
const INACCESSIBLE = '#777777';

/** A short token that makes slugs and names unique within this database. */
function uniqueSuffix() {
  return `${(Date.now() % 1e6).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

/** What the sign-up form makes of a clinic name (ASCII names only). */
function slugify(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

function text(locator) {
  return locator.innerText().then((t) => (t ?? '').trim());
}

/**
 * Sign a new clinic up from `page` (the owner ends up signed in there, on the
 * platform host under /t/<slug>) by posting the sign-up form's fields to its
 * server function, and open the dashboard it answers with. The form itself is
 * exercised by the first test; the other tests only need a fresh clinic.
 */
async function signUpClinic(page, label) {
  const suffix = uniqueSuffix();
  const clinic = {
    slug: `e2e-${label}-${suffix}`,
    name: `E2E ${label} clinic ${suffix}`,
    owner: `Owner ${label} ${suffix}`,
    email: uniqueEmail(`owner-${label}`),
    password: OWNER_PASSWORD,
  };
  const res = await open(page, platformUrl('/signup'));
  assert.equal(res.status(), 200, `GET /signup -> ${res.status()}`);
  const answer = await page.evaluate(async (c) => {
    const body = new URLSearchParams({
      clinic_name: c.name,
      kind: 'clinic',
      slug: c.slug,
      owner_name: c.owner,
      email: c.email,
      password: c.password,
      plan: 'starter',
      terms: 'on',
    });
    const r = await fetch('/api/sign_up', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    return { status: r.status, body: await r.text() };
  }, clinic);
  assert.equal(answer.status, 200, `POST /api/sign_up for ${clinic.slug} -> ${answer.status}: ${answer.body.slice(0, 300)}`);
  assert.equal(JSON.parse(answer.body), '/signup/sent', 'sign-up answered an unexpected destination');
  // The emailed link proves the address and signs the owner in.
  const link = await mailLinkFor(clinic.email);
  const token = new URL(link).searchParams.get('token');
  const confirmed = await page.evaluate(async ([slug, token]) => {
    const r = await fetch(`/t/${slug}/api/verify_email`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    return { status: r.status, body: await r.text() };
  }, [clinic.slug, token]);
  assert.equal(confirmed.status, 200, `verify_email -> ${confirmed.status}: ${confirmed.body}`);
  const dest = JSON.parse(confirmed.body);
  assert.equal(dest, `/t/${clinic.slug}/staff?welcome=1`, 'the emailed link did not sign the owner in');
  const landed = await open(page, platformUrl(dest));
  assert.equal(landed.status(), 200, `GET ${dest} -> ${landed.status()}`);
  assert.equal(new URL(page.url()).pathname, `/t/${clinic.slug}/staff`, `sign-up did not sign the owner in (at ${page.url()})`);
  return clinic;
}

/** A PNG logo made by the browser itself: 300 × 100, colourful. */
async function makeLogoPng(browser) {
  const context = await browser.newContext({ viewport: { width: 400, height: 200 } });
  try {
    const page = await context.newPage();
    await page.setContent(
      '<body style="margin:0"><div id="logo" style="width:300px;height:100px;display:flex;' +
        'align-items:center;justify-content:center;font:bold 48px sans-serif;color:#fff;' +
        'background:linear-gradient(90deg,#7c2d12,#f59e0b 60%,#fde68a)">E2E</div></body>',
    );
    return await page.locator('#logo').screenshot({ type: 'png' });
  } finally {
    await context.close();
  }
}

/** The contrast line (<p data-contrast>) under the colour text input `#id`. */
function contrastLine(page, id) {
  return page.locator(`div:has(> div > #${id}) > p[data-contrast]`);
}

/** Computed looks of the branded sign-in page open on `page`. */
async function signInLooks(page) {
  return page.evaluate(() => {
    const header = document.querySelector('[data-testid=brand-header]');
    const img = header?.querySelector('img');
    return {
      headers: document.querySelectorAll('[data-testid=brand-header]').length,
      background: header ? getComputedStyle(header).backgroundColor : null,
      logoSrc: img?.getAttribute('src') ?? null,
      logoLoaded: img ? img.complete && img.naturalWidth > 0 : false,
      headline: document.querySelector('main h1')?.textContent?.trim() ?? null,
    };
  });
}

/** Turn on two-factor on the open /account/security page; returns the secret. */
async function enrollTotp(page, password) {
  await waitForHydration(page, '(security page)');
  await page.locator('#start_password').fill(password);
  await page.getByRole('button', { name: 'Set up two-factor' }).click();
  const secretEl = page.locator('[data-testid=totp-secret]');
  await secretEl.waitFor({ state: 'visible' });
  const secret = await text(secretEl);
  assert.match(secret, /^[A-Z2-7]{16,}$/, `[data-testid=totp-secret] is not a base32 secret: ${secret}`);
  await page.locator('#totp_code').fill(await freshTotp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.locator('[data-testid=recovery-codes]').waitFor({ state: 'visible' });
  return secret;
}

/**
 * A new super admin (the `medisync create-admin` command), its password set
 * through the one-time link, signed in on `page` with the forced two-factor
 * set-up done. Leaves `page` signed in on the platform address.
 */
async function signInNewSuperAdmin(page) {
  const bin = process.env.E2E_BIN;
  assert.ok(bin, 'E2E_BIN is not set (scripts/test.sh sets it to the release medisync binary)');
  const email = `e2e-admin-${uniqueSuffix()}@medisync.example`;
  const made = spawnSync(bin, ['create-admin', '--email', email, '--name', 'E2E Admin', '--role', 'super_admin'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(made.status, 0, `medisync create-admin failed (${made.status}): ${made.stderr}${made.stdout}`);
  const printed = /(https?:\/\/\S+\/reset-password\?token=\S+)/.exec(made.stdout);
  assert.ok(printed, `create-admin printed no set-password link: ${made.stdout}`);
  const link = new URL(printed[1]);
  const resetUrl = platformUrl(`${link.pathname}${link.search}`);

  const res = await open(page, resetUrl);
  assert.equal(res.status(), 200, `${resetUrl} -> ${res.status()}`);
  await waitForHydration(page, '(admin set-password page)');
  await page.locator('#password').fill(ADMIN_PASSWORD);
  const reset = page.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('reset') === '1', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Save password' }).click();
  await reset;
  await signInHere(page, email, ADMIN_PASSWORD, { expect: /^\/account\/security$/ });
  await page.locator('[data-testid=two-factor-required]').waitFor({ state: 'visible' });
  await enrollTotp(page, ADMIN_PASSWORD);
  return email;
}

describe('clinic self-service', { timeout: TEST_TIMEOUT_MS * 14 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('sign-up: live address check, dashboard with checklist and trial banner, email verified', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const suffix = uniqueSuffix();
    const clinicName = `E2E Sunrise Clinic ${suffix}`;
    const slug = `e2e-${suffix}`;
    const ownerName = `Sam Sunrise ${suffix}`;
    const email = uniqueEmail('signup-owner');

    await withPage(browser, {}, async (page, { pageErrors, badAssets }) => {
      const landing = await open(page, platformUrl('/'));
      assert.equal(landing.status(), 200);
      const start = page.locator('[data-testid=start-trial]');
      await start.waitFor({ state: 'visible' });
      assert.equal(new URL(await start.getAttribute('href'), page.url()).pathname, '/signup');
      await Promise.all([page.waitForURL((u) => u.pathname === '/signup', { waitUntil: 'load' }), start.click()]);
      await page.locator('[data-testid=signup-page]').waitFor({ state: 'visible' });
      const form = page.locator('[data-testid=signup-form]');
      assert.equal(await form.locator('#plan-starter').isChecked(), true, 'Starter is not the default plan');
      for (const id of ['#plan-professional', '#plan-enterprise']) {
        assert.equal(await form.locator(id).count(), 1, `no ${id} radio`);
      }

      // The address follows the clinic name as it is typed. The page has no
      // hydration marker: retype until the browser-side handler answers.
      const autoSlug = slugify(clinicName);
      const slugInput = form.locator('#slug');
      const deadline = Date.now() + HYDRATION_TIMEOUT_MS;
      for (;;) {
        await form.locator('#clinic_name').fill(clinicName);
        try {
          await page.waitForFunction((s) => document.querySelector('#slug')?.value === s, autoSlug, { timeout: 1_000 });
          break;
        } catch {
          if (Date.now() > deadline) {
            assert.fail(`#slug never followed #clinic_name (expected "${autoSlug}", got "${await slugInput.inputValue()}"); did /signup hydrate?`);
          }
        }
      }
      const available = page.locator('[data-testid=slug-available]');
      const unavailable = page.locator('[data-testid=slug-unavailable]');
      const suggestion = page.locator('[data-testid=slug-suggestion]');
      await available.waitFor({ state: 'visible' });
      assert.match(await text(available), new RegExp(`${autoSlug}\\.`), 'availability line does not name the address');

      // A taken address: refused, with a free one close to it offered.
      await slugInput.fill('acme');
      await unavailable.waitFor({ state: 'visible' });
      assert.equal(await available.count(), 0, 'a taken address is shown as available');
      assert.match(await text(unavailable), /acme/);
      await suggestion.waitFor({ state: 'visible' });
      const offered = await text(suggestion);
      assert.match(offered, /^Use acme-\d+$/, `suggestion for a taken address: ${offered}`);
      await suggestion.click();
      assert.equal(await slugInput.inputValue(), offered.replace(/^Use /, ''), 'the suggestion did not fill the address');
      await available.waitFor({ state: 'visible' });

      // An invalid address: refused, with its cleaned-up form offered.
      await slugInput.fill('My Clinic!');
      await unavailable.waitFor({ state: 'visible' });
      await suggestion.waitFor({ state: 'visible' });
      assert.equal(await text(suggestion), 'Use my-clinic');

      // A unique address: available. Editing it stops the name from overwriting it.
      await slugInput.fill(slug);
      await available.waitFor({ state: 'visible' });
      assert.match(await text(available), new RegExp(`${slug}\\.`));
      await form.locator('#clinic_name').fill(`${clinicName} `);
      assert.equal(await slugInput.inputValue(), slug, 'the clinic name overwrote an address typed by hand');
      await form.locator('#clinic_name').fill(clinicName);

      await form.locator('#kind').selectOption('practice');
      await form.locator('#owner_name').fill(ownerName);
      await form.locator('#email').fill(email);
      await form.locator('#password').fill(OWNER_PASSWORD);

      // Terms not accepted: refused on that field, nothing created.
      await form.getByRole('button', { name: 'Create my clinic' }).click();
      await page.locator('[data-testid=error-terms]').waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, '/signup');
      assert.equal((await rawGet(subdomainUrl(slug, '/signin'))).status, 404, 'the clinic exists before the terms were accepted');

      await form.locator('input[name=terms]').check();
      await screenshot(page, 'self-service-signup');
      // Every address gets the same answer: "check your email".
      const sent = page.waitForURL((u) => u.pathname === '/signup/sent', { waitUntil: 'load', timeout: 30_000 });
      await form.getByRole('button', { name: 'Create my clinic' }).click();
      try {
        await sent;
      } catch (err) {
        const shown = await page.locator('[data-testid=form-error], [data-testid^=error-]').allInnerTexts().catch(() => []);
        throw new Error(`sign-up did not reach /signup/sent (at ${page.url()}; errors: ${shown.join(' | ') || 'none'}): ${err.message}`);
      }
      await page.locator('[data-testid=signup-sent]').waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).host, new URL(platformUrl('/')).host, 'sign-up left the platform host');
      assert.deepEqual(pageErrors, [], 'uncaught errors on the sign-up page');
      assert.deepEqual(badAssets, [], 'client bundle assets failed to load');
      // Until the address is proven, the clinic's dashboard stays closed.
      assert.equal((await rawGet(pathUrl(slug, '/staff'))).status, 303);

      // The email, through the dev mailbox: its link confirms the address (a
      // button, so a mail scanner opening the link uses nothing) and signs in.
      const link = await mailLinkFor(email);
      assert.ok(link.startsWith(pathUrl(slug, '/verify-email?token=')), `verification link: ${link}`);
      const verify = await open(page, link);
      assert.equal(verify.status(), 200, `${link} -> ${verify.status()}`);
      await waitForHydration(page, '(verify email)');
      await screenshot(page, 'self-service-verify');
      const landed = page.waitForURL(
        (u) => u.pathname === `/t/${slug}/staff` && u.searchParams.get('welcome') === '1',
        { waitUntil: 'load', timeout: 30_000 },
      );
      await page.getByRole('button', { name: 'Confirm my email' }).click();
      await landed;

      // The new clinic's dashboard: welcome, checklist, trial.
      await waitForHydration(page, '(new clinic dashboard)');
      assert.ok(await page.locator('[data-testid=staff-shell]').isVisible(), 'no staff shell after sign-up');
      assert.equal(await text(page.locator('[data-testid=signed-in-as]')), `Signed in as ${ownerName} (owner)`);
      await page.locator('[data-testid=welcome]').waitFor({ state: 'visible' });
      const checklist = page.locator('[data-testid=onboarding]');
      await checklist.waitFor({ state: 'visible' });
      // Only steps that can be done today, and the count says so.
      const steps = await checklist.locator('li[data-testid^=step-]').evaluateAll((els) => els.map((e) => e.dataset.testid));
      assert.deepEqual(steps, ['step-branding', 'step-invite', 'step-doctor', 'step-patient']);
      for (const step of steps) {
        assert.equal(await checklist.locator(`[data-testid=${step}]`).getAttribute('data-done'), 'false', `${step} is done on a brand-new clinic`);
      }
      assert.equal(await text(page.locator('[data-testid=onboarding-progress]')), '0 of 4 done');
      // Rendered by the server, so nothing moves when the page's code arrives.
      const served = await rawGet(page.url(), { headers: { cookie: (await page.context().cookies(page.url())).map((c) => `${c.name}=${c.value}`).join('; ') } });
      assert.ok(served.body.includes('data-testid="onboarding"'), 'the checklist is not in the server-rendered page');
      // Every card leads to its page and shows a real count.
      for (const [card, count, path] of [['patients', '0', '/staff/patients'], ['team', '1', '/staff/users']]) {
        const link = page.locator(`[data-testid=card-${card}]`);
        assert.equal(await text(link.locator('[data-testid=card-count]')), count, `${card} count`);
        const to = new URL(await link.getAttribute('href'), page.url()).pathname;
        assert.ok(to.endsWith(path), `${card} card leads to ${to}, not ${path}`);
      }
      const trial = await text(page.locator('[data-testid=trial-banner]'));
      assert.match(trial, /^Trial: 1[34] days left\./, `trial banner: ${trial}`);
      assert.equal(
        await text(page.locator('[data-testid=brand-header] p').first()),
        clinicName,
        'the dashboard header does not show the new clinic',
      );
      await screenshot(page, 'self-service-dashboard');

      await open(page, pathUrl(slug, '/staff'));
      await waitForHydration(page, '(dashboard after verifying)');
      await checklist.waitFor({ state: 'visible' });
      assert.equal(await page.locator('[data-testid=verify-email-notice]').count(), 0, 'the verification notice stays after verifying');
      assert.equal(await page.locator('[data-testid=welcome]').count(), 0, 'the welcome message shows without ?welcome=1');
    });

    // The clinic is public on both addresses, with the kind and name chosen.
    const raw = await rawGet(subdomainUrl(slug, '/signin'));
    assert.equal(raw.status, 200, `GET ${subdomainUrl(slug, '/signin')} -> ${raw.status}`);
    assert.ok(raw.body.includes(clinicName), 'the new clinic\'s sign-in page does not name it');
    assert.equal((await rawGet(pathUrl(slug, '/signin'))).status, 200);
  });

  test('branding: logo, live preview, accessible colours only, branded sign-in pages and manifest', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const logoPng = await makeLogoPng(browser);
    await withPage(browser, {}, async (page, { pageErrors }) => {
      const clinic = await signUpClinic(page, 'brand');
      const headline = `Welcome to ${clinic.name}`;
      const welcome = 'Sign in to see today\'s patients.';
      const supportEmail = `help-${clinic.slug}@example.com`;

      const res = await open(page, pathUrl(clinic.slug, '/staff/branding'));
      assert.equal(res.status(), 200, `GET /staff/branding -> ${res.status()}`);
      await waitForHydration(page, '(branding editor)');
      await page.locator('[data-testid=branding-page]').waitFor({ state: 'visible' });
      assert.equal((await page.locator('#primary_color').inputValue()).toLowerCase(), DEFAULT_PRIMARY);

      // Logo: SVG refused, PNG accepted and previewed.
      const logoForm = page.locator('[data-testid=logo-form]');
      const logoInput = page.locator('[data-testid=logo-input]');
      await logoInput.setInputFiles({
        name: 'logo.svg',
        mimeType: 'image/svg+xml',
        buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#7c2d12"/></svg>'),
      });
      await logoForm.getByRole('button', { name: 'Upload logo' }).click();
      const logoError = page.locator('[data-testid=error-logo]');
      await logoError.waitFor({ state: 'visible' });
      assert.match(await text(logoError), /SVG/, `SVG refusal: ${await text(logoError)}`);
      assert.equal(await page.locator('[data-testid=preview-logo]').count(), 0, 'a refused SVG shows in the preview');

      await logoInput.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: logoPng });
      await logoForm.getByRole('button', { name: 'Upload logo' }).click();
      const notice = page.locator('[data-testid=branding-notice]');
      await notice.filter({ hasText: 'Logo uploaded.' }).waitFor({ state: 'visible' });
      assert.equal(await logoError.count(), 0, 'the SVG error stays after a good upload');
      const previewLogo = page.locator('[data-testid=preview-logo]');
      await previewLogo.waitFor({ state: 'visible' });
      const logoSrc = await previewLogo.getAttribute('src');
      const logoMatch = /^\/brand\/([0-9a-f-]{36})\/[0-9a-f]+-header\.png$/.exec(logoSrc ?? '');
      assert.ok(logoMatch, `preview logo src: ${logoSrc}`);
      const tenantUuid = logoMatch[1];

      // Typing redraws the preview before anything is saved.
      const previewHeader = page.locator('[data-testid=preview-header]');
      await page.locator('#primary_color').fill(BRAND.primary);
      await page.locator('#accent_color').fill(BRAND.accent);
      await page.locator('#sign_in_headline').fill(headline);
      await page.locator('#welcome_text').fill(welcome);
      await page.locator('#support_phone').fill(BRAND.phone);
      await page.locator('#support_email').fill(supportEmail);
      await page.waitForFunction(
        (p) => (document.querySelector('[data-testid=preview-header]')?.getAttribute('style') ?? '').includes(`background:${p}`),
        BRAND.primary,
        { timeout: 5_000 },
      );
      assert.equal(await previewHeader.evaluate((el) => getComputedStyle(el).backgroundColor), BRAND.primaryRgb);
      assert.equal(await text(page.locator('[data-testid=preview-headline]')), headline);
      assert.equal(
        await page.locator('[data-testid=preview-button]').evaluate((el) => getComputedStyle(el).backgroundColor),
        BRAND.primaryRgb,
        'the preview button does not use the typed primary colour',
      );
      for (const id of ['primary_color', 'accent_color']) {
        const line = contrastLine(page, id);
        assert.equal(await line.count(), 1, `no contrast line under #${id}`);
        const ratio = Number(await line.getAttribute('data-contrast'));
        assert.ok(ratio >= 4.5, `#${id}: data-contrast=${ratio} for an accessible colour`);
        assert.match(await text(line), /^✓ \d+\.\d\d:1 with (white|dark) text \(AA needs 4\.5:1\)$/);
      }
      // Not saved yet: the public sign-in page still has the default colour.
      const before = await rawGet(subdomainUrl(clinic.slug, '/signin'));
      assert.equal(brandPrimaryIn(brandingStyleIn(before.body) ?? ''), DEFAULT_PRIMARY, 'the typed colour reached the public page before saving');

      await page.getByRole('button', { name: 'Save branding' }).click();
      await notice.filter({ hasText: /^Branding saved\./ }).waitFor({ state: 'visible' });
      await screenshot(page, 'self-service-branding-editor');

      // An inaccessible colour: flagged while typing, refused on saving.
      await page.locator('#primary_color').fill(INACCESSIBLE);
      const primaryLine = contrastLine(page, 'primary_color');
      await page.waitForFunction(
        () => document.querySelector('div:has(> div > #primary_color) > p[data-contrast]')?.textContent?.startsWith('✗'),
        null,
        { timeout: 5_000 },
      );
      assert.ok(Number(await primaryLine.getAttribute('data-contrast')) < 4.5, 'the contrast line does not flag #777777');
      const refusedAnswer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/save_branding'));
      await page.getByRole('button', { name: 'Save branding' }).click();
      const refusal = await refusedAnswer;
      assert.ok(refusal.status() >= 400 && refusal.status() < 500, `saving #777777 answered HTTP ${refusal.status()}`);
      const colourError = page.locator('[data-testid=error-primary_color]');
      await colourError.waitFor({ state: 'visible' });
      assert.match(await text(colourError), /4\.5:1/, `colour refusal: ${await text(colourError)}`);
      await screenshot(page, 'self-service-branding-refused');
      const kept = await rawGet(subdomainUrl(clinic.slug, '/signin'));
      assert.equal(brandPrimaryIn(brandingStyleIn(kept.body) ?? ''), BRAND.primary, 'the refused colour changed the public page');
      assert.deepEqual(pageErrors, [], 'uncaught errors on the branding editor');

      // A visitor (no cookies) sees the new branding on both addresses.
      let newColour;
      for (const [via, url] of [
        ['subdomain', subdomainUrl(clinic.slug, '/')],
        ['path', pathUrl(clinic.slug, '/signin')],
      ]) {
        await withPage(browser, {}, async (visitor, { pageErrors: visitorErrors }) => {
          const r = await open(visitor, url);
          assert.equal(r.status(), 200, `${url} -> ${r.status()}`);
          await waitForHydration(visitor, `(new clinic sign-in via ${via})`);
          assert.equal(await text(visitor.locator('[data-testid=tenant-name]')), clinic.name, `${via}: tenant name`);
          await visitor.waitForFunction(() => {
            const img = document.querySelector('[data-testid=brand-header] img');
            return img && img.complete && img.naturalWidth > 0;
          }, null, { timeout: 10_000 }).catch(() => {});
          const looks = await signInLooks(visitor);
          assert.equal(looks.headers, 1, `${via}: expected exactly one brand header`);
          assert.equal(looks.background, BRAND.primaryRgb, `${via}: brand header colour`);
          assert.equal(looks.logoSrc, logoSrc, `${via}: header logo`);
          assert.ok(looks.logoLoaded, `${via}: the header logo did not load`);
          assert.equal(looks.headline, headline, `${via}: sign-in headline`);
          assert.match(await text(visitor.locator('main')), new RegExp(welcome.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `${via}: welcome text`);
          const support = visitor.locator('[data-testid=support-contact]');
          await support.waitFor({ state: 'visible' });
          const supportText = await text(support);
          assert.ok(supportText.includes(BRAND.phone) && supportText.includes(supportEmail), `${via}: support contact: ${supportText}`);
          newColour = looks.background;
          await screenshot(visitor, via === 'subdomain' ? 'self-service-signin-new-clinic' : 'self-service-signin-new-clinic-path');
          assert.deepEqual(visitorErrors, [], `${via}: uncaught errors on the branded sign-in page`);
        });
      }

      // Acme keeps its own look: a differently branded sign-in page.
      await withPage(browser, {}, async (visitor) => {
        const r = await open(visitor, subdomainUrl(TENANTS.acme.slug, '/signin'));
        assert.equal(r.status(), 200);
        await waitForHydration(visitor, '(acme sign-in)');
        const looks = await signInLooks(visitor);
        assert.equal(looks.background, TENANTS.acme.rgb, 'acme header colour');
        assert.notEqual(looks.background, newColour, 'acme and the new clinic look the same');
        assert.notEqual(looks.logoSrc, logoSrc, 'acme shows the new clinic\'s logo');
        await screenshot(visitor, 'self-service-signin-acme');
      });

      // Raw HTML: colours in <head> before any script, the logo as the icon.
      for (const url of [subdomainUrl(clinic.slug, '/signin'), pathUrl(clinic.slug, '/signin')]) {
        const raw = await rawGet(url);
        assert.equal(raw.status, 200, `GET ${url} -> ${raw.status}`);
        const head = headOf(raw.body);
        assert.ok(head.includes(`--brand-primary:${BRAND.primary}`), `GET ${url}: <head> lacks --brand-primary:${BRAND.primary}`);
        assert.equal(brandPrimaryIn(brandingStyleIn(raw.body) ?? ''), BRAND.primary, `GET ${url}: style#tenant-branding`);
        const icon = /<link\b[^>]*\brel="icon"[^>]*>/.exec(head);
        assert.ok(icon, `GET ${url}: no <link rel="icon"> in <head>`);
        const iconHref = /\bhref="([^"]+)"/.exec(icon[0])?.[1];
        assert.match(iconHref ?? '', new RegExp(`^/brand/${tenantUuid}/[0-9a-f]+-192\\.png$`), `GET ${url}: icon link ${icon[0]}`);
        assert.ok(raw.body.includes(logoSrc), `GET ${url}: the server-rendered page lacks the logo`);
      }

      // The installable app carries the clinic's name, colour and icons.
      const manifestRes = await rawGet(subdomainUrl(clinic.slug, '/manifest.webmanifest'));
      assert.equal(manifestRes.status, 200);
      assert.match(String(manifestRes.headers['content-type'] ?? ''), /json/);
      const manifest = JSON.parse(manifestRes.body);
      assert.equal(manifest.name, clinic.name);
      assert.equal(String(manifest.theme_color).toLowerCase(), BRAND.primary);
      assert.equal(manifest.start_url, '/');
      assert.ok(Array.isArray(manifest.icons) && manifest.icons.length >= 2, `manifest icons: ${JSON.stringify(manifest.icons)}`);
      assert.match(manifest.icons[0].src, /-192\.png$/);
      assert.equal(manifest.icons[0].sizes, '192x192');
      assert.match(manifest.icons[1].src, /-512\.png$/);
      assert.equal(manifest.icons[1].sizes, '512x512');
      for (const icon of manifest.icons.slice(0, 2)) {
        const got = await rawGet(subdomainUrl(clinic.slug, icon.src), { headers: { Accept: 'image/png,*/*' } });
        assert.equal(got.status, 200, `GET ${icon.src} -> ${got.status}`);
        assert.equal(got.headers['content-type'], 'image/png', `GET ${icon.src} content-type`);
      }
      const pathManifest = JSON.parse((await rawGet(pathUrl(clinic.slug, '/manifest.webmanifest'))).body);
      assert.equal(pathManifest.name, clinic.name);
      assert.equal(String(pathManifest.theme_color).toLowerCase(), BRAND.primary);
      assert.equal(pathManifest.start_url, `/t/${clinic.slug}/`);

      // The checklist's branding step is done.
      await open(page, pathUrl(clinic.slug, '/staff'));
      await waitForHydration(page, '(dashboard after branding)');
      const step = page.locator('[data-testid=step-branding]');
      await step.waitFor({ state: 'visible' });
      assert.equal(await step.getAttribute('data-done'), 'true', 'the branding step is not done after saving a branding');
      assert.equal(await text(page.locator('[data-testid=onboarding-progress]')), '1 of 4 done');
      assert.equal(
        await page.locator('[data-testid=brand-header]').evaluate((el) => getComputedStyle(el).backgroundColor),
        BRAND.primaryRgb,
        'the staff dashboard does not use the saved colour',
      );
      // The checklist can be hidden, and stays hidden.
      await page.locator('[data-testid=dismiss-checklist]').click();
      await page.locator('[data-testid=onboarding]').waitFor({ state: 'detached' });
      await open(page, pathUrl(clinic.slug, '/staff'));
      await waitForHydration(page, '(dashboard after hiding the checklist)');
      assert.equal(await page.locator('[data-testid=onboarding]').count(), 0, 'the hidden checklist came back');
      await page.locator('[data-testid=card-team]').waitFor({ state: 'visible' });
    });
  });

  test('Starter plan: the 11th user is refused with the upgrade message', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    await withPage(browser, {}, async (page) => {
      const clinic = await signUpClinic(page, 'seats');
      const res = await open(page, pathUrl(clinic.slug, '/staff/users'));
      assert.equal(res.status(), 200, `GET /staff/users -> ${res.status()}`);
      await waitForHydration(page, '(users page)');
      const form = page.locator('[data-testid=invite-form]');
      assert.equal(await form.locator('#invite_role').inputValue(), 'receptionist', 'default role of an invitation');
      const roles = await form.locator('#invite_role option').evaluateAll((os) => os.map((o) => o.value));
      for (const role of ['owner', 'admin', 'manager', 'doctor', 'nurse', 'receptionist', 'billing', 'lab_technician', 'pharmacist']) {
        assert.ok(roles.includes(role), `role select lacks ${role}: ${roles.join(', ')}`);
      }

      // Owner + 9 invitations = 10 users: the first through the form, the rest directly.
      const invited = [];
      const first = uniqueEmail(`seat1-${clinic.slug}`);
      await form.locator('#invite_email').fill(first);
      await form.locator('#invite_role').selectOption('nurse');
      await form.getByRole('button', { name: 'Send invitation' }).click();
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
      invited.push(first);
      for (let n = 2; n <= 9; n += 1) invited.push(uniqueEmail(`seat${n}-${clinic.slug}`));
      const answers = await page.evaluate(
        async ({ slug, emails }) => {
          const out = [];
          for (const email of emails) {
            const r = await fetch(`/t/${slug}/api/invite_staff`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ email, role: 'nurse' }).toString(),
            });
            out.push({ email, status: r.status, body: (await r.text()).slice(0, 300) });
          }
          return out;
        },
        { slug: clinic.slug, emails: invited.slice(1) },
      );
      for (const a of answers) assert.equal(a.status, 200, `inviting ${a.email} (seat within the plan) -> ${a.status}: ${a.body}`);

      // The 11th user: refused, with the way up.
      const eleventh = uniqueEmail(`seat11-${clinic.slug}`);
      await form.locator('#invite_email').fill(eleventh);
      const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/invite_staff'));
      await form.getByRole('button', { name: 'Send invitation' }).click();
      const refused = await answered;
      assert.equal(refused.status(), 402, `the 11th invitation answered HTTP ${refused.status()}`);
      const error = page.locator('[data-testid=form-error]', { hasText: 'plan' });
      await error.waitFor({ state: 'visible' });
      const message = await text(error);
      assert.match(message, /Starter plan includes 10 users/, `limit message: ${message}`);
      assert.match(message, /Upgrade to Professional/, `limit message: ${message}`);
      assert.equal(await page.locator('[data-testid=invite-sent]').count(), 0, '"Invitation sent." still shows after the refusal');
      await screenshot(page, 'self-service-user-limit');

      const mailbox = await rawGet(platformUrl('/dev/mailbox'));
      assert.ok(!mailbox.body.includes(`data-to="${eleventh}"`), 'the refused invitation was mailed anyway');
      assert.ok(mailbox.body.includes(`data-to="${invited[8]}"`), 'the 9th invitation was not mailed');

      // The plan page names the plan and meters users against it.
      const plan = await open(page, pathUrl(clinic.slug, '/staff/plan'));
      assert.equal(plan.status(), 200);
      await waitForHydration(page, '(plan page)');
      const current = page.locator('[data-testid=current-plan]');
      await current.waitFor({ state: 'visible' });
      assert.match(await text(current), /^Starter\b/);
      assert.match(await text(page.locator('[data-testid=usage-users]')), /\bof 10 users\b/);
    });
  });

  test('platform console: a super admin suspends the clinic (reason required) and reactivates it', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, {}, async (owner) => {
      const clinic = await signUpClinic(owner, 'suspend');
      await waitForHydration(owner, '(owner dashboard)');
      assert.ok(await owner.locator('[data-testid=staff-shell]').isVisible());

      await withPage(browser, {}, async (admin) => {
        await signInNewSuperAdmin(admin);
        const overview = await open(admin, platformUrl('/admin'));
        assert.equal(overview.status(), 200);
        assert.equal(new URL(admin.url()).pathname, '/admin', `the console did not open after two-factor: ${admin.url()}`);
        await waitForHydration(admin, '(platform overview)');
        await admin.locator('[data-testid=tenant-count]').waitFor({ state: 'visible' });
        assert.match(await text(admin.locator('[data-testid=tenant-count]')), /^\d+ tenants$/);
        assert.ok(await admin.locator('[data-testid=mrr]').isVisible(), 'no MRR figure');
        assert.ok(await admin.locator('svg[data-testid=signups-chart]').isVisible(), 'no sign-ups chart');
        await screenshot(admin, 'self-service-admin-overview');

        // Find the clinic: search and status filter.
        await open(admin, platformUrl('/admin/tenants'));
        await waitForHydration(admin, '(tenant list)');
        const table = admin.locator('[data-testid=tenant-table]');
        await table.waitFor({ state: 'visible' });
        const row = table.locator(`tr[data-slug="${clinic.slug}"]`);
        await admin.locator('[data-testid=tenant-search]').fill(clinic.slug);
        await admin.waitForFunction(
          (slug) => {
            const rows = document.querySelectorAll('[data-testid=tenant-table] tbody tr');
            return rows.length === 1 && rows[0].getAttribute('data-slug') === slug;
          },
          clinic.slug,
          { timeout: 10_000 },
        );
        assert.equal(await text(row.locator('[data-testid=tenant-status]')), 'trial');
        await admin.locator('[data-testid=tenant-status-filter]').selectOption('suspended');
        await row.waitFor({ state: 'detached' });
        await admin.locator('[data-testid=tenant-status-filter]').selectOption('trial');
        await row.waitFor({ state: 'visible' });
        const href = await row.locator('a').first().getAttribute('href');
        assert.match(href ?? '', /^\/admin\/tenants\/[0-9a-f-]{36}$/, `tenant link: ${href}`);
        await Promise.all([admin.waitForURL((u) => u.pathname === href), row.locator('a').first().click()]);
        await waitForHydration(admin, '(tenant page)');
        await admin.locator('[data-testid=tenant-name]').waitFor({ state: 'visible' });
        assert.equal(await text(admin.locator('[data-testid=tenant-name]')), clinic.name);
        const status = admin.locator('[data-testid=tenant-status]');
        assert.equal(await text(status), 'trial');

        // A reason is required.
        const suspendForm = admin.locator('[data-testid=suspend-form]');
        assert.equal(await suspendForm.locator('#reason').getAttribute('required'), '', '#reason is not required');
        await suspendForm.locator('#reason').fill('x');
        await suspendForm.getByRole('button', { name: 'Suspend clinic' }).click();
        await admin.locator('[data-testid=error-reason]').waitFor({ state: 'visible' });
        assert.equal(await text(status), 'trial', 'suspended without a proper reason');
        assert.equal((await rawGet(subdomainUrl(clinic.slug, '/signin'))).status, 200);

        await suspendForm.locator('#reason').fill('E2E: suspended by the self-service test');
        await suspendForm.getByRole('button', { name: 'Suspend clinic' }).click();
        await admin.locator('[data-testid=reactivate-form]').waitFor({ state: 'visible' });
        assert.equal(await text(status), 'suspended');
        await screenshot(admin, 'self-service-admin-tenant-suspended');

        // Staff are blocked on every page of the clinic.
        const blocked = await owner.reload({ waitUntil: 'load' });
        assert.equal(blocked?.status(), 403, `the owner's dashboard of a suspended clinic -> ${blocked?.status()}`);
        await owner.locator('[data-testid=suspended]').waitFor({ state: 'visible' });
        assert.equal(await owner.locator('[data-testid=staff-shell]').count(), 0, 'the dashboard shows while suspended');
        await screenshot(owner, 'self-service-suspended-staff');
        const users = await open(owner, pathUrl(clinic.slug, '/staff/users'));
        assert.equal(users.status(), 403, `/staff/users of a suspended clinic -> ${users.status()}`);
        const api = await owner.evaluate(async (slug) => {
          const r = await fetch(`/t/${slug}/api/onboarding_checklist`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
          return r.status;
        }, clinic.slug);
        assert.ok(api >= 400, `a server function of a suspended clinic answered ${api}`);
        assert.equal((await rawGet(subdomainUrl(clinic.slug, '/signin'))).status, 403, 'the suspended clinic\'s sign-in page is open');

        // Reactivated: back in trial, and the owner's session still works.
        await admin.locator('[data-testid=reactivate-form]').getByRole('button', { name: 'Reactivate clinic' }).click();
        await admin.locator('[data-testid=suspend-form]').waitFor({ state: 'visible' });
        assert.equal(await text(status), 'trial');
      });

      const back = await open(owner, pathUrl(clinic.slug, '/staff'));
      assert.equal(back.status(), 200, `the owner's dashboard after reactivation -> ${back.status()}`);
      assert.equal(new URL(owner.url()).pathname, `/t/${clinic.slug}/staff`, `the owner was signed out (at ${owner.url()})`);
      await owner.locator('[data-testid=staff-shell]').waitFor({ state: 'visible' });
      assert.equal(await text(owner.locator('[data-testid=signed-in-as]')), `Signed in as ${clinic.owner} (owner)`);
    });
  });
});

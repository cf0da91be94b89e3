// Forms before hydration: with JavaScript disabled every form still works as a
// plain HTML form. Success goes where it would go with JavaScript; a refusal
// shows the page again with the messages and what was typed (never raw JSON,
// never a blank form, and nothing typed in the address bar).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  GENERIC_SIGN_IN_ERROR,
  launchBrowser,
  withPage,
  open,
  subdomainUrl,
  pathUrl,
  platformUrl,
  uniqueEmail,
  mailLinkFor,
} from './support.mjs';

const NO_JS = { javaScriptEnabled: false };

/** Submits the form `form` (a locator) by pressing its submit button; waits for the page that follows. */
async function submit(page, form, name) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.getByRole('button', { name }).click(),
  ]);
}

/** The page shows HTML, not a server function's raw answer. */
async function assertAPage(page, where) {
  const body = (await page.locator('body').innerText()).trim();
  assert.ok(!/^[{["]/.test(body), `${where}: raw data instead of a page: ${body.slice(0, 200)}`);
  assert.ok(!new URL(page.url()).pathname.includes('/api/'), `${where}: left on ${page.url()}`);
}

/** Nothing the person typed travels in the address. */
function assertNothingTypedInUrl(page, ...typed) {
  const url = decodeURIComponent(page.url());
  for (const t of typed) assert.ok(!url.includes(t), `"${t}" is in the address ${page.url()}`);
  assert.ok(!/__err|__path/.test(url), `error details in the address ${page.url()}`);
}

describe('forms without JavaScript', { timeout: TEST_TIMEOUT_MS * 6 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const [via, base] of [
    ['subdomain', (p) => subdomainUrl('acme', p)],
    ['path', (p) => pathUrl('acme', p)],
  ]) {
    test(`sign-in (${via}): a refusal shows the message and the email typed; the right password lands on the dashboard`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, NO_JS, async (page) => {
        await open(page, base('/signin?next=%2Fstaff%2Fusers'));
        const wrong = uniqueEmail('nobody');
        let form = page.locator('[data-testid=sign-in-form]');
        await form.locator('#email').fill(wrong);
        await form.locator('#password').fill('not the password at all');
        await submit(page, form, 'Sign in');
        await assertAPage(page, 'refused sign-in');
        assert.match(await page.locator('[data-testid=form-error]').innerText(), GENERIC_SIGN_IN_ERROR);
        form = page.locator('[data-testid=sign-in-form]');
        assert.equal(await form.locator('#email').inputValue(), wrong, 'the email typed is gone');
        assert.equal(await form.locator('#password').inputValue(), '', 'a password was kept');
        assertNothingTypedInUrl(page, wrong);
        assert.equal(new URL(page.url()).searchParams.get('next'), '/staff/users', 'where to go next was lost');

        await form.locator('#email').fill(ACCOUNTS.acmeOwner.email);
        await form.locator('#password').fill(DEMO_PASSWORD);
        await submit(page, form, 'Sign in');
        assert.match(new URL(page.url()).pathname, /\/staff\/users$/, `not on the page asked for: ${page.url()}`);
        await page.locator('[data-testid=users-page]').waitFor({ state: 'visible' });
        // The list is rendered on the server, not left at "Loading…" for code that never runs.
        await page.locator('[data-testid=staff-table]').waitFor({ state: 'visible' });

        // Reloading the page after the message does not show it again.
        await open(page, base('/signin'));
        assert.equal(await page.locator('[data-testid=form-error]').count(), 0);
      });
    });
  }

  test('a staff form (inviting a colleague) and accepting the invitation, with the messages on refusal', { timeout: TEST_TIMEOUT_MS }, async () => {
    const base = (p) => subdomainUrl('acme', p);
    const colleague = uniqueEmail('nojs-colleague');
    await withPage(browser, NO_JS, async (page) => {
      await open(page, base('/signin'));
      const signin = page.locator('[data-testid=sign-in-form]');
      await signin.locator('#email').fill(ACCOUNTS.acmeOwner.email);
      await signin.locator('#password').fill(DEMO_PASSWORD);
      await submit(page, signin, 'Sign in');
      await open(page, base('/staff/users'));

      // An existing member cannot be invited again: refused, with the role chosen kept.
      let invite = page.locator('[data-testid=invite-form]');
      await invite.locator('#invite_email').fill(ACCOUNTS.acmeNurse.email);
      await invite.locator('#invite_role').selectOption('doctor');
      await submit(page, invite, 'Send invitation');
      await assertAPage(page, 'refused invitation');
      assert.equal(new URL(page.url()).pathname, '/staff/users');
      const refusal = await page.locator('[data-testid=error-email], [data-testid=form-error]').allInnerTexts();
      assert.ok(refusal.join(' ').length > 0, 'no message after a refused invitation');
      invite = page.locator('[data-testid=invite-form]');
      assert.equal(await invite.locator('#invite_email').inputValue(), ACCOUNTS.acmeNurse.email);
      assert.equal(await invite.locator('#invite_role').inputValue(), 'doctor');
      assertNothingTypedInUrl(page, ACCOUNTS.acmeNurse.email);

      await invite.locator('#invite_email').fill(colleague);
      await invite.locator('#invite_role').selectOption('nurse');
      await submit(page, invite, 'Send invitation');
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
      assert.ok(
        (await page.locator('body').innerText()).includes(colleague),
        'the new invitation is not listed as pending',
      );
    });

    const link = await mailLinkFor(colleague);
    await withPage(browser, NO_JS, async (page) => {
      await open(page, link);
      let form = page.locator('[data-testid=accept-form]');
      await form.locator('#display_name').fill('Noor Script-Free');
      await form.locator('#password').fill('short');
      // The browser's own check (minlength) would stop this post; a person on an
      // old browser would get through it, so the server's message is what counts.
      await form.evaluate((f) => f.setAttribute('novalidate', ''));
      await submit(page, form, 'Accept and sign in');
      await assertAPage(page, 'refused acceptance');
      assert.ok(await page.locator('[data-testid=error-password]').isVisible(), 'no message at the password');
      form = page.locator('[data-testid=accept-form]');
      assert.equal(await form.locator('#display_name').inputValue(), 'Noor Script-Free');
      assert.equal(await form.locator('#password').inputValue(), '');
      assertNothingTypedInUrl(page, 'Noor');

      await form.locator('#password').fill('a long enough passphrase for noor');
      await submit(page, form, 'Accept and sign in');
      assert.match(new URL(page.url()).pathname, /^\/staff$/, `not on the dashboard: ${page.url()}`);
      await page.locator('[data-testid=staff-shell]').waitFor({ state: 'visible' });
    });

    // Reset: ask for a link, then choose a new password, all without JavaScript.
    await withPage(browser, NO_JS, async (page) => {
      await open(page, base('/forgot-password'));
      let form = page.locator('form').filter({ has: page.locator('#email') });
      await form.locator('#email').fill(colleague);
      await submit(page, form, 'Send reset link');
      await page.locator('[data-testid=reset-sent]').waitFor({ state: 'visible' });
      assertNothingTypedInUrl(page, colleague);

      const resetLink = await mailLinkFor(colleague);
      await open(page, resetLink);
      form = page.locator('form').filter({ has: page.locator('#password') });
      await form.evaluate((f) => f.setAttribute('novalidate', ''));
      await form.locator('#password').fill('tiny');
      await submit(page, form, 'Save password');
      await assertAPage(page, 'refused new password');
      assert.ok(await page.locator('[data-testid=error-password]').isVisible(), 'no message at the password');

      form = page.locator('form').filter({ has: page.locator('#password') });
      await form.locator('#password').fill('another long passphrase for noor');
      await submit(page, form, 'Save password');
      assert.equal(new URL(page.url()).pathname, '/signin');
      await page.locator('[data-testid=reset-done]').waitFor({ state: 'visible' });
    });
  });

  test('sign-up: a refusal keeps everything typed but the password; a valid form reaches "check your email"', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, NO_JS, async (page) => {
      await open(page, platformUrl('/signup'));
      const owner = uniqueEmail('nojs-owner');
      let form = page.locator('[data-testid=signup-form]');
      await form.locator('#clinic_name').fill('Quiet Valley Clinic');
      await form.locator('#slug').fill('acme');
      await form.locator('#owner_name').fill('Quinn Valley');
      await form.locator('#email').fill(owner);
      await form.locator('#password').fill('a long enough passphrase here');
      await form.locator('input[name=terms]').check();
      await submit(page, form, 'Create my clinic');
      await assertAPage(page, 'refused sign-up');
      assert.equal(new URL(page.url()).pathname, '/signup');
      assert.ok(await page.locator('[data-testid=error-slug]').isVisible(), 'no message at the taken address');
      form = page.locator('[data-testid=signup-form]');
      assert.equal(await form.locator('#clinic_name').inputValue(), 'Quiet Valley Clinic');
      assert.equal(await form.locator('#owner_name').inputValue(), 'Quinn Valley');
      assert.equal(await form.locator('#email').inputValue(), owner);
      assert.equal(await form.locator('#slug').inputValue(), 'acme');
      assert.equal(await form.locator('#password').inputValue(), '');
      assertNothingTypedInUrl(page, owner, 'Quiet Valley');

      const slug = `quiet-${Date.now().toString(36)}`;
      await form.locator('#slug').fill(slug);
      await form.locator('#password').fill('a long enough passphrase here');
      await form.locator('input[name=terms]').check();
      await submit(page, form, 'Create my clinic');
      assert.equal(new URL(page.url()).pathname, '/signup/sent');
      await page.locator('[data-testid=signup-sent]').waitFor({ state: 'visible' });
    });
  });
});

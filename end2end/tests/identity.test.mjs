// Identity and access, end to end: signing in and out, the generic refusal and
// lockout, staff and patient invitations through the dev mailbox, password
// reset ending old sessions, two-factor enrollment and sign-in with a computed
// TOTP code, sessions bound to one tenant, and the platform operator's forced
// two-factor set-up.
//
// Tests share one demo database: each one uses its own demo account or creates
// its own (unique e-mail addresses), so none depends on another's side effects.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TENANTS,
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  GENERIC_SIGN_IN_ERROR,
  SESSION_COOKIE,
  launchBrowser,
  withPage,
  open,
  platformUrl,
  pathUrl,
  subdomainUrl,
  waitForHydration,
  screenshot,
  signIn,
  signInHere,
  submitSignIn,
  signOut,
  sessionCookieFor,
  mailLinkFor,
  uniqueEmail,
  freshTotp,
  totp,
  sleep,
  rawGet,
  acceptAsNewAccount,
  assertNoHorizontalOverflow,
  openCollapsedNav,
} from './support.mjs';

const acme = (p) => subdomainUrl('acme', p);
const acmePath = (p) => pathUrl('acme', p);
const northwind = (p) => subdomainUrl('northwind', p);
const platform = (p) => platformUrl(p);

/** Passwords the tests choose (12+ characters, not on the common list). */
const NEW_PASSWORD = 'violet kettle harbour lamp';
const OTHER_PASSWORD = 'quiet orchard mango tiles';

/** Labels of the links in the shell navigation. */
async function navLinks(page) {
  return (await page.locator('[data-testid=app-nav] a').allInnerTexts()).map((t) => t.trim());
}

async function signedInAs(page) {
  const el = page.locator('[data-testid=signed-in-as]');
  await el.waitFor({ state: 'visible' });
  return ((await el.innerText()) ?? '').trim();
}

/** Assert the page is the sign-in page of `host` reached by a redirect for `next`. */
function assertSignInRedirect(page, { host, next, pathPrefix = '' }) {
  const u = new URL(page.url());
  assert.equal(u.host, host, `expected to stay on ${host}, now at ${page.url()}`);
  assert.equal(u.pathname, `${pathPrefix}/signin`, `expected the sign-in page, now at ${page.url()}`);
  if (next !== undefined) {
    assert.equal(u.searchParams.get('next'), next, `next= of ${page.url()}`);
  }
}

/**
 * Signed in as the acme owner in a fresh context, invite `email` as staff with
 * `role` from /staff/users and return the invitation link from the mailbox.
 */
async function inviteStaff(browser, email, role, { shot } = {}) {
  await withPage(browser, {}, async (page) => {
    await signIn(page, acme('/signin?next=/staff/users'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
      expect: /\/staff\/users$/,
    });
    await waitForHydration(page, '(users page)');
    const form = page.locator('[data-testid=invite-form]');
    await form.locator('#invite_email').fill(email);
    await form.locator('select#invite_role').selectOption(role);
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('[data-testid=form-error]').count(), 0, 'invitation shows an error');
    if (shot) await screenshot(page, shot);
  });
  const link = await mailLinkFor(email);
  assert.ok(
    link.startsWith(acme('/invite?token=')),
    `the invitation link should be on the origin the owner used (${acme('/invite')}), got ${link}`,
  );
  return link;
}

/** A new acme staff account via invitation; returns its credentials. */
async function newAcmeStaff(browser, prefix, role) {
  const email = uniqueEmail(prefix);
  const link = await inviteStaff(browser, email, role);
  const name = `E2E ${prefix} ${Date.now() % 100000}`;
  await withPage(browser, {}, async (page) => {
    await acceptAsNewAccount(page, link, name, NEW_PASSWORD, /\/staff$/);
  });
  return { email, name, password: NEW_PASSWORD };
}

/** Turn on two-factor on the open /account/security page; returns the secret. */
async function enrollTotp(page, password, { shot } = {}) {
  await waitForHydration(page, '(security page)');
  await page.locator('#start_password').fill(password);
  await page.getByRole('button', { name: 'Set up two-factor' }).click();
  const secretEl = page.locator('[data-testid=totp-secret]');
  await secretEl.waitFor({ state: 'visible' });
  const secret = ((await secretEl.innerText()) ?? '').trim();
  assert.match(secret, /^[A-Z2-7]{16,}$/, `[data-testid=totp-secret] is not a base32 secret: ${secret}`);
  const panel = secretEl.locator('xpath=..');
  assert.ok((await panel.locator('svg').count()) >= 1, 'no QR code (svg) next to the secret');
  if (shot) await screenshot(page, shot);
  await page.locator('#totp_code').fill(await freshTotp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codes = page.locator('[data-testid=recovery-codes] li');
  await page.locator('[data-testid=recovery-codes]').waitFor({ state: 'visible' });
  const recovery = (await codes.allInnerTexts()).map((c) => c.trim());
  assert.equal(recovery.length, 10, `expected 10 recovery codes, got ${recovery.length}`);
  return { secret, recovery };
}

/** Submit the second-factor form that the sign-in page shows. */
async function submitCode(page, code) {
  const form = page.locator('[data-testid=second-factor-form]');
  await form.locator('#code').fill(code);
  await form.getByRole('button', { name: 'Verify' }).click();
}

describe('identity and access', { timeout: TEST_TIMEOUT_MS * 20 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('staff sign-in lands on the dashboard with the owner navigation', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page, { context, pageErrors }) => {
      const res = await open(page, acme('/signin'));
      assert.equal(res.status(), 200);
      await waitForHydration(page, '(acme sign-in)');
      const button = page.locator('[data-testid=sign-in-form]').getByRole('button', { name: 'Sign in' });
      assert.equal(await button.isEnabled(), true, 'the Sign in button is disabled');
      await screenshot(page, 'identity-signin');

      const landing = await signInHere(page, ACCOUNTS.acmeOwner.email);
      assert.equal(landing.status(), 200, `GET ${landing.url()} -> ${landing.status()}`);
      assert.equal(new URL(page.url()).pathname, '/staff');
      assert.ok(await page.locator('[data-testid=staff-shell]').isVisible(), 'staff shell not visible');
      assert.equal(await signedInAs(page), 'Signed in as Olivia Owens (owner)');
      assert.equal(((await page.locator('[data-testid=viewer-name]').innerText()) ?? '').trim(), 'Olivia Owens');
      const nav = await navLinks(page);
      for (const label of ['Dashboard', 'Patients', 'Users', 'Audit log', 'Clinic security']) {
        assert.ok(nav.includes(label), `owner navigation lacks "${label}": ${nav.join(', ')}`);
      }
      const security = page.getByRole('link', { name: 'Security', exact: true });
      assert.equal(new URL(await security.getAttribute('href'), page.url()).pathname, '/account/security');
      assert.equal(await page.locator('[data-testid=sign-out]').count(), 1, 'no sign-out button');
      assert.match(String(landing.headers()['cache-control'] ?? ''), /no-store/, 'signed-in page may be cached');

      const cookie = await sessionCookieFor(context, acme('/'));
      assert.ok(cookie, `no ${SESSION_COOKIE} cookie after signing in`);
      assert.equal(cookie.httpOnly, true, 'session cookie is not HttpOnly');
      assert.equal(cookie.sameSite, 'Lax', 'session cookie is not SameSite=Lax');
      assert.equal(cookie.domain, 'acme.localhost', 'session cookie is not host-only');
      assert.equal(cookie.path, '/');

      await page.waitForLoadState('networkidle');
      await screenshot(page, 'identity-dashboard');
      assert.deepEqual(pageErrors, [], 'uncaught errors on the dashboard');
    });
  });

  test('anonymous /staff/users redirects to sign-in and back after signing in', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      const res = await open(page, acme('/staff/users'));
      assert.equal(res.status(), 200);
      assertSignInRedirect(page, { host: `acme.localhost:${new URL(acme('/')).port}`, next: '/staff/users' });
      assert.ok(await page.locator('[data-testid=sign-in-form]').isVisible(), 'no sign-in form after the redirect');
      await signInHere(page, ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, { expect: /\/staff\/users$/ });
      await page.locator('[data-testid=staff-table]').waitFor({ state: 'visible' });
      const table = (await page.locator('[data-testid=staff-table]').innerText()) ?? '';
      assert.match(table, /olivia\.owner@acme\.example/);
      assert.doesNotMatch(table, /hannah\.hughes@northwind\.example/, 'users page lists another clinic\'s staff');
      await screenshot(page, 'identity-users');
    });
  });

  test('wrong password: generic error, password emptied, email kept, no navigation', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await open(page, acme('/signin'));
      await waitForHydration(page, '(acme sign-in)');
      let navigations = 0;
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) navigations += 1;
      });
      const before = page.url();
      await submitSignIn(page, ACCOUNTS.acmeNurse.email, 'not the right password at all');
      const error = page.locator('[data-testid=form-error]');
      await error.waitFor({ state: 'visible' });
      assert.match((await error.innerText()) ?? '', GENERIC_SIGN_IN_ERROR);
      assert.equal(await page.locator('#password').inputValue(), '', 'the password field was not emptied');
      assert.equal(await page.locator('#email').inputValue(), ACCOUNTS.acmeNurse.email, 'the email field was not kept');
      const button = page.locator('[data-testid=sign-in-form]').getByRole('button', { name: 'Sign in' });
      await button.waitFor({ state: 'visible' });
      assert.equal(await button.isEnabled(), true, 'the button stays disabled after the refusal');
      assert.equal(page.url(), before, 'the page navigated');
      assert.equal(navigations, 0, 'the page navigated');
      await screenshot(page, 'identity-signin-error');

      // An unknown address gets exactly the same answer.
      await submitSignIn(page, 'nobody-here@acme.example', 'not the right password at all');
      await page.waitForFunction(() => document.querySelector('#password')?.value === '');
      await error.waitFor({ state: 'visible' });
      assert.match((await error.innerText()) ?? '', GENERIC_SIGN_IN_ERROR);
    });
  });

  test('five wrong passwords lock the account: the correct one is then refused too', { timeout: TEST_TIMEOUT_MS }, async () => {
    const email = ACCOUNTS.acmeBilling.email; // used by no other test
    await withPage(browser, {}, async (page) => {
      await open(page, acme('/signin'));
      await waitForHydration(page, '(acme sign-in)');
      const error = page.locator('[data-testid=form-error]');
      for (let attempt = 1; attempt <= 6; attempt += 1) {
        const password = attempt <= 5 ? `wrong password number ${attempt}` : DEMO_PASSWORD;
        const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/sign_in');
        await submitSignIn(page, email, password);
        const res = await answered;
        assert.ok(res.status() >= 400, `attempt ${attempt}: /api/sign_in answered ${res.status()}`);
        await page.waitForFunction(() => document.querySelector('#password')?.value === '');
        await error.waitFor({ state: 'visible' });
        assert.match((await error.innerText()) ?? '', GENERIC_SIGN_IN_ERROR, `attempt ${attempt}`);
        assert.equal(new URL(page.url()).pathname, '/signin', `attempt ${attempt} left the sign-in page`);
      }
      await sleep(500);
      assert.equal(new URL(page.url()).pathname, '/signin', 'the locked account was signed in');
    });

    // The owner sees the failures and the lock in the audit log.
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin?next=/staff/audit'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/audit$/,
      });
      await waitForHydration(page, '(audit page)');
      await page.locator('[data-testid=audit-table]').waitFor({ state: 'visible' });
      const refreshed = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/api/list_audit'));
      await page.locator('[data-testid=filter-actor]').fill('ben.baker');
      await page.locator('[data-testid=filter-actor]').dispatchEvent('change');
      await refreshed;
      const locked = page.locator('[data-testid=audit-table] tr[data-action="account.locked"]');
      await locked.first().waitFor({ state: 'attached' });
      assert.match((await locked.first().innerText()) ?? '', /ben\.baker@acme\.example/);
      const failed = await page.locator('[data-testid=audit-table] tr[data-action="sign_in.failed"]').count();
      assert.ok(failed >= 5, `expected at least 5 sign_in.failed rows for ben.baker, got ${failed}`);
      const others = await page
        .locator('[data-testid=audit-table] tbody tr')
        .evaluateAll((rows) => rows.filter((r) => !r.innerText.includes('ben.baker')).length);
      assert.equal(others, 0, 'the person filter left rows of other people');
      await screenshot(page, 'identity-audit');
    });
  });

  test('staff invitation: mailbox link, accept, nurse permissions, sign out and in again', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const email = uniqueEmail('nurse');
    const link = await inviteStaff(browser, email, 'nurse');

    await withPage(browser, {}, async (page) => {
      // The link really comes through the mailbox page, as a person would click it.
      await open(page, platformUrl('/dev/mailbox'));
      const mailLink = page.locator(`article[data-testid=mail][data-to="${email}"] a[data-testid=mail-link]`).first();
      assert.equal(await mailLink.getAttribute('href'), link);
      await Promise.all([page.waitForURL((u) => u.pathname === '/invite'), mailLink.click()]);
      await waitForHydration(page, '(accept invitation)');
      const form = page.locator('[data-testid=accept-form]');
      await form.waitFor({ state: 'visible' });
      assert.match((await page.locator('main').innerText()) ?? '', new RegExp(`Join ${TENANTS.acme.name}`));
      assert.match((await page.locator('main').innerText()) ?? '', /as nurse/);

      // A common password is refused, on the password field.
      await form.locator('#display_name').fill('Nora Newhire');
      await form.locator('#password').fill('password1234');
      await form.getByRole('button', { name: 'Accept and sign in' }).click();
      await page.locator('[data-testid=error-password]').waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, '/invite');

      await form.locator('#password').fill(NEW_PASSWORD);
      const landed = page.waitForURL((u) => u.pathname === '/staff', { timeout: 30_000 });
      await form.getByRole('button', { name: 'Accept and sign in' }).click();
      await landed;
      assert.equal(await signedInAs(page), 'Signed in as Nora Newhire (nurse)');
      const nav = await navLinks(page);
      assert.ok(nav.includes('Dashboard') && nav.includes('Patients'), `nurse navigation: ${nav.join(', ')}`);
      for (const hidden of ['Users', 'Audit log', 'Clinic security']) {
        assert.ok(!nav.includes(hidden), `nurse navigation shows "${hidden}": ${nav.join(', ')}`);
      }
      const denied = await open(page, acme('/staff/users'));
      assert.equal(denied.status(), 403, `GET /staff/users as a nurse -> ${denied.status()}`);
      assert.equal(await page.locator('[data-testid=staff-table]').count(), 0, 'the nurse sees the staff table');
      const auditDenied = await open(page, acme('/staff/audit'));
      assert.equal(auditDenied.status(), 403, `GET /staff/audit as a nurse -> ${auditDenied.status()}`);

      // The link works once.
      await open(page, link);
      await waitForHydration(page, '(used invitation)');
      await page.locator('[data-testid=form-error]').waitFor({ state: 'visible' });
      assert.match((await page.locator('[data-testid=form-error]').innerText()) ?? '', /invalid, used or expired/);
      assert.equal(await page.locator('[data-testid=accept-form]').count(), 0);

      await signOut(page, acme);
      const after = await open(page, acme('/staff'));
      assert.equal(after.status(), 200);
      assertSignInRedirect(page, { host: new URL(acme('/')).host, next: '/staff' });

      await signInHere(page, email, NEW_PASSWORD);
      assert.equal(await signedInAs(page), 'Signed in as Nora Newhire (nurse)');
    });
  });

  test('password reset ends the old session; the new password works', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const email = ACCOUNTS.acmeReceptionist.email; // used by no other test
    await withPage(browser, {}, async (pageA) => {
      await signIn(pageA, acme('/signin'), email);
      assert.match(await signedInAs(pageA), /^Signed in as Rita Reyes \(receptionist\)$/);

      await withPage(browser, {}, async (pageB) => {
        // Requested under the path form: the link must come back on that origin.
        await open(pageB, acmePath('/forgot-password'));
        await waitForHydration(pageB, '(forgot password)');
        await pageB.locator('#email').fill(email);
        await pageB.getByRole('button', { name: 'Send reset link' }).click();
        await pageB.locator('[data-testid=reset-sent]').waitFor({ state: 'visible' });

        const link = await mailLinkFor(email);
        assert.ok(link.startsWith(acmePath('/reset-password?token=')), `reset link on the wrong origin: ${link}`);
        await open(pageB, link);
        await waitForHydration(pageB, '(reset password)');
        await pageB.locator('#password').fill(NEW_PASSWORD);
        const landed = pageB.waitForURL((u) => u.pathname === '/t/acme/signin' && u.searchParams.get('reset') === '1');
        await pageB.getByRole('button', { name: 'Save password' }).click();
        await landed;
        await pageB.locator('[data-testid=reset-done]').waitFor({ state: 'visible' });

        // The link works once.
        await open(pageB, link);
        await waitForHydration(pageB, '(used reset link)');
        await pageB.locator('#password').fill(OTHER_PASSWORD);
        await pageB.getByRole('button', { name: 'Save password' }).click();
        await pageB.locator('[data-testid=form-error]').waitFor({ state: 'visible' });
        assert.match((await pageB.locator('[data-testid=form-error]').innerText()) ?? '', /invalid or has expired/);
      });

      // Context A's session is gone.
      const res = await pageA.reload({ waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      assertSignInRedirect(pageA, { host: new URL(acme('/')).host, next: '/staff' });

      await submitSignIn(pageA, email, DEMO_PASSWORD);
      await pageA.locator('[data-testid=form-error]').waitFor({ state: 'visible' });
      assert.match((await pageA.locator('[data-testid=form-error]').innerText()) ?? '', GENERIC_SIGN_IN_ERROR);

      await signInHere(pageA, email, NEW_PASSWORD);
      assert.equal(new URL(pageA.url()).pathname, '/staff');
      assert.match(await signedInAs(pageA), /Rita Reyes/);
    });
  });

  test('two-factor: enroll with a computed TOTP, then sign in with a code and with a recovery code', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const who = await newAcmeStaff(browser, 'doctor-2fa', 'doctor');
    let secret;
    let recovery;
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), who.email, who.password);
      await page.getByRole('link', { name: 'Security', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/account/security');
      ({ secret, recovery } = await enrollTotp(page, who.password, { shot: 'identity-security-qr' }));
      await page.reload({ waitUntil: 'load' });
      await page.locator('[data-testid=totp-on]').waitFor({ state: 'visible' });
      await signOut(page, acme);

      // Password first, then the second-factor form on the same page.
      await open(page, acme('/signin'));
      await submitSignIn(page, who.email, who.password);
      await page.locator('[data-testid=second-factor-form]').waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.equal(await page.locator('[data-testid=sign-in-form]').count(), 0, 'the password form is still shown');
      // Password alone does not sign in.
      const pending = await sessionCookieFor(page.context(), acme('/'));
      assert.ok(pending, 'no session cookie while the second factor is pending');
      const early = await rawGet(acme('/staff'), { headers: { Cookie: `${SESSION_COOKIE}=${pending.value}` } });
      assert.equal(early.status, 303, `GET /staff between password and code -> ${early.status}`);
      assert.match(String(early.headers.location), /^\/signin\?next=\/staff/);

      // A wrong code is refused on the code field.
      const wrong = String((Number(totp(secret)) + 500_000) % 1_000_000).padStart(6, '0');
      await submitCode(page, wrong);
      await page.locator('[data-testid=error-code]').waitFor({ state: 'visible' });

      const landed = page.waitForURL((u) => u.pathname === '/staff', { timeout: 30_000 });
      await submitCode(page, await freshTotp(secret));
      await landed;
      assert.equal(await signedInAs(page), `Signed in as ${who.name} (doctor)`);
      await signOut(page, acme);

      // A recovery code works once.
      await open(page, acme('/signin'));
      await submitSignIn(page, who.email, who.password);
      await page.locator('[data-testid=second-factor-form]').waitFor({ state: 'visible' });
      const landedAgain = page.waitForURL((u) => u.pathname === '/staff', { timeout: 30_000 });
      await submitCode(page, recovery[0]);
      await landedAgain;
      await signOut(page, acme);

      await open(page, acme('/signin'));
      await submitSignIn(page, who.email, who.password);
      await page.locator('[data-testid=second-factor-form]').waitFor({ state: 'visible' });
      await submitCode(page, recovery[0]);
      await page.locator('[data-testid=error-code]').waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, '/signin', 'a used recovery code signed in');
    });
  });

  test('patient invitation: the portal shows only that patient; /staff stays closed', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const email = uniqueEmail('patient');
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin?next=/staff/patients'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/patients$/,
      });
      await waitForHydration(page, '(patients page)');
      const row = page.locator('[data-testid=patient-list] li[data-mrn="ACM-0002"]');
      await row.waitFor({ state: 'visible' });
      assert.match((await row.innerText()) ?? '', /James/);
      await row.getByLabel('Portal email').fill(email);
      await row.getByRole('button', { name: 'Invite to portal' }).click();
      await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
    });

    const link = await mailLinkFor(email);
    assert.ok(link.startsWith(acme('/invite?token=')), `portal invitation on the wrong origin: ${link}`);
    await withPage(browser, {}, async (page) => {
      await open(page, link);
      await waitForHydration(page, '(accept portal invitation)');
      assert.match((await page.locator('main').innerText()) ?? '', /patient portal/);
      // The account's own name differs from the record's, so my-name must come from the record.
      await acceptAsNewAccount(page, link, 'Jim (portal account)', NEW_PASSWORD, /\/portal$/);
      assert.ok(await page.locator('[data-testid=portal-shell]').isVisible(), 'portal shell not visible');
      await page.locator('[data-testid=my-record]').waitFor({ state: 'visible' });
      assert.equal(((await page.locator('[data-testid=my-mrn]').innerText()) ?? '').trim(), 'ACM-0002');
      assert.equal(((await page.locator('[data-testid=my-name]').innerText()) ?? '').trim(), 'James Carter');
      const text = (await page.locator('body').innerText()) ?? '';
      for (const other of ['ACM-0001', 'Maria', 'Lopez', 'ACM-0003', 'Tanaka']) {
        assert.ok(!text.includes(other), `the portal shows another patient's data: "${other}"`);
      }
      assert.ok(!(await navLinks(page)).includes('Patients'), 'the portal navigation links to the staff patient list');
      await page.waitForLoadState('networkidle');
      await screenshot(page, 'identity-portal');

      const staff = await open(page, acme('/staff'));
      const at = new URL(page.url());
      assert.ok(
        staff.status() === 403 || at.pathname === '/signin',
        `a patient opened /staff: HTTP ${staff.status()} at ${page.url()}`,
      );
      assert.equal(await page.locator('[data-testid=staff-shell]').count(), 0, 'a patient sees the staff shell');
      const patients = await open(page, acme('/staff/patients'));
      assert.ok(
        patients.status() === 403 || new URL(page.url()).pathname === '/signin',
        `a patient opened /staff/patients: HTTP ${patients.status()} at ${page.url()}`,
      );
      assert.equal(await page.locator('[data-testid=patient-list]').count(), 0, 'a patient sees the patient list');

      // Signing out goes to the portal sign-in. The clinic's one sign-in takes a
      // patient to the portal; so does the portal's own sign-in.
      await signOut(page, acme, { expect: /\/portal\/signin$/ });
      await open(page, acme('/signin'));
      await signInHere(page, email, NEW_PASSWORD, { expect: /\/portal$/ });
      await page.locator('[data-testid=my-mrn]').waitFor({ state: 'visible' });
      await signOut(page, acme, { expect: /\/portal\/signin$/ });
      await open(page, acme('/portal/signin'));
      await signInHere(page, email, NEW_PASSWORD, { expect: /\/portal$/ });
      await page.locator('[data-testid=my-mrn]').waitFor({ state: 'visible' });
      assert.equal(((await page.locator('[data-testid=my-mrn]').innerText()) ?? '').trim(), 'ACM-0002');
    });
  });

  test('a session cookie counts only on its own tenant (subdomain replay)', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Amara is staff at both clinics: only the tenant binding can refuse her here.
    let cookie;
    await withPage(browser, {}, async (page, { context }) => {
      await signIn(page, acme('/signin'), ACCOUNTS.amara.email);
      cookie = await sessionCookieFor(context, acme('/'));
      assert.ok(cookie, 'no session cookie on acme');
      assert.equal((await context.cookies(northwind('/'))).length, 0, 'the acme cookie is sent to northwind');
    });
    await withPage(browser, {}, async (page, { context }) => {
      await context.addCookies([
        { name: SESSION_COOKIE, value: cookie.value, url: northwind('/'), httpOnly: true, sameSite: 'Lax' },
        { name: SESSION_COOKIE, value: cookie.value, url: acme('/'), httpOnly: true, sameSite: 'Lax' },
      ]);
      const res = await open(page, northwind('/staff'));
      assert.equal(res.status(), 200);
      assertSignInRedirect(page, { host: new URL(northwind('/')).host, next: '/staff' });
      assert.equal(await page.locator('[data-testid=staff-shell]').count(), 0, 'northwind dashboard shown');
      assert.equal(
        ((await page.locator('[data-testid=tenant-name]').innerText()) ?? '').trim(),
        TENANTS.northwind.name,
      );
      // The same cookie is still good on acme: the refusal was the tenant binding.
      await open(page, acme('/staff'));
      assert.equal(new URL(page.url()).pathname, '/staff', `the replayed cookie does not work on acme: ${page.url()}`);
      assert.match(await signedInAs(page), /Dr\. Amara Okafor \(doctor\)/);
    });
  });

  test('a session counts only on its own tenant (path addressing)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acmePath('/signin'), ACCOUNTS.amara.email, DEMO_PASSWORD, { expect: /^\/t\/acme\/staff$/ });
      assert.match(await signedInAs(page), /Dr\. Amara Okafor/);
      const res = await open(page, pathUrl('northwind', '/staff'));
      assert.equal(res.status(), 200);
      assertSignInRedirect(page, { host: new URL(platform('/')).host, next: '/staff', pathPrefix: '/t/northwind' });
      assert.equal(await page.locator('[data-testid=staff-shell]').count(), 0, 'northwind dashboard shown');
      // The acme session is left alone.
      await open(page, acmePath('/staff'));
      assert.equal(new URL(page.url()).pathname, '/t/acme/staff', `acme session lost: ${page.url()}`);
      // Nor does it open the platform console.
      await open(page, platform('/admin'));
      assert.equal(new URL(page.url()).pathname, '/signin', `acme staff reached /admin: ${page.url()}`);
      assert.equal(await page.locator('[data-testid=admin-shell]').count(), 0);
    });
  });

  test('clinic switcher lists the other clinic; its link needs a sign-in there', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.amara.email);
      const switcher = page.locator('[data-testid=clinic-switcher]');
      await switcher.waitFor({ state: 'visible' });
      await switcher.locator('summary').click();
      const link = switcher.getByRole('link', { name: TENANTS.northwind.name });
      assert.equal(await link.getAttribute('href'), northwind('/staff'));
      assert.equal(await switcher.getByRole('link', { name: TENANTS.acme.name }).count(), 0);
      await open(page, northwind('/staff'));
      assertSignInRedirect(page, { host: new URL(northwind('/')).host, next: '/staff' });
      await signInHere(page, ACCOUNTS.amara.email);
      assert.match(await signedInAs(page), /Dr\. Amara Okafor \(doctor\)/);
      assert.equal(((await page.locator('[data-testid=staff-shell] [data-testid=brand-header]').innerText()) ?? '').includes(TENANTS.northwind.name), true);
    });
  });

  test('platform operator must set up two-factor before the console opens', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    // The demo operator ends this test with two-factor on; no other test signs in as it.
    await withPage(browser, {}, async (page) => {
      const anon = await open(page, platform('/admin'));
      assert.equal(anon.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/admin');
      await signInHere(page, ACCOUNTS.operator.email, DEMO_PASSWORD, { expect: /^\/account\/security$/ });
      await page.locator('[data-testid=two-factor-required]').waitFor({ state: 'visible' });
      const blocked = await open(page, platform('/admin'));
      assert.equal(blocked.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/account/security', `/admin opened before two-factor: ${page.url()}`);
      assert.equal(await page.locator('[data-testid=admin-shell]').count(), 0);

      await enrollTotp(page, DEMO_PASSWORD);
      const res = await open(page, platform('/admin'));
      assert.equal(res.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/admin', `console still closed after two-factor: ${page.url()}`);
      assert.ok(await page.locator('[data-testid=admin-shell]').isVisible(), 'admin shell not visible');
      await page.locator('[data-testid=tenant-count]').waitFor({ state: 'visible' });
      assert.match((await page.locator('[data-testid=tenant-count]').innerText()) ?? '', /^\d+ tenants$/);
      // Background jobs: counts per state (the server's periodic work has run).
      await page.locator('[data-testid=job-counts]').waitFor({ state: 'visible' });
      assert.match(await page.locator('[data-testid=job-counts]').innerText(), /(queued|running|done|dead): \d+|No jobs yet/);
      const nav = page.locator('[data-testid=app-nav]');
      assert.ok(await nav.isVisible(), 'admin navigation not visible on desktop');
      assert.ok((await navLinks(page)).includes('Overview'), `admin navigation: ${(await navLinks(page)).join(', ')}`);
      await screenshot(page, 'identity-admin');

      // The console on a 360 px phone: no horizontal overflow, the nav opens.
      await page.setViewportSize({ width: 360, height: 740 });
      await open(page, platform('/admin'));
      await assertNoHorizontalOverflow(page, '/admin at 360px');
      const toggle = page.locator('[data-testid=nav-toggle]');
      assert.ok(await toggle.isVisible(), 'no nav toggle at 360px');
      assert.equal(await nav.isVisible(), false, 'nav open before the toggle is used');
      await openCollapsedNav(page, toggle, nav, '/admin');
      await assertNoHorizontalOverflow(page, '/admin at 360px (navigation open)');
      await screenshot(page, 'shell-admin-phone');
    });
  });
});

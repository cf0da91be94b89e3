// What a newcomer stumbled on (issue 11), part one: the shell and its details.
// Every page at 360 px without sideways scrolling (staff, portal, console and
// public pages), a skip link and the current page marked in the navigation,
// Escape closing the phone menu, focus and invalid fields after a refused form,
// a way back from every public page, branded 404 pages (unknown portal pages
// included), the suspended page naming how to reach the clinic, only languages
// the interface speaks, audit entries in words, and no small leaks of the build.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  rawGet,
  platformUrl,
  pathUrl,
  waitForHydration,
  screenshot,
  signIn,
  signInHere,
  assertNoHorizontalOverflow,
  startPrivateServer,
  freePort,
  freshTotp,
  mailLinkFor,
  uniqueEmail,
  acceptAsNewAccount,
  assertAccessible,
  STAFF_PAGES,
  publicPages,
} from './support.mjs';

const PHONE = { width: 360, height: 740 };

const PUBLIC_PAGES = publicPages();

describe('newcomer: the shell', { timeout: TEST_TIMEOUT_MS * 12 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('every staff and public page fits a 360 px phone', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, PHONE, async (page) => {
      for (const url of PUBLIC_PAGES) {
        await open(page, url);
        await assertNoHorizontalOverflow(page, url);
      }
      await open(page, pathUrl('acme', '/signin'));
      await screenshot(page, 'newcomer-sign-in-phone');
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      for (const p of STAFF_PAGES) {
        const url = pathUrl('acme', p);
        const res = await open(page, url);
        assert.equal(res.status(), 200, `${url} -> ${res.status()}`);
        await page.waitForLoadState('networkidle');
        await assertNoHorizontalOverflow(page, url);
        // Which clinic this is stays on screen, in full.
        const name = page.locator('[data-testid=clinic-name]');
        assert.equal(((await name.innerText()) ?? '').trim(), 'Acme Family Clinic', `${url}: clinic name`);
        const box = await name.boundingBox();
        assert.ok(box && box.width > 0 && box.x + box.width <= PHONE.width, `${url}: the clinic name is cut off`);
      }
      await open(page, pathUrl('acme', '/staff/users'));
      await screenshot(page, 'newcomer-users-phone');
      await open(page, pathUrl('acme', '/staff'));
      await screenshot(page, 'newcomer-dashboard-phone');
    });
  });

  test('the console fits a 360 px phone', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const server = await startPrivateServer(await freePort(3190));
    try {
      await withPage(browser, PHONE, async (page) => {
        await open(page, server.url('/signin'));
        await signInHere(page, ACCOUNTS.operator.email, DEMO_PASSWORD, { expect: /^\/account\/security$/ });
        await waitForHydration(page, '(operator security page)');
        await page.locator('#start_password').fill(DEMO_PASSWORD);
        await page.getByRole('button', { name: 'Set up two-factor' }).click();
        const secret = ((await page.locator('[data-testid=totp-secret]').innerText()) ?? '').trim();
        await page.locator('#totp_code').fill(await freshTotp(secret));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.locator('[data-testid=recovery-codes]').waitFor({ state: 'visible' });
        await open(page, server.url('/admin/tenants'));
        const first = page.locator('[data-testid=tenant-table] a').first();
        await first.waitFor({ state: 'attached' });
        const detail = new URL(await first.getAttribute('href'), page.url()).pathname;
        for (const p of ['/admin', '/admin/tenants', detail, '/admin/plans']) {
          const res = await open(page, server.url(p));
          assert.equal(res.status(), 200, `${p} -> ${res.status()}`);
          await page.waitForLoadState('networkidle');
          await assertNoHorizontalOverflow(page, `console ${p}`);
          await assertAccessible(page, `console ${p}`);
        }
      });
    } finally {
      await server.stop();
    }
  });

  test('skip link, current page, Escape closes the menu, a silent hydration mark', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, PHONE, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/users'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/users$/,
      });
      await waitForHydration(page, '(users page)');
      // The first tab stop skips the header and navigation.
      await page.keyboard.press('Tab');
      const skip = page.locator('[data-testid=skip-link]');
      assert.equal(await skip.evaluate((el) => el === document.activeElement), true, 'the first tab stop is not the skip link');
      assert.ok(await skip.isVisible(), 'the focused skip link is not visible');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'the skip link does not move focus to the content');
      // The navigation says where you are.
      const toggle = page.locator('[data-testid=nav-toggle]');
      await toggle.click();
      const nav = page.locator('[data-testid=app-nav]');
      await nav.waitFor({ state: 'visible' });
      const current = nav.locator('[aria-current=page]');
      assert.equal(await current.count(), 1, 'exactly one navigation entry is the current page');
      assert.equal(((await current.innerText()) ?? '').trim(), 'Users');
      // Escape closes the menu and gives the focus back to its button.
      await page.keyboard.press('Escape');
      await nav.waitFor({ state: 'hidden' });
      assert.equal(await toggle.evaluate((el) => el === document.activeElement), true, 'focus did not return to the menu button');
      // Screen readers hear nothing of the hydration mark.
      const mark = page.locator('[data-testid=hydrated]');
      assert.equal(((await mark.textContent()) ?? '').trim(), '', 'the hydration mark has text');
      assert.equal(await mark.getAttribute('aria-hidden'), 'true');
    });
  });

  test('a refused sign-in moves the focus to the message, in a sentence', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await open(page, pathUrl('acme', '/signin'));
      await waitForHydration(page, '(sign-in)');
      await page.locator('#email').fill(ACCOUNTS.acmeNurse.email);
      await page.locator('#password').fill('not the password at all');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const message = page.locator('[data-testid=form-error]');
      await message.waitFor({ state: 'visible' });
      await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'form-error', null, { timeout: 5_000 });
      assert.match(((await message.innerText()) ?? '').trim(), /^[A-Z]/, 'the message does not start with a capital');
    });
    // A field refused by the server: marked invalid, described by its message, focused.
    await withPage(browser, {}, async (page) => {
      await open(page, platformUrl('/signup'));
      await waitForHydration(page, '(sign-up)');
      await page.locator('#clinic_name').fill('Newcomer Clinic');
      await page.locator('#slug').fill(`newcomer-${Date.now().toString(36)}`);
      await page.locator('#owner_name').fill('Nia Newcomer');
      await page.locator('#email').fill('nia@newcomer.example');
      // Long enough for the browser's own check, too common for the server's.
      await page.locator('#password').fill('password1234');
      await page.locator('input[name=terms]').check();
      await page.getByRole('button', { name: 'Create my clinic' }).click();
      await page.locator('[data-testid=error-password]').waitFor({ state: 'visible' });
      const password = page.locator('#password');
      assert.equal(await password.getAttribute('aria-invalid'), 'true');
      assert.equal(await password.getAttribute('aria-describedby'), 'error-password');
      await page.waitForFunction(() => document.activeElement?.id === 'password', null, { timeout: 5_000 });
      assert.match(((await page.locator('[data-testid=error-password]').innerText()) ?? '').trim(), /^[A-Z]/);
    });
  });

  test('ways out: back to sign-in, branded 404s, the suspended clinic says how to reach it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await open(page, pathUrl('acme', '/forgot-password'));
      const back = page.locator('[data-testid=back-to-sign-in]');
      assert.equal(new URL(await back.getAttribute('href'), page.url()).pathname, '/t/acme/signin');

      const missing = await open(page, pathUrl('acme', '/no-such-page'));
      assert.equal(missing.status(), 404);
      assert.equal(await page.title(), 'Page not found · Acme Family Clinic');
      assert.equal(((await page.locator('[data-testid=tenant-name]').innerText()) ?? '').trim(), 'Acme Family Clinic');

      // Staff asking for a portal page that does not exist: not found, not "not yours".
      await signIn(page, pathUrl('acme', '/signin'), ACCOUNTS.acmeOwner.email);
      const unknown = await open(page, pathUrl('acme', '/portal/nothing-here'));
      assert.equal(unknown.status(), 404, `/portal/nothing-here -> ${unknown.status()}`);
      await page.locator('[data-testid=not-found]').waitFor({ state: 'visible' });
    });
    const suspended = await rawGet(pathUrl('harbor', '/signin'));
    assert.equal(suspended.status, 403);
    assert.match(suspended.body, /data-testid="suspended"/);
    // Its contact details come from its branding (the demo gives Harbor a phone).
    assert.match(suspended.body, /To reach the clinic: \+1 312 555 0142/);
  });

  test('only languages the interface speaks are offered', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/settings'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/settings$/,
      });
      const options = await page.locator('select[name=language] option').evaluateAll((els) => els.map((e) => e.value));
      assert.deepEqual(options.sort(), ['en', 'en-GB']);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    });
  });

  test('the clinic sets its record-number prefix and how long erased records are kept', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/settings'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/settings$/,
      });
      await waitForHydration(page, '(settings page)');
      const save = async (prefix, years) => {
        await page.fill('#mrn_prefix', prefix);
        await page.fill('#retention_years', years);
        await page.locator('[data-testid=settings-form] button[type=submit]').click();
      };
      // A refused value is named next to its field, in a sentence.
      await save('-x', '10');
      const refusal = page.locator('[data-testid=error-mrn_prefix]');
      await refusal.waitFor({ state: 'visible' });
      assert.match((await refusal.innerText()) ?? '', /prefix has 1 to 10 capital letters/);
      await save('acmex-', '8');
      await page.locator('[data-testid=settings-saved]').waitFor({ state: 'visible' });
      await page.reload();
      assert.equal(await page.inputValue('#mrn_prefix'), 'ACMEX-');
      assert.equal(await page.inputValue('#retention_years'), '8');
      // Back to the address's letters and ten years, for the other tests.
      await waitForHydration(page, '(settings page, again)');
      await save('', '10');
      await page.locator('[data-testid=settings-saved]').waitFor({ state: 'visible' });
    });
  });

  test('the audit log speaks in sentences, filtered by kind of activity', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/audit'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/audit$/,
      });
      await waitForHydration(page, '(audit page)');
      const row = page.locator('[data-testid=audit-table] tr[data-action="sign_in.succeeded"]').first();
      await row.waitFor({ state: 'attached' });
      assert.match((await row.innerText()) ?? '', /Signed in/);
      assert.doesNotMatch((await page.locator('[data-testid=audit-table] tbody').innerText()) ?? '', /sign_in\.succeeded/);
      // The choice asks the server for that kind of activity only…
      const asked = page.waitForRequest(
        (r) => new URL(r.url()).pathname.endsWith('/api/list_audit') && /(^|&)action=sign_(&|$)/.test(r.postData() ?? ''),
      );
      await page.locator('[data-testid=filter-action]').selectOption({ label: 'Sign-in and sign-out' });
      await asked;
      // …and the table, once redrawn, shows only that kind (the owner just signed in).
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('[data-testid=audit-table] tbody tr')];
        return rows.length > 0 && rows.every((r) => (r.dataset.action ?? '').startsWith('sign_'));
      }, null, { timeout: 15_000 });
      const actions = await page
        .locator('[data-testid=audit-table] tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
      assert.ok(actions.length > 0 && actions.every((a) => a.startsWith('sign_')), `filtered rows: ${actions.join(', ')}`);
    });
  });

  test('staff access you can see: pending invitations, sent again, withdrawn; deactivation asks and can be undone', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const nurse = uniqueEmail('seen-nurse');
    const pendingOnly = uniqueEmail('pending-nurse');
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/users'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/users$/,
      });
      await waitForHydration(page, '(users page)');
      for (const email of [nurse, pendingOnly]) {
        await page.locator('#invite_email').fill(email);
        await page.locator('#invite_role').selectOption('nurse');
        await page.getByRole('button', { name: 'Send invitation' }).click();
        await page.locator(`[data-testid=pending-invitations] li[data-email="${email}"]`).waitFor({ state: 'visible' });
      }
      // The same address again: refused, saying why.
      await page.locator('#invite_email').fill(pendingOnly);
      await page.getByRole('button', { name: 'Send invitation' }).click();
      await page.locator('[data-testid=error-email]').waitFor({ state: 'visible' });
      assert.match((await page.locator('[data-testid=error-email]').innerText()) ?? '', /already invited/);
      // Sent again, then withdrawn.
      const row = page.locator(`[data-testid=pending-invitations] li[data-email="${pendingOnly}"]`);
      await row.getByRole('button', { name: 'Send again' }).click();
      await page.locator('[data-testid=invite-resent]').waitFor({ state: 'visible' });
      await row.getByRole('button', { name: 'Withdraw' }).click();
      await row.waitFor({ state: 'detached' });
      await screenshot(page, 'newcomer-users-pending');
    });
    const link = await mailLinkFor(nurse);
    await withPage(browser, {}, (page) => acceptAsNewAccount(page, link, 'Nia Seen', 'lantern copper meadow rain', /\/staff$/));
    await withPage(browser, {}, async (page) => {
      await signIn(page, pathUrl('acme', '/signin?next=/staff/users'), ACCOUNTS.acmeOwner.email, DEMO_PASSWORD, {
        expect: /\/staff\/users$/,
      });
      await waitForHydration(page, '(users page)');
      const member = page.locator('[data-testid=staff-table] tr', { hasText: nurse });
      await member.waitFor({ state: 'visible' });
      // Deactivating asks first.
      await member.getByText('Deactivate…').click();
      await member.getByRole('button', { name: 'Yes, deactivate' }).click();
      await member.locator('[data-testid=member-status]', { hasText: 'Deactivated' }).waitFor({ state: 'visible' });
      await member.getByRole('button', { name: 'Reactivate' }).click();
      await member.locator('[data-testid=member-status]', { hasText: 'Active' }).waitFor({ state: 'visible' });

      // Each patient's portal status is shown; one who uses the portal is not invited again.
      await open(page, pathUrl('acme', '/staff/patients'));
      await waitForHydration(page, '(patients page)');
      const priya = page.locator('[data-testid=patient-list] li[data-mrn="ACM-0005"]');
      await priya.waitFor({ state: 'visible' });
      assert.equal(await priya.getAttribute('data-portal'), 'active');
      assert.match((await priya.locator('[data-testid=portal-status]').innerText()) ?? '', /Uses the portal/);
      assert.equal(await priya.getByRole('button').count(), 0, 'a portal user is offered an invitation');
    });
  });

  test('no small leaks of the build', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Type declarations are not served; the preload links carry no nonce.
    const home = await rawGet(pathUrl('acme', '/signin'));
    const nonce = /nonce="([^"]+)"/.exec(home.body)?.[1];
    assert.ok(nonce, 'no nonce in the page');
    assert.doesNotMatch(home.body, new RegExp(`crossorigin="${nonce.replace(/[+/=]/g, '\\$&')}"`));
    const js = /href="(\/pkg\/[^"]+\.js)"/.exec(home.body)?.[1];
    assert.ok(js, 'no script preload');
    assert.equal((await rawGet(platformUrl(js))).status, 200);
    assert.equal((await rawGet(platformUrl(js.replace(/\.js$/, '.d.ts')))).status, 404);
    assert.equal((await rawGet(platformUrl('/pkg/medisync.d.ts'))).status, 404);
    // Platform pages make no request that fails.
    await withPage(browser, {}, async (page) => {
      const failed = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      for (const url of [platformUrl('/'), platformUrl('/signin'), platformUrl('/signup')]) {
        await open(page, url);
        await page.waitForLoadState('networkidle');
      }
      assert.deepEqual(failed, []);
    });
  });
});
